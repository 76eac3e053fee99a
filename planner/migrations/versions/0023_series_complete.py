"""series: a series whose every occurrence is planned is complete

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 04:40:00

- `series.complete`: set by the sweep that plans a series' last occurrence. A complete
  series plans nothing more, so it no longer keeps its piece from being published once
  its posts are out, and it leaves the list of running series once none of its posts may
  still go out. Series complete before this revision are found by the next sweep.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.migrations.columns import add_columns, boolean, drop_columns

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_columns("series", boolean("complete", server_default="0"))


def downgrade() -> None:
    drop_columns("series", "complete")
