"""What the approval benchmarks share: a city's org tree, its reviewers and members, claim and task rows, and
the API server they load from a process of their own.

The city (DOMAIN): one city union, 7 county unions and 5,639 grassroots unions, written with raw bulk inserts
(benchmarks.bench_eligibility.write_rows: executemany on SQLite, COPY on PostgreSQL) with the materialised
paths tasks.common.orgs.create_org_unit gives ('/1/2/9/'); the programme and its policy year go through
tasks.common.programmes. Task rows start from tasks.approval.routing.new_task_values, so their org path,
benefit type and deadlines are exactly what routing writes.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, text
from sqlmodel import Session

from benchmarks.bench_eligibility import person, write_rows
from benchmarks.claims_data import ENROLMENT_COLUMNS, HOSPITALS, LISTED, MEMBER_COLUMNS, TIERS, UNLISTED
from core.security import hash_password
from core.settings import get_settings
from models.org import OrgUnit
from models.rules import PolicyRules
from tasks.approval.routing import new_task_values
from tasks.common.programmes import create_programme, open_policy_year

ROOT = Path(__file__).resolve().parents[1]
COUNTIES = 7
GRASSROOTS = 5639
BATCH = 50_000  # rows per insert batch
ORG_COLUMNS = ("id", "code", "name", "level", "parent_id", "path", "region_code")
USER_COLUMNS = (
    "id", "username", "full_name", "password_hash", "role", "org_unit_id", "member_id", "is_active", "created_at",
    "is_supervisor",
)  # fmt: skip
CLAIM_COLUMNS = (
    "id", "reference", "member_id", "enrolment_id", "policy_year_id", "org_unit_id", "benefit_type", "status",
    "version", "admission_date", "discharge_date", "hospital_name", "hospital_tier", "diagnosis_code",
    "diagnosis_text", "invoice_numbers", "total_fen", "basic_insurance_fen", "serious_illness_fen",
    "other_reimbursement_fen", "self_paid_fen", "requested_fen", "eligible_fen", "payout_fen", "explanation",
    "missing_documents", "required_levels", "current_level", "review_round", "submitted_at", "decided_at",
    "rules_version",
)  # fmt: skip
TASK_COLUMNS = (
    "id", "kind", "claim_id", "enrolment_id", "level", "round", "org_unit_id", "org_path", "benefit_type",
    "objection_id", "status", "version", "due_at", "escalate_at", "created_at", "assignee_id", "taken_at",
    "completed_at", "reminded_at", "escalated_at", "escalated_to_id", "unit_path",
)  # fmt: skip
ROLE_OF_LEVEL = {1: "unit_officer", 2: "county_reviewer", 3: "city_approver"}


@dataclass(frozen=True)
class Unit:
    """A grassroots union: id, path, and the index of its county."""

    id: int
    path: str
    county: int


@dataclass
class City:
    """The org tree and the programme year, as the rows need them."""

    city: tuple[int, str]
    counties: list[tuple[int, str]]
    units: list[Unit]
    policy_year_id: int
    rules: PolicyRules
    year: int

    def org_of(self, unit: Unit, level: int) -> tuple[int, str]:
        """The (id, path) deciding `level` for a claim of `unit`, as tasks.approval.routing.level_org finds it."""
        return {1: (unit.id, unit.path), 2: self.counties[unit.county], 3: self.city}[level]


@dataclass
class Reviewers:
    """User ids of the reviewers: one L1 officer per grassroots unit listed, L2 per county, L3 at the city."""

    l1_of_unit: dict[int, int] = field(default_factory=dict)  # unit id -> user id
    l2_of_county: list[list[int]] = field(default_factory=list)
    l3: list[int] = field(default_factory=list)
    count: int = 0

    def pick(self, rng: random.Random, city: City, unit: Unit, level: int) -> int | None:
        """A reviewer who may decide a task of `level` for a claim of `unit` (None if nobody is there)."""
        if level == 1:
            return self.l1_of_unit.get(unit.id)
        pool = self.l2_of_county[unit.county] if level == 2 else self.l3
        return rng.choice(pool) if pool else None


def build_city(engine: Engine, year: int) -> City:
    """The org tree (raw rows, ids 1, 2-8, 9-5647) and the programme's policy year (through tasks.common.programmes)."""
    rows: list[tuple[Any, ...]] = [(1, "C01", "示范市总工会", "city", None, "/1/", None)]
    counties = [(2 + c, f"/1/{2 + c}/") for c in range(COUNTIES)]
    rows += [
        (cid, f"X{c + 1:02d}", f"第{c + 1}区总工会", "county", 1, path, None) for c, (cid, path) in enumerate(counties)
    ]
    units = []
    for n in range(GRASSROOTS):
        county = n % COUNTIES
        uid = 2 + COUNTIES + n
        units.append(Unit(uid, f"{counties[county][1]}{uid}/", county))
        rows.append((uid, f"G{n + 1:05d}", f"第{county + 1}区第{n + 1}单位工会", "grassroots", counties[county][0],
                     units[-1].path, None))  # fmt: skip
    write_rows(engine, "org_unit", ORG_COLUMNS, rows)
    set_sequence(engine, "org_unit", len(rows))
    with Session(engine, expire_on_commit=False) as session:
        owner = session.get(OrgUnit, 1)
        assert owner is not None
        programme = create_programme(session=session, code="MA", name="职工医疗互助保障", owner=owner)
        policy_year = open_policy_year(session=session, programme=programme, year=year)
        session.commit()
        rules = policy_year.policy()
        return City((1, "/1/"), counties, units, policy_year.id or 0, rules, year)


def set_sequence(engine: Engine, table: str, last: int) -> None:
    """On PostgreSQL, move the table's id sequence past the ids written by hand."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {last})"))


def write_reviewers(
    engine: Engine, city: City, l1_units: list[Unit], l2_per_county: int, l3: int, start_id: int = 1
) -> Reviewers:
    """Reviewer users: one officer per unit of `l1_units`, `l2_per_county` per county, `l3` at the city."""
    password = hash_password("bench-password")  # once: Argon2 is slow on purpose
    now = datetime.now(UTC)
    reviewers, rows, next_id = Reviewers(), [], start_id

    def user(name: str, level: int, org_id: int) -> int:
        """Queue a reviewer's row; their id."""
        nonlocal next_id
        rows.append((next_id, name, name, password, ROLE_OF_LEVEL[level], org_id, None, True, now, False))
        next_id += 1
        return next_id - 1

    reviewers.l3 = [user(f"l3_{k}", 3, city.city[0]) for k in range(l3)]
    reviewers.l2_of_county = [
        [user(f"l2_{c}_{k}", 2, cid) for k in range(l2_per_county)] for c, (cid, _) in enumerate(city.counties)
    ]
    reviewers.l1_of_unit = {unit.id: user(f"l1_{unit.id}", 1, unit.id) for unit in l1_units}
    write_rows(engine, "app_user", USER_COLUMNS, rows)
    set_sequence(engine, "app_user", next_id - 1)
    reviewers.count = len(rows)
    return reviewers


def write_members(engine: Engine, city: City, member_units: list[Unit]) -> None:
    """Member n (from 1) in member_units[n - 1], with an active enrolment (id n) covering the whole year."""
    now = datetime.now(UTC)
    start, end, paid = date(city.year, 1, 1), date(city.year, 12, 31), date(city.year - 1, 12, 10)
    for first in range(0, len(member_units), BATCH):
        members, enrolments = [], []
        for n in range(first + 1, min(first + BATCH, len(member_units)) + 1):
            birth, id_number = person(n - 1)
            unit = member_units[n - 1].id
            members.append((n, f"职工{n:07d}", id_number, birth, "M" if int(id_number[16]) % 2 else "F", None,
                            "in_service", unit, None, None, False, now))  # fmt: skip
            enrolments.append((n, n, city.policy_year_id, unit, "renewal", "active", 1, 9500, now, paid, start, end))
        write_rows(engine, "member", MEMBER_COLUMNS, members)
        write_rows(engine, "enrolment", ENROLMENT_COLUMNS, enrolments)
    set_sequence(engine, "member", len(member_units))
    set_sequence(engine, "enrolment", len(member_units))


def claim_row(
    rng: random.Random,
    claim_id: int,
    member_id: int,
    unit: Unit,
    city: City,
    *,
    benefit: str,
    status: str,
    levels: int,
    current_level: int | None,
    submitted: datetime,
    decided: datetime | None = None,
) -> tuple[Any, ...]:
    """A claim (calculated: eligible and payout set) of member_id, in the order of CLAIM_COLUMNS."""
    admission = (submitted - timedelta(days=rng.randint(10, 60))).date()
    hospital, tier, diagnosis, invoices, amounts, requested = "", None, "", [], (0, 0, 0, 0, 0), None
    if benefit == "hospitalisation":
        payout = rng.randint(200_000, 1_500_000) if levels == 3 else rng.randint(20_000, 500_000)
        total = payout * 3
        hospital, tier, diagnosis = rng.choice(HOSPITALS), rng.choice(TIERS), rng.choice(UNLISTED)
        invoices, amounts = [f"FP{city.year}{claim_id:09d}"], (total, total - payout * 10 // 7, 0, 0, 0)
    elif benefit == "critical_illness":
        payout, diagnosis = 500_000, rng.choice(LISTED)
    else:
        requested = rng.randint(50_000, 600_000)
        payout = requested // 2
    discharge = admission + timedelta(days=rng.randint(1, 20)) if benefit == "hospitalisation" else admission
    return (
        claim_id, f"C{city.year}-R{claim_id:08d}", member_id, member_id, city.policy_year_id, unit.id, benefit,
        status, 2 if status == "in_review" else 3, admission, discharge, hospital, tier, diagnosis, "诊断",
        json.dumps(invoices), *amounts, requested, payout, payout, json.dumps([]), json.dumps([]), levels,
        current_level, 1, submitted, decided, 1,
    )  # fmt: skip


def task_tuple(
    task_id: int,
    claim_id: int,
    benefit: str,
    level: int,
    unit: Unit,
    city: City,
    opened: datetime,
    **extra: Any,
) -> tuple[Any, ...]:
    """A task row as tasks.approval.routing.new_task_values makes it for a claim of `unit` (opened at `opened`),
    with `extra` columns changed."""
    values = new_task_values(
        claim_id=claim_id, benefit_type=benefit, level=level, review_round=1, org=city.org_of(unit, level),
        unit_path=unit.path, rules=city.rules, now=opened,
    )  # fmt: skip
    values.update(id=task_id, **extra)
    return tuple(values.get(column) for column in TASK_COLUMNS)


def finish_setup(engine: Engine, counts: dict[str, int]) -> None:
    """Move the id sequences past the rows written (PostgreSQL) and refresh the planner's statistics.

    PostgreSQL also gets a VACUUM, as autovacuum would have run on a table that grew by inserts: the
    visibility map lets count(*) read the queue index alone, as it would in steady state.
    """
    for table, last in counts.items():
        set_sequence(engine, table, last)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


# --- the API server in a process of its own -------------------------------------------------------


class RawClient:
    """A lean HTTP/1.1 keep-alive client on asyncio streams, for load: a tenth of httpx's CPU per request, so
    that the load generator takes as little as it can of the machine it shares with the server it measures."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in ({"Host": f"{host}:{port}"} | headers).items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """Send one request on the kept-alive connection (opened on first use); its status and body."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\n{self.fixed}"
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readuntil(b"\r\n")
        length = 0
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    async def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()
            with suppress(Exception):
                await self.writer.wait_closed()


def free_port() -> int:
    """A TCP port on loopback that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running API server: where it listens, its process id, its command line."""

    base_url: str
    pid: int
    command: list[str]


@contextmanager
def api_server(database_url: str, workers: int = 1) -> Iterator[Server]:
    """The API as `mutualaid serve` runs it (uvicorn on uvloop and httptools, no access log) on a free loopback
    port, on database_url, with this process's secret key (so its tokens sign in); killed with its process
    group afterwards."""
    port = free_port()
    command = [
        sys.executable, "-m", "mutualaid.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="mutualaid-bench-api-") as folder:
        kept = ("MUTUALAID_API_THREADS",)  # tuning the server under test may be passed through
        env = {k: v for k, v in os.environ.items() if k in kept or not k.startswith(("MUTUALAID_", "PREFECT_API_URL"))}
        env |= {
            "MUTUALAID_DATABASE_URL": database_url,
            "MUTUALAID_DATA_DIR": folder,
            "MUTUALAID_SECRET_KEY": get_settings().secret_key,
        }
        log_path = Path(folder) / "server.log"
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so that the finally clauses below run
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_healthy(base_url, process, log_path)
            yield Server(base_url, process.pid, command[1:])
        finally:
            _stop(process)
            signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, _frame: Any) -> None:
    """SIGTERM to the benchmark: exit through the finally clauses (server stopped, scratch database dropped)."""
    raise SystemExit(128 + signum)


def _die_with_parent() -> None:
    """In the server's process before exec (Linux): SIGTERM it if the benchmark dies, even by SIGKILL."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log_path: Path, seconds: float = 90) -> None:
    """Poll /health until it answers 200; fail with the server's log if it exits or never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"API server exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"API server not healthy after {seconds} s:\n{log_path.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (it leads it), SIGKILL if it is not gone within 15 s."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # workers of `--workers N` are in the same group; make sure none outlives its supervisor
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def cpu_snapshot(server_pid: int | None, database: str | None) -> dict[str, float]:
    """CPU seconds so far (Linux /proc): the server's process tree, this process, the live PostgreSQL backends
    serving `database` (their command line names it), all of PostgreSQL (every postgres process, plus the ended
    ones its postmaster reaped: backends, WAL writer, checkpointer; other people's queries too), and the
    machine's busy and total CPU seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    ours, postgres, postgres_pids, reaped = 0.0, 0.0, set(), {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
            fields = tail.split()
            pid, seconds = int(entry.name), (int(fields[11]) + int(fields[12])) / tick
            if head.endswith("(postgres"):
                postgres += seconds
                postgres_pids.add(pid)
                reaped[pid] = (int(fields[13]) + int(fields[14])) / tick
                if database and f" {database} ".encode() in _cmdline(entry):
                    ours += seconds
        except (OSError, ValueError, IndexError):
            continue
        parents[pid], times[pid] = int(fields[1]), seconds
    postgres += sum(t for pid, t in reaped.items() if parents.get(pid) not in postgres_pids)  # the postmaster's
    tree, frontier = ({server_pid}, [server_pid]) if server_pid else (set(), [])
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(children)
        frontier += children
    usage = resource.getrusage(resource.RUSAGE_SELF)
    values = [float(v) / tick for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    idle = values[3] + values[4]
    return {
        "server": sum(times.get(p, 0.0) for p in tree),
        "load_generator": usage.ru_utime + usage.ru_stime,
        "postgres_our_backends": ours,
        "postgres_all": postgres,
        "machine_busy": sum(values) - idle,
        "machine_total": sum(values),
    }


def pg_sessions(engine: Engine) -> int | None:
    """On PostgreSQL, how many sessions (connections) have been opened to the engine's database so far."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        found = conn.execute(text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()"))
        return int(found.scalar_one())


def _cmdline(entry: Path) -> bytes:
    """A process's command line, its NULs as spaces, with a space at both ends."""
    return b" " + (entry / "cmdline").read_bytes().replace(b"\0", b" ") + b" "


def cpu_cores(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """Cores busy between two snapshots (see cpu_snapshot), and `others`: the machine less the server, the
    load generator and PostgreSQL, i.e. other people's work on the machine (noise)."""
    cores = os.cpu_count() or 1
    wall = (after["machine_total"] - before["machine_total"]) / cores
    if wall <= 0:
        return {}
    used = {k: (after[k] - before[k]) / wall for k in before if not k.startswith("machine_total")}
    used["others"] = used["machine_busy"] - used["server"] - used["load_generator"] - used["postgres_all"]
    return {f"{k}_cores": round(v, 2) for k, v in used.items()} | {"machine_cores": cores}
