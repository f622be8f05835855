"""Filing claims with documents through the API: complete and incomplete claims, adding documents, who may file
for whom, and bad input that is refused with a reason and leaves nothing behind (no row, no stored object)."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select

from api.deps import get_object_store
from core import settings as settings_module
from core.storage.base import ObjectStore
from core.storage.s3 import S3ObjectStore
from models.audit import AuditEvent
from models.claims import Claim, ClaimDocument, ClaimStatus
from models.members import Member
from models.users import Role, User
from mutualaid.demo.data import pdf_bytes, png_bytes
from tasks.claims.documents import read_limited
from tests.api.conftest import ClaimMaker, enrol, fresh, login, task_of
from tests.factories import PASSWORD, World, hash_once, id_number

PAID_ON = date(2026, 1, 5)  # first-time enrolment: covered from 2026-04-05
HOSPITAL_DOCS = ("id_card", "invoice", "expense_list", "discharge_summary", "settlement_statement", "bank_card")
Doc = tuple[str, str, bytes]  # (document type, file name, bytes)


# --- helpers (also used by test_claim_documents) -----------------------------------------------------------------


def claim_data(n: int, **changes: Any) -> dict[str, Any]:
    """A hospitalisation claim for the n-th test member: eligible 3,500.00 → payout 2,450.00."""
    data: dict[str, Any] = {
        "programme_code": "MA",
        "id_number": id_number(n),
        "benefit_type": "hospitalisation",
        "admission_date": "2026-05-01",
        "discharge_date": "2026-05-10",
        "hospital_name": "市第一人民医院",
        "hospital_tier": "tier3",
        "diagnosis_code": "J18.9",
        "diagnosis_text": "肺炎",
        "invoice_numbers": [f"FP2026{n:06d}"],
        "total_cost": "10000.00",
        "basic_insurance": "6000.00",
        "self_paid": "500.00",
    }
    return data | changes


def scans(seed: int, types: Sequence[str] = HOSPITAL_DOCS) -> list[Doc]:
    """Distinct scans per seed and type: PNG for the cards, PDF for the papers."""
    docs: list[Doc] = []
    for i, doc_type in enumerate(types):
        if doc_type in ("id_card", "bank_card"):
            docs.append((doc_type, f"{doc_type}.png", png_bytes(seed * 100 + i)))
        else:
            docs.append((doc_type, f"{doc_type}.pdf", pdf_bytes(f"claim {seed} {doc_type}")))
    return docs


def multipart(docs: Sequence[Doc]) -> tuple[list[tuple[str, tuple[str, bytes, str]]], list[str]]:
    """The files and the parallel document_types of a request (the client's media type is ignored)."""
    files = [("documents", (name, data, "application/octet-stream")) for _, name, data in docs]
    return files, [doc_type for doc_type, _, _ in docs]


def post_claim(
    client: TestClient, headers: dict[str, str], data: dict[str, Any] | str, docs: Sequence[Doc] = ()
) -> httpx.Response:
    """POST /api/claims with the claim JSON and the documents."""
    files, types = multipart(docs)
    body = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return client.post(
        "/api/claims", data={"claim": body, "document_types": types}, files=files or None, headers=headers
    )


def post_documents(client: TestClient, headers: dict[str, str], claim_id: int, docs: Sequence[Doc]) -> httpx.Response:
    """POST /api/claims/{id}/documents."""
    files, types = multipart(docs)
    return client.post(
        f"/api/claims/{claim_id}/documents", data={"document_types": types}, files=files or None, headers=headers
    )


def leftovers(session: Session, store: ObjectStore) -> tuple[int, int, list[str]]:
    """Claim rows, document rows and stored claim objects, as they are now."""
    claims = session.exec(select(func.count()).select_from(Claim)).one()
    documents = session.exec(select(func.count()).select_from(ClaimDocument)).one()
    session.commit()
    return claims, documents, store.list("claims/")


def member_user(session: Session, member_id: int, username: str) -> User:
    """A signed-in member linked to their member record (committed)."""
    user = User(
        username=username, full_name=username, password_hash=hash_once(PASSWORD), role=Role.MEMBER,
        member_id=member_id,
    )  # fmt: skip
    session.add(user)
    session.commit()
    return user


@pytest.fixture
def members(session: Session, world: World) -> dict[int, int]:
    """Covered members: test numbers 1-3 at G11 (county X01), 11 at G21 (county X02); number → member id."""
    ids = enrol(session, world, range(1, 4), unit=0, paid_on=PAID_ON)
    ids += enrol(session, world, range(11, 12), unit=2, paid_on=PAID_ON)
    return dict(zip([1, 2, 3, 11], ids, strict=True))


# --- filing ---------------------------------------------------------------------------------------------------------


def capture_our_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Capture everything our own modules log, to check no ID number is in it."""
    for name in ("api", "tasks", "models", "mutualaid"):
        caplog.set_level(logging.DEBUG, logger=name)


def test_an_administrator_files_a_complete_claim(
    client: TestClient,
    session: Session,
    store: ObjectStore,
    world: World,
    members: dict[int, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    capture_our_logs(caplog)
    response = post_claim(client, login(client, "admin"), claim_data(1), scans(1))

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "submitted" and body["status_label"] == "已提交"
    assert body["missing_documents"] == []
    assert body["reference"].startswith("C2026-")
    assert [d["doc_type"] for d in body["documents"]] == list(HOSPITAL_DOCS)
    assert body["documents"][0]["media_type"] == "image/png"
    assert body["documents"][1] | {"id": 0, "uploaded_at": ""} == {
        "id": 0, "doc_type": "invoice", "doc_type_label": "住院发票", "filename": "invoice.pdf",
        "media_type": "application/pdf", "size": len(scans(1)[1][2]), "sha256": body["documents"][1]["sha256"],
        "uploaded_at": "",
    }  # fmt: skip
    assert id_number(1) not in response.text
    claim = fresh(session, Claim, body["id"])
    assert claim.member_id == members[1] and claim.filed_by == world.user("admin").id
    assert claim.payout_fen is None  # calculated by the claims flow, not at filing
    assert leftovers(session, store)[:2] == (1, 6)
    assert len(store.list("claims/")) == 6
    filed = session.exec(select(AuditEvent).where(AuditEvent.action == "claim.filed")).one()
    assert filed.actor_label == "admin" and filed.entity_id == claim.id
    assert id_number(1) not in caplog.text and id_number(1) not in json.dumps(filed.data)


def test_a_claim_missing_documents_is_incomplete_and_says_what_is_missing(
    client: TestClient, world: World, members: dict[int, int]
) -> None:
    docs = scans(2, ["id_card", "invoice", "bank_card"])
    response = post_claim(client, login(client, "admin"), claim_data(2), docs)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "incomplete"
    assert response.json()["missing_documents"] == [
        {"doc_type": "expense_list", "label": "费用清单"},
        {"doc_type": "discharge_summary", "label": "出院小结"},
        {"doc_type": "settlement_statement", "label": "基本医保结算单"},
    ]
    english = post_claim(
        client, login(client, "admin") | {"Accept-Language": "en"}, claim_data(3, invoice_numbers=["X1"]), []
    )
    assert english.status_code == 201, english.text
    assert english.json()["status_label"] == "Incomplete"
    assert english.json()["missing_documents"][0] == {"doc_type": "id_card", "label": "ID card"}


def test_adding_the_missing_documents_resumes_the_claim(
    client: TestClient, session: Session, store: ObjectStore, world: World, members: dict[int, int]
) -> None:
    headers = login(client, "admin")
    docs = scans(4)
    filed = post_claim(client, headers, claim_data(1), docs[:2]).json()
    assert filed["status"] == "incomplete"

    partly = post_documents(client, headers, filed["id"], docs[2:4])
    assert partly.status_code == 200, partly.text
    assert partly.json()["status"] == "incomplete"
    assert [m["doc_type"] for m in partly.json()["missing_documents"]] == ["settlement_statement", "bank_card"]
    done = post_documents(client, headers, filed["id"], docs[4:])
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "submitted" and done.json()["missing_documents"] == []
    assert len(done.json()["documents"]) == 6
    assert leftovers(session, store)[1:] == (6, sorted(store.list("claims/")))
    assert len(store.list("claims/")) == 6
    resumed = session.exec(select(AuditEvent).where(AuditEvent.action == "claim.resubmitted")).one()
    assert (resumed.from_state, resumed.to_state, resumed.actor_label) == ("incomplete", "submitted", "admin")


def test_a_returned_claim_is_resubmitted_in_a_new_review_round(
    client: TestClient, session: Session, store: ObjectStore, world: World, make_claim: ClaimMaker
) -> None:
    claim = make_claim()
    task = task_of(session, claim.id, 1)
    returned = client.post(
        f"/api/tasks/{task.id}/decision",
        json={"outcome": "return", "reason": "请补充出院小结", "version": task.version},
        headers=login(client, "l1_a"),
    )
    assert returned.status_code == 200, returned.text
    response = post_documents(client, login(client, "admin"), claim.id or 0, scans(5))  # it had none
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "submitted" and response.json()["review_round"] == 2
    assert fresh(session, Claim, claim.id or 0).review_round == 2
    assert len(store.list("claims/")) == 6


def test_adding_documents_to_a_claim_in_review_is_a_conflict_and_stores_nothing(
    client: TestClient, session: Session, store: ObjectStore, world: World, make_claim: ClaimMaker
) -> None:
    claim = make_claim()  # in review
    response = post_documents(client, login(client, "admin"), claim.id or 0, scans(6, ["invoice"]))
    assert response.status_code == 409
    assert response.json()["code"] == "not_awaiting_documents"
    assert leftovers(session, store)[1:] == (0, [])
    empty = post_documents(client, login(client, "admin"), claim.id or 0, [])
    assert empty.status_code == 422 and empty.json()["code"] == "no_documents"


def test_the_same_file_twice_is_stored_once(
    client: TestClient, session: Session, store: ObjectStore, world: World, members: dict[int, int]
) -> None:
    scan = pdf_bytes("one scan, two purposes")
    docs = [("invoice", "a.pdf", scan), ("expense_list", "b.pdf", scan)]
    first = post_claim(client, login(client, "admin"), claim_data(1), docs)
    assert first.status_code == 201, first.text
    second = post_claim(client, login(client, "admin"), claim_data(2), docs[:1])
    assert second.status_code == 201, second.text
    claims, rows, objects = leftovers(session, store)
    assert (claims, rows, len(objects)) == (2, 3, 1)
    keys = set(session.exec(select(ClaimDocument.object_key)).all())
    session.commit()
    assert keys == set(objects)


# --- bad input ----------------------------------------------------------------------------------------------------

GOOD = ("invoice", "invoice.pdf", pdf_bytes("a good scan that must not stay behind"))
BAD_INPUT: list[tuple[str, dict[str, Any] | str, list[Doc], str, str]] = [
    ("not JSON", "{not json", [GOOD], "claim_invalid", "不是有效的 JSON"),
    ("a JSON list", "[1, 2]", [GOOD], "claim_invalid", "应为 JSON 对象"),
    ("unknown field", claim_data(1, colour="blue"), [GOOD], "claim_invalid", "colour：不认识的字段"),
    ("dates out of order", claim_data(1, discharge_date="2026-04-30"), [GOOD], "claim_invalid", "出院日期早于入院日期"),
    ("bad date", claim_data(1, admission_date="2026-02-30"), [GOOD], "claim_invalid", "admission_date：日期格式无效"),
    ("negative amount", claim_data(1, total_cost="-1.00"), [GOOD], "claim_invalid", "total_cost：不能为负数"),
    ("a float-like fraction", claim_data(1, total_cost="10.005"), [GOOD], "claim_invalid", "最多保留两位小数"),
    (
        "eligible < 0",
        claim_data(1, total_cost="1000.00", basic_insurance="900.00", self_paid="100.01"),
        [GOOD],
        "eligible_negative",
        "可报销金额为负",
    ),
    ("discharge in the future", claim_data(1, discharge_date="2099-01-01"), [GOOD], "discharge_in_future", "出院日期"),
    ("unknown hospital tier", claim_data(1, hospital_tier="tier9"), [GOOD], "claim_invalid", "hospital_tier：取值无效"),
    ("unknown benefit type", claim_data(1, benefit_type="dental"), [GOOD], "unknown_benefit_type", "dental"),
    ("benefit type not a code", claim_data(1, benefit_type="../x"), [GOOD], "claim_invalid", "benefit_type"),
    ("unknown programme", claim_data(1, programme_code="ZZ"), [GOOD], "unknown_programme", "ZZ"),
    ("no programme", claim_data(1, programme_code=None), [GOOD], "programme_missing", "programme_code"),
    ("bad ID number", claim_data(1, id_number="110105198005170000"), [GOOD], "bad_id_number", "校验位"),
    ("no member named", claim_data(1, id_number=None), [GOOD], "member_missing", "id_number"),
    ("two members named", claim_data(1, member_id=1), [GOOD], "member_ambiguous", "只能填写其一"),
    (
        "unknown document type",
        claim_data(1),
        [GOOD, ("passport", "p.pdf", GOOD[2])],
        "unknown_document_type",
        "passport",
    ),
    ("empty file", claim_data(1), [GOOD, ("expense_list", "e.pdf", b"")], "empty_file", "文件为空"),
    ("text file", claim_data(1), [GOOD, ("expense_list", "e.pdf", b"just text")], "unsupported_file_type", "PDF"),
    (
        "GIF",
        claim_data(1),
        [GOOD, ("expense_list", "e.gif", b"GIF89a\x01\x00\x01\x00")],
        "unsupported_file_type",
        "PNG",
    ),
    ("../x.pdf", claim_data(1), [GOOD, ("expense_list", "../x.pdf", GOOD[2])], "bad_filename", "路径"),
    ("a/b.pdf", claim_data(1), [GOOD, ("expense_list", "a/b.pdf", GOOD[2])], "bad_filename", "路径"),
    ("a\\b.pdf", claim_data(1), [GOOD, ("expense_list", "a\\b.pdf", GOOD[2])], "bad_filename", "路径"),
    ("..", claim_data(1), [GOOD, ("expense_list", "..", GOOD[2])], "bad_filename", "路径"),
    ("name too long", claim_data(1), [GOOD, ("expense_list", "a" * 201 + ".pdf", GOOD[2])], "bad_filename", "过长"),
]


@pytest.mark.parametrize(
    ("data", "docs", "code", "reason"), [case[1:] for case in BAD_INPUT], ids=[case[0] for case in BAD_INPUT]
)
def test_bad_input_is_refused_with_a_reason_and_leaves_nothing(
    client: TestClient,
    session: Session,
    store: ObjectStore,
    world: World,
    members: dict[int, int],
    data: dict[str, Any] | str,
    docs: list[Doc],
    code: str,
    reason: str,
) -> None:
    response = post_claim(client, login(client, "admin"), data, docs)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code
    assert reason in response.json()["detail"]
    assert id_number(1) not in response.text
    assert leftovers(session, store) == (0, 0, [])


def test_a_nul_in_a_file_name_is_refused(
    client: TestClient, session: Session, store: ObjectStore, world: World, members: dict[int, int]
) -> None:
    # httpx percent-encodes a NUL in a file name, so the request is written by hand to send the byte itself
    boundary = "x-boundary-7f3a"
    parts = [
        b'Content-Disposition: form-data; name="claim"\r\n\r\n' + json.dumps(claim_data(1)).encode(),
        b'Content-Disposition: form-data; name="document_types"\r\n\r\ninvoice',
        b'Content-Disposition: form-data; name="documents"; filename="a\x00b.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" + GOOD[2],
    ]
    body = b"".join(f"--{boundary}\r\n".encode() + part + b"\r\n" for part in parts) + f"--{boundary}--\r\n".encode()
    headers = login(client, "admin") | {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = client.post("/api/claims", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "bad_filename"
    assert leftovers(session, store) == (0, 0, [])


def test_document_types_must_pair_with_the_files(
    client: TestClient, session: Session, store: ObjectStore, world: World, members: dict[int, int]
) -> None:
    files, _types = multipart(scans(7, ["invoice", "expense_list"]))
    response = client.post(
        "/api/claims",
        data={"claim": json.dumps(claim_data(1)), "document_types": ["invoice"]},
        files=files,
        headers=login(client, "admin"),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "document_types_mismatch"
    assert leftovers(session, store) == (0, 0, [])
    missing_claim = client.post("/api/claims", data={"document_types": []}, headers=login(client, "admin"))
    assert missing_claim.status_code == 422 and "claim" in missing_claim.json()["detail"]


def test_an_oversized_file_is_refused_and_one_at_the_limit_accepted(
    client: TestClient,
    session: Session,
    store: ObjectStore,
    world: World,
    members: dict[int, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MUTUALAID_MAX_DOCUMENT_BYTES", "1024")
    settings_module.get_settings.cache_clear()
    just = ("invoice", "just.pdf", b"%PDF-" + b"1" * 1019)  # 1,024 bytes
    big = ("expense_list", "big.pdf", b"%PDF-" + b"0" * 1020)  # 1,025 bytes
    refused = post_claim(client, login(client, "admin"), claim_data(1), [just, big])
    assert refused.status_code == 422
    assert refused.json()["code"] == "file_too_large" and "big.pdf" in refused.json()["detail"]
    assert leftovers(session, store) == (0, 0, [])
    accepted = post_claim(client, login(client, "admin"), claim_data(1), [just])
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["documents"][0]["size"] == 1024


def test_an_upload_is_read_only_up_to_the_limit_plus_one_byte() -> None:
    stream = io.BytesIO(b"%PDF-" + b"0" * (8 * 1024 * 1024))
    data = read_limited(stream, max_bytes=1024)
    assert len(data) == 1025 and stream.tell() == 1025
    small = io.BytesIO(b"%PDF-1")
    assert read_limited(small, max_bytes=1024) == b"%PDF-1"


def test_too_many_files_in_one_request_are_refused(
    client: TestClient, session: Session, store: ObjectStore, world: World, members: dict[int, int]
) -> None:
    docs = [("other", f"p{i}.pdf", pdf_bytes(f"page {i}")) for i in range(21)]
    response = post_claim(client, login(client, "admin"), claim_data(1), docs)
    assert response.status_code == 422 and response.json()["code"] == "too_many_documents"
    assert leftovers(session, store) == (0, 0, [])


# --- failures after the documents were stored ------------------------------------------------------------------


@pytest.fixture
def refuse_documents(engine: Engine) -> Iterator[Callable[[str], None]]:
    """refuse(when): from now on the database refuses claim_document rows, on insert or (PostgreSQL) at commit."""
    postgres = engine.dialect.name == "postgresql"

    def refuse(when: str) -> None:
        if not postgres:
            statements = [
                "CREATE TRIGGER refuse_documents BEFORE INSERT ON claim_document "
                "BEGIN SELECT RAISE(ABORT, 'disk quota exceeded'); END"
            ]
        else:
            trigger = (
                "CREATE TRIGGER refuse_documents BEFORE INSERT ON claim_document FOR EACH ROW"
                if when == "insert"
                else "CREATE CONSTRAINT TRIGGER refuse_documents AFTER INSERT ON claim_document "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
            )
            statements = [
                "CREATE FUNCTION refuse_documents() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'disk quota exceeded' USING ERRCODE = 'check_violation'; END $$",
                f"{trigger} EXECUTE FUNCTION refuse_documents()",
            ]
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))

    yield refuse
    drop = (
        ["DROP TRIGGER IF EXISTS refuse_documents ON claim_document", "DROP FUNCTION IF EXISTS refuse_documents()"]
        if postgres
        else ["DROP TRIGGER IF EXISTS refuse_documents"]
    )
    with engine.begin() as conn:
        for statement in drop:
            conn.execute(text(statement))


@pytest.mark.parametrize("when", ["insert", "commit"])
def test_a_database_failure_after_storing_leaves_no_new_object_and_no_row(
    client: TestClient,
    session: Session,
    engine: Engine,
    store: ObjectStore,
    world: World,
    members: dict[int, int],
    refuse_documents: Callable[[str], None],
    when: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    capture_our_logs(caplog)
    if when == "commit" and engine.dialect.name == "sqlite":
        pytest.skip("SQLite has no deferred triggers; the insert case covers it")
    docs = scans(8)
    earlier = post_claim(client, login(client, "admin"), claim_data(2), docs[:1])  # the ID card is stored already
    assert earlier.status_code == 201, earlier.text
    kept = store.list("claims/")
    refuse_documents(when)
    response = post_claim(client, login(client, "admin"), claim_data(1), docs)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "integrity_conflict"
    assert leftovers(session, store) == (1, 1, kept)  # the earlier claim's object stays, the new ones are gone
    assert id_number(1) not in caplog.text and id_number(1) not in response.text


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_object_store_down_is_503_and_files_nothing(
    client: TestClient, session: Session, world: World, members: dict[int, int]
) -> None:
    down = S3ObjectStore(f"127.0.0.1:{_closed_port()}", "testing", "testing", "mutualaid")
    client.app.dependency_overrides[get_object_store] = lambda: down  # type: ignore[attr-defined]
    response = post_claim(client, login(client, "admin"), claim_data(1), scans(9))
    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert response.headers["Retry-After"] == "30"
    assert session.exec(select(func.count()).select_from(Claim)).one() == 0
    session.commit()


# --- who may file for whom ------------------------------------------------------------------------------------


def test_a_unit_officer_files_for_members_of_their_subtree_only(
    client: TestClient, session: Session, store: ObjectStore, world: World, members: dict[int, int]
) -> None:
    headers = login(client, "l1_a")  # G11
    own = post_claim(client, headers, claim_data(1), scans(10))
    assert own.status_code == 201, own.text
    assert fresh(session, Claim, own.json()["id"]).filed_by == world.user("l1_a").id
    other = post_claim(client, headers, claim_data(11), scans(11))  # a member of G21
    assert other.status_code == 404
    assert other.json() == {"detail": "未找到该会员", "code": "member_not_found"}
    by_id = post_claim(client, headers, claim_data(11, id_number=None, member_id=members[11]), scans(11))
    assert by_id.status_code == 404
    assert leftovers(session, store)[:2] == (1, 6)


@pytest.mark.parametrize("username", ["finance", "auditor", "l2_a", "l3"])
def test_other_roles_may_not_file(
    client: TestClient, session: Session, store: ObjectStore, world: World, members: dict[int, int], username: str
) -> None:
    response = post_claim(client, login(client, username), claim_data(1), scans(13))
    assert response.status_code == 403
    assert leftovers(session, store) == (0, 0, [])


def test_filing_needs_a_signed_in_user(client: TestClient, world: World, members: dict[int, int]) -> None:
    assert post_claim(client, {}, claim_data(1), scans(14)).status_code == 401


def test_a_member_files_their_own_claim_and_no_one_elses(
    client: TestClient, session: Session, store: ObjectStore, world: World, members: dict[int, int]
) -> None:
    user = member_user(session, members[1], "zhang")
    headers = login(client, "zhang")
    own = post_claim(client, headers, claim_data(1, id_number=None), scans(15))  # no ID: their own record
    assert own.status_code == 201, own.text
    claim = fresh(session, Claim, own.json()["id"])
    assert (claim.member_id, claim.filed_by, claim.status) == (members[1], user.id, ClaimStatus.SUBMITTED)
    named = post_claim(client, headers, claim_data(1, invoice_numbers=["FP-2"]), scans(16, ["invoice"]))
    assert named.status_code == 201, named.text  # their own ID number works too
    someone_else = post_claim(client, headers, claim_data(2), scans(17))
    assert someone_else.status_code == 404 and someone_else.json()["code"] == "member_not_found"
    assert id_number(2) not in someone_else.text
    assert leftovers(session, store)[:2] == (2, 7)
    # and may add documents only to their own claims
    other = post_claim(client, login(client, "admin"), claim_data(2), scans(18, ["invoice"])).json()
    assert post_documents(client, headers, other["id"], scans(19, ["id_card"])).status_code == 404
    member_ids = session.exec(select(Member.id).where(col(Member.id).in_(members.values()))).all()
    session.commit()
    assert len(member_ids) == 4


def test_filed_claims_appear_for_their_reviewers(
    client: TestClient, session: Session, world: World, members: dict[int, int]
) -> None:
    filed = post_claim(client, login(client, "l1_a"), claim_data(1), scans(20)).json()
    assert client.get(f"/api/claims/{filed['id']}", headers=login(client, "l2_a")).status_code == 200
    assert client.get(f"/api/claims/{filed['id']}", headers=login(client, "l2_b")).status_code == 404
