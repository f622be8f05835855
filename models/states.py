"""The one gate for every status change: the allowed moves per entity, a version check, and the audit event.

Nothing else writes a `status` column. `change_status` moves one object (optimistic: the row must still
have the version the caller read, else Conflict); `change_status_bulk` moves a chunk of rows in one
statement and writes one audit event per row, copied from the rows with INSERT ... SELECT.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    bindparam,
    cast,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from models.approvals import TaskStatus as T
from models.audit import AuditEvent
from models.base import utcnow
from models.claims import ClaimStatus as C
from models.enrolments import EnrolmentStatus as E
from models.errors import Conflict, InvalidTransition
from models.notices import NoticeStatus as N
from models.notices import ObjectionStatus as O
from models.payments import BatchStatus as B
from models.payments import PaymentStatus as P
from models.sql import id_in


@dataclass(frozen=True)
class Actor:
    """Who causes a change: a user, or the system (a flow) acting under a label."""

    user_id: int | None
    label: str


SYSTEM = Actor(None, "system")

TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "claim": {
        C.INCOMPLETE: frozenset({C.SUBMITTED, C.REJECTED}),
        C.SUBMITTED: frozenset({C.IN_REVIEW, C.REJECTED, C.INCOMPLETE}),
        C.IN_REVIEW: frozenset({C.IN_NOTICE, C.REJECTED, C.RETURNED}),
        C.RETURNED: frozenset({C.SUBMITTED, C.INCOMPLETE, C.REJECTED}),
        C.IN_NOTICE: frozenset({C.PAYABLE, C.IN_REVIEW, C.REJECTED}),
        C.PAYABLE: frozenset({C.IN_PAYMENT}),
        C.IN_PAYMENT: frozenset({C.PAID, C.PAYMENT_FAILED}),
        C.PAYMENT_FAILED: frozenset({C.PAYABLE}),
        C.PAID: frozenset(),
        C.REJECTED: frozenset(),
    },
    "enrolment": {
        E.REGISTERED: frozenset({E.ELIGIBLE, E.INELIGIBLE, E.NEEDS_REVIEW}),
        E.NEEDS_REVIEW: frozenset({E.ELIGIBLE, E.INELIGIBLE}),
        E.ELIGIBLE: frozenset({E.ACTIVE, E.INELIGIBLE}),
        E.INELIGIBLE: frozenset(),
        E.ACTIVE: frozenset({E.LAPSED}),
        E.LAPSED: frozenset(),
    },
    "approval_task": {
        T.OPEN: frozenset({T.TAKEN, T.COMPLETED, T.CANCELLED}),
        T.TAKEN: frozenset({T.OPEN, T.COMPLETED, T.CANCELLED}),
        T.COMPLETED: frozenset(),
        T.CANCELLED: frozenset(),
    },
    "payment_batch": {
        B.CREATED: frozenset({B.EXPORTED}),
        B.EXPORTED: frozenset({B.SETTLED}),
        B.SETTLED: frozenset(),
    },
    "payment": {
        P.PENDING: frozenset({P.PAID, P.FAILED}),
        P.PAID: frozenset(),
        P.FAILED: frozenset(),
    },
    "policy_year": {"open": frozenset({"closed"}), "closed": frozenset()},
    "claim_notice": {
        N.POSTED: frozenset({N.PASSED, N.WITHDRAWN}),
        N.PASSED: frozenset(),
        N.WITHDRAWN: frozenset(),
    },
    "objection": {
        O.OPEN: frozenset({O.UPHELD, O.DISMISSED, O.CLOSED}),
        O.UPHELD: frozenset(),
        O.DISMISSED: frozenset(),
        O.CLOSED: frozenset(),
    },
}


def sources_of(entity: str, to: str) -> frozenset[str]:
    """The states from which `entity` may move to `to`."""
    return frozenset(s for s, targets in TRANSITIONS[entity].items() if to in targets)


def check_transition(entity: str, old: str, to: str) -> None:
    """Raise InvalidTransition unless old → to is allowed for entity."""
    if to not in TRANSITIONS[entity].get(old, frozenset()):
        raise InvalidTransition(f"{entity}: {old} → {to} is not allowed")


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
    set_committed_value(obj, "status", str(to))
    set_committed_value(obj, "version", obj.version + 1)
    for column, value in (values or {}).items():
        set_committed_value(obj, column, value)
    _record(session, entity, obj.id, action or f"{entity}.{to}", actor, old, str(to), reason, data)


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
    _record(session, obj.__tablename__, obj.id, action, actor, status, status, reason, data)


def _record(
    session: Session,
    entity: str,
    entity_id: int,
    action: str,
    actor: Actor,
    old: str | None,
    to: str | None,
    reason: str | None,
    data: Mapping[str, Any] | None,
) -> None:
    """One audit row, written at once (one INSERT, no ORM object: this is on the path of every decision)."""
    session.execute(
        _AUDIT_INSERT,
        {
            "occurred_at": utcnow(), "actor_id": actor.user_id, "actor_label": actor.label, "entity_type": entity,
            "entity_id": entity_id, "action": action, "from_state": old, "to_state": to, "reason": reason,
            "data": dict(data or {}),
        },
    )  # fmt: skip


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
    their audit events are copied from the rows themselves, one INSERT ... SELECT per distinct reason,
    before the one UPDATE moves them.
    """
    entity = model.__tablename__
    table = model.__table__
    sources = sources_of(entity, to)
    wanted = list(ids)
    if not wanted or not sources:
        return []
    in_source = table.c.status.in_(sorted(sources))
    rows = session.execute(
        select(table.c.id, table.c.status)
        .where(id_in(session, table.c.id, wanted), in_source)
        .order_by(table.c.id)  # lock in one order, so that two bulk moves cannot deadlock each other
        .with_for_update()
    ).all()
    if not rows:
        return []
    moved = [row[0] for row in rows]
    _audit_bulk(session, table, rows, moved, to, actor=actor, reason=reason, reasons=reasons, action=action)
    session.execute(
        update(table)
        .where(id_in(session, table.c.id, moved), in_source)
        .values(status=str(to), version=table.c.version + 1, **dict(values or {}))
    )
    # Keep objects already loaded in this session in step with the rows just changed.
    moved_set = set(moved)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, model) and obj.id in moved_set:
            set_committed_value(obj, "status", str(to))
            set_committed_value(obj, "version", obj.version + 1)
            for column, value in (values or {}).items():
                set_committed_value(obj, column, value)
    return moved


# Above this many distinct per-row reasons in one call, one executemany beats an INSERT ... SELECT per reason.
MANY_REASONS = 32
_AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]
_AUDIT_INSERT = insert(_AUDIT)  # one statement, compiled once
_CONSTANT_COLUMNS = ("occurred_at", "actor_id", "actor_label", "entity_type", "action", "to_state", "reason", "data")


def _audit_bulk(
    session: Session,
    table: Any,
    rows: Sequence[Any],  # (id, status) of the locked rows
    moved: list[int],
    to: str,
    *,
    actor: Actor,
    reason: str | None,
    reasons: Mapping[int, str] | None,
    action: str | None,
) -> None:
    """One audit event per locked row (id, status), written before the rows move."""
    entity = table.name
    constant = {
        "occurred_at": utcnow(),
        "actor_id": actor.user_id,
        "actor_label": actor.label,
        "entity_type": entity,
        "action": action or f"{entity}.{to}",
        "to_state": str(to),
        "data": {},
    }
    by_reason: dict[str | None, list[int]] = {reason: moved}
    if reasons:
        by_reason = defaultdict(list)
        for entity_id in moved:
            by_reason[reasons.get(entity_id, reason)].append(entity_id)
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


def _bound(column: str, value: Any) -> Any:
    """A bound value typed as its audit column, so that PostgreSQL knows its type inside a SELECT list.

    Plain CAST for numbers and strings; timestamps and JSON keep their bind types (psycopg sends them
    typed), because CAST(… AS DATETIME) would turn SQLite's timestamp text into a number.
    """
    kind = _AUDIT.c[column].type
    if isinstance(kind, (DateTime, JSON)):
        return literal(value, kind).label(column)
    return cast(literal(value, kind), kind).label(column)
