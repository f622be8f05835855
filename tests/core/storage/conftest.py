"""Fixtures for the object-store tests: a local folder, and a real S3-speaking server on loopback."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from core.storage.base import ObjectStore
from core.storage.local import LocalObjectStore
from core.storage.s3 import S3ObjectStore

S3_REGION = "us-east-1"
S3_CREDENTIAL = "testing"


def make_s3_store(endpoint: str, bucket: str | None = None) -> S3ObjectStore:
    """An S3 store on endpoint with fake credentials and, by default, a bucket no other test uses."""
    return S3ObjectStore(
        endpoint,
        S3_CREDENTIAL,
        S3_CREDENTIAL,
        bucket or f"test-{uuid.uuid4().hex[:20]}",
        secure=False,
        region=S3_REGION,
    )


@pytest.fixture
def s3_store_factory(s3_endpoint: str) -> Callable[..., S3ObjectStore]:
    """Makes S3 stores on the session's server, each on a fresh bucket unless one is named."""

    def factory(bucket: str | None = None) -> S3ObjectStore:
        return make_s3_store(s3_endpoint, bucket)

    return factory


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    """Each behavioural test runs once per implementation."""
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    endpoint = request.getfixturevalue("s3_endpoint")
    return make_s3_store(endpoint)
