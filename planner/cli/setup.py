"""Setting the planner up and running it: init, migrate, demo, serve, worker, secret-key."""

from __future__ import annotations

import argparse
import logging
import shlex
from pathlib import Path

from sqlalchemy import Engine, make_url

from planner import rules, users
from planner.cli import common
from planner.cli.common import SECRET, CliError, Commands, arg
from planner.cli.output import line
from planner.config import load_settings
from planner.db import get_engine
from planner.migrate import current_revision, upgrade

SETUP = Commands()
COMMANDS = (SETUP,)


def _migration_engine() -> Engine:
    """The database owner's engine when migrations run as a role of their own."""
    return get_engine(load_settings().migration_database_url)


@SETUP.command(
    "init",
    [SECRET],
    arg("--admin", metavar="USERNAME", help="create this first admin account"),
    arg("--display-name", help="the admin's full name"),
)
def cmd_init(args: argparse.Namespace) -> int:
    """Create or upgrade the database; optionally the first admin."""
    cmd_migrate(args)
    with common.session(check_schema=False) as session:
        if users.user_count(session):
            line("accounts exist already; nothing else to do")
            return 0
        if not args.admin:
            line(
                "no accounts yet: create the first admin with "
                "`python -m planner init --admin USERNAME`"
            )
            return 0
        password = common.read_password(args, f"Password for {args.admin}: ")
        users.create_user(
            session,
            actor=None,
            data={
                "username": args.admin,
                "display_name": args.display_name or args.admin,
                "role": "admin",
                "password": password,
            },
        )
        line(f"created admin {args.admin!r}")
        line(
            "publishing rules: the suggested set for common German practice is offered on "
            "the page 'Rules', or load it with `python -m planner rules import "
            f"{rules.DEFAULT_RULES.relative_to(rules.DEFAULT_RULES.parents[2])} "
            f"--as {shlex.quote(args.admin)}`"
        )
    return 0


@SETUP.command("migrate")
def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply pending schema migrations (data is kept)."""
    engine = _migration_engine()
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    line(
        f"database schema: {before or 'empty'} -> {after}"
        if before != after
        else f"database schema is up to date ({after})"
    )
    return 0


def _logins_file() -> Path | None:
    """Where the demo logins are kept: next to the SQLite file (nowhere for PostgreSQL)."""
    url = make_url(load_settings().database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve().parent / "demo-logins.txt"


@SETUP.command(
    "demo",
    [],
    arg("--password", help="one password for every demo user (default: random)"),
    arg("--size", type=common.demo_size, default=0, help="extra generated posts, for benchmarks"),
    arg(
        "--if-empty",
        action="store_true",
        help="do nothing (exit 0) when the database already holds data",
    ),
)
def cmd_demo(args: argparse.Namespace) -> int:
    """Load demo data into an empty database and print the logins."""
    from planner.demo import load_demo

    upgrade(_migration_engine())
    with common.session(check_schema=False) as session:
        if users.user_count(session):
            if args.if_empty:
                line("The database already holds data; no demo data loaded.")
                logins_file = _logins_file()
                if logins_file is not None and logins_file.exists():
                    line(f"Demo logins (from {logins_file}):")
                    line(logins_file.read_text(encoding="utf-8"), end="")
                return 0
            raise CliError(
                "the database already holds data; demo data goes into an empty database "
                "(use --if-empty to skip quietly, or point PLANNER_DATABASE_URL elsewhere)"
            )
        result = load_demo(session, password=args.password, size=args.size)
    headers = ["username", "role", "department", "password (demo only)"]
    rows = [
        [login.username, login.role.value, login.department or "-", login.password]
        for login in result.logins
    ]
    # Not a table: the password column is never cut short.
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers) - 1)]
    text = "".join(
        "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1] + "\n"
        for r in [headers, *rows]
    )
    line("Demo data loaded: " + ", ".join(f"{v} {k}" for k, v in result.counts.items()))
    if result.disabled_channels:
        line(
            "Disabled, as the demo has no credentials for their invented accounts (their "
            f"posts are held, never sent): {', '.join(result.disabled_channels)}"
        )
    line("Demo logins - for trying the planner only, never for real use:")
    line(text, end="")
    logins_file = _logins_file()
    if logins_file is not None:
        logins_file.parent.mkdir(parents=True, exist_ok=True)
        logins_file.write_text(text, encoding="utf-8")
        logins_file.chmod(0o600)
        line(f"(kept in {logins_file})")
    return 0


@SETUP.command(
    "serve",
    [],
    arg("--port", type=common.port, help="port to listen on (default: PLANNER_PORT, else 8501)"),
    arg("--address", default="localhost", help="interface to listen on"),
)
def cmd_serve(args: argparse.Namespace) -> int:
    """Run the dashboard with its embedded publishing scheduler."""
    from planner.ui.server import serve

    return serve(args.port or load_settings().port, args.address)


@SETUP.command("worker")
def cmd_worker(args: argparse.Namespace) -> int:
    """Run the publishing scheduler in the foreground."""
    from planner.publishing import EngineSettings
    from planner.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per sweep is noise
    engine = common.migrated_engine()
    settings = EngineSettings.from_env()
    worker = Worker(engine, settings=settings)
    line(f"worker {worker.worker_id} sweeping every {settings.poll_seconds:g} s (Ctrl-C stops)")
    worker.run_forever()
    return 0


@SETUP.command("secret-key")
def cmd_secret_key(args: argparse.Namespace) -> int:
    """Print a new key for PLANNER_SECRET_KEY."""
    from planner.credentials import new_key

    line(new_key())
    return 0
