"""Notifications of the acting user: `notifications list|read`."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from planner import notifications
from planner.cli import output
from planner.cli.common import LISTING, PAGED, Commands, arg, record_id
from planner.cli.output import line
from planner.models import User
from planner.timezones import format_local
from planner.ui.i18n import translate

NOTIFICATIONS = Commands("notifications", "what you were told, and marking it read")
COMMANDS = (NOTIFICATIONS,)


@NOTIFICATIONS.action(
    "list",
    arg("--unread", action="store_true", help="only those not read yet"),
    parents=[LISTING, PAGED],
)
def cmd_notifications_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List your notifications, newest first."""
    found = notifications.list_notifications(
        session, actor=actor, unread_only=args.unread, limit=args.limit or 50
    )
    rows = []
    for item in found:
        n = item.notification
        number = n.object_id if n.object_type == "idea" else item.piece_id
        rows.append(
            {
                "id": n.id,
                "kind": n.kind,
                "read": n.read_at is not None,
                "at": format_local(n.created_at, actor.timezone),
                "object_type": n.object_type,
                "object_id": n.object_id,
                # Said in English, as every command says things.
                "text": translate(
                    "en",
                    f"notifications.kind.{n.kind}",
                    id=number,
                    title=item.title,
                    actor=item.actor,
                ),
                "detail": notifications.detail_text(n, "en", actor.timezone),
            }
        )
    output.rows(
        rows,
        [
            *output.columns("id", "at"),
            ("", output.flag("read", "", "new")),
            ("notification", "text"),
        ],
        as_json=args.json,
        width=100,
    )


@NOTIFICATIONS.action(
    "read", arg("ids", type=record_id, nargs="*", metavar="ID", help="default: all of them")
)
def cmd_notifications_read(session: Session, actor: User, args: argparse.Namespace) -> None:
    """Mark your notifications read (the ones given, or all)."""
    count = notifications.mark_read(session, actor=actor, ids=args.ids or None)
    line(f"{count} notifications marked read")
