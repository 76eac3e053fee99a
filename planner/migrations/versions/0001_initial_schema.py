"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 22:23:16.216754

Also makes audit_events append-only with triggers that refuse UPDATE and DELETE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import (
    attempt,
    boolean,
    choice,
    create_index,
    integer,
    json,
    references,
    string,
    text,
    timestamp,
    versioned,
)

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channels",
        integer("id"),
        string("kind", 32),
        string("name", 80),
        json("settings"),
        text("credentials", nullable=True),
        boolean("enabled"),
        integer("daily_cap", nullable=True),
        boolean("needs_reconnect", server_default="0"),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "departments",
        integer("id"),
        string("name", 80),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "users",
        integer("id"),
        string("username", 64),
        string("display_name", 120),
        string("email", 254, nullable=True),
        choice("role", "role", "contributor", "editor", "approver", "admin"),
        integer("department_id", nullable=True),
        string("password_hash", 255),
        integer("failed_logins", server_default="0"),
        timestamp("locked_until", nullable=True),
        boolean("disabled", server_default="0"),
        string("locale", 8),
        string("timezone", 64),
        timestamp("created_at"),
        references("department_id", "departments"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    create_index("users", "department_id")

    op.create_table(
        "audit_events",
        integer("id"),
        timestamp("at"),
        integer("actor_id", nullable=True),
        string("actor_name", 64),
        string("object_type", 32),
        string("object_id", 64),
        string("action", 48),
        string("from_state", 32, nullable=True),
        string("to_state", 32, nullable=True),
        integer("version", nullable=True),
        text("note"),
        references("actor_id", "users"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("audit_events", "at")
    create_index("audit_events", "object_type")

    op.create_table(
        "ideas",
        integer("id"),
        string("title", 200),
        text("pitch"),
        integer("department_id"),
        integer("submitted_by_id"),
        string("target_audience", 200),
        string("goal", 500),
        string("source_url", 2000, nullable=True),
        choice("urgency", "urgency", "low", "normal", "high"),
        json("tags"),
        choice("status", "ideastatus", "submitted", "accepted", "rejected", "merged"),
        text("rejection_reason", nullable=True),
        integer("merged_into_id", nullable=True),
        *versioned(),
        references("department_id", "departments"),
        references("merged_into_id", "ideas"),
        references("submitted_by_id", "users"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("ideas", "department_id")
    create_index("ideas", "status")
    create_index("ideas", "submitted_by_id")

    op.create_table(
        "settings",
        string("key", 64),
        text("value"),
        timestamp("updated_at"),
        integer("updated_by_id", nullable=True),
        references("updated_by_id", "users"),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "pieces",
        integer("id"),
        integer("idea_id", nullable=True),
        string("title", 200),
        text("body"),
        json("variants"),
        integer("owner_id"),
        sa.Column("due_date", sa.Date(), nullable=True),
        string("campaign", 120),
        json("tags"),
        choice(
            "status",
            "piecestatus",
            "draft",
            "in_review",
            "changes_requested",
            "approved",
            "published",
            "archived",
        ),
        integer("revision"),
        integer("approved_revision", nullable=True),
        integer("approved_by_id", nullable=True),
        timestamp("approved_at", nullable=True),
        *versioned(),
        references("approved_by_id", "users"),
        references("idea_id", "ideas"),
        references("owner_id", "users"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("pieces", "idea_id")
    create_index("pieces", "owner_id")
    create_index("pieces", "status")

    op.create_table(
        "comments",
        integer("id"),
        integer("piece_id"),
        integer("author_id"),
        integer("revision"),
        text("body"),
        timestamp("created_at"),
        references("author_id", "users"),
        references("piece_id", "pieces"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("comments", "piece_id")

    op.create_table(
        "revisions",
        integer("id"),
        integer("piece_id"),
        integer("number"),
        string("title", 200),
        text("body"),
        json("variants"),
        integer("author_id"),
        string("note", 500),
        timestamp("created_at"),
        references("author_id", "users"),
        references("piece_id", "pieces"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("piece_id", "number"),
    )
    create_index("revisions", "piece_id")

    op.create_table(
        "series",
        integer("id"),
        integer("piece_id"),
        integer("channel_id"),
        string("rule", 500),
        string("timezone", 64),
        sa.Column("local_start", sa.DateTime(), nullable=False),
        timestamp("materialized_until", nullable=True),
        boolean("active"),
        integer("created_by_id"),
        timestamp("created_at"),
        references("channel_id", "channels"),
        references("created_by_id", "users"),
        references("piece_id", "pieces"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("series", "channel_id")
    create_index("series", "piece_id")

    op.create_table(
        "posts",
        integer("id"),
        integer("piece_id"),
        integer("channel_id"),
        integer("series_id", nullable=True),
        timestamp("occurrence_at", nullable=True),
        timestamp("publish_at"),
        string("timezone", 64),
        choice(
            "status",
            "poststatus",
            "planned",
            "publishing",
            "published",
            "failed",
            "missed",
            "needs_check",
            "cancelled",
        ),
        json("media"),
        integer("attempts", server_default="0"),
        string("claimed_by", 120, nullable=True),
        timestamp("lease_until", nullable=True),
        timestamp("next_attempt_at", nullable=True),
        string("idempotency_key", 64),
        string("external_id", 500, nullable=True),
        string("external_url", 2000, nullable=True),
        text("last_error", nullable=True),
        timestamp("published_at", nullable=True),
        integer("version", server_default="1"),
        integer("created_by_id"),
        timestamp("created_at"),
        references("channel_id", "channels"),
        references("created_by_id", "users"),
        references("piece_id", "pieces"),
        references("series_id", "series"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("series_id", "occurrence_at"),
    )
    create_index("posts", "channel_id")
    create_index("posts", "piece_id")
    create_index("posts", "publish_at")
    create_index("posts", "series_id")
    create_index("posts", "status")

    op.create_table(
        "publish_attempts",
        integer("id"),
        integer("post_id"),
        *attempt(),
        string("external_id", 500, nullable=True),
        string("external_url", 2000, nullable=True),
        integer("duration_ms", nullable=True),
        references("post_id", "posts"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("publish_attempts", "post_id")

    _make_audit_append_only()


def downgrade() -> None:
    _drop_audit_triggers()
    # Each table's indexes are dropped with it.
    op.drop_table("publish_attempts")
    op.drop_table("posts")
    op.drop_table("series")
    op.drop_table("revisions")
    op.drop_table("comments")
    op.drop_table("pieces")
    op.drop_table("settings")
    op.drop_table("ideas")
    op.drop_table("audit_events")
    op.drop_table("users")
    op.drop_table("departments")
    op.drop_table("channels")


def _make_audit_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit events are append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
            )


def _drop_audit_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_change ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_events_no_{verb}")
