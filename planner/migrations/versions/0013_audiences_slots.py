"""audiences (Zielgruppen) and weekly publishing slots per channel

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 00:00:00

- `audiences`: a target audience by name, with a description.
- `audience_channels`, `audience_departments`: the channels that reach an audience and the
  departments that serve it.
- `ideas.audience_id`, `pieces.audience_id`: the audience an idea or piece is for.
- `publishing_slots`: a channel's weekly slot plan, one row per weekday and wall-clock
  minute (in the organisation's time zone).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import (
    create_index,
    drop_columns,
    drop_index,
    integer,
    references,
    string,
    text,
    timestamp,
)

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LINKED = ("ideas", "pieces")


def upgrade() -> None:
    op.create_table(
        "audiences",
        integer("id"),
        string("name", 80),
        text("description"),
        timestamp("created_at"),
        timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "audience_channels",
        integer("audience_id"),
        integer("channel_id"),
        references("audience_id", "audiences"),
        references("channel_id", "channels"),
        sa.PrimaryKeyConstraint("audience_id", "channel_id"),
    )
    op.create_table(
        "audience_departments",
        integer("audience_id"),
        integer("department_id"),
        references("audience_id", "audiences"),
        references("department_id", "departments"),
        sa.PrimaryKeyConstraint("audience_id", "department_id"),
    )
    op.create_table(
        "publishing_slots",
        integer("channel_id"),
        integer("weekday"),
        integer("minute"),
        references("channel_id", "channels"),
        sa.PrimaryKeyConstraint("channel_id", "weekday", "minute"),
    )
    for table in _LINKED:
        _add_audience_reference(table)
        create_index(table, "audience_id")


def _add_audience_reference(table: str) -> None:
    """Add `table.audience_id`, referring to an audience, without rebuilding the table.

    SQLite adds a column with its reference in place (a rebuild would drop `ideas` and
    `pieces`, which other tables' foreign keys refer to); PostgreSQL adds the constraint.
    """
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} ADD COLUMN audience_id INTEGER REFERENCES audiences (id)")
        return
    op.add_column(table, integer("audience_id", nullable=True))
    op.create_foreign_key(f"fk_{table}_audience_id", table, "audiences", ["audience_id"], ["id"])


def downgrade() -> None:
    for table in _LINKED:
        drop_index(table, "audience_id")
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(f"fk_{table}_audience_id", table, type_="foreignkey")
        # SQLite rebuilds the table to drop the column and its reference.
        drop_columns(table, "audience_id")
    op.drop_table("publishing_slots")
    op.drop_table("audience_departments")
    op.drop_table("audience_channels")
    op.drop_table("audiences")
