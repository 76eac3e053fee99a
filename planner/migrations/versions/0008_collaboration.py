"""collaboration: one-time form tokens, notifications and their preferences

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 20:30:00

- `form_submissions`: the token of a rendered form, spent by the first thing created
  from it, so a double click or a resent form creates nothing the second time.
- `notifications`: what a user is told (in the dashboard; by e-mail from the worker's
  outbox when `email` is set, until `mailed_at`).
- `notification_preferences`: per user and kind, in the dashboard and/or by e-mail.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import (
    boolean,
    create_index,
    integer,
    references,
    string,
    text,
    timestamp,
)

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "form_submissions",
        string("token", 64),
        integer("user_id"),
        string("action", 32),
        integer("object_id", nullable=True),
        timestamp("created_at"),
        references("user_id", "users"),
        sa.PrimaryKeyConstraint("token"),
    )
    create_index("form_submissions", "user_id")
    op.create_table(
        "notifications",
        integer("id"),
        integer("user_id"),
        string("kind", 32),
        string("object_type", 32),
        integer("object_id"),
        integer("actor_id", nullable=True),
        text("detail"),
        timestamp("created_at"),
        timestamp("read_at", nullable=True),
        boolean("email"),
        timestamp("mailed_at", nullable=True),
        integer("mail_attempts"),
        text("mail_error", nullable=True),
        references("actor_id", "users"),
        references("user_id", "users"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("notifications", "user_id")
    op.create_table(
        "notification_preferences",
        integer("user_id"),
        string("kind", 32),
        boolean("in_app"),
        boolean("email"),
        references("user_id", "users"),
        sa.PrimaryKeyConstraint("user_id", "kind"),
    )


def downgrade() -> None:
    # Each table's indexes are dropped with it.
    op.drop_table("notification_preferences")
    op.drop_table("notifications")
    op.drop_table("form_submissions")
