"""posts: the engine's explanation of `last_error`, to be said in the reader's language

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 15:50:00

- `posts.last_error_reason`: when the engine itself explains `last_error` (a missed post, a
  worker that stopped, a request that may have gone out, tries given up), that
  explanation as `errors.message_data` JSON text; `last_error` keeps the English text.
  Rows written before stay without one and show their text as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.migrations.columns import add_columns, drop_columns, text

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_columns("posts", text("last_error_reason", nullable=True))


def downgrade() -> None:
    drop_columns("posts", "last_error_reason")
