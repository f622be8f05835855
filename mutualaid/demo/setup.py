"""The demo's set-up: the org tree, the programme year, staff accounts, and the papers units and service desks
hand in (a roster file, scanned claims)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session

from core.storage.base import ObjectStore
from models.claims_enums import DocumentType
from models.org import OrgLevel, OrgUnit
from models.rules import PolicyRules
from models.users import Role, UserCreate
from mutualaid.demo.data import HOSPITAL_DOCS, DemoMember, claim_input, documents_for, members, roster_csv
from tasks.claims.intake import INBOX, write_intake
from tasks.common.orgs import create_org_unit
from tasks.common.programmes import create_programme, open_policy_year
from tasks.common.users import create_user

PROGRAMME = "MA"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - demo accounts on a local demo database only
COUNTIES = ["历下区", "市中区", "槐荫区", "天桥区"]


@dataclass
class DemoPlan:
    """What the demo set up: no personal data, since it is a flow parameter that Prefect keeps."""

    year: int
    units: list[str] = field(default_factory=list)
    late_units: list[str] = field(default_factory=list)
    roster_key: str = ""
    intake_batch: str = ""


def demo_year(today: date) -> int:
    """This year once there is room for claims in it, else last year."""
    return today.year if today >= date(today.year, 7, 1) else today.year - 1


def set_up(session: Session, *, today: date, member_count: int, unit_count: int) -> DemoPlan:
    """The org tree, programme year and staff accounts."""
    plan = DemoPlan(year=demo_year(today))
    city = create_org_unit(session=session, code="SZ", name="示范市总工会", level=OrgLevel.CITY)
    counties = [
        create_org_unit(
            session=session, code=f"SZ{i + 1:02d}", name=f"{name}总工会", level=OrgLevel.COUNTY, parent=city
        )
        for i, name in enumerate(COUNTIES)
    ]
    programme = create_programme(session=session, code=PROGRAMME, name="职工医疗互助保障", owner=city)
    open_policy_year(session=session, programme=programme, year=plan.year, rules=PolicyRules())
    plan.units = _grassroots_units(session=session, counties=counties, unit_count=unit_count)
    _create_staff(session=session, units=plan.units, counties=counties)
    plan.late_units = plan.units[-2:]
    session.commit()
    return plan


def _grassroots_units(*, session: Session, counties: list[OrgUnit], unit_count: int) -> list[str]:
    """The enterprise unions, dealt round the counties in turn; their codes in the order made."""
    codes: list[str] = []
    for n in range(unit_count):
        county = counties[n % len(counties)]
        code = f"{county.code}{n // len(counties) + 1:03d}"
        create_org_unit(
            session=session, code=code, name=f"{county.name[:-3]}第{n + 1}企业工会", level=OrgLevel.GRASSROOTS,
            parent=county,
        )  # fmt: skip
        codes.append(code)
    return codes


def _create_staff(*, session: Session, units: list[str], counties: list[OrgUnit]) -> None:
    """The city's staff, an officer per unit and two reviewers per county (the first a supervisor)."""
    staff: list[tuple[str, Role, str | None]] = [
        ("admin", Role.ADMIN, None),
        ("finance", Role.FINANCE, None),
        ("auditor", Role.AUDITOR, None),
    ]
    staff += [(f"city{i}", Role.CITY_APPROVER, "SZ") for i in (1, 2)]
    staff += [(f"unit{code.lower()}", Role.UNIT_OFFICER, code) for code in units]
    for county in counties:
        staff += [(f"county{county.code.lower()}a", Role.COUNTY_REVIEWER, county.code)]
        staff += [(f"county{county.code.lower()}b", Role.COUNTY_REVIEWER, county.code)]
    supervisors = {f"county{county.code.lower()}a" for county in counties} | {"city1"}
    for username, role, org in staff:
        create_user(
            session=session,
            data=UserCreate(
                username=username, full_name=username, password=DEMO_PASSWORD, role=role, org_unit_code=org,
                is_supervisor=username in supervisors,
            ),
        )  # fmt: skip


def hand_in_papers(store: ObjectStore, plan: DemoPlan, *, member_count: int, claim_count: int, today: date) -> None:
    """The units hand in their roster and the service desks scan the claims handed in this year."""
    roster = members(plan.units, member_count)
    plan.roster_key = f"rosters/{plan.year}/demo-roster.csv"
    store.put(plan.roster_key, roster_csv(roster), media_type="text/csv", immutable=False)
    plan.intake_batch = f"{plan.year}-demo"
    write_claim_intakes(store, plan, roster, count=claim_count, batch=plan.intake_batch, today=today)


def write_claim_intakes(
    store: ObjectStore, plan: DemoPlan, roster: list[DemoMember], *, count: int, batch: str, today: date
) -> int:
    """The service desk scans `count` claims into the inbox: ordinary, large, hardship, critical, incomplete."""
    rng = random.Random(11)
    eligible = [m for m in roster if m.id_number[6:10] > "1950"]
    window_start = date(plan.year, 3, 20)
    window_end = min(date(plan.year, 12, 10), today - timedelta(days=25))
    span = (window_end - window_start).days
    for n in range(count):
        member = eligible[(n * 7) % len(eligible)]
        kind = ["ordinary"] * 20 + ["medium", "large", "hardship", "hardship", "critical"]
        claim_kind = kind[n % len(kind)]
        admission = window_start + timedelta(days=rng.randint(0, span))
        if member.unit_code in plan.late_units:
            admission = date(plan.year, 4, 10) + timedelta(days=n % 30)  # before their coverage starts
        data = claim_input(n, rng, admission, claim_kind)
        doc_types = list(HOSPITAL_DOCS)
        if claim_kind == "critical":
            doc_types = [DocumentType.ID_CARD, DocumentType.DIAGNOSIS_CERTIFICATE, DocumentType.BANK_CARD]
        elif claim_kind == "hardship":
            doc_types = [DocumentType.ID_CARD, DocumentType.BANK_CARD]
        if n % 25 == 12:
            doc_types = doc_types[:-2]  # handed in without all materials: incomplete
        write_intake(
            store, f"{INBOX}/{batch}/{n:05d}", id_number=member.id_number, programme_code=PROGRAMME, claim=data,
            documents=documents_for(n, doc_types),
        )  # fmt: skip
    return count
