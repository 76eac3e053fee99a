"""posts: drop the status-only index

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 20:00:00

ix_posts_status_publish_at_id starts with status, so it serves every query by status
alone. The scheduler changes a post's status twice per publish (claim and outcome), and
each change writes an entry into every index of the row: one index fewer is one write
fewer, twice per post.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.migrations.columns import create_index, drop_index

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    drop_index("posts", "status")


def downgrade() -> None:
    create_index("posts", "status")
