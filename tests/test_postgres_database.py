"""The test PostgreSQL database named in PLANNER_TEST_POSTGRES_URL is made when missing, and
the scratch schemas of killed runs are dropped by the next run."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL
from tests.postgres_database import drop_stale_schemas, ensure_database, schema_name


@pytest.fixture(scope="session")
def background_drops() -> Iterator[list[threading.Thread]]:
    """The databases being dropped in the background, waited for when the session ends.

    DROP DATABASE makes the server take a checkpoint first; while the other tests keep it
    busy that can take a minute and more, which this test process need not sit out."""
    drops: list[threading.Thread] = []
    yield drops
    for drop in drops:
        drop.join()


@pytest.fixture
def missing_database_url(background_drops: list[threading.Thread]) -> Iterator[str]:
    """The test server's URL with a database name nobody has used; dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("PLANNER_TEST_POSTGRES_URL is not set")
    name = f"planner_created_{uuid.uuid4().hex[:10]}"
    url = make_url(POSTGRES_URL)
    yield url.set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        maintenance = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with maintenance.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        maintenance.dispose()

    background_drops.append(threading.Thread(target=drop, name=f"drop {name}"))
    background_drops[-1].start()


def test_a_missing_test_database_is_created_once(missing_database_url: str) -> None:
    assert ensure_database(missing_database_url) is True
    assert ensure_database(missing_database_url) is False

    engine = create_engine(missing_database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_database()")).scalar_one() == (
            make_url(missing_database_url).database
        )
    engine.dispose()


def test_an_existing_test_database_is_left_as_it_is() -> None:
    if not POSTGRES_URL:
        pytest.skip("PLANNER_TEST_POSTGRES_URL is not set")
    assert ensure_database(POSTGRES_URL) is False


def test_a_url_without_a_database_name_is_refused() -> None:
    with pytest.raises(ValueError, match="names no database"):
        ensure_database("postgresql+psycopg://postgres@127.0.0.1:5432")


def test_a_new_run_drops_the_scratch_schemas_a_killed_run_left_and_keeps_the_rest() -> None:
    if not POSTGRES_URL:
        pytest.skip("PLANNER_TEST_POSTGRES_URL is not set")
    now = time.time()
    hours_ago = [7, 1]  # older than STALE_AFTER (6 h), and one a run in progress may own
    names = [
        f"planner_e2e_t{int(now - hours * 3600):010d}_{uuid.uuid4().hex[:8]}" for hours in hours_ago
    ]
    other = f"someone_else_t{int(now - 7 * 3600):010d}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL)
    try:
        for name in [*names, other]:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{name}"'))
                conn.execute(text(f'CREATE TABLE "{name}".t (id int)'))
        dropped = drop_stale_schemas(POSTGRES_URL, now=now)
        with admin.connect() as conn:
            left = set(conn.execute(text("SELECT nspname FROM pg_namespace")).scalars())
        assert names[0] in dropped and names[0] not in left
        assert names[1] not in dropped and names[1] in left
        assert other not in dropped and other in left
    finally:
        for name in [*names, other]:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


def test_scratch_schema_names_tell_their_age() -> None:
    before = int(time.time())
    name = schema_name("planner_bench_sqlite")
    prefix, stamp, random = name.rsplit("_", 2)
    assert prefix == "planner_bench_sqlite" and len(random) == 8
    assert before <= int(stamp.removeprefix("t")) <= time.time()
