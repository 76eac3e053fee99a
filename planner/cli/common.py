"""What every command module shares: the database session, the acting user, reading input,
argument types, and adding a command whose help is its handler's docstring."""

from __future__ import annotations

import argparse
import functools
import getpass
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session

from planner import csvio, users
from planner.cli.output import line
from planner.config import load_settings
from planner.db import get_engine, session_scope
from planner.errors import ConfigurationError, NotFound
from planner.migrate import current_revision, head_revision
from planner.models import User
from planner.schemas import ID_MAX, id_problem
from planner.timezones import parse_day_bound

Handler = Callable[[argparse.Namespace], int]
# A command's work in one session as the acting user; returns what to print, if anything.
Action = Callable[[Session, User, argparse.Namespace], str | None]
# What `add_subparsers` returns; argparse keeps its class private.
Subparsers = Any


class CliError(Exception):
    """A problem with how the command was called (exit code 2)."""


# --- the database -----------------------------------------------------------------------


def engine() -> Engine:
    """The planner's database engine (tests point it elsewhere)."""
    return get_engine()


def require_migrated(engine: Engine) -> None:
    """Refuse to work on a database that is not initialised or not at the current schema."""
    try:
        current = current_revision(engine)
    except (OperationalError, ProgrammingError) as err:
        raise ConfigurationError(f"cannot open the database: {err.orig}") from err
    head = head_revision(engine)
    if current is None:
        raise ConfigurationError(
            "the database is not initialised yet: run `python -m planner init` "
            "(or `python -m planner demo` for demo data)"
        )
    if current != head:
        raise ConfigurationError(
            f"the database schema is at {current}, this planner needs {head}: "
            "run `python -m planner migrate`"
        )


def migrated_engine() -> Engine:
    """The engine, once the database is known to be at the current schema."""
    found = engine()
    require_migrated(found)
    return found


@contextmanager
def session(*, check_schema: bool = True) -> Iterator[Session]:
    """A session on the planner's database (checked to be at the current schema)."""
    with session_scope(migrated_engine() if check_schema else engine()) as opened:
        yield opened


def actor(session: Session, args: argparse.Namespace) -> User:
    """The user named by --as (or PLANNER_USER), who must exist and be enabled."""
    name = getattr(args, "as_user", None) or load_settings().user
    if not name:
        raise CliError("say who acts: --as USERNAME (or set PLANNER_USER)")
    try:
        user = users.get_user(session, name)
    except NotFound as err:
        raise CliError(f"no user {name!r}; `python -m planner users list --as ADMIN`") from err
    if user.disabled:
        raise CliError(f"user {name!r} is disabled")
    return user


def acting(action: Action) -> Handler:
    """The command that runs `action` in one session as the acting user (--as) and prints
    the text it returns once its changes are stored."""

    @functools.wraps(action)
    def run(args: argparse.Namespace) -> int:
        with session() as opened:
            said = action(opened, actor(opened, args), args)
        if said is not None:
            line(said)
        return 0

    return run


def when(actor: User, text: str | None, *, end: bool = False) -> datetime | None:
    """A date or date-time in the actor's zone (a date's end with `end`), or None."""
    return None if not text else parse_day_bound(text, actor.timezone, end=end)


# --- input ------------------------------------------------------------------------------


def read_password(args: argparse.Namespace, prompt: str = "Password: ") -> str:
    """A password from standard input (--password-stdin or no terminal) or a prompt."""
    if getattr(args, "password_stdin", False) or not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise CliError("no password on standard input")
        return line.rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Repeat: ") != first:
        raise CliError("the passwords differ")
    return first


def read_file(path: str) -> bytes:
    """The bytes of a file, or of standard input for '-'."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise CliError(f"cannot read {path!r}: {err.strerror}") from err


def read_text(path: str) -> str:
    """The UTF-8 text of a file, or of standard input for '-'."""
    try:
        return read_file(path).decode("utf-8")
    except UnicodeDecodeError as err:
        raise CliError(f"{path!r} is not UTF-8 text") from err


def read_csv(path: str) -> bytes:
    """A CSV file to import; one over `csvio.MAX_BYTES` is refused before it is read."""
    if path == "-":
        raw = sys.stdin.buffer.read(csvio.MAX_BYTES + 1)
        csvio.check_size(len(raw))
        return raw
    try:
        size = Path(path).stat().st_size
    except OSError as err:
        raise CliError(f"cannot read {path!r}: {err.strerror}") from err
    csvio.check_size(size)
    return read_file(path)


def export(path: str, write: Callable[[IO[str]], int]) -> int:
    """Run an export into standard output (-) or, replacing it only when done, a file."""
    if path == "-":
        return write(sys.stdout)
    return csvio.write_export(path, write)


# --- argument types -----------------------------------------------------------------------


def enum_type(cls: type[Enum]) -> Callable[[str], Any]:
    """An argument type: one of the values of `cls`, or a message listing them."""

    def convert(text: str) -> Any:
        try:
            return cls(text)
        except ValueError as err:
            choices = ", ".join(str(m.value) for m in cls)
            raise argparse.ArgumentTypeError(f"{text!r} is not one of: {choices}") from err

    convert.__name__ = cls.__name__
    return convert


def whole(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argument type: a whole number from `low` to `high`, or a message saying so."""

    def convert(text: str) -> int:
        digits = text.strip()
        number = digits.removeprefix("-")
        # isascii: '²'.isdigit() holds but int('²') fails; the length bounds int()'s work.
        fits = number.isascii() and number.isdigit() and len(number) <= 12
        if fits and low <= int(digits) <= high:
            return int(digits)
        shown = text if len(text) <= 24 else text[:24] + "..."
        raise argparse.ArgumentTypeError(
            f"{shown!r} is not {what}: use a whole number from {low} to {high}"
        )

    convert.__name__ = what
    return convert


def record_id(text: str) -> int:
    """An argument type for every id: 1 to ID_MAX, the rule of the dashboard's forms."""
    problem = id_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return int(text.strip())


def csv_format(text: str) -> csvio.CsvFormat:
    """An argument type: a CSV export's separator by its name (, ; tab), or a message
    naming them."""
    try:
        return csvio.CsvFormat.named(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


revision = whole(1, ID_MAX, "a revision number")
rows = whole(1, ID_MAX, "a number of rows")
daily_cap = whole(1, ID_MAX, "a number of posts")
demo_size = whole(0, 1_000_000, "a number of posts")
port = whole(1, 65_535, "a port number")


# A date as `day` takes it: four, two and two ASCII digits.
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def day(text: str) -> str:
    """An argument type: a date YYYY-MM-DD, or '' (which clears a date).

    Exactly that form: `date.fromisoformat` also reads 20270301 and 2027-W05-3.
    """
    if text:
        try:
            if not _DAY.fullmatch(text):
                raise ValueError(text)
            date.fromisoformat(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from err
    return text


# --- options many commands share, and adding a command ------------------------------------

ACTING = argparse.ArgumentParser(add_help=False)
ACTING.add_argument(
    "--as",
    dest="as_user",
    metavar="USERNAME",
    help="the user on whose behalf to act (default: $PLANNER_USER)",
)
LISTING = argparse.ArgumentParser(add_help=False)
LISTING.add_argument("--json", action="store_true", help="print JSON instead of a table")
PAGED = argparse.ArgumentParser(add_help=False)
PAGED.add_argument("--limit", type=rows, default=None, help="at most this many rows")
SECRET = argparse.ArgumentParser(add_help=False)
SECRET.add_argument(
    "--password-stdin",
    action="store_true",
    help="read the password (or each --secret, one line each) from standard input instead "
    "of a prompt",
)


def command_name(action: str) -> str:
    """The command that takes a workflow `action` ("mark_posted" is `mark-posted`)."""
    return action.replace("_", "-")


def summary(handler: Handler) -> str:
    """A command's help text: its handler's docstring, as a phrase ("List accounts." ->
    "list accounts")."""
    text = " ".join((handler.__doc__ or "").split()).removesuffix(".")
    if text[:2].istitle():  # "List ..." becomes "list ...", "CSV ..." stays as it is
        text = text[0].lower() + text[1:]
    return text


Argument = tuple[tuple[str, ...], dict[str, Any]]


def arg(*names: str, **options: Any) -> Argument:
    """One argument of a command, as `ArgumentParser.add_argument` takes it."""
    return names, options


def repeatable(name: str, help_text: str, **options: Any) -> Argument:
    """An option that may be given many times; its values come as a list."""
    return arg(name, action="append", help=f"{help_text} (repeatable)", **options)


# Arguments many commands take: a record's id, a piece's id, a channel by name or id.
ID = arg("id", type=record_id)
PIECE = arg("piece", type=record_id)
CHANNEL = arg("channel", help="the channel's name or id")
# The separator of a CSV export (None unless given: `separator_of` gives the default).
SEPARATOR = arg(
    "--separator",
    type=csv_format,
    metavar="SEP",
    help="what separates a CSV file's cells: , (default), ; (as Excel set to German "
    "reads it, with decimal commas) or tab; the file starts with a UTF-8 byte order mark "
    "either way",
)


def separator_of(args: argparse.Namespace, fmt: str = "csv") -> csvio.CsvFormat:
    """The CSV format `--separator` asks for (comma-separated without it); CliError when it
    is given for an export in another format than CSV (`fmt`, as `--format` gives it)."""
    chosen: csvio.CsvFormat | None = args.separator
    if chosen is not None and fmt != "csv":
        raise CliError(f"--separator applies to CSV only, not to --format {fmt}")
    return chosen or csvio.COMMA


class Commands:
    """A module's commands, each added where its handler is defined:

        @IDEAS.action("show", ID, parents=[LISTING])
        def cmd_ideas_show(session, actor, args): ...

        @IDEAS.command("import", [ACTING], arg("file"))
        def cmd_ideas_import(args): ...

    `name` None stands for commands of the top level (such as `init`), else the group's
    name (such as `ideas`); `register` adds them all to the parser, in the order added.
    """

    def __init__(self, name: str | None = None, help_text: str = "") -> None:
        self.name = name
        self.help_text = help_text
        self._added: list[
            tuple[str, Handler, Sequence[argparse.ArgumentParser], tuple[Argument, ...]]
        ] = []

    def add(
        self,
        name: str,
        handler: Handler,
        parents: Sequence[argparse.ArgumentParser] = (),
        *arguments: Argument,
    ) -> Handler:
        """Add command `name`, run by `handler`, with the options of `parents` first."""
        self._added.append((name, handler, parents, arguments))
        return handler

    def command(
        self,
        name: str,
        parents: Sequence[argparse.ArgumentParser] = (),
        *arguments: Argument,
    ) -> Callable[[Handler], Handler]:
        """A decorator: `add` the handler below as command `name`."""
        return lambda handler: self.add(name, handler, parents, *arguments)

    def action(
        self,
        name: str,
        *arguments: Argument,
        parents: Sequence[argparse.ArgumentParser] = (),
    ) -> Callable[[Action], Handler]:
        """A decorator: `add` the action below as command `name`, run `acting` (as the user
        --as names), with the options of ACTING and then of `parents` first."""
        return lambda action: self.add(name, acting(action), [ACTING, *parents], *arguments)

    def register(self, subparsers: Subparsers) -> None:
        """Add the commands to `subparsers` (in a group of their own if they have one)."""
        target = subparsers if self.name is None else _group(subparsers, self.name, self.help_text)
        for name, handler, parents, arguments in self._added:
            parser = _command(target, name, handler, parents)
            for names, options in arguments:
                parser.add_argument(*names, **options)


def _command(
    subparsers: Subparsers,
    name: str,
    handler: Handler,
    parents: Sequence[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    """Add command `name`, run by `handler` and described by its docstring."""
    text = summary(handler)
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=text, description=text, parents=list(parents)
    )
    parser.set_defaults(handler=handler)
    return parser


def _group(subparsers: Subparsers, name: str, help_text: str) -> Subparsers:
    """Add a command group `name` (such as `ideas`); returns where its actions go."""
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    return parser.add_subparsers(dest="subcommand", required=True, metavar="ACTION")
