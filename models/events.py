"""Domain events: what happened, named in the past tense, committed with the change that caused it.

An event is written to the outbox (models.audit.OutboxMessage) through the gate (models.states.emit), in the
transaction of its change; the dispatcher (tasks.letters.outbox) reads it back with `event_of` and starts
what follows (a letter, say). The outbox row keeps the event's class name as its topic and its fields as its
payload: ids, amounts in fen, reasons and moments (ISO 8601 text), never an ID number, bank card or diagnosis.

A field with a default of None is left out of the payload while it is None, so an event made where that fact
does not exist (a rejection by the year's rules has no task) stores no empty keys. Reading is lenient the same
way: a missing or unreadable optional field comes back as None.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, get_args, get_type_hints


class MalformedEvent(ValueError):
    """An outbox payload that lacks a field its event cannot do without."""


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    """Base of the events; a subclass's name is its topic."""

    registry: ClassVar[dict[str, type[DomainEvent]]] = {}

    def __init_subclass__(cls, *, shared: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not shared:  # a shared base (the fields several events carry) is no topic of its own
            DomainEvent.registry[cls.__name__] = cls

    @classmethod
    def topic(cls) -> str:
        """The outbox topic of this kind of event."""
        return cls.__name__

    def payload(self) -> dict[str, Any]:
        """The event's fields as JSON-ready values; optional fields that are None are left out."""
        values: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value is None and item.default is None:
                continue
            values[item.name] = value.isoformat() if isinstance(value, datetime) else value
        return values

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> DomainEvent:
        """The event a stored payload describes; MalformedEvent when a required field is missing or unreadable."""
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            kinds = get_args(hints[item.name]) or (hints[item.name],)
            value = _read(payload.get(item.name), next(k for k in kinds if k is not type(None)))
            if value is None and type(None) not in kinds:
                raise MalformedEvent(f"{cls.__name__}: {item.name} missing or unreadable")
            values[item.name] = value
        return cls(**values)


def _read(raw: Any, kind: type) -> Any:
    """A payload value as the field's type (int, str or datetime), or None when it is not one."""
    if kind is datetime:
        try:
            return datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            return None
    if kind is int:
        return raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    return raw if isinstance(raw, kind) else None


def event_of(topic: str, payload: dict[str, Any]) -> DomainEvent | None:
    """The typed event of an outbox row (None for a topic no event class has)."""
    kind = DomainEvent.registry.get(topic)
    return kind.from_payload(payload) if kind is not None else None


@dataclass(frozen=True, kw_only=True)
class ClaimDecided(DomainEvent, shared=True):
    """What every decision on a claim carries: the claim, and the task, level and round that decided it."""

    claim_id: int
    task_id: int | None = None
    level: int | None = None
    round: int | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ClaimApproved(ClaimDecided):
    """A claim passed its last level and was posted for public notice, for this amount."""

    payout_fen: int | None = None


@dataclass(frozen=True, kw_only=True)
class ClaimRejected(ClaimDecided):
    """A claim was refused: by a reviewer, by the year's rules, at final approval, or after an objection."""

    reason: str | None = None
    objection_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class ClaimReturned(ClaimDecided):
    """A claim was sent back to the applicant for more materials."""

    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ObjectionRaised(DomainEvent):
    """Someone objected to a posted claim; a task for the approving level was opened."""

    objection_id: int
    claim_id: int
    task_id: int


@dataclass(frozen=True, kw_only=True)
class ObjectionDecided(DomainEvent, shared=True):
    """What every decision on an objection carries."""

    objection_id: int
    claim_id: int
    task_id: int
    decided_at: datetime


@dataclass(frozen=True, kw_only=True)
class ObjectionDismissed(ObjectionDecided):
    """The approving level found an objection unfounded; the claim stays posted."""


@dataclass(frozen=True, kw_only=True)
class ObjectionUpheld(ObjectionDecided):
    """The approving level upheld an objection: the notice is withdrawn, the claim rejected or reviewed again."""

    outcome: str


@dataclass(frozen=True, kw_only=True)
class TaskEscalated(DomainEvent):
    """A task stayed undecided past its escalation moment and went to its level's supervisor (if there is one)."""

    task_id: int
    claim_id: int | None
    supervisor_id: int | None
