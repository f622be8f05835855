"""Flow tests run real Prefect: one temporary Prefect server for the session (prefect_test_harness)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[None]:
    """A real, temporary Prefect API for every flow test."""
    with prefect_test_harness(server_startup_timeout=60):
        yield
