"""the claim's index also orders by id

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 18:00:00

The claim takes due posts in (publish_at, id) order. With (status, publish_at) alone,
posts that share one publish_at (a backlog after downtime, a bulk import) had to be
read and sorted in full by every claim; with id in the index the claim reads them in
order and stops after its batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.migrations.columns import create_index, drop_index

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    drop_index("posts", "status", "publish_at")
    create_index("posts", "status", "publish_at", "id")


def downgrade() -> None:
    drop_index("posts", "status", "publish_at", "id")
    create_index("posts", "status", "publish_at")
