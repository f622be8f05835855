"""Final approval (DOMAIN 2.6 rule 4, 2.7): the year's limits are counted again under a lock on the member, so
two claims finalised at once can never pass them together; then the claim is posted for public notice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.claims import Claim, ClaimStatus
from models.events import ClaimApproved, ClaimRejected
from models.members import Member
from models.programmes import PolicyYear
from models.rules import PolicyRules
from models.states import Actor, change_status, emit
from tasks.approval.notice import post_notice
from tasks.claims.benefits import CAP_REACHED
from tasks.claims.explain import describe
from tasks.claims.limits import Usage, usage_of


@dataclass(frozen=True)
class DecidedBy:
    """Which task, level and round decided a claim, and when: what every event of the decision carries."""

    claim_id: int
    task_id: int | None
    level: int
    round: int
    decided_at: datetime

    def fields(self) -> dict[str, Any]:
        """The facts as keyword arguments of a claim decision event (models.events.ClaimDecided)."""
        return asdict(self)


def finalise(*, session: Session, claim: Claim, level: int, actor: Actor, decided: DecidedBy, now: datetime) -> None:
    """Re-check the year's limits, then post the public notice (or reject the claim with the reason)."""
    # The member row lock comes before the usage is read: it serialises the final approvals of one member on
    # PostgreSQL (on SQLite every write transaction begins IMMEDIATE). Without it, or taken after the read,
    # tests/tasks/approval/test_final_approval_limits.py fails on PostgreSQL.
    session.get(Member, claim.member_id, with_for_update=True)
    policy_year = session.get(PolicyYear, claim.policy_year_id)
    assert policy_year is not None
    rules = policy_year.policy()
    payout, refusal = recheck_limits(session=session, claim=claim, rules=rules)
    if refusal is None and payout <= 0:
        refusal = CAP_REACHED
    if refusal is not None:
        change_status(
            session, claim, ClaimStatus.REJECTED, actor=actor, reason=refusal,
            values={"rejection_reason": refusal, "decided_at": now, "payout_fen": 0},
        )  # fmt: skip
        emit(session, ClaimRejected(**decided.fields(), reason=refusal))
        return
    notice = post_notice(session=session, claim=claim, rules=rules, approval_level=level, now=now)
    change_status(
        session, claim, ClaimStatus.IN_NOTICE, actor=actor,
        values={"decided_at": now, "notice_ends_at": notice.ends_at},
        data={"payout_fen": payout, "notice_no": notice.notice_no},
    )  # fmt: skip
    emit(session, ClaimApproved(**decided.fields(), payout_fen=payout))


def recheck_limits(*, session: Session, claim: Claim, rules: PolicyRules) -> tuple[int, str | None]:
    """The claim's payout after counting the member's granted claims again: lowered to what the annual
    cap leaves (recorded in the explanation), or refused (times per year used up). Lock the member first."""
    usage = usage_of(session=session, member_ids=[claim.member_id], exclude_claim_ids=[claim.id or 0]).get(
        (claim.member_id, claim.policy_year_id), Usage()
    )
    rule = rules.benefits.get(claim.benefit_type)
    if rule is not None and rule.times_per_year is not None and usage.times(claim.benefit_type) >= rule.times_per_year:
        inputs = {"label": rule.label_zh, "label_en": rule.label_en, "used": usage.times(claim.benefit_type),
                  "limit": rule.times_per_year}  # fmt: skip
        text = describe("times_per_year", inputs, 0)
        claim.explanation = [*claim.explanation, {"step": "times_per_year", "text": text, "inputs": inputs,
                                                  "result_fen": 0}]  # fmt: skip
        return 0, text
    payout = claim.payout_fen or 0
    if rules.annual_cap_fen is None or (rule is not None and not rule.within_annual_cap):
        return payout, None
    used = usage.used_cap_fen(rules)
    remaining = max(0, rules.annual_cap_fen - used)
    if payout > remaining:
        inputs = {"used_cap_fen": used, "remaining_fen": remaining}
        claim.explanation = [
            *claim.explanation,
            {"step": "cap_recheck", "text": describe("cap_recheck", inputs, remaining), "inputs": inputs,
             "result_fen": remaining},
        ]  # fmt: skip
        claim.payout_fen = payout = remaining
    return payout, None
