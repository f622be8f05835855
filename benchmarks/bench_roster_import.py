"""Roster import speed: a roster file on disk through the streaming entry point, against raw bulk inserts.

    python benchmarks/bench_roster_import.py [--rows 1000000] [--db sqlite|postgresql] [--format csv|xlsx]
                                             [--chunk 5000]

A seeded roster of N rows (valid, unique ID numbers from tasks.common.idcard.make_id_number with varied birth
dates; about 3% bad rows of several kinds) is written to a file (CSV in UTF-8 with BOM as Excel saves it,
or .xlsx with phone numbers stored as numbers), then imported with tasks.registration.roster_import.import_roster
(after_chunk=session.commit, reading the open file) into a fresh database holding an org tree and a programme
year built with tasks.common.orgs and tasks.common.programmes. That is the timed figure: reading, validation, duplicate
checks and the database work, wall clock. Peak RSS is taken right after it (the file is written streaming).

Beside it, the valid rows go into other fresh databases as raw bulk inserts of members and enrolments with
explicit ids, in the same chunks with one commit per chunk, timing only the insert calls: `raw` is the
fastest path the driver has (COPY on PostgreSQL, sqlite3 executemany of tuples on SQLite), `raw_core` is
SQLAlchemy core executemany (what earlier versions of this benchmark called raw). Reading the file alone
(iter_roster, no database) is timed too, to show where the time goes.

Reading .xlsx runs at openpyxl's pace (read-only mode, ~10k rows/s of 7 cells here: a 1,000,000-row workbook
takes ~60 s to write and ~100 s to read), so --format xlsx defaults to 200,000 rows; the JSON says so.
"""

from __future__ import annotations

import csv
import random
import sys
import tempfile
from collections.abc import Iterator
from contextlib import closing
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openpyxl import Workbook
from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session

from benchmarks.common import (
    emit,
    environment,
    fresh_database,
    parse_args,
    peak_rss_mb,
    per_second,
    timed,
)
from models.base import utcnow
from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.members import Member
from models.org import OrgLevel
from models.programmes import PolicyYear
from tasks.common.idcard import make_id_number
from tasks.common.orgs import create_org_unit
from tasks.common.programmes import create_programme, open_policy_year
from tasks.registration.roster import iter_roster
from tasks.registration.roster_import import import_roster
from tasks.registration.roster_rows import RosterRow

HEADER = ("姓名", "身份证号", "手机号", "在职状态", "单位编码", "银行卡号", "开户银行")
UNITS = ("G11", "G12", "G21", "G22")  # the grassroots unions of build_programme_year
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚华建国志红玉海燕鹏飞晓东春梅文斌宇"
BANKS = ("中国工商银行", "中国农业银行", "中国建设银行", "中国银行", "交通银行", "")
BAD_SHARE = 0.03
DEFAULT_ROWS = {"csv": 1_000_000, "xlsx": 200_000}
MEMBER_COLUMNS = (
    "id", "name", "id_number", "birth_date", "sex", "phone", "employment_status", "org_unit_id",
    "bank_card", "bank_name", "barred", "created_at",
)  # fmt: skip
ENROLMENT_COLUMNS = (
    "member_id", "policy_year_id", "org_unit_id", "kind", "status", "version", "contribution_fen", "registered_at",
)  # fmt: skip


def _id_number(i: int) -> str:
    """The i-th unique valid ID number: 1,000 per birth date, birth dates spread over 1955-2004."""
    day, within = divmod(i, 1000)
    birth = date(1955, 1, 1) + timedelta(days=(day * 97) % 18_250)  # 97 is prime to 18,250: distinct days
    return make_id_number("110105", birth, within % 500, male=within >= 500)


def _bad(row: list[str], rng: random.Random, index: int) -> list[str]:
    """Spoil a good row in one of the ways real rosters go wrong."""
    kind = rng.randrange(6)
    if kind == 0:  # wrong check digit
        row[1] = row[1][:17] + ("0" if row[1][17] != "0" else "1")
    elif kind == 1:
        row[2] = "1234"  # not a mobile number
    elif kind == 2:
        row[0] = ""  # no name
    elif kind == 3:
        row[3] = "离职"  # not in service or retired
    elif kind == 4:
        row[4] = "G99"  # no such unit: passes reading, refused at import
    else:
        row[1] = _id_number(max(0, index - 1))  # repeats the previous row's ID number
    return row


def roster_rows(count: int, seed: int = 20260301) -> Iterator[list[str]]:
    """count data rows of a roster, about 3% of them bad, generated one at a time."""
    rng = random.Random(seed)
    for i in range(count):
        id_number = _id_number(i)
        born = int(id_number[6:10])
        row = [
            rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
            id_number,
            f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}" if rng.random() < 0.9 else "",
            "退休" if born < 1965 and rng.random() < 0.7 else "在职",
            rng.choice(UNITS),
            f"6222{rng.randrange(10**15):015d}" if rng.random() < 0.8 else "",
            rng.choice(BANKS),
        ]
        if rng.random() < BAD_SHARE:
            row = _bad(row, rng, i)
        yield row


def write_csv(path: Path, count: int) -> None:
    """A roster CSV (UTF-8 with BOM, CRLF, as Excel saves it), written streaming."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows(roster_rows(count))


def write_xlsx(path: Path, count: int) -> None:
    """A roster workbook (one sheet, IDs and cards as text, phone numbers as numbers), written streaming."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("名册")
    sheet.append(HEADER)
    for row in roster_rows(count):
        phone: str | int = int(row[2]) if row[2].isdigit() else row[2]
        sheet.append([row[0], row[1], phone, *row[3:]])
    workbook.save(path)


def build_programme_year(session: Session) -> tuple[PolicyYear, dict[str, int]]:
    """A city union, two counties, four grassroots unions and an open 2026 programme year, through the
    product's services (tasks.common.orgs, tasks.common.programmes); (policy year, grassroots unit code → id)."""
    city = create_org_unit(session=session, code="C01", name="示范市总工会", level=OrgLevel.CITY)
    units: dict[str, int] = {}
    for c in (1, 2):
        county = create_org_unit(
            session=session, code=f"X0{c}", name=f"第{c}区总工会", level=OrgLevel.COUNTY, parent=city
        )
        for u in (1, 2):
            unit = create_org_unit(
                session=session, code=f"G{c}{u}", name=f"第{c}区第{u}单位工会", level=OrgLevel.GRASSROOTS, parent=county
            )
            assert unit.id is not None
            units[unit.code] = unit.id
    programme = create_programme(session=session, code="MA", name="职工医疗互助保障", owner=city)
    policy_year = open_policy_year(session=session, programme=programme, year=2026)
    session.commit()
    return policy_year, units


def import_file(engine: Engine, path: Path, chunk: int) -> dict[str, Any]:
    """Import the roster file with the streaming entry point, one commit per chunk; figures and checks."""
    with Session(engine, expire_on_commit=False) as session:
        policy_year, _units = build_programme_year(session)
        progress: list[int] = []
        with path.open("rb") as source:
            seconds, report = timed(
                lambda: import_roster(
                    session=session,
                    policy_year=policy_year,
                    data=source,
                    importer_scope_path=None,
                    chunk_size=chunk,
                    on_progress=progress.append,
                    after_chunk=session.commit,
                )
            )
        enrolments = session.scalar(select(func.count()).select_from(Enrolment))
        session.commit()
    assert enrolments == report.imported, (enrolments, report.imported)
    assert progress and progress[-1] == report.total_rows
    return {
        "total_rows": report.total_rows,
        "imported": report.imported,
        "rejected_rows": len({e.row for e in report.errors}),
        "row_errors": len(report.errors),
        "progress_calls": len(progress),
        "seconds": seconds,
    }


def read_only(path: Path, chunk: int) -> tuple[float, int]:
    """Seconds to read and validate the file with no database; valid rows."""

    def run() -> int:
        with path.open("rb") as source:
            return sum(len(c.rows) for c in iter_roster(source, chunk_size=chunk))

    return timed(run)


def _valid_chunks(path: Path, chunk: int) -> Iterator[list[RosterRow]]:
    """The rows import could enrol (valid and of a known unit), chunk by chunk, as the file has them."""
    with path.open("rb") as source:
        for roster_chunk in iter_roster(source, chunk_size=chunk):
            yield [r for r in roster_chunk.rows if r.unit_code in UNITS]


def raw_insert(engine: Engine, path: Path, chunk: int, *, driver_level: bool) -> tuple[int, float]:
    """Rows and seconds to insert the valid rows' members and enrolments with explicit ids, one commit per
    chunk: COPY (PostgreSQL) or sqlite3 executemany when driver_level, else SQLAlchemy core executemany.
    Only the insert calls are timed."""
    with Session(engine, expire_on_commit=False) as session:
        policy_year, units = build_programme_year(session)
    year_id, contribution = policy_year.id, policy_year.policy().contribution_fen
    now = utcnow()
    postgres = engine.dialect.name == "postgresql"
    member_table, enrolment_table = Member.__table__, Enrolment.__table__  # type: ignore[attr-defined]
    seconds = 0.0
    count = 0
    for rows in _valid_chunks(path, chunk):
        members = [
            (
                count + n, r.name, r.id_number, r.birth_date, r.sex, r.phone, str(r.employment_status),
                units[r.unit_code], r.bank_card, r.bank_name, False, now,
            )
            for n, r in enumerate(rows, start=1)
        ]  # fmt: skip
        enrolments = [
            (m[0], year_id, m[7], str(EnrolmentKind.NEW), str(EnrolmentStatus.REGISTERED), 1, contribution, now)
            for m in members
        ]
        count += len(rows)

        def run(members: list[tuple[Any, ...]] = members, enrolments: list[tuple[Any, ...]] = enrolments) -> None:
            with engine.begin() as conn:
                if not driver_level:
                    conn.execute(insert(member_table), [dict(zip(MEMBER_COLUMNS, m, strict=True)) for m in members])
                    conn.execute(
                        insert(enrolment_table), [dict(zip(ENROLMENT_COLUMNS, e, strict=True)) for e in enrolments]
                    )
                    return
                driver: Any = conn.connection.driver_connection
                with closing(driver.cursor()) as cursor:
                    for table, columns, records in (
                        ("member", MEMBER_COLUMNS, members),
                        ("enrolment", ENROLMENT_COLUMNS, enrolments),
                    ):
                        if postgres:
                            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                                for record in records:
                                    copy.write_row(record)
                        else:
                            marks = ", ".join("?" * len(columns))
                            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
                            cursor.executemany(sql, [_sqlite_values(r) for r in records])

        seconds += timed(run)[0]
    return count, seconds


def _sqlite_values(record: tuple[Any, ...]) -> tuple[Any, ...]:
    """Dates and timestamps as the text SQLAlchemy stores them in SQLite."""
    return tuple(
        v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v.isoformat() if isinstance(v, date) else v
        for v in record
    )


def main() -> None:
    """Write, import, read and raw-insert a roster; print the figures."""
    args = parse_args(
        __doc__ or "",
        0,
        chunk=(int, 5000, "rows per import chunk and commit (default 5000)"),
        format=(str, "csv", "csv or xlsx (default csv)"),
    )
    if args.format not in DEFAULT_ROWS:
        raise SystemExit("--format must be csv or xlsx")
    rows = args.rows or DEFAULT_ROWS[args.format]
    with tempfile.TemporaryDirectory(prefix="mutualaid-roster-") as folder:
        path = Path(folder) / f"roster.{args.format}"
        write_seconds, _ = timed(lambda: (write_csv if args.format == "csv" else write_xlsx)(path, rows))
        with fresh_database(args.db) as engine:
            figures = import_file(engine, path, args.chunk)
        peak = peak_rss_mb()
        read_seconds, valid = read_only(path, args.chunk)
        with fresh_database(args.db) as engine:
            raw_rows, raw_seconds = raw_insert(engine, path, args.chunk, driver_level=True)
        with fresh_database(args.db) as engine:
            _, core_seconds = raw_insert(engine, path, args.chunk, driver_level=False)
        file_mb = round(path.stat().st_size / 2**20, 2)
    seconds = figures.pop("seconds")
    emit(
        {
            "benchmark": "roster_import",
            "database": args.db,
            "format": args.format,
            "rows": rows,
            "rows_note": "xlsx defaults to 200,000 rows: openpyxl reads ~10k rows/s, 1,000,000 take ~100 s"
            if args.format == "xlsx" and not args.rows
            else "",
            "chunk_size": args.chunk,
            "file_mb": file_mb,
            "write_file_seconds": round(write_seconds, 1),
            **figures,
            "import_seconds": round(seconds, 3),
            "import_rows_per_second": per_second(rows, seconds),
            "peak_rss_mb": peak,
            "read_validate_seconds": round(read_seconds, 3),
            "read_validate_rows_per_second": per_second(rows, read_seconds),
            "valid_rows_read": valid,
            "raw_rows": raw_rows,
            "raw_method": "COPY" if args.db == "postgresql" else "sqlite3 executemany",
            "raw_insert_seconds": round(raw_seconds, 3),
            "raw_rows_per_second": per_second(raw_rows, raw_seconds),
            "ratio_import_over_raw": round(seconds / raw_seconds, 2),
            "raw_core_executemany_seconds": round(core_seconds, 3),
            "ratio_import_over_raw_core": round(seconds / core_seconds, 2),
            "environment": environment(),
        }
    )


if __name__ == "__main__":
    main()
