"""Benefit rules per policy year (read, change as a new version, history) and quotes (测算).

Anyone signed in may read a year's rules: they are announced publicly anyway. Only administrators change
them; a change is validated in full (422 naming each problem) and kept as a new version. A quote prices
claim data under the current rules without filing anything; a member may quote for themselves only, staff for
members of their org subtree (tasks.common.access.quoted_member).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from sqlmodel import Session, select

from api.deps import CurrentUser, LanguageDep, PolicyYearDep, ProgrammeCode, ReadSessionDep, SessionDep, require_roles
from api.presenters.rules import quote_public, rules_public
from api.schemas_rules import QuoteIn, QuotePublic, RulesChange, RulesPublic, RulesReplace, RulesVersionSummary
from models.errors import NotFound
from models.programmes import PolicyRulesVersion, PolicyYear, Programme
from models.users import Role, User
from tasks.claims.quote import quote
from tasks.common.access import quoted_member
from tasks.common.programmes import change_rules, merged_rules, rules_versions, validated_rules
from tasks.common.users import actor_of

router = APIRouter(prefix="/api", tags=["rules"])

RulesAdmin = Annotated[User, Depends(require_roles(Role.ADMIN))]
Version = Annotated[int, PathParam(ge=1, le=1_000_000)]


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
    public = rules_public(programme_code, policy_year, record)
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
    return rules_public(programme_code, policy_year, record)


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
    return rules_public(programme_code, policy_year, record)


@router.patch("/policy-years/{programme_code}/{year}/rules", response_model=RulesPublic)
def amend_rules(
    session: SessionDep, user: RulesAdmin, programme_code: ProgrammeCode, policy_year: PolicyYearDep, body: RulesChange
) -> RulesPublic:
    """Change some of the year's rules (e.g. {"benefits": {"hospitalisation": {"ratio": "0.75"}}})."""
    rules = merged_rules(policy_year.policy(), body.changes)
    record = change_rules(session=session, policy_year=policy_year, rules=rules, actor=actor_of(user), note=body.note)
    session.commit()
    return rules_public(programme_code, policy_year, record)


@router.post("/quotes", response_model=QuotePublic)
def make_quote(session: ReadSessionDep, user: CurrentUser, language: LanguageDep, body: QuoteIn) -> QuotePublic:
    """Price claim data under the year's current rules (and the member's remaining cap); nothing is filed."""
    programme = session.exec(select(Programme).where(Programme.code == body.programme_code)).first()
    if programme is None:
        raise NotFound(f"未找到项目 {body.programme_code}")
    member = quoted_member(session=session, user=user, id_number=body.id_number)
    result = quote(session=session, programme_id=programme.id or 0, data=body.claim, member=member)
    return quote_public(body.programme_code, result, language)
