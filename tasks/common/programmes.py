"""Programmes and policy years: rules stored as validated data, one fund account per year."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from models.errors import NotFound, ValidationFailed
from models.funds import FundAccount
from models.org import OrgUnit
from models.programmes import PolicyRulesVersion, PolicyYear, Programme, ProgrammeKind
from models.rules import PolicyRules
from models.states import Actor, record


def create_programme(
    *, session: Session, code: str, name: str, owner: OrgUnit, kind: ProgrammeKind = ProgrammeKind.MUTUAL_AID
) -> Programme:
    """Add a programme owned by a city union."""
    assert owner.id is not None
    programme = Programme(code=code, name=name, kind=kind, owner_org_id=owner.id)
    session.add(programme)
    session.flush()
    return programme


def open_policy_year(
    *, session: Session, programme: Programme, year: int, rules: PolicyRules | None = None
) -> PolicyYear:
    """Open a calendar policy year with its rules and an empty fund account."""
    assert programme.id is not None
    policy_year = PolicyYear(
        programme_id=programme.id,
        year=year,
        starts_on=date(year, 1, 1),
        ends_on=date(year, 12, 31),
        rules=(rules or PolicyRules()).model_dump(mode="json"),
    )
    session.add(policy_year)
    session.flush()
    assert policy_year.id is not None
    session.add(FundAccount(policy_year_id=policy_year.id))
    session.add(
        PolicyRulesVersion(
            policy_year_id=policy_year.id, version=1, rules=policy_year.rules, note="opened", created_by="system"
        )
    )
    session.flush()
    return policy_year


def validated_rules(data: dict[str, Any]) -> PolicyRules:
    """Rules from data (e.g. a JSON file or request), or ValidationFailed naming every problem."""
    try:
        return PolicyRules.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'rules'}: {err['msg']}" for err in exc.errors()[:10]
        )
        raise ValidationFailed(f"规则配置无效：{problems}", code="invalid_rules") from None


def merged_rules(current: PolicyRules, changes: dict[str, Any]) -> PolicyRules:
    """The current rules with `changes` laid over them (nested dicts merge key by key), validated."""

    def merge(base: Any, over: Any) -> Any:
        if isinstance(base, dict) and isinstance(over, dict):
            return {**base, **{k: merge(base.get(k), v) for k, v in over.items()}}
        return over

    return validated_rules(merge(current.model_dump(mode="json"), changes))


def change_rules(
    *, session: Session, policy_year: PolicyYear, rules: PolicyRules, actor: Actor, note: str = ""
) -> PolicyRulesVersion:
    """Make `rules` the year's current rules as a new kept version, audited. Claims already calculated
    keep their payout and explanation; claims calculated from now on record the new version."""
    session.refresh(policy_year, with_for_update=True)  # two changes at once get consecutive versions
    version = policy_year.rules_version + 1
    data = rules.model_dump(mode="json")
    kept = PolicyRulesVersion(
        policy_year_id=policy_year.id or 0, version=version, rules=data, note=note[:200], created_by=actor.label[:64]
    )
    session.add(kept)
    policy_year.rules = data
    policy_year.rules_version = version
    session.flush()
    record(
        session, "policy_year", policy_year.id or 0, "rules.changed", actor=actor,
        data={"version": version, "note": note[:200]},
    )  # fmt: skip
    return kept


def rules_versions(*, session: Session, policy_year: PolicyYear) -> list[PolicyRulesVersion]:
    """Every kept version of the year's rules, oldest first."""
    return list(
        session.exec(
            select(PolicyRulesVersion)
            .where(PolicyRulesVersion.policy_year_id == policy_year.id)
            .order_by(col(PolicyRulesVersion.version))
        ).all()
    )


def get_policy_year(*, session: Session, programme_code: str, year: int) -> PolicyYear:
    """The policy year of a programme, or NotFound."""
    found = session.exec(
        select(PolicyYear)
        .join(Programme, Programme.id == PolicyYear.programme_id)  # type: ignore[arg-type]
        .where(Programme.code == programme_code, PolicyYear.year == year)
    ).first()
    if found is None:
        raise NotFound(f"未找到项目 {programme_code} 的 {year} 年度")
    return found


def policy_year_for(*, session: Session, programme_id: int, on: date) -> PolicyYear | None:
    """The policy year of a programme that contains a date."""
    return session.exec(
        select(PolicyYear).where(
            PolicyYear.programme_id == programme_id, PolicyYear.starts_on <= on, PolicyYear.ends_on >= on
        )
    ).first()
