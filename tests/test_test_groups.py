"""The test run's own arrangement: the browser tests share one pytest-xdist group."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.conftest import swap_in_copy


def test_the_browser_tests_run_in_one_worker_one_after_another(
    request: pytest.FixtureRequest,
) -> None:
    if not request.config.getoption("loadgroup", False):
        pytest.skip("only `--dist loadgroup` (the test command's) groups tests")
    browser = [item for item in request.session.items if item.get_closest_marker("e2e")]
    if not browser:
        pytest.skip("no browser test was collected beside this one")
    # pytest-xdist names a test's group in its id; tests of one group go to one worker.
    ungrouped = [item.nodeid for item in browser if not item.nodeid.endswith("@browser")]
    assert not ungrouped, ungrouped


def test_a_connection_left_open_on_an_earlier_database_cannot_touch_the_next(
    tmp_path: Path, sqlite_template: Path
) -> None:
    # Each test's SQLite database sits behind one path (`swap_in_copy`). A connection a test
    # left open deletes its write-ahead log by name when it closes at last: had the next
    # database that name too, its committed rows still in the log would be lost.
    link = tmp_path / "planner.db"
    swap_in_copy(sqlite_template, link)
    stray = sqlite3.connect(link)
    assert stray.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    stray.execute("CREATE TABLE left_open (x)")
    stray.commit()
    swap_in_copy(sqlite_template, link)
    written = sqlite3.connect(link)
    written.execute("PRAGMA journal_mode=WAL")
    written.execute("CREATE TABLE kept (x)")
    written.execute("INSERT INTO kept VALUES (1)")
    written.commit()  # in the log until a checkpoint

    stray.close()

    reader = sqlite3.connect(link)
    try:
        assert reader.execute("SELECT x FROM kept").fetchall() == [(1,)]
        assert not reader.execute("SELECT 1 FROM sqlite_master WHERE name = 'left_open'").fetchall()
    finally:
        reader.close()
        written.close()
