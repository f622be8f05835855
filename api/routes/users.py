"""User administration: administrators create users; administrators and auditors list them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from sqlmodel import col, select

from api.deps import SessionDep, require_roles
from models.users import Role, User, UserCreate, UserPublic
from tasks.common.users import create_user, to_public

router = APIRouter(prefix="/api/users", tags=["users"])

AdminOnly = Annotated[User, Depends(require_roles(Role.ADMIN))]
UserReader = Annotated[User, Depends(require_roles(Role.ADMIN, Role.AUDITOR))]


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
def add_user(session: SessionDep, _admin: AdminOnly, data: UserCreate) -> UserPublic:
    """Create a user (409 if the username exists, 404 if the org unit code is unknown)."""
    user = create_user(session=session, data=data)
    session.commit()
    return to_public(user)


@router.get("", response_model=list[UserPublic])
def list_users(
    session: SessionDep,
    _reader: UserReader,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[UserPublic]:
    """All users, by id."""
    users = session.exec(select(User).order_by(col(User.id)).limit(limit).offset(offset)).all()
    return [to_public(u) for u in users]
