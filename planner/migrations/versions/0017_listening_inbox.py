"""listening inbox: mentions, replies and followed feeds to react to

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 09:00:00

- `feeds`: followed RSS/Atom feeds, with the validators (ETag, Last-Modified) of their
  last answer, their last error and the end of a pause a 429 asked for.
- `listening_states`: per listening channel, how far its mentions were read, the last
  error and the end of a pause a 429 asked for.
- `response_targets`: per department, within how many hours it should answer.
- `inbox_items`: each mention, reply or feed entry, unique per source and external id,
  with who handled it, how (assigned, answered, made an idea of, dismissed) and when.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import (
    boolean,
    choice,
    create_index,
    integer,
    json,
    references,
    string,
    text,
    timestamp,
)

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        integer("id"),
        string("url", 2000),
        string("name", 120),
        integer("department_id", nullable=True),
        boolean("enabled"),
        timestamp("last_fetched_at", nullable=True),
        string("etag", 500, nullable=True),
        string("last_modified", 100, nullable=True),
        text("last_error", nullable=True),
        timestamp("paused_until", nullable=True),
        integer("created_by_id"),
        timestamp("created_at"),
        references("created_by_id", "users"),
        references("department_id", "departments"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("url"),
    )
    op.create_table(
        "listening_states",
        integer("channel_id"),
        string("cursor", 500, nullable=True),
        timestamp("last_fetched_at", nullable=True),
        text("last_error", nullable=True),
        timestamp("paused_until", nullable=True),
        references("channel_id", "channels"),
        sa.PrimaryKeyConstraint("channel_id"),
    )
    op.create_table(
        "response_targets",
        integer("department_id"),
        integer("hours"),
        references("department_id", "departments"),
        sa.PrimaryKeyConstraint("department_id"),
    )
    op.create_table(
        "inbox_items",
        integer("id"),
        choice("source", "inboxsource", "mention", "reply", "feed_item"),
        string("source_key", 40),
        integer("channel_id", nullable=True),
        integer("feed_id", nullable=True),
        string("external_id", 500),
        string("author_name", 200),
        string("author_handle", 200),
        string("author_url", 2000, nullable=True),
        string("title", 500),
        text("text"),
        string("url", 2000, nullable=True),
        timestamp("received_at"),
        timestamp("published_at", nullable=True),
        json("context"),
        integer("in_reply_to_post_id", nullable=True),
        choice("status", "inboxstatus", "new", "assigned", "answered", "converted", "dismissed"),
        integer("department_id", nullable=True),
        timestamp("assigned_at", nullable=True),
        integer("handled_by_id", nullable=True),
        timestamp("handled_at", nullable=True),
        integer("idea_id", nullable=True),
        text("dismiss_reason", nullable=True),
        text("reply_text", nullable=True),
        integer("reply_by_id", nullable=True),
        timestamp("reply_requested_at", nullable=True),
        string("reply_external_id", 500, nullable=True),
        string("reply_url", 2000, nullable=True),
        references("channel_id", "channels"),
        references("department_id", "departments"),
        references("feed_id", "feeds"),
        references("handled_by_id", "users"),
        references("idea_id", "ideas"),
        references("in_reply_to_post_id", "posts"),
        references("reply_by_id", "users"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_key", "external_id"),
    )
    create_index("inbox_items", "department_id")
    create_index("inbox_items", "status")


def downgrade() -> None:
    # Each table's indexes are dropped with it.
    op.drop_table("inbox_items")
    op.drop_table("response_targets")
    op.drop_table("listening_states")
    op.drop_table("feeds")
