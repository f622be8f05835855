"""Publishing: a set of files stored immutably with a SHA-256 manifest; a correction is a new version."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.storage.base import ObjectStore, StoredObject, sha256_hex
from models.base import utcnow
from models.programmes import PolicyYear
from models.publications import Publication, PublicationKind, PublishedFile
from models.states import Actor, record

MANIFEST = "manifest.json"


def latest(*, session: Session, kind: PublicationKind, policy_year_id: int, period: str) -> Publication | None:
    """The newest version published for kind, year and period."""
    return session.exec(
        select(Publication)
        .where(Publication.kind == kind, Publication.policy_year_id == policy_year_id, Publication.period == period)
        .order_by(col(Publication.version).desc())
    ).first()


def publish(
    *,
    session: Session,
    store: ObjectStore,
    kind: PublicationKind,
    policy_year: PolicyYear,
    period: str,
    title: str,
    files: Mapping[str, tuple[bytes, str]],
    actor: Actor,
    language: str = "zh-CN",
    is_public: bool = True,
) -> Publication:
    """Store files (name → (bytes, media type)) and their manifest under a new version; record it."""
    assert policy_year.id is not None
    previous = latest(session=session, kind=kind, policy_year_id=policy_year.id, period=period)
    version = (previous.version + 1) if previous else 1
    prefix = f"publications/{kind}/{policy_year.year}/{period}/v{version}"
    stored = {
        name: store.put(f"{prefix}/{name}", data, media_type=media_type) for name, (data, media_type) in files.items()
    }
    manifest = _manifest(kind, policy_year, period, version, previous, files, stored)
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    stored[MANIFEST] = store.put(f"{prefix}/{MANIFEST}", manifest_bytes, media_type="application/json")
    publication = Publication(
        kind=kind, policy_year_id=policy_year.id, period=period, version=version,
        replaces_id=previous.id if previous else None, title=title, language=language,
        manifest_key=stored[MANIFEST].key, manifest_sha256=stored[MANIFEST].sha256, is_public=is_public,
    )  # fmt: skip
    session.add(publication)
    session.flush()
    _record_files(session, publication, stored)
    record(
        session, "publication", publication.id or 0, f"{kind}.published", actor=actor,
        data={"period": period, "version": version, "manifest_sha256": publication.manifest_sha256},
    )  # fmt: skip
    return publication


def _manifest(
    kind: PublicationKind,
    policy_year: PolicyYear,
    period: str,
    version: int,
    previous: Publication | None,
    files: Mapping[str, tuple[bytes, str]],
    stored: Mapping[str, StoredObject],
) -> dict[str, object]:
    """The manifest of a version: what it is, which version it replaces, and each file's hash and size."""
    return {
        "kind": str(kind),
        "programme_year": policy_year.year,
        "period": period,
        "version": version,
        "replaces_version": previous.version if previous else None,
        "published_at": utcnow().isoformat(),
        "files": [
            {"name": name, "sha256": s.sha256, "size": s.size, "media_type": files[name][1]}
            for name, s in stored.items()
        ],
    }


def _record_files(session: Session, publication: Publication, stored: Mapping[str, StoredObject]) -> None:
    """One row per stored file of a publication, its manifest last."""
    for name, obj in stored.items():
        session.add(
            PublishedFile(
                publication_id=publication.id or 0, name=name, object_key=obj.key, media_type=obj.media_type,
                size=obj.size, sha256=obj.sha256,
            )
        )  # fmt: skip
    session.flush()


def verify(*, session: Session, store: ObjectStore, publication: Publication) -> list[str]:
    """Problems found re-hashing a publication's files against its manifest (empty when intact)."""
    problems = []
    manifest_bytes = store.get(publication.manifest_key)
    if sha256_hex(manifest_bytes) != publication.manifest_sha256:
        problems.append(f"{MANIFEST}: hash differs from the recorded one")
    for entry in json.loads(manifest_bytes)["files"]:
        found = session.exec(
            select(PublishedFile).where(
                PublishedFile.publication_id == publication.id, PublishedFile.name == entry["name"]
            )
        ).first()
        if found is None or sha256_hex(store.get(found.object_key)) != entry["sha256"]:
            problems.append(f"{entry['name']}: missing or altered")
    return problems


def count_versions(*, session: Session, kind: PublicationKind, policy_year_id: int) -> int:
    """How many publications of a kind a year has."""
    return int(
        session.exec(
            select(func.count()).where(Publication.kind == kind, Publication.policy_year_id == policy_year_id)
        ).one()
    )
