"""Mastodon: statuses API with an Idempotency-Key, media upload with alt text, metrics.

Length is counted the way the server's StatusLengthValidator does: grapheme clusters, after
every link (with a scheme) is replaced by 23 characters and every `@user@domain` mention by
`@user`. The link and mention patterns below follow Mastodon's, closely but not exactly.

Mastodon itself keeps a status's Idempotency-Key for an hour and answers a repeat with the
first status. Servers that only speak its API need not (Takahē makes a second status), so
`detect_deduplication` believes the version the server reports, and only Mastodon's own.

Files go up first (`/api/v2/media`, with alt text). A retry of the post within the hour
names the files already uploaded (`upload_once`; Mastodon keeps an unattached upload for a
day) rather than sending them again; a failed upload means the post was not sent.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import regex

from publishers import images
from publishers.base import (
    AuthError,
    DeliveryError,
    Media,
    Metrics,
    OutgoingPost,
    Problem,
    Publisher,
    Receipt,
    Rule,
    SettingSpec,
    TransientError,
    answer,
    count,
    gone_when_missing,
    language_setting,
    problem,
    secret_setting,
    server_setting,
    timeout_setting,
)
from publishers.http import json_object, json_or_none, without_id
from publishers.images import Limits
from publishers.listening import Mention, Mentions, ReplyTo, instant, plain_text
from publishers.media import before_the_post, upload_once
from publishers.text import with_link

if TYPE_CHECKING:
    from requests import Response

URL_CHARS = 23
VISIBILITIES = ("public", "unlisted", "private")
# Metric names as the dashboard knows them, by their field in a status.
MAX_MEDIA = 4
MAX_ALT_TEXT = 1500  # MediaAttachment::MAX_DESCRIPTION_LENGTH
# What Takahē answers, with HTTP 400 and as plain text, for a token it does not know.
UNKNOWN_TOKEN_ANSWER = "invalid bearer token"  # noqa: S105 (words, not a credential)

# Schemes Mastodon links (its twitter-text override); a scheme is required for the 23 rule.
_URL = re.compile(
    r"(?<![A-Za-z0-9@＠$#＃\u202a-\u202e])"
    r"(?:https?|dat|dweb|ipfs|ipns|ssb|gopher|gemini)://"
    r"[\w-]+(?:\.[\w-]+)+(?::\d{1,5})?"
    r"(?:/(?:[^\s<>()?]|\([^\s<>()]*\))*)?"
    r"(?:\?[^\s<>]*)?",
    re.IGNORECASE,
)
# Characters a link cannot end on (Mastodon's valid_url_path_ending_chars, inverted).
_URL_TAIL = set("!*\"'「」<>;:=,.$%[]~&|@?")
# Account::MENTION_RE: only the username part of @user@domain counts.
_MENTION = re.compile(
    r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(?:@\w+(?:[.-]+\w+)*)?", re.IGNORECASE
)
_GRAPHEME = regex.compile(r"\X")
# Mastodon's own version: 4.3.0, 4.3.0-beta.1, 2.4.0rc1, 4.4.0-alpha.1+nightly-20250101, or a
# fork of its code that keeps the key (4.3.0+glitch, 4.0.15+hometown-1.1.1). Other servers
# say what they are: "2.7.2 (compatible; Pleroma 2.5.0)", "takahe/0.11.0", "0.16.0 git-…".
_MASTODON_VERSION = re.compile(r"(\d+)\.\d+\.\d+(?:-?[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.+-]+)?")
# Every Mastodon since 2.0 keeps the key; an early Takahē reported a bare "0.x" of its own.
MIN_MASTODON_MAJOR = 2
MAX_VERSION_SHOWN = 40
# Notifications read per request (Mastodon's maximum).
NOTIFICATIONS_LIMIT = 40
# How many pages of mention notifications one poll reads at most (the rest: next poll).
MAX_MENTION_PAGES = 5


def deduplication_basis(version: str) -> str | None:
    """Why a server reporting `version` drops a repeated Idempotency-Key, or None."""
    version = version.strip()
    match = _MASTODON_VERSION.fullmatch(version)
    if match is None or "compatible" in version.lower():
        return None
    if int(match.group(1)) < MIN_MASTODON_MAJOR or len(version) > MAX_VERSION_SHOWN:
        return None
    return f"Mastodon {version} keeps the Idempotency-Key for an hour"


def _link_end(text: str, start: int, end: int) -> int:
    """Where a matched link really ends: trailing punctuation and stray ')' are not in it."""
    while end > start and _dangling(text[start:end]):
        end -= 1
    return end


def _dangling(link: str) -> bool:
    if link.endswith(")"):
        return link.count("(") < link.count(")")
    return link[-1] in _URL_TAIL


def countable_text(text: str) -> str:
    """`text` as Mastodon counts it: links as 23 x, `@user@domain` as `@user`."""
    entities: list[tuple[int, int, str]] = []
    for match in _URL.finditer(text):
        entities.append((match.start(), _link_end(text, match.start(), match.end()), "x" * 23))
    for match in _MENTION.finditer(text):
        entities.append((match.start(), match.end(), "@" + match.group(1)))
    entities.sort()
    parts: list[str] = []
    position = 0
    for start, end, replacement in entities:
        if start < position:  # overlaps an earlier entity (a mention inside a link)
            continue
        parts.append(text[position:start])
        parts.append(replacement)
        position = end
    parts.append(text[position:])
    return "".join(parts)


def status_length(text: str) -> int:
    """The length Mastodon's server checks against its limit."""
    return len(_GRAPHEME.findall(countable_text(text)))


class MastodonPublisher(Publisher, kind="mastodon", display_name="Mastodon"):
    """Posts statuses to one account on a Mastodon server."""

    public: ClassVar[bool] = True
    text_limit: ClassVar[int | None] = 500
    appends_link: ClassVar[bool] = True
    can_listen: ClassVar[bool] = True
    reports_metrics: ClassVar[bool] = True
    supports_media: ClassVar[bool] = True
    # Mastodon's defaults: 4 images, each at most 16 MB; larger ones it scales itself to
    # 3840x2160, so sending more pixels than that only costs upload time.
    media_limits: ClassVar[Limits | None] = Limits(
        max_count=MAX_MEDIA,
        types=frozenset(images.IMAGE_TYPES.values()),
        max_side=3840,
        max_bytes=16 * 1024 * 1024,
    )
    connect_timeout: ClassVar[float | None] = 5.0
    settings_spec = (
        server_setting(
            "instance_url", "address of the Mastodon server, e.g. https://social.example.de"
        ),
        secret_setting(
            "access_token",
            "access token of an application on that server "
            "(scopes write:statuses, write:media and read)",
        ),
        SettingSpec(
            "visibility",
            required=False,
            default="public",
            choices=VISIBILITIES,
            help="who sees the posts: public, unlisted or private (followers only)",
        ),
        language_setting(
            "ISO 639 language code of the posts, e.g. de",
            Rule("not_iso_639", "is not an ISO 639 code like 'de'", pattern=r"[a-z]{2,3}"),
            lower_case=True,
        ),
        SettingSpec(
            "max_characters",
            type="int",
            required=False,
            default=500,
            help="the server's character limit (500 unless the server allows more)",
            minimum=1,
        ),
        timeout_setting("the server", maximum=None),
    )
    # How often and how long to wait for the server to process an uploaded file.
    media_poll_attempts: ClassVar[int] = 30
    media_poll_wait: ClassVar[float] = 1.0

    @classmethod
    def reaches_public(cls, settings: Mapping[str, Any]) -> bool:
        """Public and unlisted posts are for anyone to read; private ones for followers."""
        return settings.get("visibility") in (None, "", "public", "unlisted")

    def __init__(
        self, settings: Mapping[str, Any], *, allow_private_network: bool | None = None
    ) -> None:
        super().__init__(settings, allow_private_network=allow_private_network)
        self.text_limit = self.settings["max_characters"]  # type: ignore[misc]

    def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        url, token = self.settings["instance_url"] + path, self.settings["access_token"]
        return self._bearer_request(method, url, token, **kwargs)

    def _error(self, response: Response) -> DeliveryError | None:
        if response.status_code == 400 and response.text.strip().lower() == UNKNOWN_TOKEN_ANSWER:
            return AuthError(response.text.strip(), http_status=400)
        return super()._error(response)

    def measure(self, text: str) -> int:
        return status_length(text)

    def validate(self, post: OutgoingPost) -> list[Problem]:
        problems = super().validate(post)
        problems += self._file_count_problems(post, MAX_MEDIA)
        if len(post.media) > 1 and any(_is_video(item) for item in post.media):
            problems.append(
                problem("media", "video_alone", "a video or audio file must be the only attachment")
            )
        problems += self._alt_text_problems(post, MAX_ALT_TEXT)
        return problems

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        with before_the_post():
            media_ids = [
                upload_once(self, idempotency_key, index, item, self._upload)
                for index, item in enumerate(post.media)
            ]
        body: dict[str, Any] = {
            "status": with_link(post),
            "visibility": self.settings["visibility"],
            "language": self.settings["language"],
        }
        if media_ids:
            body["media_ids"] = media_ids
        response = self._call(
            "POST",
            "/api/v1/statuses",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
        )
        status = json_object(response, "the server", "the new status")
        if not status.get("id"):
            raise without_id(
                response,
                "the server accepted the status but its answer has no id",
            )
        return Receipt(
            external_id=str(status["id"]),
            url=str(status["url"]) if status.get("url") else None,
            http_status=response.status_code,
            raw=status,
        )

    def _upload(self, item: Media) -> str:
        """Upload one file with its alt text; wait until the server has processed it."""
        fetched = self._fetch_media(item)
        response = self._call(
            "POST",
            "/api/v2/media",
            files={"file": fetched.part},
            data={"description": item.alt_text},
        )
        attachment = json_object(response, "the server", "the uploaded file")
        if not attachment.get("id"):
            raise TransientError("the server stored the file but its answer has no id")
        media_id = str(attachment["id"])
        # 202: accepted, still processing (url is null); a status cannot use it yet.
        if response.status_code == 202 or attachment.get("url") is None:
            self._wait_until_processed(media_id)
        return media_id

    def _wait_until_processed(self, media_id: str) -> None:
        for _ in range(self.media_poll_attempts):
            time.sleep(self.media_poll_wait)
            response = self._call("GET", f"/api/v1/media/{media_id}")
            if response.status_code == 200:  # 206 Partial Content while processing
                return
        raise TransientError(f"the server is still processing media {media_id}; try again later")

    def fetch_metrics(self, receipt: Receipt) -> Metrics:
        """GET /api/v1/statuses/:id: favourites, reblogs and replies (Mastodon has no views)."""
        with gone_when_missing():
            response = self._call("GET", f"/api/v1/statuses/{quote(receipt.external_id, safe='')}")
        status = json_object(response, "the server", "the status")
        return Metrics(
            reactions=count(status, "favourites_count"),
            reposts=count(status, "reblogs_count"),
            replies=count(status, "replies_count"),
            raw=status,
        )

    def fetch_mentions(self, cursor: str | None) -> Mentions:
        """The account's mention notifications after the notification id `cursor`, oldest
        first (without a cursor: the latest page).

        After a cursor the pages are read forward with `min_id` (the page right after it),
        so a burst of more than a page between two polls is read whole, up to
        `MAX_MENTION_PAGES` pages a poll and the rest at the next; `since_id` would skip all
        but the newest page of it."""
        found: list[tuple[str, Mention]] = []
        newest = cursor
        for _page in range(MAX_MENTION_PAGES):
            params: dict[str, Any] = {"types[]": "mention", "limit": NOTIFICATIONS_LIMIT}
            if newest:
                params["min_id"] = newest
            page = self._notifications(params)
            before = newest
            for notification in page:
                mention = _mention(notification)
                if mention is None:
                    continue  # not a mention, or a broken one: it moves no cursor
                notification_id = str(notification["id"])
                found.append((notification_id, mention))
                if _later_id(notification_id, newest):
                    newest = notification_id
            if cursor is None or len(page) < NOTIFICATIONS_LIMIT or newest == before:
                break
        found.sort(key=lambda pair: _id_order(pair[0]))
        return Mentions([mention for _id, mention in found], newest)

    def _notifications(self, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """One page of the account's notifications (entries that are no object left out)."""
        response = self._call("GET", "/api/v1/notifications", params=params)
        found = json_or_none(response)
        if not isinstance(found, list):
            raise TransientError(
                "the server's notifications are no list", http_status=response.status_code
            )
        return [entry for entry in found if isinstance(entry, Mapping)]

    def reply(self, to: ReplyTo, text: str, idempotency_key: str) -> Receipt:
        """A status in reply to `to`, naming its author so they are told of it."""
        handle = to.author_handle.lstrip("@")
        if handle and f"@{handle}".lower() not in text.lower():
            text = f"@{handle} {text}"
        response = self._call(
            "POST",
            "/api/v1/statuses",
            json={
                "status": text,
                "in_reply_to_id": to.external_id,
                "visibility": self.settings["visibility"],
                "language": self.settings["language"],
            },
            headers={"Idempotency-Key": idempotency_key},
        )
        status = json_object(response, "the server", "the reply")
        if not status.get("id"):
            raise without_id(response, "the server accepted the reply but its answer has no id")
        return Receipt(
            external_id=str(status["id"]),
            url=str(status["url"]) if status.get("url") else None,
            http_status=response.status_code,
            raw=status,
        )

    def detect_deduplication(self) -> str | None:
        """Mastodon's own version (from /api/v1/instance) keeps the key; anything else: None."""
        response = self._call("GET", "/api/v1/instance")
        version = json_object(response, "the server", "the instance").get("version")
        return deduplication_basis(version) if isinstance(version, str) else None

    def check_connection(self) -> str:
        response = self._call("GET", "/api/v1/accounts/verify_credentials")
        account = json_object(response, "the server", "the account")
        return answer(
            "mastodon_signed_in",
            "signed in to {server} as @{handle}",
            server=self.settings["instance_url"],
            handle=account.get("acct", "?"),
        )


def _is_video(item: Media) -> bool:
    return item.mime_type.startswith(("video/", "audio/")) or item.url.lower().endswith(
        (".mp4", ".mov", ".webm", ".m4v", ".mp3", ".ogg", ".wav")
    )


def _id_order(notification_id: str) -> tuple[int, str]:
    """A sort key of notification ids: they grow, compared as numbers (a longer id of
    digits is the larger)."""
    return (len(notification_id), notification_id)


def _later_id(found: str, newest: str | None) -> bool:
    """Whether notification id `found` is newer than `newest`."""
    return newest is None or _id_order(found) > _id_order(newest)


def _mention(notification: object) -> Mention | None:
    """A mention notification as a Mention; None for anything else or a broken one."""
    if not isinstance(notification, Mapping) or notification.get("type") != "mention":
        return None
    status, account = notification.get("status"), notification.get("account")
    if not isinstance(status, Mapping) or not status.get("id") or not notification.get("id"):
        return None
    account = account if isinstance(account, Mapping) else {}
    in_reply_to = status.get("in_reply_to_id")
    return Mention(
        external_id=str(status["id"]),
        kind="reply" if in_reply_to else "mention",
        text=plain_text(str(status.get("content") or "")),
        author_name=str(account.get("display_name") or account.get("username") or ""),
        author_handle=str(account.get("acct") or ""),
        author_url=str(account["url"]) if account.get("url") else None,
        url=str(status["url"]) if status.get("url") else None,
        published_at=instant(status.get("created_at")),
        in_reply_to=str(in_reply_to) if in_reply_to else None,
    )
