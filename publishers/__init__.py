"""Publisher adapters, one module per channel. Only this package imports `requests`.

`REGISTRY` maps each kind to its adapter, built from the adapter classes, which carry their
kind and name. `CHANNEL_KINDS` is a read-only view, derived from them, of every kind the
planner knows, by name (a channel of another kind is refused). Every built-in kind has an
adapter; posts of a kind without one (taken out with `unregister`, say) are held, not
published.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
    "BUILT_IN",
    "CHANNEL_KINDS",
    "REGISTRY",
    "UnknownKind",
    "adapter_for",
    "register",
    "unregister",
]

# The adapters that come with the planner; their kinds are the ones it knows. Adding a
# channel is its module, this line, and its test.
BUILT_IN: tuple[type[Publisher], ...] = (
    MastodonPublisher,
    BlueskyPublisher,
    LinkedInPublisher,
    XPublisher,
    FacebookPublisher,
    WordPressPublisher,
    NewsletterPublisher,
    MatrixPublisher,
    TelegramPublisher,
    SlackPublisher,
    TeamsPublisher,
    DiscordPublisher,
    FeedPublisher,
    WebhookPublisher,
    ManualPublisher,
)

# Kinds with a working adapter.
REGISTRY: dict[str, type[Publisher]] = {cls.kind: cls for cls in BUILT_IN}


class _KindNames(Mapping[str, str]):
    """Every kind the planner knows, with its name: the built-in ones, then any registered.

    Read from the adapter classes on every access, so it always agrees with REGISTRY; a
    built-in kind keeps its name while its adapter is unregistered.
    """

    def _names(self) -> dict[str, str]:
        names = {cls.kind: cls.kind_name or cls.display_name for cls in BUILT_IN}
        for kind, cls in REGISTRY.items():
            names.setdefault(kind, cls.kind_name or cls.display_name)
        return names

    def __getitem__(self, kind: str) -> str:
        return self._names()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return f"CHANNEL_KINDS({self._names()!r})"


CHANNEL_KINDS: Mapping[str, str] = _KindNames()

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
    return cls


def unregister(kind: str) -> type[Publisher] | None:
    """Remove the adapter for `kind` (a registered kind's name goes with it); the class or None."""
    return REGISTRY.pop(kind, None)
