"""Storage: UTC-aware timestamps and JSON columns behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, select

from planner import audit, channels, pieces, planning
from planner.db import make_engine
from planner.migrate import upgrade
from planner.models import AuditEvent, Channel, Piece, Post, Revision
from tests.conftest import World, utc

BERLIN = ZoneInfo("Europe/Berlin")
NEXT_YEAR = datetime.now(UTC).year + 1


def _piece_and_channel(world: World) -> tuple[Piece, Channel]:
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Winter tips", "body": "Text"}
    )
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Mastodon"
    )
    return piece, channel


@pytest.mark.parametrize(
    "local",
    [
        pytest.param(datetime(NEXT_YEAR, 1, 15, 9, 30, tzinfo=BERLIN), id="berlin-winter"),
        pytest.param(datetime(NEXT_YEAR, 7, 15, 9, 30, tzinfo=BERLIN), id="berlin-summer"),
        pytest.param(
            datetime(NEXT_YEAR, 7, 15, 9, 30, 15, 123456, tzinfo=BERLIN), id="microseconds"
        ),
    ],
)
def test_timestamp_comes_back_as_the_same_utc_instant(
    engine: Engine, world: World, local: datetime
) -> None:
    piece, channel = _piece_and_channel(world)
    assert piece.id is not None and channel.id is not None
    post = planning.plan_post(
        world.session, actor=world.editor, piece_id=piece.id, channel=channel.id, when=local
    )

    with Session(engine) as fresh:
        stored = fresh.get(Post, post.id)
        assert stored is not None
        assert stored.publish_at == local
        assert stored.publish_at.tzinfo is UTC
        assert stored.publish_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert stored.publish_at.replace(tzinfo=None) == local.astimezone(UTC).replace(tzinfo=None)
        assert stored.created_at.tzinfo is UTC


def test_timestamps_compare_as_instants_in_queries(engine: Engine, world: World) -> None:
    piece, channel = _piece_and_channel(world)
    assert piece.id is not None and channel.id is not None
    # 09:00 in Berlin (08:00 UTC) is before 08:30 UTC although "09:00" > "08:30" as text.
    post = planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel=channel.id,
        when=datetime(NEXT_YEAR, 1, 15, 9, 0, tzinfo=BERLIN),
    )

    with Session(engine) as fresh:
        before = planning.list_posts(fresh, actor=world.admin, end=utc(NEXT_YEAR, 1, 15, 8, 30))
        after = planning.list_posts(fresh, actor=world.admin, start=utc(NEXT_YEAR, 1, 15, 8, 30))
        in_tokyo = planning.list_posts(
            fresh,
            actor=world.admin,
            end=datetime(NEXT_YEAR, 1, 15, 17, 0, 1, tzinfo=ZoneInfo("Asia/Tokyo")),
        )
    assert [p.id for p in before] == [post.id]
    assert after == []
    assert [p.id for p in in_tokyo] == [post.id]


def test_naive_datetime_is_refused_and_nothing_is_stored(engine: Engine, world: World) -> None:
    piece, channel = _piece_and_channel(world)
    assert piece.id is not None and channel.id is not None and world.editor.id is not None
    s = world.session
    s.add(
        Post(
            piece_id=piece.id,
            channel_id=channel.id,
            publish_at=datetime(NEXT_YEAR, 1, 15, 9, 30),
            created_by_id=world.editor.id,
        )
    )

    with pytest.raises(StatementError) as info:
        s.commit()
    s.rollback()

    assert isinstance(info.value.orig, ValueError)
    assert "naive datetime" in str(info.value.orig)
    with Session(engine) as fresh:
        assert fresh.exec(select(func.count()).select_from(Post)).one() == 0


def test_naive_datetime_is_refused_in_a_query_filter(world: World) -> None:
    with pytest.raises(StatementError) as info:
        planning.list_posts(world.session, actor=world.admin, start=datetime(NEXT_YEAR, 1, 1))
    world.session.rollback()

    assert isinstance(info.value.orig, ValueError)


@pytest.mark.parametrize(
    "tags",
    [
        pytest.param([], id="empty"),
        pytest.param(["winter", "safety"], id="plain"),
        pytest.param(["Straßenverkehr", "Glätte ❄️", "“quotes”"], id="unicode"),
    ],
)
def test_piece_tags_round_trip_as_a_list(engine: Engine, world: World, tags: list[str]) -> None:
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Winter tips", "tags": tags}
    )

    with Session(engine) as fresh:
        stored = fresh.get(Piece, piece.id)
        assert stored is not None
        assert stored.tags == tags


def test_piece_variants_round_trip_per_channel(engine: Engine, world: World) -> None:
    piece, mastodon = _piece_and_channel(world)
    linkedin = channels.create_channel(
        world.session,
        actor=world.admin,
        kind="linkedin",
        name="LinkedIn",
        settings={"organization_id": "10000001", "access_token": "li-token"},
    )
    assert piece.id is not None and mastodon.id is not None and linkedin.id is not None
    variants = {
        mastodon.id: "Kurz: Winterreifen! #sicher",
        linkedin.id: 'Längerer Text\nmit Zeilenumbruch, "Zitat" und Emoji 🚗',
    }
    pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=1,
        data={"variants": variants},
    )

    expected = {str(cid): text for cid, text in variants.items()}
    with Session(engine) as fresh:
        stored = fresh.get(Piece, piece.id)
        assert stored is not None
        assert stored.variants == expected
        revision = fresh.exec(
            select(Revision).where(Revision.piece_id == piece.id, Revision.number == 2)
        ).one()
        assert revision.variants == expected


def test_channel_settings_round_trip_with_nested_values(engine: Engine, world: World) -> None:
    settings = {
        "instance": "https://social.example",
        "visibility": "public",
        "languages": ["de", "en"],
        "limits": {"chars": 500, "media": 4, "sensitive": False, "cw": None},
    }
    # Adapters take flat settings; the JSON column itself must keep nested values intact,
    # so the row is written directly rather than through an adapter's validation.
    channel = Channel(kind="mastodon", name="Mastodon", settings=settings)
    world.session.add(channel)
    world.session.commit()

    with Session(engine) as fresh:
        stored = fresh.get(Channel, channel.id)
        assert stored is not None
        assert stored.settings == settings


def test_audit_event_time_is_utc_aware(engine: Engine, world: World) -> None:
    channels.create_channel(world.session, actor=world.admin, kind="recording", name="Mastodon")
    written = audit.list_events(world.session, actor=world.admin, object_type="channel")[
        0
    ]  # as held in memory

    with Session(engine) as fresh:
        event = fresh.exec(select(AuditEvent).where(AuditEvent.object_type == "channel")).one()
    assert event.at.tzinfo is UTC
    assert event.at == written.at


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        engine.dispose()


def test_sqlite_refuses_a_row_pointing_at_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    upgrade(engine)
    try:
        with Session(engine) as s:
            s.add(Revision(piece_id=999, number=1, title="Waise", body="", author_id=999))
            with pytest.raises(IntegrityError):
                s.commit()
    finally:
        engine.dispose()
