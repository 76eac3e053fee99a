"""Backups of the whole database, and their restore, while the planner keeps running.

A backup is a consistent copy: every table as one moment in time, even while the dashboard
and workers write. SQLite copies every page with the online backup API in one step, inside
one read transaction. PostgreSQL runs `pg_dump` (custom format) on the planner's schema:
pg_dump reads every table in one snapshot. The file is written next to its target, synced
and renamed into place, so a failure never leaves a partial backup behind.

A restore replaces the planner's tables with the backup's, migrated to this planner's
revision, and records itself in the restored audit log, in one step: a restore that fails
leaves the database as it was. SQLite migrates a copy of the backup beside the database,
then copies it over the database with the backup API (one write transaction). PostgreSQL
drops the planner's tables, recreates them from the archive (`pg_restore` turns it into
SQL) and migrates them in one transaction of one connection. Tables that are not the
planner's are never lost: a database holding any that the backup does not hold is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from alembic import command
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import URL, Connection, Engine, inspect, literal, select, table, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session, SQLModel

from planner import audit
from planner.db import make_engine
from planner.errors import (
    ConfigurationError,
    ExportFailed,
    PermissionDenied,
    RestoreFailed,
    RestoreRefused,
)
from planner.migrate import alembic_config, current_revision, head_revision
from planner.models import User
from planner.permissions import require

if TYPE_CHECKING:
    import psycopg

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
BACKENDS = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PGDUMP_MAGIC = b"PGDMP"
# Tables every planner backup holds, whatever its revision.
_PLANNER_TABLES = frozenset({"alembic_version", "audit_events", "users"})
# pg_dump waits this long (ms) for its shared locks (a running migration holds them), a
# restore as long for its exclusive ones (other processes' open transactions hold them).
_LOCK_WAIT_MS = 120_000


@dataclass(frozen=True)
class BackupInfo:
    """What a backup file holds: its database type, schema revision and (PostgreSQL) schema."""

    path: Path
    backend: str
    revision: str
    schema: str | None = None
    tables: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()
    entries: tuple[str, ...] = ()  # PostgreSQL: the archive's table of contents


@dataclass(frozen=True)
class BackupResult:
    """A backup that was written: where, of which database type and revision, its digest."""

    path: Path
    backend: str
    revision: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RestoreResult:
    """A restore that was done: the backup's revision, the revision now, the audit chain."""

    path: Path
    backend: str
    backup_revision: str
    revision: str
    sha256: str
    chain: audit.ChainReport


# --- the state of a database ---------------------------------------------------------------


@dataclass(frozen=True)
class Contents:
    """What a database (PostgreSQL: the planner's schema) holds: the planner's tables that
    have a row, and the tables and views that are not the planner's, each with whether it
    has a row."""

    planner_rows: tuple[str, ...] = ()
    foreign: tuple[tuple[str, bool], ...] = ()

    @property
    def empty(self) -> bool:
        """No row in any table and no table of others: a restore may replace it unasked."""
        return not self.planner_rows and not self.foreign

    def describe(self) -> str:
        """The tables of others, then the planner's tables with rows (the first four)."""
        parts = []
        if self.foreign:
            listed = ", ".join(
                f"{name} ({'with rows' if rows else 'empty'})" for name, rows in self.foreign
            )
            parts.append(f"tables that are not the planner's: {listed}")
        if self.planner_rows:
            more = len(self.planner_rows) - 4
            parts.append(
                "rows in the planner's tables "
                + ", ".join(self.planner_rows[:4])
                + (f" and {more} more" if more > 0 else "")
            )
        return "; ".join(parts)


# The tables and views an installed extension put into the schema (pg_stat_statements'
# views, PostGIS's spatial_ref_sys): the extension's, not data anyone keeps there.
_EXTENSION_MEMBERS = text(
    "SELECT c.relname FROM pg_depend d JOIN pg_class c ON c.oid = d.objid "
    "WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' "
    "AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
)


def contents(engine: Engine) -> Contents:
    """Every table and view of the database (PostgreSQL: of the planner's schema, less what
    extensions installed there) and whether it has a row; the planner's own (its models'
    tables, alembic_version) apart from others'."""
    data_tables = {table.name for table in SQLModel.metadata.sorted_tables}
    with engine.connect() as conn:
        inspector = inspect(conn)
        found = {*inspector.get_table_names(), *inspector.get_view_names()}
        if conn.dialect.name == POSTGRESQL:
            found -= set(conn.execute(_EXTENSION_MEMBERS).scalars())
        names = sorted(found)
        rows = {name: _has_row(conn, name) for name in names}
    return Contents(
        planner_rows=tuple(name for name in names if name in data_tables and rows[name]),
        foreign=tuple(
            (name, rows[name])
            for name in names
            if name not in data_tables and name != "alembic_version"
        ),
    )


def _has_row(conn: Connection, name: str) -> bool:
    """Whether table or view `name` has a row; one that cannot be read (a view that fails)
    counts as having rows: nothing is taken for empty unseen."""
    query = select(literal(1)).select_from(table(name)).limit(1)
    # PostgreSQL: a failed statement ends only its savepoint, not the whole transaction.
    scope = conn.begin_nested() if conn.dialect.name == POSTGRESQL else nullcontext()
    try:
        with scope:
            return conn.execute(query).first() is not None
    except DBAPIError:
        return True


def holds_data(engine: Engine) -> bool:
    """Whether any planner table of the database has a row (a never-migrated one has none)."""
    return bool(contents(engine).planner_rows)


def _backend(engine: Engine | Connection) -> str:
    name = engine.dialect.name
    if name not in BACKENDS:
        raise ConfigurationError(f"backups support SQLite and PostgreSQL, not {name!r}")
    return name


def _known_revision(engine: Engine, revision: str) -> bool:
    try:
        ScriptDirectory.from_config(alembic_config(engine)).get_revision(revision)
    except CommandError:
        return False
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- making a backup ---------------------------------------------------------------------


def back_up(*, engine: Engine, actor: User, path: Path, force: bool = False) -> BackupResult:
    """Write a consistent copy of the whole database to `path` (admins).

    An existing file is replaced only with `force`. The backup is recorded in the audit log
    (with the file's SHA-256) once it is complete.
    """
    require(actor, "backup_database")
    backend = _backend(engine)
    if current_revision(engine) is None:
        raise ConfigurationError("the database is not initialised: there is nothing to back up")
    if backend == SQLITE and _is_database_file(engine, path):
        raise ExportFailed(path, "it is the database itself (or its journal): choose another file")
    copy = _copy_sqlite if backend == SQLITE else _dump_postgres
    info = _write_atomically(path, force, lambda temp: copy(engine, temp))
    result = BackupResult(
        path=path,
        backend=backend,
        revision=info.revision,
        size=path.stat().st_size,
        sha256=_sha256(path),
    )
    _record_database_event(
        engine,
        actor=actor,
        action="backup",
        note=f"backup at revision {result.revision} written to {str(path.absolute())!r} "
        f"({result.size} bytes, sha256 {result.sha256})",
    )
    return result


def _is_database_file(engine: Engine, path: Path) -> bool:
    """Whether `path` is the SQLite database of `engine` or one of its journal files (a
    forced backup there would replace the live database under the planner)."""
    database = engine.url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return False
    given = Path(database).absolute()
    names = {
        place.with_name(place.name + end)
        for place in (given, given.resolve())  # SQLite names its journals after either
        for end in ("", "-journal", "-wal", "-shm")
    }
    return path.absolute() in names or path.resolve() in names


def _record_database_event(
    bind: Engine | Connection,
    *,
    actor: User | None,
    action: str,
    note: str,
    actor_name: str | None = None,
) -> None:
    """Write one audit event about the whole database: in a transaction of its own on an
    engine, in the connection's open transaction on a connection."""
    with Session(bind) as session:
        audit.record(
            session,
            actor=actor,
            actor_name=actor_name,
            object_type="database",
            object_id=_backend(bind),
            action=action,
            note=note,
        )
        session.commit()


def _write_atomically(path: Path, force: bool, write: Callable[[Path], BackupInfo]) -> BackupInfo:
    """Run `write` into a new temporary file beside `path`, then sync and rename it there.

    The file is readable by its owner only (it holds password hashes and encrypted
    channel secrets). Any failure removes the temporary file: `path` is never partial.
    """
    if path.is_dir():
        raise ExportFailed(path, "it is a directory")
    if path.exists() and not force:
        raise ExportFailed(path, "it exists already; a backup replaces a file only when forced")
    temp = path.with_name(f".{path.name[:64]}.{secrets.token_hex(6)}.part")
    try:
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as err:
        raise ExportFailed(path, err.strerror or str(err)) from err
    try:
        info = write(temp)
        with temp.open("rb") as handle:
            os.fsync(handle.fileno())
        if force:
            os.replace(temp, path)
        else:
            os.link(temp, path)  # fails, rather than replaces, when the file appeared meanwhile
            temp.unlink()
        _sync_directory(path.parent)
    except ExportFailed as err:
        raise ExportFailed(path, err.reason) from err
    except RestoreRefused as err:
        raise ExportFailed(path, f"the copy does not read back as a backup: {err}") from err
    except FileExistsError as err:
        raise ExportFailed(
            path, "it exists already; a backup replaces a file only when forced"
        ) from err
    except OSError as err:
        raise ExportFailed(path, err.strerror or str(err)) from err
    finally:
        for leftover in (temp, *(Path(f"{temp}{end}") for end in ("-journal", "-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    return info


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy_sqlite(engine: Engine, temp: Path) -> BackupInfo:
    """Copy every page in one step: one read transaction, so one moment of the database."""
    raw = engine.raw_connection()
    try:
        source: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
        with closing(sqlite3.connect(temp)) as target:
            try:
                source.backup(target)
                # A file of its own: no write-ahead log beside it.
                target.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.Error as err:
                raise ExportFailed(temp, str(err)) from err
    finally:
        raw.close()
    return read_backup(temp)


def _dump_postgres(engine: Engine, temp: Path) -> BackupInfo:
    """pg_dump of the planner's schema: every table in one snapshot, in custom format."""
    pg_dump = _pg_tool("pg_dump", engine)
    schema = _current_schema(engine)
    with _pg_client(engine) as client:
        done = _run(
            [
                pg_dump,
                "--format=custom",
                f"--schema={_pattern(schema)}",
                "--no-password",
                f"--lock-wait-timeout={_LOCK_WAIT_MS}",
                f"--file={temp}",
                f"--dbname={client.conninfo}",
            ],
            client.env,
        )
    if done.returncode != 0:
        raise ExportFailed(temp, "pg_dump failed: " + _summary(done.stderr, client.password))
    return read_backup(temp)


# --- reading a backup ----------------------------------------------------------------------


def read_backup(path: Path) -> BackupInfo:
    """What the backup at `path` holds; RestoreRefused unless it is a planner backup."""
    if _file_backend(path) == SQLITE:
        return _read_sqlite_backup(path)
    return _read_postgres_backup(path)


def _file_backend(path: Path) -> str:
    """Which database type the file at `path` is a backup of, by its first bytes."""
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as err:
        raise RestoreRefused(f"cannot read {str(path)!r}: {err.strerror or err}") from err
    if head.startswith(_SQLITE_MAGIC):
        return SQLITE
    if head.startswith(_PGDUMP_MAGIC):
        return POSTGRESQL
    raise _not_a_backup(path, head)


def _not_a_backup(path: Path, head: bytes) -> RestoreRefused:
    if head.startswith(b"--"):
        return RestoreRefused(
            f"{str(path)!r} looks like a plain SQL dump: the planner restores its own backups "
            "(SQLite files, or pg_dump archives in custom format)"
        )
    return RestoreRefused(
        f"{str(path)!r} is not a planner backup: neither a SQLite database nor a pg_dump archive"
    )


def _not_a_planner_backup(path: Path, what: str) -> RestoreRefused:
    return RestoreRefused(f"{str(path)!r} is {what}, but not a planner backup (no planner tables)")


def _read_sqlite_backup(path: Path) -> BackupInfo:
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise RestoreRefused(
                    f"{str(path)!r} is a damaged SQLite database: " + "; ".join(problems[:3])
                )
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            if not tables >= _PLANNER_TABLES:
                raise _not_a_planner_backup(path, "a SQLite database")
            revisions = [row[0] for row in conn.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.Error as err:
        raise RestoreRefused(f"{str(path)!r} cannot be read as a SQLite database: {err}") from err
    if len(revisions) != 1:
        raise _not_a_planner_backup(path, "a SQLite database")
    return BackupInfo(
        path=path, backend=SQLITE, revision=str(revisions[0]), tables=frozenset(tables)
    )


# One entry of `pg_restore --list`: "12; 1259 16388 TABLE public users postgres".
_TOC_ENTRY = re.compile(r"^\d+; \d+ \d+ (?P<rest>.*)$")


def _read_postgres_backup(path: Path) -> BackupInfo:
    pg_restore = _pg_tool("pg_restore")
    listed = _run([pg_restore, "--list", str(path)], dict(os.environ))
    if listed.returncode != 0:
        raise RestoreRefused(
            f"{str(path)!r} is not a readable pg_dump archive: {_summary(listed.stderr, None)}"
        )
    entries = tuple(listed.stdout.decode("utf-8", "replace").splitlines())
    tables: set[tuple[str, str]] = set()
    functions: set[tuple[str, str]] = set()
    for line in entries:
        match = _TOC_ENTRY.match(line)
        if match is None:
            continue
        words = match["rest"].split(" ")
        if words[0] == "TABLE" and len(words) == 4:
            tables.add((words[1], words[2]))
        elif words[0] == "FUNCTION" and len(words) >= 4:
            functions.add((words[1], " ".join(words[2:-1]).split("(", 1)[0]))
    schemas = {schema for schema, _ in tables}
    if len(schemas) != 1 or not {name for _, name in tables} >= _PLANNER_TABLES:
        raise _not_a_planner_backup(path, "a pg_dump archive")
    [schema] = schemas
    data = _run(
        [pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(path)],
        dict(os.environ),
    )
    copied = re.search(rb"FROM stdin;\n(.*?)\\\.\n", data.stdout, re.S)
    revisions = copied.group(1).decode("utf-8", "replace").split() if copied else []
    if data.returncode != 0 or len(revisions) != 1:
        raise _not_a_planner_backup(path, "a pg_dump archive")
    return BackupInfo(
        path=path,
        backend=POSTGRESQL,
        revision=revisions[0],
        schema=schema,
        tables=frozenset(name for _, name in tables),
        functions=frozenset(name for _, name in functions),
        entries=entries,
    )


# --- restoring ---------------------------------------------------------------------------

# The psql commands pg_restore writes around its SQL (pg_dump 17.6, 16.10, 15.14 and later);
# they only keep psql from running other meta-commands, which this restore never runs.
_PSQL_GUARDS = (b"\\restrict ", b"\\unrestrict ")
_COPY_START = re.compile(rb"^COPY .+ FROM stdin;\n$")
_COPY_END = b"\\.\n"


def restore(
    *, engine: Engine, actor: User | None, path: Path, force: bool = False
) -> RestoreResult:
    """Replace the database's content with the backup at `path`, migrated to this planner.

    Into an empty database (no row, no table the planner does not know) anyone may
    restore (it has no users yet); over data only with `force`, and only an admin of that
    database. Tables that are not the planner's and not in the backup are never lost: such
    a database is refused, also with `force`. The backup is migrated and the restore
    recorded in its audit log before the database changes, in one step: a failure leaves
    the database as it was. The result says whether the audit chain holds.
    """
    backend, kind = _backend(engine), _file_backend(path)
    if kind != backend:
        raise RestoreRefused(
            f"{str(path)!r} is a {BACKENDS[kind]} backup, but this planner's database "
            f"is {BACKENDS[backend]}: restore it into a {BACKENDS[kind]} database"
        )
    info = read_backup(path)
    if not _known_revision(engine, info.revision):
        raise RestoreRefused(
            f"{str(path)!r} is at schema revision {info.revision!r}, which this planner does "
            "not know: a newer planner made it; restore it with that version"
        )
    current = current_revision(engine)
    if current is not None and not _known_revision(engine, current):
        raise RestoreRefused(
            f"the database is at schema revision {current!r}, which this planner does not "
            "know: a newer planner migrated it"
        )
    _check_replaceable(contents(engine), info, actor=actor, force=force)
    digest = _sha256(path)

    def record(bind: Engine | Connection) -> None:
        _record_database_event(
            bind,
            actor=None,
            actor_name=actor.username if actor is not None else "system",
            action="restore",
            note=f"restored from {str(path.absolute())!r} "
            f"(revision {info.revision}, sha256 {digest})",
        )

    if backend == SQLITE:
        _restore_sqlite(engine, info, record)
    else:
        _restore_postgres(engine, info, record)
    with engine.connect() as conn:
        rows = conn.execute(audit.AUDIT.select().order_by(audit.AUDIT.c.id)).mappings()
        chain = audit.verify_rows(dict(row) for row in rows)
    return RestoreResult(
        path=path,
        backend=backend,
        backup_revision=info.revision,
        revision=current_revision(engine) or info.revision,
        sha256=digest,
        chain=chain,
    )


def _check_replaceable(
    found: Contents, info: BackupInfo, *, actor: User | None, force: bool
) -> None:
    """Refuse replacing a database that is not empty unless forced, losing tables that are
    neither the planner's nor the backup's, and replacing data for anyone but its admins."""
    if found.empty:
        return
    if not force:
        raise RestoreRefused(
            f"the database already holds data ({found.describe()}): a restore replaces all "
            "of it, so it is refused unless forced (--force, by an admin of this database)"
        )
    lost = [name for name, _ in found.foreign if name not in info.tables]
    if lost:
        raise RestoreRefused(
            "the database holds tables that are not the planner's and not in the backup: "
            f"{', '.join(lost)}; a restore would lose them, so it is refused also with "
            "--force: move them to a database of their own, or restore into another database"
        )
    if found.planner_rows:
        if actor is None:
            raise PermissionDenied(
                "the database holds data: only an admin of it may replace it with a backup"
            )
        require(actor, "restore_database")


def _migrate(conn: Connection, info: BackupInfo) -> None:
    """Migrate the restored tables on `conn` to this planner's revision, in its transaction;
    RestoreFailed says why a migration failed."""
    cfg = alembic_config(conn.engine)
    cfg.attributes["connection"] = conn
    try:
        command.upgrade(cfg, "head")
    except (SQLAlchemyError, CommandError) as err:
        raise RestoreFailed(
            info.path,
            f"migrating it from schema revision {info.revision} to "
            f"{head_revision(conn.engine)} failed: {_reason(err)}",
        ) from err


def _reason(err: Exception) -> str:
    """The first line of what the database (or Alembic) said: no SQL, no traceback."""
    said = str(err.orig if isinstance(err, DBAPIError) else err).strip()
    return (said.splitlines() or ["it said nothing"])[0][:300]


def _restore_sqlite(
    engine: Engine, info: BackupInfo, record: Callable[[Engine | Connection], None]
) -> None:
    """Copy the backup to a file beside the database, migrate that copy and record the
    restore in it; only then copy its pages over the database's in one write transaction.
    Any failure before that last step leaves the database untouched."""
    staged = _staging_path(engine)
    try:
        _copy_pages(info, staged)
        _prepare_copy(staged, info, record)
        _copy_into(engine, info, staged)
    finally:
        for leftover in (staged, *(Path(f"{staged}{end}") for end in ("-journal", "-wal", "-shm"))):
            leftover.unlink(missing_ok=True)


def _prepare_copy(
    staged: Path, info: BackupInfo, record: Callable[[Engine | Connection], None]
) -> None:
    """Migrate the copy of the backup at `staged` and record the restore in it."""
    staging = make_engine(URL.create("sqlite", database=str(staged)).render_as_string())
    try:
        with staging.begin() as conn:
            _migrate(conn, info)
        record(staging)
        with staging.connect() as conn:  # a file of its own again: no log beside it
            conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
    except SQLAlchemyError as err:
        raise RestoreFailed(info.path, _reason(err)) from err
    finally:
        staging.dispose()


def _staging_path(engine: Engine) -> Path:
    """A new file's path beside the database (in the temporary folder for one in memory)."""
    database = engine.url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file:")
    folder = Path(tempfile.gettempdir()) if in_memory else Path(database).parent
    name = Path(database).name[:64] if not in_memory else "memory"
    return folder / f".{name}.{secrets.token_hex(6)}.restore"


def _copy_pages(info: BackupInfo, staged: Path) -> None:
    """Copy the backup (opened read-only) into the new file `staged`, readable by its owner
    only (it holds password hashes and encrypted channel secrets)."""
    try:
        os.close(os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        with (
            closing(sqlite3.connect(f"{info.path.resolve().as_uri()}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(staged)) as dst,
        ):
            src.backup(dst)
    except sqlite3.Error as err:
        raise RestoreFailed(info.path, str(err)) from err
    except OSError as err:
        raise RestoreFailed(
            info.path, f"cannot write {str(staged)!r}: {err.strerror or err}"
        ) from err


def _copy_into(engine: Engine, info: BackupInfo, staged: Path) -> None:
    """Copy the migrated copy's pages over the database's in one write transaction."""
    raw = engine.raw_connection()
    try:
        target: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
        with closing(sqlite3.connect(f"{staged.resolve().as_uri()}?mode=ro", uri=True)) as src:
            src.backup(target)
    except sqlite3.Error as err:
        raise RestoreFailed(info.path, str(err)) from err
    finally:
        raw.close()
    engine.dispose()  # no pooled connection keeps a view of the old content


def _restore_postgres(
    engine: Engine, info: BackupInfo, record: Callable[[Engine | Connection], None]
) -> None:
    """Drop the planner's tables, rebuild them from the archive, migrate them and record the
    restore, all in one transaction of one connection.

    pg_restore writes the archive as SQL, which runs on that connection (the rows through
    COPY); the transaction commits only when pg_restore, the migration and the record
    succeeded: any failure leaves everything as it was.
    """
    pg_restore = _pg_tool("pg_restore", engine)
    schema = _current_schema(engine)
    if schema != info.schema:
        raise RestoreRefused(
            f"{str(info.path)!r} holds the planner's tables of schema {info.schema!r}, but "
            f"this database's planner schema (its search path) is {schema!r}: restore it "
            f"into a database whose search path is {info.schema!r}"
        )
    drops = _drop_statements(engine, schema, info)
    with tempfile.TemporaryDirectory(prefix="planner-restore-") as work:
        listing = Path(work) / "restore.list"
        listing.write_text("\n".join(_restorable(info.entries)) + "\n", encoding="utf-8")
        try:
            with engine.connect() as conn, conn.begin():
                # A transaction left open elsewhere would make the drops wait for ever.
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {_LOCK_WAIT_MS}")
                for drop in drops:
                    conn.exec_driver_sql(drop)
                _run_archive(conn, pg_restore, listing, info)
                conn.exec_driver_sql("RESET ALL")  # the archive's settings (search path '')
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {_LOCK_WAIT_MS}")
                _migrate(conn, info)
                record(conn)
        except (DBAPIError, engine.dialect.loaded_dbapi.Error) as err:
            # The archive's SQL runs on the driver's own cursor: its errors are the driver's.
            raise RestoreFailed(info.path, _reason(err)) from err


def _run_archive(conn: Connection, pg_restore: str, listing: Path, info: BackupInfo) -> None:
    """Run the SQL pg_restore makes of the archive on `conn`; RestoreFailed if it fails."""
    driver: psycopg.Connection[Any] = conn.connection.driver_connection  # type: ignore[assignment]
    with tempfile.TemporaryFile() as restore_err:
        runner = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
            [pg_restore, "--no-owner", f"--use-list={listing}", "--file=-", str(info.path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=restore_err,
        )
        assert runner.stdout is not None
        try:
            with driver.cursor() as cursor:
                complete = _execute_script(cursor, runner.stdout, info)
        except BaseException:
            runner.kill()
            raise
        finally:
            runner.stdout.close()
            code = runner.wait()
        if code != 0:
            raise RestoreFailed(info.path, "pg_restore failed: " + _read_summary(restore_err, None))
    if not complete:
        raise RestoreFailed(info.path, "the archive's SQL ends inside the rows of a table")


def _execute_script(cursor: psycopg.Cursor[Any], lines: Iterable[bytes], info: BackupInfo) -> bool:
    """Execute pg_restore's SQL: the statements between two tables' rows at once, each
    table's rows through COPY. False when the rows of a table were cut off."""
    lines = iter(lines)
    statements: list[bytes] = []
    for line in lines:
        if line.startswith(_PSQL_GUARDS):
            continue
        if line.startswith(b"\\"):
            raise RestoreFailed(info.path, "the archive's SQL holds a psql command")
        if _COPY_START.match(line):
            _execute(cursor, statements)
            statements = []
            if not _copy_rows(cursor, line, lines):
                return False
            continue
        statements.append(line)
    _execute(cursor, statements)
    return True


def _execute(cursor: psycopg.Cursor[Any], lines: list[bytes]) -> None:
    """Execute the statements in `lines` as one query, unless they are only comments."""
    if any(line.strip() and not line.lstrip().startswith(b"--") for line in lines):
        cursor.execute(b"".join(lines))


def _copy_rows(cursor: psycopg.Cursor[Any], statement: bytes, lines: Iterator[bytes]) -> bool:
    """Send one table's rows (up to the line `\\.`) through COPY; False if they end first."""
    with cursor.copy(statement.strip().removesuffix(b";")) as copy:
        for line in lines:
            if line == _COPY_END:
                return True
            copy.write(line)
    return False


def _restorable(entries: tuple[str, ...]) -> list[str]:
    """The archive's entries without the schema itself (its comment and grants): the
    schema stays as it is, with its owner and rights; everything in it is restored."""
    kept = []
    for line in entries:
        match = _TOC_ENTRY.match(line)
        words = match["rest"].split(" ") if match else []
        schema_level = len(words) > 2 and words[1] == "-" and "SCHEMA" in (words[0], words[2])
        kept.append(f";{line}" if schema_level else line)
    return kept


def _drop_statements(engine: Engine, schema: str, info: BackupInfo) -> list[str]:
    """DROP statements for the planner's tables and functions that exist in `schema`."""
    tables = sorted(
        info.tables | {t.name for t in SQLModel.metadata.sorted_tables} | {"alembic_version"}
    )
    with engine.connect() as conn:
        found_tables = (
            conn.execute(
                text(
                    "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                    "WHERE schemaname = :schema AND tablename = ANY(:names) ORDER BY 1"
                ),
                {"schema": schema, "names": tables},
            )
            .scalars()
            .all()
        )
        found_functions = (
            conn.execute(
                text(
                    "SELECT format('%I.%I(%s)', n.nspname, p.proname, "
                    "pg_get_function_identity_arguments(p.oid)) "
                    "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = :schema AND p.proname = ANY(:names) ORDER BY 1"
                ),
                {"schema": schema, "names": sorted(info.functions)},
            )
            .scalars()
            .all()
        )
    drops = []
    if found_tables:
        drops.append(f"DROP TABLE {', '.join(found_tables)} CASCADE")
    drops += [f"DROP FUNCTION {name} CASCADE" for name in found_functions]
    return drops


# --- PostgreSQL's client tools -----------------------------------------------------------


def _current_schema(engine: Engine) -> str:
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
    if not schema:
        raise ConfigurationError(
            "the database has no schema on its search path to hold the planner's tables"
        )
    return str(schema)


def _server_major(engine: Engine | None) -> str:
    if engine is None:
        return "the server's"
    with engine.connect() as conn:
        number = int(conn.execute(text("SHOW server_version_num")).scalar() or 0)
    return str(number // 10000)


def _pg_tool(name: str, engine: Engine | None = None) -> str:
    """The path of a PostgreSQL client tool; a clear error when it is not installed."""
    found = shutil.which(name)
    if found is None:
        major = _server_major(engine)
        raise ConfigurationError(
            f"{name} is not installed (or not on PATH): PostgreSQL backups need pg_dump and "
            f"pg_restore of the server's major version ({major}), e.g. the "
            f"Debian/Ubuntu package postgresql-client-{major if major.isdigit() else 'N'}"
        )
    return found


@dataclass(frozen=True)
class _Client:
    """How a client tool connects: a connection string without the password, and an
    environment whose password file (if any) holds it."""

    conninfo: str
    env: dict[str, str]
    password: str | None


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@contextmanager
def _pg_client(engine: Engine) -> Iterator[_Client]:
    """The engine's connection for pg_dump.

    The password never reaches a command line (which `ps` shows) or the environment: it
    goes into a password file readable by this user only, removed afterwards.
    """
    url = engine.url
    params: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "dbname": url.database,
        "user": url.username,
    }
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    conninfo = " ".join(f"{k}={_quote(str(v))}" for k, v in params.items() if v not in (None, ""))
    env = dict(os.environ)
    password = url.password if isinstance(url.password, str) and url.password else None
    passfile: str | None = None
    if password is not None:
        env.pop("PGPASSWORD", None)
        fd, passfile = tempfile.mkstemp(prefix="planner-pgpass-")
        escaped = password.replace("\\", "\\\\").replace(":", "\\:")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"*:*:*:*:{escaped}\n")
        env["PGPASSFILE"] = passfile
    try:
        yield _Client(conninfo, env, password)
    finally:
        if passfile is not None:
            Path(passfile).unlink(missing_ok=True)


def _pattern(name: str) -> str:
    """A schema name as a pg_dump pattern that matches exactly that name."""
    return '"' + name.replace('"', '""') + '"'


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(  # noqa: S603 - fixed arguments, no shell
            argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, check=False
        )
    except OSError as err:
        raise ConfigurationError(f"cannot run {argv[0]}: {err.strerror or err}") from err


def _summary(stderr: bytes, password: str | None) -> str:
    """The last lines a tool wrote to standard error, without the password."""
    message = stderr.decode("utf-8", "replace")
    if password:
        message = message.replace(password, "***")
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return ("; ".join(lines[-3:]) or "it said nothing")[:600]


def _read_summary(handle: IO[bytes], password: str | None) -> str:
    handle.seek(0)
    return _summary(handle.read(), password)
