"""Presenters every subject uses: timestamps as aware UTC, fen as yuan, download headers, audit events."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from models.audit import AuditEvent, AuditEventPublic
from models.base import as_utc, format_yuan


def utc(value: datetime | None) -> datetime | None:
    """A stored timestamp as aware UTC, or None."""
    return as_utc(value) if value is not None else None


def yuan(fen: int | None) -> str | None:
    """Fen as '1,234.56', or None."""
    return format_yuan(fen) if fen is not None else None


def attachment(filename: str) -> dict[str, str]:
    """A Content-Disposition header that downloads as filename (an ASCII fallback plus the UTF-8 name)."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename)
    return {"Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"}


def audit_public(event: AuditEvent) -> AuditEventPublic:
    """An audit event as a timeline line."""
    return AuditEventPublic(
        occurred_at=as_utc(event.occurred_at),
        actor_label=event.actor_label,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        action=event.action,
        from_state=event.from_state,
        to_state=event.to_state,
        reason=event.reason,
        data=dict(event.data or {}),
    )
