"""The access policy (tasks.common.access) on a real database: who may see or act on a claim, a member, a task.

The routes' own tests show the HTTP answers; these pin the rules themselves, one reader at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import Session, col, select

from models.approvals import ApprovalTask
from models.claims import Claim
from models.errors import Forbidden, NotFound
from models.members import Member
from models.org import OrgUnit
from models.users import Role, User, UserCreate
from tasks.common import access
from tasks.common.users import create_user
from tests.api.conftest import insert_claim
from tests.factories import PASSWORD, World, build_world, hash_once

STAFF = ("admin", "auditor", "finance", "l1_a", "l1_b", "l2_a", "l2_b", "l3")


@pytest.fixture
def world(session: Session) -> World:
    built = build_world(session)
    # An L1 reviewer seated at a county (not at their level's own kind of unit): their subtree is a range.
    built.users["l1_county"] = create_user(
        session=session,
        data=UserCreate(
            username="l1_county", full_name="l1_county", password=PASSWORD, role=Role.UNIT_OFFICER,
            org_unit_code="X01",
        ),
    )  # fmt: skip
    session.commit()
    return built


@pytest.fixture
def claims(session: Session, world: World) -> list[Claim]:
    """One claim in review at each grassroots unit (G11, G12 under X01; G21, G22 under X02); the first filed by
    l1_b, who has no other reach over it."""
    return [
        insert_claim(session, world, n=n, unit=n - 1, filed_by=world.user("l1_b").id if n == 1 else None)
        for n in range(1, 5)
    ]


def member_user(session: Session, member_id: int | None, username: str) -> User:
    user = User(
        username=username, full_name=username, password_hash=hash_once(PASSWORD), role=Role.MEMBER,
        member_id=member_id,
    )  # fmt: skip
    session.add(user)
    session.commit()
    return user


def answers(lookup: Callable[..., object], **kwargs: Any) -> bool:
    """Whether a lookup answers (True), or says "not found" (False); Forbidden passes through."""
    try:
        lookup(**kwargs)
    except NotFound:
        return False
    return True


# --- case readers -------------------------------------------------------------------------------------------------


def test_case_readers_are_admins_auditors_and_reviewers(session: Session, world: World) -> None:
    for name in ("admin", "auditor", "l1_a", "l2_a", "l3"):
        access.check_case_reader(world.user(name))
    with pytest.raises(Forbidden, match="无权查看案件"):
        access.check_case_reader(world.user("finance"))
    with pytest.raises(Forbidden):
        access.check_case_reader(member_user(session, None, "m0"))


def test_a_reviewer_sees_the_claims_of_their_subtree_and_no_other(
    session: Session, world: World, claims: list[Claim]
) -> None:
    reach = {
        "admin": {0, 1, 2, 3}, "auditor": {0, 1, 2, 3}, "l3": {0, 1, 2, 3}, "l2_a": {0, 1}, "l2_b": {2, 3},
        "l1_a": {0}, "l1_b": {2}, "l1_county": {0, 1},
    }  # fmt: skip
    for name, wanted in reach.items():
        user = world.user(name)
        by_id = {
            i for i, c in enumerate(claims) if answers(access.case_claim, session=session, user=user, claim_id=c.id)
        }
        by_ref = {
            i for i, c in enumerate(claims)
            if answers(access.case_claim, session=session, user=user, reference=c.reference)
        }  # fmt: skip
        assert by_id == by_ref == wanted, name
    with pytest.raises(NotFound, match="未找到案件 C2026-NOPE"):
        access.case_claim(session=session, user=world.user("admin"), reference="C2026-NOPE")


# --- document and letter readers ----------------------------------------------------------------------------------


def test_documents_are_read_by_case_readers_the_filer_and_the_member_never_by_finance(
    session: Session, world: World, claims: list[Claim]
) -> None:
    first = claims[0]
    assert first.id is not None

    def reads(user: User) -> bool:
        return answers(access.readable_claim, session=session, user=user, claim_id=first.id)

    assert all(reads(world.user(n)) for n in ("admin", "auditor", "l1_a", "l2_a", "l3"))
    assert reads(world.user("l1_b"))  # filed it, though the claim lies outside their subtree
    assert not reads(world.user("l2_b"))
    assert reads(member_user(session, first.member_id, "m1"))
    assert not reads(member_user(session, claims[1].member_id, "m2"))
    with pytest.raises(Forbidden, match="财务人员无权查看理赔材料"):
        reads(world.user("finance"))
    with pytest.raises(NotFound, match="未找到案件 999999"):
        access.readable_claim(session=session, user=world.user("admin"), claim_id=999_999)


# --- filers -------------------------------------------------------------------------------------------------------


def test_filers_act_for_admins_anyone_officers_their_subtree_members_themselves(
    session: Session, world: World, claims: list[Claim]
) -> None:
    first = claims[0]
    assert first.id is not None
    access.check_filer(None)
    for name in ("admin", "l1_a"):
        access.check_filer(world.user(name))
    for name in ("auditor", "finance", "l2_a", "l3"):
        with pytest.raises(Forbidden, match="无权提交理赔申请"):
            access.check_filer(world.user(name))

    def acts(user: User | None) -> bool:
        return access.may_act_for(session, user, org_unit_id=first.org_unit_id, member_id=first.member_id)

    assert acts(None) and acts(world.user("admin")) and acts(world.user("l1_a")) and acts(world.user("l1_county"))
    assert not acts(world.user("l1_b")) and not acts(world.user("l2_a")) and not acts(world.user("auditor"))
    assert acts(member_user(session, first.member_id, "m1")) and not acts(member_user(session, None, "m0"))
    with pytest.raises(NotFound, match="未找到该会员"):
        access.check_may_file_for(session, world.user("l1_b"), org_unit_id=first.org_unit_id, member_id=first.member_id)
    # the user who filed a claim may add documents to it, even outside their reach
    assert access.claim_for_filer(session=session, user=world.user("l1_b"), claim_id=first.id) is first
    assert access.claim_for_filer(session=session, user=None, reference=first.reference) is first
    with pytest.raises(NotFound, match=f"未找到案件 {claims[1].reference}"):
        access.claim_for_filer(session=session, user=world.user("l1_b"), reference=claims[1].reference)


# --- members ------------------------------------------------------------------------------------------------------


def test_a_member_sees_their_own_claims_only(session: Session, world: World, claims: list[Claim]) -> None:
    mine = member_user(session, claims[0].member_id, "m1")
    assert [c.id for c in access.own_claims(session=session, user=mine)] == [claims[0].id]
    assert access.own_claim(session=session, user=mine, reference=claims[0].reference) is claims[0]
    with pytest.raises(NotFound, match=f"未找到案件 {claims[1].reference}"):
        access.own_claim(session=session, user=mine, reference=claims[1].reference)
    with pytest.raises(NotFound, match="该账号未关联会员"):
        access.linked_member_id(member_user(session, None, "m0"))


def test_a_quote_is_for_the_member_themselves_or_one_in_the_staff_subtree(
    session: Session, world: World, claims: list[Claim]
) -> None:
    members = [session.get(Member, c.member_id) for c in claims]
    first = members[0]
    assert first is not None
    number = f" {first.id_number.lower()} "  # trimmed and upper-cased before the lookup
    mine = member_user(session, members[1].id if members[1] else None, "m2")
    assert access.quoted_member(session=session, user=mine, id_number=first.id_number) is members[1]
    assert access.quoted_member(session=session, user=world.user("admin"), id_number=None) is None
    for user in (None, world.user("admin"), world.user("auditor"), world.user("l1_a"), world.user("l2_a")):
        assert access.quoted_member(session=session, user=user, id_number=number) is first
    for user in (world.user("l1_b"), world.user("l2_b"), world.user("finance")):
        with pytest.raises(NotFound, match="未找到该会员"):
            access.quoted_member(session=session, user=user, id_number=number)


# --- reviewers and their tasks ------------------------------------------------------------------------------------


def test_subtree_range_is_the_prefix_of_a_path(session: Session, world: World) -> None:
    county = world.counties[0]
    stmt = select(OrgUnit.id).where(access.subtree_range(col(OrgUnit.path), county.path))
    assert set(session.exec(stmt).all()) == {u.id for u in (county, *world.units[:2])}


def test_the_queue_scope_and_one_task_agree(session: Session, world: World, claims: list[Claim]) -> None:
    """For every user, the tasks the queue's SQL scope finds are exactly those one task's lookup answers."""
    tasks = list(session.exec(select(ApprovalTask).order_by(col(ApprovalTask.id))).all())
    units = {c.id: i for i, c in enumerate(claims)}
    reach = {"l1_a": {0}, "l1_b": {2}, "l1_county": {0, 1}, "l2_a": set(), "l3": set(), "admin": set()}
    for name, wanted in reach.items():
        user = world.user(name)
        scope = access.visible_to(session, user)
        in_scope = set(session.exec(select(ApprovalTask.id).where(scope)).all()) if scope is not None else set()
        one_by_one = {t.id for t in tasks if answers(access.get_visible_task, session=session, user=user, task_id=t.id)}
        locked = {
            t.id for t in tasks if answers(access.get_visible_task, session=session, user=user, task_id=t.id, lock=True)
        }
        assert in_scope == one_by_one == locked, name
        assert {units[t.claim_id] for t in tasks if t.id in in_scope} == wanted, name
        session.rollback()
    with pytest.raises(NotFound, match="未找到任务 999999"):
        access.get_visible_task(session=session, user=world.user("l1_a"), task_id=999_999)
