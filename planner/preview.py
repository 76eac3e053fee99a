"""How a post will read on its channel: where the feed folds it, where the limit cuts it,
its hashtags, mentions and link card.

The text is the one the channel is sent (its variant, or the master text), measured by
the channel's own adapter, so the cut falls where the channel would count past its
limit (weighted characters on X, graphemes on Bluesky, bytes on Matrix ...). Networks
that show long posts folded behind a "more" link fold them at about the length in
`FEED_FOLD`; the preview shows that point as the reader's first glance.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from sqlmodel import Session

from planner import editing, pieces
from planner.channels import build_adapter
from planner.editing import VariantCheck
from planner.errors import ConfigurationError, NotFound, ValidationFailed
from planner.models import Channel, User
from planner.permissions import require
from publishers import REGISTRY

# Characters after which a network's feed shows "… more" (about; web and apps differ a
# little): LinkedIn folds a post after its first ~210, Facebook after ~480.
FEED_FOLD: dict[str, int] = {"linkedin": 210, "facebook": 480}

# Kinds whose readers see the first link of a post as a card (title, image, host).
LINK_CARDS = frozenset(
    {"mastodon", "bluesky", "linkedin", "x", "facebook", "telegram", "slack", "discord"}
)

# A fold moves back to the last space before it, if that is no further than this.
_FOLD_SLACK = 30

SpanKind = Literal["text", "hashtag", "mention", "link"]

_LINK = r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'’]"
_HASHTAG = r"(?<![\w#&])#\w+"
# @name, or @name@server as on Mastodon; not an e-mail address (no word before the @).
_MENTION = r"(?<![\w@/])@\w+(?:[.\-]\w+)*(?:@\w+(?:[.\-]\w+)*\.\w+)?"
_MARKED = re.compile(f"(?P<link>{_LINK})|(?P<hashtag>{_HASHTAG})|(?P<mention>{_MENTION})")


class Span(NamedTuple):
    """A run of the text: plain, or a hashtag, a mention or a link the network will mark."""

    kind: SpanKind
    text: str


@dataclass(frozen=True)
class ChannelPreview:
    """A post as the readers of one channel will see it.

    `shown` is what the feed shows at first, `folded` what it shows after "more", and
    `over` what lies past the channel's limit, which the channel would refuse (the post
    is held until it is shortened). `link_card` is the link the network shows as a card
    (the first one), where it shows one. `check` has the length as the channel counts it and
    what the adapter says must be fixed.
    """

    channel_id: int
    channel_name: str
    kind: str
    kind_name: str
    check: VariantCheck
    shown: tuple[Span, ...]
    folded: tuple[Span, ...]
    over: str
    link_card: str | None
    hashtags: tuple[str, ...]
    mentions: tuple[str, ...]

    @property
    def link_host(self) -> str:
        """The host the link card names ("" without a card)."""
        return (urlsplit(self.link_card).hostname or "") if self.link_card else ""

    @property
    def fold(self) -> int | None:
        """About where the feed folds this channel's posts; None where it shows them whole."""
        return FEED_FOLD.get(self.kind)


def spans(text: str) -> list[Span]:
    """`text` split into plain runs and the hashtags, mentions and links in it."""
    found: list[Span] = []
    at = 0
    for match in _MARKED.finditer(text):
        if match.start() > at:
            found.append(Span("text", text[at : match.start()]))
        kind: SpanKind = "link" if match["link"] else "hashtag" if match["hashtag"] else "mention"
        found.append(Span(kind, match.group()))
        at = match.end()
    if at < len(text):
        found.append(Span("text", text[at:]))
    return found


def preview_text(
    session: Session, *, actor: User, channel_id: int, text: str, title: str = ""
) -> ChannelPreview:
    """How `text` (the text the channel is sent: its variant, or the master text) will read
    on channel `channel_id`."""
    require(actor, "view_pieces")
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound("channel", channel_id)
    check = editing.check_variant(
        session, actor=actor, channel_id=channel_id, text=text, title=title
    )
    kept, over = _cut(text, check.limit, _measure(channel))
    shown, folded = _fold(kept, FEED_FOLD.get(channel.kind))
    marked = spans(text)
    links = [s.text for s in spans(kept) if s.kind == "link"]
    cls = REGISTRY.get(channel.kind)
    return ChannelPreview(
        channel_id=channel_id,
        channel_name=channel.name,
        kind=channel.kind,
        kind_name=(cls.kind_name or cls.display_name) if cls else channel.kind,
        check=check,
        shown=tuple(spans(shown)),
        folded=tuple(spans(folded)),
        over=over,
        link_card=links[0] if links and channel.kind in LINK_CARDS else None,
        hashtags=tuple(dict.fromkeys(s.text for s in marked if s.kind == "hashtag")),
        mentions=tuple(dict.fromkeys(s.text for s in marked if s.kind == "mention")),
    )


def piece_previews(
    session: Session, *, actor: User, piece_id: int, revision: int | None = None
) -> list[ChannelPreview]:
    """How revision `revision` of a piece (default: its current one) will read on every
    channel it is planned on or has a variant for."""
    piece = pieces.get_piece(session, actor=actor, piece_id=piece_id)
    content = (
        piece
        if revision is None or revision == piece.revision
        else pieces.get_revision(session, actor=actor, piece_id=piece_id, number=revision)
    )
    previews = []
    for channel in editing.variant_channels(session, actor=actor, piece_id=piece_id):
        assert channel.id is not None
        text = content.variants.get(str(channel.id)) or content.body
        previews.append(
            preview_text(
                session, actor=actor, channel_id=channel.id, text=text, title=content.title
            )
        )
    return previews


def _measure(channel: Channel) -> Callable[[str], int]:
    """How `channel` counts a text; characters where its adapter cannot be built."""
    try:
        return build_adapter(channel).measure
    except (ValidationFailed, ConfigurationError):
        return len


def _cut(text: str, limit: int | None, measure: Callable[[str], int]) -> tuple[str, str]:
    """`text` split where it passes `limit` as `measure` counts: (what fits, what is over)."""
    if limit is None or measure(text) <= limit:
        return text, ""
    low, high = 0, len(text)  # measure(text[:low]) <= limit < measure(text[:high])
    while high - low > 1:
        middle = (low + high) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle
    return text[:low], text[low:]


def _fold(text: str, fold: int | None) -> tuple[str, str]:
    """`text` split where the feed folds it, at a space close before the fold if any."""
    if fold is None or len(text) <= fold:
        return text, ""
    space = text.rfind(" ", fold - _FOLD_SLACK, fold + 1)
    at = space if space > 0 else fold
    return text[:at], text[at:]
