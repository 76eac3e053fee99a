"""Shared fixtures: a migrated database per test on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import functools
import itertools
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel

from planner import org_settings, users
from planner.config import DATA_DIR
from planner.db import make_engine
from planner.migrate import upgrade
from planner.models import Role, User
from tests.postgres_database import drop_stale_schemas, ensure_database, schema_name

POSTGRES_URL = os.environ.get("PLANNER_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("PLANNER_REQUIRE_POSTGRES") == "1"
REQUIRE_ALL = os.environ.get("PLANNER_REQUIRE_ALL_TESTS") == "1"
BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "fixture-" + uuid.uuid4().hex[:16]  # made per run: no credential in the code


@pytest.fixture(autouse=True, scope="session")
def _reuse_password_hashes() -> Iterator[None]:
    """Hash each distinct password once per run, and check each (hash, password) pair
    once (a sign-in costs a tenth of a second): still real Argon2id, just not recomputed.
    The answers cannot differ between calls: both are pure functions of their arguments."""
    real_hash, real_verify = users.hash_password, users._verify
    users.hash_password = functools.lru_cache(maxsize=None)(real_hash)  # type: ignore[assignment]
    users._verify = functools.lru_cache(maxsize=None)(real_verify)  # type: ignore[assignment]
    yield
    users.hash_password = real_hash  # type: ignore[assignment]
    users._verify = real_verify  # type: ignore[assignment]


def files_in_data() -> set[Path]:
    """The files in the checkout's data/ folder."""
    return {path for path in DATA_DIR.rglob("*") if path.is_file()}


@pytest.fixture(autouse=True, scope="session")
def run_key_file(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Path]:
    """The planner's key file lives in a temporary folder for the run (subprocesses that
    keep the environment inherit it), and the run fails if data/ gains a file."""
    before = files_in_data()
    key_file = tmp_path_factory.mktemp("key") / "secret.key"
    previous = os.environ.get("PLANNER_SECRET_KEY_FILE")
    os.environ["PLANNER_SECRET_KEY_FILE"] = str(key_file)
    yield key_file
    if previous is None:
        del os.environ["PLANNER_SECRET_KEY_FILE"]
    else:
        os.environ["PLANNER_SECRET_KEY_FILE"] = previous
    written = sorted(str(path) for path in files_in_data() - before)
    assert not written, f"the tests wrote into the checkout's data/ folder: {written}"


@pytest.fixture(autouse=True)
def recording_kind() -> Iterator[type[Any]]:
    """Every test may make channels of kind 'recording', a scripted test adapter."""
    from tests import recording

    yield from recording.install()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy of it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


_COPIES = itertools.count(1)  # the SQLite copies this process made


def swap_in_copy(template: Path, link: Path) -> None:
    """Point `link`, a symbolic link, at a fresh copy of the SQLite file `template`, and
    delete the copy it pointed at before.

    SQLite names a database's write-ahead log after the file a link points to, so every
    copy has a log of its own: a connection still open on an earlier copy (a session a
    test left open) touches only that copy's log, also when it closes at last and deletes
    its log by name."""
    real = link.with_name(f"{link.stem}-{next(_COPIES)}{link.suffix}")
    shutil.copy(template, real)
    before = link.resolve() if link.is_symlink() else None
    fresh = link.with_name(link.name + ".new")
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(real)
    os.replace(fresh, link)
    if before is not None:
        for old in (before, *(before.with_name(before.name + s) for s in ("-wal", "-shm"))):
            old.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def _sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One SQLite engine per test process, on one path that each test points at a fresh
    database (`engine`, `swap_in_copy`): its statements are compiled once per process, not
    once per test, which was a fifth of a SQLite test's time."""
    path = tmp_path_factory.mktemp("sqlite") / "planner.db"
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """A private schema in the test PostgreSQL database, migrated once per test session."""
    if not POSTGRES_URL:
        pytest.skip("PLANNER_TEST_POSTGRES_URL is not set")
    schema = schema_name("planner_test")
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(
        POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_size=10
    )
    upgrade(engine)
    with engine.begin() as conn:
        # Rows between two truncations are removed by DELETE (`engine`). With no vacuum,
        # the space of deleted rows is not handed out again, so a plain scan of a table
        # mostly returns its rows in the order they were written, as after a TRUNCATE
        # (tests that compare lists of rows still order them: PostgreSQL promises no order).
        for table in SQLModel.metadata.sorted_tables:
            conn.execute(text(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = false)'))
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Create the test PostgreSQL database when PLANNER_TEST_POSTGRES_URL names a missing one,
    drop the schemas of killed runs (`drop_stale_schemas`) and clear the catalog rows
    earlier runs left dead (see `_vacuum_catalog`)."""
    if not POSTGRES_URL:
        return
    try:
        ensure_database(POSTGRES_URL)
        if not hasattr(session.config, "workerinput"):  # once, not in every xdist worker
            drop_stale_schemas(POSTGRES_URL)
            _vacuum_catalog(CATALOG_TABLES)
    except DBAPIError as err:
        pytest.exit(
            f"PLANNER_TEST_POSTGRES_URL: {err.orig}", returncode=pytest.ExitCode.USAGE_ERROR
        )


# Every TRUNCATE between tests gives each table and index a new file, that is a new row in
# pg_class, and leaves the old one dead: a few hundred thousand dead rows a run. A server
# without autovacuum (the test server may have it off) keeps them from run to run, and
# every catalog lookup reads past them.
CATALOG_TABLES = (
    "pg_class",
    "pg_attribute",
    "pg_attrdef",
    "pg_constraint",
    "pg_depend",
    "pg_index",
    "pg_namespace",
    "pg_sequence",
    "pg_statistic",
    "pg_trigger",
    "pg_type",
)
VACUUM_EVERY = 200  # PostgreSQL tests of one process between two vacuums of pg_class
_RESETS = itertools.count(1)  # the PostgreSQL resets this process made


def _vacuum_catalog(tables: Sequence[str]) -> None:
    """VACUUM the test database's catalog `tables` (skipping one another process is busy
    with); the harness connects as a superuser, as the planner's own role need not."""
    assert POSTGRES_URL
    maintenance = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            names = ", ".join(f"pg_catalog.{table}" for table in tables)
            conn.execute(text(f"VACUUM (SKIP_LOCKED) {names}"))
    finally:
        maintenance.dispose()


# Every table of the planner (alembic_version is not one): reset between PostgreSQL tests.
_TABLES = ", ".join(table.name for table in SQLModel.metadata.sorted_tables)


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, sqlite_template: Path) -> Iterator[Engine]:
    """A freshly migrated, empty database: SQLite file or PostgreSQL schema."""
    if request.param == "sqlite":
        eng: Engine = request.getfixturevalue("_sqlite_engine")
        eng.dispose()  # the pooled connections were opened on the last test's database
        assert eng.url.database
        swap_in_copy(sqlite_template, Path(eng.url.database))
        yield eng
        eng.dispose()
        return
    pg: Engine = request.getfixturevalue("postgres_engine")
    reset = next(_RESETS)
    if reset % VACUUM_EVERY == 0:
        _vacuum_catalog(["pg_class"])
    with pg.begin() as conn:
        # audit_events refuses TRUNCATE and DELETE (triggers): the harness connects as
        # superuser and resets the database between tests with triggers off for this one
        # transaction, a privilege the planner's own database role does not have.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        if reset % TRUNCATE_EVERY == 0:
            conn.execute(text(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE"))
        else:
            conn.exec_driver_sql(_emptying(conn))
    yield pg


# A DELETE of every table and a restart of every id sequence takes 10 ms where a TRUNCATE
# takes 100 (it gives each table and index a new file); every TRUNCATE_EVERY-th reset of
# a process truncates all the same, so that the dead rows DELETE leaves (autovacuum is off
# for the test schema's tables, see `postgres_engine`) cannot pile up.
TRUNCATE_EVERY = 50
_EMPTYING: list[str] = []


def _emptying(conn: Connection) -> str:
    """The statements that empty every planner table and restart its ids at 1 (triggers
    off), read once per process from the schema's sequences."""
    if not _EMPTYING:
        sequences = conn.execute(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
        ).scalars()
        deletes = [f'DELETE FROM "{table.name}"' for table in SQLModel.metadata.sorted_tables]
        restarts = ", ".join(f"setval('\"{name}\"', 1, false)" for name in sequences)
        _EMPTYING.append("; ".join([*deletes, f"SELECT {restarts}"]))
    return _EMPTYING[0]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on the test database that keeps objects readable after commit."""
    with Session(engine, expire_on_commit=False) as s:
        yield s


class World:
    """A small organisation: departments and one user per role, created on demand."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.admin = users.create_user(
            session,
            actor=None,
            data={
                "username": "admin",
                "display_name": "Admin",
                "role": "admin",
                "password": PASSWORD,
            },
        )
        for name in ("Marketing", "HR"):
            users.create_department(session, actor=self.admin, name=name)
        self.editor = self.user("editor", Role.editor)
        self.editor2 = self.user("editor2", Role.editor)
        self.approver = self.user("approver", Role.approver)
        self.contributor = self.user("contrib", Role.contributor, department="Marketing")
        self.hr_contributor = self.user("hrcontrib", Role.contributor, department="HR")

    def user(self, username: str, role: Role, department: str | None = None) -> User:
        """Create one more account."""
        data: dict[str, Any] = {
            "username": username,
            "display_name": username.title(),
            "role": role.value,
            "password": PASSWORD,
        }
        if department:
            data["department"] = department
        return users.create_user(self.session, actor=self.admin, data=data)


@pytest.fixture
def world(session: Session) -> World:
    """Departments Marketing and HR, and a user for every role."""
    return World(session)


def allow_private_network(session: Session, admin: User) -> None:
    """Let channels reach this machine, as an admin does for intranet servers.

    The tests' receivers listen on 127.0.0.1, which channels may not reach by default.
    """
    org_settings.set_setting(session, actor=admin, key="allow_private_network", value="on")


@pytest.fixture
def private_network(world: World) -> World:
    """`world`, where channels may reach servers on this machine (the tests' own)."""
    allow_private_network(world.session, world.admin)
    return world


def utc(*args: int) -> datetime:
    """An aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def feb(day: int, hour: int = 0, minute: int = 0, *, year: int | None = None) -> datetime:
    """Day `day` of next year's February counted from its first Monday, as a UTC instant:
    `feb(2, 8, 30)` is the Tuesday after that Monday at 08:30, whatever weekday 1 February
    falls on, so that tests of weekly slots hold in every year."""
    year = year or datetime.now(UTC).year + 1
    first = date(year, 2, 1)
    moved = first + timedelta(days=-first.weekday() % 7 + day - 1)
    return datetime(moved.year, moved.month, moved.day, hour, minute, tzinfo=UTC)


def last_sunday(year: int, month: int) -> int:
    """The day of the month's last Sunday: Europe's DST changes (March, October)."""
    last = date(year, month + 1, 1) - timedelta(days=1)
    return last.day - (last.weekday() + 1) % 7


def feb_day(day: int) -> str:
    """`feb(day)`'s date as typed in a form or a file: YYYY-MM-DD."""
    return f"{feb(day):%Y-%m-%d}"


# First among the plugins: pytest-xdist reads the groups in this same hook, so a group added
# after it had run would be ignored (the browser tests were spread over every worker).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that runs on PostgreSQL, so CI can prove none was skipped; put the
    browser tests (marked e2e) in one xdist group, so with `--dist loadgroup` they run one
    after another in one worker: never two Chromiums and dashboards at once, whose timing
    the other worker's tests would then squeeze from both sides."""
    for item in items:
        params = getattr(item, "callspec", None)
        if params is not None and "postgresql" in params.params.values():
            item.add_marker(pytest.mark.postgres)
        if item.get_closest_marker("e2e") is not None:
            item.add_marker(pytest.mark.xdist_group("browser"))


def _required_but_skipped(stats: dict[str, list[Any]]) -> list[Any]:
    """Skipped tests that CI requires: PostgreSQL ones and the browser test (marked e2e:
    CI installs chromium) with PLANNER_REQUIRE_POSTGRES=1, or any at all
    (PLANNER_REQUIRE_ALL_TESTS=1: the test command installs every server and browser the
    tests use, so a skip there means something is missing)."""
    skipped = stats.get("skipped", [])
    if REQUIRE_ALL:
        return list(skipped)
    if REQUIRE_POSTGRES:
        return [rep for rep in skipped if _marked(rep, "postgres") or _marked(rep, "e2e")]
    return []


def _marked(rep: Any, marker: str) -> bool:
    return marker in getattr(rep, "keywords", {})


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Name the required tests that were skipped (they fail the run)."""
    skipped = _required_but_skipped(terminalreporter.stats)
    if skipped:
        postgres = sum(1 for rep in skipped if _marked(rep, "postgres"))
        browser = sum(1 for rep in skipped if _marked(rep, "e2e"))
        terminalreporter.write_line(
            f"FAILED: {len(skipped)} required test(s) were skipped "
            f"({postgres} of them PostgreSQL tests, {browser} browser tests)",
            red=True,
        )
        for rep in skipped:
            terminalreporter.write_line(f"  skipped: {rep.nodeid}", red=True)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Turn skipped required tests into a failing exit code."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = getattr(reporter, "stats", {}) if reporter else {}
    if _required_but_skipped(stats):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
