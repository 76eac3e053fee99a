"""recorded findings: what the publishing rules found at submission and approval

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 00:30:00

- `recorded_findings`: each rule's finding on one channel of one revision of a piece, as
  the check found it when the piece was submitted for review or approved, or when that
  step was refused; the process report counts them per rule, severity and step.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import (
    boolean,
    create_index,
    integer,
    references,
    string,
    timestamp,
)

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recorded_findings",
        integer("id"),
        timestamp("at"),
        string("step", 24),
        boolean("stopped"),
        integer("piece_id"),
        integer("revision"),
        integer("channel_id"),
        integer("rule_id", nullable=True),
        string("rule", 200),
        string("severity", 8),
        boolean("overridden"),
        integer("actor_id"),
        references("actor_id", "users"),
        references("channel_id", "channels"),
        references("piece_id", "pieces"),
        references("rule_id", "publishing_rules"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("recorded_findings", "at")
    create_index("recorded_findings", "piece_id")


def downgrade() -> None:
    op.drop_table("recorded_findings")
