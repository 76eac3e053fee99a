"""revisions keep due date, campaign and tags

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:00:00

A save that changes only a piece's due date, campaign or tags is a revision of its own, so
a revision must hold them to be diffed and restored. Existing revisions get their piece's
current values: restoring one of them then leaves these fields as they are, as it did
before, and nothing stored is lost.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from planner.migrations.columns import add_columns, drop_columns, json, json_type, string

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added nullable, filled from the pieces, then made NOT NULL: no server default is
    # left behind that the models do not declare.
    add_columns(
        "revisions",
        sa.Column("due_date", sa.Date(), nullable=True),
        string("campaign", 120, nullable=True),
        json("tags", nullable=True),
    )
    op.execute(
        """
        UPDATE revisions SET
            due_date = (SELECT p.due_date FROM pieces p WHERE p.id = revisions.piece_id),
            campaign = (SELECT p.campaign FROM pieces p WHERE p.id = revisions.piece_id),
            tags = (SELECT p.tags FROM pieces p WHERE p.id = revisions.piece_id)
        """
    )
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        batch_op.alter_column(
            "campaign",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=120),
            nullable=False,
        )
        batch_op.alter_column("tags", existing_type=json_type(), nullable=False)


def downgrade() -> None:
    drop_columns("revisions", "tags", "campaign", "due_date")
