"""posts: the approved revision a post was sent with

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 10:15:00

- `posts.sent_revision`: written by the scheduler's claim (the approved revision whose
  text it sends), so the company's feed of published posts shows what went out even after
  the piece is edited and approved again. Posts published before this revision take it
  from the engine's audit event of their going out ("publish", "found", "arrived"), which
  records the revision sent; the rest stay empty and are read with the piece's approved
  revision, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import add_columns, drop_columns, integer

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    add_columns("posts", integer("sent_revision", nullable=True))
    conn = op.get_bind()
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer),
        sa.column("object_type", sa.String),
        sa.column("object_id", sa.String),
        sa.column("action", sa.String),
        sa.column("version", sa.Integer),
    )
    posts = sa.table("posts", sa.column("id", sa.Integer), sa.column("sent_revision", sa.Integer))
    # One pass in id order: the last such event of a post names what was sent (the audit
    # has no index on object_id, so a lookup per post would read it all each time).
    sent: dict[int, int] = {}
    found = conn.execute(
        sa.select(events.c.object_id, events.c.version)
        .where(
            events.c.object_type == "post",
            # The engine's own events of a post that went out: sent, found after a lost
            # lease, arrived after a late cancel; each carries the revision it sent.
            events.c.action.in_(("publish", "found", "arrived")),
            events.c.version.is_not(None),
        )
        .order_by(events.c.id)
    )
    for object_id, version in found:
        if str(object_id).isdigit():
            sent[int(object_id)] = int(version)
    update = (
        posts.update()
        .where(posts.c.id == sa.bindparam("b_id"))
        .values(sent_revision=sa.bindparam("b_revision"))
    )
    rows = [{"b_id": post_id, "b_revision": version} for post_id, version in sent.items()]
    for start in range(0, len(rows), _BATCH):
        conn.execute(update, rows[start : start + _BATCH])


def downgrade() -> None:
    drop_columns("posts", "sent_revision")
