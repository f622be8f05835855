"""SQL helpers the models' gate and the bulk paths share."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, any_, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session


def id_in(session: Session, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """SQL: `column IN ids`, with the ids sent as one parameter (an array on PostgreSQL, JSON on SQLite).

    A chunk of thousands of ids as one bound value each costs more in SQLAlchemy's statement expansion and
    the server's parser than the statement itself.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # An array literal as text: psycopg's own list adaptation costs more than the query it feeds.
        text = "{" + ",".join(map(str, map(int, ids))) + "}"
        return column == any_(cast(bindparam(None, text, type_=String), ARRAY(Integer)))
    if dialect == "sqlite":
        each = func.json_each(bindparam(None, json.dumps(list(ids)), type_=String)).table_valued("value")
        return column.in_(select(each.c.value))
    return column.in_(list(ids))
