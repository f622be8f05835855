"""The one gate for every recorded change: status moves, audit rows and domain events all pass here.

- `change_status` moves one object (optimistic: the row must still have the version the caller read, else
  Conflict); `change_status_bulk` moves a chunk of rows in one statement. Both check the move against the
  state machines (models.transitions) and write one audit event per row. Nothing else writes a `status`.
- `record_event` audits what happened to an object without moving it; `record` and `record_all` audit facts
  about entities that have no status (a publication, a rules version) or a fact beside a move.
- `emit` and `emit_all` put domain events (models.events) in the outbox, in the caller's transaction.

Nothing else writes an audit row or an outbox row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from models.audit import SYSTEM, Actor, OutboxMessage
from models.audit_writer import audit_row, copy_from_rows, write_rows
from models.base import utcnow
from models.errors import Conflict
from models.events import DomainEvent
from models.sql import id_in
from models.transitions import check_transition, sources_of

# The gate's whole vocabulary; Actor (who causes a change) is defined with the audit table it fills.
__all__ = ["SYSTEM", "Actor", "change_status", "change_status_bulk", "emit", "emit_all"]
__all__ += ["record", "record_all", "record_event"]
_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
_OUTBOX_INSERT = insert(_OUTBOX)  # one statement, compiled once


def change_status(
    session: Session,
    obj: Any,
    to: str,
    *,
    actor: Actor,
    reason: str | None = None,
    action: str | None = None,
    data: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
) -> None:
    """Move one object to `to`, if its row still has the version the caller read; audit it.

    `values` are further columns set in the same conditional UPDATE (e.g. an assignee).
    """
    entity = obj.__tablename__
    old = str(obj.status)
    check_transition(entity, old, to)
    extra = dict(values or {})
    stmt = _conditional_update(type(obj).__table__, tuple(sorted(extra)))
    params = {"_id": obj.id, "_version": obj.version, "_old": old, "_to": str(to)}
    params |= {f"_set_{column}": value for column, value in extra.items()}
    if session.execute(stmt, params).rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"{entity} {obj.id} was changed by someone else; reload and try again")
    _sync(obj, to, extra)
    record(session, entity, obj.id, action or f"{entity}.{to}", actor=actor, from_state=old, to_state=str(to),
           reason=reason, data=data)  # fmt: skip


@lru_cache(maxsize=256)
def _conditional_update(table: Any, columns: tuple[str, ...]) -> Any:
    """UPDATE table SET status, version + 1 and `columns` WHERE id, version and status are as read; built once
    per table and set of columns, its values bound at execution."""
    return (
        update(table)
        .where(
            table.c.id == bindparam("_id"),
            table.c.version == bindparam("_version"),
            table.c.status == bindparam("_old"),
        )
        .values(status=bindparam("_to"), version=table.c.version + 1, **{c: bindparam(f"_set_{c}") for c in columns})
    )


def _sync(obj: Any, to: str, values: Mapping[str, Any]) -> None:
    """An object loaded in the session, brought in step with the row just moved."""
    set_committed_value(obj, "status", str(to))
    set_committed_value(obj, "version", obj.version + 1)
    for column, value in values.items():
        set_committed_value(obj, column, value)


def change_status_bulk(
    session: Session,
    model: Any,
    ids: Iterable[int],
    to: str,
    *,
    actor: Actor,
    reason: str | None = None,
    reasons: Mapping[int, str] | None = None,
    action: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> list[int]:
    """Move every row of `ids` that is in an allowed source state to `to`; return the ids that moved.

    Rows in any other state are left alone (the caller reports them). `reasons` gives a per-row reason.
    The rows are locked first (FOR UPDATE on PostgreSQL; SQLite's write transaction locks the file), then
    their audit events are copied from the rows themselves, before the one UPDATE moves them.
    """
    table = model.__table__
    sources = sources_of(model.__tablename__, to)
    wanted = list(ids)
    if not wanted or not sources:
        return []
    in_source = table.c.status.in_(sorted(sources))
    rows = _lock(session, table, wanted, in_source)
    if not rows:
        return []
    moved = [row[0] for row in rows]
    copy_from_rows(session, table, rows, to, actor=actor, reason=reason, reasons=reasons, action=action)
    session.execute(
        update(table)
        .where(id_in(session, table.c.id, moved), in_source)
        .values(status=str(to), version=table.c.version + 1, **dict(values or {}))
    )
    moved_set = set(moved)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and obj.id in moved_set:
            _sync(obj, to, values or {})
    return moved


def _lock(session: Session, table: Any, ids: list[int], in_source: Any) -> list[Any]:
    """(id, status) of the rows of `ids` in a source state, locked in id order (so that two bulk moves cannot
    deadlock each other)."""
    stmt = select(table.c.id, table.c.status).where(id_in(session, table.c.id, ids), in_source)
    return list(session.execute(stmt.order_by(table.c.id).with_for_update()).all())


def record_event(
    session: Session,
    obj: Any,
    action: str,
    *,
    actor: Actor,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Audit something that happened to `obj` without moving its status (e.g. a level approved)."""
    status = str(obj.status)
    record(session, obj.__tablename__, obj.id, action, actor=actor, from_state=status, to_state=status,
           reason=reason, data=data)  # fmt: skip


def record(
    session: Session,
    entity: str,
    entity_id: int,
    action: str,
    *,
    actor: Actor,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    data: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Audit one fact about an entity (e.g. a claim filed, a publication published, a rules version made)."""
    row = audit_row(entity, entity_id, action, actor, from_state=from_state, to_state=to_state, reason=reason,
                    data=data, at=at)  # fmt: skip
    write_rows(session, [row])


def record_all(
    session: Session,
    entity: str,
    entity_ids: Iterable[int],
    action: str,
    *,
    actor: Actor,
    data: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Audit the same fact about many entities at once (one executemany), their status untouched."""
    write_rows(session, [audit_row(entity, i, action, actor, data=data, at=at) for i in entity_ids])


def emit(session: Session, event: DomainEvent, *, at: datetime | None = None) -> None:
    """Put a domain event in the outbox, committed with the change that caused it."""
    emit_all(session, [event], at=at)


def emit_all(session: Session, events: Iterable[DomainEvent], *, at: datetime | None = None) -> None:
    """Put domain events in the outbox with one statement (one executemany for several)."""
    moment = at or utcnow()
    rows = [
        {"topic": e.topic(), "payload": e.payload(), "created_at": moment, "attempts": 0, "dispatched_at": None,
         "last_error": None}
        for e in events
    ]  # fmt: skip
    if len(rows) == 1:
        session.execute(_OUTBOX_INSERT, rows[0])
    elif rows:
        session.execute(_OUTBOX_INSERT, rows)
