"""Organisation settings: `settings list|set`."""

from __future__ import annotations

import argparse

from planner import org_settings
from planner.cli import common, output
from planner.cli.common import ACTING, LISTING, command, group
from planner.cli.output import line


def register(sub: common.Subparsers) -> None:
    """Add the `settings` group."""
    g = group(sub, "settings", "organisation settings")
    command(g, "list", cmd_settings_list, [ACTING, LISTING])
    p = command(g, "set", cmd_settings_set, [ACTING])
    p.add_argument("key", choices=list(org_settings.SPECS))
    p.add_argument("value")


def cmd_settings_list(args: argparse.Namespace) -> int:
    """Show the settings (admins)."""
    with common.session() as session:
        values = org_settings.all_settings(session, actor=common.actor(session, args))
    if args.json:
        output.emit_json(values)  # one object, key -> value
        return 0
    output.rows(
        [{"key": k, "value": v, "meaning": org_settings.SPECS[k].help} for k, v in values.items()],
        [("key", "key"), ("value", "value"), ("meaning", "meaning")],
        as_json=False,
        width=60,
    )
    return 0


def cmd_settings_set(args: argparse.Namespace) -> int:
    """Change a setting (admins)."""
    with common.session() as session:
        value = org_settings.set_setting(
            session, actor=common.actor(session, args), key=args.key, value=args.value
        )
    line(f"{args.key} = {value}")
    return 0
