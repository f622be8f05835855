"""Roster import: a unit's roster (CSV or .xlsx) enrols its members in a policy year; bad rows come back with reasons.

Every upload names the unit it is for (`unit_code`). Administrators may import for any unit; a unit officer
only for a unit inside their own org subtree (403 before any row is read); every other role gets 403. Rows
of any other unit than `unit_code` are row errors. The full error report is kept in the object store as a
CSV for Excel and can be downloaded by the uploader or an administrator.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from typing import IO, Annotated

from fastapi import APIRouter, Depends, File, Form, Response, UploadFile
from fastapi import Path as PathParam
from sqlmodel import Session

from api.deps import CurrentUser, SessionDep, StoreDep, require_roles
from api.presenters.common import attachment
from api.schemas import RosterImportResult, RowErrorPublic
from core.storage import ObjectStore
from models.base import utcnow
from models.errors import Forbidden, NotFound, ValidationFailed
from models.org import OrgLevel, OrgUnit
from models.users import Role, User
from tasks.common.orgs import get_by_code, is_within
from tasks.common.programmes import get_policy_year
from tasks.registration.error_report import error_report_csv
from tasks.registration.roster_import import ImportReport, import_roster
from tasks.registration.roster_rows import RowError

router = APIRouter(prefix="/api/rosters", tags=["rosters"])

MAX_ROSTER_BYTES = 50 * 1024 * 1024
MAX_ERRORS_SHOWN = 1000  # the response lists this many row errors; the downloadable report has all of them
REPORTS = "reports/rosters"
REPORT_ID = re.compile(r"[0-9a-f]{32}")
CODE = r"^[A-Za-z0-9_\-]+$"

Importer = Annotated[User, Depends(require_roles(Role.ADMIN, Role.UNIT_OFFICER))]


def import_unit(session: Session, user: User, code: str) -> OrgUnit:
    """The grassroots unit a roster is for: 404 if unknown, 403 outside a unit officer's subtree, 422 if no unit."""
    unit = get_by_code(session=session, code=code)
    if Role(user.role) != Role.ADMIN:
        own = session.get(OrgUnit, user.org_unit_id) if user.org_unit_id is not None else None
        if own is None or not is_within(unit.path, own.path):
            raise Forbidden("只能导入本单位名册")
    if unit.level != OrgLevel.GRASSROOTS:
        raise ValidationFailed("名册只能按基层工会导入，请选择基层工会", code="not_grassroots")
    return unit


def upload_size(stream: IO[bytes]) -> int:
    """The size of an uploaded file (already spooled by the server), leaving it at its start."""
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def report_filename(upload_name: str | None) -> str:
    """'<uploaded file name without extension>.errors.csv', without any directory part."""
    base = re.split(r"[\\/]", upload_name or "")[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = "".join(c for c in stem if c.isprintable() and c not in '"')[:80].strip() or "roster"
    return f"{stem}.errors.csv"


def save_error_report(store: ObjectStore, *, user: User, errors: list[RowError], filename: str, unit: str) -> str:
    """Keep the error report and who may read it; the report's random id."""
    report_id = secrets.token_hex(16)
    store.put(
        f"{REPORTS}/{report_id}.errors.csv",
        error_report_csv(errors),
        media_type="text/csv; charset=utf-8",
    )
    meta = {"uploader_id": user.id, "filename": filename, "unit_code": unit, "created_at": utcnow().isoformat()}
    store.put(f"{REPORTS}/{report_id}.json", json.dumps(meta).encode(), media_type="application/json")
    return report_id


def _result(unit: OrgUnit, report: ImportReport, report_id: str | None) -> RosterImportResult:
    shown = report.errors[:MAX_ERRORS_SHOWN]
    return RosterImportResult(
        unit_code=unit.code,
        total_rows=report.total_rows,
        imported=report.imported,
        rejected_rows=len({e.row for e in report.errors}),
        error_count=len(report.errors),
        errors=[RowErrorPublic(row=e.row, column=e.column, value=e.value, reason=e.reason) for e in shown],
        errors_truncated=len(report.errors) > len(shown),
        error_report_id=report_id,
        error_report_url=f"/api/rosters/reports/{report_id}" if report_id else None,
    )


@router.post("", response_model=RosterImportResult)
def upload_roster(
    session: SessionDep,
    store: StoreDep,
    user: Importer,
    file: Annotated[UploadFile, File(description="名册：CSV（UTF-8 或 GBK）或 Excel（.xlsx）")],
    unit_code: Annotated[str, Form(min_length=1, max_length=32, pattern=CODE, description="名册所属基层工会编码")],
    programme_code: Annotated[str, Form(min_length=1, max_length=32, pattern=CODE)],
    year: Annotated[int, Form(ge=2000, le=2100)],
) -> RosterImportResult:
    """Import a unit's roster into the programme's policy year (422 if the file is no roster or over 50 MB)."""
    unit = import_unit(session, user, unit_code)
    if upload_size(file.file) > MAX_ROSTER_BYTES:
        raise ValidationFailed("文件过大（上限 50 MB），请分批导入", code="file_too_large")
    policy_year = get_policy_year(session=session, programme_code=programme_code, year=year)
    report = import_roster(session=session, policy_year=policy_year, data=file.file, importer_scope_path=unit.path)
    report_id = None
    if report.errors:  # stored before the commit: a failing store leaves nothing imported
        filename = report_filename(file.filename)
        report_id = save_error_report(store, user=user, errors=report.errors, filename=filename, unit=unit.code)
    session.commit()
    return _result(unit, report, report_id)


@router.get(
    "/reports/{report_id}",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "行号, 列, 内容, 原因 (UTF-8 with BOM)"}},
)
def download_error_report(
    user: CurrentUser, store: StoreDep, report_id: Annotated[str, PathParam(max_length=64)]
) -> Response:
    """A roster import's error report, for the user who uploaded the roster or an administrator (404 otherwise)."""
    missing = NotFound("未找到错误报告")
    if not REPORT_ID.fullmatch(report_id):
        raise missing
    try:
        meta = json.loads(store.get(f"{REPORTS}/{report_id}.json"))
        if meta.get("uploader_id") != user.id and Role(user.role) != Role.ADMIN:
            raise missing
        data = store.get(f"{REPORTS}/{report_id}.errors.csv")
    except KeyError:
        raise missing from None
    headers = attachment(str(meta.get("filename") or "roster.errors.csv")) | {"Cache-Control": "private, no-store"}
    return Response(data, media_type="text/csv; charset=utf-8", headers=headers)
