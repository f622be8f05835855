"""Decision letters written from real decisions: approval, rejection with its reason, request for materials.

Claims are decided through tasks.approval.decisions.decide, which commits the outbox event the letter is written from;
the letter is rendered, stored in the local object store and recorded on the claim.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from core.storage.base import ObjectStore, sha256_hex
from models.approvals import ApprovalTask, DecisionIn, Outcome
from models.audit import OutboxMessage
from models.base import as_utc
from models.claims import Claim
from models.errors import NotFound
from models.letters import Letter, LetterKind
from models.rules import PolicyRules
from tasks.approval.decisions import decide
from tasks.claims.explain import describe
from tasks.common.labels import label
from tasks.letters.decision_letters import (
    explanation_of,
    letter_bytes,
    letter_key,
    letter_of,
    letters_of,
    on_time,
    write_letter,
)
from tests.api.conftest import insert_claim
from tests.factories import World, build_world, id_number

SHANGHAI = ZoneInfo("Asia/Shanghai")
ELIGIBLE_INPUTS = {"total_fen": 700000, "basic_insurance_fen": 150000, "serious_illness_fen": 0,
                   "other_reimbursement_fen": 0, "self_paid_fen": 50000}  # fmt: skip


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


def decided(session: Session, world: World, claim: Claim, *steps: tuple[str, str, str | None]) -> OutboxMessage:
    """Decide the claim's open tasks in order (reviewer, outcome, reason); the outbox message of the last one."""
    for level, (reviewer, outcome, reason) in enumerate(steps, start=1):
        task = session.exec(
            select(ApprovalTask).where(ApprovalTask.claim_id == claim.id, ApprovalTask.level == level)
        ).one()
        decide(
            session=session,
            user=world.user(reviewer),
            task_id=task.id or 0,
            decision=DecisionIn(outcome=Outcome(outcome), reason=reason, version=task.version),
        )
        session.commit()
    stmt = select(OutboxMessage).where(col(OutboxMessage.topic).startswith("Claim"))
    return session.exec(stmt.order_by(col(OutboxMessage.id).desc())).first()  # type: ignore[return-value]


def approved(session: Session, world: World, n: int = 1) -> tuple[Claim, OutboxMessage]:
    """A claim of 3,500 yuan with a real explanation, approved at both levels."""
    claim = insert_claim(session, world, n=n, payout_fen=350000)
    claim.explanation = [
        {"step": "routing", "text": describe("routing", {"levels": 2}, None), "result_fen": None},
        {"step": "eligible", "text": describe("eligible", ELIGIBLE_INPUTS, 500000), "result_fen": 500000},
        {
            "step": "base",
            "inputs": {"ratio": "0.70", "eligible_fen": 500000, "deductible_fen": 0},
            "result_fen": 350000,
        },
    ]
    session.add(claim)
    session.commit()
    message = decided(session, world, claim, ("l1_a", "approve", None), ("l2_a", "approve", None))
    assert message.topic == "ClaimApproved"
    return claim, message


def text_of(store: ObjectStore, letter: Letter) -> str:
    return letter_bytes(store=store, letter=letter).decode("utf-8")


def local_date(moment: datetime) -> str:
    day = as_utc(moment).astimezone(SHANGHAI)
    return f"{day.year}年{day.month}月{day.day}日"


def test_an_approval_letter_tells_the_amount_and_how_it_was_reached(
    session: Session, store: ObjectStore, world: World
) -> None:
    claim, message = approved(session, world)
    letter, created = write_letter(session=session, store=store, message=message)
    session.commit()
    assert created and letter.kind == LetterKind.APPROVAL and letter.language == "zh-CN"
    assert letter.outbox_message_id == message.id and letter.claim_id == claim.id
    assert letter.object_key == f"letters/{claim.reference}/{message.id}-approval.md"
    text = text_of(store, letter)
    assert text.startswith("# 职工医疗互助金补偿决定通知书")
    for fact in ("测试会员1同志", claim.reference, "3,500.00元", "第1区总工会", "计算说明"):
        assert fact in text, fact
    assert "1. 合规费用：总费用 7,000.00 − 基本医保 1,500.00" in text
    assert "2. 基础补偿：70% × max(0, 5,000.00 − 起付线 0.00) = 3,500.00" in text
    assert "需经" not in text  # the routing step is not the applicant's concern
    assert local_date(letter.decided_at) in text
    # nothing personal beyond the name: no ID number, bank card or diagnosis
    assert id_number(1) not in text and "62220200000000" not in text and "SECRETDIAG" not in text
    stored = store.get(letter.object_key)
    assert (letter.size, letter.sha256, letter.media_type) == (
        len(stored),
        sha256_hex(stored),
        "text/markdown; charset=utf-8",
    )


def test_a_rejection_letter_carries_the_reason_and_the_way_to_object(
    session: Session, store: ObjectStore, world: World
) -> None:
    claim = insert_claim(session, world, n=2)
    message = decided(session, world, claim, ("l1_a", "reject", "住院发票与费用清单金额不符"))
    assert message.topic == "ClaimRejected"
    letter, _ = write_letter(session=session, store=store, message=message)
    session.commit()
    text = text_of(store, letter)
    assert letter.kind == LetterKind.REJECTION
    assert "不予补偿决定通知书" in text and "理由：住院发票与费用清单金额不符" in text
    assert "第1区第1单位工会申请复核" in text  # signed by the union whose level decided
    assert "3,500.00" not in text and "计算说明" not in text


def test_a_return_asks_for_the_materials_named_in_the_reason(
    session: Session, store: ObjectStore, world: World
) -> None:
    claim = insert_claim(session, world, n=3)
    message = decided(session, world, claim, ("l1_a", "approve", None), ("l2_a", "return", "请补充出院小结"))
    assert message.topic == "ClaimReturned"
    letter, _ = write_letter(session=session, store=store, message=message)
    session.commit()
    text = text_of(store, letter)
    assert letter.kind == LetterKind.MATERIALS_REQUEST and letter.object_key.endswith("-materials_request.md")
    assert "申请补充材料通知书" in text and "请补充出院小结" in text and "第1区总工会" in text
    assert "审核说明" not in text  # the calculation is no part of a request for materials


def test_the_letter_is_due_within_the_years_letter_days(session: Session, store: ObjectStore, world: World) -> None:
    _, message = approved(session, world)
    letter, _ = write_letter(session=session, store=store, message=message)
    decided_at = datetime.fromisoformat(message.payload["decided_at"])
    assert as_utc(letter.decided_at) == decided_at
    assert as_utc(letter.due_at) - as_utc(letter.decided_at) == timedelta(days=7)
    assert on_time(letter)
    letter.created_at = as_utc(letter.due_at) + timedelta(seconds=1)
    assert not on_time(letter)


def test_letter_days_come_from_the_years_rules(session: Session, store: ObjectStore) -> None:
    world = build_world(session, rules=PolicyRules(letter_days=3))
    claim = insert_claim(session, world, n=4)
    message = decided(session, world, claim, ("l1_a", "reject", "不符合条件"))
    letter, _ = write_letter(session=session, store=store, message=message)
    assert as_utc(letter.due_at) - as_utc(letter.decided_at) == timedelta(days=3)


def test_writing_twice_writes_one_letter_with_the_same_bytes(
    session: Session, store: ObjectStore, world: World
) -> None:
    _, message = approved(session, world)
    first, created = write_letter(session=session, store=store, message=message)
    session.commit()
    again, created_again = write_letter(session=session, store=store, message=message)
    assert created and not created_again and again.id == first.id
    assert len(session.exec(select(Letter)).all()) == 1
    assert store.list("letters/") == [first.object_key]


def test_an_event_without_its_decision_time_or_reason_falls_back_to_the_claim(
    session: Session, store: ObjectStore, world: World
) -> None:
    """An automatic refusal names no task: the programme owner signs, the claim gives the reason and the time."""
    claim = insert_claim(session, world, n=5)
    decided(session, world, claim, ("l1_a", "reject", "超过申请期限"))
    claim = session.get(Claim, claim.id, populate_existing=True)  # type: ignore[assignment]
    assert claim is not None and claim.decided_at is not None
    bare = OutboxMessage(topic="ClaimRejected", payload={"claim_id": claim.id})
    session.add(bare)
    session.commit()
    letter, _ = write_letter(session=session, store=store, message=bare)
    assert as_utc(letter.decided_at) == as_utc(claim.decided_at)
    text = text_of(store, letter)
    assert "理由：超过申请期限" in text and "示范市总工会" in text


def test_bytes_already_stored_for_the_message_are_kept(session: Session, store: ObjectStore, world: World) -> None:
    """An earlier attempt stored the letter but did not commit its row (and the claim changed since)."""
    claim, message = approved(session, world)
    key = letter_key(claim.reference, message.id or 0, LetterKind.APPROVAL)
    store.put(key, "# 先前写入的通知书\n".encode(), media_type="text/markdown; charset=utf-8")
    letter, _ = write_letter(session=session, store=store, message=message)
    assert text_of(store, letter) == "# 先前写入的通知书\n"
    assert letter.sha256 == sha256_hex(store.get(key))


def test_a_claims_letters_are_listed_and_only_its_own_are_found(
    session: Session, store: ObjectStore, world: World
) -> None:
    claim, message = approved(session, world)
    other = insert_claim(session, world, n=6)
    letter, _ = write_letter(session=session, store=store, message=message)
    session.commit()
    assert [found.id for found in letters_of(session=session, claim=claim)] == [letter.id]
    assert letters_of(session=session, claim=other) == []
    assert letter_of(session=session, claim=claim, letter_id=letter.id or 0).id == letter.id
    with pytest.raises(NotFound):
        letter_of(session=session, claim=other, letter_id=letter.id or 0)
    store.delete(letter.object_key)
    with pytest.raises(NotFound):
        letter_bytes(store=store, letter=letter)


def test_kind_labels() -> None:
    assert label("letter_kind", LetterKind.REJECTION) == "不予补偿决定通知书"
    assert label("letter_kind", "materials_request", "en") == "Request for more materials"


def test_a_message_of_another_topic_or_a_missing_claim_writes_nothing(
    session: Session, store: ObjectStore, world: World
) -> None:
    escalated = OutboxMessage(topic="TaskEscalated", payload={"claim_id": 1})
    lost = OutboxMessage(topic="ClaimApproved", payload={"claim_id": 999_999, "payout_fen": 100})
    session.add_all([escalated, lost])
    session.commit()
    with pytest.raises(ValueError, match="has no letter"):
        write_letter(session=session, store=store, message=escalated)
    with pytest.raises(NotFound):
        write_letter(session=session, store=store, message=lost)
    assert store.list("letters/") == []


def test_a_rejection_explains_only_the_steps_that_refused() -> None:
    steps: list[dict[str, Any]] = [
        {"step": "routing", "text": "需经2级审批", "result_fen": None},
        {"step": "eligible", "text": "合规费用 = 总费用 1,000.00 − 基本医保 0.00 = 1,000.00", "result_fen": 100000},
        {"step": "late", "text": describe("late", {"days": 365}, 0), "result_fen": 0},
    ]
    assert explanation_of(steps, "reject") == [{"label": "申请期限", "detail": "超过申请期限（出院后365天内）"}]
    assert [line["label"] for line in explanation_of(steps, "approve")] == ["合规费用", "申请期限"]
    assert explanation_of(steps, "return") == []
