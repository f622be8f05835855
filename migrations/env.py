"""Alembic environment: the schema is SQLModel.metadata; the URL comes from core.settings.

A caller may hand over an open connection in ``config.attributes["connection"]`` (tests, or a program
that migrates inside its own transaction); otherwise an engine is made with core.db.make_engine
from ``sqlalchemy.url`` when mutualaid.migrate.upgrade_database set one, else from the settings'
database URL (MUTUALAID_DATABASE_URL).
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import models  # noqa: F401 - registers every table on SQLModel.metadata
from core.db import make_engine
from core.settings import get_settings

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def _configure(dialect_name: str, **kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode copies the table into a new one instead.
        render_as_batch=dialect_name == "sqlite",
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Write the SQL to stdout (``alembic upgrade head --sql``) without touching a database."""
    url = _database_url()
    _configure(make_url(url).get_backend_name(), url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    _configure(connection.dialect.name, connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def _run_on_sqlite(connection: Connection) -> None:
    """Migrate with foreign keys off, as batch table copies need, and check them before turning them on.

    The PRAGMA is sent on the driver connection, outside any transaction (inside one SQLite ignores it).
    """
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        _run_on(connection)
        problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.rollback()
        if problems:
            raise RuntimeError(f"migration left rows with broken foreign keys: {problems[:10]}")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def run_migrations_online() -> None:
    """Migrate a live database: the caller's connection if given, else one from the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = make_engine(_database_url())
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                _run_on_sqlite(conn)
            else:
                _run_on(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
