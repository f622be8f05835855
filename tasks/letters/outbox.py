"""The outbox dispatcher: turn committed domain events (models.events, kept as models.audit.OutboxMessage rows)
into their next steps.

Each pending message is handled inside its own SAVEPOINT. On success it is marked dispatched; on any error
the savepoint is rolled back, the message keeps its place with one more attempt and a short last_error, and
the dispatcher goes on with the next one, so one failing message never blocks the others. A message that
failed MAX_ATTEMPTS times is left pending but skipped: visible to an administrator, harmless to the rest.

On PostgreSQL the pending rows are taken FOR UPDATE SKIP LOCKED, so two dispatchers never work one message;
on SQLite every write transaction begins IMMEDIATE, which serialises dispatchers anyway. Handlers are
idempotent (one letter per message, deterministic object keys), so running twice writes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

from sqlalchemy import func
from sqlalchemy.exc import StatementError
from sqlmodel import Session, col, select

from core.storage import ObjectStore
from models.audit import OutboxMessage
from models.base import utcnow
from tasks.letters.decision_letters import LETTER_TOPICS, write_letter

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
ERROR_CHARS = 500

# A handler does a message's work (flushing only) and says whether it wrote something new.
Handler = Callable[[Session, ObjectStore, OutboxMessage], bool]


def _write_letter(session: Session, store: ObjectStore, message: OutboxMessage) -> bool:
    return write_letter(session=session, store=store, message=message)[1]


def _nothing_yet(_session: Session, _store: ObjectStore, _message: OutboxMessage) -> bool:
    return False


# topic → what to do; a topic not listed here has nothing to do yet and is simply marked dispatched.
HANDLERS: dict[str, Handler] = {topic: _write_letter for topic in LETTER_TOPICS}


@dataclass
class DispatchCounts:
    """What one dispatch pass did."""

    picked: int = 0  # pending messages taken
    dispatched: int = 0  # handled and marked dispatched
    written: int = 0  # of those, how many wrote something new (a letter)
    failed: int = 0  # left pending with one more attempt
    last_id: int = 0  # the highest message id taken (the next pass starts after it)

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return asdict(self)


def short_error(exc: BaseException) -> str:
    """The exception's class and message, at most ERROR_CHARS; a database error without its SQL or parameters."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        first_line = (str(exc.orig).splitlines() or [""])[0]
        text = f"{type(exc).__name__}: {type(exc.orig).__name__}: {first_line}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:ERROR_CHARS]


def pending_messages(*, session: Session, limit: int, after_id: int = 0) -> list[OutboxMessage]:
    """The oldest undispatched messages after `after_id` that have attempts left, locked for this dispatcher."""
    stmt = (
        select(OutboxMessage)
        .where(
            col(OutboxMessage.dispatched_at).is_(None),
            col(OutboxMessage.attempts) < MAX_ATTEMPTS,
            col(OutboxMessage.id) > after_id,
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(stmt).all())


def dispatch_message(*, session: Session, store: ObjectStore, message: OutboxMessage) -> bool | None:
    """Handle one message in a savepoint: True/False (wrote something new or not) once dispatched, None on failure."""
    handler = HANDLERS.get(message.topic, _nothing_yet)
    try:
        with session.begin_nested():
            written = handler(session, store, message)
    except Exception as exc:  # any failure of one message is recorded on it and must not stop the others
        message.attempts += 1
        message.last_error = short_error(exc)
        session.flush()
        # Only the ids, topic and error class: the error text may quote what the message was about.
        logger.warning(
            "outbox message %s (%s) failed, attempt %s of %s: %s",
            message.id, message.topic, message.attempts, MAX_ATTEMPTS, type(exc).__name__,
        )  # fmt: skip
        return None
    message.dispatched_at = utcnow()
    message.last_error = None
    session.flush()
    return written


def dispatch_pending(*, session: Session, store: ObjectStore, limit: int, after_id: int = 0) -> DispatchCounts:
    """Handle up to `limit` pending messages after `after_id`, oldest first; the caller commits."""
    counts = DispatchCounts(last_id=after_id)
    for message in pending_messages(session=session, limit=limit, after_id=after_id):
        counts.picked += 1
        counts.last_id = message.id or counts.last_id
        outcome = dispatch_message(session=session, store=store, message=message)
        if outcome is None:
            counts.failed += 1
        else:
            counts.dispatched += 1
            counts.written += int(outcome)
    return counts


def count_given_up(*, session: Session) -> int:
    """Pending messages that used up their attempts (skipped until someone looks at them)."""
    stmt = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(col(OutboxMessage.dispatched_at).is_(None), col(OutboxMessage.attempts) >= MAX_ATTEMPTS)
    )
    return int(session.exec(stmt).one())


def count_pending(*, session: Session) -> int:
    """Undispatched messages, given up or not."""
    stmt = select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.dispatched_at).is_(None))
    return int(session.exec(stmt).one())
