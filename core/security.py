"""Password hashing (Argon2) and bearer tokens (signed JWT with an expiry)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

import jwt
from pwdlib import PasswordHash

from core.settings import get_settings
from models.base import utcnow

ALGORITHM = "HS256"


@lru_cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    """An Argon2 hash of password."""
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """Whether password matches the stored hash."""
    return _hasher().verify(password, password_hash)


def create_token(user_id: int, *, minutes: int | None = None) -> str:
    """A signed bearer token for user_id."""
    settings = get_settings()
    expires = utcnow() + timedelta(minutes=minutes or settings.token_minutes)
    return jwt.encode({"sub": str(user_id), "exp": expires}, settings.secret_key, algorithm=ALGORITHM)


def read_token(token: str) -> int | None:
    """The user id in a valid, unexpired token; None otherwise."""
    try:
        payload = jwt.decode(token, get_settings().secret_key, algorithms=[ALGORITHM])
        return int(payload["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None
