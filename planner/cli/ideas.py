"""Ideas: `ideas submit|list|show|accept|reject|merge|import|export`."""

from __future__ import annotations

import argparse
from typing import Any

from sqlmodel import Session

from planner import csvio, ideas, users
from planner.cli import common, output
from planner.cli.common import ACTING, ID, LISTING, PAGED, Commands, arg, record_id
from planner.cli.output import line
from planner.models import IdeaStatus, Urgency, User
from planner.timezones import format_local

IDEAS = Commands("ideas", "submit and triage ideas")
COMMANDS = (IDEAS,)
# The options of `ideas list` that pass on to `ideas.list_ideas` under their own names.
_LIST_FILTERS = ("status", "department", "urgency", "tag", "mine")


@IDEAS.action(
    "submit",
    arg("--title", required=True),
    arg("--pitch", required=True),
    arg("--department", help="default: your own department"),
    arg("--audience", default="", help="target audience"),
    arg("--goal", default=""),
    arg("--url", help="optional source link"),
    arg("--urgency", default="normal", choices=[u.value for u in Urgency]),
    arg("--tags", default="", help="comma-separated"),
)
def cmd_ideas_submit(session: Session, actor: User, args: argparse.Namespace) -> None:
    """Submit an idea."""
    department = args.department
    if department is None and actor.department_id is not None:
        department = users.department_names(session, actor=actor).get(actor.department_id)
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
    line(f"submitted idea {result.idea.id}: {result.idea.title}")
    if result.similar:
        line("It looks like these existing ideas - an editor may merge it:")
        for s in result.similar:
            line(f"  #{s.id} [{s.status.value}, {s.department}] {s.title} (similarity {s.score})")


@IDEAS.action(
    "list",
    arg("--status", type=common.enum_type(IdeaStatus)),
    arg("--department"),
    arg("--urgency", type=common.enum_type(Urgency)),
    arg("--tag"),
    arg("--mine", action="store_true", help="only ideas you submitted"),
    parents=[LISTING, PAGED],
)
def cmd_ideas_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List the ideas you may see."""
    filters = {name: getattr(args, name) for name in _LIST_FILTERS}
    found = ideas.list_ideas(session, actor=actor, limit=args.limit, **filters)
    deps = users.department_names(session, actor=actor)
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
    output.rows(
        rows,
        [
            *output.columns("id", "status", "urgency", "department", "title"),
            ("created", "created_at"),
        ],
        as_json=args.json,
    )


@IDEAS.action("show", ID, parents=[LISTING])
def cmd_ideas_show(session: Session, actor: User, args: argparse.Namespace) -> None:
    """What became of an idea."""
    outcome = ideas.idea_outcome(session, actor=actor, idea_id=args.id)
    idea = outcome.idea
    if args.json:
        output.emit_json(
            {
                "id": idea.id,
                "title": idea.title,
                "pitch": idea.pitch,
                "department": outcome.department,
                "status": idea.status.value,
                "rejection_reason": outcome.rejection_reason,
                "merged_into": outcome.merged_into,
                "carried_by": {"id": outcome.carried_by, "status": outcome.carrier_status.value}
                if outcome.carried_by is not None and outcome.carrier_status is not None
                else None,
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
        return
    line(f"Idea #{idea.id}: {idea.title}")
    line(
        f"  department: {outcome.department}   urgency: {idea.urgency.value}   "
        f"status: {idea.status.value}"
    )
    if outcome.merged_into:
        line(f"  merged into idea #{outcome.merged_into}")
    if outcome.carried_by is not None and outcome.carrier_status is not None:
        line(f"  carried on as idea #{outcome.carried_by}, status: {outcome.carrier_status.value}")
    if outcome.rejection_reason:
        line(f"  rejected because: {outcome.rejection_reason}")
    if outcome.piece_id:
        line(f"  became piece #{outcome.piece_id} '{outcome.piece_title}' ({outcome.piece_status})")
    for post in outcome.posts:
        when = format_local(post.publish_at, actor.timezone)
        done = (
            f", published {format_local(post.published_at, actor.timezone)}"
            if (post.published_at)
            else ""
        )
        url = f" {post.external_url}" if post.external_url else ""
        line(f"  - {post.channel}: {when} [{post.status.value}{done}]{url}")


@IDEAS.action("accept", ID, arg("--note", default=""))
def cmd_ideas_accept(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Accept an idea; it becomes a draft piece."""
    piece = ideas.accept_idea(session, actor=actor, idea_id=args.id, note=args.note)
    return f"accepted idea {args.id}; it is now draft piece {piece.id}"


@IDEAS.action("reject", ID, arg("--reason", required=True))
def cmd_ideas_reject(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Reject an idea with a reason."""
    ideas.reject_idea(session, actor=actor, idea_id=args.id, reason=args.reason)
    return f"rejected idea {args.id}"


@IDEAS.action("reopen", ID, arg("--note", default=""))
def cmd_ideas_reopen(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Take a rejected idea back into triage (its rejection reason is cleared)."""
    ideas.reopen_idea(session, actor=actor, idea_id=args.id, note=args.note)
    return f"reopened idea {args.id}; it waits in the inbox again"


@IDEAS.action(
    "merge",
    ID,
    arg("--into", type=record_id, required=True, metavar="IDEA_ID"),
    arg("--note", default=""),
)
def cmd_ideas_merge(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Merge a duplicate into another idea."""
    ideas.merge_idea(session, actor=actor, idea_id=args.id, into_id=args.into, note=args.note)
    return f"merged idea {args.id} into idea {args.into}"


@IDEAS.command("import", [ACTING], arg("file", help="CSV file, or - for standard input"))
def cmd_ideas_import(args: argparse.Namespace) -> int:
    """Submit every idea in a CSV file (columns: title, pitch, department, target_audience,
    goal, source_url, urgency, tags); nothing is imported if any row is broken. Every row
    is a new idea: an export's other columns (id, status, ...) are read past, not applied."""
    raw = common.read_csv(args.file)
    with common.session() as session:
        stored = csvio.import_ideas(session, actor=common.actor(session, args), raw=raw)
    line(f"imported {len(stored)} idea(s)")
    return 0


@IDEAS.action("export", arg("file", help="CSV file, or - for standard output"), common.SEPARATOR)
def cmd_ideas_export(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """Write the ideas you may see as CSV."""
    fmt = common.separator_of(args)
    count = common.export(
        args.file, lambda out: csvio.export_ideas(session, actor=actor, out=out, fmt=fmt)
    )
    return None if args.file == "-" else f"exported {count} idea(s) to {args.file}"
