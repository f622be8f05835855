"""A unit's renewal (续保): carry last year's active members over, and list who is still due for renewal.

Administrators act for any unit; a unit officer only for a unit inside their own org subtree (403 otherwise);
auditors may read the due list. The due list feeds the renewal reminders, so ID numbers leave it masked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from sqlmodel import Session

from api.deps import LanguageDep, SessionDep, require_roles
from api.schemas import DueMember, RenewalDuePage, RenewalIn, RenewalResult
from models.errors import Forbidden
from models.org import OrgUnit
from models.users import Role, User
from tasks.common.labels import label
from tasks.common.masking import mask_id_number
from tasks.common.orgs import get_by_code, is_within
from tasks.common.programmes import get_policy_year
from tasks.registration.renewal import due_for_renewal, renew_unit

router = APIRouter(prefix="/api/units", tags=["units"])

Renewer = Annotated[User, Depends(require_roles(Role.ADMIN, Role.UNIT_OFFICER))]
DueReader = Annotated[User, Depends(require_roles(Role.ADMIN, Role.AUDITOR, Role.UNIT_OFFICER))]
UnitCode = Annotated[str, PathParam(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]


def unit_for(session: Session, user: User, code: str) -> OrgUnit:
    """The unit (404 if unknown) if the user may act for it: any unit for admins and auditors, else 403."""
    unit = get_by_code(session=session, code=code)
    if Role(user.role) in (Role.ADMIN, Role.AUDITOR):
        return unit
    own = session.get(OrgUnit, user.org_unit_id) if user.org_unit_id is not None else None
    if own is None or not is_within(unit.path, own.path):
        raise Forbidden("只能查看或办理本单位的续保")
    return unit


@router.post("/{unit_code}/renewal", response_model=RenewalResult)
def renew(session: SessionDep, user: Renewer, unit_code: UnitCode, body: RenewalIn) -> RenewalResult:
    """Carry the unit's active members of from_year over to to_year (registered renewals); once only."""
    unit = unit_for(session, user, unit_code)
    from_year = get_policy_year(session=session, programme_code=body.programme_code, year=body.from_year)
    to_year = get_policy_year(session=session, programme_code=body.programme_code, year=body.to_year)
    carried = renew_unit(session=session, from_year=from_year, to_year=to_year, unit=unit)
    session.commit()
    return RenewalResult(
        unit_code=unit.code,
        programme_code=body.programme_code,
        from_year=body.from_year,
        to_year=body.to_year,
        carried_over=carried,
    )


@router.get("/{unit_code}/renewal-due", response_model=RenewalDuePage)
def renewal_due(
    session: SessionDep,
    user: DueReader,
    language: LanguageDep,
    unit_code: UnitCode,
    programme_code: Annotated[str, Query(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")],
    year: Annotated[int, Query(ge=2000, le=2100)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> RenewalDuePage:
    """Members active in the year and not yet enrolled in the next one, by member id (ID numbers masked)."""
    unit = unit_for(session, user, unit_code)
    assert unit.id is not None
    policy_year = get_policy_year(session=session, programme_code=programme_code, year=year)
    due = due_for_renewal(session=session, policy_year=policy_year, unit_id=unit.id)
    items = [
        DueMember(
            member_id=m.id or 0,
            name=m.name,
            id_number_masked=mask_id_number(m.id_number),
            employment_status=str(m.employment_status),
            employment_status_label=label("employment_status", str(m.employment_status), language),
        )
        for m in due[offset : offset + limit]
    ]
    return RenewalDuePage(
        unit_code=unit.code,
        programme_code=programme_code,
        year=year,
        total=len(due),
        limit=limit,
        offset=offset,
        items=items,
    )
