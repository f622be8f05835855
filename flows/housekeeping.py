"""Housekeeping: the nightly sweep of claim documents that no claim references (a crash between storing a
document and committing its claim). Served on a schedule by `mutualaid schedule`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prefect import flow

from core.db import get_engine, reading, session_scope
from core.storage import get_store
from flows.common import chunk_task, report
from tasks.claims.document_sweep import sweep_unreferenced_documents


@chunk_task
def sweep_task(grace_minutes: int, dry_run: bool) -> dict[str, int]:
    """Delete (or, dry run, count) the unreferenced claim objects older than the grace period."""
    with session_scope(reading(get_engine())) as session:
        swept = sweep_unreferenced_documents(
            session=session, store=get_store(), grace=timedelta(minutes=grace_minutes), dry_run=dry_run
        )
    return {"examined": swept.examined, "referenced": swept.referenced, "too_young": swept.too_young,
            "deleted": swept.deleted}  # fmt: skip


@flow(name="document-sweep")
def document_sweep_flow(grace_minutes: int = 60, dry_run: bool = False) -> dict[str, Any]:
    """Sweep claim documents no claim references, keeping anything younger than the grace period."""
    return report("document-sweep", "清理无主材料文件", sweep_task(grace_minutes, dry_run))
