"""Typed dependencies shared by the routes: the request's session, the signed-in user, role checks, language,
and the access policy (tasks.common.access) as dependencies: who may read cases, file claims, follow their own
claims, and the path's claim, document, letter or task resolved for a user who may see it.

The session belongs to the request: a route that writes calls `session.commit()` itself before it
returns; whatever was not committed is rolled back as soon as the route function is done, success or error.

A request's session is opened only once it holds a connection slot (api.slots.connection_slot), so a worker
thread never waits for a database connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Literal

from fastapi import Depends, Header, HTTPException, Path, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from api.slots import READ_METHODS, connection_slot
from core.db import get_engine, reading
from core.security import read_token
from core.storage import ObjectStore, get_store
from models.approvals import ApprovalTask
from models.claims import Claim, ClaimDocument
from models.errors import Forbidden
from models.letters import Letter
from models.programmes import PolicyYear
from models.users import Role, User
from tasks.claims.filing import document_of
from tasks.common import access
from tasks.common.programmes import get_policy_year
from tasks.letters.decision_letters import letter_of

MAX_ID = 2_147_483_647  # ids are 32-bit integers on PostgreSQL; a larger one can only be "not found"

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


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


# --- the access policy (tasks.common.access) as dependencies ------------------------------------------------------

# A claim reference in a path, as members quote it.
ClaimReference = Annotated[str, Path(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_\-]+$")]


async def require_case_reader(user: CurrentUser) -> User:
    """Administrators, auditors and reviewers may track cases (403 otherwise)."""
    access.check_case_reader(user)
    return user


CaseReader = Annotated[User, Depends(require_case_reader)]
Filer = Annotated[User, Depends(require_roles(*access.FILER_ROLES))]


async def require_member(user: Annotated[User, Depends(require_roles(Role.MEMBER))]) -> User:
    """A member user linked to their member record (403 for other roles, 404 for an unlinked account)."""
    access.linked_member_id(user)
    return user


MemberUser = Annotated[User, Depends(require_member)]


def get_case_claim(session: SessionDep, user: CaseReader, claim_id: EntityId) -> Claim:
    """The path's claim, for a case reader who may see it (404 otherwise)."""
    return access.case_claim(session=session, user=user, claim_id=claim_id)


def get_case_claim_by_reference(session: SessionDep, user: CaseReader, reference: ClaimReference) -> Claim:
    """The claim the path's reference names, for a case reader who may see it (404 otherwise)."""
    return access.case_claim(session=session, user=user, reference=reference)


CaseClaim = Annotated[Claim, Depends(get_case_claim)]
CaseClaimByReference = Annotated[Claim, Depends(get_case_claim_by_reference)]


def get_readable_claim(session: SessionDep, user: CurrentUser, claim_id: EntityId) -> Claim:
    """The path's claim, for a user who may read its documents and letters (404 otherwise, 403 for finance)."""
    return access.readable_claim(session=session, user=user, claim_id=claim_id)


def get_readable_document(
    session: SessionDep, user: CurrentUser, claim_id: EntityId, document_id: EntityId
) -> ClaimDocument:
    """The path's document of the path's claim, for a user who may read the claim's documents."""
    claim = access.readable_claim(session=session, user=user, claim_id=claim_id)
    return document_of(session=session, claim=claim, document_id=document_id)


def get_readable_letter(session: SessionDep, user: CurrentUser, claim_id: EntityId, letter_id: EntityId) -> Letter:
    """The path's letter of the path's claim, for a user who may read the claim's letters."""
    claim = access.readable_claim(session=session, user=user, claim_id=claim_id)
    return letter_of(session=session, claim=claim, letter_id=letter_id)


ReadableClaim = Annotated[Claim, Depends(get_readable_claim)]
ReadableDocument = Annotated[ClaimDocument, Depends(get_readable_document)]
ReadableLetter = Annotated[Letter, Depends(get_readable_letter)]


def get_my_claim(session: SessionDep, user: MemberUser, reference: ClaimReference) -> Claim:
    """The member's own claim the path's reference names (404 for any other)."""
    return access.own_claim(session=session, user=user, reference=reference)


def get_my_letter(session: SessionDep, user: MemberUser, reference: ClaimReference, letter_id: EntityId) -> Letter:
    """The path's letter of the member's own claim the path's reference names."""
    claim = access.own_claim(session=session, user=user, reference=reference)
    return letter_of(session=session, claim=claim, letter_id=letter_id)


MyClaim = Annotated[Claim, Depends(get_my_claim)]
MyLetter = Annotated[Letter, Depends(get_my_letter)]


def get_path_task(session: SessionDep, user: Reviewer, task_id: EntityId) -> ApprovalTask:
    """The path's approval task, for a reviewer who may see it (404 otherwise)."""
    return access.get_visible_task(session=session, user=user, task_id=task_id)


VisibleTask = Annotated[ApprovalTask, Depends(get_path_task)]
