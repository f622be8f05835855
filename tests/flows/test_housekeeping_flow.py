"""The document sweep as a Prefect flow: unreferenced old claim objects go, referenced and young ones stay."""

from __future__ import annotations

import os
import time

from sqlmodel import Session

from core.settings import Settings
from core.storage.base import ObjectStore, sha256_hex
from core.storage.local import LocalObjectStore
from flows.housekeeping import document_sweep_flow
from tasks.claims.documents import object_key_for
from tests.flows.artifacts import table


def _put(store: ObjectStore, data: bytes, *, age_minutes: int) -> str:
    key = object_key_for(sha256_hex(data), "pdf")
    store.put(key, data, media_type="application/pdf")
    assert isinstance(store, LocalObjectStore)
    then = time.time() - age_minutes * 60
    os.utime(store.root / key, (then, then))
    return key


def test_the_sweep_flow_removes_only_old_unreferenced_objects(
    app_settings: Settings, session: Session, store: ObjectStore
) -> None:
    old = _put(store, b"%PDF-1.4 orphan, two hours old", age_minutes=120)
    young = _put(store, b"%PDF-1.4 orphan, being filed right now", age_minutes=1)

    dry = document_sweep_flow(grace_minutes=60, dry_run=True)
    assert (dry["examined"], dry["deleted"], dry["too_young"]) == (2, 1, 1)
    assert store.exists(old)

    state = document_sweep_flow(grace_minutes=60, return_state=True)
    figures = state.result()
    assert (figures["examined"], figures["deleted"], figures["too_young"], figures["referenced"]) == (2, 1, 1, 0)
    assert not store.exists(old) and store.exists(young)
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    rows = {row["指标"]: row["数值"] for row in table(flow_run_id, "document-sweep")}
    assert rows["deleted"] == 1
