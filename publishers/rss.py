"""A feed of what was published: an Atom file (RFC 4287), optionally also RSS 2.0, kept on disk.

Each publish adds an entry whose id is derived from the idempotency key, so a repeat replaces
the entry instead of adding a second one. The Atom file is the record: it is read back, the
entry added or replaced, the newest `max_entries` kept, and both files written anew, each to
a temporary file first and then renamed over the old one, so a reader or a crash never sees
half a feed. A lock file next to the feed keeps two workers from losing each other's entries.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, ClassVar

from publishers.base import (
    ConfigError,
    OutgoingPost,
    PermanentError,
    Publisher,
    Receipt,
    Rule,
    SettingSpec,
    TransientError,
    answer,
    language_setting,
)
from publishers.markup import clean_text, excerpt, one_line, to_html

if sys.platform != "win32":
    import fcntl

ATOM_NS = "http://www.w3.org/2005/Atom"
GENERATOR = "editorial-planner"
MAX_ENTRIES_LIMIT = 1000
FILE_MODE = 0o644  # a web server serves the feed: others may read it
_THREAD_LOCK = threading.Lock()


def _atom(tag: str) -> str:
    return f"{{{ATOM_NS}}}{tag}"


def utcnow() -> datetime:
    """The current time in UTC, to the second (feeds show no fractions)."""
    return datetime.now(UTC).replace(microsecond=0)


def rfc3339(when: datetime) -> str:
    """An Atom date: UTC, with a 'Z'."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_id(feed_url: str, idempotency_key: str) -> str:
    """The entry's permanent id: the same feed and key always give the same id."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{feed_url}#{idempotency_key}')}"


@dataclass(frozen=True)
class Entry:
    """One published post as the feed shows it."""

    id: str
    title: str
    summary: str
    content_html: str
    link: str | None
    categories: tuple[str, ...]
    published: datetime
    updated: datetime

    def same_text(self, other: Entry) -> bool:
        """Whether `other` shows the same thing (dates aside)."""
        return replace(other, published=self.published, updated=self.updated) == self


class FeedPublisher(Publisher, kind="rss", display_name="RSS/Atom feed"):
    """Writes each published post into a feed file that a web server hands to feed readers."""

    titled_as: ClassVar[str] = "a feed entry"
    uses_http: ClassVar[bool] = False
    settings_spec = (
        SettingSpec(
            "path",
            help="where the Atom feed file is written, e.g. data/feeds/news.xml "
            "(relative to the planner's working directory)",
        ),
        SettingSpec(
            "rss_path",
            required=False,
            help="where an RSS 2.0 copy is written as well, e.g. data/feeds/news.rss "
            "(empty: Atom only)",
        ),
        SettingSpec(
            "feed_url",
            type="url",
            help="public address of the Atom file, e.g. https://www.example.de/feeds/news.xml",
        ),
        SettingSpec(
            "site_url",
            type="url",
            help="the web site the feed belongs to, e.g. https://www.example.de",
        ),
        SettingSpec("title", help="name of the feed, e.g. Muster GmbH – Neuigkeiten"),
        SettingSpec(
            "description",
            required=False,
            default="",
            help="one sentence about the feed (RSS requires one; empty: the title)",
        ),
        SettingSpec("author", help="who publishes the feed, e.g. Muster GmbH"),
        language_setting(
            "language code of the entries, e.g. de or de-AT",
            Rule(
                "not_code_like_de",
                "is not a code like 'de'",
                pattern=r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*",
            ),
        ),
        SettingSpec(
            "max_entries",
            type="int",
            required=False,
            default=50,
            help=f"how many of the newest entries the feed keeps, 1 to {MAX_ENTRIES_LIMIT}",
            minimum=1,
            maximum=MAX_ENTRIES_LIMIT,
        ),
    )

    @classmethod
    def clean_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The base checks, plus two different files."""
        clean = super().clean_settings(settings)
        if clean["rss_path"] and Path(clean["rss_path"]) == Path(clean["path"]):
            raise ConfigError(
                cls.kind, "rss_path", "must be another file than path", code="same_file"
            )
        return clean

    @property
    def path(self) -> Path:
        """The Atom file."""
        return Path(self.settings["path"])

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """Add the post's entry (or replace the one with the same key) and rewrite the feed."""
        now = utcnow()
        new = Entry(
            id=entry_id(self.settings["feed_url"], idempotency_key),
            title=one_line(post.title),
            summary=excerpt(post.text),
            content_html=to_html(post.text),
            link=_web_link(post.link),
            categories=tuple(dict.fromkeys(one_line(t) for t in post.tags if one_line(t))),
            published=now,
            updated=now,
        )
        with self._files():
            entries = self._read()
            old = next((e for e in entries if e.id == new.id), None)
            if old is not None:
                # A repeat keeps its first date; only a changed text counts as an update.
                new = old if old.same_text(new) else replace(new, published=old.published)
            kept = [new, *(e for e in entries if e.id != new.id)]
            kept.sort(key=lambda e: e.published, reverse=True)
            kept = kept[: self.settings["max_entries"]]
            self._write(kept)
        return Receipt(
            external_id=new.id,
            url=new.link or self.settings["feed_url"],
            http_status=None,
            raw={"path": str(self.path), "entries": len(kept), "replaced": old is not None},
        )

    def detect_deduplication(self) -> str | None:
        """The feed is ours: an entry's id follows from the key, and a repeat replaces it."""
        return "the entry's id is derived from the idempotency key: a repeat replaces its entry"

    def check_connection(self) -> str:
        """Read the feed (if there is one yet) and prove that its folder is writable."""
        with self._files():
            entries = self._read()
            for target in self._targets():
                target.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryFile(dir=target.parent):
                    pass
        return answer(
            "feed_writable",
            "feed {path} has {count} entries; its folder is writable",
            path=str(self.path),
            count=len(entries),
        )

    def _targets(self) -> list[Path]:
        paths = [self.path]
        if self.settings["rss_path"]:
            paths.append(Path(self.settings["rss_path"]))
        return paths

    @contextmanager
    def _files(self) -> Iterator[None]:
        """Hold the feed's lock; file system failures become typed errors."""
        try:
            with _locked(self.path):
                yield
        except (PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError) as err:
            raise PermanentError(f"cannot write the feed: {_reason(err)}") from err
        except OSError as err:
            raise TransientError(f"cannot write the feed: {_reason(err)}") from err

    def _read(self) -> list[Entry]:
        """The entries of the Atom file; none when it does not exist yet."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        try:
            # Our own file, not input from outside; expat refuses entity expansion bombs.
            root = ET.fromstring(data)  # noqa: S314
        except ET.ParseError as err:
            raise PermanentError(
                f"the feed file {str(self.path)!r} is not valid XML ({err}); fix or remove it, "
                "nothing was written"
            ) from err
        if root.tag != _atom("feed"):
            raise PermanentError(
                f"the feed file {str(self.path)!r} is not an Atom feed; nothing was written"
            )
        return [_entry(element) for element in root.findall(_atom("entry"))]

    def _write(self, entries: Sequence[Entry]) -> None:
        updated = max((e.updated for e in entries), default=utcnow())
        _write_atomically(self.path, _xml(self._atom_feed(entries, updated)))
        if self.settings["rss_path"]:
            rss = self._rss_feed(entries, updated)
            _write_atomically(Path(self.settings["rss_path"]), _xml(rss))

    def _atom_feed(self, entries: Sequence[Entry], updated: datetime) -> ET.Element:
        s = self.settings
        # Namespace declared literally: ElementTree's default_namespace refuses unprefixed
        # attributes, and registering a default prefix would change it for everyone.
        feed = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": s["language"]})
        _text(feed, "id", f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, s['feed_url'])}")
        _text(feed, "title", clean_text(s["title"]), type="text")
        if s["description"]:
            _text(feed, "subtitle", clean_text(s["description"]), type="text")
        _text(feed, "updated", rfc3339(updated))
        author = ET.SubElement(feed, "author")
        _text(author, "name", clean_text(s["author"]))
        ET.SubElement(
            feed,
            "link",
            {"rel": "self", "type": "application/atom+xml", "href": s["feed_url"]},
        )
        ET.SubElement(
            feed, "link", {"rel": "alternate", "type": "text/html", "href": s["site_url"]}
        )
        _text(feed, "generator", GENERATOR)
        for item in entries:
            entry = ET.SubElement(feed, "entry")
            _text(entry, "id", item.id)
            _text(entry, "title", item.title, type="text")
            _text(entry, "updated", rfc3339(item.updated))
            _text(entry, "published", rfc3339(item.published))
            if item.link:
                ET.SubElement(
                    entry,
                    "link",
                    {"rel": "alternate", "type": "text/html", "href": item.link},
                )
            for term in item.categories:
                ET.SubElement(entry, "category", {"term": term})
            if item.summary:
                _text(entry, "summary", item.summary, type="text")
            _text(entry, "content", item.content_html, type="html")
        return feed

    def _rss_feed(self, entries: Sequence[Entry], updated: datetime) -> ET.Element:
        s = self.settings
        rss = ET.Element("rss", {"version": "2.0"})
        channel = ET.SubElement(rss, "channel")
        _text(channel, "title", clean_text(s["title"]))
        _text(channel, "link", s["site_url"])
        _text(channel, "description", clean_text(s["description"] or s["title"]))
        _text(channel, "language", s["language"])
        _text(channel, "lastBuildDate", format_datetime(updated, usegmt=True))
        _text(channel, "generator", GENERATOR)
        for entry in entries:
            item = ET.SubElement(channel, "item")
            _text(item, "title", entry.title)
            if entry.link:
                _text(item, "link", entry.link)
            _text(item, "description", entry.content_html)
            _text(item, "guid", entry.id, isPermaLink="false")
            _text(item, "pubDate", format_datetime(entry.published, usegmt=True))
            for term in entry.categories:
                _text(item, "category", term)
        return rss


def _web_link(link: str | None) -> str | None:
    """`link` if it is a web address (readers open it), without characters XML forbids."""
    link = clean_text(link or "").strip()
    return link if link.startswith(("https://", "http://")) else None


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


def _entry(element: ET.Element) -> Entry:
    """An entry read back from the Atom file."""

    def text(tag: str) -> str:
        return element.findtext(_atom(tag)) or ""

    link = next(
        (
            found.get("href")
            for found in element.findall(_atom("link"))
            if found.get("rel", "alternate") == "alternate"
        ),
        None,
    )
    updated = _date(text("updated"))
    return Entry(
        id=text("id"),
        title=text("title"),
        summary=text("summary"),
        content_html=text("content"),
        link=link,
        categories=tuple(c.get("term", "") for c in element.findall(_atom("category"))),
        published=_date(text("published")) if text("published") else updated,
        updated=updated,
    )


def _date(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)  # unreadable: oldest, dropped first
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


def _write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = FILE_MODE
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Exclusive use of the feed at `path` across threads and (where possible) processes."""
    with _THREAD_LOCK:
        if sys.platform == "win32":
            yield
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(f".{path.name}.lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _reason(err: OSError) -> str:
    return f"{err.strerror or type(err).__name__}: {err.filename!r}" if err.filename else str(err)
