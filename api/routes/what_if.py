"""What-if simulation of a policy year under changed rules."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["what_if"])
