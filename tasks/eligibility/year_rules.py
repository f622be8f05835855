"""The eligibility rules of a policy year (DOMAIN 2.3), resolved against the org tree, and the reasons they give.

The rules come from each enrolment's policy year (models.rules.PolicyRules): the region (the subtrees of
`region_org_codes`, or of the programme's owner), the employment statuses and the age range; plus the
programme's bar list and the member's own `barred` flag. Each rule an enrolment breaks is one bit of a mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from models.errors import ValidationFailed
from models.org import OrgUnit
from models.programmes import PolicyYear, Programme
from models.rules import PolicyRules

ORG_UNIT = OrgUnit.__table__  # type: ignore[attr-defined]
POLICY_YEAR = PolicyYear.__table__  # type: ignore[attr-defined]
PROGRAMME = Programme.__table__  # type: ignore[attr-defined]
OUTSIDE_REGION = "不属于本项目地区"
WRONG_EMPLOYMENT_STATUS = "在职状态不符合参加条件"
BARRED = "因骗保被取消资格"
NOT_GRASSROOTS = "登记单位不是基层工会，需人工审核"
# The bits of the mask of broken rules, in the order their reasons are listed.
REGION, EMPLOYMENT, AGE, BAR, REVIEW = 1, 2, 4, 8, 16


def age_reason(rules: PolicyRules) -> str:
    """The reason given for an age outside the year's range."""
    return f"年龄不在{rules.age_min}-{rules.age_max}周岁范围内"


@dataclass(frozen=True)
class YearRules:
    """The eligibility rules of one policy year, resolved against the org tree."""

    policy_year_id: int
    programme_id: int
    starts_on: date
    rules: PolicyRules
    region_paths: tuple[str, ...]

    def reason(self, mask: int) -> str:
        """The stored reason for a mask of broken rules (REGION … BAR), in a fixed order."""
        texts = {REGION: OUTSIDE_REGION, EMPLOYMENT: WRONG_EMPLOYMENT_STATUS, AGE: age_reason(self.rules), BAR: BARRED}
        return "；".join(text for bit, text in texts.items() if mask & bit)


def year_rules(*, session: Session, policy_year_ids: set[int]) -> dict[int, YearRules]:
    """The rules of each policy year; ValidationFailed if a region code names no org unit."""
    py, pr, owner = POLICY_YEAR, PROGRAMME, ORG_UNIT.alias("owner")
    rows = session.execute(
        select(py.c.id, py.c.programme_id, py.c.starts_on, py.c.rules, owner.c.path)
        .join(pr, pr.c.id == py.c.programme_id)
        .join(owner, owner.c.id == pr.c.owner_org_id)
        .where(py.c.id.in_(policy_year_ids))
    ).all()
    found: dict[int, YearRules] = {}
    for row in rows:
        rules = PolicyRules.model_validate(row.rules)
        paths: tuple[str, ...] = (row.path,)
        if rules.region_org_codes:
            by_code = dict(
                session.execute(
                    select(ORG_UNIT.c.code, ORG_UNIT.c.path).where(ORG_UNIT.c.code.in_(rules.region_org_codes))
                ).all()
            )
            missing = [code for code in rules.region_org_codes if code not in by_code]
            if missing:
                raise ValidationFailed(f"资格规则中的地区单位不存在：{'、'.join(missing)}")
            paths = tuple(by_code[code] for code in rules.region_org_codes)
        found[row.id] = YearRules(row.id, row.programme_id, row.starts_on, rules, paths)
    return found
