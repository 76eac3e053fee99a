"""The command line on a database it cannot use: a file that is not one, a database the
planner does not run on. Said in a line, never as a traceback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from planner import cli


def _run(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    code = cli.main(list(argv), stderr=err)
    return code, err.getvalue()


@pytest.mark.parametrize("argv", [("users", "list", "--as", "admin"), ("migrate",)])
def test_a_file_that_is_not_a_database_is_said_in_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...]
) -> None:
    notes = tmp_path / "planner.db"
    notes.write_text("Einkaufsliste: Milch, Brot\n", encoding="utf-8")
    monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{notes}")
    code, err = _run(*argv)
    assert (code, err) == (
        1,
        f"error: the database sqlite:///{notes} could not be used: file is not a database\n",
    )
    assert notes.read_text(encoding="utf-8") == "Einkaufsliste: Milch, Brot\n"


def test_a_database_the_planner_does_not_run_on_is_refused_by_its_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PLANNER_DATABASE_URL", "mysql://planner:hunter2-xyz@db/planner")
    code, err = _run("users", "list", "--as", "admin")
    assert code == 1
    assert err.startswith("error: PLANNER_DATABASE_URL must be an SQLAlchemy URL")
    assert err.rstrip().endswith("(the planner runs on SQLite or PostgreSQL, not mysql)")
    assert "hunter2" not in err
