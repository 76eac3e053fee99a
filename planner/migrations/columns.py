"""Column, key and index builders the migrations share: one spelling of each column type.

Migrations are history: a builder may gain an option, but what an existing call builds
must never change, or an applied migration would describe a schema other than the one it
made. The types are spelled out here rather than taken from the models for that reason.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import planner.dbtypes

_Column = sa.Column[Any]


def integer(name: str, *, nullable: bool = False, server_default: str | None = None) -> _Column:
    """An integer column (NOT NULL unless said otherwise)."""
    return sa.Column(name, sa.Integer(), server_default=server_default, nullable=nullable)


def boolean(name: str, *, nullable: bool = False, server_default: str | None = None) -> _Column:
    """A boolean column (NOT NULL unless said otherwise)."""
    return sa.Column(name, sa.Boolean(), server_default=server_default, nullable=nullable)


def string(
    name: str, length: int, *, nullable: bool = False, server_default: str | None = None
) -> _Column:
    """A VARCHAR column of at most `length` characters (NOT NULL unless said otherwise)."""
    return sa.Column(
        name,
        sqlmodel.sql.sqltypes.AutoString(length=length),
        server_default=server_default,
        nullable=nullable,
    )


def text(name: str, *, nullable: bool = False) -> _Column:
    """A TEXT column of any length (NOT NULL unless said otherwise)."""
    return sa.Column(name, sa.Text(), nullable=nullable)


def timestamp(name: str, *, nullable: bool = False) -> _Column:
    """A moment stored as UTC (NOT NULL unless said otherwise)."""
    return sa.Column(name, planner.dbtypes.UTCDateTime(timezone=True), nullable=nullable)


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON, stored as JSONB on PostgreSQL."""
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def json(name: str, *, nullable: bool = False) -> _Column:
    """A JSON column (NOT NULL unless said otherwise)."""
    return sa.Column(name, json_type(), nullable=nullable)


def versioned() -> tuple[_Column, ...]:
    """The columns of a record that is edited: when made, when last changed, its version."""
    return (
        timestamp("created_at"),
        timestamp("updated_at"),
        integer("version", server_default="1"),
    )


def attempt() -> tuple[_Column, ...]:
    """The columns of a ledger row for one request to a network: the worker that made it,
    when it started and finished, its outcome, the HTTP status and the error."""
    return (
        string("worker", 120),
        timestamp("started_at"),
        timestamp("finished_at", nullable=True),
        string("outcome", 24, nullable=True),
        integer("http_status", nullable=True),
        text("error", nullable=True),
    )


def choice(name: str, type_name: str, *values: str) -> _Column:
    """A NOT NULL column holding one of `values`, as plain strings (no native ENUM type)."""
    return sa.Column(
        name,
        sa.Enum(*values, name=type_name, native_enum=False, length=24),
        nullable=False,
    )


def references(column: str, table: str) -> sa.ForeignKeyConstraint:
    """`column` refers to the `id` of a row in `table`."""
    return sa.ForeignKeyConstraint([column], [f"{table}.id"])


def add_columns(table: str, *columns: _Column) -> None:
    """Add `columns` to `table`, in that order."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.add_column(column)


def drop_columns(table: str, *names: str) -> None:
    """Drop the columns `names` from `table` (SQLite rebuilds the table once for all)."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name in names:
            batch_op.drop_column(name)


def index_name(table: str, *columns: str) -> str:
    """The name of the index on `columns` of `table`: ix_<table>_<column>_<column>..."""
    return "_".join(("ix", table, *columns))


def create_index(table: str, *columns: str, unique: bool = False) -> None:
    """Index `columns` of `table` (in that order) under the name `index_name` gives."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(index_name(table, *columns)), list(columns), unique=unique)


def drop_index(table: str, *columns: str) -> None:
    """Drop the index `create_index` made on `columns` of `table`."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_index(batch_op.f(index_name(table, *columns)))
