"""The deadline sweep as a Prefect flow on real Prefect: chunks of overdue tasks reminded, then escalated,
each once, with its figures kept as a table artifact."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from core import settings as settings_module
from flows.approval import deadline_sweep_flow
from models.approvals import ApprovalTask
from models.base import utcnow
from models.notifications import Notification
from tests.api.conftest import insert_claim
from tests.factories import World, build_world
from tests.flows.artifacts import table


@pytest.fixture
def world(session: Session) -> World:
    return build_world(session)


def test_the_sweep_reminds_then_escalates_in_chunks_and_reports(
    session: Session, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUTUALAID_CHUNK_SIZE", "2")  # five tasks: three chunks each way
    settings_module.get_settings.cache_clear()
    claims = [insert_claim(session, world, n=n, unit=n % 2) for n in range(1, 6)]
    opened = session.exec(select(ApprovalTask).where(col(ApprovalTask.claim_id).in_([c.id for c in claims]))).all()
    latest_escalation = max(t.escalate_at for t in opened if t.escalate_at is not None)
    session.commit()

    state = deadline_sweep_flow(as_of=latest_escalation + timedelta(seconds=1), return_state=True)
    result = state.result()
    assert result == {"reminded": 5, "escalated": 5}
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    assert {r["指标"]: r["数值"] for r in table(flow_run_id, "deadline-sweep")} == result
    assert len(session.exec(select(Notification)).all()) == 10
    session.commit()

    # a second sweep finds nothing left to do; a sweep before anything fell due neither
    assert deadline_sweep_flow(as_of=latest_escalation + timedelta(days=1)) == {"reminded": 0, "escalated": 0}
    assert deadline_sweep_flow(as_of=utcnow()) == {"reminded": 0, "escalated": 0}
