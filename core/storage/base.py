"""The object-store port: put with SHA-256, get or open (streaming), exists, list, and a URL to hand a user.

`list_info`, `info` and `touch` give objects an age (last written), so a sweep can tell an orphan left by a
crash from an object whose database row is still being written.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, Protocol, runtime_checkable

_SAFE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*$")


class ObjectStoreUnavailable(RuntimeError):
    """The object store cannot be reached; callers turn this into a 503 and keep nothing half-done."""


class ObjectExists(RuntimeError):
    """An immutable key already holds different content."""


@dataclass(frozen=True)
class StoredObject:
    """What the database keeps about a stored object."""

    key: str
    size: int
    sha256: str
    media_type: str


@dataclass(frozen=True)
class ObjectInfo:
    """A stored object's key, size and when it was last written (aware UTC)."""

    key: str
    size: int
    modified_at: datetime


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of some bytes, as lowercase hex."""
    return hashlib.sha256(data).hexdigest()


def object_key_is_safe(key: str) -> bool:
    """True when a key is a plain relative path: no '..', no leading '/', no odd characters."""
    return bool(_SAFE_KEY.match(key)) and ".." not in key.split("/")


@runtime_checkable
class ObjectStore(Protocol):
    """Where documents live. Keys are relative paths such as 'claims/ab/abcdef….pdf'."""

    def put(self, key: str, data: bytes, *, media_type: str, immutable: bool = True) -> StoredObject:
        """Store bytes under key and return their size and SHA-256.

        With immutable=True (the default), putting the same bytes again is a no-op and putting
        different bytes under an existing key raises ObjectExists.
        """
        ...

    def get(self, key: str) -> bytes:
        """The bytes under key; KeyError when absent."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A read-only stream of the bytes under key, for objects too big to hold in memory; KeyError when absent.

        Use it as a context manager (`with store.open(key) as stream:`): closing it releases the file or the
        HTTP connection. It may not be seekable.
        """
        ...

    def exists(self, key: str) -> bool:
        """Whether key holds an object."""
        ...

    def list(self, prefix: str = "") -> list[str]:
        """All keys under prefix, sorted."""
        ...

    def list_info(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under prefix with its size and last-written time, as the listing arrives (any order)."""
        ...

    def info(self, key: str) -> ObjectInfo | None:
        """The object's size and last-written time, or None when absent."""
        ...

    def touch(self, key: str) -> bool:
        """Mark an existing object as written now, keeping its bytes; False when it is absent.

        A put of bytes that are already stored changes nothing, so a writer that relies on such an object
        touches it: an age-based sweep then spares it until the writer's database row is committed.
        """
        ...

    def delete(self, key: str) -> None:
        """Remove key (used only to undo a put whose database transaction failed)."""
        ...

    def url(self, key: str, *, expires: timedelta = timedelta(minutes=15)) -> str:
        """A URL to hand a user: presigned for S3, a file:// URL for the local folder."""
        ...
