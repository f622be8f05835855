"""Typed dependencies shared by the routes: the request's session, the signed-in user, role checks, language.

The session belongs to the request: a route that writes calls `session.commit()` itself before it
returns; whatever was not committed is rolled back as soon as the route function is done, success or error.

A request holds its database connection from its first statement until its session is closed, and in
between it waits for a worker thread more than once (FastAPI validates a route's answer in one). Were it to
take a thread first and a connection second, fifty requests at once could hold every connection while the
few threads all waited for one, until the pool timed out. So a request first queues on the event loop for a
connection slot (`connection_slot`: as many requests at once as the pool has connections for, two each),
and only then takes threads; a thread never waits for a connection.

On SQLite a writing request also holds the database's one write lock from its first statement to its end, so
writers queue on the event loop for it too, for the same reason.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, HTTPException, Path, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from core.db import get_engine, is_sqlite, pool_capacity, reading
from core.security import read_token
from core.storage import ObjectStore, get_store
from models.errors import Forbidden
from models.programmes import PolicyYear
from models.users import Role, User
from tasks.common.programmes import get_policy_year

MAX_ID = 2_147_483_647  # ids are 32-bit integers on PostgreSQL; a larger one can only be "not found"

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


READ_METHODS = ("GET", "HEAD")


SESSIONS_PER_REQUEST = 2  # the most any route opens: the signed-in user's session and a read-only one


async def connection_slot(request: Request) -> AsyncIterator[None]:
    """Wait on the event loop, holding no thread, until this request may use the database (see the module
    docstring): a connection slot, and on SQLite, for a writing request, the write lock."""
    engine = get_engine()
    gates = _GATES.setdefault(request.app, weakref.WeakKeyDictionary())
    loop = asyncio.get_running_loop()  # asyncio primitives belong to one event loop; a test client may bring another
    if loop not in gates:
        gates[loop] = _Gates(asyncio.Semaphore(max(1, pool_capacity(engine) // SESSIONS_PER_REQUEST)), asyncio.Lock())
    gate = gates[loop]
    async with gate.slots:
        if request.method in READ_METHODS or not is_sqlite(engine):
            yield
            return
        async with gate.writer:
            yield


@dataclass
class _Gates:
    slots: asyncio.Semaphore
    writer: asyncio.Lock


_GATES: weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gates]] = (
    weakref.WeakKeyDictionary()
)


def get_session(
    request: Request, _slot: Annotated[None, Depends(connection_slot, scope="function")]
) -> Iterator[Session]:
    """A session for one request; rolled back and closed when the route returns (commits are explicit).

    GET and HEAD requests only read, so their transactions never hold the write lock (SQLite).
    """
    engine = reading(get_engine()) if request.method in READ_METHODS else get_engine()
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_read_session(_slot: Annotated[None, Depends(connection_slot, scope="function")]) -> Iterator[Session]:
    """A session that only reads, whatever the method (e.g. a POST that computes and files nothing)."""
    session = Session(reading(get_engine()), expire_on_commit=False)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


def unauthorized(detail: str = "未登录或登录已失效，请重新登录") -> HTTPException:
    """A 401 that tells the client to send a bearer token."""
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def get_current_user(session: SessionDep, token: TokenDep) -> User:
    """The active user named by a valid, unexpired bearer token; 401 otherwise."""
    user_id = read_token(token) if token else None
    if user_id is None or not 1 <= user_id <= MAX_ID:
        raise unauthorized()
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise unauthorized()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets only users with one of `roles` through (403 otherwise)."""
    allowed = frozenset(roles)

    async def check(user: CurrentUser) -> User:  # no I/O: runs on the event loop, no worker thread
        if Role(user.role) not in allowed:
            raise Forbidden("当前角色无权执行此操作")
        return user

    return check


async def require_reviewer(user: CurrentUser) -> User:
    """Only users who decide at an approval level (L1, L2, L3) reach the task queue."""
    if user.review_level is None:
        raise Forbidden("只有审批人员可以处理审批任务")
    return user


Reviewer = Annotated[User, Depends(require_reviewer)]


def get_object_store() -> ObjectStore:
    """The configured object store."""
    return get_store()


StoreDep = Annotated[ObjectStore, Depends(get_object_store)]

Language = Literal["zh-CN", "en"]


async def get_language(accept_language: Annotated[str | None, Header()] = None) -> Language:
    """zh-CN unless the client prefers English (labels only; domain messages stay zh-CN)."""
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "zh-CN"


LanguageDep = Annotated[Language, Depends(get_language)]

# A path id: a positive 32-bit integer (anything else is a 422, never a database overflow).
EntityId = Annotated[int, Path(ge=1, le=MAX_ID)]

# A programme year in a path: /{programme_code}/{year}
ProgrammeCode = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
Year = Annotated[int, Path(ge=2000, le=2100)]


def get_path_policy_year(session: SessionDep, programme_code: ProgrammeCode, year: Year) -> PolicyYear:
    """The policy year named in the path (404 if the programme or year is unknown)."""
    return get_policy_year(session=session, programme_code=programme_code, year=year)


PolicyYearDep = Annotated[PolicyYear, Depends(get_path_policy_year)]
