"""Adjudication speed: 100,000 submitted claims calculated, checked and routed, on SQLite or PostgreSQL.

    python benchmarks/bench_adjudication.py [--claims 100000] [--members 40000] [--database sqlite|postgresql]
                                            [--chunk 5000] [--repeat 3]

Setup (not timed), once per run on a fresh database: the org tree and a 2026 programme year through the
product's services (benchmarks.bench_eligibility.build_world), then with raw bulk inserts (executemany
on SQLite, COPY on PostgreSQL, then ANALYZE): the members and their enrolments (most active and covered
all year, some first-time members covered from April, a few not paid), about one granted claim per ten
members from earlier in the year (so the annual cap and "once a year" matter: some members have used
most or all of the cap, some already had their critical-illness sum), and the submitted claims, several
per member: ~85% hospitalisation at one of 60 hospitals (costs from a few hundred yuan to a few hundred
thousand), ~8% critical illness (some diagnoses not on the list), ~7% special hardship; ~1% reuse an
invoice number of an earlier claim at the same hospital, ~1% are filed more than 365 days after
discharge, and a few fall outside coverage.

Timed: the claims flow then the approval flow, without Prefect. tasks.claims.adjudication.submitted_claim_ids
pages the ids and each chunk goes to adjudicate_claims (then, in the second phase, route_claims) in a
session and transaction of its own, committed per chunk. Each run repeats the whole thing on a fresh
database; the figures are the medians over the runs (every run's figures are printed too).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, func, select, text
from sqlmodel import Session

from benchmarks.bench_eligibility import build_world, person, write_rows
from benchmarks.claims_data import ENROLMENT_COLUMNS, HOSPITALS, LISTED, MEMBER_COLUMNS, TIERS, UNLISTED
from benchmarks.common import emit, environment, fresh_database, peak_rss_mb, per_second, timed
from models.approvals import ApprovalTask
from models.audit import AuditEvent
from models.claims import Claim
from models.states import Actor
from tasks.approval.routing import route_claims
from tasks.claims.adjudication import adjudicate_claims, submitted_claim_ids

YEAR = 2026
BATCH = 50_000  # rows per setup insert batch
ACTOR = Actor(None, "bench:adjudication")
CLAIM_COLUMNS = (
    "id", "reference", "member_id", "enrolment_id", "policy_year_id", "org_unit_id", "benefit_type", "status",
    "version", "admission_date", "discharge_date", "hospital_name", "hospital_tier", "diagnosis_code",
    "diagnosis_text", "invoice_numbers", "total_fen", "basic_insurance_fen", "serious_illness_fen",
    "other_reimbursement_fen", "self_paid_fen", "requested_fen", "eligible_fen", "payout_fen", "explanation",
    "missing_documents", "required_levels", "review_round", "submitted_at", "decided_at", "rules_version",
)  # fmt: skip


# --- setup ---------------------------------------------------------------------------------------


@dataclass
class Enrolled:
    """What a claim needs of its member: ids, unit, and the coverage window (None: not covered)."""

    member_id: int
    enrolment_id: int
    unit_id: int
    covered_from: date | None


def populate(engine: Engine, members: int, claims: int, seed: int) -> dict[str, Any]:
    """The whole setup; returns the counts of what was written."""
    ids = build_world(engine)
    units = [ids["G11"], ids["G12"], ids["G21"], ids["G22"]]
    now = datetime.now(UTC)
    rng = random.Random(seed)
    enrolled: list[Enrolled] = []
    member_rows: list[tuple[Any, ...]] = []
    enrolment_rows: list[tuple[Any, ...]] = []
    for n in range(1, members + 1):
        birth, id_number = person(n - 1)
        unit = units[n % 4]
        member_rows.append(
            (n, f"职工{n:07d}", id_number, birth, "M" if int(id_number[16]) % 2 else "F", None, "in_service", unit,
             None, None, False, now)
        )  # fmt: skip
        draw = rng.random()
        if draw < 0.01:  # registered and found eligible, but the unit never paid: not covered
            status, paid, start, end = "eligible", None, None, None
        elif draw < 0.06:  # first-time member: covered after the 90-day wait
            status, paid, start, end = "active", date(YEAR, 1, 5), date(YEAR, 4, 5), date(YEAR, 12, 31)
        else:
            status, paid, start, end = "active", date(YEAR - 1, 12, 10), date(YEAR, 1, 1), date(YEAR, 12, 31)
        kind = "new" if start == date(YEAR, 4, 5) else "renewal"
        enrolment_rows.append(
            (n, n, ids["policy_year"], unit, kind, status, 1, 9500, now, paid, start, end)
        )  # fmt: skip
        enrolled.append(Enrolled(n, n, unit, start))
    for i in range(0, members, BATCH):
        write_rows(engine, "member", MEMBER_COLUMNS, member_rows[i : i + BATCH])
        write_rows(engine, "enrolment", ENROLMENT_COLUMNS, enrolment_rows[i : i + BATCH])
    granted = list(_granted_claims(rng, enrolled, ids["policy_year"]))
    submitted = list(
        _submitted_claims(rng, enrolled, ids["policy_year"], claims, start_id=len(granted) + 1, earlier=granted)
    )
    rows = [*granted, *submitted]
    for i in range(0, len(rows), BATCH):
        write_rows(engine, "claim", CLAIM_COLUMNS, rows[i : i + BATCH])
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table, last in (("member", members), ("enrolment", members), ("claim", len(rows))):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})"))
        conn.execute(text("ANALYZE"))
    return {"members": members, "granted_claims": len(granted), "submitted_claims": len(submitted)}


def _claim_row(
    claim_id: int,
    who: Enrolled,
    year_id: int,
    *,
    benefit: str,
    status: str,
    admission: date,
    discharge: date,
    submitted: datetime,
    hospital: str = "",
    tier: str | None = None,
    diagnosis: str = "",
    invoices: tuple[str, ...] = (),
    amounts: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0),
    requested: int | None = None,
    payout: int | None = None,
) -> tuple[Any, ...]:
    granted = payout is not None
    return (
        claim_id, f"C{YEAR}-B{claim_id:08d}", who.member_id, who.enrolment_id, year_id, who.unit_id, benefit, status,
        1, admission, discharge, hospital, tier, diagnosis, "诊断", json.dumps(list(invoices)), *amounts, requested,
        payout if granted else None, payout, json.dumps([]), json.dumps([]), 2 if granted else None, 1, submitted,
        submitted + timedelta(days=10) if granted else None, 1 if granted else None,
    )  # fmt: skip


def _granted_claims(rng: random.Random, enrolled: list[Enrolled], year_id: int) -> Iterator[tuple[Any, ...]]:
    """One paid or approved claim for about one member in ten: most of the cap used, or critical illness paid."""
    claim_id = 0
    for who in enrolled:
        if who.covered_from is None or rng.random() >= 0.10:
            continue
        claim_id += 1
        admission = date(YEAR, 4, 6) + timedelta(days=rng.randint(0, 20))
        submitted = datetime(YEAR, 5, 20, 9, tzinfo=UTC)
        status = rng.choice(("paid", "paid", "in_notice", "payable"))
        if rng.random() < 0.3:
            yield _claim_row(
                claim_id, who, year_id, benefit="critical_illness", status=status, admission=admission,
                discharge=admission, submitted=submitted, diagnosis=rng.choice(LISTED), payout=500_000,
            )  # fmt: skip
            continue
        payout = rng.choice((1_500_000, 1_900_000, 1_999_000, 2_000_000, rng.randint(100_000, 2_000_000)))
        total = payout * 3
        yield _claim_row(
            claim_id, who, year_id, benefit="hospitalisation", status=status, admission=admission,
            discharge=admission + timedelta(days=7), submitted=submitted, hospital=rng.choice(HOSPITALS),
            tier=rng.choice(TIERS), diagnosis="K35.8", invoices=(f"FP{YEAR}G{claim_id:08d}",),
            amounts=(total, total - payout * 10 // 7, 0, 0, 0), payout=payout,
        )  # fmt: skip


def _submitted_claims(
    rng: random.Random,
    enrolled: list[Enrolled],
    year_id: int,
    count: int,
    *,
    start_id: int,
    earlier: list[tuple[Any, ...]],
) -> Iterator[tuple[Any, ...]]:
    """`count` submitted claims spread over the members (several each), in the mix the docstring describes."""
    used_invoices: list[tuple[str, str]] = [(row[11], json.loads(row[15])[0]) for row in earlier if json.loads(row[15])]
    for k in range(count):
        claim_id = start_id + k
        who = enrolled[rng.randrange(len(enrolled))]
        if rng.random() < 0.02:  # admitted just before the member's coverage started
            start = who.covered_from or date(YEAR, 1, 1)
            admission = max(date(YEAR, 1, 1), start - timedelta(days=rng.randint(1, 5)))
        else:
            admission = date(YEAR, 1, 1) + timedelta(days=rng.randint(0, 300))
        late = rng.random() < 0.01
        draw = rng.random()
        if draw < 0.85:
            discharge = admission + timedelta(days=rng.randint(1, 30))
            low, high = rng.choice(((20_000, 300_000), (300_000, 3_000_000), (3_000_000, 30_000_000)))
            total = rng.randint(low, high)
            basic = int(total * rng.uniform(0.3, 0.7))
            serious = int(total * rng.uniform(0.0, 0.15)) if rng.random() < 0.3 else 0
            other = int(total * rng.uniform(0.0, 0.05)) if rng.random() < 0.1 else 0
            self_paid = int((total - basic - serious - other) * rng.uniform(0.0, 0.3))
            if used_invoices and rng.random() < 0.01:
                hospital, invoice = rng.choice(used_invoices)
            else:
                hospital, invoice = rng.choice(HOSPITALS), f"FP{YEAR}{claim_id:09d}"
                used_invoices.append((hospital, invoice))
            submitted = _submitted_at(rng, discharge, late)
            yield _claim_row(
                claim_id, who, year_id, benefit="hospitalisation", status="submitted", admission=admission,
                discharge=discharge, submitted=submitted, hospital=hospital, tier=rng.choice(TIERS),
                diagnosis=rng.choice(UNLISTED), invoices=(invoice,), amounts=(total, basic, serious, other, self_paid),
            )  # fmt: skip
        elif draw < 0.93:
            yield _claim_row(
                claim_id, who, year_id, benefit="critical_illness", status="submitted", admission=admission,
                discharge=admission, submitted=_submitted_at(rng, admission, late),
                diagnosis=rng.choice(LISTED) if rng.random() < 0.85 else rng.choice(UNLISTED),
            )  # fmt: skip
        else:
            yield _claim_row(
                claim_id, who, year_id, benefit="special_hardship", status="submitted", admission=admission,
                discharge=admission, submitted=_submitted_at(rng, admission, late),
                requested=rng.randint(50_000, 600_000),
            )  # fmt: skip


def _submitted_at(rng: random.Random, end: date, late: bool) -> datetime:
    days = rng.randint(366, 400) if late else rng.randint(1, 90)
    return datetime.combine(end + timedelta(days=days), datetime.min.time(), UTC) + timedelta(hours=rng.randint(1, 10))


# --- the timed path ------------------------------------------------------------------------------


def run_phase(engine: Engine, chunk: int, calculated: bool, work: Callable[[Session, list[int]], int]) -> int:
    """Page the submitted ids (calculated or not) in chunks; each chunk in its own session, committed."""
    total, after = 0, 0
    while True:
        with Session(engine) as session:
            ids = submitted_claim_ids(session=session, calculated=calculated, after_id=after, limit=chunk)
        if not ids:
            return total
        with Session(engine, expire_on_commit=False) as session:
            total += work(session, ids)
            session.commit()
        after = ids[-1]


def adjudicate(session: Session, ids: list[int]) -> int:
    """One chunk of the claims flow; the number of claims it decided (calculated or refused)."""
    counts = adjudicate_claims(session=session, claim_ids=ids, actor=ACTOR)
    return counts.calculated + counts.rejected


def route(session: Session, ids: list[int]) -> int:
    """One chunk of the approval flow; the number of claims routed."""
    return route_claims(session=session, claim_ids=ids, actor=ACTOR)


def read_back(engine: Engine) -> dict[str, Any]:
    """What the database holds afterwards: claims per status, rejection reasons, tasks, audit events."""
    c, t, a = Claim.__table__, ApprovalTask.__table__, AuditEvent.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        by_status: dict[str, int] = dict(conn.execute(select(c.c.status, func.count()).group_by(c.c.status)).all())
        reasons = conn.execute(
            select(c.c.rejection_reason, func.count())
            .where(c.c.rejection_reason.is_not(None))
            .group_by(c.c.rejection_reason)
        ).all()
        in_review = select(c.c.required_levels, func.count()).where(c.c.status == "in_review")
        levels: dict[int, int] = dict(conn.execute(in_review.group_by(c.c.required_levels)).all())
        tasks = conn.execute(select(func.count()).select_from(t)).scalar()
        audit = conn.execute(select(func.count()).select_from(a).where(a.c.entity_type == "claim")).scalar()
        payout = conn.execute(select(func.sum(c.c.payout_fen)).where(c.c.status == "in_review")).scalar()
    top = sorted(reasons, key=lambda r: -r[1])
    grouped: dict[str, int] = {}
    for reason, n in top:
        key = "发票号 … 已在其他在办案件中使用" if reason.startswith("发票号") else reason
        grouped[key] = grouped.get(key, 0) + n
    return {
        "by_status": by_status,
        "rejections": grouped,
        "in_review_by_levels": {str(k): v for k, v in levels.items()},
        "in_review_payout_fen": int(payout or 0),
        "approval_tasks": tasks,
        "claim_audit_events": audit,
    }


def one_run(kind: str, members: int, claims: int, chunk: int, seed: int) -> dict[str, Any]:
    """A fresh database, the setup, then the two timed phases; the figures of this run."""
    with fresh_database(kind) as engine:
        setup_seconds, written = timed(lambda: populate(engine, members, claims, seed))
        adjudicate_seconds, decided = timed(lambda: run_phase(engine, chunk, False, adjudicate))
        route_seconds, routed = timed(lambda: run_phase(engine, chunk, True, route))
        stored = read_back(engine)
    return {
        "setup_seconds": round(setup_seconds, 3),
        "adjudicate_seconds": round(adjudicate_seconds, 3),
        "route_seconds": round(route_seconds, 3),
        "total_seconds": round(adjudicate_seconds + route_seconds, 3),
        "decided": decided,
        "routed": routed,
        "written": written,
        "stored": stored,
    }


def main() -> None:
    """Run the benchmark `--repeat` times and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000, help="submitted claims (default 100000)")
    parser.add_argument("--members", type=int, default=40_000, help="enrolled members (default 40000)")
    parser.add_argument("--database", "--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--chunk", type=int, default=5000, help="claims per chunk and commit (default 5000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs, each on a fresh database (default 3)")
    parser.add_argument("--seed", type=int, default=20260401)
    args = parser.parse_args()
    runs = [one_run(args.database, args.members, args.claims, args.chunk, args.seed) for _ in range(args.repeat)]
    medians = {
        key: round(statistics.median(r[key] for r in runs), 3)
        for key in ("setup_seconds", "adjudicate_seconds", "route_seconds", "total_seconds")
    }
    emit(
        {
            "benchmark": "adjudication",
            "database": args.database,
            "claims": args.claims,
            "members": args.members,
            "chunk_size": args.chunk,
            "repeat": args.repeat,
            **medians,
            "claims_per_second": per_second(args.claims, medians["total_seconds"]),
            "runs": [
                {k: r[k] for k in ("setup_seconds", "adjudicate_seconds", "route_seconds", "total_seconds")}
                for r in runs
            ],
            "decided": runs[-1]["decided"],
            "routed": runs[-1]["routed"],
            "written": runs[-1]["written"],
            "stored": runs[-1]["stored"],
            "peak_rss_mb": peak_rss_mb(),
            "environment": environment(),
        }
    )


if __name__ == "__main__":
    main()
