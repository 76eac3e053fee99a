"""Telegram: a bot posts text messages to a channel through the Bot API's sendMessage.

The bot token is part of every request path (`/bot<token>/sendMessage`), so it is passed
as a secret to the HTTP helper (masked in every message) and registered for masking in
urllib3's debug log. The text limit is 4096 characters after entity parsing, counted as
Unicode code points: tdlib, which runs the Bot API server, checks `utf8_length(text)`
(code points, not UTF-16 units) after the HTML tags are parsed away, so escaping costs
nothing. The Bot API has no idempotency key: a repeat sends a second message.

Every Bot API answer is `{"ok": true, "result": ...}`, the sent Message under `result`.
A 2xx answer without one (an HTML page from a proxy or a captive portal, a wrong
`api_base`) is no receipt: the message may or may not have been sent, so the publish ends
ambiguously (a TransientError marked `ambiguous`), never blindly re-sent nor recorded as
published.

A post with images is one message with the text as its caption: one image through
`sendPhoto` (multipart `photo`), two to ten as an album through `sendMediaGroup` (the
caption on the first; the files as multipart parts named by `attach://`). A caption holds
at most 1024 characters, so `validate` refuses a longer text with images rather than
split the post into two messages, of which a retry could send the first twice. Telegram
keeps no alt text for a photo: the images' alt texts stay in the planner.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from publishers import images
from publishers.base import (
    AuthError,
    ConfigError,
    DeliveryError,
    OutgoingPost,
    PermanentError,
    Problem,
    Publisher,
    RateLimited,
    Receipt,
    Rule,
    SettingSpec,
    TransientError,
    answer,
    problem,
    secret_setting,
    server_setting,
    timeout_setting,
)
from publishers.http import (
    channel_message,
    error_for,
    json_object_or_empty,
    mask,
    retry_after,
    without_id,
)
from publishers.images import Limits
from publishers.media import MediaFile
from publishers.redaction import redact_in_http_logs
from publishers.text import with_link

if TYPE_CHECKING:
    from requests import Response

DEFAULT_API_BASE = "https://api.telegram.org"
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_PHOTOS = 10  # an album (sendMediaGroup) has 2 to 10 items
MAX_PHOTO_RATIO = 20  # sendPhoto: width and height ratio at most 20
# Characters that would break out of the `/bot<token>/` path segment.
_NOT_IN_TOKEN = re.compile(r"[\s/?#%]")

redact_in_http_logs(r"(?<=/bot)\d+:[A-Za-z0-9_-]+")


def channel_link(chat: Mapping[str, Any], message_id: int) -> str | None:
    """The t.me link to a message: by username for public channels, /c/ for private ones."""
    username = chat.get("username")
    if isinstance(username, str) and username:
        return f"https://t.me/{username}/{message_id}"
    chat_id = str(chat.get("id", ""))
    # Private channels and supergroups: -100<internal id>; links open for members only.
    if chat_id.startswith("-100") and chat_id[4:].isdigit():
        return f"https://t.me/c/{chat_id[4:]}/{message_id}"
    return None


class TelegramPublisher(Publisher, kind="telegram", display_name="Telegram channel"):
    """Posts text messages to a Telegram channel (or group) as a bot."""

    text_limit: ClassVar[int | None] = MAX_TEXT
    counted_as: ClassVar[str] = "characters (Unicode code points, formatting excluded)"
    appends_link: ClassVar[bool] = True
    url_is_secret: ClassVar[bool] = True
    supports_media: ClassVar[bool] = True
    # sendPhoto: at most 10 MB, width and height together at most 10000 (5000 px on the
    # longer side keeps any shape within that), a ratio of sides of at most 20 (checked
    # before sending). Telegram sends a GIF as an animation.
    media_limits: ClassVar[Limits | None] = Limits(
        max_count=MAX_PHOTOS,
        types=frozenset({"image/jpeg", "image/png"}),
        max_side=5000,
        max_bytes=10 * 1024 * 1024,
    )
    settings_spec = (
        secret_setting(
            "bot_token",
            "the bot's token from @BotFather; the bot must be an administrator of the "
            "channel with the right to post messages",
        ),
        SettingSpec(
            "chat_id",
            help="the channel: @channelname for a public channel, or its numeric id "
            "(-100...) for a private one",
            # @channelusername (5-32 characters) or a numeric chat id (-100... for channels).
            rule=Rule(
                "not_telegram_chat",
                "is neither @channelname nor a numeric chat id",
                pattern=r"@[A-Za-z][A-Za-z0-9_]{3,31}|-?\d+",
            ),
        ),
        SettingSpec(
            "parse_mode",
            required=False,
            default="html",
            help="html: send the text as escaped HTML (Telegram keeps it exactly as "
            "written); none: send it unparsed",
            lower_case=True,
            rule=Rule("not_html_or_none", "is not html or none", pattern="html|none"),
        ),
        SettingSpec(
            "link_preview",
            type="bool",
            required=False,
            default=True,
            help="show a preview of the first link in the message",
        ),
        SettingSpec(
            "silent",
            type="bool",
            required=False,
            default=False,
            help="deliver without a notification sound",
        ),
        server_setting(
            "api_base",
            "address of the Bot API server (a self-hosted telegram-bot-api works too)",
            default=DEFAULT_API_BASE,
        ),
        timeout_setting("Telegram"),
    )

    @classmethod
    def clean_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The base checks, plus a token that fits in a URL path."""
        clean = super().clean_settings(settings)
        if _NOT_IN_TOKEN.search(clean["bot_token"]):
            # Never echo the token, not even a bad one.
            raise ConfigError(
                cls.kind,
                "bot_token",
                "contains spaces, '/', '?', '#' or '%'",
                code="bad_token_characters",
            )
        return clean

    def _call(self, method: str, payload: Mapping[str, Any]) -> tuple[Any, Response]:
        """Call a Bot API method; the `result` of its answer (None if unreadable)."""
        url = f"{self.settings['api_base']}/bot{self.settings['bot_token']}/{method}"
        response = self._checked_request("POST", url, json=dict(payload))
        return json_object_or_empty(response).get("result"), response

    def _error(self, response: Response) -> DeliveryError | None:
        """The typed error for {"ok": false, "error_code", "description", "parameters"}."""
        body = json_object_or_empty(response)
        if 200 <= response.status_code < 300 and body.get("ok") is not False:
            return None
        description = body.get("description")
        described = isinstance(description, str) and bool(description)
        message = (
            mask(str(description), self._secrets)
            if described
            else channel_message(response, self._secrets)
        )
        status = response.status_code
        if 200 <= status < 300:
            # {"ok": false} under a 2xx status: the error code in the body decides.
            code = body.get("error_code")
            status = code if isinstance(code, int) and code >= 400 else 400
        parameters = body.get("parameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        if status == 429:
            wait = parameters.get("retry_after")
            seconds = (
                float(wait)
                if isinstance(wait, int | float) and not isinstance(wait, bool)
                else retry_after(response)
            )
            return RateLimited(message, retry_after=seconds, http_status=status)
        if isinstance(parameters.get("migrate_to_chat_id"), int):
            message += f" (the group is now chat {parameters['migrate_to_chat_id']})"
        if status in (401, 403):
            # 401: the token was revoked; 403: the bot was removed from the channel.
            return AuthError(message, http_status=status)
        if status == 408 or status >= 500:
            # Every Bot API call is a POST; a gateway timeout may have let it through.
            return TransientError(message, http_status=status, ambiguous=status == 504)
        if status != response.status_code:
            return PermanentError(message, http_status=status)
        # Other 4xx, and redirects (never followed for a POST): the helper's reading.
        return error_for(response, secrets=self._secrets, message=message if described else None)

    def _send_files(
        self, method: str, fields: Mapping[str, str], files: Mapping[str, MediaFile]
    ) -> tuple[Any, Response]:
        """Call a Bot API method with files, as multipart/form-data; as `_call`."""
        url = f"{self.settings['api_base']}/bot{self.settings['bot_token']}/{method}"
        parts = {name: f.part for name, f in files.items()}
        response = self._checked_request("POST", url, data=dict(fields), files=parts)
        return json_object_or_empty(response).get("result"), response

    def validate(self, post: OutgoingPost) -> list[Problem]:
        problems = super().validate(post)
        used = self.measure(with_link(post))
        if post.media and used > MAX_CAPTION:
            problems.append(
                problem(
                    "text",
                    "caption_too_long",
                    "{used} characters; with images {channel} takes a text of at most "
                    "{limit} (a caption)",
                    used=used,
                    channel=self.display_name,
                    limit=MAX_CAPTION,
                )
            )
        problems += self._file_count_problems(post, MAX_PHOTOS)
        return problems

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """sendMessage, or sendPhoto/sendMediaGroup with images; the receipt is the (first)
        message's id and, for channels, its t.me link."""
        text = with_link(post)
        payload: dict[str, Any] = {"chat_id": self.settings["chat_id"]}
        if self.settings["parse_mode"] == "html":
            payload["text"] = html.escape(text, quote=False)
            payload["parse_mode"] = "HTML"
        else:
            payload["text"] = text
        if self.settings["silent"]:
            payload["disable_notification"] = True
        if post.media:
            message, response = self._send_photos(post, payload)
        else:
            if not self.settings["link_preview"]:
                payload["link_preview_options"] = {"is_disabled": True}
            message, response = self._call("sendMessage", payload)
        message = message if isinstance(message, dict) else {}
        message_id = message.get("message_id")
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            # A 2xx without the Message: perhaps sent, perhaps never reached Telegram (a
            # proxy's page). Resending could post twice; a receipt could claim a post
            # that is not there.
            raise without_id(
                response,
                f"Telegram answered HTTP {response.status_code} without the sent message; "
                "it may or may not have been posted",
            )
        chat = message.get("chat")
        return Receipt(
            external_id=str(message_id),
            url=channel_link(chat if isinstance(chat, dict) else {}, message_id),
            http_status=response.status_code,
            raw=message,
        )

    def _send_photos(self, post: OutgoingPost, payload: Mapping[str, Any]) -> tuple[Any, Response]:
        """sendPhoto for one image, sendMediaGroup for several; the text as the caption.

        The answer is the message (of an album, its first one).
        """
        photos = [self._fetch_media(item) for item in post.media]
        for item, photo in zip(post.media, photos, strict=True):
            width, height = images.size_of(photo.content)
            if min(width, height) and max(width, height) / min(width, height) > MAX_PHOTO_RATIO:
                raise PermanentError(
                    f"{item.name!r} is {width}x{height} pixels; Telegram takes a photo at most "
                    f"{MAX_PHOTO_RATIO} times as wide as high (or high as wide)"
                )
        caption = {"caption": payload["text"]}
        if "parse_mode" in payload:
            caption["parse_mode"] = payload["parse_mode"]
        fields = {"chat_id": str(payload["chat_id"])}
        if payload.get("disable_notification"):
            fields["disable_notification"] = "true"
        if len(photos) == 1:
            return self._send_files("sendPhoto", {**fields, **caption}, {"photo": photos[0]})
        media = [
            {"type": "photo", "media": f"attach://photo{index}", **(caption if index == 0 else {})}
            for index in range(len(photos))
        ]
        files = {f"photo{index}": photo for index, photo in enumerate(photos)}
        messages, response = self._send_files(
            "sendMediaGroup", {**fields, "media": json.dumps(media)}, files
        )
        return (messages[0] if isinstance(messages, list) and messages else None), response

    def check_connection(self) -> str:
        """The bot's name, and whether it may post to the chat (getMe, getChat, getChatMember)."""
        me, _ = self._call("getMe", {})
        me = me if isinstance(me, dict) else {}
        if not isinstance(me.get("id"), int):
            raise TransientError("Telegram answered getMe without the bot's id")
        bot = f"@{me.get('username', '?')}"
        chat_id = self.settings["chat_id"]
        chat, _ = self._call("getChat", {"chat_id": chat_id})
        chat = chat if isinstance(chat, dict) else {}
        name = chat.get("title") or chat_id
        member, _ = self._call("getChatMember", {"chat_id": chat_id, "user_id": me["id"]})
        member = member if isinstance(member, dict) else {}
        status = member.get("status")
        if status in ("left", "kicked"):
            raise AuthError(f"{bot} is not a member of {name}; add it as an administrator")
        if chat.get("type") == "channel":
            if status not in ("creator", "administrator"):
                raise AuthError(f"{bot} is not an administrator of {name}")
            if status == "administrator" and member.get("can_post_messages") is False:
                raise AuthError(f"{bot} may not post messages in {name}; grant that right")
        return answer("telegram_can_post", "{bot} can post to {name}", bot=bot, name=name)
