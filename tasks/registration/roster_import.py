"""Importing a whole roster file (API and CLI): read as a stream, enrolled chunk by chunk.

`import_roster` streams a file through tasks.registration.roster.iter_roster with a reader thread one or two
chunks ahead, so reading and validating overlap the database work of tasks.registration.enrolment. It never
commits: after each chunk it calls the caller's unit-of-work hook (`after_chunk`), which may commit.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from queue import Full, Queue
from typing import Any, BinaryIO

from sqlmodel import Session

from models.programmes import PolicyYear
from tasks.registration.enrolment import import_roster_rows
from tasks.registration.roster import RosterChunk, iter_roster
from tasks.registration.roster_rows import RowError

Handover = Queue[tuple[str, Any]]  # ("chunk", a chunk), ("error", what the reader raised) or ("end", None)


@dataclass
class ImportReport:
    """A whole roster: data rows read, enrolments created, and every row error (parse and import)."""

    total_rows: int
    imported: int
    errors: list[RowError] = field(default_factory=list)


def _hand_over(queue: Handover, stop: threading.Event, item: tuple[str, Any]) -> bool:
    """Put the item on the queue, waiting while it is full; False if the caller stopped reading first."""
    while not stop.is_set():
        try:
            queue.put(item, timeout=0.1)
            return True
        except Full:
            continue
    return False


def _produce(chunks: Iterator[RosterChunk], queue: Handover, stop: threading.Event) -> None:
    """The reader thread: hand over every chunk, then the end (or the reader's error), until told to stop."""
    try:
        for chunk in chunks:
            if not _hand_over(queue, stop, ("chunk", chunk)):
                return
        _hand_over(queue, stop, ("end", None))
    except BaseException as exc:
        _hand_over(queue, stop, ("error", exc))


def _read_ahead(chunks: Iterator[RosterChunk], depth: int = 2) -> Iterator[RosterChunk]:
    """The chunks, read by a background thread up to depth chunks ahead of the caller.

    Reading and validating is pure Python; the database works while the caller waits on it (PostgreSQL on
    its own core, SQLite with the GIL released), so the next chunk is read meanwhile. Errors of the reader
    (RosterFileError) are raised here, in the caller's thread; stopping early stops the reader.
    """
    queue: Handover = Queue(maxsize=depth)
    stop = threading.Event()
    reader = threading.Thread(target=_produce, args=(chunks, queue, stop), name="roster-reader", daemon=True)
    reader.start()
    try:
        while True:
            kind, item = queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def import_roster(
    *,
    session: Session,
    policy_year: PolicyYear,
    data: bytes | BinaryIO,
    importer_scope_path: str | None,
    chunk_size: int = 5000,
    on_progress: Callable[[int], None] | None = None,
    after_chunk: Callable[[], None] | None = None,
) -> ImportReport:
    """Read a roster file (bytes or a binary stream) and enrol its valid rows chunk by chunk (API and CLI).

    on_progress gets the data rows read so far after each chunk. after_chunk is the caller's unit-of-work
    hook, called once each chunk's statements have run (its rows flushed), before its progress is reported:
    the CLI passes `session.commit`, so no transaction grows with the file, and a run that stops half-way is
    completed by importing the file again (rows already enrolled are reported, nothing is created twice).
    Without it nothing is committed here; the caller commits (or rolls back) the whole import.
    """
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    errors: list[RowError] = []
    imported = total = 0
    for chunk in _read_ahead(iter_roster(source, chunk_size=chunk_size)):
        result = import_roster_rows(
            session=session, policy_year=policy_year, rows=chunk.rows, importer_scope_path=importer_scope_path
        )
        if after_chunk is not None:
            after_chunk()
        imported += result.imported
        errors.extend(sorted([*chunk.errors, *result.errors], key=lambda e: e.row))
        total = chunk.rows_read
        if on_progress is not None:
            on_progress(total)
    return ImportReport(total_rows=total, imported=imported, errors=errors)
