"""Claim application (DOMAIN 2.5): file a claim with documents, add missing documents, look up claims."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, select

from models.base import yuan_to_fen
from models.claims import Claim, ClaimDocument, ClaimInput, ClaimStatus
from models.enrolments import Enrolment
from models.errors import Conflict, NotFound, ValidationFailed
from models.members import Member
from models.programmes import PolicyYear
from models.rules import BenefitRule, LumpSumRule, ReimbursementRule, RequestedAmountRule
from models.states import Actor, change_status, record
from tasks.claims.benefits import ClaimFacts, benefit_rule, calculate
from tasks.claims.documents import StoredDocument
from tasks.common.programmes import policy_year_for


def new_reference(year: int) -> str:
    """A non-guessable claim reference such as C2026-7F3A91C2."""
    return f"C{year}-{secrets.token_hex(4).upper()}"


def missing_documents(*, policy_year: PolicyYear, claim: Claim, present: set[str]) -> list[str]:
    """The required document types this claim still lacks."""
    rule = benefit_rule(policy_year.policy(), claim.benefit_type)
    required = [str(doc) for doc in rule.required_documents]
    if claim.agent_name:
        required.append("agent_id_card")
    return [doc for doc in required if doc not in present]


def submit_claim(
    *,
    session: Session,
    member: Member,
    programme_id: int,
    data: ClaimInput,
    documents: Sequence[StoredDocument],
    actor: Actor,
    today: date | None = None,
) -> Claim:
    """File a claim for a member: validate the data, attach stored documents, mark it complete or not."""
    today = today or date.today()
    policy_year = claim_policy_year(session=session, programme_id=programme_id, data=data, today=today)
    claim = _new_claim(session=session, member=member, policy_year=policy_year, data=data, actor=actor)
    # Impossible amounts (eligible < 0, …) are refused now, before anything is filed.
    calculate(facts_of(claim), policy_year.policy())
    claim.missing_documents = missing_documents(
        policy_year=policy_year, claim=claim, present={str(d.doc_type) for d in documents}
    )
    # The initial state is set at creation; every later change goes through models.states.
    claim.status = ClaimStatus.INCOMPLETE if claim.missing_documents else ClaimStatus.SUBMITTED
    session.add(claim)
    session.flush()
    _attach(session=session, claim=claim, documents=documents)
    record(
        session, "claim", claim.id or 0, "claim.filed", actor=actor, to_state=claim.status,
        data={"documents": len(documents), "missing": claim.missing_documents},
    )  # fmt: skip
    return claim


def _new_claim(*, session: Session, member: Member, policy_year: PolicyYear, data: ClaimInput, actor: Actor) -> Claim:
    """The claim row for the data, at the unit of the member's enrolment of the year (else the member's unit)."""
    enrolment = session.exec(
        select(Enrolment).where(Enrolment.member_id == member.id, Enrolment.policy_year_id == policy_year.id)
    ).first()
    return Claim(
        reference=new_reference(policy_year.year),
        member_id=member.id or 0,
        enrolment_id=enrolment.id if enrolment else None,
        policy_year_id=policy_year.id or 0,
        org_unit_id=enrolment.org_unit_id if enrolment else member.org_unit_id,
        benefit_type=data.benefit_type,
        filed_by=actor.user_id,
        agent_name=data.agent_name,
        agent_id_number=data.agent_id_number,
        admission_date=data.admission_date,
        discharge_date=data.end_date,
        hospital_name=data.hospital_name.strip(),
        hospital_tier=data.hospital_tier,
        diagnosis_code=data.diagnosis_code.strip().upper(),
        diagnosis_text=data.diagnosis_text,
        invoice_numbers=list(data.invoice_numbers),
        **amounts_in_fen(data),  # type: ignore[arg-type]
    )


def amounts_in_fen(data: ClaimInput) -> dict[str, int | None]:
    """The claim's amounts (exact yuan as given) in integer fen, by the claim's column names."""
    return {
        "total_fen": yuan_to_fen(data.total_cost),
        "basic_insurance_fen": yuan_to_fen(data.basic_insurance),
        "serious_illness_fen": yuan_to_fen(data.serious_illness_insurance),
        "other_reimbursement_fen": yuan_to_fen(data.other_reimbursement),
        "self_paid_fen": yuan_to_fen(data.self_paid),
        "requested_fen": yuan_to_fen(data.requested_amount) if data.requested_amount is not None else None,
    }


def claim_policy_year(*, session: Session, programme_id: int, data: ClaimInput, today: date) -> PolicyYear:
    """The policy year a claim falls in, after checking the data fits its benefit; ValidationFailed if not."""
    if data.end_date > today:
        raise ValidationFailed("出院日期不能晚于今天", code="discharge_in_future")
    if data.admission_date > today:
        raise ValidationFailed("入院（事由发生）日期不能晚于今天", code="admission_in_future")
    policy_year = policy_year_for(session=session, programme_id=programme_id, on=data.admission_date)
    if policy_year is None:
        raise ValidationFailed("入院（事由发生）日期不在任何保障年度内", code="no_policy_year")
    check_fits_benefit(data, benefit_rule(policy_year.policy(), data.benefit_type))
    return policy_year


def check_fits_benefit(data: ClaimInput, rule: BenefitRule) -> None:
    """The fields a benefit's kind needs are there (a hospital stay: hospital, tier, discharge; …)."""
    if isinstance(rule, ReimbursementRule):
        if not data.hospital_name.strip():
            raise ValidationFailed("住院类申请须填写医院名称", code="hospital_missing")
        if data.hospital_tier is None:
            raise ValidationFailed("住院类申请须填写医院等级", code="hospital_tier_missing")
        if data.discharge_date is None:
            raise ValidationFailed("住院类申请须填写出院日期", code="discharge_missing")
    elif isinstance(rule, LumpSumRule):
        if not data.diagnosis_code.strip():
            raise ValidationFailed(f"{rule.label_zh}须填写诊断编码（ICD-10）", code="diagnosis_missing")
    elif isinstance(rule, RequestedAmountRule) and data.requested_amount is None:
        raise ValidationFailed(f"{rule.label_zh}须填写申请金额", code="requested_amount_missing")


def add_documents(*, session: Session, claim: Claim, documents: Sequence[StoredDocument], actor: Actor) -> Claim:
    """Add documents to an incomplete or returned claim; resume it when nothing is missing any more."""
    if claim.status not in (ClaimStatus.INCOMPLETE, ClaimStatus.RETURNED):
        raise Conflict("该案件当前状态不能补充材料")
    _attach(session=session, claim=claim, documents=documents)
    present = set(session.exec(select(ClaimDocument.doc_type).where(ClaimDocument.claim_id == claim.id)).all())
    policy_year = session.get(PolicyYear, claim.policy_year_id)
    assert policy_year is not None
    claim.missing_documents = missing_documents(policy_year=policy_year, claim=claim, present={str(p) for p in present})
    session.flush()
    if not claim.missing_documents:
        if claim.status == ClaimStatus.RETURNED:
            claim.review_round += 1
        claim.required_levels = None  # calculate again with the new materials
        change_status(session, claim, ClaimStatus.SUBMITTED, actor=actor, action="claim.resubmitted")
    return claim


def _attach(*, session: Session, claim: Claim, documents: Sequence[StoredDocument]) -> None:
    known = {
        (str(t), h)
        for t, h in session.exec(
            select(ClaimDocument.doc_type, ClaimDocument.sha256).where(ClaimDocument.claim_id == claim.id)
        ).all()
    }
    for doc in documents:
        if (str(doc.doc_type), doc.stored.sha256) in known:
            continue
        known.add((str(doc.doc_type), doc.stored.sha256))
        session.add(
            ClaimDocument(
                claim_id=claim.id or 0,
                doc_type=doc.doc_type,
                filename=doc.filename,
                object_key=doc.stored.key,
                media_type=doc.stored.media_type,
                size=doc.stored.size,
                sha256=doc.stored.sha256,
            )
        )
    session.flush()


def facts_of(claim: Claim, **context: object) -> ClaimFacts:
    """The calculation inputs of a claim, plus context (coverage, deadline, cap used)."""
    return ClaimFacts(
        benefit_type=claim.benefit_type,
        total_fen=claim.total_fen,
        basic_insurance_fen=claim.basic_insurance_fen,
        serious_illness_fen=claim.serious_illness_fen,
        other_reimbursement_fen=claim.other_reimbursement_fen,
        self_paid_fen=claim.self_paid_fen,
        requested_fen=claim.requested_fen,
        diagnosis_code=claim.diagnosis_code,
        hospital_tier=str(claim.hospital_tier) if claim.hospital_tier else None,
        **context,  # type: ignore[arg-type]
    )


def get_claim(*, session: Session, claim_id: int) -> Claim:
    """A claim by id, or NotFound."""
    claim = session.get(Claim, claim_id)
    if claim is None:
        raise NotFound(f"未找到案件 {claim_id}")
    return claim
