"""Importing a roster as a stream: chunk commits, progress, re-import after a crash, Excel, the reader thread."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from models.enrolments import Enrolment
from models.members import Member
from tasks.common.programmes import open_policy_year
from tasks.registration.enrolment import import_roster_rows
from tasks.registration.roster import parse_roster
from tasks.registration.roster_file import RosterFileError
from tasks.registration.roster_import import ImportReport, import_roster
from tests.conftest import TEST_DB
from tests.factories import World, build_world, id_number

HEADER = "姓名,身份证号,手机号,在职状态,单位编码,银行卡号,开户银行"


def person(n: int) -> str:
    """The n-th distinct valid ID number (500 per birth date)."""
    return id_number(n % 500, birth=date(1970, 1, 1) + timedelta(days=n // 500))


def line(n: int, unit: str = "G11", *, phone: str = "13800138000") -> str:
    """A valid roster line for the n-th test person."""
    return f"会员{chr(0x4E00 + n)},{person(n)},{phone},在职,{unit},6222020202020202,工商银行"


def roster(lines: list[str]) -> bytes:
    """A roster CSV as Excel saves one (UTF-8 with BOM, CRLF)."""
    return ("\ufeff" + "\r\n".join([HEADER, *lines, ""])).encode()


def counts(session: Session) -> tuple[int, int]:
    """(members, enrolments), read in a transaction of their own."""
    members = session.exec(select(func.count()).select_from(Member)).one()
    enrolments = session.exec(select(func.count()).select_from(Enrolment)).one()
    session.commit()
    return members, enrolments


def import_stream(
    session: Session,
    world: World,
    data: bytes,
    *,
    chunk_size: int = 5000,
    commit_each_chunk: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """import_roster of the bytes as a stream, as an administrator."""
    return import_roster(
        session=session,
        policy_year=world.policy_year,
        data=io.BytesIO(data),
        importer_scope_path=None,
        chunk_size=chunk_size,
        after_chunk=session.commit if commit_each_chunk else None,
        on_progress=on_progress,
    )


def test_chunked_import_commits_each_chunk_reports_progress_and_keeps_row_numbers(session: Session) -> None:
    world = build_world(session)
    lines = [line(n) for n in range(1, 11)]  # rows 2..11
    lines[1] = line(2, "G99")  # row 3: unknown unit (chunk 1)
    lines[6] = line(1)  # row 8 (chunk 3) repeats row 2 (chunk 1)
    progress: list[int] = []
    report = import_roster(
        session=session,
        policy_year=world.policy_year,
        data=io.BytesIO(roster(lines)),
        importer_scope_path=None,
        chunk_size=3,
        on_progress=progress.append,
        after_chunk=session.commit,
    )

    assert (report.total_rows, report.imported) == (10, 8)
    assert progress == [3, 6, 9, 10]
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (3, "单位", "单位编码“G99”不存在"),
        (8, "身份证号", "与第2行身份证号重复"),
    ]
    assert not session.in_transaction()  # committed after the last chunk
    enrolled = session.exec(select(Member.id_number).join(Enrolment).order_by(col(Enrolment.id))).all()
    assert enrolled == [person(n) for n in (1, 3, 4, 5, 6, 8, 9, 10)]  # in row order


def test_a_crash_half_way_is_finished_by_importing_again(session: Session) -> None:
    world = build_world(session)
    data = roster([line(n) for n in range(1, 13)])

    def crash_after_two_chunks(rows_read: int) -> None:
        if rows_read == 8:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        import_stream(session, world, data, chunk_size=4, commit_each_chunk=True, on_progress=crash_after_two_chunks)
    session.rollback()
    assert counts(session) == (8, 8)  # two chunks made it

    again = import_stream(session, world, data, chunk_size=4, commit_each_chunk=True)
    assert (again.imported, len(again.errors)) == (4, 8)
    assert {e.reason for e in again.errors} == {"已在本年度登记"}
    assert counts(session) == (12, 12)

    third = import_stream(session, world, data, chunk_size=5, commit_each_chunk=True)
    assert third.imported == 0 and len(third.errors) == 12
    assert counts(session) == (12, 12)


def test_a_chunk_mixing_new_enrolled_and_known_members(session: Session) -> None:
    world = build_world(session)
    import_stream(session, world, roster([line(1), line(2)]), commit_each_chunk=True)
    following = open_policy_year(session=session, programme=world.programme, year=2027)
    session.commit()
    rows = parse_roster(roster([line(1, "G12", phone="13912345678"), line(3)])).rows
    first = import_roster_rows(session=session, policy_year=following, rows=rows, importer_scope_path=None)
    session.commit()
    assert (first.imported, first.errors) == (2, [])
    rows = parse_roster(roster([line(4), line(1), line(5), line(2)])).rows
    second = import_roster_rows(session=session, policy_year=following, rows=rows, importer_scope_path=None)
    session.commit()

    assert second.imported == 3  # 4 and 5 new, 2 known from 2026 and not yet in 2027
    assert [(e.row, e.reason) for e in second.errors] == [(3, "已在本年度登记")]
    member = session.exec(select(Member).where(Member.id_number == person(1))).one()
    assert (member.phone, member.org_unit_id) == ("13912345678", world.units[1].id)
    assert counts(session) == (5, 2 + 5)


def test_an_excel_roster_streams_into_the_year(session: Session) -> None:
    world = build_world(session)
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER.split(","))
    for n in range(1, 8):
        sheet.append([f"会员{chr(0x4E00 + n)}", person(n), 13800000000 + n, "退休", "G21", None, None])
    sheet.append(["数字身份证", float(person(9)), None, "在职", "G21", None, None])
    out = io.BytesIO()
    book.save(out)
    report = import_stream(session, world, out.getvalue(), chunk_size=3, commit_each_chunk=True)

    assert (report.total_rows, report.imported) == (8, 7)
    (error,) = report.errors
    assert (error.row, error.reason) == (9, "身份证号被Excel存成了数字，请将该列设置为文本格式")
    phones = session.exec(select(Member.phone).order_by(col(Member.id))).all()
    assert phones == [str(13800000000 + n) for n in range(1, 8)]
    session.commit()


def test_a_file_error_half_way_keeps_the_committed_chunks_and_stops_the_reader(session: Session) -> None:
    world = build_world(session)
    lines = [line(n) for n in range(1, 7)] + ['x,"' + "y" * 200_000]
    before = {t.name for t in threading.enumerate()}

    with pytest.raises(RosterFileError, match="第8行不是有效的CSV格式"):
        import_stream(session, world, roster(lines), chunk_size=3, commit_each_chunk=True)
    session.rollback()

    assert counts(session) == (6, 6)
    assert {t.name for t in threading.enumerate()} - before == set()


def test_a_database_error_stops_the_reader(session: Session) -> None:
    world = build_world(session)
    before = {t.name for t in threading.enumerate()}

    def fail(_rows_read: int) -> None:
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        import_stream(session, world, roster([line(n) for n in range(1, 40)]), chunk_size=2, on_progress=fail)
    session.rollback()
    assert {t.name for t in threading.enumerate()} - before == set()


@pytest.mark.skipif(TEST_DB != "postgresql", reason="planner settings exist on PostgreSQL only")
def test_planner_settings_are_put_back_after_a_chunk(session: Session) -> None:
    world = build_world(session)
    rows = parse_roster(roster([line(1), line(2)])).rows
    import_roster_rows(session=session, policy_year=world.policy_year, rows=rows, importer_scope_path=None)
    assert session.execute(text("SHOW enable_hashjoin")).scalar() == "on"
    assert session.execute(text("SHOW enable_mergejoin")).scalar() == "on"
    session.commit()
