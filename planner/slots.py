"""Publishing slots: each channel's weekly slot plan, its free slots, and "add to queue".

A slot is a weekday and a wall-clock time in the organisation's time zone, so a Tuesday
09:30 slot stays at 09:30 local time across DST changes. A slot time that does not exist
on one day (the spring gap) has no slot that day; one that happens twice (the autumn
fold) is taken once, at its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from dateutil import tz as dateutil_tz
from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from planner import audit, planning, rule_checks, submissions
from planner.channels import get_channel
from planner.db import all_or_nothing
from planner.errors import Message, NotFound, ValidationFailed
from planner.models import Channel, Piece, Post, PostStatus, PublishingSlot, Series, User, utcnow
from planner.org_settings import get_setting
from planner.permissions import require
from planner.rules import enabled_rules
from planner.timezones import format_local, to_utc, zone

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Names a slot plan may use for a weekday, English and German, long and short.
_DAY_NAMES = {
    name: day
    for day, names in enumerate(
        (
            ("mon", "monday", "mo", "montag"),
            ("tue", "tues", "tuesday", "tu", "di", "dienstag"),
            ("wed", "wednesday", "we", "mi", "mittwoch"),
            ("thu", "thur", "thurs", "thursday", "th", "do", "donnerstag"),
            ("fri", "friday", "fr", "freitag"),
            ("sat", "saturday", "sa", "samstag", "sonnabend"),
            ("sun", "sunday", "su", "so", "sonntag"),
        )
    )
    for name in names
}
_ENTRY = re.compile(r"^\s*([^\d\s]+(?:\s*/\s*[^\d\s/]+)*)\.?\s+(\d{1,2})[:.](\d{2})\s*(?:uhr)?\s*$")
MAX_SLOTS = 7 * 24  # a slot plan of more slots than one an hour is refused
QUEUE_HORIZON = timedelta(weeks=26)  # how far ahead "add to queue" looks for a free slot
# Posts that hold a slot; a cancelled post frees it.
_HOLDING = tuple(s for s in PostStatus if s != PostStatus.cancelled)

# An extra check a free slot must pass (the publishing rules, for example).
SlotCheck = Callable[[datetime], bool]
# The same check for "add to queue": it sees the post that would be planned.
PostCheck = Callable[[Post], bool]


class Slot(NamedTuple):
    """One weekly slot: weekday (0 Monday .. 6 Sunday) and minute of the day, local time."""

    weekday: int
    minute: int

    def __str__(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.minute // 60:02d}:{self.minute % 60:02d}"


def org_timezone(session: Session) -> str:
    """The organisation's time zone, in which slot times are meant."""
    return get_setting(session, "org_timezone")


def parse_slot_plan(text: str) -> list[Slot]:
    """Slots from text such as "Tue 09:30, Thu 09:30; Wed 12:00" or "Di/Do 9:30" (English
    or German weekday names), sorted; '' is the empty plan."""
    slots: set[Slot] = set()
    for entry in re.split(r"[,;\n]", text):
        if not entry.strip():
            continue
        match = _ENTRY.match(entry.lower())
        days = (
            [_DAY_NAMES.get(d.strip().rstrip(".")) for d in match.group(1).split("/")]
            if match
            else []
        )
        hour, minute = (int(match.group(2)), int(match.group(3))) if match else (99, 99)
        if not match or None in days or hour > 23 or minute > 59:
            raise ValidationFailed(
                {
                    "slots": Message(
                        "bad_slot",
                        "{entry!r} is not a slot: write a weekday and a time, "
                        "e.g. 'Tue 09:30, Thu 09:30' or 'Di 09:30'",
                        entry=entry.strip()[:40],
                    )
                }
            )
        slots.update(Slot(d, hour * 60 + minute) for d in days if d is not None)
    if len(slots) > MAX_SLOTS:
        raise ValidationFailed(
            {
                "slots": Message(
                    "too_many_slots",
                    "at most {max} slots a week, got {count}",
                    max=MAX_SLOTS,
                    count=len(slots),
                )
            }
        )
    return sorted(slots)


def format_slot_plan(slots: Iterable[Slot]) -> str:
    """A slot plan as text that `parse_slot_plan` reads back: "Tue 09:30, Thu 09:30"."""
    return ", ".join(str(s) for s in sorted(slots))


def _plan(session: Session, channel_id: int) -> list[Slot]:
    rows = session.exec(
        select(PublishingSlot.weekday, PublishingSlot.minute).where(
            PublishingSlot.channel_id == channel_id
        )
    )
    return sorted(Slot(day, minute) for day, minute in rows)


def slot_plan(session: Session, *, actor: User, channel: str | int) -> list[Slot]:
    """A channel's weekly slots (for those who may plan or view pieces)."""
    require(actor, "view_pieces")
    found = get_channel(session, channel)
    assert found.id is not None
    return _plan(session, found.id)


def slot_plans(session: Session, *, actor: User) -> dict[int, list[Slot]]:
    """Every channel's weekly slots by channel id (channels without a plan are absent)."""
    require(actor, "view_pieces")
    plans: dict[int, list[Slot]] = {}
    for channel_id, day, minute in session.exec(
        select(PublishingSlot.channel_id, PublishingSlot.weekday, PublishingSlot.minute)
    ):
        plans.setdefault(channel_id, []).append(Slot(day, minute))
    return {channel_id: sorted(slots) for channel_id, slots in plans.items()}


def set_slot_plan(
    session: Session, *, actor: User, channel: str | int, slots: str | Sequence[Slot]
) -> list[Slot]:
    """Replace a channel's weekly slots (admins); '' or [] removes the plan."""
    require(actor, "manage_channels")
    found = get_channel(session, channel)
    assert found.id is not None
    wanted = parse_slot_plan(slots) if isinstance(slots, str) else sorted(set(slots))
    for slot in wanted:
        if not (0 <= slot.weekday <= 6 and 0 <= slot.minute < 24 * 60):
            raise ValidationFailed(
                {"slots": Message("bad_slot", "{entry!r} is not a slot", entry=repr(slot))}
            )
    old = _plan(session, found.id)
    if old == wanted:
        return wanted
    with all_or_nothing(session):
        session.execute(delete(PublishingSlot).where(col(PublishingSlot.channel_id) == found.id))
        for slot in wanted:
            session.add(
                PublishingSlot(channel_id=found.id, weekday=slot.weekday, minute=slot.minute)
            )
        audit.record(
            session,
            actor=actor,
            object_type="channel",
            object_id=found.id,
            action="set_slots",
            note=f"{found.name}: {format_slot_plan(wanted) or '-'}",
        )
    return wanted


def _slot_instants(
    slots: Sequence[Slot], tz_name: str, start: datetime, end: datetime
) -> list[datetime]:
    """The UTC instants of `slots` in [start, end), by time, DST-correct in `tz_name`."""
    z = zone(tz_name)
    by_day: dict[int, list[int]] = {}
    for slot in slots:
        by_day.setdefault(slot.weekday, []).append(slot.minute)
    found: list[datetime] = []
    day: date = start.astimezone(z).date() - timedelta(days=1)
    last: date = end.astimezone(z).date()
    while day <= last:
        for minute in by_day.get(day.weekday(), []):
            local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=z)
            if not dateutil_tz.datetime_exists(local):
                continue  # the spring gap: that wall-clock time does not happen that day
            instant = local.replace(fold=0).astimezone(UTC)
            if start <= instant < end:
                found.append(instant)
        day += timedelta(days=1)
    return sorted(found)


def _taken(session: Session, channel_id: int, start: datetime, end: datetime) -> set[datetime]:
    return set(
        session.exec(
            select(Post.publish_at).where(
                Post.channel_id == channel_id,
                col(Post.status).in_(_HOLDING),
                col(Post.publish_at) >= start,
                col(Post.publish_at) < end,
            )
        )
    )


def usable_channel(session: Session, *, actor: User, channel: str | int) -> Channel:
    """The channel named or numbered `channel`, for someone who may see the plan; an
    unknown one is a field error."""
    require(actor, "view_pieces")
    try:
        found = get_channel(session, channel)
    except NotFound as err:
        raise ValidationFailed({"channel": str(err)}) from err
    return found


def free_slots(
    session: Session,
    *,
    actor: User,
    channel: str | int,
    start: datetime,
    end: datetime,
    accept: SlotCheck | None = None,
) -> list[datetime]:
    """The channel's slots in [start, end) that no post holds (a cancelled post frees its
    slot) and that pass `accept`, as UTC instants by time; [] without a slot plan."""
    require(actor, "view_pieces")
    found = usable_channel(session, actor=actor, channel=channel)
    assert found.id is not None
    slots = _plan(session, found.id)
    if not slots:
        return []
    taken = _taken(session, found.id, start, end)
    instants = _slot_instants(slots, org_timezone(session), start, end)
    return [i for i in instants if i not in taken and (accept is None or accept(i))]


def next_free_slot(
    session: Session,
    *,
    actor: User,
    channel: str | int,
    after: datetime | None = None,
    accept: SlotCheck | None = None,
    horizon: timedelta = QUEUE_HORIZON,
) -> datetime:
    """The channel's first free slot from `after` (default: now) that passes `accept`.

    A channel without a slot plan, or without a free slot within `horizon`, is refused
    with a message that says so.
    """
    require(actor, "view_pieces")
    found = usable_channel(session, actor=actor, channel=channel)
    assert found.id is not None
    if not _plan(session, found.id):
        raise ValidationFailed(
            {
                "channel": Message(
                    "no_slot_plan",
                    "channel {name!r} has no publishing slots yet; an admin sets them, "
                    "e.g. `slots set {name!r} 'Tue 09:30, Thu 09:30'`",
                    name=found.name,
                )
            }
        )
    start = after or utcnow()
    # Week by week: the first free slot is usually in the first one.
    for week in range(int(horizon / timedelta(weeks=1)) + 1):
        begin = start + timedelta(weeks=week)
        end = min(begin + timedelta(weeks=1), start + horizon)
        if begin >= end:
            break
        free = free_slots(session, actor=actor, channel=found.id, start=begin, end=end)
        # Checked one by one, and only until one passes: a check may cost queries.
        for at in free:
            if accept is None or accept(at):
                return at
    weeks = int(horizon / timedelta(weeks=1))
    raise ValidationFailed(
        {
            "channel": Message(
                "no_free_slot",
                "channel {name!r} has no free slot in the next {weeks} weeks",
                name=found.name,
                weeks=weeks,
            )
        }
    )


def queue_post(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    channel: str | int,
    accept: PostCheck | None = None,
    now: datetime | None = None,
    token: str | None = None,
) -> Post:
    """Add a piece to a channel's queue: plan it in the channel's next free slot.

    A slot the publishing rules' time rules refuse (quiet hours, caps, spacing) is skipped;
    `accept` is an extra check of the post that would be planned: a slot it refuses is
    skipped too. The post is checked like any planned post.
    """
    require(actor, "plan_posts")
    submissions.refuse_spent(session, actor=actor, token=token)
    found_channel = usable_channel(session, actor=actor, channel=channel)
    channel_id, actor_id = found_channel.id, actor.id
    assert channel_id is not None and actor_id is not None
    now = now or utcnow()
    found: list[rule_checks.RuleFinding] = []  # what the rules find in the post planned
    try:
        with all_or_nothing(session):
            hold_queue(session, actor=actor, channel_id=channel_id)
            piece = session.get(Piece, piece_id)
            if piece is None:
                raise NotFound("piece", piece_id)
            return _queue(session, actor, piece, found_channel, accept, now, token, found)
    except ValidationFailed:
        planning.record_planning(session, actor, piece_id, found, refused=True)
        raise


def hold_queue(session: Session, *, actor: User, channel_id: int) -> None:
    """Hold the channel's queue to the end of the transaction: a second "add to queue" on
    the channel waits here until the first has stored its post, then sees that slot taken.
    A write to the channel's row is a row lock on PostgreSQL and SQLite's write lock."""
    require(actor, "plan_posts")
    _hold(session, channel_id)


def _hold(session: Session, channel_id: int) -> None:
    session.execute(update(Channel).where(col(Channel.id) == channel_id).values(id=Channel.id))


def _queue(
    session: Session,
    actor: User,
    piece: Piece,
    found_channel: Channel,
    accept: PostCheck | None,
    now: datetime,
    token: str | None,
    found: list[rule_checks.RuleFinding],
) -> Post:
    """`queue_post` with the channel's queue held; the rules' findings go to `found`."""
    assert piece.id is not None
    post = prepare_queued(
        session, actor=actor, piece=piece, channel=found_channel, now=now, accept=accept, into=found
    )
    planning.record_planning(session, actor, piece.id, found, refused=False)
    return planning.store_posts(session, actor=actor, posts=[post], token=token)[0]


def prepare_queued(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    channel: Channel,
    now: datetime,
    accept: PostCheck | None = None,
    into: list[rule_checks.RuleFinding] | None = None,
) -> Post:
    """The post "add to queue" plans (not stored): `piece` in the channel's first free slot
    after `now` that `allowed_slot` finds, checked as `planning.prepare_post` checks a
    post (the rules' findings go to `into`). Hold the channel's queue first."""
    assert piece.id is not None and channel.id is not None
    at = allowed_slot(session, actor=actor, piece=piece, channel=channel, after=now, accept=accept)
    return planning.prepare_post(
        session,
        actor=actor,
        piece_id=piece.id,
        channel=channel.id,
        when=at,
        tz_name=org_timezone(session),
        now=now,
        into=into,
    )


def allowed_slot(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    channel: Channel,
    after: datetime,
    accept: PostCheck | None = None,
) -> datetime:
    """The channel's first free slot from `after` for `piece`: one the publishing rules'
    time rules allow (quiet hours, caps, spacing) and `accept`, an extra check of the post
    that would be planned there, passes. Refused as `next_free_slot` refuses."""
    piece_id, channel_id, actor_id = piece.id, channel.id, actor.id
    assert piece_id is not None and channel_id is not None and actor_id is not None
    ruled_out: list[datetime] = []  # free slots the time rules refused

    def passes(at: datetime) -> bool:
        # A slot the time rules refuse is skipped rather than proposed and then refused
        # by planning; content findings no slot can fix.
        findings = rule_checks.planning_findings(
            session, actor=actor, piece=piece, channel=channel, at=at, check_content=False
        )
        if any(finding.blocks and finding.slot is not None for finding in findings):
            ruled_out.append(at)
            return False
        # Nor a slot next to a post of the piece on the channel: it would go out twice.
        nearby = planning.same_post_nearby(session, piece_id=piece_id, channel_id=channel_id, at=at)
        if nearby is not None:
            ruled_out.append(at)
            return False
        if accept is None:
            return True
        candidate = Post(
            piece_id=piece_id,
            channel_id=channel_id,
            publish_at=at,
            timezone=org_timezone(session),
            created_by_id=actor_id,
        )
        return accept(candidate)

    try:
        return next_free_slot(session, actor=actor, channel=channel_id, after=after, accept=passes)
    except ValidationFailed as err:
        problem = err.fields.get("channel")
        if not ruled_out or not isinstance(problem, Message) or problem.code != "no_free_slot":
            raise
        # Free slots there are (`slots free` lists them): say that the rules refuse them.
        raise ValidationFailed(
            {
                "channel": Message(
                    "no_allowed_slot",
                    "channel {name!r} has free slots in the next {weeks} weeks, but the "
                    "publishing rules allow this post in none of them (the first: {first})",
                    name=channel.name,
                    weeks=problem.params["weeks"],
                    first=format_local(ruled_out[0], org_timezone(session)),
                )
            }
        ) from err


def hold_for_series(session: Session, series: Series) -> None:
    """Hold the channel's queue for planning posts of a series in slots (the scheduler
    does, with no one acting), to the end of the transaction: as "add to queue" does, so
    that neither takes a slot the other is taking."""
    _hold(session, series.channel_id)


def place_series_posts(
    session: Session, series: Series, instants: Sequence[datetime], *, now: datetime
) -> dict[datetime, datetime]:
    """Where the new occurrences `instants` of a series in slots are planned: each in the
    channel's first free slot from its time (or `now`, if later) until the end of its
    window (`planning.slot_window`: the next occurrence) that the publishing rules' time
    rules (quiet hours, caps, spacing) allow, counting the slots the earlier ones took.
    An occurrence without one is left out of the answer: it keeps its own time, and
    `series_off_plan` names it. Hold the channel first (`hold_for_series`)."""
    placed: dict[datetime, datetime] = {}
    plan = _plan(session, series.channel_id)
    piece = session.get(Piece, series.piece_id)
    channel = session.get(Channel, series.channel_id)
    if not plan or piece is None or channel is None or not instants:
        return placed
    tz_name = org_timezone(session)
    rules = enabled_rules(session)
    subject = rule_checks.subject_of(session, piece, channel)
    chosen: list[datetime] = []
    for at in sorted(instants):
        begin, end = max(at, now), planning.slot_window(series, at)
        taken = _taken(session, series.channel_id, begin, end) | set(chosen)
        for slot in _slot_instants(plan, tz_name, begin, end):
            if slot in taken or _next_to_same_post(session, series, slot, chosen):
                continue
            others = rule_checks.taken_instants(session, series.channel_id, around=slot)
            found = rule_checks.time_findings(
                subject, rules, at=slot, taken=sorted([*others, *chosen]), tz_name=tz_name
            )
            if rule_checks.blocking_message(found) is None:
                placed[at] = slot
                chosen.append(slot)
                break
    return placed


def _next_to_same_post(
    session: Session, series: Series, slot: datetime, chosen: Sequence[datetime]
) -> bool:
    """Whether a post of the series at `slot` would be next to another post of its piece on
    its channel (stored, or one of the slots `chosen` for it so far): it would go out twice."""
    window = planning.SAME_POST_WINDOW
    if any(abs(slot - other) < window for other in chosen):
        return True
    nearby = planning.same_post_nearby(
        session, piece_id=series.piece_id, channel_id=series.channel_id, at=slot
    )
    return nearby is not None


class SlotPlanCheck:
    """Whether instants are at their channels' slots; every plan read once (for imports)."""

    def __init__(self, session: Session) -> None:
        self.zone = zone(org_timezone(session))
        self.plans: dict[int, set[Slot]] = {}
        for channel_id, day, minute in session.exec(
            select(PublishingSlot.channel_id, PublishingSlot.weekday, PublishingSlot.minute)
        ):
            self.plans.setdefault(channel_id, set()).add(Slot(day, minute))

    def outside(self, channel_id: int, instant: datetime) -> bool:
        """Whether `instant` misses the channel's slots (never, for a channel without any)."""
        plan = self.plans.get(channel_id)
        if not plan:
            return False
        local = instant.astimezone(self.zone)
        return Slot(local.weekday(), local.hour * 60 + local.minute) not in plan


def off_plan(session: Session, *, channel_id: int, instants: Iterable[datetime]) -> list[datetime]:
    """Those of `instants` that are not at one of the channel's slots, by time; [] for a
    channel without a slot plan (any time suits it)."""
    check = SlotPlanCheck(session)
    return sorted(i for i in instants if check.outside(channel_id, i))


def series_off_plan(session: Session, *, actor: User, series_id: int) -> list[datetime]:
    """The times of a series' posts that are not in a slot of their own, by time: for a
    series at its own times, every occurrence (also those not planned as posts yet) off
    the channel's slot plan; for a series in slots, whose occurrences are placed as the
    scheduler plans them, each planned post that found no free slot in its window and
    kept its own time (off the plan, or on a slot another post holds)."""
    require(actor, "view_pieces")
    series = session.get(Series, series_id)
    if series is None:
        raise NotFound("series", series_id)
    times = _series_times(session, series)
    off = off_plan(session, channel_id=series.channel_id, instants=times)
    if not series.in_slots or not times:
        return off
    shared = session.exec(
        select(Post.publish_at)
        .where(
            Post.channel_id == series.channel_id,
            col(Post.status).in_(_HOLDING),
            col(Post.publish_at).in_(times),
        )
        .group_by(col(Post.publish_at))
        .having(func.count() > 1)
    )
    return sorted({*off, *shared})


def _series_times(session: Session, series: Series) -> list[datetime]:
    """When a series' posts go out: every occurrence's own time, or, for a series in slots
    (whose occurrences are placed as the scheduler plans them), its planned posts' times."""
    if series.in_slots:
        query = select(Post.publish_at).where(
            Post.series_id == series.id, col(Post.status).in_(_HOLDING)
        )
        return sorted(session.exec(query))
    start = to_utc(series.local_start, series.timezone, fold="earlier")
    end = start + timedelta(days=366 * (planning.MAX_SERIES_YEARS + 1))
    return planning.occurrences(series, start, end)


def series_rule_holds(
    session: Session, *, actor: User, series_id: int
) -> list[rule_checks.RefusedTime]:
    """The times of a series' posts (all occurrences; for a series in slots, its planned
    posts) that a blocking time rule (quiet hours, a daily cap, spacing) refuses, by time,
    with the rules' message and the next allowed time: the series is kept, and the engine
    holds those posts until then."""
    require(actor, "view_pieces")
    series = session.get(Series, series_id)
    if series is None:
        raise NotFound("series", series_id)
    piece = session.get(Piece, series.piece_id)
    channel = session.get(Channel, series.channel_id)
    assert piece is not None and channel is not None
    own = [
        post_id
        for post_id in session.exec(select(Post.id).where(Post.series_id == series.id))
        if post_id is not None
    ]
    return rule_checks.refused_times(
        session,
        actor=actor,
        piece=piece,
        channel=channel,
        instants=_series_times(session, series),
        exclude=own,
    )
