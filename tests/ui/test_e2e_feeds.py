"""The public routes on the real server (`python -m planner serve`, no browser): a calendar
feed by its secret URL, RSS and Atom, and a tracked link, with the server's own log
checked for the token."""

from __future__ import annotations

import http.client
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from icalendar import Calendar
from sqlmodel import Session

from planner import (
    calendar_feeds,
    channels,
    org_settings,
    pieces,
    planning,
    tracked_links,
    users,
)
from planner.credentials import new_key
from planner.db import make_engine
from planner.migrate import upgrade
from tests.ui.conftest import account
from tests.ui.test_e2e_browser import Server, serving

pytestmark = pytest.mark.e2e
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


def _get(server: Server, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one request to the server."""
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=15)
    conn.request(method, path, headers={"User-Agent": BROWSER})
    answer = conn.getresponse()
    body = answer.read()
    conn.close()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, body


@pytest.fixture
def prepared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, str]:
    """A database with a planned post, a calendar feed, the content feeds on and a tracked
    link; its URL, the feed's token and the link's code."""
    monkeypatch.setenv("PLANNER_SECRET_KEY", new_key())
    url = f"sqlite:///{tmp_path / 'feeds.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as s:
        admin = account(s, actor=None, username="admin", role="admin")
        ed = account(s, actor=admin, username="ed", role="editor")
        channel = channels.create_channel(s, actor=admin, kind="manual", name="Xing")
        piece = pieces.create_piece(s, actor=ed, data={"title": "Grüße & <mehr>"})
        post = planning.plan_post(
            s,
            actor=ed,
            piece_id=piece.id or 0,
            channel=channel.id or 0,
            when=datetime.now(UTC).replace(microsecond=0) + timedelta(days=2),
        )
        token = calendar_feeds.create_feed(s, actor=ed).token
        org_settings.set_setting(s, actor=admin, key="content_feeds", value="on")
        code = tracked_links.codes_for(s, post.id or 0, ["https://example.com/ä"])[
            "https://example.com/ä"
        ]
        s.commit()
    engine.dispose()
    return url, token, code


def test_the_public_routes_answer_on_the_real_server(
    prepared: tuple[str, str, str], tmp_path: Path
) -> None:
    url, token, code = prepared
    with serving(url, tmp_path / "serve.log", scheduler=False) as server:
        feed = _get(server, f"/calendar/{token}.ics")
        wrong = _get(server, f"/calendar/{token[:-2]}xx.ics")
        rss = _get(server, "/feed.rss")
        atom = _get(server, "/feed.atom")
        head = _get(server, f"/l/{code}", "HEAD")
        hop = _get(server, f"/l/{code}")
        unknown = _get(server, "/l/AAAAAAAAAAAA")
        logs = server.logs()
    assert feed[0] == 200, logs
    assert feed[1]["content-type"] == "text/calendar; charset=utf-8"
    events = list(Calendar.from_ical(feed[2]).walk("VEVENT"))
    assert [str(e["SUMMARY"]) for e in events] == ["Xing: Grüße & <mehr>"]
    assert wrong[0] == 404
    assert (rss[0], atom[0]) == (200, 200)
    assert not feedparser.parse(rss[2]).bozo and not feedparser.parse(atom[2]).bozo
    assert (head[0], hop[0], unknown[0]) == (302, 302, 404)
    assert hop[1]["location"] == "https://example.com/%C3%A4"
    assert token not in logs
    engine = make_engine(url)
    with Session(engine) as s:
        ed = users.get_user(s, "ed")
        assert [link.clicks for link in tracked_links.list_links(s, actor=ed)] == [1]
    engine.dispose()
