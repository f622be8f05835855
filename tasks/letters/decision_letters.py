"""Decision letters to the applicant (DOMAIN 2.7): one letter per decision event, rendered, stored, listed.

A letter is written from a decision event (models.events) read back from the outbox by tasks.letters.outbox:
approval (ClaimApproved), rejection with its reason (ClaimRejected) or a request for more materials
(ClaimReturned). Its text is rendered from
templates/<language>/letter_decision.md.j2 with nothing but the decision's own facts (never "now"), stored
under a key made of the claim reference and the message id, so a second attempt renders the same bytes and
the immutable put is a no-op. The letter is signed by the org unit whose task decided (the approving level's
union); a decision without a task (an automatic refusal by the year's rules) is signed by the programme owner.

A letter's text holds the applicant's name: it never goes into a log, and neither does anything else personal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from core.storage import ObjectStore
from core.storage.base import ObjectExists, StoredObject, sha256_hex
from models.approvals import ApprovalTask, Decision
from models.audit import OutboxMessage
from models.base import as_utc, utcnow
from models.claims import Claim
from models.errors import NotFound
from models.events import ClaimApproved, ClaimDecided, ClaimRejected, ClaimReturned, MalformedEvent, event_of
from models.letters import Letter, LetterKind
from models.members import Member
from models.org import OrgUnit
from models.programmes import PolicyYear, Programme
from tasks.claims.explain import describe
from tasks.common.render import render

TEMPLATE = "letter_decision.md.j2"
MEDIA_TYPE = "text/markdown; charset=utf-8"
LANGUAGE = "zh-CN"


@dataclass(frozen=True)
class LetterTopic:
    """What a decision event's letter is: its kind and the template's outcome."""

    kind: LetterKind
    outcome: str  # approve / reject / return, as the template knows them


# The decision events that get a letter, by their outbox topic.
LETTER_TOPICS: dict[str, LetterTopic] = {
    ClaimApproved.topic(): LetterTopic(LetterKind.APPROVAL, "approve"),
    ClaimRejected.topic(): LetterTopic(LetterKind.REJECTION, "reject"),
    ClaimReturned.topic(): LetterTopic(LetterKind.MATERIALS_REQUEST, "return"),
}

# The short zh-CN name of each calculation step, shown before the step's sentence.
STEP_LABELS: dict[str, str] = {
    "eligible": "合规费用",
    "base": "基础补偿",
    "minimum": "最低补偿",
    "per_claim_max": "单次补偿上限",
    "lump_sum": "定额补助",
    "requested": "申请金额",
    "below_minimum": "最低标准",
    "times_per_year": "年度次数",
    "not_covered": "保障期",
    "late": "申请期限",
    "listed": "病种目录",
    "cap": "年度封顶",
    "no_cap": "年度封顶",
    "cap_recheck": "终审复核",
    "refused": "审核结果",
}
HIDDEN_STEPS = frozenset({"routing"})  # how many levels review a claim is no concern of the letter


def letter_key(reference: str, message_id: int, kind: LetterKind) -> str:
    """The object key of the letter written for one outbox message."""
    return f"letters/{reference}/{message_id}-{kind.value}.md"


def explanation_of(steps: list[dict[str, Any]], outcome: str) -> list[dict[str, str]]:
    """A claim's stored calculation steps as {label, detail} lines: all of them for an approval, the refusing
    steps (those that came to nothing) for a rejection, none for a request for materials."""
    if outcome == "return":
        return []
    lines = []
    for step in steps:
        code = str(step.get("step", ""))
        if code in HIDDEN_STEPS or (outcome == "reject" and step.get("result_fen") != 0):
            continue
        text = step.get("text") or describe(code, step.get("inputs") or {}, step.get("result_fen"))
        lines.append(_line(STEP_LABELS.get(code, "说明"), str(text)))
    return lines


def _line(label: str, text: str) -> dict[str, str]:
    """A step's sentence as {label, detail}, without saying its name twice ('基础补偿 = …' → 基础补偿: …)."""
    head, equals, rest = text.partition(" = ")
    if equals and head and not any(ch.isdigit() for ch in head):
        return {"label": head, "detail": rest}
    if text.startswith(label) and len(text) > len(label):
        return {"label": label, "detail": text[len(label) :].lstrip(" ：:")}
    return {"label": label, "detail": text}


def _decided_at(event: ClaimDecided, claim: Claim, topic: LetterTopic, created_at: datetime) -> datetime:
    """The decision time: the event's own, else the claim's (approval, rejection), else the event's creation."""
    if event.decided_at is not None:
        return as_utc(event.decided_at)
    if topic.outcome != "return" and claim.decided_at is not None:
        return as_utc(claim.decided_at)
    return as_utc(created_at)


def _deciding_task(session: Session, event: ClaimDecided) -> ApprovalTask | None:
    return session.get(ApprovalTask, event.task_id) if event.task_id is not None else None


def _org_name(session: Session, claim: Claim, task: ApprovalTask | None) -> str:
    """The union that decided: the deciding task's org unit, else the programme owner."""
    org_id = task.org_unit_id if task is not None else None
    if org_id is None:
        owner = session.exec(
            select(Programme.owner_org_id)
            .join(PolicyYear, col(PolicyYear.programme_id) == col(Programme.id))
            .where(PolicyYear.id == claim.policy_year_id)
        ).one()
        org_id = owner
    name = session.exec(select(OrgUnit.name).where(OrgUnit.id == org_id)).one()
    return str(name)


def _reason(
    session: Session, message_id: int | None, event: ClaimDecided, claim: Claim, topic: LetterTopic,
    task: ApprovalTask | None,
) -> str | None:  # fmt: skip
    """Why a claim was rejected or returned: the event's reason, else the claim's or the decision's."""
    if topic.outcome == "approve":
        return None
    reason = event.reason if isinstance(event, ClaimRejected | ClaimReturned) else None
    if not reason and topic.outcome == "reject":
        reason = claim.rejection_reason
    if not reason and task is not None:
        reason = session.exec(select(Decision.reason).where(Decision.task_id == task.id)).first()
    if not reason:
        raise ValueError(f"outbox message {message_id}: no reason to write into the letter")
    return str(reason)


def _amount(message_id: int | None, event: ClaimDecided, claim: Claim, topic: LetterTopic) -> int | None:
    if topic.outcome != "approve":
        return None
    amount = event.payout_fen if isinstance(event, ClaimApproved) and event.payout_fen is not None else None
    amount = claim.payout_fen if amount is None else amount
    if amount is None:
        raise ValueError(f"outbox message {message_id}: no approved amount for the letter")
    return amount


def decision_of(message: OutboxMessage) -> ClaimDecided:
    """The decision event an outbox message holds; NotFound when it names no claim."""
    try:
        event = event_of(message.topic, message.payload)
    except MalformedEvent:
        event = None
    if not isinstance(event, ClaimDecided):
        raise NotFound(f"outbox message {message.id}: claim {message.payload.get('claim_id')!r} not found")
    return event


def letter_context(*, session: Session, message: OutboxMessage, claim: Claim) -> tuple[dict[str, Any], datetime]:
    """The template context of a message's letter, and the decision time it is dated by."""
    topic = LETTER_TOPICS[message.topic]
    event = decision_of(message)
    task = _deciding_task(session, event)
    decided_at = _decided_at(event, claim, topic, message.created_at)
    name = session.exec(select(Member.name).where(Member.id == claim.member_id)).one()  # only the name is read
    context = {
        "applicant_name": name,
        "claim_reference": claim.reference,
        "outcome": topic.outcome,
        "amount_fen": _amount(message.id, event, claim, topic),
        "reason": _reason(session, message.id, event, claim, topic, task),
        "explanation": explanation_of(claim.explanation or [], topic.outcome),
        "org_name": _org_name(session, claim, task),
        "date": decided_at,
    }
    return context, decided_at


def _store(store: ObjectStore, key: str, text: str) -> StoredObject:
    """Put the letter; if an earlier attempt for this message stored other bytes, keep those."""
    data = text.encode("utf-8")
    try:
        return store.put(key, data, media_type=MEDIA_TYPE, immutable=True)
    except ObjectExists:
        earlier = store.get(key)
        return StoredObject(key=key, size=len(earlier), sha256=sha256_hex(earlier), media_type=MEDIA_TYPE)


def write_letter(*, session: Session, store: ObjectStore, message: OutboxMessage) -> tuple[Letter, bool]:
    """The letter of a decision event, written (rendered, stored, row added) unless it exists; True if new."""
    existing = session.exec(select(Letter).where(Letter.outbox_message_id == message.id)).first()
    if existing is not None:
        return existing, False
    topic = LETTER_TOPICS.get(message.topic)
    if topic is None or message.id is None:
        raise ValueError(f"outbox message {message.id}: topic {message.topic!r} has no letter")
    claim = session.get(Claim, decision_of(message).claim_id)
    if claim is None or claim.id is None:
        raise NotFound(f"outbox message {message.id}: claim {message.payload.get('claim_id')!r} not found")
    context, decided_at = letter_context(session=session, message=message, claim=claim)
    stored = _store(store, letter_key(claim.reference, message.id, topic.kind), render(TEMPLATE, context))
    policy_year = session.get(PolicyYear, claim.policy_year_id)
    assert policy_year is not None
    letter = Letter(
        claim_id=claim.id,
        kind=topic.kind,
        language=LANGUAGE,
        object_key=stored.key,
        media_type=MEDIA_TYPE,
        size=stored.size,
        sha256=stored.sha256,
        outbox_message_id=message.id,
        decided_at=decided_at,
        due_at=decided_at + timedelta(days=policy_year.policy().letter_days),
        created_at=utcnow(),
    )
    session.add(letter)
    session.flush()
    return letter, True


def letters_of(*, session: Session, claim: Claim) -> list[Letter]:
    """The claim's letters, oldest first."""
    return list(session.exec(select(Letter).where(Letter.claim_id == claim.id).order_by(col(Letter.id))).all())


def letter_of(*, session: Session, claim: Claim, letter_id: int) -> Letter:
    """One of the claim's letters; NotFound when it is not the claim's."""
    letter = session.get(Letter, letter_id)
    if letter is None or letter.claim_id != claim.id:
        raise NotFound(f"未找到通知书 {letter_id}")
    return letter


def letter_bytes(*, store: ObjectStore, letter: Letter) -> bytes:
    """The letter's text as stored; NotFound when the object is missing."""
    try:
        return store.get(letter.object_key)
    except KeyError:
        raise NotFound("通知书文件缺失，请联系管理员", code="letter_object_missing") from None


def on_time(letter: Letter) -> bool:
    """Whether the letter was written within the year's letter_days of the decision."""
    return as_utc(letter.created_at) <= as_utc(letter.due_at)
