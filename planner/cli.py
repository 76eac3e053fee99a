"""`python -m planner`: the command line, on the same service functions as the dashboard.

Actions on behalf of a user take `--as USERNAME` (or PLANNER_USER) and pass the same
permission checks as in the dashboard. Whoever can run this command can read the database
directly, so `--as` asks for no password; the dashboard signs users in.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from types import EllipsisType
from typing import IO, Any

from sqlalchemy import Engine, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, SQLModel, select

from planner import audit, channels, csvio, ideas, org_settings, pieces, planning, users
from planner.config import DATA_DIR, load_settings
from planner.db import get_engine, session_scope
from planner.errors import (
    ConfigurationError,
    CsvImportFailed,
    EditConflict,
    NotFound,
    NothingToRestore,
    PlannerError,
    ValidationFailed,
)
from planner.migrate import current_revision, head_revision, upgrade
from planner.models import (
    Channel,
    Department,
    IdeaStatus,
    PieceStatus,
    Post,
    PostStatus,
    Urgency,
    User,
)
from planner.permissions import can
from planner.schemas import ID_MAX, id_problem, text_problem
from planner.timezones import format_local, parse_day_bound

Handler = Callable[[argparse.Namespace], int]


class CliError(Exception):
    """A problem with how the command was called (exit code 2)."""


# --- output -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, SQLModel):
        return {k: _plain(v) for k, v in value.model_dump().items()}
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _emit_json(data: Any) -> None:
    print(json.dumps(_plain(data), ensure_ascii=False, indent=2))


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, width: int = 48) -> None:
    cells = [[_short(v, width) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for r in cells:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if not rows:
        print("(none)")


def _short(value: Any, width: int) -> str:
    if value is None:
        return "-"
    text = value.value if isinstance(value, Enum) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --- plumbing ---------------------------------------------------------------------------


def _engine() -> Engine:
    return get_engine()


def _require_migrated(engine: Engine) -> None:
    try:
        current = current_revision(engine)
    except (OperationalError, ProgrammingError) as err:
        raise ConfigurationError(f"cannot open the database: {err.orig}") from err
    head = head_revision(engine)
    if current is None:
        raise ConfigurationError(
            "the database is not initialised yet: run `python -m planner init` "
            "(or `python -m planner demo` for demo data)"
        )
    if current != head:
        raise ConfigurationError(
            f"the database schema is at {current}, this planner needs {head}: "
            "run `python -m planner migrate`"
        )


@contextmanager
def _session() -> Any:
    engine = _engine()
    _require_migrated(engine)
    with session_scope(engine) as session:
        yield session


def _actor(session: Session, args: argparse.Namespace) -> User:
    name = getattr(args, "as_user", None) or os.environ.get("PLANNER_USER")
    if not name:
        raise CliError("say who acts: --as USERNAME (or set PLANNER_USER)")
    try:
        user = users.get_user(session, name)
    except NotFound as err:
        raise CliError(f"no user {name!r}; `python -m planner users list --as ADMIN`") from err
    if user.disabled:
        raise CliError(f"user {name!r} is disabled")
    return user


def _read_password(args: argparse.Namespace, prompt: str = "Password: ") -> str:
    if getattr(args, "password_stdin", False) or not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line:
            raise CliError("no password on standard input")
        return line.rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Repeat: ") != first:
        raise CliError("the passwords differ")
    return first


def _read_file(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise CliError(f"cannot read {path!r}: {err.strerror}") from err


def _read_text(path: str) -> str:
    try:
        return _read_file(path).decode("utf-8")
    except UnicodeDecodeError as err:
        raise CliError(f"{path!r} is not UTF-8 text") from err


def _read_csv(path: str) -> bytes:
    """A CSV file to import; one over `csvio.MAX_BYTES` is refused before it is read."""
    if path == "-":
        raw = sys.stdin.buffer.read(csvio.MAX_BYTES + 1)
        csvio.check_size(len(raw))
        return raw
    try:
        size = Path(path).stat().st_size
    except OSError as err:
        raise CliError(f"cannot read {path!r}: {err.strerror}") from err
    csvio.check_size(size)
    return _read_file(path)


def _export(path: str, write: Callable[[IO[str]], int]) -> int:
    """Run an export into standard output (-) or, replacing it only when done, a file."""
    if path == "-":
        return write(sys.stdout)
    return csvio.write_export(path, write)


def _enum(cls: type[Enum]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return cls(text)
        except ValueError as err:
            choices = ", ".join(str(m.value) for m in cls)
            raise argparse.ArgumentTypeError(f"{text!r} is not one of: {choices}") from err

    convert.__name__ = cls.__name__
    return convert


def _when(actor: User, text: str | None, *, end: bool = False) -> datetime | None:
    return None if not text else parse_day_bound(text, actor.timezone, end=end)


# --- init, migrate, demo ------------------------------------------------------------------


def _migration_engine() -> Engine:
    """The database owner's engine when migrations run as a role of their own."""
    return get_engine(load_settings().migration_database_url)


def cmd_migrate(args: argparse.Namespace) -> int:
    engine = _migration_engine()
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    print(
        f"database schema: {before or 'empty'} -> {after}"
        if before != after
        else f"database schema is up to date ({after})"
    )
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    cmd_migrate(args)
    with session_scope(_engine()) as session:
        if users.user_count(session):
            print("accounts exist already; nothing else to do")
            return 0
        if not args.admin:
            print(
                "no accounts yet: create the first admin with "
                "`python -m planner init --admin USERNAME`"
            )
            return 0
        password = _read_password(args, f"Password for {args.admin}: ")
        users.create_user(
            session,
            actor=None,
            data={
                "username": args.admin,
                "display_name": args.display_name or args.admin,
                "role": "admin",
                "password": password,
            },
        )
        print(f"created admin {args.admin!r}")
    return 0


def _logins_file() -> Path | None:
    """Where the demo logins are kept: next to the SQLite file (nowhere for PostgreSQL)."""
    url = make_url(load_settings().database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).resolve().parent / "demo-logins.txt"


def cmd_demo(args: argparse.Namespace) -> int:
    from planner.demo import load_demo

    upgrade(_migration_engine())
    engine = _engine()
    with session_scope(engine) as session:
        if users.user_count(session):
            if args.if_empty:
                print("The database already holds data; no demo data loaded.")
                logins_file = _logins_file()
                if logins_file is not None and logins_file.exists():
                    print(f"Demo logins (from {logins_file}):")
                    print(logins_file.read_text(encoding="utf-8"), end="")
                return 0
            raise CliError(
                "the database already holds data; demo data goes into an empty database "
                "(use --if-empty to skip quietly, or point PLANNER_DATABASE_URL elsewhere)"
            )
        result = load_demo(session, password=args.password, size=args.size)
    headers = ["username", "role", "department", "password (demo only)"]
    rows = [
        [login.username, login.role.value, login.department or "-", login.password]
        for login in result.logins
    ]
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers) - 1)]
    text = "".join(
        "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1] + "\n"
        for r in [headers, *rows]
    )
    print("Demo data loaded: " + ", ".join(f"{v} {k}" for k, v in result.counts.items()))
    if result.disabled_channels:
        print(
            "Disabled, as the demo has no credentials for their invented accounts (their "
            f"posts are held, never sent): {', '.join(result.disabled_channels)}"
        )
    print("Demo logins - for trying the planner only, never for real use:")
    print(text, end="")
    logins_file = _logins_file()
    if logins_file is not None:
        logins_file.parent.mkdir(parents=True, exist_ok=True)
        logins_file.write_text(text, encoding="utf-8")
        logins_file.chmod(0o600)
        print(f"(kept in {logins_file})")
    return 0


# --- users and departments ----------------------------------------------------------------


def cmd_users_add(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = None if not users.user_count(session) else _actor(session, args)
        password = _read_password(args, f"Password for {args.username}: ")
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
        print(f"created {user.role.value} {user.username!r} (id {user.id})")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        found = users.list_users(session, actor=actor)
        deps = {d.id: d.name for d in session.exec(select(Department))}
        rows = [
            {
                "id": u.id,
                "username": u.username,
                "name": u.display_name,
                "role": u.role.value,
                "department": deps.get(u.department_id),
                "locale": u.locale,
                "timezone": u.timezone,
                "disabled": u.disabled,
            }
            for u in found
        ]
    if args.json:
        _emit_json(rows)
    else:
        _table(
            ["id", "username", "name", "role", "department", "disabled"],
            [
                [
                    r["id"],
                    r["username"],
                    r["name"],
                    r["role"],
                    r["department"],
                    "yes" if r["disabled"] else "",
                ]
                for r in rows
            ],
        )
    return 0


def cmd_users_passwd(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        password = _read_password(args, f"New password for {args.username}: ")
        users.set_password(session, actor=actor, username=args.username, password=password)
        print(f"password of {args.username!r} changed")
    return 0


def cmd_users_email(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        if args.remove == bool(args.address):
            raise CliError("give either the e-mail ADDRESS or --remove")
        address = None if args.remove else args.address
        user = users.set_email(session, actor=actor, username=args.username, email=address)
        print(f"e-mail of {user.username!r}: {user.email or '(none)'}")
    return 0


def cmd_users_unlock(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        cleared = users.unlock(session, actor=actor, username=args.username, client=args.client)
        name = repr(args.username)
        if cleared:
            also = " and for that client address" if args.client else ""
            print(f"forgot the failed sign-ins counted for {name}{also}")
        else:
            also = " or for that client address" if args.client else ""
            print(f"nothing to forget: no failed sign-ins counted for {name}{also}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        user = users.set_disabled(
            session, actor=actor, username=args.username, disabled=not args.enable
        )
        print(f"{user.username!r} {'disabled' if user.disabled else 'enabled'}")
    return 0


def cmd_departments_add(args: argparse.Namespace) -> int:
    with _session() as session:
        dep = users.create_department(session, actor=_actor(session, args), name=args.name)
        print(f"created department {dep.name!r} (id {dep.id})")
    return 0


def cmd_departments_list(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        rows = [{"id": d.id, "name": d.name} for d in users.list_departments(session, actor=actor)]
    if args.json:
        _emit_json(rows)
    else:
        _table(["id", "name"], [[r["id"], r["name"]] for r in rows])
    return 0


# --- ideas ------------------------------------------------------------------------------


def cmd_ideas_submit(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        department = args.department
        if department is None and actor.department_id is not None:
            dep = session.get(Department, actor.department_id)
            department = dep.name if dep else None
        data: dict[str, Any] = {
            "title": args.title,
            "pitch": args.pitch,
            "department": department or "",
            "target_audience": args.audience,
            "goal": args.goal,
            "urgency": args.urgency,
            "tags": args.tags,
        }
        if args.url:
            data["source_url"] = args.url
        result = ideas.submit_idea(session, actor=actor, data=data)
    print(f"submitted idea {result.idea.id}: {result.idea.title}")
    if result.similar:
        print("It looks like these existing ideas - an editor may merge it:")
        for s in result.similar:
            print(f"  #{s.id} [{s.status.value}, {s.department}] {s.title} (similarity {s.score})")
    return 0


def cmd_ideas_list(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        found = ideas.list_ideas(
            session,
            actor=actor,
            status=args.status,
            department=args.department,
            urgency=args.urgency,
            tag=args.tag,
            mine=args.mine,
            limit=args.limit,
        )
        deps = {d.id: d.name for d in session.exec(select(Department))}
        rows = [
            {
                "id": i.id,
                "title": i.title,
                "department": deps.get(i.department_id),
                "status": i.status.value,
                "urgency": i.urgency.value,
                "tags": i.tags,
                "rejection_reason": i.rejection_reason,
                "merged_into": i.merged_into_id,
                "created_at": format_local(i.created_at, actor.timezone),
            }
            for i in found
        ]
    if args.json:
        _emit_json(rows)
    else:
        _table(
            ["id", "status", "urgency", "department", "title", "created"],
            [
                [r["id"], r["status"], r["urgency"], r["department"], r["title"], r["created_at"]]
                for r in rows
            ],
        )
    return 0


def cmd_ideas_show(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        outcome = ideas.idea_outcome(session, actor=actor, idea_id=args.id)
    idea = outcome.idea
    if args.json:
        _emit_json(
            {
                "id": idea.id,
                "title": idea.title,
                "pitch": idea.pitch,
                "department": outcome.department,
                "status": idea.status.value,
                "rejection_reason": outcome.rejection_reason,
                "merged_into": outcome.merged_into,
                "piece": {
                    "id": outcome.piece_id,
                    "title": outcome.piece_title,
                    "status": outcome.piece_status,
                }
                if outcome.piece_id
                else None,
                "posts": outcome.posts,
            }
        )
        return 0
    print(f"Idea #{idea.id}: {idea.title}")
    print(
        f"  department: {outcome.department}   urgency: {idea.urgency.value}   "
        f"status: {idea.status.value}"
    )
    if outcome.rejection_reason:
        print(f"  rejected because: {outcome.rejection_reason}")
    if outcome.merged_into:
        print(f"  merged into idea #{outcome.merged_into}")
    if outcome.piece_id:
        print(
            f"  became piece #{outcome.piece_id} '{outcome.piece_title}' ({outcome.piece_status})"
        )
    for post in outcome.posts:
        when = format_local(post.publish_at, actor.timezone)
        done = (
            f", published {format_local(post.published_at, actor.timezone)}"
            if (post.published_at)
            else ""
        )
        url = f" {post.external_url}" if post.external_url else ""
        print(f"  - {post.channel}: {when} [{post.status.value}{done}]{url}")
    return 0


def cmd_ideas_accept(args: argparse.Namespace) -> int:
    with _session() as session:
        piece = ideas.accept_idea(
            session, actor=_actor(session, args), idea_id=args.id, note=args.note
        )
    print(f"accepted idea {args.id}; it is now draft piece {piece.id}")
    return 0


def cmd_ideas_reject(args: argparse.Namespace) -> int:
    with _session() as session:
        ideas.reject_idea(session, actor=_actor(session, args), idea_id=args.id, reason=args.reason)
    print(f"rejected idea {args.id}")
    return 0


def cmd_ideas_merge(args: argparse.Namespace) -> int:
    with _session() as session:
        ideas.merge_idea(
            session, actor=_actor(session, args), idea_id=args.id, into_id=args.into, note=args.note
        )
    print(f"merged idea {args.id} into idea {args.into}")
    return 0


def cmd_ideas_import(args: argparse.Namespace) -> int:
    raw = _read_csv(args.file)
    with _session() as session:
        stored = csvio.import_ideas(session, actor=_actor(session, args), raw=raw)
    print(f"imported {len(stored)} idea(s)")
    return 0


def cmd_ideas_export(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        count = _export(args.file, lambda out: csvio.export_ideas(session, actor=actor, out=out))
    if args.file != "-":
        print(f"exported {count} idea(s) to {args.file}")
    return 0


# --- pieces -----------------------------------------------------------------------------


def cmd_pieces_list(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        found = pieces.list_pieces(session, actor=actor, status=args.status, limit=args.limit)
        owners = {u.id: u.username for u in session.exec(select(User))}
        rows = [
            {
                "id": p.id,
                "title": p.title,
                "status": p.status.value,
                "revision": p.revision,
                "approved_revision": p.approved_revision,
                "owner": owners.get(p.owner_id),
                "due_date": p.due_date,
                "campaign": p.campaign,
                "idea_id": p.idea_id,
                "updated_at": format_local(p.updated_at, actor.timezone),
            }
            for p in found
        ]
    if args.json:
        _emit_json(rows)
    else:
        _table(
            ["id", "status", "rev", "approved", "owner", "due", "title"],
            [
                [
                    r["id"],
                    r["status"],
                    r["revision"],
                    r["approved_revision"],
                    r["owner"],
                    r["due_date"],
                    r["title"],
                ]
                for r in rows
            ],
        )
    return 0


def cmd_pieces_show(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        piece = pieces.get_piece(session, actor=actor, piece_id=args.id)
        comments = pieces.list_comments(session, actor=actor, piece_id=args.id)
        names = {c.id: c.name for c in session.exec(select(Channel))}
        authors = {u.id: u.username for u in session.exec(select(User))}
        posts = planning.list_posts(session, actor=actor, piece_id=args.id)
    data: dict[str, Any] = {
        "id": piece.id,
        "title": piece.title,
        "status": piece.status.value,
        "revision": piece.revision,
        "approved_revision": piece.approved_revision,
        "approved_by": authors.get(piece.approved_by_id),
        "body": piece.body,
        "variants": {names.get(int(k), k): v for k, v in piece.variants.items()},
        "due_date": piece.due_date,
        "campaign": piece.campaign,
        "tags": piece.tags,
        "comments": [
            {
                "author": authors.get(c.author_id),
                "revision": c.revision,
                "body": c.body,
                "at": c.created_at,
            }
            for c in comments
        ],
        "posts": [
            {
                "id": p.id,
                "channel": names.get(p.channel_id),
                "status": p.status.value,
                "publish_at": format_local(p.publish_at, actor.timezone),
            }
            for p in posts
        ],
    }
    if args.json:
        _emit_json(data)
        return 0
    approved = (
        f", approved r{piece.approved_revision} by {data['approved_by']}"
        if piece.approved_revision
        else ""
    )
    print(
        f"Piece #{piece.id}: {piece.title}  [{piece.status.value}, revision "
        f"{piece.revision}{approved}]"
    )
    print(
        f"due: {piece.due_date or '-'}   campaign: {piece.campaign or '-'}   "
        f"tags: {', '.join(piece.tags) or '-'}"
    )
    print("\n" + piece.body + "\n")
    for channel, text in data["variants"].items():
        print(f"--- variant for {channel} ({len(text)} characters)\n{text}\n")
    for c in data["comments"]:
        print(f"comment by {c['author']} on r{c['revision']}: {c['body']}")
    for p in data["posts"]:
        print(f"post {p['id']}: {p['channel']} at {p['publish_at']} [{p['status']}]")
    return 0


def _variant_args(session: Session, specs: Sequence[str], *, files: bool) -> dict[int, str]:
    variants: dict[int, str] = {}
    for spec in specs:
        channel, sep, value = spec.partition("=")
        if not sep:
            raise CliError(f"{spec!r}: write CHANNEL=TEXT (or CHANNEL=FILE with --variant-file)")
        chan = channels.get_channel(session, channel)
        assert chan.id is not None
        variants[chan.id] = _read_text(value) if files else value
    return variants


def cmd_pieces_edit(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        piece = pieces.get_piece(session, actor=actor, piece_id=args.id)
        data: dict[str, Any] = {"note": args.note}
        if args.title is not None:
            data["title"] = args.title
        if args.body_file is not None:
            data["body"] = _read_text(args.body_file)
        elif args.body is not None:
            data["body"] = args.body
        if args.variant or args.variant_file:
            variants = dict(piece.variants)
            merged = {int(k): v for k, v in variants.items()}
            merged.update(_variant_args(session, args.variant or [], files=False))
            merged.update(_variant_args(session, args.variant_file or [], files=True))
            data["variants"] = merged
        if args.due is not None:
            data["due_date"] = args.due or None
        if args.campaign is not None:
            data["campaign"] = args.campaign
        if args.tags is not None:
            data["tags"] = args.tags
        expected = args.expected_revision or piece.revision
        try:
            saved = pieces.edit_piece(
                session, actor=actor, piece_id=args.id, expected_revision=expected, data=data
            )
        except EditConflict as err:
            kept = _keep_conflict(args.id, err)
            raise CliError(f"{err}\nwhat you tried to save is in {kept}") from err
    if saved.revision == expected:
        print(f"piece {saved.id}: nothing changed (still revision {saved.revision})")
    else:
        print(f"piece {saved.id} saved as revision {saved.revision} [{saved.status.value}]")
    return 0


def _keep_conflict(piece_id: int, err: EditConflict) -> Path:
    folder = DATA_DIR / "conflicts"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"piece-{piece_id}-r{err.expected}-{stamp}.json"
    attempted = err.attempted.model_dump(mode="json") if err.attempted is not None else {}
    path.write_text(json.dumps(attempted, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def _piece_move(action: str) -> Handler:
    def run(args: argparse.Namespace) -> int:
        with _session() as session:
            actor = _actor(session, args)
            if action == "approve":
                piece = _approve(session, actor, args)
            elif action == "request-changes":
                piece = pieces.request_changes(
                    session,
                    actor=actor,
                    piece_id=args.id,
                    comment=args.comment,
                    revision=args.revision,
                )
            else:
                move = {
                    "submit": pieces.submit_piece,
                    "revise": pieces.revise_piece,
                    "archive": pieces.archive_piece,
                    "reopen": pieces.reopen_piece,
                }[action]
                piece = move(session, actor=actor, piece_id=args.id, note=args.note)
        print(f"piece {piece.id} is now {piece.status.value} (revision {piece.revision})")
        return 0

    return run


def _approve(session: Session, actor: User, args: argparse.Namespace) -> Any:
    """Approve exactly the revision the approver says they read, never an unseen one."""
    current = pieces.get_piece(session, actor=actor, piece_id=args.id).revision
    show = f"`python -m planner pieces show {args.id}`"
    if args.revision is None:
        raise CliError(
            f"say which revision you read: --revision N (piece {args.id} is at revision "
            f"{current}; read it with {show})"
        )
    try:
        return pieces.approve_piece(
            session, actor=actor, piece_id=args.id, revision=args.revision, note=args.note
        )
    except EditConflict as err:
        raise CliError(
            f"you read revision {args.revision}, but piece {args.id} is now at revision "
            f"{err.current}: read it with {show}, then approve --revision {err.current}"
        ) from err


def cmd_pieces_history(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        if args.restore is not None:
            current = pieces.get_piece(session, actor=actor, piece_id=args.id).revision
            piece = pieces.restore_revision(
                session,
                actor=actor,
                piece_id=args.id,
                number=args.restore,
                expected_revision=current,
            )
            print(f"restored revision {args.restore} as revision {piece.revision}")
            return 0
        if args.diff is not None:
            diff = pieces.diff_revisions(
                session, actor=actor, piece_id=args.id, old=args.diff[0], new=args.diff[1]
            )
            print(diff.text, end="")
            return 0
        revisions = pieces.history(session, actor=actor, piece_id=args.id)
        authors = {u.id: u.username for u in session.exec(select(User))}
        rows = [
            {
                "revision": r.number,
                "author": authors.get(r.author_id),
                "at": format_local(r.created_at, actor.timezone),
                "title": r.title,
                "note": r.note,
            }
            for r in revisions
        ]
    if args.json:
        _emit_json(rows)
    else:
        _table(
            ["revision", "author", "at", "title", "note"],
            [[r["revision"], r["author"], r["at"], r["title"], r["note"]] for r in rows],
        )
    return 0


def cmd_pieces_comment(args: argparse.Namespace) -> int:
    with _session() as session:
        pieces.add_comment(session, actor=_actor(session, args), piece_id=args.id, body=args.text)
    print(f"comment added to piece {args.id}")
    return 0


# --- plan -------------------------------------------------------------------------------


def cmd_plan_list(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        # First whether the actor may read the plan at all: a wrong --channel lists channels.
        titles = {p.id: p.title for p in pieces.list_pieces(session, actor=actor)}
        start = (
            _when(actor, args.since) if args.since else (None if args.all else datetime.now(UTC))
        )
        end = _when(actor, args.until, end=True)
        chan = channels.get_channel(session, args.channel) if args.channel else None
        posts = planning.list_posts(
            session,
            actor=actor,
            start=start,
            end=end,
            channel_id=chan.id if chan else None,
            status=args.status,
            limit=args.limit,
        )
        names = {c.id: c.name for c in session.exec(select(Channel))}
        held = {h.post.id: h.reason.value for h in planning.held_posts(session, actor=actor)}
        rows: list[dict[str, Any]] = [
            {
                "post_id": p.id,
                "publish_at": format_local(p.publish_at, actor.timezone),
                "publish_at_utc": p.publish_at,
                "channel": names.get(p.channel_id),
                "piece_id": p.piece_id,
                "piece": titles.get(p.piece_id),
                "status": p.status.value,
                "held": held.get(p.id),
                "series_id": p.series_id,
            }
            for p in posts
        ]
    if args.json:
        _emit_json(rows)
    else:
        _table(
            ["post", "when", "channel", "status", "piece", "title"],
            [
                [
                    r["post_id"],
                    r["publish_at"],
                    r["channel"],
                    f"{r['status']} (held)" if r["held"] else r["status"],
                    r["piece_id"],
                    r["piece"],
                ]
                for r in rows
            ],
        )
    return 0


def cmd_plan_add(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        post = planning.plan_post(
            session,
            actor=actor,
            piece_id=args.piece,
            channel=args.channel,
            when=args.when,
            tz_name=args.tz,
            fold=args.fold,
        )
        print(
            f"planned post {post.id}: piece {post.piece_id} at "
            f"{format_local(post.publish_at, post.timezone)}"
        )
    return 0


def cmd_plan_move(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        post = planning.move_post(
            session,
            actor=actor,
            post_id=args.post,
            when=args.when,
            tz_name=args.tz,
            fold=args.fold,
        )
        print(f"post {post.id} now at {format_local(post.publish_at, post.timezone)}")
    return 0


def cmd_plan_cancel(args: argparse.Namespace) -> int:
    with _session() as session:
        planning.cancel_post(
            session, actor=_actor(session, args), post_id=args.post, reason=args.reason
        )
    print(f"post {args.post} cancelled")
    return 0


def cmd_plan_series(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        series = planning.create_series(
            session,
            actor=actor,
            piece_id=args.piece,
            channel=args.channel,
            rule=args.rule,
            start=args.start,
            tz_name=args.tz,
        )
        count = len(planning.list_posts(session, actor=actor, piece_id=args.piece))
        print(f"created series {series.id} ({series.rule}); the piece now has {count} post(s)")
    return 0


def cmd_plan_import(args: argparse.Namespace) -> int:
    raw = _read_csv(args.file)
    with _session() as session:
        result = csvio.import_plan(session, actor=_actor(session, args), raw=raw)
    print(
        f"planned {len(result.created)} new post(s), moved {len(result.moved)}, "
        f"{result.unchanged} unchanged"
    )
    return 0


def cmd_plan_export(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        start, end = _when(actor, args.since), _when(actor, args.until, end=True)
        count = _export(
            args.file,
            lambda out: csvio.export_plan(session, actor=actor, out=out, start=start, end=end),
        )
    if args.file != "-":
        print(f"exported {count} post(s) to {args.file}")
    return 0


# --- audit, settings, channels ------------------------------------------------------------


def cmd_audit_export(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        since, until = _when(actor, args.since), _when(actor, args.until, end=True)
        if since and until and since >= until:
            raise CliError("--since must be before --until")
        count = _export(
            args.file,
            lambda out: csvio.export_audit(session, actor=actor, out=out, since=since, until=until),
        )
    if args.file != "-":
        print(f"exported {count} audit event(s) to {args.file}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    if args.file is not None:
        if args.date_from or args.date_to:
            raise CliError("--file checks the whole file: --from and --to do not apply")
        raw = _read_file(args.file)
        try:
            report = csvio.verify_audit_file(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            raise CliError(f"{args.file!r} is not UTF-8 text") from err
    else:
        with _session() as session:
            actor = _actor(session, args)
            since, until = _when(actor, args.date_from), _when(actor, args.date_to, end=True)
            if since and until and since >= until:
                raise CliError("--from must be before --to")
            report = audit.verify(session, actor=actor, since=since, until=until)
    # The report is the command's result; a broken chain also fails the exit code.
    print(report.summary())
    if report.intact:
        return 0
    print(f"{report.events} event(s) before it are intact")
    return 1


def cmd_settings_list(args: argparse.Namespace) -> int:
    with _session() as session:
        values = org_settings.all_settings(session, actor=_actor(session, args))
    if args.json:
        _emit_json(values)
    else:
        _table(
            ["key", "value", "meaning"],
            [[k, v, org_settings.SPECS[k].help] for k, v in values.items()],
            width=60,
        )
    return 0


def cmd_settings_set(args: argparse.Namespace) -> int:
    with _session() as session:
        value = org_settings.set_setting(
            session, actor=_actor(session, args), key=args.key, value=args.value
        )
    print(f"{args.key} = {value}")
    return 0


def cmd_channels_list(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
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
                **({"settings": channels.public_view(c)} if settings else {}),
            }
            for c in channels.list_channels(session, actor=actor)
        ]
    if args.json:
        _emit_json(rows)
    else:
        _table(
            ["id", "name", "kind", "enabled", "state", "settings"],
            [
                [
                    r["id"],
                    r["name"],
                    r["kind"],
                    "yes" if r["enabled"] else "no",
                    "needs reconnect" if r["needs_reconnect"] else "ok",
                    ", ".join(f"{k}={v}" for k, v in r.get("settings", {}).items()),
                ]
                for r in rows
            ],
            width=70,
        )
    return 0


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
    return {name: _read_password(args, f"{name}: ") for name in names}


def cmd_channels_add(args: argparse.Namespace) -> int:
    settings = _settings_args(args.set or [])
    settings.update(_read_secrets(args, _secret_names(args.secret or [])))
    with _session() as session:
        channel = channels.create_channel(
            session,
            actor=_actor(session, args),
            kind=args.kind,
            name=args.name,
            settings=settings,
            daily_cap=args.daily_cap,
        )
        view = channels.public_view(channel)
    print(f"created {channel.kind} channel {channel.name!r} (id {channel.id})")
    for key, value in view.items():
        print(f"  {key} = {value}")
    return 0


def cmd_channels_edit(args: argparse.Namespace) -> int:
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
    with _session() as session:
        _actor(session, args)
        channels.get_channel(session, args.name)
    settings.update(_read_secrets(args, secrets))
    with _session() as session:
        channel = channels.update_channel(
            session,
            actor=_actor(session, args),
            ref=args.name,
            name=args.rename,
            settings=settings or None,
            daily_cap=daily_cap,
        )
        view = channels.public_view(channel)
    print(f"channel {channel.name!r} updated")
    for key, value in view.items():
        print(f"  {key} = {value}")
    if channel.needs_reconnect:
        print(
            "it still needs reconnecting: test it with "
            f"`python -m planner channels test {shlex.quote(channel.name)}`"
        )
    return 0


def cmd_channels_test(args: argparse.Namespace) -> int:
    with _session() as session:
        answer = channels.check_connection(session, actor=_actor(session, args), ref=args.name)
    print(f"{args.name}: {answer}")
    return 0


def cmd_channels_disable(args: argparse.Namespace) -> int:
    with _session() as session:
        channel = channels.set_enabled(
            session, actor=_actor(session, args), ref=args.name, enabled=args.enable
        )
    print(f"channel {channel.name!r} {'enabled' if channel.enabled else 'disabled'}")
    return 0


# --- publishing ---------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> int:
    import logging

    from planner.publishing import EngineSettings
    from planner.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per sweep is noise
    engine = _engine()
    _require_migrated(engine)
    settings = EngineSettings.from_env()
    worker = Worker(engine, settings=settings)
    print(f"worker {worker.worker_id} sweeping every {settings.poll_seconds:g} s (Ctrl-C stops)")
    worker.run_forever()
    return 0


def cmd_publish_due(args: argparse.Namespace) -> int:
    from planner.worker import Worker

    engine = _engine()
    _require_migrated(engine)
    if args.dry_run:
        with session_scope(engine) as session:
            from planner.publishing import max_lateness

            actor = _actor(session, args)
            now = datetime.now(UTC)
            held = planning.held_posts(session, actor=actor, now=now)
            due = planning.due_posts(session, now=now, limit=10_000, lateness=max_lateness(session))
            names = {c.id: c.name for c in session.exec(select(Channel))}
        print(f"dry run: {len(due)} post(s) would be published now, {len(held)} held")
        for post in due:
            print(f"  would publish post {post.id} on {names.get(post.channel_id)}")
        for h in held:
            print(f"  held post {h.post.id} on {names.get(h.post.channel_id)}: {h.reason.value}")
        return 0
    worker = Worker(engine)
    try:
        result = worker.sweep()
    finally:
        worker.close()
    print(
        f"claimed {result.claimed}: {result.count(PostStatus.published)} published, "
        f"{result.count(PostStatus.planned)} to retry, {result.count(PostStatus.failed)} failed; "
        f"{result.missed} missed, {result.requeued} requeued, {result.needs_check} need a check"
    )
    for outcome in result.outcomes:
        if outcome.status != PostStatus.published:
            print(f"  post {outcome.post_id}: {outcome.status.value} ({outcome.message})")
    return 0


def cmd_posts_list(args: argparse.Namespace) -> int:
    with _session() as session:
        actor = _actor(session, args)
        names = {c.id: c.name for c in session.exec(select(Channel))}
        found: list[tuple[Post, str | None]]
        if args.status == "held":
            found = [
                (h.post, h.reason.value)
                for h in planning.held_posts(session, actor=actor, limit=args.limit)
            ]
        else:
            status = PostStatus(args.status) if args.status else None
            # Contributors see their department's posts as on 'My ideas': without errors.
            errors = can(actor, "view_pieces")
            found = [
                (p, p.last_error if errors else None)
                for p in planning.list_posts(session, actor=actor, status=status, limit=args.limit)
            ]
        rows = [
            {
                "id": p.id,
                "piece_id": p.piece_id,
                "channel": names.get(p.channel_id),
                "publish_at": format_local(p.publish_at, actor.timezone),
                "status": "held" if args.status == "held" else p.status.value,
                "attempts": p.attempts,
                "retry_at": _retry_at(p, actor),
                "reason": reason,
                "external_url": p.external_url,
            }
            for p, reason in found
        ]
    if args.json:
        _emit_json(rows)
    else:
        _table(
            ["post", "when", "channel", "status", "tries", "reason / last error"],
            [
                [
                    r["id"],
                    r["publish_at"],
                    r["channel"],
                    f"{r['status']}, retry at {r['retry_at']}" if r["retry_at"] else r["status"],
                    r["attempts"],
                    r["reason"],
                ]
                for r in rows
            ],
            width=70,
        )
    return 0


def _retry_at(post: Post, actor: User) -> str | None:
    """When a post waiting to be sent again is due, in the user's zone."""
    if post.status != PostStatus.planned or post.next_attempt_at is None:
        return None
    return format_local(post.next_attempt_at, actor.timezone)


def cmd_posts_attempts(args: argparse.Namespace) -> int:
    from planner.publishing.ledger import post_ledger

    with _session() as session:
        actor = _actor(session, args)
        ledger = post_ledger(session, actor=actor, post_id=args.id)
        post = ledger.post
        rows: list[dict[str, Any]] = [
            {
                "attempt": a.id,
                "started_at": format_local(a.started_at, actor.timezone),
                "started_at_utc": a.started_at,
                "finished_at": format_local(a.finished_at, actor.timezone)
                if a.finished_at
                else None,
                "finished_at_utc": a.finished_at,
                "worker": a.worker,
                "outcome": a.outcome,
                "http_status": a.http_status,
                "duration_ms": a.duration_ms,
                "error": a.error,
                "external_id": a.external_id,
                "external_url": a.external_url,
            }
            for a in ledger.attempts
        ]
        data = {
            "post_id": post.id,
            "piece_id": post.piece_id,
            "channel": ledger.channel,
            "status": post.status.value,
            "publish_at": format_local(post.publish_at, actor.timezone),
            "retry_at": _retry_at(post, actor),
            "attempts": rows,
        }
    if args.json:
        _emit_json(data)
        return 0
    retry = f", retry at {data['retry_at']}" if data["retry_at"] else ""
    print(
        f"post {post.id} on {ledger.channel} at {data['publish_at']}: "
        f"{data['status']}{retry}; {len(rows)} attempt(s)"
    )
    _table(
        ["started", "finished", "worker", "outcome", "HTTP", "external id", "error"],
        [
            [
                r["started_at"],
                r["finished_at"] or "(running)",
                r["worker"],
                r["outcome"],
                r["http_status"],
                r["external_id"],
                r["error"],
            ]
            for r in rows
        ],
        width=60,
    )
    return 0


def cmd_posts_retry(args: argparse.Namespace) -> int:
    from planner.publishing import retry_post
    from planner.publishing.ledger import why_held

    with _session() as session:
        actor = _actor(session, args)
        post = retry_post(session, actor=actor, post_id=args.id)
        held = why_held(session, actor=actor, post_id=args.id)
    if held is None:
        print(f"post {post.id} will be sent at the next sweep")
    else:
        print(f"post {post.id} is planned again, but it stays held: {held}")
    return 0


def cmd_posts_mark_posted(args: argparse.Namespace) -> int:
    from planner.publishing import mark_posted

    with _session() as session:
        mark_posted(session, actor=_actor(session, args), post_id=args.id, url=args.url)
    print(f"post {args.id} marked as published")
    return 0


def cmd_freeze(args: argparse.Namespace) -> int:
    with _session() as session:
        value = org_settings.set_setting(
            session, actor=_actor(session, args), key="publishing_frozen", value=args.state
        )
    print(
        "publishing is FROZEN: nothing is sent until `freeze off`"
        if value == "on"
        else "publishing resumed; posts later than the lateness bound become missed"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from planner.publishing import status_summary

    with _session() as session:
        summary = status_summary(session, actor=_actor(session, args))
    if args.json:
        _emit_json(summary)
        return 0
    print(f"publishing: {'FROZEN' if summary.frozen else 'running'}")
    print(f"live workers: {len(summary.workers)}")
    for w in summary.workers:
        kind = "embedded" if w.embedded else "worker"
        print(
            f"  {w.worker_id} ({kind}, last seen {format_local(w.last_seen, 'UTC')}, "
            f"{w.published} published, {w.failed} failed)"
        )
    print(
        f"due now: {summary.due}   held: {summary.held}   failed: {summary.failed}   "
        f"needs check: {summary.needs_check}   missed: {summary.missed}   "
        f"to post by hand: {summary.awaiting_manual}"
    )
    for name, until in summary.paused:
        print(f"paused by a rate limit: {name} until {format_local(until, 'UTC')}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from planner.ui.server import serve

    return serve(args.port, args.address)


def cmd_secret_key(args: argparse.Namespace) -> int:
    from planner.credentials import new_key

    print(new_key())
    return 0


# --- backup and restore ----------------------------------------------------------------


def _backup_engine() -> Engine:
    """The owner's engine (PLANNER_MIGRATION_DATABASE_URL) if set: it may read and replace
    every table; otherwise the planner's own."""
    url = load_settings().migration_database_url
    return get_engine(url) if url else _engine()


def cmd_backup(args: argparse.Namespace) -> int:
    """`backup FILE`: a consistent copy of the whole database while the planner runs (admins)."""
    from planner.backup import BACKENDS, back_up

    engine = _backup_engine()
    _require_migrated(engine)
    with session_scope(engine) as session:
        actor = _actor(session, args)
    result = back_up(engine=engine, actor=actor, path=Path(args.file), force=args.force)
    print(
        f"backup written to {args.file}: {BACKENDS[result.backend]} database at schema "
        f"revision {result.revision}, {result.size} bytes, sha256 {result.sha256}"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """`restore FILE`: replace the database with a backup, then migrate it; over data only
    with --force, by an admin of the database as it is now."""
    from planner.backup import BACKENDS, holds_data, restore

    engine = _backup_engine()
    try:
        has_data = holds_data(engine)
    except (OperationalError, ProgrammingError) as err:
        raise ConfigurationError(f"cannot open the database: {err.orig}") from err
    actor = None
    if has_data and args.force:
        with session_scope(engine) as session:
            actor = _actor(session, args)
    result = restore(engine=engine, actor=actor, path=Path(args.file), force=args.force)
    print(
        f"restored {args.file}: {BACKENDS[result.backend]} backup at schema revision "
        f"{result.backup_revision}"
    )
    if result.revision != result.backup_revision:
        print(f"database schema: {result.backup_revision} -> {result.revision}")
        if load_settings().migration_database_url:
            print("the schema was migrated: grant the planner's role its rights again")
    print(f"audit log: {result.chain.summary()}")
    return 0 if result.chain.intact else 1


def _add_backup_commands(sub: Any) -> None:
    """The `backup` and `restore` commands."""
    for name, handler, help_text, file_help, force_help in (
        (
            "backup",
            cmd_backup,
            "write a consistent copy of the whole database to a file (admins)",
            "the backup file to write",
            "replace FILE if it exists",
        ),
        (
            "restore",
            cmd_restore,
            "replace the database with a backup, then migrate it",
            "a backup written by `backup`",
            "replace a database that holds data (an admin of it acts)",
        ),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        p.add_argument("file", help=file_help)
        p.add_argument("--force", action="store_true", help=force_help)
        p.add_argument(
            "--as",
            dest="as_user",
            metavar="USERNAME",
            help="the admin who acts (default: $PLANNER_USER)",
        )


# --- parser -----------------------------------------------------------------------------


def _whole(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argument type: a whole number from `low` to `high`, or a message saying so."""

    def convert(text: str) -> int:
        digits = text.strip()
        number = digits.removeprefix("-")
        # isascii: '²'.isdigit() holds but int('²') fails; the length bounds int()'s work.
        fits = number.isascii() and number.isdigit() and len(number) <= 12
        if fits and low <= int(digits) <= high:
            return int(digits)
        shown = text if len(text) <= 24 else text[:24] + "..."
        raise argparse.ArgumentTypeError(
            f"{shown!r} is not {what}: use a whole number from {low} to {high}"
        )

    convert.__name__ = what
    return convert


def _id(text: str) -> int:
    """An argument type for every id: 1 to ID_MAX, the rule of the dashboard's forms."""
    problem = id_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return int(text.strip())


_revision = _whole(1, ID_MAX, "a revision number")
_rows = _whole(1, ID_MAX, "a number of rows")
_daily_cap = _whole(1, ID_MAX, "a number of posts")
_demo_size = _whole(0, 1_000_000, "a number of posts")
_port = _whole(1, 65_535, "a port number")


def _date(text: str) -> str:
    if text:
        try:
            date.fromisoformat(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from err
    return text


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; every command has --help."""
    parser = argparse.ArgumentParser(
        prog="python -m planner",
        description="Content marketing editorial planner: ideas, pieces, plan, audit.",
    )
    acting = argparse.ArgumentParser(add_help=False)
    acting.add_argument(
        "--as",
        dest="as_user",
        metavar="USERNAME",
        help="the user on whose behalf to act (default: $PLANNER_USER)",
    )
    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    paged = argparse.ArgumentParser(add_help=False)
    paged.add_argument("--limit", type=_rows, default=None, help="at most this many rows")
    secret = argparse.ArgumentParser(add_help=False)
    secret.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of a prompt",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        group: Any,
        name: str,
        handler: Handler,
        help_text: str,
        parents: Sequence[argparse.ArgumentParser] = (),
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = group.add_parser(
            name, help=help_text, description=help_text, parents=list(parents)
        )
        p.set_defaults(handler=handler)
        return p

    def group(name: str, help_text: str) -> Any:
        p = sub.add_parser(name, help=help_text, description=help_text)
        return p.add_subparsers(dest="subcommand", required=True, metavar="ACTION")

    p = add(
        sub,
        "init",
        cmd_init,
        "create or upgrade the database; optionally the first admin",
        [secret],
    )
    p.add_argument("--admin", metavar="USERNAME", help="create this first admin account")
    p.add_argument("--display-name", help="the admin's full name")
    add(sub, "migrate", cmd_migrate, "apply pending schema migrations (data is kept)")
    p = add(sub, "demo", cmd_demo, "load demo data into an empty database and print the logins")
    p.add_argument("--password", help="one password for every demo user (default: random)")
    p.add_argument(
        "--size", type=_demo_size, default=0, help="extra generated posts, for benchmarks"
    )
    p.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing (exit 0) when the database already holds data",
    )

    g = group("users", "manage accounts (admins)")
    p = add(
        g,
        "add",
        cmd_users_add,
        "add an account (the very first must be an admin)",
        [acting, secret],
    )
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=["contributor", "editor", "approver", "admin"])
    p.add_argument("--department", help="required for contributors")
    p.add_argument("--display-name")
    p.add_argument("--email")
    p.add_argument("--locale", default="de", choices=["de", "en"])
    p.add_argument("--timezone", help="IANA zone (default: PLANNER_TIMEZONE or Europe/Berlin)")
    add(g, "list", cmd_users_list, "list accounts", [acting, listing])
    p = add(
        g,
        "passwd",
        cmd_users_passwd,
        "set a password (and forget the account's failed sign-ins)",
        [acting, secret],
    )
    p.add_argument("username")
    p = add(
        g,
        "email",
        cmd_users_email,
        "set the e-mail address single sign-on matches the account by (or --remove it)",
        [acting],
    )
    p.add_argument("username")
    p.add_argument("address", nargs="?")
    p.add_argument("--remove", action="store_true", help="remove the account's e-mail address")
    p = add(
        g,
        "unlock",
        cmd_users_unlock,
        "forget an account's failed sign-ins, so its next try need not wait",
        [acting],
    )
    p.add_argument("username")
    p.add_argument(
        "--client",
        metavar="ADDRESS",
        help="also forget the failed sign-ins counted for this client IP address",
    )
    p = add(g, "disable", cmd_users_disable, "disable an account (or --enable it again)", [acting])
    p.add_argument("username")
    p.add_argument("--enable", action="store_true", help="enable the account again")

    g = group("departments", "departments that submit ideas")
    p = add(g, "add", cmd_departments_add, "add a department (admins)", [acting])
    p.add_argument("name")
    add(g, "list", cmd_departments_list, "list departments", [acting, listing])

    g = group("ideas", "submit and triage ideas")
    p = add(g, "submit", cmd_ideas_submit, "submit an idea", [acting])
    p.add_argument("--title", required=True)
    p.add_argument("--pitch", required=True)
    p.add_argument("--department", help="default: your own department")
    p.add_argument("--audience", default="", help="target audience")
    p.add_argument("--goal", default="")
    p.add_argument("--url", help="optional source link")
    p.add_argument("--urgency", default="normal", choices=[u.value for u in Urgency])
    p.add_argument("--tags", default="", help="comma-separated")
    p = add(g, "list", cmd_ideas_list, "list the ideas you may see", [acting, listing, paged])
    p.add_argument("--status", type=_enum(IdeaStatus))
    p.add_argument("--department")
    p.add_argument("--urgency", type=_enum(Urgency))
    p.add_argument("--tag")
    p.add_argument("--mine", action="store_true", help="only ideas you submitted")
    p = add(g, "show", cmd_ideas_show, "what became of an idea", [acting, listing])
    p.add_argument("id", type=_id)
    p = add(g, "accept", cmd_ideas_accept, "accept an idea; it becomes a draft piece", [acting])
    p.add_argument("id", type=_id)
    p.add_argument("--note", default="")
    p = add(g, "reject", cmd_ideas_reject, "reject an idea with a reason", [acting])
    p.add_argument("id", type=_id)
    p.add_argument("--reason", required=True)
    p = add(g, "merge", cmd_ideas_merge, "merge a duplicate into another idea", [acting])
    p.add_argument("id", type=_id)
    p.add_argument("--into", type=_id, required=True, metavar="IDEA_ID")
    p.add_argument("--note", default="")
    p = add(
        g,
        "import",
        cmd_ideas_import,
        "submit every idea in a CSV file (columns: "
        + ", ".join(csvio.IDEA_COLUMNS)
        + "); nothing is imported if any row is broken",
        [acting],
    )
    p.add_argument("file", help="CSV file, or - for standard input")
    p = add(g, "export", cmd_ideas_export, "write the ideas you may see as CSV", [acting])
    p.add_argument("file", help="CSV file, or - for standard output")

    g = group("pieces", "edit pieces and move them through review")
    p = add(g, "list", cmd_pieces_list, "list pieces", [acting, listing, paged])
    p.add_argument("--status", type=_enum(PieceStatus))
    p = add(
        g,
        "show",
        cmd_pieces_show,
        "a piece with its variants, comments and posts",
        [acting, listing],
    )
    p.add_argument("id", type=_id)
    p = add(g, "edit", cmd_pieces_edit, "save a new revision of a piece", [acting])
    p.add_argument("id", type=_id)
    p.add_argument("--title")
    p.add_argument("--body", help="the master text")
    p.add_argument("--body-file", help="read the master text from a file (- for stdin)")
    p.add_argument(
        "--variant",
        action="append",
        metavar="CHANNEL=TEXT",
        help="text for one channel (repeatable)",
    )
    p.add_argument(
        "--variant-file",
        action="append",
        metavar="CHANNEL=FILE",
        help="text for one channel from a file (repeatable)",
    )
    p.add_argument("--due", type=_date, help="due date YYYY-MM-DD ('' clears it)")
    p.add_argument("--campaign")
    p.add_argument("--tags", help="comma-separated")
    p.add_argument("--note", default="", help="what this revision changes")
    p.add_argument(
        "--expected-revision",
        type=_revision,
        help="the revision you edited (default: the current one); a conflict "
        "keeps your text in data/conflicts/",
    )
    for action, text in (
        ("submit", "send a draft to review"),
        ("revise", "take a piece with requested changes back to draft"),
        ("archive", "archive a piece"),
        ("reopen", "bring an archived piece back as draft"),
    ):
        p = add(g, action, _piece_move(action), text, [acting])
        p.add_argument("id", type=_id)
        p.add_argument("--note", default="")
    p = add(
        g,
        "approve",
        _piece_move("approve"),
        "approve the revision you read (four-eyes: never your own work)",
        [acting],
    )
    p.add_argument("id", type=_id)
    p.add_argument(
        "--revision",
        type=_revision,
        help="the revision you read, as `pieces show` prints it (required)",
    )
    p.add_argument("--note", default="")
    p = add(
        g,
        "request-changes",
        _piece_move("request-changes"),
        "send a piece back with a comment",
        [acting],
    )
    p.add_argument("id", type=_id)
    p.add_argument("--comment", required=True)
    p.add_argument("--revision", type=_revision, help="the revision you read")
    p = add(
        g, "history", cmd_pieces_history, "revisions; --diff A B; --restore N", [acting, listing]
    )
    p.add_argument("id", type=_id)
    p.add_argument("--diff", type=_revision, nargs=2, metavar=("OLD", "NEW"))
    p.add_argument("--restore", type=_revision, metavar="REVISION")
    p = add(g, "comment", cmd_pieces_comment, "comment on a piece", [acting])
    p.add_argument("id", type=_id)
    p.add_argument("text")

    g = group("plan", "the content calendar: posts of pieces on channels")
    p = add(
        g,
        "list",
        cmd_plan_list,
        "planned posts in your time zone (default: from now)",
        [acting, listing, paged],
    )
    p.add_argument("--since", help="date or date-time (your zone)")
    p.add_argument("--until", help="date or date-time (your zone), inclusive for a date")
    p.add_argument("--all", action="store_true", help="include the past")
    p.add_argument("--channel")
    p.add_argument("--status", type=_enum(PostStatus))
    for name, handler, text in (
        ("add", cmd_plan_add, "plan a piece on a channel"),
        ("move", cmd_plan_move, "reschedule a post"),
    ):
        p = add(g, name, handler, text, [acting])
        if name == "add":
            p.add_argument("piece", type=_id)
            p.add_argument("channel")
        else:
            p.add_argument("post", type=_id)
        p.add_argument("when", help="e.g. '2026-12-01 09:30' or '01.12.2026 09:30'")
        p.add_argument("--tz", help="IANA zone of WHEN (default: yours)")
        p.add_argument(
            "--fold",
            choices=["earlier", "later"],
            help="which of two equal local times at the autumn DST change",
        )
    p = add(g, "cancel", cmd_plan_cancel, "cancel a post", [acting])
    p.add_argument("post", type=_id)
    p.add_argument("--reason", default="")
    p = add(g, "series", cmd_plan_series, "a recurring post (RRULE with COUNT or UNTIL)", [acting])
    p.add_argument("piece", type=_id)
    p.add_argument("channel")
    p.add_argument("--rule", required=True, help="e.g. FREQ=WEEKLY;BYDAY=TU;COUNT=8")
    p.add_argument("--start", required=True, help="first local date-time, e.g. 2026-12-01 09:00")
    p.add_argument("--tz", help="IANA zone (default: yours)")
    p = add(
        g,
        "import",
        cmd_plan_import,
        "plan posts from CSV (columns: "
        + ", ".join(csvio.PLAN_COLUMNS)
        + "); rows with a post_id move that post; all or nothing",
        [acting],
    )
    p.add_argument("file")
    p = add(
        g, "export", cmd_plan_export, "write pieces with their posts and times as CSV", [acting]
    )
    p.add_argument("file")
    p.add_argument("--since")
    p.add_argument("--until")

    g = group("audit", "the append-only audit log")
    p = add(g, "export", cmd_audit_export, "write audit events as CSV", [acting])
    p.add_argument("file", help="CSV file, or - for standard output")
    p.add_argument("--since", help="date or date-time in your zone")
    p.add_argument("--until", help="date (inclusive) or date-time in your zone")
    p = add(
        g,
        "verify",
        cmd_audit_verify,
        "recompute the audit log's hash chain (admins) and report the first broken link",
        [acting],
    )
    p.add_argument("--from", dest="date_from", help="date or date-time in your zone")
    p.add_argument("--to", dest="date_to", help="date (inclusive) or date-time in your zone")
    p.add_argument(
        "--file",
        help="an exported audit CSV to check on its own, without the database (- for stdin)",
    )

    g = group("settings", "organisation settings")
    add(g, "list", cmd_settings_list, "show the settings (admins)", [acting, listing])
    p = add(g, "set", cmd_settings_set, "change a setting (admins)", [acting])
    p.add_argument("key", choices=list(org_settings.SPECS))
    p.add_argument("value")

    g = group("channels", "publishing channels")
    add(
        g,
        "list",
        cmd_channels_list,
        "list channels (settings for admins; secrets only say whether they are set)",
        [acting, listing],
    )
    p = add(g, "add", cmd_channels_add, "add a channel (admins)", [acting, secret])
    p.add_argument("kind", help="channel kind, e.g. webhook")
    p.add_argument("name")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="a setting (repeatable)")
    p.add_argument(
        "--secret",
        action="append",
        metavar="KEY",
        help="a secret setting, read from a prompt or standard input (repeatable)",
    )
    p.add_argument("--daily-cap", type=_daily_cap)
    p = add(
        g,
        "edit",
        cmd_channels_edit,
        "change a channel's settings, secrets, name or daily cap (admins)",
        [acting, secret],
    )
    p.add_argument("name", help="the channel's name or id")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="a setting (repeatable)")
    p.add_argument(
        "--secret",
        action="append",
        metavar="KEY",
        help="a secret setting, read from a prompt or standard input (repeatable)",
    )
    p.add_argument("--rename", metavar="NEW_NAME", help="give the channel another name")
    p.add_argument("--daily-cap", type=_daily_cap, help="at most this many posts a day")
    p.add_argument("--no-daily-cap", action="store_true", help="remove the daily cap")
    p = add(
        g,
        "test",
        cmd_channels_test,
        "check that a channel answers and accepts its credentials",
        [acting],
    )
    p.add_argument("name")
    p = add(
        g, "disable", cmd_channels_disable, "disable a channel (or --enable it again)", [acting]
    )
    p.add_argument("name")
    p.add_argument("--enable", action="store_true")

    add(sub, "worker", cmd_worker, "run the publishing scheduler in the foreground")
    p = add(
        sub,
        "publish-due",
        cmd_publish_due,
        "one publishing sweep, for cron-style use (--dry-run: say who reads, with --as)",
        [acting],
    )
    p.add_argument("--once", action="store_true", help="one sweep, then exit (the default)")
    p.add_argument("--dry-run", action="store_true", help="show what would go out; send nothing")
    g = group("posts", "the publishing queue: held, failed, missed, needs-check posts")
    p = add(
        g,
        "list",
        cmd_posts_list,
        "posts by status ('held': due but not allowed out)",
        [acting, listing, paged],
    )
    p.add_argument("--status", choices=["held", *[s.value for s in PostStatus]])
    p = add(
        g,
        "retry",
        cmd_posts_retry,
        "send a failed, missed or checked post again (and say if it stays held)",
        [acting],
    )
    p.add_argument("id", type=_id)
    p = add(
        g,
        "attempts",
        cmd_posts_attempts,
        "the publishing ledger of one post: every attempt, its worker, outcome and error",
        [acting, listing],
    )
    p.add_argument("id", type=_id)
    p = add(g, "cancel", cmd_plan_cancel, "cancel a post", [acting])
    p.add_argument("post", type=_id)
    p.add_argument("--reason", default="")
    p = add(
        g,
        "mark-posted",
        cmd_posts_mark_posted,
        "confirm that a post needing a check did go out",
        [acting],
    )
    p.add_argument("id", type=_id)
    p.add_argument("--url", default="", help="where it was published")
    p = add(sub, "freeze", cmd_freeze, "crisis freeze: hold every post (admins)", [acting])
    p.add_argument("state", choices=["on", "off"])
    add(
        sub,
        "status",
        cmd_status,
        "live workers and due, held, failed, needs-check counts",
        [acting, listing],
    )
    add(sub, "secret-key", cmd_secret_key, "print a new key for PLANNER_SECRET_KEY")
    _add_backup_commands(sub)
    p = add(sub, "serve", cmd_serve, "run the dashboard with its embedded publishing scheduler")
    p.add_argument("--port", type=_port, default=os.environ.get("PLANNER_PORT") or "8501")
    p.add_argument("--address", default="localhost", help="interface to listen on")
    return parser


def main(argv: Sequence[str] | None = None, *, stderr: IO[str] | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 1 refused by the planner, 2 misuse)."""
    err_out = stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)  # --help writes to standard output too
        for name, problem in _unstorable_arguments(args):
            print(f"error: {name}: {problem}", file=err_out)
            return 2
        code = _run(args, err_out)
        sys.stdout.flush()  # inside the try: the output of a short command is written here
    except BrokenPipeError:
        # Whoever read the output has stopped (`... | head`): stop quietly, as Unix tools do.
        # Python flushes standard output once more at exit; pointed at /dev/null, that
        # flush cannot fail again with a traceback.
        _stdout_to_devnull()
        return 1
    return code


def _run(args: argparse.Namespace, err_out: IO[str]) -> int:
    handler: Handler = args.handler
    try:
        return handler(args)
    except CsvImportFailed as err:
        print(f"error: {err}", file=err_out)
        return 1
    except NothingToRestore as err:
        print(f"error: {err.reason}", file=err_out)
        return 1
    except ValidationFailed as err:
        print("error: invalid input", file=err_out)
        for name, message in err.fields.items():
            print(f"  {name}: {message}", file=err_out)
        return 1
    except CliError as err:
        print(f"error: {err}", file=err_out)
        return 2
    except PlannerError as err:
        print(f"error: {err}", file=err_out)
        return 1


def _unstorable_arguments(args: argparse.Namespace) -> list[tuple[str, str]]:
    """Arguments with a character no text may hold (NUL, other controls): (name, problem)."""
    found: list[tuple[str, str]] = []
    for dest, value in vars(args).items():
        values = value if isinstance(value, list) else [value]
        for text in values:
            problem = text_problem(text) if isinstance(text, str) else None
            if problem is not None:
                name = "--as" if dest == "as_user" else dest.replace("_", "-")
                found.append((name, problem))
    return found


def _stdout_to_devnull() -> None:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a file (captured in tests)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
