"""Display labels (zh-CN and English) for the codes stored in the database."""

from __future__ import annotations

LANGUAGES = ("zh-CN", "en")

# kind → code → (zh-CN, en)
LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "benefit_type": {
        "hospitalisation": ("住院", "Hospitalisation"),
        "critical_illness": ("重大疾病", "Critical illness"),
        "special_hardship": ("特殊困难补助", "Special hardship"),
        # temporary assistance (临时救助), config/rules/temporary_assistance.json
        "living": ("生活救助", "Living assistance"),
        "emergency": ("急难救助", "Emergency assistance"),
        "medical": ("医疗救助", "Medical assistance"),
        "education": ("助学救助", "Education assistance"),
        "other": ("其他救助", "Other assistance"),
    },
    "document_type": {
        "id_card": ("身份证", "ID card"),
        "invoice": ("住院发票", "Hospital invoice"),
        "expense_list": ("费用清单", "Itemised expense list"),
        "discharge_summary": ("出院小结", "Discharge summary"),
        "settlement_statement": ("基本医保结算单", "Basic medical insurance settlement statement"),
        "bank_card": ("银行卡", "Bank card"),
        "diagnosis_certificate": ("诊断证明书", "Diagnosis certificate"),
        "agent_id_card": ("代办人身份证", "Agent's ID card"),
        "other": ("其他材料", "Other materials"),
    },
    "fund_source": {
        "contribution": ("会员缴费", "Member contributions"),
        "union_subsidy": ("工会经费补助", "Union fund subsidy"),
        "donation": ("社会捐赠", "Donations"),
        "government": ("政府资助", "Government funding"),
    },
    "claim_status": {
        "incomplete": ("材料不全", "Incomplete"),
        "submitted": ("已提交", "Submitted"),
        "in_review": ("审核中", "In review"),
        "returned": ("退回补充材料", "Returned for more materials"),
        "in_notice": ("公示中", "In public notice"),
        "payable": ("待发放", "Awaiting payment"),
        "in_payment": ("发放中", "Being paid"),
        "paid": ("已发放", "Paid"),
        "payment_failed": ("发放失败", "Payment failed"),
        "rejected": ("不予补偿", "Rejected"),
    },
    "enrolment_status": {
        "registered": ("已登记", "Registered"),
        "eligible": ("审核通过", "Eligible"),
        "ineligible": ("不符合条件", "Ineligible"),
        "needs_review": ("待人工审核", "Needs review"),
        "active": ("保障中", "Covered"),
        "lapsed": ("已失效", "Lapsed"),
    },
    "employment_status": {
        "in_service": ("在职", "In service"),
        "retired": ("退休", "Retired"),
    },
    "task_level": {
        "1": ("初审（基层工会）", "Level 1 review (grassroots union)"),
        "2": ("审核（县区总工会）", "Level 2 review (county union)"),
        "3": ("审批（市总工会）", "Level 3 approval (city union)"),
    },
    "task_kind": {
        "claim_review": ("补偿审批", "Claim review"),
        "objection_review": ("公示异议处理", "Objection review"),
        "eligibility_review": ("参保资格审核", "Eligibility review"),
    },
    "outcome": {
        "approve": ("同意", "Approve"),
        "reject": ("不同意", "Reject"),
        "return": ("退回补充材料", "Return for more materials"),
        "uphold_reject": ("异议成立，不予补偿", "Objection upheld: claim rejected"),
        "uphold_review": ("异议成立，重新审核", "Objection upheld: claim reviewed again"),
        "dismiss": ("异议不成立", "Objection dismissed"),
    },
    "objection_status": {
        "open": ("待处理", "Open"),
        "upheld": ("异议成立", "Upheld"),
        "dismissed": ("异议不成立", "Dismissed"),
        "closed": ("已结案（公示已撤回）", "Closed (notice withdrawn)"),
    },
    "letter_kind": {
        "approval": ("补偿决定通知书", "Decision letter: claim approved"),
        "rejection": ("不予补偿决定通知书", "Decision letter: claim rejected"),
        "materials_request": ("补充材料通知书", "Request for more materials"),
    },
    "notice_status": {
        "posted": ("公示中", "Posted"),
        "passed": ("公示期满", "Passed"),
        "withdrawn": ("已撤回", "Withdrawn"),
    },
}


def label(kind: str, code: str | int, language: str = "zh-CN") -> str:
    """The label of a code in the language; an unknown code is returned as it is."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language: {language!r}")
    if kind not in LABELS:
        raise ValueError(f"unknown label kind: {kind!r}")
    pair = LABELS[kind].get(str(code))
    if pair is None:
        return str(code)
    return pair[LANGUAGES.index(language)]
