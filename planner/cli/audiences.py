"""Target audiences and publishing slots: `audiences list|add|edit|remove|assign` and
`slots list|set|free`."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from sqlmodel import Session

from planner import audiences, channels, slots
from planner.cli import common, output
from planner.cli.common import (
    CHANNEL,
    LISTING,
    PIECE,
    CliError,
    Commands,
    arg,
    repeatable,
)
from planner.models import User, utcnow

AUDIENCES = Commands("audiences", "target audiences (Zielgruppen)")
SLOTS = Commands("slots", "each channel's weekly publishing slots")
COMMANDS = (AUDIENCES, SLOTS)
# What reaches and serves an audience: `audiences add` and `audiences edit` take the same.
_LINKS = (
    arg("--description", help="who they are, what they need"),
    repeatable("--channel", "a channel that reaches them", metavar="CHANNEL"),
    repeatable("--department", "a department that serves them", metavar="DEPARTMENT"),
)
free_days = common.whole(1, 366, "a number of days")


@AUDIENCES.action("list", parents=[LISTING])
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


@AUDIENCES.action("add", arg("name"), *_LINKS)
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


@AUDIENCES.action(
    "edit",
    arg("name"),
    arg("--rename", metavar="NEW_NAME", help="give the audience another name"),
    *_LINKS,
    arg("--no-channels", action="store_true", help="no channel reaches them any more"),
    arg("--no-departments", action="store_true", help="no department serves them any more"),
)
def cmd_audiences_edit(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Change an audience (admins); --channel and --department replace the lists stored."""
    changes = {
        "new_name": args.rename,
        "description": args.description,
        "channels": _replacing(args.channel, args.no_channels, "channel"),
        "departments": _replacing(args.department, args.no_departments, "department"),
    }
    if all(value is None for value in changes.values()):
        raise CliError(
            "nothing to change: give --rename, --description, --channel, --department, "
            "--no-channels or --no-departments"
        )
    changed = audiences.update_audience(session, actor=actor, name=args.name, **changes)
    return f"changed audience {changed.name!r}"


def _replacing(given: list[str] | None, clear: bool, option: str) -> list[str] | None:
    """The list `audiences edit` stores for --`option` (repeated) or --no-`option`s: the
    names given, none, or None to keep the list stored."""
    if given and clear:
        raise CliError(f"give --{option} or --no-{option}s, not both")
    return [] if clear else given


@AUDIENCES.action("remove", arg("name"))
def cmd_audiences_remove(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Remove an audience (admins); its ideas and pieces keep their text, not the audience."""
    taken = audiences.remove_audience(session, actor=actor, name=args.name)
    return f"removed audience {args.name.strip()!r} (taken from {taken} idea(s) and piece(s))"


@AUDIENCES.action("assign", PIECE, arg("audience", help="the audience's name, or '' for none"))
def cmd_audiences_assign(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Name the audience a piece is for (editors)."""
    piece = audiences.set_piece_audience(
        session, actor=actor, piece_id=args.piece, audience=args.audience
    )
    shown = repr(args.audience.strip()) if piece.audience_id is not None else "no audience"
    return f"piece {piece.id} is for {shown}"


@SLOTS.action("list", parents=[LISTING])
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


@SLOTS.action(
    "set",
    CHANNEL,
    arg("slots", help="e.g. 'Tue 09:30, Thu 09:30' or 'Di/Do 9:30'; '' removes them"),
)
def cmd_slots_set(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Set a channel's weekly slots in the organisation's time zone (admins)."""
    plan = slots.set_slot_plan(session, actor=actor, channel=args.channel, slots=args.slots)
    shown = slots.format_slot_plan(plan) or "no slots"
    return f"channel {args.channel.strip()!r}: {shown} ({slots.org_timezone(session)})"


@SLOTS.action(
    "free",
    CHANNEL,
    arg("--days", type=free_days, default=14, help="how many days ahead (default 14)"),
    parents=[LISTING],
)
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
        {"channel": name, **output.moment("at", at, actor.timezone)} for at in free
    ]
    output.rows(rows, [("free slot", "at")], as_json=args.json)
