"""Behaviour of both object stores, the local folder and S3, against the same expectations."""

from __future__ import annotations

import hashlib
import io
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx
import pytest

from core.settings import Settings
from core.storage import get_store
from core.storage.base import ObjectExists, ObjectStore, ObjectStoreUnavailable
from core.storage.local import LocalObjectStore
from core.storage.s3 import S3ObjectStore

PDF = "application/pdf"
BINARY = bytes(range(256)) * 4 + b"\x00\xff\x00"
S3_CREDENTIAL = "testing"
CHINESE = "工会职工医疗互助保障：住院津贴申请表\n".encode()


def test_put_returns_size_and_sha256(store: ObjectStore) -> None:
    stored = store.put("claims/ab/abc.pdf", BINARY, media_type=PDF)
    assert stored.key == "claims/ab/abc.pdf"
    assert stored.size == len(BINARY)
    assert stored.sha256 == hashlib.sha256(BINARY).hexdigest()
    assert stored.media_type == PDF


@pytest.mark.parametrize("data", [BINARY, CHINESE, b""], ids=["binary", "chinese", "empty"])
def test_get_roundtrip(store: ObjectStore, data: bytes) -> None:
    store.put("docs/file.bin", data, media_type="application/octet-stream")
    assert store.get("docs/file.bin") == data


@pytest.mark.parametrize("data", [BINARY, CHINESE, b""], ids=["binary", "chinese", "empty"])
def test_open_streams_the_bytes(store: ObjectStore, data: bytes) -> None:
    store.put("docs/file.bin", data, media_type="application/octet-stream")
    with store.open("docs/file.bin") as stream:
        assert stream.readable()
        assert stream.read() == data
        assert stream.read() == b""
    assert stream.closed


def test_open_reads_a_large_object_piece_by_piece(store: ObjectStore) -> None:
    data = hashlib.sha256(b"seed").digest() * (3 * 2**20 // 32) + b"tail"  # ~3 MiB
    store.put("rosters/big.csv", data, media_type="text/csv")
    digest = hashlib.sha256()
    pieces = 0
    with store.open("rosters/big.csv") as stream:
        while piece := stream.read(64 * 1024):
            digest.update(piece)
            pieces += 1
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert pieces == -(-len(data) // (64 * 1024))
    with store.open("rosters/big.csv") as stream:  # line by line, as a CSV reader takes it
        assert sum(len(line) for line in io.TextIOWrapper(stream, encoding="latin-1", newline="")) == len(data)


def test_open_missing_or_unsafe_key(store: ObjectStore) -> None:
    with pytest.raises(KeyError):
        store.open("missing/key.csv")
    with pytest.raises(ValueError):
        store.open("../etc/passwd")


def test_open_many_times_releases_each_stream(store: ObjectStore) -> None:
    store.put("a.csv", CHINESE, media_type="text/csv")
    for _ in range(25):  # more than the S3 client's pool of 10 connections
        with store.open("a.csv") as stream:
            assert stream.read(3) == CHINESE[:3]  # closed with the body half read
    with store.open("a.csv") as stream:
        assert stream.read() == CHINESE


def test_exists(store: ObjectStore) -> None:
    assert not store.exists("a/b.txt")
    store.put("a/b.txt", b"x", media_type="text/plain")
    assert store.exists("a/b.txt")
    assert not store.exists("a")  # a folder is not an object


def test_list_with_prefix_sorted(store: ObjectStore) -> None:
    for key in ["claims/b/2.pdf", "claims/a/1.pdf", "receipts/9.pdf", "claims/a/0.pdf", "claimsx.pdf"]:
        store.put(key, key.encode(), media_type=PDF)
    assert store.list() == [
        "claims/a/0.pdf",
        "claims/a/1.pdf",
        "claims/b/2.pdf",
        "claimsx.pdf",
        "receipts/9.pdf",
    ]
    assert store.list("claims/") == ["claims/a/0.pdf", "claims/a/1.pdf", "claims/b/2.pdf"]
    assert store.list("claims/a") == ["claims/a/0.pdf", "claims/a/1.pdf"]
    assert store.list("claims") == ["claims/a/0.pdf", "claims/a/1.pdf", "claims/b/2.pdf", "claimsx.pdf"]
    assert store.list("nothing/") == []


def test_list_on_empty_store(store: ObjectStore) -> None:
    assert store.list() == []


def test_immutable_same_bytes_is_noop(store: ObjectStore) -> None:
    first = store.put("k/doc.pdf", CHINESE, media_type=PDF)
    again = store.put("k/doc.pdf", CHINESE, media_type=PDF)
    assert again == first
    assert store.get("k/doc.pdf") == CHINESE
    assert store.list() == ["k/doc.pdf"]


def test_immutable_different_bytes_raises(store: ObjectStore) -> None:
    store.put("k/doc.pdf", b"original", media_type=PDF)
    with pytest.raises(ObjectExists):
        store.put("k/doc.pdf", b"tampered", media_type=PDF)
    assert store.get("k/doc.pdf") == b"original"


def test_mutable_put_overwrites(store: ObjectStore) -> None:
    store.put("reports/latest.csv", b"v1", media_type="text/csv", immutable=False)
    stored = store.put("reports/latest.csv", b"version 2", media_type="text/csv", immutable=False)
    assert stored.size == len(b"version 2")
    assert store.get("reports/latest.csv") == b"version 2"


@pytest.mark.parametrize("key", ["../x", "/abs", "a/../b", "", "a//b", "a/./b", "a/", ".hidden"])
def test_unsafe_keys_rejected(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.put(key, b"x", media_type="text/plain")
    with pytest.raises(ValueError):
        store.get(key)


def test_get_missing_raises_keyerror(store: ObjectStore) -> None:
    with pytest.raises(KeyError):
        store.get("missing/key.pdf")
    store.put("present.pdf", b"x", media_type=PDF)
    with pytest.raises(KeyError):
        store.get("missing/key.pdf")


def test_delete(store: ObjectStore) -> None:
    store.put("tmp/a.pdf", b"a", media_type=PDF)
    store.put("tmp/b.pdf", b"b", media_type=PDF)
    store.delete("tmp/a.pdf")
    assert not store.exists("tmp/a.pdf")
    assert store.list() == ["tmp/b.pdf"]
    store.delete("tmp/a.pdf")  # absent: no error
    store.delete("never/was.pdf")
    store.put("tmp/a.pdf", b"different now", media_type=PDF)  # the key is free again
    assert store.get("tmp/a.pdf") == b"different now"


def test_local_url_is_file_uri(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    store.put("claims/doc.pdf", CHINESE, media_type=PDF)
    url = store.url("claims/doc.pdf", expires=timedelta(minutes=1))
    parsed = urlparse(url)
    assert parsed.scheme == "file"
    path = Path(unquote(parsed.path))
    assert path.is_absolute()
    assert path.read_bytes() == CHINESE
    with pytest.raises(KeyError):
        store.url("claims/missing.pdf")


def test_local_writes_leave_no_temp_files(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    store.put("a/b.pdf", b"one", media_type=PDF)
    store.put("a/b.pdf", b"one", media_type=PDF)
    store.put("a/c.pdf", b"1", media_type=PDF, immutable=False)
    store.put("a/c.pdf", b"2", media_type=PDF, immutable=False)
    with pytest.raises(ObjectExists):
        store.put("a/b.pdf", b"two", media_type=PDF)
    assert sorted(p.name for p in (tmp_path / "objects" / "a").iterdir()) == ["b.pdf", "c.pdf"]


def test_s3_presigned_url_returns_bytes(s3_endpoint: str, s3_store_factory: Callable[..., S3ObjectStore]) -> None:
    store = s3_store_factory()
    store.put("claims/ab/doc.pdf", BINARY, media_type=PDF)
    url = store.url("claims/ab/doc.pdf", expires=timedelta(minutes=5))
    assert url.startswith(f"http://{s3_endpoint}/")
    assert "X-Amz-Signature=" in url
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == BINARY
    assert response.headers["content-type"] == PDF


def test_s3_open_streams_without_seeking(s3_store_factory: Callable[..., S3ObjectStore]) -> None:
    store = s3_store_factory()
    store.put("rosters/r.csv", BINARY, media_type="text/csv")
    with store.open("rosters/r.csv") as stream:
        assert not stream.seekable()  # the body as it arrives, not a downloaded copy
        assert stream.read(10) + stream.read() == BINARY


def test_s3_records_sha256_metadata(s3_store_factory: Callable[..., S3ObjectStore]) -> None:
    store = s3_store_factory()
    stored = store.put("k.txt", CHINESE, media_type="text/plain; charset=utf-8")
    stat = store.client.stat_object(store.bucket, "k.txt")
    meta = {name.lower(): value for name, value in (stat.metadata or {}).items()}
    assert meta["x-amz-meta-sha256"] == stored.sha256


def test_s3_compares_bytes_of_objects_without_metadata(
    s3_store_factory: Callable[..., S3ObjectStore],
) -> None:
    store = s3_store_factory()
    store.put("seed.txt", b"seed", media_type="text/plain")  # creates the bucket
    store.client.put_object(store.bucket, "foreign.txt", io.BytesIO(b"abc"), 3)
    assert store.put("foreign.txt", b"abc", media_type="text/plain").size == 3
    with pytest.raises(ObjectExists):
        store.put("foreign.txt", b"xyz", media_type="text/plain")


def test_s3_reads_before_bucket_exists(s3_store_factory: Callable[..., S3ObjectStore]) -> None:
    store = s3_store_factory()
    assert store.list() == []
    assert not store.exists("a.pdf")
    with pytest.raises(KeyError):
        store.get("a.pdf")
    store.delete("a.pdf")


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("operation", ["put", "get", "open", "exists", "list", "delete"])
def test_s3_down_raises_unavailable_quickly(operation: str) -> None:
    store = S3ObjectStore(f"127.0.0.1:{_closed_port()}", S3_CREDENTIAL, S3_CREDENTIAL, "mutualaid")
    calls = {
        "put": lambda: store.put("a.pdf", b"x", media_type=PDF),
        "get": lambda: store.get("a.pdf"),
        "open": lambda: store.open("a.pdf"),
        "exists": lambda: store.exists("a.pdf"),
        "list": lambda: store.list(),
        "delete": lambda: store.delete("a.pdf"),
    }
    started = time.monotonic()
    with pytest.raises(ObjectStoreUnavailable, match=r"127\.0\.0\.1"):
        calls[operation]()
    assert time.monotonic() - started < 10


def test_get_store_s3(s3_endpoint: str, tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        storage_backend="s3",
        s3_endpoint=s3_endpoint,
        s3_access_key=S3_CREDENTIAL,
        s3_secret_key=S3_CREDENTIAL,
        s3_bucket="settings-bucket",
        s3_region="us-east-1",
        presigned_url_minutes=7,
    )
    store = get_store(settings)
    assert isinstance(store, S3ObjectStore)
    assert isinstance(store, ObjectStore)
    assert store.bucket == "settings-bucket"
    assert store.url_expires == timedelta(minutes=7)
    store.put("hello.txt", CHINESE, media_type="text/plain")
    assert store.get("hello.txt") == CHINESE
    assert "X-Amz-Expires=420" in store.url("hello.txt")


def test_get_store_local_by_default(tmp_path: Path) -> None:
    store = get_store(Settings(data_dir=tmp_path))
    assert isinstance(store, LocalObjectStore)
    assert isinstance(store, ObjectStore)
    assert store.root == tmp_path / "objects"
    store.put("x/y.txt", b"y", media_type="text/plain")
    assert (tmp_path / "objects" / "x" / "y.txt").read_bytes() == b"y"
