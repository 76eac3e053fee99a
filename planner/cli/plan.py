"""The content calendar: `plan list|add|queue|move|cancel|series|list-series|cancel-series|
import|export`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import IO, Any

from sqlmodel import Session

from planner import calendar_feeds, channels, csvio, pieces, planning, slots, workflow
from planner.cli import common, feeds, output
from planner.cli.common import ACTING, LISTING, PAGED, PIECE, Commands, arg, record_id
from planner.cli.output import line
from planner.errors import EditConflict
from planner.models import Post, PostStatus, User
from planner.timezones import format_local

PLAN = Commands("plan", "the content calendar: posts of pieces on channels")
COMMANDS = (PLAN,)
# When a post goes out: `plan add` and `plan move` take the same.
_WHEN = (
    arg("when", help="e.g. '2026-12-01 09:30' or '01.12.2026 09:30'"),
    arg("--tz", help="IANA zone of WHEN (default: yours)"),
    arg(
        "--fold",
        choices=["earlier", "later"],
        help="which of two equal local times at the autumn DST change",
    ),
)
# `plan cancel` and `posts cancel` are the same command.
CANCEL = (arg("post", type=record_id), arg("--reason", default=""))


@PLAN.action(
    "list",
    arg("--since", help="date or date-time (your zone)"),
    arg("--until", help="date or date-time (your zone), inclusive for a date"),
    arg("--all", action="store_true", help="include the past"),
    arg("--channel"),
    arg("--status", type=common.enum_type(PostStatus)),
    parents=[LISTING, PAGED],
)
def cmd_plan_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """Planned posts in your time zone (default: from now)."""
    # First whether the actor may read the plan at all: a wrong --channel lists channels.
    titles = {p.id: p.title for p in pieces.list_pieces(session, actor=actor)}
    start = (
        common.when(actor, args.since) if args.since else (None if args.all else datetime.now(UTC))
    )
    end = common.when(actor, args.until, end=True)
    chan = channels.get_channel(session, args.channel) if args.channel else None
    posts = planning.list_posts(
        session,
        actor=actor,
        start=start,
        end=end,
        channel_id=chan.id if chan else None,
        status=args.status,
        limit=args.limit,
    )
    names = channels.channel_names(session, actor=actor)
    held = {h.post.id: h.reason.value for h in planning.held_posts(session, actor=actor)}
    rows: list[dict[str, Any]] = [
        {
            "post_id": p.id,
            **output.moment("publish_at", p.publish_at, actor.timezone),
            "channel": names.get(p.channel_id),
            "piece_id": p.piece_id,
            "piece": titles.get(p.piece_id),
            "status": p.status.value,
            "held": held.get(p.id),
            "series_id": p.series_id,
        }
        for p in posts
    ]
    output.rows(
        rows,
        [
            ("post", "post_id"),
            ("when", "publish_at"),
            ("channel", "channel"),
            ("status", lambda r: f"{r['status']} (held)" if r["held"] else r["status"]),
            ("piece", "piece_id"),
            ("title", "piece"),
            ("series", "series_id"),
        ],
        as_json=args.json,
    )


@PLAN.action("add", PIECE, arg("channel"), *_WHEN)
def cmd_plan_add(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Plan a piece on a channel."""
    post = planning.plan_post(
        session, actor=actor, when=args.when, fold=args.fold, **_piece_on_channel(args)
    )
    return f"planned post {post.id}: piece {post.piece_id} at {_local(post)}"


@PLAN.action("queue", PIECE, arg("--channel", required=True, help="the channel's name or id"))
def cmd_plan_queue(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Add a piece to a channel's queue: plan it in the channel's next free slot."""
    post = slots.queue_post(session, actor=actor, piece_id=args.piece, channel=args.channel)
    return f"planned post {post.id}: piece {post.piece_id} at {_local(post)} (next free slot)"


@PLAN.action("move", arg("post", type=record_id), *_WHEN)
def cmd_plan_move(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Reschedule a post."""
    post = planning.move_post(
        session, actor=actor, post_id=args.post, when=args.when, tz_name=args.tz, fold=args.fold
    )
    return f"post {post.id} now at {_local(post)}"


def _piece_on_channel(args: argparse.Namespace) -> dict[str, Any]:
    """What `plan add` and `plan series` place where: PIECE, CHANNEL and --tz."""
    return {"piece_id": args.piece, "channel": args.channel, "tz_name": args.tz}


def _local(post: Post) -> str:
    """A post's time in the zone it was planned in."""
    return format_local(post.publish_at, post.timezone)


@PLAN.action("cancel", *CANCEL)
def cmd_plan_cancel(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Cancel a post (one being sent goes out only if its request had begun already)."""
    before = _cancel(session, actor, args.post, args.reason)
    said = f"post {args.post} cancelled"
    if before == PostStatus.publishing:
        said += (
            f"\nwarning: post {args.post} was being sent; it goes out only if its request "
            "had begun already (`posts list` shows what became of it)"
        )
    return said


def _cancel(session: Session, actor: User, post_id: int, reason: str) -> PostStatus:
    """Cancel a post; the state it was cancelled from. The cancel is held to the post as
    read, so that state is the one it left (a worker taking it in between: read again)."""
    workflow.check_role("post", "cancel", actor)  # a role that may not: said before the post
    for _ in range(3):
        seen = planning.get_post(session, actor=actor, post_id=post_id)
        before, version = seen.status, seen.version
        try:
            planning.cancel_post(
                session, actor=actor, post_id=post_id, reason=reason, expected_version=version
            )
        except EditConflict:
            continue
        return before
    # Moving under our feet every time: cancel it as it is now, said as last read.
    planning.cancel_post(session, actor=actor, post_id=post_id, reason=reason)
    return before


@PLAN.action(
    "cancel-series",
    arg("series", type=record_id, help="the series' id (`plan list-series` shows it)"),
    arg("--reason", default=""),
)
def cmd_plan_cancel_series(session: Session, actor: User, args: argparse.Namespace) -> str:
    """End a recurring series: cancel its posts that wait to go out, plan no more."""
    done = planning.cancel_series(session, actor=actor, series_id=args.series, reason=args.reason)
    said = f"series {done.series_id} cancelled: {len(done.cancelled)} post(s) cancelled"
    if done.in_flight:
        ids = ", ".join(str(i) for i in done.in_flight)
        said += (
            f"\nwarning: post(s) {ids} were being sent; each goes out only if its request "
            "had begun already (`posts list` shows what became of it)"
        )
    return said


@PLAN.action(
    "list-series",
    arg("--ended", action="store_true", help="include series that have ended"),
    arg("--piece", type=record_id, help="only the series of this piece"),
    parents=[LISTING, PAGED],
)
def cmd_plan_list_series(session: Session, actor: User, args: argparse.Namespace) -> None:
    """Recurring series, newest first: rule, channel, piece, posts still to go out and
    those out, the next post's time (your zone); `plan cancel-series ID` ends one."""
    found = planning.list_series(
        session, actor=actor, ended=args.ended, piece_id=args.piece, limit=args.limit
    )
    rows: list[dict[str, Any]] = [
        {
            "series_id": s.series.id,
            "rule": s.series.rule,
            "start": f"{s.series.local_start:%Y-%m-%d %H:%M}",
            "timezone": s.series.timezone,
            "in_slots": s.series.in_slots,
            "running": s.running,
            "channel": s.channel_name,
            "piece_id": s.series.piece_id,
            "piece": s.piece_title,
            "waiting": s.waiting,
            "published": s.published,
            **output.moment("next_at", s.next_at, actor.timezone),
        }
        for s in found
    ]
    output.rows(
        rows,
        [
            ("series", "series_id"),
            ("rule", "rule"),
            ("from", lambda r: f"{r['start']} {r['timezone']}"),
            ("slots", output.flag("in_slots", "in slots", "")),
            ("state", output.flag("running", "running", "ended")),
            ("channel", "channel"),
            ("piece", "piece_id"),
            ("title", "piece"),
            ("to go", "waiting"),
            ("out", "published"),
            ("next", "next_at"),
        ],
        as_json=args.json,
    )


@PLAN.action(
    "series",
    PIECE,
    arg("channel"),
    arg("--rule", required=True, help="e.g. FREQ=WEEKLY;BYDAY=TU;COUNT=8"),
    arg("--start", required=True, help="first local date-time, e.g. 2026-12-01 09:00"),
    arg("--tz", help="IANA zone (default: yours)"),
    arg(
        "--fold",
        choices=["earlier", "later"],
        help="which of two equal local times at the autumn DST change --start is",
    ),
    arg(
        "--in-slots",
        action="store_true",
        help="plan each occurrence in the channel's first free publishing slot from its "
        "time until the next occurrence (e.g. FREQ=WEEKLY from a Monday 00:00: one post a "
        "week in that week's first free slot)",
    ),
)
def cmd_plan_series(session: Session, actor: User, args: argparse.Namespace) -> str:
    """A recurring post (RRULE with COUNT or UNTIL)."""
    series = planning.create_series(
        session,
        actor=actor,
        rule=args.rule,
        start=args.start,
        fold=args.fold,
        in_slots=args.in_slots,
        **_piece_on_channel(args),
    )
    count = len(planning.list_posts(session, actor=actor, piece_id=args.piece))
    assert series.id is not None
    off = slots.series_off_plan(session, actor=actor, series_id=series.id)
    said = f"created series {series.id} ({series.rule}); the piece now has {count} post(s)"
    if series.in_slots:
        said += ", each in a free publishing slot of the channel"
        said += " where one was" if off else ""
    if off:
        times = ", ".join(format_local(at, series.timezone) for at in off[:5])
        more = f" and {len(off) - 5} more" if len(off) > 5 else ""
        said += (
            f"\nwarning: {len(off)} post(s) of the series found no free slot the rules allow "
            f"before the next occurrence and keep their own time: {times}{more}"
            if series.in_slots
            else f"\nwarning: {len(off)} post(s) of the series are not at the channel's "
            f"publishing slots: {times}{more}"
        )
    held = slots.series_rule_holds(session, actor=actor, series_id=series.id)
    if held:
        said += (
            f"\nwarning: {len(held)} post(s) of the series are refused by a publishing rule "
            "at their time; the engine holds each until the time allowed:"
        )
        said += "".join(f"\n  {format_local(h.at, series.timezone)}: {h.message}" for h in held[:5])
        if len(held) > 5:
            said += f"\n  and {len(held) - 5} more"
    return said


@PLAN.command("import", [ACTING], arg("file"))
def cmd_plan_import(args: argparse.Namespace) -> int:
    """Plan posts from CSV (columns: post_id, piece_id, piece_title, channel, publish_at,
    timezone, status); rows with a post_id move that post; a new row with publish_at
    "queue" takes the channel's next free slot; all or nothing."""
    raw = common.read_csv(args.file)
    with common.session() as session:
        result = csvio.import_plan(session, actor=common.actor(session, args), raw=raw)
    line(
        f"planned {len(result.created)} new post(s), moved {len(result.moved)}, "
        f"{result.unchanged} unchanged"
    )
    for number, post in result.queued:
        when = format_local(post.publish_at, post.timezone)
        line(f"line {number}: planned in the channel's next free slot: {when}")
    for number, message in result.off_plan:
        line(f"warning: line {number}: {message}")
    return 0


@PLAN.action(
    "export",
    arg("file"),
    arg("--since"),
    arg("--until"),
    arg(
        "--format",
        choices=["csv", "ics"],
        default="csv",
        help="csv (default) or ics: the calendar a feed serves, for calendar apps",
    ),
    common.SEPARATOR,
    *feeds.CALENDAR_FILTERS,
)
def cmd_plan_export(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """Write pieces with their posts and times as CSV, or the calendar as iCalendar (ics,
    with the calendar's filters)."""
    start, end = common.when(actor, args.since), common.when(actor, args.until, end=True)
    fmt = common.separator_of(args, args.format)
    if args.format == "ics":
        return _export_ics(session, actor, args, start, end)
    filtered = [args.channel, args.department, args.audience, args.campaign, args.status]
    if any(value is not None for value in filtered):
        raise common.CliError("the calendar's filters apply to --format ics only")
    count = common.export(
        args.file,
        lambda out: csvio.export_plan(session, actor=actor, out=out, start=start, end=end, fmt=fmt),
    )
    return None if args.file == "-" else f"exported {count} post(s) to {args.file}"


def _export_ics(
    session: Session,
    actor: User,
    args: argparse.Namespace,
    start: datetime | None,
    end: datetime | None,
) -> str | None:
    """`plan export --format ics`: the calendar with its filters (default range: a
    feed's)."""
    filters = feeds.calendar_filters(session, args)
    calendar_feeds.check_filters(session, filters, actor=actor)
    items = calendar_feeds.calendar_items(
        session, actor=actor, filters=filters, start=start, end=end
    )
    name = calendar_feeds.calendar_name(actor.locale)
    ics = calendar_feeds.to_ics(items, name=name, lang=actor.locale).decode("utf-8")

    def write(out: IO[str]) -> int:
        out.write(ics)
        return len(items)

    count = common.export(args.file, write)
    return None if args.file == "-" else f"exported {count} post(s) to {args.file}"
