"""Backing the database up and restoring it: backup, restore."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from planner.cli import common
from planner.cli.common import ACTING, Commands, arg
from planner.cli.output import line
from planner.config import load_settings
from planner.db import get_engine, session_scope
from planner.errors import ConfigurationError
from planner.models import User

BACKUP = Commands()
COMMANDS = (BACKUP,)


def _owner_engine() -> Engine:
    """The owner's engine (PLANNER_MIGRATION_DATABASE_URL) if set: it may read and replace
    every table; otherwise the planner's own."""
    url = load_settings().migration_database_url
    return get_engine(url) if url else common.engine()


def _actor(engine: Engine, args: argparse.Namespace) -> User:
    """The user who acts (--as), as the database of `engine` holds them now."""
    with session_scope(engine) as session:
        return common.actor(session, args)


@BACKUP.command(
    "backup",
    [ACTING],
    arg("file", help="the backup file to write"),
    arg("--force", action="store_true", help="replace FILE if it exists"),
)
def cmd_backup(args: argparse.Namespace) -> int:
    """Write a consistent copy of the whole database to a file while the planner runs
    (admins)."""
    from planner.backup import BACKENDS, back_up

    engine = _owner_engine()
    common.require_migrated(engine)
    actor = _actor(engine, args)
    result = back_up(engine=engine, actor=actor, path=Path(args.file), force=args.force)
    line(
        f"backup written to {args.file}: {BACKENDS[result.backend]} database at schema "
        f"revision {result.revision}, {result.size} bytes, sha256 {result.sha256}"
    )
    return 0


@BACKUP.command(
    "restore",
    [ACTING],
    arg("file", help="a backup written by `backup`"),
    arg(
        "--force",
        action="store_true",
        help="replace a database that holds data (an admin of it acts); tables that are "
        "not the planner's and not in the backup are never dropped",
    ),
)
def cmd_restore(args: argparse.Namespace) -> int:
    """Replace the database with a backup, migrated to this planner, or leave it as it was;
    over data only with --force, by an admin of the database as it is now."""
    from planner.backup import BACKENDS, holds_data, restore

    engine = _owner_engine()
    try:
        has_data = holds_data(engine)
    except (OperationalError, ProgrammingError) as err:
        raise ConfigurationError(f"cannot open the database: {err.orig}") from err
    actor = _actor(engine, args) if has_data and args.force else None
    result = restore(engine=engine, actor=actor, path=Path(args.file), force=args.force)
    line(
        f"restored {args.file}: {BACKENDS[result.backend]} backup at schema revision "
        f"{result.backup_revision}"
    )
    if result.revision != result.backup_revision:
        line(f"database schema: {result.backup_revision} -> {result.revision}")
        if load_settings().migration_database_url:
            line("the schema was migrated: grant the planner's role its rights again")
    line(f"audit log: {result.chain.summary()}")
    return 0 if result.chain.intact else 1
