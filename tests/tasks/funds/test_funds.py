"""The fund: receipts by source, the ledger, guarded payouts, unit contributions and coverage, reconciliation."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.enrolments import Enrolment, EnrolmentKind
from models.errors import Conflict, ValidationFailed
from models.funds import FundReceipt, FundSource, LedgerEntry, LedgerKind
from models.members import Member
from models.programmes import PolicyYear
from models.rules import PolicyRules
from models.states import Actor
from tasks.common.programmes import open_policy_year
from tasks.eligibility.checks import check_enrolments, pending_enrolment_ids
from tasks.funds.contributions import collect_unit_contribution, is_covered
from tasks.funds.ledger import FundFigures, fund_balance, parse_yuan, post_payout, record_receipt, reverse_payout
from tasks.funds.reconciliation import UnitReconciliation, reconcile_units, reconciliation_csv
from tasks.registration.enrolment import import_roster_rows
from tasks.registration.roster import parse_roster
from tests.factories import World, build_world, id_number

HEADER = "姓名,身份证号,手机号,在职状态,单位,银行卡号,开户银行"


def eligible(
    session: Session, world: World, numbers: range, unit: str = "G11", kind: EnrolmentKind = EnrolmentKind.NEW
) -> list[int]:
    """Enrol the test ID numbers at the unit and pass eligibility; return their enrolment ids."""
    lines = [f"会员{'甲乙丙丁戊己庚辛'[n % 8]},{id_number(n)},,在职,{unit},," for n in numbers]
    rows = parse_roster("\n".join([HEADER, *lines]).encode()).rows
    year = world.policy_year
    import_roster_rows(session=session, policy_year=year, rows=rows, importer_scope_path=None, kind=kind)
    assert year.id is not None
    check_enrolments(session=session, enrolment_ids=pending_enrolment_ids(session=session, policy_year_id=year.id))
    numbers_of = [id_number(n) for n in numbers]
    found = session.exec(
        select(Enrolment.id)
        .join(Member, col(Member.id) == Enrolment.member_id)
        .where(col(Member.id_number).in_(numbers_of), Enrolment.policy_year_id == year.id)
        .order_by(col(Enrolment.id))
    ).all()
    return [i for i in found if i is not None]


def enrolment(session: Session, enrolment_id: int) -> Enrolment:
    session.expire_all()
    found = session.get(Enrolment, enrolment_id)
    assert found is not None
    return found


def receive(
    session: Session, year: PolicyYear, amount: int, ref: str, source: FundSource = FundSource.DONATION
) -> None:
    record_receipt(
        session=session,
        policy_year=year,
        source=source,
        payer="某公司",
        amount_fen=amount,
        received_on=date(2026, 3, 1),
        reference=ref,
    )


def ledger_sum(session: Session, year_id: int | None) -> int:
    return session.exec(
        select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(LedgerEntry.policy_year_id == year_id)
    ).one()


def test_receipts_by_each_source(session: Session) -> None:
    world = build_world(session)
    year = world.policy_year
    for i, source in enumerate(FundSource, start=1):
        receive(session, year, i * 10000, f"R{i}", source)

    figures = fund_balance(session=session, policy_year_id=year.id)
    assert figures == FundFigures(
        receipts_fen=100000,
        payouts_fen=0,
        balance_fen=100000,
        by_source={"contribution": 10000, "union_subsidy": 20000, "donation": 30000, "government": 40000},
    )
    entries = session.exec(select(LedgerEntry).order_by(col(LedgerEntry.id))).all()
    assert [(e.kind, e.amount_fen) for e in entries] == [(LedgerKind.RECEIPT, i * 10000) for i in range(1, 5)]
    assert all(e.receipt_id is not None for e in entries)


def test_receipt_amount_and_reference_rules(session: Session) -> None:
    world = build_world(session)
    year = world.policy_year
    for bad in (0, -100):
        with pytest.raises(ValidationFailed):
            receive(session, year, bad, "R1")
    receive(session, year, 500, "R1")
    with pytest.raises(Conflict):
        receive(session, year, 700, "R1")
    other = open_policy_year(session=session, programme=world.programme, year=2027)
    receive(session, other, 700, "R1")  # a reference is unique per year only
    assert fund_balance(session=session, policy_year_id=year.id).balance_fen == 500
    assert session.exec(select(func.count()).select_from(FundReceipt)).one() == 2


def test_ledger_balance_is_receipts_less_payouts_after_a_mix(session: Session) -> None:
    world = build_world(session)
    year = world.policy_year
    receive(session, year, 100000, "R1", FundSource.CONTRIBUTION)
    receive(session, year, 50000, "R2", FundSource.UNION_SUBSIDY)
    post_payout(session=session, policy_year_id=year.id, amount_fen=30000, memo="第1批")
    failed = post_payout(session=session, policy_year_id=year.id, amount_fen=20000, memo="第2批")
    reversal = reverse_payout(session=session, policy_year_id=year.id, amount_fen=20000, memo="账号错误退回")
    receive(session, year, 1, "R3", FundSource.GOVERNMENT)

    figures = fund_balance(session=session, policy_year_id=year.id)
    assert (figures.receipts_fen, figures.payouts_fen, figures.balance_fen) == (150001, 30000, 120001)
    assert ledger_sum(session, year.id) == figures.balance_fen == figures.receipts_fen - figures.payouts_fen
    assert (failed.kind, failed.amount_fen) == (LedgerKind.PAYOUT, -20000)
    assert (reversal.kind, reversal.amount_fen) == (LedgerKind.PAYOUT_REVERSED, 20000)
    with pytest.raises(Conflict):
        reverse_payout(session=session, policy_year_id=year.id, amount_fen=30001)


def test_payout_beyond_the_balance_is_refused_and_changes_nothing(session: Session) -> None:
    world = build_world(session)
    year = world.policy_year
    receive(session, year, 10000, "R1")
    post_payout(session=session, policy_year_id=year.id, amount_fen=6000)
    before = fund_balance(session=session, policy_year_id=year.id)

    with pytest.raises(Conflict, match="基金余额不足"):
        post_payout(session=session, policy_year_id=year.id, amount_fen=4001)

    assert fund_balance(session=session, policy_year_id=year.id) == before
    assert session.exec(select(func.count()).select_from(LedgerEntry)).one() == 2
    post_payout(session=session, policy_year_id=year.id, amount_fen=4000)  # exactly the balance is fine
    assert fund_balance(session=session, policy_year_id=year.id).balance_fen == 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE fund_account SET payouts_fen = payouts_fen + 1, balance_fen = balance_fen - 1",
        "UPDATE fund_account SET balance_fen = balance_fen + 1",
    ],
    ids=["negative-balance", "balance-not-receipts-less-payouts"],
)
def test_the_database_refuses_a_bad_balance_even_for_raw_sql(session: Session, statement: str) -> None:
    build_world(session)
    with pytest.raises(IntegrityError):
        session.execute(text(statement))
    session.rollback()


def test_coverage_dates_for_renewal_first_time_and_mid_year(session: Session) -> None:
    world = build_world(session)  # 2026, waiting period 90 days
    year = world.policy_year
    renewal = eligible(session, world, range(1, 2), kind=EnrolmentKind.RENEWAL)
    first_time = eligible(session, world, range(2, 3))
    collection = collect_unit_contribution(
        session=session, policy_year=year, unit=world.units[0], received_on=date(2025, 12, 15), reference="G11-2026"
    )
    assert (collection.activated, collection.amount_fen, collection.refused) == (2, 19000, [])
    receipt = collection.receipt
    assert (receipt.source, receipt.payer, receipt.payer_org_id, receipt.member_count) == (
        FundSource.CONTRIBUTION,
        world.units[0].name,
        world.units[0].id,
        2,
    )
    paid_renewal = enrolment(session, renewal[0])
    assert (paid_renewal.status, paid_renewal.paid_on, paid_renewal.receipt_id) == (
        "active",
        date(2025, 12, 15),
        receipt.id,
    )
    assert (paid_renewal.coverage_start, paid_renewal.coverage_end) == (date(2026, 1, 1), date(2026, 12, 31))
    paid_new = enrolment(session, first_time[0])
    assert (paid_new.coverage_start, paid_new.coverage_end) == (date(2026, 3, 15), date(2026, 12, 31))
    assert is_covered(paid_renewal, date(2026, 1, 1)) and not is_covered(paid_renewal, date(2025, 12, 31))
    assert not is_covered(paid_new, date(2026, 3, 14)) and is_covered(paid_new, date(2026, 12, 31))
    assert not is_covered(paid_new, date(2027, 1, 1))

    mid_year = eligible(session, world, range(3, 5), unit="G12", kind=EnrolmentKind.RENEWAL)
    collect_unit_contribution(
        session=session, policy_year=year, unit=world.units[1], received_on=date(2026, 2, 1), reference="G12-2026"
    )
    for enrolment_id in mid_year:  # a renewal paid after the start waits like a first-time enrolment
        assert enrolment(session, enrolment_id).coverage_start == date(2026, 5, 2)


def test_unpaid_enrolment_is_not_covered(session: Session) -> None:
    world = build_world(session)
    (enrolment_id,) = eligible(session, world, range(1, 2))
    assert not is_covered(enrolment(session, enrolment_id), date(2026, 6, 1))
    with pytest.raises(ValidationFailed):  # nothing eligible at this unit
        collect_unit_contribution(
            session=session,
            policy_year=world.policy_year,
            unit=world.units[3],
            received_on=date(2026, 1, 5),
            reference="X",
        )


def test_waiting_period_past_the_year_end(session: Session) -> None:
    world = build_world(session)
    (late,) = eligible(session, world, range(1, 2))
    with pytest.raises(ValidationFailed, match="等待期结束时已超出本保障年度"):
        collect_unit_contribution(
            session=session,
            policy_year=world.policy_year,
            unit=world.units[0],
            received_on=date(2026, 10, 15),
            reference="L",
        )
    assert enrolment(session, late).status == "eligible"
    assert fund_balance(session=session, policy_year_id=world.policy_year.id).receipts_fen == 0


def test_only_the_members_whose_cover_fits_the_year_are_charged(session: Session) -> None:
    world = build_world(session, rules=PolicyRules(waiting_days=400, contribution_fen=12000))
    renewal = eligible(session, world, range(1, 2), kind=EnrolmentKind.RENEWAL)
    first_time = eligible(session, world, range(2, 3))
    collection = collect_unit_contribution(
        session=session,
        policy_year=world.policy_year,
        unit=world.units[0],
        received_on=date(2025, 12, 1),
        reference="P",
    )
    assert (collection.activated, collection.amount_fen, collection.refused) == (1, 12000, first_time)
    assert enrolment(session, renewal[0]).status == "active"
    assert enrolment(session, first_time[0]).status == "eligible"


def test_reconciliation_per_unit(session: Session) -> None:
    world = build_world(session)
    year = world.policy_year
    g11 = eligible(session, world, range(1, 4))
    eligible(session, world, range(4, 5), unit="G12")
    old = f"老人,{id_number(1, birth=date(1930, 1, 1))},,退休,G21,,"
    import_roster_rows(
        session=session, policy_year=year, rows=parse_roster(f"{HEADER}\n{old}".encode()).rows, importer_scope_path=None
    )
    check_enrolments(session=session, enrolment_ids=pending_enrolment_ids(session=session, policy_year_id=year.id))
    paid_members = session.exec(select(Enrolment.member_id).where(col(Enrolment.id).in_(g11[:2]))).all()
    collect_unit_contribution(
        session=session,
        policy_year=year,
        unit=world.units[0],
        received_on=date(2025, 12, 1),
        reference="G11",
        member_ids=list(paid_members),
    )
    g22 = world.units[3]
    record_receipt(
        session=session, policy_year=year, source=FundSource.CONTRIBUTION, payer=g22.name, amount_fen=5000,
        received_on=date(2026, 1, 9), reference="G22", payer_org_id=g22.id,
    )  # fmt: skip
    record_receipt(
        session=session, policy_year=year, source=FundSource.DONATION, payer=g22.name, amount_fen=7000,
        received_on=date(2026, 1, 9), reference="G22-gift", payer_org_id=g22.id,
    )  # fmt: skip

    rows = reconcile_units(session=session, policy_year=year)
    u = world.units
    assert rows == [
        UnitReconciliation(u[0].id, u[0].code, u[0].name, 28500, 19000, -9500, 3, 2),
        UnitReconciliation(u[1].id, u[1].code, u[1].name, 9500, 0, -9500, 1, 0),
        UnitReconciliation(u[2].id, u[2].code, u[2].name, 0, 0, 0, 1, 0),
        UnitReconciliation(u[3].id, u[3].code, u[3].name, 0, 5000, 5000, 0, 0),
    ]


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("95", 9500),
        ("95.5", 9550),
        ("0.01", 1),
        ("1,234.56", 123456),
        (" 30,000 ", 3000000),
        ("999999999999.99", 99999999999999),
        ("１２３４．５", 123450),
    ],
)
def test_yuan_strings_become_exact_fen(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text", ["0", "0.00", "-1", "+1", "1.005", "1e3", "abc", "", "1,23", "12,3456", "1 000", "NaN", "Infinity", "١٢"]
)
def test_malformed_or_non_positive_yuan_is_refused(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_yuan(text)
    assert caught.value.code == "invalid_amount"


def test_reconciliation_csv_opens_in_excel_without_formulas() -> None:
    rows = [
        UnitReconciliation(1, "G11", '=HYPERLINK("x")', 28500, 19000, -9500, 3, 2),
        UnitReconciliation(2, "G12", "第二单位", 0, 123456789, 123456789, 0, 0),
    ]
    data = reconciliation_csv(rows)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "单位编码,单位名称,应缴金额(元),实缴金额(元),差额(元),登记人数,已缴费人数"
    assert lines[1] == 'G11,"\'=HYPERLINK(""x"")",285.00,190.00,-95.00,3,2'
    assert lines[2] == "G12,第二单位,0.00,1234567.89,1234567.89,0,0"
    assert lines[3] == "合计,,285.00,1234757.89,1234472.89,3,2"


def test_a_unit_payment_records_who_recorded_it(session: Session) -> None:
    world = build_world(session)
    eligible(session, world, range(1, 2))
    finance = world.user("finance")
    collected = collect_unit_contribution(
        session=session,
        policy_year=world.policy_year,
        unit=world.units[0],
        received_on=date(2026, 1, 2),
        reference="R",
        actor=Actor(finance.id, finance.username),
    )
    assert collected.receipt.recorded_by == finance.id
