"""Start the outbox dispatcher right after a decision is committed, without ever holding up the request.

The decision and its outbox event are already committed when `request_dispatch` is called, so starting the
dispatcher is only about speed: the scheduled deployment (every minute) picks up whatever a start missed.
Hence it never raises and is bounded in time:

- nothing happens unless a Prefect API is configured (PREFECT_API_URL); without one a Prefect client would
  start a temporary server inside the API process;
- starts are coalesced: at most one per COALESCE_SECONDS per process, and the idempotency key
  `outbox-<unix time // COALESCE_SECONDS>` lets the orchestrator fold the starts of several processes into one;
- the start runs in a daemon thread with Prefect's client set to CLIENT_TIMEOUT_SECONDS per request and no
  retries (Prefect 3.8 retries timeouts and 502/503 five times with exponential backoff otherwise); the
  caller waits at most DEADLINE_SECONDS for it. A refused connection fails in milliseconds.

Any failure (orchestrator down, deployment unknown) is one WARNING line and is otherwise swallowed.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from core.settings import get_settings

if TYPE_CHECKING:
    from prefect.context import SettingsContext

logger = logging.getLogger(__name__)

COALESCE_SECONDS = 5
CLIENT_TIMEOUT_SECONDS = 3.0
DEADLINE_SECONDS = 2.0

_lock = threading.Lock()
_last_bucket: int | None = None


def _prefect_settings() -> SettingsContext | None:
    """Prefect's settings context here (profile and overrides), or None when it names no API (PREFECT_API_URL)."""
    from prefect.context import get_settings_context

    current = get_settings_context()
    return current if current.settings.api.url else None


def _first_in_bucket(bucket: int) -> bool:
    """True for the first request of this time bucket in this process."""
    global _last_bucket
    with _lock:
        if _last_bucket == bucket:
            return False
        _last_bucket = bucket
        return True


def _start(idempotency_key: str, prefect_settings: SettingsContext) -> None:
    """Create a flow run of the dispatch deployment with a bounded client; log, never raise."""
    deployment = get_settings().dispatch_deployment
    try:
        from prefect.context import SettingsContext
        from prefect.deployments import run_deployment
        from prefect.settings import PREFECT_API_REQUEST_TIMEOUT, PREFECT_CLIENT_MAX_RETRIES

        bounded = prefect_settings.settings.copy_with_update(
            updates={PREFECT_API_REQUEST_TIMEOUT: CLIENT_TIMEOUT_SECONDS, PREFECT_CLIENT_MAX_RETRIES: 0}
        )
        with SettingsContext(profile=prefect_settings.profile, settings=bounded):
            flow_run = run_deployment(name=deployment, timeout=0, idempotency_key=idempotency_key, as_subflow=False)
        logger.info("outbox dispatch requested: %s flow run %s", deployment, getattr(flow_run, "id", None))
    except Exception as exc:  # the orchestrator is an accelerator here, never a requirement
        reason = " ".join(str(exc).split())[:200]
        logger.warning(
            "outbox dispatch not started (%s: %s); the scheduled run of %s will pick the decision up",
            type(exc).__name__, reason, deployment,
        )  # fmt: skip


def request_dispatch() -> None:
    """Ask the orchestrator to run the outbox dispatcher now; never raises, returns within DEADLINE_SECONDS."""
    try:
        # The bucket first: most calls end here, before Prefect (a heavy import, done once) is even looked at.
        bucket = int(time.time()) // COALESCE_SECONDS
        if not _first_in_bucket(bucket):
            return
        prefect_settings = _prefect_settings()
        if prefect_settings is None:
            return
        # A new thread starts with empty context variables: no flow run or Prefect client of the caller leaks
        # into it, only the settings handed over (so the bounded timeouts above are the ones that apply).
        thread = threading.Thread(
            target=_start, args=(f"outbox-{bucket}", prefect_settings), name="outbox-dispatch-request", daemon=True
        )
        thread.start()
        thread.join(DEADLINE_SECONDS)
    except Exception as exc:
        logger.warning("outbox dispatch not requested (%s); the scheduled run will pick it up", type(exc).__name__)
