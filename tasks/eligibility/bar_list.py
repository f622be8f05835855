"""The bar list (禁入名单, DOMAIN 2.3): bar a person from a programme for fraud, lift the bar, ask about it.

Administrators keep the list; the API checks the role. Every addition and lifting is an audit event
(entity `bar_list_entry`, states active / lifted) that names the entry by id only, never by ID number.
Eligibility reads the list in SQL through `barred_clause`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlmodel import Session

from models.bar_list import BarListEntry
from models.base import utcnow
from models.errors import Conflict, NotFound, ValidationFailed
from models.states import Actor, record
from tasks.common.idcard import InvalidIdNumber, parse_id_number

BAR_LIST = BarListEntry.__table__  # type: ignore[attr-defined]
ACTIVE, LIFTED = "active", "lifted"


def _valid_id_number(raw: str) -> str:
    """The normalised ID number, or ValidationFailed with the reason."""
    try:
        return parse_id_number(raw).id_number
    except InvalidIdNumber as exc:
        raise ValidationFailed(str(exc)) from None


def _entry(session: Session, programme_id: int, id_number: str) -> BarListEntry | None:
    return session.scalars(
        select(BarListEntry).where(BAR_LIST.c.programme_id == programme_id, BAR_LIST.c.id_number == id_number)
    ).first()


def _audit(session: Session, entry: BarListEntry, old: str | None, new: str, *, actor: Actor, reason: str) -> None:
    action = f"bar_list.{'added' if new == ACTIVE else 'lifted'}"
    record(
        session, "bar_list_entry", entry.id or 0, action, actor=actor, from_state=old, to_state=new, reason=reason,
        data={"programme_id": entry.programme_id},
    )  # fmt: skip


def add_to_bar_list(*, session: Session, programme_id: int, id_number: str, reason: str, actor: Actor) -> BarListEntry:
    """Bar a person from a programme; a lifted entry is put back in force. Conflict if already barred."""
    number = _valid_id_number(id_number)
    why = reason.strip()
    if not why:
        raise ValidationFailed("请填写列入禁入名单的原因")
    entry = _entry(session, programme_id, number)
    if entry is not None and entry.lifted_at is None:
        raise Conflict("此人已在本项目的禁入名单中")
    old = None if entry is None else LIFTED
    if entry is None:
        entry = BarListEntry(programme_id=programme_id, id_number=number, reason=why, added_by=actor.label)
    else:
        entry.reason, entry.added_by, entry.added_at, entry.lifted_at = why, actor.label, utcnow(), None
    session.add(entry)
    session.flush()
    _audit(session, entry, old, ACTIVE, actor=actor, reason=why)
    session.flush()
    return entry


def lift_bar(*, session: Session, programme_id: int, id_number: str, reason: str, actor: Actor) -> BarListEntry:
    """Lift a person's bar from a programme (the entry stays, with the time it was lifted)."""
    number = _valid_id_number(id_number)
    entry = _entry(session, programme_id, number)
    if entry is None or entry.lifted_at is not None:
        raise NotFound("此人不在本项目的禁入名单中")
    entry.lifted_at = utcnow()
    session.add(entry)
    session.flush()
    _audit(session, entry, ACTIVE, LIFTED, actor=actor, reason=reason.strip() or "解除禁入")
    session.flush()
    return entry


def is_barred(*, session: Session, programme_id: int, id_number: str) -> bool:
    """Whether a person is barred from a programme right now (by the bar list; see also Member.barred)."""
    try:
        number = parse_id_number(id_number).id_number
    except InvalidIdNumber:
        return False
    return bool(session.scalar(select(barred_clause(programme_id, number))))


def barred_clause(programme_id: Any, id_number: Any) -> ColumnElement[bool]:
    """SQL: the person with `id_number` has a bar in force in `programme_id` (columns or values)."""
    return exists().where(
        BAR_LIST.c.programme_id == programme_id,
        BAR_LIST.c.id_number == id_number,
        BAR_LIST.c.lifted_at.is_(None),
    )
