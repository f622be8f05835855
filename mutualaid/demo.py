"""The demo: a whole programme cycle on generated data, through the real flows, services and stores."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel import Session, col, select

from models.approvals import ApprovalTask, DecisionIn, Outcome, TaskKind, TaskStatus
from models.base import utcnow
from models.claims_enums import DocumentType
from models.notices import ObjectionIn
from models.org import OrgLevel, OrgUnit
from models.rules import PolicyRules
from models.users import Role, User, UserCreate
from mutualaid.demo_data import HOSPITAL_DOCS, DemoMember, claim_input, documents_for, members, roster_csv
from mutualaid.storage.base import ObjectStore
from tasks.approval import decide, take_task
from tasks.intake import INBOX, write_intake
from tasks.notice import client_key, posted_notices, raise_objection
from tasks.orgs import create_org_unit
from tasks.programmes import create_programme, open_policy_year
from tasks.users import create_user

PROGRAMME = "MA"
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - demo accounts on a local demo database only
COUNTIES = ["历下区", "市中区", "槐荫区", "天桥区"]
REJECT_REASONS = [
    "发票与费用清单金额不符，无法核实",
    "住院期间非本单位在职职工，不符合补偿条件",
    "提交的出院小结与发票住院日期不一致",
]
RETURN_REASON = "请补充加盖医院公章的费用清单原件"
OBJECTION_TEXT = "据了解该职工住院期间费用已由单位全额报销，请核实"
OBJECTION_OUTCOMES: list[tuple[Outcome, str | None]] = [
    (Outcome.DISMISS, "经核实，单位未报销该费用，异议不成立"),
    (Outcome.UPHOLD_REJECT, "经核实，费用已由单位全额报销，不予补偿"),
    (Outcome.UPHOLD_REVIEW, "报销情况需重新核对，退回重新审核"),
]


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
    staff: list[tuple[str, Role, str | None]] = [
        ("admin", Role.ADMIN, None),
        ("finance", Role.FINANCE, None),
        ("auditor", Role.AUDITOR, None),
    ]
    staff += [(f"city{i}", Role.CITY_APPROVER, "SZ") for i in (1, 2)]
    for n in range(unit_count):
        county = counties[n % len(counties)]
        code = f"{county.code}{n // len(counties) + 1:03d}"
        create_org_unit(
            session=session, code=code, name=f"{county.name[:-3]}第{n + 1}企业工会", level=OrgLevel.GRASSROOTS,
            parent=county,
        )  # fmt: skip
        plan.units.append(code)
        staff.append((f"unit{code.lower()}", Role.UNIT_OFFICER, code))
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
    plan.late_units = plan.units[-2:]
    session.commit()
    return plan


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


def _reviewers(session: Session) -> dict[tuple[int, int], list[User]]:
    """The demo's reviewers by (level, org unit)."""
    reviewers: dict[tuple[int, int], list[User]] = {}
    for user in session.exec(select(User).where(col(User.org_unit_id).is_not(None)).order_by(col(User.id))).all():
        if user.review_level:
            reviewers.setdefault((user.review_level, user.org_unit_id or 0), []).append(user)
    return reviewers


def _outcome(task: ApprovalTask) -> tuple[Outcome, str | None] | None:
    """What the demo's reviewer decides on a task; None: it stays on their desk."""
    claim_id = task.claim_id or 0
    if task.kind == TaskKind.OBJECTION_REVIEW:
        return OBJECTION_OUTCOMES[(task.objection_id or 0) % len(OBJECTION_OUTCOMES)]
    if claim_id % 41 == 11 and task.level == 2:
        return None  # still on a county reviewer's desk: the deadline sweep reminds, then escalates it
    if claim_id % 13 == 3 and task.level == 1:
        return Outcome.REJECT, REJECT_REASONS[claim_id % len(REJECT_REASONS)]
    if claim_id % 31 == 7 and task.level == 1:
        return Outcome.RETURN, RETURN_REASON
    return Outcome.APPROVE, None


def reviewers_decide(session: Session) -> dict[str, int]:
    """Demo reviewers work through their queues, level by level, through the same service the API uses."""
    counts = {str(o): 0 for o in Outcome} | {"left_open": 0}
    reviewers = _reviewers(session)
    for _round in range(4):  # L1, then the L2 tasks L1 approvals opened, then L3; objections after
        tasks = session.exec(
            select(ApprovalTask).where(ApprovalTask.status == TaskStatus.OPEN).order_by(col(ApprovalTask.id))
        ).all()
        for task in tasks:
            decision = _outcome(task)
            candidates = reviewers.get((task.level, task.org_unit_id), [])
            if decision is None or not candidates:
                counts["left_open"] += _round == 0
                continue
            outcome, reason = decision
            reviewer = candidates[(task.claim_id or 0) % len(candidates)]
            take_task(session=session, user=reviewer, task_id=task.id or 0)
            decide(
                session=session, user=reviewer, task_id=task.id or 0,
                decision=DecisionIn(outcome=outcome, reason=reason, version=task.version),
            )  # fmt: skip
            session.commit()
            counts[str(outcome)] += 1
    return {k: v for k, v in counts.items() if v}


def public_objects(session: Session, *, every: int = 15) -> int:
    """Members of the public object to some of the cases on the notice board (every `every`-th notice)."""
    notices, _total = posted_notices(session=session, as_of=utcnow(), limit=10_000)
    raised = 0
    for n, notice in enumerate(sorted(notices, key=lambda x: x.id or 0)):
        if n % every == every - 1:
            raise_objection(
                session=session, notice_no=notice.notice_no, data=ObjectionIn(text=OBJECTION_TEXT),
                sender_key=client_key(f"demo-visitor-{n}"), now=utcnow(),
            )  # fmt: skip
            session.commit()
            raised += 1
    return raised


def county_of(session: Session, unit_code: str) -> OrgUnit | None:
    """The county union of a grassroots unit."""
    unit = session.exec(select(OrgUnit).where(OrgUnit.code == unit_code)).first()
    return session.get(OrgUnit, unit.parent_id) if unit and unit.parent_id else None
