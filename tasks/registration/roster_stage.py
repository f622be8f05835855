"""The staging table a chunk of roster rows passes through on its way in, and how it is loaded and joined.

`roster_stage` is a temporary table, private to the connection: created for a chunk, loaded in one go (COPY
on PostgreSQL, one driver-level executemany on SQLite), read by the set-based statements of
tasks.registration.enrolment and dropped at the end of the chunk (on PostgreSQL also at commit).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Column, Date, Integer, MetaData, String, Table, text
from sqlalchemy.schema import CreateTable
from sqlmodel import Session

from tasks.registration.roster_rows import RosterRow

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


def stage_rows(session: Session, rows: Sequence[RosterRow], unit_ids: dict[str, int]) -> None:
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


def drop_stage(session: Session) -> None:
    """Drop the chunk's staging table (the next chunk creates a fresh one)."""
    session.execute(text("DROP TABLE roster_stage"))


@contextmanager
def nested_loops(session: Session) -> Iterator[None]:
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
