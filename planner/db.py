"""Engines and sessions: WAL, foreign keys and a busy timeout on SQLite; no engine at import.

Also the narrowing of queries by optional filters (None: any), which many lists share.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, Self, TypeVar

from sqlalchemy import ColumnElement, Engine, event
from sqlalchemy import exc as sa_exc
from sqlmodel import Session, col, create_engine

from planner.config import load_settings
from planner.errors import Message, ValidationFailed

# Errors that mean the database is away (restart, failover, network), not a bug: who
# meets one keeps what it has and tries again later.
DATABASE_DOWN = (sa_exc.OperationalError, sa_exc.InterfaceError)

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url`, with the SQLite pragmas the planner relies on."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 10})
    else:
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (default: PLANNER_DATABASE_URL), made on first use."""
    url = url or load_settings().database_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = _engines[url] = make_engine(url)
        return engine


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One session for one unit of work; objects stay readable after commit."""
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        yield session


@contextmanager
def all_or_nothing(session: Session) -> Iterator[None]:
    """Commit what the block stores, or roll all of it back when the block (or the commit) fails."""
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


class Narrowable(Protocol):
    """A query that `where` narrows (a select of rows, columns or scalars)."""

    def where(self, *clauses: Any) -> Self:
        """The query with `clauses` added to its WHERE."""
        ...


Q = TypeVar("Q", bound=Narrowable)


class Pageable(Protocol):
    """A query that `offset` and `limit` cut to a page."""

    def offset(self, offset: int) -> Self:
        """The query from row `offset` on."""
        ...

    def limit(self, limit: int) -> Self:
        """The query's first `limit` rows."""
        ...


P = TypeVar("P", bound=Pageable)


def where_equal(query: Q, *pairs: tuple[Any, object]) -> Q:
    """`query` narrowed to the rows whose column equals the value, for each (column, value)
    of `pairs` whose value is not None (a None value leaves the column free)."""
    for column, value in pairs:
        if value is not None:
            query = query.where(column == value)
    return query


def within_period(
    column: Any, since: object | None, until: object | None
) -> list[ColumnElement[bool]]:
    """The conditions that `column` lies in [since, until): one per bound given (None: open)."""
    conditions = []
    if since is not None:
        conditions.append(col(column) >= since)
    if until is not None:
        conditions.append(col(column) < until)
    return conditions


def where_within(query: Q, column: Any, since: object | None, until: object | None) -> Q:
    """`query` narrowed to the rows whose `column` lies in [since, until) (None: open)."""
    for condition in within_period(column, since, until):
        query = query.where(condition)
    return query


def check_page(limit: int | None, offset: int) -> None:
    """ValidationFailed unless `limit` (None: all) is at least 1 and `offset` at least 0:
    SQLite would take a negative limit as "no limit", PostgreSQL refuses it with an error."""
    if limit is not None and limit < 1:
        raise ValidationFailed(
            {
                "limit": Message(
                    "bad_limit", "give at least 1 row per page, not {value}", value=limit
                )
            }
        )
    if offset < 0:
        raise ValidationFailed(
            {
                "offset": Message(
                    "bad_offset", "a page cannot start before row 0 ({value})", value=offset
                )
            }
        )


def paged(query: P, limit: int | None, offset: int) -> P:
    """`query` from row `offset` on, at most `limit` rows (None: all), both checked."""
    check_page(limit, offset)
    query = query.offset(offset) if offset else query
    return query if limit is None else query.limit(limit)
