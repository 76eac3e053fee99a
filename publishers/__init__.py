"""Publisher adapters, one module per channel. Only this package imports `requests`.

`CHANNEL_KINDS` names every kind the planner knows (a channel of another kind is refused);
`REGISTRY` holds the kinds that have an adapter, so only their posts are published.
"""

from __future__ import annotations

from publishers.base import Publisher
from publishers.webhook import WebhookPublisher

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
    WebhookPublisher.kind: WebhookPublisher,
}
