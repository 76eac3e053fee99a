"""security: sign-in throttling, server-side sign-in sessions, a hash chain over the audit log

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:30:00

- `sign_in_throttle`: failed sign-ins counted per account and per client (keyed by a
  hash, never by the typed name), with the time until which the next try waits.
- `user_sessions`: a signed-in browser; only a hash of its random token is stored.
- `audit_events.prev_hash` / `audit_events.hash`: each event's SHA-256 chained to the
  previous one, so tampering shows even to someone who does not trust the database.
  Events stored before are chained in id order. Triggers also refuse what went around
  the UPDATE/DELETE triggers: SQLite REPLACE INTO (or any insert at an id that exists or
  lies before the newest event) and PostgreSQL TRUNCATE.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import planner.dbtypes
from planner.migrations.columns import (
    add_columns,
    create_index,
    drop_columns,
    integer,
    references,
    string,
    timestamp,
)

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # --- sign-in throttling -------------------------------------------------------------
    op.create_table(
        "sign_in_throttle",
        string("key", 100),
        integer("failures", server_default="0"),
        timestamp("last_failure_at", nullable=True),
        timestamp("blocked_until", nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )

    # --- sign-in sessions ---------------------------------------------------------------
    op.create_table(
        "user_sessions",
        integer("id"),
        string("token_hash", 64),
        integer("user_id"),
        timestamp("created_at"),
        timestamp("last_seen_at"),
        timestamp("expires_at"),
        timestamp("ended_at", nullable=True),
        string("end_reason", 32, nullable=True),
        string("client", 200, server_default=""),
        references("user_id", "users"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("user_sessions", "token_hash", unique=True)
    create_index("user_sessions", "user_id")

    # --- audit hash chain ---------------------------------------------------------------
    add_columns(
        "audit_events",
        string("prev_hash", 64, nullable=True),
        string("hash", 64, nullable=True),
    )
    _chain_stored_events()
    _refuse_rewrites()


def downgrade() -> None:
    _allow_rewrites()
    drop_columns("audit_events", "hash", "prev_hash")
    _restore_sqlite_append_only()
    op.drop_table("user_sessions")  # and its indexes
    op.drop_table("sign_in_throttle")


# --- audit: chain the stored events, refuse rewrites ---------------------------------------

_APPEND_ONLY = "SELECT RAISE(ABORT, 'audit events are append-only')"
# SQLite: REPLACE INTO deletes the old row without firing DELETE triggers, so an insert
# that reuses an id, or fills a gap before the newest event, is refused before it happens.
_SQLITE_NO_REPLACE = (
    "CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events "
    "WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id) "
    "OR (NEW.id > 0 AND NEW.id <= (SELECT max(id) FROM audit_events)) "
    f"BEGIN {_APPEND_ONLY}; END"
)
_SQLITE_NO_UPDATE = (
    f"CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events BEGIN {_APPEND_ONLY}; END"
)
_SQLITE_NO_DELETE = (
    f"CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events BEGIN {_APPEND_ONLY}; END"
)


def _chain_stored_events() -> None:
    """Give the events stored so far their hashes, chained in id order."""
    from planner.audit import CHAINED_FIELDS, event_hash

    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("at", planner.dbtypes.UTCDateTime()),
        *(sa.column(name, sa.Text()) for name in CHAINED_FIELDS if name not in ("id", "at")),
        sa.column("prev_hash", sa.Text()),
        sa.column("hash", sa.Text()),
    )
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    # The append-only trigger is lifted for this one backfill, inside the migration's
    # transaction (PostgreSQL) or until it is recreated below (SQLite).
    if postgres:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    prev: str | None = None
    rows = conn.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    for row in rows:
        digest = event_hash(row, prev)
        conn.execute(
            events.update().where(events.c.id == row["id"]).values(prev_hash=prev, hash=digest)
        )
        prev = digest
    if postgres:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change")
    else:
        op.execute(_SQLITE_NO_UPDATE)


def _refuse_rewrites() -> None:
    """The ways around the UPDATE/DELETE triggers: SQLite REPLACE, PostgreSQL TRUNCATE."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        op.execute(_SQLITE_NO_REPLACE)


def _allow_rewrites() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_replace")


def _restore_sqlite_append_only() -> None:
    """SQLite rebuilds the table to drop a column, which drops its triggers: recreate them."""
    if op.get_bind().dialect.name != "sqlite":
        return
    names = set(
        op.get_bind()
        .execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        .scalars()
    )
    if "audit_events_no_update" not in names:
        op.execute(_SQLITE_NO_UPDATE)
    if "audit_events_no_delete" not in names:
        op.execute(_SQLITE_NO_DELETE)
