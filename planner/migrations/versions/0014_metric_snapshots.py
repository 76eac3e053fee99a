"""metric snapshots: a published post's interaction figures over time

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 00:00:00

- `metric_snapshots`: one row per collection of a post's figures (impressions or views,
  reactions, reposts/shares, replies/comments, link clicks; NULL where the network gives
  none) with the channel's raw answer, indexed by post and time.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import create_index, integer, json, references, timestamp

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = ("impressions", "reactions", "reposts", "replies", "link_clicks")


def upgrade() -> None:
    op.create_table(
        "metric_snapshots",
        integer("id"),
        integer("post_id"),
        timestamp("collected_at"),
        *(integer(name, nullable=True) for name in _COUNTS),
        json("raw"),
        references("post_id", "posts"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("metric_snapshots", "post_id", "collected_at")


def downgrade() -> None:
    # The table's index is dropped with it.
    op.drop_table("metric_snapshots")
