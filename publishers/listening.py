"""What listening adapters return: mentions of and replies to the company's account,
in one normalised shape whatever the network, and the cursor to read on from."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from dateutil import parser as date_parser

MentionKind = Literal["mention", "reply"]
# A mention's text is kept to this many characters (a post is far shorter on every network).
TEXT_MAX = 20_000

_BREAK = re.compile(r"<br\s*/?>|</p>\s*<p[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Mention:
    """One mention of, or reply to, the account a channel posts as.

    `external_id` is the network's id of the message (unique on its channel);
    `in_reply_to` the id of the message it answers, if any (one of ours, when it is a
    reply); `context` what a reply to it needs besides its id (Bluesky's root and parent).
    """

    external_id: str
    kind: MentionKind
    text: str
    author_name: str = ""
    author_handle: str = ""
    author_url: str | None = None
    url: str | None = None
    published_at: datetime | None = None
    in_reply_to: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Mentions:
    """The mentions newer than the cursor given, oldest first, and the cursor to give next."""

    items: Sequence[Mention]
    cursor: str | None


@dataclass(frozen=True)
class ReplyTo:
    """The message a reply answers, as the inbox stored it."""

    external_id: str
    author_handle: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)


def plain_text(markup: str) -> str:
    """HTML (a Mastodon status, a feed summary) as plain text: breaks kept, tags dropped."""
    text = _BREAK.sub("\n", markup)
    return html.unescape(_TAG.sub("", text)).strip()[:TEXT_MAX]


def instant(value: object) -> datetime | None:
    """An ISO 8601 time from a network's answer as an aware UTC datetime; None if it is none."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed: datetime = date_parser.isoparse(value)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
