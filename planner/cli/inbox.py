"""The listening inbox and followed feeds: `inbox list|show|assign|reply|approve|discard|
dismiss|reopen|to-idea|fetch|targets|target` and `feeds add|list|remove`."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from planner import inbox
from planner.cli import common, output
from planner.cli.common import ACTING, ID, LISTING, PAGED, CliError, Commands, arg
from planner.cli.output import line
from planner.models import InboxSource, InboxStatus, User
from planner.permissions import require
from planner.timezones import format_local

INBOX = Commands("inbox", "listen: mentions, replies and feed entries to react to")
FEEDS = Commands("feeds", "the RSS and Atom feeds the inbox follows")
COMMANDS = (INBOX, FEEDS)

# The range `inbox.set_response_target` takes, refused here before the database is opened.
response_hours = common.whole(inbox.MIN_TARGET_HOURS, inbox.MAX_TARGET_HOURS, "a number of hours")
# What dismissing an item or making an idea of it adds when it dropped a waiting reply.
_DROPPED = "; the reply waiting for approval on it was discarded"


def _hours(hours: int) -> str:
    return "1 hour" if hours == 1 else f"{hours} hours"


def _source_name(view: inbox.InboxView) -> str:
    """The name of the channel or feed an item came from, or that it is gone."""
    if view.source_name:
        return view.source_name
    return "removed feed" if view.item.source == InboxSource.feed_item else "removed channel"


def _row(view: inbox.InboxView, actor: User) -> dict[str, object]:
    item = view.item
    return {
        "id": item.id,
        "received": format_local(item.received_at, actor.timezone),
        "source": item.source.value,
        "from": _source_name(view),
        "author": item.author_handle or item.author_name,
        "title": item.title,
        "text": item.text,
        "url": item.url,
        "status": item.status.value,
        "department": view.department,
        "due": format_local(view.due_at, actor.timezone),
        "overdue": view.overdue,
        "reply_waiting_for_approval": bool(view.pending_reply_by),
        "reply_url": item.reply_url,
        "idea_id": item.idea_id,
    }


@INBOX.action(
    "list",
    arg("--status", type=common.enum_type(InboxStatus)),
    arg("--source", type=common.enum_type(InboxSource)),
    arg("--department"),
    parents=[LISTING, PAGED],
)
def cmd_inbox_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List the inbox items you may see, newest first; overdue ones are marked."""
    found = inbox.list_items(
        session,
        actor=actor,
        status=args.status,
        source=args.source,
        department=args.department,
        limit=args.limit or 100,
    )
    output.rows(
        [_row(view, actor) for view in found],
        [
            *output.columns("id", "received", "status"),
            ("", output.flag("overdue", "OVERDUE", "")),
            *output.columns("from", "author", "department"),
            ("text", lambda row: row["title"] or row["text"]),
        ],
        as_json=args.json,
        width=60,
    )


@INBOX.action("show", ID, parents=[LISTING])
def cmd_inbox_show(session: Session, actor: User, args: argparse.Namespace) -> None:
    """Show one inbox item in full, with how it was handled and the moves you may make."""
    item = inbox.get_item(session, actor=actor, item_id=args.id)
    [view] = inbox.describe(session, [item])
    allowed = inbox.actions_for(actor, item)
    row = {
        **_row(view, actor),
        "author_url": item.author_url,
        "dismiss_reason": item.dismiss_reason,
        "reply_text": item.reply_text,
        "allowed": allowed,
    }
    if args.json:
        output.emit_json(row)
        return
    row["allowed"] = [common.command_name(action) for action in allowed]
    for key, value in row.items():
        if value not in (None, "", []):
            shown = ", ".join(value) if isinstance(value, list) else value
            line(f"{key}: {'yes' if value is True else 'no' if value is False else shown}")


@INBOX.action(
    "assign", ID, arg("--department", required=True, help="the department that answers it")
)
def cmd_inbox_assign(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Assign an inbox item to a department (its members are told)."""
    inbox.assign_item(session, actor=actor, item_id=args.id, department=args.department)
    return f"inbox item {args.id} assigned to {args.department}"


@INBOX.action(
    "reply",
    ID,
    arg("--text", required=True, help="the reply, checked against the channel's limits"),
)
def cmd_inbox_reply(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Reply to an inbox item on its channel (or hold the reply for approval)."""
    item = inbox.reply_to_item(session, actor=actor, item_id=args.id, text=args.text)
    if item.reply_external_id:
        return f"replied to inbox item {args.id}: {item.reply_url or item.reply_external_id}"
    return f"the reply to inbox item {args.id} waits for someone else's approval"


@INBOX.action("approve", ID)
def cmd_inbox_approve(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Approve the reply waiting on an inbox item and send it (not your own reply)."""
    item = inbox.approve_reply(session, actor=actor, item_id=args.id)
    return f"replied to inbox item {args.id}: {item.reply_url or item.reply_external_id}"


@INBOX.action("discard", ID)
def cmd_inbox_discard(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Drop the reply waiting for approval on an inbox item (its writer, or an approver);
    the item can be answered again."""
    inbox.discard_reply(session, actor=actor, item_id=args.id)
    return f"the reply waiting on inbox item {args.id} was discarded"


@INBOX.action("dismiss", ID, arg("--reason", default="", help="optional: why nothing needs doing"))
def cmd_inbox_dismiss(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Dismiss an inbox item, with an optional reason (a reply waiting for approval on it
    is discarded)."""
    dropping = inbox.reply_waits_on(session, actor=actor, item_id=args.id)
    inbox.dismiss_item(session, actor=actor, item_id=args.id, reason=args.reason)
    return f"inbox item {args.id} dismissed" + (_DROPPED if dropping else "")


@INBOX.action("reopen", ID)
def cmd_inbox_reopen(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Bring a dismissed inbox item back as new (its dismissal reason is cleared)."""
    inbox.reopen_item(session, actor=actor, item_id=args.id)
    return f"inbox item {args.id} reopened"


@INBOX.action(
    "to-idea",
    ID,
    arg("--department", help="default: the item's department, else your own"),
    arg("--title", help="default: taken from the item"),
    arg("--pitch", help="default: the item's text, signed with its author"),
)
def cmd_inbox_to_idea(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Make an idea of an inbox item, pre-filled from it and linked back to it (a reply
    waiting for approval on it is discarded)."""
    typed = {"title": args.title, "pitch": args.pitch}
    changes = {name: value for name, value in typed.items() if value is not None}
    dropping = inbox.reply_waits_on(session, actor=actor, item_id=args.id)
    item = inbox.item_to_idea(
        session, actor=actor, item_id=args.id, department=args.department, changes=changes
    )
    return f"inbox item {args.id} became idea {item.idea_id}" + (_DROPPED if dropping else "")


@INBOX.command(
    "fetch",
    [ACTING],
    arg("--once", action="store_true", help="poll once now (the worker polls on its own)"),
)
def cmd_inbox_fetch(args: argparse.Namespace) -> int:
    """Read the listening channels' mentions and the followed feeds now, once (the worker
    reads them every `listening_interval_minutes`)."""
    if not args.once:
        raise CliError("inbox fetch polls once: pass --once (the worker polls on its own)")
    engine = common.migrated_engine()
    with common.session() as session:
        actor = common.actor(session, args)
    result = inbox.poll_now(engine, actor=actor)
    line(f"new items: {result.arrived}; sources read: {result.sources}")
    for source, error in result.errors.items():
        line(f"  {source}: {error}")
    return 1 if result.errors else 0


@INBOX.action("targets", parents=[LISTING])
def cmd_inbox_targets(session: Session, actor: User, args: argparse.Namespace) -> None:
    """Show the organisation's response target and the departments' own targets, in hours
    (admins)."""
    # The dashboard shows the targets to those who may set them: so does the command line.
    require(actor, "manage_departments")
    default = inbox.default_target_hours(session, actor=actor)
    own = inbox.response_targets_by_name(session, actor=actor)
    if args.json:
        output.emit_json({"default_hours": default, "departments": own})
        return
    line(f"default: {_hours(default)} (for departments without a target of their own)")
    output.table(["department", "hours"], list(own.items()))


@INBOX.action(
    "target",
    arg("department", help="the department's name"),
    arg(
        "hours",
        nargs="?",
        type=response_hours,
        help=f"its own target: {inbox.MIN_TARGET_HOURS} to {inbox.MAX_TARGET_HOURS} hours",
    ),
    arg("--default", action="store_true", help="drop its own target: the organisation's again"),
)
def cmd_inbox_target(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Set a department's own response target in hours, or with --default drop it (admins)."""
    if args.hours is not None and args.default:
        raise CliError("give hours or --default, not both")
    if args.hours is None and not args.default:
        raise CliError("give the target in hours, or --default for the organisation's")
    inbox.set_response_target(session, actor=actor, department=args.department, hours=args.hours)
    if args.hours is not None:
        return f"response target of {args.department}: {_hours(args.hours)}"
    default = inbox.default_target_hours(session, actor=actor)
    return f"response target of {args.department}: the organisation's ({_hours(default)})"


@FEEDS.action(
    "add",
    arg("url", help="the feed's http(s) address"),
    arg("--name", default="", help="default: the address"),
    arg("--department", help="the department its entries are assigned to"),
)
def cmd_feeds_add(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Follow an RSS or Atom feed."""
    feed = inbox.add_feed(
        session, actor=actor, url=args.url, name=args.name, department=args.department
    )
    return f"following feed {feed.id}: {feed.name}"


@FEEDS.action("list", parents=[LISTING])
def cmd_feeds_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List the followed feeds, when each was last read and its last error."""
    rows = [
        {
            "id": feed.id,
            "name": feed.name,
            "url": feed.url,
            "department": inbox.feed_department(session, feed),
            "enabled": feed.enabled,
            "last_fetched": format_local(feed.last_fetched_at, actor.timezone)
            if feed.last_fetched_at
            else "",
            "last_error": feed.last_error or "",
        }
        for feed in inbox.list_feeds(session, actor=actor)
    ]
    output.rows(
        rows,
        output.columns("id", "name", "url", "department", "last_fetched", "last_error"),
        as_json=args.json,
    )


@FEEDS.action("remove", ID)
def cmd_feeds_remove(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Stop following a feed (the items it brought stay)."""
    inbox.remove_feed(session, actor=actor, feed_id=args.id)
    return f"no longer following feed {args.id}"
