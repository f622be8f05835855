"""The object store as a plain folder on disk: the default for a laptop demo or a single server.

Each key is a relative path under the root. Writes go to a temporary file in the target folder
and are moved into place atomically, so a reader never sees half a document. Immutable puts
use a hard link, which refuses to clobber an existing file, so two writers racing on one key
cannot silently replace each other's bytes. The media type is not kept on disk: `get` and `open` return
bytes only, and callers keep the media type in the database from the StoredObject. An object's age is its
file's modification time.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from core.storage.base import ObjectExists, ObjectInfo, StoredObject, object_key_is_safe, sha256_hex

_TEMP_PREFIX = ".tmp-"  # keys never start with '.', so temporary files never look like keys


def _checked(key: str) -> str:
    """The key itself, or ValueError when it is not a plain relative path."""
    if not object_key_is_safe(key):
        raise ValueError(f"unsafe object key: {key!r}")
    return key


class LocalObjectStore:
    """An ObjectStore backed by a folder; keys map to files under `root`."""

    def __init__(self, root: Path) -> None:
        """Use `root` as the store's folder (created on first write)."""
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    def put(self, key: str, data: bytes, *, media_type: str, immutable: bool = True) -> StoredObject:
        """Store bytes under key and return their size and SHA-256."""
        path = self._path(key)
        stored = StoredObject(key=key, size=len(data), sha256=sha256_hex(data), media_type=media_type)
        if immutable and path.is_file():
            self._check_same(path, stored)
            return stored
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            if immutable:
                self._link_no_clobber(tmp_name, path, stored)
            else:
                os.replace(tmp_name, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
        return stored

    def _link_no_clobber(self, tmp_name: str, path: Path, stored: StoredObject) -> None:
        """Move the temporary file to path, or check path's bytes if another writer got there first."""
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            self._check_same(path, stored)
        except OSError:
            # Filesystems without hard links: fall back to check-then-replace.
            if path.is_file():
                self._check_same(path, stored)
            else:
                os.replace(tmp_name, path)

    @staticmethod
    def _check_same(path: Path, stored: StoredObject) -> None:
        """Raise ObjectExists unless path already holds exactly the stored bytes."""
        if sha256_hex(path.read_bytes()) != stored.sha256:
            raise ObjectExists(f"object {stored.key!r} already exists with different content")

    def get(self, key: str) -> bytes:
        """The bytes under key; KeyError when absent."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def open(self, key: str) -> BinaryIO:
        """The object's file, opened for reading (seekable); KeyError when absent."""
        path = self._path(key)
        try:
            return path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        """Whether key holds an object."""
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        """All keys under prefix, sorted."""
        folder = prefix.rpartition("/")[0]
        if folder and not object_key_is_safe(folder):
            raise ValueError(f"unsafe key prefix: {prefix!r}")
        start = self.root / folder if folder else self.root
        if not start.is_dir():
            return []
        keys = []
        for path in start.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if key.startswith(prefix) and object_key_is_safe(key) and path.is_file():
                keys.append(key)
        return sorted(keys)

    def list_info(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under prefix with its size and modification time, folder by folder."""
        folder = prefix.rpartition("/")[0]
        if folder and not object_key_is_safe(folder):
            raise ValueError(f"unsafe key prefix: {prefix!r}")
        start = self.root / folder if folder else self.root
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames.sort()
            for name in sorted(filenames):
                key = (Path(dirpath) / name).relative_to(self.root).as_posix()
                if key.startswith(prefix) and object_key_is_safe(key):
                    found = self.info(key)
                    if found is not None:
                        yield found

    def info(self, key: str) -> ObjectInfo | None:
        """The file's size and modification time, or None when absent."""
        try:
            found = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(found.st_mode):
            return None
        return ObjectInfo(key, found.st_size, datetime.fromtimestamp(found.st_mtime, UTC))

    def touch(self, key: str) -> bool:
        """Set the file's modification time to now; False when it is absent."""
        path = self._path(key)
        try:
            if not path.is_file():
                return False
            os.utime(path)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        """Remove key; nothing happens when it is absent."""
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
            path.unlink()

    def url(self, key: str, *, expires: timedelta = timedelta(minutes=15)) -> str:
        """A file:// URL of the object's absolute path; KeyError when absent (expires is ignored)."""
        path = self._path(key)
        if not path.is_file():
            raise KeyError(key)
        return path.resolve().as_uri()
