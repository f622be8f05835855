"""Object ages on both stores: list_info and info report size and last-written time, touch renews an object."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.storage.base import ObjectStore, ObjectStoreUnavailable
from core.storage.local import LocalObjectStore
from core.storage.s3 import S3ObjectStore
from tests.core.storage.test_object_stores import S3_CREDENTIAL, _closed_port

PDF = "application/pdf"


def test_list_info_reports_every_object_under_a_prefix(store: ObjectStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    store.put("claims/ab/one.pdf", b"%PDF-1", media_type=PDF)
    store.put("claims/cd/two.pdf", b"%PDF-22", media_type=PDF)
    store.put("reports/x.csv", b"a,b", media_type="text/csv")
    infos = sorted(store.list_info("claims/"), key=lambda i: i.key)
    assert [(i.key, i.size) for i in infos] == [("claims/ab/one.pdf", 6), ("claims/cd/two.pdf", 7)]
    for info in infos:
        assert info.modified_at.tzinfo is not None
        assert before <= info.modified_at <= datetime.now(UTC) + timedelta(seconds=2)
    assert {i.key for i in store.list_info()} == {"claims/ab/one.pdf", "claims/cd/two.pdf", "reports/x.csv"}
    assert list(store.list_info("nothing/")) == []


def test_info_of_a_missing_object_is_none(store: ObjectStore) -> None:
    store.put("claims/ab/one.pdf", b"%PDF-1", media_type=PDF)
    assert store.info("claims/ab/missing.pdf") is None
    found = store.info("claims/ab/one.pdf")
    assert found is not None and found.size == 6
    with pytest.raises(ValueError):
        store.info("../etc/passwd")


def test_touch_renews_an_object_and_keeps_its_bytes(store: ObjectStore) -> None:
    stored = store.put("claims/ab/one.pdf", b"%PDF-1", media_type=PDF)
    first = store.info("claims/ab/one.pdf")
    assert first is not None
    if isinstance(store, LocalObjectStore):
        old = time.time() - 3 * 3600
        os.utime(store.root / "claims/ab/one.pdf", (old, old))
        first = store.info("claims/ab/one.pdf")
        assert first is not None
    else:
        time.sleep(1.1)  # S3 keeps Last-Modified to the second
    assert store.touch("claims/ab/one.pdf") is True
    renewed = store.info("claims/ab/one.pdf")
    assert renewed is not None and renewed.modified_at > first.modified_at
    assert store.get("claims/ab/one.pdf") == b"%PDF-1"
    # still the same immutable object: the same bytes are a no-op, others are refused
    assert store.put("claims/ab/one.pdf", b"%PDF-1", media_type=PDF) == stored
    assert store.touch("claims/ab/missing.pdf") is False
    assert not store.exists("claims/ab/missing.pdf")


def test_s3_touch_keeps_media_type_and_checksum(s3_store_factory: Callable[..., S3ObjectStore]) -> None:
    store = s3_store_factory()
    stored = store.put("claims/ab/one.png", b"\x89PNG\r\n\x1a\nxx", media_type="image/png")
    assert store.touch("claims/ab/one.png")
    stat = store.client.stat_object(store.bucket, "claims/ab/one.png")
    meta = {name.lower(): value for name, value in (stat.metadata or {}).items()}
    assert stat.content_type == "image/png"
    assert meta["x-amz-meta-sha256"] == stored.sha256


def test_local_list_info_skips_temporary_files(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    store.put("claims/ab/one.pdf", b"%PDF-1", media_type=PDF)
    (tmp_path / "objects" / "claims" / "ab" / ".tmp-half-written").write_bytes(b"%PDF")
    assert [i.key for i in store.list_info("claims/")] == ["claims/ab/one.pdf"]


@pytest.mark.parametrize("operation", ["list_info", "info", "touch"])
def test_s3_down_is_unavailable(operation: str) -> None:
    store = S3ObjectStore(f"127.0.0.1:{_closed_port()}", S3_CREDENTIAL, S3_CREDENTIAL, "mutualaid")
    calls: dict[str, Callable[[], object]] = {
        "list_info": lambda: list(store.list_info("claims/")),
        "info": lambda: store.info("claims/a.pdf"),
        "touch": lambda: store.touch("claims/a.pdf"),
    }
    with pytest.raises(ObjectStoreUnavailable):
        calls[operation]()
