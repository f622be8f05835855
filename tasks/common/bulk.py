"""Bulk SQL the chunked steps share: rows sent to PostgreSQL as one JSON record set instead of an executemany."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import JSON, String, bindparam, column, func, insert
from sqlalchemy import cast as sql_cast
from sqlalchemy import select as sa_select
from sqlmodel import Session


def recordset(rows: list[dict[str, Any]], fields: list[Any]) -> Any:
    """PostgreSQL: `rows` as a derived table `given` of `fields`, sent as one JSON document."""
    data = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=json_value)
    return (
        func.json_to_recordset(sql_cast(bindparam(None, data, type_=String), JSON))
        .table_valued(*fields)
        .render_derived(name="given", with_types=True)
    )


def json_value(value: Any) -> Any:
    """Dates and timestamps as ISO text, read back by their column's type."""
    if isinstance(value, date):  # dates and timestamps, read back by their column's type
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def insert_rows(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table`: one INSERT ... SELECT from a JSON record set on
    PostgreSQL (an executemany costs twice as much there), an executemany elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    given = recordset(rows, [column(name, table.c[name].type) for name in names])
    session.execute(insert(table).from_select(names, sa_select(*(given.c[name] for name in names))))
