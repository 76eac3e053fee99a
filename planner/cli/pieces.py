"""Pieces: `pieces list|show|edit|history|comment` and the review moves (submit, approve...)."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from planner import channels, pieces, planning, users
from planner.cli import common, output
from planner.cli.common import (
    ID,
    LISTING,
    PAGED,
    CliError,
    Commands,
    Handler,
    arg,
    repeatable,
)
from planner.cli.output import line
from planner.config import DATA_DIR
from planner.errors import EditConflict
from planner.models import Piece, PieceStatus, PostStatus, User
from planner.timezones import format_local

PIECES = Commands("pieces", "edit pieces and move them through review")
COMMANDS = (PIECES,)


@PIECES.action(
    "list", arg("--status", type=common.enum_type(PieceStatus)), parents=[LISTING, PAGED]
)
def cmd_pieces_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List pieces."""
    found = pieces.list_pieces(session, actor=actor, status=args.status, limit=args.limit)
    owners = users.usernames(session, actor=actor)
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
    output.rows(
        rows,
        [
            *output.columns("id", "status"),
            ("rev", "revision"),
            ("approved", "approved_revision"),
            ("owner", "owner"),
            ("due", "due_date"),
            ("title", "title"),
        ],
        as_json=args.json,
    )


@PIECES.action("show", ID, parents=[LISTING])
def cmd_pieces_show(session: Session, actor: User, args: argparse.Namespace) -> None:
    """A piece with its variants, comments and posts."""
    piece = pieces.get_piece(session, actor=actor, piece_id=args.id)
    comments = pieces.list_comments(session, actor=actor, piece_id=args.id)
    names = channels.channel_names(session, actor=actor)
    authors = users.usernames(session, actor=actor)
    posts = planning.list_posts(session, actor=actor, piece_id=args.id)
    data: dict[str, Any] = {
        "id": piece.id,
        "title": piece.title,
        "status": piece.status.value,
        "revision": piece.revision,
        "approved_revision": piece.approved_revision,
        "approved_by": authors.get(piece.approved_by_id) if piece.approved_by_id else None,
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
        output.emit_json(data)
        return
    approved = (
        f", approved r{piece.approved_revision} by {data['approved_by']}"
        if piece.approved_revision
        else ""
    )
    line(
        f"Piece #{piece.id}: {piece.title}  [{piece.status.value}, revision "
        f"{piece.revision}{approved}]"
    )
    line(
        f"due: {piece.due_date or '-'}   campaign: {piece.campaign or '-'}   "
        f"tags: {', '.join(piece.tags) or '-'}"
    )
    line("\n" + piece.body + "\n")
    for channel, text in data["variants"].items():
        line(f"--- variant for {channel} ({len(text)} characters)\n{text}\n")
    for c in data["comments"]:
        line(f"comment by {c['author']} on r{c['revision']}: {c['body']}")
    for p in data["posts"]:
        line(f"post {p['id']}: {p['channel']} at {p['publish_at']} [{p['status']}]")


def _variant_args(session: Session, specs: Sequence[str], *, files: bool) -> dict[int, str]:
    variants: dict[int, str] = {}
    for spec in specs:
        channel, sep, value = spec.partition("=")
        if not sep:
            raise CliError(f"{spec!r}: write CHANNEL=TEXT (or CHANNEL=FILE with --variant-file)")
        chan = channels.get_channel(session, channel)
        assert chan.id is not None
        variants[chan.id] = common.read_text(value) if files else value
    return variants


@PIECES.action(
    "edit",
    ID,
    arg("--title"),
    arg("--body", help="the master text"),
    arg("--body-file", help="read the master text from a file (- for stdin)"),
    repeatable("--variant", "text for one channel", metavar="CHANNEL=TEXT"),
    repeatable("--variant-file", "text for one channel from a file", metavar="CHANNEL=FILE"),
    arg("--due", type=common.day, help="due date YYYY-MM-DD ('' clears it)"),
    arg("--campaign"),
    arg("--tags", help="comma-separated"),
    arg("--note", default="", help="what this revision changes"),
    arg(
        "--expected-revision",
        type=common.revision,
        help="the revision you edited (default: the current one); a conflict "
        "keeps your text in data/conflicts/",
    ),
)
def cmd_pieces_edit(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Save a new revision of a piece."""
    piece = pieces.get_piece(session, actor=actor, piece_id=args.id)
    data: dict[str, Any] = {"note": args.note}
    if args.title is not None:
        data["title"] = args.title
    if args.body_file is not None:
        data["body"] = common.read_text(args.body_file)
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
        raise CliError(f"{err}\nwhat you tried to save is {kept}") from err
    if saved.revision == expected:
        return f"piece {saved.id}: nothing changed (still revision {saved.revision})"
    return f"piece {saved.id} saved as revision {saved.revision} [{saved.status.value}]"


def _keep_conflict(piece_id: int, err: EditConflict) -> str:
    """Where what the user tried to save is kept: a file (readable by them alone) under
    data/conflicts, or in the system's temporary folder where that cannot be written (a
    read-only installation); failing both, the text itself, to copy from the terminal."""
    attempted = err.attempted.model_dump(mode="json") if err.attempted is not None else {}
    text = json.dumps(attempted, ensure_ascii=False, indent=2)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for folder in (DATA_DIR / "conflicts", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(
                prefix=f"piece-{piece_id}-r{err.expected}-{stamp}-", suffix=".json", dir=folder
            )
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
        except OSError:
            continue
        return f"in {name}"
    return f"below (no file could be written):\n{text}"


def _moved(piece: Piece) -> str:
    return f"piece {piece.id} is now {piece.status.value} (revision {piece.revision})"


def _note_move(name: str, move: Callable[..., Piece], doc: str) -> Handler:
    """Add command `name`, a review move that takes only a note; `doc` is its help."""

    def run(session: Session, actor: User, args: argparse.Namespace) -> str:
        return _moved(move(session, actor=actor, piece_id=args.id, note=args.note))

    run.__doc__ = doc
    noted = (ID, arg("--note", default=""))
    return PIECES.action(name, *noted)(run)


cmd_pieces_submit = _note_move("submit", pieces.submit_piece, "Send a draft to review.")
cmd_pieces_revise = _note_move(
    "revise", pieces.revise_piece, "Take a piece with requested changes back to draft."
)


@PIECES.action("archive", ID, arg("--note", default=""))
def cmd_pieces_archive(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Archive a piece (its planned posts then do not go out)."""
    said = _moved(pieces.archive_piece(session, actor=actor, piece_id=args.id, note=args.note))
    planned = planning.list_posts(session, actor=actor, piece_id=args.id, status=PostStatus.planned)
    if planned:
        ids = ", ".join(str(post.id) for post in planned)
        said += f"\nits planned posts ({ids}) will not go out now (cancel them, or reopen it)"
    return said


cmd_pieces_reopen = _note_move(
    "reopen", pieces.reopen_piece, "Bring an archived piece back as draft."
)


@PIECES.action(
    "approve",
    ID,
    arg(
        "--revision",
        type=common.revision,
        help="the revision you read, as `pieces show` prints it (required)",
    ),
    arg("--note", default=""),
)
def cmd_pieces_approve(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Approve the revision you read (four-eyes: never your own work)."""
    # Exactly the revision the approver says they read, never an unseen one.
    current = pieces.get_piece(session, actor=actor, piece_id=args.id).revision
    show = f"`python -m planner pieces show {args.id}`"
    if args.revision is None:
        raise CliError(
            f"say which revision you read: --revision N (piece {args.id} is at revision "
            f"{current}; read it with {show})"
        )
    try:
        piece = pieces.approve_piece(
            session, actor=actor, piece_id=args.id, revision=args.revision, note=args.note
        )
    except EditConflict as err:
        # `err.current` is the piece's revision as stored now (what `pieces show` prints).
        if err.current == args.revision:
            # The same text, but someone else moved the piece meanwhile (sent it back,
            # approved it): look at it again before anything more.
            raise CliError(
                f"piece {args.id} was changed by someone else while you approved it "
                f"(still revision {err.current}): look at it again with {show}"
            ) from err
        raise CliError(
            f"you read revision {args.revision}, but piece {args.id} is now at revision "
            f"{err.current}: read it with {show}, then approve --revision {err.current}"
        ) from err
    return _moved(piece)


@PIECES.action(
    "request-changes",
    ID,
    arg("--comment", required=True),
    arg("--revision", type=common.revision, help="the revision you read"),
)
def cmd_pieces_request_changes(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Send a piece back with a comment."""
    piece = pieces.request_changes(
        session, actor=actor, piece_id=args.id, comment=args.comment, revision=args.revision
    )
    return _moved(piece)


@PIECES.action(
    "history",
    ID,
    arg("--diff", type=common.revision, nargs=2, metavar=("OLD", "NEW")),
    arg("--restore", type=common.revision, metavar="REVISION"),
    parents=[LISTING],
)
def cmd_pieces_history(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """Revisions; --diff A B; --restore N."""
    if args.restore is not None:
        current = pieces.get_piece(session, actor=actor, piece_id=args.id).revision
        piece = pieces.restore_revision(
            session, actor=actor, piece_id=args.id, number=args.restore, expected_revision=current
        )
        if args.json:
            output.emit_json(
                {"piece_id": args.id, "restored": args.restore, "revision": piece.revision}
            )
            return None
        return f"restored revision {args.restore} as revision {piece.revision}"
    if args.diff is not None:
        diff = pieces.diff_revisions(
            session, actor=actor, piece_id=args.id, old=args.diff[0], new=args.diff[1]
        )
        if args.json:
            # The unified diff per part, the word-by-word `parts`, and the whole as `text`.
            output.emit_json({**output.plain(diff), "changed": diff.changed, "text": diff.text})
            return None
        line(diff.text, end="")
        return None
    revisions = pieces.history(session, actor=actor, piece_id=args.id)
    authors = users.usernames(session, actor=actor)
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
    output.rows(
        rows, output.columns("revision", "author", "at", "title", "note"), as_json=args.json
    )
    return None


@PIECES.action("comment", ID, arg("text"))
def cmd_pieces_comment(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Comment on a piece."""
    pieces.add_comment(session, actor=actor, piece_id=args.id, body=args.text)
    return f"comment added to piece {args.id}"
