"""Claim application and adjudication (DOMAIN 2.5, 2.6) on a real database, through the real services."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, col, select

from core import settings as settings_module
from core.storage.base import ObjectStore
from models.approvals import ApprovalTask, TaskKind, TaskStatus
from models.audit import AuditEvent
from models.claims import Claim, ClaimDocument, ClaimInput, ClaimStatus
from models.claims_enums import BenefitType, DocumentType, HospitalTier
from models.errors import ValidationFailed
from models.members import Member
from models.states import Actor
from mutualaid.demo.data import luhn_card, pdf_bytes, png_bytes
from tasks.approval.routing import route_claims
from tasks.claims.adjudication import adjudicate_claims, submitted_claim_ids
from tasks.claims.documents import UploadedDocument, stored_documents
from tasks.claims.submission import add_documents, submit_claim
from tasks.eligibility.checks import check_enrolments, pending_enrolment_ids
from tasks.funds.contributions import collect_unit_contribution
from tasks.registration.roster_import import import_roster
from tests.factories import World, build_world, id_number

HEADER = "姓名,身份证号,手机号,在职状态,单位编码,银行卡号,开户银行"
PAID_ON = date(2026, 1, 5)  # first-time enrolment: covered from PAID_ON + 90 days
COVERED_FROM = PAID_ON + timedelta(days=90)  # 2026-04-05
ADMISSION = date(2026, 5, 1)
DISCHARGE = date(2026, 5, 10)
HOSPITAL = "市第一人民医院"
HOSPITAL_DOCS = (
    DocumentType.ID_CARD,
    DocumentType.INVOICE,
    DocumentType.EXPENSE_LIST,
    DocumentType.DISCHARGE_SUMMARY,
    DocumentType.SETTLEMENT_STATEMENT,
    DocumentType.BANK_CARD,
)


# --- helpers (also used by test_disbursement) ----------------------------------------------------


def enrol_members(
    session: Session, world: World, numbers: Sequence[int], *, unit_code: str = "G11", bad_cards: Sequence[int] = ()
) -> list[Member]:
    """Enrol the test ID numbers at a unit through the roster, pass eligibility, collect the contribution."""
    unit = next(u for u in world.units if u.code == unit_code)
    lines = [HEADER]
    for n in numbers:
        card = luhn_card(random.Random(n), valid=n not in bad_cards)
        lines.append(f"会员{'甲乙丙丁戊己庚辛'[n % 8]},{id_number(n)},138{n:08d},在职,{unit_code},{card},中国工商银行")
    report = import_roster(
        session=session,
        policy_year=world.policy_year,
        data=("\n".join(lines) + "\n").encode("utf-8"),
        importer_scope_path=None,
    )
    assert report.imported == len(numbers), report.errors
    assert world.policy_year.id is not None
    check_enrolments(
        session=session, enrolment_ids=pending_enrolment_ids(session=session, policy_year_id=world.policy_year.id)
    )
    collection = collect_unit_contribution(
        session=session,
        policy_year=world.policy_year,
        unit=unit,
        received_on=PAID_ON,
        reference=f"R-{uuid.uuid4().hex[:12]}",
    )
    assert collection.activated == len(numbers)
    session.commit()
    wanted = [id_number(n) for n in numbers]
    found = list(session.exec(select(Member).where(col(Member.id_number).in_(wanted)).order_by(col(Member.id))).all())
    assert len(found) == len(numbers)
    return found


def filer(world: World) -> Actor:
    """The user who files claims on the members' behalf (the administrator, never a reviewer of them)."""
    admin = world.user("admin")
    return Actor(admin.id, admin.username)


def hospital_claim(
    *,
    admission: date = ADMISSION,
    discharge: date = DISCHARGE,
    invoice: str = "FP2026000001",
    hospital: str = HOSPITAL,
    total: str = "10000.00",
    basic: str = "6000.00",
    serious: str = "0",
    other: str = "0",
    self_paid: str = "500.00",
) -> ClaimInput:
    """A hospitalisation claim; by default eligible 3,500.00 → payout 2,450.00."""
    return ClaimInput(
        benefit_type=BenefitType.HOSPITALISATION,
        admission_date=admission,
        discharge_date=discharge,
        hospital_name=hospital,
        hospital_tier=HospitalTier.TIER3,
        diagnosis_code="J18.9",
        diagnosis_text="肺炎",
        invoice_numbers=[invoice],
        total_cost=Decimal(total),
        basic_insurance=Decimal(basic),
        serious_illness_insurance=Decimal(serious),
        other_reimbursement=Decimal(other),
        self_paid=Decimal(self_paid),
    )


def documents(seed: int, types: Sequence[DocumentType] = HOSPITAL_DOCS) -> list[UploadedDocument]:
    """Scans for a claim: PNG for cards, PDF for the rest; distinct content per seed and type."""
    docs = []
    for i, doc_type in enumerate(types):
        if doc_type in (DocumentType.ID_CARD, DocumentType.BANK_CARD):
            docs.append(UploadedDocument(doc_type, f"{doc_type}.png", png_bytes(seed * 100 + i)))
        else:
            docs.append(UploadedDocument(doc_type, f"{doc_type}.pdf", pdf_bytes(f"claim {seed} {doc_type}")))
    return docs


def file_claim(
    session: Session,
    store: ObjectStore,
    world: World,
    member: Member,
    data: ClaimInput,
    docs: Sequence[UploadedDocument],
    *,
    today: date | None = None,
) -> Claim:
    """Store the documents and file the claim in one unit of work, as the API does."""
    assert world.programme.id is not None
    with stored_documents(store, docs) as stored:
        claim = submit_claim(
            session=session,
            member=member,
            programme_id=world.programme.id,
            data=data,
            documents=stored,
            actor=filer(world),
            today=today,
        )
        session.commit()
    return claim


def claim_events(session: Session, claim_id: int | None) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "claim", AuditEvent.entity_id == claim_id)
            .order_by(col(AuditEvent.id))
        ).all()
    )


def reload(session: Session, claim: Claim) -> Claim:
    session.expire_all()
    found = session.get(Claim, claim.id)
    assert found is not None
    return found


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


@pytest.fixture
def member(session: Session, world: World) -> Member:
    return enrol_members(session, world, [1])[0]


# --- filing --------------------------------------------------------------------------------------


def test_member_is_covered_after_the_waiting_period(session: Session, world: World, member: Member) -> None:
    from models.enrolments import Enrolment, EnrolmentStatus

    enrolment = session.exec(select(Enrolment).where(Enrolment.member_id == member.id)).one()
    assert enrolment.status == EnrolmentStatus.ACTIVE
    assert enrolment.coverage_start == COVERED_FROM
    assert enrolment.coverage_end == date(2026, 12, 31)


def test_complete_claim_is_submitted(session: Session, store: ObjectStore, world: World, member: Member) -> None:
    claim = file_claim(session, store, world, member, hospital_claim(), documents(1))
    claim = reload(session, claim)
    assert claim.status == ClaimStatus.SUBMITTED
    assert claim.missing_documents == []
    assert claim.reference.startswith("C2026-")
    assert claim.total_fen == 1_000_000
    assert claim.basic_insurance_fen == 600_000
    assert claim.self_paid_fen == 50_000
    assert claim.invoice_numbers == ["FP2026000001"]
    docs = session.exec(select(ClaimDocument).where(ClaimDocument.claim_id == claim.id)).all()
    assert {d.doc_type for d in docs} == set(HOSPITAL_DOCS)
    for doc in docs:
        assert store.exists(doc.object_key)
        assert doc.object_key.startswith("claims/")
        assert len(doc.sha256) == 64 and doc.sha256 in doc.object_key
        assert doc.size == len(store.get(doc.object_key))
        assert doc.media_type in ("application/pdf", "image/png")
    events = claim_events(session, claim.id)
    assert [(e.action, e.to_state) for e in events] == [("claim.filed", ClaimStatus.SUBMITTED)]


def test_incomplete_claim_lists_what_is_missing_then_resumes(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    first = [DocumentType.ID_CARD, DocumentType.INVOICE, DocumentType.BANK_CARD]
    claim = file_claim(session, store, world, member, hospital_claim(), documents(2, first))
    assert claim.status == ClaimStatus.INCOMPLETE
    assert claim.missing_documents == ["expense_list", "discharge_summary", "settlement_statement"]
    # still incomplete after part of the missing documents
    with stored_documents(store, documents(3, [DocumentType.EXPENSE_LIST])) as stored:
        add_documents(session=session, claim=claim, documents=stored, actor=filer(world))
        session.commit()
    claim = reload(session, claim)
    assert claim.status == ClaimStatus.INCOMPLETE
    assert claim.missing_documents == ["discharge_summary", "settlement_statement"]
    with stored_documents(
        store, documents(4, [DocumentType.DISCHARGE_SUMMARY, DocumentType.SETTLEMENT_STATEMENT])
    ) as stored:
        add_documents(session=session, claim=claim, documents=stored, actor=filer(world))
        session.commit()
    claim = reload(session, claim)
    assert claim.status == ClaimStatus.SUBMITTED
    assert claim.missing_documents == []
    events = claim_events(session, claim.id)
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, ClaimStatus.INCOMPLETE),
        (ClaimStatus.INCOMPLETE, ClaimStatus.SUBMITTED),
    ]


def test_agent_claim_needs_the_agent_id(session: Session, store: ObjectStore, world: World, member: Member) -> None:
    data = hospital_claim().model_copy(update={"agent_name": "代理人", "agent_id_number": id_number(900)})
    claim = file_claim(session, store, world, member, data, documents(5))
    assert claim.status == ClaimStatus.INCOMPLETE
    assert claim.missing_documents == ["agent_id_card"]


def stored_keys(store: ObjectStore) -> list[str]:
    return store.list("claims/")


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (UploadedDocument(DocumentType.INVOICE, "invoice.txt", b"just some text"), "unsupported_file_type"),
        (UploadedDocument(DocumentType.INVOICE, "invoice.gif", b"GIF89a\x01\x00"), "unsupported_file_type"),
        (UploadedDocument(DocumentType.INVOICE, "invoice.pdf", b""), "empty_file"),
        (UploadedDocument(DocumentType.INVOICE, "../invoice.pdf", pdf_bytes("x")), "bad_filename"),
        (UploadedDocument(DocumentType.INVOICE, "scans/invoice.pdf", pdf_bytes("x")), "bad_filename"),
        (UploadedDocument(DocumentType.INVOICE, "scans\\invoice.pdf", pdf_bytes("x")), "bad_filename"),
        (UploadedDocument(DocumentType.INVOICE, "..", pdf_bytes("x")), "bad_filename"),
        (UploadedDocument(DocumentType.INVOICE, "", pdf_bytes("x")), "bad_filename"),
        (UploadedDocument(DocumentType.INVOICE, "a\x00.pdf", pdf_bytes("x")), "bad_filename"),
        (UploadedDocument(DocumentType.INVOICE, "a" * 201 + ".pdf", pdf_bytes("x")), "bad_filename"),
    ],
)
def test_bad_document_refuses_the_whole_upload_and_stores_nothing(
    session: Session, store: ObjectStore, world: World, member: Member, bad: UploadedDocument, code: str
) -> None:
    docs = [*documents(6, HOSPITAL_DOCS[:1]), bad]  # a good file first: it must not be stored either
    with pytest.raises(ValidationFailed) as caught:
        file_claim(session, store, world, member, hospital_claim(), docs)
    assert caught.value.code == code
    assert stored_keys(store) == []
    session.rollback()
    assert session.exec(select(Claim)).all() == []


def test_oversized_document_is_refused(
    session: Session, store: ObjectStore, world: World, member: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUTUALAID_MAX_DOCUMENT_BYTES", "1024")
    settings_module.get_settings.cache_clear()
    try:
        big = UploadedDocument(DocumentType.INVOICE, "big.pdf", b"%PDF-" + b"0" * 1020)  # 1,025 bytes
        just = UploadedDocument(DocumentType.EXPENSE_LIST, "just.pdf", b"%PDF-" + b"1" * 1019)  # 1,024 bytes
        with pytest.raises(ValidationFailed) as caught:
            file_claim(session, store, world, member, hospital_claim(), [just, big])
        assert caught.value.code == "file_too_large"
        assert stored_keys(store) == []
        session.rollback()
        claim = file_claim(session, store, world, member, hospital_claim(), [just])
        assert claim.status == ClaimStatus.INCOMPLETE
        assert len(stored_keys(store)) == 1
    finally:
        settings_module.get_settings.cache_clear()


def test_discharge_in_the_future_is_refused_and_the_files_removed(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    data = hospital_claim(admission=date(2026, 6, 1), discharge=date(2026, 6, 10))
    with pytest.raises(ValidationFailed) as caught:
        file_claim(session, store, world, member, data, documents(7), today=date(2026, 6, 9))
    assert caught.value.code == "discharge_in_future"
    assert stored_keys(store) == []  # stored inside the block, then undone
    session.rollback()
    assert session.exec(select(Claim)).all() == []
    # discharged today is fine
    claim = file_claim(session, store, world, member, data, documents(7), today=date(2026, 6, 10))
    assert claim.status == ClaimStatus.SUBMITTED


def test_impossible_amounts_are_refused_before_filing(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    data = hospital_claim(total="1000.00", basic="900.00", self_paid="100.01")
    with pytest.raises(ValidationFailed):
        file_claim(session, store, world, member, data, documents(8))
    assert stored_keys(store) == []
    session.rollback()
    assert session.exec(select(Claim)).all() == []


def test_the_same_file_is_stored_once(session: Session, store: ObjectStore, world: World, member: Member) -> None:
    scan = pdf_bytes("one scan for two purposes")
    docs = [
        UploadedDocument(DocumentType.INVOICE, "a.pdf", scan),
        UploadedDocument(DocumentType.EXPENSE_LIST, "b.pdf", scan),
        UploadedDocument(DocumentType.EXPENSE_LIST, "c.pdf", scan),  # same type and content: attached once
    ]
    claim = file_claim(session, store, world, member, hospital_claim(), docs)
    rows = session.exec(select(ClaimDocument).where(ClaimDocument.claim_id == claim.id)).all()
    assert len(rows) == 2
    assert len({r.object_key for r in rows}) == 1
    assert stored_keys(store) == [rows[0].object_key]
    # a failing later upload of the same file must not delete the object the first claim uses
    with pytest.raises(ValidationFailed):
        file_claim(
            session, store, world, member, hospital_claim(discharge=date(2027, 1, 1)), docs, today=date(2026, 12, 1)
        )
    session.rollback()
    assert store.exists(rows[0].object_key)


# --- adjudication and routing --------------------------------------------------------------------


def test_adjudication_computes_payout_and_explanation(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    claim = file_claim(session, store, world, member, hospital_claim(), documents(10))
    counts = adjudicate_claims(session=session, claim_ids=[claim.id or 0])
    session.commit()
    assert (counts.calculated, counts.rejected) == (1, 0)
    claim = reload(session, claim)
    assert claim.status == ClaimStatus.SUBMITTED
    assert claim.eligible_fen == 350_000
    assert claim.payout_fen == 245_000
    assert claim.required_levels == 2
    assert [s["step"] for s in claim.explanation] == ["eligible", "base", "cap", "routing"]
    assert all(s["text"] for s in claim.explanation)
    # calculated once: a second run does nothing
    assert adjudicate_claims(session=session, claim_ids=[claim.id or 0]).calculated == 0


def test_large_claim_needs_three_levels(session: Session, store: ObjectStore, world: World, member: Member) -> None:
    # eligible 7,142.87 → 70 % = 5,000.009 → 5,000.01 > 5,000
    data = hospital_claim(total="20000.00", basic="12857.13", self_paid="0")
    claim = file_claim(session, store, world, member, data, documents(11))
    adjudicate_claims(session=session, claim_ids=[claim.id or 0])
    session.commit()
    claim = reload(session, claim)
    assert claim.payout_fen == 500_001
    assert claim.required_levels == 3


def test_claim_admitted_before_coverage_is_rejected(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    data = hospital_claim(admission=COVERED_FROM - timedelta(days=1), discharge=COVERED_FROM + timedelta(days=3))
    claim = file_claim(session, store, world, member, data, documents(12))
    counts = adjudicate_claims(session=session, claim_ids=[claim.id or 0])
    session.commit()
    assert (counts.calculated, counts.rejected) == (0, 1)
    claim = reload(session, claim)
    assert claim.status == ClaimStatus.REJECTED
    assert claim.payout_fen == 0
    assert claim.rejection_reason and "保障期" in claim.rejection_reason
    assert claim.decided_at is not None
    last = claim_events(session, claim.id)[-1]
    assert (last.from_state, last.to_state, last.reason) == (
        ClaimStatus.SUBMITTED,
        ClaimStatus.REJECTED,
        claim.rejection_reason,
    )


def test_claim_admitted_on_the_first_covered_day_is_accepted(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    data = hospital_claim(admission=COVERED_FROM, discharge=COVERED_FROM + timedelta(days=3))
    claim = file_claim(session, store, world, member, data, documents(13))
    assert adjudicate_claims(session=session, claim_ids=[claim.id or 0]).calculated == 1


def test_claim_of_a_member_not_enrolled_is_rejected(session: Session, store: ObjectStore, world: World) -> None:
    enrol_members(session, world, [20])
    # enrolled in the roster but the unit never paid: registered only
    unit_code = "G12"
    lines = [HEADER, f"会员乙,{id_number(21)},13800000021,在职,{unit_code},,"]
    import_roster(
        session=session, policy_year=world.policy_year, data="\n".join(lines).encode(), importer_scope_path=None
    )
    session.commit()
    unpaid = session.exec(select(Member).where(Member.id_number == id_number(21))).one()
    claim = file_claim(session, store, world, unpaid, hospital_claim(), documents(14))
    adjudicate_claims(session=session, claim_ids=[claim.id or 0])
    session.commit()
    assert reload(session, claim).status == ClaimStatus.REJECTED


def route(session: Session, claim: Claim) -> None:
    adjudicate_claims(session=session, claim_ids=[claim.id or 0])
    route_claims(session=session, claim_ids=[claim.id or 0])
    session.commit()


def test_duplicate_invoice_in_another_live_claim_is_rejected(
    session: Session, store: ObjectStore, world: World
) -> None:
    first_member, second_member = enrol_members(session, world, [30, 31])
    first = file_claim(session, store, world, first_member, hospital_claim(invoice="FP-DUP-1"), documents(30))
    route(session, first)
    assert reload(session, first).status == ClaimStatus.IN_REVIEW
    dup = file_claim(session, store, world, second_member, hospital_claim(invoice=" FP-DUP-1 "), documents(31))
    other_hospital = file_claim(
        session, store, world, second_member, hospital_claim(invoice="FP-DUP-1", hospital="县医院"), documents(32)
    )
    counts = adjudicate_claims(session=session, claim_ids=[dup.id or 0, other_hospital.id or 0])
    session.commit()
    assert (counts.calculated, counts.rejected) == (1, 1)
    dup = reload(session, dup)
    assert dup.status == ClaimStatus.REJECTED
    assert dup.rejection_reason and "FP-DUP-1" in dup.rejection_reason
    assert reload(session, other_hospital).status == ClaimStatus.SUBMITTED


def test_duplicate_invoice_within_one_chunk_keeps_the_first(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    a = file_claim(session, store, world, member, hospital_claim(invoice="FP-SAME"), documents(40))
    b = file_claim(session, store, world, member, hospital_claim(invoice="FP-SAME"), documents(41))
    counts = adjudicate_claims(session=session, claim_ids=[b.id or 0, a.id or 0])
    session.commit()
    assert (counts.calculated, counts.rejected) == (1, 1)
    assert reload(session, a).status == ClaimStatus.SUBMITTED
    assert reload(session, b).status == ClaimStatus.REJECTED


def test_invoice_of_a_rejected_claim_may_be_used_again(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    early = hospital_claim(invoice="FP-AGAIN", admission=date(2026, 3, 1), discharge=date(2026, 3, 5))
    rejected = file_claim(session, store, world, member, early, documents(50))
    adjudicate_claims(session=session, claim_ids=[rejected.id or 0])
    session.commit()
    assert reload(session, rejected).status == ClaimStatus.REJECTED
    again = file_claim(session, store, world, member, hospital_claim(invoice="FP-AGAIN"), documents(51))
    assert adjudicate_claims(session=session, claim_ids=[again.id or 0]).calculated == 1


def test_invoice_of_a_claim_refused_in_the_same_chunk_does_not_block(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    early = hospital_claim(invoice="FP-CHUNK", admission=date(2026, 3, 1), discharge=date(2026, 3, 5))
    refused = file_claim(session, store, world, member, early, documents(52))
    good = file_claim(session, store, world, member, hospital_claim(invoice="FP-CHUNK"), documents(53))
    adjudicate_claims(session=session, claim_ids=[refused.id or 0, good.id or 0])
    session.commit()
    assert reload(session, refused).status == ClaimStatus.REJECTED
    assert reload(session, good).status == ClaimStatus.SUBMITTED


def test_duplicate_invoice_across_chunks_before_routing_is_rejected(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    a = file_claim(session, store, world, member, hospital_claim(invoice="FP-CHUNKS"), documents(54))
    b = file_claim(session, store, world, member, hospital_claim(invoice="FP-CHUNKS"), documents(55))
    # the claims flow calculates chunk after chunk, and routes only afterwards
    adjudicate_claims(session=session, claim_ids=[a.id or 0])
    adjudicate_claims(session=session, claim_ids=[b.id or 0])
    session.commit()
    statuses = {reload(session, a).status, reload(session, b).status}
    assert statuses == {ClaimStatus.SUBMITTED, ClaimStatus.REJECTED}


def test_route_claims_opens_the_first_level_task(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    claim = file_claim(session, store, world, member, hospital_claim(), documents(60))
    assert route_claims(session=session, claim_ids=[claim.id or 0]) == 0  # not calculated yet
    adjudicate_claims(session=session, claim_ids=[claim.id or 0])
    assert submitted_claim_ids(session=session, calculated=True) == [claim.id]
    assert route_claims(session=session, claim_ids=[claim.id or 0]) == 1
    session.commit()
    claim = reload(session, claim)
    assert claim.status == ClaimStatus.IN_REVIEW
    assert claim.current_level == 1
    tasks = session.exec(select(ApprovalTask).where(ApprovalTask.claim_id == claim.id)).all()
    assert len(tasks) == 1
    task = tasks[0]
    assert (task.kind, task.level, task.status, task.round) == (TaskKind.CLAIM_REVIEW, 1, TaskStatus.OPEN, 1)
    assert task.org_unit_id == world.units[0].id  # the member's grassroots union G11
    assert task.due_at is not None
    assert route_claims(session=session, claim_ids=[claim.id or 0]) == 0  # routed once


def test_every_status_change_is_audited(session: Session, store: ObjectStore, world: World, member: Member) -> None:
    claim = file_claim(session, store, world, member, hospital_claim(), documents(70, HOSPITAL_DOCS[:5]))
    with stored_documents(store, documents(71, HOSPITAL_DOCS[5:])) as stored:
        add_documents(session=session, claim=claim, documents=stored, actor=filer(world))
        session.commit()
    route(session, claim)
    events = claim_events(session, claim.id)
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, ClaimStatus.INCOMPLETE),
        (ClaimStatus.INCOMPLETE, ClaimStatus.SUBMITTED),
        (ClaimStatus.SUBMITTED, ClaimStatus.IN_REVIEW),
    ]
    assert events[0].actor_id == world.user("admin").id
    assert events[1].actor_label == "admin"
    assert events[2].actor_label == "system"
    for event in events:
        assert event.occurred_at is not None
        # no personal data in the audit log
        assert member.id_number not in str(event.data)
        assert (member.bank_card or "-") not in str(event.data)
    # the audit row count matches the claim's version history: one event per change
    assert reload(session, claim).version == 3


# --- routing at the thresholds, through the levels ----------------------------------------------


def decide_all(session: Session, world: World, claim: Claim) -> list[int]:
    """Approve every level the claim is routed to (l1_a, l2_a, l3 of the standard world); the levels decided."""
    from models.approvals import DecisionIn, Outcome
    from tasks.approval.decisions import decide

    reviewers = {1: "l1_a", 2: "l2_a", 3: "l3"}
    decided = []
    while (task := session.exec(
        select(ApprovalTask).where(ApprovalTask.claim_id == claim.id, ApprovalTask.status == TaskStatus.OPEN)
    ).first()) is not None:  # fmt: skip
        decide(session=session, user=world.user(reviewers[task.level]), task_id=task.id or 0,
               decision=DecisionIn(outcome=Outcome.APPROVE, version=task.version))  # fmt: skip
        session.commit()
        decided.append(task.level)
    return decided


@pytest.mark.parametrize(
    ("basic", "payout", "levels"),
    [
        ("12857.14", 500_000, [1, 2]),  # eligible 7,142.86 → 5,000.002 → 5,000.00: not above 5,000
        ("12857.13", 500_001, [1, 2, 3]),  # eligible 7,142.87 → 5,000.009 → 5,000.01: the city approves
    ],
)
def test_routing_at_exactly_5000_and_5000_01_through_the_levels(
    session: Session, store: ObjectStore, world: World, member: Member, basic: str, payout: int, levels: list[int]
) -> None:
    claim = file_claim(session, store, world, member, hospital_claim(total="20000.00", basic=basic, self_paid="0"),
                       documents(80))  # fmt: skip
    route(session, claim)
    assert reload(session, claim).payout_fen == payout
    assert decide_all(session, world, claim) == levels
    assert reload(session, claim).status == ClaimStatus.IN_NOTICE


def test_hardship_is_always_decided_at_the_top_level(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    data = ClaimInput(
        benefit_type=BenefitType.SPECIAL_HARDSHIP, admission_date=ADMISSION, requested_amount=Decimal(100)
    )
    claim = file_claim(
        session, store, world, member, data, documents(81, [DocumentType.ID_CARD, DocumentType.BANK_CARD])
    )
    route(session, claim)
    assert reload(session, claim).payout_fen == 10_000
    assert decide_all(session, world, claim) == [1, 2, 3]


def test_routing_thresholds_are_configuration(
    session: Session, store: ObjectStore, world: World, member: Member
) -> None:
    from models.rules import PolicyRules, RoutingRule
    from tasks.common.programmes import change_rules

    rules = world.policy_year.policy().model_copy(update={"routing": RoutingRule(top_level_above_fen=100_000)})
    change_rules(session=session, policy_year=world.policy_year, rules=PolicyRules.model_validate(rules.model_dump()),
                 actor=filer(world))  # fmt: skip
    session.commit()
    claim = file_claim(session, store, world, member, hospital_claim(), documents(82))  # payout 2,450.00
    route(session, claim)
    assert decide_all(session, world, claim) == [1, 2, 3]
