"""ledger: why a publishing rule held a post, as a message the dashboard translates

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 04:30:00

- `publish_attempts.reason`: for a post a publishing rule held when the engine claimed
  it, the rule's finding as JSON text (code, English text, params), so the process
  report names the hold in the reader's language; `error` keeps the English text.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.migrations.columns import add_columns, drop_columns, text

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_columns("publish_attempts", text("reason", nullable=True))


def downgrade() -> None:
    drop_columns("publish_attempts", "reason")
