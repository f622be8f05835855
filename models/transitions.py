"""The state machines: for each entity with a status, the moves it may make (FROM_STATES → TO_STATES).

Only the gate (models.states) reads this to decide a move; tests read it to see every state is reachable.
"""

from __future__ import annotations

from models.approvals import TaskStatus as T
from models.claims import ClaimStatus as C
from models.enrolments import EnrolmentStatus as E
from models.errors import InvalidTransition
from models.notices import NoticeStatus as N
from models.notices import ObjectionStatus as O
from models.payments import BatchStatus as B
from models.payments import PaymentStatus as P

TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "claim": {
        C.INCOMPLETE: frozenset({C.SUBMITTED, C.REJECTED}),
        C.SUBMITTED: frozenset({C.IN_REVIEW, C.REJECTED, C.INCOMPLETE}),
        C.IN_REVIEW: frozenset({C.IN_NOTICE, C.REJECTED, C.RETURNED}),
        C.RETURNED: frozenset({C.SUBMITTED, C.INCOMPLETE, C.REJECTED}),
        C.IN_NOTICE: frozenset({C.PAYABLE, C.IN_REVIEW, C.REJECTED}),
        C.PAYABLE: frozenset({C.IN_PAYMENT}),
        C.IN_PAYMENT: frozenset({C.PAID, C.PAYMENT_FAILED}),
        C.PAYMENT_FAILED: frozenset({C.PAYABLE}),
        C.PAID: frozenset(),
        C.REJECTED: frozenset(),
    },
    "enrolment": {
        E.REGISTERED: frozenset({E.ELIGIBLE, E.INELIGIBLE, E.NEEDS_REVIEW}),
        E.NEEDS_REVIEW: frozenset({E.ELIGIBLE, E.INELIGIBLE}),
        E.ELIGIBLE: frozenset({E.ACTIVE, E.INELIGIBLE}),
        E.INELIGIBLE: frozenset(),
        E.ACTIVE: frozenset({E.LAPSED}),
        E.LAPSED: frozenset(),
    },
    "approval_task": {
        T.OPEN: frozenset({T.TAKEN, T.COMPLETED, T.CANCELLED}),
        T.TAKEN: frozenset({T.OPEN, T.COMPLETED, T.CANCELLED}),
        T.COMPLETED: frozenset(),
        T.CANCELLED: frozenset(),
    },
    "payment_batch": {
        B.CREATED: frozenset({B.EXPORTED}),
        B.EXPORTED: frozenset({B.SETTLED}),
        B.SETTLED: frozenset(),
    },
    "payment": {
        P.PENDING: frozenset({P.PAID, P.FAILED}),
        P.PAID: frozenset(),
        P.FAILED: frozenset(),
    },
    "policy_year": {"open": frozenset({"closed"}), "closed": frozenset()},
    "claim_notice": {
        N.POSTED: frozenset({N.PASSED, N.WITHDRAWN}),
        N.PASSED: frozenset(),
        N.WITHDRAWN: frozenset(),
    },
    "objection": {
        O.OPEN: frozenset({O.UPHELD, O.DISMISSED, O.CLOSED}),
        O.UPHELD: frozenset(),
        O.DISMISSED: frozenset(),
        O.CLOSED: frozenset(),
    },
}


def sources_of(entity: str, to: str) -> frozenset[str]:
    """The states from which `entity` may move to `to`."""
    return frozenset(s for s, targets in TRANSITIONS[entity].items() if to in targets)


def check_transition(entity: str, old: str, to: str) -> None:
    """Raise InvalidTransition unless old → to is allowed for entity."""
    if to not in TRANSITIONS[entity].get(old, frozenset()):
        raise InvalidTransition(f"{entity}: {old} → {to} is not allowed")
