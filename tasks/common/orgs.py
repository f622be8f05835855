"""Org units: create the union tree and answer subtree questions."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from models.errors import NotFound
from models.org import OrgLevel, OrgUnit


def create_org_unit(
    *, session: Session, code: str, name: str, level: OrgLevel, parent: OrgUnit | None = None
) -> OrgUnit:
    """Add an org unit under parent, with its materialised path."""
    unit = OrgUnit(code=code, name=name, level=level, parent_id=parent.id if parent else None)
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    session.flush()
    return unit


def get_by_code(*, session: Session, code: str) -> OrgUnit:
    """The org unit with code, or NotFound."""
    unit = session.exec(select(OrgUnit).where(OrgUnit.code == code)).first()
    if unit is None:
        raise NotFound(f"未找到单位 {code}")
    return unit


def subtree_ids(*, session: Session, root: OrgUnit) -> list[int]:
    """Ids of root and everything under it."""
    return list(session.exec(select(OrgUnit.id).where(col(OrgUnit.path).startswith(root.path))).all())  # type: ignore[arg-type]


def ancestor_at(*, session: Session, unit: OrgUnit, level: OrgLevel) -> OrgUnit:
    """The ancestor (or unit itself) at the given level."""
    ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    found = session.exec(select(OrgUnit).where(col(OrgUnit.id).in_(ids), OrgUnit.level == level)).first()
    if found is None:
        raise NotFound(f"{unit.name} 没有 {level} 级上级单位")
    return found


def is_within(unit_path: str, root_path: str) -> bool:
    """Whether a unit (by path) lies in the subtree of root (by path)."""
    return unit_path.startswith(root_path)


def under(org_unit_id: int | None) -> Any:
    """SQL: the joined OrgUnit lies in the subtree of org unit `org_unit_id` (itself included)."""
    scope = select(OrgUnit.path).where(OrgUnit.id == org_unit_id).scalar_subquery()
    return col(OrgUnit.path).startswith(scope)
