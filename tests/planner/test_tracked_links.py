"""Tracked links: rewritten once at publishing (a webhook channel against a local HTTP
server shows the exact request), the same codes on a retry, redirects that count clicks
(Starlette's test client on the real database), and the editor's length check."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.testclient import TestClient
from werkzeug import Request, Response

from planner import channels, editing, org_settings, pieces, planning, tracked_links
from planner.errors import PermissionDenied, ValidationFailed
from planner.models import Channel, Piece, Post, PostStatus, utcnow
from planner.publishing import EngineSettings
from planner.ui import web
from planner.worker import Worker
from tests.conftest import World

BASE = "https://go.example.de"
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"}
FAST = EngineSettings(
    batch_size=10,
    threads=1,
    lease=timedelta(seconds=30),
    max_attempts=3,
    retry_base_seconds=60,
    retry_cap_seconds=600,
    poll_seconds=1,
)
TEXT = (
    "Anmeldung: https://example.com/messe?tag=1&x=ü. Programm (https://example.com/p/(a)), "
    "nochmal https://example.com/messe?tag=1&x=ü!"
)


@pytest.fixture
def worker(engine: Engine) -> Iterator[Worker]:
    w = Worker(engine, worker_id="links-worker", settings=FAST)
    yield w
    w.close()


@pytest.fixture
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setattr(web, "get_engine", lambda: engine)
    return TestClient(Starlette(routes=web.routes()))


def _tracking_on(world: World) -> None:
    org_settings.set_setting(
        world.session, actor=world.admin, key="tracked_links_base_url", value=BASE + "/"
    )


def _approved(world: World, body: str) -> Piece:
    s = world.session
    piece = pieces.create_piece(s, actor=world.editor, data={"title": "Messe", "body": body})
    assert piece.id is not None
    pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
    return pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=1)


def _due(world: World, piece: Piece, channel: Channel) -> Post:
    post = planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id or 0,
        channel=channel.id or 0,
        when=utcnow() + timedelta(days=1),
    )
    post.publish_at = utcnow() - timedelta(minutes=1)
    world.session.add(post)
    world.session.commit()
    return post


def _webhook(world: World, server: HTTPServer) -> Channel:
    return channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": server.url_for("/hook"), "secret": secrets.token_urlsafe(24)},
    )


def test_links_are_found_without_the_sentences_punctuation() -> None:
    assert [link for _s, _e, link in tracked_links.find_links(TEXT)] == [
        "https://example.com/messe?tag=1&x=ü",
        "https://example.com/p/(a)",
        "https://example.com/messe?tag=1&x=ü",
    ]
    assert tracked_links.counted_text("siehe https://example.com/a.", "") == (
        "siehe https://example.com/a."
    )
    counted = tracked_links.counted_text("siehe https://example.com/a-long-path.", BASE)
    assert counted == f"siehe {BASE}/l/{'x' * tracked_links.CODE_LENGTH}."


MARKUP = (
    "Neu: **https://example.com/bold** und https://example.com/x… oder "
    "_https://example.com/~user/a_b_, ~~https://example.com/alt~~ und "
    "*(https://example.com/p/(a))*."
)


def test_markup_and_an_ellipsis_around_a_link_stay_in_the_text() -> None:
    # Closing `**`, `_`, `~~` and `…` belong to the text, not to the link (a redirect to
    # `…/x%E2%80%A6` would be broken); `~` and `_` inside a link stay in it.
    assert [link for _s, _e, link in tracked_links.find_links(MARKUP)] == [
        "https://example.com/bold",
        "https://example.com/x",
        "https://example.com/~user/a_b",
        "https://example.com/alt",
        "https://example.com/p/(a)",
    ]
    short = f"{BASE}/l/{'x' * tracked_links.CODE_LENGTH}"
    assert tracked_links.counted_text(MARKUP, BASE) == (
        f"Neu: **{short}** und {short}… oder _{short}_, ~~{short}~~ und *({short})*."
    )


@pytest.mark.usefixtures("private_network")
def test_a_publish_sends_short_links_and_a_retry_sends_the_same_ones(
    world: World, engine: Engine, worker: Worker, httpserver: HTTPServer, client: TestClient
) -> None:
    _tracking_on(world)
    bodies: list[dict[str, object]] = []
    answers = iter([Response("busy", status=503), Response(json.dumps({"id": "m-1"}), 200)])
    lock = threading.Lock()

    def receive(request: Request) -> Response:
        with lock:
            bodies.append(json.loads(request.get_data()))
            return next(answers)

    httpserver.expect_request("/hook", method="POST").respond_with_handler(receive)
    post = _due(world, _approved(world, TEXT), _webhook(world, httpserver))

    worker.sweep()
    with Session(engine) as s:  # let the backoff pass
        retried = s.get(Post, post.id)
        assert retried is not None and retried.status == PostStatus.planned
        retried.next_attempt_at = utcnow() - timedelta(seconds=1)
        s.add(retried)
        s.commit()
    worker.sweep()

    assert len(bodies) == 2
    first, second = str(bodies[0]["text"]), str(bodies[1]["text"])
    assert first == second
    links = [link for _s, _e, link in tracked_links.find_links(first)]
    assert len(links) == 3 and all(link.startswith(f"{BASE}/l/") for link in links)
    assert links[0] == links[2] != links[1]  # the same link in the post: the same code
    # Everything but the links is the approved text, character for character.
    assert first.startswith("Anmeldung: " + links[0] + ". Programm (" + links[1] + "), ")
    assert first.endswith(links[2] + "!")
    with Session(engine) as s:
        assert s.get(Post, post.id).status == PostStatus.published  # type: ignore[union-attr]

    code = links[0].rsplit("/", 1)[1]
    assert len(code) == tracked_links.CODE_LENGTH
    hop = client.get(f"/l/{code}", headers=BROWSER, follow_redirects=False)
    assert hop.status_code == 302
    assert hop.headers["location"] == "https://example.com/messe?tag=1&x=%C3%BC"
    head = client.head(f"/l/{code}", headers=BROWSER, follow_redirects=False)
    assert head.status_code == 302, head.text  # not counted
    bot = {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1)"}
    assert client.get(f"/l/{code}", headers=bot, follow_redirects=False).status_code == 302
    client.get(f"/l/{code}", headers=BROWSER, follow_redirects=False)
    other = links[1].rsplit("/", 1)[1]
    client.get(f"/l/{other}", headers=BROWSER, follow_redirects=False)
    assert client.get("/l/unknownCode1", headers=BROWSER).status_code == 404
    assert client.get("/l/x", headers=BROWSER).status_code == 404

    assert post.id is not None
    counts = tracked_links.click_counts(world.session, world.approver, [post.id, 999])
    assert counts == {post.id: 3, 999: 0}
    listed = tracked_links.list_links(world.session, actor=world.editor, post_ids=[post.id])
    assert sorted((link.url, link.clicks) for link in listed) == [
        ("https://example.com/messe?tag=1&x=ü", 2),
        ("https://example.com/p/(a)", 1),
    ]
    with pytest.raises(PermissionDenied):
        tracked_links.click_counts(world.session, world.contributor, [post.id])


@pytest.mark.usefixtures("private_network")
def test_without_the_setting_links_go_out_as_written(
    world: World, worker: Worker, httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_json({"id": "m-2"})
    _due(world, _approved(world, TEXT), _webhook(world, httpserver))
    worker.sweep()
    (request, _response), *_ = httpserver.log
    assert json.loads(request.get_data())["text"] == TEXT


def test_a_link_to_a_host_written_in_capitals_and_greek_letters_redirects(
    world: World, client: TestClient
) -> None:
    piece = pieces.create_piece(world.session, actor=world.editor, data={"title": "Tag"})
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Social"
    )
    post = _due(world, piece, channel)
    assert post.id is not None
    urls = ["https://ΑΘΗΝΑ.gr/", "https://Bäckerei-Müller.de/angebot"]
    codes = tracked_links.codes_for(world.session, post.id, urls)
    world.session.commit()
    hops = [client.get(f"/l/{codes[url]}", headers=BROWSER, follow_redirects=False) for url in urls]
    # Before, the Greek host left the header unencodable (503, yet the click counted) and
    # the German one went out as Latin-1 bytes.
    assert [(hop.status_code, hop.headers["location"]) for hop in hops] == [
        (302, "https://xn--mxaard0a.gr/"),
        (302, "https://xn--bckerei-mller-bfb28a.de/angebot"),
    ]
    assert tracked_links.click_counts(world.session, world.editor, [post.id]) == {post.id: 2}


def test_a_code_is_letters_and_digits_so_no_reader_takes_its_end_for_markup(
    world: World,
) -> None:
    """A code ending in "_" (as a URL-safe token may) was cut off by anyone reading the
    text as Markdown, and by the planner's own link finder."""
    piece = pieces.create_piece(world.session, actor=world.editor, data={"title": "Tag"})
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Social"
    )
    post = _due(world, piece, channel)
    assert post.id is not None
    urls = [f"https://example.com/{n}" for n in range(60)]
    codes = tracked_links.codes_for(world.session, post.id, urls)
    assert len(set(codes.values())) == 60
    assert all(len(code) == 12 and code.isascii() and code.isalnum() for code in codes.values())
    text = " ".join(f"{tracked_links.short_link(BASE, code)}." for code in codes.values())
    assert [link for _start, _end, link in tracked_links.find_links(text)] == [
        tracked_links.short_link(BASE, code) for code in codes.values()
    ]


def test_clicks_at_the_same_moment_are_all_counted(world: World, engine: Engine) -> None:
    piece = pieces.create_piece(world.session, actor=world.editor, data={"title": "Tag"})
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Social"
    )
    post = _due(world, piece, channel)
    assert post.id is not None
    codes = tracked_links.codes_for(world.session, post.id, ["https://example.com/"])
    world.session.commit()
    code = codes["https://example.com/"]

    def click() -> None:
        for _ in range(10):
            with Session(engine) as s:
                assert tracked_links.follow(s, code, count=True) == "https://example.com/"

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tracked_links.click_counts(world.session, world.editor, [post.id]) == {post.id: 40}
    # The same link of the same post keeps its code.
    assert tracked_links.codes_for(world.session, post.id, ["https://example.com/"]) == codes


def test_a_redirect_location_is_ascii() -> None:
    assert tracked_links.location("https://example.com/a?b=1") == "https://example.com/a?b=1"
    assert tracked_links.location("https://bücher.de/grüße?q=ä%20b#ö") == (
        "https://xn--bcher-kva.de/gr%C3%BC%C3%9Fe?q=%C3%A4%20b#%C3%B6"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # A host written with capitals (`urlsplit` lower-cases `hostname`).
        ("https://Bäckerei-Müller.de/angebot", "https://xn--bckerei-mller-bfb28a.de/angebot"),
        ("https://ΑΘΗΝΑ.gr/", "https://xn--mxaard0a.gr/"),
        ("https://Bücher.de:8443/", "https://xn--bcher-kva.de:8443/"),
        ("https://anna@Bücher.de/", "https://anna@xn--bcher-kva.de/"),
    ],
)
def test_a_non_ascii_host_goes_out_in_idna_however_it_is_written(url: str, expected: str) -> None:
    assert tracked_links.location(url) == expected


def test_the_base_address_must_be_http_or_https(world: World) -> None:
    for wrong in ("ftp://go.example.de", "go.example.de", "https://go.example.de/?a=1"):
        with pytest.raises(ValidationFailed, match="is not an http:// or https:// address"):
            org_settings.set_setting(
                world.session, actor=world.admin, key="tracked_links_base_url", value=wrong
            )
    _tracking_on(world)
    assert org_settings.tracked_links_base(world.session) == BASE
    org_settings.set_setting(
        world.session, actor=world.admin, key="tracked_links_base_url", value=""
    )
    assert org_settings.tracked_links_base(world.session) == ""


def test_the_editors_length_check_counts_the_short_links(world: World) -> None:
    # The recording channel allows 500 characters; the long link makes the text 540.
    text = "Mehr: https://example.com/" + "a" * 500
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Social"
    )
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Tag", "body": text}
    )
    planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id or 0,
        channel=channel.id or 0,
        when=utcnow() + timedelta(days=1),
    )
    with pytest.raises(ValidationFailed, match="Social"):
        pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id or 0)
    _tracking_on(world)
    submitted = pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id or 0)
    assert submitted.status.value == "in_review"


def test_the_editors_live_count_counts_the_short_links(world: World) -> None:
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Social"
    )
    text = "Mehr: https://example.com/" + "a" * 100
    before = editing.check_variant(
        world.session, actor=world.editor, channel_id=channel.id or 0, text=text
    )
    _tracking_on(world)
    after = editing.check_variant(
        world.session, actor=world.editor, channel_id=channel.id or 0, text=text
    )
    assert before.count == len(text)
    assert after.count == len(f"Mehr: {BASE}/l/") + tracked_links.CODE_LENGTH
