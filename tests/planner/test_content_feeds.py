"""The published posts as RSS and Atom, read back with `feedparser`, through the dashboard
server's routes (Starlette's test client on the real database) and the publishing engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from planner import channels, content_feeds, org_settings, pieces, planning
from planner.errors import NotFound, ValidationFailed
from planner.models import Channel, Piece, Post, PostStatus, utcnow
from planner.publishing import EngineSettings
from planner.ui import web
from planner.worker import Worker
from tests.conftest import World

FAST = EngineSettings(
    batch_size=10,
    threads=1,
    lease=timedelta(seconds=30),
    max_attempts=3,
    retry_base_seconds=60,
    retry_cap_seconds=600,
    poll_seconds=1,
)
TITLE = 'Ärger & <Freude> bei "Müller"'
BODY = "Süße Grüße: a < b && c > d ©"


@pytest.fixture
def worker(engine: Engine, recording_kind: type[object]) -> Iterator[Worker]:
    w = Worker(engine, worker_id="feed-worker", settings=FAST)
    yield w
    w.close()


@pytest.fixture
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(web, "get_engine", lambda: engine)
    return TestClient(Starlette(routes=web.routes()))


def _channel(world: World, name: str) -> Channel:
    return channels.create_channel(world.session, actor=world.admin, kind="recording", name=name)


def _approved(world: World, title: str, body: str) -> Piece:
    s = world.session
    piece = pieces.create_piece(s, actor=world.editor, data={"title": title, "body": body})
    assert piece.id is not None
    pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
    return pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=1)


def _due(world: World, piece: Piece, channel: Channel, ago: timedelta) -> Post:
    post = planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id or 0,
        channel=channel.id or 0,
        when=utcnow() + timedelta(days=1),
    )
    post.publish_at = utcnow() - ago
    world.session.add(post)
    world.session.commit()
    return post


def _published_world(world: World, worker: Worker) -> tuple[Post, Post, Post]:
    """Two published posts on two channels, and one still planned (a draft's)."""
    blog, social = _channel(world, "Blog"), _channel(world, "Social")
    first = _due(world, _approved(world, TITLE, BODY), blog, timedelta(minutes=3))
    worker.sweep()
    second = _due(world, _approved(world, "Zweiter", "Noch mehr"), social, timedelta(minutes=2))
    worker.sweep()
    draft = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Geheimer Entwurf", "body": "intern"}
    )
    planned = planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=draft.id or 0,
        channel=blog.id or 0,
        when=utcnow() + timedelta(days=2),
    )
    return first, second, planned


def _feeds_on(world: World) -> None:
    org_settings.set_setting(world.session, actor=world.admin, key="content_feeds", value="on")


def test_feeds_are_off_by_default_and_answer_404(world: World, client: TestClient) -> None:
    assert client.get("/feed.rss").status_code == 404
    assert client.get("/feed.atom").status_code == 404
    with pytest.raises(NotFound):
        content_feeds.published_entries(world.session)


def test_rss_holds_the_published_posts_newest_first_escaped(
    world: World, engine: Engine, worker: Worker, client: TestClient
) -> None:
    first, second, _planned = _published_world(world, worker)
    _feeds_on(world)
    answer = client.get("/feed.rss")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/rss+xml")
    assert "&amp; &lt;Freude&gt;" in answer.text and "Süße" in answer.content.decode("utf-8")
    parsed = feedparser.parse(answer.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    # Absolute, as RSS wants: the server's own address when no public one is configured
    # (before, the bare path "/feed.rss").
    assert parsed.feed.link == "http://testserver/feed.rss"
    assert [e.title for e in parsed.entries] == ["Zweiter", TITLE]
    assert [e.link for e in parsed.entries] == [
        f"https://example.org/p/{second.id}",
        f"https://example.org/p/{first.id}",
    ]
    assert parsed.entries[1].description == BODY
    published = datetime(*parsed.entries[1].published_parsed[:6], tzinfo=UTC)
    with Session(engine) as s:
        stored = s.get(Post, first.id)
        assert stored is not None and stored.published_at is not None
    assert published == stored.published_at.replace(microsecond=0)
    assert "Geheimer Entwurf" not in answer.text and "intern" not in answer.text


def test_atom_reads_back_with_the_same_entries_and_a_channel_filter(
    world: World, worker: Worker, client: TestClient
) -> None:
    first, _second, _planned = _published_world(world, worker)
    _feeds_on(world)
    parsed = feedparser.parse(client.get("/feed.atom").content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert [e.title for e in parsed.entries] == ["Zweiter", TITLE]
    assert parsed.entries[1].content[0].value == BODY
    assert parsed.entries[1].link == f"https://example.org/p/{first.id}"

    only_blog = feedparser.parse(client.get("/feed.atom", params={"channel": "Blog"}).content)
    assert [e.title for e in only_blog.entries] == [TITLE]
    [own] = [link.href for link in only_blog.feed.links if link.rel == "self"]
    assert own == "http://testserver/feed.atom?channel=Blog"
    assert client.get("/feed.rss", params={"channel": "Nirgends"}).status_code == 404


def test_posts_of_channels_that_may_be_internal_are_never_in_the_public_feeds(
    world: World, worker: Worker, client: TestClient
) -> None:
    """A post that went out on the intranet Slack stays out of the public feeds, and
    asking for that channel answers as for one that does not exist."""
    _published_world(world, worker)
    intranet = channels.create_channel(
        world.session,
        actor=world.admin,
        kind="slack",
        name="Intranet Slack",
        settings={"webhook_url": "https://hooks.slack.com/services/T0/B0/x"},
    )
    post = _due(
        world, _approved(world, "Betriebsrat intern", "Nur für uns"), intranet, timedelta(0)
    )
    post.status, post.published_at = PostStatus.published, utcnow()  # as the engine records it
    world.session.add(post)
    world.session.commit()
    _feeds_on(world)

    assert not content_feeds.is_public(intranet)
    for path in ("/feed.rss", "/feed.atom"):
        parsed = feedparser.parse(client.get(path).content)
        assert [e.title for e in parsed.entries] == ["Zweiter", TITLE]
        for ref in ("Intranet Slack", str(intranet.id)):
            assert client.get(path, params={"channel": ref}).status_code == 404
    with pytest.raises(NotFound):
        content_feeds.published_entries(world.session, channel="Intranet Slack")


@pytest.mark.parametrize(
    ("kind", "settings", "public"),
    [
        ("mastodon", {"visibility": "public"}, True),
        ("mastodon", {"visibility": "unlisted"}, True),
        ("mastodon", {"visibility": "private"}, False),
        ("wordpress", {"post_status": "publish"}, True),
        ("wordpress", {"post_status": "draft"}, False),
        ("wordpress", {"post_status": "private"}, False),
        ("rss", {}, False),
        ("telegram", {}, False),
        ("bluesky", {}, True),
    ],
)
def test_a_channel_is_public_as_its_settings_make_its_posts(
    kind: str, settings: dict[str, str], public: bool
) -> None:
    """A Mastodon account posting to followers only, or a blog keeping drafts, publishes
    nothing for anyone to read: its posts stay out of the public feeds."""
    assert content_feeds.is_public(Channel(kind=kind, name="x", settings=settings)) is public


def test_the_feed_size_setting_limits_the_entries(world: World, worker: Worker) -> None:
    _published_world(world, worker)
    _feeds_on(world)
    org_settings.set_setting(world.session, actor=world.admin, key="content_feed_size", value="1")
    assert [e.title for e in content_feeds.published_entries(world.session)] == ["Zweiter"]
    with pytest.raises(ValidationFailed, match="from 1 to 200"):
        org_settings.set_setting(
            world.session, actor=world.admin, key="content_feed_size", value="0"
        )


def test_an_entry_keeps_the_text_that_was_sent_after_the_piece_is_approved_again(
    world: World, engine: Engine, worker: Worker
) -> None:
    s = world.session
    blog = _channel(world, "Blog")
    piece = _approved(world, "Sale", "Sale ends Friday")
    assert piece.id is not None
    # A later post keeps the piece open (approved, not published) after the first.
    friday = planning.plan_post(
        s,
        actor=world.editor,
        piece_id=piece.id,
        channel=blog.id or 0,
        when=utcnow() + timedelta(days=4),
    )
    monday = _due(world, piece, blog, timedelta(minutes=3))
    worker.sweep()
    # The text is corrected for the later post and approved again.
    pieces.edit_piece(
        s,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=1,
        data={"title": "Sale extended", "body": "Sale extended to Sunday"},
    )
    pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=2)
    friday.publish_at = utcnow() - timedelta(minutes=1)
    s.add(friday)
    s.commit()
    worker.sweep()
    _feeds_on(world)
    with Session(engine) as fresh:
        entries = content_feeds.published_entries(fresh)
        sent = {p.id: p.sent_revision for p in fresh.exec(select(Post))}
    # Before, every entry read the piece's approved revision of now: Monday's entry was
    # rewritten to a text that was never sent.
    assert [(e.post_id, e.title, e.text) for e in entries] == [
        (friday.id, "Sale extended", "Sale extended to Sunday"),
        (monday.id, "Sale", "Sale ends Friday"),
    ]
    assert sent == {monday.id: 1, friday.id: 2}
