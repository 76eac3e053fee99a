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
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    # Added nullable, filled from the pieces, then made NOT NULL: no server default is
    # left behind that the models do not declare.
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("campaign", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch_op.add_column(sa.Column("tags", _json(), nullable=True))
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
        batch_op.alter_column("tags", existing_type=_json(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("revisions", schema=None) as batch_op:
        batch_op.drop_column("tags")
        batch_op.drop_column("campaign")
        batch_op.drop_column("due_date")
