"""The test PostgreSQL database named in PLANNER_TEST_POSTGRES_URL is made when missing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL
from tests.postgres_database import ensure_database


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
