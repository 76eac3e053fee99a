"""Target audiences and publishing slots: `audiences list|add|edit|remove|assign` and
`slots list|set|free`."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from planner import audiences, channels, slots
from planner.cli import common, output
from planner.cli.common import ACTING, LISTING, CliError, Commands, acting, arg, record_id
from planner.models import User, utcnow
from planner.timezones import format_local

AUDIENCES = Commands("audiences", "target audiences (Zielgruppen)")
SLOTS = Commands("slots", "each channel's weekly publishing slots")
COMMANDS = (AUDIENCES, SLOTS)
# What reaches and serves an audience: `audiences add` and `audiences edit` take the same.
_LINKS = (
    arg("--description", help="who they are, what they need"),
    arg(
        "--channel",
        action="append",
        metavar="CHANNEL",
        help="a channel that reaches them (repeatable)",
    ),
    arg(
        "--department",
        action="append",
        metavar="DEPARTMENT",
        help="a department that serves them (repeatable)",
    ),
)
free_days = common.whole(1, 366, "a number of days")


@AUDIENCES.command("list", [ACTING, LISTING])
@acting
def cmd_audiences_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List audiences with the channels that reach them and the departments that serve them."""
    rows: list[dict[str, Any]] = [
        {
            "id": v.audience.id,
            "name": v.audience.name,
            "description": v.audience.description,
            "channels": v.channels,
            "departments": v.departments,
        }
        for v in audiences.list_audiences(session, actor=actor)
    ]
    output.rows(
        rows,
        [
            *output.columns("id", "name"),
            ("channels", lambda r: ", ".join(r["channels"])),
            ("departments", lambda r: ", ".join(r["departments"])),
            ("description", "description"),
        ],
        as_json=args.json,
    )


@AUDIENCES.command("add", [ACTING], arg("name"), *_LINKS)
@acting
def cmd_audiences_add(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Add an audience (admins)."""
    made = audiences.create_audience(
        session,
        actor=actor,
        name=args.name,
        description=args.description or "",
        channels=args.channel or [],
        departments=args.department or [],
    )
    return f"created audience {made.name!r} (id {made.id})"


@AUDIENCES.command(
    "edit",
    [ACTING],
    arg("name"),
    arg("--rename", metavar="NEW_NAME", help="give the audience another name"),
    *_LINKS,
    arg("--no-channels", action="store_true", help="no channel reaches them any more"),
    arg("--no-departments", action="store_true", help="no department serves them any more"),
)
@acting
def cmd_audiences_edit(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Change an audience (admins); --channel and --department replace the lists stored."""
    if args.channel and args.no_channels:
        raise CliError("give --channel or --no-channels, not both")
    if args.department and args.no_departments:
        raise CliError("give --department or --no-departments, not both")
    given_channels = [] if args.no_channels else args.channel
    given_departments = [] if args.no_departments else args.department
    if (args.rename, args.description, given_channels, given_departments) == (None,) * 4:
        raise CliError(
            "nothing to change: give --rename, --description, --channel, --department, "
            "--no-channels or --no-departments"
        )
    changed = audiences.update_audience(
        session,
        actor=actor,
        name=args.name,
        new_name=args.rename,
        description=args.description,
        channels=given_channels,
        departments=given_departments,
    )
    return f"changed audience {changed.name!r}"


@AUDIENCES.command("remove", [ACTING], arg("name"))
@acting
def cmd_audiences_remove(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Remove an audience (admins); its ideas and pieces keep their text, not the audience."""
    taken = audiences.remove_audience(session, actor=actor, name=args.name)
    return f"removed audience {args.name.strip()!r} (taken from {taken} idea(s) and piece(s))"


@AUDIENCES.command(
    "assign",
    [ACTING],
    arg("piece", type=record_id),
    arg("audience", help="the audience's name, or '' for none"),
)
@acting
def cmd_audiences_assign(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Name the audience a piece is for (editors)."""
    piece = audiences.set_piece_audience(
        session, actor=actor, piece_id=args.piece, audience=args.audience
    )
    shown = repr(args.audience.strip()) if piece.audience_id is not None else "no audience"
    return f"piece {piece.id} is for {shown}"


@SLOTS.command("list", [ACTING, LISTING])
@acting
def cmd_slots_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List each channel's weekly slots (in the organisation's time zone)."""
    plans = slots.slot_plans(session, actor=actor)
    tz_name = slots.org_timezone(session)
    rows: list[dict[str, Any]] = [
        {
            "channel": c.name,
            "slots": [str(s) for s in plans.get(c.id or 0, [])],
            "timezone": tz_name,
        }
        for c in channels.list_channels(session, actor=actor)
    ]
    output.rows(
        rows,
        [("channel", "channel"), ("slots", lambda r: ", ".join(r["slots"]) or "-")],
        as_json=args.json,
        width=70,
    )


@SLOTS.command(
    "set",
    [ACTING],
    arg("channel", help="the channel's name or id"),
    arg("slots", help="e.g. 'Tue 09:30, Thu 09:30' or 'Di/Do 9:30'; '' removes them"),
)
@acting
def cmd_slots_set(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Set a channel's weekly slots in the organisation's time zone (admins)."""
    plan = slots.set_slot_plan(session, actor=actor, channel=args.channel, slots=args.slots)
    shown = slots.format_slot_plan(plan) or "no slots"
    return f"channel {args.channel.strip()!r}: {shown} ({slots.org_timezone(session)})"


@SLOTS.command(
    "free",
    [ACTING, LISTING],
    arg("channel", help="the channel's name or id"),
    arg("--days", type=free_days, default=14, help="how many days ahead (default 14)"),
)
@acting
def cmd_slots_free(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List a channel's free slots from now, in your time zone."""
    start = utcnow()
    free = slots.free_slots(
        session,
        actor=actor,
        channel=args.channel,
        start=start,
        end=start + timedelta(days=args.days),
    )
    name = channels.get_channel(session, args.channel).name
    rows: list[dict[str, Any]] = [
        {"channel": name, "at": format_local(at, actor.timezone), "at_utc": at} for at in free
    ]
    output.rows(rows, [("free slot", "at")], as_json=args.json)
