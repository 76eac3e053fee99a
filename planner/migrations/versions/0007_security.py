"""security: sign-in throttling, server-side sign-in sessions, a hash chain over the audit log

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:30:00

- `sign_in_throttle`: failed sign-ins counted per account and per client (keyed by a
  hash, never by the typed name), with the time until which the next try waits.
- `user_sessions`: a signed-in browser; only a hash of its random token is stored.
- `audit_events.prev_hash` / `audit_events.hash`: each event's SHA-256 chained to the
  previous one, so tampering shows even to someone who does not trust the database.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import planner.dbtypes

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # --- sign-in throttling -------------------------------------------------------------
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_failure_at", planner.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", planner.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )

    # --- sign-in sessions ---------------------------------------------------------------
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", planner.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", planner.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", planner.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", planner.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column(
            "client",
            sqlmodel.sql.sqltypes.AutoString(length=200),
            server_default="",
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_user_sessions_token_hash", "user_sessions", ["token_hash"], unique=True)
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])

    # --- audit hash chain ---------------------------------------------------------------
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
    op.drop_index("ix_user_sessions_user_id", table_name="user_sessions")
    op.drop_index("ix_user_sessions_token_hash", table_name="user_sessions")
    op.drop_table("user_sessions")
    op.drop_table("sign_in_throttle")
