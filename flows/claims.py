"""Step 5, claim application (申请补偿): file the claims handed in (with their documents) and calculate them."""

from __future__ import annotations

from typing import Any

from prefect import flow

from core.db import session_scope
from core.storage import get_store
from flows.common import chunk_size, chunk_task, id_chunks, report
from models.states import Actor
from tasks.claims.adjudication import adjudicate_claims, submitted_claim_ids
from tasks.claims.intake import file_intakes, intake_folders

FLOW_ACTOR = Actor(None, "flow:claims")
INTAKE_CHUNK = 500  # claim folders per task run (each carries several document files)


@chunk_task
def file_chunk(folders: list[str]) -> dict[str, Any]:
    """File one chunk of intake folders as claims."""
    with session_scope() as session:
        result = file_intakes(session=session, store=get_store(), folders=folders, actor=FLOW_ACTOR)
        return {"filed": len(result.filed), "refused": result.refused}


@chunk_task
def calculate_chunk(claim_ids: list[int]) -> dict[str, int]:
    """Calculate one chunk of submitted claims (coverage, deadline, duplicates, payout)."""
    with session_scope() as session:
        counts = adjudicate_claims(session=session, claim_ids=claim_ids, actor=FLOW_ACTOR)
        return {"calculated": counts.calculated, "rejected": counts.rejected}


@flow(name="claims")
def claims_flow(intake_batch: str | None = None) -> dict[str, Any]:
    """File the claims of an intake batch (if given), then calculate every submitted claim."""
    filed, refused = 0, {}
    if intake_batch:
        folders = intake_folders(get_store(), intake_batch)
        for i in range(0, len(folders), INTAKE_CHUNK):
            result = file_chunk(folders[i : i + INTAKE_CHUNK])
            filed += result["filed"]
            refused.update(result["refused"])
    size = chunk_size()

    def next_ids(after: int) -> list[int]:
        with session_scope() as session:
            return submitted_claim_ids(session=session, calculated=False, after_id=after, limit=size)

    calculated = rejected = 0
    for ids in id_chunks(next_ids):
        counts = calculate_chunk(ids)
        calculated += counts["calculated"]
        rejected += counts["rejected"]
    return report(
        "claims",
        "申请补偿",
        {"filed": filed, "refused_intakes": len(refused), "calculated": calculated, "rejected_by_rules": rejected},
    )
