"""Bluesky (AT Protocol): app-password sessions, posts written with putRecord under a record
key derived from the idempotency key, rich-text facets, images with alt text, metrics.

A retry with the same idempotency key writes the same record key, so it replaces the post it
may already have created instead of adding a second one (createRecord would answer 500 for an
existing key; putRecord with the same key answers 200 with the same URI).

Images are uploaded as blobs before the post, on every try: a PDS deletes a blob no record
names within minutes, so an earlier try's blob cannot be counted on, and the same bytes
give the same blob (its CID) again, so uploading twice stores nothing twice.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import regex

from publishers import images
from publishers.base import (
    AuthError,
    Media,
    Metrics,
    OutgoingPost,
    PermanentError,
    PostGone,
    Problem,
    Publisher,
    Receipt,
    Rule,
    SettingSpec,
    TransientError,
    answer,
    bearer,
    count,
    language_setting,
    problem,
    secret_setting,
    server_setting,
    timeout_setting,
)
from publishers.http import (
    channel_message,
    error_for,
    json_object,
    json_object_or_empty,
    mask,
)
from publishers.images import Limits
from publishers.listening import Mention, Mentions, ReplyTo, instant
from publishers.text import with_link

if TYPE_CHECKING:
    from requests import Response

POST_COLLECTION = "app.bsky.feed.post"
DEDUPLICATION_BASIS = (
    "putRecord under a record key derived from the idempotency key: a repeat replaces "
    "the post instead of adding one"
)
MAX_GRAPHEMES = 300
MAX_BYTES = 3000
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 1_000_000
MAX_TAG_GRAPHEMES = 64
MAX_TAG_BYTES = 640
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
# The tokens the PDS answers for an access token that has run out or is no longer valid.
TOKEN_ERRORS = ("ExpiredToken", "InvalidToken")
# Metric names as the dashboard knows them, by their field in a post view.
# The notification reasons the inbox listens to (a quote is a mention with the post).
LISTENED_REASONS = ("mention", "reply", "quote")
NOTIFICATIONS_LIMIT = 50
# How many pages of notifications one poll reads at most before it stops.
MAX_NOTIFICATION_PAGES = 5

_GRAPHEME = regex.compile(r"\X")
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
# Derived record keys carry a timestamp inside 2023-01-01 .. ~2024-02 (never in the future).
_TID_EPOCH_US = 1_672_531_200_000_000
_TID_SPAN_BITS = 45

# Detection follows @atproto/api's rich-text rules (links need a scheme here).
_MENTION = re.compile(r"(?:^|(?<=[\s(]))@([a-zA-Z0-9.-]+)\b")
_HANDLE = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
)
_LINK = re.compile(r"(?:^|(?<=[\s(]))https?://\S+", re.IGNORECASE)
_LINK_TAIL = set(".,;:!?\"'»«“”„…")
_INVISIBLE = "\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
_TAG = regex.compile(
    rf"(?:^|(?<=\s))[#＃]((?!\ufe0f)[^\s{_INVISIBLE}]*[^\d\s\p{{P}}{_INVISIBLE}]+[^\s{_INVISIBLE}]*)"
)
_TAG_TAIL = regex.compile(r"\p{P}+$")


def graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters), as Bluesky counts them."""
    return len(_GRAPHEME.findall(text))


def record_key(idempotency_key: str) -> str:
    """A valid TID record key, always the same for the same idempotency key."""
    digest = int.from_bytes(hashlib.sha256(idempotency_key.encode("utf-8")).digest()[:8], "big")
    micros = _TID_EPOCH_US + (digest >> 10) % (1 << _TID_SPAN_BITS)
    clock_id = digest & 0x3FF
    value = (micros << 10) | clock_id  # 0 | 53-bit microseconds | 10-bit clock id
    return "".join(_TID_ALPHABET[(value >> (5 * shift)) & 31] for shift in range(12, -1, -1))


@dataclass(frozen=True)
class Span:
    """A facet candidate: character offsets in the text and what it stands for."""

    start: int
    end: int
    kind: str  # "link", "mention" or "tag"
    value: str  # the URI, the handle, or the tag without '#'


def find_spans(text: str) -> list[Span]:
    """Links, @handle mentions and #tags in `text`, in order, without overlaps."""
    spans: list[Span] = []
    for match in _LINK.finditer(text):
        end = match.end()
        while end > match.start() and _dangling(text[match.start() : end]):
            end -= 1
        spans.append(Span(match.start(), end, "link", text[match.start() : end]))
    for match in _MENTION.finditer(text):
        handle = match.group(1)
        if _HANDLE.fullmatch(handle):
            spans.append(Span(match.start(), match.end(), "mention", handle.lower()))
    for found in _TAG.finditer(text):
        tag = _TAG_TAIL.sub("", found.group(1).strip())
        if tag and graphemes(tag) <= MAX_TAG_GRAPHEMES and len(tag.encode()) <= MAX_TAG_BYTES:
            start = found.start()
            spans.append(Span(start, start + 1 + len(tag), "tag", tag))
    spans.sort(key=lambda span: (span.start, -span.end))
    kept: list[Span] = []
    for span in spans:
        if kept and span.start < kept[-1].end:
            continue  # e.g. a '#' or '@' inside a link
        kept.append(span)
    return kept


def _dangling(link: str) -> bool:
    """Whether the last character is punctuation after a link rather than part of it."""
    if link.endswith(")"):
        return "(" not in link
    return link[-1] in _LINK_TAIL


def facet(text: str, span: Span, feature: dict[str, str]) -> dict[str, Any]:
    """One app.bsky.richtext.facet with UTF-8 byte offsets (end exclusive)."""
    start = len(text[: span.start].encode("utf-8"))
    end = start + len(text[span.start : span.end].encode("utf-8"))
    return {"index": {"byteStart": start, "byteEnd": end}, "features": [feature]}


@dataclass
class _Session:
    did: str
    handle: str
    access_jwt: str
    refresh_jwt: str


# Sessions outlive one adapter object: createSession is limited (30 per 5 min, 300 a day).
_SESSIONS: dict[tuple[str, str, str], _Session] = {}
_SESSIONS_LOCK = threading.Lock()


def forget_sessions() -> None:
    """Drop every cached session (tests; after a credentials change)."""
    with _SESSIONS_LOCK:
        _SESSIONS.clear()


class BlueskyPublisher(Publisher, kind="bluesky", display_name="Bluesky"):
    """Posts to one Bluesky account through its PDS."""

    public: ClassVar[bool] = True
    text_limit: ClassVar[int | None] = MAX_GRAPHEMES
    counted_as: ClassVar[str] = "graphemes"
    supports_media: ClassVar[bool] = True
    # app.bsky.embed.images: 4 images, each at most 1,000,000 bytes.
    media_limits: ClassVar[Limits | None] = Limits(
        max_count=MAX_IMAGES,
        types=frozenset(IMAGE_TYPES),
        max_side=2000,
        max_bytes=MAX_IMAGE_BYTES,
    )
    connect_timeout: ClassVar[float | None] = 5.0
    can_look_up: ClassVar[bool] = True  # getRecord under that record key
    can_listen: ClassVar[bool] = True
    reports_metrics: ClassVar[bool] = True
    settings_spec = (
        server_setting(
            "service_url",
            "the account's server (PDS); https://bsky.social for bsky.social accounts",
            default="https://bsky.social",
        ),
        SettingSpec(
            "handle",
            help="the account's handle, e.g. firma.bsky.social (or its DID)",
            rule=Rule(
                "not_bluesky_handle",
                "is not a handle like firma.bsky.social",
                pattern=rf"@*(?:{_HANDLE.pattern}|did:[\s\S]*)",
            ),
        ),
        secret_setting(
            "app_password",
            "an App Password (Settings → Privacy and security → App passwords), "
            "not the account password",
        ),
        language_setting(
            "language of the posts as a BCP-47 tag, e.g. de or de-AT",
            Rule(
                "not_language_tag",
                "is not a language tag like 'de'",
                pattern=r"[a-zA-Z]{2,3}(?:-[a-zA-Z0-9]{1,8})*",
            ),
        ),
        timeout_setting("the server", maximum=None),
    )

    @classmethod
    def clean_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The base checks; the handle kept without the @ it may be written with."""
        clean = super().clean_settings(settings)
        clean["handle"] = clean["handle"].lstrip("@")
        return clean

    # --- channel facts ---------------------------------------------------------------------

    def measure(self, text: str) -> int:
        return graphemes(text)

    def validate(self, post: OutgoingPost) -> list[Problem]:
        text = with_link(post)
        problems = super().validate(replace(post, text=text))
        size = len(text.encode("utf-8"))
        if size > MAX_BYTES:
            problems.append(
                problem(
                    "text",
                    "too_many_bytes",
                    "{size} bytes (UTF-8), {channel} allows {limit}",
                    size=size,
                    channel="Bluesky",
                    limit=MAX_BYTES,
                )
            )
        if len(post.media) > MAX_IMAGES:
            problems.append(
                problem(
                    "media",
                    "too_many_images",
                    "{count} images; {channel} allows {limit}",
                    count=len(post.media),
                    channel="Bluesky",
                    limit=MAX_IMAGES,
                )
            )
        for item in post.media:
            if item.mime_type and item.mime_type not in IMAGE_TYPES:
                problems.append(
                    problem(
                        "media",
                        "only_images",
                        "{url!r} is {mime_type}; only images are posted",
                        url=item.name,
                        mime_type=item.mime_type,
                    )
                )
        return problems

    # --- sessions and calls ----------------------------------------------------------------

    @property
    def _base(self) -> str:
        return f"{self.settings['service_url']}/xrpc/"

    @property
    def _cache_key(self) -> tuple[str, str, str]:
        password = hashlib.sha256(self.settings["app_password"].encode("utf-8")).hexdigest()
        return (self.settings["service_url"], self.settings["handle"].lower(), password)

    @property
    def _secrets(self) -> list[str]:
        secrets = [self.settings["app_password"]]
        session = _SESSIONS.get(self._cache_key)
        if session is not None:
            secrets += [session.access_jwt, session.refresh_jwt]
        return secrets

    def _send(self, method: str, nsid: str, token: str | None, **kwargs: Any) -> Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers.update(bearer(token))
        secrets = self._secrets + ([token] if token else [])
        return self._request(method, self._base + nsid, headers=headers, secrets=secrets, **kwargs)

    def _fail(self, response: Response) -> NoReturn:
        """Raise the typed error for a non-2xx XRPC answer, in the server's own words."""
        secrets = self._secrets
        message = _xrpc_message(response, secrets)
        if _xrpc_error(response) in TOKEN_ERRORS or response.status_code == 401:
            self._drop_session()
            raise AuthError(
                message or channel_message(response, secrets), http_status=response.status_code
            )
        error = error_for(response, secrets=secrets, message=message)
        raise error or TransientError(
            f"unexpected HTTP {response.status_code}", http_status=response.status_code
        )

    def _session(self) -> _Session:
        with _SESSIONS_LOCK:
            session = _SESSIONS.get(self._cache_key)
        return session if session is not None else self._create_session()

    def _create_session(self) -> _Session:
        response = self._send(
            "POST",
            "com.atproto.server.createSession",
            None,
            json={
                "identifier": self.settings["handle"],
                "password": self.settings["app_password"],
            },
        )
        if not 200 <= response.status_code < 300:
            self._fail(response)
        return self._store_session(response)

    def _refresh_session(self, stale: _Session) -> _Session:
        response = self._send("POST", "com.atproto.server.refreshSession", stale.refresh_jwt)
        if 200 <= response.status_code < 300:
            return self._store_session(response)
        if response.status_code in (400, 401):  # the refresh token ran out too: sign in again
            self._drop_session()
            return self._create_session()
        self._fail(response)

    def _store_session(self, response: Response) -> _Session:
        answer = json_object(response, "the server", "the session")
        try:
            session = _Session(
                did=str(answer["did"]),
                handle=str(answer.get("handle") or self.settings["handle"]),
                access_jwt=str(answer["accessJwt"]),
                refresh_jwt=str(answer["refreshJwt"]),
            )
        except KeyError as err:
            raise TransientError(
                f"the server's session answer lacks {err.args[0]!r}",
                http_status=response.status_code,
            ) from err
        with _SESSIONS_LOCK:
            _SESSIONS[self._cache_key] = session
        return session

    def _drop_session(self) -> None:
        with _SESSIONS_LOCK:
            _SESSIONS.pop(self._cache_key, None)

    def _call(
        self, method: str, nsid: str, *, expected: tuple[str, ...] = (), **kwargs: Any
    ) -> Response:
        """An authenticated XRPC call; an expired access token is refreshed once.

        An error named in `expected` is returned as an answer, not raised.
        """
        session = self._session()
        response = self._send(method, nsid, session.access_jwt, **kwargs)
        if _xrpc_error(response) == "ExpiredToken":
            session = self._refresh_session(session)
            response = self._send(method, nsid, session.access_jwt, **kwargs)
        if not 200 <= response.status_code < 300 and _xrpc_error(response) not in expected:
            self._fail(response)
        return response

    # --- the contract ----------------------------------------------------------------------

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        session = self._session()
        text = with_link(post)
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": _now(),
            "langs": [self.settings["language"]],
        }
        facets = self._facets(text)
        if facets:
            record["facets"] = facets
        if post.media:
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [self._upload(item) for item in post.media],
            }
        return self._put_post(session, record, idempotency_key, "the post")

    def _put_post(
        self, session: _Session, record: dict[str, Any], idempotency_key: str, what: str
    ) -> Receipt:
        """Store `record` in the account's posts under the record key `idempotency_key`
        gives (putRecord: a repeat replaces it); `what` names it in errors."""
        rkey = record_key(idempotency_key)
        response = self._call(
            "POST",
            "com.atproto.repo.putRecord",
            json={
                "repo": session.did,
                "collection": POST_COLLECTION,
                "rkey": rkey,
                "record": record,
            },
        )
        answer = json_object(response, "the server", what)
        uri = str(answer.get("uri") or f"at://{session.did}/{POST_COLLECTION}/{rkey}")
        return Receipt(
            external_id=uri,
            url=f"https://bsky.app/profile/{session.handle}/post/{rkey}",
            http_status=response.status_code,
            raw=answer,
        )

    def lookup(self, post: OutgoingPost, idempotency_key: str) -> Receipt | None:
        """The post under the record key this key gives (getRecord); None if there is none."""
        session = self._session()
        rkey = record_key(idempotency_key)
        response = self._call(
            "GET",
            "com.atproto.repo.getRecord",
            params={"repo": session.did, "collection": POST_COLLECTION, "rkey": rkey},
            expected=("RecordNotFound",),
        )
        if _xrpc_error(response) == "RecordNotFound":
            return None
        answer = json_object(response, "the server", "the post")
        uri = answer.get("uri")
        if not isinstance(uri, str) or not uri.endswith(f"/{POST_COLLECTION}/{rkey}"):
            raise TransientError(
                "the server answered getRecord without the record's uri",
                http_status=response.status_code,
            )
        return Receipt(
            external_id=uri,
            url=f"https://bsky.app/profile/{session.handle}/post/{rkey}",
            http_status=response.status_code,
            raw=answer,
        )

    def fetch_mentions(self, cursor: str | None) -> Mentions:
        """Mentions, replies and quotes indexed after `cursor` (the newest indexedAt seen)."""
        found: list[Mention] = []
        newest = cursor
        page: str | None = None
        for _ in range(MAX_NOTIFICATION_PAGES):
            params: dict[str, Any] = {
                "limit": NOTIFICATIONS_LIMIT,
                "reasons": list(LISTENED_REASONS),
            }
            if page:
                params["cursor"] = page
            response = self._call("GET", "app.bsky.notification.listNotifications", params=params)
            answer = json_object(response, "the server", "the notifications")
            listed = answer.get("notifications")
            if not isinstance(listed, list):
                raise TransientError(
                    "the server's answer has no notifications", http_status=response.status_code
                )
            reached_seen = False
            for notification in listed:
                indexed = str(notification.get("indexedAt") or "")
                if cursor and indexed and _instant_key(indexed) <= _instant_key(cursor):
                    reached_seen = True
                    continue
                mention = _mention(notification)
                if mention is not None:
                    found.append(mention)
                if indexed and (newest is None or _instant_key(indexed) > _instant_key(newest)):
                    newest = indexed
            page = answer.get("cursor") if isinstance(answer.get("cursor"), str) else None
            if reached_seen or not page or cursor is None:
                break
        found.reverse()  # listed newest first
        return Mentions(found, newest)

    def reply(self, to: ReplyTo, text: str, idempotency_key: str) -> Receipt:
        """A post in reply to `to`: its parent is `to`, its root the thread's first post."""
        parent = {"uri": to.external_id, "cid": str(to.context.get("cid") or "")}
        root = to.context.get("root")
        if not isinstance(root, Mapping) or not root.get("uri"):
            root = parent
        session = self._session()
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": _now(),
            "langs": [self.settings["language"]],
            "reply": {"root": dict(root), "parent": parent},
        }
        facets = self._facets(text)
        if facets:
            record["facets"] = facets
        return self._put_post(session, record, idempotency_key, "the reply")

    def detect_deduplication(self) -> str | None:
        """putRecord is create-or-replace, and the record key follows from the key."""
        return DEDUPLICATION_BASIS

    def _facets(self, text: str) -> list[dict[str, Any]]:
        facets: list[dict[str, Any]] = []
        resolved: dict[str, str | None] = {}
        for span in find_spans(text):
            if span.kind == "link":
                facets.append(facet(text, span, {"$type": _feature("link"), "uri": span.value}))
            elif span.kind == "tag":
                facets.append(facet(text, span, {"$type": _feature("tag"), "tag": span.value}))
            else:
                if span.value not in resolved:
                    resolved[span.value] = self._resolve(span.value)
                did = resolved[span.value]
                if did:  # an unknown handle stays plain text, as in the Bluesky app
                    facets.append(facet(text, span, {"$type": _feature("mention"), "did": did}))
        return facets

    def _resolve(self, handle: str) -> str | None:
        response = self._send(
            "GET", "com.atproto.identity.resolveHandle", None, params={"handle": handle}
        )
        if response.status_code == 400:  # "Unable to resolve handle"
            return None
        if not 200 <= response.status_code < 300:
            self._fail(response)
        did = json_object(response, "the server", "the handle").get("did")
        return str(did) if did else None

    def _upload(self, item: Media) -> dict[str, Any]:
        fetched = self._fetch_media(item, max_bytes=MAX_IMAGE_BYTES)
        if fetched.mime_type not in IMAGE_TYPES:
            raise PermanentError(
                f"{item.name!r} is {fetched.mime_type}; Bluesky posts carry only images here"
            )
        response = self._call(
            "POST",
            "com.atproto.repo.uploadBlob",
            data=fetched.content,
            headers={"Content-Type": fetched.mime_type},
        )
        blob = json_object(response, "the server", "the uploaded image").get("blob")
        if not isinstance(blob, dict):
            raise TransientError("the server stored the image but its answer has no blob")
        embedded: dict[str, Any] = {"alt": item.alt_text, "image": blob}
        width, height = images.size_of(fetched.content)
        if width and height:  # lets clients reserve the image's space before it loads
            embedded["aspectRatio"] = {"width": width, "height": height}
        return embedded

    def fetch_metrics(self, receipt: Receipt) -> Metrics:
        """app.bsky.feed.getPosts: likes, reposts and quotes, replies (Bluesky has no views)."""
        response = self._call("GET", "app.bsky.feed.getPosts", params={"uris": receipt.external_id})
        answer = json_object(response, "the server", "the post")
        posts = answer.get("posts")
        view = posts[0] if isinstance(posts, list) and posts else None
        if not isinstance(view, dict):
            # getPosts leaves out a post it does not have: deleted (or never indexed).
            raise PostGone(f"{receipt.external_id} is not on Bluesky (any more)")
        return Metrics(
            reactions=count(view, "likeCount"),
            reposts=count(view, "repostCount", "quoteCount"),
            replies=count(view, "replyCount"),
            raw=answer,
        )

    def check_connection(self) -> str:
        response = self._call("GET", "com.atproto.server.getSession")
        session = json_object(response, "the server", "the session")
        return answer(
            "bluesky_signed_in",
            "signed in to {server} as @{handle} ({did})",
            server=self.settings["service_url"],
            handle=session.get("handle", "?"),
            did=session.get("did", "?"),
        )


def _feature(name: str) -> str:
    return f"app.bsky.richtext.facet#{name}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _xrpc_error(response: Response) -> str | None:
    """The XRPC error name ("ExpiredToken", "InvalidRequest", ...) of an answer, if any."""
    if 200 <= response.status_code < 300:
        return None
    error = json_object_or_empty(response).get("error")
    return error if isinstance(error, str) else None


def _xrpc_message(response: Response, secrets: list[str]) -> str | None:
    """'Error: message' from an XRPC error body that has both, else None."""
    body = json_object_or_empty(response)
    error, message = body.get("error"), body.get("message")
    if isinstance(error, str) and isinstance(message, str) and error and message:
        return mask(f"{error}: {message}", secrets)
    return None


def _instant_key(value: str) -> datetime:
    """An indexedAt time, comparable whatever its precision; the epoch if it is none."""
    return instant(value) or datetime.fromtimestamp(0, UTC)


def _mention(notification: object) -> Mention | None:
    """A mention, reply or quote notification as a Mention; None for anything else."""
    if not isinstance(notification, Mapping):
        return None
    reason, uri = notification.get("reason"), notification.get("uri")
    if reason not in LISTENED_REASONS or not isinstance(uri, str) or not uri:
        return None
    record = notification.get("record")
    record = record if isinstance(record, Mapping) else {}
    author = notification.get("author")
    author = author if isinstance(author, Mapping) else {}
    handle = str(author.get("handle") or "")
    context: dict[str, Any] = {"cid": str(notification.get("cid") or "")}
    reply = record.get("reply")
    in_reply_to = None
    if isinstance(reply, Mapping):
        root, parent = reply.get("root"), reply.get("parent")
        if isinstance(root, Mapping) and root.get("uri"):
            context["root"] = {"uri": str(root["uri"]), "cid": str(root.get("cid") or "")}
        if isinstance(parent, Mapping) and parent.get("uri"):
            in_reply_to = str(parent["uri"])
    rkey = uri.rsplit("/", 1)[-1]
    return Mention(
        external_id=uri,
        kind="reply" if reason == "reply" else "mention",
        text=str(record.get("text") or ""),
        author_name=str(author.get("displayName") or handle),
        author_handle=handle,
        author_url=f"https://bsky.app/profile/{handle}" if handle else None,
        url=f"https://bsky.app/profile/{handle or author.get('did', '')}/post/{rkey}",
        published_at=instant(record.get("createdAt")) or instant(notification.get("indexedAt")),
        in_reply_to=in_reply_to,
        context=context,
    )
