"""latest metrics: each post's newest snapshot, kept by triggers

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 18:10:00

- `latest_metrics`: one row per post that has a metric snapshot, holding the figures of
  its newest one (latest `collected_at`, then highest id), filled from the snapshots
  stored so far. Analytics as of now read it instead of searching each post's snapshots.
- Triggers on `metric_snapshots` keep it whoever writes a snapshot: an insert replaces a
  post's row only when the new snapshot is newer (snapshots may arrive out of order); an
  update or delete recomputes the posts it touched; on PostgreSQL a TRUNCATE empties it.
  SQLite drops a table's triggers when a migration rebuilds it: a later migration that
  alters `metric_snapshots` with batch operations must create them again.
- `posts`: an index on (status, publish_at, id, channel_id, piece_id), from which analytics
  reads a period's published posts without a lookup of each post's row.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import (
    create_index,
    drop_index,
    integer,
    references,
    timestamp,
)

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = ("impressions", "reactions", "reposts", "replies", "link_clicks")
_POSTS_COVERED = ("status", "publish_at", "id", "channel_id", "piece_id")
_COLUMNS = ", ".join(("post_id", "snapshot_id", "collected_at", *_COUNTS))
# A snapshot's values in the order of `_COLUMNS`, from a row of metric_snapshots.
_VALUES = ", ".join(("post_id", "id", "collected_at", *_COUNTS))
_SET = ", ".join(f"{name} = excluded.{name}" for name in _COLUMNS.split(", ")[1:])
# The incoming snapshot (`excluded`) is newer than the kept one.
_NEWER = (
    "excluded.collected_at > latest_metrics.collected_at OR "
    "(excluded.collected_at = latest_metrics.collected_at "
    "AND excluded.snapshot_id > latest_metrics.snapshot_id)"
)
_BACKFILL = (
    f"INSERT INTO latest_metrics ({_COLUMNS}) SELECT {_COLUMNS} FROM ("
    f"SELECT {_VALUES.replace(', id,', ', id AS snapshot_id,')}, row_number() OVER ("
    "PARTITION BY post_id ORDER BY collected_at DESC, id DESC) AS newest "
    "FROM metric_snapshots) AS ranked WHERE newest = 1"
)


def _recompute(post: str) -> str:
    """SQL that makes the row of the post `post` (an expression) that of its newest
    snapshot, or removes it when the post has none left."""
    return (
        f"DELETE FROM latest_metrics WHERE post_id = {post}; "
        f"INSERT INTO latest_metrics ({_COLUMNS}) SELECT {_VALUES} FROM metric_snapshots "
        f"WHERE post_id = {post} ORDER BY collected_at DESC, id DESC LIMIT 1;"
    )


_SQLITE_TRIGGERS = (
    # The VALUES form: SQLite parses an upsert after a SELECT only with a WHERE clause.
    "CREATE TRIGGER latest_metrics_on_insert AFTER INSERT ON metric_snapshots BEGIN "
    f"INSERT INTO latest_metrics ({_COLUMNS}) VALUES ("
    + ", ".join(f"NEW.{name}" for name in _VALUES.split(", "))
    + f") ON CONFLICT (post_id) DO UPDATE SET {_SET} WHERE {_NEWER}; END",
    "CREATE TRIGGER latest_metrics_on_update AFTER UPDATE ON metric_snapshots BEGIN "
    f"{_recompute('OLD.post_id')} {_recompute('NEW.post_id')} END",
    "CREATE TRIGGER latest_metrics_on_delete AFTER DELETE ON metric_snapshots BEGIN "
    f"{_recompute('OLD.post_id')} END",
)
_SQLITE_TRIGGER_NAMES = (
    "latest_metrics_on_insert",
    "latest_metrics_on_update",
    "latest_metrics_on_delete",
)

# PostgreSQL: one statement-level trigger per insert (a bulk insert of many snapshots
# merges them in one pass over its new rows), a row trigger for the rare update or delete.
_POSTGRES_FUNCTIONS = (
    f"""
    CREATE OR REPLACE FUNCTION latest_metrics_add() RETURNS trigger AS $$
    BEGIN
        INSERT INTO latest_metrics ({_COLUMNS})
        SELECT DISTINCT ON (post_id) {_VALUES} FROM new_snapshots
        ORDER BY post_id, collected_at DESC, id DESC
        ON CONFLICT (post_id) DO UPDATE SET {_SET} WHERE {_NEWER};
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    f"""
    CREATE OR REPLACE FUNCTION latest_metrics_redo() RETURNS trigger AS $$
    DECLARE
        touched integer[] := ARRAY[OLD.post_id];
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            touched := touched || NEW.post_id;
        END IF;
        DELETE FROM latest_metrics WHERE post_id = ANY(touched);
        INSERT INTO latest_metrics ({_COLUMNS})
        SELECT DISTINCT ON (post_id) {_VALUES} FROM metric_snapshots
        WHERE post_id = ANY(touched)
        ORDER BY post_id, collected_at DESC, id DESC;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE OR REPLACE FUNCTION latest_metrics_clear() RETURNS trigger AS $$
    BEGIN
        DELETE FROM latest_metrics;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
)
_POSTGRES_TRIGGERS = (
    "CREATE TRIGGER latest_metrics_on_insert AFTER INSERT ON metric_snapshots "
    "REFERENCING NEW TABLE AS new_snapshots FOR EACH STATEMENT "
    "EXECUTE FUNCTION latest_metrics_add()",
    "CREATE TRIGGER latest_metrics_on_change AFTER UPDATE OR DELETE ON metric_snapshots "
    "FOR EACH ROW EXECUTE FUNCTION latest_metrics_redo()",
    "CREATE TRIGGER latest_metrics_on_truncate AFTER TRUNCATE ON metric_snapshots "
    "FOR EACH STATEMENT EXECUTE FUNCTION latest_metrics_clear()",
)
_POSTGRES_TRIGGER_NAMES = (
    "latest_metrics_on_insert",
    "latest_metrics_on_change",
    "latest_metrics_on_truncate",
)
_POSTGRES_FUNCTION_NAMES = ("latest_metrics_add", "latest_metrics_redo", "latest_metrics_clear")


def upgrade() -> None:
    op.create_table(
        "latest_metrics",
        integer("post_id"),
        integer("snapshot_id"),
        timestamp("collected_at"),
        *(integer(name, nullable=True) for name in _COUNTS),
        references("post_id", "posts"),
        sa.PrimaryKeyConstraint("post_id"),
    )
    create_index("latest_metrics", "collected_at")
    create_index("posts", *_POSTS_COVERED)
    op.execute(_BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        for statement in (*_POSTGRES_FUNCTIONS, *_POSTGRES_TRIGGERS):
            op.execute(statement)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in _POSTGRES_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON metric_snapshots")
        for name in _POSTGRES_FUNCTION_NAMES:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in _SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    # The table's index is dropped with it.
    op.drop_table("latest_metrics")
    drop_index("posts", *_POSTS_COVERED)
