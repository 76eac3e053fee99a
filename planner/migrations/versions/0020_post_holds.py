"""post holds: when the engine found a due post held, and until when

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 05:00:00

- `post_holds`: a stretch of time a sweep found a due post held (freeze, piece not
  approved as it is, channel disabled, disconnected, without publisher or paused), with
  the reason; `ended_at` stays empty while it lasts, and at most one stretch per post is
  open (a partial unique index), whichever worker saw it first.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import create_index, integer, references, string, timestamp

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "post_holds",
        integer("id"),
        integer("post_id"),
        string("reason", 32),
        timestamp("started_at"),
        timestamp("ended_at", nullable=True),
        references("post_id", "posts"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("post_holds", "post_id")
    create_index("post_holds", "started_at")
    op.create_index(
        "ux_post_holds_open_post_id",
        "post_holds",
        ["post_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("post_holds")
