"""metrics collection: the queue of published posts whose figures are read, its ledger

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 00:00:00

- `metric_collections`: one row per published post whose figures are collected: the
  channel, when it was published, the next round and when it is due, its state, the
  worker's claim and lease, failed tries and the last error. Rows are made by the
  workers' sweeps for every published post (those published before this migration too).
- `metric_fetches`: the ledger, one row per request for a post's figures (worker, round,
  outcome, HTTP status, error, duration).
- `metric_pauses`: a channel's rate limit on reading figures, for every worker.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import (
    attempt,
    create_index,
    integer,
    references,
    string,
    text,
    timestamp,
)

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_collections",
        integer("post_id"),
        integer("channel_id"),
        timestamp("published_at"),
        integer("round"),
        timestamp("next_due_at", nullable=True),
        string("state", 16),
        string("claimed_by", 120, nullable=True),
        timestamp("lease_until", nullable=True),
        integer("attempts"),
        text("last_error", nullable=True),
        timestamp("collected_at", nullable=True),
        timestamp("created_at"),
        references("post_id", "posts"),
        references("channel_id", "channels"),
        sa.PrimaryKeyConstraint("post_id"),
    )
    create_index("metric_collections", "channel_id")
    create_index("metric_collections", "next_due_at", "post_id")
    op.create_table(
        "metric_fetches",
        integer("id"),
        integer("post_id"),
        integer("round"),
        *attempt(),
        integer("duration_ms", nullable=True),
        references("post_id", "posts"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("metric_fetches", "post_id")
    op.create_table(
        "metric_pauses",
        integer("channel_id"),
        timestamp("paused_until"),
        text("reason", nullable=True),
        references("channel_id", "channels"),
        sa.PrimaryKeyConstraint("channel_id"),
    )


def downgrade() -> None:
    # Their indexes are dropped with the tables.
    op.drop_table("metric_pauses")
    op.drop_table("metric_fetches")
    op.drop_table("metric_collections")
