"""Connection slots: a request waits on the event loop for the database before it takes any worker thread.

A request holds its database connection from its first statement until its session is closed, and in
between it waits for a worker thread more than once (FastAPI validates a route's answer in one). Were it to
take a thread first and a connection second, fifty requests at once could hold every connection while the
few threads all waited for one, until the pool timed out. So a request first queues on the event loop for a
connection slot (`connection_slot`: as many requests at once as the pool has connections for, two each),
and only then takes threads; a thread never waits for a connection.

On SQLite a writing request also holds the database's one write lock from its first statement to its end, so
writers queue on the event loop for it too, for the same reason.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from core.db import get_engine, is_sqlite, pool_capacity

READ_METHODS = ("GET", "HEAD")
SESSIONS_PER_REQUEST = 2  # the most any route opens: the signed-in user's session and a read-only one


async def connection_slot(request: Request) -> AsyncIterator[None]:
    """Wait on the event loop, holding no thread, until this request may use the database (see the module
    docstring): a connection slot, and on SQLite, for a writing request, the write lock."""
    engine = get_engine()
    gates = _GATES.setdefault(request.app, weakref.WeakKeyDictionary())
    loop = asyncio.get_running_loop()  # asyncio primitives belong to one event loop; a test client may bring another
    if loop not in gates:
        gates[loop] = _Gates(asyncio.Semaphore(max(1, pool_capacity(engine) // SESSIONS_PER_REQUEST)), asyncio.Lock())
    gate = gates[loop]
    async with gate.slots:
        if request.method in READ_METHODS or not is_sqlite(engine):
            yield
            return
        async with gate.writer:
            yield


@dataclass
class _Gates:
    slots: asyncio.Semaphore
    writer: asyncio.Lock


_GATES: weakref.WeakKeyDictionary[Any, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gates]] = (
    weakref.WeakKeyDictionary()
)
