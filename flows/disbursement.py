"""Step 7, disbursement (补偿发放): notices that passed become payable; payable claims are paid in
batches with a payment file; the bank's result files are imported back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow
from sqlmodel import select

from core.db import session_scope
from core.storage import get_store
from flows.common import chunk_size, chunk_task, policy_year_of, report
from models.base import format_yuan, utcnow
from models.payments import BatchStatus, PaymentBatch
from models.states import Actor
from tasks.approval.notice import release_notices
from tasks.disbursement.batches import create_batch
from tasks.disbursement.settlement import import_bank_results

FLOW_ACTOR = Actor(None, "flow:disbursement")
BANK_RESULTS = "bank/results"  # where the bank's result files arrive: bank/results/<batch_no>.csv


@chunk_task
def release_chunk(as_of: datetime) -> int:
    """Make one chunk of claims whose notice period passed payable."""
    with session_scope() as session:
        return release_notices(session=session, as_of=as_of, actor=FLOW_ACTOR, limit=chunk_size())


@chunk_task
def batch_task(programme_code: str, year: int) -> dict[str, Any]:
    """Create one payment batch (up to a chunk of claims) and export its files."""
    policy_year = policy_year_of(programme_code, year)
    with session_scope() as session:
        result = create_batch(
            session=session, store=get_store(), policy_year=policy_year, actor=FLOW_ACTOR, limit=chunk_size()
        )
        batch = result.batch
        return {
            "batch_no": batch.batch_no if batch else None,
            "count": batch.payment_count if batch else 0,
            "total_fen": batch.total_fen if batch else 0,
            "skipped_no_bank": result.skipped_no_bank,
        }


@chunk_task
def settle_task(batch_no: str) -> dict[str, int]:
    """Import the bank's result file for a batch, if it has arrived."""
    store = get_store()
    key = f"{BANK_RESULTS}/{batch_no}.csv"
    if not store.exists(key):
        return {"paid": 0, "failed": 0}
    with session_scope() as session:
        batch = session.exec(select(PaymentBatch).where(PaymentBatch.batch_no == batch_no)).one()
        counts = import_bank_results(session=session, batch=batch, data=store.get(key), actor=FLOW_ACTOR)
        return {"paid": counts.paid, "failed": counts.failed}


@flow(name="disbursement")
def disbursement_flow(programme_code: str, year: int, as_of: datetime | None = None) -> dict[str, Any]:
    """Release passed notices, batch the payable claims, and settle batches whose results came back."""
    as_of = as_of or utcnow()
    released = 0
    while moved := release_chunk(as_of):
        released += moved
    batches = []
    while (batch := batch_task(programme_code, year))["batch_no"]:
        batches.append(batch)
    with session_scope() as session:
        exported = list(
            session.exec(select(PaymentBatch.batch_no).where(PaymentBatch.status == BatchStatus.EXPORTED)).all()
        )
    settled = [settle_task(batch_no) for batch_no in exported]
    return report(
        "disbursement",
        f"{year} 补偿发放",
        {
            "released_from_notice": released,
            "batches_created": len(batches),
            "batch_numbers": ", ".join(b["batch_no"] for b in batches),
            "payments_in_new_batches": sum(b["count"] for b in batches),
            "amount_in_new_batches_yuan": format_yuan(sum(b["total_fen"] for b in batches)),
            "paid": sum(s["paid"] for s in settled),
            "failed": sum(s["failed"] for s in settled),
        },
    )
