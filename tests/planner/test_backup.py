"""Backups and restores on SQLite and PostgreSQL: every row comes back, the audit chain holds,
a copy taken while someone writes is consistent, and nothing is replaced by accident."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, Table, func, inspect, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from planner import (
    audit,
    backup,
    calendar_feeds,
    ideas,
    org_settings,
    sessions,
    tracked_links,
    users,
)
from planner.config import REPO_ROOT
from planner.credentials import new_key
from planner.db import make_engine
from planner.demo import load_demo
from planner.errors import (
    ConfigurationError,
    ExportFailed,
    PermissionDenied,
    PlannerError,
    RestoreFailed,
    RestoreRefused,
)
from planner.migrate import current_revision, head_revision, upgrade
from planner.models import (
    AuditEvent,
    Channel,
    Department,
    EditorDraft,
    Feed,
    FormSubmission,
    Idea,
    InboxItem,
    InboxSource,
    LatestMetrics,
    ListeningState,
    MediaFile,
    MetricCollection,
    MetricFetch,
    MetricPause,
    MetricSnapshot,
    Notification,
    NotificationPreference,
    Piece,
    Post,
    PostHold,
    PublishAttempt,
    PublishingRule,
    RecordedFinding,
    ResponseTarget,
    Role,
    RuleOverride,
    User,
    WorkerHeartbeat,
    utcnow,
)
from tests.conftest import POSTGRES_URL, World

DEMO_PASSWORD = "demo-" + uuid.uuid4().hex[:12]  # made per run: no credential in the code
Rows = dict[str, list[tuple[Any, ...]]]


# --- databases ---------------------------------------------------------------------------


def _server() -> Engine:
    assert POSTGRES_URL
    return make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")


def _schema(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT current_schema()")).scalar())


@pytest.fixture
def blank(engine: Engine, tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    """Makes empty databases of `engine`'s kind. PostgreSQL: a database of its own (pg_dump
    reads a whole database) holding an empty schema named like the test schema."""
    made: list[tuple[Engine, str | None]] = []

    def make() -> Engine:
        if engine.dialect.name == "sqlite":
            target = make_engine(f"sqlite:///{tmp_path / f'blank-{len(made)}.db'}")
            made.append((target, None))
            return target
        name = f"planner_restore_{uuid.uuid4().hex[:10]}"
        server = _server()
        with server.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        server.dispose()
        schema = _schema(engine)
        url = make_url(POSTGRES_URL or "").set(database=name)
        target = make_engine(
            url.render_as_string(hide_password=False),
            connect_args={"options": f"-csearch_path={schema}"},
        )
        made.append((target, name))
        with target.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        return target

    yield make
    for target, name in made:
        target.dispose()
        if name is not None:
            server = _server()
            with server.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            server.dispose()


@pytest.fixture
def secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Channel secrets are encrypted with a key of this run, never one in a file."""
    monkeypatch.setenv("PLANNER_SECRET_KEY", new_key())


def _fill(session: Session) -> User:
    """The demo organisation plus a row in every table the demo leaves empty; its admin."""
    result = load_demo(session, password=DEMO_PASSWORD)
    admin = users.get_user(
        session, next(login.username for login in result.logins if login.role == Role.admin)
    )
    org_settings.set_setting(session, actor=admin, key="max_lateness_hours", value="12")
    sessions.start(session, user=admin, client="127.0.0.1 Firefox")
    with pytest.raises(PlannerError):
        users.authenticate(session, username=admin.username, password="falsch", client="10.0.0.9")
    post_id = session.exec(select(func.min(Post.id))).one()
    session.add(PublishAttempt(post_id=post_id, worker="w1", outcome="failed", error="503"))
    session.add(
        PublishAttempt(
            post_id=post_id,
            worker="w1",
            outcome="rule",
            error="held by a publishing rule: quiet time on this channel",
            reason='{"code":"rule_quiet","text":"quiet time on this channel","params":{}}',
        )
    )
    session.add(MetricSnapshot(post_id=post_id, reactions=4, raw={"favourites_count": 4}))
    session.add(PostHold(post_id=post_id, reason="frozen", started_at=utcnow()))
    post = session.get(Post, post_id)
    assert post is not None
    session.add(
        MetricCollection(
            post_id=post_id, channel_id=post.channel_id, published_at=post.publish_at, round=1
        )
    )
    session.add(MetricFetch(post_id=post_id, round=0, worker="w1", outcome="ok", http_status=200))
    session.add(MetricPause(channel_id=post.channel_id, paused_until=post.publish_at))
    session.add(WorkerHeartbeat(worker_id="w1", hostname="host", pid=4242, published=3))
    tracked_links.codes_for(session, post_id, ["https://example.com/grüße"])
    assert admin.id is not None
    session.add(FormSubmission(token="t" * 43, user_id=admin.id, action="idea", object_id=1))
    session.add(
        Notification(user_id=admin.id, kind="post_failed", object_type="post", object_id=post_id)
    )
    session.add(NotificationPreference(user_id=admin.id, kind="post_failed", email=True))
    calendar_feeds.create_feed(session, actor=admin, name="Alles")
    piece_id = session.exec(select(func.min(Piece.id))).one()
    session.add(EditorDraft(user_id=admin.id, piece_id=piece_id, base_revision=1, body="Entwurf"))
    rule_id = session.exec(select(func.min(PublishingRule.id))).one()
    session.add(
        RuleOverride(
            piece_id=piece_id,
            revision=1,
            rule_id=rule_id,
            justification="Zitat",
            approver_id=admin.id,
        )
    )
    feed = Feed(url="https://example.de/feed.xml", name="Fachpresse", created_by_id=admin.id)
    session.add(feed)
    session.flush()
    channel_id = session.exec(select(func.min(Channel.id))).one()
    session.add(
        RecordedFinding(
            step="submit",
            stopped=True,
            piece_id=piece_id,
            revision=1,
            channel_id=channel_id,
            rule_id=rule_id,
            rule="Keine Garantien",
            severity="block",
            actor_id=admin.id,
        )
    )
    session.add(ListeningState(channel_id=channel_id, cursor="110"))
    department_id = session.exec(select(func.min(Department.id))).one()
    session.add(ResponseTarget(department_id=department_id, hours=8))
    session.add(
        InboxItem(
            source=InboxSource.feed_item,
            source_key=f"feed:{feed.id}",
            feed_id=feed.id,
            external_id="urn:entry:1",
            text="Neue Studie",
            context={"entry": 1},
        )
    )
    # Bytes that are no valid UTF-8 text: a backup must keep them exactly.
    content = b"\x89PNG\r\n\x1a\n\x00\xff\xfe" + bytes(range(256))
    session.add(
        MediaFile(
            piece_id=piece_id,
            filename="logo.png",
            mime_type="image/png",
            size=len(content),
            sha256="0" * 64,
            content=content,
            uploaded_by_id=admin.id,
        )
    )
    session.commit()
    return admin


@pytest.fixture
def filled(engine: Engine, session: Session, secret_key: None) -> User:
    """`engine` holds rows in every table; returns its admin."""
    admin = _fill(session)
    assert [name for name, rows in _rows(engine).items() if not rows] == []
    return admin


def _rows(engine: Engine) -> Rows:
    """Every table of the database (alembic_version too) with all its rows, sorted."""
    with engine.connect() as conn:
        found: Rows = {}
        for name in sorted(inspect(conn).get_table_names()):
            table = Table(name, MetaData(), autoload_with=conn)
            found[name] = sorted((tuple(row) for row in conn.execute(table.select())), key=repr)
        return found


def _chain(engine: Engine) -> audit.ChainReport:
    with Session(engine) as s:
        admin = next(u for u in s.exec(select(User)) if u.role == Role.admin)
        return audit.verify(s, actor=admin)


def _events(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent).order_by(AuditEvent.id)))


def _without_last_event(rows: Rows) -> Rows:
    """`rows` without the newest audit event (the restore's own)."""
    newest = max(row[0] for row in rows["audit_events"])
    return {**rows, "audit_events": [row for row in rows["audit_events"] if row[0] != newest]}


def _backed_up(engine: Engine, admin: User, tmp_path: Path) -> Path:
    path = tmp_path / "planner.backup"
    backup.back_up(engine=engine, actor=admin, path=path)
    return path


# --- a backup comes back whole -------------------------------------------------------------


@pytest.mark.parametrize(
    "migrated", [pytest.param(False, id="blank"), pytest.param(True, id="migrated")]
)
def test_every_row_of_every_table_comes_back_in_an_empty_database(
    engine: Engine,
    filled: User,
    blank: Callable[[], Engine],
    tmp_path: Path,
    migrated: bool,
) -> None:
    before = _rows(engine)
    path = tmp_path / "planner.backup"

    made = backup.back_up(engine=engine, actor=filled, path=path)
    target = blank()
    if migrated:
        upgrade(target)
    restored = backup.restore(engine=target, actor=None, path=path)

    assert (made.revision, restored.backup_revision) == (head_revision(engine),) * 2
    assert current_revision(target) == made.revision
    after = _rows(target)
    assert _without_last_event(after) == before
    assert set(after) == set(before)
    assert restored.chain.intact and restored.chain.events == len(before["audit_events"]) + 1
    assert _chain(target).intact
    done = _events(target)[-1]
    assert (done.action, done.actor_name, made.sha256 in done.note) == ("restore", "system", True)
    # The source recorded the backup, with the file's digest, after the copy was taken.
    noted = _events(engine)[-1]
    assert (noted.action, noted.actor_name) == ("backup", filled.username)
    assert made.sha256 in noted.note and str(path) in noted.note
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_the_restored_database_works_and_its_audit_log_still_refuses_changes(
    engine: Engine, filled: User, blank: Callable[[], Engine], tmp_path: Path
) -> None:
    path = _backed_up(engine, filled, tmp_path)
    target = blank()
    backup.restore(engine=target, actor=None, path=path)

    with Session(target) as s:
        admin = users.get_user(s, filled.username)
        newest = max(i.id or 0 for i in s.exec(select(Idea)))
        made = ideas.submit_idea(
            s,
            actor=admin,
            data={
                "title": "Nach der Wiederherstellung",
                "pitch": "Was seither geschah",
                "department": "HR",
            },
        )
        assert (made.idea.id or 0) > newest  # the id sequences came back too
        assert users.authenticate(s, username=admin.username, password=DEMO_PASSWORD) == admin
        # The triggers that keep each post's latest figures came back with the table.
        post_id = s.exec(select(func.min(Post.id))).one()
        s.add(MetricSnapshot(post_id=post_id, reactions=9, raw={}))
        s.commit()
        kept = s.get(LatestMetrics, post_id)
        assert kept is not None and kept.reactions == 9
    for statement in ("UPDATE audit_events SET note = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), target.begin() as conn:
            conn.execute(text(statement))
    assert _chain(target).intact


def test_a_backup_taken_while_ideas_are_written_is_one_moment_of_the_database(
    engine: Engine, world: World, blank: Callable[[], Engine], tmp_path: Path
) -> None:
    stop = threading.Event()
    written: list[int] = []
    failures: list[BaseException] = []

    def write() -> None:
        try:
            with Session(engine) as s:
                author = users.get_user(s, world.contributor.username)
                while not stop.is_set() or len(written) < 3:
                    n = len(written)
                    ideas.submit_idea(
                        s,
                        actor=author,
                        data={
                            "title": f"Idee {n}",
                            "pitch": f"Worum es in {n} geht",
                            "department": "Marketing",
                        },
                    )
                    written.append(n)
        except BaseException as err:  # noqa: BLE001 - re-raised below, in the test's own thread
            failures.append(err)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while not written and writer.is_alive():
            threading.Event().wait(0.01)
        during = len(written)
        path = tmp_path / "busy.backup"
        backup.back_up(engine=engine, actor=world.admin, path=path)
        after = len(written)
    finally:
        stop.set()
        writer.join()
    assert failures == []
    target = blank()
    backup.restore(engine=target, actor=None, path=path)

    with Session(target) as s:
        stored = {i.id for i in s.exec(select(Idea))}
        submitted = {
            int(e.object_id)
            for e in s.exec(select(AuditEvent).where(AuditEvent.action == "submit"))
        }
    # Each idea came with its audit event in one transaction: the copy has both or neither.
    assert stored == submitted
    assert during <= len(stored) <= after + 1
    assert len(written) >= 3  # it wrote before the copy began, and on while it could
    assert _chain(target).intact
    if target.dialect.name == "sqlite":
        with target.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []


# --- nothing is replaced by accident ---------------------------------------------------------


def test_a_restore_over_data_is_refused_without_force_and_changes_nothing(
    engine: Engine, filled: User, blank: Callable[[], Engine], tmp_path: Path
) -> None:
    path = _backed_up(engine, filled, tmp_path)
    target = blank()
    upgrade(target)
    with Session(target, expire_on_commit=False) as s:
        other = World(s)
    before = _rows(target)

    with pytest.raises(RestoreRefused, match="already holds data"):
        backup.restore(engine=target, actor=other.admin, path=path)
    for actor in (None, other.editor, other.approver, other.contributor):
        with pytest.raises(PermissionDenied):
            backup.restore(engine=target, actor=actor, path=path, force=True)
    assert _rows(target) == before


def test_force_replaces_everything_by_an_admin_of_the_database_as_it_was(
    engine: Engine, filled: User, blank: Callable[[], Engine], tmp_path: Path
) -> None:
    source = _rows(engine)
    path = _backed_up(engine, filled, tmp_path)
    target = blank()
    upgrade(target)
    with Session(target, expire_on_commit=False) as s:
        other = World(s)
        other.user("nur-hier", Role.admin)

    result = backup.restore(engine=target, actor=other.admin, path=path, force=True)

    assert result.chain.intact
    assert _without_last_event(_rows(target)) == source
    with Session(target) as s:
        assert [u.username for u in s.exec(select(User)) if u.username == "nur-hier"] == []
    assert (_events(target)[-1].action, _events(target)[-1].actor_name) == ("restore", "admin")


def test_a_broken_backup_leaves_the_database_as_it_was(
    engine: Engine, world: World, tmp_path: Path
) -> None:
    whole = _backed_up(engine, world.admin, tmp_path).read_bytes()
    broken = tmp_path / "broken.backup"
    broken.write_bytes(whole[: len(whole) * 3 // 4])  # cut off, as by a full disk elsewhere
    world.session.commit()  # no transaction of this test holds a table the restore drops
    before = _rows(engine)

    with pytest.raises((RestoreRefused, RestoreFailed)):
        backup.restore(engine=engine, actor=world.admin, path=broken, force=True)
    assert _rows(engine) == before


def test_only_admins_back_up(engine: Engine, world: World, tmp_path: Path) -> None:
    events = len(_events(engine))
    out = tmp_path / "out"
    out.mkdir()
    for actor in (world.editor, world.approver, world.contributor):
        with pytest.raises(PermissionDenied, match="may not back up the database"):
            backup.back_up(engine=engine, actor=actor, path=out / "planner.backup")
    assert list(out.iterdir()) == []
    assert len(_events(engine)) == events


def test_an_existing_file_is_replaced_only_when_forced(
    engine: Engine, world: World, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    path = out / "planner.backup"
    path.write_bytes(b"the only copy of something else")

    with pytest.raises(ExportFailed, match="exists already"):
        backup.back_up(engine=engine, actor=world.admin, path=path)
    assert path.read_bytes() == b"the only copy of something else"
    assert [p.name for p in out.iterdir()] == ["planner.backup"]

    backup.back_up(engine=engine, actor=world.admin, path=path, force=True)
    assert backup.read_backup(path).revision == head_revision(engine)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("end", ["", "-wal", "-journal"])
def test_a_backup_onto_the_database_itself_is_refused_also_when_forced(
    engine: Engine, world: World, end: str
) -> None:
    assert engine.url.database
    live = Path(engine.url.database)
    before = live.resolve().read_bytes() if not end else None
    target = live.with_name(live.name + end)
    with pytest.raises(ExportFailed, match="the database itself"):
        backup.back_up(engine=engine, actor=world.admin, path=target, force=True)
    if before is not None:
        assert live.resolve().read_bytes() == before
    assert backup.holds_data(engine)  # still the live database, accounts and all


def _sqlite_file(tmp_path: Path, name: str, sql: str) -> Path:
    path = tmp_path / name
    with sqlite3.connect(path) as conn:
        conn.executescript(sql)
    return path


def test_files_that_are_not_planner_backups_are_refused(
    engine: Engine, world: World, tmp_path: Path
) -> None:
    (tmp_path / "random.bin").write_bytes(os.urandom(4096))
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "dump.sql").write_text("--\n-- PostgreSQL database dump\n--\n", encoding="utf-8")
    _sqlite_file(tmp_path, "other.db", "CREATE TABLE notes (id integer primary key);")
    cases = {
        "random.bin": "neither a SQLite database nor a pg_dump archive",
        "empty": "neither a SQLite database nor a pg_dump archive",
        "dump.sql": "plain SQL dump",
        # Into PostgreSQL, a SQLite file is refused for its type before anything else.
        "other.db": "but not a planner backup"
        if engine.dialect.name == "sqlite"
        else "is a SQLite backup, but this planner's database is PostgreSQL",
        "missing": "cannot read",
    }
    before = _rows(engine)
    for name, message in cases.items():
        with pytest.raises(RestoreRefused, match=message):
            backup.restore(engine=engine, actor=world.admin, path=tmp_path / name, force=True)
    assert _rows(engine) == before


def test_a_backup_from_a_newer_planner_is_refused(
    engine: Engine, world: World, tmp_path: Path
) -> None:
    sqlite_engine = make_engine(f"sqlite:///{tmp_path / 'src.db'}")
    upgrade(sqlite_engine)
    with Session(sqlite_engine, expire_on_commit=False) as s:
        admin = World(s).admin
    path = tmp_path / "newer.backup"
    backup.back_up(engine=sqlite_engine, actor=admin, path=path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    target = make_engine(f"sqlite:///{tmp_path / 'target.db'}")

    with pytest.raises(RestoreRefused, match="revision '0099', which this planner does not know"):
        backup.restore(engine=target, actor=None, path=path)
    assert current_revision(target) is None
    sqlite_engine.dispose()
    target.dispose()


def test_a_backup_of_the_other_database_type_is_refused_with_its_type(
    engine: Engine, world: World, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    path = tmp_path / "planner.backup"
    backup.back_up(engine=engine, actor=world.admin, path=path)
    if engine.dialect.name == "sqlite":
        other: Engine = request.getfixturevalue("postgres_engine")
        said = "is a SQLite backup, but this planner's database is PostgreSQL"
    else:
        other = make_engine(f"sqlite:///{tmp_path / 'embedded.db'}")
        said = "is a PostgreSQL backup, but this planner's database is SQLite"
    before = _rows(other)

    with pytest.raises(RestoreRefused, match=said):
        backup.restore(engine=other, actor=None, path=path, force=True)
    assert _rows(other) == before


# --- failures leave nothing behind ---------------------------------------------------------

FILE_SIZE_LIMIT = 64 * 1024  # smaller than any backup of the filled database


def _limit_file_size() -> None:
    """A full disk, for this process and the tools it starts: writes fail with EFBIG."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))


def _database_url(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return engine.url.render_as_string(hide_password=False)
    url = make_url(POSTGRES_URL or "").set(query={"options": f"-csearch_path={_schema(engine)}"})
    return url.render_as_string(hide_password=False)


def test_a_full_disk_leaves_no_partial_backup_and_records_none(
    engine: Engine, filled: User, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    events = len(_events(engine))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLANNER_")}
    env.update(
        PLANNER_DATABASE_URL=_database_url(engine),
        # The run's key file (tests/conftest.py), never the checkout's data/.
        PLANNER_SECRET_KEY_FILE=os.environ["PLANNER_SECRET_KEY_FILE"],
        PYTHONDONTWRITEBYTECODE="1",
    )

    done = subprocess.run(
        [sys.executable, "-m", "planner", "backup", str(out / "planner.backup")],
        cwd=REPO_ROOT,
        env={**env, "PLANNER_USER": filled.username},
        preexec_fn=_limit_file_size,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("error: cannot write"), done.stderr
    assert "the file was left unchanged" in done.stderr
    assert list(out.iterdir()) == []
    assert len(_events(engine)) == events


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_without_pg_dump_the_backup_says_what_to_install(
    engine: Engine, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with engine.connect() as conn:
        major = int(conn.execute(text("SHOW server_version_num")).scalar() or 0) // 10000

    with pytest.raises(ConfigurationError, match="pg_dump is not installed") as refused:
        backup.back_up(engine=engine, actor=world.admin, path=tmp_path / "planner.backup")
    assert f"postgresql-client-{major}" in str(refused.value)
    assert not (tmp_path / "planner.backup").exists()


_RECORDING_PG_DUMP = """#!/bin/sh
printf '%s\\n' "$@" > "{record}.args"
env > "{record}.env"
cat "$PGPASSFILE" > "{record}.pgpass"
echo "$PGPASSFILE" > "{record}.pgpassfile"
exec {real} "$@"
"""


# A pg_dump that fails and prints the password it was given.
_LEAKING_PG_DUMP = """#!/bin/sh
echo "pg_dump: error: password $(cut -d: -f5 "$PGPASSFILE") rejected" >&2
exit 1
"""


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_the_password_reaches_pg_dump_only_through_a_private_password_file(
    engine: Engine, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = shutil.which("pg_dump")
    assert real is not None
    record = tmp_path / "record"
    wrapper = tmp_path / "bin" / "pg_dump"
    wrapper.parent.mkdir()
    wrapper.write_text(_RECORDING_PG_DUMP.format(record=record, real=real), encoding="utf-8")
    wrapper.chmod(0o700)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    password = "pw-" + uuid.uuid4().hex  # the test server trusts local clients: any works
    url = make_url(POSTGRES_URL or "").set(password=password)
    with_password = make_engine(
        url.render_as_string(hide_password=False),
        connect_args={"options": f"-csearch_path={_schema(engine)}"},
    )

    backup.back_up(engine=with_password, actor=world.admin, path=tmp_path / "planner.backup")

    assert password not in Path(f"{record}.args").read_text(encoding="utf-8")
    assert password not in Path(f"{record}.env").read_text(encoding="utf-8")
    assert password in Path(f"{record}.pgpass").read_text(encoding="utf-8")
    assert not Path(Path(f"{record}.pgpassfile").read_text(encoding="utf-8").strip()).exists()

    wrapper.write_text(_LEAKING_PG_DUMP, encoding="utf-8")
    with pytest.raises(ExportFailed, match=r"pg_dump failed: .*password \*\*\* rejected") as failed:
        backup.back_up(engine=with_password, actor=world.admin, path=tmp_path / "other.backup")
    assert password not in str(failed.value)
    assert not (tmp_path / "other.backup").exists()
    with_password.dispose()


# --- a restore never loses what it does not replace ----------------------------------------


def _other_tables(engine: Engine) -> None:
    """Tables that are not the planner's: `kunden` with rows, `notizen` empty."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE kunden (id integer primary key, name varchar(40))"))
        conn.execute(text("INSERT INTO kunden VALUES (1, 'Müller GmbH'), (2, 'Schmidt KG')"))
        conn.execute(text("CREATE TABLE notizen (id integer primary key)"))


@pytest.fixture
def other_tables(engine: Engine) -> Iterator[Engine]:
    """`engine` with the tables of `_other_tables`, dropped afterwards (the PostgreSQL test
    schema is shared by the tests of a process)."""
    _other_tables(engine)
    yield engine
    with engine.begin() as conn:
        for name in ("kunden", "notizen"):
            conn.execute(text(f"DROP TABLE IF EXISTS {name}"))


@pytest.mark.parametrize(
    "migrated", [pytest.param(False, id="blank"), pytest.param(True, id="migrated")]
)
def test_a_database_with_tables_that_are_not_the_planners_is_never_restored_over(
    engine: Engine,
    world: World,
    blank: Callable[[], Engine],
    tmp_path: Path,
    migrated: bool,
) -> None:
    path = _backed_up(engine, world.admin, tmp_path)
    target = blank()
    if migrated:
        upgrade(target)  # the planner's tables, all empty
    _other_tables(target)
    before = _rows(target)

    with pytest.raises(RestoreRefused, match="already holds data") as refused:
        backup.restore(engine=target, actor=None, path=path)
    assert "kunden (with rows)" in str(refused.value)
    assert "notizen (empty)" in str(refused.value)
    # --force replaces the planner's tables; tables it does not know it never drops.
    with pytest.raises(RestoreRefused, match="not the planner's and not in the backup: kunden"):
        backup.restore(engine=target, actor=None, path=path, force=True)
    assert _rows(target) == before


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_what_an_extension_put_in_the_schema_is_not_taken_for_data(
    engine: Engine, world: World, blank: Callable[[], Engine], tmp_path: Path
) -> None:
    """pg_buffercache's view in the planner's schema (many managed servers install such
    extensions) neither counts as another program's data nor keeps a restore out; a view
    that cannot be read counts as data, named, rather than failing the check."""
    path = _backed_up(engine, world.admin, tmp_path)
    target = blank()
    with target.begin() as conn:
        conn.execute(text(f'CREATE EXTENSION pg_buffercache SCHEMA "{_schema(engine)}"'))
    assert backup.contents(target).empty
    backup.restore(engine=target, actor=None, path=path)
    assert backup.holds_data(target)
    with target.begin() as conn:
        conn.execute(text("CREATE VIEW kaputt AS SELECT 1 / 0 AS x"))
    with pytest.raises(RestoreRefused, match=r"kaputt \(with rows\)"):
        backup.restore(engine=target, actor=None, path=path)


def test_tables_of_others_that_the_backup_holds_come_back_with_force(
    other_tables: Engine, world: World, tmp_path: Path
) -> None:
    engine = other_tables
    path = _backed_up(engine, world.admin, tmp_path)
    world.session.commit()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM kunden WHERE id = 2"))

    with pytest.raises(RestoreRefused, match=r"kunden \(with rows\)"):
        backup.restore(engine=engine, actor=world.admin, path=path)
    backup.restore(engine=engine, actor=world.admin, path=path, force=True)

    assert _rows(engine)["kunden"] == [(1, "Müller GmbH"), (2, "Schmidt KG")]


# --- a restore that fails leaves the database as it was -------------------------------------

OLD_REVISION = "0019"  # 0020 creates post_holds


def old_backup(make: Callable[[], Engine], path: Path) -> Path:
    """A backup at revision 0019 whose migration fails: it holds a table `post_holds` of its
    own, which migration 0020 creates."""
    source = make()
    upgrade(source, OLD_REVISION)
    with Session(source, expire_on_commit=False) as s:
        admin = World(s).admin
    with source.begin() as conn:
        conn.execute(text("CREATE TABLE post_holds (x integer)"))
    backup.back_up(engine=source, actor=admin, path=path)
    source.dispose()
    assert backup.read_backup(path).revision == OLD_REVISION
    return path


@pytest.mark.parametrize("force", [pytest.param(False, id="empty"), pytest.param(True, id="data")])
def test_a_restore_whose_migration_fails_leaves_the_database_as_it_was(
    engine: Engine,
    world: World,
    blank: Callable[[], Engine],
    tmp_path: Path,
    force: bool,
) -> None:
    path = old_backup(blank, tmp_path / "old.backup")
    target = engine if force else blank()
    if not force:
        upgrade(target)
    world.session.commit()  # no transaction of this test holds a table the restore replaces
    before = _rows(target)

    with pytest.raises(RestoreFailed, match="migrating it from schema revision 0019") as failed:
        backup.restore(engine=target, actor=world.admin, path=path, force=force)

    assert "post_holds" in str(failed.value)
    assert str(failed.value).endswith("the database was left unchanged")
    assert "\n" not in str(failed.value)
    assert _rows(target) == before
    assert current_revision(target) == head_revision(target)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert [
        p.name
        for p in Path(target.url.database or tmp_path).parent.iterdir()
        if ".restore" in p.name
    ] == []


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_restore_whose_sql_fails_leaves_the_database_as_it_was_and_says_why(
    engine: Engine, world: World, tmp_path: Path
) -> None:
    path = _backed_up(engine, world.admin, tmp_path)
    world.session.commit()  # no transaction of this test holds a table the restore drops
    with engine.begin() as conn:  # dropping `users` keeps it: the archive's CREATE fails
        conn.execute(text("ALTER SEQUENCE users_id_seq OWNED BY NONE"))
    before = _rows(engine)
    try:
        with pytest.raises(RestoreFailed, match='"users_id_seq" already exists') as failed:
            backup.restore(engine=engine, actor=world.admin, path=path, force=True)
        assert "\n" not in str(failed.value)
        assert _rows(engine) == before
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER SEQUENCE users_id_seq OWNED BY users.id"))
