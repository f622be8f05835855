"""Decision throughput: 20 reviewers approving their tasks at once through the API, on SQLite or PostgreSQL.

    python benchmarks/bench_decisions.py [--db sqlite|postgresql] [--clients 20] [--tasks-per-client 1000]
                                         [--warmup 5] [--seconds 30] [--workers 1,2] [--seed 20261201]

Target (the issue): >= 200 decisions per second sustained with 20 concurrent clients, load from a second
process on loopback.

For each uvicorn worker count in --workers, on a fresh database (not timed): the city of
benchmarks.approval_data (1 city, 7 county and 5,639 grassroots unions) and its policy year; one L1 reviewer
(unit officer) in each of --clients grassroots units spread over the counties, and a county reviewer (L2) in
each county; per reviewer --tasks-per-client members of their unit, each with a hospitalisation claim in
review that needs two levels (payout under the top-level threshold) and its open L1 task (a row from
tasks.approval.routing.new_task_values), written with raw bulk inserts, then ANALYZE (VACUUM ANALYZE on PostgreSQL).

Timed: the API as `mutualaid serve --workers N` runs it, in separate processes; --clients asyncio clients in
this process, each with one keep-alive connection of its own (approval_data.RawClient, a lean HTTP/1.1 client,
so that the load takes little of the two cores the server shares) and signed in as its reviewer, each
approving its own tasks one after another (POST /api/tasks/{id}/decision
{"outcome": "approve", "version": 1}): every decision completes the task, writes the Decision (four-eyes
trigger) and audit rows, and opens the claim's L2 task at the county. The first --warmup seconds are not
counted; the next --seconds are: decisions (HTTP 200) per second over the window, the median of its 5-second
windows, latency percentiles, status codes, the cores busy meanwhile (the server's processes, this process,
our PostgreSQL backends, everything else on the machine) and, on PostgreSQL, the connections the server
opened in the window (pg_stat_database.sessions). Afterwards the database must hold one Decision per 200
and exactly one L2 task per decided claim (and none for the others).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, func, select

from benchmarks.approval_data import (
    CLAIM_COLUMNS,
    TASK_COLUMNS,
    City,
    RawClient,
    api_server,
    build_city,
    claim_row,
    cpu_cores,
    cpu_snapshot,
    finish_setup,
    pg_sessions,
    task_tuple,
    write_members,
    write_reviewers,
)
from benchmarks.bench_eligibility import write_rows
from benchmarks.common import database_url, emit, environment, fresh_database, latency_ms, peak_rss_mb, timed
from core.security import create_token
from models.approvals import ApprovalTask, Decision
from models.claims import Claim

TARGET_PER_SECOND = 200.0
WINDOW_SECONDS = 5
BODY = {"outcome": "approve", "version": 1}


# --- setup ---------------------------------------------------------------------------------------


@dataclass
class Setup:
    """The reviewers (user id -> their task ids, in order) and what was written."""

    tasks_of: dict[int, list[int]]
    counts: dict[str, int]


def populate(engine: Engine, clients: int, per_client: int, seed: int) -> Setup:
    """The whole setup (see the module docstring)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    city: City = build_city(engine, now.year)
    step = len(city.units) // clients
    units = [city.units[k * step] for k in range(clients)]  # consecutive units sit in different counties
    reviewers = write_reviewers(engine, city, units, l2_per_county=1, l3=0)
    member_units = [unit for unit in units for _ in range(per_client)]
    write_members(engine, city, member_units)
    claims, tasks = [], []
    tasks_of: dict[int, list[int]] = {reviewers.l1_of_unit[unit.id]: [] for unit in units}
    for n, unit in enumerate(member_units, start=1):
        opened = now - timedelta(hours=rng.uniform(1, 48))
        claims.append(
            claim_row(
                rng, n, n, unit, city, benefit="hospitalisation", status="in_review", levels=2, current_level=1,
                submitted=opened - timedelta(hours=1),
            )
        )  # fmt: skip
        tasks.append(task_tuple(n, n, "hospitalisation", 1, unit, city, opened))
        tasks_of[reviewers.l1_of_unit[unit.id]].append(n)
    write_rows(engine, "claim", CLAIM_COLUMNS, claims)
    write_rows(engine, "approval_task", TASK_COLUMNS, tasks)
    finish_setup(engine, {"claim": len(claims), "approval_task": len(tasks)})
    for ids in tasks_of.values():
        rng.shuffle(ids)
    return Setup(
        tasks_of, {"reviewers": reviewers.count, "members": len(member_units), "claims_in_review": len(claims)}
    )


# --- the load ------------------------------------------------------------------------------------


@dataclass
class Load:
    """What the clients saw: per request (seconds since start when it ended, latency, status), and CPU readings."""

    requests: list[tuple[float, float, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu: dict[str, dict[str, float]] = field(default_factory=dict)
    sessions: dict[str, int | None] = field(default_factory=dict)
    exhausted: int = 0


async def drive(
    base_url: str, server_pid: int, engine: Engine, tasks_of: dict[int, list[int]], warmup: float, seconds: float
) -> Load:
    """One client per reviewer, deciding its tasks in turn until warmup + seconds have passed."""
    load = Load()
    database = engine.url.database if engine.dialect.name == "postgresql" else None
    start = time.perf_counter()
    stop_at = start + warmup + seconds

    async def client(user_id: int, task_ids: list[int]) -> None:
        """One reviewer approving their tasks one after another on one keep-alive connection."""
        http = RawClient(base_url, {"Authorization": f"Bearer {create_token(user_id)}"})
        body = json.dumps(BODY).encode()
        try:
            for task_id in task_ids:
                if time.perf_counter() >= stop_at:
                    return
                began = time.perf_counter()
                status, answer = await http.request("POST", f"/api/tasks/{task_id}/decision", body)
                ended = time.perf_counter()
                load.requests.append((ended - start, ended - began, status))
                if status != 200 and len(load.errors) < 10:
                    load.errors.append(f"task {task_id}: {status} {answer[:300].decode(errors='replace')}")
        finally:
            await http.close()
        load.exhausted += 1

    async def meter() -> None:
        """CPU readings (and PostgreSQL's session count) when the window starts and ends."""
        for name, at in (("window_start", warmup), ("window_end", warmup + seconds)):
            await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
            load.cpu[name] = cpu_snapshot(server_pid, database)
            load.sessions[name] = pg_sessions(engine)

    await asyncio.gather(meter(), *(client(uid, ids) for uid, ids in tasks_of.items()))
    return load


def figures(load: Load, warmup: float, seconds: float) -> dict[str, Any]:
    """Decisions per second in the window (overall, and the median of its 5-second windows), latencies, CPU."""
    window = [r for r in load.requests if warmup <= r[0] < warmup + seconds]
    ok = [r for r in window if r[2] == 200]
    buckets = Counter(int((r[0] - warmup) // WINDOW_SECONDS) for r in ok)
    rates = [buckets.get(k, 0) / WINDOW_SECONDS for k in range(int(seconds // WINDOW_SECONDS))]
    result: dict[str, Any] = {
        "decisions_per_second": round(len(ok) / seconds, 1),
        "median_5s_window_per_second": round(statistics.median(rates), 1) if rates else 0.0,
        "windows_5s_per_second": rates,
        "latency_ms": latency_ms([r[1] for r in window]),
        "status_codes_window": dict(Counter(str(r[2]) for r in window)),
        "status_codes_all": dict(Counter(str(r[2]) for r in load.requests)),
        "requests_all": len(load.requests),
        "clients_out_of_tasks": load.exhausted,
    }
    if len(load.cpu) == 2:
        before, after = load.cpu["window_start"], load.cpu["window_end"]
        result["cpu"] = cpu_cores(before, after) | {
            "server_ms_per_decision": round((after["server"] - before["server"]) * 1000 / max(len(ok), 1), 2),
            "postgres_ms_per_decision": round(
                (after["postgres_all"] - before["postgres_all"]) * 1000 / max(len(ok), 1), 2
            ),
        }
    opened = load.sessions.get("window_start"), load.sessions.get("window_end")
    if opened[0] is not None and opened[1] is not None:
        result["postgres_connections_opened_in_window"] = opened[1] - opened[0]
    if load.errors:
        result["first_errors"] = load.errors
    return result


def verify(engine: Engine, ok: int) -> dict[str, Any]:
    """One Decision per 200; exactly one L2 task per decided claim, none for the others."""
    d, t, c = Decision.__table__, ApprovalTask.__table__, Claim.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        decisions = conn.execute(select(func.count()).select_from(d)).scalar_one()
        decided = select(d.c.claim_id).where(d.c.level == 1)
        per_claim = (
            select(t.c.claim_id, func.count().label("n")).where(t.c.level == 2).group_by(t.c.claim_id).subquery()
        )
        not_one = conn.execute(
            select(func.count()).select_from(per_claim).where(per_claim.c.n != 1)
        ).scalar_one()  # fmt: skip
        l2_tasks = conn.execute(select(func.count()).select_from(t).where(t.c.level == 2)).scalar_one()
        decided_with_l2 = conn.execute(
            select(func.count()).select_from(per_claim).where(per_claim.c.claim_id.in_(decided))
        ).scalar_one()
        completed_l1 = conn.execute(
            select(func.count()).select_from(t).where(t.c.level == 1, t.c.status == "completed")
        ).scalar_one()
        at_level_2 = conn.execute(select(func.count()).select_from(c).where(c.c.current_level == 2)).scalar_one()
    return {
        "http_200": ok,
        "decision_rows": decisions,
        "completed_l1_tasks": completed_l1,
        "l2_tasks": l2_tasks,
        "decided_claims_with_one_l2_task": decided_with_l2,
        "claims_with_l2_task_count_not_one": not_one,
        "claims_at_level_2": at_level_2,
        "consistent": decisions == ok == completed_l1 == l2_tasks == decided_with_l2 == at_level_2 and not_one == 0,
    }


def one_run(kind: str, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    """A fresh database, the setup, the server with `workers` processes, the load, then the checks."""
    with fresh_database(kind) as engine:
        setup_seconds, setup = timed(lambda: populate(engine, args.clients, args.tasks_per_client, args.seed))
        engine.dispose()
        with api_server(database_url(engine), workers=workers) as server:
            load = asyncio.run(drive(server.base_url, server.pid, engine, setup.tasks_of, args.warmup, args.seconds))
            loadavg = os.getloadavg()
        result = figures(load, args.warmup, args.seconds)
        ok = sum(1 for r in load.requests if r[2] == 200)
        return {
            "workers": workers,
            "target_met": result["decisions_per_second"] >= TARGET_PER_SECOND
            and result["median_5s_window_per_second"] >= TARGET_PER_SECOND,
            **result,
            "check": verify(engine, ok),
            "setup_seconds": round(setup_seconds, 1),
            "written": setup.counts,
            "load_average_after": [round(x, 2) for x in loadavg],
            "server_command": server.command,
        }


def main() -> None:
    """Run the load once per worker count and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", "--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients, one reviewer each (default 20)")
    parser.add_argument("--tasks-per-client", type=int, default=1000, help="open L1 tasks per reviewer (1000)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds not counted (default 5)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds measured (default 30)")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts to try, comma-separated (1,2)")
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    runs = [one_run(args.db, int(w), args) for w in args.workers.split(",")]
    emit(
        {
            "benchmark": "decisions",
            "database": args.db,
            "target_per_second": TARGET_PER_SECOND,
            "clients": args.clients,
            "warmup_seconds": args.warmup,
            "measured_seconds": args.seconds,
            "runs": runs,
            "peak_rss_mb": peak_rss_mb(),
            "environment": environment(),
        }
    )


if __name__ == "__main__":
    main()
