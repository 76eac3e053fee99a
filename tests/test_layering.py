"""Layering: only the UI imports streamlit, only the publishers import requests, and the UI
runs no database query of its own (it calls `planner/`)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {"__pycache__", "node_modules"}  # plus every hidden directory (.venv, .git)


def imported_modules(source: str) -> set[str]:
    """Top-level names of every module `source` imports, wherever the import statement is.

    Covers `import x`, `from x import y` and `importlib.import_module("x")` /
    `__import__("x")` with a literal name; relative imports stay inside the package.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and _called_name(node.func) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return {name.split(".")[0] for name in names}


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def may_import(path: PurePosixPath, module: str) -> bool:
    """Whether the file at `path` (relative to the repository) may import `module`."""
    parts = path.parts
    if module == "streamlit":
        in_domain = parts[0] in ("planner", "publishers")
        return not in_domain or parts[:2] == ("planner", "ui")
    if module == "requests":
        # The adapters' own tests may build requests' response objects to test against.
        return parts[0] == "publishers" or parts[:2] == ("tests", "publishers")
    return True


def layering_violations(sources: dict[PurePosixPath, str]) -> list[str]:
    """One line per import that breaks the layering, for files given as path -> source."""
    return [
        f"{path} imports {module}"
        for path, source in sorted(sources.items())
        for module in sorted(imported_modules(source))
        if not may_import(path, module)
    ]


def python_files(root: Path) -> Iterator[Path]:
    """Every .py file under `root`, skipping hidden directories such as .venv and .git."""
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).parts[:-1]
        if not any(part.startswith(".") or part in SKIPPED_DIRS for part in relative):
            yield path


def repository_sources() -> dict[PurePosixPath, str]:
    """The repository's Python files, relative path -> source."""
    return {
        PurePosixPath(path.relative_to(REPO_ROOT).as_posix()): path.read_text(encoding="utf-8")
        for path in python_files(REPO_ROOT)
    }


_QUERY_PACKAGES = ("sqlmodel", "sqlalchemy")
_QUERY_METHODS = ("exec", "execute")


def own_queries(source: str) -> list[str]:
    """What in `source` builds or runs a database query itself: `select` imported from (or
    reached through) sqlmodel or sqlalchemy, and `.exec(...)` / `.execute(...)` calls."""
    tree = ast.parse(source)
    packages: set[str] = set()  # local names bound to sqlmodel or sqlalchemy (or a submodule)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in _QUERY_PACKAGES:
                    packages.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
            _QUERY_PACKAGES
        ):
            for alias in node.names:
                if alias.name == "select":
                    found.append(f"line {node.lineno}: imports select from {node.module}")
                else:
                    packages.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "select":
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in packages:
                found.append(f"line {node.lineno}: uses {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _QUERY_METHODS
        ):
            found.append(f"line {node.lineno}: calls {ast.unparse(node.func)}()")
    return sorted(found, key=lambda text: int(text.split()[1].rstrip(":")))


def query_violations(sources: dict[PurePosixPath, str], package: tuple[str, ...]) -> list[str]:
    """One line per query built or run in place, for files under `package` (such as
    ("planner", "ui"))."""
    return [
        f"{path} {finding}"
        for path, source in sorted(sources.items())
        if path.parts[: len(package)] == package
        for finding in own_queries(source)
    ]


# --- the repository -------------------------------------------------------------------------


def test_repository_keeps_streamlit_in_the_ui_and_requests_in_the_publishers() -> None:
    assert layering_violations(repository_sources()) == []


def test_dashboard_runs_no_query_of_its_own() -> None:
    assert query_violations(repository_sources(), ("planner", "ui")) == []


def test_command_line_reads_and_writes_only_through_service_functions() -> None:
    assert any(p.parts[:2] == ("planner", "cli") for p in repository_sources())
    assert query_violations(repository_sources(), ("planner", "cli")) == []


def test_scan_reads_the_domain_and_the_publishers_but_not_the_virtualenv() -> None:
    paths = {str(p) for p in repository_sources()}

    assert {"planner/workflow.py", "publishers/__init__.py", "tests/test_layering.py"} <= paths
    assert not any(p.startswith((".venv/", ".git/")) for p in paths)
    assert not any("/." in f"/{p}" for p in paths)


# --- the checker itself, on synthetic sources -----------------------------------------------


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        pytest.param("planner/rules.py", "import streamlit as st\n", ["streamlit"], id="import"),
        pytest.param(
            "planner/rules.py",
            "from streamlit.testing.v1 import AppTest\n",
            ["streamlit"],
            id="from-submodule",
        ),
        pytest.param(
            "planner/cli.py",
            "def send():\n    import os, requests\n    return requests\n",
            ["requests"],
            id="nested-and-listed",
        ),
        pytest.param(
            "planner/scheduler.py",
            "import importlib\nhttp = importlib.import_module('requests.adapters')\n",
            ["requests"],
            id="import-module-call",
        ),
        pytest.param("planner_app.py", "st = __import__('requests')\n", ["requests"], id="dunder"),
        pytest.param(
            "publishers/mastodon.py", "import streamlit\n", ["streamlit"], id="publisher-ui"
        ),
        pytest.param(
            "tests/planner/test_x.py", "from requests import Session\n", ["requests"], id="test"
        ),
        pytest.param("planner/ui/board.py", "import streamlit as st\n", [], id="ui-streamlit"),
        pytest.param("planner_app.py", "import streamlit as st\n", [], id="entry-streamlit"),
        pytest.param("publishers/base.py", "import requests\n", [], id="publisher-requests"),
        pytest.param("planner/x.py", "from . import requests\n", [], id="relative-sibling"),
        pytest.param("planner/x.py", "import requests_toolbelt\n", [], id="other-package"),
        pytest.param("planner/x.py", "text = 'import requests'\n", [], id="string-only"),
    ],
)
def test_checker_flags_exactly_the_forbidden_imports(
    path: str, source: str, expected: list[str]
) -> None:
    found = layering_violations({PurePosixPath(path): source})

    assert found == [f"{path} imports {module}" for module in expected]


def test_checker_reports_every_offending_file() -> None:
    sources = {
        PurePosixPath("planner/a.py"): "import streamlit\nimport requests\n",
        PurePosixPath("planner/ui/b.py"): "import requests\n",
        PurePosixPath("planner/ui/c.py"): "import streamlit\n",
    }

    assert layering_violations(sources) == [
        "planner/a.py imports requests",
        "planner/a.py imports streamlit",
        "planner/ui/b.py imports requests",
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(
            "from sqlmodel import Session, select\n",
            ["line 1: imports select from sqlmodel"],
            id="sqlmodel-select",
        ),
        pytest.param(
            "from sqlalchemy.sql import select as sel\n",
            ["line 1: imports select from sqlalchemy.sql"],
            id="sqlalchemy-submodule-renamed",
        ),
        pytest.param(
            "import sqlmodel\nq = sqlmodel.select(1)\n",
            ["line 2: uses sqlmodel.select"],
            id="through-the-module",
        ),
        pytest.param(
            "import sqlalchemy as sa\nq = sa.sql.select(1)\n",
            ["line 2: uses sa.sql.select"],
            id="through-an-alias",
        ),
        pytest.param(
            "def f(session):\n    return session.exec(q)\n",
            ["line 2: calls session.exec()"],
            id="session-exec",
        ),
        pytest.param(
            "def f(conn):\n    conn.execute(q)\n",
            ["line 2: calls conn.execute()"],
            id="connection-execute",
        ),
        pytest.param("from sqlmodel import Session\n", [], id="session-only"),
        pytest.param("st.selectbox('a', [1])\nat.selectbox(key='k').select(1)\n", [], id="widgets"),
        pytest.param("text = 'session.exec(select(Post))'\n", [], id="string-only"),
    ],
)
def test_query_checker_flags_what_builds_or_runs_a_query(source: str, expected: list[str]) -> None:
    assert own_queries(source) == expected


def test_query_checker_looks_only_under_the_package_it_is_given() -> None:
    query = "from sqlmodel import select\n"
    sources = {
        PurePosixPath("planner/ui/pages/board.py"): query,
        PurePosixPath("planner/ui/access.py"): query,
        PurePosixPath("planner/pieces.py"): query,
        PurePosixPath("tests/ui/test_board.py"): query,
    }

    assert query_violations(sources, ("planner", "ui")) == [
        "planner/ui/access.py line 1: imports select from sqlmodel",
        "planner/ui/pages/board.py line 1: imports select from sqlmodel",
    ]


def test_file_finder_skips_hidden_directories(tmp_path: Path) -> None:
    for name in (
        "planner/ok.py",
        ".venv/lib/site.py",
        "planner/.hidden/x.py",
        "a/__pycache__/c.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("import requests\n")

    found = [p.relative_to(tmp_path).as_posix() for p in python_files(tmp_path)]

    assert found == ["planner/ok.py"]
