"""Tracked links: the links in a post's text go out as short redirects that count clicks.

Off unless an admin sets the organisation setting `tracked_links_base_url` (an address
that reaches this planner's server). Then, when a post is prepared for sending, every
http(s) link in its text becomes `<base>/l/<code>`; `/l/<code>` answers 302 to the
original link and counts the click (not for HEAD requests or known bots).

The same link in the same post always gets the same code, stored before the request is
sent, so a retried publish sends exactly the same text. Codes are 12 random URL-safe
characters (72 bits): nobody guesses a code. Only the links change; every other
character of the approved text stays as it was. The editor's length checks count the
short form while tracking is on (`counted_text`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from planner import org_settings
from planner.models import Post, TrackedLink, User, utcnow
from planner.permissions import require
from publishers.base import OutgoingPost

LINK_PATH = "/l/"
CODE_LENGTH = 12
# Letters and digits only (71 bits in 12 characters): a code ending in "_" or "-" would be
# taken for markup or punctuation after the link by whoever reads the post's text.
_CODE_ALPHABET = string.ascii_letters + string.digits
_CODE = re.compile(r"[A-Za-z0-9_-]{12}")
# A link as people write it in a post: up to the first space, quote or angle bracket.
_LINK = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
# Punctuation that ends the sentence a link stands in, and markup that closes around it
# (`**bold**`, `_italic_`, `~~struck~~`), not the link: stripped from its end only, so
# `https://example.com/~user/a_b` keeps its `~` and `_`.
_TRAILING = ".,;:!?»«“”‘’›‹)]}*_~…"
# Clients that fetch links for a preview or an index, not people clicking.
_BOTS = re.compile(
    r"bot|crawl|spider|slurp|preview|facebookexternalhit|embedly|whatsapp|skypeuripreview|"
    r"mastodon|pleroma|akkoma|misskey|python-requests|go-http-client|headless",
    re.IGNORECASE,
)


def find_links(text: str) -> list[tuple[int, int, str]]:
    """The http(s) links in `text`: (start, end, link), without trailing punctuation."""
    found = []
    for match in _LINK.finditer(text):
        link = match.group(0)
        while link and link[-1] in _TRAILING:
            # A closing bracket that closes one opened inside the link belongs to it.
            if link[-1] == ")" and link.count("(") >= link.count(")"):
                break
            link = link[:-1]
        if len(link) > len("https://"):
            found.append((match.start(), match.start() + len(link), link))
    return found


def short_link(base: str, code: str) -> str:
    """The redirect address of `code` under `base`."""
    return f"{base.rstrip('/')}{LINK_PATH}{code}"


def _replaced(text: str, links: Iterable[tuple[int, int, str]], by: dict[str, str]) -> str:
    parts, at = [], 0
    for start, end, link in links:
        if link in by:
            parts += [text[at:start], by[link]]
            at = end
    parts.append(text[at:])
    return "".join(parts)


def counted_text(text: str, base: str) -> str:
    """`text` as long as it will be sent with tracking under `base` (what length checks
    count): each link stands as a short link of the real length; `base` '' changes nothing."""
    if not base:
        return text
    stand_in = short_link(base, "x" * CODE_LENGTH)
    links = [found for found in find_links(text) if not found[2].startswith(base)]
    return _replaced(text, links, {link: stand_in for _s, _e, link in links})


def _hash(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def codes_for(session: Session, post_id: int, urls: Iterable[str]) -> dict[str, str]:
    """The code of each link in post `post_id`: the stored one, or a new one added to the
    session's transaction (the caller commits, before anything is sent)."""
    wanted = {_hash(url): url for url in urls}
    if not wanted:
        return {}
    stored = session.exec(
        select(TrackedLink).where(
            TrackedLink.post_id == post_id, col(TrackedLink.url_hash).in_(wanted)
        )
    )
    codes = {wanted[link.url_hash]: link.code for link in stored}
    for digest, url in wanted.items():
        if url not in codes:
            code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))
            session.add(TrackedLink(code=code, post_id=post_id, url=url, url_hash=digest))
            codes[url] = code
    session.flush()
    return codes


def tracked_text(session: Session, post_id: int, text: str, base: str) -> str:
    """`text` with each of its links replaced by its short link under `base` (a link that
    already is one stays)."""
    links = [found for found in find_links(text) if not found[2].startswith(base)]
    codes = codes_for(session, post_id, (link for _s, _e, link in links))
    return _replaced(text, links, {url: short_link(base, code) for url, code in codes.items()})


def track_message(session: Session, message: OutgoingPost, base: str | None = None) -> OutgoingPost:
    """What is sent for `message`: its links tracked under `base` (default: the
    organisation's `tracked_links_base_url`), or `message` itself when tracking is off."""
    if base is None:
        base = org_settings.tracked_links_base(session)
    if not base or not message.text:
        return message
    text = tracked_text(session, message.post_id, message.text, base)
    return message if text == message.text else replace(message, text=text)


_URL_SAFE = "!#$%&'()*+,/:;=?@[]~"


def location(url: str) -> str:
    """`url` as an HTTP Location header carries it: ASCII only (a non-ASCII host in IDNA,
    other non-ASCII characters percent-encoded as UTF-8; '%' escapes already there stay)."""
    if url.isascii():
        return url
    parts = urlsplit(url)
    return urlunsplit(
        (
            parts.scheme,
            _ascii_netloc(parts.netloc),
            quote(parts.path, safe=_URL_SAFE),
            quote(parts.query, safe=_URL_SAFE),
            quote(parts.fragment, safe=_URL_SAFE),
        )
    )


def _ascii_netloc(netloc: str) -> str:
    """`netloc` with a non-ASCII host in IDNA, as written (capitals too: `urlsplit`'s
    `hostname` is lower-cased, so it cannot be searched for in the original); anything
    IDNA cannot take is percent-encoded."""
    userinfo, at, hostport = netloc.rpartition("@")
    host, colon, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    if userinfo.isascii() and port.isascii() and not host.isascii():
        try:
            return f"{userinfo}{at}{host.encode('idna').decode('ascii')}{colon}{port}"
        except UnicodeError:
            pass
    return netloc if netloc.isascii() else quote(netloc, safe=_URL_SAFE)


def is_bot(user_agent: str) -> bool:
    """Whether a client that fetches a link is a bot or previewer (its click is not counted)."""
    return not user_agent.strip() or _BOTS.search(user_agent) is not None


def follow(session: Session, code: str, *, count: bool) -> str | None:
    """The link behind `code` (None for an unknown one); with `count`, the click is counted
    in one UPDATE, so clicks at the same moment are all counted."""
    if not _CODE.fullmatch(code):
        return None
    if not count:
        return session.exec(select(TrackedLink.url).where(TrackedLink.code == code)).first()
    url = session.exec(
        update(TrackedLink)
        .where(col(TrackedLink.code) == code)
        .values(clicks=TrackedLink.clicks + 1, last_click_at=utcnow())
        .returning(col(TrackedLink.url))
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    session.commit()
    return str(url) if url is not None else None


@dataclass(frozen=True)
class LinkClicks:
    """One tracked link of a post and how often it was clicked."""

    post_id: int
    code: str
    url: str
    clicks: int
    last_click_at: datetime | None


def list_links(
    session: Session,
    *,
    actor: User,
    post_ids: Iterable[int] | None = None,
    limit: int | None = None,
) -> list[LinkClicks]:
    """Tracked links (of `post_ids`, or all) with their clicks, newest post first (who
    reads pieces); at most `limit`."""
    require(actor, "view_pieces")
    query = select(TrackedLink)
    if post_ids is not None:
        query = query.where(col(TrackedLink.post_id).in_(list(post_ids)))
    query = query.order_by(col(TrackedLink.post_id).desc(), col(TrackedLink.id))
    rows = session.exec(query if limit is None else query.limit(limit))
    return [LinkClicks(r.post_id, r.code, r.url, r.clicks, r.last_click_at) for r in rows]


def click_counts(session: Session, actor: User, post_ids: Iterable[int]) -> dict[int, int]:
    """Clicks on the tracked links of each of `post_ids` (posts without any: 0)."""
    require(actor, "view_pieces")
    wanted = sorted(set(post_ids))
    counts = dict.fromkeys(wanted, 0)
    if not wanted:
        return counts
    rows = session.exec(
        select(TrackedLink.post_id, func.sum(TrackedLink.clicks))
        .join(Post, col(Post.id) == TrackedLink.post_id)
        .where(col(TrackedLink.post_id).in_(wanted))
        .group_by(col(TrackedLink.post_id))
    )
    for post_id, total in rows:
        counts[int(post_id)] = int(total or 0)
    return counts
