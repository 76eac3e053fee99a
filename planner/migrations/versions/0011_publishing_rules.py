"""publishing rules: the organisation's rules and approvers' overrides of them

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 00:00:00

- `publishing_rules`: one rule each (kind, severity, scope, settings, message in German
  and English), checked in the editor, at review, approval, planning and claim.
- `rule_overrides`: an approver's written justification that a blocking rule does not
  stop one revision of a piece (on one channel, or on all).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import (
    boolean,
    create_index,
    integer,
    json,
    references,
    string,
    text,
    timestamp,
)

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "publishing_rules",
        integer("id"),
        string("name", 80),
        string("kind", 32),
        string("severity", 8),
        json("scope"),
        json("settings"),
        text("message_de"),
        text("message_en"),
        boolean("enabled"),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "rule_overrides",
        integer("id"),
        integer("piece_id"),
        integer("revision"),
        integer("rule_id"),
        integer("channel_id", nullable=True),
        text("justification"),
        integer("approver_id"),
        timestamp("created_at"),
        references("approver_id", "users"),
        references("channel_id", "channels"),
        references("piece_id", "pieces"),
        references("rule_id", "publishing_rules"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("rule_overrides", "piece_id")
    create_index("rule_overrides", "rule_id")


def downgrade() -> None:
    op.drop_table("rule_overrides")
    op.drop_table("publishing_rules")
