"""series: a series may place each occurrence in its channel's next free publishing slot

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 01:10:00

- `series.in_slots`: when true, each occurrence of the rule is planned in the channel's
  first free slot from the occurrence's time until the rule's next occurrence (one that
  the publishing rules' time rules allow), instead of at the occurrence's own time.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.migrations.columns import add_columns, boolean, drop_columns

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_columns("series", boolean("in_slots", server_default="0"))


def downgrade() -> None:
    drop_columns("series", "in_slots")
