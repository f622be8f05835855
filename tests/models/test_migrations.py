"""The Alembic migrations build exactly the schema the models declare, on SQLite and on PostgreSQL.

Each test starts from an empty database of its own (not the create_all schema of the `database_url`
fixture): a fresh SQLite file, or a scratch PostgreSQL database created and dropped around the test.
Beyond Alembic's own comparison, the schema is compared object by object with one made by create_all,
because compare_metadata does not look at CHECK constraints, index WHERE clauses or triggers.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError
from sqlmodel import SQLModel

import models  # noqa: F401 - registers every table
from core.db import make_engine
from mutualaid.migrate import alembic_config, current_revision, upgrade_database

TEST_DB = os.environ.get("MUTUALAID_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("MUTUALAID_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
HEAD = "0004"


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it, just for this test."""
    if TEST_DB != "postgresql":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"mutualaid_migr_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _model_differences(url: str) -> list[object]:
    """What Alembic's autogenerate would still change to make the database match SQLModel.metadata."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def _sqlite_table_sql(sql: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """A CREATE TABLE as (column definitions in order, set of table constraints).

    The one thing ignored: the order of the table-level constraint clauses, which Alembic renders
    sorted (foreign keys by column, then unique constraints) and create_all in declaration order.
    """
    body = sql[sql.index("(") + 1 : sql.rindex(")")]
    clauses = [c.strip() for c in re.split(r",\s*\n", body) if c.strip()]
    is_constraint = re.compile(r"^(CONSTRAINT|PRIMARY KEY|FOREIGN KEY|UNIQUE|CHECK)\b")
    columns = tuple(c for c in clauses if not is_constraint.match(c))
    constraints = frozenset(c for c in clauses if is_constraint.match(c))
    return columns, constraints


def _schema(conn: Connection) -> dict[tuple[str, str], object]:
    """Every schema object (tables, columns, constraints, indexes, triggers, functions) with its definition."""
    if conn.dialect.name == "sqlite":
        rows = conn.execute(
            text("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '%alembic_version%'")
        ).all()
        return {
            (kind, name): _sqlite_table_sql(sql) if kind == "table" else (" ".join(sql.split()) if sql else None)
            for kind, name, sql in rows
        }
    found: dict[tuple[str, str], object] = {}
    queries = {
        "column": "SELECT table_name || '.' || column_name, concat_ws(' ', ordinal_position, data_type, "
        "character_maximum_length, is_nullable, column_default) FROM information_schema.columns "
        "WHERE table_schema = 'public' AND table_name != 'alembic_version'",
        "constraint": "SELECT conrelid::regclass || '.' || conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text != 'alembic_version'",
        "index": "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
        "AND tablename != 'alembic_version'",
        "trigger": "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal",
        "function": "SELECT proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
    }
    for kind, query in queries.items():
        found.update({(kind, name): definition for name, definition in conn.execute(text(query)).all()})
    return found


def _schema_of(url: str) -> dict[tuple[str, str], object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return _schema(conn)
    finally:
        engine.dispose()


def _assert_audit_append_only(url: str) -> None:
    """An audit row can be added, but never changed or removed."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO audit_event (occurred_at, actor_label, entity_type, entity_id, action, data) "
                    "VALUES (CURRENT_TIMESTAMP, 'system', 'claim', 1, 'claim.submitted', '{}')"
                )
            )
        for statement in ("UPDATE audit_event SET reason = 'rewritten'", "DELETE FROM audit_event"):
            with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*), max(reason) FROM audit_event")).one() == (1, None)
    finally:
        engine.dispose()


def test_upgrade_head_builds_the_schema_the_models_declare(empty_url: str) -> None:
    upgrade_database(empty_url)

    assert current_revision(empty_url) == HEAD
    assert _model_differences(empty_url) == []


def test_migrated_schema_equals_create_all_including_triggers_checks_and_partial_index(
    empty_url: str, database_url: str
) -> None:
    upgrade_database(empty_url)

    migrated, created = _schema_of(empty_url), _schema_of(database_url)

    assert migrated == created
    kinds_and_names = {name for _kind, name in migrated}
    assert {"uq_payment_one_live_per_claim"} <= kinds_and_names
    assert {"uq_task_review_claim_round_level", "decision_four_eyes"} <= kinds_and_names
    if TEST_DB == "postgresql":
        assert {"audit_event_no_change", "audit_event_append_only"} <= kinds_and_names
        assert "WHERE" in str(migrated[("index", "uq_payment_one_live_per_claim")])
    else:
        assert {"audit_event_no_update", "audit_event_no_delete"} <= kinds_and_names
        assert "WHERE status != 'failed'" in str(migrated[("index", "uq_payment_one_live_per_claim")])


def test_audit_event_refuses_update_and_delete_after_migration(empty_url: str) -> None:
    upgrade_database(empty_url)

    _assert_audit_append_only(empty_url)


def test_downgrade_to_base_then_upgrade_again(empty_url: str) -> None:
    upgrade_database(empty_url)
    before = _schema_of(empty_url)
    engine = make_engine(empty_url)
    try:
        # The caller's-connection path of migrations/env.py, as a program migrating in its own transaction would.
        with engine.begin() as conn:
            config = alembic_config(empty_url)
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
    finally:
        engine.dispose()

    assert _schema_of(empty_url) == {}  # no table, index, trigger or function is left behind
    assert current_revision(empty_url) is None

    upgrade_database(empty_url)

    assert current_revision(empty_url) == HEAD
    assert _schema_of(empty_url) == before
    assert _model_differences(empty_url) == []
    _assert_audit_append_only(empty_url)


def test_upgrade_is_a_no_op_at_head(empty_url: str) -> None:
    upgrade_database(empty_url)
    before = _schema_of(empty_url)

    upgrade_database(empty_url)

    assert current_revision(empty_url) == HEAD
    assert _schema_of(empty_url) == before


def test_0004_fills_the_task_columns_of_existing_rows(empty_url: str) -> None:
    """Tasks written before 0004 get their org path, benefit type, and (eligibility) the level of their unit."""
    command.upgrade(alembic_config(empty_url), "0003")
    engine = make_engine(empty_url)
    statements = [
        "INSERT INTO org_unit (id, code, name, level, path) VALUES (1, 'C', '市', 'city', '/1/'), "
        "(2, 'X', '区', 'county', '/1/2/'), (3, 'G', '单位', 'grassroots', '/1/2/3/')",
        "INSERT INTO programme (id, code, name, kind, owner_org_id) VALUES (1, 'MA', '互助', 'mutual_aid', 1)",
        "INSERT INTO policy_year (id, programme_id, year, starts_on, ends_on, status, rules_version, rules) "
        "VALUES (1, 1, 2026, '2026-01-01', '2026-12-31', 'open', 1, '{}')",
        "INSERT INTO member (id, name, id_number, birth_date, sex, employment_status, org_unit_id, barred, created_at) "
        "VALUES (1, '张三', '110105198005170018', '1980-05-17', 'M', 'in_service', 3, false, '2026-06-01 08:00:00')",
        "INSERT INTO enrolment (id, member_id, policy_year_id, org_unit_id, kind, status, version, contribution_fen, "
        "registered_at) VALUES (1, 1, 1, 2, 'new', 'needs_review', 1, 9500, '2026-06-01 08:00:00')",
        "INSERT INTO claim (id, reference, member_id, policy_year_id, org_unit_id, benefit_type, status, version, "
        "admission_date, discharge_date, hospital_name, diagnosis_code, diagnosis_text, invoice_numbers, total_fen, "
        "basic_insurance_fen, serious_illness_fen, other_reimbursement_fen, self_paid_fen, explanation, "
        "missing_documents, review_round, submitted_at) VALUES (1, 'C1', 1, 1, 3, 'hospitalisation', 'in_review', "
        "2, '2026-05-01', '2026-05-09', '医院', 'K35', '阑尾炎', '[]', 100, 0, 0, 0, 0, '[]', '[]', 1, "
        "'2026-06-01 08:00:00')",
        "INSERT INTO approval_task (id, kind, claim_id, enrolment_id, level, round, org_unit_id, status, version, "
        "created_at) VALUES (1, 'claim_review', 1, NULL, 2, 1, 2, 'open', 1, '2026-06-01 08:00:00'), "
        "(2, 'eligibility_review', NULL, 1, 1, 1, 2, 'open', 1, '2026-06-01 08:00:00')",
    ]
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()

    upgrade_database(empty_url)

    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, kind, level, org_path, benefit_type FROM approval_task ORDER BY id")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [
        (1, "claim_review", 2, "/1/2/", "hospitalisation"),
        (2, "eligibility_review", 2, "/1/2/", None),  # an enrolment at the county: the county's reviewers
    ]
