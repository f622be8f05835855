"""Decision letters through the API: who may list and read them, what the listing says, and the member's own."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from core.storage.base import ObjectStore, sha256_hex
from models.claims import Claim
from models.letters import Letter
from tasks.letters.outbox import dispatch_pending
from tests.api.conftest import ClaimMaker, login, task_of
from tests.api.test_my_claims import member_account
from tests.factories import World


def rejected_with_letter(client: TestClient, session: Session, store: ObjectStore, claim: Claim) -> Letter:
    """Reject the claim at level 1 through the API and dispatch the outbox: its rejection letter."""
    task = task_of(session, claim.id)
    body = {"outcome": "reject", "reason": "住院发票与费用清单金额不符", "version": task.version}
    assert client.post(f"/api/tasks/{task.id}/decision", json=body, headers=login(client, "l1_a")).status_code == 200
    dispatch_pending(session=session, store=store, limit=50)
    session.commit()
    letter = session.exec(select(Letter).where(Letter.claim_id == claim.id)).one()
    session.commit()
    return letter


def test_the_listing_says_what_the_letter_is_and_whether_it_was_on_time(
    client: TestClient, session: Session, store: ObjectStore, world: World, make_claim: ClaimMaker
) -> None:
    claim = make_claim()
    letter = rejected_with_letter(client, session, store, claim)
    admin = login(client, "admin")
    (listed,) = client.get(f"/api/claims/{claim.id}/letters", headers=admin).json()
    assert listed["id"] == letter.id and listed["kind"] == "rejection" and listed["kind_label"] == "不予补偿决定通知书"
    assert listed["language"] == "zh-CN" and listed["on_time"] is True
    decided_at, due_at = datetime.fromisoformat(listed["decided_at"]), datetime.fromisoformat(listed["due_at"])
    assert due_at - decided_at == timedelta(days=7)
    english = client.get(f"/api/claims/{claim.id}/letters", headers=admin | {"Accept-Language": "en"}).json()
    assert english[0]["kind_label"] == "Decision letter: claim rejected"
    content = client.get(listed["url"], headers=admin)
    assert content.status_code == 200
    assert content.headers["content-type"] == "text/markdown; charset=utf-8"
    assert content.headers["cache-control"] == "no-store"
    assert sha256_hex(content.content) == listed["sha256"] == letter.sha256
    text = content.content.decode("utf-8")
    assert claim.reference in text and "理由：住院发票与费用清单金额不符" in text


@pytest.mark.parametrize(
    ("username", "status"),
    [("admin", 200), ("auditor", 200), ("l1_a", 200), ("l2_a", 200), ("l3", 200),
     ("l1_b", 404), ("l2_b", 404), ("finance", 403)],
)  # fmt: skip
def test_letters_are_for_those_who_may_read_the_claims_documents(
    client: TestClient,
    session: Session,
    store: ObjectStore,
    world: World,
    make_claim: ClaimMaker,
    username: str,
    status: int,
) -> None:
    claim = make_claim()
    letter = rejected_with_letter(client, session, store, claim)
    headers = login(client, username)
    listing = client.get(f"/api/claims/{claim.id}/letters", headers=headers)
    content = client.get(f"/api/claims/{claim.id}/letters/{letter.id}/content", headers=headers)
    assert (listing.status_code, content.status_code) == (status, status)
    if status != 200:
        assert "住院发票" not in listing.text + content.text


def test_anonymous_readers_are_turned_away(
    client: TestClient, session: Session, store: ObjectStore, world: World, make_claim: ClaimMaker
) -> None:
    claim = make_claim()
    letter = rejected_with_letter(client, session, store, claim)
    assert client.get(f"/api/claims/{claim.id}/letters").status_code == 401
    assert client.get(f"/api/claims/{claim.id}/letters/{letter.id}/content").status_code == 401


def test_a_letter_of_another_claim_or_a_missing_file_is_a_404(
    client: TestClient, session: Session, store: ObjectStore, world: World, make_claim: ClaimMaker
) -> None:
    claim, other = make_claim(), make_claim()
    letter = rejected_with_letter(client, session, store, claim)
    admin = login(client, "admin")
    assert client.get(f"/api/claims/{other.id}/letters/{letter.id}/content", headers=admin).status_code == 404
    assert client.get(f"/api/claims/{claim.id}/letters/999999/content", headers=admin).status_code == 404
    assert client.get(f"/api/claims/{other.id}/letters", headers=admin).json() == []
    assert client.get("/api/claims/999999/letters", headers=admin).status_code == 404
    store.delete(letter.object_key)
    missing = client.get(f"/api/claims/{claim.id}/letters/{letter.id}/content", headers=admin)
    assert missing.status_code == 404 and missing.json()["code"] == "letter_object_missing"


def test_a_member_reads_the_letters_of_their_own_claims_only(
    client: TestClient, session: Session, store: ObjectStore, world: World, make_claim: ClaimMaker
) -> None:
    mine, theirs = make_claim(), make_claim()  # members 1 and 2
    my_letter = rejected_with_letter(client, session, store, mine)
    their_letter = rejected_with_letter(client, session, store, theirs)
    me = member_account(client, "member1", 1)
    (listed,) = client.get(f"/api/me/claims/{mine.reference}/letters", headers=me).json()
    assert listed["id"] == my_letter.id and listed["url"].endswith(
        f"/api/me/claims/{mine.reference}/letters/{my_letter.id}/content"
    )
    content = client.get(listed["url"], headers=me)
    assert content.status_code == 200 and "测试会员1同志" in content.content.decode("utf-8")
    assert content.headers["cache-control"] == "no-store"
    # the general route serves the member their own claim's letters too (they may read its documents)
    assert client.get(f"/api/claims/{mine.id}/letters", headers=me).status_code == 200
    # another member's claim and letters are not found, by either route
    assert client.get(f"/api/me/claims/{theirs.reference}/letters", headers=me).status_code == 404
    their_content = f"/api/me/claims/{theirs.reference}/letters/{their_letter.id}/content"
    assert client.get(their_content, headers=me).status_code == 404
    mixed = f"/api/me/claims/{mine.reference}/letters/{their_letter.id}/content"
    assert client.get(mixed, headers=me).status_code == 404
    assert client.get(f"/api/claims/{theirs.id}/letters", headers=me).status_code == 404
    assert client.get(f"/api/claims/{theirs.id}/letters/{their_letter.id}/content", headers=me).status_code == 404
    # staff have no member routes
    assert client.get(f"/api/me/claims/{mine.reference}/letters", headers=login(client, "admin")).status_code == 403
