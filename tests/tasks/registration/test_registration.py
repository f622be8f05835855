"""Registration: roster import into a policy year, idempotent re-import, scope checks, renewal carry-over."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.members import Member
from tasks.common.programmes import open_policy_year
from tasks.eligibility.checks import check_enrolments, pending_enrolment_ids
from tasks.funds.contributions import collect_unit_contribution
from tasks.registration.enrolment import import_roster_rows
from tasks.registration.renewal import due_for_renewal, renew_unit
from tasks.registration.roster import parse_roster
from tasks.registration.roster_import import import_roster
from tests.factories import World, build_world, id_number

HEADER = "姓名,身份证号,手机号,在职状态,单位,银行卡号,开户银行"


def roster(*lines: str) -> bytes:
    """A roster file with the standard header."""
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def line(n: int, unit: str = "G11", *, name: str = "张三", phone: str = "13800138000") -> str:
    """A valid roster line for the n-th test ID number."""
    return f"{name},{id_number(n)},{phone},在职,{unit},6222020202020202,工商银行"


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_import_takes_good_rows_and_reports_bad_ones(session: Session) -> None:
    world = build_world(session)
    data = roster(
        line(1),
        line(2, "G12"),
        "李四,123,,在职,G11,,",  # row 4: bad ID
        line(3, "NOPE"),  # row 5: unknown unit
        line(4, "X01"),  # row 6: a county union, not grassroots
        line(5, "G21"),
    )
    report = import_roster(session=session, policy_year=world.policy_year, data=data, importer_scope_path=None)

    assert (report.total_rows, report.imported) == (6, 3)
    assert [(e.row, e.column) for e in report.errors] == [(4, "身份证号"), (5, "单位"), (6, "单位")]
    assert "不存在" in report.errors[1].reason and "基层工会" in report.errors[2].reason
    enrolments = session.exec(select(Enrolment).order_by(col(Enrolment.id))).all()
    assert [e.org_unit_id for e in enrolments] == [world.units[0].id, world.units[1].id, world.units[2].id]
    for enrolment in enrolments:
        assert enrolment.status == EnrolmentStatus.REGISTERED and enrolment.kind == EnrolmentKind.NEW
        assert enrolment.contribution_fen == 9500 and enrolment.policy_year_id == world.policy_year.id
    member = session.exec(select(Member).where(Member.id_number == id_number(1))).one()
    assert (member.name, member.birth_date, member.sex, member.phone) == ("张三", date(1980, 5, 17), "M", "13800138000")
    assert member.employment_status == "in_service" and member.bank_name == "工商银行"
    assert member.org_unit_id == world.units[0].id and member.barred is False


def test_reimport_creates_nothing_twice(session: Session) -> None:
    world = build_world(session)
    data = roster(line(1), line(2))
    first = import_roster(session=session, policy_year=world.policy_year, data=data, importer_scope_path=None)
    session.commit()
    again = import_roster(session=session, policy_year=world.policy_year, data=data, importer_scope_path=None)

    assert (first.imported, again.imported) == (2, 0)
    assert [(e.row, e.reason) for e in again.errors] == [(2, "已在本年度登记"), (3, "已在本年度登记")]
    assert id_number(1) not in {e.value for e in again.errors}  # masked
    assert (count(session, Member), count(session, Enrolment)) == (2, 2)


def test_known_member_is_reused_and_updated(session: Session) -> None:
    world = build_world(session)
    earlier = open_policy_year(session=session, programme=world.programme, year=2025)
    import_roster(session=session, policy_year=earlier, data=roster(line(1, phone="")), importer_scope_path=None)
    rows = parse_roster(roster(line(1, "G12", phone="13912345678"), line(2))).rows
    result = import_roster_rows(session=session, policy_year=world.policy_year, rows=rows, importer_scope_path=None)

    assert (result.imported, result.errors) == (2, [])
    assert (count(session, Member), count(session, Enrolment)) == (2, 3)
    member = session.exec(select(Member).where(Member.id_number == id_number(1))).one()
    session.refresh(member)
    assert (member.phone, member.org_unit_id) == ("13912345678", world.units[1].id)


def test_units_outside_the_importers_scope_are_refused(session: Session) -> None:
    world = build_world(session)
    rows = parse_roster(roster(line(1, "G11"), line(2, "G21"), line(3, "G12"))).rows
    result = import_roster_rows(
        session=session, policy_year=world.policy_year, rows=rows, importer_scope_path=world.counties[0].path
    )

    assert result.imported == 2
    (error,) = result.errors
    assert (error.row, error.column, error.value) == (3, "单位", "G21")
    assert "管辖范围" in error.reason
    assert count(session, Member) == 2


def test_duplicates_inside_a_chunk_are_refused(session: Session) -> None:
    world = build_world(session)
    row = parse_roster(roster(line(1))).rows[0]
    rows = [row, replace(row, row=7, unit_code="G12")]
    result = import_roster_rows(session=session, policy_year=world.policy_year, rows=rows, importer_scope_path=None)
    assert result.imported == 1
    assert [(e.row, e.reason) for e in result.errors] == [(7, "与第2行身份证号重复")]


def activate_all(session: Session, world: World, units: range) -> None:
    """Run eligibility and collect every unit's contribution before the year starts."""
    year = world.policy_year
    assert year.id is not None
    check_enrolments(session=session, enrolment_ids=pending_enrolment_ids(session=session, policy_year_id=year.id))
    for i in units:
        collect_unit_contribution(
            session=session, policy_year=year, unit=world.units[i], received_on=date(2024, 12, 1), reference=f"R{i}"
        )


def test_renewal_carries_active_members_over_once(session: Session) -> None:
    world = build_world(session, year=2025)
    too_old = f"老人,{id_number(9, birth=date(1940, 1, 1))},,退休,G11,,"
    import_roster(
        session=session,
        policy_year=world.policy_year,
        data=roster(line(1), line(2), line(3), too_old, line(4, "G12")),
        importer_scope_path=None,
    )
    activate_all(session, world, range(2))
    unit = world.units[0]
    assert unit.id is not None

    due = due_for_renewal(session=session, policy_year=world.policy_year, unit_id=unit.id)
    assert [m.id_number for m in due] == [id_number(1), id_number(2), id_number(3)]  # not the ineligible one

    following = open_policy_year(session=session, programme=world.programme, year=2026)
    already = parse_roster(roster(line(3))).rows
    import_roster_rows(session=session, policy_year=following, rows=already, importer_scope_path=None)
    due = due_for_renewal(session=session, policy_year=world.policy_year, unit_id=unit.id)
    assert [m.id_number for m in due] == [id_number(1), id_number(2)]

    carried = renew_unit(session=session, from_year=world.policy_year, to_year=following, unit=unit)
    assert carried == 2
    renewals = session.exec(
        select(Enrolment).where(Enrolment.policy_year_id == following.id, Enrolment.kind == EnrolmentKind.RENEWAL)
    ).all()
    assert {(e.status, e.org_unit_id, e.contribution_fen) for e in renewals} == {("registered", unit.id, 9500)}
    assert due_for_renewal(session=session, policy_year=world.policy_year, unit_id=unit.id) == []
    assert renew_unit(session=session, from_year=world.policy_year, to_year=following, unit=unit) == 0
    assert count(session, Enrolment) == 5 + 1 + 2
