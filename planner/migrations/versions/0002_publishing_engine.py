"""publishing engine: heartbeats, claim index, attempt keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:41:19.612807
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import (
    add_columns,
    boolean,
    create_index,
    drop_columns,
    drop_index,
    integer,
    string,
    timestamp,
)

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        string("worker_id", 120),
        string("hostname", 255),
        integer("pid"),
        boolean("embedded"),
        timestamp("started_at"),
        timestamp("last_seen"),
        integer("published"),
        integer("failed"),
        sa.PrimaryKeyConstraint("worker_id"),
    )
    create_index("posts", "status", "publish_at")
    add_columns("publish_attempts", string("idempotency_key", 64, nullable=True))


def downgrade() -> None:
    drop_columns("publish_attempts", "idempotency_key")
    drop_index("posts", "status", "publish_at")
    op.drop_table("worker_heartbeats")
