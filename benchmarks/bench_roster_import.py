"""Roster import speed: rows per second through parse_roster and import_roster_rows, against raw inserts.

    python benchmarks/bench_roster_import.py [--rows 100000] [--db sqlite|postgresql] [--chunk 5000]

A seeded CSV roster of N rows (valid, unique ID numbers from tasks.idcard.make_id_number with varied
birth dates; about 3% bad rows of several kinds) is (a) parsed with tasks.roster.parse_roster and
(b) enrolled with tasks.registration.import_roster_rows in chunks with one commit per chunk, into a fresh
database holding an org tree and a programme year built with tasks.orgs and tasks.programmes. Beside it,
the same member and enrolment rows go into another fresh database with SQLAlchemy core executemany,
explicit ids and the same chunks and commits: the physical limit of the database and driver. Building
the rows for the raw insert is not timed; everything else is wall-clock.
"""

from __future__ import annotations

import csv
import io
import random
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, insert
from sqlmodel import Session

from benchmarks.common import emit, environment, fresh_database, parse_args, peak_rss_mb, per_second, timed
from models.base import utcnow
from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.members import Member
from models.org import OrgLevel
from models.programmes import PolicyYear
from tasks.idcard import make_id_number
from tasks.orgs import create_org_unit
from tasks.programmes import create_programme, open_policy_year
from tasks.registration import import_roster_rows
from tasks.roster import RosterRow, parse_roster

HEADER = ("姓名", "身份证号", "手机号", "在职状态", "单位编码", "银行卡号", "开户银行")
UNITS = ("G11", "G12", "G21", "G22")  # the grassroots unions of build_programme_year
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚华建国志红玉海燕鹏飞晓东春梅文斌宇"
BANKS = ("中国工商银行", "中国农业银行", "中国建设银行", "中国银行", "交通银行", "")
BAD_SHARE = 0.03


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
        row[4] = "G99"  # no such unit: passes parsing, refused at import
    else:
        row[1] = _id_number(max(0, index - 1))  # repeats the previous row's ID number
    return row


def make_roster(count: int, seed: int = 20260301) -> bytes:
    """A roster CSV (UTF-8 with BOM, as Excel saves it) of count data rows, about 3% of them bad."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
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
        writer.writerow(row)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def build_programme_year(session: Session) -> tuple[PolicyYear, dict[str, int]]:
    """A city union, two counties, four grassroots unions and an open 2026 programme year, through the
    product's services (tasks.orgs, tasks.programmes); (policy year, grassroots unit code → id)."""
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


def import_chunks(engine: Engine, rows: list[RosterRow], chunk: int) -> tuple[int, int, float]:
    """Enrol rows into a fresh programme year, one commit per chunk; (imported, refused, seconds).

    Building the org tree and programme year is not timed.
    """
    imported = refused = 0
    with Session(engine, expire_on_commit=False) as session:
        policy_year, _units = build_programme_year(session)

        def run() -> None:
            nonlocal imported, refused
            for start in range(0, len(rows), chunk):
                result = import_roster_rows(
                    session=session, policy_year=policy_year, rows=rows[start : start + chunk], importer_scope_path=None
                )
                session.commit()
                imported += result.imported
                refused += len(result.errors)

        seconds, _ = timed(run)
    return imported, refused, seconds


def raw_insert(engine: Engine, rows: list[RosterRow], chunk: int) -> float:
    """Seconds to insert the same members and enrolments with core executemany, one commit per chunk."""
    with Session(engine, expire_on_commit=False) as session:
        policy_year, units = build_programme_year(session)
    year_id, contribution = policy_year.id, policy_year.policy().contribution_fen
    now = utcnow()
    members: list[dict[str, Any]] = []
    enrolments: list[dict[str, Any]] = []
    for n, r in enumerate(rows, start=1):
        members.append(
            {
                "id": n,
                "name": r.name,
                "id_number": r.id_number,
                "birth_date": r.birth_date,
                "sex": r.sex,
                "phone": r.phone,
                "employment_status": str(r.employment_status),
                "org_unit_id": units[r.unit_code],
                "bank_card": r.bank_card,
                "bank_name": r.bank_name,
                "barred": False,
                "created_at": now,
            }
        )
        enrolments.append(
            {
                "member_id": n,
                "policy_year_id": year_id,
                "org_unit_id": units[r.unit_code],
                "kind": str(EnrolmentKind.NEW),
                "status": str(EnrolmentStatus.REGISTERED),
                "version": 1,
                "contribution_fen": contribution,
                "registered_at": now,
            }
        )
    member_table, enrolment_table = Member.__table__, Enrolment.__table__  # type: ignore[attr-defined]

    def run() -> None:
        for start in range(0, len(rows), chunk):
            with engine.begin() as conn:
                conn.execute(insert(member_table), members[start : start + chunk])
                conn.execute(insert(enrolment_table), enrolments[start : start + chunk])

    seconds, _ = timed(run)
    return seconds


def main() -> None:
    """Generate, parse, import and raw-insert a roster; print the figures."""
    args = parse_args(__doc__ or "", 100_000, chunk=(int, 5000, "rows per import chunk and commit (default 5000)"))
    data = make_roster(args.rows)
    parse_seconds, parsed = timed(lambda: parse_roster(data))
    with fresh_database(args.db) as engine:
        imported, refused, import_seconds = import_chunks(engine, parsed.rows, args.chunk)
    peak = peak_rss_mb()
    valid = [r for r in parsed.rows if r.unit_code in UNITS]  # what import could enrol: same rows for raw
    with fresh_database(args.db) as engine:
        raw_seconds = raw_insert(engine, valid, args.chunk)
    total_seconds = parse_seconds + import_seconds
    emit(
        {
            "benchmark": "roster_import",
            "database": args.db,
            "rows": args.rows,
            "chunk_size": args.chunk,
            "csv_mb": round(len(data) / 2**20, 2),
            "valid_rows_parsed": len(parsed.rows),
            "parse_errors": len(parsed.errors),
            "imported": imported,
            "import_errors": refused,
            "parse_seconds": round(parse_seconds, 3),
            "import_seconds": round(import_seconds, 3),
            "total_seconds": round(total_seconds, 3),
            "parse_rows_per_second": per_second(args.rows, parse_seconds),
            "import_rows_per_second": per_second(len(parsed.rows), import_seconds),
            "total_rows_per_second": per_second(args.rows, total_seconds),
            "peak_rss_mb": peak,
            "raw_rows": len(valid),
            "raw_insert_seconds": round(raw_seconds, 3),
            "raw_rows_per_second": per_second(len(valid), raw_seconds),
            "ratio_total_over_raw_seconds": round(total_seconds / raw_seconds, 2),
            "ratio_import_over_raw_seconds": round(import_seconds / raw_seconds, 2),
            "environment": environment(),
        }
    )


if __name__ == "__main__":
    main()
