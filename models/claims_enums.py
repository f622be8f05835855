"""Vocabulary of claims shared by the rules and the claim tables."""

from __future__ import annotations

from enum import StrEnum


class BenefitType(StrEnum):
    """DOMAIN 2.5."""

    HOSPITALISATION = "hospitalisation"  # 住院
    CRITICAL_ILLNESS = "critical_illness"  # 重大疾病
    SPECIAL_HARDSHIP = "special_hardship"  # 特殊困难补助


class HospitalTier(StrEnum):
    """Hospital grade (一级/二级/三级) or community clinic."""

    COMMUNITY = "community"
    TIER1 = "tier1"
    TIER2 = "tier2"
    TIER3 = "tier3"


class DocumentType(StrEnum):
    """The claim materials (理赔材料) of DOMAIN 2.5."""

    ID_CARD = "id_card"
    INVOICE = "invoice"
    EXPENSE_LIST = "expense_list"
    DISCHARGE_SUMMARY = "discharge_summary"
    SETTLEMENT_STATEMENT = "settlement_statement"
    BANK_CARD = "bank_card"
    DIAGNOSIS_CERTIFICATE = "diagnosis_certificate"
    AGENT_ID_CARD = "agent_id_card"
    OTHER = "other"
