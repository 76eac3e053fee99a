"""The plan as iCalendar (RFC 5545): a file to download and subscribable feeds.

A feed lives at a secret URL (`/calendar/<token>.ics`); only the SHA-256 of its random
token is stored, so the URL is shown once, when the feed is made. A feed shows what its
owner may see at the moment it is fetched, with the filters it was made with: a disabled
owner's feed answers nothing, and a revoked feed stays revoked. Owners list and revoke
their feeds; admins revoke anyone's.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event, Timezone, vText
from sqlmodel import Session, col, select

from planner import audit, submissions
from planner.config import load_settings
from planner.db import all_or_nothing, where_equal
from planner.errors import Message, NotFound, ValidationFailed
from planner.models import (
    Audience,
    CalendarFeed,
    Channel,
    Department,
    Idea,
    Piece,
    Post,
    PostStatus,
    User,
    utcnow,
)
from planner.permissions import can, require_active
from planner.planning import CALENDAR_LIMIT, visible_piece_ids
from planner.schemas import check_text
from planner.ui.i18n import translate

CALENDAR_PATH = "/calendar/"
# What a calendar holds: a quarter back (so last month's posts stay in view) and ahead.
PAST = timedelta(days=92)
FUTURE = timedelta(days=400)
EVENT_LENGTH = timedelta(minutes=15)
FETCH_NOTED = timedelta(minutes=5)
EXCERPT = 280
PRODID = "-//Editorial planner//Calendar//EN"
_UID_DOMAIN = "editorial-planner"
FILTER_NAMES = ("channel_id", "department_id", "audience_id", "campaign", "status")
# Filters by what a contributor does not see of a piece ('My ideas' shows its title and
# status and its posts' channels, times, states and links): they would tell it anyway.
PIECE_FILTERS = ("department_id", "audience_id", "campaign")


@dataclass(frozen=True)
class CalendarFilters:
    """What a calendar shows, as on the dashboard's Calendar page (None: everything)."""

    channel_id: int | None = None
    department_id: int | None = None
    audience_id: int | None = None
    campaign: str | None = None
    status: PostStatus | None = None

    def stored(self) -> dict[str, Any]:
        """The filters that are set, as JSON can hold them."""
        values = {
            "channel_id": self.channel_id,
            "department_id": self.department_id,
            "audience_id": self.audience_id,
            "campaign": self.campaign,
            "status": self.status.value if self.status else None,
        }
        return {k: v for k, v in values.items() if v not in (None, "")}

    @classmethod
    def from_stored(cls, values: Mapping[str, Any]) -> CalendarFilters:
        """The filters `stored` wrote."""
        status = values.get("status")
        return cls(
            channel_id=values.get("channel_id"),
            department_id=values.get("department_id"),
            audience_id=values.get("audience_id"),
            campaign=values.get("campaign") or None,
            status=PostStatus(status) if status else None,
        )


def check_filters(
    session: Session, filters: CalendarFilters, *, actor: User | None = None
) -> CalendarFilters:
    """`filters`, once every channel, department and audience they name is known and
    `actor` (if given) may filter by them: a contributor by channel and status only."""
    problems: dict[str, str] = {}
    if actor is not None:
        require_active(actor)
    if actor is not None and _sees_posts_only(actor):
        for name in PIECE_FILTERS:
            if getattr(filters, name) not in (None, ""):
                problems[name] = Message(
                    "calendar_filter_contributor",
                    "contributors filter the calendar by channel and status only",
                )
    for name, table in (
        ("channel_id", Channel),
        ("department_id", Department),
        ("audience_id", Audience),
    ):
        value = getattr(filters, name)
        if value is not None and session.get(table, value) is None:
            problems[name] = _no_such_id(name, value)
    if filters.campaign is not None:
        check_text(filters.campaign, "campaign")
        if len(filters.campaign) > 120:
            problems["campaign"] = Message("too_long", "at most {max} characters", max=120)
    if problems:
        raise ValidationFailed(problems)
    return filters


def _no_such_id(name: str, value: object) -> Message:
    """The refusal of a filter naming an id no row has."""
    if name == "channel_id":
        return Message("no_channel_with_id", "there is no channel with id {value!r}", value=value)
    if name == "department_id":
        return Message(
            "no_department_with_id", "there is no department with id {value!r}", value=value
        )
    return Message("no_audience_with_id", "there is no audience with id {value!r}", value=value)


def _sees_posts_only(actor: User) -> bool:
    """Whether `actor` sees of the pieces in the calendar only what 'My ideas' shows (a
    contributor): their titles, and their posts' channels, times, states and links."""
    return not can(actor, "view_pieces")


@dataclass(frozen=True)
class CalendarItem:
    """One post as a calendar event shows it. For a contributor (`details` False) it
    holds what 'My ideas' shows: no text, no campaign, no link into the dashboard."""

    post_id: int
    publish_at: datetime
    status: PostStatus
    sequence: int
    channel: str
    title: str
    text: str
    campaign: str
    external_url: str | None
    last_modified: datetime
    details: bool = True


def calendar_items(
    session: Session,
    *,
    actor: User,
    filters: CalendarFilters = CalendarFilters(),
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> list[CalendarItem]:
    """The posts `actor` may see now (as on the dashboard), by time, within [start, end)
    (default: `PAST` before `now` to `FUTURE` after it), at most `CALENDAR_LIMIT`.

    A contributor's items hold only what 'My ideas' shows them, and a filter by what it
    does not show (a feed made before such filters were refused) matches nothing."""
    moment = now or utcnow()
    start = start or moment - PAST
    end = end or moment + FUTURE
    visible = visible_piece_ids(session, actor=actor)
    details = not _sees_posts_only(actor)
    if not details and any(getattr(filters, name) not in (None, "") for name in PIECE_FILTERS):
        return []
    query = (
        select(Post, Piece, Channel)
        .join(Piece, col(Post.piece_id) == Piece.id)
        .join(Channel, col(Post.channel_id) == Channel.id)
        .where(col(Post.publish_at) >= start, col(Post.publish_at) < end)
    )
    if visible is not None:
        query = query.where(col(Post.piece_id).in_(visible))
    query = where_equal(
        query,
        (Post.channel_id, filters.channel_id),
        (Piece.audience_id, filters.audience_id),
        (Piece.campaign, filters.campaign),
        (Post.status, filters.status),
    )
    if filters.department_id is not None:
        of_department = select(Idea.id).where(Idea.department_id == filters.department_id)
        query = query.where(col(Piece.idea_id).in_(of_department))
    query = query.order_by(col(Post.publish_at), col(Post.id)).limit(CALENDAR_LIMIT)
    items = []
    for post, piece, channel in session.exec(query):
        assert post.id is not None
        changed = [post.created_at, piece.updated_at, post.published_at]
        items.append(
            CalendarItem(
                post_id=post.id,
                publish_at=post.publish_at,
                status=post.status,
                sequence=max(int(post.version or 1) - 1, 0),
                channel=channel.name,
                title=piece.title,
                text=(piece.variants.get(str(channel.id)) or piece.body) if details else "",
                campaign=piece.campaign if details else "",
                external_url=post.external_url,
                last_modified=max(t for t in changed if t is not None),
                details=details,
            )
        )
    return items


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


def dashboard_link(post_id: int) -> str | None:
    """The post in the dashboard (PLANNER_PUBLIC_URL), or None when that is not set."""
    base = load_settings().public_url
    return f"{base.rstrip('/')}/?post={post_id}" if base else None


def calendar_name(lang: str) -> str:
    """The name a calendar gets when nobody named it, in `lang`."""
    return translate(lang, "calendar.ics.name")


def to_ics(
    items: Sequence[CalendarItem],
    *,
    name: str,
    lang: str = "de",
    now: datetime | None = None,
) -> bytes:
    """`items` as one iCalendar file: a VEVENT per post, its times in UTC, its description
    in `lang` (a contributor's item: its status and, once published, its link only)."""
    stamp = (now or utcnow()).astimezone(UTC)
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", vText(name))  # text: commas, semicolons, line breaks escaped
    for item in items:
        event = Event()
        event.add("uid", f"post-{item.post_id}@{_UID_DOMAIN}")
        event.add("dtstamp", stamp)
        event.add("dtstart", item.publish_at.astimezone(UTC))
        event.add("dtend", item.publish_at.astimezone(UTC) + EVENT_LENGTH)
        event.add("summary", f"{item.channel}: {item.title}")
        link = dashboard_link(item.post_id) if item.details else None
        status = translate(lang, f"status.{item.status.value}")
        lines = [translate(lang, "calendar.ics.status", status=status)]
        if item.details:
            if item.campaign:
                lines.append(translate(lang, "calendar.ics.campaign", campaign=item.campaign))
            lines += ["", _excerpt(item.text)]
        elif item.external_url:
            lines += ["", item.external_url]
        if link:
            lines += ["", link]
        event.add("description", "\n".join(lines))
        url = item.external_url or link
        if url:
            event.add("url", url)
        event.add("last-modified", item.last_modified.astimezone(UTC))
        event.add("sequence", item.sequence)
        event.add("status", "CANCELLED" if item.status == PostStatus.cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    if not items:
        # RFC 5545 wants at least one component in a calendar; an empty plan gets the zone
        # its (absent) times would be in, so that strict calendar apps take the feed too.
        cal.add_component(Timezone.from_tzid("UTC"))
    written: bytes = cal.to_ical()
    return written


def export_ics(
    session: Session,
    *,
    actor: User,
    filters: CalendarFilters = CalendarFilters(),
    now: datetime | None = None,
) -> bytes:
    """The calendar `actor` sees with `filters`, as an iCalendar file (what a feed serves)."""
    check_filters(session, filters, actor=actor)
    items = calendar_items(session, actor=actor, filters=filters, now=now)
    return to_ics(items, name=calendar_name(actor.locale), lang=actor.locale, now=now)


# --- feeds ----------------------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def feed_path(token: str) -> str:
    """The feed's path on the dashboard's server."""
    return f"{CALENDAR_PATH}{token}.ics"


def feed_url(token: str) -> str:
    """The feed's full address (PLANNER_PUBLIC_URL), or its path when that is not set."""
    base = load_settings().public_url
    return f"{base.rstrip('/')}{feed_path(token)}" if base else feed_path(token)


@dataclass(frozen=True)
class NewFeed:
    """A feed just made: its row and the secret URL, which is never shown again."""

    feed: CalendarFeed
    token: str = field(repr=False)
    url: str = field(repr=False)


def create_feed(
    session: Session,
    *,
    actor: User,
    name: str = "",
    filters: CalendarFilters = CalendarFilters(),
    token: str | None = None,
) -> NewFeed:
    """A new feed of `actor`'s calendar with `filters`; the URL is in the answer only.

    A form's spent `token` (a double click) raises AlreadySent naming the first feed."""
    require_active(actor)
    submissions.refuse_spent(session, actor=actor, token=token)
    check_filters(session, filters, actor=actor)
    label = name.strip() or calendar_name(actor.locale)
    check_text(label, "name")
    if "\n" in label or "\r" in label:
        raise ValidationFailed(
            {"name": Message("one_line", "a calendar's name is one line, without line breaks")}
        )
    if len(label) > 80:
        raise ValidationFailed({"name": Message("too_long", "at most {max} characters", max=80)})
    secret = secrets.token_urlsafe(32)
    assert actor.id is not None
    feed = CalendarFeed(
        token_hash=_hash(secret), user_id=actor.id, name=label, filters=filters.stored()
    )
    with submissions.first_use(session, actor=actor, token=token), all_or_nothing(session):
        audit.record_change(
            session, feed, actor=actor, object_type="calendar_feed", action="create"
        )
        submissions.spend(
            session, actor=actor, token=token, action="calendar_feed", object_id=feed.id
        )
    return NewFeed(feed, secret, feed_url(secret))


def list_feeds(session: Session, *, actor: User, everyone: bool = False) -> list[CalendarFeed]:
    """`actor`'s feeds, newest first; with `everyone`, every user's (admins)."""
    require_active(actor)
    query = select(CalendarFeed)
    if not (everyone and can(actor, "manage_users")):
        query = query.where(CalendarFeed.user_id == actor.id)
    return list(session.exec(query.order_by(col(CalendarFeed.id).desc())))


def revoke_feed(session: Session, *, actor: User, feed_id: int) -> CalendarFeed:
    """Stop a feed for good (its owner, or an admin); revoking it again changes nothing."""
    require_active(actor)
    feed = session.get(CalendarFeed, feed_id)
    if feed is None or (feed.user_id != actor.id and not can(actor, "manage_users")):
        raise NotFound("calendar feed", feed_id)
    if feed.revoked_at is None:
        feed.revoked_at = utcnow()
        feed.revoked_by_id = actor.id
        audit.record_change(
            session, feed, actor=actor, object_type="calendar_feed", action="revoke"
        )
        session.commit()
    return feed


def fetch_feed(session: Session, token: str, *, now: datetime | None = None) -> bytes | None:
    """The calendar behind a feed token, as its owner may see it now; None for a token
    that is unknown or revoked, or whose owner is disabled (the caller says 404)."""
    if not token or len(token) > 128:
        return None
    feed = session.exec(select(CalendarFeed).where(CalendarFeed.token_hash == _hash(token))).first()
    if feed is None or feed.revoked_at is not None:
        return None
    owner = session.get(User, feed.user_id)
    if owner is None or owner.disabled:
        return None
    filters = CalendarFilters.from_stored(feed.filters)
    items = calendar_items(session, actor=owner, filters=filters, now=now)
    moment = utcnow()
    # Calendar apps poll; one write per feed and few minutes says enough about its use.
    if feed.last_fetched_at is None or moment - feed.last_fetched_at > FETCH_NOTED:
        feed.last_fetched_at = moment
        session.add(feed)
        session.commit()
    return to_ics(items, name=feed.name, lang=owner.locale, now=now)
