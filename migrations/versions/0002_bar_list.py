"""bar list

Adds bar_list_entry (models.bar_list.BarListEntry): the people a programme has barred for fraud
(DOMAIN 2.3), one row per programme and ID number, lifted by setting lifted_at, never deleted.

Generated with ``alembic revision --autogenerate --rev-id 0002 -m "bar list"`` against a database at
0001, then reviewed by hand: nothing else differed; the unique constraint (programme_id, id_number)
also serves eligibility's lookup of a member's ID number in a programme, so no further index is needed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 18:23:26.356342
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401, RUF100 - AutoString columns render as sqlmodel.sql.sqltypes.AutoString
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the bar list."""
    op.create_table(
        "bar_list_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("id_number", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("added_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("programme_id", "id_number", name="uq_bar_list_programme_id_number"),
    )


def downgrade() -> None:
    """Drop the bar list."""
    op.drop_table("bar_list_entry")
