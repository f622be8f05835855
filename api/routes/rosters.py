"""Roster import: a unit's CSV roster enrols its members in a policy year; bad rows come back with reasons.

Administrators may import for any unit; a unit officer only for units inside their own org subtree
(rows of other units are refused row by row); every other role gets 403.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile

from api.deps import SessionDep, require_roles
from api.schemas import RosterImportResult, RowErrorPublic
from models.errors import ValidationFailed
from models.org import OrgUnit
from models.users import Role, User
from tasks.programmes import get_policy_year
from tasks.registration import import_roster

router = APIRouter(prefix="/api/rosters", tags=["rosters"])

MAX_ROSTER_BYTES = 50 * 1024 * 1024

Importer = Annotated[User, Depends(require_roles(Role.ADMIN, Role.UNIT_OFFICER))]


def importer_scope(session: SessionDep, user: User) -> str | None:
    """None (anything) for an administrator; the path of a unit officer's org unit otherwise."""
    if Role(user.role) == Role.ADMIN:
        return None
    unit = session.get(OrgUnit, user.org_unit_id) if user.org_unit_id is not None else None
    if unit is None:
        raise ValidationFailed("您的账号未关联所属单位，不能导入名册", code="no_org_unit")
    return unit.path


@router.post("", response_model=RosterImportResult)
def upload_roster(
    session: SessionDep,
    user: Importer,
    file: Annotated[UploadFile, File(description="名册 CSV（UTF-8 或 GBK）")],
    programme_code: Annotated[str, Form(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")],
    year: Annotated[int, Form(ge=2000, le=2100)],
) -> RosterImportResult:
    """Import a roster file into the programme's policy year (422 if the file is no roster)."""
    data = file.file.read(MAX_ROSTER_BYTES + 1)
    if len(data) > MAX_ROSTER_BYTES:
        raise ValidationFailed("文件过大（上限 50 MB），请分批导入", code="file_too_large")
    policy_year = get_policy_year(session=session, programme_code=programme_code, year=year)
    report = import_roster(
        session=session, policy_year=policy_year, data=data, importer_scope_path=importer_scope(session, user)
    )
    session.commit()
    return RosterImportResult(
        total_rows=report.total_rows,
        imported=report.imported,
        errors=[RowErrorPublic(row=e.row, column=e.column, value=e.value, reason=e.reason) for e in report.errors],
    )
