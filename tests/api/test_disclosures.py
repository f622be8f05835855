"""Public disclosures: list, one publication, and its files served from the object store. No sign-in."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from core import settings as settings_module
from core.storage.base import sha256_hex
from core.storage.local import LocalObjectStore
from models.publications import Publication, PublicationKind, PublishedFile
from tests.factories import World

HTML = "<h1>2026年11月 互助补偿公示</h1><p>张*三 住院 3,500.00</p>".encode()
NOTICE = "# 公告".encode()
CSV = "姓名,金额\n张*三,3500.00\n".encode()


def publish(
    session: Session,
    store: LocalObjectStore,
    world: World,
    *,
    kind: PublicationKind,
    period: str,
    published_at: datetime,
    files: dict[str, tuple[bytes, str]],
    is_public: bool = True,
) -> Publication:
    """A publication with its files' bytes in the store; committed."""
    assert world.policy_year.id is not None
    publication = Publication(
        kind=kind,
        policy_year_id=world.policy_year.id,
        period=period,
        title=f"{period} 信息公开",
        manifest_key=f"publications/{kind}/{period}/manifest.json",
        manifest_sha256="0" * 64,
        is_public=is_public,
        published_at=published_at,
    )
    session.add(publication)
    session.flush()
    assert publication.id is not None
    for name, (data, media_type) in files.items():
        key = f"publications/{kind}/{period}/{name}"
        stored = store.put(key, data, media_type=media_type)
        session.add(
            PublishedFile(
                publication_id=publication.id,
                name=name,
                object_key=key,
                media_type=media_type,
                size=stored.size,
                sha256=stored.sha256,
            )
        )
    session.commit()
    return publication


@pytest.fixture
def publications(session: Session, store: LocalObjectStore, world: World) -> list[Publication]:
    """An announcement, a newer monthly disclosure with two files, and a hidden draft."""
    return [
        publish(
            session, store, world, kind=PublicationKind.PUBLICITY, period="2026",
            published_at=datetime(2026, 1, 5, tzinfo=UTC), files={"announcement.md": (NOTICE, "text/markdown")},
        ),
        publish(
            session, store, world, kind=PublicationKind.DISCLOSURE, period="2026-11",
            published_at=datetime(2026, 12, 1, tzinfo=UTC),
            files={"report.html": (HTML, "text/html; charset=utf-8"), "beneficiaries.csv": (CSV, "text/csv")},
        ),
        publish(
            session, store, world, kind=PublicationKind.DISCLOSURE, period="2026-12",
            published_at=datetime(2027, 1, 1, tzinfo=UTC), files={}, is_public=False,
        ),
    ]  # fmt: skip


def test_list_is_public_only_and_newest_first(client: TestClient, publications: list[Publication]) -> None:
    response = client.get("/api/public/publications")
    assert response.status_code == 200
    body = response.json()
    assert [p["id"] for p in body] == [publications[1].id, publications[0].id]
    disclosure = body[0]
    assert disclosure["kind"] == "disclosure" and disclosure["period"] == "2026-11"
    assert [f["name"] for f in disclosure["files"]] == ["beneficiaries.csv", "report.html"]
    report = disclosure["files"][1]
    assert report["sha256"] == sha256_hex(HTML) and report["size"] == len(HTML)
    assert report["url"] == f"/api/public/publications/{publications[1].id}/files/report.html"


def test_list_by_kind(client: TestClient, publications: list[Publication]) -> None:
    body = client.get("/api/public/publications?kind=publicity").json()
    assert [p["id"] for p in body] == [publications[0].id]
    assert client.get("/api/public/publications?kind=secret").status_code == 422


def test_one_publication_and_404s(client: TestClient, publications: list[Publication]) -> None:
    response = client.get(f"/api/public/publications/{publications[1].id}")
    assert response.status_code == 200
    assert response.json()["title"] == "2026-11 信息公开"
    assert client.get(f"/api/public/publications/{publications[2].id}").status_code == 404  # not public
    assert client.get("/api/public/publications/9999").status_code == 404
    assert client.get("/api/public/publications/abc").status_code == 422


def test_file_bytes_with_media_type(client: TestClient, publications: list[Publication]) -> None:
    listed = client.get(f"/api/public/publications/{publications[1].id}").json()
    for entry in listed["files"]:
        response = client.get(entry["url"])
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(entry["media_type"].split(";")[0])
        assert sha256_hex(response.content) == entry["sha256"]
    assert client.get(listed["files"][1]["url"]).content == HTML


def test_unknown_file_is_404(client: TestClient, publications: list[Publication]) -> None:
    pid = publications[1].id
    assert client.get(f"/api/public/publications/{pid}/files/nope.pdf").status_code == 404
    assert client.get(f"/api/public/publications/{publications[0].id}/files/report.html").status_code == 404
    assert client.get("/api/public/publications/9999/files/report.html").status_code == 404
    assert client.get(f"/api/public/publications/{pid}/files/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_file_missing_from_the_store_is_404(
    client: TestClient, publications: list[Publication], store: LocalObjectStore
) -> None:
    store.delete("publications/disclosure/2026-11/beneficiaries.csv")
    assert client.get(f"/api/public/publications/{publications[1].id}/files/beneficiaries.csv").status_code == 404


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_store_down_is_503(
    client: TestClient, publications: list[Publication], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUTUALAID_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("MUTUALAID_S3_ENDPOINT", f"127.0.0.1:{_closed_port()}")
    settings_module.get_settings.cache_clear()
    response = client.get(f"/api/public/publications/{publications[1].id}/files/report.html")
    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert "127.0.0.1" not in response.text
