"""Ideas: `ideas submit|list|show|accept|reject|merge|import|export`."""

from __future__ import annotations

import argparse
from typing import Any

from planner import csvio, ideas, users
from planner.cli import common, output
from planner.cli.common import ACTING, LISTING, PAGED, command, group, record_id
from planner.cli.output import line
from planner.models import IdeaStatus, Urgency
from planner.timezones import format_local


def register(sub: common.Subparsers) -> None:
    """Add the `ideas` group."""
    g = group(sub, "ideas", "submit and triage ideas")
    p = command(g, "submit", cmd_ideas_submit, [ACTING])
    p.add_argument("--title", required=True)
    p.add_argument("--pitch", required=True)
    p.add_argument("--department", help="default: your own department")
    p.add_argument("--audience", default="", help="target audience")
    p.add_argument("--goal", default="")
    p.add_argument("--url", help="optional source link")
    p.add_argument("--urgency", default="normal", choices=[u.value for u in Urgency])
    p.add_argument("--tags", default="", help="comma-separated")
    p = command(g, "list", cmd_ideas_list, [ACTING, LISTING, PAGED])
    p.add_argument("--status", type=common.enum_type(IdeaStatus))
    p.add_argument("--department")
    p.add_argument("--urgency", type=common.enum_type(Urgency))
    p.add_argument("--tag")
    p.add_argument("--mine", action="store_true", help="only ideas you submitted")
    p = command(g, "show", cmd_ideas_show, [ACTING, LISTING])
    p.add_argument("id", type=record_id)
    p = command(g, "accept", cmd_ideas_accept, [ACTING])
    p.add_argument("id", type=record_id)
    p.add_argument("--note", default="")
    p = command(g, "reject", cmd_ideas_reject, [ACTING])
    p.add_argument("id", type=record_id)
    p.add_argument("--reason", required=True)
    p = command(g, "merge", cmd_ideas_merge, [ACTING])
    p.add_argument("id", type=record_id)
    p.add_argument("--into", type=record_id, required=True, metavar="IDEA_ID")
    p.add_argument("--note", default="")
    p = command(g, "import", cmd_ideas_import, [ACTING])
    p.add_argument("file", help="CSV file, or - for standard input")
    p = command(g, "export", cmd_ideas_export, [ACTING])
    p.add_argument("file", help="CSV file, or - for standard output")


def cmd_ideas_submit(args: argparse.Namespace) -> int:
    """Submit an idea."""
    with common.session() as session:
        actor = common.actor(session, args)
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
    return 0


def cmd_ideas_list(args: argparse.Namespace) -> int:
    """List the ideas you may see."""
    with common.session() as session:
        actor = common.actor(session, args)
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
            ("id", "id"),
            ("status", "status"),
            ("urgency", "urgency"),
            ("department", "department"),
            ("title", "title"),
            ("created", "created_at"),
        ],
        as_json=args.json,
    )
    return 0


def cmd_ideas_show(args: argparse.Namespace) -> int:
    """What became of an idea."""
    with common.session() as session:
        actor = common.actor(session, args)
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
    line(f"Idea #{idea.id}: {idea.title}")
    line(
        f"  department: {outcome.department}   urgency: {idea.urgency.value}   "
        f"status: {idea.status.value}"
    )
    if outcome.rejection_reason:
        line(f"  rejected because: {outcome.rejection_reason}")
    if outcome.merged_into:
        line(f"  merged into idea #{outcome.merged_into}")
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
    return 0


def cmd_ideas_accept(args: argparse.Namespace) -> int:
    """Accept an idea; it becomes a draft piece."""
    with common.session() as session:
        piece = ideas.accept_idea(
            session, actor=common.actor(session, args), idea_id=args.id, note=args.note
        )
    line(f"accepted idea {args.id}; it is now draft piece {piece.id}")
    return 0


def cmd_ideas_reject(args: argparse.Namespace) -> int:
    """Reject an idea with a reason."""
    with common.session() as session:
        ideas.reject_idea(
            session, actor=common.actor(session, args), idea_id=args.id, reason=args.reason
        )
    line(f"rejected idea {args.id}")
    return 0


def cmd_ideas_merge(args: argparse.Namespace) -> int:
    """Merge a duplicate into another idea."""
    with common.session() as session:
        ideas.merge_idea(
            session,
            actor=common.actor(session, args),
            idea_id=args.id,
            into_id=args.into,
            note=args.note,
        )
    line(f"merged idea {args.id} into idea {args.into}")
    return 0


def cmd_ideas_import(args: argparse.Namespace) -> int:
    """Submit every idea in a CSV file (columns: title, pitch, department, target_audience,
    goal, source_url, urgency, tags); nothing is imported if any row is broken."""
    raw = common.read_csv(args.file)
    with common.session() as session:
        stored = csvio.import_ideas(session, actor=common.actor(session, args), raw=raw)
    line(f"imported {len(stored)} idea(s)")
    return 0


def cmd_ideas_export(args: argparse.Namespace) -> int:
    """Write the ideas you may see as CSV."""
    with common.session() as session:
        actor = common.actor(session, args)
        count = common.export(
            args.file, lambda out: csvio.export_ideas(session, actor=actor, out=out)
        )
    if args.file != "-":
        line(f"exported {count} idea(s) to {args.file}")
    return 0
