"""Publishing: a set of files stored immutably with a SHA-256 manifest; a correction is a new version."""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.storage.base import ObjectStore, sha256_hex
from models.audit import AuditEvent
from models.base import utcnow
from models.programmes import PolicyYear
from models.publications import Publication, PublicationKind, PublishedFile
from models.states import Actor

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
    entries = []
    stored_files = []
    for name, (data, media_type) in files.items():
        stored = store.put(f"{prefix}/{name}", data, media_type=media_type)
        stored_files.append((name, stored))
        entries.append({"name": name, "sha256": stored.sha256, "size": stored.size, "media_type": media_type})
    manifest = {
        "kind": str(kind),
        "programme_year": policy_year.year,
        "period": period,
        "version": version,
        "replaces_version": previous.version if previous else None,
        "published_at": utcnow().isoformat(),
        "files": entries,
    }
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    manifest_obj = store.put(f"{prefix}/{MANIFEST}", manifest_bytes, media_type="application/json")
    publication = Publication(
        kind=kind,
        policy_year_id=policy_year.id,
        period=period,
        version=version,
        replaces_id=previous.id if previous else None,
        title=title,
        language=language,
        manifest_key=manifest_obj.key,
        manifest_sha256=manifest_obj.sha256,
        is_public=is_public,
    )
    session.add(publication)
    session.flush()
    for name, stored in [*stored_files, (MANIFEST, manifest_obj)]:
        session.add(
            PublishedFile(
                publication_id=publication.id or 0,
                name=name,
                object_key=stored.key,
                media_type=stored.media_type,
                size=stored.size,
                sha256=stored.sha256,
            )
        )
    session.add(
        AuditEvent(
            actor_id=actor.user_id,
            actor_label=actor.label,
            entity_type="publication",
            entity_id=publication.id or 0,
            action=f"{kind}.published",
            data={"period": period, "version": version, "manifest_sha256": manifest_obj.sha256},
        )
    )
    session.flush()
    return publication


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
