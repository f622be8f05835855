"""How the gate writes audit rows: one at once, many at once, or copied from the rows a bulk move locks.

Call the gate (models.states), not this: every recorded change passes there. Rows are written with Core
INSERTs, never ORM objects: this is on the path of every decision and of every bulk move.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, cast, insert, literal, select
from sqlmodel import Session

from models.audit import Actor, AuditEvent
from models.base import utcnow
from models.sql import id_in

# Above this many distinct per-row reasons in one call, one executemany beats an INSERT ... SELECT per reason.
MANY_REASONS = 32
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_AUDIT_INSERT = insert(_AUDIT)  # one statement, compiled once
_CONSTANT_COLUMNS = ("occurred_at", "actor_id", "actor_label", "entity_type", "action", "to_state", "reason", "data")


def audit_row(
    entity: str,
    entity_id: int,
    action: str,
    actor: Actor,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The column values of one audit row."""
    return {
        "occurred_at": at or utcnow(), "actor_id": actor.user_id, "actor_label": actor.label, "entity_type": entity,
        "entity_id": entity_id, "action": action, "from_state": from_state, "to_state": to_state, "reason": reason,
        "data": dict(data or {}),
    }  # fmt: skip


def write_rows(session: Session, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert audit rows (audit_row values): one statement, or one executemany for several."""
    rows = list(rows)
    if len(rows) == 1:
        session.execute(_AUDIT_INSERT, rows[0])
    elif rows:
        session.execute(_AUDIT_INSERT, rows)


def copy_from_rows(
    session: Session,
    table: Any,
    rows: Sequence[Any],  # (id, status) of the locked rows
    to: str,
    *,
    actor: Actor,
    reason: str | None,
    reasons: Mapping[int, str] | None,
    action: str | None,
) -> None:
    """One audit event per locked row (id, status) of a bulk move, written before the rows move: copied from
    the rows with one INSERT ... SELECT per distinct reason, or one executemany when the reasons are many."""
    constant = {
        "occurred_at": utcnow(), "actor_id": actor.user_id, "actor_label": actor.label, "entity_type": table.name,
        "action": action or f"{table.name}.{to}", "to_state": str(to), "data": {},
    }  # fmt: skip
    by_reason = _by_reason([row[0] for row in rows], reason, reasons)
    if len(by_reason) > MANY_REASONS:
        assert reasons is not None
        events = [
            {**constant, "entity_id": row[0], "from_state": row[1], "reason": reasons.get(row[0], reason)}
            for row in rows
        ]
        session.execute(insert(_AUDIT), events)
        return
    in_source = table.c.status.in_(sorted({row[1] for row in rows}))
    for why, group in by_reason.items():
        values = {**constant, "reason": why}
        copied = (
            select(*(_bound(name, values[name]) for name in _CONSTANT_COLUMNS), table.c.id, table.c.status)
            .where(id_in(session, table.c.id, group), in_source)
            .order_by(table.c.id)
        )
        session.execute(insert(_AUDIT).from_select([*_CONSTANT_COLUMNS, "entity_id", "from_state"], copied))


def _by_reason(ids: list[int], reason: str | None, reasons: Mapping[int, str] | None) -> dict[str | None, list[int]]:
    """The ids grouped by the reason each is moved for (its own, else the common one)."""
    if not reasons:
        return {reason: ids}
    groups: dict[str | None, list[int]] = defaultdict(list)
    for entity_id in ids:
        groups[reasons.get(entity_id, reason)].append(entity_id)
    return groups


def _bound(column: str, value: Any) -> Any:
    """A bound value typed as its audit column, so that PostgreSQL knows its type inside a SELECT list.

    Plain CAST for numbers and strings; timestamps and JSON keep their bind types (psycopg sends them
    typed), because CAST(… AS DATETIME) would turn SQLite's timestamp text into a number.
    """
    kind = _AUDIT.c[column].type
    if isinstance(kind, (DateTime, JSON)):
        return literal(value, kind).label(column)
    return cast(literal(value, kind), kind).label(column)
