"""The command tree assembled from the command modules, and running one command."""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence
from typing import IO

from sqlalchemy import exc as sa_exc

from planner.cli import (
    accounts,
    audiences,
    audit,
    backup,
    channels,
    common,
    feeds,
    ideas,
    inbox,
    metrics,
    notifications,
    pieces,
    plan,
    posts,
    report,
    rules,
    settings,
    setup,
)
from planner.cli.common import CliError, Handler, command_name
from planner.errors import IllegalTransition, NothingToRestore, PlannerError, ValidationFailed
from planner.schemas import text_problem

# Each module lists its commands in COMMANDS; the top-level help shows them in this order.
MODULES = (
    setup,
    backup,
    accounts,
    ideas,
    pieces,
    plan,
    audit,
    report,
    settings,
    channels,
    audiences,
    posts,
    metrics,
    rules,
    notifications,
    inbox,
    feeds,
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; every command has --help."""
    parser = argparse.ArgumentParser(
        prog="python -m planner",
        description="Content marketing editorial planner: ideas, pieces, plan, audit.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in MODULES:
        for commands in module.COMMANDS:
            commands.register(sub)
    return parser


@functools.cache
def _parser() -> argparse.ArgumentParser:
    """The command tree, built once per process (about 15 ms): parsing leaves it as it was,
    and no default in it is read from the environment or the clock."""
    return build_parser()


def main(argv: Sequence[str] | None = None, *, stderr: IO[str] | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 1 refused by the planner, 2 misuse)."""
    err_out = stderr or sys.stderr
    try:
        args = _parser().parse_args(argv)  # --help writes to standard output too
        for name, problem in _unstorable_arguments(args):
            err_out.write(f"error: {name}: {problem}\n")
            return 2
        code = _run(args, err_out)
        sys.stdout.flush()  # inside the try: the output of a short command is written here
    except BrokenPipeError:
        # Whoever read the output has stopped (`... | head`): stop quietly, as Unix tools do.
        # Python flushes standard output once more at exit; pointed at /dev/null, that
        # flush cannot fail again with a traceback.
        _stdout_to_devnull()
        return 1
    return code


def _run(args: argparse.Namespace, err_out: IO[str]) -> int:
    """Run the command's handler; a refusal becomes a message and exit code 1 or 2."""
    handler: Handler = args.handler
    try:
        return handler(args)
    except (CliError, PlannerError) as err:
        err_out.write("".join(f"{text}\n" for text in _explained(err)))
        return 2 if isinstance(err, CliError) else 1
    except sa_exc.DBAPIError as err:
        # The database itself refused (not a database file, away, out of space): said in
        # its own words, with where it is (without a password), not as a traceback.
        where = common.engine().url.render_as_string(hide_password=True)
        err_out.write(f"error: the database {where} could not be used: {err.orig}\n")
        return 1


def _explained(err: CliError | PlannerError) -> list[str]:
    """The lines that tell the user why the command was refused."""
    if isinstance(err, NothingToRestore):
        return [f"error: {err.reason}"]
    if isinstance(err, ValidationFailed):
        return ["error: invalid input", *(f"  {name}: {text}" for name, text in err.fields.items())]
    if isinstance(err, IllegalTransition):
        # Said with the commands' names: the move refused and the ones that are possible.
        as_commands = IllegalTransition(
            err.kind,
            err.obj_id,
            err.state,
            command_name(err.action),
            [command_name(action) for action in err.allowed],
        )
        return [f"error: {as_commands}"]
    return [f"error: {err}"]


def _unstorable_arguments(args: argparse.Namespace) -> list[tuple[str, str]]:
    """Arguments with a character no text may hold (NUL, other controls): (name, problem)."""
    found: list[tuple[str, str]] = []
    for dest, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        for text in values:
            problem = text_problem(text) if isinstance(text, str) else None
            if problem is not None:
                name = "--as" if dest == "as_user" else dest.replace("_", "-")
                found.append((name, problem))
    return found


def _stdout_to_devnull() -> None:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (captured in tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
