"""Engine and sessions: SQLite by default (WAL, foreign keys, busy timeout), PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, create_engine

READ_ONLY = "mutualaid_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for url; SQLite files get the pragmas a multi-writer service needs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            # connections enough for the requests the API lets in at once (api.slots.connection_slot)
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 10)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    # The pool holds as many connections as a process runs requests at once (FastAPI's 40 worker threads), so
    # that a busy API reuses its connections instead of opening one (a new server process) per request.
    kwargs.setdefault("pool_size", 40)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Autocommit at the driver level so that SQLAlchemy's "begin" event below controls transactions.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of failing on a
    # read-then-write upgrade; the busy timeout makes the second one wait. Read-only work (see
    # `reading`) begins deferred, so readers never wait for writers (WAL).
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for url (default: the configured database)."""
    from core.settings import get_settings

    return make_engine(url or get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A unit of work: commits on success, rolls back on error. Entrypoints own this, data functions flush."""
    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def reading(engine: Engine) -> Engine:
    """The same engine for work that only reads: on SQLite its transactions do not take the write lock."""
    return engine.execution_options(**{READ_ONLY: True})


UNBOUNDED = 1_000_000


def pool_capacity(engine: Engine) -> int:
    """How many connections the engine's pool hands out at once (its size and overflow)."""
    pool = engine.pool
    overflow = getattr(pool, "_max_overflow", -1)  # a QueuePool's; it has no public reader
    if isinstance(pool, QueuePool) and overflow >= 0:
        return pool.size() + overflow
    return UNBOUNDED  # a pool that opens what it is asked for


def is_sqlite(engine: Engine) -> bool:
    """Whether engine talks to SQLite."""
    return engine.dialect.name == "sqlite"


def reading_snapshot(engine: Engine) -> Engine:
    """The engine for a simulation's session: read-only on SQLite (a WAL read is a snapshot already), one
    consistent snapshot on PostgreSQL (REPEATABLE READ), so all chunks and the fund see the same moment."""
    return reading(engine) if is_sqlite(engine) else engine.execution_options(isolation_level="REPEATABLE READ")
