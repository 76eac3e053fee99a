"""The test PostgreSQL database: made on first use, so a fresh server needs no manual step;
and scratch schemas in it for tests and benchmarks that start their own processes."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import psycopg
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from planner.db import make_engine


def ensure_database(url: str) -> bool:
    """Create the database that `url` names unless it exists; whether this call created it.

    Only when connecting to it fails is the server's maintenance database `postgres`
    asked, so a role that may not connect there still runs the tests on a database that
    exists. Creating it needs the CREATEDB right; parallel test processes may race here,
    and the one that comes second finds the database made.
    """
    target = make_url(url)
    name = target.database
    if not name:
        raise ValueError(f"{target.render_as_string(hide_password=True)!r} names no database")
    engine = create_engine(target)
    try:
        with engine.connect():
            return False
    except OperationalError as err:
        cannot_connect = err
    finally:
        engine.dispose()
    maintenance = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if found:
                raise cannot_connect  # it exists: connecting failed for another reason
            quoted = conn.dialect.identifier_preparer.quote(name)
            try:
                conn.execute(text(f"CREATE DATABASE {quoted}"))
            except ProgrammingError as err:
                if isinstance(err.orig, psycopg.errors.DuplicateDatabase):
                    return False
                raise
            return True
    finally:
        maintenance.dispose()


# The prefixes of the schemas tests and benchmarks make, and how old one may get before a
# new test run takes it for the leftover of a run that was killed before its clean-up.
SCRATCH_PREFIXES = ("planner_test", "planner_e2e", "planner_bench")
STALE_AFTER = timedelta(hours=6)
_SCRATCH = re.compile(rf"^(?:{'|'.join(SCRATCH_PREFIXES)})(?:_\w+?)?_t(\d{{10}})_[0-9a-f]{{8}}$")


def schema_name(prefix: str) -> str:
    """A new schema name `<prefix>_t<unix time>_<random>`: unique, and telling its age."""
    return f"{prefix}_t{int(time.time()):010d}_{uuid.uuid4().hex[:8]}"


def drop_stale_schemas(url: str, *, now: float | None = None) -> list[str]:
    """Drop the scratch schemas (`schema_name`) older than STALE_AFTER in the database at
    `url`: those of runs stopped by a signal or a timeout, which never reached their
    clean-up. Younger ones may belong to a run in progress and are kept. The names dropped."""
    limit = (time.time() if now is None else now) - STALE_AFTER.total_seconds()
    admin = make_engine(url)
    try:
        with admin.connect() as conn:
            names = conn.execute(text("SELECT nspname FROM pg_namespace")).scalars().all()
        stale = [
            name
            for name in names
            if (found := _SCRATCH.match(name)) is not None and int(found.group(1)) < limit
        ]
        for name in stale:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        return stale
    finally:
        admin.dispose()


@contextmanager
def scratch_schema(url: str, prefix: str) -> Iterator[str]:
    """A new, empty schema (`schema_name(prefix)`) in the database at `url`, as a URL whose
    search path is that schema (so processes started with it use it too); dropped with
    everything in it on leaving, whatever happened."""
    schema = schema_name(prefix)
    admin = make_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield (
                make_url(url)
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(hide_password=False)
            )
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


def named_engine(engine: Engine, name: str) -> Engine:
    """An engine on `engine`'s PostgreSQL database and schema whose connections carry
    `name`, so a test can end just them (`end_connections`); without a ping on checkout,
    so an ended connection fails when it is next used, as it does when the server
    restarts under a busy process."""
    with engine.connect() as conn:
        path = conn.execute(text("SHOW search_path")).scalar_one()
    return make_engine(
        engine.url.render_as_string(hide_password=False),
        pool_pre_ping=False,
        connect_args={"application_name": name, "options": f"-csearch_path={path}"},
    )


def end_connections(engine: Engine, name: str) -> list[bool]:
    """End the server's connections named `name` (as a restart would), through `engine`;
    one answer per connection."""
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": name},
            ).scalars()
        )
