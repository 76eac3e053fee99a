"""Migrations: they build exactly the schema the models describe, and keep data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, bindparam, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel, col, select

from planner.db import make_engine
from planner.dbtypes import UTCDateTime, json_type
from planner.migrate import alembic_config, current_revision, head_revision, upgrade
from planner.models import AuditEvent, Department, Piece, Revision, User
from tests.conftest import POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database with no tables at all."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("PLANNER_TEST_POSTGRES_URL is not set")
    schema = f"planner_mig_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_migrations_build_exactly_the_models_schema(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision(empty_engine)
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_upgrading_again_keeps_stored_rows(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO departments (name, created_at) VALUES ('Vertrieb', :at)"),
            {"at": "2026-11-01 08:00:00+00:00"},
        )
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM departments")).scalars().all() == ["Vertrieb"]


def _insert(conn: Connection, sql: str, **values: Any) -> None:
    """Insert a row with raw SQL, binding JSON and timestamp values through the column types."""
    types = {k: json_type() for k, v in values.items() if isinstance(v, list | dict)}
    types |= {k: UTCDateTime() for k, v in values.items() if isinstance(v, datetime)}
    stmt = text(sql).bindparams(*(bindparam(k, type_=t) for k, t in types.items()))
    conn.execute(stmt, values)


def _insert_editor(conn: Connection, at: datetime) -> None:
    """User 1, an editor, as every revision's users table holds it."""
    _insert(
        conn,
        "INSERT INTO users (username, display_name, role, password_hash, failed_logins,"
        " disabled, locale, timezone, created_at) VALUES ('ed', 'Ed', 'editor', 'x', 0,"
        " false, 'de', 'Europe/Berlin', :at)",
        at=at,
    )


def test_upgrade_from_the_first_revision_keeps_rows_and_the_append_only_audit(
    empty_engine: Engine,
) -> None:
    at = datetime(2026, 11, 1, 8, tzinfo=UTC)
    upgrade(empty_engine, "0001")
    with empty_engine.begin() as conn:
        _insert(conn, "INSERT INTO departments (name, created_at) VALUES ('Vertrieb', :at)", at=at)
        _insert_editor(conn, at)
        _insert(
            conn,
            "INSERT INTO pieces (title, body, variants, owner_id, due_date, campaign, tags,"
            " status, revision, created_at, updated_at) VALUES ('Messe', 'Text', :variants,"
            " 1, '2026-12-01', 'Herbst', :tags, 'draft', 2, :at, :at)",
            variants={},
            tags=["messe", "b2b"],
            at=at,
        )
        for number in (1, 2):
            _insert(
                conn,
                "INSERT INTO revisions (piece_id, number, title, body, variants, author_id,"
                " note, created_at) VALUES (1, :number, 'Messe', :body, :variants, 1, '', :at)",
                number=number,
                body=f"Text {number}",
                variants={},
                at=at,
            )
        _insert(
            conn,
            "INSERT INTO audit_events (at, actor_id, actor_name, object_type, object_id, action,"
            " version, note) VALUES (:at, 1, 'ed', 'piece', '1', 'edit', 2, 'vor dem Update')",
            at=at,
        )

    upgrade(empty_engine)

    assert current_revision(empty_engine) == head_revision(empty_engine)
    with Session(empty_engine) as session:
        assert [d.name for d in session.exec(select(Department))] == ["Vertrieb"]
        assert [u.username for u in session.exec(select(User))] == ["ed"]
        piece = session.exec(select(Piece)).one()
        assert (piece.title, piece.revision, piece.tags) == ("Messe", 2, ["messe", "b2b"])
        revisions = session.exec(select(Revision).order_by(col(Revision.number))).all()
        # Revisions saved before 0003 get their piece's due date, campaign and tags.
        assert [(r.body, r.due_date, r.campaign, r.tags) for r in revisions] == [
            (f"Text {n}", date(2026, 12, 1), "Herbst", ["messe", "b2b"]) for n in (1, 2)
        ]
        event = session.exec(select(AuditEvent)).one()
        assert (event.at, event.note, event.version) == (at, "vor dem Update", 2)
    for sql in ("UPDATE audit_events SET note = 'geändert'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), empty_engine.begin() as conn:
            conn.execute(text(sql))
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT note FROM audit_events")).scalars().all() == [
            "vor dem Update"
        ]


def test_posts_published_before_0024_take_their_sent_revision_from_the_audit(
    empty_engine: Engine,
) -> None:
    at = datetime(2026, 11, 1, 8, tzinfo=UTC)
    upgrade(empty_engine, "0023")
    with empty_engine.begin() as conn:
        _insert_editor(conn, at)
        _insert(
            conn,
            "INSERT INTO channels (kind, name, settings, enabled, created_at)"
            " VALUES ('recording', 'Blog', :settings, true, :at)",
            settings={},
            at=at,
        )
        _insert(
            conn,
            "INSERT INTO pieces (title, body, variants, owner_id, campaign, tags, status,"
            " revision, approved_revision, created_at, updated_at) VALUES ('Messe', 'Text',"
            " :variants, 1, '', :tags, 'approved', 3, 3, :at, :at)",
            variants={},
            tags=[],
            at=at,
        )
        posts = ((1, "published"), (2, "published"), (3, "planned"), (4, "published"))
        for post_id, status in posts:
            _insert(
                conn,
                "INSERT INTO posts (id, piece_id, channel_id, publish_at, timezone, status,"
                " media, idempotency_key, created_by_id, created_at) VALUES (:id, 1, 1, :at,"
                " 'Europe/Berlin', :status, :media, :key, 1, :at)",
                id=post_id,
                status=status,
                media=[],
                key=f"key-{post_id}",
                at=at,
            )
        # Post 1 failed once at revision 1 and went out at revision 2; post 2 went out at
        # revision 3; a piece event and a post event without a revision say nothing.
        for object_type, object_id, action, version in (
            ("post", "1", "fail", 1),
            ("post", "1", "publish", 2),
            ("piece", "1", "publish", 3),
            ("post", "2", "publish", 3),
            ("post", "2", "mark_posted", None),
            # Post 4 went out after its lease was lost: the engine found it out.
            ("post", "4", "found", 2),
        ):
            _insert(
                conn,
                "INSERT INTO audit_events (at, actor_id, actor_name, object_type, object_id,"
                " action, version, note) VALUES (:at, 1, 'worker', :type, :object, :action,"
                " :version, '')",
                at=at,
                type=object_type,
                object=object_id,
                action=action,
                version=version,
            )

    upgrade(empty_engine)

    with empty_engine.connect() as conn:
        sent = conn.execute(text("SELECT id, sent_revision FROM posts ORDER BY id")).all()
    assert [tuple(row) for row in sent] == [(1, 2), (2, 3), (3, None), (4, 2)]


def test_0028_fills_the_latest_metrics_from_the_stored_snapshots_and_downgrade_drops_them(
    empty_engine: Engine,
) -> None:
    at = datetime(2026, 11, 1, 8, tzinfo=UTC)
    upgrade(empty_engine, "0027")
    with empty_engine.begin() as conn:
        _insert_editor(conn, at)
        _insert(
            conn,
            "INSERT INTO channels (kind, name, settings, enabled, created_at)"
            " VALUES ('recording', 'Blog', :settings, true, :at)",
            settings={},
            at=at,
        )
        _insert(
            conn,
            "INSERT INTO pieces (title, body, variants, owner_id, campaign, tags, status,"
            " revision, created_at, updated_at) VALUES ('Messe', 'Text', :variants, 1, '',"
            " :tags, 'approved', 1, :at, :at)",
            variants={},
            tags=[],
            at=at,
        )
        for post_id in (1, 2, 3):
            _insert(
                conn,
                "INSERT INTO posts (id, piece_id, channel_id, publish_at, timezone, status,"
                " media, idempotency_key, created_by_id, created_at) VALUES (:id, 1, 1, :at,"
                " 'Europe/Berlin', 'published', :media, :key, 1, :at)",
                id=post_id,
                media=[],
                key=f"key-{post_id}",
                at=at,
            )
        # Post 1: its newest snapshot stored first; post 2: two at one instant; post 3: none.
        for post_id, day, reactions in ((1, 5, 50), (1, 3, 30), (2, 4, 4), (2, 4, 6)):
            _insert(
                conn,
                "INSERT INTO metric_snapshots (post_id, collected_at, reactions, raw)"
                " VALUES (:post, :at, :reactions, :raw)",
                post=post_id,
                at=datetime(2026, 11, day, tzinfo=UTC),
                reactions=reactions,
                raw={},
            )

    upgrade(empty_engine)

    kept = "SELECT post_id, snapshot_id, reactions FROM latest_metrics ORDER BY post_id"
    with empty_engine.connect() as conn:
        assert [tuple(row) for row in conn.execute(text(kept))] == [(1, 1, 50), (2, 4, 6)]
    with empty_engine.begin() as conn:
        _insert(
            conn,
            "INSERT INTO metric_snapshots (post_id, collected_at, reactions, raw)"
            " VALUES (3, :at, 7, :raw)",
            at=at,
            raw={},
        )
        assert [tuple(row) for row in conn.execute(text(kept))][-1] == (3, 5, 7)

    cfg = alembic_config(empty_engine)
    with empty_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0027")
    assert "latest_metrics" not in inspect(empty_engine).get_table_names()
    with empty_engine.begin() as conn:  # no trigger is left to write into a missing table
        _insert(
            conn,
            "INSERT INTO metric_snapshots (post_id, collected_at, reactions, raw)"
            " VALUES (3, :at, 8, :raw)",
            at=at,
            raw={},
        )
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert [tuple(row) for row in conn.execute(text(kept))] == [
            (1, 1, 50),
            (2, 4, 6),
            (3, 6, 8),
        ]
