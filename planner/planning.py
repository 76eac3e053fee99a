"""The calendar: posts of pieces on channels at instants, recurring series, what is due.

Times are stored as UTC instants and entered in the user's zone. A series keeps its rule
text, IANA zone and local wall-clock start, and is materialised as ordinary posts over a
rolling window, so the scheduler only ever sees rows.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import partial
from itertools import islice
from typing import Any, NamedTuple, NotRequired, TypedDict, Unpack

from dateutil.rrule import rrulestr
from sqlalchemy import ColumnElement, and_, case, func, not_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from planner import audit, checks, finishing, notifications, rule_checks, submissions, workflow
from planner.channels import get_channel
from planner.db import all_or_nothing, paged
from planner.errors import (
    Message,
    NotFound,
    TimeInputError,
    ValidationFailed,
    message_from_data,
)
from planner.models import (
    Channel,
    Idea,
    Piece,
    PieceStatus,
    Post,
    PostStatus,
    PublishAttempt,
    PublishingSlot,
    Series,
    User,
    utcnow,
)
from planner.org_settings import is_frozen
from planner.permissions import can, ideas_seen_by, require, require_active
from planner.rules import TIME_KINDS
from planner.timezones import (
    Fold,
    echoed,
    format_local,
    parse_local_datetime,
    parse_to_utc,
    to_local,
    to_utc,
    zone,
)
from publishers import REGISTRY

log = logging.getLogger(__name__)

SERIES_HORIZON = timedelta(weeks=8)
MATERIALIZE_SLACK = timedelta(hours=1)
MAX_OCCURRENCES = 500
MAX_SERIES_YEARS = 5  # a series ends at most this many years after its start
_PAST_TOLERANCE = timedelta(minutes=1)
# Two posts of one piece on one channel closer than this send the same text twice: a second
# one is refused (two editors planning at once, a CSV row repeated, a move next to it).
SAME_POST_WINDOW = timedelta(hours=1)


class HoldReason(StrEnum):
    """Why a due post may not go out."""

    frozen = "publishing is frozen (crisis freeze)"
    not_approved = "the piece is not approved"
    changed_after_approval = "the piece changed after it was approved"
    channel_disabled = "the channel is disabled"
    channel_needs_reconnect = "the channel needs to be reconnected"
    no_adapter = "there is no publisher for this kind of channel yet"
    channel_paused = "the channel asked to wait (rate limit)"


@dataclass(frozen=True)
class RuleHold:
    """A publishing rule holds the post when the engine claims it: the blocking findings
    as one message (a time rule's names the next allowed time, `until`)."""

    message: Message
    until: datetime | None = None

    @property
    def name(self) -> str:
        """The kind of hold, as `HoldReason.name` (for labels)."""
        return "rule"

    @property
    def value(self) -> str:
        """The reason in English, as `HoldReason.value`."""
        return f"held by a publishing rule: {self.message}"


Hold = HoldReason | RuleHold


def stored_rule_hold(attempt: PublishAttempt) -> RuleHold | None:
    """The rule's hold a ledger row stored (`PublishAttempt.reason`), to be said in the
    reader's language; None for a row without one (not a rule's hold, or written before
    holds were stored) or one that cannot be read."""
    if not attempt.reason:
        return None
    try:
        return RuleHold(message_from_data(json.loads(attempt.reason)))
    except (ValueError, TypeError, KeyError, AttributeError):
        log.warning("ledger row %s: its stored hold reason cannot be read", attempt.id)
        return None


@dataclass(frozen=True)
class HeldPost:
    """A due post the scheduler must not send, and why."""

    post: Post
    reason: Hold


def _rule_holds(
    session: Session, posts: Sequence[rule_checks.PlannedPost], *, now: datetime
) -> dict[int, RuleHold]:
    """The posts among `posts` the engine will hold by a rule at claim (one check for
    all, the engine's own), by post id."""
    verdicts = rule_checks.forecast_holds(session, posts, now=now)
    held = {}
    for post_id, verdict in verdicts.items():
        if verdict.message is not None:
            timed = any(f.slot is not None for f in verdict.findings)
            held[post_id] = RuleHold(verdict.message, verdict.until if timed else None)
    return held


def _when(when: str | datetime, tz_name: str, fold: Fold | None) -> datetime:
    if isinstance(when, datetime):
        return to_utc(when, tz_name, fold=fold)
    return parse_to_utc(when, tz_name, fold=fold)


def _plannable_piece(session: Session, piece_id: int) -> Piece:
    piece = session.get(Piece, piece_id, populate_existing=True)
    if piece is None:
        raise NotFound("piece", piece_id)
    if piece.status == PieceStatus.archived:
        raise ValidationFailed(
            {
                "piece": Message(
                    "piece_not_plannable",
                    "piece {piece} is {status}; it cannot be planned",
                    piece=piece_id,
                    status=piece.status.value,
                )
            }
        )
    return piece


def _usable_channel(session: Session, ref: str | int) -> Channel:
    try:
        channel = get_channel(session, ref)
    except NotFound as err:
        raise ValidationFailed({"channel": str(err)}) from err
    if not channel.enabled:
        raise ValidationFailed(
            {
                "channel": Message(
                    "channel_disabled", "channel {name!r} is disabled", name=channel.name
                )
            }
        )
    return channel


def same_post_nearby(
    session: Session,
    *,
    piece_id: int,
    channel_id: int,
    at: datetime,
    exclude: int | Collection[int] | None = None,
) -> Post | None:
    """A post of the piece on the channel (not cancelled, not `exclude`: one id or several)
    less than `SAME_POST_WINDOW` from `at`: a second one there would send the same text
    twice."""
    query = select(Post).where(
        Post.piece_id == piece_id,
        Post.channel_id == channel_id,
        Post.status != PostStatus.cancelled,
        col(Post.publish_at) > at - SAME_POST_WINDOW,
        col(Post.publish_at) < at + SAME_POST_WINDOW,
    )
    if isinstance(exclude, int):
        query = query.where(Post.id != exclude)
    elif exclude:
        query = query.where(col(Post.id).not_in(sorted(exclude)))
    return session.exec(query.order_by(col(Post.publish_at), col(Post.id))).first()


def _same_post_problem(session: Session, actor: User, found: Post) -> Message:
    """Why a post next to `found` (same piece, same channel) is refused."""
    channel = session.get(Channel, found.channel_id)
    return Message(
        "same_post_nearby",
        "piece {piece} is already on {channel} at {when} (post {post}, {status}); a second "
        "post less than {minutes} minutes from it would send the same text twice",
        piece=found.piece_id,
        channel=channel.name if channel is not None else found.channel_id,
        when=format_local(found.publish_at, actor.timezone),
        post=found.id,
        status=found.status.value,
        minutes=int(SAME_POST_WINDOW.total_seconds() // 60),
    )


def _refuse_same_posts(session: Session, actor: User, posts: Sequence[Post]) -> None:
    """Refuse storing `posts` (already flushed) where one is next to another post of its
    piece on its channel. Run in the storing transaction, after its first write: two
    people planning at once are serialised there, so the second sees the first's post."""
    for post in posts:
        assert post.id is not None
        found = same_post_nearby(
            session,
            piece_id=post.piece_id,
            channel_id=post.channel_id,
            at=post.publish_at,
            exclude=post.id,
        )
        if found is not None:
            raise ValidationFailed({"publish_at": _same_post_problem(session, actor, found)})


class Timing(TypedDict):
    """A local time as entered: its text or datetime, its zone (default: the actor's) and
    its fold (which of a repeated hour)."""

    when: str | datetime
    tz_name: NotRequired[str | None]
    fold: NotRequired[Fold | None]


class PostPlan(Timing):
    """The keywords that place a piece on a channel (see `prepare_post`)."""

    piece_id: int
    channel: str | int


class MovePlan(Timing):
    """The keywords that give a post a new time (see `prepare_move`)."""

    post_id: int


def prepare_post(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    channel: str | int,
    when: str | datetime,
    tz_name: str | None = None,
    fold: Fold | None = None,
    now: datetime | None = None,
    into: list[rule_checks.RuleFinding] | None = None,
) -> Post:
    """Validate one planned post without storing it (used by plan and by CSV import).

    The channel must accept the piece's text (its variant, or the master text) once the
    piece has been submitted; submission checks a draft's text. `into`, when given,
    receives the publishing rules' findings (of any severity), also when it raises.
    """
    require(actor, "plan_posts")
    tz_name = tz_name or actor.timezone
    problems: dict[str, str] = {}
    piece: Piece | None = None
    chan: Channel | None = None
    publish_at: datetime | None = None
    try:
        piece = _plannable_piece(session, piece_id)
    except (NotFound, ValidationFailed) as err:
        problems["piece"] = str(err) if isinstance(err, NotFound) else err.fields["piece"]
    try:
        chan = _usable_channel(session, channel)
    except ValidationFailed as err:
        problems.update(err.fields)
    try:
        publish_at = _when(when, tz_name, fold)
        if publish_at < (now or utcnow()) - _PAST_TOLERANCE:
            problems["publish_at"] = Message(
                "in_the_past",
                "{when} is in the past",
                when=when if isinstance(when, str) else when.isoformat(),
            )
    except TimeInputError as err:
        problems["publish_at"] = err.message
    if piece is not None and chan is not None and "channel" not in problems:
        try:
            checks.require_plannable(session, actor=actor, piece=piece, channel=chan)
        except ValidationFailed as err:
            problems.update(err.fields)
        if publish_at is not None and "publish_at" not in problems:
            found = rule_checks.planning_findings(
                session, actor=actor, piece=piece, channel=chan, at=publish_at
            )
            if into is not None:
                into.extend(found)
            problems.update(_rule_problems(found))
    if piece is not None and chan is not None and publish_at is not None and not problems:
        assert piece.id is not None and chan.id is not None
        nearby = same_post_nearby(session, piece_id=piece.id, channel_id=chan.id, at=publish_at)
        if nearby is not None:
            problems["publish_at"] = _same_post_problem(session, actor, nearby)
    if problems:
        raise ValidationFailed(problems)
    assert piece is not None and chan is not None and publish_at is not None
    assert piece.id is not None and chan.id is not None and actor.id is not None
    return Post(
        piece_id=piece.id,
        channel_id=chan.id,
        publish_at=publish_at,
        timezone=tz_name,
        created_by_id=actor.id,
    )


def store_posts(
    session: Session,
    *,
    actor: User,
    posts: list[Post],
    token: str | None = None,
    moved: Sequence[Post] = (),
) -> list[Post]:
    """Store prepared posts as planned, in one transaction (a form `token` names the first);
    posts `moved` in the same transaction are checked with them (a CSV import)."""

    def note(post: Post) -> str:
        where = f"piece {post.piece_id} on channel {post.channel_id}"
        return f"{where} at {post.publish_at:%Y-%m-%d %H:%M} UTC"

    planned = submissions.StoredAs(
        object_type="post", action="plan", to_state=PostStatus.planned.value
    )
    submissions.store_rows(
        session,
        actor=actor,
        token=token,
        rows=posts,
        stored_as=planned,
        note=note,
        then=lambda: _refuse_same_posts(session, actor, [*posts, *moved]),
    )
    return posts


def _rule_problems(found: list[rule_checks.RuleFinding]) -> dict[str, str]:
    """The blocking ones of the publishing rules' `found` findings for a post: on its
    content ("rules") and its time ("publish_at", with the next slot)."""
    problems: dict[str, str] = {}
    timed = rule_checks.blocking_message([f for f in found if f.slot is not None])
    content = rule_checks.blocking_message([f for f in found if f.slot is None])
    if timed is not None:
        problems["publish_at"] = timed
    if content is not None:
        problems["rules"] = content
    return problems


def plan_post(
    session: Session, *, actor: User, token: str | None = None, **plan: Unpack[PostPlan]
) -> Post:
    """Put a piece on a channel at a time given in `tz_name` (default: the actor's zone).

    A form's spent `token` raises AlreadySent naming the post the first send planned.
    """
    submissions.refuse_spent(session, actor=actor, token=token)
    found: list[rule_checks.RuleFinding] = []
    try:
        post = prepare_post(session, actor=actor, into=found, **plan)
    except ValidationFailed:
        record_planning(session, actor, plan["piece_id"], found, refused=True)
        raise
    record_planning(session, actor, post.piece_id, found, refused=False)
    return store_posts(session, actor=actor, posts=[post], token=token)[0]


def record_planning(
    session: Session,
    actor: User,
    piece_id: int,
    found: Sequence[rule_checks.RuleFinding],
    *,
    refused: bool,
) -> None:
    """Keep what the publishing rules found when a post was planned or moved, or a series
    created (the step "plan"), by any path (the calendar, "add to queue", a CSV import):
    with a plan that goes ahead, for its transaction to store; where a blocking finding
    refused it, stored at once (the refusal still reaches the user)."""
    piece = session.get(Piece, piece_id)
    if piece is None or not found:
        return
    if not refused:
        rule_checks.record_findings(
            session, actor=actor, piece=piece, step="plan", findings=found, stopped=False
        )
    elif any(f.blocks for f in found):
        rule_checks.record_refusal(session, actor=actor, piece=piece, step="plan", findings=found)


def visible_piece_ids(session: Session, *, actor: User) -> set[int] | None:
    """The pieces whose posts `actor` may see: None for all (those who may view pieces).

    A contributor sees what became of their department's ideas and their own, as on 'My
    ideas': the pieces those ideas led to, also through the ideas they were merged into.
    """
    require_active(actor)
    if can(actor, "view_pieces"):
        return None
    carriers: set[int] = set()
    own = session.exec(select(Idea.id).where(ideas_seen_by(actor)))
    step = {i for i in own if i is not None}
    while step:
        carriers |= step
        merged = session.exec(
            select(Idea.merged_into_id).where(
                col(Idea.id).in_(step), col(Idea.merged_into_id).is_not(None)
            )
        )
        step = {i for i in merged if i is not None} - carriers
    if not carriers:
        return set()
    found = session.exec(select(Piece.id).where(col(Piece.idea_id).in_(carriers)))
    return {i for i in found if i is not None}


def get_post(session: Session, *, actor: User, post_id: int) -> Post:
    """One post, if `actor` may see it (contributors: see `visible_piece_ids`)."""
    post = session.get(Post, post_id, populate_existing=True)
    visible = visible_piece_ids(session, actor=actor)
    if post is None or (visible is not None and post.piece_id not in visible):
        raise NotFound("post", post_id)
    return post


@dataclass(frozen=True)
class PostMove:
    """A post's new time, checked by `prepare_move` and not stored yet."""

    post: Post
    publish_at: datetime
    tz_name: str


def prepare_move(
    session: Session,
    *,
    actor: User,
    post_id: int,
    when: str | datetime,
    tz_name: str | None = None,
    fold: Fold | None = None,
    now: datetime | None = None,
    into: list[rule_checks.RuleFinding] | None = None,
) -> PostMove:
    """Check a move of a post (role and state by the workflow table, then the new time)
    without storing it (used by move_post and by CSV import)."""
    workflow.check_role("post", "move", actor)
    post = get_post(session, actor=actor, post_id=post_id)
    workflow.check("post", post, "move", actor)
    tz_name = tz_name or actor.timezone
    try:
        publish_at = _when(when, tz_name, fold)
    except TimeInputError as err:
        raise ValidationFailed({"publish_at": err.message}) from err
    if publish_at < (now or utcnow()) - _PAST_TOLERANCE:
        raise ValidationFailed(
            {
                "publish_at": Message(
                    "in_the_past",
                    "{when} is in the past",
                    when=when if isinstance(when, str) else when.isoformat(),
                )
            }
        )
    piece = session.get(Piece, post.piece_id)
    channel = session.get(Channel, post.channel_id)
    assert piece is not None and channel is not None  # foreign keys
    found = rule_checks.planning_findings(
        session, actor=actor, piece=piece, channel=channel, at=publish_at, exclude_post=post.id
    )
    # A move checks the time only: what its content rules find was found when planned.
    found = [f for f in found if f.kind in TIME_KINDS]
    if into is not None:
        into.extend(found)
    timed = _rule_problems(found).get("publish_at")
    if timed is not None:
        raise ValidationFailed({"publish_at": timed})
    nearby = same_post_nearby(
        session, piece_id=post.piece_id, channel_id=post.channel_id, at=publish_at, exclude=post.id
    )
    if nearby is not None:
        raise ValidationFailed({"publish_at": _same_post_problem(session, actor, nearby)})
    return PostMove(post, publish_at, tz_name)


def tries_afresh(session: Session, post: Post) -> Callable[[], None]:
    """A change giving `post` its full count of tries, as a person's retry or move does: no
    wait for a later try, and the ledger so far (its failures, its rate-limit waits) no
    longer counted against it (`Post.retried_after`, the ledger's last row now)."""
    last_row = session.exec(
        select(func.max(PublishAttempt.id)).where(PublishAttempt.post_id == post.id)
    ).one()

    def change() -> None:
        post.next_attempt_at = None
        post.attempts = 0
        post.retried_after = last_row

    return change


def store_move(
    session: Session,
    *,
    actor: User,
    move: PostMove,
    expected_version: int | None = None,
    note_prefix: str = "",
    commit: bool = True,
) -> Post:
    """Reschedule a post as `prepare_move` checked it; a failed or missed post is planned
    again. With `commit=False` the caller commits (a CSV import stores all rows at once).

    The new time is a person's decision, as a retry is: the post goes out then, not at a
    later try's time or at the end of a hold, with its full count of tries."""
    post = move.post
    old = post.publish_at
    fresh_tries = tries_afresh(session, post)

    def reschedule() -> None:
        post.publish_at = move.publish_at
        post.timezone = move.tz_name
        post.last_error = None
        fresh_tries()

    workflow.apply_post(
        session,
        post=post,
        action="move",
        actor=actor,
        note=f"{note_prefix}{old:%Y-%m-%d %H:%M} -> {move.publish_at:%Y-%m-%d %H:%M} UTC",
        expected_version=expected_version,
        effect=reschedule,
        commit=False,
    )
    if commit:
        # Checked again after the move's first write, where two plans or moves of one
        # piece at the same moment are serialised (`_refuse_same_posts`).
        with all_or_nothing(session):
            _refuse_same_posts(session, actor, [post])
    return post


def move_post(
    session: Session, *, actor: User, expected_version: int | None = None, **plan: Unpack[MovePlan]
) -> Post:
    """Reschedule a post; a failed or missed post is planned again."""
    found: list[rule_checks.RuleFinding] = []
    try:
        move = prepare_move(session, actor=actor, into=found, **plan)
    except ValidationFailed:
        post = session.get(Post, plan["post_id"])
        if post is not None:
            record_planning(session, actor, post.piece_id, found, refused=True)
        raise
    record_planning(session, actor, move.post.piece_id, found, refused=False)
    return store_move(session, actor=actor, move=move, expected_version=expected_version)


def cancel_post(
    session: Session,
    *,
    actor: User,
    post_id: int,
    reason: str = "",
    expected_version: int | None = None,
) -> Post:
    """Cancel a post that has not gone out; it stays on record as cancelled.

    A post being sent right now may be cancelled too: unless its request has already
    started, it does not go out (the worker checks right before each request); if it had
    started and succeeds, the post is recorded as published after all.
    """
    workflow.check_role("post", "cancel", actor)
    post = get_post(session, actor=actor, post_id=post_id)
    piece_id, by, by_id = post.piece_id, actor.username, actor.id  # the commit expires them
    cancelled = workflow.apply_post(
        session,
        post=post,
        action="cancel",
        actor=actor,
        note=reason,
        expected_version=expected_version,
        effect=lambda: _release(post),
    )
    # Its piece may be finished now: the other posts out, this one was the last open.
    finishing.finish_after_change(session, piece_id, by=by, by_id=by_id)
    return cancelled


def list_posts(
    session: Session,
    *,
    actor: User,
    start: datetime | None = None,
    end: datetime | None = None,
    channel_id: int | None = None,
    piece_id: int | None = None,
    status: PostStatus | None = None,
    limit: int | None = None,
) -> list[Post]:
    """Posts in [start, end), by time, that `actor` may see (see `visible_piece_ids`)."""
    query = select(Post)
    visible = visible_piece_ids(session, actor=actor)
    if visible is not None:
        query = query.where(col(Post.piece_id).in_(visible))
    if start is not None:
        query = query.where(col(Post.publish_at) >= start)
    if end is not None:
        query = query.where(col(Post.publish_at) < end)
    if channel_id is not None:
        query = query.where(Post.channel_id == channel_id)
    if piece_id is not None:
        query = query.where(Post.piece_id == piece_id)
    if status is not None:
        query = query.where(Post.status == status)
    query = query.order_by(col(Post.publish_at), col(Post.id))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


# --- the calendar's views ------------------------------------------------------------------

CALENDAR_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class CalendarPost:
    """What the calendar reads of a post: only the columns it shows or acts on."""

    id: int
    piece_id: int
    channel_id: int
    publish_at: datetime
    status: PostStatus
    version: int
    series_id: int | None = None


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    """A post as the calendar shows it: with its piece's title and its channel's name.

    `hold`: why the publishing engine would hold the post when it is due (the same answer
    as `post_hold_reason`, or the publishing rules' at claim), or None when it may go out
    as things stand.
    """

    post: CalendarPost
    piece_title: str
    channel_name: str
    hold: Hold | None = None
    channel_kind: str = ""


def _calendar_scope(
    query: Any, *, channel_id: int | None, department_id: int | None, audience_id: int | None = None
) -> Any:
    """Filter a query over Post to one channel, the pieces of one department's ideas and/or
    the pieces for one audience."""
    query = query.where(Post.status != PostStatus.cancelled)
    if audience_id is not None:
        query = query.where(
            col(Post.piece_id).in_(select(Piece.id).where(Piece.audience_id == audience_id))
        )
    if channel_id is not None:
        query = query.where(Post.channel_id == channel_id)
    if department_id is not None:
        pieces_of = (
            select(Piece.id)
            .join(Idea, col(Piece.idea_id) == Idea.id)
            .where(Idea.department_id == department_id)
        )
        query = query.where(col(Post.piece_id).in_(pieces_of))
    return query


def calendar_entries(
    session: Session,
    *,
    actor: User,
    start: datetime,
    end: datetime,
    channel_id: int | None = None,
    department_id: int | None = None,
    limit: int = CALENDAR_LIMIT,
    audience_id: int | None = None,
) -> list[CalendarEntry]:
    """Planned and published posts in [start, end), by time; only that range is read.

    One query of only the columns shown and those the hold check reads (no post's JSON,
    no piece's text): a month of a busy plan is up to `limit` rows on every run."""
    require(actor, "view_pieces")
    columns: list[Any] = [
        col(Post.id),
        col(Post.piece_id),
        col(Post.channel_id),
        col(Post.status),
        col(Post.version),
        col(Post.series_id),
        Piece.title,
        Channel.name,
        *_HOLD_FACTS,
    ]
    query = (
        select(*columns)
        .join(Piece, col(Post.piece_id) == Piece.id)
        .join(Channel, col(Post.channel_id) == Channel.id)
        .where(col(Post.publish_at) >= start, col(Post.publish_at) < end)
    )
    query = _calendar_scope(
        query, channel_id=channel_id, department_id=department_id, audience_id=audience_id
    )
    rows = session.exec(query.order_by(col(Post.publish_at), col(Post.id)).limit(limit))
    frozen, now = is_frozen(session), utcnow()
    entries: list[CalendarEntry] = []
    for post_id, piece_id, channel_id_, status, version, series, title, name, *facts in rows:
        held = _HoldFacts(*facts)
        hold = held.reason(frozen=frozen, now=now)
        post = CalendarPost(
            post_id, piece_id, channel_id_, held.publish_at, status, version, series
        )
        entries.append(CalendarEntry(post, title, name, hold, held.kind))
    # The publishing rules, as the engine checks them at claim, for the posts nothing
    # else holds: one check for the whole view.
    ruled = _rule_holds(session, [e.post for e in entries if e.hold is None], now=now)
    return [replace(e, hold=ruled[e.post.id]) if e.post.id in ruled else e for e in entries]


def local_bounds(first: date, count: int, tz_name: str, *, step_days: int = 1) -> list[datetime]:
    """`count + 1` UTC instants: local midnight of `first` and of each step after it."""
    z = zone(tz_name)
    return [
        datetime.combine(first + timedelta(days=i * step_days), time(0), tzinfo=z).astimezone(UTC)
        for i in range(count + 1)
    ]


def count_posts(
    session: Session,
    *,
    actor: User,
    bounds: Sequence[datetime],
    channel_id: int | None = None,
    department_id: int | None = None,
    by_channel: bool = False,
    audience_id: int | None = None,
) -> dict[tuple[int, int | None], int]:
    """Posts per interval [bounds[i], bounds[i+1]) (and per channel), counted in SQL.

    Keys are (interval index, channel id or None); intervals without posts are absent.
    The bounds are instants, so local days across a DST change are counted exactly.
    """
    require(actor, "view_pieces")
    if len(bounds) < 2:
        return {}
    at = col(Post.publish_at)
    bucket = case(*[(at < b, i) for i, b in enumerate(bounds[1:])], else_=len(bounds) - 1)
    columns: list[Any] = [bucket.label("bucket"), func.count().label("n")]
    if by_channel:
        columns.append(col(Post.channel_id))
    query = select(*columns).where(at >= bounds[0], at < bounds[-1])
    query = _calendar_scope(
        query, channel_id=channel_id, department_id=department_id, audience_id=audience_id
    )
    query = query.group_by(*([bucket, col(Post.channel_id)] if by_channel else [bucket]))
    counts: dict[tuple[int, int | None], int] = {}
    for row in session.exec(query):
        counts[(int(row[0]), int(row[2]) if by_channel else None)] = int(row[1])
    return counts


@dataclass(frozen=True)
class WeekCount:
    """How many posts one channel has in one week (for the calendar's chart)."""

    week: date
    channel: str
    posts: int


def posts_per_channel_per_week(
    session: Session,
    *,
    actor: User,
    first_monday: date,
    weeks: int,
    tz_name: str,
    channel_id: int | None = None,
    department_id: int | None = None,
    audience_id: int | None = None,
) -> list[WeekCount]:
    """Posts per channel in each of `weeks` local weeks from `first_monday`, counted in SQL."""
    bounds = local_bounds(first_monday, weeks, tz_name, step_days=7)
    counts = count_posts(
        session,
        actor=actor,
        bounds=bounds,
        channel_id=channel_id,
        department_id=department_id,
        by_channel=True,
        audience_id=audience_id,
    )
    names = {c.id: c.name for c in session.exec(select(Channel))}
    return [
        WeekCount(first_monday + timedelta(weeks=i), names.get(cid, str(cid)), n)
        for (i, cid), n in sorted(counts.items(), key=lambda item: (item[0][0], item[0][1] or 0))
    ]


CROWDED_DAY = 5  # posts on one local day from which the calendar marks the day as crowded


def crowded_posts(entries: Sequence[CalendarEntry], tz_name: str) -> set[int]:
    """Posts sharing their channel and local hour with another post: a crowded slot."""
    slots: dict[tuple[int, datetime], list[int]] = {}
    for entry in entries:
        local = to_local(entry.post.publish_at, tz_name).replace(minute=0, second=0, microsecond=0)
        slots.setdefault((entry.post.channel_id, local), []).append(entry.post.id or 0)
    return {pid for ids in slots.values() if len(ids) > 1 for pid in ids}


SERIES_PRESETS = {"weekly": "FREQ=WEEKLY", "monthly": "FREQ=MONTHLY"}


@dataclass(frozen=True)
class RuleParts:
    """A simple recurrence rule as a person reads it: how often (`freq`: daily, weekly,
    monthly or yearly, every `interval`), on which weekdays (0 = Monday), how many times
    and until which day."""

    freq: str
    interval: int
    weekdays: tuple[int, ...]
    count: int | None
    until: date | None


_RULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_RULE_FREQS = {"DAILY": "daily", "WEEKLY": "weekly", "MONTHLY": "monthly", "YEARLY": "yearly"}


def rule_parts(rule: str, tz_name: str) -> RuleParts | None:
    """The parts of a simple rule (FREQ, INTERVAL, plain BYDAY, COUNT, UNTIL, WKST), its
    last day in the zone `tz_name` (a stored UNTIL is a UTC instant); None for any other
    (an ordinal weekday, BYHOUR, BYMONTHDAY ...), which is shown as written."""
    try:
        fields = dict(part.split("=", 1) for part in rule.upper().split(";") if part)
        if set(fields) - {"FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL", "WKST"}:
            return None
        days = [d for d in fields.get("BYDAY", "").split(",") if d]
        until = fields.get("UNTIL")
        return RuleParts(
            freq=_RULE_FREQS[fields["FREQ"]],
            interval=int(fields.get("INTERVAL", "1")),
            weekdays=tuple(sorted(_RULE_DAYS.index(d) for d in days)),
            count=int(fields["COUNT"]) if "COUNT" in fields else None,
            until=_until_day(until, tz_name) if until else None,
        )
    except (KeyError, ValueError):
        return None


def _until_day(until: str, tz_name: str) -> date:
    """The local day of an UNTIL value: UTC when it ends in Z, else as written."""
    if not until.endswith("Z"):
        return datetime.strptime(until[:8], "%Y%m%d").date()
    instant = datetime.strptime(until, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return to_local(instant, tz_name).date()


def preset_rule(preset: str, *, count: int | None, until: str, tz_name: str) -> str:
    """The RRULE text for a simple preset (weekly, monthly) ending after `count` or on `until`.

    `until` is a local date as the user typed it; it wins over `count` when given.
    """
    if preset not in SERIES_PRESETS:
        raise ValidationFailed(
            {
                "rule": Message(
                    "unknown_preset",
                    "unknown preset {preset!r}; use {known}",
                    preset=preset,
                    known=sorted(SERIES_PRESETS),
                )
            }
        )
    freq = SERIES_PRESETS[preset]
    if until.strip():
        try:
            day = parse_local_datetime(until, tz_name)
        except TimeInputError as err:
            raise ValidationFailed({"until": err.message}) from err
        return f"{freq};UNTIL={day:%Y%m%d}"
    if count is None or count < 1:
        raise ValidationFailed(
            {
                "count": Message(
                    "series_without_end", "give how many times (at least 1), or an end date"
                )
            }
        )
    return f"{freq};COUNT={count}"


def _due_query(now: datetime):  # type: ignore[no-untyped-def]
    return (
        select(Post, Piece, Channel)
        .join(Piece, col(Post.piece_id) == Piece.id)
        .join(Channel, col(Post.channel_id) == Channel.id)
        .where(Post.status == PostStatus.planned, col(Post.publish_at) <= now)
    )


def releasable(
    now: datetime | ColumnElement[datetime],
    lateness: timedelta | None = None,
    *,
    earliest: datetime | ColumnElement[datetime] | None = None,
) -> list[ColumnElement[bool]]:
    """SQL conditions for a due post that may go out now (on Post joined to Piece, Channel).

    The piece is approved at its current revision, the post is planned (not cancelled)
    and not waiting for a retry, the channel is enabled, connected and has an adapter,
    and a post never tried is not later than the lateness bound (`now - lateness`, or
    `earliest`). `now` and `earliest` may be bound parameters, for a prebuilt statement.
    """
    conditions: list[ColumnElement[bool]] = [
        col(Post.status).in_(workflow.sources("post", "claim")),
        col(Post.publish_at) <= now,
        or_(col(Post.next_attempt_at).is_(None), col(Post.next_attempt_at) <= now),
        # A published piece stays approved as is: it may be planned again (evergreen).
        col(Piece.status).in_([PieceStatus.approved, PieceStatus.published]),
        col(Piece.approved_revision) == col(Piece.revision),
        col(Channel.enabled).is_(True),
        col(Channel.needs_reconnect).is_(False),
        col(Channel.kind).in_(sorted(REGISTRY)),
        # A rate limit pauses the whole channel for every worker.
        or_(col(Channel.paused_until).is_(None), col(Channel.paused_until) <= now),
    ]
    if earliest is None and lateness is not None:
        assert isinstance(now, datetime), "give `earliest` with a bound `now`"
        earliest = now - lateness
    if earliest is not None:
        conditions.append(or_(col(Post.publish_at) >= earliest, col(Post.attempts) > 0))
    return conditions


def due_posts(
    session: Session,
    *,
    now: datetime | None = None,
    limit: int = 100,
    lateness: timedelta | None = None,
) -> list[Post]:
    """Due posts that may go out: piece approved at its current revision, post planned
    (not cancelled), channel enabled, connected and supported, publishing not frozen."""
    now = now or utcnow()
    if is_frozen(session):
        return []
    query = (
        _due_query(now)
        .where(*releasable(now, lateness))
        .order_by(col(Post.publish_at), col(Post.id))
        .limit(limit)
    )
    return [post for post, _piece, _channel in session.exec(query)]


def posts_going_out(
    session: Session,
    *,
    actor: User,
    now: datetime | None = None,
    limit: int = 100,
    lateness: timedelta | None = None,
) -> list[Post]:
    """`due_posts` as a person sees it (those who may view pieces): what the scheduler
    would publish now."""
    require(actor, "view_pieces")
    return due_posts(session, now=now, limit=limit, lateness=lateness)


class _HoldFacts(NamedTuple):
    """What decides whether a due post is held: of the post, its piece and its channel."""

    publish_at: datetime
    piece_status: PieceStatus
    revision: int
    approved_revision: int | None
    enabled: bool
    needs_reconnect: bool
    kind: str
    paused_until: datetime | None

    def reason(self, *, frozen: bool, now: datetime) -> HoldReason | None:
        """Why the engine holds the post when it is due, or None if nothing does."""
        if frozen:
            return HoldReason.frozen
        # An edit after approval also moves the piece back to review, so check the
        # revision first: otherwise the more specific reason could never be given.
        if self.approved_revision is not None and self.approved_revision != self.revision:
            return HoldReason.changed_after_approval
        if self.piece_status not in (PieceStatus.approved, PieceStatus.published):
            return HoldReason.not_approved
        if not self.enabled:
            return HoldReason.channel_disabled
        if self.needs_reconnect:
            return HoldReason.channel_needs_reconnect
        if self.kind not in REGISTRY:
            return HoldReason.no_adapter
        if self.paused_until is not None and self.paused_until > max(now, self.publish_at):
            return HoldReason.channel_paused
        return None


# The columns of `_HoldFacts`, in its order: the calendar reads only those, and a post's
# facts are these attributes of it, its piece and its channel (SQLModel types them as values).
_HOLD_FACTS: list[Any] = [
    Post.publish_at,
    Piece.status,
    Piece.revision,
    Piece.approved_revision,
    Channel.enabled,
    Channel.needs_reconnect,
    Channel.kind,
    Channel.paused_until,
]


def post_hold_reason(
    post: Post, piece: Piece, channel: Channel, *, frozen: bool, now: datetime
) -> HoldReason | None:
    """Why the publishing engine holds `post` when it is due, or None if nothing does.

    The one answer the held list, the ledger and the calendar give; it agrees with the
    engine's `releasable` conditions. A rate-limit pause holds a post due before it ends.
    """
    rows: dict[type, Any] = {Post: post, Piece: piece, Channel: channel}
    facts = _HoldFacts(*(getattr(rows[column.class_], column.key) for column in _HOLD_FACTS))
    return facts.reason(frozen=frozen, now=now)


def due_hold_reasons(session: Session, *, now: datetime) -> dict[int, HoldReason]:
    """Why each planned post due by `now` is held, by post id (only the held; a rule's
    hold is the engine's to find at claim, see `rule_checks.check_claimed`)."""
    frozen = is_frozen(session)
    query = (
        select(Post.id, *_HOLD_FACTS)
        .join(Piece, col(Post.piece_id) == Piece.id)
        .join(Channel, col(Post.channel_id) == Channel.id)
        .where(Post.status == PostStatus.planned, col(Post.publish_at) <= now)
    )
    if not frozen:
        # Only those the engine would not claim (a backlog of releasable posts is not read).
        query = query.where(not_(and_(*releasable(now))))
    held = {}
    for post_id, *facts in session.exec(query):
        reason = _HoldFacts(*facts).reason(frozen=frozen, now=now)
        if reason is not None:
            held[int(post_id)] = reason
    return held


def hold_reason(session: Session, post: Post, *, now: datetime | None = None) -> HoldReason | None:
    """Why `post` may not go out when it is due, or None if nothing holds it."""
    piece = session.get(Piece, post.piece_id)
    channel = session.get(Channel, post.channel_id)
    assert piece is not None and channel is not None  # foreign keys
    return post_hold_reason(post, piece, channel, frozen=is_frozen(session), now=now or utcnow())


def held_posts(
    session: Session, *, actor: User, now: datetime | None = None, limit: int | None = None
) -> list[HeldPost]:
    """Due posts that must not go out, each with the reason an editor sees (a publishing
    rule's too, as the engine would find it now; those who may view pieces; the
    scheduler asks `due_posts`)."""
    require(actor, "view_pieces")
    now = now or utcnow()
    frozen = is_frozen(session)
    due = [
        (post, post_hold_reason(post, piece, channel, frozen=frozen, now=now))
        for post, piece, channel in session.exec(
            _due_query(now).order_by(col(Post.publish_at), col(Post.id))
        )
    ]
    ruled = _rule_holds(session, [post for post, reason in due if reason is None], now=now)
    held = []
    for post, reason in due:
        hold = reason or ruled.get(post.id)
        if hold is not None:
            held.append(HeldPost(post, hold))
            if limit is not None and len(held) >= limit:
                break
    return held


# --- recurring series -------------------------------------------------------------------

# The whole value, up to the next part: what is said back is what was typed.
_UNTIL = re.compile(r"UNTIL=([^;]*)", re.IGNORECASE)
_COUNT = re.compile(r"COUNT=([0-9]+)", re.IGNORECASE)
_FREQ = re.compile(r"FREQ=(\w+)", re.IGNORECASE)
_SUB_DAILY = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
_ENDS = re.compile(r"(?:^|;)(?:COUNT|UNTIL)=[^;]*", re.IGNORECASE)


def _normalise_rule(rule: str, tz_name: str) -> str:
    """Upper-case the rule, drop an 'RRULE:' prefix and make a local UNTIL a UTC one."""
    text = rule.strip().upper().removeprefix("RRULE:").strip()
    if not text:
        raise ValidationFailed(
            {"rule": Message("no_rule", "enter a recurrence rule, e.g. FREQ=WEEKLY;COUNT=6")}
        )
    if "DTSTART" in text or "\n" in text:
        raise ValidationFailed(
            {"rule": Message("rule_with_start", "give only the RRULE part; the start is separate")}
        )
    match = _UNTIL.search(text)
    if match and not match.group(1).endswith("Z"):
        raw = match.group(1)
        try:
            if "T" in raw:
                local = datetime.strptime(raw, "%Y%m%dT%H%M%S")
            else:
                local = datetime.strptime(raw, "%Y%m%d").replace(hour=23, minute=59, second=59)
        except ValueError as err:
            raise ValidationFailed({"rule": _bad_until(raw)}) from err
        until = to_utc(local, tz_name, fold="later").strftime("%Y%m%dT%H%M%SZ")
        text = text.replace(f"UNTIL={raw}", f"UNTIL={until}")
    return text


_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_GERMAN_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def _bad_until(raw: str) -> Message:
    """The refusal of an UNTIL value that is not YYYYMMDD (or YYYYMMDDTHHMMSS): a date in
    another common form (2027-03-01, 01.03.2027) is shown the form expected."""
    shown = echoed(raw)
    iso, german = _ISO_DAY.fullmatch(raw), _GERMAN_DAY.fullmatch(raw)
    if iso is not None or german is not None:
        if iso is not None:
            year, month, day = iso.groups()
        else:
            assert german is not None
            day, month, year = german.groups()
        return Message(
            "until_not_yyyymmdd",
            "UNTIL={until} is not in the form YYYYMMDD; write it as {example}",
            until=shown,
            example=f"{year}{int(month):02d}{int(day):02d}",
        )
    return Message("bad_until", "UNTIL={until} is not a date", until=shown)


# A series whose start is the second of two equal local times (an autumn fold: 02:30 CET
# after 02:30 CEST) has this microsecond in `Series.local_start`: its rule ignores
# microseconds, and the model has no column for the choice (`create_series`).
_LATER_START = 1


def series_start(series: Series) -> datetime:
    """The series' first local date-time, in its zone (what its rule repeats); in an autumn
    fold, the one of the two its creator chose (`create_series`)."""
    start = series.local_start.replace(tzinfo=zone(series.timezone))
    if start.microsecond == _LATER_START:
        return start.replace(microsecond=0, fold=1)
    return start


class _LaterStart:
    """A series' rule whose start, its first occurrence, is the second of two equal local
    times: dateutil gives each occurrence in a fold the first of the two, so the start is
    put back at the time chosen (the rule's other occurrences are as dateutil gives them).
    Answers `between`, `after` and `before` as dateutil's rule does."""

    def __init__(self, rule: Any, start: datetime) -> None:
        self._rule = rule
        self._start = start
        self._at = start.astimezone(UTC)
        self._wall = start.replace(tzinfo=None)

    def _is_start(self, found: datetime | None) -> bool:
        # Wall-clock times compare without their fold: the rule's start as dateutil has it.
        return found is not None and found.replace(tzinfo=None) == self._wall

    def between(self, after: datetime, before: datetime, inc: bool = False) -> list[datetime]:
        found = [o for o in self._rule.between(after, before, inc) if not self._is_start(o)]
        inside = after <= self._at <= before if inc else after < self._at < before
        return [self._start, *found] if inside else found

    def after(self, dt: datetime, inc: bool = False) -> datetime | None:
        if dt < self._at or (inc and dt == self._at):
            return self._start
        found: datetime | None = self._rule.after(dt, inc)
        return found

    def before(self, dt: datetime, inc: bool = False) -> datetime | None:
        if dt < self._at or (not inc and dt == self._at):
            return None
        found: datetime | None = self._rule.before(dt, inc)
        return self._start if self._is_start(found) else found


def _series_rule(series: Series) -> Any:
    """The series' rule as dateutil reads it, from its local start."""
    start = series_start(series)
    rule = rrulestr(series.rule, dtstart=start)
    if start.fold and start.utcoffset() != start.replace(fold=0).utcoffset():
        first: datetime | None = next(iter(rule), None)
        if first is not None and first.replace(tzinfo=None) == start.replace(tzinfo=None):
            return _LaterStart(rule, start)
    return rule


def occurrences(series: Series, start: datetime, end: datetime) -> list[datetime]:
    """The series' occurrences in [start, end] as UTC instants.

    The rule repeats the local wall-clock time across DST changes; a time that falls in
    a spring gap takes the offset from before the change, and one in an autumn fold is
    the first of the two, except a start its creator chose as the second (`create_series`).
    """
    return [o.astimezone(UTC) for o in _series_rule(series).between(start, end, inc=True)]


def _rule_problem(text: str, dtstart: datetime) -> Message | None:
    """What is wrong with the extent of a rule (normalised, with an end), or None.

    Rules more often than daily are refused (FREQ=DAILY with BYHOUR covers several posts a
    day). The rule is judged on at most MAX_OCCURRENCES + 1 occurrences up to MAX_SERIES_YEARS
    after the start, so that `COUNT=1000000` or `FREQ=MINUTELY;UNTIL=20991231` cost no
    more than a valid rule. A rule that matches rarely or never makes dateutil scan on to
    the year 9999 (its end date only stops it at an occurrence), so it is judged on the
    same dates moved by whole 400-year Gregorian cycles (every date on the same weekday)
    to shortly before that year: the scan then ends there after a few hundred years.
    """
    freq = _FREQ.search(text)
    if freq is not None and freq.group(1) in _SUB_DAILY:
        return Message(
            "rule_too_frequent",
            "FREQ={freq} is more often than daily; use FREQ=DAILY (with BYHOUR=9,17 for "
            "several times a day), WEEKLY, MONTHLY or YEARLY",
            freq=freq.group(1),
        )
    last = _years_later(dtstart, MAX_SERIES_YEARS)
    too_long = Message(
        "series_too_long",
        "a series may run at most {years} years after its start; end it earlier",
        years=MAX_SERIES_YEARS,
    )
    bound = last
    match = _UNTIL.search(text)
    if match is not None:
        raw = match.group(1)
        try:
            until = datetime.strptime(raw, "%Y%m%dT%H%M%SZ" if "T" in raw else "%Y%m%dZ")
        except ValueError:
            return _bad_until(raw)
        if until.replace(tzinfo=UTC) > last:
            return too_long
        bound = until.replace(tzinfo=UTC).astimezone(dtstart.tzinfo)
    count_match = _COUNT.search(text)
    wanted = int(count_match.group(1)) if count_match else None
    shift = (datetime.max.year - MAX_SERIES_YEARS - 1 - dtstart.year) // 400 * 400
    start = dtstart.replace(tzinfo=None)
    start = start.replace(year=start.year + shift)
    end = bound.replace(tzinfo=None)
    end = end.replace(year=end.year + shift)
    rule = rrulestr(_ENDS.sub("", text).strip(";"), dtstart=start).replace(until=end)
    cap = MAX_OCCURRENCES + 1 if wanted is None else min(wanted, MAX_OCCURRENCES + 1)
    found = 0
    closest: timedelta | None = None
    previous: datetime | None = None
    for at in islice(iter(rule), cap):
        found += 1
        if previous is not None and (closest is None or at - previous < closest):
            closest = at - previous
        previous = at
    if wanted is not None and 0 < found < cap and match is None:
        return too_long
    if found > MAX_OCCURRENCES:
        return Message(
            "too_many_occurrences",
            "more than {max} occurrences; shorten the rule",
            max=MAX_OCCURRENCES,
        )
    if found == 0:
        return Message("no_occurrence", "the rule has no occurrence after the start")
    if closest is not None and closest < SAME_POST_WINDOW:
        # Each would send the piece's text again within the hour (FREQ=DAILY;BYMINUTE=0,30).
        return Message(
            "series_times_too_close",
            "two times of this series are only {gap} minutes apart; posts of one piece on one "
            "channel must be at least {minutes} minutes apart, or the same text goes out twice",
            gap=int(closest.total_seconds() // 60),
            minutes=int(SAME_POST_WINDOW.total_seconds() // 60),
        )
    return None


def _years_later(instant: datetime, years: int) -> datetime:
    try:
        return instant.replace(year=instant.year + years)
    except ValueError:  # 29 February
        return instant.replace(year=instant.year + years, day=28)


def create_series(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    channel: str | int,
    rule: str,
    start: str | datetime,
    tz_name: str | None = None,
    fold: Fold | None = None,
    in_slots: bool = False,
    now: datetime | None = None,
    token: str | None = None,
) -> Series:
    """A recurring post: RRULE text with an end (COUNT or UNTIL), local start and zone.

    The start is read as `plan_post` reads its time: an offset in it ('2027-10-31
    02:30+01:00') picks the instant, and a local time that happens twice (an autumn fold)
    without one is refused unless `fold` says which. A start at the second of the two is
    kept as such (`series_start`) and is the first post's time when the rule has it; any
    later occurrence in a fold (a weekly or yearly series) is the first of the two.

    With `in_slots`, each occurrence is planned in the channel's first free publishing slot
    from its time until the next occurrence (one the time rules allow), or at its own time
    when there is none: `FREQ=WEEKLY;COUNT=8` from a Monday 00:00 is one post a week in
    that week's first free slot. A channel without a slot plan is refused then.

    A form's spent `token` raises AlreadySent naming the series the first send created.
    """
    require(actor, "plan_posts")
    submissions.refuse_spent(session, actor=actor, token=token)
    tz_name = tz_name or actor.timezone
    problems: dict[str, str] = {}
    try:
        zone(tz_name)
    except TimeInputError as err:
        raise ValidationFailed({"timezone": err.message}) from err
    found: list[rule_checks.RuleFinding] = []
    try:
        piece = _plannable_piece(session, piece_id)
    except NotFound as err:
        problems["piece"] = str(err)
    except ValidationFailed as err:
        problems.update(err.fields)
    try:
        chan = _usable_channel(session, channel)
    except ValidationFailed as err:
        problems.update(err.fields)
    else:
        if "piece" not in problems:
            try:
                checks.require_plannable(session, actor=actor, piece=piece, channel=chan)
            except ValidationFailed as err:
                problems.update(err.fields)
            else:
                found = _series_content_findings(session, actor, piece, chan)
                content = rule_checks.blocking_message(found)
                if content is not None:
                    problems["rules"] = content
        if in_slots and not _has_slot_plan(session, chan):
            problems.setdefault(
                "channel",
                Message(
                    "series_without_slots",
                    "channel {name!r} has no publishing slots to place the series in; an admin "
                    "sets them first, or plan the series at its own times",
                    name=chan.name,
                ),
            )
    local_start: datetime | None = None
    try:
        local_start = _series_local_start(start, tz_name, fold)
    except TimeInputError as err:
        problems["start"] = err.message
    text = ""
    try:
        text = _normalise_rule(rule, tz_name)
        not_a_part = _rule_part_problem(text)
        if not_a_part is not None:
            problems["rule"] = not_a_part
        elif "COUNT=" not in text and "UNTIL=" not in text:
            problems["rule"] = Message(
                "rule_without_end", "a series needs an end: add COUNT=n or UNTIL=date"
            )
        elif local_start is not None:
            problem = _rule_problem(text, local_start.replace(tzinfo=zone(tz_name)))
            if problem is not None:
                problems["rule"] = problem
            else:
                # Not stored: the rule's times and slot windows read from it.
                probe = Series(
                    piece_id=0,
                    channel_id=0,
                    created_by_id=0,
                    rule=text,
                    timezone=tz_name,
                    local_start=local_start,
                    in_slots=in_slots,
                )
                passed = _all_passed(probe, now or utcnow())
                if passed is not None:
                    problems["start"] = passed
    except ValidationFailed as err:
        problems.update(err.fields)
    except (ValueError, TypeError) as err:
        problems["rule"] = _dateutil_problem(text, err)
    if not problems and not in_slots:
        assert local_start is not None
        clash = _series_next_to_posts(
            session, actor, piece, chan, text, tz_name, local_start, now or utcnow()
        )
        if clash is not None:
            problems["start"] = clash
    if problems:
        record_planning(session, actor, piece_id, found, refused=True)
        raise ValidationFailed(problems)
    assert piece.id is not None and chan.id is not None and actor.id is not None
    assert local_start is not None
    series = Series(
        piece_id=piece.id,
        channel_id=chan.id,
        rule=text,
        timezone=tz_name,
        local_start=local_start,
        in_slots=in_slots,
        created_by_id=actor.id,
    )
    note = f"{text} from {local_start:%Y-%m-%d %H:%M} {tz_name}"
    if in_slots:
        note += " in the channel's slots"
    with submissions.first_use(session, actor=actor, token=token), all_or_nothing(session):
        audit.record_change(
            session, series, actor=actor, object_type="series", action="create", note=note
        )
        record_planning(session, actor, piece.id, found, refused=False)
        submissions.spend(session, actor=actor, token=token, action="series", object_id=series.id)
    # Its creator is shown the occurrences without a slot (`slots.series_off_plan`).
    materialize_series(session, now=now, series_ids=[series.id], tell=False)
    return series


def _series_next_to_posts(
    session: Session,
    actor: User,
    piece: Piece,
    channel: Channel,
    rule: str,
    tz_name: str,
    local_start: datetime,
    now: datetime,
) -> Message | None:
    """Why a new series (at its own times) would send the piece twice: a time of it over
    the first `SERIES_HORIZON` less than `SAME_POST_WINDOW` from a post of the piece on the
    channel; None if there is none. Later times are checked as they are planned
    (`materialize_series` leaves out such a time and says so)."""
    assert piece.id is not None and channel.id is not None
    series = Series(
        piece_id=piece.id,
        channel_id=channel.id,
        created_by_id=0,
        rule=rule,
        timezone=tz_name,
        local_start=local_start,
    )
    for at in occurrences(series, now, now + SERIES_HORIZON):
        nearby = same_post_nearby(session, piece_id=piece.id, channel_id=channel.id, at=at)
        if nearby is not None:
            return _same_post_problem(session, actor, nearby)
    return None


def _series_local_start(start: str | datetime, tz_name: str, fold: Fold | None) -> datetime:
    """A new series' `local_start`: the naive local time of `start` read as `plan_post`
    reads its time, marked (`_LATER_START`) when it is the second of two equal times."""
    local = _when(start, tz_name, fold).astimezone(zone(tz_name))
    naive = local.replace(tzinfo=None, microsecond=0, fold=0)
    if local.fold and local.utcoffset() != local.replace(fold=0).utcoffset():
        return naive.replace(microsecond=_LATER_START)
    return naive


_RULE_PART = re.compile(r"[A-Z]+=[^=\s]+")


def _rule_part_problem(text: str) -> Message | None:
    """The first part of normalised rule text that is not NAME=VALUE, names no RRULE part,
    or has a weekday, frequency or interval dateutil would refuse, said as such (dateutil
    would say 'not enough values to unpack' or "invalid 'BYDAY': MO,DI"); None when every
    part is well formed."""
    for part in text.split(";"):
        if not _RULE_PART.fullmatch(part):
            return Message(
                "rule_part_not_name_value",
                "the rule's part {part!r} is not NAME=VALUE (such as COUNT=6); separate "
                "the parts with ';', without spaces",
                part=part,
            )
        name, value = part.split("=", 1)
        if name not in _RULE_NAMES:
            return Message(
                "rule_unknown_part",
                "a recurrence rule has no part {name}; use FREQ, COUNT, UNTIL, INTERVAL, "
                "BYDAY, BYMONTHDAY, BYMONTH, BYHOUR, BYMINUTE, BYSETPOS or WKST",
                name=name,
            )
        if name in ("BYDAY", "BYWEEKDAY", "WKST"):
            pattern = _WEEKDAY if name != "WKST" else _PLAIN_WEEKDAY
            for day in value.split(","):
                if not pattern.fullmatch(day):
                    return Message(
                        "rule_unknown_weekday",
                        "{day} in {name} is not a weekday; use MO TU WE TH FR SA SU",
                        day=echoed(day),
                        name=name,
                    )
        if name == "FREQ" and value not in _FREQS:
            return Message(
                "rule_unknown_freq",
                "FREQ={freq} is no frequency; use DAILY, WEEKLY, MONTHLY or YEARLY",
                freq=echoed(value),
            )
        if name == "INTERVAL" and not (value.isascii() and value.isdigit() and int(value) >= 1):
            return Message(
                "rule_interval_below_one",
                "INTERVAL={interval} is not a whole number of 1 or more (INTERVAL=2 is "
                "every second time)",
                interval=echoed(value),
            )
        if name == "COUNT" and not (value.isascii() and value.isdigit()):
            return Message(
                "rule_bad_value",
                "{name}={value} is not a value the rule's part {name} takes",
                name=name,
                value=echoed(value),
            )
    return None


# The parts dateutil reads (BYWEEKDAY is its name for BYDAY, BYEASTER its own part).
_RULE_NAMES = frozenset(
    {
        "FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYSETPOS", "BYMONTH", "BYMONTHDAY",
        "BYYEARDAY", "BYEASTER", "BYWEEKNO", "BYWEEKDAY", "BYDAY", "BYHOUR", "BYMINUTE",
        "BYSECOND",
    }
)  # fmt: skip
_FREQS = frozenset({"YEARLY", "MONTHLY", "WEEKLY", "DAILY", *_SUB_DAILY})
_PLAIN_WEEKDAY = re.compile(r"MO|TU|WE|TH|FR|SA|SU")
_WEEKDAY = re.compile(r"[+-]?[0-9]{0,2}(?:MO|TU|WE|TH|FR|SA|SU)")
_INVALID_VALUE = re.compile(r"invalid '([A-Z]+)': (.*)", re.DOTALL)


def _dateutil_problem(text: str, err: Exception) -> Message:
    """A rule dateutil refused, said in the rule's own terms where its error is one known
    here; its own (English) text only as a last resort."""
    if isinstance(err, TypeError) and "FREQ=" not in text:
        return Message(
            "rule_without_freq",
            "a rule needs a frequency: start it with FREQ=WEEKLY (or DAILY, MONTHLY, YEARLY)",
        )
    found = _INVALID_VALUE.fullmatch(str(err))
    if found is not None:
        value = found.group(2)
        return Message(
            "rule_bad_value",
            "{name}={value} is not a value the rule's part {name} takes",
            name=found.group(1),
            value=echoed(value),
        )
    return Message("bad_rule", "not a valid recurrence rule: {detail}", detail=str(err))


def _series_content_findings(
    session: Session, actor: User, piece: Piece, channel: Channel
) -> list[rule_checks.RuleFinding]:
    """What the content rules find in a piece planned as a series on `channel`, checked as
    planning one post checks it. Its times are each post's own: an occurrence a time rule
    refuses is kept, and the engine holds it until allowed (`slots.series_rule_holds`)."""
    if not rule_checks.content_settled(piece):
        return []
    return rule_checks.piece_findings(session, actor=actor, piece=piece, channels=[channel])


@dataclass(frozen=True)
class SeriesSummary:
    """A recurring series as its list shows it: what it plans, where, and how far it got.

    `running`: not ended (more to plan from it, or a post of it may still go out);
    `waiting`: its posts that may still go out; `published`: those that went out;
    `next_at`: the time of the next post planned (None when none is)."""

    series: Series
    piece_title: str
    channel_name: str
    running: bool
    waiting: int
    published: int
    next_at: datetime | None


# Posts that may still go out.
_MAY_GO_OUT = workflow.leading_to("post", PostStatus.published)


def _listed_series(actor: User, *what: Any, ended: bool, piece_id: int | None) -> Any:
    """`what` of the series `list_series` and `count_series` take (see there)."""
    require(actor, "view_pieces")
    query = select(*what)
    if not ended:
        query = query.where(_running())
    if piece_id is not None:
        query = query.where(Series.piece_id == piece_id)
    return query


def _open_post() -> Any:
    return col(Post.status).in_(_MAY_GO_OUT)


def _running() -> ColumnElement[bool]:
    """A series not ended: active, with more to plan or a post that may still go out."""
    posts_left = select(Post.id).where(Post.series_id == Series.id, _open_post()).exists()
    return and_(col(Series.active).is_(True), or_(col(Series.complete).is_(False), posts_left))


def count_series(
    session: Session, *, actor: User, ended: bool = False, piece_id: int | None = None
) -> int:
    """How many series `list_series` lists with the same choices, all pages together."""
    query = _listed_series(actor, func.count(col(Series.id)), ended=ended, piece_id=piece_id)
    return int(session.exec(query).one())


def list_series(
    session: Session,
    *,
    actor: User,
    ended: bool = False,
    piece_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[SeriesSummary]:
    """The recurring series, newest first, for those who may see pieces (as the calendar):
    those still running, or with `ended` those ended too (cancelled, or every occurrence
    planned and none of its posts left to go out); a page of them with `limit` and
    `offset` (`count_series` counts them all)."""
    query = (
        _listed_series(
            actor,
            Series,
            Piece.title,
            Channel.name,
            _running().label("running"),
            ended=ended,
            piece_id=piece_id,
        )
        .join(Piece, col(Piece.id) == Series.piece_id)
        .join(Channel, col(Channel.id) == Series.channel_id)
    )
    # As stored now: a series ended by `cancel_series` (a Core UPDATE) in this session too.
    query = query.execution_options(populate_existing=True)
    found = session.exec(paged(query.order_by(col(Series.id).desc()), limit, offset)).all()
    ids = [series.id for series, *_rest in found]
    counts: dict[int | None, tuple[int, int, datetime | None]] = {
        series_id: (int(waiting or 0), int(published or 0), next_at)
        for series_id, waiting, published, next_at in session.exec(
            select(
                Post.series_id,
                func.sum(case((_open_post(), 1), else_=0)),
                func.sum(case((col(Post.status) == PostStatus.published, 1), else_=0)),
                func.min(case((col(Post.status) == PostStatus.planned, Post.publish_at))),
            )
            .where(col(Post.series_id).in_(ids))
            .group_by(col(Post.series_id))
        )
    }
    return [
        SeriesSummary(series, title, name, bool(running), *counts.get(series.id, (0, 0, None)))
        for series, title, name, running in found
    ]


@dataclass(frozen=True)
class CancelledSeries:
    """What `cancel_series` did, by post id: the posts it cancelled, and among them those
    that were being sent (each goes out only if its request had begun already, and is
    then recorded as published after all, as with `cancel_post`)."""

    series_id: int
    cancelled: list[int]
    in_flight: list[int]


def cancel_series(
    session: Session, *, actor: User, series_id: int, reason: str = ""
) -> CancelledSeries:
    """End a recurring series: no post is planned from it any more, and every post of it
    that has not gone out is cancelled as `cancel_post` cancels one, all in one
    transaction (a post being sent included: unless its request has begun, the worker
    does not send it). Posts that went out stay on record. A series that has ended
    already (ended, or complete with none of its posts left to cancel) is refused."""
    workflow.check_role("post", "cancel", actor)
    series = session.get(Series, series_id, populate_existing=True)
    visible = visible_piece_ids(session, actor=actor)
    if series is None or (visible is not None and series.piece_id not in visible):
        raise NotFound("series", series_id)
    piece_id, by, by_id = series.piece_id, actor.username, actor.id  # commit expires them
    complete = series.complete
    ended_already = ValidationFailed(
        {"series": Message("series_ended", "series #{id} has ended already", id=series_id)}
    )
    cancelled: list[int] = []
    in_flight: list[int] = []
    with all_or_nothing(session):
        ended = session.connection().execute(
            update(Series)
            .where(col(Series.id) == series_id, col(Series.active).is_(True))
            .values(active=False)
        )
        if not ended.rowcount:
            raise ended_already
        # Read after the series' row is taken (the posts a sweep planned meanwhile too),
        # and each row locked, in the order of their ids: a worker claiming one now waits
        # for this cancel.
        posts = session.exec(
            select(Post)
            .where(Post.series_id == series_id, col(Post.status) != PostStatus.cancelled)
            .order_by(col(Post.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        for post in sorted(posts, key=lambda p: (p.publish_at, p.id or 0)):
            assert post.id is not None
            if "cancel" not in workflow.allowed_actions("post", post.status):
                continue  # went out
            if post.status == PostStatus.publishing:
                in_flight.append(post.id)
            workflow.apply_post(
                session,
                post=post,
                action="cancel",
                actor=actor,
                note=reason,
                effect=partial(_release, post),
                commit=False,
            )
            cancelled.append(post.id)
        if complete and not cancelled:
            raise ended_already  # every occurrence planned, and all of them out
        audit.record(
            session,
            actor=actor,
            object_type="series",
            object_id=series_id,
            action="cancel",
            note=reason,
        )
    # The piece may be finished now: no series continues, its other posts are out.
    finishing.finish_after_change(session, piece_id, by=by, by_id=by_id)
    return CancelledSeries(series_id=series_id, cancelled=cancelled, in_flight=in_flight)


def _release(post: Post) -> None:
    """A cancelled post is no worker's any more."""
    post.claimed_by = None
    post.lease_until = None
    post.next_attempt_at = None


def _has_slot_plan(session: Session, channel: Channel) -> bool:
    query = select(PublishingSlot.weekday).where(PublishingSlot.channel_id == channel.id)
    return session.exec(query.limit(1)).first() is not None


def slot_window(series: Series, at: datetime) -> datetime:
    """Where the slot window of the series' occurrence `at` ends (`slots.place_series_posts`):
    at the next occurrence; after the last one, as long after it as the one before it was
    (in wall-clock time, so a DST change does not stretch it), or a week after a single one."""
    z = zone(series.timezone)
    rule = _series_rule(series)
    following: datetime | None = rule.after(at, inc=False)
    if following is not None:
        return following.astimezone(UTC)
    before: datetime | None = rule.before(at, inc=False)
    local = at.astimezone(z).replace(tzinfo=None)
    gap = timedelta(weeks=1) if before is None else local - before.replace(tzinfo=None)
    return (local + gap).replace(tzinfo=z).astimezone(UTC)


def _first_occurrence(series: Series, start: datetime, now: datetime) -> datetime:
    """Where planning a series begins: at `start`; for a series in slots planned for the
    first time, at the occurrence before `start` whose slot window is still open (a weekly
    series created on a Wednesday still gets this week's Thursday slot)."""
    if not series.in_slots or series.materialized_until is not None:
        return start
    before: datetime | None = _series_rule(series).before(start, inc=False)
    if before is None or slot_window(series, before.astimezone(UTC)) <= now:
        return start
    return before.astimezone(UTC)


def _all_passed(series: Series, now: datetime) -> Message | None:
    """Why a new series would plan nothing: every occurrence lies before `now` (and, in
    slots, the last one's slot window has closed); None when one is still ahead. Those
    before `now` are never planned, as a single post in the past is refused."""
    rule = _series_rule(series)
    if rule.after(now, inc=True) is not None:
        return None
    last: datetime | None = rule.before(now, inc=False)
    if last is None:
        return None  # no occurrence at all: the rule's own check says so
    if series.in_slots and slot_window(series, last.astimezone(UTC)) > now:
        return None
    return Message(
        "series_all_past",
        "every time of this series is in the past (the last: {when:%Y-%m-%d %H:%M}); "
        "start it later",
        when=last,
    )


def _planned_all(series: Series, until: datetime) -> bool:
    """Whether the rule has no occurrence after `until`: planned that far, it is complete."""
    return _series_rule(series).after(until, inc=False) is None


def _still_active(session: Session, series: Series, until: datetime) -> bool:
    """Take the series' row for this sweep, if it is still active, not complete and not
    planned far enough yet, setting how far it is planned: `cancel_series` changes the same
    row, so it waits for the sweep's posts and cancels them too, or the sweep waits for it
    and plans nothing; a second sweep waits for the first and then finds nothing to do."""
    planned = col(Series.materialized_until)
    taken = session.connection().execute(
        update(Series)
        .where(
            col(Series.id) == series.id,
            col(Series.active).is_(True),
            col(Series.complete).is_(False),
            or_(planned.is_(None), planned < until - MATERIALIZE_SLACK),
        )
        .values(materialized_until=until)
    )
    return bool(taken.rowcount)


def materialize_series(
    session: Session,
    *,
    now: datetime | None = None,
    horizon: timedelta = SERIES_HORIZON,
    series_ids: list[int | None] | None = None,
    tell: bool = True,
) -> int:
    """Create the posts of active series up to `now + horizon`; safe to run repeatedly
    (none for a series whose piece is archived).

    A series in slots has each new occurrence placed by `slots.place_series_posts`; one
    without a free slot keeps its own time and, with `tell`, whoever planned the series and
    the piece's owner are notified of it (creating a series names them to its creator).
    A new post less than `SAME_POST_WINDOW` from another post of its piece on its channel
    is left out (it would send the same text twice), and they are told of that too."""
    from planner import slots  # slots builds on this module

    now = now or utcnow()
    until = now + horizon
    query = select(Series).where(
        col(Series.active).is_(True),
        col(Series.complete).is_(False),
        # An archived piece is planned no further (its posts would all be held, then
        # missed); reopened, its series goes on.
        col(Series.piece_id).in_(select(Piece.id).where(Piece.status != PieceStatus.archived)),
        # The scheduler calls this every sweep: only series whose window needs extending.
        or_(
            col(Series.materialized_until).is_(None),
            col(Series.materialized_until) < until - MATERIALIZE_SLACK,
        ),
    )
    if series_ids is not None:
        query = query.where(col(Series.id).in_(series_ids))
    # By channel: series in slots hold their channels' queues in the order of their ids,
    # as imports do, so that two sweeps never wait for each other crosswise.
    # Read afresh: a series' row held from an earlier sweep in this session would plan from
    # where that sweep began (and leave out, and tell of, the same time twice).
    query = query.order_by(col(Series.channel_id), col(Series.id)).execution_options(
        populate_existing=True
    )
    made: list[Post] = []
    unplaced: list[Post] = []
    left_out: list[tuple[Post, Post]] = []
    try:
        for series in session.exec(query).all():
            if series.in_slots:
                # Before the series' row and before reading what is planned: a second
                # sweep at the same time waits here until the first has committed, then
                # finds its posts. Channel first, then series, in every transaction.
                slots.hold_for_series(session, series)
            if not _still_active(session, series, until):
                continue  # cancelled, or planned by another sweep, since the query above
            start = _first_occurrence(series, max(now, series.materialized_until or now), now)
            existing = set(
                session.exec(
                    select(Post.occurrence_at).where(
                        Post.series_id == series.id, col(Post.occurrence_at) >= start
                    )
                )
            )
            new = [i for i in occurrences(series, start, until) if i not in existing]
            placed = (
                slots.place_series_posts(session, series, new, now=now) if series.in_slots else {}
            )
            for instant in new:
                if instant < now and instant not in placed:
                    continue  # gone by, and no slot left in its window
                post = Post(
                    piece_id=series.piece_id,
                    channel_id=series.channel_id,
                    series_id=series.id,
                    occurrence_at=instant,
                    publish_at=placed.get(instant, instant),
                    timezone=series.timezone,
                    created_by_id=series.created_by_id,
                )
                session.add(post)
                made.append(post)
                if series.in_slots and instant not in placed:
                    unplaced.append(post)
            if _planned_all(series, until):
                session.connection().execute(
                    update(Series).where(col(Series.id) == series.id).values(complete=True)
                )
        session.flush()
        left_out = _leave_out_same_posts(session, made)
        if left_out:
            notifications.series_posts_left_out(session.connection(), left_out)
        unplaced = [post for post in unplaced if all(post is not gone for gone, _ in left_out)]
        if unplaced and tell:
            notifications.series_posts_unplaced(session.connection(), unplaced)
        session.commit()
    except IntegrityError:
        # A sweep takes each series' row before planning it, so another sweep cannot have
        # planned the same posts: this is a fault, to be seen; the next sweep tries again.
        session.rollback()
        log.exception("planning the posts of recurring series failed; nothing was stored")
        return 0
    return len(made) - len(left_out)


def _leave_out_same_posts(session: Session, made: list[Post]) -> list[tuple[Post, Post]]:
    """Delete the new series posts `made` (flushed) that are less than `SAME_POST_WINDOW`
    from another post of their piece on their channel (a one-off, a post of another series,
    an earlier one of these): each would send the same text twice. The earliest of new
    posts next to each other stays. Returns each post left out with the post it was next to.

    Takes the audit chain's lock first (after the series' rows): a person planning or
    moving a post of the piece at the same moment checks under it too, so one of the two
    sees the other's post."""
    if not made:
        return []
    audit.lock_chain(session.connection())
    unvetted = {post.id for post in made if post.id is not None}
    left_out: list[tuple[Post, Post]] = []
    for post in sorted(made, key=lambda p: (p.publish_at, p.id or 0)):
        assert post.id is not None  # flushed
        unvetted.discard(post.id)
        gone = {other.id for other, _ in left_out if other.id is not None}
        nearby = same_post_nearby(
            session,
            piece_id=post.piece_id,
            channel_id=post.channel_id,
            at=post.publish_at,
            exclude={post.id, *unvetted, *gone},
        )
        if nearby is not None:
            left_out.append((post, nearby))
    for post, _ in left_out:
        session.delete(post)
    session.flush()
    return left_out
