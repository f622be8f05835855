"""API test fixtures: a TestClient on this test's database, the standard world, sign-in, and claims in review.

Claims are inserted with the ORM (member, enrolment, claim in 'submitted') and then routed by the real
`tasks.approval.routing.start_review`, so the queue tests do not depend on the claim-submission service.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import date
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.main import create_app
from core.settings import Settings
from models.approvals import ApprovalTask
from models.claims import BenefitType, Claim, ClaimStatus, HospitalTier
from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.members import EmploymentStatus, Member, Sex
from models.programmes import PolicyYear
from models.states import SYSTEM
from tasks.approval.routing import start_review
from tasks.eligibility.checks import check_enrolments, pending_enrolment_ids
from tasks.funds.contributions import collect_unit_contribution
from tasks.registration.enrolment import import_roster_rows
from tasks.registration.roster import parse_roster
from tests.factories import PASSWORD, World, build_world, id_number

ClaimMaker = Callable[..., Claim]
T = TypeVar("T")


@pytest.fixture
def client(app_settings: Settings) -> Iterator[TestClient]:
    """A client of a fresh app that talks to this test's database and object store."""
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture
def world(session: Session) -> World:
    """The standard org tree, programme year and users (committed)."""
    return build_world(session)


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign in through the API; the Authorization header for the user."""
    response = client.post("/api/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def insert_claim(
    session: Session,
    world: World,
    *,
    n: int,
    unit: int = 0,
    payout_fen: int = 350000,
    required_levels: int | None = None,
    benefit_type: BenefitType = BenefitType.HOSPITALISATION,
    filed_by: int | None = None,
) -> Claim:
    """A member of world.units[unit] with an active enrolment and a submitted claim, routed to L1; committed."""
    org = world.units[unit]
    assert org.id is not None and world.policy_year.id is not None
    member = Member(
        name=f"测试会员{n}",
        id_number=id_number(n),
        birth_date=date(1980, 5, 17),
        sex=Sex.MALE,
        employment_status=EmploymentStatus.IN_SERVICE,
        org_unit_id=org.id,
        bank_card=f"62220200000000{n:05d}",
        bank_name="工商银行",
    )
    session.add(member)
    session.flush()
    assert member.id is not None
    enrolment = Enrolment(
        member_id=member.id,
        policy_year_id=world.policy_year.id,
        org_unit_id=org.id,
        kind=EnrolmentKind.NEW,
        status=EnrolmentStatus.ACTIVE,
        contribution_fen=9500,
        paid_on=date(2025, 12, 1),
        coverage_start=date(2026, 1, 1),
        coverage_end=date(2026, 12, 31),
    )
    session.add(enrolment)
    session.flush()
    claim = Claim(
        reference=f"C2026-T{n:07d}",
        member_id=member.id,
        enrolment_id=enrolment.id,
        policy_year_id=world.policy_year.id,
        org_unit_id=org.id,
        benefit_type=benefit_type,
        status=ClaimStatus.SUBMITTED,
        filed_by=filed_by,
        admission_date=date(2026, 3, 2),
        discharge_date=date(2026, 3, 12),
        hospital_name="示范市第一人民医院",
        hospital_tier=HospitalTier.TIER3,
        diagnosis_code="K35.8",
        diagnosis_text="急性阑尾炎SECRETDIAG",
        invoice_numbers=[f"INV{n:06d}"],
        total_fen=payout_fen * 2,
        payout_fen=payout_fen,
        eligible_fen=payout_fen * 2,
        required_levels=required_levels or (3 if payout_fen > 500000 else 2),
        explanation=[{"step": "base", "text": f"基础补偿 = {payout_fen / 100:.2f}", "result_fen": payout_fen}],
    )
    session.add(claim)
    session.flush()
    start_review(session=session, claim=claim, actor=SYSTEM)
    session.commit()
    return claim


@pytest.fixture
def make_claim(session: Session, world: World) -> ClaimMaker:
    """Factory: make_claim(unit=0, payout_fen=..., filed_by=...) → a claim in review with its L1 task open."""
    counter = itertools.count(1)

    def make(**kwargs: object) -> Claim:
        return insert_claim(session, world, n=next(counter), **kwargs)  # type: ignore[arg-type]

    return make


def enrol(
    session: Session,
    world: World,
    numbers: range,
    *,
    unit: int = 0,
    year: PolicyYear | None = None,
    paid_on: date | None = None,
) -> list[int]:
    """Register the n-th test members at world.units[unit], pass eligibility, and (if paid_on) collect the unit's
    contribution so they are active; committed. Returns their member ids."""
    policy_year = year or world.policy_year
    code = world.units[unit].code
    header = "姓名,身份证号,手机号,在职状态,单位,银行卡号,开户银行"
    lines = [f"会员{chr(0x4E00 + n)},{id_number(n)},,{'退休' if n % 2 else '在职'},{code},," for n in numbers]
    rows = parse_roster("\n".join([header, *lines]).encode()).rows
    import_roster_rows(session=session, policy_year=policy_year, rows=rows, importer_scope_path=None)
    assert policy_year.id is not None
    check_enrolments(
        session=session, enrolment_ids=pending_enrolment_ids(session=session, policy_year_id=policy_year.id)
    )
    if paid_on is not None:
        collect_unit_contribution(
            session=session,
            policy_year=policy_year,
            unit=world.units[unit],
            received_on=paid_on,
            reference=f"JF-{code}-{policy_year.year}-{numbers.start}",
        )
    member_ids = session.exec(select(Member.id).where(col(Member.id_number).in_([id_number(n) for n in numbers])))
    ids = sorted(i for i in member_ids.all() if i is not None)
    session.commit()
    return ids


def fresh(session: Session, model: type[T], ident: int) -> T:
    """The row as the database has it now; the read transaction is ended so the app is never blocked.

    Nothing is expired: an expired object would reload lazily later and hold SQLite's write lock.
    """
    obj = session.get(model, ident, populate_existing=True)
    session.commit()
    assert obj is not None
    return obj


def task_of(session: Session, claim_id: int | None, level: int = 1) -> ApprovalTask:
    """The claim's task at level, as the database has it now (read transaction ended)."""
    stmt = select(ApprovalTask).where(ApprovalTask.claim_id == claim_id, ApprovalTask.level == level)
    task = session.exec(stmt.execution_options(populate_existing=True)).one()
    session.commit()
    return task
