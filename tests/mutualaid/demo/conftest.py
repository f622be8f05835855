"""The demo's cycle is a Prefect flow: its tests share the flow tests' temporary Prefect server."""

from tests.flows.conftest import prefect_server

__all__ = ["prefect_server"]  # the session fixture, autouse for the tests in this folder
