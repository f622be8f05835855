"""The one gate for every status change: the allowed moves per entity, a version check, and the audit event.

Nothing else writes a `status` column. `change_status` moves one object (optimistic: the row must still
have the version the caller read, else Conflict); `change_status_bulk` moves a chunk of rows in one
statement and writes one audit event per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from models.approvals import TaskStatus as T
from models.audit import AuditEvent
from models.base import utcnow
from models.claims import ClaimStatus as C
from models.enrolments import EnrolmentStatus as E
from models.errors import Conflict, InvalidTransition
from models.payments import BatchStatus as B
from models.payments import PaymentStatus as P


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
    table = type(obj).__table__
    stmt = (
        update(table)
        .where(table.c.id == obj.id, table.c.version == obj.version, table.c.status == old)
        .values(status=str(to), version=table.c.version + 1, **dict(values or {}))
    )
    if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"{entity} {obj.id} was changed by someone else; reload and try again")
    set_committed_value(obj, "status", str(to))
    set_committed_value(obj, "version", obj.version + 1)
    for column, value in (values or {}).items():
        set_committed_value(obj, column, value)
    session.add(
        AuditEvent(
            actor_id=actor.user_id,
            actor_label=actor.label,
            entity_type=entity,
            entity_id=obj.id,
            action=action or f"{entity}.{to}",
            from_state=old,
            to_state=str(to),
            reason=reason,
            data=dict(data or {}),
        )
    )


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
    """
    entity = model.__tablename__
    table = model.__table__
    sources = sources_of(entity, to)
    wanted = list(ids)
    if not wanted or not sources:
        return []
    rows = session.execute(
        select(table.c.id, table.c.status).where(table.c.id.in_(wanted), table.c.status.in_(sources)).with_for_update()
    ).all()
    if not rows:
        return []
    moved = [row.id for row in rows]
    session.execute(
        update(table)
        .where(table.c.id.in_(moved), table.c.status.in_(sources))
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
    now = utcnow()
    session.execute(
        insert(AuditEvent.__table__),  # type: ignore[attr-defined]
        [
            {
                "occurred_at": now,
                "actor_id": actor.user_id,
                "actor_label": actor.label,
                "entity_type": entity,
                "entity_id": row.id,
                "action": action or f"{entity}.{to}",
                "from_state": row.status,
                "to_state": str(to),
                "reason": (reasons or {}).get(row.id, reason),
                "data": {},
            }
            for row in rows
        ],
    )
    return moved
