"""media library: uploaded images and documents, their alt text, and the media of a revision

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 00:00:00

- `media_files`: an uploaded file's checked bytes (images re-encoded without metadata),
  its type, size and pixel size; never changed once stored.
- `pieces.media` and `revisions.media`: the files of the current revision and of every
  saved one, in order, each with its alt text, so an approval holds for exactly those.
  Existing pieces and revisions get none (the columns' default).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from planner.migrations.columns import (
    add_columns,
    create_index,
    integer,
    json_type,
    references,
    string,
    timestamp,
)

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_files",
        integer("id"),
        integer("piece_id"),
        string("filename", 200),
        string("mime_type", 64),
        integer("size"),
        integer("width"),
        integer("height"),
        string("sha256", 64),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        integer("uploaded_by_id"),
        timestamp("created_at"),
        references("piece_id", "pieces"),
        references("uploaded_by_id", "users"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_index("media_files", "piece_id")
    # With a default of no files, so existing rows get none and SQLite adds the column in
    # place (rebuilding `pieces`, which other tables refer to, would not be allowed).
    for table in ("pieces", "revisions"):
        add_columns(table, sa.Column("media", json_type(), server_default="[]", nullable=False))


def downgrade() -> None:
    # Dropped in place (SQLite 3.35+): rebuilding `pieces` would break the references to it.
    op.drop_column("revisions", "media")
    op.drop_column("pieces", "media")
    op.drop_table("media_files")  # its index is dropped with it
