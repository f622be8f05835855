"""The S3 store's line to its server: an HTTP pool that gives up quickly, a GET body streamed as it arrives,
and every failure to reach the server (down, 5xx, not an S3 server at all) as ObjectStoreUnavailable.

With a short timeout and a single retry, a store that is down surfaces within seconds rather than after
minutes of retries. Closing a streamed body hands its connection back to the pool.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from xml.etree.ElementTree import ParseError

import certifi
import urllib3
from minio.error import InvalidResponseError, S3Error, ServerError

from core.storage.base import ObjectStoreUnavailable

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

ABSENT = frozenset({"NoSuchKey", "NoSuchBucket", "NoSuchObject", "ResourceNotFound"})  # S3 codes for "not there"


def http_client(secure: bool, connect_timeout: float, read_timeout: float) -> urllib3.PoolManager:
    """A pool that gives up quickly: short timeouts, one retry, TLS verified when secure."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        retries=urllib3.Retry(total=1, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
        maxsize=10,
        cert_reqs="CERT_REQUIRED" if secure else "CERT_NONE",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
    )


def unavailable(endpoint: str, reason: str) -> ObjectStoreUnavailable:
    """The error for a store that cannot be reached, with why."""
    return ObjectStoreUnavailable(f"object store at {endpoint} is unavailable ({reason})")


@contextmanager
def reachable(endpoint: str) -> Iterator[None]:
    """Turn any failure to talk to the endpoint into ObjectStoreUnavailable."""
    try:
        yield
    except S3Error as exc:
        if exc.response is not None and exc.response.status >= 500:
            raise unavailable(endpoint, f"server error {exc.code}") from exc
        raise
    except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
        raise unavailable(endpoint, type(exc).__name__) from exc
    except ServerError as exc:
        raise unavailable(endpoint, f"HTTP status {exc.status_code}") from exc
    except (InvalidResponseError, ParseError) as exc:
        raise unavailable(endpoint, "response is not from an S3 server") from exc


class ObjectStream(io.RawIOBase):
    """The body of a GET, read as it arrives; closing it closes the response and returns its connection."""

    def __init__(self, response: urllib3.BaseHTTPResponse, endpoint: str) -> None:
        self._response = response
        self._endpoint = endpoint

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        out = memoryview(buffer).cast("B")
        try:
            data = self._response.read(len(out))
        except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
            raise unavailable(self._endpoint, f"{type(exc).__name__} while reading") from exc
        out[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


def aware(moment: datetime | None) -> datetime:
    """A listing's time as aware UTC (the epoch when the server sent none, so it counts as old)."""
    if moment is None:
        return datetime.fromtimestamp(0, UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
