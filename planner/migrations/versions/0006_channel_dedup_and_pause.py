"""channels: proven deduplication and a rate-limit pause per channel

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 11:00:00

Whether a channel drops repeated requests is a property of the channel's server, not of
its adapter kind: `deduplicates` and the reason it holds (`deduplication_basis`). A 429
pauses the whole channel for every worker: `paused_until` and `pause_reason`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import planner.dbtypes

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("deduplicates", sa.Boolean(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "deduplication_basis",
                sqlmodel.sql.sqltypes.AutoString(length=200),
                server_default="",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("paused_until", planner.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("pause_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_column("pause_reason")
        batch_op.drop_column("paused_until")
        batch_op.drop_column("deduplication_basis")
        batch_op.drop_column("deduplicates")
