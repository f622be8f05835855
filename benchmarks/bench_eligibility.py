"""Eligibility review speed: enrolments per second through the real path, on SQLite or PostgreSQL.

    python benchmarks/bench_eligibility.py [--rows 1000000] [--db sqlite|postgresql] [--chunk 10000] [--workers 1]

Setup (not timed): a fresh database with an org tree and a 2026 programme year built with tasks.common.orgs and
tasks.common.programmes (region: the subtrees of counties X01 and X02), then N members and N registered
enrolments written with raw bulk inserts (executemany on SQLite, COPY on PostgreSQL, then ANALYZE as
autovacuum would). The members have birth dates spread over 1940-2013 (some too old or too young on the
reference day, some exactly on a boundary), about a quarter are retired, 0.1% are flagged barred on the
member row and 0.1% are on the programme's bar list (a few of those entries lifted again), 0.5% belong
to a unit outside the region, and 0.2% are enrolled at a county union (not grassroots: needs review).
Registration times are on both sides of the year's start, so both reference days are exercised.

Timed: the eligibility flow's path without Prefect. tasks.eligibility.checks.pending_enrolment_ids pages the
year's registered ids, and each chunk goes to tasks.eligibility.checks.check_enrolments (with the year, as the
flow's task calls it) in a session and transaction of its own, committed per chunk. --workers 1 (the
default) checks one chunk after another; --workers N checks N at once on threads, as the flow's task
runner does. The outcome counts are read back from the database afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from benchmarks.common import emit, environment, fresh_database, parse_args, peak_rss_mb, per_second, timed
from models.audit import AuditEvent
from models.enrolments import Enrolment
from models.org import OrgLevel
from models.rules import PolicyRules
from models.states import Actor
from tasks.common.idcard import make_id_number
from tasks.common.orgs import create_org_unit
from tasks.common.programmes import create_programme, open_policy_year
from tasks.eligibility.checks import EligibilityCounts, check_enrolments, pending_enrolment_ids

YEAR = 2026
BATCH = 50_000  # rows per setup insert batch
MEMBER_COLUMNS = (
    "id", "name", "id_number", "birth_date", "sex", "phone", "employment_status", "org_unit_id",
    "bank_card", "bank_name", "barred", "created_at",
)  # fmt: skip
ENROLMENT_COLUMNS = (
    "id", "member_id", "policy_year_id", "org_unit_id", "kind", "status", "version", "reason",
    "contribution_fen", "registered_at",
)  # fmt: skip
BAR_COLUMNS = ("programme_id", "id_number", "reason", "added_by", "added_at", "lifted_at")
ACTOR = Actor(None, "bench:eligibility")


def build_world(engine: Engine) -> dict[str, int]:
    """Org units, programme and policy year through the product's services; the ids the rows need."""
    with Session(engine, expire_on_commit=False) as session:
        city = create_org_unit(session=session, code="C01", name="示范市总工会", level=OrgLevel.CITY)
        ids: dict[str, int] = {}
        for c in (1, 2):
            county = create_org_unit(
                session=session, code=f"X0{c}", name=f"第{c}区总工会", level=OrgLevel.COUNTY, parent=city
            )
            ids[county.code] = county.id or 0
            for u in (1, 2):
                unit = create_org_unit(
                    session=session, code=f"G{c}{u}", name=f"第{c}区第{u}单位工会", level=OrgLevel.GRASSROOTS,
                    parent=county,
                )  # fmt: skip
                ids[unit.code] = unit.id or 0
        other = create_org_unit(session=session, code="C99", name="邻市总工会", level=OrgLevel.CITY)
        ids["G99"] = create_org_unit(
            session=session, code="G99", name="邻市某单位工会", level=OrgLevel.GRASSROOTS, parent=other
        ).id or 0  # fmt: skip
        programme = create_programme(session=session, code="MA", name="职工医疗互助保障", owner=city)
        rules = PolicyRules(region_org_codes=("X01", "X02"))
        policy_year = open_policy_year(session=session, programme=programme, year=YEAR, rules=rules)
        session.commit()
        ids["programme"], ids["policy_year"] = programme.id or 0, policy_year.id or 0
    return ids


def person(i: int) -> tuple[date, str]:
    """The i-th member's birth date and unique, valid ID number (1,000 birth days x 1,000 sequence numbers)."""
    day, seq = i % 1000, i // 1000 % 1000
    birth = date(1940, 1, 1) + timedelta(days=day * 27 + seq % 27)
    return birth, make_id_number("110105", birth, seq, male=seq >= 500)


def member_rows(count: int, ids: dict[str, int], now: datetime) -> Iterator[tuple[Any, ...]]:
    """Members (with their enrolment's unit): 0.5% outside the region, 0.2% at county X01, 0.1% barred."""
    grassroots = [ids["G11"], ids["G12"], ids["G21"], ids["G22"]]
    for n in range(1, count + 1):
        birth, id_number = person(n - 1)
        if n % 200 == 7:
            unit = ids["G99"]
        elif n % 500 == 11:
            unit = ids["X01"]
        else:
            unit = grassroots[n % 4]
        status = "retired" if birth.year < 1966 and n % 3 else "in_service"
        sex = "M" if int(id_number[16]) % 2 else "F"
        yield (
            n, f"职工{n:07d}", id_number, birth, sex, None, status, unit, None, None, n % 1000 == 503, now,
        )  # fmt: skip


def enrolment_rows(ids: dict[str, int], members: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """One registered enrolment per member, at the member's unit; registered before or after Jan 1."""
    early, late = datetime(YEAR - 1, 11, 20, 2, 30, tzinfo=UTC), datetime(YEAR, 3, 2, 17, 45, tzinfo=UTC)
    for m in members:
        n = m[0]
        yield (
            n, n, ids["policy_year"], m[7], "renewal" if n % 2 else "new", "registered", 1, None, 9500,
            early if n % 3 else late,
        )  # fmt: skip


def bar_rows(count: int, ids: dict[str, int], now: datetime) -> list[tuple[Any, ...]]:
    """0.1% of members on the bar list; one in ten of those entries lifted again (so not barred)."""
    rows = []
    for n in range(605, count + 1, 1000):
        lifted = now if n % 10_000 == 605 else None
        rows.append((ids["programme"], person(n - 1)[1], "骗保", "admin", now, lifted))
    return rows


def _sqlite_value(value: Any) -> Any:
    """What SQLAlchemy would store on SQLite for a date, a datetime or a bool."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def write_rows(engine: Engine, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Raw bulk insert of one batch: executemany on SQLite, COPY on PostgreSQL."""
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        if engine.dialect.name == "sqlite":
            marks = ", ".join("?" * len(columns))
            raw.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608 - fixed names
                [tuple(_sqlite_value(v) for v in row) for row in rows],
            )
        else:
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def populate(engine: Engine, count: int) -> dict[str, int]:
    """The whole setup: world, members, enrolments and bar list, in batches to keep memory flat."""
    ids = build_world(engine)
    now = datetime.now(UTC)
    members = member_rows(count, ids, now)
    while batch := [row for _, row in zip(range(BATCH), members, strict=False)]:
        write_rows(engine, "member", MEMBER_COLUMNS, batch)
        write_rows(engine, "enrolment", ENROLMENT_COLUMNS, list(enrolment_rows(ids, batch)))
    write_rows(engine, "bar_list_entry", BAR_COLUMNS, bar_rows(count, ids, now))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table in ("member", "enrolment"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count})"))
            conn.execute(text("ANALYZE"))
    return ids


def check_chunk(engine: Engine, ids: list[int], policy_year_id: int) -> EligibilityCounts:
    """One chunk in its own transaction, as the flow's task does."""
    with Session(engine, expire_on_commit=False) as session:
        counts = check_enrolments(session=session, enrolment_ids=ids, actor=ACTOR, policy_year_id=policy_year_id)
        session.commit()
        return counts


def run_eligibility(engine: Engine, policy_year_id: int, chunk: int, workers: int) -> dict[str, int]:
    """The timed path: chunks of pending ids, check_enrolments, commit per chunk.

    One worker: page and check in turn. More: like the flow, which pages in its own thread and hands
    each chunk to a task run on Prefect's thread pool, each chunk in its own session and transaction.
    """
    totals = {"eligible": 0, "ineligible": 0, "needs_review": 0, "chunks": 0}

    def add(counts: EligibilityCounts) -> None:
        totals["eligible"] += counts.eligible
        totals["ineligible"] += counts.ineligible
        totals["needs_review"] += counts.needs_review
        totals["chunks"] += 1

    def next_ids(after: int) -> list[int]:
        with Session(engine) as session:
            return pending_enrolment_ids(session=session, policy_year_id=policy_year_id, after_id=after, limit=chunk)

    def pages() -> Iterator[list[int]]:
        after = 0
        while ids := next_ids(after):
            yield ids
            after = ids[-1]

    if workers == 1:
        for ids in pages():
            add(check_chunk(engine, ids, policy_year_id))
        return totals
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(check_chunk, engine, ids, policy_year_id) for ids in pages()]:
            add(future.result())
    return totals


def read_back(engine: Engine) -> dict[str, Any]:
    """What the database holds afterwards: enrolments per status and reason, audit events, review tasks."""
    e, a = Enrolment.__table__, AuditEvent.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        by_status = dict(conn.execute(select(e.c.status, func.count()).group_by(e.c.status)).all())
        by_reason = conn.execute(
            select(e.c.reason, func.count()).where(e.c.reason.is_not(None)).group_by(e.c.reason)
        ).all()
        audit = conn.execute(select(func.count()).select_from(a).where(a.c.entity_type == "enrolment")).scalar()
        tasks = conn.execute(text("SELECT count(*) FROM approval_task")).scalar()
    return {
        "by_status": by_status,
        "by_reason": {reason: n for reason, n in sorted(by_reason, key=lambda r: -r[1])},
        "audit_events": audit,
        "review_tasks": tasks,
    }


def main() -> None:
    """Build the enrolments, run eligibility over them, print the figures."""
    args = parse_args(
        __doc__ or "",
        1_000_000,
        chunk=(int, 10_000, "enrolments per chunk and commit (default 10000)"),
        workers=(int, 1, "chunks checked at the same time, each in its own thread and session (default 1)"),
    )
    with fresh_database(args.db) as engine:
        setup_seconds, ids = timed(lambda: populate(engine, args.rows))
        seconds, totals = timed(lambda: run_eligibility(engine, ids["policy_year"], args.chunk, args.workers))
        stored = read_back(engine)
    decided = totals["eligible"] + totals["ineligible"] + totals["needs_review"]
    emit(
        {
            "benchmark": "eligibility",
            "database": args.db,
            "rows": args.rows,
            "chunk_size": args.chunk,
            "workers": args.workers,
            "chunks": totals["chunks"],
            "setup_seconds": round(setup_seconds, 3),
            "seconds": round(seconds, 3),
            "enrolments_per_second": per_second(decided, seconds),
            "outcomes": {k: totals[k] for k in ("eligible", "ineligible", "needs_review")},
            "stored": stored,
            "peak_rss_mb": peak_rss_mb(),
            "environment": environment(),
        }
    )


if __name__ == "__main__":
    main()
