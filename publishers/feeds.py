"""Followed RSS and Atom feeds: a conditional GET (ETag, Last-Modified) with a timeout and
a size limit, parsed with feedparser into entries the listening inbox keeps."""

from __future__ import annotations

import hashlib
import time
from calendar import timegm
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax import SAXException

import feedparser

from publishers.base import PermanentError, TransientError
from publishers.http import channel_message, request, source_error, timeouts
from publishers.listening import TEXT_MAX, plain_text

# A feed larger than this is refused (a news feed is a few hundred kilobytes).
MAX_FEED_BYTES = 5 * 1024 * 1024
FEED_TIMEOUT_SECONDS = 20.0
# Entries kept from one answer: the newest ones; a feed lists its newest first.
MAX_ENTRIES = 100
_ACCEPT = "application/atom+xml, application/rss+xml, application/xml;q=0.9, text/xml;q=0.8"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed, normalised: its id (the entry's id, else its link, else a hash)."""

    external_id: str
    title: str
    text: str
    url: str | None
    author: str
    published_at: datetime | None


@dataclass(frozen=True)
class FeedAnswer:
    """What a feed answered: its entries (none when it is unchanged) and its validators."""

    unchanged: bool
    entries: Sequence[FeedEntry]
    etag: str | None
    last_modified: str | None
    title: str = ""


def fetch_feed(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout_seconds: float = FEED_TIMEOUT_SECONDS,
    max_bytes: int = MAX_FEED_BYTES,
    allow_private_network: bool = False,
) -> FeedAnswer:
    """GET the feed at `url`, conditionally when validators are given, and parse it.

    A failure raises the delivery error it means: TransientError (timeout, 5xx), RateLimited
    (429), PermanentError (another 4xx, too large, not a feed).
    """
    headers = {"Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    response = request(
        "GET",
        url,
        headers=headers,
        timeout=timeouts(timeout_seconds),
        allow_private_network=allow_private_network,
        stream=True,
    )
    with response:
        status = response.status_code
        if status == 304:
            return FeedAnswer(True, (), etag, last_modified)
        if not 200 <= status < 300:
            raise source_error(
                response, f"the feed answered HTTP {status}: {channel_message(response)}"
            )
        content = _read(response, max_bytes, timeout_seconds)
        new_etag = response.headers.get("ETag") or None
        new_modified = response.headers.get("Last-Modified") or None
    parsed: Any = feedparser.parse(content)
    problem = parsed.get("bozo_exception")
    # Broken XML is refused rather than guessed at: a half-read feed would bring entries
    # that change identity once the publisher repairs it.
    if isinstance(problem, SAXException) or (parsed.bozo and not parsed.entries):
        raise PermanentError(f"not an RSS or Atom feed: {problem}"[:300], http_status=status)
    if not parsed.get("version") and not parsed.entries:
        raise PermanentError("not an RSS or Atom feed", http_status=status)
    entries = [_entry(raw) for raw in parsed.entries[:MAX_ENTRIES]]
    title = str(parsed.feed.get("title") or "")
    return FeedAnswer(False, [e for e in entries if e is not None], new_etag, new_modified, title)


def _read(response: Any, max_bytes: int, timeout_seconds: float) -> bytes:
    """The body, refused once it passes `max_bytes` or takes longer than the timeout."""
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise PermanentError(f"the feed has {int(length):,} bytes; at most {max_bytes:,} are read")
    started, parts, size = time.monotonic(), [], 0
    try:
        for part in response.iter_content(_CHUNK):
            size += len(part)
            if size > max_bytes:
                raise PermanentError(f"the feed is larger than {max_bytes:,} bytes")
            if time.monotonic() - started > timeout_seconds:
                raise TransientError(f"the feed took longer than {timeout_seconds:g} s to load")
            parts.append(part)
    except OSError as err:  # requests' ConnectionError and ReadTimeout are OSErrors
        raise TransientError(f"the feed broke off while loading: {type(err).__name__}") from err
    return b"".join(parts)


def _entry(raw: Any) -> FeedEntry | None:
    """One parsed entry, or None if it has neither id, link, title nor text."""
    link = str(raw.get("link") or "") or None
    title = plain_text(str(raw.get("title") or ""))[:500]
    summary = raw.get("summary") or ""
    if not summary and raw.get("content"):
        summary = raw["content"][0].get("value") or ""
    text = plain_text(str(summary))[:TEXT_MAX]
    external_id = str(raw.get("id") or "") or link
    if not external_id:
        if not (title or text):
            return None
        external_id = "sha256:" + hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    parsed_time = raw.get("published_parsed") or raw.get("updated_parsed")
    published = datetime.fromtimestamp(timegm(parsed_time), UTC) if parsed_time else None
    return FeedEntry(
        external_id=external_id[:500],
        title=title,
        text=text,
        url=link,
        author=str(raw.get("author") or "")[:200],
        published_at=published,
    )
