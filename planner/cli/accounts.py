"""Accounts and departments: `users ...` and `departments ...`."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from planner import users
from planner.cli import common, output
from planner.cli.common import ACTING, LISTING, SECRET, CliError, Commands, arg
from planner.cli.output import line
from planner.config import load_settings
from planner.models import User
from planner.permissions import require

USERS = Commands("users", "manage accounts (admins)")
DEPARTMENTS = Commands("departments", "departments that submit ideas")
COMMANDS = (USERS, DEPARTMENTS)


@USERS.command(
    "add",
    [ACTING, SECRET],
    arg("username"),
    arg("--role", required=True, choices=["contributor", "editor", "approver", "admin"]),
    arg("--department", help="required for contributors"),
    arg("--display-name"),
    arg("--email"),
    arg("--locale", default="de", choices=["de", "en"]),
    arg("--timezone", help="IANA zone (default: PLANNER_TIMEZONE or Europe/Berlin)"),
)
def cmd_users_add(args: argparse.Namespace) -> int:
    """Add an account (the very first must be an admin)."""
    with common.session() as session:
        actor = None if not users.user_count(session) else common.actor(session, args)
        if actor is not None:
            require(actor, "manage_users")  # before anyone types a password for nothing
        password = common.read_password(args, f"Password for {args.username}: ")
        user = users.create_user(
            session,
            actor=actor,
            data={
                "username": args.username,
                "display_name": args.display_name or args.username,
                "role": args.role,
                "department": args.department,
                "email": args.email,
                "password": password,
                "locale": args.locale,
                "timezone": args.timezone or load_settings().default_timezone,
            },
        )
        line(f"created {user.role.value} {user.username!r} (id {user.id})")
    return 0


@USERS.action("list", parents=[LISTING])
def cmd_users_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List accounts."""
    found = users.list_users(session, actor=actor)
    deps = users.department_names(session, actor=actor)
    rows = [
        {
            "id": u.id,
            "username": u.username,
            "name": u.display_name,
            "role": u.role.value,
            "department": deps.get(u.department_id) if u.department_id else None,
            "locale": u.locale,
            "timezone": u.timezone,
            "disabled": u.disabled,
        }
        for u in found
    ]
    output.rows(
        rows,
        [
            *output.columns("id", "username", "name", "role", "department"),
            ("disabled", output.flag("disabled", "yes", "")),
        ],
        as_json=args.json,
    )


@USERS.action("passwd", arg("username"), parents=[SECRET])
def cmd_users_passwd(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Set a password (and forget the account's failed sign-ins)."""
    if users.get_user(session, args.username).id != actor.id:
        require(actor, "manage_users")  # before anyone types a password for nothing
    password = common.read_password(args, f"New password for {args.username}: ")
    users.set_password(session, actor=actor, username=args.username, password=password)
    return f"password of {args.username!r} changed"


@USERS.action(
    "email",
    arg("username"),
    arg("address", nargs="?"),
    arg("--remove", action="store_true", help="remove the account's e-mail address"),
)
def cmd_users_email(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Set the e-mail address single sign-on matches the account by (or --remove it)."""
    if args.remove == bool(args.address):
        raise CliError("give either the e-mail ADDRESS or --remove")
    address = None if args.remove else args.address
    user = users.set_email(session, actor=actor, username=args.username, email=address)
    return f"e-mail of {user.username!r}: {user.email or '(none)'}"


@USERS.action(
    "unlock",
    arg("username"),
    arg(
        "--client",
        metavar="ADDRESS",
        help="also forget the failed sign-ins counted for this client IP address",
    ),
)
def cmd_users_unlock(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Forget an account's failed sign-ins, so its next try need not wait."""
    cleared = users.unlock(session, actor=actor, username=args.username, client=args.client)
    name = repr(args.username)
    if cleared:
        also = " and for that client address" if args.client else ""
        return f"forgot the failed sign-ins counted for {name}{also}"
    also = " or for that client address" if args.client else ""
    return f"nothing to forget: no failed sign-ins counted for {name}{also}"


@USERS.action(
    "disable",
    arg("username"),
    arg("--enable", action="store_true", help="enable the account again"),
)
def cmd_users_disable(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Disable an account (or --enable it again)."""
    user = users.set_disabled(
        session, actor=actor, username=args.username, disabled=not args.enable
    )
    return f"{user.username!r} {'disabled' if user.disabled else 'enabled'}"


@DEPARTMENTS.action("add", arg("name"))
def cmd_departments_add(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Add a department (admins)."""
    dep = users.create_department(session, actor=actor, name=args.name)
    return f"created department {dep.name!r} (id {dep.id})"


@DEPARTMENTS.action("list", parents=[LISTING])
def cmd_departments_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List departments."""
    rows = [{"id": d.id, "name": d.name} for d in users.list_departments(session, actor=actor)]
    output.rows(rows, output.columns("id", "name"), as_json=args.json)
