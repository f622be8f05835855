"""Benefit rules per policy year (read, change as a new version, history) and quotes (测算).

Anyone signed in may read a year's rules: they are announced publicly anyway. Only administrators change
them; a change is validated in full (422 naming each problem) and kept as a new version. A quote prices
claim data under the current rules without filing anything; a member may quote for themselves only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from sqlmodel import Session, select

from api.deps import CurrentUser, LanguageDep, PolicyYearDep, ProgrammeCode, ReadSessionDep, SessionDep, require_roles
from api.schemas_rules import (
    QuoteIn,
    QuotePublic,
    RulesChange,
    RulesPublic,
    RulesReplace,
    RulesVersionSummary,
)
from api.views import steps_public
from models.base import format_yuan
from models.errors import NotFound
from models.members import Member
from models.org import OrgUnit
from models.programmes import PolicyRulesVersion, PolicyYear, Programme
from models.users import Role, User
from tasks.claims.quote import Quote, quote
from tasks.common.orgs import under
from tasks.common.programmes import change_rules, merged_rules, rules_versions, validated_rules
from tasks.common.users import actor_of

router = APIRouter(prefix="/api", tags=["rules"])

RulesAdmin = Annotated[User, Depends(require_roles(Role.ADMIN))]
Version = Annotated[int, PathParam(ge=1, le=1_000_000)]
SEE_ALL = frozenset({Role.ADMIN, Role.AUDITOR})


def _rules_public(programme_code: str, policy_year: PolicyYear, record: PolicyRulesVersion | None) -> RulesPublic:
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


def _version(session: Session, policy_year: PolicyYear, version: int) -> PolicyRulesVersion | None:
    return session.exec(
        select(PolicyRulesVersion).where(
            PolicyRulesVersion.policy_year_id == policy_year.id, PolicyRulesVersion.version == version
        )
    ).first()


@router.get("/policy-years/{programme_code}/{year}/rules", response_model=RulesPublic)
def current_rules(
    session: SessionDep, _user: CurrentUser, programme_code: ProgrammeCode, policy_year: PolicyYearDep
) -> RulesPublic:
    """The year's current rules, validated (older stored shapes are read into the current one)."""
    record = _version(session, policy_year, policy_year.rules_version)
    public = _rules_public(programme_code, policy_year, record)
    public.rules = policy_year.policy().model_dump(mode="json")
    return public


@router.get("/policy-years/{programme_code}/{year}/rules/versions", response_model=list[RulesVersionSummary])
def list_versions(session: SessionDep, _user: CurrentUser, policy_year: PolicyYearDep) -> list[RulesVersionSummary]:
    """Every kept version of the year's rules, oldest first."""
    return [
        RulesVersionSummary(version=r.version, note=r.note, created_by=r.created_by, created_at=r.created_at)
        for r in rules_versions(session=session, policy_year=policy_year)
    ]


@router.get("/policy-years/{programme_code}/{year}/rules/versions/{version}", response_model=RulesPublic)
def one_version(
    session: SessionDep, _user: CurrentUser, programme_code: ProgrammeCode, policy_year: PolicyYearDep, version: Version
) -> RulesPublic:
    """One kept version of the year's rules, as it was stored."""
    record = _version(session, policy_year, version)
    if record is None:
        raise NotFound(f"规则版本 {version} 不存在")
    return _rules_public(programme_code, policy_year, record)


@router.put("/policy-years/{programme_code}/{year}/rules", response_model=RulesPublic)
def replace_rules(
    session: SessionDep, user: RulesAdmin, programme_code: ProgrammeCode, policy_year: PolicyYearDep, body: RulesReplace
) -> RulesPublic:
    """Replace the year's rules with a whole new set, kept as the next version."""
    record = change_rules(
        session=session, policy_year=policy_year, rules=validated_rules(body.rules), actor=actor_of(user),
        note=body.note,
    )  # fmt: skip
    session.commit()
    return _rules_public(programme_code, policy_year, record)


@router.patch("/policy-years/{programme_code}/{year}/rules", response_model=RulesPublic)
def amend_rules(
    session: SessionDep, user: RulesAdmin, programme_code: ProgrammeCode, policy_year: PolicyYearDep, body: RulesChange
) -> RulesPublic:
    """Change some of the year's rules (e.g. {"benefits": {"hospitalisation": {"ratio": "0.75"}}})."""
    rules = merged_rules(policy_year.policy(), body.changes)
    record = change_rules(session=session, policy_year=policy_year, rules=rules, actor=actor_of(user), note=body.note)
    session.commit()
    return _rules_public(programme_code, policy_year, record)


def quoted_member(session: Session, user: User, id_number: str | None) -> Member | None:
    """The member a quote is for: a member user is always themselves; staff name a member in their subtree."""
    if Role(user.role) == Role.MEMBER:
        if user.member_id is None:
            raise NotFound("该账号未关联会员")
        return session.get(Member, user.member_id)
    if id_number is None:
        return None
    stmt = select(Member).where(Member.id_number == id_number.strip().upper())
    if Role(user.role) not in SEE_ALL:
        stmt = stmt.join(OrgUnit, OrgUnit.id == Member.org_unit_id).where(under(user.org_unit_id))  # type: ignore[arg-type]
    member = session.exec(stmt).first()
    if member is None:
        raise NotFound("未找到该会员")
    return member


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


@router.post("/quotes", response_model=QuotePublic)
def make_quote(session: ReadSessionDep, user: CurrentUser, language: LanguageDep, body: QuoteIn) -> QuotePublic:
    """Price claim data under the year's current rules (and the member's remaining cap); nothing is filed."""
    programme = session.exec(select(Programme).where(Programme.code == body.programme_code)).first()
    if programme is None:
        raise NotFound(f"未找到项目 {body.programme_code}")
    member = quoted_member(session, user, body.id_number)
    result = quote(session=session, programme_id=programme.id or 0, data=body.claim, member=member)
    return quote_public(body.programme_code, result, language)
