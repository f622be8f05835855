"""The object store on MinIO or any S3 endpoint, through the `minio` SDK.

Each object carries its SHA-256 as user metadata (x-amz-meta-sha256), so an immutable put can
compare content with one HEAD request instead of a download. The bucket is created lazily on
the first put. The HTTP client gives up quickly, so a store that is down surfaces as
ObjectStoreUnavailable within seconds (core.storage.s3_http). `open` streams a GET's body (a roster
of a million rows need not fit in memory) and hands the connection back to the pool when the stream
is closed. An object's age is its Last-Modified time; `touch` renews it by copying the object onto
itself (bytes, media type and metadata unchanged).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, BinaryIO

from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.error import S3Error

from core.storage.base import ObjectExists, ObjectInfo, StoredObject, object_key_is_safe, sha256_hex
from core.storage.s3_http import ABSENT, ObjectStream, aware, http_client, reachable

if TYPE_CHECKING:
    from core.settings import Settings

SHA256_META = "sha256"  # sent as x-amz-meta-sha256


def _checked(key: str) -> str:
    """The key itself, or ValueError when it is not a plain relative path."""
    if not object_key_is_safe(key):
        raise ValueError(f"unsafe object key: {key!r}")
    return key


class S3ObjectStore:
    """An ObjectStore backed by one bucket on MinIO or another S3-compatible server."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = False,
        region: str = "us-east-1",
        url_expires: timedelta = timedelta(minutes=15),
        connect_timeout: float = 3.0,
        read_timeout: float = 30.0,
    ) -> None:
        """Connect lazily to `endpoint` (host:port) and keep objects in `bucket`."""
        self.endpoint = endpoint
        self.bucket = bucket
        self.url_expires = url_expires
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http_client(secure, connect_timeout, read_timeout),
        )
        self._bucket_ready = False

    @classmethod
    def from_settings(cls, settings: Settings) -> S3ObjectStore:
        """The store the product settings describe."""
        return cls(
            settings.s3_endpoint,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
            url_expires=timedelta(minutes=settings.presigned_url_minutes),
        )

    def __repr__(self) -> str:
        return f"S3ObjectStore(endpoint={self.endpoint!r}, bucket={self.bucket!r})"

    def _ensure_bucket(self) -> None:
        """Create the bucket once, the first time something is written."""
        if self._bucket_ready:
            return
        if not self.client.bucket_exists(self.bucket):
            try:
                self.client.make_bucket(self.bucket)
            except S3Error as exc:
                if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise
        self._bucket_ready = True

    def _stored_sha256(self, key: str) -> str | None:
        """The SHA-256 recorded on an existing object ('' if it has none), or None when absent."""
        try:
            stat = self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in ABSENT:
                return None
            raise
        for name, value in (stat.metadata or {}).items():
            if name.lower() in {f"x-amz-meta-{SHA256_META}", SHA256_META}:
                return str(value)
        return ""

    def put(self, key: str, data: bytes, *, media_type: str, immutable: bool = True) -> StoredObject:
        """Store bytes under key and return their size and SHA-256."""
        _checked(key)
        stored = StoredObject(key=key, size=len(data), sha256=sha256_hex(data), media_type=media_type)
        with reachable(self.endpoint):
            self._ensure_bucket()
            if immutable:
                existing = self._stored_sha256(key)
                if existing == "":  # written by someone else without our metadata: compare bytes
                    existing = sha256_hex(self.get(key))
                if existing is not None:
                    if existing != stored.sha256:
                        raise ObjectExists(f"object {key!r} already exists with different content")
                    return stored
            self.client.put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=media_type,
                metadata={SHA256_META: stored.sha256},
            )
        return stored

    def get(self, key: str) -> bytes:
        """The bytes under key; KeyError when absent."""
        with self.open(key) as stream:
            return stream.read()

    def open(self, key: str) -> BinaryIO:
        """A stream of the object's bytes as they arrive (not seekable); KeyError when absent."""
        _checked(key)
        with reachable(self.endpoint):
            try:
                response = self.client.get_object(self.bucket, key)
            except S3Error as exc:
                if exc.code in ABSENT:
                    raise KeyError(key) from None
                raise
        return io.BufferedReader(ObjectStream(response, self.endpoint), buffer_size=256 * 1024)

    def exists(self, key: str) -> bool:
        """Whether key holds an object."""
        _checked(key)
        with reachable(self.endpoint):
            return self._stored_sha256(key) is not None

    def list(self, prefix: str = "") -> list[str]:
        """All keys under prefix, sorted."""
        with reachable(self.endpoint):
            try:
                objects = self.client.list_objects(self.bucket, prefix=prefix or None, recursive=True)
                keys = [obj.object_name for obj in objects if obj.object_name and not obj.is_dir]
            except S3Error as exc:
                if exc.code in ABSENT:
                    return []
                raise
        return sorted(keys)

    def list_info(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under prefix with its size and Last-Modified time, page by page as the listing arrives."""
        with reachable(self.endpoint):
            try:
                for obj in self.client.list_objects(self.bucket, prefix=prefix or None, recursive=True):
                    if obj.object_name and not obj.is_dir:
                        yield ObjectInfo(obj.object_name, obj.size or 0, aware(obj.last_modified))
            except S3Error as exc:
                if exc.code not in ABSENT:
                    raise

    def info(self, key: str) -> ObjectInfo | None:
        """The object's size and Last-Modified time, or None when absent."""
        _checked(key)
        with reachable(self.endpoint):
            try:
                stat = self.client.stat_object(self.bucket, key)
            except S3Error as exc:
                if exc.code in ABSENT:
                    return None
                raise
        return ObjectInfo(key, stat.size or 0, aware(stat.last_modified))

    def touch(self, key: str) -> bool:
        """Copy the object onto itself (same bytes, media type and metadata) so its Last-Modified is now."""
        _checked(key)
        with reachable(self.endpoint):
            try:
                stat = self.client.stat_object(self.bucket, key)
                metadata: dict[str, str | list[str] | tuple[str]] = {
                    name.lower().removeprefix("x-amz-meta-"): str(value)
                    for name, value in (stat.metadata or {}).items()
                    if name.lower().startswith("x-amz-meta-")
                }
                if stat.content_type:
                    metadata["Content-Type"] = stat.content_type
                self.client.copy_object(
                    self.bucket, key, CopySource(self.bucket, key), metadata=metadata, metadata_directive=REPLACE
                )
            except S3Error as exc:
                if exc.code in ABSENT:
                    return False
                raise
        return True

    def delete(self, key: str) -> None:
        """Remove key; nothing happens when it is absent."""
        _checked(key)
        with reachable(self.endpoint):
            try:
                self.client.remove_object(self.bucket, key)
            except S3Error as exc:
                if exc.code not in ABSENT:
                    raise

    def url(self, key: str, *, expires: timedelta | None = None) -> str:
        """A presigned GET URL, valid for `expires` (the configured minutes by default)."""
        _checked(key)
        with reachable(self.endpoint):
            return self.client.presigned_get_object(self.bucket, key, expires=expires or self.url_expires)
