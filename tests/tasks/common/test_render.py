"""Publicity, disclosure and letter templates rendered in zh-CN and English."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jinja2 import TemplateNotFound, UndefinedError

from tasks.common.labels import label
from tasks.common.masking import mask_id_number, mask_name
from tasks.common.render import pct, render, yuan

LANGUAGES = ("zh-CN", "en")
Context = dict[str, Any]


def announcement() -> Context:
    return {
        "programme_name": "职工医疗互助保障",
        "year": 2027,
        "org_name": "某某市总工会",
        "contribution_fen": 9500,
        "ratio": Decimal("0.70"),
        "minimum_fen": 30000,
        "annual_cap_fen": 2000000,
        "critical_illness_fen": 500000,
        "hardship_max_fen": 300000,
        "waiting_days": 90,
        "filing_deadline_days": 365,
        "age_min": 16,
        "age_max": 75,
        "hotline": "0571-12345678",
        "report_email": "jubao@example.org",
        "published_on": date(2026, 11, 22),
    }


def checklist(language: str = "zh-CN") -> Context:
    common = ["id_card", "invoice", "expense_list", "discharge_summary", "settlement_statement", "bank_card"]
    needs = {
        "hospitalisation": common,
        "critical_illness": [*common, "diagnosis_certificate"],
        "special_hardship": ["id_card", "bank_card", "other"],
    }
    return {
        "programme_name": "职工医疗互助保障",
        "year": 2027,
        "required_documents": [
            {
                "benefit_name": label("benefit_type", benefit, language),
                "documents": [label("document_type", code, language) for code in codes],
            }
            for benefit, codes in needs.items()
        ],
        "filing_deadline_days": 365,
        "agent_note": True,
    }


def reminder() -> Context:
    return {
        "programme_name": "职工医疗互助保障",
        "year": 2027,
        "notice_days": 7,
        "filing_deadline_days": 365,
        "hotline": "0571-12345678",
    }


def renewal_reminder() -> Context:
    people = [("张三丰", "11010519491231002X"), ("李四", "440304198507041234")]
    return {
        "unit_name": "某某机械厂",
        "year": 2027,
        "due_date": date(2026, 12, 20),
        "contribution_fen": 9500,
        "members": [{"name_masked": mask_name(n), "id_masked": mask_id_number(i)} for n, i in people],
    }


def disclosure() -> Context:
    return {
        "title": "2026年11月职工医疗互助保障信息公开",
        "programme_name": "职工医疗互助保障",
        "period": "2026-11",
        "version": 1,
        "replaces_version": None,
        "published_at": datetime(2026, 12, 1, 1, 30, tzinfo=UTC),
        "figures": {
            "members_enrolled": 178000,
            "contributions_by_source": [
                {"source_label": "会员缴费", "amount_fen": 1342000000},
                {"source_label": "工会经费补助", "amount_fen": 5000000},
            ],
            "contributions_total_fen": 1347000000,
            "payouts_fen": 1181000000,
            "beneficiaries": 12000,
            "claim_ratio": Decimal("0.8807"),
            "balance_fen": 166000000,
        },
        "by_county": [{"county": "某某区", "beneficiaries": 1200, "payouts_fen": 118100000}],
        "by_benefit": [{"benefit_label": "住院", "beneficiaries": 11000, "payouts_fen": 1000000000}],
        "processing": {"median_days": 9, "p90_days": 14, "count": 12000},
        "beneficiaries": [
            {
                "name_masked": mask_name("张三丰"),
                "id_masked": mask_id_number("11010519491231002X"),
                "unit": "某某机械厂",
                "benefit_label": "住院",
                "amount_fen": 123456,
                "paid_on": date(2026, 11, 18),
            }
        ],
        "hotline": "0571-12345678",
        "report_email": "jubao@example.org",
    }


def letter(outcome: str = "approve") -> Context:
    approve = outcome == "approve"
    return {
        "applicant_name": "张三丰",
        "claim_reference": "HZ-2027-000123",
        "outcome": outcome,
        "amount_fen": 700000 if approve else None,
        "reason": None if approve else "出院之日起超过365日提出申请",
        "explanation": [
            {"label": "可补偿费用", "detail": "20,000.00 − 10,000.00 = 10,000.00"},
            {"label": "按比例计算", "detail": "10,000.00 × 70% = 7,000.00"},
        ]
        if approve
        else [{"label": "申请时限", "detail": "2025-12-01出院，2027-03-01申请，超过365日"}],
        "org_name": "某某市总工会",
        "date": date(2027, 3, 5),
    }


# template → (context factory, text expected in zh-CN, text expected in English)
CASES: dict[str, tuple[Callable[[], Context], list[str], list[str]]] = {
    "announcement.md.j2": (
        announcement,
        ["95.00元", "70%", "300.00元", "20,000.00元", "5,000.00元", "3,000.00元", "90天", "365日", "2026年11月22日"],
        ["CNY 95.00", "70%", "CNY 300.00", "CNY 20,000.00", "90 days", "365 days", "2026-11-22"],
    ),
    "checklist.md.j2": (checklist, ["住院发票", "诊断证明书", "代办人身份证", "365日"], ["365 days"]),
    "reminder.md.j2": (reminder, ["公示7天", "365日", "0571-12345678"], ["7 days", "365 days", "0571-12345678"]),
    "renewal_reminder.md.j2": (
        renewal_reminder,
        ["张\\*丰", "110\\*\\*", "2人", "190.00元", "2026年12月20日"],
        ["CNY 190.00", "2026-12-20", "Members due for renewal: 2"],
    ),
    "disclosure.html.j2": (
        disclosure,
        ['lang="zh-CN"', "178,000", "13,420,000.00", "88.07%", "1,234.56", "2026年11月18日", "manifest.json"],
        ['lang="en"', "178,000", "13,420,000.00", "88.07%", "1,234.56", "2026-11-18", "manifest.json"],
    ),
    "letter_decision.md.j2": (letter, ["7,000.00元", "10,000.00 × 70%", "2027年3月5日"], ["CNY 7,000.00"]),
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", sorted(CASES))
def test_every_template_renders_with_its_key_facts(template: str, language: str) -> None:
    make, zh_expected, en_expected = CASES[template]
    context = checklist(language) if make is checklist else make()
    text = render(template, context, language=language)
    for expected in zh_expected if language == "zh-CN" else en_expected:
        assert expected in text, expected
    assert "None" not in text


def test_checklist_lists_english_documents_and_agent_note() -> None:
    text = render("checklist.md.j2", checklist("en"), language="en")
    assert "Hospital invoice" in text and "Diagnosis certificate" in text
    assert "agent" in text
    no_agent = render("checklist.md.j2", {**checklist("en"), "agent_note": False}, language="en")
    assert "Applying through an agent" not in no_agent


def test_disclosure_escapes_html_and_shows_only_masked_identities() -> None:
    context = disclosure()
    raw_name, raw_id = "张三丰", "11010519491231002X"
    context["beneficiaries"][0]["unit"] = "<script>alert(1)</script>"
    html = render("disclosure.html.j2", context)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert raw_id not in html and raw_name not in html
    assert "张*丰" in html and "110*************2X" in html


def test_disclosure_shows_local_time_and_the_replaced_version() -> None:
    html = render("disclosure.html.j2", {**disclosure(), "version": 2, "replaces_version": 1})
    assert "2026年12月1日 09:30" in html
    assert "替代第1版" in html
    assert "替代第" not in render("disclosure.html.j2", disclosure())


def test_markdown_is_not_html_escaped() -> None:
    text = render("announcement.md.j2", {**announcement(), "org_name": "A&B市总工会"})
    assert "A&B市总工会" in text and "&amp;" not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_letters_for_rejection_and_return_carry_the_reason(language: str) -> None:
    rejected = render("letter_decision.md.j2", letter("reject"), language=language)
    returned = render("letter_decision.md.j2", letter("return"), language=language)
    assert "365" in rejected and "7,000.00" not in rejected
    assert "365" in returned


def test_letter_with_unknown_outcome_or_missing_reason_fails() -> None:
    with pytest.raises(ValueError, match="unknown decision outcome"):
        render("letter_decision.md.j2", letter("maybe"))
    with pytest.raises(TypeError):
        render("letter_decision.md.j2", {**letter("reject"), "reason": None})


def test_unknown_language_raises() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        render("announcement.md.j2", announcement(), language="fr")


def test_missing_context_key_raises() -> None:
    context = announcement()
    del context["hotline"]
    with pytest.raises(UndefinedError):
        render("announcement.md.j2", context)


def test_english_falls_back_to_the_zh_cn_template(tmp_path: Path) -> None:
    (tmp_path / "zh-CN").mkdir()
    (tmp_path / "en").mkdir()
    (tmp_path / "zh-CN" / "only.md.j2").write_text("仅中文：{{ day|date_zh }}", encoding="utf-8")
    (tmp_path / "zh-CN" / "both.md.j2").write_text("中文", encoding="utf-8")
    (tmp_path / "en" / "both.md.j2").write_text("English {{ day|date_zh }}", encoding="utf-8")
    day = {"day": date(2026, 11, 22)}
    assert render("only.md.j2", day, language="en", templates_dir=tmp_path) == "仅中文：2026年11月22日"
    assert render("both.md.j2", day, language="en", templates_dir=tmp_path) == "English 2026-11-22"
    with pytest.raises(TemplateNotFound):
        render("absent.md.j2", day, language="en", templates_dir=tmp_path)


def test_money_and_ratio_filters() -> None:
    assert yuan(123456) == "1,234.56"
    assert yuan(5) == "0.05"
    assert yuan(-150) == "-1.50"
    with pytest.raises(TypeError):
        yuan(1.5)  # type: ignore[arg-type]
    assert pct(Decimal("0.8807")) == "88.07%"
    assert pct(Decimal("0.70")) == "70%"
    assert pct(Decimal("0.880750")) == "88.08%"


def test_labels() -> None:
    assert label("benefit_type", "hospitalisation") == "住院"
    assert label("claim_status", "returned", "en") == "Returned for more materials"
    assert label("task_level", 3) == "审批（市总工会）"
    assert label("fund_source", "lottery") == "lottery"
    with pytest.raises(ValueError):
        label("benefit_type", "hospitalisation", "fr")
