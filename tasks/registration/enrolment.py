"""Registration (DOMAIN 2.2): roster rows into members and enrolments of a policy year, set-based per chunk.

A chunk costs a handful of statements whatever its size. Unit codes are resolved and checked against the
importer's scope in Python (a roster names a handful of units). The rows then go into a temporary staging
table (COPY on PostgreSQL, one driver-level executemany on SQLite) and set-based statements do the rest in
the chunk's transaction: insert the members not known yet; only if some were known, drop (and report) the
rows already enrolled for the year and bring the known members' data up to date; insert the enrolments.
Re-importing the same rows creates nothing twice.

`import_roster` streams a file through `tasks.registration.roster.iter_roster` with a reader thread one or two chunks
ahead, so reading and validating overlap the database work; it can commit after every chunk.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from queue import Full, Queue
from typing import Any, BinaryIO

from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    ScalarSelect,
    Select,
    String,
    Table,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.schema import CreateTable
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from models.base import utcnow
from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.errors import ValidationFailed
from models.members import Member
from models.org import OrgLevel, OrgUnit
from models.programmes import PolicyYear
from tasks.registration.roster import RosterChunk, RosterRow, RowError, iter_roster, row_error

ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
MEMBER = Member.__table__  # type: ignore[attr-defined]
ORG_UNIT = OrgUnit.__table__  # type: ignore[attr-defined]
POLICY_YEAR = PolicyYear.__table__  # type: ignore[attr-defined]
UPDATABLE = ("phone", "bank_card", "bank_name", "org_unit_id", "employment_status")

# One chunk's rows on their way in. Temporary: private to the connection, gone at the end of the chunk.
STAGE = Table(
    "roster_stage",
    MetaData(),
    Column("row_no", Integer, nullable=False),
    Column("name", String, nullable=False),
    Column("id_number", String, nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String, nullable=False),
    Column("phone", String),
    Column("employment_status", String, nullable=False),
    Column("org_unit_id", Integer, nullable=False),
    Column("bank_card", String),
    Column("bank_name", String),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
STAGE_COLUMNS = tuple(c.name for c in STAGE.columns)
# For the current transaction only (set_config's third argument), in one round trip each.
NESTED_LOOPS_ONLY = "SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)"
ANY_JOINS = (
    "SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name IN ('enable_hashjoin', 'enable_mergejoin')"
)


@dataclass
class ChunkResult:
    """What one chunk of rows did: how many enrolments were created, and the rows refused."""

    imported: int
    errors: list[RowError] = field(default_factory=list)


@dataclass
class ImportReport:
    """A whole roster: data rows read, enrolments created, and every row error (parse and import)."""

    total_rows: int
    imported: int
    errors: list[RowError] = field(default_factory=list)


def _resolve_units(
    session: Session, rows: Sequence[RosterRow], scope: str | None, errors: list[RowError]
) -> tuple[list[RosterRow], dict[str, int]]:
    """Rows whose unit is a grassroots union inside the importer's scope, and unit code → id."""
    codes = sorted({r.unit_code for r in rows})
    found = {
        u.code: u
        for u in session.execute(
            select(ORG_UNIT.c.id, ORG_UNIT.c.code, ORG_UNIT.c.level, ORG_UNIT.c.path).where(ORG_UNIT.c.code.in_(codes))
        )
    }
    refusals: dict[str, str] = {}
    for code in codes:
        unit = found.get(code)
        if unit is None:
            refusals[code] = f"单位编码“{code}”不存在"
        elif unit.level != OrgLevel.GRASSROOTS:
            refusals[code] = "该单位不是基层工会，不能登记会员"
        elif scope is not None and not unit.path.startswith(scope):
            refusals[code] = "该单位不在您所属组织的管辖范围内"
    kept: list[RosterRow] = []
    for r in rows:
        if r.unit_code in refusals:
            errors.append(row_error(r.row, "unit", r.unit_code, refusals[r.unit_code]))
        else:
            kept.append(r)
    return kept, {code: u.id for code, u in found.items()}


def _dedupe(rows: Sequence[RosterRow], errors: list[RowError]) -> list[RosterRow]:
    """Rows without a repeated ID number (iter_roster already does this; chunks may come from elsewhere)."""
    first: dict[str, int] = {}
    kept: list[RosterRow] = []
    for r in rows:
        if r.id_number in first:
            errors.append(row_error(r.row, "id_number", r.id_number, f"与第{first[r.id_number]}行身份证号重复"))
        else:
            first[r.id_number] = r.row
            kept.append(r)
    return kept


def _stage(session: Session, rows: Sequence[RosterRow], unit_ids: dict[str, int]) -> None:
    """Load the rows into a fresh staging table: COPY on PostgreSQL, one driver-level executemany on SQLite."""
    session.execute(CreateTable(STAGE))  # fails loudly if a broken earlier chunk left one in this transaction
    records = (
        (
            r.row, r.name, r.id_number, r.birth_date, r.sex, r.phone, str(r.employment_status),
            unit_ids[r.unit_code], r.bank_card, r.bank_name,
        )
        for r in rows
    )  # fmt: skip
    driver = session.connection().connection.driver_connection
    assert driver is not None
    if session.get_bind().dialect.name == "postgresql":
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY roster_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy,
        ):
            for record in records:
                copy.write_row(record)
        return
    marks = ", ".join("?" * len(STAGE_COLUMNS))
    cursor = driver.cursor()
    try:
        cursor.executemany(
            f"INSERT INTO roster_stage ({', '.join(STAGE_COLUMNS)}) VALUES ({marks})",  # noqa: S608 - fixed names
            ((*r[:3], r[3].isoformat(), *r[4:]) for r in records),
        )
    finally:
        cursor.close()


def _drop_enrolled(session: Session, policy_year_id: int | None, errors: list[RowError]) -> None:
    """Take the rows whose member is already enrolled for the year out of the stage, reporting each.

    A scalar subquery is never turned into a join, so each staged row probes the member and enrolment
    unique indexes; as EXISTS, PostgreSQL would be free to start from the year's enrolments instead, which
    stale statistics during a big import make look cheap (measured: a full scan per chunk).
    """
    enrolment_id = (
        select(ENROLMENT.c.id)
        .join(MEMBER, MEMBER.c.id == ENROLMENT.c.member_id)
        .where(MEMBER.c.id_number == STAGE.c.id_number, ENROLMENT.c.policy_year_id == policy_year_id)
        .scalar_subquery()
    )
    deleted = delete(STAGE).where(enrolment_id.is_not(None)).returning(STAGE.c.row_no, STAGE.c.id_number)
    for row_no, id_number in session.execute(deleted):
        errors.append(row_error(row_no, "id_number", id_number, "已在本年度登记"))


def _member_id_of_staged() -> ScalarSelect[Any]:
    """The id of the member with the staged row's ID number (a per-row unique-index probe, see _drop_enrolled)."""
    return select(MEMBER.c.id).where(MEMBER.c.id_number == STAGE.c.id_number).scalar_subquery()


def _update_known(session: Session) -> None:
    """Bring known members' contact, bank, unit and employment data up to the roster (blank cells keep old data)."""
    new = {
        "phone": func.coalesce(STAGE.c.phone, MEMBER.c.phone),
        "bank_card": func.coalesce(STAGE.c.bank_card, MEMBER.c.bank_card),
        "bank_name": func.coalesce(STAGE.c.bank_name, MEMBER.c.bank_name),
        "org_unit_id": STAGE.c.org_unit_id,
        "employment_status": STAGE.c.employment_status,
    }
    changed = or_(*(MEMBER.c[c].is_distinct_from(value) for c, value in new.items()))
    session.execute(update(MEMBER).values(new).where(MEMBER.c.id_number == STAGE.c.id_number, changed))


def _insert_members(session: Session, now: datetime) -> int:
    """Insert a member for every staged row whose ID number is not known yet, in row order; how many."""
    columns = ("name", "id_number", "birth_date", "sex", "phone", "employment_status", "org_unit_id", "bank_card")
    rows = (
        select(
            *(STAGE.c[c] for c in columns), STAGE.c.bank_name, literal(False), literal(now, MEMBER.c.created_at.type)
        )
        .where(_member_id_of_staged().is_(None))
        .order_by(STAGE.c.row_no)
    )
    statement = insert(MEMBER).from_select([*columns, "bank_name", "barred", "created_at"], rows)
    return _rowcount(session.execute(statement, execution_options={"preserve_rowcount": True}))


def _rowcount(result: Any) -> int:
    """The rows an INSERT ... SELECT wrote (executed with preserve_rowcount)."""
    return int(result.rowcount)


def _enrol_staged(session: Session, policy_year: PolicyYear, kind: EnrolmentKind, now: datetime) -> int:
    """Enrol every staged row's member for the year, in row order; how many."""
    rows = (
        select(
            MEMBER.c.id,
            literal(policy_year.id),
            STAGE.c.org_unit_id,
            literal(str(kind)),
            literal(str(EnrolmentStatus.REGISTERED)),
            literal(1),
            literal(policy_year.policy().contribution_fen),
            literal(now, ENROLMENT.c.registered_at.type),
        )
        .select_from(STAGE.join(MEMBER, MEMBER.c.id_number == STAGE.c.id_number))
        .order_by(STAGE.c.row_no)
    )
    columns = ["member_id", "policy_year_id", "org_unit_id", "kind", "status", "version", "contribution_fen"]
    statement = insert(ENROLMENT).from_select([*columns, "registered_at"], rows)
    return _rowcount(session.execute(statement, execution_options={"preserve_rowcount": True}))


@contextmanager
def _nested_loops(session: Session) -> Iterator[None]:
    """On PostgreSQL, join the stage to members by index probes only, for the statements inside.

    During a bulk import the planner's statistics lag far behind the tables, and it joins a 5,000-row stage
    to the member table by hashing the whole table (measured: time per chunk grows with the table). A nested
    loop over the stage with unique-index probes is always the right plan here. The settings are local to
    the transaction (set_config's third argument) and put back at the end, so later statements plan as usual.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text(NESTED_LOOPS_ONLY))
    yield
    if postgres:
        session.execute(text(ANY_JOINS))


def import_roster_rows(
    *,
    session: Session,
    policy_year: PolicyYear,
    rows: list[RosterRow],
    importer_scope_path: str | None,
    kind: EnrolmentKind = EnrolmentKind.NEW,
) -> ChunkResult:
    """Enrol a chunk of valid roster rows into the policy year; return how many were enrolled and the refusals."""
    errors: list[RowError] = []
    rows, unit_ids = _resolve_units(session, _dedupe(rows, errors), importer_scope_path, errors)
    imported = 0
    if rows:
        session.flush()
        now = utcnow()
        with _nested_loops(session):
            _stage(session, rows, unit_ids)
            if _insert_members(session, now) < len(rows):  # some were known: maybe enrolled, maybe changed
                _drop_enrolled(session, policy_year.id, errors)
                _update_known(session)
            imported = _enrol_staged(session, policy_year, kind, now)
            session.execute(text("DROP TABLE roster_stage"))
    errors.sort(key=lambda e: e.row)
    return ChunkResult(imported=imported, errors=errors)


def _insert_enrolments(
    session: Session, policy_year: PolicyYear, pairs: Sequence[tuple[int, int]], kind: EnrolmentKind
) -> None:
    """Bulk-insert registered enrolments for (member id, unit id) pairs."""
    if not pairs:
        return
    contribution = policy_year.policy().contribution_fen
    now = utcnow()
    session.execute(
        insert(ENROLMENT),
        [
            {
                "member_id": member_id,
                "policy_year_id": policy_year.id,
                "org_unit_id": unit_id,
                "kind": str(kind),
                "status": str(EnrolmentStatus.REGISTERED),
                "version": 1,
                "contribution_fen": contribution,
                "registered_at": now,
            }
            for member_id, unit_id in pairs
        ],
    )


def _read_ahead(chunks: Iterator[RosterChunk], depth: int = 2) -> Iterator[RosterChunk]:
    """The chunks, read by a background thread up to depth chunks ahead of the caller.

    Reading and validating is pure Python; the database works while the caller waits on it (PostgreSQL on
    its own core, SQLite with the GIL released), so the next chunk is read meanwhile. Errors of the reader
    (RosterFileError) are raised here, in the caller's thread; stopping early stops the reader.
    """
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not hand_over(("chunk", chunk)):
                    return
            hand_over(("end", None))
        except BaseException as exc:
            hand_over(("error", exc))

    reader = threading.Thread(target=produce, name="roster-reader", daemon=True)
    reader.start()
    try:
        while True:
            kind, item = queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def import_roster(
    *,
    session: Session,
    policy_year: PolicyYear,
    data: bytes | BinaryIO,
    importer_scope_path: str | None,
    chunk_size: int = 5000,
    on_progress: Callable[[int], None] | None = None,
    commit_each_chunk: bool = False,
) -> ImportReport:
    """Read a roster file (bytes or a binary stream) and enrol its valid rows chunk by chunk (API and CLI).

    on_progress gets the data rows read so far after each chunk. With commit_each_chunk the session commits
    after every chunk, so no transaction grows with the file; a run that stops half-way is completed by
    importing the file again (rows already enrolled are reported, nothing is created twice).
    """
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    errors: list[RowError] = []
    imported = total = 0
    for chunk in _read_ahead(iter_roster(source, chunk_size=chunk_size)):
        result = import_roster_rows(
            session=session, policy_year=policy_year, rows=chunk.rows, importer_scope_path=importer_scope_path
        )
        if commit_each_chunk:
            session.commit()
        imported += result.imported
        errors.extend(sorted([*chunk.errors, *result.errors], key=lambda e: e.row))
        total = chunk.rows_read
        if on_progress is not None:
            on_progress(total)
    return ImportReport(total_rows=total, imported=imported, errors=errors)


def _next_year_id(session: Session, policy_year: PolicyYear) -> int | None:
    """The id of the programme's policy year after this one, if it is open yet."""
    return session.scalar(
        select(POLICY_YEAR.c.id).where(
            POLICY_YEAR.c.programme_id == policy_year.programme_id, POLICY_YEAR.c.year == policy_year.year + 1
        )
    )


def _active_not_in(policy_year_id: int | None, unit_id: int | None, later_year_id: int | None) -> Select[Any]:
    """Member ids active in a year at a unit, less those already enrolled in the later year."""
    e, later = ENROLMENT, ENROLMENT.alias("later")
    stmt = select(e.c.member_id).where(
        e.c.policy_year_id == policy_year_id,
        e.c.org_unit_id == unit_id,
        e.c.status == str(EnrolmentStatus.ACTIVE),
    )
    if later_year_id is not None:
        stmt = stmt.where(~exists().where(later.c.member_id == e.c.member_id, later.c.policy_year_id == later_year_id))
    return stmt


def renew_unit(*, session: Session, from_year: PolicyYear, to_year: PolicyYear, unit: OrgUnit) -> int:
    """Carry the unit's active enrolments of from_year over to to_year as renewals; return how many."""
    if from_year.programme_id != to_year.programme_id or to_year.year <= from_year.year:
        raise ValidationFailed("续保只能转入同一项目之后的保障年度")
    assert unit.id is not None
    member_ids = session.scalars(_active_not_in(from_year.id, unit.id, to_year.id).order_by("member_id")).all()
    _insert_enrolments(session, to_year, [(m, unit.id) for m in member_ids], EnrolmentKind.RENEWAL)
    return len(member_ids)


def due_for_renewal(*, session: Session, policy_year: PolicyYear, unit_id: int) -> list[Member]:
    """Members active in the year for the unit and not yet enrolled in the programme's following year."""
    due = _active_not_in(policy_year.id, unit_id, _next_year_id(session, policy_year))
    return list(session.exec(sm_select(Member).where(col(Member.id).in_(due)).order_by(col(Member.id))).all())
