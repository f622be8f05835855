"""SQLModel tables, API schemas and the state machines of the whole domain.

Importing this package registers every table on SQLModel.metadata.
"""

from models.approvals import ApprovalTask, Decision
from models.audit import AuditEvent, OutboxMessage
from models.bar_list import BarListEntry as BarListEntry  # re-exported; registers the table
from models.claims import Claim, ClaimDocument
from models.enrolments import Enrolment
from models.four_eyes import FOUR_EYES as FOUR_EYES  # re-exported; installs the decision trigger
from models.funds import FundAccount, FundReceipt, LedgerEntry
from models.letters import Letter
from models.members import Member
from models.notices import ClaimNotice, Objection
from models.notifications import Notification
from models.org import OrgUnit
from models.payments import Payment, PaymentBatch
from models.programmes import PolicyRulesVersion, PolicyYear, Programme
from models.publications import Publication, PublishedFile
from models.users import User

__all__ = [
    "ApprovalTask",
    "AuditEvent",
    "Claim",
    "ClaimDocument",
    "ClaimNotice",
    "Decision",
    "Enrolment",
    "FundAccount",
    "FundReceipt",
    "LedgerEntry",
    "Letter",
    "Member",
    "Notification",
    "Objection",
    "OrgUnit",
    "OutboxMessage",
    "Payment",
    "PaymentBatch",
    "PolicyRulesVersion",
    "PolicyYear",
    "Programme",
    "Publication",
    "PublishedFile",
    "User",
]
