"""Schema migrations, run programmatically: `alembic upgrade head` for the CLI, the demo and deployments.

The Alembic configuration is the project's alembic.ini, found by absolute path from PROJECT_ROOT, so
this works from any working directory. Outside tests the schema comes from here, never from create_all.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from core.settings import PROJECT_ROOT, get_settings

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(url: str | None = None) -> Config:
    """The project's Alembic configuration, aimed at url (default: the configured database URL)."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    # ConfigParser treats % as interpolation; a password may contain one.
    config.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    # The calling program owns logging; env.py leaves it alone.
    config.attributes["configure_logger"] = False
    return config


def upgrade_database(url: str | None = None) -> None:
    """Bring the database at url (default: the configured one) up to the newest schema revision."""
    command.upgrade(alembic_config(url), "head")


def current_revision(url: str | None = None) -> str | None:
    """The revision the database at url is at, or None for a database Alembic has never touched."""
    from alembic.runtime.migration import MigrationContext

    from core.db import make_engine

    engine = make_engine(url or get_settings().database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
