"""Notifications: who is told what, stored in the same transaction as the event itself.

A workflow move, a comment naming someone with `@username`, a failed post, a published
piece or a reply in the listening inbox dropped before its approval each leave
notifications for the people concerned, never for the one who acted. A detail that is a
time or the engine's own explanation is stored as data and written for each reader in
their language (`detail_text`), in the dashboard and in the e-mail alike.
Each user chooses per kind whether to see it in the dashboard and/or get it by e-mail (no
preference row: dashboard yes, e-mail no). A notification wanted by e-mail only is stored
already read: the record of what was mailed, not something waiting on the page. E-mail goes
out later from the worker's outbox (see `planner.mail`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, update
from sqlmodel import Session, col, func, select

from planner.db import paged
from planner.errors import (
    Message,
    NotFound,
    TimeInputError,
    ValidationFailed,
    message_data,
    message_from_data,
)
from planner.models import (
    AuditEvent,
    Idea,
    Notification,
    NotificationPreference,
    Piece,
    PieceStatus,
    Post,
    Revision,
    Role,
    User,
    core_tables,
    utcnow,
)
from planner.permissions import PERMISSIONS, require_active
from planner.timezones import to_local, zone
from planner.ui.i18n import render_message, translate

NOTIFICATIONS, PREFERENCES = core_tables(Notification, NotificationPreference)
log = logging.getLogger(__name__)

REVIEW_REQUESTED = "review_requested"
CHANGES_REQUESTED = "changes_requested"
POST_FAILED = "post_failed"
SERIES_UNPLACED = "series_unplaced"
SERIES_LEFT_OUT = "series_left_out"
IDEA_ACCEPTED = "idea_accepted"
IDEA_REJECTED = "idea_rejected"
IDEA_PUBLISHED = "idea_published"
MENTIONED = "mentioned"
INBOX_ASSIGNED = "inbox_assigned"
INBOX_REPLY_DROPPED = "inbox_reply_dropped"
CANCELLED_POST_PUBLISHED = "cancelled_post_published"

# Every kind, with the roles it can reach: everyone may submit ideas and so hear of them.
KINDS: dict[str, frozenset[Role]] = {
    REVIEW_REQUESTED: frozenset({Role.approver, Role.admin}),
    CHANGES_REQUESTED: frozenset({Role.editor, Role.admin}),
    POST_FAILED: frozenset({Role.editor, Role.admin}),
    SERIES_UNPLACED: frozenset({Role.editor, Role.admin}),
    SERIES_LEFT_OUT: frozenset({Role.editor, Role.admin}),
    MENTIONED: PERMISSIONS["view_pieces"],
    IDEA_ACCEPTED: frozenset(Role),
    IDEA_REJECTED: frozenset(Role),
    IDEA_PUBLISHED: frozenset(Role),
    INBOX_ASSIGNED: frozenset(Role),
    # Whoever may answer an item (any role, for their department's) may have written one.
    INBOX_REPLY_DROPPED: frozenset(Role),
    CANCELLED_POST_PUBLISHED: frozenset({Role.editor, Role.admin}),
}
_IDEA_KINDS = {"accept": IDEA_ACCEPTED, "reject": IDEA_REJECTED}
# Details are excerpts (a reason, a comment, an error): the whole text is on the item.
DETAIL_MAX = 500
# `@name` not inside an e-mail address or a word; a trailing full stop ends the sentence.
MENTION = re.compile(r"(?<![\w@.])@([a-z0-9](?:[a-z0-9._-]*[a-z0-9])?)", re.IGNORECASE)


@dataclass(frozen=True)
class Notice:
    """One thing to tell one user, before their preferences decide whether and how."""

    user_id: int
    kind: str
    object_type: str
    object_id: int
    actor_id: int | None = None
    detail: str = ""


def kinds_for(user: User) -> list[str]:
    """The kinds of notification that can reach `user`'s role, in a fixed order."""
    return [kind for kind, roles in KINDS.items() if user.role in roles]


def store(conn: Connection, notices: Iterable[Notice]) -> int:
    """Store `notices` as their recipients chose; how many were stored.

    Skipped: the actor's own, repeats, disabled accounts, roles the kind cannot reach (a
    contributor never hears of pieces), and kinds a user turned off entirely. E-mail is
    marked for sending only when the user wants it and has an address.
    """
    wanted = {
        (n.user_id, n.kind, n.object_type, n.object_id): n
        for n in notices
        if n.user_id != n.actor_id
    }
    if not wanted:
        return 0
    ids = sorted({n.user_id for n in wanted.values()})
    people = {
        row.id: row
        for row in conn.execute(
            select(User.id, User.role, User.email, User.disabled).where(col(User.id).in_(ids))
        )
    }
    chosen = {
        (row.user_id, row.kind): (bool(row.in_app), bool(row.email))
        for row in conn.execute(select(PREFERENCES).where(PREFERENCES.c.user_id.in_(ids)))
    }
    now = utcnow()
    rows: list[dict[str, Any]] = []
    for notice in wanted.values():
        person = people.get(notice.user_id)
        if person is None or person.disabled or Role(person.role) not in KINDS[notice.kind]:
            continue
        in_app, by_mail = chosen.get((notice.user_id, notice.kind), (True, False))
        by_mail = by_mail and bool(person.email)
        if not (in_app or by_mail):
            continue
        rows.append(
            {
                "user_id": notice.user_id,
                "kind": notice.kind,
                "object_type": notice.object_type,
                "object_id": notice.object_id,
                "actor_id": notice.actor_id,
                "detail": _stored_detail(notice),
                "created_at": now,
                "read_at": None if in_app else now,
                "email": by_mail,
                "mail_attempts": 0,
            }
        )
    if rows:
        conn.execute(insert(NOTIFICATIONS), rows)
    return len(rows)


# --- what each event tells whom ---------------------------------------------------------------


def _editors_of(session: Session, piece: Piece) -> set[int]:
    """The piece's owner and everyone who saved a revision of it."""
    written = session.exec(select(Revision.author_id).where(Revision.piece_id == piece.id))
    return {piece.owner_id, *written}


def _approvers_for(session: Session, piece: Piece) -> set[int]:
    """Active approvers and admins who may approve the piece: none who wrote or edited it,
    nor who submitted the idea it was made from (four-eyes rule)."""
    authors = _editors_of(session, piece) - {piece.owner_id}
    if piece.idea_id is not None:
        authors |= set(session.exec(select(Idea.submitted_by_id).where(Idea.id == piece.idea_id)))
    rows = session.exec(
        select(User.id).where(
            col(User.role).in_(list(KINDS[REVIEW_REQUESTED])), col(User.disabled).is_(False)
        )
    )
    return {uid for uid in rows if uid is not None and uid not in authors}


def on_move(
    session: Session,
    *,
    obj: Idea | Piece | Post,
    action: str,
    actor: User,
    note: str,
    before: object,
) -> None:
    """Store what a person's workflow move tells others (inside the move's transaction)."""
    assert obj.id is not None
    notices: list[Notice] = []
    if isinstance(obj, Piece) and obj.status == PieceStatus.in_review and before != obj.status:
        notices = [
            Notice(uid, REVIEW_REQUESTED, "piece", obj.id, actor.id)
            for uid in _approvers_for(session, obj)
        ]
    elif isinstance(obj, Piece) and action == "request_changes":
        notices = [
            Notice(uid, CHANGES_REQUESTED, "piece", obj.id, actor.id, note)
            for uid in _editors_of(session, obj)
        ]
    elif isinstance(obj, Idea) and action in _IDEA_KINDS:
        told = _IDEA_KINDS[action]
        detail = note if action == "reject" else ""
        notices = [Notice(obj.submitted_by_id, told, "idea", obj.id, actor.id, detail)]
        if action == "reject":
            # A rejection ends the ideas merged into this one as well: their contributors
            # are told too, each of their own idea.
            notices += [
                Notice(submitter, told, "idea", merged_id, actor.id, detail)
                for merged_id, submitter in _merged_into(session, obj.id)
            ]
    if notices:
        store(session.connection(), notices)


def _merged_into(session: Session, idea_id: int) -> list[tuple[int, int]]:
    """(id, submitter) of every idea merged into `idea_id`, directly or through others."""
    found: dict[int, int] = {}
    frontier = {idea_id}
    while frontier:
        rows = session.exec(
            select(Idea.id, Idea.submitted_by_id).where(
                col(Idea.merged_into_id).in_(sorted(frontier))
            )
        ).all()
        frontier = set()
        for merged_id, submitter in rows:
            if merged_id is not None and merged_id != idea_id and merged_id not in found:
                found[merged_id] = submitter
                frontier.add(merged_id)
    return sorted(found.items())


def mentions(session: Session, *, actor: User, piece_id: int, text: str) -> list[Notice]:
    """The notices for everyone `text` names with `@username` (to store with the comment).

    Raises ValidationFailed, naming them, when a name is nobody who may see the piece: a
    mention that reaches no one should not look as if it did.
    """
    names = list(dict.fromkeys(name.lower() for name in MENTION.findall(text)))
    if not names:
        return []
    found = {
        user.username: user
        for user in session.exec(select(User).where(col(User.username).in_(names)))
    }
    unknown = [
        f"@{name}"
        for name in names
        if name not in found
        or found[name].disabled
        or found[name].role not in PERMISSIONS["view_pieces"]
    ]
    if unknown:
        raise ValidationFailed(
            {
                "body": Message(
                    "unknown_mention",
                    "{names}: no user of that name may see this piece",
                    names=", ".join(unknown),
                )
            }
        )
    return [
        Notice(user.id, MENTIONED, "piece", piece_id, actor.id, text)
        for user in found.values()
        if user.id is not None
    ]


def posts_failed(conn: Connection, errors: Mapping[int, str]) -> None:
    """Tell the piece's owner and whoever planned the post that these posts failed (the
    detail: why, the engine's explanation kept so that each reader reads it in their
    language, a channel's own words as the channel wrote them)."""
    if not errors:
        return
    rows = conn.execute(
        select(Post.id, Post.created_by_id, Piece.owner_id)
        .join(Piece, col(Piece.id) == Post.piece_id)
        .where(col(Post.id).in_(list(errors)))
    )
    store(
        conn,
        [
            Notice(uid, POST_FAILED, "post", row.id, None, errors[row.id])
            for row in rows
            for uid in {row.owner_id, row.created_by_id}
        ],
    )


def reply_dropped(
    conn: Connection, *, item_id: int, writer_id: int | None, actor: User, text: str
) -> None:
    """Tell the writer of a reply that waited for approval on an inbox item that `actor`
    dropped it (discarded it, or dismissed, reopened or made an idea of the item): it will
    not be sent. The detail is the reply's text; a writer who dropped it is not told."""
    if writer_id is None:
        return
    store(conn, [Notice(writer_id, INBOX_REPLY_DROPPED, "inbox_item", item_id, actor.id, text)])


def cancelled_posts_published(conn: Connection, post_ids: Sequence[int]) -> None:
    """Tell whoever cancelled these posts (the last to, each) that they went out after all:
    their requests had begun before the cancel."""
    if not post_ids:
        return
    ids = {str(post_id): post_id for post_id in post_ids}
    cancelled_by: dict[int, int] = {}
    for row in conn.execute(
        select(AuditEvent.object_id, AuditEvent.actor_id)
        .where(
            AuditEvent.object_type == "post",
            AuditEvent.action == "cancel",
            col(AuditEvent.object_id).in_(sorted(ids)),
            col(AuditEvent.actor_id).is_not(None),
        )
        .order_by(col(AuditEvent.id))
    ):
        cancelled_by[ids[row.object_id]] = row.actor_id
    store(
        conn,
        [
            Notice(uid, CANCELLED_POST_PUBLISHED, "post", post_id, None)
            for post_id, uid in cancelled_by.items()
        ],
    )


# The kinds whose detail is a post's time: stored as a UTC instant (ISO 8601) and written
# for each reader in their own language and zone (`detail_time`).
_TIME_DETAIL = frozenset({SERIES_UNPLACED, SERIES_LEFT_OUT})


def _time_detail(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def detail_time(notification: Notification) -> datetime | None:
    """The time a notification's detail names (UTC), for the kinds whose detail is one;
    None for the others. Details stored before as "2027-05-10 09:00 Europe/Berlin" are
    read too."""
    if notification.kind not in _TIME_DETAIL:
        return None
    text = notification.detail.strip()
    try:
        found = datetime.fromisoformat(text)
    except ValueError:
        stamp, _, zone_name = text.rpartition(" ")
        try:
            local = datetime.strptime(stamp, "%Y-%m-%d %H:%M")
            return local.replace(tzinfo=zone(zone_name)).astimezone(UTC)
        except (ValueError, TimeInputError):
            return None
    return found.astimezone(UTC) if found.tzinfo is not None else None


# The kinds whose detail may be the engine's own explanation (a coded Message): stored as its
# `errors.message_data` JSON, whole, and said for each reader in their language
# (`detail_text`). A channel's own words, and rows stored before, are plain text.
_MESSAGE_DETAIL = frozenset({POST_FAILED})
_MESSAGE_FIELDS = frozenset({"code", "text", "params"})


def _stored_detail(notice: Notice) -> str:
    """A notice's detail as stored: the engine's explanation, for the kinds that keep one,
    as its JSON; any other detail as an excerpt of its text."""
    if notice.kind in _MESSAGE_DETAIL and isinstance(notice.detail, Message):
        return json.dumps(message_data(notice.detail), separators=(",", ":"))
    return notice.detail[:DETAIL_MAX]


def _explanation(notification: Notification) -> str | None:
    """The engine's explanation a notification's detail holds: the Message, or its English
    text when the stored data cannot be read back; None for the other kinds and for a
    detail of plain text (a channel's own words, a row stored before)."""
    if notification.kind not in _MESSAGE_DETAIL or not notification.detail.startswith("{"):
        return None
    try:
        data = json.loads(notification.detail)
    except ValueError:
        return None  # a channel's own words that happen to begin with a brace
    if not (
        isinstance(data, dict)
        and set(data) == _MESSAGE_FIELDS
        and isinstance(data["code"], str)
        and isinstance(data["text"], str)
    ):
        return None
    try:
        return message_from_data(data)
    except (ValueError, TypeError, KeyError, AttributeError):
        log.warning(
            "notification %s: its explanation cannot be read; said in English", notification.id
        )
        return data["text"]


def detail_text(notification: Notification, lang: str, tz_name: str) -> str:
    """A notification's detail as its reader reads it, in their language `lang` and zone
    `tz_name`: a time written as the language writes times, the engine's explanation said
    in the language (an excerpt), anything else (a reason, a comment, a channel's own
    words, a row stored before) as it was stored."""
    instant = detail_time(notification)
    if instant is not None:
        return to_local(instant, tz_name).strftime(translate(lang, "format.datetime"))
    explanation = _explanation(notification)
    if explanation is None:
        return notification.detail
    try:
        said = render_message(lang, explanation)
    except (KeyError, IndexError, ValueError):
        # Stored long ago, with fields the wording in `lang` no longer has.
        said = str(explanation)
    return said[:DETAIL_MAX]


def series_posts_unplaced(conn: Connection, posts: Sequence[Post]) -> None:
    """Tell whoever planned a series in slots and the piece's owner that these new posts of
    it found no free slot and keep their occurrence's own time (the detail: that time)."""
    owners = {
        row.id: row.owner_id
        for row in conn.execute(
            select(Piece.id, Piece.owner_id).where(
                col(Piece.id).in_(sorted({post.piece_id for post in posts}))
            )
        )
    }
    notices: list[Notice] = []
    for post in posts:
        assert post.id is not None
        notices += [
            Notice(uid, SERIES_UNPLACED, "post", post.id, None, _time_detail(post.publish_at))
            for uid in {post.created_by_id, owners[post.piece_id]}
        ]
    store(conn, notices)


def series_posts_left_out(conn: Connection, left_out: Sequence[tuple[Post, Post]]) -> None:
    """Tell whoever planned a series and the piece's owner that a time of it was not
    planned: another post of the piece on the channel (the notification's post) is less
    than an hour from it (the detail: that time)."""
    owners = {
        row.id: row.owner_id
        for row in conn.execute(
            select(Piece.id, Piece.owner_id).where(
                col(Piece.id).in_(sorted({post.piece_id for post, _ in left_out}))
            )
        )
    }
    notices: list[Notice] = []
    for post, nearby in left_out:
        assert nearby.id is not None
        detail = _time_detail(post.publish_at)
        notices += [
            Notice(uid, SERIES_LEFT_OUT, "post", nearby.id, None, detail)
            for uid in {post.created_by_id, owners[post.piece_id]}
        ]
    store(conn, notices)


def pieces_published(conn: Connection, piece_ids: Sequence[int]) -> None:
    """Tell the contributors of the ideas behind these pieces (and of the ideas merged into
    those) that their idea is published."""
    if not piece_ids:
        return
    carriers = {
        row.idea_id: row.id
        for row in conn.execute(
            select(Piece.id, Piece.idea_id).where(
                col(Piece.id).in_(list(piece_ids)), col(Piece.idea_id).is_not(None)
            )
        )
    }
    piece_of = dict(carriers)  # idea id -> the published piece that carried it on
    frontier = set(carriers)
    while frontier:
        merged = conn.execute(
            select(Idea.id, Idea.merged_into_id).where(
                col(Idea.merged_into_id).in_(sorted(frontier))
            )
        ).all()
        frontier = {row.id for row in merged if row.id not in piece_of}
        for row in merged:
            piece_of.setdefault(row.id, piece_of[row.merged_into_id])
    if not piece_of:
        return
    submitters = conn.execute(
        select(Idea.id, Idea.submitted_by_id).where(col(Idea.id).in_(sorted(piece_of)))
    )
    store(
        conn,
        [Notice(row.submitted_by_id, IDEA_PUBLISHED, "idea", row.id, None) for row in submitters],
    )


# --- reading and choosing ---------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One notification as the dashboard lists it: who acted, and what it is about."""

    notification: Notification
    actor: str
    title: str
    # The piece to open (for a post, its piece); None for an idea.
    piece_id: int | None


# What every role sees of its notifications; pieces and posts only a role that may view pieces.
_SEEN_BY_ALL = ("idea", "inbox_item")


def _visible(query: Any, actor: User) -> Any:
    """Only `actor`'s own, and of pieces and posts only while their role may see pieces."""
    query = query.where(Notification.user_id == actor.id)
    if actor.role not in PERMISSIONS["view_pieces"]:
        query = query.where(col(Notification.object_type).in_(_SEEN_BY_ALL))
    return query


def still_for(user: User, notification: Notification) -> bool:
    """Whether `user`, as their account is now, is still to be told of `notification`: an
    enabled account that the Notifications page would show it to (a disabled account, or
    one whose role no longer views pieces, is told nothing more of them)."""
    return not user.disabled and (
        notification.object_type in _SEEN_BY_ALL or user.role in PERMISSIONS["view_pieces"]
    )


def list_notifications(
    session: Session, *, actor: User, unread_only: bool = False, limit: int = 50, offset: int = 0
) -> list[Item]:
    """`actor`'s notifications, newest first."""
    require_active(actor)
    query = _visible(select(Notification), actor)
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    found = list(session.exec(paged(query.order_by(col(Notification.id).desc()), limit, offset)))
    return describe(session, found)


def describe(session: Session, found: Sequence[Notification]) -> list[Item]:
    """Each notification with its actor's name, its item's title and the piece to open."""

    def ids(object_type: str) -> set[int]:
        return {n.object_id for n in found if n.object_type == object_type}

    names = _by_id(session, User.id, User.display_name, {n.actor_id for n in found} - {None})
    idea_titles = _by_id(session, Idea.id, Idea.title, ids("idea"))
    post_pieces = _by_id(session, Post.id, Post.piece_id, ids("post"))
    piece_titles = _by_id(session, Piece.id, Piece.title, ids("piece") | set(post_pieces.values()))
    items = []
    for n in found:
        piece_id = (
            n.object_id
            if n.object_type == "piece"
            else post_pieces.get(n.object_id)
            if n.object_type == "post"
            else None
        )
        title = (
            idea_titles.get(n.object_id, "")
            if n.object_type == "idea"
            else piece_titles.get(piece_id or 0, "")
        )
        items.append(Item(n, names.get(n.actor_id or 0, ""), title, piece_id))
    return items


def _by_id(session: Session, key: Any, value: Any, ids: Iterable[int | None]) -> dict[int, Any]:
    wanted = sorted(i for i in ids if i is not None)
    if not wanted:
        return {}
    return {int(k): v for k, v in session.exec(select(key, value).where(col(key).in_(wanted)))}


def count_unread(session: Session, *, actor: User) -> int:
    """How many of `actor`'s notifications are unread."""
    require_active(actor)
    query = _visible(select(func.count()).select_from(Notification), actor)
    return int(session.exec(query.where(col(Notification.read_at).is_(None))).one())


def mark_read(session: Session, *, actor: User, ids: Sequence[int] | None = None) -> int:
    """Mark `actor`'s notifications read (the given ones, or all); how many changed.

    Raises NotFound for an id that is not one of `actor`'s notifications.
    """
    require_active(actor)
    query = update(NOTIFICATIONS).where(
        NOTIFICATIONS.c.user_id == actor.id, NOTIFICATIONS.c.read_at.is_(None)
    )
    if ids is not None:
        own = set(
            session.exec(
                select(Notification.id).where(
                    Notification.user_id == actor.id, col(Notification.id).in_(list(ids))
                )
            )
        )
        missing = [i for i in ids if i not in own]
        if missing:
            raise NotFound("notification", missing[0])
        query = query.where(NOTIFICATIONS.c.id.in_(list(ids)))
    changed = session.connection().execute(query.values(read_at=utcnow())).rowcount
    session.commit()
    return int(changed)


@dataclass(frozen=True)
class Preference:
    """How a user hears of one kind: in the dashboard, by e-mail."""

    kind: str
    in_app: bool
    email: bool


def preferences(session: Session, *, actor: User) -> list[Preference]:
    """`actor`'s choice for every kind that can reach them (defaults where none is stored)."""
    require_active(actor)
    stored = {
        p.kind: p
        for p in session.exec(
            select(NotificationPreference).where(NotificationPreference.user_id == actor.id)
        )
    }
    return [
        Preference(kind, stored[kind].in_app, stored[kind].email)
        if kind in stored
        else Preference(kind, True, False)
        for kind in kinds_for(actor)
    ]


def set_preferences(session: Session, *, actor: User, choices: Sequence[Preference]) -> None:
    """Store `actor`'s choices; a kind that cannot reach them is refused, nothing stored."""
    require_active(actor)
    mine = kinds_for(actor)
    wrong = [c.kind for c in choices if c.kind not in mine]
    if wrong:
        raise ValidationFailed(
            {
                "kind": Message(
                    "unknown_notification_kind",
                    "{value!r} is no kind of notification for this account; choose from {allowed}",
                    value=wrong[0],
                    allowed=", ".join(mine),
                )
            }
        )
    assert actor.id is not None
    for choice in choices:
        row = session.get(NotificationPreference, (actor.id, choice.kind))
        if row is None:
            row = NotificationPreference(user_id=actor.id, kind=choice.kind)
        row.in_app, row.email = choice.in_app, choice.email
        session.add(row)
    session.commit()
