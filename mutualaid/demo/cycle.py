"""The whole programme cycle, chaining the eight steps for the demo: publicity → registration →
eligibility → fund collection → claims → approval (the demo's reviewers decide; the public objects to a
few posted cases and the approving levels decide the objections; the deadline sweep reminds and escalates
what is left on a desk; the dispatcher writes the applicants' letters) → disbursement (with the bank's
answer) → public disclosure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE

from core.db import session_scope
from core.storage import get_store
from flows.approval import approval_flow, deadline_sweep_flow
from flows.claims import claims_flow
from flows.disbursement import BANK_RESULTS, disbursement_flow
from flows.disclosure import disclosure_flow
from flows.dispatch import outbox_dispatch_flow
from flows.eligibility import eligibility_flow
from flows.funds import OtherReceipt, UnitPayment, fund_collection_flow
from flows.publicity import publicity_flow, renewal_reminders_flow
from flows.registration import registration_flow
from models.base import utcnow
from models.funds import FundSource
from models.payments import BatchStatus, PaymentBatch
from mutualaid.demo import people, setup
from mutualaid.demo.bank import settle_payment_file
from tasks.common.workdays import SHANGHAI


@task(cache_policy=NONE, persist_result=False)
def reviewers_work_their_queues() -> dict[str, int]:
    """People decide: the demo's reviewers take and decide every open task, level by level."""
    with session_scope() as session:
        return people.reviewers_decide(session)


@task(cache_policy=NONE, persist_result=False)
def the_public_objects() -> int:
    """During the public notice, members of the public object to a few of the posted cases."""
    with session_scope() as session:
        return people.public_objects(session)


@task(cache_policy=NONE, persist_result=False)
def bank_answers() -> int:
    """The bank (a stand-in speaking the bank's file format) pays the exported batches and answers."""
    store = get_store()
    with session_scope() as session:
        from sqlmodel import select

        batches = session.exec(select(PaymentBatch).where(PaymentBatch.status == BatchStatus.EXPORTED)).all()
        for batch in batches:
            assert batch.file_key is not None
            store.put(f"{BANK_RESULTS}/{batch.batch_no}.csv", settle_payment_file(store.get(batch.file_key)),
                      media_type="text/csv", immutable=False)  # fmt: skip
        return len(batches)


@flow(name="programme-cycle")
def programme_cycle_flow(plan: setup.DemoPlan) -> dict[str, Any]:
    """Run the eight steps of one programme year on the roster and claims the demo handed in."""
    year, code = plan.year, setup.PROGRAMME
    results: dict[str, Any] = {"publicity": publicity_flow(code, year)}
    results["registration"] = registration_flow(code, year, plan.roster_key)
    results["eligibility"] = eligibility_flow(code, year)
    on_time, late = date(year - 1, 12, 15), date(year, 6, 1)
    payments = [
        UnitPayment(unit_code=u, received_on=late if u in plan.late_units else on_time, reference=f"JF{year}-{u}")
        for u in plan.units
    ]
    receipts = [
        OtherReceipt(source=FundSource.UNION_SUBSIDY, payer="示范市总工会", amount_fen=3_000_000,
                     received_on=date(year, 1, 10), reference=f"BZ{year}-01"),
        OtherReceipt(source=FundSource.DONATION, payer="爱心企业联合会", amount_fen=500_000,
                     received_on=date(year, 3, 5), reference=f"JZ{year}-01"),
        OtherReceipt(source=FundSource.GOVERNMENT, payer="市财政局", amount_fen=1_000_000,
                     received_on=date(year, 4, 1), reference=f"CZ{year}-01"),
    ]  # fmt: skip
    results["fund_collection"] = fund_collection_flow(code, year, payments, receipts)
    results["claims"] = claims_flow(plan.intake_batch)
    results["approval"] = approval_flow()
    results["decisions"] = reviewers_work_their_queues()
    results["objections"] = the_public_objects()
    # the approving levels decide the objections; claims sent back are reviewed again
    results["objection_decisions"] = reviewers_work_their_queues()
    # Tasks left on a desk: the sweep, as it would run two weeks later, reminds and then escalates them.
    results["deadline_sweep"] = deadline_sweep_flow(as_of=utcnow() + timedelta(days=14))
    # The decisions' outbox events become the applicants' letters (approval, rejection, materials needed).
    results["dispatch"] = outbox_dispatch_flow()
    # The public notice runs its days; the demo looks at the calendar after it has passed.
    notice_passed: datetime = utcnow() + timedelta(days=8)
    results["disbursement"] = disbursement_flow(code, year, as_of=notice_passed)
    results["bank_files"] = bank_answers()
    results["settlement"] = disbursement_flow(code, year, as_of=notice_passed)
    results["renewal_reminders"] = renewal_reminders_flow(code, year)
    period = utcnow().astimezone(SHANGHAI).strftime("%Y-%m")
    results["disclosure"] = disclosure_flow(code, year, period)
    return results
