"""Registration (DOMAIN 2.2): a chunk of roster rows into members and enrolments of a policy year, set-based.

A chunk costs a handful of statements whatever its size. Unit codes are resolved and checked against the
importer's scope in Python (a roster names a handful of units). The rows then go into a temporary staging
table (tasks.registration.roster_stage) and set-based statements do the rest in the chunk's transaction:
insert the members not known yet; only if some were known, drop (and report) the rows already enrolled for
the year and bring the known members' data up to date; insert the enrolments. Re-importing the same rows
creates nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, delete, func, insert, literal, or_, select, update
from sqlmodel import Session

from models.base import utcnow
from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.members import Member
from models.org import OrgLevel, OrgUnit
from models.programmes import PolicyYear
from tasks.registration.roster_rows import RosterRow, RowError, row_error
from tasks.registration.roster_stage import STAGE, drop_stage, nested_loops, stage_rows

ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
MEMBER = Member.__table__  # type: ignore[attr-defined]
ORG_UNIT = OrgUnit.__table__  # type: ignore[attr-defined]


@dataclass
class ChunkResult:
    """What one chunk of rows did: how many enrolments were created, and the rows refused."""

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
        with nested_loops(session):
            stage_rows(session, rows, unit_ids)
            if _insert_members(session, now) < len(rows):  # some were known: maybe enrolled, maybe changed
                _drop_enrolled(session, policy_year.id, errors)
                _update_known(session)
            imported = _enrol_staged(session, policy_year, kind, now)
            drop_stage(session)
    errors.sort(key=lambda e: e.row)
    return ChunkResult(imported=imported, errors=errors)
