"""The fund-collection flow on real Prefect: a refused unit payment is reported and the other units proceed."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest
from sqlmodel import Session, col, select

from flows.funds import OtherReceipt, UnitPayment, fund_collection_flow
from models.enrolments import Enrolment, EnrolmentStatus
from models.funds import FundAccount, FundReceipt, FundSource
from tests.api.conftest import enrol
from tests.factories import World, build_world
from tests.flows.artifacts import table


@pytest.fixture
def world(session: Session, monkeypatch: pytest.MonkeyPatch) -> World:
    return build_world(session)


def run(*args: Any) -> tuple[dict[str, Any], UUID]:
    """Run the flow; its result and its flow run id."""
    state = fund_collection_flow(*args, return_state=True)
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    return state.result(), flow_run_id


def test_refused_unit_payments_are_reported_and_the_rest_proceed(session: Session, world: World) -> None:
    enrol(session, world, range(1, 4), unit=0)  # G11: three eligible
    enrol(session, world, range(4, 6), unit=1)  # G12: two eligible, paid with a reference already taken
    enrol(session, world, range(6, 7), unit=3)  # G22: one eligible, paid so late that cover would start in 2027
    payments = [
        UnitPayment(unit_code="G11", received_on=date(2025, 12, 1), reference="JF-G11"),
        UnitPayment(unit_code="G12", received_on=date(2025, 12, 1), reference="JF-G11"),
        UnitPayment(unit_code="G21", received_on=date(2025, 12, 1), reference="JF-G21"),  # nothing to collect
        UnitPayment(unit_code="NOPE", received_on=date(2025, 12, 1), reference="JF-NOPE"),
        UnitPayment(unit_code="G22", received_on=date(2026, 11, 1), reference="JF-G22"),
    ]
    receipts = [
        OtherReceipt(source=FundSource.UNION_SUBSIDY, payer="示范市总工会", amount_fen=300_000,
                     received_on=date(2026, 1, 10), reference="BZ-1"),
    ]  # fmt: skip

    result, flow_run_id = run("MA", 2026, payments, receipts)

    assert (result["units_paid"], result["units_refused"], result["members_activated"]) == (1, 4, 3)
    assert (result["contributions_yuan"], result["other_receipts_yuan"]) == ("285.00", "3,000.00")
    assert result["balance_yuan"] == "3,285.00"
    session.expire_all()
    statuses = dict(
        session.exec(select(Enrolment.org_unit_id, Enrolment.status).order_by(col(Enrolment.id))).all()  # type: ignore[arg-type]
    )
    assert statuses == {
        world.units[0].id: EnrolmentStatus.ACTIVE,
        world.units[1].id: EnrolmentStatus.ELIGIBLE,
        world.units[3].id: EnrolmentStatus.ELIGIBLE,
    }
    assert [r.reference for r in session.exec(select(FundReceipt).order_by(col(FundReceipt.id)))] == ["JF-G11", "BZ-1"]
    account = session.exec(select(FundAccount)).one()
    assert (account.receipts_fen, account.payouts_fen, account.balance_fen) == (328_500, 0, 328_500)
    session.commit()

    units = table(flow_run_id, "fund-collection-units")
    assert units == [{"单位": "G11", "凭证号": "JF-G11", "缴费人数": 3, "金额(元)": "285.00", "未激活人数": 0}]
    refused = {row["单位"]: row["原因"] for row in table(flow_run_id, "fund-collection-refused")}
    assert set(refused) == {"G12", "G21", "NOPE", "G22"}
    assert "JF-G11" in str(refused["G12"]) and "没有审核通过" in str(refused["G21"])
    assert "未找到单位" in str(refused["NOPE"]) and "等待期" in str(refused["G22"])


def test_a_run_where_every_unit_pays_reports_no_refusals(session: Session, world: World) -> None:
    enrol(session, world, range(1, 3), unit=0)
    enrol(session, world, range(3, 4), unit=2)
    payments = [
        UnitPayment(unit_code="G11", received_on=date(2026, 1, 5), reference="A"),
        UnitPayment(unit_code="G21", received_on=date(2026, 1, 5), reference="B"),
    ]

    result, flow_run_id = run("MA", 2026, payments)

    assert (result["units_paid"], result["units_refused"], result["members_activated"]) == (2, 0, 3)
    assert [row["缴费人数"] for row in table(flow_run_id, "fund-collection-units")] == [2, 1]
    assert table(flow_run_id, "fund-collection-refused") == []
