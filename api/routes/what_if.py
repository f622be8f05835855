"""What-if simulation of a policy year under changed rules (issue 4, item 6).

Administrators, auditors and the city union's approvers may ask; everybody else gets 403. The simulation
only reads: once the caller is known, the request's own transaction ends (on SQLite it would hold the
write lock for the whole run) and the claims are read from one snapshot in a session of their own.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from sqlmodel import Session

from api.deps import LanguageDep, ProgrammeCode, SessionDep, Year, require_roles
from core.db import reading_snapshot
from models.users import Role, User
from models.what_if import WhatIfReport
from tasks.claims.what_if import simulate
from tasks.common.programmes import get_policy_year

router = APIRouter(prefix="/api", tags=["what_if"])

WhatIfUser = Annotated[User, Depends(require_roles(Role.ADMIN, Role.AUDITOR, Role.CITY_APPROVER))]


class WhatIfIn(BaseModel):
    """Rule changes laid over the year's current rules; nested objects merge key by key."""

    model_config = ConfigDict(extra="forbid")

    changes: dict[str, Any] = Field(
        default_factory=dict,
        examples=[{"benefits": {"hospitalisation": {"ratio": "0.75"}}, "annual_cap_fen": 3000000}],
    )


@router.post("/policy-years/{programme_code}/{year}/what-if", response_model=WhatIfReport)
def what_if(
    session: SessionDep,
    _user: WhatIfUser,
    language: LanguageDep,
    programme_code: ProgrammeCode,
    year: Year,
    body: WhatIfIn,
) -> WhatIfReport:
    """The year's claims re-run under the changed rules: actual and projected payouts, claim ratio and fund
    balance, their difference, and how many payouts go up or down (422 with the reason for a bad change)."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    session.rollback()  # the sign-in is checked; do not keep this request's transaction open meanwhile
    with Session(reading_snapshot(engine)) as reader:
        policy_year = get_policy_year(session=reader, programme_code=programme_code, year=year)
        return simulate(session=reader, policy_year=policy_year, changes=body.changes, language=language)
