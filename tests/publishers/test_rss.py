"""The feed adapter: Atom (RFC 4287) and RSS 2.0 files written atomically, one entry per key."""

from __future__ import annotations

import os
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from publishers import rss
from publishers.base import (
    ConfigError,
    Media,
    OutgoingPost,
    PermanentError,
    TransientError,
)
from publishers.rss import FeedPublisher, entry_id

A = "{http://www.w3.org/2005/Atom}"
FEED_URL = "https://www.example.de/feeds/news.xml"
KEY = "5f0c6a52d1e24d8f9a3b7c1e0d2f4a6b"
POST = OutgoingPost(
    post_id=7,
    title="Tag der offenen Tür 🎉",
    text="Grüße aus Köln 👩‍👩‍👧 & mehr <script>alert(1)</script>\n\nMehr: https://example.de/tdot",
    link="https://www.example.de/blog/tdot",
    tags=("Event", "Kassel", "Event"),
)
START = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The adapter's clock: the first item is the current time; tests move it on."""
    now = [START]
    monkeypatch.setattr(rss, "utcnow", lambda: now[0])
    return now


def _adapter(folder: Path, **extra: object) -> FeedPublisher:
    return FeedPublisher(
        {
            "path": str(folder / "feeds" / "news.xml"),
            "rss_path": str(folder / "feeds" / "news.rss"),
            "feed_url": FEED_URL,
            "site_url": "https://www.example.de",
            "title": "Muster GmbH – Neuigkeiten",
            "description": "Was es Neues gibt",
            "author": "Muster GmbH",
            **extra,
        }
    )


def _atom(folder: Path) -> ET.Element:
    return ET.parse(folder / "feeds" / "news.xml").getroot()  # noqa: S314 (our own test file)


def _rss(folder: Path) -> ET.Element:
    return ET.parse(folder / "feeds" / "news.rss").getroot()  # noqa: S314


def test_publish_writes_an_atom_feed_with_every_required_element(
    tmp_path: Path, clock: list[datetime]
) -> None:
    receipt = _adapter(tmp_path).publish(POST, KEY)

    feed = _atom(tmp_path)
    assert feed.tag == f"{A}feed"
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "de"
    assert (feed.findtext(f"{A}id") or "").startswith("urn:uuid:")
    assert feed.findtext(f"{A}title") == "Muster GmbH – Neuigkeiten"
    assert feed.findtext(f"{A}subtitle") == "Was es Neues gibt"
    assert feed.findtext(f"{A}updated") == "2026-05-04T08:00:00Z"
    assert feed.findtext(f"{A}author/{A}name") == "Muster GmbH"
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{A}link")}
    assert links == {"self": FEED_URL, "alternate": "https://www.example.de"}

    (entry,) = feed.findall(f"{A}entry")
    assert entry.findtext(f"{A}id") == entry_id(FEED_URL, KEY)
    assert entry.findtext(f"{A}title") == "Tag der offenen Tür 🎉"
    assert entry.findtext(f"{A}updated") == "2026-05-04T08:00:00Z"
    assert entry.findtext(f"{A}published") == "2026-05-04T08:00:00Z"
    assert entry.find(f"{A}link").attrib == {  # type: ignore[union-attr]
        "rel": "alternate",
        "type": "text/html",
        "href": "https://www.example.de/blog/tdot",
    }
    assert [c.get("term") for c in entry.findall(f"{A}category")] == ["Event", "Kassel"]
    assert entry.findtext(f"{A}summary") == (
        "Grüße aus Köln 👩‍👩‍👧 & mehr <script>alert(1)</script>"
    )
    content = entry.find(f"{A}content")
    assert content is not None and content.get("type") == "html"
    assert content.text == (
        "<p>Grüße aus Köln 👩‍👩‍👧 &amp; mehr &lt;script&gt;alert(1)&lt;/script&gt;</p>\n"
        '<p>Mehr: <a href="https://example.de/tdot">https://example.de/tdot</a></p>'
    )

    assert receipt.external_id == entry_id(FEED_URL, KEY)
    assert receipt.url == "https://www.example.de/blog/tdot"
    assert receipt.raw == {
        "path": str(tmp_path / "feeds" / "news.xml"),
        "entries": 1,
        "replaced": False,
    }


def test_publish_also_writes_rss_2(tmp_path: Path, clock: list[datetime]) -> None:
    _adapter(tmp_path).publish(POST, KEY)

    root = _rss(tmp_path)
    assert (root.tag, root.get("version")) == ("rss", "2.0")
    channel = root.find("channel")
    assert channel is not None
    assert channel.findtext("title") == "Muster GmbH – Neuigkeiten"
    assert channel.findtext("link") == "https://www.example.de"
    assert channel.findtext("description") == "Was es Neues gibt"
    assert channel.findtext("language") == "de"
    (item,) = channel.findall("item")
    assert item.findtext("title") == "Tag der offenen Tür 🎉"
    assert item.findtext("link") == "https://www.example.de/blog/tdot"
    guid = item.find("guid")
    assert guid is not None
    assert (guid.text, guid.get("isPermaLink")) == (entry_id(FEED_URL, KEY), "false")
    assert item.findtext("pubDate") == "Mon, 04 May 2026 08:00:00 GMT"  # RFC 822
    assert parsedate_to_datetime(item.findtext("pubDate") or "") == START
    assert "&lt;script&gt;" in (item.findtext("description") or "")
    assert [c.text for c in item.findall("category")] == ["Event", "Kassel"]


def test_markup_and_emoji_survive_escaped_in_the_files(
    tmp_path: Path, clock: list[datetime]
) -> None:
    _adapter(tmp_path).publish(POST, KEY)
    for name in ("news.xml", "news.rss"):
        raw = (tmp_path / "feeds" / name).read_bytes()
        assert raw.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
        assert b"<script" not in raw
        assert "Grüße aus Köln 👩‍👩‍👧".encode() in raw  # UTF-8, not character references
        assert b"&amp;lt;script&amp;gt;" in raw  # escaped in the HTML, escaped again in XML


def test_a_repeated_key_replaces_its_entry_instead_of_adding_one(
    tmp_path: Path, clock: list[datetime]
) -> None:
    adapter = _adapter(tmp_path)
    assert adapter.detect_deduplication() is not None
    first = adapter.publish(POST, KEY)
    before = (tmp_path / "feeds" / "news.xml").read_bytes()
    clock[0] = START + timedelta(hours=1)

    again = adapter.publish(POST, KEY)

    assert again.external_id == first.external_id
    assert again.raw["replaced"] is True
    assert len(_atom(tmp_path).findall(f"{A}entry")) == 1
    assert len(_rss(tmp_path).findall("channel/item")) == 1
    # Same text: not an update either, so readers see nothing new.
    assert (tmp_path / "feeds" / "news.xml").read_bytes() == before


def test_a_changed_text_under_the_same_key_is_an_update(
    tmp_path: Path, clock: list[datetime]
) -> None:
    adapter = _adapter(tmp_path)
    adapter.publish(POST, KEY)
    clock[0] = START + timedelta(hours=1)
    adapter.publish(OutgoingPost(post_id=7, title="Korrigiert", text="Neu"), KEY)
    (entry,) = _atom(tmp_path).findall(f"{A}entry")
    assert entry.findtext(f"{A}title") == "Korrigiert"
    assert entry.findtext(f"{A}published") == "2026-05-04T08:00:00Z"
    assert entry.findtext(f"{A}updated") == "2026-05-04T09:00:00Z"
    assert _atom(tmp_path).findtext(f"{A}updated") == "2026-05-04T09:00:00Z"


def test_the_feed_keeps_the_newest_entries(tmp_path: Path, clock: list[datetime]) -> None:
    adapter = _adapter(tmp_path, max_entries=3)
    for number in range(5):
        clock[0] = START + timedelta(minutes=number)
        adapter.publish(OutgoingPost(post_id=number, title=f"Nr. {number}", text="x"), f"k{number}")
    titles = [e.findtext(f"{A}title") for e in _atom(tmp_path).findall(f"{A}entry")]
    assert titles == ["Nr. 4", "Nr. 3", "Nr. 2"]
    assert [i.findtext("title") for i in _rss(tmp_path).findall("channel/item")] == titles


def test_control_characters_cannot_break_the_xml(tmp_path: Path, clock: list[datetime]) -> None:
    post = OutgoingPost(post_id=1, title="Null\x00Byte\x1b", text="Tab\tok\x0c\ufffe \ud800x")
    _adapter(tmp_path).publish(post, KEY)
    (entry,) = _atom(tmp_path).findall(f"{A}entry")
    assert entry.findtext(f"{A}title") == "NullByte"
    assert entry.findtext(f"{A}summary") == "Tab ok x"


def test_the_replace_is_atomic_a_failed_write_keeps_the_old_feed(
    tmp_path: Path, clock: list[datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = _adapter(tmp_path)
    adapter.publish(POST, KEY)
    before = (tmp_path / "feeds" / "news.xml").read_bytes()

    def disk_full(source: Any, target: Any) -> None:
        raise OSError(28, "No space left on device", str(target))

    monkeypatch.setattr(rss.os, "replace", disk_full)
    with pytest.raises(TransientError, match="No space left on device"):
        adapter.publish(OutgoingPost(post_id=2, title="Zwei", text="x"), "other-key")
    assert (tmp_path / "feeds" / "news.xml").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "feeds").iterdir()) == [
        ".news.xml.lock",
        "news.rss",
        "news.xml",
    ]  # no temporary file left behind


def test_concurrent_publishes_lose_no_entry(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path)
    errors: list[BaseException] = []

    def publish_many(worker: int) -> None:
        try:
            for number in range(10):
                post = OutgoingPost(post_id=number, title=f"{worker}-{number}", text="x")
                _adapter(tmp_path).publish(post, f"w{worker}-{number}")
        except BaseException as err:  # noqa: BLE001  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=publish_many, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(_atom(tmp_path).findall(f"{A}entry")) == 30
    assert "30 entries" in adapter.check_connection()


def test_a_broken_feed_file_is_not_overwritten(tmp_path: Path, clock: list[datetime]) -> None:
    path = tmp_path / "feeds" / "news.xml"
    path.parent.mkdir()
    path.write_text("<feed><entry>abgeschnitten", encoding="utf-8")
    with pytest.raises(PermanentError, match="not valid XML"):
        _adapter(tmp_path).publish(POST, KEY)
    assert path.read_text(encoding="utf-8") == "<feed><entry>abgeschnitten"
    path.write_text("<rss version='2.0'><channel/></rss>", encoding="utf-8")
    with pytest.raises(PermanentError, match="not an Atom feed"):
        _adapter(tmp_path).publish(POST, KEY)


def test_a_path_that_cannot_be_a_file_is_permanent(tmp_path: Path) -> None:
    (tmp_path / "feeds").write_text("a file, not a folder", encoding="utf-8")
    with pytest.raises(PermanentError, match="cannot write the feed"):
        _adapter(tmp_path).publish(POST, KEY)


def test_atom_only_without_rss_path(tmp_path: Path, clock: list[datetime]) -> None:
    adapter = _adapter(tmp_path, rss_path=None, description=None)
    receipt = adapter.publish(OutgoingPost(post_id=1, title="Ohne Link", text="x"), KEY)
    assert receipt.url == FEED_URL  # no link of its own: the feed is where it shows
    assert not (tmp_path / "feeds" / "news.rss").exists()
    assert _atom(tmp_path).find(f"{A}subtitle") is None


def test_existing_file_mode_is_kept(tmp_path: Path, clock: list[datetime]) -> None:
    adapter = _adapter(tmp_path)
    adapter.publish(POST, KEY)
    path = tmp_path / "feeds" / "news.xml"
    assert path.stat().st_mode & 0o777 == 0o644  # readable by the web server
    os.chmod(path, 0o640)
    adapter.publish(OutgoingPost(post_id=2, title="Zwei", text="x"), "k2")
    assert path.stat().st_mode & 0o777 == 0o640


def test_check_connection_reports_entries_and_a_writable_folder(tmp_path: Path) -> None:
    assert "has 0 entries" in _adapter(tmp_path).check_connection()
    assert (tmp_path / "feeds").is_dir()


def test_no_length_limit_but_a_title_and_no_media(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path)
    long_text = "Grüße 👩‍👩‍👧 aus Köln 東京 e\u0301 🇩🇪 https://example.de/x\n" * 5000
    assert adapter.validate(OutgoingPost(post_id=1, title="Mai", text=long_text)) == []
    problems = adapter.validate(
        OutgoingPost(post_id=1, title="", text="x", media=[Media("https://x/a.jpg", "Alt")])
    )
    assert sorted(p.field for p in problems) == ["media", "title"]
    assert adapter.uses_http is False
    assert adapter.reports_metrics is False


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({"path": None}, "path", id="no-path"),
        pytest.param({"feed_url": "feeds/news.xml"}, "feed_url", id="relative-feed-url"),
        pytest.param({"site_url": None}, "site_url", id="no-site"),
        pytest.param({"author": ""}, "author", id="no-author"),
        pytest.param({"max_entries": 0}, "max_entries", id="zero-entries"),
        pytest.param({"max_entries": "viele"}, "max_entries", id="not-a-number"),
        pytest.param({"language": "de_DE"}, "language", id="underscore-language"),
        pytest.param({"rss_path": "SAME"}, "rss_path", id="rss-same-as-atom"),
    ],
)
def test_bad_configuration_names_the_field(
    tmp_path: Path, settings: dict[str, object], field: str
) -> None:
    if settings.get("rss_path") == "SAME":
        settings = {"rss_path": str(tmp_path / "feeds" / "news.xml")}
    with pytest.raises(ConfigError) as caught:
        _adapter(tmp_path, **settings)
    assert caught.value.field == field


def test_entry_ids_are_stable_per_feed_and_key() -> None:
    assert entry_id(FEED_URL, KEY) == entry_id(FEED_URL, KEY)
    assert entry_id(FEED_URL, KEY) != entry_id(FEED_URL, KEY + "x")
    assert entry_id(FEED_URL, KEY) != entry_id("https://other.example/feed.xml", KEY)
    assert entry_id(FEED_URL, KEY).startswith("urn:uuid:")
