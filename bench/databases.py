"""Scratch databases for the benchmarks: a SQLite file in a temporary folder, or a schema
of its own on a PostgreSQL server, removed afterwards whatever happens."""

from __future__ import annotations

import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import make_url, text  # noqa: E402

from planner.db import make_engine  # noqa: E402
from planner.migrate import upgrade  # noqa: E402


@contextmanager
def scratch_database(pg_url: str | None, *, name: str, migrate: bool = False) -> Iterator[str]:
    """The URL of an empty database, dropped on leaving: on the PostgreSQL server at
    `pg_url` (a schema `planner_bench_<name>_<random>` as the search path), or a SQLite
    file when `pg_url` is None; with `migrate`, the planner's tables are made first."""
    if pg_url is None:
        folder = Path(tempfile.mkdtemp(prefix=f"planner-bench-{name}-"))
        try:
            url = f"sqlite:///{folder / 'planner.db'}"
            if migrate:
                _migrate(url)
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    schema = f"planner_bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = (
        make_url(pg_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    try:
        if migrate:
            _migrate(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
