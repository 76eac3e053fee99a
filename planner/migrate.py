"""Schema migrations (Alembic) run from inside the planner: `python -m planner migrate`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from planner.config import load_settings
from planner.errors import ConfigurationError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to `engine` (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolates '%': a URL with escapes (options=-csearch_path%3D...,
    # a password with special characters) must have them doubled.
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration; data already stored is kept."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    """The newest revision this code knows."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def prepare(engine: Engine) -> None:
    """Make the schema current when a process starts (dashboard, scheduler).

    With PLANNER_MIGRATION_DATABASE_URL set, migrations run only as that owner role
    (`python -m planner migrate`), so the planner's own role needs no right to change the
    schema: a process then only checks that the schema is current.
    """
    if load_settings().migration_database_url is None:
        upgrade(engine)
        return
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        raise ConfigurationError(
            f"the database schema is at {current or 'nothing'}, this planner needs {head}: "
            "run `python -m planner migrate` (it migrates as PLANNER_MIGRATION_DATABASE_URL)"
        )
