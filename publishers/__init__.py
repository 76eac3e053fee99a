"""Publisher adapters, one module per channel. Only this package imports `requests`.

`CHANNEL_KINDS` names every kind the planner knows (a channel of another kind is refused);
`REGISTRY` maps each kind to its adapter. Every planner kind has one; posts of a kind
without one (taken out with `unregister`, say) are held, not published.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from publishers.base import Publisher, UnknownKind
from publishers.bluesky import BlueskyPublisher
from publishers.discord import DiscordPublisher
from publishers.facebook import FacebookPublisher
from publishers.linkedin import LinkedInPublisher
from publishers.manual import ManualPublisher
from publishers.mastodon import MastodonPublisher
from publishers.matrix import MatrixPublisher
from publishers.newsletter import NewsletterPublisher
from publishers.rss import FeedPublisher
from publishers.slack import SlackPublisher
from publishers.teams import TeamsPublisher
from publishers.telegram import TelegramPublisher
from publishers.webhook import WebhookPublisher
from publishers.wordpress import WordPressPublisher
from publishers.x import XPublisher

__all__ = [
    "CHANNEL_KINDS",
    "REGISTRY",
    "UnknownKind",
    "adapter_for",
    "register",
    "unregister",
]

CHANNEL_KINDS: dict[str, str] = {
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "linkedin": "LinkedIn page",
    "x": "X",
    "facebook": "Facebook page",
    "wordpress": "WordPress blog",
    "newsletter": "Newsletter (SMTP)",
    "matrix": "Matrix room",
    "telegram": "Telegram channel",
    "slack": "Slack",
    "teams": "Microsoft Teams",
    "discord": "Discord",
    "rss": "RSS/Atom feed",
    "webhook": "Webhook",
    "manual": "Manual (e.g. XING)",
}

# Kinds with a working adapter: adding a channel is its module, this line, and its test.
REGISTRY: dict[str, type[Publisher]] = {
    MastodonPublisher.kind: MastodonPublisher,
    BlueskyPublisher.kind: BlueskyPublisher,
    LinkedInPublisher.kind: LinkedInPublisher,
    XPublisher.kind: XPublisher,
    FacebookPublisher.kind: FacebookPublisher,
    WordPressPublisher.kind: WordPressPublisher,
    NewsletterPublisher.kind: NewsletterPublisher,
    MatrixPublisher.kind: MatrixPublisher,
    TelegramPublisher.kind: TelegramPublisher,
    SlackPublisher.kind: SlackPublisher,
    TeamsPublisher.kind: TeamsPublisher,
    DiscordPublisher.kind: DiscordPublisher,
    FeedPublisher.kind: FeedPublisher,
    WebhookPublisher.kind: WebhookPublisher,
    ManualPublisher.kind: ManualPublisher,
}

# Kinds that `register` added to CHANNEL_KINDS, so `unregister` removes only those.
_ADDED_KINDS: set[str] = set()

P = TypeVar("P", bound=type[Publisher])


def adapter_for(kind: str, settings: Mapping[str, Any]) -> Publisher:
    """Build the adapter for `kind` from `settings`; UnknownKind if there is none."""
    cls = REGISTRY.get(kind)
    if cls is None:
        raise UnknownKind(kind, REGISTRY, known=kind in CHANNEL_KINDS)
    return cls(settings)


def register(cls: P) -> P:
    """Add an adapter class under its `kind` (also usable as a class decorator)."""
    kind = getattr(cls, "kind", "")
    if not kind or not getattr(cls, "display_name", ""):
        raise ValueError(f"{cls.__name__} must declare `kind` and `display_name`")
    current = REGISTRY.get(kind)
    if current is not None and current is not cls:
        raise ValueError(f"kind {kind!r} is already registered to {current.__name__}")
    REGISTRY[kind] = cls
    if kind not in CHANNEL_KINDS:
        CHANNEL_KINDS[kind] = cls.display_name
        _ADDED_KINDS.add(kind)
    return cls


def unregister(kind: str) -> type[Publisher] | None:
    """Remove the adapter for `kind` (and a kind name `register` added); the class or None."""
    cls = REGISTRY.pop(kind, None)
    if kind in _ADDED_KINDS:
        _ADDED_KINDS.discard(kind)
        CHANNEL_KINDS.pop(kind, None)
    return cls
