"""Metrics: `metrics collect --once` (one sweep now) and `metrics show POST_ID`."""

from __future__ import annotations

import argparse
from typing import Any

from sqlmodel import Session

from planner.cli import common, output
from planner.cli.common import ACTING, ID, LISTING, CliError, Commands, arg
from planner.cli.output import line
from planner.models import User
from planner.timezones import format_local

METRICS = Commands("metrics", "the figures of published posts: collect them now, show one post's")
COMMANDS = (METRICS,)
# A snapshot's figures, as `metrics show` lists them.
_FIGURES = ("impressions", "reactions", "reposts", "replies", "link_clicks")


@METRICS.command(
    "collect",
    [ACTING, LISTING],
    arg("--once", action="store_true", help="make one sweep (the worker collects on its own)"),
)
def cmd_metrics_collect(args: argparse.Namespace) -> int:
    """One metrics sweep now: read the figures that are due (admins)."""
    from planner.metrics.views import collect_once
    from planner.worker import new_worker_id

    if not args.once:
        raise CliError("metrics collect makes one sweep: pass --once")
    engine = common.migrated_engine()
    with common.session() as session:
        actor = common.actor(session, args)
    result = collect_once(engine, actor=actor, worker_id=new_worker_id())
    data = {
        "enrolled": result.enrolled,
        "claimed": result.claimed,
        "collected": result.collected,
        "retried": result.retried,
        "skipped": result.skipped,
        "ended": result.ended,
        "withheld": result.withheld,
        "paused": {str(k): v for k, v in result.paused.items()},
        "errors": [{"post_id": post, "error": error} for post, error in result.errors],
    }
    if args.json:
        output.emit_json(data)
        return 0
    line(
        f"metrics: {len(result.collected)} post(s) read, {result.retried} to retry, "
        f"{result.skipped} round(s) skipped, {result.ended} ended (deleted on the channel); "
        f"{result.enrolled} newly published post(s) enrolled"
    )
    for post_id in result.collected:
        line(f"  post {post_id}: collected")
    for post_id, error in result.errors:
        line(f"  post {post_id}: {error}")
    for channel_id, until in result.paused.items():
        line(f"  channel {channel_id}: metrics paused until {format_local(until, 'UTC')}")
    return 0


@METRICS.action("show", ID, parents=[LISTING])
def cmd_metrics_show(session: Session, actor: User, args: argparse.Namespace) -> None:
    """The figures of one post over time: every snapshot, oldest first."""
    from planner.metrics.views import post_metrics

    found = post_metrics(session, actor=actor, post_id=args.id)
    rows: list[dict[str, Any]] = [
        {
            **output.moment("collected_at", s.collected_at, actor.timezone),
            **output.fields(s, *_FIGURES, "raw"),
        }
        for s in found.snapshots
    ]
    data = {
        "post_id": found.post_id,
        "channel": found.channel,
        "collection": found.state,
        "next_due_at": format_local(found.next_due_at, actor.timezone)
        if found.next_due_at
        else None,
        "last_error": found.last_error,
        "snapshots": rows,
        "fetches": [
            output.fields(f, "started_at", "round", "worker", "outcome", "http_status", "error")
            for f in found.fetches
        ],
    }
    if args.json:
        output.emit_json(data)
        return
    state = found.state or "not collected yet"
    due = f", next at {data['next_due_at']}" if data["next_due_at"] else ""
    line(f"post {found.post_id} on {found.channel}: {state}{due}; {len(rows)} snapshot(s)")
    if found.last_error:
        line(f"last error: {found.last_error}")
    output.rows(
        rows,
        [("collected", "collected_at"), *[(key.replace("_", " "), key) for key in _FIGURES]],
        as_json=False,
        width=40,
    )
