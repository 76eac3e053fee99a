"""Property-based: generated values for every argument of every command, and every form field.

The commands and their arguments are read from the argparse parser itself, so a new
command is covered without touching this file. Whatever the values (huge and negative
numbers, NUL and other control characters, very long text, dates at the ends of the
calendar, odd zone names, any unicode), a command either succeeds or says what is wrong in
an `error:` line, never with a traceback; and a command that failed changed nothing stored.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from secrets import token_hex
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from planner import channels, cli, db, ideas, pieces, planning, users
from planner.errors import PlannerError, ValidationFailed
from planner.schemas import ID_MAX, IdeaCreate, PieceCreate, PieceUpdate, UserCreate, parse_input
from tests.conftest import POSTGRES_URL, World, swap_in_copy

PASSWORD = "fuzz-" + token_hex(8)  # made per run: no credential lives in the code
# Run until stopped: the dashboard server and the publishing worker.
LONG_RUNNING = {("serve",), ("worker",)}
# More examples for a deeper search: PLANNER_FUZZ_EXAMPLES=200.
FUZZ = settings(
    max_examples=int(os.environ.get("PLANNER_FUZZ_EXAMPLES") or 12),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Its module-wide set-up (a server, a loaded demo) is made once: with `--dist loadgroup`,
# every test of this module runs in the same xdist worker.
pytestmark = pytest.mark.xdist_group("cli_properties")

# --- generated values ----------------------------------------------------------------------

SAMPLES = [
    # ids and numbers: existing, at the column limits, beyond them, not numbers at all
    "1",
    "2",
    "0",
    "-1",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999",
    "²",
    "1e3",
    "0x10",
    "",
    " ",
    # names that exist in the prepared database
    "boss",
    "ed",
    "anna",
    "Marketing",
    "Blog",
    "-",
    "binary.dat",
    # dates and times
    "01.01.0001 00:00",
    "0001-01-01",
    "9999-12-31",
    "31.12.9999 23:59",
    "9999-12-31 23:59-12:00",
    "2030-01-15 09:00",
    "2026-03-29 02:30",
    "2026-10-25 02:30",
    "2030-01-15 09:00+99:00",
    "24.12.2030",
    # zones and rules
    "Europe/Berlin",
    "America",
    "../../etc/passwd",
    "a" * 300,
    "FREQ=WEEKLY;COUNT=3",
    "FREQ=DAILY;UNTIL=99991231",
    "FREQ=SECONDLY;COUNT=100000",
    # control characters
    "a\x00b",
    "\x1b[31mred",
    "line\rback",
    "tab\tand\nbreak",
    "x=\x00",
]


def _long(char: str, count: int) -> str:
    return char * count


VALUES = st.one_of(
    st.sampled_from(SAMPLES),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=30),
    st.text(st.characters(max_codepoint=0xA0), max_size=12),  # control characters often
    st.builds(_long, st.sampled_from(["a", "ä", "9", "\x00", "€", "👍🏽"]), st.integers(200, 3000)),
)
USERS = st.sampled_from(["boss", "ed", "anna", "mia"])
IDS = st.sampled_from(["1", "2", "3"])
# The edges each kind of argument has, drawn more often than VALUES would draw them.
EDGES = {
    "number": st.sampled_from(
        ["0", "-1", "2147483648", "9223372036854775808", "99999999999999999999", "²"]
    ),
    "date": st.sampled_from(
        [
            "01.01.0001 00:00",
            "0001-01-01",
            "9999-12-31",
            "31.12.9999",
            "9999-12-31 23:59-12:00",
            "2030-01-15 09:00+99:00",
        ]
    ),
    "zone": st.sampled_from(["a" * 300, "America", "Europe/", "../x", "Europe/Berlin"]),
}
KINDS = {
    "number": {"id", "piece", "post", "into", "revision", "expected_revision", "diff", "restore"}
    | {"limit", "size", "daily_cap", "port"},
    "date": {"when", "since", "until", "start", "due"},
    "zone": {"tz", "timezone"},
}


def _pick(*choices: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One of `choices`, each as likely as the others (st.one_of favours the first)."""
    return st.sampled_from(choices).flatmap(lambda choice: choice)


def _value(action: argparse.Action) -> st.SearchStrategy[str]:
    """Values for one argument: its own choices, existing ids and its kind's edges now and
    then, else anything. The acting user mostly exists, so that commands get past it."""
    if action.dest == "as_user":
        return _pick(USERS, USERS, USERS, VALUES)
    if action.choices:
        return _pick(st.sampled_from([str(c) for c in action.choices]), VALUES)
    for kind, dests in KINDS.items():
        if action.dest in dests:
            if kind == "number":
                return _pick(IDS, EDGES[kind], VALUES)
            return _pick(EDGES[kind], VALUES)
    return VALUES


def _count(action: argparse.Action) -> int:
    return action.nargs if isinstance(action.nargs, int) else 1


@st.composite
def _argv(draw: Any, path: tuple[str, ...], parser: argparse.ArgumentParser) -> list[str]:
    """A command line for `path`: some of its options, then `--`, then its positionals."""
    options: list[str] = []
    positionals: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:
            positionals += [draw(_value(action)) for _ in range(_count(action))]
            continue
        wanted = action.required or action.dest == "as_user" or draw(st.booleans())
        if not wanted:
            continue
        option = action.option_strings[-1]
        if action.nargs == 0:
            options.append(option)
            continue
        repeats = draw(st.integers(1, 2)) if isinstance(action, argparse._AppendAction) else 1
        for _ in range(repeats):
            values = [draw(_value(action)) for _ in range(_count(action))]
            # '--opt=value' and '--': a value starting with '-' still reaches the argument.
            options += [f"{option}={values[0]}"] if len(values) == 1 else [option, *values]
    return [*path, *options, "--", *positionals] if positionals else [*path, *options]


def _commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every command the parser knows, with its own sub-parser."""
    found: list[tuple[tuple[str, ...], argparse.ArgumentParser]] = []

    def walk(parser: argparse.ArgumentParser, prefix: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    has_subcommands = any(
                        isinstance(a, argparse._SubParsersAction) for a in child._actions
                    )
                    if has_subcommands:
                        walk(child, (*prefix, name))
                    else:
                        found.append(((*prefix, name), child))

    walk(cli.build_parser(), ())
    return [(path, parser) for path, parser in found if path not in LONG_RUNNING]


COMMANDS = _commands()

# --- running commands ------------------------------------------------------------------------

CLASS_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception|Warning)\b")
ERROR_LINE = re.compile(r"^(python -m planner[^:]*: )?error: \S", re.MULTILINE)


def _run(argv: list[str]) -> tuple[int, str]:
    """Run one command in this process; (exit code, standard error)."""
    err = io.StringIO()
    sys.stdin = io.StringIO(PASSWORD + "\n")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv, stderr=err)
        except SystemExit as done:  # argparse refused the command line
            code = done.code if isinstance(done.code, int) else 2
    return code, err.getvalue()


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to compare before and after a failed command."""
    with engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(table.select())), key=repr)
            for table in SQLModel.metadata.sorted_tables
        }


def _check(engine: Engine, argv: list[str]) -> None:
    before = _snapshot(engine)
    code, err = _run(argv)
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err, (argv, err)
    assert not CLASS_NAME.search(err), (argv, err)
    if code != 0:
        assert ERROR_LINE.search(err), (argv, err)
        assert _snapshot(engine) == before, (argv, err)


def _prepare(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An organisation with a department, a user per role, an idea, a piece in review on
    revision 2 with a comment, a manual channel 'Blog' and a post planned on it."""
    steps: list[list[str]] = [
        ["init", "--admin", "boss", "--password-stdin"],
        ["departments", "add", "Marketing", "--as", "boss"],
        ["users", "add", "ed", "--role", "editor", "--as", "boss"],
        ["users", "add", "anna", "--role", "approver", "--as", "boss"],
        [
            "users",
            "add",
            "mia",
            "--role",
            "contributor",
            "--department",
            "Marketing",
            "--as",
            "boss",
        ],
        ["channels", "add", "manual", "Blog", "--as", "boss"],
        ["ideas", "submit", "--as", "mia", "--title", "Messe 2030", "--pitch", "Wir sind dabei"],
        ["ideas", "submit", "--as", "mia", "--title", "Azubi-Tag", "--pitch", "Azubis zeigen"],
        ["ideas", "accept", "1", "--as", "ed"],
        ["pieces", "edit", "1", "--as", "ed", "--body", "Besuchen Sie uns!"],
        ["pieces", "comment", "1", "Gut so", "--as", "ed"],
        ["plan", "add", "1", "Blog", "2030-01-15 09:00", "--as", "ed"],
        ["pieces", "submit", "1", "--as", "ed"],
    ]
    monkeypatch.setenv("PLANNER_DATABASE_URL", url)
    monkeypatch.setattr(sys, "stdin", sys.stdin)  # _run replaces it; put it back afterwards
    for argv in steps:
        code, err = _run(argv)
        assert code == 0, (argv, err)


@contextlib.contextmanager
def _database(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The prepared database at `url`, with the working directory and data folder in
    `tmp_path` (exports write there) and a file that is not text."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "binary.dat").write_bytes(bytes(range(256)))
    monkeypatch.chdir(work)
    monkeypatch.setattr("planner.cli.pieces.DATA_DIR", tmp_path / "data")
    monkeypatch.setattr(sys, "stdin", sys.stdin)  # _run replaces it; put it back afterwards
    monkeypatch.setenv("PLANNER_DATABASE_URL", url)
    monkeypatch.delenv("PLANNER_USER", raising=False)
    try:
        yield db.get_engine(url)
    finally:
        db._engines[url].dispose()
        if not url.startswith("sqlite"):  # a PostgreSQL test's schema is its own
            del db._engines[url]


@pytest.fixture(scope="module")
def sqlite_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepared SQLite database, made once; each test works on a copy."""
    path = tmp_path_factory.mktemp("org") / "org.db"
    url = f"sqlite:///{path}"
    with pytest.MonkeyPatch.context() as monkeypatch:
        _prepare(url, monkeypatch)
    db._engines.pop(url).dispose()
    return path


@pytest.fixture
def org_copy(sqlite_org: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh copy of the prepared database, always behind the same path (`swap_in_copy`):
    the engine kept for its URL is then one per process, with its statements compiled
    once, not once a test."""
    path = tmp_path_factory.getbasetemp() / "org-copy.db"
    swap_in_copy(sqlite_org, path)
    return f"sqlite:///{path}"


@pytest.mark.parametrize(("path", "parser"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_says_what_is_wrong_and_changes_nothing_when_it_fails(
    path: tuple[str, ...],
    parser: argparse.ArgumentParser,
    org_copy: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _database(org_copy, tmp_path, monkeypatch) as engine:

        @FUZZ
        @given(argv=_argv(path, parser))
        def check(argv: list[str]) -> None:
            _check(engine, argv)

        check()


def _kind(action: argparse.Action) -> str:
    return next((kind for kind, dests in KINDS.items() if action.dest in dests), "text")


WORST = {
    "number": ["9223372036854775808", "2147483648"],
    "date": ["01.01.0001 00:00", "9999-12-31", "2030-01-15 09:00+99:00"],
    "zone": ["a" * 300, "America"],
    "text": ["a\x00b"],
}
PLAIN = {"number": "1", "date": "2030-01-15 09:00", "zone": "Europe/Berlin", "text": "Blog"}


def _edge_argvs(path: tuple[str, ...], parser: argparse.ArgumentParser) -> list[list[str]]:
    """For each argument that takes a value, command lines where it alone has one of its
    kind's worst values and every other argument a plain one."""
    takes_value = [
        a
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction) and a.nargs != 0 and a.dest != "as_user"
    ]
    argvs: list[list[str]] = []
    for target in takes_value:
        for worst in WORST[_kind(target)]:
            options, positionals = ["--as=boss"] if "as_user" in _dests(parser) else [], []
            for action in takes_value:
                if action is not target and not (action.required or not action.option_strings):
                    continue
                plain = str(action.choices[0]) if action.choices else PLAIN[_kind(action)]
                values = [worst if action is target else plain] * _count(action)
                if not action.option_strings:
                    positionals += values
                elif len(values) == 1:
                    options.append(f"{action.option_strings[-1]}={values[0]}")
                else:
                    options += [action.option_strings[-1], *values]
            argvs.append([*path, *options, "--", *positionals])
    return argvs


def _dests(parser: argparse.ArgumentParser) -> set[str]:
    return {a.dest for a in parser._actions}


def test_each_argument_at_its_edges_gets_a_message_on_every_command(
    org_copy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not left to chance: every argument once with each of its kind's worst values."""
    with _database(org_copy, tmp_path, monkeypatch) as engine:
        for path, parser in COMMANDS:
            for argv in _edge_argvs(path, parser):
                _check(engine, argv)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test PostgreSQL database, as a URL the command line uses."""
    if not POSTGRES_URL:
        pytest.skip("PLANNER_TEST_POSTGRES_URL is not set")
    schema = f"planner_fuzz_{uuid.uuid4().hex[:10]}"
    admin = db.make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


TEXT_AND_IDS = st.one_of(
    st.sampled_from(["a\x00b", "\x00", "2147483648", "9223372036854775808", "-1", "1", "²"]),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(max_size=20),
)


@st.composite
def _text_and_id_argv(draw: Any) -> list[str]:
    """Any command; its id and text arguments get NUL bytes and numbers beyond the columns."""
    path, parser = draw(st.sampled_from(COMMANDS))
    argv = draw(_argv(path, parser))
    return [draw(TEXT_AND_IDS) if draw(st.integers(0, 3)) == 0 else a for a in argv]


def test_commands_on_postgresql_refuse_nul_bytes_and_ids_beyond_its_columns(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _prepare(postgres_url, monkeypatch)
    with _database(postgres_url, tmp_path, monkeypatch) as engine:

        @settings(FUZZ, max_examples=FUZZ.max_examples * 12)
        @given(argv=_text_and_id_argv())
        def check(argv: list[str]) -> None:
            _check(engine, argv)

        check()


# --- form fields -----------------------------------------------------------------------------

FIELD_VALUES = st.one_of(
    VALUES,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.none(),
    st.booleans(),
    st.dates().map(str),
    st.lists(VALUES, max_size=3),
    st.dictionaries(st.one_of(st.integers(-(2**70), 2**70), VALUES), VALUES, max_size=2),
)
MODELS = [IdeaCreate, PieceCreate, PieceUpdate, UserCreate]


@pytest.mark.parametrize("model", MODELS, ids=[m.__name__ for m in MODELS])
@FUZZ
@given(data=st.data())
def test_every_form_field_is_validated_or_refused_with_a_message(
    model: Any, data: st.DataObject
) -> None:
    fields = list(model.model_fields)
    values = data.draw(st.fixed_dictionaries({}, optional=dict.fromkeys(fields, FIELD_VALUES)))
    problems: dict[str, str] = {}
    try:
        parse_input(model, values)
    except ValidationFailed as err:
        problems = err.fields
        assert problems
    assert all(isinstance(m, str) and m for m in problems.values()), problems


def _service_call(
    world: World, session: Session, form: str, piece_id: int, values: dict[str, Any]
) -> Any:
    if form == "idea":
        return ideas.submit_idea(session, actor=world.contributor, data=values)
    if form == "piece":
        return pieces.create_piece(session, actor=world.editor, data=values)
    if form == "edit":
        revision = pieces.get_piece(session, actor=world.editor, piece_id=piece_id).revision
        return pieces.edit_piece(
            session, actor=world.editor, piece_id=piece_id, expected_revision=revision, data=values
        )
    if form == "user":
        return users.create_user(session, actor=world.admin, data=values)
    assert form == "plan"
    return planning.plan_post(
        session,
        actor=world.editor,
        piece_id=values.get("piece_id", piece_id),
        channel=values.get("channel", "Blog"),
        when=values.get("when", "2030-01-15 09:00"),
        tz_name=values.get("tz_name"),
    )


FORMS = {
    "idea": {"title": VALUES, "pitch": VALUES, "department": VALUES, "tags": VALUES},
    "piece": {"title": VALUES, "body": VALUES, "campaign": VALUES, "due_date": VALUES},
    "edit": {"body": VALUES, "variants": st.dictionaries(IDS.map(int) | st.integers(), VALUES)},
    "user": {
        "username": VALUES,
        "display_name": VALUES,
        "password": VALUES,
        "timezone": VALUES,
        "role": st.sampled_from(["editor", "admin"]) | VALUES,
    },
    "plan": {
        # The form offers the stored pieces, so its ids fit the column (the CLI and CSV
        # files check theirs).
        "piece_id": st.integers(min_value=-5, max_value=ID_MAX),
        "channel": VALUES,
        "when": VALUES,
        "tz_name": VALUES,
    },
}


@pytest.mark.parametrize("form", list(FORMS))
def test_the_services_behind_the_forms_store_all_or_nothing(
    form: str, world: World, session: Session, engine: Engine
) -> None:
    """Generated values through the service functions the dashboard's forms call, on
    SQLite and PostgreSQL: stored, or refused with a planner error and nothing stored."""
    channels.create_channel(session, actor=world.admin, kind="manual", name="Blog")
    piece = pieces.create_piece(session, actor=world.editor, data={"title": "Messe"})
    assert piece.id is not None
    piece_id = piece.id

    @FUZZ
    @given(values=st.fixed_dictionaries({}, optional=FORMS[form]))
    def check(values: dict[str, Any]) -> None:
        before = _snapshot(engine)
        try:
            _service_call(world, session, form, piece_id, values)
        except PlannerError:
            session.rollback()
            assert _snapshot(engine) == before, values

    check()
