"""Presenters of benefit rules and quotes (测算): a year's rules at one version, and a quote with its steps."""

from __future__ import annotations

from api.presenters.claims import steps_public
from api.schemas_rules import QuotePublic, RulesPublic
from models.base import format_yuan
from models.programmes import PolicyRulesVersion, PolicyYear
from tasks.claims.quote import Quote


def rules_public(programme_code: str, policy_year: PolicyYear, record: PolicyRulesVersion | None) -> RulesPublic:
    """A year's rules at one kept version (the year's own rules when no version was kept)."""
    if record is None:
        return RulesPublic(
            programme_code=programme_code, year=policy_year.year, version=policy_year.rules_version, current=True,
            rules=dict(policy_year.rules),
        )  # fmt: skip
    return RulesPublic(
        programme_code=programme_code,
        year=policy_year.year,
        version=record.version,
        current=record.version == policy_year.rules_version,
        note=record.note,
        created_by=record.created_by,
        created_at=record.created_at,
        rules=dict(record.rules),
    )


def quote_public(programme_code: str, result: Quote, language: str) -> QuotePublic:
    """A quote as the API shows it, its explanation in the asked language."""
    calc = result.calculation
    return QuotePublic(
        programme_code=programme_code,
        year=result.policy_year.year,
        rules_version=result.policy_year.rules_version,
        benefit_type=result.benefit_type,
        benefit_type_label=result.benefit_label_en if language == "en" else result.benefit_label_zh,
        payout_fen=result.payout_fen,
        payout_yuan=format_yuan(result.payout_fen),
        eligible_fen=calc.eligible_fen,
        granted=result.rejection is None,
        rejection=result.rejection,
        required_levels=calc.required_levels,
        member_known=result.member_known,
        remaining_cap_fen=result.remaining_cap_fen,
        remaining_cap_yuan=format_yuan(result.remaining_cap_fen) if result.remaining_cap_fen is not None else None,
        times_used=result.times_used,
        times_per_year=result.times_per_year,
        steps=steps_public(calc.steps, language),
    )
