"""configurable benefits

Benefits became configuration (models.rules): a claim's benefit type is a key of its year's rules, the
hospital fields apply only to a hospital stay (hospital_tier may be empty), every version of a year's
rules is kept (policy_rules_version), and a claim records the version it was calculated under.

The stored rules of existing policy years are rewritten into the current shape (the same upgrade the
rules model applies when it reads older data) and become their year's first kept version.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 20:40:00
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel  # noqa: F401, RUF100 - AutoString columns render as sqlmodel.sql.sqltypes.AutoString
from alembic import op

from models.rules import PolicyRules

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the rules versions and the claim's rules version; let non-hospital claims leave the tier empty."""
    versions = op.create_table(
        "policy_rules_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_year_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["policy_year_id"], ["policy_year.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("policy_year_id", "version"),
    )
    op.create_index(
        op.f("ix_policy_rules_version_policy_year_id"), "policy_rules_version", ["policy_year_id"], unique=False
    )
    with op.batch_alter_table("claim") as batch:
        batch.add_column(sa.Column("rules_version", sa.Integer(), nullable=True))
        batch.alter_column("hospital_tier", existing_type=sa.String(length=16), nullable=True)

    bind = op.get_bind()
    years = sa.table(
        "policy_year", sa.column("id", sa.Integer), sa.column("rules", sa.JSON), sa.column("rules_version", sa.Integer)
    )
    now = datetime.now(UTC)
    for year_id, rules, version in bind.execute(sa.select(years.c.id, years.c.rules, years.c.rules_version)).all():
        data = rules if isinstance(rules, dict) else json.loads(rules or "{}")
        current = PolicyRules.model_validate(data).model_dump(mode="json")
        bind.execute(sa.update(years).where(years.c.id == year_id).values(rules=current))
        bind.execute(
            sa.insert(versions).values(
                policy_year_id=year_id, version=version or 1, rules=current, note="", created_by="migration",
                created_at=now,
            )
        )  # fmt: skip


def downgrade() -> None:
    """Drop the rules versions and the claim's rules version (rules keep their current shape)."""
    with op.batch_alter_table("claim") as batch:
        batch.drop_column("rules_version")
    op.drop_index(op.f("ix_policy_rules_version_policy_year_id"), table_name="policy_rules_version")
    op.drop_table("policy_rules_version")
