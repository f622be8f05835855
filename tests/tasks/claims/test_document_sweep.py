"""The orphan-document sweep, and the guards of shared content-addressed objects, on a local folder and on S3.

An orphan is made the way a crash makes one: objects stored under claims/ whose claim rows were never
committed. Ages are judged against `now`, so "old" needs no waiting except where S3's one-second clock matters.
"""

from __future__ import annotations

import socket
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from core.settings import Settings
from core.storage.base import ObjectStore, ObjectStoreUnavailable, sha256_hex
from core.storage.local import LocalObjectStore
from core.storage.s3 import S3ObjectStore
from models.claims import Claim, ClaimDocument
from models.claims_enums import DocumentType
from models.states import Actor
from mutualaid.demo.data import pdf_bytes, png_bytes
from tasks.claims.document_sweep import sweep_unreferenced_documents
from tasks.claims.documents import UploadedDocument, object_key_for, stored_documents
from tasks.claims.filing import file_claim, referenced_by_committed_rows
from tasks.claims.filing_input import ClaimFiling
from tests.api.conftest import enrol
from tests.core.storage.conftest import make_s3_store
from tests.factories import World, build_world, id_number

ACTOR = Actor(None, "test")
LATER = timedelta(hours=2)  # "now" this far ahead makes every object written during the test old


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, app_settings: Settings) -> ObjectStore:
    """The claim objects' store: the test's local folder, or a fresh bucket on the loopback S3 server."""
    if request.param == "local":
        assert app_settings.storage_root is not None
        return LocalObjectStore(app_settings.storage_root)
    return make_s3_store(request.getfixturevalue("s3_endpoint"), f"sweep-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def world(session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    built = build_world(session)
    enrol(session, built, range(1, 3), unit=0, paid_on=date(2026, 1, 5))
    return built


def filing(n: int) -> ClaimFiling:
    return ClaimFiling.model_validate(
        {
            "programme_code": "MA", "id_number": id_number(n), "admission_date": "2026-05-01",
            "discharge_date": "2026-05-10", "hospital_name": "市第一人民医院", "hospital_tier": "tier3",
            "invoice_numbers": [f"FP{n}"], "total_cost": "10000.00", "basic_insurance": "6000.00",
        }
    )  # fmt: skip


def uploads(seed: int, count: int = 2) -> list[UploadedDocument]:
    types = [DocumentType.INVOICE, DocumentType.EXPENSE_LIST, DocumentType.DISCHARGE_SUMMARY]
    return [UploadedDocument(types[i], f"{types[i]}.pdf", pdf_bytes(f"scan {seed} {i}")) for i in range(count)]


def orphan(store: ObjectStore, seed: int) -> str:
    """An object under claims/ that no row references (what a crash between put and commit leaves)."""
    data = png_bytes(seed)
    key = object_key_for(sha256_hex(data), "png")
    store.put(key, data, media_type="image/png")
    return key


def test_old_unreferenced_objects_are_deleted_and_everything_else_kept(
    session: Session, store: ObjectStore, world: World
) -> None:
    claim = file_claim(session=session, store=store, filing=filing(1), uploads=uploads(1, 3), user=None, actor=ACTOR)
    referenced = set(store.list("claims/"))
    orphans = {orphan(store, s) for s in (1, 2)}
    store.put("reports/rosters/r.errors.csv", b"a,b", media_type="text/csv")  # outside claims/: never swept
    store.put("claims/readme.txt", b"not a document", media_type="text/plain")  # under claims/ but no row either

    young = sweep_unreferenced_documents(session=session, store=store)
    assert (young.examined, young.too_young, young.deleted) == (6, 6, 0)

    report = sweep_unreferenced_documents(session=session, store=store, now=datetime.now(UTC) + LATER)
    assert (report.examined, report.referenced, report.deleted) == (6, 3, 3)
    assert set(report.keys) == orphans | {"claims/readme.txt"}
    assert set(store.list("claims/")) == referenced
    assert store.exists("reports/rosters/r.errors.csv")
    assert len(session.exec(select(ClaimDocument).where(ClaimDocument.claim_id == claim.id)).all()) == 3
    session.commit()


def test_a_dry_run_reports_without_deleting(session: Session, store: ObjectStore, world: World) -> None:
    keys = {orphan(store, s) for s in range(5)}
    report = sweep_unreferenced_documents(
        session=session, store=store, now=datetime.now(UTC) + LATER, dry_run=True, batch_size=2
    )
    assert report.dry_run and report.deleted == 5 and set(report.keys) == keys
    assert set(store.list("claims/")) == keys
    swept = sweep_unreferenced_documents(session=session, store=store, now=datetime.now(UTC) + LATER, batch_size=2)
    assert (swept.examined, swept.deleted) == (5, 5)
    assert store.list("claims/") == []


def test_an_in_flight_filing_is_never_swept(session: Session, store: ObjectStore, world: World) -> None:
    with stored_documents(store, uploads(2)) as stored:
        # between put and commit: the objects exist, no row does; the sweep runs now with its grace period
        report = sweep_unreferenced_documents(session=session, store=store, grace=timedelta(minutes=60))
        assert report.deleted == 0 and report.too_young == 2
        assert all(store.exists(doc.stored.key) for doc in stored)


def test_an_old_orphan_reused_by_a_filing_is_renewed_and_survives_the_sweep(
    session: Session, store: ObjectStore, world: World
) -> None:
    docs = uploads(3, 1)
    reused = object_key_for(sha256_hex(docs[0].data), "pdf")
    store.put(reused, docs[0].data, media_type="application/pdf")  # left by an earlier crash
    untouched = orphan(store, 9)
    written = store.info(reused)
    assert written is not None
    time.sleep(1.1)  # past S3's one-second Last-Modified
    cutoff_now = written.modified_at + timedelta(milliseconds=500)  # both orphans count as old at this "now"
    with stored_documents(store, docs) as stored:
        assert stored[0].stored.key == reused
        report = sweep_unreferenced_documents(session=session, store=store, grace=timedelta(0), now=cutoff_now)
    assert report.keys == [untouched]  # the other orphan goes; the reused one was touched by the filing
    assert store.exists(reused) and not store.exists(untouched)


def test_an_undo_keeps_an_object_another_filing_committed_meanwhile(
    session: Session, store: ObjectStore, world: World
) -> None:
    claim = file_claim(session=session, store=store, filing=filing(1), uploads=uploads(4, 1), user=None, actor=ACTOR)
    docs = uploads(5, 2)
    with (
        pytest.raises(RuntimeError),
        stored_documents(store, docs, keep=referenced_by_committed_rows(session)) as stored,
    ):
        # a concurrent filing of the same first file commits its row while this one is still in flight
        with Session(session.get_bind()) as other:
            first = stored[0].stored
            other.add(
                ClaimDocument(
                    claim_id=claim.id or 0, doc_type=DocumentType.OTHER, filename="same.pdf", object_key=first.key,
                    media_type=first.media_type, size=first.size, sha256=first.sha256,
                )
            )  # fmt: skip
            other.commit()
        session.rollback()
        raise RuntimeError("this filing fails")
    assert store.exists(stored[0].stored.key)  # referenced by the committed row: kept
    assert not store.exists(stored[1].stored.key)  # only this filing's: removed


def test_an_object_removed_while_committing_is_put_back(session: Session, store: ObjectStore, world: World) -> None:
    docs = uploads(6, 2)
    with stored_documents(store, docs) as stored:
        store.delete(stored[0].stored.key)  # a concurrent undo or sweep removed it before the rows committed
    assert store.get(stored[0].stored.key) == docs[0].data
    assert store.exists(stored[1].stored.key)


def test_a_failed_filing_leaves_nothing_to_sweep(session: Session, store: ObjectStore, world: World) -> None:
    bad = filing(1).model_copy(update={"discharge_date": date(2099, 1, 1)})
    with pytest.raises(Exception, match="出院日期"):
        file_claim(session=session, store=store, filing=bad, uploads=uploads(7), user=None, actor=ACTOR)
    assert store.list("claims/") == []
    assert session.exec(select(Claim)).all() == []
    session.commit()


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_sweep_stops_when_the_store_is_down(session: Session, app_settings: Settings) -> None:
    down = S3ObjectStore(f"127.0.0.1:{_closed_port()}", "testing", "testing", "mutualaid")
    with pytest.raises(ObjectStoreUnavailable):
        sweep_unreferenced_documents(session=session, store=down)
    with pytest.raises(ValueError, match="grace"):
        sweep_unreferenced_documents(session=session, store=down, grace=timedelta(minutes=-1))


def test_the_sweep_sees_rows_committed_by_others(session: Session, store: ObjectStore, world: World) -> None:
    keys = sorted(orphan(store, s) for s in range(4))
    # a claim commits a row for one of them before the sweep: that one is referenced, the rest are orphans
    claim = file_claim(session=session, store=store, filing=filing(2), uploads=[], user=None, actor=ACTOR)
    with Session(session.get_bind()) as other:
        other.add(
            ClaimDocument(
                claim_id=claim.id or 0, doc_type=DocumentType.ID_CARD, filename="id.png", object_key=keys[0],
                media_type="image/png", size=10, sha256=keys[0].rpartition("/")[2].partition(".")[0],
            )
        )  # fmt: skip
        other.commit()
    report = sweep_unreferenced_documents(session=session, store=store, now=datetime.now(UTC) + LATER, batch_size=1)
    assert set(store.list("claims/")) == {keys[0]}
    assert (report.referenced, report.deleted) == (1, 3)
