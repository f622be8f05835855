"""Published documents: announcements, checklists, reminders and disclosures, immutable and versioned."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import enum_field, timestamp_field


class PublicationKind(StrEnum):
    """What was published."""

    PUBLICITY = "publicity"  # announcement, materials checklist, warm reminder (DOMAIN 2.1)
    RENEWAL_REMINDER = "renewal_reminder"
    DISCLOSURE = "disclosure"  # periodic public disclosure (DOMAIN 2.9)


class Publication(SQLModel, table=True):
    """A set of files published together; a correction is a new version that points to the one it replaces."""

    __tablename__ = "publication"
    __table_args__ = (UniqueConstraint("kind", "policy_year_id", "period", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: PublicationKind = enum_field(length=24)
    policy_year_id: int = Field(foreign_key="policy_year.id", index=True)
    period: str = Field(max_length=16)  # "2026", "2026-11"
    version: int = 1
    replaces_id: int | None = Field(default=None, foreign_key="publication.id")
    title: str = Field(max_length=200)
    language: str = Field(default="zh-CN", max_length=8)
    manifest_key: str = Field(max_length=255)
    manifest_sha256: str = Field(max_length=64)
    is_public: bool = True
    published_at: datetime = timestamp_field()


class PublishedFile(SQLModel, table=True):
    """One file of a publication, with the hash that the manifest lists."""

    __tablename__ = "published_file"
    __table_args__ = (UniqueConstraint("publication_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    publication_id: int = Field(foreign_key="publication.id", index=True)
    name: str = Field(max_length=120)
    object_key: str = Field(max_length=255)
    media_type: str = Field(max_length=64)
    size: int
    sha256: str = Field(max_length=64)


class PublishedFilePublic(BaseModel):
    """A published file as the public sees it."""

    name: str
    media_type: str
    size: int
    sha256: str
    url: str


class PublicationPublic(BaseModel):
    """A publication as the public sees it."""

    id: int
    kind: PublicationKind
    period: str
    version: int
    replaces_id: int | None
    title: str
    language: str
    manifest_sha256: str
    published_at: datetime
    files: list[PublishedFilePublic]
