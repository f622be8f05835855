"""approval: public notices and objections, letters, deadlines and escalation, four eyes in the database

- claim_notice and objection: the public notice (公示) of finally approved claims and the objections to it.
- letter: the applicant's decision letters, written from outbox events. notification: reminders and
  escalations for reviewers. outbox_message gains attempts and last_error (a failing message is retried).
- approval_task: the org path it is scoped by (filled from org_unit), its benefit type (filled from the
  claim), the objection it decides, when it escalates and whether it was reminded or escalated. One review
  task per claim, round and level becomes a partial unique index, so that objection tasks (one per
  objection) can sit beside it. The claim's unit path is copied onto the task too (a queue filter). A partial
  index over open and taken tasks serves the reviewer's queue in due order with its filters read in the
  index; the lone index on level goes (a planner preferred it and read a whole level); the deadline sweep's
  indexes lead with the status, so that years of decided tasks are never walked.
- app_user.is_supervisor: overdue tasks are escalated to the level's supervisor.
- decision: the four-eyes unique (claim, round, person) gives way to a trigger that refuses a decision by the
  claim's filer, by the member it belongs to, or by a person who decided the claim at another level; the
  trigger statements are frozen copies of models.four_eyes, checked equal by tests/models/test_migrations.py.
  decision.outcome widens to 16 characters (uphold_reject, uphold_review, dismiss).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:12:47
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401, RUF100 - AutoString columns render as sqlmodel.sql.sqltypes.AutoString
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of models.four_eyes.FOUR_EYES_SQLITE / FOUR_EYES_POSTGRESQL at this revision.
FOUR_EYES = {
    "sqlite": [
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
    ],
    "postgresql": [
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
        "CREATE TRIGGER decision_four_eyes BEFORE INSERT ON decision "
        "FOR EACH ROW EXECUTE FUNCTION decision_four_eyes()",
    ],
}
FOUR_EYES_DROP = {
    "sqlite": ["DROP TRIGGER IF EXISTS decision_four_eyes"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS decision_four_eyes ON decision",
        "DROP FUNCTION IF EXISTS decision_four_eyes()",
    ],
}
REVIEW_ONLY = "kind = 'claim_review'"
OPEN_ONLY = "status IN ('open', 'taken')"  # models.approvals.OPEN_PREDICATE at this revision


def _dialect_statements(statements: dict[str, list[str]]) -> list[str]:
    """The statements for the dialect being migrated; refuse a dialect without four-eyes triggers."""
    dialect = op.get_bind().dialect.name
    if dialect not in statements:
        raise NotImplementedError(f"no four-eyes trigger for decision on {dialect}")
    return statements[dialect]


def upgrade() -> None:
    """New tables, the task's scoping and deadline columns, and four eyes as a trigger."""
    op.create_table(
        "claim_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_no", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("policy_year_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("masked_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("unit_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("benefit_type", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("benefit_label", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("approval_level", sa.Integer(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claim.id"],
        ),
        sa.ForeignKeyConstraint(
            ["policy_year_id"],
            ["policy_year.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("notice_no"),
    )
    op.create_index("ix_claim_notice_board", "claim_notice", ["status", "policy_year_id", "ends_at"], unique=False)
    op.create_index("ix_claim_notice_claim_id", "claim_notice", ["claim_id"], unique=False)
    op.create_index("ix_claim_notice_status", "claim_notice", ["status"], unique=False)
    op.create_table(
        "letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("object_key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("media_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claim.id"],
        ),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"],
            ["outbox_message.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("outbox_message_id"),
    )
    op.create_index("ix_letter_claim_id", "letter", ["claim_id"], unique=False)
    op.create_table(
        "objection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("client_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claim.id"],
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["claim_notice.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_index("ix_objection_claim_id", "objection", ["claim_id"], unique=False)
    op.create_index("ix_objection_client_time", "objection", ["client_key", "submitted_at"], unique=False)
    op.create_index("ix_objection_notice_id", "objection", ["notice_id"], unique=False)
    op.create_index("ix_objection_status", "objection", ["status"], unique=False)
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("recipient_user_id", sa.Integer(), nullable=True),
        sa.Column("recipient_org_id", sa.Integer(), nullable=True),
        sa.Column("recipient_level", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"],
            ["claim.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recipient_org_id"],
            ["org_unit.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recipient_user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["approval_task.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_group", "notification", ["recipient_org_id", "recipient_level"], unique=False)
    op.create_index("ix_notification_recipient_user_id", "notification", ["recipient_user_id"], unique=False)
    op.create_index("ix_notification_task_id", "notification", ["task_id"], unique=False)
    with op.batch_alter_table("app_user") as batch:
        batch.add_column(sa.Column("is_supervisor", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("app_user") as batch:
        batch.alter_column("is_supervisor", existing_type=sa.Boolean(), server_default=None)

    with op.batch_alter_table("approval_task") as batch:
        batch.add_column(sa.Column("objection_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("benefit_type", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True))
        batch.add_column(sa.Column("org_path", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch.add_column(sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_to_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("unit_path", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
        batch.create_foreign_key("approval_task_objection_id_fkey", "objection", ["objection_id"], ["id"])
        batch.create_foreign_key("approval_task_escalated_to_id_fkey", "app_user", ["escalated_to_id"], ["id"])
        batch.drop_constraint("uq_task_claim_round_level", type_="unique")
    op.execute(
        "UPDATE approval_task SET org_path = (SELECT org_unit.path FROM org_unit "
        "WHERE org_unit.id = approval_task.org_unit_id)"
    )
    op.execute(
        "UPDATE approval_task SET benefit_type = (SELECT claim.benefit_type FROM claim "
        "WHERE claim.id = approval_task.claim_id) WHERE claim_id IS NOT NULL"
    )
    op.execute(
        "UPDATE approval_task SET unit_path = COALESCE((SELECT org_unit.path FROM claim JOIN org_unit "
        "ON org_unit.id = claim.org_unit_id WHERE claim.id = approval_task.claim_id), org_path)"
    )
    # An eligibility review belongs to the reviewers of its unit's level (a county union's to the county).
    op.execute(
        "UPDATE approval_task SET level = (SELECT CASE org_unit.level WHEN 'city' THEN 3 WHEN 'county' THEN 2 "
        "ELSE 1 END FROM org_unit WHERE org_unit.id = approval_task.org_unit_id) WHERE kind = 'eligibility_review'"
    )
    with op.batch_alter_table("approval_task") as batch:
        batch.alter_column("org_path", existing_type=sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False)
        batch.alter_column("unit_path", existing_type=sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False)
        batch.drop_index("ix_approval_task_due_at")
        batch.drop_index("ix_approval_task_level")
        batch.create_index(
            "ix_task_open_queue",
            ["level", "org_path", "due_at", "id", "status", "kind", "benefit_type", "assignee_id", "unit_path",
             "escalated_at"],
            unique=False, sqlite_where=sa.text(OPEN_ONLY), postgresql_where=sa.text(OPEN_ONLY),
        )  # fmt: skip
        batch.create_index("ix_task_due", ["status", "due_at"], unique=False)
        batch.create_index("ix_task_escalate", ["status", "escalate_at"], unique=False)
        batch.create_index("ix_task_queue", ["level", "status", "org_path", "due_at"], unique=False)
        batch.create_index("uq_task_objection", ["objection_id"], unique=True)
        batch.create_index(
            "uq_task_review_claim_round_level", ["claim_id", "round", "level"], unique=True,
            sqlite_where=sa.text(REVIEW_ONLY), postgresql_where=sa.text(REVIEW_ONLY),
        )  # fmt: skip

    with op.batch_alter_table("decision") as batch:
        batch.alter_column(
            "outcome", existing_type=sa.String(length=12), type_=sa.String(length=16), existing_nullable=False
        )
        batch.drop_constraint("uq_decision_four_eyes", type_="unique")
    for statement in _dialect_statements(FOUR_EYES):
        op.execute(statement)

    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
    with op.batch_alter_table("outbox_message") as batch:
        batch.alter_column("attempts", existing_type=sa.Integer(), server_default=None)


def downgrade() -> None:
    """Back to 0003: drop what this revision added; four eyes as the unique (claim, round, person) again."""
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("last_error")
        batch.drop_column("attempts")

    for statement in _dialect_statements(FOUR_EYES_DROP):
        op.execute(statement)
    with op.batch_alter_table("decision") as batch:
        batch.create_unique_constraint("uq_decision_four_eyes", ["claim_id", "round", "decided_by"])
        batch.alter_column(
            "outcome", existing_type=sa.String(length=16), type_=sa.String(length=12), existing_nullable=False
        )

    with op.batch_alter_table("approval_task") as batch:
        batch.drop_index(
            "uq_task_review_claim_round_level", sqlite_where=sa.text(REVIEW_ONLY), postgresql_where=sa.text(REVIEW_ONLY)
        )
        batch.drop_index("uq_task_objection")
        batch.drop_index("ix_task_queue")
        batch.drop_index("ix_task_open_queue", sqlite_where=sa.text(OPEN_ONLY), postgresql_where=sa.text(OPEN_ONLY))
        batch.create_index("ix_approval_task_level", ["level"], unique=False)
        batch.drop_index("ix_task_escalate")
        batch.drop_index("ix_task_due")
        batch.create_index("ix_approval_task_due_at", ["due_at"], unique=False)
    op.execute("UPDATE approval_task SET level = 1 WHERE kind = 'eligibility_review'")
    op.execute("DELETE FROM approval_task WHERE kind = 'objection_review'")
    with op.batch_alter_table("approval_task") as batch:
        batch.drop_constraint("approval_task_escalated_to_id_fkey", type_="foreignkey")
        batch.drop_constraint("approval_task_objection_id_fkey", type_="foreignkey")
        batch.drop_column("unit_path")
        batch.drop_column("escalated_to_id")
        batch.drop_column("escalated_at")
        batch.drop_column("reminded_at")
        batch.drop_column("escalate_at")
        batch.drop_column("org_path")
        batch.drop_column("benefit_type")
        batch.drop_column("objection_id")
        batch.create_unique_constraint("uq_task_claim_round_level", ["kind", "claim_id", "round", "level"])

    with op.batch_alter_table("app_user") as batch:
        batch.drop_column("is_supervisor")

    op.drop_index("ix_notification_task_id", table_name="notification")
    op.drop_index("ix_notification_recipient_user_id", table_name="notification")
    op.drop_index("ix_notification_group", table_name="notification")
    op.drop_table("notification")
    op.drop_index("ix_letter_claim_id", table_name="letter")
    op.drop_table("letter")
    op.drop_index("ix_objection_status", table_name="objection")
    op.drop_index("ix_objection_notice_id", table_name="objection")
    op.drop_index("ix_objection_client_time", table_name="objection")
    op.drop_index("ix_objection_claim_id", table_name="objection")
    op.drop_table("objection")
    op.drop_index("ix_claim_notice_status", table_name="claim_notice")
    op.drop_index("ix_claim_notice_claim_id", table_name="claim_notice")
    op.drop_index("ix_claim_notice_board", table_name="claim_notice")
    op.drop_table("claim_notice")
