"""inbox: a reply being sent holds its item, so two people never both send one

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 22:10:00

- `inbox_items.reply_sending_at`: when someone started sending the item's reply; while
  it is set (and younger than `planner.inbox.REPLY_CLAIM`), nobody else sends, approves
  or discards a reply to the item. It is cleared when the channel answered.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.migrations.columns import add_columns, drop_columns, timestamp

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_columns("inbox_items", timestamp("reply_sending_at", nullable=True))


def downgrade() -> None:
    drop_columns("inbox_items", "reply_sending_at")
