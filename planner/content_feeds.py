"""The company's published content as RSS 2.0 (`/feed.rss`) and Atom (`/feed.atom`).

Public by design (feed readers sign in nowhere), so off unless an admin switches the
organisation setting `content_feeds` on. Only posts that went out appear (status
published, with their time), newest first, `content_feed_size` of them; never a draft,
a planned post or the text of a piece still being edited: each entry is the text of the
revision that was approved and sent. Only channels that publish for anyone to read
(`Publisher.reaches_public`: social networks and blogs, not a Mastodon account posting to
followers only or a WordPress blog keeping drafts) are shown: a team chat, webhook,
newsletter, feed file or manual channel may be internal, and is not even named. XML is
written by ElementTree, which escapes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode

from sqlmodel import Session, col, func, select

from planner import org_settings
from planner.config import load_settings
from planner.errors import NotFound
from planner.models import Channel, Piece, Post, PostStatus, Revision
from publishers import REGISTRY

RSS_PATH = "/feed.rss"
ATOM_PATH = "/feed.atom"
ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_TITLE = "Redaktionsplan"


@dataclass(frozen=True)
class FeedEntry:
    """One published post as a feed shows it."""

    post_id: int
    title: str
    link: str | None
    published_at: datetime
    text: str
    channel: str


class FeedsOff(NotFound):
    """The organisation has not switched the content feeds on."""

    def __init__(self) -> None:
        super().__init__("content feed", "feed", "switched off")


def is_public(channel: Channel) -> bool:
    """Whether the channel publishes for anyone to read, so its posts are in the feeds."""
    cls = REGISTRY.get(channel.kind)
    return cls is not None and cls.reaches_public(channel.settings)


def _public_channel_ids(session: Session) -> list[int]:
    return [c.id for c in session.exec(select(Channel)) if c.id is not None and is_public(c)]


def _channel(session: Session, ref: str) -> Channel:
    """A public channel by name or id, or NotFound (also for a channel that is not public:
    the feed does not tell that it exists)."""
    found = session.exec(select(Channel).where(Channel.name == ref)).first()
    if found is None and ref.isascii() and ref.isdigit() and len(ref) <= 12:
        found = session.get(Channel, int(ref))
    if found is None or not is_public(found):
        raise NotFound("channel", ref)
    return found


def published_entries(
    session: Session, *, channel: str | None = None, limit: int | None = None
) -> list[FeedEntry]:
    """The latest published posts (of one channel, by name or id), newest first.

    Raises FeedsOff when the feeds are switched off and NotFound for an unknown channel.
    """
    if not org_settings.content_feeds_on(session):
        raise FeedsOff()
    size = limit or int(org_settings.get_setting(session, "content_feed_size"))
    query = (
        select(Post, Piece, Channel, Revision)
        .join(Piece, col(Post.piece_id) == Piece.id)
        .join(Channel, col(Post.channel_id) == Channel.id)
        .join(
            Revision,
            (col(Revision.piece_id) == Piece.id)
            & (
                col(Revision.number)
                == func.coalesce(col(Post.sent_revision), col(Piece.approved_revision))
            ),
            isouter=True,
        )
        .where(
            Post.status == PostStatus.published,
            col(Post.published_at).is_not(None),
            col(Post.channel_id).in_(_public_channel_ids(session)),
        )
    )
    if channel is not None:
        query = query.where(Post.channel_id == _channel(session, channel).id)
    query = query.order_by(col(Post.published_at).desc(), col(Post.id).desc()).limit(size)
    entries = []
    for post, piece, chan, revision in session.exec(query):
        assert post.id is not None and post.published_at is not None
        source = revision if revision is not None else piece
        entries.append(
            FeedEntry(
                post_id=post.id,
                title=source.title,
                link=post.external_url,
                published_at=post.published_at,
                text=source.variants.get(str(chan.id)) or source.body,
                channel=chan.name,
            )
        )
    return entries


def _self(path: str, channel: str | None, base: str | None = None) -> str:
    """The feed's own address: under PLANNER_PUBLIC_URL, else under `base` (where the
    request came to), else only its path."""
    base = (load_settings().public_url or base or "").rstrip("/")
    query = "" if channel is None else "?" + _query(channel)
    return f"{base}{path}{query}"


def _query(channel: str) -> str:
    return urlencode({"channel": channel})


def _guid(entry: FeedEntry) -> str:
    return f"urn:editorial-planner:post:{entry.post_id}"


def _xml(root: ET.Element) -> bytes:
    written: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return written


def to_rss(
    entries: list[FeedEntry], *, channel: str | None = None, base: str | None = None
) -> bytes:
    """RSS 2.0 of `entries` (`base`: the server's address when PLANNER_PUBLIC_URL is not
    set, for the feed's own link, which RSS wants absolute)."""
    rss = ET.Element("rss", {"version": "2.0"})
    head = ET.SubElement(rss, "channel")
    ET.SubElement(head, "title").text = FEED_TITLE + (f" – {channel}" if channel else "")
    ET.SubElement(head, "link").text = _self(RSS_PATH, channel, base)
    ET.SubElement(head, "description").text = "Published posts"
    if entries:
        ET.SubElement(head, "lastBuildDate").text = format_datetime(
            entries[0].published_at.astimezone(UTC)
        )
    for entry in entries:
        item = ET.SubElement(head, "item")
        ET.SubElement(item, "title").text = entry.title
        if entry.link:
            ET.SubElement(item, "link").text = entry.link
        ET.SubElement(item, "guid", {"isPermaLink": "false"}).text = _guid(entry)
        ET.SubElement(item, "pubDate").text = format_datetime(entry.published_at.astimezone(UTC))
        ET.SubElement(item, "category").text = entry.channel
        ET.SubElement(item, "description").text = entry.text
    return _xml(rss)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_atom(
    entries: list[FeedEntry], *, channel: str | None = None, base: str | None = None
) -> bytes:
    """Atom (RFC 4287) of `entries` (`base` as for `to_rss`)."""
    ET.register_namespace("", ATOM_NS)

    def tag(name: str) -> str:
        return f"{{{ATOM_NS}}}{name}"

    feed = ET.Element(tag("feed"))
    ET.SubElement(feed, tag("title")).text = FEED_TITLE + (f" – {channel}" if channel else "")
    ET.SubElement(feed, tag("id")).text = "urn:editorial-planner:feed" + (
        f":{_query(channel)}" if channel else ""
    )
    updated = entries[0].published_at if entries else datetime(2000, 1, 1, tzinfo=UTC)
    ET.SubElement(feed, tag("updated")).text = _iso(updated)
    self_link = _self(ATOM_PATH, channel, base)
    if self_link.startswith("http"):
        ET.SubElement(feed, tag("link"), {"rel": "self", "href": self_link})
    author = ET.SubElement(feed, tag("author"))
    ET.SubElement(author, tag("name")).text = FEED_TITLE
    for entry in entries:
        item = ET.SubElement(feed, tag("entry"))
        ET.SubElement(item, tag("title")).text = entry.title
        ET.SubElement(item, tag("id")).text = _guid(entry)
        if entry.link:
            ET.SubElement(item, tag("link"), {"rel": "alternate", "href": entry.link})
        ET.SubElement(item, tag("published")).text = _iso(entry.published_at)
        ET.SubElement(item, tag("updated")).text = _iso(entry.published_at)
        ET.SubElement(item, tag("category"), {"term": entry.channel})
        ET.SubElement(item, tag("content"), {"type": "text"}).text = entry.text
    return _xml(feed)
