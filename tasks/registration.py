"""Registration (DOMAIN 2.2): roster rows into members and enrolments of a policy year, set-based per chunk.

A chunk costs a handful of statements whatever its size: one to resolve unit codes, one to find known
members, one to find this year's enrolments, one bulk insert each for new members and enrolments and one
executemany update for known members. Re-importing the same rows creates nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, bindparam, exists, insert, select, update
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from models.base import utcnow
from models.enrolments import Enrolment, EnrolmentKind, EnrolmentStatus
from models.errors import ValidationFailed
from models.members import Member
from models.org import OrgLevel, OrgUnit
from models.programmes import PolicyYear
from tasks.roster import RosterRow, RowError, parse_roster, row_error

ENROLMENT = Enrolment.__table__  # type: ignore[attr-defined]
MEMBER = Member.__table__  # type: ignore[attr-defined]
ORG_UNIT = OrgUnit.__table__  # type: ignore[attr-defined]
POLICY_YEAR = PolicyYear.__table__  # type: ignore[attr-defined]
UPDATABLE = ("phone", "bank_card", "bank_name", "org_unit_id", "employment_status")


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
    kept: list[RosterRow] = []
    for r in rows:
        unit = found.get(r.unit_code)
        if unit is None:
            errors.append(row_error(r.row, "unit", r.unit_code, f"单位编码“{r.unit_code}”不存在"))
        elif unit.level != OrgLevel.GRASSROOTS:
            errors.append(row_error(r.row, "unit", r.unit_code, "该单位不是基层工会，不能登记会员"))
        elif scope is not None and not unit.path.startswith(scope):
            errors.append(row_error(r.row, "unit", r.unit_code, "该单位不在您所属组织的管辖范围内"))
        else:
            kept.append(r)
    return kept, {code: u.id for code, u in found.items()}


def _dedupe(rows: Sequence[RosterRow], errors: list[RowError]) -> list[RosterRow]:
    """Rows without a repeated ID number (parse_roster already does this; chunks may come from elsewhere)."""
    first: dict[str, int] = {}
    kept: list[RosterRow] = []
    for r in rows:
        if r.id_number in first:
            errors.append(row_error(r.row, "id_number", r.id_number, f"与第{first[r.id_number]}行身份证号重复"))
        else:
            first[r.id_number] = r.row
            kept.append(r)
    return kept


def _update_known(session: Session, known: dict[str, Any], rows: Sequence[RosterRow], unit_ids: dict[str, int]) -> None:
    """Bring known members' contact, bank, unit and employment data up to the roster (one executemany)."""
    changes: list[dict[str, Any]] = []
    for r in rows:
        old = known[r.id_number]
        new = {
            "phone": r.phone or old.phone,
            "bank_card": r.bank_card or old.bank_card,
            "bank_name": r.bank_name or old.bank_name,
            "org_unit_id": unit_ids[r.unit_code],
            "employment_status": str(r.employment_status),
        }
        if any(new[c] != getattr(old, c) for c in UPDATABLE):
            changes.append({"member_id": old.id, **{f"new_{c}": v for c, v in new.items()}})
    if changes:
        stmt = (
            update(MEMBER)
            .where(MEMBER.c.id == bindparam("member_id"))
            .values({c: bindparam(f"new_{c}") for c in UPDATABLE})
        )
        session.execute(stmt, changes)


def _insert_members(session: Session, rows: Sequence[RosterRow], unit_ids: dict[str, int]) -> dict[str, int]:
    """Bulk-insert members for rows with unknown ID numbers; return ID number → new member id."""
    if not rows:
        return {}
    now = utcnow()
    session.execute(
        insert(MEMBER),
        [
            {
                "name": r.name,
                "id_number": r.id_number,
                "birth_date": r.birth_date,
                "sex": r.sex,
                "phone": r.phone,
                "employment_status": str(r.employment_status),
                "org_unit_id": unit_ids[r.unit_code],
                "bank_card": r.bank_card,
                "bank_name": r.bank_name,
                "barred": False,
                "created_at": now,
            }
            for r in rows
        ],
    )
    new_ids = select(MEMBER.c.id_number, MEMBER.c.id).where(MEMBER.c.id_number.in_([r.id_number for r in rows]))
    return {number: member_id for number, member_id in session.execute(new_ids)}


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
    if not rows:
        return ChunkResult(imported=0, errors=errors)
    known = {
        m.id_number: m
        for m in session.execute(
            select(MEMBER.c.id, MEMBER.c.id_number, *(MEMBER.c[c] for c in UPDATABLE)).where(
                MEMBER.c.id_number.in_([r.id_number for r in rows])
            )
        )
    }
    enrolled = set(
        session.scalars(
            select(ENROLMENT.c.member_id).where(
                ENROLMENT.c.policy_year_id == policy_year.id,
                ENROLMENT.c.member_id.in_([m.id for m in known.values()]),
            )
        )
    )
    todo: list[RosterRow] = []
    for r in rows:
        if r.id_number in known and known[r.id_number].id in enrolled:
            errors.append(row_error(r.row, "id_number", r.id_number, "已在本年度登记"))
        else:
            todo.append(r)
    if not todo:
        return ChunkResult(imported=0, errors=errors)
    _update_known(session, known, [r for r in todo if r.id_number in known], unit_ids)
    member_ids = _insert_members(session, [r for r in todo if r.id_number not in known], unit_ids)
    member_ids.update({n: m.id for n, m in known.items()})
    _insert_enrolments(
        session,
        policy_year,
        [(member_ids[r.id_number], unit_ids[r.unit_code]) for r in todo],
        kind,
    )
    return ChunkResult(imported=len(todo), errors=errors)


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


def import_roster(
    *,
    session: Session,
    policy_year: PolicyYear,
    data: bytes,
    importer_scope_path: str | None,
    chunk_size: int = 5000,
) -> ImportReport:
    """Parse a roster file and enrol its valid rows chunk by chunk (for the API and the CLI)."""
    parsed = parse_roster(data)
    errors = list(parsed.errors)
    imported = 0
    for start in range(0, len(parsed.rows), chunk_size):
        result = import_roster_rows(
            session=session,
            policy_year=policy_year,
            rows=parsed.rows[start : start + chunk_size],
            importer_scope_path=importer_scope_path,
        )
        imported += result.imported
        errors.extend(result.errors)
    errors.sort(key=lambda e: e.row)
    return ImportReport(total_rows=parsed.total_rows, imported=imported, errors=errors)


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
