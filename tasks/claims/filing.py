"""Filing a claim with its documents, and adding documents later: the one service the API and the CLI share.

Each filing is a unit of work: the documents are stored, the claim is filed through tasks.claims.submission,
and the caller's `commit` hook (the API and the CLI pass `session.commit`) is called inside `stored_documents`,
so a failure anywhere (bad data, a database error, the commit itself) rolls the rows back and removes the
objects this filing created.

Who may file for whom is the access policy's (tasks.common.access): anyone else's member is "not found",
never data. The member's ID number is used only to find the member: it is never logged or echoed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core.db import reading
from core.storage.base import ObjectStore
from models.claims import Claim, ClaimDocument, ClaimStatus
from models.errors import Conflict, NotFound, ValidationFailed
from models.members import Member
from models.programmes import Programme
from models.states import Actor
from models.users import User
from tasks.claims.documents import StoredDocument, UploadedDocument, sha256_of_key, stored_documents
from tasks.claims.filing_input import ClaimFiling, check_upload_count
from tasks.claims.submission import add_documents, submit_claim
from tasks.common.access import check_filer, check_may_file_for
from tasks.common.idcard import InvalidIdNumber, normalise_id_number, parse_id_number

AWAITING_DOCUMENTS = frozenset({ClaimStatus.INCOMPLETE, ClaimStatus.RETURNED})
Commit = Callable[[], None]  # ends a filing's unit of work; called inside the documents' block


def member_for_filing(*, session: Session, filing: ClaimFiling, user: User | None) -> Member:
    """The member the claim is for: by ID number or member id, or the signed-in member themselves."""
    if filing.id_number is not None and filing.member_id is not None:
        raise ValidationFailed("id_number 与 member_id 只能填写其一", code="member_ambiguous")
    member: Member | None
    if filing.member_id is not None:
        member = session.get(Member, filing.member_id)
    elif filing.id_number is not None:
        try:
            number = parse_id_number(normalise_id_number(filing.id_number)).id_number
        except InvalidIdNumber as exc:
            raise ValidationFailed(f"会员身份证号无效：{exc}", code="bad_id_number") from None
        member = session.exec(select(Member).where(Member.id_number == number)).first()
    elif user is not None and user.member_id is not None:
        member = session.get(Member, user.member_id)
    else:
        raise ValidationFailed("须填写会员身份证号（id_number）或会员编号（member_id）", code="member_missing")
    if member is None:
        raise NotFound("未找到该会员", code="member_not_found")
    check_may_file_for(session, user, org_unit_id=member.org_unit_id, member_id=member.id or 0)
    return member


def programme_by_code(*, session: Session, code: str | None) -> Programme:
    """The programme a claim is filed under; ValidationFailed when missing or unknown."""
    if not code:
        raise ValidationFailed("须指定保障项目（programme_code）", code="programme_missing")
    programme = session.exec(select(Programme).where(Programme.code == code)).first()
    if programme is None:
        raise ValidationFailed(f"未找到保障项目 {code}", code="unknown_programme")
    return programme


# --- the units of work --------------------------------------------------------------------------------------------


def referenced_by_committed_rows(session: Session) -> Callable[[str], bool]:
    """keep(key) for stored_documents: whether a committed claim_document row references key."""
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine

    def keep(key: str) -> bool:
        stmt = select(ClaimDocument.id).where(ClaimDocument.sha256 == (sha256_of_key(key) or ""))
        with Session(reading(engine)) as fresh:
            return fresh.exec(stmt.where(ClaimDocument.object_key == key).limit(1)).first() is not None

    return keep


@contextmanager
def filing_unit(
    session: Session, store: ObjectStore, uploads: Sequence[UploadedDocument], commit: Commit
) -> Iterator[list[StoredDocument]]:
    """One filing's unit of work: the uploads stored for the block, then `commit` called inside the documents' block.

    The lookups' transaction is ended first, so a slow upload never holds the database (on SQLite, its write
    lock). On any failure, the commit's included, the session is rolled back before the error leaves
    `stored_documents`, which then removes the objects this filing created (and keeps those a committed row uses).
    """
    session.rollback()
    with stored_documents(store, uploads, keep=referenced_by_committed_rows(session)) as stored:
        try:
            yield stored
            commit()
        except BaseException:
            session.rollback()
            raise


def file_claim(
    *,
    session: Session,
    store: ObjectStore,
    filing: ClaimFiling,
    uploads: Sequence[UploadedDocument],
    user: User | None,
    actor: Actor,
    today: date | None = None,
    commit: Commit | None = None,
) -> Claim:
    """File a claim with its documents and commit; on any failure nothing is left (no row, no new object).

    `commit` ends the unit of work (the API and the CLI pass `session.commit`; None means the same). The session
    must hold no pending changes: its transaction is ended before the documents are uploaded.
    """
    check_filer(user)
    check_upload_count(len(uploads))
    programme_id = programme_by_code(session=session, code=filing.programme_code).id or 0
    member_id = member_for_filing(session=session, filing=filing, user=user).id or 0
    data = filing.claim_input()
    with filing_unit(session, store, uploads, commit or session.commit) as stored:
        member = session.get(Member, member_id)
        if member is None:  # removed while the documents were uploading
            raise NotFound("未找到该会员", code="member_not_found")
        claim = submit_claim(
            session=session, member=member, programme_id=programme_id, data=data, documents=stored, actor=actor,
            today=today,
        )  # fmt: skip
        # The claim belongs to the unit of the year's enrolment, which may differ from the member's unit.
        check_may_file_for(session, user, org_unit_id=claim.org_unit_id, member_id=claim.member_id)
    return claim


def add_claim_documents(
    *,
    session: Session,
    store: ObjectStore,
    claim: Claim,
    uploads: Sequence[UploadedDocument],
    actor: Actor,
    commit: Commit | None = None,
) -> Claim:
    """Add documents to an incomplete or returned claim and commit; it resumes when nothing is missing.

    As with file_claim, `commit` ends the unit of work and the session must hold no pending changes; the claim
    is read again after the upload.
    """
    check_upload_count(len(uploads), at_least=1)
    _check_awaiting(claim)  # before anything is stored
    claim_id = claim.id
    with filing_unit(session, store, uploads, commit or session.commit) as stored:
        current = session.get(Claim, claim_id, populate_existing=True)
        if current is None:
            raise NotFound(f"未找到案件 {claim_id}")
        _check_awaiting(current)
        add_documents(session=session, claim=current, documents=stored, actor=actor)
    return current


def _check_awaiting(claim: Claim) -> None:
    if claim.status not in AWAITING_DOCUMENTS:
        raise Conflict("该案件当前状态不能补充材料（仅材料不全或退回补充的案件可以）", code="not_awaiting_documents")


def documents_of(*, session: Session, claim: Claim) -> list[ClaimDocument]:
    """The claim's documents, in the order they were attached."""
    stmt = select(ClaimDocument).where(ClaimDocument.claim_id == claim.id).order_by(col(ClaimDocument.id))
    return list(session.exec(stmt).all())


def document_of(*, session: Session, claim: Claim, document_id: int) -> ClaimDocument:
    """One document of the claim; NotFound when it belongs to another claim or does not exist."""
    doc = session.get(ClaimDocument, document_id)
    if doc is None or doc.claim_id != claim.id:
        raise NotFound(f"未找到材料 {document_id}")
    return doc
