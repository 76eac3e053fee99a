"""editor drafts: unsaved editor text kept per user and piece

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 00:00:00

- `editor_drafts`: what one user typed in the Editor for one piece (title, text, channel
  variants) and the revision it started from, until the piece is saved or the draft
  discarded.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import create_index, integer, json, references, text, timestamp

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "editor_drafts",
        integer("user_id"),
        integer("piece_id"),
        integer("base_revision"),
        text("title"),
        text("body"),
        json("variants"),
        timestamp("updated_at"),
        references("piece_id", "pieces"),
        references("user_id", "users"),
        sa.PrimaryKeyConstraint("user_id", "piece_id"),
    )
    create_index("editor_drafts", "piece_id")


def downgrade() -> None:
    # The table's index is dropped with it.
    op.drop_table("editor_drafts")
