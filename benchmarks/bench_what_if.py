"""What-if speed: a policy year of 100,000 decided claims re-run under changed rules, on SQLite or PostgreSQL.

    python benchmarks/bench_what_if.py [--claims 100000] [--members 40000] [--database sqlite|postgresql]
                                       [--chunk 10000] [--repeat 5]

Setup (not timed), once, on a fresh database: the org tree and a 2026 programme year through the product's
services (benchmarks.bench_eligibility.build_world) and one reviewer, then with raw bulk inserts (executemany
on SQLite, COPY on PostgreSQL, then ANALYZE): the members and their enrolments (most covered all year,
~5% first-time members covered from April, ~1% never paid), and the year's claims spread over the members
(several each, so the annual cap and "once a year" matter): ~85% hospitalisation at one of 60 hospitals
(costs from a few hundred yuan to a few hundred thousand), ~8% critical illness (some diagnoses not on the
list), ~7% special hardship; ~1% reuse an earlier invoice at the same hospital, ~1% are filed more than 365
days after discharge, ~2% fall before their cover starts. Each claim is decided as the services would have
decided it, in filing order, under the year's rules (tasks.claims.benefits.calculate with the member's running
usage): refused with the reason, or granted; ~2% of the granted are then rejected by a reviewer (with
their approval task and decision). Granted claims are paid (events up to August), approved and in notice
(September, October) or still in review (later). The fund holds the contributions and a union subsidy.

Timed: tasks.claims.what_if.simulate in a session on core.db.reading_snapshot (as the API and CLI run it)
with the issue's example changes (ratio 75 %, annual cap 30,000), `--repeat` times on the same database;
the figure is the median. Then once more without changes, which must reproduce the actual payouts.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, text, update
from sqlmodel import Session

from benchmarks.bench_eligibility import build_world, person, write_rows
from benchmarks.claims_data import ENROLMENT_COLUMNS, HOSPITALS, LISTED, MEMBER_COLUMNS, TIERS, UNLISTED
from benchmarks.common import emit, environment, fresh_database, peak_rss_mb, per_second, timed
from core.db import reading_snapshot
from models.funds import FundAccount
from models.programmes import PolicyYear
from models.rules import PolicyRules
from models.users import Role, UserCreate
from models.what_if import WhatIfReport
from tasks.claims.benefits import ClaimFacts, calculate
from tasks.claims.limits import Usage
from tasks.claims.what_if import simulate
from tasks.common.users import create_user

YEAR = 2026
BATCH = 50_000  # rows per setup insert batch
CHANGES: dict[str, Any] = {"benefits": {"hospitalisation": {"ratio": "0.75"}}, "annual_cap_fen": 3_000_000}
TARGET_SECONDS = 30.0
CLAIM_COLUMNS = (
    "id", "reference", "member_id", "enrolment_id", "policy_year_id", "org_unit_id", "benefit_type", "status",
    "version", "admission_date", "discharge_date", "hospital_name", "hospital_tier", "diagnosis_code",
    "diagnosis_text", "invoice_numbers", "total_fen", "basic_insurance_fen", "serious_illness_fen",
    "other_reimbursement_fen", "self_paid_fen", "requested_fen", "eligible_fen", "payout_fen", "explanation",
    "missing_documents", "required_levels", "current_level", "review_round", "rejection_reason", "submitted_at",
    "decided_at", "rules_version",
)  # fmt: skip
TASK_COLUMNS = ("id", "kind", "claim_id", "level", "round", "org_unit_id", "status", "version", "assignee_id",
                "created_at", "completed_at", "org_path", "unit_path")  # fmt: skip
DECISION_COLUMNS = ("id", "task_id", "claim_id", "round", "level", "outcome", "reason", "decided_by",
                    "task_version", "decided_at")  # fmt: skip
RECEIPT_COLUMNS = ("policy_year_id", "source", "payer", "payer_org_id", "amount_fen", "received_on", "reference",
                   "member_count", "recorded_at")  # fmt: skip


@dataclass
class Member:
    """What a claim needs of its member: ids, unit, and the enrolment's cover."""

    member_id: int
    unit_id: int
    status: str
    start: date | None


@dataclass
class Written:
    """The rows of the year, and its money."""

    claims: list[tuple[Any, ...]] = field(default_factory=list)
    tasks: list[tuple[Any, ...]] = field(default_factory=list)
    decisions: list[tuple[Any, ...]] = field(default_factory=list)
    paid_fen: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))


# --- setup ---------------------------------------------------------------------------------------


def populate(engine: Engine, members: int, claims: int, seed: int) -> dict[str, Any]:
    """The whole setup; returns the ids and counts of what was written."""
    ids = build_world(engine)
    with Session(engine) as session:
        user = UserCreate(
            username="bench_l1",
            full_name="基层审核",
            password="bench-pass-1",  # noqa: S106 - a throwaway reviewer
            role=Role.UNIT_OFFICER,
            org_unit_code="G11",
        )
        reviewer = create_user(session=session, data=user)
        session.commit()
        ids["reviewer"] = reviewer.id or 0
        rules = session.get_one(PolicyYear, ids["policy_year"]).policy()
        paths = {row[0]: row[1] for row in session.execute(text("SELECT id, path FROM org_unit"))}
    rng = random.Random(seed)
    now = datetime.now(UTC)
    units = [ids["G11"], ids["G12"], ids["G21"], ids["G22"]]
    people: list[Member] = []
    member_rows, enrolment_rows = [], []
    for n in range(1, members + 1):
        birth, id_number = person(n - 1)
        draw, unit = rng.random(), units[n % 4]
        if draw < 0.01:  # found eligible, but the unit never paid: not covered
            kind, status, paid, start, end = "new", "eligible", None, None, None
        elif draw < 0.06:  # first-time member: covered after the 90-day wait
            kind, status, paid, start, end = "new", "active", date(YEAR, 1, 5), date(YEAR, 4, 5), date(YEAR, 12, 31)
        else:
            kind, status, paid, start, end = "renewal", "active", date(YEAR - 1, 12, 10), date(YEAR, 1, 1), date(
                YEAR, 12, 31)  # fmt: skip
        member_rows.append((n, f"职工{n:07d}", id_number, birth, "M" if int(id_number[16]) % 2 else "F", None,
                            "in_service", unit, None, None, False, now))  # fmt: skip
        enrolment_rows.append((n, n, ids["policy_year"], unit, kind, status, 1, 9500, now, paid, start, end))
        people.append(Member(n, unit, status, start))
    for i in range(0, members, BATCH):
        write_rows(engine, "member", MEMBER_COLUMNS, member_rows[i : i + BATCH])
        write_rows(engine, "enrolment", ENROLMENT_COLUMNS, enrolment_rows[i : i + BATCH])
    written = decided_claims(rng, people, ids, rules, claims, paths)
    for i in range(0, len(written.claims), BATCH):
        write_rows(engine, "claim", CLAIM_COLUMNS, written.claims[i : i + BATCH])
    write_rows(engine, "approval_task", TASK_COLUMNS, written.tasks)
    write_rows(engine, "decision", DECISION_COLUMNS, written.decisions)
    fund(engine, ids, people, written.paid_fen)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table, last in (
                ("member", members),
                ("enrolment", members),
                ("claim", claims),
                ("approval_task", len(written.tasks)),
                ("decision", len(written.decisions)),
            ):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {max(last, 1)})"))
        conn.execute(text("ANALYZE"))  # fmt: skip
    return {
        "policy_year": ids["policy_year"],
        "members": members,
        "claims": claims,
        "by_status": dict(sorted(written.by_status.items())),
        "reviewer_rejected": len(written.decisions),
    }


def decided_claims(rng: random.Random, people: list[Member], ids: dict[str, int], rules: PolicyRules,
                   count: int, paths: dict[int, str]) -> Written:  # fmt: skip
    """`count` claims in filing order, each decided as adjudication and approval would have decided it (a task
    carries its org unit's path, `paths`)."""
    written = Written()
    usage: dict[int, Usage] = defaultdict(Usage)
    invoices: list[tuple[str, str]] = []
    now = datetime.now(UTC)
    for claim_id in range(1, count + 1):
        who = people[rng.randrange(len(people))]
        claim = draw_claim(rng, claim_id, who, invoices)
        duplicate = claim.pop("duplicate")
        end = claim["discharge_date"]
        submitted = datetime.combine(end, datetime.min.time(), UTC) + timedelta(
            days=rng.randint(366, 400) if rng.random() < 0.01 else rng.randint(1, 90), hours=rng.randint(1, 10)
        )
        covered = who.status == "active" and who.start is not None and who.start <= claim["admission_date"]
        used = usage[who.member_id]
        calc = calculate(
            ClaimFacts(
                benefit_type=claim["benefit_type"], total_fen=claim["total_fen"],
                basic_insurance_fen=claim["basic_insurance_fen"], serious_illness_fen=claim["serious_illness_fen"],
                other_reimbursement_fen=claim["other_reimbursement_fen"], self_paid_fen=claim["self_paid_fen"],
                requested_fen=claim["requested_fen"], diagnosis_code=claim["diagnosis_code"],
                hospital_tier=claim["hospital_tier"], covered_on_admission=covered,
                within_deadline=submitted.date() <= end + timedelta(days=rules.filing_deadline_days),
                used_cap_fen=used.used_cap_fen(rules), times_used=used.times(claim["benefit_type"]),
            ),
            rules,
        )  # fmt: skip
        payout, reason, decided = calc.payout_fen, calc.rejection, submitted + timedelta(days=3)
        if reason is None and payout <= 0:
            reason = "本年度补偿已达封顶额"
        if reason is None and duplicate:
            reason = f"发票号 {claim['invoice_numbers'][0]} 已在其他在办案件中使用"
        if reason is not None:
            status = "rejected"
            payout = payout if duplicate else 0
        elif rng.random() < 0.02:  # a reviewer rejects it at the first level
            status, reason = "rejected", "材料不实"
            task_id = len(written.tasks) + 1
            written.tasks.append((task_id, "claim_review", claim_id, 1, 1, who.unit_id, "completed", 2,
                                  ids["reviewer"], now, now, paths[who.unit_id], paths[who.unit_id]))  # fmt: skip
            written.decisions.append((task_id, task_id, claim_id, 1, 1, "reject", reason, ids["reviewer"], 1, now))
        else:
            month = claim["admission_date"].month
            status = "paid" if month <= 8 else "in_notice" if month <= 10 else "in_review"
            used.add(claim["benefit_type"], payout)
            written.paid_fen += payout if status == "paid" else 0
        written.by_status[status] += 1
        in_review = status == "in_review"
        written.claims.append((
            claim_id, f"C{YEAR}-W{claim_id:08d}", who.member_id, who.member_id, ids["policy_year"], who.unit_id,
            claim["benefit_type"], status, 1, claim["admission_date"], end, claim["hospital_name"],
            claim["hospital_tier"], claim["diagnosis_code"], "诊断", json.dumps(claim["invoice_numbers"]),
            claim["total_fen"], claim["basic_insurance_fen"], claim["serious_illness_fen"],
            claim["other_reimbursement_fen"], claim["self_paid_fen"], claim["requested_fen"], calc.eligible_fen,
            payout, "[]", "[]", calc.required_levels, 1 if in_review else None, 1, reason, submitted,
            None if in_review else decided, 1,
        ))  # fmt: skip
    return written


def draw_claim(rng: random.Random, claim_id: int, who: Member, invoices: list[tuple[str, str]]) -> dict[str, Any]:
    """One claim's data in the docstring's mix (amounts in fen)."""
    if who.start is not None and rng.random() < 0.02:  # admitted just before the cover started
        admission = max(date(YEAR, 1, 1), who.start - timedelta(days=rng.randint(1, 5)))
    else:
        admission = date(YEAR, 1, 1) + timedelta(days=rng.randint(0, 330))
    claim: dict[str, Any] = {
        "admission_date": admission, "discharge_date": admission, "hospital_name": "", "hospital_tier": None,
        "diagnosis_code": "", "invoice_numbers": [], "total_fen": 0, "basic_insurance_fen": 0,
        "serious_illness_fen": 0, "other_reimbursement_fen": 0, "self_paid_fen": 0, "requested_fen": None,
        "duplicate": False,
    }  # fmt: skip
    draw = rng.random()
    if draw < 0.85:
        bands = ((20_000, 300_000), (300_000, 3_000_000), (3_000_000, 30_000_000))  # 200-3,000 … 300,000 yuan
        low, high = rng.choices(bands, weights=(45, 45, 10))[0]
        total = rng.randint(low, high)
        basic = int(total * rng.uniform(0.3, 0.7))
        serious = int(total * rng.uniform(0.0, 0.15)) if rng.random() < 0.3 else 0
        other = int(total * rng.uniform(0.0, 0.05)) if rng.random() < 0.1 else 0
        self_paid = int((total - basic - serious - other) * rng.uniform(0.0, 0.3))
        if invoices and rng.random() < 0.01:
            hospital, invoice = rng.choice(invoices)
            claim["duplicate"] = True
        else:
            hospital, invoice = rng.choice(HOSPITALS), f"FP{YEAR}{claim_id:09d}"
            invoices.append((hospital, invoice))
        claim.update(
            benefit_type="hospitalisation", discharge_date=admission + timedelta(days=rng.randint(1, 30)),
            hospital_name=hospital, hospital_tier=rng.choice(TIERS), diagnosis_code=rng.choice(UNLISTED),
            invoice_numbers=[invoice], total_fen=total, basic_insurance_fen=basic, serious_illness_fen=serious,
            other_reimbursement_fen=other, self_paid_fen=self_paid,
        )  # fmt: skip
    elif draw < 0.93:
        claim.update(benefit_type="critical_illness",
                     diagnosis_code=rng.choice(LISTED) if rng.random() < 0.85 else rng.choice(UNLISTED))  # fmt: skip
    else:
        claim.update(benefit_type="special_hardship", requested_fen=rng.randint(50_000, 600_000))
    return claim


def fund(engine: Engine, ids: dict[str, int], people: list[Member], paid_fen: int) -> None:
    """Contributions from each unit for its paid members, a union subsidy so the fund can pay, the account."""
    per_unit: dict[int, int] = defaultdict(int)
    for who in people:
        per_unit[who.unit_id] += who.status == "active"
    contributions = sum(per_unit.values()) * 9500
    subsidy = max(0, paid_fen - contributions) * 11 // 10
    now = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = [
        (ids["policy_year"], "contribution", f"单位{unit}", unit, n * 9500, date(YEAR - 1, 12, 10), f"JF-{unit}", n,
         now) for unit, n in per_unit.items()
    ]  # fmt: skip
    rows.append((ids["policy_year"], "union_subsidy", "示范市总工会", None, subsidy, date(YEAR, 1, 10), "BZ-1", 0, now))
    write_rows(engine, "fund_receipt", RECEIPT_COLUMNS, rows)
    receipts = contributions + subsidy
    with engine.begin() as conn:
        conn.execute(
            update(FundAccount.__table__)  # type: ignore[attr-defined]
            .where(FundAccount.__table__.c.policy_year_id == ids["policy_year"])  # type: ignore[attr-defined]
            .values(receipts_fen=receipts, payouts_fen=paid_fen, balance_fen=receipts - paid_fen)
        )


# --- the timed path ------------------------------------------------------------------------------


def what_if(engine: Engine, policy_year_id: int, changes: dict[str, Any], chunk: int) -> WhatIfReport:
    """One simulation, as the API and the CLI run it: its own read-only snapshot session."""
    with Session(reading_snapshot(engine)) as session:
        policy_year = session.get_one(PolicyYear, policy_year_id)
        return simulate(session=session, policy_year=policy_year, changes=changes, chunk=chunk)


def side(report: WhatIfReport, name: str) -> dict[str, Any]:
    figures = getattr(report, name)
    return {
        "claims_granted": figures.claims_granted,
        "claims_refused": figures.claims_refused,
        "payouts_yuan": figures.payouts_yuan,
        "claim_ratio": str(figures.claim_ratio),
        "fund_balance_yuan": figures.fund_balance_yuan,
        "members_at_cap": figures.members_at_cap,
    }


def main() -> None:
    """Build the year once, simulate it `--repeat` times, print the median and the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000, help="claims of the year (default 100000)")
    parser.add_argument("--members", type=int, default=40_000, help="enrolled members (default 40000)")
    parser.add_argument("--database", "--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--chunk", type=int, default=10_000, help="claims read per query (default 10000)")
    parser.add_argument("--repeat", type=int, default=5, help="simulations timed (default 5)")
    parser.add_argument("--seed", type=int, default=20260401)
    args = parser.parse_args()
    with fresh_database(args.database) as engine:
        setup_seconds, written = timed(lambda: populate(engine, args.members, args.claims, args.seed))
        year_id = written["policy_year"]
        runs = [timed(lambda: what_if(engine, year_id, CHANGES, args.chunk)) for _ in range(args.repeat)]
        unchanged_seconds, unchanged = timed(lambda: what_if(engine, year_id, {}, args.chunk))
    seconds = statistics.median(s for s, _ in runs)
    report = runs[-1][1]
    emit(
        {
            "benchmark": "what_if",
            "database": args.database,
            "claims": args.claims,
            "members": args.members,
            "chunk_size": args.chunk,
            "repeat": args.repeat,
            "setup_seconds": round(setup_seconds, 3),
            "seconds": round(seconds, 3),
            "runs": [round(s, 3) for s, _ in runs],
            "claims_per_second": per_second(report.claims_considered, seconds),
            "target_seconds": TARGET_SECONDS,
            "meets_target": seconds <= TARGET_SECONDS,
            "changes": CHANGES,
            "written": {k: v for k, v in written.items() if k != "policy_year"},
            "claims_considered": report.claims_considered,
            "claims_excluded_reviewer_rejected": report.claims_excluded_reviewer_rejected,
            "claims_kept_refused": report.claims_kept_refused,
            "actual": side(report, "actual"),
            "projected": side(report, "projected"),
            "difference_yuan": report.difference.payouts_yuan,
            "payouts_up_down_unchanged": [report.payouts_up, report.payouts_down, report.payouts_unchanged],
            "unchanged_rules": {
                "seconds": round(unchanged_seconds, 3),
                "reproduces_actual": (unchanged.payouts_up, unchanged.payouts_down) == (0, 0)
                and unchanged.projected.payouts_fen == unchanged.actual.payouts_fen,
            },
            "peak_rss_mb": peak_rss_mb(),
            "environment": environment(),
        }
    )


if __name__ == "__main__":
    main()
