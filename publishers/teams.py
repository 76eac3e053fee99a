"""Microsoft Teams: an Adaptive Card through a Workflows (Power Automate) webhook.

Office 365 connectors ("Incoming Webhook") are being retired; this adapter posts to a
workflow built from the Teams template "Post to a channel when a webhook request is
received". Its address carries the `sig` key, so the whole address is a secret. The
workflow answers 202 Accepted and posts asynchronously: there is no message id (the key is
the receipt), no deduplication and no metrics. Teams refuses messages over about 28 KB,
so the limit is counted in UTF-8 bytes of the whole card.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from publishers.base import (
    DeliveryError,
    OutgoingPost,
    Problem,
    Receipt,
    answer,
    problem,
    timeout_setting,
)
from publishers.chat import WebhookChatPublisher, webhook_url_setting
from publishers.http import channel_message, error_for, json_object_or_empty, mask
from publishers.redaction import redact_in_http_logs
from publishers.text import with_link

if TYPE_CHECKING:
    from requests import Response

# "approximately 28 KB" per the Teams connector's documented message size limit.
MAX_MESSAGE_BYTES = 28_000
CARD_VERSION = "1.4"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

redact_in_http_logs(r"(?<=[?&]sig=)[^&\s\"]+")


def card_message(title: str, text: str) -> dict[str, Any]:
    """The Workflows message: one Adaptive Card with the title as heading and the text."""
    body: list[dict[str, Any]] = []
    if title.strip():
        body.append(
            {
                "type": "TextBlock",
                "text": title,
                "style": "heading",
                "size": "Large",
                "weight": "Bolder",
                "wrap": True,
            }
        )
    body.append({"type": "TextBlock", "text": text, "wrap": True})
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": CARD_VERSION,
                    "body": body,
                    "msteams": {"width": "Full"},
                },
            }
        ],
    }


def _encoded(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class TeamsPublisher(WebhookChatPublisher, kind="teams", display_name="Microsoft Teams"):
    """Posts Adaptive Cards to a Teams channel through a Workflows webhook."""

    text_limit: ClassVar[int | None] = MAX_MESSAGE_BYTES
    counted_as: ClassVar[str] = "bytes (UTF-8, the whole card)"
    settings_spec = (
        webhook_url_setting(
            "the HTTP address of the Teams workflow 'Post to a channel when a webhook "
            "request is received'; it contains the key (sig=...), so it is kept secret"
        ),
        timeout_setting("the workflow"),
    )

    def _secrets_in(self, url: str) -> list[str]:
        # The key alone as well, in case an error message quotes it.
        return parse_qs(urlsplit(url).query).get("sig", [])

    def _post(self, payload: Mapping[str, Any]) -> Response:
        return self._to_webhook(
            "POST",
            data=_encoded(payload),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    def _error(self, response: Response) -> DeliveryError | None:
        return error_for(response, secrets=self._secrets, message=self._message(response))

    def _message(self, response: Response) -> str:
        """Azure's {"error": {"code", "message"}} as "code: message"; else the body."""
        error = json_object_or_empty(response).get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            code = error.get("code")
            text = f"{code}: {error['message']}" if isinstance(code, str) else error["message"]
            return mask(text, self._secrets)
        return channel_message(response, self._secrets)

    def measure(self, text: str) -> int:
        return len(_encoded(card_message("", text)))

    def validate(self, post: OutgoingPost) -> list[Problem]:
        text = with_link(post)
        problems = super().validate(post)
        size = len(_encoded(card_message(post.title, text)))
        if self.measure(text) <= MAX_MESSAGE_BYTES < size:
            problems.append(
                problem(
                    "title",
                    "card_too_big",
                    "the card has {size} bytes with the title; {channel} takes {limit}",
                    size=size,
                    channel="Teams",
                    limit=MAX_MESSAGE_BYTES,
                )
            )
        return problems

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """POST the card; Teams answers 202 without an id, so the key is the receipt."""
        response = self._post(card_message(post.title, with_link(post)))
        return Receipt(external_id=idempotency_key, http_status=response.status_code)

    def check_connection(self) -> str:
        """POST a message without cards: the key is checked, and the workflow posts nothing.

        The template workflow posts each attachment in turn, so an empty list posts nothing;
        a wrong key, a deleted or a switched-off workflow answers with its error instead.
        """
        response = self._post({"type": "message", "attachments": []})
        return answer(
            "teams_workflow",
            "the workflow accepted a test request (HTTP {status})",
            status=response.status_code,
        )
