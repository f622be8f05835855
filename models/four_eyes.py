"""Four eyes in the database (DOMAIN 2.7): a trigger refuses any decision on a claim by the person who filed
it, by the member whose claim it is, or by someone who already decided it at another level.

The service checks the same rules first (tasks.approval.decisions) and answers with a reason; the trigger is the
guarantee that no other path can write such a decision. Both dialects raise an integrity error whose message
starts with FOUR_EYES, so the service can tell it apart from other conflicts.
"""

from __future__ import annotations

from sqlalchemy import DDL, event

from models.approvals import Decision

FOUR_EYES = "four_eyes"

FOUR_EYES_SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS decision_four_eyes BEFORE INSERT ON decision "
    "WHEN NEW.claim_id IS NOT NULL BEGIN "
    "SELECT RAISE(ABORT, 'four_eyes: the filer of a claim may not decide it') "
    "WHERE EXISTS (SELECT 1 FROM claim WHERE claim.id = NEW.claim_id AND claim.filed_by = NEW.decided_by); "
    "SELECT RAISE(ABORT, 'four_eyes: a member may not decide their own claim') "
    "WHERE EXISTS (SELECT 1 FROM claim JOIN app_user ON app_user.id = NEW.decided_by "
    "WHERE claim.id = NEW.claim_id AND app_user.member_id = claim.member_id); "
    "SELECT RAISE(ABORT, 'four_eyes: one person decides a claim at one level only') "
    "WHERE EXISTS (SELECT 1 FROM decision AS earlier WHERE earlier.claim_id = NEW.claim_id "
    "AND earlier.decided_by = NEW.decided_by AND earlier.level != NEW.level); "
    "END",
]
FOUR_EYES_POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION decision_four_eyes() RETURNS trigger AS $$ BEGIN "
    "IF NEW.claim_id IS NULL THEN RETURN NEW; END IF; "
    "IF EXISTS (SELECT 1 FROM claim WHERE claim.id = NEW.claim_id AND claim.filed_by = NEW.decided_by) THEN "
    "RAISE EXCEPTION 'four_eyes: the filer of a claim may not decide it' USING ERRCODE = 'check_violation'; "
    "END IF; "
    "IF EXISTS (SELECT 1 FROM claim JOIN app_user ON app_user.id = NEW.decided_by "
    "WHERE claim.id = NEW.claim_id AND app_user.member_id = claim.member_id) THEN "
    "RAISE EXCEPTION 'four_eyes: a member may not decide their own claim' USING ERRCODE = 'check_violation'; "
    "END IF; "
    "IF EXISTS (SELECT 1 FROM decision AS earlier WHERE earlier.claim_id = NEW.claim_id "
    "AND earlier.decided_by = NEW.decided_by AND earlier.level <> NEW.level) THEN "
    "RAISE EXCEPTION 'four_eyes: one person decides a claim at one level only' USING ERRCODE = 'check_violation'; "
    "END IF; "
    "RETURN NEW; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER decision_four_eyes BEFORE INSERT ON decision FOR EACH ROW EXECUTE FUNCTION decision_four_eyes()",
]

_DECISION_TABLE = Decision.__table__  # type: ignore[attr-defined]
for _stmt in FOUR_EYES_SQLITE:
    event.listen(_DECISION_TABLE, "after_create", DDL(_stmt).execute_if(dialect="sqlite"))
for _stmt in FOUR_EYES_POSTGRESQL:
    event.listen(_DECISION_TABLE, "after_create", DDL(_stmt).execute_if(dialect="postgresql"))


def is_four_eyes_violation(error: BaseException) -> bool:
    """Whether a database error is the four-eyes trigger refusing a decision."""
    return FOUR_EYES in str(getattr(error, "orig", error))
