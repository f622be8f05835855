"""Fund collection (资金筹集): receipts by source, unit payments that activate cover, the fund, reconciliation.

Finance officers and administrators record money; auditors may read too; everybody else gets 403.
Amounts travel as yuan strings ("1,234.56") beside integer fen, never as floats.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status

from api.deps import LanguageDep, PolicyYearDep, ProgrammeCode, SessionDep, require_roles
from api.presenters.common import attachment
from api.presenters.funds import fund_public, receipt_public, reconciliation_public
from api.schemas import FundPublic, ReceiptIn, ReceiptPublic, ReconciliationPublic, UnitPaymentIn, UnitPaymentResult
from models.base import format_yuan
from models.users import Role, User
from tasks.common.orgs import get_by_code
from tasks.common.users import actor_of
from tasks.funds.contributions import collect_unit_contribution
from tasks.funds.ledger import fund_balance, parse_yuan, record_receipt
from tasks.funds.reconciliation import reconcile_units, reconciliation_csv

router = APIRouter(prefix="/api/funds", tags=["funds"])

FundWriter = Annotated[User, Depends(require_roles(Role.ADMIN, Role.FINANCE))]
FundReader = Annotated[User, Depends(require_roles(Role.ADMIN, Role.FINANCE, Role.AUDITOR))]
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


@router.post("/{programme_code}/{year}/receipts", response_model=ReceiptPublic, status_code=status.HTTP_201_CREATED)
def add_receipt(
    session: SessionDep, user: FundWriter, language: LanguageDep, policy_year: PolicyYearDep, body: ReceiptIn
) -> ReceiptPublic:
    """Record a receipt (409 if the reference is taken this year; 404 for an unknown payer unit)."""
    payer_unit = get_by_code(session=session, code=body.payer_unit_code) if body.payer_unit_code else None
    receipt = record_receipt(
        session=session,
        policy_year=policy_year,
        source=body.source,
        payer=body.payer,
        amount_fen=parse_yuan(body.amount),
        received_on=body.received_on,
        reference=body.reference,
        payer_org_id=payer_unit.id if payer_unit else None,
        recorded_by=user.id,
    )
    result = receipt_public(receipt, payer_unit.code if payer_unit else None, language)
    session.commit()
    return result


@router.post("/{programme_code}/{year}/unit-payments", response_model=UnitPaymentResult)
def add_unit_payment(
    session: SessionDep, user: FundWriter, language: LanguageDep, policy_year: PolicyYearDep, body: UnitPaymentIn
) -> UnitPaymentResult:
    """A unit pays for its eligible enrolments (or the listed members'): they become active and covered.

    422 when there is nothing to collect or every cover would start after the year ends; 409 on a taken reference.
    """
    unit = get_by_code(session=session, code=body.unit_code)
    collected = collect_unit_contribution(
        session=session,
        policy_year=policy_year,
        unit=unit,
        received_on=body.received_on,
        reference=body.reference,
        member_ids=body.member_ids,
        actor=actor_of(user),
    )
    result = UnitPaymentResult(
        receipt=receipt_public(collected.receipt, unit.code, language),
        activated=collected.activated,
        not_activated=len(collected.refused),
        amount_yuan=format_yuan(collected.amount_fen),
        amount_fen=collected.amount_fen,
    )
    session.commit()
    return result


@router.get("/{programme_code}/{year}", response_model=FundPublic)
def get_fund(
    session: SessionDep,
    _reader: FundReader,
    language: LanguageDep,
    programme_code: ProgrammeCode,
    policy_year: PolicyYearDep,
) -> FundPublic:
    """The year's receipts, payouts, balance (receipts − payouts) and receipts by source."""
    assert policy_year.id is not None
    figures = fund_balance(session=session, policy_year_id=policy_year.id)
    return fund_public(programme_code, policy_year.year, figures, language)


@router.get(
    "/{programme_code}/{year}/reconciliation",
    response_model=ReconciliationPublic,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or a CSV for Excel with ?format=csv"}},
)
def get_reconciliation(
    session: SessionDep,
    _reader: FundReader,
    programme_code: ProgrammeCode,
    policy_year: PolicyYearDep,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> ReconciliationPublic | Response:
    """Per unit: contributions expected, received, the difference, members enrolled and activated."""
    rows = reconcile_units(session=session, policy_year=policy_year)
    if output == "csv":
        name = f"reconciliation-{programme_code}-{policy_year.year}.csv"
        return Response(reconciliation_csv(rows), media_type=CSV_MEDIA_TYPE, headers=attachment(name))
    return reconciliation_public(programme_code, policy_year.year, rows)
