"""Presenters of public disclosures: a publication with its files, and the path that serves each file."""

from __future__ import annotations

from urllib.parse import quote

from models.base import as_utc
from models.publications import Publication, PublicationPublic, PublishedFile, PublishedFilePublic


def file_url(publication_id: int, name: str) -> str:
    """The API path that serves one published file."""
    return f"/api/public/publications/{publication_id}/files/{quote(name, safe='')}"


def publication_public(publication: Publication, files: list[PublishedFile]) -> PublicationPublic:
    """A publication with its files, as the public sees it."""
    assert publication.id is not None
    pid = publication.id
    return PublicationPublic(
        id=pid,
        kind=publication.kind,
        period=publication.period,
        version=publication.version,
        replaces_id=publication.replaces_id,
        title=publication.title,
        language=publication.language,
        manifest_sha256=publication.manifest_sha256,
        published_at=as_utc(publication.published_at),
        files=[
            PublishedFilePublic(
                name=f.name, media_type=f.media_type, size=f.size, sha256=f.sha256, url=file_url(pid, f.name)
            )
            for f in sorted(files, key=lambda f: f.name)
        ],
    )
