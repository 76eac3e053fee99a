"""scripts/start.sh, run for real against a temporary SQLite database.

The script runs in a copy of the repository layout whose `.venv/bin/python` runs this
interpreter on this checkout, except for the two steps that need the network or never
end: `pip install` and `serve` only say what they were asked to do. The demo, the
plan and everything in between are the real commands.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "admin-" + uuid.uuid4().hex[:16]  # made per run, for the custom admin
LOAD_STEP = "==> Loading demo data (only into an empty database)"
SERVE_STEP = "==> Starting the dashboard on http://localhost:8599 (Ctrl-C stops it)"


def _fake_checkout(root: Path) -> Path:
    """A directory shaped like the repository, with a .venv that defers to this Python."""
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "start.sh", root / "scripts" / "start.sh")
    venv_bin = root / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    _script(
        venv_bin / "python",
        'case "$1 $2 $3" in\n'
        '  "-m pip "*) echo "fake pip: $*"; exit 0 ;;\n'
        '  "-m planner serve") echo "fake serve: $*"; exit 0 ;;\n'
        "esac\n"
        f'PYTHONPATH="{REPO}" exec "{sys.executable}" "$@"\n',
    )
    return root


def _script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


def _run_start(
    checkout: Path, database: Path, *, path_dir: Path | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = _environment(database, PLANNER_PORT="8599", **extra)
    if path_dir is not None:
        env["PATH"] = f"{path_dir}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        ["bash", str(checkout / "scripts" / "start.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _environment(database: Path, **extra: str) -> dict[str, str]:
    """This process's environment without PLANNER_* settings, on `database` with its key
    file beside it (the scripts run this checkout's planner, whose default is its data/),
    plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANNER_")}
    return {
        **env,
        "PLANNER_DATABASE_URL": f"sqlite:///{database}",
        "PLANNER_SECRET_KEY_FILE": str(database.parent / "secret.key"),
        **extra,
    }


def _steps(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("==> ")]


@pytest.fixture
def fake_python3(tmp_path: Path) -> Path:
    """A `python3` on PATH whose `-m venv .venv` succeeds without doing anything."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir / "python3", 'echo "fake python3: $*"\n')
    return bin_dir


def test_first_start_installs_loads_demo_shows_plan_and_serves(
    tmp_path: Path, fake_python3: Path
) -> None:
    checkout = _fake_checkout(tmp_path / "repo")
    result = _run_start(checkout, tmp_path / "data" / "planner.db", path_dir=fake_python3)

    assert result.returncode == 0, result.stderr
    assert _steps(result.stdout) == [
        "==> Creating .venv",
        "==> Installing requirements.txt into .venv (about a minute on the first start)",
        LOAD_STEP,
        "==> The plan for the coming weeks (as the demo admin, admin):",
        SERVE_STEP,
    ]
    assert "fake python3: -m venv .venv" in result.stdout
    assert "fake pip: -m pip install" in result.stdout
    assert "-r requirements.txt" in result.stdout
    assert "Demo data loaded:" in result.stdout
    assert "post  when" in result.stdout  # the plan's table header
    assert result.stdout.rstrip().endswith("fake serve: -m planner serve --port 8599")


def test_restart_on_the_demo_database_shows_the_plan_from_the_kept_logins(
    tmp_path: Path,
) -> None:
    checkout = _fake_checkout(tmp_path / "repo")
    database = tmp_path / "data" / "planner.db"
    first = _run_start(checkout, database, PLANNER_SKIP_INSTALL="1")
    assert first.returncode == 0, first.stderr

    again = _run_start(checkout, database, PLANNER_SKIP_INSTALL="1")

    assert again.returncode == 0, again.stderr
    assert "The database already holds data; no demo data loaded." in again.stdout
    assert "==> The plan for the coming weeks (as the demo admin, admin):" in again.stdout
    assert "post  when" in again.stdout


def test_start_on_a_database_with_its_own_admin_skips_the_plan_and_serves(
    tmp_path: Path,
) -> None:
    database = tmp_path / "own.db"
    subprocess.run(
        [sys.executable, "-m", "planner", "init", "--admin", "chefin", "--password-stdin"],
        input=PASSWORD + "\n",
        env=_environment(database),
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    checkout = _fake_checkout(tmp_path / "repo")

    result = _run_start(checkout, database, PLANNER_SKIP_INSTALL="1")

    assert result.returncode == 0, result.stderr
    assert _steps(result.stdout) == [
        "==> Using .venv as it is (PLANNER_SKIP_INSTALL=1)",
        LOAD_STEP,
        "==> Not showing the plan: this database has no demo logins.",
        SERVE_STEP,
    ]
    assert "The database already holds data; no demo data loaded." in result.stdout
    assert "fake pip" not in result.stdout
    assert "error" not in result.stderr.lower()
    assert result.stdout.rstrip().endswith("fake serve: -m planner serve --port 8599")


def test_start_without_venv_support_says_which_package_to_install(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir / "python3", "echo 'ensurepip is not available' >&2\nexit 1\n")
    checkout = _fake_checkout(tmp_path / "repo")

    result = _run_start(checkout, tmp_path / "planner.db", path_dir=bin_dir)

    assert result.returncode == 1
    assert "apt-get install python3-venv" in result.stderr
    assert "fake serve" not in result.stdout


@pytest.mark.parametrize("script", ["start.sh", "test.sh"])
def test_script_is_valid_bash(script: str) -> None:
    subprocess.run(["bash", "-n", str(REPO / "scripts" / script)], check=True)
