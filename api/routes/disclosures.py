"""Public disclosures (信息公开): the published announcements and reports, and their files. No sign-in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response
from fastapi import Path as PathParam
from sqlmodel import Session, col, select

from api.deps import EntityId, SessionDep, StoreDep
from api.presenters.publications import publication_public
from models.errors import NotFound
from models.publications import Publication, PublicationKind, PublicationPublic, PublishedFile

router = APIRouter(prefix="/api/public/publications", tags=["public"])


def _files_of(session: Session, ids: list[int]) -> dict[int, list[PublishedFile]]:
    files: dict[int, list[PublishedFile]] = {i: [] for i in ids}
    if ids:
        for f in session.exec(select(PublishedFile).where(col(PublishedFile.publication_id).in_(ids))).all():
            files[f.publication_id].append(f)
    return files


def _public(session: Session, publication_id: int) -> Publication:
    publication = session.get(Publication, publication_id)
    if publication is None or not publication.is_public:
        raise NotFound(f"未找到公开信息 {publication_id}")
    return publication


@router.get("", response_model=list[PublicationPublic])
def list_publications(session: SessionDep, kind: PublicationKind | None = None) -> list[PublicationPublic]:
    """Everything published to the public, newest first."""
    stmt = select(Publication).where(col(Publication.is_public).is_(True))
    if kind is not None:
        stmt = stmt.where(Publication.kind == kind)
    stmt = stmt.order_by(col(Publication.published_at).desc(), col(Publication.id).desc())
    publications = session.exec(stmt).all()
    files = _files_of(session, [p.id for p in publications if p.id is not None])
    return [publication_public(p, files[p.id or 0]) for p in publications]


@router.get("/{publication_id}", response_model=PublicationPublic)
def get_publication(session: SessionDep, publication_id: EntityId) -> PublicationPublic:
    """One publication with its files."""
    publication = _public(session, publication_id)
    return publication_public(publication, _files_of(session, [publication_id])[publication_id])


@router.get("/{publication_id}/files/{name}", response_class=Response)
def get_file(
    session: SessionDep,
    store: StoreDep,
    publication_id: EntityId,
    name: Annotated[str, PathParam(min_length=1, max_length=120)],
) -> Response:
    """The bytes of one published file, with its media type."""
    _public(session, publication_id)
    found = session.exec(
        select(PublishedFile).where(PublishedFile.publication_id == publication_id, PublishedFile.name == name)
    ).first()
    if found is None:
        raise NotFound(f"未找到文件 {name}")
    try:
        data = store.get(found.object_key)
    except KeyError:
        raise NotFound(f"文件 {name} 已不在存储中") from None
    headers = {"ETag": f'"{found.sha256}"', "Cache-Control": "public, max-age=3600"}
    return Response(content=data, media_type=found.media_type, headers=headers)
