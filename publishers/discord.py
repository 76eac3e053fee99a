"""Discord: messages through a channel webhook, whose address (id and token) is the credential.

With `?wait=true` Discord answers with the created message, whose id makes the receipt.
A 2xx answer without it (an HTML page from a proxy, an address that is no Discord
webhook) is no receipt: the message may or may not have been sent, so the publish ends
ambiguously (a TransientError marked `ambiguous`), never blindly re-sent nor recorded as
published.
Mentions are never parsed (`allowed_mentions: {"parse": []}`), so no post can ping
@everyone, @here, a role or a user. Content is limited to 2000 characters, counted as
code points (Discord's API is Python and counts `len(str)`). There is no idempotency key.
A 429 carries the wait in its body (`retry_after`, seconds as a float); an unknown webhook
(404, code 10015) means the address is dead and the channel needs a new one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from publishers.base import (
    AuthError,
    ConfigError,
    DeliveryError,
    Metrics,
    OutgoingPost,
    PermanentError,
    RateLimited,
    Receipt,
    SettingSpec,
    answer,
    gone_when_missing,
    timeout_setting,
)
from publishers.chat import WebhookChatPublisher, webhook_url_setting
from publishers.http import (
    channel_message,
    error_for,
    json_object_or_empty,
    mask,
    retry_after,
    without_id,
)
from publishers.redaction import redact_in_http_logs
from publishers.text import with_link

if TYPE_CHECKING:
    from requests import Response

MAX_CONTENT = 2000
MAX_USERNAME = 80
UNKNOWN_WEBHOOK = 10015

_TOKEN = re.compile(r"/webhooks/\d+/([^/?#\s]+)")

redact_in_http_logs(r"(?<=/webhooks/)\d+/[^/\s\"?]+")


def message_link(guild_id: str, channel_id: str, message_id: str) -> str:
    """The discord.com link that opens a message in its channel."""
    return f"https://discord.com/channels/{guild_id}/{channel_id}/{message_id}"


def _field_errors(errors: Any, path: str = "") -> list[str]:
    """Discord's nested {"content": {"_errors": [{"message": ...}]}} as "content: ..."."""
    if not isinstance(errors, dict):
        return []
    found: list[str] = []
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list):
            found += [
                f"{path or 'body'}: {item['message']}"
                for item in value
                if isinstance(item, dict) and isinstance(item.get("message"), str)
            ]
        else:
            found += _field_errors(value, f"{path}.{key}" if path else str(key))
    return found


class DiscordPublisher(WebhookChatPublisher, kind="discord", display_name="Discord"):
    """Posts messages to the Discord channel a webhook belongs to."""

    text_limit: ClassVar[int | None] = MAX_CONTENT
    reports_metrics: ClassVar[bool] = True
    counted_as: ClassVar[str] = "characters (Unicode code points)"
    # The guild of the webhook's channel, for message links (read once, when needed).
    _guild_id: str | None = None
    settings_spec = (
        webhook_url_setting(
            "the channel webhook's address (https://discord.com/api/webhooks/ID/TOKEN); "
            "whoever has it can post, so it is kept secret"
        ),
        SettingSpec(
            "username",
            required=False,
            help="the name the messages appear under (default: the webhook's name)",
        ),
        timeout_setting("Discord"),
    )

    @classmethod
    def clean_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The base checks, plus a name Discord takes."""
        clean = super().clean_settings(settings)
        username = clean["username"]
        if username is not None and not 1 <= len(username) <= MAX_USERNAME:
            raise ConfigError(
                cls.kind,
                "username",
                f"must be 1 to {MAX_USERNAME} characters",
                code="length_1_to",
                params={"max": MAX_USERNAME},
            )
        return clean

    def _secrets_in(self, url: str) -> list[str]:
        token = _TOKEN.search(url)
        # The token alone as well: Discord echoes it in the webhook object.
        return [token.group(1)] if token else []

    def _error(self, response: Response) -> DeliveryError | None:
        """The typed error for {"message", "code", "errors"?, "retry_after"?, "global"?}."""
        if 200 <= response.status_code < 300:
            return None
        body = json_object_or_empty(response)
        message = channel_message(response, self._secrets)
        details = _field_errors(body.get("errors"))
        if details:
            message = mask(f"{message}: {'; '.join(details)}", self._secrets)
        status = response.status_code
        if status == 429:
            return RateLimited(
                message + (" (global limit)" if body.get("global") is True else ""),
                retry_after=self._wait(response, body),
                http_status=status,
            )
        if status == 404 and body.get("code") == UNKNOWN_WEBHOOK:
            # The webhook was deleted: this address will never work again.
            return AuthError(message, http_status=status)
        return error_for(response, secrets=self._secrets, message=message)

    @staticmethod
    def _wait(response: Response, body: Mapping[str, Any]) -> float:
        """Discord's wait: body retry_after, else X-RateLimit-Reset-After, else Retry-After."""
        wait = body.get("retry_after")
        if isinstance(wait, int | float) and not isinstance(wait, bool):
            return float(wait)
        try:
            return float(response.headers.get("X-RateLimit-Reset-After", ""))
        except ValueError:
            return retry_after(response)

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """POST ?wait=true with mentions off; the message id and link make the receipt."""
        payload: dict[str, Any] = {"content": with_link(post), "allowed_mentions": {"parse": []}}
        if self.settings["username"]:
            payload["username"] = self.settings["username"]
        response = self._to_webhook(
            "POST",
            params={"wait": "true"},
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json"},
        )
        message = json_object_or_empty(response)
        message_id = message.get("id")
        if not isinstance(message_id, str) or not message_id:
            # A 2xx without the message: perhaps sent, perhaps never reached Discord (a
            # proxy's page). Resending could post twice; a receipt could claim a post
            # that is not there.
            raise without_id(
                response,
                f"Discord answered HTTP {response.status_code} without the created message; "
                "it may or may not have been posted",
            )
        return Receipt(
            external_id=message_id,
            url=self._link(message, message_id),
            http_status=response.status_code,
            raw=message,
        )

    def _link(self, message: Mapping[str, Any], message_id: str) -> str | None:
        """The message's link; the guild comes from the webhook when the answer lacks it."""
        channel_id = message.get("channel_id")
        guild_id = message.get("guild_id") or self._guild_id
        if not guild_id:
            try:
                guild_id = self._webhook().get("guild_id")
            except DeliveryError:
                # The message is out; a missing link must not turn that into a failure.
                return None
        if isinstance(guild_id, str) and guild_id and isinstance(channel_id, str):
            return message_link(guild_id, channel_id, message_id)
        return None

    def _webhook(self) -> dict[str, Any]:
        """The webhook object (GET on its address): name, channel_id, guild_id."""
        webhook = json_object_or_empty(self._to_webhook("GET"))
        guild_id = webhook.get("guild_id")
        if isinstance(guild_id, str) and guild_id:
            self._guild_id = guild_id
        return webhook

    def fetch_metrics(self, receipt: Receipt) -> Metrics:
        """Reactions on the message (all emoji together), read through the webhook."""
        if not receipt.external_id.isdigit():
            # A receipt that holds no message id: there is nothing to read.
            raise PermanentError("Discord gave no message id for this post; no figures")
        with gone_when_missing():  # 404 "Unknown Message": deleted in Discord
            response = self._to_webhook("GET", f"/messages/{receipt.external_id}")
        message = json_object_or_empty(response)
        reactions = message.get("reactions")
        counts = [
            item.get("count")
            for item in (reactions if isinstance(reactions, list) else [])
            if isinstance(item, dict)
        ]
        return Metrics(
            reactions=sum(c for c in counts if isinstance(c, int)),
            raw={"id": message.get("id"), "reactions": reactions or []},
        )

    def check_connection(self) -> str:
        """GET the webhook: Discord answers with its name and channel; nothing is posted."""
        webhook = self._webhook()
        name = webhook.get("name") or "?"
        return answer(
            "discord_webhook",
            "webhook {name!r} posts to channel {channel}",
            name=name,
            channel=webhook.get("channel_id", "?"),
        )
