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
import sqlmodel
from alembic import op

import planner.dbtypes

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_String = sqlmodel.sql.sqltypes.AutoString
_When = planner.dbtypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "form_submissions",
        sa.Column("token", _String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("action", _String(length=32), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _When(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("token"),
    )
    op.create_index("ix_form_submissions_user_id", "form_submissions", ["user_id"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", _String(length=32), nullable=False),
        sa.Column("object_type", _String(length=32), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", _When(timezone=True), nullable=False),
        sa.Column("read_at", _When(timezone=True), nullable=True),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.Column("mailed_at", _When(timezone=True), nullable=True),
        sa.Column("mail_attempts", sa.Integer(), nullable=False),
        sa.Column("mail_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notifications_user_id", "notifications", ["user_id"])
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", _String(length=32), nullable=False),
        sa.Column("in_app", sa.Boolean(), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id", "kind"),
    )


def downgrade() -> None:
    op.drop_table("notification_preferences")
    op.drop_index("ix_notifications_user_id", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_form_submissions_user_id", table_name="form_submissions")
    op.drop_table("form_submissions")
