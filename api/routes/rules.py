"""Benefit rules per policy year, and quotes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api", tags=["rules"])
