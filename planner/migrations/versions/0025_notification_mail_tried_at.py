"""notifications: when a worker last took one to send

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 10:30:00

- `notifications.mail_tried_at`: set when a worker takes the notification's e-mail to send
  (with the count of tries). Another worker takes it again only once a send can have
  ended (`mail.HOLD`); before, a notification older than the first backoff could be taken
  by a second worker while the first was still sending it, and was mailed twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.migrations.columns import add_columns, drop_columns, timestamp

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_columns("notifications", timestamp("mail_tried_at", nullable=True))


def downgrade() -> None:
    drop_columns("notifications", "mail_tried_at")
