"""What published posts achieved: engagement over time, top pieces, the best times to
publish per channel, and the reach of ideas and departments.

- A post's figures at an instant are those of its latest metric snapshot collected at or
  before that instant (the counts are cumulative); a post without one has no figures yet.
- Engagement = reactions + reposts + replies + link clicks, a figure the network does not
  give counting as 0 (plus the clicks on the planner's own tracked links, counted up to
  now: `tracked_link_clicks`).
  Impressions are summed only where the network gives them.
- A post counts at its publishing time (`publish_at`: the scheduler sends it then) and
  only once published.
- Days, weeks (Monday first), months and the best-time grid (weekday x hour) are those
  of the organisation's time zone: a post at 09:00 Berlin time is in the 09:00 cell in
  winter and in summer.
- Who sees what is the dashboard's rule: editors, approvers and admins everything; a
  contributor the totals of their own department and the pieces of their own ideas.

Everything is aggregated in SQL; Python only rolls days up into weeks or months and turns
weekday-hour cells into times.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any, Literal, TypedDict, Unpack

from dateutil import tz as dateutil_tz
from sqlalchemy import BigInteger, case, cast, func, true
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from planner import csvio, slots
from planner.channels import get_channel
from planner.db import where_equal, where_within
from planner.errors import Message, ValidationFailed
from planner.models import (
    Audience,
    Channel,
    Department,
    Idea,
    LatestMetrics,
    MetricSnapshot,
    Piece,
    Post,
    PostStatus,
    TrackedLink,
    User,
    utcnow,
)
from planner.permissions import can, require, require_active
from planner.timezones import zone

Dimension = Literal["channel", "department", "audience", "campaign"]
Period = Literal["day", "week", "month"]
DIMENSIONS: tuple[Dimension, ...] = ("channel", "department", "audience", "campaign")
PERIODS: tuple[Period, ...] = ("day", "week", "month")
# A best-time cell with fewer posts than this is thin: shown, marked, never suggested.
MIN_POSTS = 3
# How far back `suggest_times` looks for the company's own history.
HISTORY = timedelta(days=365)
# How far ahead suggestions from the slot plan look.
SLOT_HORIZON = timedelta(weeks=2)
TOP_LIMIT = 10
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday 0)


class Scope(TypedDict, total=False):
    """Which published posts a figure counts (every one given must hold)."""

    channel_id: int | None
    department_id: int | None
    audience_id: int | None
    campaign: str | None


@dataclass(frozen=True)
class Figures:
    """What a group of posts achieved: `posts` published, `measured` of them with figures;
    impressions None where no post of the group has that figure."""

    posts: int = 0
    measured: int = 0
    impressions: int | None = None
    reactions: int = 0
    reposts: int = 0
    replies: int = 0
    link_clicks: int = 0
    engagement: int = 0

    def __add__(self, other: Figures) -> Figures:
        impressions = (
            None
            if self.impressions is None and other.impressions is None
            else (self.impressions or 0) + (other.impressions or 0)
        )
        return Figures(
            self.posts + other.posts,
            self.measured + other.measured,
            impressions,
            self.reactions + other.reactions,
            self.reposts + other.reposts,
            self.replies + other.replies,
            self.link_clicks + other.link_clicks,
            self.engagement + other.engagement,
        )


@dataclass(frozen=True)
class Point:
    """One group's figures in one period (`start`: the period's first day, local)."""

    start: date
    group: str
    figures: Figures


@dataclass(frozen=True)
class EngagementReport:
    """Engagement over time: one point per period and group that has posts."""

    since: datetime
    until: datetime
    timezone: str
    by: Dimension
    period: Period
    points: list[Point]
    totals: Figures
    # True when the actor sees their own department's figures only.
    department_only: bool = False


@dataclass(frozen=True)
class ChannelFigures:
    """One piece's figures on one channel."""

    channel: str
    figures: Figures


@dataclass(frozen=True)
class TopPiece:
    """A piece among the most engaging, with its figures per channel."""

    piece_id: int
    title: str
    campaign: str
    department: str
    figures: Figures
    channels: list[ChannelFigures] = field(default_factory=list)


@dataclass(frozen=True)
class Cell:
    """One weekday-hour cell of a channel's history (local time): posts published in it,
    and their mean engagement; `thin` when too few posts to go by."""

    weekday: int
    hour: int
    posts: int
    mean_engagement: float
    thin: bool


@dataclass(frozen=True)
class BestTimes:
    """A channel's best-time grid over a period: only the cells that have posts."""

    channel: str
    timezone: str
    since: datetime
    until: datetime
    cells: list[Cell]


@dataclass(frozen=True)
class SuggestedTime:
    """An upcoming time to publish, and why: `basis` "history" (its cell's mean engagement
    over `posts` posts) or "slots" (the channel's publishing slot plan)."""

    at: datetime
    basis: Literal["history", "slots"]
    posts: int = 0
    mean_engagement: float | None = None


@dataclass(frozen=True)
class Suggestions:
    """What `suggest_times` found; `basis` "none" when neither history nor slots help."""

    channel: str
    basis: Literal["history", "slots", "none"]
    times: list[SuggestedTime]


@dataclass(frozen=True)
class Reach:
    """What an idea (or a department's ideas) achieved through the posts of its piece."""

    posts: int = 0
    measured: int = 0
    impressions: int | None = None
    engagement: int = 0


@dataclass(frozen=True)
class DepartmentReach:
    """A department's ideas and what their published posts achieved."""

    department: str
    ideas: int
    reach: Reach
    department_id: int


@dataclass(frozen=True)
class FilterChoices:
    """What the filters of the Analytics page offer the actor, by id (campaigns by name)."""

    channels: dict[int, str]
    departments: dict[int, str]
    audiences: dict[int, str]
    campaigns: list[str]


# --- the SQL pieces every figure shares ----------------------------------------------------


def tracked_link_clicks(post_id: Any) -> ColumnElement[int]:
    """Clicks on the planner's own tracked links of a post (`planner.tracked_links`), added
    to its link clicks and engagement. They are counted as they come, not snapshotted, so
    a period's figures hold the clicks until now."""
    return (
        select(func.coalesce(func.sum(TrackedLink.clicks), 0))
        .where(col(TrackedLink.post_id) == post_id)
        .correlate(Post)
        .scalar_subquery()
    )


def _latest_snapshot(as_of: datetime) -> Any:
    """The id of a post's latest snapshot at or before `as_of` (correlated to the post:
    one index seek per post on (post_id, collected_at))."""
    return (
        select(MetricSnapshot.id)
        .where(
            MetricSnapshot.post_id == Post.id,
            col(MetricSnapshot.collected_at) <= as_of,
        )
        .order_by(col(MetricSnapshot.collected_at).desc(), col(MetricSnapshot.id).desc())
        .limit(1)
        .correlate(Post)
        .scalar_subquery()
    )


def _count(column: Any) -> ColumnElement[int]:
    return func.coalesce(column, 0)


def _newest_collection(session: Session) -> datetime | None:
    """When the newest snapshot of all was collected (None: there is none yet): an index
    seek on the kept latest figures, which hold every post's newest snapshot."""
    newest: datetime | None = session.exec(select(func.max(LatestMetrics.collected_at))).one()
    return newest


def _latest(session: Session, as_of: datetime) -> _Latest:
    """Each post's latest snapshot at or before `as_of`, to outer-join to the posts.

    When no snapshot was collected after `as_of` (the page's normal case: figures as of
    now), that is the post's newest snapshot, which `latest_metrics` keeps: one row per
    post, joined by its key. Otherwise each post's snapshots are searched: a LATERAL
    subquery on PostgreSQL (its planner would otherwise hash every snapshot), the
    correlated id lookup on SQLite (which has no LATERAL)."""
    newest = _newest_collection(session)
    if newest is None or newest <= as_of:
        kept = aliased(LatestMetrics, name="latest")
        return _Latest(kept, kept.post_id == Post.id, kept.snapshot_id)
    if session.get_bind().dialect.name == "postgresql":
        lateral = (
            select(MetricSnapshot)
            .where(
                MetricSnapshot.post_id == Post.id,
                col(MetricSnapshot.collected_at) <= as_of,
            )
            .order_by(col(MetricSnapshot.collected_at).desc(), col(MetricSnapshot.id).desc())
            .limit(1)
            .lateral("latest")
        )
        found = aliased(MetricSnapshot, lateral)
        return _Latest(found, true(), found.id)
    entity = aliased(MetricSnapshot, name="latest")
    return _Latest(entity, entity.id == _latest_snapshot(as_of), entity.id)


@dataclass(frozen=True)
class _Latest:
    """The latest snapshot as a joinable entity (`m`, with the five counts), the condition
    joining it, and a column of it that is NULL exactly when a post has no figures."""

    m: Any
    onclause: Any
    measured: Any


def _link_clicks(m: Any) -> ColumnElement[int]:
    return _count(m.link_clicks) + tracked_link_clicks(col(Post.id))


def _engagement(m: Any) -> ColumnElement[int]:
    """A post's engagement (0 for a post without figures)."""
    return _count(m.reactions) + _count(m.reposts) + _count(m.replies) + _link_clicks(m)


def _figure_columns(latest: _Latest) -> list[Any]:
    # A post without a snapshot adds 0 to every count (coalesce), but its tracked-link
    # clicks, which the planner counts itself, still count. The engagement is the sum of
    # the four sums (`_figures`): summed per row in SQL, it would look up each post's
    # tracked links a second time.
    m = latest.m
    return [
        func.count(col(Post.id)),
        func.count(latest.measured),
        func.sum(m.impressions),
        func.sum(_count(m.reactions)),
        func.sum(_count(m.reposts)),
        func.sum(_count(m.replies)),
        func.sum(_link_clicks(m)),
    ]


def _figures(row: Sequence[Any]) -> Figures:
    posts, measured, impressions, reactions, reposts, replies, clicks = (
        None if value is None else int(value) for value in row
    )
    counts = (reactions or 0, reposts or 0, replies or 0, clicks or 0)
    return Figures(posts or 0, measured or 0, impressions, *counts, sum(counts))


def _audience_id() -> Any:
    """A post's audience: its piece's, as the calendar, the board and the rules see it.

    A piece takes its idea's audience when it is made and keeps its own from then on: an
    editor who clears or changes it overrules the idea."""
    return col(Piece.audience_id)


def _published(
    query: Any,
    latest: _Latest,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    pieces: bool = True,
) -> Any:
    """`query` over the posts published in [since, until) (each bound optional), with
    their latest snapshots (`latest`) and (with `pieces`) their pieces and ideas (outer
    joins: a piece without an idea, a post without figures)."""
    query = query.select_from(Post)
    if pieces:
        # Only when a figure needs them: two lookups per post are most of a query's time.
        query = query.join(Piece, col(Piece.id) == col(Post.piece_id)).outerjoin(
            Idea, col(Idea.id) == col(Piece.idea_id)
        )
    query = query.outerjoin(latest.m, latest.onclause)
    query = query.where(Post.status == PostStatus.published)
    return where_within(query, Post.publish_at, since, until)


def _needs_pieces(actor: User, scope: Scope) -> bool:
    """Whether the actor's visibility or the scope need the posts' pieces and ideas."""
    narrowed = any(scope.get(k) is not None for k in ("department_id", "audience_id", "campaign"))
    return narrowed or _department_only(actor)


def _scoped(query: Any, scope: Scope) -> Any:
    return where_equal(
        query,
        (Post.channel_id, scope.get("channel_id")),
        (Idea.department_id, scope.get("department_id")),
        (_audience_id(), scope.get("audience_id")),
        (Piece.campaign, scope.get("campaign")),
    )


def _department_only(actor: User) -> bool:
    """Whether the actor sees their own department's figures only (contributors)."""
    require_active(actor)
    return not can(actor, "see_all_departments")


def sees_own_department_only(actor: User) -> bool:
    """Whether the actor sees their own department's totals and own ideas' pieces only."""
    return _department_only(actor)


def _visible_totals(query: Any, actor: User) -> Any:
    if _department_only(actor):
        return query.where(Idea.department_id == actor.department_id)
    return query


def _visible_pieces(query: Any, actor: User) -> Any:
    if _department_only(actor):
        return query.where(Idea.submitted_by_id == actor.id)
    return query


def _check_period(since: datetime, until: datetime) -> None:
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("give aware datetimes for a period")
    if since >= until:
        raise ValidationFailed(
            {
                "period": Message(
                    "bad_period",
                    "the period must end after it begins: {since} to {until}",
                    since=since.isoformat(),
                    until=until.isoformat(),
                )
            }
        )


def _as_of(until: datetime, as_of: datetime | None) -> datetime:
    """Figures are read as of the period's end, or now if that is earlier."""
    return min(until, as_of or utcnow())


# --- local time in SQL ----------------------------------------------------------------------


def _offsets(tz_name: str, since: datetime, until: datetime) -> list[tuple[int, int]]:
    """The zone's UTC offsets over [since, until): (from epoch second, offset seconds),
    the first from the beginning of time; found day by day, then to the second."""
    z = zone(tz_name)

    def offset(at: datetime) -> int:
        shift = at.astimezone(z).utcoffset()
        return int(shift.total_seconds()) if shift is not None else 0

    found = [(-(2**62), offset(since))]
    day = since
    while day < until:
        nxt = min(day + timedelta(days=1), until)
        if offset(nxt) != found[-1][1]:
            low, high = day, nxt  # the change lies in (low, high]
            while high - low > timedelta(seconds=1):
                mid = low + (high - low) / 2
                low, high = (mid, high) if offset(mid) == found[-1][1] else (low, mid)
            found.append((int(high.timestamp()), offset(high)))
        day = nxt
    return found


def _epoch(session: Session, column: Any) -> ColumnElement[int]:
    """Seconds since 1970 (UTC) of a stored instant, in this database's SQL."""
    if session.get_bind().dialect.name == "sqlite":
        # Stored as UTC text; the fraction is dropped (truncated, as PostgreSQL's floor
        # below). unixepoch() (SQLite 3.38 and later) takes a third less time per row than
        # formatting with strftime and reading the text back.
        if sqlite3.sqlite_version_info >= (3, 38, 0):
            return func.unixepoch(column)
        return cast(func.strftime("%s", func.substr(column, 1, 19)), BigInteger)
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def _published_span(
    session: Session, since: datetime, until: datetime
) -> tuple[datetime, datetime] | None:
    """The first and the last `publish_at` of the published posts in [since, until), or
    None when there is none (two index lookups)."""

    def bound(aggregate: Any) -> Any:
        query = select(aggregate(Post.publish_at)).where(Post.status == PostStatus.published)
        return where_within(query, Post.publish_at, since, until).scalar_subquery()

    first, last = session.exec(select(bound(func.min), bound(func.max))).one()
    if first is None or last is None:
        return None
    return first, last


def _local_publish_seconds(session: Session, tz_name: str, since: datetime, until: datetime) -> Any:
    """A published post's `publish_at` as wall-clock time in `tz_name`, in seconds since
    1970-01-01 00:00 local, for the posts published in [since, until).

    The zone's offsets are looked up over the time the posts of the period span only: a
    period from the year 2 to 9998 (the command line takes any) costs what its posts do."""
    epoch = _epoch(session, Post.publish_at)
    # Without a post in the period the query finds nothing: any offset will do.
    first, last = _published_span(session, since, until) or (since, since)
    offsets = _offsets(tz_name, first, last + timedelta(seconds=1))
    if len(offsets) == 1:
        return epoch + offsets[0][1]
    shift = case(
        *((epoch < start, prev) for (_, prev), (start, _) in itertools.pairwise(offsets)),
        else_=offsets[-1][1],
    )
    return epoch + shift


# --- engagement over time ----------------------------------------------------------------


def _dimension(by: Dimension) -> Any:
    """The column a report groups by: an id (named afterwards) or the campaign."""
    if by == "channel":
        return col(Post.channel_id)
    if by == "department":
        return col(Idea.department_id)
    if by == "audience":
        return _audience_id()
    return col(Piece.campaign)


def _names(session: Session, by: Dimension) -> dict[Any, str]:
    """The names of the groups of `by` by what `_dimension` gives (no group: "")."""
    table: Any = {"channel": Channel, "department": Department, "audience": Audience}.get(by)
    if table is None:
        return {}
    return {i: name for i, name in session.exec(select(table.id, table.name))}


def _period_start(day: date, period: Period) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def _check_choice(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValidationFailed(
            {
                what: Message(
                    "bad_choice",
                    "{value!r} is not one of: {allowed}",
                    value=value,
                    allowed=", ".join(allowed),
                )
            }
        )


def engagement_over_time(
    session: Session,
    *,
    actor: User,
    since: datetime,
    until: datetime,
    by: Dimension = "channel",
    period: Period = "week",
    as_of: datetime | None = None,
    **scope: Unpack[Scope],
) -> EngagementReport:
    """Engagement of the posts published in [since, until) per period and group."""
    _check_choice(by, DIMENSIONS, "by")
    _check_choice(period, PERIODS, "period")
    _check_period(since, until)
    tz_name = slots.org_timezone(session)
    day = _local_publish_seconds(session, tz_name, since, until) // 86400
    group = _dimension(by)
    pieces = by != "channel" or _needs_pieces(actor, scope)
    latest = _latest(session, _as_of(until, as_of))
    query = _published(
        select(day, group, *_figure_columns(latest)), latest, since, until, pieces=pieces
    )
    query = _scoped(query, scope)
    query = (_visible_totals(query, actor) if pieces else query).group_by(day, group)
    names = _names(session, by)
    epoch_day = date(1970, 1, 1)
    merged: dict[tuple[date, str], Figures] = {}
    for row in session.exec(query):
        start = _period_start(epoch_day + timedelta(days=int(row[0])), period)
        key = (start, names.get(row[1], "") if names else row[1] or "")
        merged[key] = merged.get(key, Figures()) + _figures(row[2:])
    points = [Point(start, name, figures) for (start, name), figures in sorted(merged.items())]
    totals = sum((p.figures for p in points), Figures())
    return EngagementReport(
        since=since,
        until=until,
        timezone=tz_name,
        by=by,
        period=period,
        points=points,
        totals=totals,
        department_only=_department_only(actor),
    )


ENGAGEMENT_COLUMNS = (
    "period_start",
    "group",
    "posts",
    "measured",
    "impressions",
    "reactions",
    "reposts",
    "replies",
    "link_clicks",
    "engagement",
)


def engagement_rows(report: EngagementReport) -> list[dict[str, Any]]:
    """The report's points as plain rows (the table behind the charts)."""
    return [
        {
            "period_start": p.start.isoformat(),
            "group": p.group,
            "posts": p.figures.posts,
            "measured": p.figures.measured,
            "impressions": p.figures.impressions,
            "reactions": p.figures.reactions,
            "reposts": p.figures.reposts,
            "replies": p.figures.replies,
            "link_clicks": p.figures.link_clicks,
            "engagement": p.figures.engagement,
        }
        for p in report.points
    ]


def engagement_csv(
    report: EngagementReport, out: IO[str], *, fmt: csvio.CsvFormat = csvio.COMMA
) -> int:
    """Write the report's rows as CSV in `fmt` (byte order mark and header first; unknown
    impressions empty; a name that looks like a formula kept from running); returns the
    number of rows written."""
    header = [*ENGAGEMENT_COLUMNS[:1], report.by, *ENGAGEMENT_COLUMNS[2:]]
    writer = fmt.start(out, header, lineterminator="\n")
    rows = engagement_rows(report)
    for row in rows:
        writer.writerow(["" if row[c] is None else fmt.cell(row[c]) for c in ENGAGEMENT_COLUMNS])
    return len(rows)


def _piece_columns(latest: _Latest) -> list[Any]:
    return [
        col(Piece.id),
        col(Piece.title),
        col(Piece.campaign),
        func.coalesce(Department.name, ""),
        col(Channel.name),
        *_figure_columns(latest),
    ]


# --- top pieces ------------------------------------------------------------------------------


def top_pieces(
    session: Session,
    *,
    actor: User,
    since: datetime,
    until: datetime,
    limit: int = TOP_LIMIT,
    as_of: datetime | None = None,
    **scope: Unpack[Scope],
) -> list[TopPiece]:
    """The pieces whose posts of [since, until) engaged most, with a per-channel breakdown
    (contributors: the pieces of their own ideas)."""
    _check_period(since, until)
    latest = _latest(session, _as_of(until, as_of))
    m = latest.m
    engagement = func.sum(_engagement(m))
    pieces = _needs_pieces(actor, scope)
    ranked = _published(select(Post.piece_id), latest, since, until, pieces=pieces)
    ranked = _scoped(ranked, scope)
    ranked = _visible_pieces(ranked, actor) if pieces else ranked
    ranked = ranked.group_by(col(Post.piece_id)).order_by(engagement.desc(), col(Post.piece_id))
    ids = [int(piece_id) for piece_id in session.exec(ranked.limit(limit))]
    if not ids:
        return []
    rows = session.exec(
        _scoped(
            _published(select(*_piece_columns(latest)), latest, since, until)
            .join(Channel, col(Channel.id) == col(Post.channel_id))
            .outerjoin(Department, col(Department.id) == col(Idea.department_id))
            .where(col(Piece.id).in_(ids)),
            scope,
        ).group_by(
            col(Piece.id), col(Piece.title), col(Piece.campaign), Department.name, Channel.name
        )
    )
    found: dict[int, TopPiece] = {}
    for piece_id, title, campaign, department, channel, *figures in rows:
        shown = found.setdefault(
            piece_id, TopPiece(piece_id, title, campaign, department, Figures())
        )
        found[piece_id] = replace(
            shown,
            figures=shown.figures + _figures(figures),
            channels=[*shown.channels, ChannelFigures(channel, _figures(figures))],
        )
    return [
        replace(found[i], channels=sorted(found[i].channels, key=lambda c: -c.figures.engagement))
        for i in ids
        if i in found
    ]


# --- best times ----------------------------------------------------------------------------


def _cells(
    session: Session, actor: User, channel_id: int, since: datetime, until: datetime
) -> list[Cell]:
    tz_name = slots.org_timezone(session)
    local = _local_publish_seconds(session, tz_name, since, until)
    weekday = (local // 86400 + _EPOCH_WEEKDAY) % 7
    hour = (local % 86400) // 3600
    pieces = _department_only(actor)
    latest = _latest(session, _as_of(until, None))
    m = latest.m
    query = _published(
        select(weekday, hour, func.count(col(Post.id)), func.sum(_engagement(m))),
        latest,
        since,
        until,
        pieces=pieces,
    ).where(Post.channel_id == channel_id, latest.measured.is_not(None))
    query = (_visible_totals(query, actor) if pieces else query).group_by(weekday, hour)
    cells = [
        Cell(int(day), int(h), int(n), int(total or 0) / int(n), int(n) < MIN_POSTS)
        for day, h, n, total in session.exec(query)
    ]
    return sorted(cells, key=lambda c: (c.weekday, c.hour))


def best_times(
    session: Session,
    *,
    actor: User,
    channel: str | int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> BestTimes:
    """A channel's weekday-hour grid (organisation time): posts with figures published in
    each cell and their mean engagement (default: the last year); for those who plan or
    view pieces, as channel names are."""
    require(actor, "view_pieces")
    found = get_channel(session, channel)
    assert found.id is not None
    until = until or utcnow()
    since = since or until - HISTORY
    _check_period(since, until)
    return BestTimes(
        found.name,
        slots.org_timezone(session),
        since,
        until,
        _cells(session, actor, found.id, since, until),
    )


def _next_at(weekday: int, hour: int, after: datetime, tz_name: str) -> datetime | None:
    """The first local `weekday` `hour`:00 after `after`, as UTC (None in a DST gap week)."""
    z = zone(tz_name)
    local_day = after.astimezone(z).date()
    for ahead in range(0, 15):
        day = local_day + timedelta(days=ahead)
        if day.weekday() != weekday:
            continue
        local = datetime.combine(day, time(hour), tzinfo=z)
        if not dateutil_tz.datetime_exists(local):
            continue  # the spring gap: that hour does not happen this week
        instant = local.replace(fold=0).astimezone(UTC)
        if instant > after:
            return instant
    return None


def suggest_times(
    session: Session,
    *,
    actor: User,
    channel: str | int,
    after: datetime | None = None,
    n: int = 3,
) -> Suggestions:
    """The `n` best upcoming times to publish on a channel, best first: the next
    occurrences of its best weekday-hour cells of the last year (cells of `MIN_POSTS`
    posts or more); without such history, its next free publishing slots; else none."""
    require(actor, "view_pieces")
    if n < 1:
        raise ValidationFailed({"n": Message("bad_count", "ask for 1 or more times, not {n}", n=n)})
    found = get_channel(session, channel)
    assert found.id is not None
    start = after or utcnow()
    tz_name = slots.org_timezone(session)
    cells = [c for c in _cells(session, actor, found.id, start - HISTORY, start) if not c.thin]
    cells.sort(key=lambda c: (-c.mean_engagement, -c.posts, c.weekday, c.hour))
    times = []
    for c in cells:
        at = _next_at(c.weekday, c.hour, start, tz_name)
        if at is not None:
            times.append(SuggestedTime(at, "history", c.posts, c.mean_engagement))
        if len(times) == n:
            return Suggestions(found.name, "history", times)
    if times:
        return Suggestions(found.name, "history", times)
    free = slots.free_slots(
        session, actor=actor, channel=found.id, start=start, end=start + SLOT_HORIZON
    )
    if free:
        return Suggestions(found.name, "slots", [SuggestedTime(at, "slots") for at in free[:n]])
    return Suggestions(found.name, "none", [])


# --- reach of ideas and departments ----------------------------------------------------------


def _reach(row: Sequence[Any]) -> Reach:
    figures = _figures(row)
    return Reach(figures.posts, figures.measured, figures.impressions, figures.engagement)


def idea_reach(
    session: Session, *, actor: User, idea_ids: Iterable[int], as_of: datetime | None = None
) -> dict[int, Reach]:
    """What each idea achieved through its piece's published posts (contributors: their
    own ideas only; ideas without posts are absent)."""
    wanted = sorted(set(idea_ids))
    if not wanted:
        require_active(actor)
        return {}
    latest = _latest(session, as_of or utcnow())
    query = _published(select(Idea.id, *_figure_columns(latest)), latest)
    query = _visible_pieces(query.where(col(Idea.id).in_(wanted)), actor).group_by(col(Idea.id))
    return {int(row[0]): _reach(row[1:]) for row in session.exec(query)}


def department_reach(
    session: Session,
    *,
    actor: User,
    since: datetime | None = None,
    until: datetime | None = None,
    as_of: datetime | None = None,
    **scope: Unpack[Scope],
) -> list[DepartmentReach]:
    """Per department: its ideas with published posts in [since, until) (default: all
    time) and what those posts achieved, by name (contributors: their own department)."""
    at = as_of or utcnow()
    if since is not None and until is not None:
        _check_period(since, until)
    department = col(Idea.department_id)
    latest = _latest(session, at if until is None else min(until, at))
    query = _published(
        select(department, func.count(func.distinct(Idea.id)), *_figure_columns(latest)),
        latest,
        since,
        until,
    ).where(department.is_not(None))
    # Grouped by id and named afterwards: a join to departments would make SQLite read
    # the period's posts once per department.
    query = _visible_totals(_scoped(query, scope), actor).group_by(department)
    names = _names(session, "department")
    found = [
        DepartmentReach(
            names.get(department_id, ""), int(ideas), _reach(figures), int(department_id)
        )
        for department_id, ideas, *figures in session.exec(query)
    ]
    return sorted(found, key=lambda d: d.department)


# --- what the filters offer ------------------------------------------------------------------


def filter_choices(session: Session, *, actor: User) -> FilterChoices:
    """The channels, departments, audiences and campaigns the Analytics filters offer
    (contributors: their own department, and the channels its published posts are on)."""
    department_only = _department_only(actor)
    channels_query = select(col(Channel.id), Channel.name).order_by(col(Channel.name))
    if department_only:
        used = (
            select(Post.channel_id)
            .join(Piece, col(Piece.id) == col(Post.piece_id))
            .join(Idea, col(Idea.id) == col(Piece.idea_id))
            .where(
                Idea.department_id == actor.department_id,
                Post.status == PostStatus.published,
            )
        )
        channels_query = channels_query.where(col(Channel.id).in_(used))
    channels = {int(i or 0): name for i, name in session.exec(channels_query)}
    departments_query = select(col(Department.id), Department.name).order_by(col(Department.name))
    if department_only:
        departments_query = departments_query.where(Department.id == actor.department_id)
    audiences = {
        int(i or 0): name
        for i, name in session.exec(
            select(col(Audience.id), Audience.name).order_by(col(Audience.name))
        )
    }
    return FilterChoices(
        channels,
        {int(i or 0): name for i, name in session.exec(departments_query)},
        audiences,
        campaign_names(session, actor=actor),
    )


def campaign_names(session: Session, *, actor: User) -> list[str]:
    """The campaigns pieces name, by name (contributors: their own department's)."""
    query = (
        select(Piece.campaign).where(Piece.campaign != "").distinct().order_by(col(Piece.campaign))
    )
    if _department_only(actor):
        query = query.join(Idea, col(Idea.id) == col(Piece.idea_id)).where(
            Idea.department_id == actor.department_id
        )
    return list(session.exec(query))
