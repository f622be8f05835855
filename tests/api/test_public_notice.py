"""The public notice (公示) with objections, through the API: no objection, upheld (rejected or reviewed
again) and dismissed objections; what the board shows and never shows; the objection window and rate limit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from core.settings import get_settings
from models.approvals import ApprovalTask, TaskKind
from models.audit import OutboxMessage
from models.base import utcnow
from models.claims import Claim
from models.members import Member
from models.notices import ClaimNotice, Objection
from models.states import SYSTEM
from tasks.approval.notice import release_notices
from tests.api.conftest import ClaimMaker, fresh, login, task_of
from tests.factories import World

AFTER_THE_NOTICE = timedelta(days=7, seconds=1)


def decide(client: TestClient, username: str, task: ApprovalTask, outcome: str = "approve", **extra: Any) -> Any:
    """POST a decision as username on task (the task's current version)."""
    body = {"outcome": outcome, "version": task.version} | extra
    return client.post(f"/api/tasks/{task.id}/decision", json=body, headers=login(client, username))


def posted(client: TestClient, session: Session, make_claim: ClaimMaker, **kwargs: Any) -> tuple[Claim, dict]:
    """A claim approved at L1 and L2 (payout 3,500.00), now on the board: the claim and its notice."""
    claim = make_claim(**kwargs)
    assert decide(client, "l1_a", task_of(session, claim.id, 1)).status_code == 200
    final = decide(client, "l2_a", task_of(session, claim.id, 2))
    assert final.json()["claim_status"] == "in_notice", final.text
    board = client.get("/api/public/notices").json()
    (notice,) = [n for n in board if n["notice_no"] == f"GS2026-{claim.id:06d}-1"]
    return claim, notice


def object_to(client: TestClient, notice_no: str, text: str = "该职工住院期间仍在上班，情况不实", **extra: Any) -> Any:
    """An objection from an anonymous member of the public."""
    return client.post(f"/api/public/notices/{notice_no}/objections", json={"text": text} | extra)


def objection_task(session: Session, claim_id: int | None) -> ApprovalTask:
    """The open objection task of a claim, as the database has it now."""
    task = session.exec(
        select(ApprovalTask)
        .where(ApprovalTask.claim_id == claim_id, ApprovalTask.kind == TaskKind.OBJECTION_REVIEW)
        .order_by(col(ApprovalTask.id).desc())
        .execution_options(populate_existing=True)
    ).first()
    session.commit()
    assert task is not None
    return task


def release(session: Session, after: timedelta = AFTER_THE_NOTICE) -> int:
    """The notice release as the disbursement flow runs it, `after` from now; committed."""
    moved = release_notices(session=session, as_of=utcnow() + after, actor=SYSTEM)
    session.commit()
    return moved


def test_the_board_shows_a_deidentified_case_and_nothing_personal(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim, notice = posted(client, session, make_claim)
    member = session.get(Member, claim.member_id)
    assert member is not None and member.bank_card
    assert notice["masked_name"] == "测***1"
    assert notice["unit_name"] == "第1区第1单位工会"
    assert (notice["benefit_label"], notice["amount_yuan"], notice["status"]) == ("住院二次报销", "3,500.00", "posted")
    body = client.get("/api/public/notices").text + client.get(f"/api/public/notices/{notice['notice_no']}").text
    for secret in (member.name, member.id_number, member.bank_card, claim.diagnosis_text, claim.diagnosis_code):
        assert secret not in body
    english = client.get("/api/public/notices", headers={"Accept-Language": "en"}).json()
    assert english[0]["benefit_label"] == "Hospitalisation"
    assert client.get("/api/public/notices?programme=MA&year=2026").headers["X-Total-Count"] == "1"
    assert client.get("/api/public/notices?programme=MA&year=2027").status_code == 404


def test_no_objection_the_claim_becomes_payable_when_the_notice_ends(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim, _notice = posted(client, session, make_claim)
    assert release(session, timedelta(days=6, hours=23)) == 0
    assert release(session) == 1
    assert fresh(session, Claim, claim.id or 0).status == "payable"
    stored = session.exec(select(ClaimNotice).where(ClaimNotice.claim_id == claim.id)).one()
    session.commit()
    assert stored.status == "passed"
    assert client.get("/api/public/notices").json() == []


def test_an_objection_opens_a_task_for_the_approving_level_and_holds_the_payment(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim, notice = posted(client, session, make_claim)
    response = object_to(client, notice["notice_no"], contact="13800000000")
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["status"] == "open" and receipt["reference"].startswith("YY")
    assert "13800000000" not in response.text
    # the level that approved (L2, county X01) sees it; L1 and the other county do not
    queue = client.get("/api/tasks?kind=objection_review", headers=login(client, "l2_a")).json()
    assert [(t["claim_id"], t["level"], t["kind"]) for t in queue] == [(claim.id, 2, "objection_review")]
    assert client.get("/api/tasks?kind=objection_review", headers=login(client, "l2_b")).json() == []
    assert client.get("/api/tasks?kind=objection_review", headers=login(client, "l1_a")).json() == []
    detail = client.get(f"/api/tasks/{queue[0]['id']}/objection", headers=login(client, "l2_a2")).json()
    assert (detail["text"], detail["contact"]) == ("该职工住院期间仍在上班，情况不实", "13800000000")
    notes = client.get("/api/notifications", headers=login(client, "l2_a2")).json()
    assert [n["kind"] for n in notes] == ["objection_raised"]
    # while the objection is open the claim is not payable, even after the period
    assert release(session) == 0
    assert fresh(session, Claim, claim.id or 0).status == "in_notice"
    # and nobody approves an objection: it is upheld or dismissed
    bad = decide(client, "l2_a2", objection_task(session, claim.id), "approve")
    assert bad.status_code == 422 and bad.json()["code"] == "outcome_not_allowed"


def test_a_dismissed_objection_lets_the_claim_proceed(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim, notice = posted(client, session, make_claim)
    object_to(client, notice["notice_no"])
    task = objection_task(session, claim.id)
    assert decide(client, "l2_a2", task, "dismiss").status_code == 422  # a reason is required
    response = decide(client, "l2_a2", task, "dismiss", reason="经核实，住院属实")
    assert response.status_code == 200, response.text
    assert response.json()["claim_status"] == "in_notice"
    objection = session.exec(select(Objection).where(Objection.claim_id == claim.id)).one()
    session.commit()
    assert objection.status == "dismissed"
    status = client.get(f"/api/public/objections/{objection.reference}").json()
    assert (status["status"], status["message"]) == ("dismissed", "异议不成立")
    assert release(session) == 1
    assert fresh(session, Claim, claim.id or 0).status == "payable"


def test_an_upheld_objection_rejects_the_claim_and_closes_the_others(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim, notice = posted(client, session, make_claim)
    object_to(client, notice["notice_no"])
    first = objection_task(session, claim.id)
    object_to(client, notice["notice_no"], "同一情况，补充反映")
    second = objection_task(session, claim.id)
    assert first.id != second.id
    response = decide(client, "l2_a", first, "uphold_reject", reason="经核实，住院期间正常出勤，不予补偿")
    assert response.status_code == 200, response.text
    assert response.json()["claim_status"] == "rejected"
    stored = fresh(session, Claim, claim.id or 0)
    assert stored.rejection_reason == "经核实，住院期间正常出勤，不予补偿"
    statuses = session.exec(select(Objection.status).where(Objection.claim_id == claim.id).order_by(col(Objection.id)))
    assert list(statuses.all()) == ["upheld", "closed"]
    assert fresh(session, ApprovalTask, second.id or 0).status == "cancelled"
    notice_row = session.exec(select(ClaimNotice).where(ClaimNotice.claim_id == claim.id)).one()
    topics = session.exec(select(OutboxMessage.topic).where(OutboxMessage.id > 0).order_by(col(OutboxMessage.id)))
    topics_seen = list(topics.all())
    session.commit()
    assert notice_row.status == "withdrawn"
    assert topics_seen[-2:] == ["ObjectionUpheld", "ClaimRejected"]
    assert client.get("/api/public/notices").json() == []
    assert object_to(client, notice["notice_no"]).status_code == 404  # withdrawn
    assert release(session) == 0


def test_an_upheld_objection_can_send_the_claim_back_to_review(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim, notice = posted(client, session, make_claim)
    object_to(client, notice["notice_no"])
    response = decide(client, "l2_a", objection_task(session, claim.id), "uphold_review", reason="金额需重新核对")
    assert response.json()["claim_status"] == "in_review"
    stored = fresh(session, Claim, claim.id or 0)
    assert (stored.review_round, stored.current_level, stored.notice_ends_at) == (2, 1, None)
    again = session.exec(select(ApprovalTask).where(ApprovalTask.claim_id == claim.id, ApprovalTask.round == 2)).one()
    session.commit()
    assert (again.kind, again.level, again.status) == ("claim_review", 1, "open")
    # the second round runs through both levels and is posted again under a new number
    assert decide(client, "l1_a", again).status_code == 200
    level2 = session.exec(
        select(ApprovalTask).where(ApprovalTask.claim_id == claim.id, ApprovalTask.round == 2, ApprovalTask.level == 2)
    ).one()
    session.commit()
    assert decide(client, "l2_a", level2).json()["claim_status"] == "in_notice"
    numbers = [n["notice_no"] for n in client.get("/api/public/notices").json()]
    assert numbers == [f"GS2026-{claim.id:06d}-2"]


def test_objections_after_the_notice_ended_or_to_unknown_notices_are_refused(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    claim, notice = posted(client, session, make_claim)
    row = session.exec(select(ClaimNotice).where(ClaimNotice.claim_id == claim.id)).one()
    row.ends_at = utcnow() - timedelta(seconds=1)
    session.commit()
    late = object_to(client, notice["notice_no"])
    assert late.status_code == 409 and late.json()["code"] == "notice_over"
    assert object_to(client, "GS2026-999999-1").status_code == 404
    assert object_to(client, "../etc").status_code in (404, 422)
    assert session.exec(select(Objection)).first() is None
    session.commit()


@pytest.mark.parametrize(
    "body",
    [{"text": ""}, {"text": "短"}, {"text": "x" * 1001}, {"text": "含有\x00控制字符的异议内容"}, {}, {"text": 5}],
)
def test_a_bad_objection_is_422_and_stores_nothing(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session, body: dict
) -> None:
    _claim, notice = posted(client, session, make_claim)
    response = client.post(f"/api/public/notices/{notice['notice_no']}/objections", json=body)
    assert response.status_code == 422
    assert session.exec(select(Objection)).first() is None
    session.commit()


def test_objections_are_rate_limited_per_sender(
    client: TestClient, world: World, make_claim: ClaimMaker, session: Session
) -> None:
    _claim, notice = posted(client, session, make_claim)
    limit = get_settings().objection_limit_per_hour
    codes = [object_to(client, notice["notice_no"], f"第{i}条异议：情况不实").status_code for i in range(limit)]
    assert codes == [201] * limit
    refused = object_to(client, notice["notice_no"])
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited" and int(refused.headers["Retry-After"]) > 0
    assert len(session.exec(select(Objection)).all()) == limit
    session.commit()


def test_objection_lookup_by_unknown_reference_is_404(client: TestClient, world: World) -> None:
    assert client.get("/api/public/objections/YY000000000000").status_code == 404
    assert client.get("/api/public/objections/not-a-ref!").status_code in (404, 422)
