"""Publishing: `publish-due`, the queue (`posts ...`), `freeze` and `status`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from planner import channels, org_settings, planning
from planner.cli import common, output
from planner.cli.common import ACTING, ID, LISTING, PAGED, Commands, arg
from planner.cli.output import line
from planner.cli.plan import CANCEL, cmd_plan_cancel
from planner.db import session_scope
from planner.models import Post, PostStatus, User
from planner.permissions import can
from planner.timezones import format_local

PUBLISHING = Commands()
POSTS = Commands("posts", "the publishing queue: held, failed, missed, needs-check posts")
CONTROL = Commands()
COMMANDS = (PUBLISHING, POSTS, CONTROL)


@PUBLISHING.command(
    "publish-due",
    [ACTING],
    # publish-due always makes exactly one sweep; --once is still accepted (and not shown)
    # because crontab lines written for earlier versions pass it.
    arg("--once", action="store_true", help=argparse.SUPPRESS),
    arg("--dry-run", action="store_true", help="show what would go out; send nothing"),
)
def cmd_publish_due(args: argparse.Namespace) -> int:
    """One publishing sweep, for cron-style use (--dry-run: say who reads, with --as)."""
    from planner.worker import Worker

    engine = common.migrated_engine()
    if args.dry_run:
        return _dry_run(args, engine)
    if args.as_user:
        # The sweep acts for no one, but a --as naming nobody is refused as everywhere.
        with session_scope(engine) as session:
            common.actor(session, args)
    worker = Worker(engine)
    try:
        result = worker.sweep()
    finally:
        worker.close()
    line(
        f"claimed {result.claimed}: {result.count(PostStatus.published)} published, "
        f"{result.count(PostStatus.planned)} to retry, {result.count(PostStatus.failed)} failed; "
        f"{result.missed} missed, {result.requeued} requeued, {result.needs_check} need a check"
    )
    for outcome in result.outcomes:
        if outcome.status != PostStatus.published:
            line(f"  post {outcome.post_id}: {outcome.status.value} ({outcome.message})")
    return 0


def _dry_run(args: argparse.Namespace, engine: Engine) -> int:
    from planner.publishing import max_lateness

    with session_scope(engine) as session:
        actor = common.actor(session, args)
        now = datetime.now(UTC)
        held = planning.held_posts(session, actor=actor, now=now)
        due = planning.posts_going_out(
            session, actor=actor, now=now, limit=10_000, lateness=max_lateness(session)
        )
        names = channels.channel_names(session, actor=actor)
    line(f"dry run: {len(due)} post(s) would be published now, {len(held)} held")
    for post in due:
        line(f"  would publish post {post.id} on {names.get(post.channel_id)}")
    for h in held:
        line(f"  held post {h.post.id} on {names.get(h.post.channel_id)}: {h.reason.value}")
    return 0


@POSTS.action(
    "list",
    arg("--status", choices=["held", *[s.value for s in PostStatus]]),
    parents=[LISTING, PAGED],
)
def cmd_posts_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """Posts by status ('held': due but not allowed out)."""
    names = channels.channel_names(session, actor=actor)
    found: list[tuple[Post, str | None]]
    if args.status == "held":
        found = [
            (h.post, h.reason.value)
            for h in planning.held_posts(session, actor=actor, limit=args.limit)
        ]
    else:
        status = PostStatus(args.status) if args.status else None
        # Contributors see their department's posts as on 'My ideas': without errors.
        errors = can(actor, "view_pieces")
        found = [
            (p, p.last_error if errors else None)
            for p in planning.list_posts(session, actor=actor, status=status, limit=args.limit)
        ]
    rows = [
        {
            "id": p.id,
            "piece_id": p.piece_id,
            "channel": names.get(p.channel_id),
            "publish_at": format_local(p.publish_at, actor.timezone),
            "status": "held" if args.status == "held" else p.status.value,
            "attempts": p.attempts,
            "retry_at": _retry_at(p, actor),
            "reason": reason,
            "external_url": p.external_url,
        }
        for p, reason in found
    ]
    output.rows(
        rows,
        [
            ("post", "id"),
            ("when", "publish_at"),
            ("channel", "channel"),
            (
                "status",
                lambda r: (
                    f"{r['status']}, retry at {r['retry_at']}" if r["retry_at"] else r["status"]
                ),
            ),
            ("tries", "attempts"),
            ("reason / last error", "reason"),
        ],
        as_json=args.json,
        width=70,
    )


# What `posts attempts` shows of an attempt besides its id and times.
_ATTEMPT_FIELDS = (
    "worker",
    "outcome",
    "http_status",
    "duration_ms",
    "error",
    "external_id",
    "external_url",
)


def _retry_at(post: Post, actor: User) -> str | None:
    """When a post waiting to be sent again is due, in the user's zone."""
    if post.status != PostStatus.planned or post.next_attempt_at is None:
        return None
    return format_local(post.next_attempt_at, actor.timezone)


@POSTS.action("retry", ID)
def cmd_posts_retry(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Send a failed, missed or checked post again (and say if it stays held)."""
    from planner.publishing import retry_post
    from planner.publishing.ledger import why_held

    post = retry_post(session, actor=actor, post_id=args.id)
    held = why_held(session, actor=actor, post_id=args.id)
    if held is None:
        return f"post {post.id} will be sent at the next sweep"
    return f"post {post.id} is planned again, but it stays held: {held}"


@POSTS.action("attempts", ID, parents=[LISTING])
def cmd_posts_attempts(session: Session, actor: User, args: argparse.Namespace) -> None:
    """The publishing ledger of one post: every attempt, its worker, outcome and error."""
    from planner.publishing.ledger import post_ledger

    ledger = post_ledger(session, actor=actor, post_id=args.id)
    post = ledger.post
    rows: list[dict[str, Any]] = [
        {
            "attempt": a.id,
            **output.moment("started_at", a.started_at, actor.timezone),
            **output.moment("finished_at", a.finished_at, actor.timezone),
            **output.fields(a, *_ATTEMPT_FIELDS),
        }
        for a in ledger.attempts
    ]
    data = {
        "post_id": post.id,
        "piece_id": post.piece_id,
        "channel": ledger.channel,
        "status": post.status.value,
        "publish_at": format_local(post.publish_at, actor.timezone),
        "retry_at": _retry_at(post, actor),
        "attempts": rows,
    }
    if args.json:
        output.emit_json(data)
        return
    retry = f", retry at {data['retry_at']}" if data["retry_at"] else ""
    line(
        f"post {post.id} on {ledger.channel} at {data['publish_at']}: "
        f"{data['status']}{retry}; {len(rows)} attempt(s)"
    )
    output.rows(
        rows,
        [
            ("started", "started_at"),
            ("finished", lambda r: r["finished_at"] or "(running)"),
            ("worker", "worker"),
            ("outcome", "outcome"),
            ("HTTP", "http_status"),
            ("external id", "external_id"),
            ("error", "error"),
        ],
        as_json=False,
        width=60,
    )


POSTS.add("cancel", cmd_plan_cancel, [ACTING], *CANCEL)


@POSTS.action("mark-posted", ID, arg("--url", default="", help="where it was published"))
def cmd_posts_mark_posted(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Confirm that a post needing a check did go out."""
    from planner.publishing import mark_posted

    mark_posted(session, actor=actor, post_id=args.id, url=args.url)
    return f"post {args.id} marked as published"


@CONTROL.action("freeze", arg("state", choices=["on", "off"]))
def cmd_freeze(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Crisis freeze: hold every post (admins)."""
    value = org_settings.set_setting(
        session, actor=actor, key="publishing_frozen", value=args.state
    )
    if value == "on":
        return "publishing is FROZEN: nothing is sent until `freeze off`"
    return "publishing resumed; posts later than the lateness bound become missed"


@CONTROL.action("status", parents=[LISTING])
def cmd_status(session: Session, actor: User, args: argparse.Namespace) -> None:
    """Live workers and due, held, failed, needs-check counts."""
    from planner.publishing import status_summary

    summary = status_summary(session, actor=actor)
    if args.json:
        output.emit_json(summary)
        return
    line(f"publishing: {'FROZEN' if summary.frozen else 'running'}")
    line(f"live workers: {len(summary.workers)}")
    for w in summary.workers:
        kind = "embedded" if w.embedded else "worker"
        line(
            f"  {w.worker_id} ({kind}, last seen {format_local(w.last_seen, 'UTC')}, "
            f"{w.published} published, {w.failed} failed)"
        )
    line(
        f"due now: {summary.due}   held: {summary.held}   failed: {summary.failed}   "
        f"needs check: {summary.needs_check}   missed: {summary.missed}   "
        f"to post by hand: {summary.awaiting_manual}"
    )
    for name, until in summary.paused:
        line(f"paused by a rate limit: {name} until {format_local(until, 'UTC')}")
