"""50 reviewers complete the same task at the same moment, over real HTTP: exactly one wins, 49 get 409, and
nothing is half-written (one decision, one completion event, one next-level task).

The API runs in a real uvicorn server on a loopback port (in a thread of the test process); the reviewers
are 50 threads with their own connections, released together by a barrier.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from sqlmodel import Session, func, select

from api.main import create_app
from core.security import create_token
from core.settings import Settings
from models.approvals import ApprovalTask, Decision
from models.audit import AuditEvent
from models.users import Role, User
from tests.api.conftest import ClaimMaker, task_of
from tests.factories import PASSWORD, World, hash_once

REVIEWERS = 50


@pytest.fixture
def live_api(app_settings: Settings) -> Iterator[str]:
    """The API served by uvicorn on 127.0.0.1 (a free port); its base URL."""
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


def level1_reviewers(session: Session, world: World, count: int) -> list[str]:
    """`count` more L1 reviewers of unit G11; their bearer tokens."""
    users = [
        User(username=f"g11_reviewer_{i}", full_name=f"审核员{i}", password_hash=hash_once(PASSWORD),
             role=Role.UNIT_OFFICER, org_unit_id=world.units[0].id)
        for i in range(count)
    ]  # fmt: skip
    session.add_all(users)
    session.commit()
    return [create_token(user.id or 0) for user in users]


def test_fifty_concurrent_completions_one_wins(
    live_api: str, session: Session, world: World, make_claim: ClaimMaker
) -> None:
    claim = make_claim()
    task = task_of(session, claim.id)
    seen = task.version
    tokens = level1_reviewers(session, world, REVIEWERS)
    barrier = threading.Barrier(REVIEWERS)
    codes: list[int] = [0] * REVIEWERS
    errors: list[BaseException] = []

    def complete(i: int) -> None:
        try:
            with httpx.Client(base_url=live_api, timeout=120) as http:
                headers = {"Authorization": f"Bearer {tokens[i]}"}
                http.get("/health")  # connect before the barrier, so the posts leave together
                barrier.wait(timeout=60)
                body = {"outcome": "approve", "version": seen}
                codes[i] = http.post(f"/api/tasks/{task.id}/decision", json=body, headers=headers).status_code
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=complete, args=(i,)) for i in range(REVIEWERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not errors, errors[:3]
    assert sorted(codes) == [200] + [409] * (REVIEWERS - 1), codes

    decisions = session.exec(select(func.count()).select_from(Decision).where(Decision.task_id == task.id)).one()
    completions = session.exec(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.entity_type == "approval_task", AuditEvent.entity_id == task.id)
    ).one()
    level2 = session.exec(
        select(func.count()).select_from(ApprovalTask).where(ApprovalTask.claim_id == claim.id, ApprovalTask.level == 2)
    ).one()
    level_approved = session.exec(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.entity_id == claim.id, AuditEvent.action == "claim.level_approved")
    ).one()
    stored = session.get(ApprovalTask, task.id, populate_existing=True)
    session.commit()
    assert (decisions, completions, level2, level_approved) == (1, 1, 1, 1)
    assert stored is not None and stored.status == "completed" and stored.version == seen + 1
