"""Matrix: text messages in one room, sent under a transaction id so a repeat is harmless.

The client-server API makes `PUT .../send/m.room.message/{txnId}` idempotent per access
token: the same txnId answers with the event id of the first send and the room keeps one
copy. The idempotency key is the txnId. A homeserver refuses events over 65,536 bytes
(with envelope and signatures), so the limit is counted in bytes of the content sent: the
plain body and its HTML copy together.

There is no lookup: the client-server API finds no event by its transaction id, and needs
none, since a repeat under the same txnId is dropped (`detect_deduplication`).

Files follow the text in the room, each posted under its own txnId. They are all fetched
and uploaded to the media repository before anything is sent to the room, so a file that
cannot be fetched or stored fails the post with nothing in the room. A retry within the
hour posts the `mxc://` address already uploaded (`upload_once`) rather than storing the
file again.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from publishers import images
from publishers.base import (
    AuthError,
    DeliveryError,
    Media,
    Metrics,
    OutgoingPost,
    Publisher,
    RateLimited,
    Receipt,
    Rule,
    SettingSpec,
    TransientError,
    answer,
    gone_when_missing,
    secret_setting,
    server_setting,
    timeout_setting,
)
from publishers.http import (
    channel_message,
    error_for,
    json_object_or_empty,
    retry_after,
    without_id,
)
from publishers.images import Limits
from publishers.listening import TEXT_MAX, Mention, Mentions, ReplyTo
from publishers.media import MediaFile, before_the_post, upload_once
from publishers.text import with_link

if TYPE_CHECKING:
    from requests import Response

# The event limit is 65,536 bytes; the envelope (ids, hashes, signatures) needs about 1 KB.
MAX_CONTENT_BYTES = 60_000
# Part of the client-server API, so true of every homeserver. Synapse keeps a transaction
# id for at least 30 minutes.
DEDUPLICATION_BASIS = (
    "Matrix transaction ids (client-server API): a repeated txnId returns the first event"
)
# How many pages of relations (100 each) `fetch_metrics` reads before it stops counting.
MAX_RELATION_PAGES = 10
# Room messages read per page, and pages read per poll at most, when listening.
MESSAGES_LIMIT = 50
MAX_MESSAGE_PAGES = 5
_LINK = re.compile(r"https?://[^\s<>\"]+")
_LINK_TAIL = ".,;:!?)]}'\""


def _path(value: str) -> str:
    """`value` as one URL path segment: room ids, aliases and event ids carry ! # $ :."""
    return quote(value, safe="")


def formatted_body(text: str) -> str:
    """`text` as org.matrix.custom.html: escaped, links clickable, line breaks kept."""
    parts: list[str] = []
    position = 0
    for match in _LINK.finditer(text):
        link = match.group().rstrip(_LINK_TAIL)
        end = match.start() + len(link)
        parts.append(html.escape(text[position : match.start()], quote=False))
        parts.append(f'<a href="{html.escape(link)}">{html.escape(link, quote=False)}</a>')
        position = end
    parts.append(html.escape(text[position:], quote=False))
    return "".join(parts).replace("\n", "<br>")


def message_content(text: str) -> dict[str, str]:
    """The m.room.message content for `text`: plain body plus its HTML rendering."""
    return {
        "msgtype": "m.text",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": formatted_body(text),
    }


def permalink(room: str, event_id: str) -> str:
    """The matrix.to link to an event, with the room's server as a routing hint."""
    server = room.partition(":")[2]
    via = f"?via={quote(server, safe='')}" if server else ""
    return f"https://matrix.to/#/{_path(room)}/{_path(event_id)}{via}"


class MatrixPublisher(Publisher, kind="matrix", display_name="Matrix room"):
    """Posts text messages to one Matrix room as a bot account."""

    text_limit: ClassVar[int | None] = MAX_CONTENT_BYTES
    can_listen: ClassVar[bool] = True
    reports_metrics: ClassVar[bool] = True
    counted_as: ClassVar[str] = "bytes (UTF-8, text and its HTML copy together)"
    appends_link: ClassVar[bool] = True
    supports_media: ClassVar[bool] = True
    # Each file goes to the media repository, then into the room as its own event after
    # the text (m.image with the alt text as body, m.file for a document). Synapse takes
    # 50 MB per upload by default.
    media_limits: ClassVar[Limits | None] = Limits(
        max_count=10,
        types=frozenset({*images.IMAGE_TYPES.values(), images.PDF_TYPE}),
        max_side=4096,
        max_bytes=50 * 1024 * 1024,
    )
    # The room id an alias resolved to (read once, when needed).
    _room_id: str | None = None
    settings_spec = (
        server_setting(
            "homeserver_url",
            "address of the homeserver's client API, e.g. https://matrix.example.de",
        ),
        secret_setting(
            "access_token",
            "access token of the bot account that posts; the account must have joined the room",
        ),
        SettingSpec(
            "room",
            help="the room's id (!abc123:example.de) or alias (#redaktion:example.de)",
            # An alias always names its server; an id may leave it out.
            rule=Rule(
                "not_matrix_room",
                "is neither a room id (!id:server) nor an alias (#name:server)",
                pattern=r"![^\s:]+(?::\S+)?|#[^\s:]+:\S+",
            ),
        ),
        timeout_setting("the homeserver"),
    )

    def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        url, token = self.settings["homeserver_url"] + path, self.settings["access_token"]
        return self._bearer_request(method, url, token, **kwargs)

    def _error(self, response: Response) -> DeliveryError | None:
        """The typed error for a Matrix error answer: {"errcode": "M_...", "error": "..."}."""
        if 200 <= response.status_code < 300:
            return None
        body = json_object_or_empty(response)
        errcode = body.get("errcode") if isinstance(body.get("errcode"), str) else ""
        words = channel_message(response, self._secrets)
        message = f"{errcode}: {words}" if errcode and errcode not in words else words
        if response.status_code == 429 or errcode == "M_LIMIT_EXCEEDED":
            # Matrix's own signal is retry_after_ms; Retry-After is only in newer servers.
            wait_ms = body.get("retry_after_ms")
            wait = (
                wait_ms / 1000
                if isinstance(wait_ms, int | float) and not isinstance(wait_ms, bool)
                else retry_after(response)
            )
            return RateLimited(message, retry_after=wait, http_status=response.status_code)
        return error_for(response, secrets=self._secrets, message=message)

    def room_id(self) -> str:
        """The room's id; an alias is resolved through the room directory once."""
        room: str = self.settings["room"]
        if room.startswith("!"):
            return room
        if self._room_id is None:
            response = self._call("GET", f"/_matrix/client/v3/directory/room/{_path(room)}")
            room_id = json_object_or_empty(response).get("room_id")
            if not isinstance(room_id, str) or not room_id.startswith("!"):
                raise TransientError(
                    f"the homeserver resolved {room!r} without a room id",
                    http_status=response.status_code,
                )
            self._room_id = room_id
        return self._room_id

    def measure(self, text: str) -> int:
        content = json.dumps(message_content(text), ensure_ascii=False)
        return len(content.encode("utf-8"))

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """Send the message under the key as txnId; a repeat answers with the same event.

        The files are fetched and uploaded first; their events follow the text's.
        """
        room_id = self.room_id()
        with before_the_post():
            files = [
                self._file_content(item, idempotency_key, number)
                for number, item in enumerate(post.media, start=1)
            ]
        response = self._call(
            "PUT",
            f"/_matrix/client/v3/rooms/{_path(room_id)}/send/m.room.message/"
            f"{_path(idempotency_key)}",
            json=message_content(with_link(post)),
        )
        answer = json_object_or_empty(response)
        if isinstance(answer.get("event_id"), str) and answer["event_id"]:
            # Each file under its own txnId derived from the key: a retry after a failure
            # here repeats neither the text nor a file already in the room.
            for number, content in enumerate(files, start=1):
                self._send_file(room_id, content, idempotency_key, number)
        event_id = answer.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            # Safe to retry: the same txnId cannot create a second message.
            raise without_id(
                response,
                "the homeserver accepted the message but its answer has no event_id",
            )
        return Receipt(
            external_id=event_id,
            url=permalink(self.settings["room"], event_id),
            http_status=response.status_code,
            raw=answer,
        )

    def _upload(self, file: MediaFile) -> str:
        """Store one file in the media repository: its `mxc://` address."""
        uploaded = self._call(
            "POST",
            "/_matrix/media/v3/upload",
            params={"filename": file.filename},
            data=file.content,
            headers={"Content-Type": file.mime_type},
        )
        uri = json_object_or_empty(uploaded).get("content_uri")
        if not isinstance(uri, str) or not uri.startswith("mxc://"):
            raise TransientError(
                f"the homeserver stored {file.filename!r} but its answer has no content_uri",
                http_status=uploaded.status_code,
            )
        return uri

    def _file_content(self, item: Media, idempotency_key: str, number: int) -> dict[str, Any]:
        """Fetch one file and store it in the media repository (once for the post: a retry
        within the hour uses the address already uploaded); the content of its event."""
        file = self._fetch_media(item)
        uri = upload_once(self, idempotency_key, number, item, lambda _item: self._upload(file))
        info: dict[str, Any] = {"mimetype": file.mime_type, "size": len(file.content)}
        if file.mime_type.startswith("image/"):
            width, height = images.size_of(file.content)
            content = {
                "msgtype": "m.image",
                "body": item.alt_text,
                "filename": file.filename,
                "url": uri,
                "info": {**info, "w": width, "h": height},
            }
        else:
            content = {"msgtype": "m.file", "body": file.filename, "url": uri, "info": info}
        return content

    def _send_file(
        self, room_id: str, content: dict[str, Any], idempotency_key: str, number: int
    ) -> None:
        """Post one uploaded file's event to the room under the txnId `<key>.<number>`."""
        txn_id = f"{idempotency_key}.{number}"
        self._call(
            "PUT",
            f"/_matrix/client/v3/rooms/{_path(room_id)}/send/m.room.message/{_path(txn_id)}",
            json=content,
        )

    def fetch_mentions(self, cursor: str | None) -> Mentions:
        """The room's messages from others after the event id `cursor` (None: the latest page)."""
        me = json_object_or_empty(self._call("GET", "/_matrix/client/v3/account/whoami")).get(
            "user_id"
        )
        room_id = self.room_id()
        path = f"/_matrix/client/v3/rooms/{_path(room_id)}/messages"
        params: dict[str, str | int] = {"dir": "b", "limit": MESSAGES_LIMIT}
        found: list[Mention] = []
        newest: str | None = None
        for _ in range(MAX_MESSAGE_PAGES):
            answer = json_object_or_empty(self._call("GET", path, params=params))
            chunk = answer.get("chunk")
            events = chunk if isinstance(chunk, list) else []
            reached_seen = False
            for event in events:  # newest first
                if not isinstance(event, dict):
                    continue
                if event.get("event_id") == cursor:
                    reached_seen = True
                    break
                if newest is None and isinstance(event.get("event_id"), str):
                    newest = event["event_id"]
                mention = self._mention(event, me)
                if mention is not None:
                    found.append(mention)
            end = answer.get("end")
            if reached_seen or cursor is None or not isinstance(end, str) or not events:
                break
            params["from"] = end
        found.reverse()
        return Mentions(found, newest or cursor)

    def _mention(self, event: dict[str, Any], me: object) -> Mention | None:
        """A text message from someone else as a Mention; None for anything else."""
        content = event.get("content")
        event_id, sender = event.get("event_id"), event.get("sender")
        if (
            event.get("type") != "m.room.message"
            or not isinstance(content, dict)
            or not isinstance(event_id, str)
            or not isinstance(sender, str)
            or sender == me
        ):
            return None
        relates = content.get("m.relates_to")
        replied = relates.get("m.in_reply_to") if isinstance(relates, dict) else None
        in_reply_to = replied.get("event_id") if isinstance(replied, dict) else None
        body = str(content.get("body") or "")
        if in_reply_to:
            body = _without_reply_fallback(body)
        stamp = event.get("origin_server_ts")
        published = (
            datetime.fromtimestamp(stamp / 1000, UTC)
            if isinstance(stamp, int) and not isinstance(stamp, bool)
            else None
        )
        return Mention(
            external_id=event_id,
            kind="reply" if in_reply_to else "mention",
            text=body[:TEXT_MAX],
            author_name=sender,
            author_handle=sender,
            author_url=f"https://matrix.to/#/{_path(sender)}",
            url=permalink(self.settings["room"], event_id),
            published_at=published,
            in_reply_to=in_reply_to if isinstance(in_reply_to, str) else None,
        )

    def reply(self, to: ReplyTo, text: str, idempotency_key: str) -> Receipt:
        """A message in the room in reply to the event `to` (m.relates_to m.in_reply_to)."""
        room_id = self.room_id()
        content: dict[str, Any] = {
            **message_content(text),
            "m.relates_to": {"m.in_reply_to": {"event_id": to.external_id}},
        }
        response = self._call(
            "PUT",
            f"/_matrix/client/v3/rooms/{_path(room_id)}/send/m.room.message/"
            f"{_path(idempotency_key)}",
            json=content,
        )
        event_id = json_object_or_empty(response).get("event_id")
        if not isinstance(event_id, str) or not event_id:
            raise without_id(
                response, "the homeserver accepted the reply but its answer has no event_id"
            )
        return Receipt(
            external_id=event_id,
            url=permalink(self.settings["room"], event_id),
            http_status=response.status_code,
        )

    def detect_deduplication(self) -> str | None:
        """The client-server API: the same txnId from the same token gives the same event."""
        return DEDUPLICATION_BASIS

    def fetch_metrics(self, receipt: Receipt) -> Metrics:
        """Reactions (m.annotation) and thread replies (m.thread) to the message, from the
        relations API; a room has no views. A count that stopped at `MAX_RELATION_PAGES`
        is a lower bound, and the raw answer says so (`counted_up_to`)."""
        with gone_when_missing():
            reactions, whole_reactions = self._count_relations(receipt.external_id, "m.annotation")
            replies, whole_replies = self._count_relations(receipt.external_id, "m.thread")
        raw: dict[str, Any] = {"m.annotation": reactions, "m.thread": replies}
        capped = [
            rel
            for rel, whole in (("m.annotation", whole_reactions), ("m.thread", whole_replies))
            if not whole
        ]
        if capped:
            raw["counted_up_to"] = {"pages": MAX_RELATION_PAGES, "relations": capped}
        return Metrics(reactions=reactions, replies=replies, raw=raw)

    def _count_relations(self, event_id: str, rel_type: str) -> tuple[int, bool]:
        """How many relations of `rel_type` the event has, and whether all were counted
        (False: more pages than `MAX_RELATION_PAGES`)."""
        path = (
            f"/_matrix/client/v1/rooms/{_path(self.room_id())}/relations/"
            f"{_path(event_id)}/{rel_type}"
        )
        params: dict[str, str | int] = {"limit": 100}
        total = 0
        for _ in range(MAX_RELATION_PAGES):
            answer = json_object_or_empty(self._call("GET", path, params=params))
            chunk = answer.get("chunk")
            total += len(chunk) if isinstance(chunk, list) else 0
            next_batch = answer.get("next_batch")
            if not isinstance(next_batch, str) or not next_batch:
                return total, True
            params["from"] = next_batch
        return total, False

    def check_connection(self) -> str:
        """Who the token belongs to, and whether that account has joined the room."""
        whoami = self._call("GET", "/_matrix/client/v3/account/whoami")
        user = json_object_or_empty(whoami).get("user_id")
        room_id = self.room_id()
        rooms = self._call("GET", "/_matrix/client/v3/joined_rooms")
        joined = json_object_or_empty(rooms).get("joined_rooms")
        if not isinstance(joined, list) or room_id not in joined:
            raise AuthError(
                f"{user} has not joined {self.settings['room']}; invite the account "
                "and let it join the room"
            )
        return answer(
            "matrix_member",
            "signed in as {user}, a member of {room}",
            user=user,
            room=self.settings["room"],
        )


def _without_reply_fallback(body: str) -> str:
    """A reply's body without the quoted lines ("> <@a:b> ...") older clients put first."""
    lines = body.split("\n")
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    if lines and not lines[0].strip():
        lines.pop(0)
    return "\n".join(lines) or body
