"""Publishing channels: `channels list|add|edit|test|disable`."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping, Sequence
from types import EllipsisType
from typing import Any

from sqlmodel import Session

from planner import channels
from planner.cli import common, output
from planner.cli.common import ACTING, LISTING, SECRET, CliError, Commands, arg, repeatable
from planner.cli.output import line
from planner.models import Channel, User
from planner.permissions import can, require

CHANNELS = Commands("channels", "publishing channels")
COMMANDS = (CHANNELS,)
# Settings and secrets: `channels add` and `channels edit` take the same.
_SETTINGS = (
    repeatable("--set", "a setting", metavar="KEY=VALUE"),
    repeatable("--secret", "a secret setting, read from a prompt or standard input", metavar="KEY"),
)


@CHANNELS.action("list", parents=[LISTING])
def cmd_channels_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List channels (settings for admins; secrets only say whether they are set)."""
    # Settings (addresses, accounts) are shown where the dashboard shows them: to admins.
    settings = can(actor, "manage_channels")
    rows: list[dict[str, Any]] = [
        {
            "id": c.id,
            "name": c.name,
            "kind": c.kind,
            "enabled": c.enabled,
            "needs_reconnect": c.needs_reconnect,
            "daily_cap": c.daily_cap,
            **(
                {
                    "settings": channels.public_view(c),
                    # Saved under another key (a database restored elsewhere).
                    "secrets_unreadable": channels.secrets_unreadable(c),
                }
                if settings
                else {}
            ),
        }
        for c in channels.list_channels(session, actor=actor)
    ]
    output.rows(
        rows,
        [
            *output.columns("id", "name", "kind"),
            ("enabled", output.flag("enabled", "yes", "no")),
            ("state", _state),
            ("settings", lambda r: ", ".join(f"{k}={v}" for k, v in r.get("settings", {}).items())),
        ],
        as_json=args.json,
        width=70,
    )
    unreadable = [r["name"] for r in rows if r.get("secrets_unreadable")]
    if unreadable and not args.json:
        line(_unreadable_hint(unreadable))


def _state(row: Mapping[str, Any]) -> str:
    if row.get("secrets_unreadable"):
        return "secrets unreadable"
    return "needs reconnect" if row["needs_reconnect"] else "ok"


def _unreadable_hint(names: Sequence[str]) -> str:
    """What to do about channels whose secrets were saved under another key."""
    return (
        f"the secrets of {', '.join(repr(n) for n in names)} cannot be read: they were saved "
        "under another PLANNER_SECRET_KEY (or key file); enter them again with "
        "`python -m planner channels edit NAME --secret SETTING`"
    )


def _settings_args(pairs: Sequence[str]) -> dict[str, str]:
    settings: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"{pair.split('=')[0]!r}: write --set KEY=VALUE")
        settings[key.strip()] = value
    return settings


def _secret_names(names: Sequence[str]) -> list[str]:
    for name in names:
        if "=" in name:
            # Never echo the part after "=": it may be the secret itself.
            raise CliError(
                f"--secret {name.split('=')[0]!r}: give only the setting's name; its value "
                "is read from a prompt or standard input, never from the command line "
                "(where other users and the shell history would see it)"
            )
        if not name.strip():
            raise CliError("--secret needs a setting's name")
    return [name.strip() for name in names]


def _read_secrets(args: argparse.Namespace, names: Sequence[str]) -> dict[str, str]:
    return {name: common.read_password(args, f"{name}: ") for name in names}


def _settings_shown(view: Mapping[str, Any]) -> None:
    for key, value in view.items():
        line(f"  {key} = {value}")


@CHANNELS.command(
    "add",
    [ACTING, SECRET],
    arg("kind", help="channel kind, e.g. webhook"),
    arg("name"),
    *_SETTINGS,
    arg("--daily-cap", type=common.daily_cap),
)
def cmd_channels_add(args: argparse.Namespace) -> int:
    """Add a channel (admins)."""
    settings = _settings_args(args.set or [])
    # Who acts first, so that nobody types a secret for nothing.
    with common.session() as session:
        require(common.actor(session, args), "manage_channels")
    settings.update(_read_secrets(args, _secret_names(args.secret or [])))
    with common.session() as session:
        channel = channels.create_channel(
            session,
            actor=common.actor(session, args),
            kind=args.kind,
            name=args.name,
            settings=settings,
            daily_cap=args.daily_cap,
        )
        view = channels.public_view(channel)
    line(f"created {channel.kind} channel {channel.name!r} (id {channel.id})")
    _settings_shown(view)
    return 0


@CHANNELS.command(
    "edit",
    [ACTING, SECRET],
    arg("name", help="the channel's name or id"),
    *_SETTINGS,
    arg("--rename", metavar="NEW_NAME", help="give the channel another name"),
    arg("--daily-cap", type=common.daily_cap, help="at most this many posts a day"),
    arg("--no-daily-cap", action="store_true", help="remove the daily cap"),
)
def cmd_channels_edit(args: argparse.Namespace) -> int:
    """Change a channel's settings, secrets, name or daily cap (admins)."""
    settings = _settings_args(args.set or [])
    secrets = _secret_names(args.secret or [])
    daily_cap: int | EllipsisType | None = ... if args.daily_cap is None else args.daily_cap
    if args.no_daily_cap:
        if args.daily_cap is not None:
            raise CliError("give --daily-cap N or --no-daily-cap, not both")
        daily_cap = None
    cap_given = args.daily_cap is not None or args.no_daily_cap
    if not (settings or secrets or args.rename is not None or cap_given):
        raise CliError(
            "nothing to change: give --set, --secret, --rename, --daily-cap or --no-daily-cap"
        )
    # Who acts and which channel first, so that nobody types a secret for nothing.
    with common.session() as session:
        common.actor(session, args)
        channels.get_channel(session, args.name)
    settings.update(_read_secrets(args, secrets))
    with common.session() as session:
        channel: Channel = channels.update_channel(
            session,
            actor=common.actor(session, args),
            ref=args.name,
            name=args.rename,
            settings=settings or None,
            daily_cap=daily_cap,
        )
        view = channels.public_view(channel)
        unreadable = channels.secrets_unreadable(channel)
    line(f"channel {channel.name!r} updated")
    _settings_shown(view)
    if unreadable:
        line(_unreadable_hint([channel.name]))
    if channel.needs_reconnect:
        line(
            "it still needs reconnecting: test it with "
            f"`python -m planner channels test {shlex.quote(channel.name)}`"
        )
    return 0


@CHANNELS.action("test", arg("name"))
def cmd_channels_test(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Check that a channel answers and accepts its credentials."""
    answer = channels.check_connection(session, actor=actor, ref=args.name)
    return f"{args.name}: {answer}"


@CHANNELS.action("disable", arg("name"), arg("--enable", action="store_true"))
def cmd_channels_disable(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Disable a channel (or --enable it again)."""
    channel = channels.set_enabled(session, actor=actor, ref=args.name, enabled=args.enable)
    return f"channel {channel.name!r} {'enabled' if channel.enabled else 'disabled'}"
