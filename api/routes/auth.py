"""Sign-in: an OAuth2 password form gives a bearer token; /api/me says who the token belongs to."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser, SessionDep, unauthorized
from api.schemas import Token
from core.security import create_token
from models.users import UserPublic
from tasks.common.users import authenticate, to_public

router = APIRouter(prefix="/api", tags=["auth"])


@router.post("/auth/token", response_model=Token)
def login(session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a username and password for a bearer token (401 on bad credentials)."""
    user = authenticate(session=session, username=form.username, password=form.password)
    if user is None or user.id is None:
        raise unauthorized("用户名或密码错误")
    return Token(access_token=create_token(user.id))


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    """The signed-in user."""
    return to_public(user)
