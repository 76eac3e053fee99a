"""Accounts and departments: `users ...` and `departments ...`."""

from __future__ import annotations

import argparse

from planner import users
from planner.cli import common, output
from planner.cli.common import ACTING, LISTING, SECRET, CliError, command, group
from planner.cli.output import line
from planner.config import load_settings


def register(sub: common.Subparsers) -> None:
    """Add the `users` and `departments` groups."""
    g = group(sub, "users", "manage accounts (admins)")
    p = command(g, "add", cmd_users_add, [ACTING, SECRET])
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=["contributor", "editor", "approver", "admin"])
    p.add_argument("--department", help="required for contributors")
    p.add_argument("--display-name")
    p.add_argument("--email")
    p.add_argument("--locale", default="de", choices=["de", "en"])
    p.add_argument("--timezone", help="IANA zone (default: PLANNER_TIMEZONE or Europe/Berlin)")
    command(g, "list", cmd_users_list, [ACTING, LISTING])
    p = command(g, "passwd", cmd_users_passwd, [ACTING, SECRET])
    p.add_argument("username")
    p = command(g, "email", cmd_users_email, [ACTING])
    p.add_argument("username")
    p.add_argument("address", nargs="?")
    p.add_argument("--remove", action="store_true", help="remove the account's e-mail address")
    p = command(g, "unlock", cmd_users_unlock, [ACTING])
    p.add_argument("username")
    p.add_argument(
        "--client",
        metavar="ADDRESS",
        help="also forget the failed sign-ins counted for this client IP address",
    )
    p = command(g, "disable", cmd_users_disable, [ACTING])
    p.add_argument("username")
    p.add_argument("--enable", action="store_true", help="enable the account again")

    g = group(sub, "departments", "departments that submit ideas")
    p = command(g, "add", cmd_departments_add, [ACTING])
    p.add_argument("name")
    command(g, "list", cmd_departments_list, [ACTING, LISTING])


def cmd_users_add(args: argparse.Namespace) -> int:
    """Add an account (the very first must be an admin)."""
    with common.session() as session:
        actor = None if not users.user_count(session) else common.actor(session, args)
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


def cmd_users_list(args: argparse.Namespace) -> int:
    """List accounts."""
    with common.session() as session:
        actor = common.actor(session, args)
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
            ("id", "id"),
            ("username", "username"),
            ("name", "name"),
            ("role", "role"),
            ("department", "department"),
            ("disabled", lambda r: "yes" if r["disabled"] else ""),
        ],
        as_json=args.json,
    )
    return 0


def cmd_users_passwd(args: argparse.Namespace) -> int:
    """Set a password (and forget the account's failed sign-ins)."""
    with common.session() as session:
        actor = common.actor(session, args)
        password = common.read_password(args, f"New password for {args.username}: ")
        users.set_password(session, actor=actor, username=args.username, password=password)
        line(f"password of {args.username!r} changed")
    return 0


def cmd_users_email(args: argparse.Namespace) -> int:
    """Set the e-mail address single sign-on matches the account by (or --remove it)."""
    with common.session() as session:
        actor = common.actor(session, args)
        if args.remove == bool(args.address):
            raise CliError("give either the e-mail ADDRESS or --remove")
        address = None if args.remove else args.address
        user = users.set_email(session, actor=actor, username=args.username, email=address)
        line(f"e-mail of {user.username!r}: {user.email or '(none)'}")
    return 0


def cmd_users_unlock(args: argparse.Namespace) -> int:
    """Forget an account's failed sign-ins, so its next try need not wait."""
    with common.session() as session:
        actor = common.actor(session, args)
        cleared = users.unlock(session, actor=actor, username=args.username, client=args.client)
        name = repr(args.username)
        if cleared:
            also = " and for that client address" if args.client else ""
            line(f"forgot the failed sign-ins counted for {name}{also}")
        else:
            also = " or for that client address" if args.client else ""
            line(f"nothing to forget: no failed sign-ins counted for {name}{also}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    """Disable an account (or --enable it again)."""
    with common.session() as session:
        actor = common.actor(session, args)
        user = users.set_disabled(
            session, actor=actor, username=args.username, disabled=not args.enable
        )
        line(f"{user.username!r} {'disabled' if user.disabled else 'enabled'}")
    return 0


def cmd_departments_add(args: argparse.Namespace) -> int:
    """Add a department (admins)."""
    with common.session() as session:
        dep = users.create_department(session, actor=common.actor(session, args), name=args.name)
        line(f"created department {dep.name!r} (id {dep.id})")
    return 0


def cmd_departments_list(args: argparse.Namespace) -> int:
    """List departments."""
    with common.session() as session:
        actor = common.actor(session, args)
        rows = [{"id": d.id, "name": d.name} for d in users.list_departments(session, actor=actor)]
    output.rows(rows, [("id", "id"), ("name", "name")], as_json=args.json)
    return 0
