"""Organisation settings: `settings list|set`."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from planner import org_settings
from planner.cli import output
from planner.cli.common import LISTING, Commands, arg
from planner.models import User

SETTINGS = Commands("settings", "organisation settings")
COMMANDS = (SETTINGS,)


@SETTINGS.action("list", parents=[LISTING])
def cmd_settings_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """Show the settings in force and where each comes from (admins)."""
    in_force = org_settings.effective_settings(session, actor=actor)
    if args.json:
        output.emit_json({item.key: item.value for item in in_force})  # one object, key -> value
        return
    output.rows(
        [
            {
                "key": item.key,
                "value": item.value,
                "source": item.origin,
                "meaning": org_settings.SPECS[item.key].help,
            }
            for item in in_force
        ],
        output.columns("key", "value", "source", "meaning"),
        as_json=False,
        width=60,
    )


@SETTINGS.action("set", arg("key", choices=list(org_settings.SPECS)), arg("value"))
def cmd_settings_set(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Change a setting (admins)."""
    value = org_settings.set_setting(session, actor=actor, key=args.key, value=args.value)
    return f"{args.key} = {value}"
