"""Generic webhook: POST a JSON payload, signed the Standard Webhooks way, with a key.

Every request carries the Standard Webhooks headers: `webhook-id` (for a post, derived
from its idempotency key, so it stays the same on every retry and the receiver can drop
repeats), `webhook-timestamp` (Unix seconds of this attempt) and `webhook-signature`
(`v1,<base64 HMAC-SHA256>` over `<webhook-id>.<webhook-timestamp>.<body>`). A receiver
that checks the signature and refuses timestamps more than a few minutes off cannot be
fooled by a replayed request. The secret is required: a `whsec_<base64>` secret is used
base64-decoded (as Standard Webhooks libraries do), any other as its UTF-8 bytes.

Where the receiver offers a status address (`status_url`), the planner can ask it whether a
post arrived, instead of asking a person after an ambiguous failure: GET `status_url` with
the query `idempotency_key=<key>`, signed the same way with the key's UTF-8 bytes as the
body. 200 with {"id", "url"} means the post is there, 404 that it is not; any other
answer means the receiver cannot tell.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from publishers.base import (
    ConfigError,
    OutgoingPost,
    Publisher,
    Receipt,
    SettingSpec,
    TransientError,
    answer,
    secret_setting,
    timeout_setting,
)
from publishers.http import json_object_or_empty

if TYPE_CHECKING:
    import requests

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
EVENT_HEADER = "X-Planner-Event"
KEY_PREFIX = "whsec_"  # marks a base64 signing secret (Standard Webhooks)
# A message id must not contain ".", which separates the signed parts.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: `whsec_<base64>` decoded, any other its UTF-8 bytes."""
    if secret.startswith(KEY_PREFIX):
        return base64.b64decode(secret[len(KEY_PREFIX) :], validate=True)
    return secret.encode("utf-8")


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: 'v1,' + base64 HMAC-SHA256 of id.timestamp.body."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def message_id(idempotency_key: str) -> str:
    """The `webhook-id` of a post: the same for every attempt with the same key."""
    if _PLAIN_ID.fullmatch(idempotency_key):
        return "msg_" + idempotency_key
    return "msg_" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]


class WebhookPublisher(Publisher, kind="webhook", display_name="Webhook"):
    """Sends each post to a URL the company controls (intranet, automation, CMS)."""

    supports_media = True
    settings_spec = (
        SettingSpec("url", type="url", help="where the JSON payload is POSTed"),
        secret_setting(
            "secret",
            "signing secret (Standard Webhooks): preferably whsec_ and at least 24 "
            "random bytes in base64; the receiver checks the webhook-signature header with it",
        ),
        SettingSpec(
            "receiver_deduplicates",
            type="bool",
            required=False,
            default=False,
            help="the receiver ignores a repeated Idempotency-Key, so a re-send is safe "
            "(an admin's declaration, kept on the channel)",
        ),
        SettingSpec(
            "status_url",
            type="url",
            required=False,
            help="where the receiver says whether a post arrived: GET with "
            "?idempotency_key=…, answering 200 with its id and url, or 404 (empty: "
            "a person checks instead)",
        ),
        timeout_setting("the receiver"),
    )

    # Only the admin knows whether the receiver drops repeats; the planner keeps that.
    deduplication_setting: ClassVar[str | None] = "receiver_deduplicates"

    # Unix seconds of an attempt; replaced in tests.
    clock: Callable[[], float] = staticmethod(time.time)

    def __init__(
        self, settings: Mapping[str, Any], *, allow_private_network: bool | None = None
    ) -> None:
        super().__init__(settings, allow_private_network=allow_private_network)
        # Only a receiver with a status address can say whether a post arrived.
        self.can_look_up = bool(self.settings["status_url"])  # type: ignore[misc]

    @classmethod
    def clean_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The settings, with a secret that can sign (and a clear word if there is none)."""
        try:
            clean = super().clean_settings(settings)
        except ConfigError as err:
            if (err.field, err.code) != ("secret", "required"):
                raise
            raise ConfigError(
                cls.kind,
                "secret",
                "a webhook needs a secret to sign what it sends; an admin sets one "
                "(Channels page, or `python -m planner channels edit NAME --secret secret`)",
                code="webhook_secret_required",
            ) from err
        try:
            signing_key(clean["secret"])
        except (binascii.Error, ValueError) as err:
            raise ConfigError(
                cls.kind,
                "secret",
                "a secret starting with whsec_ must continue in base64",
                code="webhook_secret_base64",
            ) from err
        return clean

    def _signed(self, msg_id: str, body: bytes) -> dict[str, str]:
        """The Standard Webhooks headers for `body` sent now as message `msg_id`."""
        timestamp = int(self.clock())
        return {
            ID_HEADER: msg_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(self.settings["secret"], msg_id, timestamp, body),
        }

    def _post(
        self, payload: Mapping[str, Any], msg_id: str, headers: dict[str, str]
    ) -> requests.Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            **headers,
            **self._signed(msg_id, body),
        }
        return self._checked_request("POST", self.settings["url"], data=body, headers=headers)

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """POST the post as signed JSON; the receiver's "id" and "url" make the receipt."""
        payload = {
            "post_id": post.post_id,
            "idempotency_key": idempotency_key,
            "title": post.title,
            "text": post.text,
            "link": post.link,
            "tags": list(post.tags),
            "media": [{"url": m.url, "alt_text": m.alt_text} for m in post.media],
        }
        response = self._post(
            payload,
            message_id(idempotency_key),
            {"Idempotency-Key": idempotency_key, EVENT_HEADER: "post"},
        )
        answer = json_object_or_empty(response)
        ident = answer.get("id")
        url = answer.get("url")
        has_id = isinstance(ident, str | int) and str(ident) != ""
        return Receipt(
            # Without an id of its own, the key we sent is what the receiver can look up.
            external_id=str(ident) if has_id else idempotency_key,
            url=_web_address(url),
            http_status=response.status_code,
            raw=answer,
        )

    def lookup(self, post: OutgoingPost, idempotency_key: str) -> Receipt | None:
        """Ask the receiver's `status_url` whether the post with this key arrived."""
        if not self.settings["status_url"]:
            return super().lookup(post, idempotency_key)
        # A question of its own: a fresh id, the key's bytes signed as its body.
        headers = {
            EVENT_HEADER: "status",
            **self._signed(f"msg_{uuid.uuid4().hex}", idempotency_key.encode("utf-8")),
        }
        response = self._request(
            "GET",
            self.settings["status_url"],
            params={"idempotency_key": idempotency_key},
            headers=headers,
        )
        if response.status_code == 404:
            return None
        error = self._error(response)
        if error is not None:
            raise error
        answer = json_object_or_empty(response)
        ident = answer.get("id")
        if isinstance(ident, bool) or not isinstance(ident, str | int) or str(ident) == "":
            raise TransientError(
                f"the receiver's status answer (HTTP {response.status_code}) has no id, "
                "so it does not say whether the post arrived",
                http_status=response.status_code,
            )
        return Receipt(
            external_id=str(ident),
            url=_web_address(answer.get("url")),
            http_status=response.status_code,
            raw=answer,
        )

    def check_connection(self) -> str:
        """POST a signed ping event; any 2xx means the receiver is there and takes our key.

        Each ping is a message of its own (a fresh id and timestamp), so no ping answers
        for another one."""
        response = self._post({"event": "ping"}, f"msg_{uuid.uuid4().hex}", {EVENT_HEADER: "ping"})
        return answer(
            "webhook_http", "the webhook answered HTTP {status}", status=response.status_code
        )


def _web_address(url: object) -> str | None:
    """`url` if it is a web address; the dashboard links to it, never to e.g. "javascript:"."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
