"""The flows on the MinIO/S3 object store: the same steps, the same interface, a real S3 server on loopback."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from sqlmodel import Session, select

from core import settings as settings_module
from core.settings import Settings
from core.storage import get_store
from core.storage.s3 import S3ObjectStore
from flows.disclosure import disclosure_flow
from flows.publicity import publicity_flow
from flows.registration import registration_flow
from models.publications import Publication, PublicationKind
from mutualaid.demo import setup as demo
from tasks.common.publishing import verify


@pytest.fixture
def s3_settings(app_settings: Settings, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """This test's settings, with the object store on the loopback S3 server and a fresh bucket."""
    monkeypatch.setenv("MUTUALAID_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("MUTUALAID_S3_ENDPOINT", s3_endpoint)
    monkeypatch.setenv("MUTUALAID_S3_ACCESS_KEY", "testing")
    monkeypatch.setenv("MUTUALAID_S3_SECRET_KEY", "testing")
    monkeypatch.setenv("MUTUALAID_S3_BUCKET", f"flows-{uuid.uuid4().hex[:12]}")
    settings_module.get_settings.cache_clear()
    return settings_module.get_settings()


def test_publicity_registration_and_disclosure_on_s3(s3_settings: Settings, session: Session) -> None:
    store = get_store()
    assert isinstance(store, S3ObjectStore)
    plan = demo.set_up(session, today=date.today(), member_count=40, unit_count=4)
    demo.hand_in_papers(store, plan, member_count=40, claim_count=0, today=date.today())

    publicity_flow(demo.PROGRAMME, plan.year)
    registration = registration_flow(demo.PROGRAMME, plan.year, plan.roster_key)
    disclosure = disclosure_flow(demo.PROGRAMME, plan.year, str(plan.year))

    assert registration["rejected_rows"] == 3
    assert store.exists(registration["error_report"])
    session.expire_all()
    published = session.exec(select(Publication).where(Publication.kind == PublicationKind.DISCLOSURE)).one()
    assert published.manifest_sha256 == disclosure["manifest_sha256"]
    assert verify(session=session, store=store, publication=published) == []
    manifest = json.loads(store.get(published.manifest_key))
    assert {f["name"] for f in manifest["files"]} == {"disclosure.html", "beneficiaries.csv", "disclosure.json"}
    assert store.url(published.manifest_key).startswith("http://")
