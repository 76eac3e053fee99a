"""Generic webhook: POST a JSON payload, signed with HMAC-SHA256, with an idempotency key."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from publishers.base import OutgoingPost, Publisher, Receipt, SettingSpec
from publishers.http import raise_for_channel, request

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
            help="the receiver ignores a repeated Idempotency-Key, so a re-send is safe",
        ),
        SettingSpec(
            "timeout_seconds",
            type="int",
            required=False,
            default=30,
            help="how long to wait for the receiver",
        ),
    )

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        # Whether a re-send is safe depends on the receiver, so it is a setting here.
        self.deduplicates = bool(self.settings["receiver_deduplicates"])  # type: ignore[misc]

    @property
    def _secrets(self) -> list[str]:
        return [self.settings["secret"]] if self.settings.get("secret") else []

    def _post(self, payload: Mapping[str, Any], headers: dict[str, str]) -> Any:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", **headers}
        if self.settings.get("secret"):
            headers[SIGNATURE_HEADER] = signature(self.settings["secret"], body)
        response = request(
            "POST",
            self.settings["url"],
            data=body,
            headers=headers,
            timeout=(5.0, float(self.settings["timeout_seconds"])),
            secrets=self._secrets,
        )
        return raise_for_channel(response, secrets=self._secrets)

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
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
        try:
            answer = response.json()
        except ValueError:
            answer = None
        answer = answer if isinstance(answer, dict) else {}
        return Receipt(
            external_id=str(answer.get("id") or idempotency_key),
            url=str(answer["url"]) if answer.get("url") else None,
            http_status=response.status_code,
            raw=answer,
        )

    def check_connection(self) -> str:
        response = self._post({"event": "ping"}, {EVENT_HEADER: "ping"})
        return f"the webhook answered HTTP {response.status_code}"
