"""Scratch databases for the benchmarks: a SQLite file in a temporary folder, or a schema
of its own on a PostgreSQL server, removed afterwards whatever happens."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from planner.db import make_engine  # noqa: E402
from planner.migrate import upgrade  # noqa: E402
from tests.postgres_database import scratch_schema  # noqa: E402


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
    with scratch_schema(pg_url, f"planner_bench_{name}") as url:
        if migrate:
            _migrate(url)
        yield url


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
