"""Slack: messages through an incoming webhook, whose address is the credential.

Slack answers a delivered message with the text `ok` and no message id, so the receipt is
the idempotency key; there is no deduplication and no metrics. Errors are plain-text codes
(`no_service`, `channel_is_archived`, ...). Codes that mean the webhook itself is gone or
revoked raise AuthError (the channel needs a new webhook); the rest map by status. Text is
mrkdwn, in which only &, < and > must be escaped; Slack truncates text beyond 40,000
characters.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from publishers.base import (
    AuthError,
    DeliveryError,
    OutgoingPost,
    Receipt,
    answer,
    timeout_setting,
)
from publishers.chat import WebhookChatPublisher, webhook_url_setting
from publishers.http import channel_message, error_for
from publishers.redaction import redact_in_http_logs
from publishers.text import with_link

if TYPE_CHECKING:
    from requests import Response

MAX_TEXT = 40_000
# Error codes after which this webhook address will never work again: make a new one.
WEBHOOK_GONE = {
    "invalid_token": "the webhook's token was revoked",
    "no_service": "the webhook was disabled, removed or is invalid",
    "no_service_id": "the webhook address is incomplete",
    "no_team": "the Slack workspace of the webhook no longer exists",
    "team_disabled": "the Slack workspace of the webhook is disabled",
    "no_active_hooks": "the webhook's app has no active webhooks",
    "channel_not_found": "the webhook's channel no longer exists",
    "action_prohibited": "a workspace admin restricted posting through this webhook",
}
EXPLANATIONS = {
    **WEBHOOK_GONE,
    "channel_is_archived": "the channel is archived; unarchive it to post again",
    "posting_to_general_channel_denied": "an admin restricted posting to this channel",
    "invalid_payload": "Slack could not read the message",
    "no_text": "the message has no text",
    "rollup_error": "Slack had an internal error",
}
# What a live webhook answers to a message without text (see `check_connection`).
EMPTY_MESSAGE_CODES = ("no_text", "invalid_payload", "missing_text_or_fallback_or_attachments")
_CODE = re.compile(r"[a-z_]+")
_SECRET_PATH = re.compile(r"/services/([^?#\s]+)")

redact_in_http_logs(r"(?<=/services/)[^\s\"?]+")


def escape_mrkdwn(text: str) -> str:
    """`text` for Slack's mrkdwn: &, < and > as entities, nothing else touched."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackPublisher(WebhookChatPublisher, kind="slack", display_name="Slack"):
    """Posts messages to the Slack channel an incoming webhook was created for."""

    text_limit: ClassVar[int | None] = MAX_TEXT
    counted_as: ClassVar[str] = "characters (as sent: & < > count as their entities)"
    settings_spec = (
        webhook_url_setting(
            "the incoming webhook's address (https://hooks.slack.com/services/...); "
            "whoever has it can post, so it is kept secret"
        ),
        timeout_setting("Slack"),
    )

    def _secrets_in(self, url: str) -> list[str]:
        path = _SECRET_PATH.search(url)
        # T.../B.../token, and the token alone, in case Slack or a proxy echoes either.
        return [path.group(1), path.group(1).rsplit("/", 1)[-1]] if path else []

    def _error(self, response: Response) -> DeliveryError | None:
        """The typed error for Slack's answer, None for 2xx; codes get a readable gloss."""
        if 200 <= response.status_code < 300:
            return None
        code = response.text.strip()
        if not _CODE.fullmatch(code):
            return error_for(response, secrets=self._secrets)
        words = channel_message(response, self._secrets)
        message = f"{code}: {EXPLANATIONS[code]}" if code in EXPLANATIONS else words
        if code in WEBHOOK_GONE and response.status_code != 429:
            return AuthError(message, http_status=response.status_code)
        return error_for(response, secrets=self._secrets, message=message)

    def measure(self, text: str) -> int:
        return len(escape_mrkdwn(text))

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """POST {"text": ...}; Slack gives no id, so the key is the receipt."""
        response = self._to_webhook("POST", json={"text": escape_mrkdwn(with_link(post))})
        return Receipt(external_id=idempotency_key, http_status=response.status_code)

    def check_connection(self) -> str:
        """POST a message without text: a live webhook refuses it with `no_text`.

        Nothing is posted; a removed or revoked webhook answers its own error instead.
        """
        response = self._request("POST", self.settings["webhook_url"], json={})
        code = response.text.strip()
        if response.status_code == 400 and code in EMPTY_MESSAGE_CODES:
            return answer(
                "slack_webhook_active",
                "the webhook is active (it refused an empty test message: {code})",
                code=code,
            )
        error = self._error(response)
        if error is not None:
            raise error
        return answer(
            "webhook_http", "the webhook answered HTTP {status}", status=response.status_code
        )
