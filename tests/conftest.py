"""Fixtures shared by every test: a fresh real database per test (SQLite, or PostgreSQL when asked).

Set MUTUALAID_TEST_DB=postgresql to run against the PostgreSQL at MUTUALAID_TEST_PG_URL
(default postgresql+psycopg://postgres@127.0.0.1:5432/postgres); a scratch database is created for
the session and emptied between tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

import models  # noqa: F401 - registers every table
import tasks.common.users
from core import settings as settings_module
from core.db import get_engine, make_engine
from core.storage.local import LocalObjectStore
from tests.factories import hash_once

TEST_DB = os.environ.get("MUTUALAID_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("MUTUALAID_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pytest_report_header(config: pytest.Config) -> str:
    return f"mutualaid test database: {TEST_DB}"


@pytest.fixture(autouse=True)
def one_hash_per_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """Users are created with a real Argon2 hash, computed once per distinct password for the whole run."""
    monkeypatch.setattr(tasks.common.users, "hash_password", hash_once)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A scratch PostgreSQL database with the schema, for this test session."""
    name = f"mutualaid_test_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database with the schema, just for this test."""
    if TEST_DB == "postgresql":
        url: str = request.getfixturevalue("pg_url")
        engine = make_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return url
    url = f"sqlite:///{tmp_path / 'test.db'}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def app_settings(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[settings_module.Settings]:
    """Settings pointing at this test's database and a local object store in tmp_path."""
    monkeypatch.setenv("MUTUALAID_ENVIRONMENT", "test")
    monkeypatch.setenv("MUTUALAID_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MUTUALAID_DATABASE_URL", database_url)
    monkeypatch.setenv("MUTUALAID_STORAGE_ROOT", str(tmp_path / "objects"))
    settings_module.get_settings.cache_clear()
    get_engine.cache_clear()
    yield settings_module.get_settings()
    get_engine().dispose()
    get_engine.cache_clear()
    settings_module.get_settings.cache_clear()


@pytest.fixture
def engine(app_settings: settings_module.Settings) -> Engine:
    """The engine of this test's database (the same one the code under test uses)."""
    return get_engine()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on this test's database; tests commit what they want others to see."""
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def store(app_settings: settings_module.Settings) -> LocalObjectStore:
    """The local object store this test's code writes to."""
    assert app_settings.storage_root is not None
    return LocalObjectStore(app_settings.storage_root)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """host:port of a real S3-speaking server (moto) on 127.0.0.1, started once for the session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"{host}:{port}"
    finally:
        server.stop()
