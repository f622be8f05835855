"""What the claim benchmarks share: the hospitals, tiers and diagnoses they draw from, and the columns of the
member and enrolment rows they bulk-insert."""

from __future__ import annotations

HOSPITALS = [f"示范市第{i}医院" for i in range(1, 61)]
TIERS = ("community", "tier1", "tier2", "tier3")
LISTED = ("C34.9", "C50.9", "I21.0", "I63.9", "N18.5", "Z94.0")  # on the critical-illness list
UNLISTED = ("J18.9", "K35.8", "S72.0", "E11.9")
MEMBER_COLUMNS = (
    "id", "name", "id_number", "birth_date", "sex", "phone", "employment_status", "org_unit_id",
    "bank_card", "bank_name", "barred", "created_at",
)  # fmt: skip
ENROLMENT_COLUMNS = (
    "id", "member_id", "policy_year_id", "org_unit_id", "kind", "status", "version", "contribution_fen",
    "registered_at", "paid_on", "coverage_start", "coverage_end",
)  # fmt: skip
