"""`backup FILE` and `restore FILE` on the command line: who may, what they say, what --force
does."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from planner import cli, ideas
from planner.db import make_engine
from planner.models import Idea
from tests.conftest import World
from tests.planner import test_backup
from tests.test_cli_writes import _changed, _fingerprint

Run = Callable[[list[str]], tuple[int, str]]
blank = test_backup.blank  # the fixture: empty databases of `engine`'s kind


@pytest.fixture
def target(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[Engine]:
    """The database the commands work on (`engine` unless a test points it elsewhere)."""
    current = [engine]
    monkeypatch.setattr("planner.cli.common.engine", lambda: current[0])
    monkeypatch.delenv("PLANNER_USER", raising=False)
    monkeypatch.delenv("PLANNER_MIGRATION_DATABASE_URL", raising=False)
    return current


@pytest.fixture
def run(target: list[Engine], capsys: pytest.CaptureFixture[str]) -> Run:
    """Run a command in-process; returns (exit code, stdout + stderr)."""

    def call(argv: list[str]) -> tuple[int, str]:
        err = io.StringIO()
        code = cli.main(argv, stderr=err)
        return code, capsys.readouterr().out + err.getvalue()

    return call


def _titles(engine: Engine) -> set[str]:
    with Session(engine) as s:
        return {idea.title for idea in s.exec(select(Idea))}


def test_restore_with_force_brings_back_the_backup_for_an_admin_only(
    engine: Engine, world: World, run: Run, tmp_path: Path
) -> None:
    path = str(tmp_path / "planner.backup")
    code, out = run(["backup", path, "--as", "admin"])
    assert code == 0, out
    assert out.startswith(f"backup written to {path}: ") and "sha256" in out
    ideas.submit_idea(
        world.session,
        actor=world.contributor,
        data={
            "title": "Nach dem Backup",
            "pitch": "Kam nach der Sicherung",
            "department": "Marketing",
        },
    )
    world.session.commit()  # no transaction of this test holds a table the restore drops
    before = _fingerprint(engine)

    refusals = {
        ("--as", "admin"): (1, "already holds data"),
        ("--force",): (2, "say who acts"),
        ("--force", "--as", "editor"): (1, "may not replace the database with a backup"),
        ("--force", "--as", "contrib"): (1, "may not replace the database with a backup"),
        ("--force", "--as", "nobody"): (2, "no user 'nobody'"),
    }
    for options, (expected, said) in refusals.items():
        code, out = run(["restore", path, *options])
        assert (code, said in out, out.startswith("error: ")) == (expected, True, True), out
        assert len(out.strip().splitlines()) == 1, out
    assert _changed(before, _fingerprint(engine)) == []

    code, out = run(["restore", path, "--force", "--as", "admin"])
    assert code == 0, out
    assert "Nach dem Backup" not in _titles(engine)
    assert "chain intact" in out.splitlines()[-1]
    code, out = run(["audit", "verify", "--as", "admin"])
    assert code == 0, out


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # a new file: an empty database
def test_restore_into_an_empty_database_needs_no_user(
    engine: Engine,
    world: World,
    run: Run,
    target: list[Engine],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = str(tmp_path / "planner.backup")
    assert run(["backup", path, "--as", "admin"])[0] == 0
    empty = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    target[0] = empty
    monkeypatch.setenv("PLANNER_USER", "whoever")  # no users yet: nobody is asked for

    code, out = run(["restore", path])

    assert code == 0, out
    assert out.startswith(f"restored {path}: ")
    assert "chain intact" in out
    assert _titles(empty) == _titles(engine)
    empty.dispose()


def test_backup_replaces_a_file_only_with_force(
    engine: Engine, world: World, run: Run, tmp_path: Path
) -> None:
    path = tmp_path / "planner.backup"
    path.write_text("keep me", encoding="utf-8")

    code, out = run(["backup", str(path), "--as", "admin"])
    assert (code, "exists already" in out) == (1, True), out
    assert path.read_text(encoding="utf-8") == "keep me"

    code, out = run(["backup", str(path), "--force", "--as", "admin"])
    assert code == 0, out
    assert path.read_bytes() != b"keep me"


def test_restore_of_something_else_says_what_it_is(world: World, run: Run, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Einkaufsliste", encoding="utf-8")

    code, out = run(["restore", str(path), "--force", "--as", "admin"])

    assert code == 1
    assert out.strip() == (
        f"error: {str(path)!r} is not a planner backup: neither a SQLite database nor a "
        "pg_dump archive"
    )


def test_a_restore_whose_migration_fails_says_why_in_one_line_and_changes_nothing(
    engine: Engine, world: World, run: Run, blank: Callable[[], Engine], tmp_path: Path
) -> None:
    path = test_backup.old_backup(blank, tmp_path / "old.backup")
    world.session.commit()  # no transaction of this test holds a table the restore replaces
    before = _fingerprint(engine)

    code, out = run(["restore", str(path), "--force", "--as", "admin"])

    assert code == 1, out
    assert out.startswith(f"error: cannot restore {str(path)!r}: migrating it from "), out
    assert "post_holds" in out
    assert len(out.strip().splitlines()) == 1, out
    assert _changed(before, _fingerprint(engine)) == []


def test_restore_names_the_tables_that_are_not_the_planners(
    engine: Engine,
    world: World,
    run: Run,
    target: list[Engine],
    blank: Callable[[], Engine],
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "planner.backup")
    assert run(["backup", path, "--as", "admin"])[0] == 0
    other = target[0] = blank()
    with other.begin() as conn:
        conn.execute(text("CREATE TABLE kunden (id integer primary key)"))
        conn.execute(text("INSERT INTO kunden VALUES (1)"))

    for options in ([], ["--force"]):
        code, out = run(["restore", path, *options])
        assert code == 1, out
        assert out.startswith("error: ") and "kunden" in out, out
        assert len(out.strip().splitlines()) == 1, out
    with other.connect() as conn:
        assert conn.execute(text("SELECT id FROM kunden")).scalars().all() == [1]
