"""channels: proven deduplication and a rate-limit pause per channel

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 11:00:00

Whether a channel drops repeated requests is a property of the channel's server, not of
its adapter kind: `deduplicates` and the reason it holds (`deduplication_basis`). A 429
pauses the whole channel for every worker: `paused_until` and `pause_reason`.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.migrations.columns import add_columns, boolean, drop_columns, string, text, timestamp

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_columns(
        "channels",
        boolean("deduplicates", server_default="0"),
        string("deduplication_basis", 200, server_default=""),
        timestamp("paused_until", nullable=True),
        text("pause_reason", nullable=True),
    )


def downgrade() -> None:
    drop_columns("channels", "pause_reason", "paused_until", "deduplication_basis", "deduplicates")
