"""Reading a flow run's table artifacts back in tests.

Asked over the REST API directly: Prefect 3.8.8's client read_artifacts sends nulls that its server refuses,
and an empty task-run filter would leave out artifacts made by the flow itself.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client


def table(flow_run_id: UUID, key: str) -> list[dict[str, Any]]:
    """The rows of the flow run's table artifact under key."""
    body = {"artifacts": {"key": {"any_": [key]}, "flow_run_id": {"any_": [str(flow_run_id)]}}}
    with get_client(sync_client=True) as client:
        (artifact,) = client.request("POST", "/artifacts/filter", json=body).json()  # type: ignore[arg-type]
    assert artifact["type"] == "table"
    rows = json.loads(artifact["data"])
    assert isinstance(rows, list)
    return rows
