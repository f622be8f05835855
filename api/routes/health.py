"""Liveness with a database round trip, for load balancers and monitoring. No sign-in."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import SessionDep
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health)
def health(session: SessionDep) -> Health:
    """{"status": "ok"} once the database answers `SELECT 1`."""
    session.execute(text("SELECT 1"))
    return Health(status="ok")
