"""Calendar feeds and tracked links: `calendar-feeds list|create|revoke` and `links list`.

The calendar's filters (`--channel`, `--department`, `--audience`, `--campaign`,
`--status`) are the same for `calendar-feeds create` and `plan export --format ics`.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from sqlmodel import Session

from planner import audiences, calendar_feeds, channels, tracked_links, users
from planner.calendar_feeds import CalendarFilters
from planner.cli import common, output
from planner.cli.common import LISTING, Commands, arg, record_id, repeatable
from planner.models import PostStatus, User
from planner.timezones import format_local

FEEDS = Commands("calendar-feeds", "the plan as a calendar to subscribe to (iCalendar feeds)")
LINKS = Commands("links", "tracked links in published posts and their clicks")
COMMANDS = (FEEDS, LINKS)
# What a calendar shows, as the dashboard's Calendar page filters it.
CALENDAR_FILTERS = (
    arg("--channel", help="only this channel (name or id)"),
    arg("--department", help="only pieces of this department's ideas"),
    arg("--audience", help="only pieces for this audience"),
    arg("--campaign", help="only pieces of this campaign"),
    arg("--status", type=common.enum_type(PostStatus), help="only posts in this status"),
)


def calendar_filters(session: Session, args: argparse.Namespace) -> CalendarFilters:
    """The filters named by the calendar options, each name looked up."""
    return CalendarFilters(
        channel_id=channels.get_channel(session, args.channel).id if args.channel else None,
        department_id=(
            users.get_department(session, args.department).id if args.department else None
        ),
        audience_id=audiences.get_audience(session, args.audience).id if args.audience else None,
        campaign=args.campaign or None,
        status=args.status,
    )


@FEEDS.action(
    "list",
    arg("--everyone", action="store_true", help="every user's feeds (admins)"),
    parents=[LISTING],
)
def cmd_feeds_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List your calendar feeds (the URL is shown only when a feed is made)."""
    rows: list[dict[str, Any]] = [
        output.fields(
            feed, "id", "user_id", "name", "filters", "created_at", "last_fetched_at", "revoked_at"
        )
        for feed in calendar_feeds.list_feeds(session, actor=actor, everyone=args.everyone)
    ]
    output.rows(
        rows,
        [
            *output.columns("id", "name"),
            ("filters", lambda r: ", ".join(f"{k}={v}" for k, v in r["filters"].items())),
            ("last fetched", lambda r: _when(r["last_fetched_at"], actor.timezone)),
            ("state", lambda r: "revoked" if r["revoked_at"] else "active"),
        ],
        as_json=args.json,
    )


def _when(at: datetime | None, tz_name: str) -> str | None:
    """An instant as the other lists show it, in `tz_name` (None: never)."""
    return format_local(at, tz_name) if at else None


@FEEDS.action(
    "create",
    arg("--name", default="", help="how calendar apps name it"),
    *CALENDAR_FILTERS,
    parents=[LISTING],
)
def cmd_feeds_create(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """Make a calendar feed of your plan with the filters given; prints its secret URL once."""
    made = calendar_feeds.create_feed(
        session, actor=actor, name=args.name, filters=calendar_filters(session, args)
    )
    if args.json:
        output.emit_json({"id": made.feed.id, "name": made.feed.name, "url": made.url})
        return None
    return (
        f"created calendar feed {made.feed.id} ({made.feed.name!r}); subscribe to this URL "
        f"(it is shown only now):\n{made.url}"
    )


@FEEDS.action("revoke", arg("feed", type=record_id))
def cmd_feeds_revoke(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Revoke a calendar feed (yours; admins: anyone's): its URL stops working."""
    feed = calendar_feeds.revoke_feed(session, actor=actor, feed_id=args.feed)
    return f"calendar feed {feed.id} revoked"


@LINKS.action(
    "list", repeatable("--post", "only this post's links", type=record_id), parents=[LISTING]
)
def cmd_links_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List tracked links with the post they are in and their clicks."""
    rows = [
        output.fields(link, "post_id", "code", "url", "clicks", "last_click_at")
        for link in tracked_links.list_links(session, actor=actor, post_ids=args.post)
    ]
    output.rows(
        rows, [*output.columns("post_id", "code", "clicks"), ("url", "url")], as_json=args.json
    )
