"""Generic webhook: POST a JSON payload, signed with HMAC-SHA256, with an idempotency key.

Where the receiver offers a status address (`status_url`), the planner can ask it whether a
post arrived, instead of asking a person after an ambiguous failure: GET `status_url` with
the query `idempotency_key=<key>` (and, with a secret, X-Planner-Signature over the key's
UTF-8 bytes). 200 with {"id", "url"} means the post is there, 404 that it is not; any other
answer means the receiver cannot tell.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from publishers.base import (
    OutgoingPost,
    Publisher,
    Receipt,
    SettingSpec,
    TransientError,
    timeout_setting,
)
from publishers.http import (
    error_for,
    json_object_or_empty,
    raise_for_channel,
    request,
    timeouts,
)

if TYPE_CHECKING:
    import requests

SIGNATURE_HEADER = "X-Planner-Signature"
EVENT_HEADER = "X-Planner-Event"


def signature(secret: str, body: bytes) -> str:
    """The signature header value for `body`: 'sha256=' + hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookPublisher(Publisher):
    """Sends each post to a URL the company controls (intranet, automation, CMS)."""

    kind: ClassVar[str] = "webhook"
    display_name: ClassVar[str] = "Webhook"
    supports_media = True
    settings_spec = (
        SettingSpec("url", type="url", help="where the JSON payload is POSTed"),
        SettingSpec(
            "secret",
            type="password",
            secret=True,
            required=False,
            help="key for the HMAC-SHA256 signature in the X-Planner-Signature header",
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

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        # Only a receiver with a status address can say whether a post arrived.
        self.can_look_up = bool(self.settings["status_url"])  # type: ignore[misc]

    def _post(self, payload: Mapping[str, Any], headers: dict[str, str]) -> requests.Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        if self.settings.get("secret"):
            headers[SIGNATURE_HEADER] = signature(self.settings["secret"], body)
        response = request(
            "POST",
            self.settings["url"],
            data=body,
            headers=headers,
            timeout=timeouts(self.settings["timeout_seconds"]),
            session=self.http_session,
            secrets=self._secrets,
        )
        return raise_for_channel(response, secrets=self._secrets)

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
        response = self._post(payload, {"Idempotency-Key": idempotency_key, EVENT_HEADER: "post"})
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
        headers = {EVENT_HEADER: "status"}
        if self.settings.get("secret"):
            key = idempotency_key.encode("utf-8")
            headers[SIGNATURE_HEADER] = signature(self.settings["secret"], key)
        response = request(
            "GET",
            self.settings["status_url"],
            params={"idempotency_key": idempotency_key},
            headers=headers,
            timeout=timeouts(self.settings["timeout_seconds"]),
            session=self.http_session,
            secrets=self._secrets,
        )
        if response.status_code == 404:
            return None
        error = error_for(response, secrets=self._secrets)
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
        """POST a signed ping event; any 2xx means the receiver is there and takes our key."""
        response = self._post({"event": "ping"}, {EVENT_HEADER: "ping"})
        return f"the webhook answered HTTP {response.status_code}"


def _web_address(url: object) -> str | None:
    """`url` if it is a web address; the dashboard links to it, never to e.g. "javascript:"."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
