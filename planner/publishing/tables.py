"""The engine's tables as Core handles, and groups of rows sent as one JSON parameter."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    bindparam,
    func,
)

from planner.models import (
    AuditEvent,
    Channel,
    Piece,
    Post,
    PublishAttempt,
    Revision,
    Series,
    Setting,
    core_tables,
)

# Core handles: the engine's hot path skips the ORM's unit of work.
ATTEMPTS, POSTS, AUDIT, PIECES, REVISIONS, CHANNELS, SETTINGS, SERIES = core_tables(
    PublishAttempt, Post, AuditEvent, Piece, Revision, Channel, Setting, Series
)


def as_json(
    rows: list[dict[str, Any]], columns: dict[str, Any], dialect: str = "postgresql"
) -> dict[str, str]:
    """Rows as the one parameter of a `recordset` statement.

    Times go as the text the column stores: ISO 8601 with offset for PostgreSQL, naive
    UTC in SQLAlchemy's SQLite format (what UTCDateTime writes there), so that stored
    times still compare and sort as text.
    """

    def when(value: datetime) -> str:
        if dialect == "sqlite":
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value.isoformat()

    return {
        "rows": json.dumps(
            [{name: row[name] for name in columns} for row in rows],
            default=when,
            separators=(",", ":"),
        )
    }


def recordset(name: str, columns: dict[str, Any], dialect: str = "postgresql") -> Any:
    """The rows of a group, sent as one JSON parameter `rows`, as a table `name`.

    PostgreSQL: `json_to_recordset(:rows) AS name(column type, ...)`; SQLite: the fields
    of `json_each(:rows)`. The group is one statement with a fixed text (prepared once)
    and the rows are encoded by the json module in one call.
    """
    if dialect == "sqlite":
        each = func.json_each(bindparam("rows", type_=sa.Text())).table_valued("value")
        return (
            sa.select(*(func.json_extract(each.c.value, f"$.{c}").label(c) for c in columns))
            .select_from(each)
            .subquery(name)
        )
    return (
        func.json_to_recordset(sa.cast(bindparam("rows", type_=sa.Text()), sa.JSON()))
        .table_valued(*(sa.column(c, t) for c, t in columns.items()), name=name)
        .render_derived(with_types=True)
    )
