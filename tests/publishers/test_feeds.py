"""Followed feeds: RSS and Atom fetched conditionally (ETag, Last-Modified), parsed into
entries, and every failure (broken XML, too large, slow, 4xx, 5xx) a typed error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publishers.base import PermanentError, RateLimited, TransientError
from publishers.feeds import FeedEntry, fetch_feed

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Fachpresse</title><link>https://presse.example.de/</link>
<item><title>Studie: Ausbildung im Handwerk</title>
<link>https://presse.example.de/studie</link>
<guid>https://presse.example.de/?p=41</guid>
<description>&lt;p&gt;Mehr Azubis &amp;amp; weniger Abbrecher.&lt;/p&gt;</description>
<author>redaktion@presse.example.de (Petra Presse)</author>
<pubDate>Thu, 03 Dec 2026 07:30:00 +0000</pubDate></item>
<item><title>Ohne guid</title><link>https://presse.example.de/ohne-guid</link></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Verband</title><id>urn:verband</id>
<updated>2026-12-03T08:00:00Z</updated>
<entry><title>Neue Förderung</title><id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
<link href="https://verband.example.de/foerderung"/><updated>2026-12-03T08:00:00Z</updated>
<author><name>Verband</name></author><summary>Ab Januar gibt es Geld.</summary></entry>
</feed>"""


def _url(server: HTTPServer) -> str:
    return server.url_for("/feed.xml")


def test_an_rss_feed_becomes_entries_with_ids_links_and_times(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/feed.xml", method="GET").respond_with_data(
        RSS,
        content_type="application/rss+xml",
        headers={"ETag": '"v1"', "Last-Modified": "Thu, 03 Dec 2026 07:30:00 GMT"},
    )
    answer = fetch_feed(_url(httpserver), allow_private_network=True)
    assert not answer.unchanged
    assert (answer.etag, answer.last_modified) == ('"v1"', "Thu, 03 Dec 2026 07:30:00 GMT")
    assert answer.title == "Fachpresse"
    assert answer.entries[0] == FeedEntry(
        external_id="https://presse.example.de/?p=41",
        title="Studie: Ausbildung im Handwerk",
        text="Mehr Azubis & weniger Abbrecher.",
        url="https://presse.example.de/studie",
        author="redaktion@presse.example.de (Petra Presse)",
        published_at=datetime(2026, 12, 3, 7, 30, tzinfo=UTC),
    )
    # Without a guid, the link identifies the entry.
    assert answer.entries[1].external_id == "https://presse.example.de/ohne-guid"
    [(request, _)] = list(httpserver.log)
    assert "application/atom+xml" in request.headers["Accept"]
    assert "If-None-Match" not in request.headers


def test_an_atom_feed_becomes_entries(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/feed.xml").respond_with_data(
        ATOM, content_type="application/atom+xml"
    )
    [entry] = fetch_feed(_url(httpserver), allow_private_network=True).entries
    assert entry.external_id == "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    assert (entry.title, entry.text, entry.url) == (
        "Neue Förderung",
        "Ab Januar gibt es Geld.",
        "https://verband.example.de/foerderung",
    )
    assert entry.published_at == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def test_the_validators_are_sent_back_and_304_means_unchanged(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/feed.xml",
        headers={"If-None-Match": '"v1"', "If-Modified-Since": "Thu, 03 Dec 2026 07:30:00 GMT"},
    ).respond_with_data("", status=304)
    answer = fetch_feed(
        _url(httpserver),
        etag='"v1"',
        last_modified="Thu, 03 Dec 2026 07:30:00 GMT",
        allow_private_network=True,
    )
    assert answer.unchanged
    assert list(answer.entries) == []
    assert (answer.etag, answer.last_modified) == ('"v1"', "Thu, 03 Dec 2026 07:30:00 GMT")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("<rss><channel><item><title>kaputt", id="broken-xml"),
        pytest.param("<html><body>Kein Feed</body></html>", id="html-page"),
    ],
)
def test_what_is_no_feed_is_refused(httpserver: HTTPServer, body: str) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(body, content_type="text/xml")
    with pytest.raises(PermanentError, match="not an RSS or Atom feed"):
        fetch_feed(_url(httpserver), allow_private_network=True)


def test_a_feed_larger_than_the_limit_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(RSS * 10)
    with pytest.raises(PermanentError, match="bytes"):
        fetch_feed(_url(httpserver), allow_private_network=True, max_bytes=1000)


def test_a_slow_feed_times_out_as_a_transient_error(
    httpserver: HTTPServer, stalled: Callable[[Request], Response]
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_handler(stalled)
    with pytest.raises(TransientError):
        fetch_feed(_url(httpserver), allow_private_network=True, timeout_seconds=0.3)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(404, PermanentError, id="404"),
        pytest.param(429, RateLimited, id="429"),
        pytest.param(503, TransientError, id="503"),
    ],
)
def test_http_failures_are_typed(
    httpserver: HTTPServer, status: int, error: type[Exception]
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data("nope", status=status)
    with pytest.raises(error, match=f"HTTP {status}"):
        fetch_feed(_url(httpserver), allow_private_network=True)


def test_a_feed_on_this_machine_is_refused_unless_allowed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(RSS)
    with pytest.raises(PermanentError):
        fetch_feed(_url(httpserver))
