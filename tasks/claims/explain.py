"""The words of a calculation's explanation, in zh-CN (what is stored) and English (rendered on request).

Each step of a calculation is stored as a code, its inputs and its result (amounts in fen); the text is
made here from those alone, so an explanation stored years ago reads the same in either language.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from models.base import format_yuan


def _pct(value: Any) -> str:
    return f"{(Decimal(str(value)) * 100).normalize():f}%"


PHRASES: dict[str, dict[str, str]] = {
    "eligible": {
        "zh-CN": "合规费用 = 总费用 {total} − 基本医保 {basic} − 大病保险 {serious} − 其他报销 {other}"
        " − 自费 {self_paid} = {result}",
        "en": "Eligible cost = total {total} − basic insurance {basic} − serious-illness insurance {serious}"
        " − other reimbursement {other} − self-paid {self_paid} = {result}",
    },
    "base": {
        "zh-CN": "基础补偿 = {ratio} × max(0, {eligible} − 起付线 {deductible}) = {result}",
        "en": "Base = {ratio} × max(0, {eligible} − deductible {deductible}) = {result}",
    },
    "minimum": {
        "zh-CN": "最低补偿 {minimum}（不超过合规费用）：补偿调整为 {result}",
        "en": "Minimum payout {minimum} (not above the eligible cost): payout becomes {result}",
    },
    "per_claim_max": {
        "zh-CN": "单次补偿上限 {max}：补偿调整为 {result}",
        "en": "Limit per claim {max}: payout becomes {result}",
    },
    "listed": {
        "zh-CN": "诊断不在{label}目录内",
        "en": "The diagnosis is not on the list for {label_en}",
    },
    "lump_sum": {
        "zh-CN": "{label}定额 {result}",
        "en": "{label_en}: fixed amount {result}",
    },
    "requested": {
        "zh-CN": "{label} = min(申请 {requested}, 每次上限 {max}) = {result}",
        "en": "{label_en} = min(requested {requested}, limit per time {max}) = {result}",
    },
    "below_minimum": {
        "zh-CN": "申请金额 {requested} 低于{label}最低标准 {min}",
        "en": "Requested {requested} is below the minimum of {min} for {label_en}",
    },
    "times_per_year": {
        "zh-CN": "本年度已获{label} {used} 次（每年限 {limit} 次）",
        "en": "{label_en} already granted {used} time(s) this year (at most {limit} a year)",
    },
    "not_covered": {
        "zh-CN": "入院（事由发生）日期不在保障期内",
        "en": "The admission (event) date is not within the member's coverage",
    },
    "late": {
        "zh-CN": "超过申请期限（出院后{days}天内）",
        "en": "Filed after the deadline ({days} days after discharge)",
    },
    "cap": {
        "zh-CN": "年度封顶 {cap}，已使用 {used}，剩余 {remaining}：本次补偿 {result}",
        "en": "Annual cap {cap}, used {used}, remaining {remaining}: payout {result}",
    },
    "no_cap": {
        "zh-CN": "{label}不计入年度封顶：本次补偿 {result}",
        "en": "{label_en} does not count against the annual cap: payout {result}",
    },
    "cap_recheck": {
        "zh-CN": "终审复核年度封顶：已使用 {used}，剩余 {remaining}，补偿调整为 {result}",
        "en": "Annual cap re-checked at final approval: used {used}, remaining {remaining}, payout becomes {result}",
    },
    "routing": {
        "zh-CN": "需经{levels}级审批",
        "en": "Needs {levels} approval level(s)",
    },
}

MONEY_INPUTS = {
    "total_fen": "total",
    "basic_insurance_fen": "basic",
    "serious_illness_fen": "serious",
    "other_reimbursement_fen": "other",
    "self_paid_fen": "self_paid",
    "eligible_fen": "eligible",
    "deductible_fen": "deductible",
    "minimum_fen": "minimum",
    "max_fen": "max",
    "min_fen": "min",
    "requested_fen": "requested",
    "annual_cap_fen": "cap",
    "used_cap_fen": "used",
    "remaining_fen": "remaining",
    "amount_fen": "amount",
}


def describe(code: str, inputs: dict[str, Any], result_fen: int | None, language: str = "zh-CN") -> str:
    """The sentence of one step in `language` (zh-CN unless English is asked for)."""
    if code == "refused":  # a refusal step names its reason's phrase
        code = str(inputs.get("reason", ""))
    phrases = PHRASES.get(code)
    if phrases is None:
        return code
    values: dict[str, Any] = {"result": format_yuan(result_fen or 0)}
    for key, value in inputs.items():
        name = MONEY_INPUTS.get(key)
        if name is None:
            values[key] = value
        else:
            values[name] = format_yuan(int(value or 0))
    if "ratio" in inputs:
        values["ratio"] = _pct(inputs["ratio"])
    values.setdefault("label_en", values.get("label", ""))
    if not values["label_en"]:
        values["label_en"] = values.get("label", "")
    template = phrases["en" if language == "en" else "zh-CN"]
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return phrases["zh-CN"] if language != "en" else code


def render_steps(steps: list[dict[str, Any]], language: str = "zh-CN") -> list[dict[str, Any]]:
    """An explanation with each step's text in `language` (stored texts are zh-CN)."""
    if language != "en":
        return [dict(s) for s in steps]
    return [
        {**s, "text": describe(str(s.get("step")), s.get("inputs") or {}, s.get("result_fen"), "en")} for s in steps
    ]
