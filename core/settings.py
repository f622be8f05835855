"""One settings class for the whole product, read from the environment with the prefix MUTUALAID_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEVELOPMENT_SECRET = "development-only-secret-change-me"  # noqa: S105 - refused outside development


class Settings(BaseSettings):
    """Everything that differs between a laptop demo and a production installation."""

    model_config = SettingsConfigDict(env_prefix="MUTUALAID_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = PROJECT_ROOT / "data"

    # Database: a SQLite file in the data folder by default; PostgreSQL by URL,
    # e.g. postgresql+psycopg://user@127.0.0.1:5432/mutualaid
    database_url: str = ""

    # Object store: a local folder by default; MinIO or any S3 endpoint when configured.
    storage_backend: Literal["local", "s3"] = "local"
    storage_root: Path | None = None
    s3_endpoint: str = "127.0.0.1:9000"
    s3_access_key: str = "minioadmin"
    s3_secret_key: str = "minioadmin"  # noqa: S105 - the local MinIO default of docker-compose.yml
    s3_bucket: str = "mutualaid"
    s3_secure: bool = False
    s3_region: str = "us-east-1"
    presigned_url_minutes: int = 15
    max_document_bytes: int = 20 * 1024 * 1024  # per claim document (default 20 MB)

    # API security
    secret_key: str = DEVELOPMENT_SECRET
    token_minutes: int = 8 * 60

    # Presentation
    language: Literal["zh-CN", "en"] = "zh-CN"
    timezone: str = "Asia/Shanghai"
    templates_dir: Path = PROJECT_ROOT / "templates"

    # API: worker threads per process for the routes that block (database, object store). More threads than
    # the process can keep busy only make them queue for Python's global lock: with 20 reviewers deciding at
    # once on PostgreSQL, 4 threads decided 40 % more per second than FastAPI's default of 40
    # (benchmarks/bench_decisions.py). Scale with `mutualaid serve --workers` (about one per core) instead.
    api_threads: int = 4

    # Bulk work moves in chunks of this many rows per task run.
    chunk_size: int = 5000

    # Public notice: objections anyone may send, at most this many per sender address and hour.
    objection_limit_per_hour: int = 5

    # The outbox dispatcher's deployment ("flow/deployment"), started after a decision when a Prefect API is
    # configured (PREFECT_API_URL); its schedule picks up whatever a start missed.
    dispatch_deployment: str = "outbox-dispatch/outbox-dispatch"

    @model_validator(mode="after")
    def _defaults_and_secrets(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'mutualaid.db'}"
        if self.storage_root is None:
            self.storage_root = self.data_dir / "objects"
        if self.environment == "production" and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError("MUTUALAID_SECRET_KEY must be set to a real secret in production")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
