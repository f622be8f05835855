"""The eight flows, end to end with real Prefect, a real database and the local object store."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.storage.local import LocalObjectStore
from flows.claims import claims_flow
from flows.disbursement import disbursement_flow
from flows.registration import registration_flow
from models.audit import AuditEvent, OutboxMessage
from models.claims import Claim, ClaimStatus
from models.enrolments import Enrolment, EnrolmentStatus
from models.funds import FundAccount
from models.letters import Letter
from models.notices import Objection
from models.payments import Payment, PaymentStatus
from models.publications import Publication, PublicationKind, PublishedFile
from mutualaid.demo import setup as demo
from mutualaid.demo.cycle import programme_cycle_flow
from tasks.common.publishing import verify
from tasks.disclosure.figures import fund_figures


def run_small_cycle(session: Session, store: LocalObjectStore) -> tuple[demo.DemoPlan, dict]:
    today = date.today()
    plan = demo.set_up(session, today=today, member_count=160, unit_count=8)
    demo.hand_in_papers(store, plan, member_count=160, claim_count=40, today=today)
    return plan, programme_cycle_flow(plan)


def test_the_whole_cycle_runs_every_step(session: Session, store: LocalObjectStore) -> None:
    plan, results = run_small_cycle(session, store)

    # publicity: announcement, checklist and reminder in both languages, with a manifest
    publicity = session.exec(select(Publication).where(Publication.kind == PublicationKind.PUBLICITY)).one()
    names = {f.name for f in session.exec(select(PublishedFile).where(PublishedFile.publication_id == publicity.id))}
    assert {"announcement.md", "checklist.md", "reminder.md", "announcement.en.md", "manifest.json"} <= names
    assert "95.00" in store.get(f"publications/publicity/{plan.year}/{plan.year}/v1/announcement.md").decode()

    # registration: the three bad rows are refused with a report, the rest enrolled
    assert results["registration"]["total_rows"] == 163
    assert results["registration"]["rejected_rows"] == 3
    assert store.exists(results["registration"]["error_report"])
    # eligibility and fund collection
    active = session.exec(select(func.count()).where(Enrolment.status == EnrolmentStatus.ACTIVE)).one()
    assert active == results["fund_collection"]["members_activated"] > 150
    ineligible = session.exec(select(func.count()).where(Enrolment.status == EnrolmentStatus.INELIGIBLE)).one()
    assert ineligible == results["eligibility"]["ineligible"]

    # claims: every intake filed; some refused by the rules, some incomplete
    assert results["claims"]["filed"] == 40
    statuses = dict(session.exec(select(Claim.status, func.count()).group_by(Claim.status)).all())  # type: ignore[arg-type]
    assert sum(statuses.values()) == 40
    assert statuses.get(ClaimStatus.PAID, 0) > 20
    assert statuses.get(ClaimStatus.INCOMPLETE, 0) >= 1
    assert statuses.get(ClaimStatus.REJECTED, 0) >= 1
    rejected = session.exec(select(Claim).where(Claim.status == ClaimStatus.REJECTED)).all()
    assert all(c.rejection_reason for c in rejected)

    # disbursement: paid claims have exactly one paid payment; the fund reconciles
    paid = session.exec(select(Payment).where(Payment.status == PaymentStatus.PAID)).all()
    assert len(paid) == statuses[ClaimStatus.PAID]
    account = session.exec(select(FundAccount)).one()
    assert account.balance_fen == account.receipts_fen - account.payouts_fen >= 0
    assert account.payouts_fen == sum(p.amount_fen for p in paid)

    # approval: every decision reached its applicant in writing; objections were decided; the sweep ran
    letters: dict[int, set[str]] = {}
    for claim_id, kind in session.exec(select(Letter.claim_id, Letter.kind)).all():
        letters.setdefault(claim_id, set()).add(str(kind))
    assert all("rejection" in letters.get(c.id or 0, set()) for c in rejected)
    granted = (ClaimStatus.PAID, ClaimStatus.PAYMENT_FAILED, ClaimStatus.PAYABLE, ClaimStatus.IN_NOTICE)
    for claim in session.exec(select(Claim).where(col(Claim.status).in_(granted))).all():
        assert "approval" in letters.get(claim.id or 0, set())
    for claim in session.exec(select(Claim).where(Claim.status == ClaimStatus.RETURNED)).all():
        assert "materials_request" in letters.get(claim.id or 0, set())
    assert session.exec(select(func.count()).where(col(OutboxMessage.dispatched_at).is_(None))).one() == 0
    assert results["objections"] >= 1
    assert session.exec(select(func.count()).where(Objection.status != "open")).one() == results["objections"]
    assert results["deadline_sweep"]["reminded"] >= results["deadline_sweep"]["escalated"]

    # disclosure: de-identified, verifiable against its manifest
    disclosure = session.exec(select(Publication).where(Publication.kind == PublicationKind.DISCLOSURE)).one()
    assert verify(session=session, store=store, publication=disclosure) == []
    payload = json.loads(store.get(disclosure.manifest_key.replace("manifest.json", "disclosure.json")))
    assert len(payload["beneficiaries"]) == len(paid)
    html = store.get(disclosure.manifest_key.replace("manifest.json", "disclosure.html")).decode()
    for claim in session.exec(select(Claim).where(Claim.status == ClaimStatus.PAID)).all():
        assert claim.diagnosis_text and claim.diagnosis_text not in html
    from models.members import Member

    for member in session.exec(select(Member)).all():
        assert member.id_number not in html
        assert member.bank_card is None or member.bank_card not in html
    figures = fund_figures(session=session, policy_year=_year(session))
    assert payload["figures"]["payouts_fen"] == figures["payouts_fen"]

    # every status change left an audit event
    assert session.exec(select(func.count()).where(AuditEvent.entity_type == "claim")).one() >= 40


def _year(session: Session):  # type: ignore[no-untyped-def]
    from models.programmes import PolicyYear

    return session.exec(select(PolicyYear)).one()


def test_rerunning_flows_files_and_pays_nothing_twice(session: Session, store: LocalObjectStore) -> None:
    plan, _ = run_small_cycle(session, store)
    claims_before = session.exec(select(func.count()).select_from(Claim)).one()
    payments_before = session.exec(select(func.count()).select_from(Payment)).one()
    paid_before = session.exec(select(FundAccount.payouts_fen)).one()
    session.commit()  # end the read transaction: on SQLite every transaction takes the write lock

    claims_flow(plan.intake_batch)
    disbursement_flow(demo.PROGRAMME, plan.year)
    registration_flow(demo.PROGRAMME, plan.year, plan.roster_key)

    session.expire_all()
    assert session.exec(select(func.count()).select_from(Claim)).one() == claims_before
    assert session.exec(select(func.count()).select_from(Payment)).one() == payments_before
    assert session.exec(select(FundAccount.payouts_fen)).one() == paid_before
