"""Chat channels reached through an incoming webhook, whose address is the credential.

Slack, Microsoft Teams and Discord each give a channel an address that anyone who has it
can post to. The adapters share how they treat it: a required secret setting that must
still be an http(s) address, masked in every message (with the parts of it that are
secrets on their own), and never chained to an error through a requests exception, whose
text would hold it. Each posts its text with the post's link at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from publishers.base import Publisher, SettingSpec

if TYPE_CHECKING:
    from requests import Response


def webhook_url_setting(help: str) -> SettingSpec:
    """The required `webhook_url` setting: a secret that is an http(s) address."""
    return SettingSpec("webhook_url", type="password", secret=True, http_address=True, help=help)


class WebhookChatPublisher(Publisher):
    """Base class of the chat adapters that post through an incoming webhook."""

    appends_link: ClassVar[bool] = True
    url_is_secret: ClassVar[bool] = True

    @property
    def _secrets(self) -> list[str]:
        url: str = self.settings["webhook_url"]
        return [url, *self._secrets_in(url)]

    def _secrets_in(self, url: str) -> list[str]:
        """The parts of the webhook's address that are secrets on their own (none here)."""
        return []

    def _to_webhook(self, method: str, path: str = "", **kwargs: Any) -> Response:
        """A request to the webhook's address (plus `path`); an answer no success raises."""
        url: str = self.settings["webhook_url"]
        if path:
            url = url.split("?")[0].rstrip("/") + path
        return self._checked_request(method, url, **kwargs)
