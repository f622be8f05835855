"""Two reviewers deciding the same task at the same moment: exactly one wins, the other gets 409.

Real threads, two separate clients, one real database (SQLite or PostgreSQL), no mocks.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.main import create_app
from core.settings import Settings
from models.approvals import ApprovalTask, Decision
from tests.api.conftest import ClaimMaker, login, task_of
from tests.factories import World

ROUNDS = 5


def race(clients: list[TestClient], headers: list[dict[str, str]], path: str, body: dict[str, Any]) -> list[int]:
    """POST body to path from every client at once; the status codes, in client order."""
    barrier = threading.Barrier(len(clients))
    codes: list[int] = [0] * len(clients)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            codes[i] = clients[i].post(path, json=body, headers=headers[i]).status_code
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return codes


@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_two_reviewers_deciding_at_once(
    app_settings: Settings, world: World, make_claim: ClaimMaker, session: Session, round_no: int
) -> None:
    claim = make_claim()
    task = task_of(session, claim.id)
    with TestClient(create_app()) as first, TestClient(create_app()) as second:
        headers = [login(first, "l1_a"), login(second, "l1_a2")]
        codes = race([first, second], headers, f"/api/tasks/{task.id}/decision", {"outcome": "approve", "version": 1})
    assert sorted(codes) == [200, 409], codes
    decisions = session.exec(select(func.count()).select_from(Decision).where(Decision.task_id == task.id)).one()
    level2 = session.exec(
        select(func.count()).select_from(ApprovalTask).where(ApprovalTask.claim_id == claim.id, ApprovalTask.level == 2)
    ).one()
    session.commit()
    assert decisions == 1
    assert level2 == 1
