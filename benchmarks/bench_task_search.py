"""Task search latency: reviewers searching their queues among 100,000 open tasks, through the API and in-process.

    python benchmarks/bench_task_search.py [--db sqlite|postgresql] [--open-tasks 100000]
                                           [--completed-tasks 200000] [--members 100000] [--requests 2000]
                                           [--concurrency 4] [--workers 1] [--seed 20261201]

Target (the issue): p95 <= 50 ms with 100,000 open tasks, load from a second process on loopback.

Setup (not timed), on a fresh database: the city of benchmarks.approval_data (1 city, 7 county and 5,639
grassroots unions), its policy year, the members (spread over the units with log-normal weights: a few large
employers, many small ones), one reviewer per grassroots unit (L1), three per county (L2) and five at the
city (L3); then with raw bulk inserts the claims in review with their open tasks (60% L1 at the grassroots
units, 30% L2 at the counties, 10% L3 at the city; the completed tasks of their earlier levels too), due
moments spread over three weeks either side of now (the overdue ones reminded, and escalated once past their
escalation moment), one open task in ten taken by a reviewer; and a history of decided claims whose tasks are
all completed, up to --completed-tasks completed tasks in all. Every task row comes from
tasks.approval.routing.new_task_values.

Timed: one plan of searches, drawn evenly from the kinds a reviewer asks (the default queue at each level,
later pages, overdue, a benefit type, a county reviewer narrowing to one of its units, the city approver
narrowing to a county, assigned=me, status=taken), each as a random reviewer of its level. The plan runs
three times after a warm-up: in-process (tasks.approval.queue.search_tasks in a session of its own per search, as the
route does), then through the API served by `python -m uvicorn api.main:app` in a separate process, one
request at a time on a keep-alive httpx client, then from --concurrency clients at once (a thread and a
client each). Latencies are end to end per request (ms: p50, p95, p99, max), overall and per kind; every
answer's X-Total-Count is checked against the in-process total of the same search.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from benchmarks.approval_data import (
    CLAIM_COLUMNS,
    COUNTIES,
    GRASSROOTS,
    TASK_COLUMNS,
    City,
    Reviewers,
    Unit,
    api_server,
    build_city,
    claim_row,
    cpu_cores,
    cpu_snapshot,
    finish_setup,
    task_tuple,
    write_members,
    write_reviewers,
)
from benchmarks.bench_eligibility import write_rows
from benchmarks.common import database_url, emit, environment, fresh_database, latency_ms, peak_rss_mb, timed
from core.db import reading
from core.security import create_token
from models.approvals import ApprovalTask, TaskStatus
from models.users import User
from tasks.approval.queue import OPEN_STATUSES, TaskSearch, search_tasks

TARGET_P95_MS = 50.0
BATCH = 50_000
BENEFITS = ("hospitalisation", "critical_illness", "special_hardship")
DUE_CALENDAR_DAYS = {1: 4.2, 2: 7.0, 3: 7.0}  # the default 3 / 5 / 5 working days, in calendar days
WARMUP = 200


# --- setup ---------------------------------------------------------------------------------------


@dataclass
class World:
    """What the setup wrote, and what the plan needs of it."""

    city: City
    reviewers: Reviewers
    unit_weights: list[float]
    holders: dict[int, list[int]]  # level -> user ids holding taken tasks
    counts: dict[str, Any]


class Rows:
    """Claim and task rows, written in batches (claims first: tasks refer to them)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.claims: list[tuple[Any, ...]] = []
        self.tasks: list[tuple[Any, ...]] = []
        self.claim_id = 0
        self.task_id = 0

    def next_claim(self) -> int:
        """A new claim id."""
        self.claim_id += 1
        return self.claim_id

    def next_task(self) -> int:
        """A new task id."""
        self.task_id += 1
        return self.task_id

    def add(self, claim: tuple[Any, ...], tasks: list[tuple[Any, ...]]) -> None:
        """Queue a claim and its tasks; write when a batch is full."""
        self.claims.append(claim)
        self.tasks += tasks
        if len(self.tasks) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write what is queued."""
        write_rows(self.engine, "claim", CLAIM_COLUMNS, self.claims)
        write_rows(self.engine, "approval_task", TASK_COLUMNS, self.tasks)
        self.claims, self.tasks = [], []


def benefit_for(rng: random.Random, levels: int) -> str:
    """A benefit type: special hardship always goes to the top level, large hospital stays too."""
    if levels == 3:
        return rng.choices(BENEFITS, (45, 5, 50))[0]
    return rng.choices(BENEFITS[:2], (90, 10))[0]


def populate(engine: Engine, *, members: int, open_tasks: int, completed_tasks: int, seed: int) -> World:
    """The whole setup (see the module docstring); returns what the plan needs and the counts."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    city = build_city(engine, now.year)
    weights = [rng.lognormvariate(0, 1) for _ in city.units]
    member_units = rng.choices(city.units, weights, k=members)
    write_members(engine, city, member_units)
    reviewers = write_reviewers(engine, city, city.units, l2_per_county=3, l3=5)
    rows = Rows(engine)
    holders: dict[int, set[int]] = defaultdict(set)
    counts: Counter[str] = Counter()

    def completed(
        claim_id: int, benefit: str, unit: Unit, level: int, opened: datetime, done: datetime
    ) -> tuple[Any, ...]:
        """A task of an earlier level, decided at `done` by a reviewer of its level (reminded if late)."""
        task = task_tuple(
            rows.next_task(), claim_id, benefit, level, unit, city, opened,
            status="completed", version=2, completed_at=done, assignee_id=reviewers.pick(rng, city, unit, level),
        )  # fmt: skip
        counts["completed"] += 1
        due = task[TASK_COLUMNS.index("due_at")]
        return task if done <= due else _with(task, reminded_at=due + timedelta(minutes=5))

    n1, n2 = round(open_tasks * 0.6), round(open_tasks * 0.3)
    levels = [1] * n1 + [2] * n2 + [3] * (open_tasks - n1 - n2)
    rng.shuffle(levels)
    for level in levels:
        member = rng.randrange(members)
        unit = member_units[member]
        required = 3 if level == 3 or rng.random() < 0.1 else 2
        benefit = benefit_for(rng, required)
        opened = {level: now + timedelta(days=rng.uniform(-21, 21) - DUE_CALENDAR_DAYS[level])}
        for j in range(level - 1, 0, -1):
            opened[j] = opened[j + 1] - timedelta(days=rng.uniform(2, 6))
        claim_id = rows.next_claim()
        tasks = [completed(claim_id, benefit, unit, j, opened[j], opened[j + 1]) for j in range(1, level)]
        created = min(opened[level], now - timedelta(minutes=1))
        extra: dict[str, Any] = {"created_at": created}
        if rng.random() < 0.1:
            holder = reviewers.pick(rng, city, unit, level)
            extra |= {"status": "taken", "version": 2, "assignee_id": holder, "taken_at": created + timedelta(hours=1)}
            holders[level].add(holder or 0)
            counts["taken"] += 1
        task = task_tuple(rows.next_task(), claim_id, benefit, level, unit, city, opened[level])
        task = _with(task, **extra)
        due, escalate = task[TASK_COLUMNS.index("due_at")], task[TASK_COLUMNS.index("escalate_at")]
        if due < now:
            counts["overdue"] += 1
            task = _with(task, reminded_at=due + timedelta(minutes=5))
            if escalate < now:
                task = _with(task, escalated_at=escalate)
        tasks.append(task)
        counts[f"open_l{level}"] += 1
        rows.add(
            claim_row(
                rng, claim_id, member + 1, unit, city, benefit=benefit, status="in_review", levels=required,
                current_level=level, submitted=opened[1] - timedelta(hours=rng.uniform(2, 48)),
            ),
            tasks,
        )  # fmt: skip
    while (left := completed_tasks - counts["completed"]) >= 2:
        required = 3 if left == 3 or (left > 4 and rng.random() < 0.15) else 2
        member = rng.randrange(members)
        unit = member_units[member]
        benefit = benefit_for(rng, required)
        opened = {1: now - timedelta(days=rng.uniform(30, 330))}
        for j in range(2, required + 2):
            opened[j] = opened[j - 1] + timedelta(days=rng.uniform(2, 6))
        claim_id = rows.next_claim()
        tasks = [completed(claim_id, benefit, unit, j, opened[j], opened[j + 1]) for j in range(1, required + 1)]
        status = rng.choices(("paid", "payable", "in_notice", "rejected"), (75, 5, 5, 15))[0]
        rows.add(
            claim_row(
                rng, claim_id, member + 1, unit, city, benefit=benefit, status=status, levels=required,
                current_level=required, submitted=opened[1] - timedelta(hours=rng.uniform(2, 48)),
                decided=opened[required + 1],
            ),
            tasks,
        )  # fmt: skip
        counts["decided_claims"] += 1
    rows.flush()
    finish_setup(engine, {"claim": rows.claim_id, "approval_task": rows.task_id})
    return World(
        city, reviewers, weights, {lvl: sorted(ids) for lvl, ids in holders.items()},
        {"org_units": 1 + COUNTIES + GRASSROOTS, "members": members, "reviewers": reviewers.count,
         "claims": rows.claim_id, "tasks": rows.task_id, **dict(sorted(counts.items()))},
    )  # fmt: skip


def _with(task: tuple[Any, ...], **changes: Any) -> tuple[Any, ...]:
    """A task row with some columns changed."""
    return tuple(changes.get(column, value) for column, value in zip(TASK_COLUMNS, task, strict=True))


# --- the plan of searches ------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One search as a reviewer asks it."""

    kind: str
    user_id: int
    status: str | None = None
    overdue: bool | None = None
    benefit_type: str | None = None
    org_unit_id: int | None = None
    assigned: str | None = None
    offset: int = 0
    limit: int = 50

    def params(self) -> dict[str, Any]:
        """The query string of GET /api/tasks."""
        found = {
            "status": self.status, "overdue": None if self.overdue is None else str(self.overdue).lower(),
            "benefit_type": self.benefit_type, "org_unit_id": self.org_unit_id, "assigned": self.assigned,
            "offset": self.offset or None, "limit": self.limit,
        }  # fmt: skip
        return {k: v for k, v in found.items() if v is not None}

    def search(self) -> TaskSearch:
        """The same search for tasks.approval.queue.search_tasks."""
        return TaskSearch(
            statuses=(TaskStatus(self.status),) if self.status else OPEN_STATUSES, overdue=self.overdue,
            benefit_type=self.benefit_type, org_unit_id=self.org_unit_id, assigned=self.assigned,
            limit=self.limit, offset=self.offset,
        )  # fmt: skip


def query_kinds(world: World, rng: random.Random) -> dict[str, Callable[[], Query]]:
    """The kinds of search in the plan, each a maker of one such search by a random reviewer of its level."""
    city, reviewers = world.city, world.reviewers
    by_county: list[list[Unit]] = [[u for u in city.units if u.county == c] for c in range(COUNTIES)]

    def l1() -> int:
        """An L1 reviewer: one of a large unit more often (their queue is longer, they search more)."""
        return reviewers.l1_of_unit[rng.choices(city.units, world.unit_weights)[0].id]

    def l2() -> tuple[int, int]:
        """An L2 reviewer and their county's index."""
        county = rng.randrange(COUNTIES)
        return rng.choice(reviewers.l2_of_county[county]), county

    def l3() -> int:
        """An L3 approver."""
        return rng.choice(reviewers.l3)

    def holder() -> int:
        """A reviewer (of a random level) who holds taken tasks."""
        return rng.choice(world.holders[rng.choice(sorted(world.holders))])

    def unit_filter() -> Query:
        """A county reviewer narrowing their queue to one grassroots unit of their county."""
        user, county = l2()
        return Query("unit_filter_l2", user, org_unit_id=rng.choice(by_county[county]).id)

    return {
        "queue_l1": lambda: Query("queue_l1", l1()),
        "queue_l2": lambda: Query("queue_l2", l2()[0]),
        "queue_l3": lambda: Query("queue_l3", l3()),
        "later_page_l2": lambda: Query("later_page_l2", l2()[0], offset=50 * rng.randint(1, 60)),
        "later_page_l3": lambda: Query("later_page_l3", l3(), offset=50 * rng.randint(1, 160)),
        "overdue_l1": lambda: Query("overdue_l1", l1(), overdue=True),
        "overdue_l2": lambda: Query("overdue_l2", l2()[0], overdue=True),
        "overdue_l3": lambda: Query("overdue_l3", l3(), overdue=True),
        "benefit_l2": lambda: Query("benefit_l2", l2()[0], benefit_type=rng.choice(BENEFITS[:2])),
        "benefit_l3": lambda: Query("benefit_l3", l3(), benefit_type=rng.choice(BENEFITS)),
        "unit_filter_l2": unit_filter,
        "county_filter_l3": lambda: Query("county_filter_l3", l3(), org_unit_id=rng.choice(city.counties)[0]),
        "assigned_me": lambda: Query("assigned_me", holder(), assigned="me"),
        "taken_l2": lambda: Query("taken_l2", l2()[0], status="taken"),
        "taken_l3": lambda: Query("taken_l3", l3(), status="taken"),
    }


def make_plan(world: World, count: int, seed: int) -> list[Query]:
    """`count` searches, their kinds drawn evenly."""
    rng = random.Random(seed)
    kinds = query_kinds(world, rng)
    names = sorted(kinds)
    return [kinds[rng.choice(names)]() for _ in range(count)]


# --- timing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One timed search: its kind, seconds end to end, the total it reported, the HTTP status (0 in-process)."""

    kind: str
    seconds: float
    total: int
    status: int = 0


def load_users(engine: Engine, plan: list[Query]) -> dict[int, User]:
    """The reviewers the plan names, loaded once (detached, attributes kept)."""
    ids = sorted({q.user_id for q in plan})
    with Session(engine, expire_on_commit=False) as session:
        users = {u.id or 0: u for u in session.execute(select(User).where(col(User.id).in_(ids))).scalars()}
        session.expunge_all()
    return users


def run_in_process(engine: Engine, users: dict[int, User], plan: list[Query]) -> list[Sample]:
    """Each search through tasks.approval.queue.search_tasks, in a read-only session of its own."""
    reader = reading(engine)
    samples = []
    for query in plan:
        start = time.perf_counter()
        with Session(reader, expire_on_commit=False) as session:
            page = search_tasks(session=session, user=users[query.user_id], search=query.search())
        samples.append(Sample(query.kind, time.perf_counter() - start, page.total))
    return samples


def run_http(base_url: str, tokens: dict[int, str], plan: list[Query]) -> list[Sample]:
    """Each search as GET /api/tasks on one keep-alive client, one after another."""
    samples = []
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for query in plan:
            headers = {"Authorization": f"Bearer {tokens[query.user_id]}"}
            start = time.perf_counter()
            response = client.get("/api/tasks", params=query.params(), headers=headers)
            seconds = time.perf_counter() - start
            total = int(response.headers.get("X-Total-Count", -1))
            samples.append(Sample(query.kind, seconds, total, response.status_code))
    return samples


def run_concurrent(base_url: str, tokens: dict[int, str], plan: list[Query], clients: int) -> list[Sample]:
    """The plan shared round-robin among `clients` threads, each with a keep-alive client of its own."""
    with ThreadPoolExecutor(clients) as pool:
        parts = list(pool.map(lambda k: run_http(base_url, tokens, plan[k::clients]), range(clients)))
    samples: list[Sample] = [None] * len(plan)  # type: ignore[list-item]
    for k, part in enumerate(parts):
        samples[k::clients] = part
    return samples


def summary(samples: list[Sample], seconds: float | None = None) -> dict[str, Any]:
    """Latencies overall and per kind (with each kind's median total), and requests per second."""
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_kind[s.kind].append(s)
    result: dict[str, Any] = {"requests": len(samples)}
    if seconds is not None:
        result["requests_per_second"] = round(len(samples) / seconds, 1)
    result["overall_ms"] = latency_ms([s.seconds for s in samples])
    result["by_kind_ms"] = {
        kind: {
            **latency_ms([s.seconds for s in group]),
            "median_total": sorted(s.total for s in group)[len(group) // 2],
        }
        for kind, group in sorted(by_kind.items())
    }
    worst = max(result["by_kind_ms"].items(), key=lambda item: item[1]["p95"])
    result["worst_kind_p95"] = {"kind": worst[0], "p95": worst[1]["p95"]}
    return result


def measured(
    fn: Callable[[], list[Sample]], server_pid: int | None, database: str | None
) -> tuple[float, list[Sample], dict[str, float]]:
    """Seconds of fn, its samples, and the cores busy meanwhile (cpu_cores)."""
    before = cpu_snapshot(server_pid, database)
    seconds, samples = timed(fn)
    return seconds, samples, cpu_cores(before, cpu_snapshot(server_pid, database))


def checks(reference: list[Sample], answered: list[Sample]) -> dict[str, Any]:
    """HTTP status counts, and how many totals differ from the in-process total of the same search."""
    return {
        "status_codes": dict(Counter(str(s.status) for s in answered)),
        "totals_differing_from_in_process": sum(a.total != r.total for a, r in zip(answered, reference, strict=True)),
    }


def stored_counts(engine: Engine) -> dict[str, Any]:
    """Tasks per status and the open (open or taken) tasks per level, read back from the database."""
    t = ApprovalTask.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        status: dict[str, int] = dict(conn.execute(select(t.c.status, func.count()).group_by(t.c.status)).all())
        live = t.c.status.in_([str(s) for s in OPEN_STATUSES])
        levels: dict[int, int] = dict(
            conn.execute(select(t.c.level, func.count()).where(live).group_by(t.c.level)).all()
        )
    return {"by_status": status, "open_or_taken_by_level": {str(k): v for k, v in sorted(levels.items())}}


def main() -> None:
    """Set up, time the plan in-process, over HTTP and concurrently, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", "--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--open-tasks", type=int, default=100_000, help="open (or taken) tasks (default 100000)")
    parser.add_argument("--completed-tasks", type=int, default=200_000, help="completed tasks (default 200000)")
    parser.add_argument("--members", type=int, default=100_000, help="members (default 100000)")
    parser.add_argument("--requests", type=int, default=2000, help="timed searches per run (default 2000)")
    parser.add_argument("--concurrency", type=int, default=4, help="clients of the concurrent run (default 4)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    with fresh_database(args.db) as engine:
        setup_seconds, world = timed(
            lambda: populate(
                engine, members=args.members, open_tasks=args.open_tasks, completed_tasks=args.completed_tasks,
                seed=args.seed,
            )
        )  # fmt: skip
        stored = stored_counts(engine)
        warmup, plan = make_plan(world, WARMUP, args.seed + 1), make_plan(world, args.requests, args.seed + 2)
        users = load_users(engine, warmup + plan)
        tokens = {uid: create_token(uid) for uid in users}
        database = engine.url.database if args.db == "postgresql" else None
        run_in_process(engine, users, warmup)
        seconds, local, cpu = measured(lambda: run_in_process(engine, users, plan), None, database)
        in_process = summary(local, seconds) | {"cpu": cpu}
        engine.dispose()  # the benchmark process holds no connection while the server works
        with api_server(database_url(engine), workers=args.workers) as server:
            run_http(server.base_url, tokens, warmup)
            seconds, sequential, cpu = measured(lambda: run_http(server.base_url, tokens, plan), server.pid, database)
            http_sequential = summary(sequential, seconds) | checks(local, sequential) | {"cpu": cpu}
            run_concurrent(server.base_url, tokens, warmup, args.concurrency)
            seconds, concurrent, cpu = measured(
                lambda: run_concurrent(server.base_url, tokens, plan, args.concurrency), server.pid, database
            )
            http_concurrent = summary(concurrent, seconds) | checks(local, concurrent) | {"cpu": cpu}
    l3_totals = [s.total for s in sequential if s.kind == "queue_l3"]
    emit(
        {
            "benchmark": "task_search",
            "database": args.db,
            "target_p95_ms": TARGET_P95_MS,
            "target_met": {
                "http_sequential_p95": http_sequential["overall_ms"]["p95"] <= TARGET_P95_MS,
                "http_concurrent_p95": http_concurrent["overall_ms"]["p95"] <= TARGET_P95_MS,
                "every_kind_sequential_p95": http_sequential["worst_kind_p95"]["p95"] <= TARGET_P95_MS,
            },
            "setup_seconds": round(setup_seconds, 1),
            "written": world.counts,
            "stored": stored,
            "l3_queue_x_total_count": sorted(set(l3_totals)),
            "http_sequential": http_sequential,
            "http_concurrent": {"clients": args.concurrency, **http_concurrent},
            "in_process": in_process,
            "http_overhead_p50_ms": round(http_sequential["overall_ms"]["p50"] - in_process["overall_ms"]["p50"], 2),
            "server": {"command": server.command, "workers": args.workers},
            "peak_rss_mb": peak_rss_mb(),
            "environment": environment(),
        }
    )


if __name__ == "__main__":
    main()
