"""posts: where a person's "send again" put the count of tries back to the start

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 10:40:00

- `posts.retried_after`: the id of the post's last ledger row when a person sent it again
  (`retry_post`); the engine counts only the failures after it against the post's tries.
  Before, the failures from before the retry still counted and the first temporary error
  after it failed the post for good. A row id, not a time, so that the clocks of the
  dashboard and the workers need not agree.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.migrations.columns import add_columns, drop_columns, integer

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_columns("posts", integer("retried_after", nullable=True))


def downgrade() -> None:
    drop_columns("posts", "retried_after")
