"""The README's hardened PostgreSQL setup, done as written: an owner role migrates, the
planner's role appends audit events but cannot change, empty or unprotect the table."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from planner import audit, cli, db, users
from planner.config import REPO_ROOT
from planner.db import make_engine
from planner.errors import ConfigurationError
from planner.migrate import current_revision, head_revision, prepare, upgrade
from tests.conftest import PASSWORD, POSTGRES_URL


@dataclass
class Hardened:
    schema: str
    owner_url: str
    app_url: str


def _url(user: str, schema: str) -> str:
    assert POSTGRES_URL
    url = make_url(POSTGRES_URL).set(username=user, query={"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _documented_grants(schema: str, owner: str, app: str) -> list[str]:
    """The SQL block of README's "Hardened PostgreSQL", for these names."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Hardened PostgreSQL", 1)[1]
    block = re.search(r"```sql\n(.*?)```", section, re.S)
    assert block, "README shows the grants as an sql block"
    sql = block.group(1).replace("planner_owner", owner).replace("planner_app", app)
    sql = re.sub(r"\bplanner\b", schema, sql)
    return [s.strip() for s in sql.split(";") if s.strip()]


@pytest.fixture
def hardened(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hardened]:
    """Two fresh roles and a schema owned by the owner role; all dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("PLANNER_TEST_POSTGRES_URL is not set")
    suffix = uuid.uuid4().hex[:10]
    owner, app, schema = f"planner_owner_{suffix}", f"planner_app_{suffix}", f"hardened_{suffix}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{owner}" LOGIN'))
        conn.execute(text(f'CREATE ROLE "{app}" LOGIN'))
        conn.execute(text(f'CREATE SCHEMA "{schema}" AUTHORIZATION "{owner}"'))
    setup = Hardened(schema, _url(owner, schema), _url(app, schema))
    monkeypatch.setenv("PLANNER_DATABASE_URL", setup.app_url)
    monkeypatch.setenv("PLANNER_MIGRATION_DATABASE_URL", setup.owner_url)
    yield setup
    for url in (setup.owner_url, setup.app_url):
        engine = db._engines.pop(url, None)
        if engine is not None:
            engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        for role in (app, owner):
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
    admin.dispose()


@pytest.mark.postgres
def test_the_app_role_appends_but_cannot_change_truncate_or_unprotect_the_audit_log(
    hardened: Hardened,
) -> None:
    app_engine = db.get_engine(hardened.app_url)
    # Not migrated yet: the dashboard and workers refuse to start rather than migrate.
    with pytest.raises(ConfigurationError, match="python -m planner migrate"):
        prepare(app_engine)

    assert cli.main(["migrate"]) == 0  # migrates as the owner role
    owner_engine = db.get_engine(hardened.owner_url)
    with owner_engine.begin() as conn:
        for statement in _documented_grants(
            hardened.schema,
            *(make_url(u).username or "" for u in (hardened.owner_url, hardened.app_url)),
        ):
            conn.execute(text(statement))

    prepare(app_engine)  # current: nothing to do, and nothing the app role may not do
    assert current_revision(app_engine) == head_revision(app_engine)
    with Session(app_engine) as session:
        admin = users.create_user(
            session,
            actor=None,
            data={"username": "admin", "display_name": "A", "role": "admin", "password": PASSWORD},
        )
        audit.record(session, actor=admin, object_type="piece", object_id=1, action="comment")
        session.commit()
        assert audit.verify(session, actor=admin).events >= 2
        assert audit.verify(session, actor=admin).intact

    refused = [
        "UPDATE audit_events SET note = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_events_no_change ON audit_events",
        "DROP TRIGGER audit_events_no_truncate ON audit_events",
        "ALTER TABLE audit_events ADD COLUMN extra integer",
        "DROP TABLE audit_events",
        "CREATE TABLE shadow (id integer)",
    ]
    for statement in refused:
        with (
            pytest.raises(DBAPIError, match=r"permission denied|must be owner"),
            app_engine.begin() as conn,
        ):
            conn.execute(text(statement))
    with Session(app_engine) as session:
        assert audit.verify(session, actor=users.get_user(session, "admin")).intact


def test_processes_migrate_at_start_unless_an_owner_role_migrates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLANNER_MIGRATION_DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{tmp_path / 'embedded.db'}")
    prepare(engine)
    assert current_revision(engine) == head_revision(engine)

    monkeypatch.setenv("PLANNER_MIGRATION_DATABASE_URL", f"sqlite:///{tmp_path / 'owner.db'}")
    behind = make_engine(f"sqlite:///{tmp_path / 'behind.db'}")
    upgrade(behind, "0006")
    with pytest.raises(ConfigurationError, match="schema is at 0006"):
        prepare(behind)
    assert current_revision(behind) == "0006"
    engine.dispose()
    behind.dispose()


@pytest.mark.postgres
def test_backup_and_restore_run_as_the_owner_and_the_app_role_keeps_its_rights(
    hardened: Hardened, tmp_path: Path
) -> None:
    assert cli.main(["migrate"]) == 0
    owner_engine = db.get_engine(hardened.owner_url)
    owner, app = (make_url(u).username or "" for u in (hardened.owner_url, hardened.app_url))
    with owner_engine.begin() as conn:
        for statement in _documented_grants(hardened.schema, owner, app):
            conn.execute(text(statement))
    app_engine = db.get_engine(hardened.app_url)
    with Session(app_engine) as session:
        users.create_user(
            session,
            actor=None,
            data={"username": "admin", "display_name": "A", "role": "admin", "password": PASSWORD},
        )
    path = tmp_path / "hardened.backup"

    assert cli.main(["backup", str(path), "--as", "admin"]) == 0
    with Session(app_engine) as session:
        admin = users.get_user(session, "admin")
        users.create_department(session, actor=admin, name="Nach dem Backup")
    assert cli.main(["restore", str(path), "--force", "--as", "admin"]) == 0

    with Session(app_engine) as session:
        admin = users.get_user(session, "admin")
        assert [d.name for d in users.list_departments(session, actor=admin)] == []
        users.create_department(session, actor=admin, name="Nach der Wiederherstellung")
        assert audit.verify(session, actor=admin).intact
    with owner_engine.connect() as conn:
        owners = conn.execute(
            text("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = :s"),
            {"s": hardened.schema},
        ).scalars()
        assert set(owners) == {owner}
    for statement in ("UPDATE audit_events SET note = 'x'", "TRUNCATE audit_events"):
        with (
            pytest.raises(DBAPIError, match=r"permission denied|must be owner"),
            app_engine.begin() as conn,
        ):
            conn.execute(text(statement))
