"""The append-only audit log (who, when, what, from which state to which, why) and the outbox of events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import DDL, Index, event
from sqlmodel import Field, SQLModel

from models.base import json_field, timestamp_field


@dataclass(frozen=True)
class Actor:
    """Who causes a change: a user, or the system (a flow) acting under a label. The gate (models.states) takes
    one with every change and writes it into the audit row."""

    user_id: int | None
    label: str


SYSTEM = Actor(None, "system")


class AuditEvent(SQLModel, table=True):
    """One recorded change. The database refuses UPDATE and DELETE on this table (triggers below)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    occurred_at: datetime = timestamp_field()
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor_label: str = Field(max_length=64)
    entity_type: str = Field(max_length=32)
    entity_id: int
    action: str = Field(max_length=48)
    from_state: str | None = Field(default=None, max_length=24)
    to_state: str | None = Field(default=None, max_length=24)
    reason: str | None = Field(default=None, max_length=500)
    data: dict[str, Any] = json_field(default_factory=dict)  # never personal data


class AuditEventPublic(BaseModel):
    """A line of a case's timeline."""

    occurred_at: datetime
    actor_label: str
    entity_type: str
    entity_id: int
    action: str
    from_state: str | None
    to_state: str | None
    reason: str | None
    data: dict[str, Any]


class OutboxMessage(SQLModel, table=True):
    """An event committed with the change that caused it; a dispatcher starts the next step from it."""

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=48, index=True)  # past tense: ClaimApproved, PaymentFailed, …
    payload: dict[str, Any] = json_field(default_factory=dict)
    created_at: datetime = timestamp_field()
    dispatched_at: datetime | None = timestamp_field(default_now=False, index=True)
    attempts: int = 0  # failed dispatch attempts; the message stays pending and is tried again
    last_error: str | None = Field(default=None, max_length=500)


APPEND_ONLY_SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
]
APPEND_ONLY_POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
]

_AUDIT_TABLE = AuditEvent.__table__  # type: ignore[attr-defined]
for _stmt in APPEND_ONLY_SQLITE:
    event.listen(_AUDIT_TABLE, "after_create", DDL(_stmt).execute_if(dialect="sqlite"))
for _stmt in APPEND_ONLY_POSTGRESQL:
    event.listen(_AUDIT_TABLE, "after_create", DDL(_stmt).execute_if(dialect="postgresql"))
