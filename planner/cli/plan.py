"""The content calendar: `plan list|add|move|cancel|series|import|export`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from planner import channels, csvio, pieces, planning
from planner.cli import common, output
from planner.cli.common import ACTING, LISTING, PAGED, command, group, record_id
from planner.cli.output import line
from planner.models import PostStatus
from planner.timezones import format_local


def register(sub: common.Subparsers) -> None:
    """Add the `plan` group."""
    g = group(sub, "plan", "the content calendar: posts of pieces on channels")
    p = command(g, "list", cmd_plan_list, [ACTING, LISTING, PAGED])
    p.add_argument("--since", help="date or date-time (your zone)")
    p.add_argument("--until", help="date or date-time (your zone), inclusive for a date")
    p.add_argument("--all", action="store_true", help="include the past")
    p.add_argument("--channel")
    p.add_argument("--status", type=common.enum_type(PostStatus))
    p = command(g, "add", cmd_plan_add, [ACTING])
    p.add_argument("piece", type=record_id)
    p.add_argument("channel")
    _time_arguments(p)
    p = command(g, "move", cmd_plan_move, [ACTING])
    p.add_argument("post", type=record_id)
    _time_arguments(p)
    add_cancel(g)
    p = command(g, "series", cmd_plan_series, [ACTING])
    p.add_argument("piece", type=record_id)
    p.add_argument("channel")
    p.add_argument("--rule", required=True, help="e.g. FREQ=WEEKLY;BYDAY=TU;COUNT=8")
    p.add_argument("--start", required=True, help="first local date-time, e.g. 2026-12-01 09:00")
    p.add_argument("--tz", help="IANA zone (default: yours)")
    p = command(g, "import", cmd_plan_import, [ACTING])
    p.add_argument("file")
    p = command(g, "export", cmd_plan_export, [ACTING])
    p.add_argument("file")
    p.add_argument("--since")
    p.add_argument("--until")


def _time_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("when", help="e.g. '2026-12-01 09:30' or '01.12.2026 09:30'")
    p.add_argument("--tz", help="IANA zone of WHEN (default: yours)")
    p.add_argument(
        "--fold",
        choices=["earlier", "later"],
        help="which of two equal local times at the autumn DST change",
    )


def add_cancel(sub: common.Subparsers) -> None:
    """Add `cancel POST` (`plan cancel` and `posts cancel` are the same command)."""
    p = command(sub, "cancel", cmd_plan_cancel, [ACTING])
    p.add_argument("post", type=record_id)
    p.add_argument("--reason", default="")


def cmd_plan_list(args: argparse.Namespace) -> int:
    """Planned posts in your time zone (default: from now)."""
    with common.session() as session:
        actor = common.actor(session, args)
        # First whether the actor may read the plan at all: a wrong --channel lists channels.
        titles = {p.id: p.title for p in pieces.list_pieces(session, actor=actor)}
        start = (
            common.when(actor, args.since)
            if args.since
            else (None if args.all else datetime.now(UTC))
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
                "publish_at": format_local(p.publish_at, actor.timezone),
                "publish_at_utc": p.publish_at,
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
        ],
        as_json=args.json,
    )
    return 0


def cmd_plan_add(args: argparse.Namespace) -> int:
    """Plan a piece on a channel."""
    with common.session() as session:
        actor = common.actor(session, args)
        post = planning.plan_post(
            session,
            actor=actor,
            piece_id=args.piece,
            channel=args.channel,
            when=args.when,
            tz_name=args.tz,
            fold=args.fold,
        )
        line(
            f"planned post {post.id}: piece {post.piece_id} at "
            f"{format_local(post.publish_at, post.timezone)}"
        )
    return 0


def cmd_plan_move(args: argparse.Namespace) -> int:
    """Reschedule a post."""
    with common.session() as session:
        actor = common.actor(session, args)
        post = planning.move_post(
            session,
            actor=actor,
            post_id=args.post,
            when=args.when,
            tz_name=args.tz,
            fold=args.fold,
        )
        line(f"post {post.id} now at {format_local(post.publish_at, post.timezone)}")
    return 0


def cmd_plan_cancel(args: argparse.Namespace) -> int:
    """Cancel a post."""
    with common.session() as session:
        planning.cancel_post(
            session, actor=common.actor(session, args), post_id=args.post, reason=args.reason
        )
    line(f"post {args.post} cancelled")
    return 0


def cmd_plan_series(args: argparse.Namespace) -> int:
    """A recurring post (RRULE with COUNT or UNTIL)."""
    with common.session() as session:
        actor = common.actor(session, args)
        series = planning.create_series(
            session,
            actor=actor,
            piece_id=args.piece,
            channel=args.channel,
            rule=args.rule,
            start=args.start,
            tz_name=args.tz,
        )
        count = len(planning.list_posts(session, actor=actor, piece_id=args.piece))
        line(f"created series {series.id} ({series.rule}); the piece now has {count} post(s)")
    return 0


def cmd_plan_import(args: argparse.Namespace) -> int:
    """Plan posts from CSV (columns: post_id, piece_id, piece_title, channel, publish_at,
    timezone, status); rows with a post_id move that post; all or nothing."""
    raw = common.read_csv(args.file)
    with common.session() as session:
        result = csvio.import_plan(session, actor=common.actor(session, args), raw=raw)
    line(
        f"planned {len(result.created)} new post(s), moved {len(result.moved)}, "
        f"{result.unchanged} unchanged"
    )
    return 0


def cmd_plan_export(args: argparse.Namespace) -> int:
    """Write pieces with their posts and times as CSV."""
    with common.session() as session:
        actor = common.actor(session, args)
        start, end = common.when(actor, args.since), common.when(actor, args.until, end=True)
        count = common.export(
            args.file,
            lambda out: csvio.export_plan(session, actor=actor, out=out, start=start, end=end),
        )
    if args.file != "-":
        line(f"exported {count} post(s) to {args.file}")
    return 0
