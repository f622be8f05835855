"""The one access policy: who may see or act on a claim, its documents and letters, a member, and approval tasks.

Every rule answers "not found" for what lies outside the user's reach (never data, never a hint that it
exists); a 403 (Forbidden) is kept for a role that may never do the thing at all.

- Case readers: administrators and auditors see every claim; a reviewer sees the claims of their org subtree.
- Document and letter readers: the case readers, the user who filed the claim and the member themselves;
  finance never (403).
- Filers: an administrator (or the system, user None: the CLI) for any member, a unit officer for members
  of units in their org subtree, a member only for themselves.
- A member user sees their own claims only, and quotes for themselves only.
- Reviewers: the approval tasks of their own level whose org path lies in their org subtree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlmodel import Session, col, select

from models.approvals import ApprovalTask
from models.claims import Claim
from models.errors import Forbidden, NotFound
from models.members import Member
from models.org import LEVEL_ORG, OrgUnit
from models.users import Role, User
from tasks.common.orgs import under

SEE_ALL = frozenset({Role.ADMIN, Role.AUDITOR})
FILER_ROLES = (Role.ADMIN, Role.UNIT_OFFICER, Role.MEMBER)


# --- case readers -------------------------------------------------------------------------------------------------


def check_case_reader(user: User) -> None:
    """Administrators, auditors and reviewers may track cases (Forbidden otherwise)."""
    if Role(user.role) not in SEE_ALL and user.review_level is None:
        raise Forbidden("当前角色无权查看案件")


def case_claim(*, session: Session, user: User, claim_id: int | None = None, reference: str | None = None) -> Claim:
    """The claim (by id or reference) if it lies in this user's reach as a case reader; NotFound otherwise."""
    key = col(Claim.id) == claim_id if claim_id is not None else col(Claim.reference) == reference
    stmt = select(Claim).where(key)
    if Role(user.role) not in SEE_ALL:
        stmt = stmt.join(OrgUnit, OrgUnit.id == Claim.org_unit_id).where(under(user.org_unit_id))  # type: ignore[arg-type]
    claim = session.exec(stmt).first()
    if claim is None:
        raise NotFound(f"未找到案件 {reference or claim_id}")
    return claim


# --- document and letter readers ----------------------------------------------------------------------------------


def readable_claim(*, session: Session, user: User, claim_id: int) -> Claim:
    """The claim if this user may read its documents and letters; NotFound otherwise (Forbidden for finance)."""
    if Role(user.role) == Role.FINANCE and user.member_id is None:
        raise Forbidden("财务人员无权查看理赔材料")
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(f"未找到案件 {claim_id}")
    if Role(user.role) in SEE_ALL or claim.filed_by == user.id:
        return claim
    if user.member_id is not None and user.member_id == claim.member_id:
        return claim
    if user.review_level is not None:
        return case_claim(session=session, user=user, claim_id=claim_id)
    raise NotFound(f"未找到案件 {claim_id}")


# --- filers -------------------------------------------------------------------------------------------------------


def check_filer(user: User | None) -> None:
    """Only administrators, unit officers and members file claims (Forbidden otherwise)."""
    if user is not None and Role(user.role) not in FILER_ROLES:
        raise Forbidden("当前角色无权提交理赔申请")


def may_act_for(session: Session, user: User | None, *, org_unit_id: int, member_id: int) -> bool:
    """Whether user (None: the system) may file or add documents for this member's claim at this unit."""
    if user is None:
        return True
    role = Role(user.role)
    if role == Role.ADMIN:
        return True
    if role == Role.MEMBER:
        return user.member_id is not None and user.member_id == member_id
    if role == Role.UNIT_OFFICER and user.org_unit_id is not None:
        scope = session.get(OrgUnit, user.org_unit_id)
        unit = session.get(OrgUnit, org_unit_id)
        return scope is not None and unit is not None and unit.path.startswith(scope.path)
    return False


def check_may_file_for(session: Session, user: User | None, *, org_unit_id: int, member_id: int) -> None:
    """NotFound (the member is "not found") unless user may file for this member at this unit."""
    if not may_act_for(session, user, org_unit_id=org_unit_id, member_id=member_id):
        raise NotFound("未找到该会员", code="member_not_found")


def claim_for_filer(
    *, session: Session, user: User | None, claim_id: int | None = None, reference: str | None = None
) -> Claim:
    """A claim this user may add documents to (its member, its filer, an officer above it, an admin); else NotFound."""
    key = col(Claim.id) == claim_id if claim_id is not None else col(Claim.reference) == reference
    claim = session.exec(select(Claim).where(key)).first()
    if claim is not None and (
        (user is not None and claim.filed_by == user.id)
        or may_act_for(session, user, org_unit_id=claim.org_unit_id, member_id=claim.member_id)
    ):
        return claim
    raise NotFound(f"未找到案件 {reference or claim_id}")


# --- members: their own claims, and whom a quote is for -----------------------------------------------------------


def linked_member_id(user: User) -> int:
    """The member record a member user is linked to; NotFound when the account has none."""
    if user.member_id is None:
        raise NotFound("该账号未关联会员")
    return user.member_id


def own_claims(*, session: Session, user: User) -> list[Claim]:
    """A member user's own claims, newest first."""
    stmt = select(Claim).where(Claim.member_id == linked_member_id(user))
    return list(session.exec(stmt.order_by(col(Claim.submitted_at).desc(), col(Claim.id))).all())


def own_claim(*, session: Session, user: User, reference: str) -> Claim:
    """A member user's own claim by its reference; NotFound for any other."""
    stmt = select(Claim).where(Claim.reference == reference, Claim.member_id == linked_member_id(user))
    claim = session.exec(stmt).first()
    if claim is None:
        raise NotFound(f"未找到案件 {reference}")
    return claim


def quoted_member(*, session: Session, user: User | None, id_number: str | None) -> Member | None:
    """The member a quote is for: a member user is always themselves; staff name a member in their subtree
    (administrators and auditors, and the system, user None, any member); None when no member is named."""
    if user is not None and Role(user.role) == Role.MEMBER:
        return session.get(Member, linked_member_id(user))
    if id_number is None:
        return None
    stmt = select(Member).where(Member.id_number == id_number.strip().upper())
    if user is not None and Role(user.role) not in SEE_ALL:
        stmt = stmt.join(OrgUnit, OrgUnit.id == Member.org_unit_id).where(under(user.org_unit_id))  # type: ignore[arg-type]
    member = session.exec(stmt).first()
    if member is None:
        raise NotFound("未找到该会员")
    return member


# --- reviewers and their approval tasks ---------------------------------------------------------------------------


def subtree_range(column: Any, path: str) -> ColumnElement[bool]:
    """SQL: `column` starts with `path`, written as a range so that an index on column serves it.

    Paths look like '/1/4/27/'. Every path that starts with '/1/4/' sorts at or after it, and before '/1/4'
    followed by the character after '/' (which is '0'): the range is [path, path[:-1] + '0').
    """
    upper = path[:-1] + chr(ord(path[-1]) + 1)
    return and_(column >= path, column < upper)


def visible_to(session: Session, user: User) -> ColumnElement[bool] | None:
    """SQL: the tasks this user may see (their level, inside their subtree); None when they see none.

    A reviewer who sits at their level's own kind of org unit (an L2 reviewer at a county union) sees exactly
    the tasks of that unit: an equality, which the queue index answers in due order without a sort.
    """
    if user.review_level is None or user.org_unit_id is None:
        return None
    found = session.exec(select(OrgUnit.path, OrgUnit.level).where(OrgUnit.id == user.org_unit_id)).first()
    if found is None:
        return None
    path, org_level = found
    at_own_level = LEVEL_ORG.get(user.review_level) == org_level
    where = col(ApprovalTask.org_path) == path if at_own_level else subtree_range(col(ApprovalTask.org_path), path)
    return and_(col(ApprovalTask.level) == user.review_level, where)


def get_visible_task(*, session: Session, user: User, task_id: int, lock: bool = False) -> ApprovalTask:
    """The task if this user may see it (locked FOR UPDATE with `lock`); NotFound otherwise.

    One query: the task by its key, its level, and its org path under the user's own (a prefix match is
    fine for a single row; paths hold only digits and '/').
    """
    task = None
    if user.review_level is not None and user.org_unit_id is not None:
        my_path = select(OrgUnit.path).where(OrgUnit.id == user.org_unit_id).scalar_subquery()
        stmt = select(ApprovalTask).where(
            ApprovalTask.id == task_id,
            ApprovalTask.level == user.review_level,
            col(ApprovalTask.org_path).startswith(my_path, autoescape=False),
        )
        if lock:
            stmt = stmt.with_for_update(of=ApprovalTask)
        task = session.exec(stmt).first()
    if task is None:
        raise NotFound(f"未找到任务 {task_id}")
    return task
