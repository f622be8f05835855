"""Serving claim documents: who may list and fetch them, the authenticated download (local store), and short-lived
presigned URLs on a real S3 server (moto on loopback)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import botocore.auth
import httpx
import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.deps import get_object_store
from core import settings as settings_module
from core.storage.base import ObjectStore
from core.storage.s3 import S3ObjectStore
from models.claims import Claim
from mutualaid.demo.data import pdf_bytes
from tests.api.conftest import login
from tests.api.test_claim_submission import claim_data, member_user, members, post_claim, scans
from tests.core.storage.conftest import S3_CREDENTIAL, make_s3_store
from tests.factories import World

__all__ = ["members"]  # the fixture, imported for these tests

CHINESE_NAME = "住院发票 第1页.pdf"


def file_with_chinese_invoice(client: TestClient, username: str = "l1_a2", n: int = 1) -> dict[str, Any]:
    """A claim of member n filed by username, whose invoice has a Chinese file name."""
    docs = scans(30 + n)
    docs[1] = ("invoice", CHINESE_NAME, pdf_bytes(f"invoice of claim {n}"))
    response = post_claim(client, login(client, username), claim_data(n), docs)
    assert response.status_code == 201, response.text
    return response.json()


def invoice_of(filed: dict[str, Any]) -> dict[str, Any]:
    return next(d for d in filed["documents"] if d["doc_type"] == "invoice")


# --- who may see them ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("admin", 200),
        ("auditor", 200),
        ("l1_a", 200),  # a reviewer of the claim's own unit (not the filer)
        ("l1_a2", 200),  # the filer
        ("l2_a", 200),  # the county above
        ("l3", 200),  # the city
        ("l1_b", 404),  # another county's unit
        ("l2_b", 404),  # another county
        ("finance", 403),
    ],
)
def test_documents_are_listed_to_those_who_may_see_the_claim(
    client: TestClient, world: World, members: dict[int, int], username: str, expected: int
) -> None:
    filed = file_with_chinese_invoice(client)
    response = client.get(f"/api/claims/{filed['id']}/documents", headers=login(client, username))
    assert response.status_code == expected, response.text
    if expected == 200:
        assert response.json() == filed["documents"]
        assert "object_key" not in response.text and "claims/" not in response.text
    else:
        assert "invoice" not in response.text
    link = client.get(
        f"/api/claims/{filed['id']}/documents/{invoice_of(filed)['id']}/content", headers=login(client, username)
    )
    assert link.status_code == expected


def test_a_member_sees_their_own_documents_only(
    client: TestClient, session: Session, world: World, members: dict[int, int]
) -> None:
    own = file_with_chinese_invoice(client, n=1)
    other = file_with_chinese_invoice(client, n=2)
    member_user(session, members[1], "zhang")
    headers = login(client, "zhang")
    assert client.get(f"/api/claims/{own['id']}/documents", headers=headers).status_code == 200
    content = client.get(f"/api/claims/{own['id']}/documents/{invoice_of(own)['id']}/content", headers=headers)
    assert content.status_code == 200 and content.content == pdf_bytes("invoice of claim 1")
    assert client.get(f"/api/claims/{other['id']}/documents", headers=headers).status_code == 404
    # a document id of another claim, under the member's own claim, is not found either
    crossed = client.get(f"/api/claims/{own['id']}/documents/{invoice_of(other)['id']}/content", headers=headers)
    assert crossed.status_code == 404


def test_unknown_claims_and_documents_are_404(client: TestClient, world: World, members: dict[int, int]) -> None:
    filed = file_with_chinese_invoice(client)
    headers = login(client, "admin")
    assert client.get("/api/claims/999999/documents", headers=headers).status_code == 404
    assert client.get(f"/api/claims/{filed['id']}/documents/999999/link", headers=headers).status_code == 404
    assert client.get("/api/claims/0/documents", headers=headers).status_code == 422
    assert client.get(f"/api/claims/{filed['id']}/documents").status_code == 401


# --- the authenticated download (local store) ----------------------------------------------------------------------


def test_the_download_streams_the_bytes_with_type_name_and_no_caching(
    client: TestClient, world: World, members: dict[int, int]
) -> None:
    filed = file_with_chinese_invoice(client)
    invoice = invoice_of(filed)
    response = client.get(f"/api/claims/{filed['id']}/documents/{invoice['id']}/content", headers=login(client, "l2_a"))
    assert response.status_code == 200
    assert response.content == pdf_bytes("invoice of claim 1")
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-length"] == str(invoice["size"])
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; ")
    assert f"filename*=UTF-8''{quote(CHINESE_NAME, safe='')}" in disposition
    assert disposition.isascii()


def test_the_local_store_links_to_the_authenticated_download(
    client: TestClient, world: World, members: dict[int, int]
) -> None:
    filed = file_with_chinese_invoice(client)
    invoice = invoice_of(filed)
    headers = login(client, "auditor")
    link = client.get(f"/api/claims/{filed['id']}/documents/{invoice['id']}/link", headers=headers)
    assert link.status_code == 200
    url = link.json()["url"]
    assert url.endswith(f"/api/claims/{filed['id']}/documents/{invoice['id']}/content")
    assert link.json()["expires_at"] is None
    assert client.get(url).status_code == 401  # the link alone is not enough
    assert client.get(url, headers=headers).content == pdf_bytes("invoice of claim 1")


def test_a_document_whose_object_is_gone_is_404_not_500(
    client: TestClient, store: ObjectStore, world: World, members: dict[int, int]
) -> None:
    filed = file_with_chinese_invoice(client)
    for key in store.list("claims/"):
        store.delete(key)
    response = client.get(
        f"/api/claims/{filed['id']}/documents/{invoice_of(filed)['id']}/content", headers=login(client, "admin")
    )
    assert response.status_code == 404 and response.json()["code"] == "document_object_missing"


# --- S3: presigned URLs ------------------------------------------------------------------------------------------


@pytest.fixture
def s3_store(client: TestClient, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3ObjectStore]:
    """The API's object store is a fresh bucket on the loopback S3 server; presigned URLs last 5 minutes."""
    monkeypatch.setenv("MUTUALAID_PRESIGNED_URL_MINUTES", "5")
    settings_module.get_settings.cache_clear()
    store = make_s3_store(s3_endpoint, f"claims-{uuid.uuid4().hex[:12]}")
    client.app.dependency_overrides[get_object_store] = lambda: store  # type: ignore[attr-defined]
    yield store
    client.app.dependency_overrides.clear()  # type: ignore[attr-defined]


def signed_correctly(url: str, secret: str) -> bool:
    """Whether a presigned URL carries a valid SigV4 signature for secret (checked with botocore, not minio)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(query)
    access_key, _day, region, _service, _ = params["X-Amz-Credential"].split("/")
    unsigned = [(k, v) for k, v in query if not k.startswith("X-Amz-")]
    request = AWSRequest(
        method="GET", url=urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(unsigned), ""))
    )
    signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    # botocore signs "now"; pin its clock to the URL's signing time, or a second boundary would fail the check
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=signed_at):
        S3SigV4QueryAuth(Credentials(access_key, secret), "s3", region, expires=int(params["X-Amz-Expires"])).add_auth(
            request
        )
    return dict(parse_qsl(urlsplit(request.url).query))["X-Amz-Signature"] == params["X-Amz-Signature"]


def valid_until(url: str) -> datetime:
    """When a presigned URL stops working: its signing time plus its lifetime."""
    params = dict(parse_qsl(urlsplit(url).query))
    signed_at = datetime.strptime(params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return signed_at + timedelta(seconds=int(params["X-Amz-Expires"]))


def test_s3_filing_and_a_short_lived_presigned_url(
    client: TestClient, s3_store: S3ObjectStore, world: World, members: dict[int, int]
) -> None:
    filed = file_with_chinese_invoice(client)
    assert len(s3_store.list("claims/")) == 6
    invoice = invoice_of(filed)
    before = datetime.now(UTC)
    link = client.get(f"/api/claims/{filed['id']}/documents/{invoice['id']}/link", headers=login(client, "l2_a")).json()
    url = link["url"]
    assert url.startswith(f"http://{s3_store.endpoint}/{s3_store.bucket}/claims/")
    assert "X-Amz-Expires=300" in url
    expires_at = datetime.fromisoformat(link["expires_at"])
    assert (
        before + timedelta(minutes=5) - timedelta(seconds=5) <= expires_at <= datetime.now(UTC) + timedelta(minutes=5)
    )
    assert abs(valid_until(url) - expires_at) < timedelta(seconds=30)  # signed and stamped in the same request
    fetched = httpx.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == pdf_bytes("invoice of claim 1")
    assert fetched.headers["content-type"] == "application/pdf"
    # moto serves any URL that looks signed, so the refusal a real S3 or MinIO makes is checked on the URL itself:
    assert signed_correctly(url, S3_CREDENTIAL)
    assert not signed_correctly(url, "another-secret")
    other_key = url.replace(f"/{invoice['sha256']}.pdf", f"/{'0' * 64}.pdf")
    assert not signed_correctly(other_key, S3_CREDENTIAL)  # pointing it at another object breaks the signature
    assert not signed_correctly(url.replace("X-Amz-Expires=300", "X-Amz-Expires=86400"), S3_CREDENTIAL)
    assert valid_until(url) < datetime.now(UTC) + timedelta(minutes=6)  # and it is dead within minutes


def test_s3_download_and_listing_through_the_api(
    client: TestClient, s3_store: S3ObjectStore, world: World, members: dict[int, int]
) -> None:
    filed = file_with_chinese_invoice(client)
    invoice = invoice_of(filed)
    response = client.get(
        f"/api/claims/{filed['id']}/documents/{invoice['id']}/content", headers=login(client, "admin")
    )
    assert response.status_code == 200 and response.content == pdf_bytes("invoice of claim 1")
    assert client.get(f"/api/claims/{filed['id']}/documents", headers=login(client, "l2_b")).status_code == 404
    link = client.get(f"/api/claims/{filed['id']}/documents/{invoice['id']}/link", headers=login(client, "l2_b"))
    assert link.status_code == 404 and "X-Amz" not in link.text


def test_s3_same_file_twice_is_one_object(
    client: TestClient, session: Session, s3_store: S3ObjectStore, world: World, members: dict[int, int]
) -> None:
    scan = pdf_bytes("shared scan")
    docs = [("invoice", "a.pdf", scan), ("expense_list", "b.pdf", scan)]
    assert post_claim(client, login(client, "admin"), claim_data(1), docs).status_code == 201
    assert post_claim(client, login(client, "admin"), claim_data(2), docs).status_code == 201
    assert len(s3_store.list("claims/")) == 1
    bad = post_claim(client, login(client, "admin"), claim_data(3, discharge_date="2099-01-01"), scans(40))
    assert bad.status_code == 422
    assert len(s3_store.list("claims/")) == 1  # the failed filing's new objects are gone, the shared one stays
    assert len(session.exec(select(Claim)).all()) == 2
    session.commit()
