"""Claim submission and documents."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/claims", tags=["claims"])
