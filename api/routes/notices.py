"""The public notice board (公示) and objections to it (异议). No sign-in: anyone may read and object.

A notice shows a de-identified case (masked name, unit, benefit, amount), never an ID number, bank card
or diagnosis. Objections are rate-limited per sender address (429 with Retry-After); the sender gets a
reference to follow their objection with, and may leave a contact that only the deciding reviewers see.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from api.deps import LanguageDep, SessionDep
from models.base import as_utc, format_yuan, utcnow
from models.notices import ClaimNotice, NoticePublic, NoticeStatus, ObjectionIn, ObjectionReceipt, ObjectionStatus
from tasks.approval.notice import client_key, get_notice, get_objection, posted_notices, raise_objection
from tasks.common.labels import label
from tasks.common.programmes import get_policy_year

router = APIRouter(prefix="/api/public", tags=["public"])

NoticeNo = Annotated[str, Path(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9\-]+$")]
Reference = Annotated[str, Path(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9]+$")]


def notice_public(notice: ClaimNotice, language: str = "zh-CN") -> NoticePublic:
    """A notice as the board shows it."""
    return NoticePublic(
        notice_no=notice.notice_no,
        masked_name=notice.masked_name,
        unit_name=notice.unit_name,
        benefit_type=notice.benefit_type,
        benefit_label=notice.benefit_label if language == "zh-CN" else label("benefit_type", notice.benefit_type, "en"),
        amount_yuan=format_yuan(notice.amount_fen),
        posted_at=as_utc(notice.posted_at),
        ends_at=as_utc(notice.ends_at),
        status=NoticeStatus(notice.status),
        objection_url=f"/api/public/notices/{notice.notice_no}/objections",
    )


@router.get("/notices", response_model=list[NoticePublic])
def board(
    response: Response,
    session: SessionDep,
    language: LanguageDep,
    programme: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[NoticePublic]:
    """The cases on public notice now, newest first (one programme year with `programme` and `year`)."""
    year_id = None
    if programme is not None and year is not None:
        year_id = get_policy_year(session=session, programme_code=programme, year=year).id
    notices, total = posted_notices(session=session, as_of=utcnow(), policy_year_id=year_id, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [notice_public(n, language) for n in notices]


@router.get("/notices/{notice_no}", response_model=NoticePublic)
def one_notice(session: SessionDep, language: LanguageDep, notice_no: NoticeNo) -> NoticePublic:
    """One notice by its number."""
    return notice_public(get_notice(session=session, notice_no=notice_no), language)


@router.post("/notices/{notice_no}/objections", response_model=ObjectionReceipt, status_code=status.HTTP_201_CREATED)
def object_to(request: Request, session: SessionDep, notice_no: NoticeNo, body: ObjectionIn) -> ObjectionReceipt:
    """Object to a posted case while its notice runs (409 after it ended, 429 when sending too often)."""
    sender = client_key(request.client.host if request.client else "unknown")
    objection = raise_objection(session=session, notice_no=notice_no, data=body, sender_key=sender, now=utcnow())
    receipt = ObjectionReceipt(
        reference=objection.reference,
        notice_no=notice_no,
        status=ObjectionStatus(objection.status),
        submitted_at=as_utc(objection.submitted_at),
        message="异议已受理，将由审批单位核实处理。请保存受理编号以便查询结果。",
    )
    session.commit()
    return receipt


@router.get("/objections/{reference}", response_model=ObjectionReceipt)
def objection_status(session: SessionDep, language: LanguageDep, reference: Reference) -> ObjectionReceipt:
    """Where an objection stands, by the reference its sender was given."""
    objection = get_objection(session=session, reference=reference)
    notice = session.get(ClaimNotice, objection.notice_id)
    assert notice is not None
    return ObjectionReceipt(
        reference=objection.reference,
        notice_no=notice.notice_no,
        status=ObjectionStatus(objection.status),
        submitted_at=as_utc(objection.submitted_at),
        message=label("objection_status", objection.status, language),
    )
