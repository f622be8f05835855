"""The outbox dispatcher on real Prefect (the session's prefect_test_harness): draining in chunks, a store that
is down and back, starting it after a decision, and a decision made while the orchestrator is stopped."""

from __future__ import annotations

import logging
import socket
import time
from typing import cast
from uuid import UUID

import httpx
import pytest
from fastapi.testclient import TestClient
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId, FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort
from prefect.deployments.runner import RunnerDeployment
from prefect.flow_engine import run_flow
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlmodel import Session, col, select

import core.dispatch
from core import settings as settings_module
from core.dispatch import CLIENT_TIMEOUT_SECONDS, COALESCE_SECONDS, DEADLINE_SECONDS, request_dispatch
from core.settings import Settings
from core.storage import get_store
from flows.dispatch import outbox_dispatch_flow
from models.audit import OutboxMessage
from models.letters import Letter
from tests.api import conftest as api_fixtures
from tests.api.conftest import ClaimMaker, login, task_of
from tests.factories import World
from tests.flows.artifacts import table

# The API tests' fixtures (a client of the app, the standard world, claims in review), used here too.
client, world, make_claim = api_fixtures.client, api_fixtures.world, api_fixtures.make_claim


@pytest.fixture(autouse=True)
def fresh_coalescing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no dispatch requested yet in this process."""
    monkeypatch.setattr(core.dispatch, "_last_bucket", None)


@pytest.fixture
def deployment_id() -> UUID:
    """The dispatcher's deployment, registered on the harness as `mutualaid schedule` registers it, with no
    flow runs left from an earlier test."""
    deployment = cast(RunnerDeployment, outbox_dispatch_flow.to_deployment(name="outbox-dispatch"))
    found = cast(UUID, deployment.apply())
    with get_client(sync_client=True) as prefect:
        for run in flow_runs_of(found):
            prefect.delete_flow_run(run.id)
    return found


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def flow_runs_of(deployment: UUID) -> list[FlowRun]:
    with get_client(sync_client=True) as prefect:
        # sort and limit given: Prefect 3.8.8's sync client sends nulls for them that its server refuses
        return prefect.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment])),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=100,
        )


def bucket_key() -> str:
    """The idempotency key request_dispatch uses at this moment."""
    return f"outbox-{int(time.time()) // COALESCE_SECONDS}"


def runs_started(deployment: UUID, keys: set[str], wait_seconds: float = 15) -> list[FlowRun]:
    """The deployment's flow runs started under one of the keys, waited for a while: request_dispatch returns
    after DEADLINE_SECONDS even if the (busy) orchestrator has not answered yet, and its thread goes on."""
    deadline = time.monotonic() + wait_seconds
    while not (runs := [run for run in flow_runs_of(deployment) if run.idempotency_key in keys]):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return runs


def decide(
    client: TestClient, username: str, session: Session, claim_id: int | None, outcome: str, **extra: str
) -> httpx.Response:
    """POST username's decision on the claim's task of their level."""
    task = task_of(session, claim_id, level=1 if username.startswith("l1") else 2)
    body = {"outcome": outcome, "version": task.version} | extra
    return client.post(f"/api/tasks/{task.id}/decision", json=body, headers=login(client, username))


def pending(session: Session) -> list[OutboxMessage]:
    found = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.dispatched_at).is_(None))
        .execution_options(populate_existing=True)
    ).all()
    session.commit()
    return list(found)


def test_the_flow_drains_the_outbox_in_chunks_and_reports(
    client: TestClient, session: Session, world: World, make_claim: ClaimMaker
) -> None:
    for _ in range(5):
        claim = make_claim()
        assert decide(client, "l1_a", session, claim.id, "reject", reason="不符合互助条件").status_code == 200
    total = len(pending(session))
    state = outbox_dispatch_flow(limit=2, return_state=True)
    figures = state.result()
    assert (figures["picked"], figures["dispatched"], figures["written"], figures["failed"]) == (total, total, 5, 0)
    assert figures["still_pending"] == 0 and pending(session) == []
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    rows = {row["指标"]: row["数值"] for row in table(flow_run_id, "outbox-dispatch")}
    assert rows["written"] == 5
    with get_client(sync_client=True) as prefect:
        task_runs = prefect.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=100,
        )
    assert len(task_runs) == total // 2 + 1  # one task run per chunk of 2, never one per message
    assert outbox_dispatch_flow()["picked"] == 0


def test_letters_wait_while_the_object_store_is_down_and_follow_when_it_is_back(
    client: TestClient,
    session: Session,
    world: World,
    make_claim: ClaimMaker,
    app_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claim = make_claim()
    assert decide(client, "l1_a", session, claim.id, "return", reason="请补充出院小结").status_code == 200
    monkeypatch.setenv("MUTUALAID_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("MUTUALAID_S3_ENDPOINT", f"127.0.0.1:{closed_port()}")
    settings_module.get_settings.cache_clear()
    down = outbox_dispatch_flow()
    assert (down["failed"], down["still_pending"], down["written"]) == (1, 1, 0)
    (message,) = pending(session)
    assert message.attempts == 1 and (message.last_error or "").startswith("ObjectStoreUnavailable")
    monkeypatch.setenv("MUTUALAID_STORAGE_BACKEND", "local")
    settings_module.get_settings.cache_clear()
    up = outbox_dispatch_flow()
    assert (up["written"], up["failed"], up["still_pending"]) == (1, 0, 0)
    assert session.exec(select(Letter.kind)).all() == ["materials_request"]


def test_request_dispatch_starts_the_deployment_once_per_moment(deployment_id: UUID) -> None:
    before = bucket_key()
    request_dispatch()
    request_dispatch()  # coalesced in this process (and by the idempotency key on the orchestrator)
    keys = {before, bucket_key()}
    runs = runs_started(deployment_id, keys)
    assert runs, "request_dispatch created no flow run"
    if len(keys) == 1:
        assert len(runs) == 1


def test_request_dispatch_does_nothing_without_a_prefect_api(deployment_id: UUID) -> None:
    """Without PREFECT_API_URL a client would start a temporary server inside the API process: never."""
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        started = time.monotonic()
        keys = {bucket_key()}
        request_dispatch()
        keys.add(bucket_key())
        assert time.monotonic() - started < 0.5
    assert runs_started(deployment_id, keys, wait_seconds=1) == []


def test_an_orchestrator_that_never_answers_holds_the_caller_at_most_the_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that accepts the connection and says nothing: the caller goes on after DEADLINE_SECONDS, the
    start gives up after one request timeout (no retries) with one warning."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the kernel's backlog; nobody ever reads or answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/api"
        with temporary_settings(updates={PREFECT_API_URL: url}), caplog.at_level(logging.WARNING):
            started = time.monotonic()
            request_dispatch()
            assert time.monotonic() - started < DEADLINE_SECONDS + 0.5
            while time.monotonic() - started < DEADLINE_SECONDS + CLIENT_TIMEOUT_SECONDS + 5 and not any(
                "not started" in r.getMessage() for r in caplog.records
            ):
                time.sleep(0.1)
    (warning,) = [r for r in caplog.records if r.name == "core.dispatch"]
    assert "Timeout" in warning.getMessage()


def test_an_unknown_deployment_is_one_warning(
    app_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MUTUALAID_DISPATCH_DEPLOYMENT", "outbox-dispatch/no-such-deployment")
    settings_module.get_settings.cache_clear()
    with caplog.at_level(logging.WARNING, logger="core.dispatch"):
        request_dispatch()
    warnings = [r for r in caplog.records if r.name == "core.dispatch" and "no-such" in r.getMessage()]
    assert len(warnings) == 1 and "ObjectNotFound" in warnings[0].getMessage()
    assert warnings[0].levelno == logging.WARNING and "\n" not in warnings[0].getMessage()


def test_a_decision_made_while_the_orchestrator_is_stopped_gets_its_letter_once_it_is_back(
    client: TestClient,
    session: Session,
    world: World,
    make_claim: ClaimMaker,
    deployment_id: UUID,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claim = make_claim(payout_fen=350000)
    assert decide(client, "l1_a", session, claim.id, "approve").status_code == 200
    with temporary_settings(updates={PREFECT_API_URL: f"http://127.0.0.1:{closed_port()}/api"}):
        with caplog.at_level(logging.WARNING, logger="core.dispatch"):
            started = time.monotonic()
            final = decide(client, "l2_a", session, claim.id, "approve")
            elapsed = time.monotonic() - started
            assert final.status_code == 200, final.text
            assert final.json()["claim_status"] == "in_notice"
            assert elapsed < 5, f"the decision took {elapsed:.1f}s with the orchestrator down"
            # the start itself is bounded and swallows the failure in one line
            started = time.monotonic()
            monkeypatch.setattr(core.dispatch, "_last_bucket", None)
            request_dispatch()
            assert time.monotonic() - started < 3
        assert any("outbox dispatch not started" in r.getMessage() for r in caplog.records)
    (message,) = [m for m in pending(session) if m.topic == "ClaimApproved"]
    assert message.payload["claim_id"] == claim.id and message.attempts == 0
    assert session.exec(select(Letter)).all() == []
    session.commit()  # end the read: on SQLite the dispatcher must not wait for this session
    # the orchestrator is back: a start creates a run of the deployment, and a worker runs it
    monkeypatch.setattr(core.dispatch, "_last_bucket", None)
    keys = {bucket_key()}
    request_dispatch()
    keys.add(bucket_key())
    (flow_run, *_) = runs_started(deployment_id, keys)
    state = run_flow(outbox_dispatch_flow, flow_run=flow_run, return_type="state")
    assert state.is_completed()  # type: ignore[union-attr]
    assert pending(session) == []
    letter = session.exec(select(Letter).where(Letter.claim_id == claim.id)).one()
    assert letter.outbox_message_id == message.id and letter.kind == "approval"
    text = get_store().get(letter.object_key).decode("utf-8")
    assert claim.reference in text and "3,500.00元" in text
