"""Users: create, authenticate, and describe what a user may see."""

from __future__ import annotations

from sqlmodel import Session, select

from core.security import hash_password, verify_password
from models.errors import Conflict, ValidationFailed
from models.members import Member
from models.org import OrgUnit
from models.states import Actor
from models.users import REVIEW_LEVEL_OF_ROLE, Role, User, UserCreate, UserPublic
from tasks.common.orgs import get_by_code


def create_user(*, session: Session, data: UserCreate) -> User:
    """Add a user; reviewers and unit officers must belong to an org unit."""
    if session.exec(select(User).where(User.username == data.username)).first():
        raise Conflict(f"用户名 {data.username} 已存在")
    org: OrgUnit | None = get_by_code(session=session, code=data.org_unit_code) if data.org_unit_code else None
    if data.role not in (Role.ADMIN, Role.AUDITOR, Role.MEMBER, Role.FINANCE) and org is None:
        raise ValidationFailed("该角色必须指定所属单位")
    if data.is_supervisor and data.role not in REVIEW_LEVEL_OF_ROLE:
        raise ValidationFailed("只有审批人员可以担任督办主管", code="supervisor_not_reviewer")
    member: Member | None = None
    if data.role == Role.MEMBER:
        if not data.member_id_number:
            raise ValidationFailed("会员账号须关联会员身份证号", code="member_id_number_missing")
        member = session.exec(select(Member).where(Member.id_number == data.member_id_number.strip().upper())).first()
        if member is None:
            raise ValidationFailed("未找到该身份证号对应的会员", code="member_not_found")
        if session.exec(select(User.id).where(User.member_id == member.id)).first() is not None:
            raise Conflict("该会员已有账号")
    user = User(
        username=data.username,
        full_name=data.full_name,
        password_hash=hash_password(data.password),
        role=data.role,
        org_unit_id=org.id if org else None,
        member_id=member.id if member else None,
        is_supervisor=data.is_supervisor,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(*, session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.is_active or not verify_password(password, user.password_hash):
        return None
    return user


def to_public(user: User) -> UserPublic:
    """A user as the API shows it."""
    assert user.id is not None
    return UserPublic(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=Role(user.role),
        org_unit_id=user.org_unit_id,
        review_level=user.review_level,
        is_active=user.is_active,
        is_supervisor=user.is_supervisor,
    )


def actor_of(user: User) -> Actor:
    """The audit actor for a user."""
    return Actor(user.id, user.username)
