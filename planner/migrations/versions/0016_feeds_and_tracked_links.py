"""calendar feeds and tracked links

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 00:00:00

- `calendar_feeds`: a user's subscribable iCalendar feed: the SHA-256 of its secret token,
  its name and filters, when it was last fetched and when (and by whom) it was revoked.
- `tracked_links`: a short redirect code standing for one link in one post's text, with
  the SHA-256 of the link (one code per link and post) and its click count.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import (
    create_index,
    integer,
    json,
    references,
    string,
    text,
    timestamp,
)

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        integer("id"),
        string("token_hash", 64),
        integer("user_id"),
        string("name", 80),
        json("filters"),
        timestamp("created_at"),
        timestamp("last_fetched_at", nullable=True),
        timestamp("revoked_at", nullable=True),
        integer("revoked_by_id", nullable=True),
        references("user_id", "users"),
        references("revoked_by_id", "users"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("calendar_feeds", "token_hash", unique=True)
    create_index("calendar_feeds", "user_id")
    op.create_table(
        "tracked_links",
        integer("id"),
        string("code", 32),
        integer("post_id"),
        text("url"),
        string("url_hash", 64),
        integer("clicks", server_default="0"),
        timestamp("created_at"),
        timestamp("last_click_at", nullable=True),
        references("post_id", "posts"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("post_id", "url_hash"),
    )
    create_index("tracked_links", "code", unique=True)
    create_index("tracked_links", "post_id")


def downgrade() -> None:
    # The tables' indexes are dropped with them.
    op.drop_table("tracked_links")
    op.drop_table("calendar_feeds")
