"""Publisher adapters, one module per channel. Only this package imports `requests`.

The adapter contract and its registry arrive with the publishing engine; until then this
names the channel kinds the domain knows, so a channel of an unknown kind is refused.
"""

from __future__ import annotations

from publishers.base import Publisher

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

# Kinds with a working adapter; filled as adapters land (see the publishing issues).
REGISTRY: dict[str, type[Publisher]] = {}
