"""Every command's --help describes it, in the words of its handler's docstring."""

from __future__ import annotations

import argparse
import inspect

import pytest

from planner import csvio
from planner.cli import build_parser, main
from planner.cli.common import summary
from planner.cli.ideas import cmd_ideas_import
from planner.cli.main import MODULES
from planner.cli.plan import cmd_plan_import


def _parsers() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command and command group below the top level, by its path of names."""
    found: list[tuple[tuple[str, ...], argparse.ArgumentParser]] = []

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found.append(((*path, name), child))
                    walk(child, (*path, name))

    walk(build_parser(), ())
    return found


PARSERS = _parsers()


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize(("path", "parser"), PARSERS, ids=[" ".join(p) for p, _ in PARSERS])
def test_help_shows_the_description_taken_from_the_handler_docstring(
    path: tuple[str, ...], parser: argparse.ArgumentParser, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    assert done.value.code == 0
    shown = _words(capsys.readouterr().out)

    assert parser.description
    assert _words(parser.description) in shown
    handler = parser.get_default("handler")
    is_group = any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
    if is_group:
        assert handler is None
    else:
        assert handler.__doc__, f"{handler.__qualname__} has no docstring"
        assert parser.description == summary(handler)


def test_every_handler_in_the_package_runs_a_command() -> None:
    handlers = {p.get_default("handler") for _path, p in PARSERS} - {None}
    defined = {
        function
        for module in MODULES
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if name.startswith("cmd_") and function.__module__ == module.__name__
    }

    assert defined - handlers == set()


@pytest.mark.parametrize(
    ("docstring", "expected"),
    [
        pytest.param("List accounts.", "list accounts", id="sentence"),
        pytest.param("A piece with its posts.", "a piece with its posts", id="one-letter-word"),
        pytest.param("CSV files, as they are.", "CSV files, as they are", id="acronym"),
        pytest.param("Write\n    two lines.", "write two lines", id="wrapped"),
    ],
)
def test_summary_turns_a_docstring_into_a_help_phrase(docstring: str, expected: str) -> None:
    def handler(args: argparse.Namespace) -> int:
        return 0

    handler.__doc__ = docstring

    assert summary(handler) == expected


def test_import_help_names_the_columns_the_import_reads() -> None:
    assert f"(columns: {', '.join(csvio.IDEA_COLUMNS)})" in summary(cmd_ideas_import)
    assert f"(columns: {', '.join(csvio.PLAN_COLUMNS)})" in summary(cmd_plan_import)
