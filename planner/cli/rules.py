"""Publishing rules: `rules list|add|edit|disable|export|import|override`."""

from __future__ import annotations

import argparse
from typing import IO, Any

import yaml
from sqlmodel import Session

from planner import rule_checks, rules
from planner.channels import get_channel
from planner.cli import common, output
from planner.cli.common import LISTING, CliError, Commands, arg
from planner.models import User

RULES = Commands("rules", "publishing rules (guidelines as code)")
COMMANDS = (RULES,)

# The rule a command acts on: `rules edit`, `rules disable` and `rules override` take it.
_RULE = arg("rule", help="the rule's name or id")
# What `rules add` and `rules edit` take besides the rule's name.
_FIELDS = (
    arg("--kind", choices=list(rules.KINDS), help="what the rule checks"),
    arg("--severity", choices=list(rules.SEVERITIES), help="block, warn or info"),
    arg("--settings", metavar="YAML", help="the kind's settings, e.g. '{terms: [gratis]}'"),
    arg("--message-de", metavar="TEXT", help="the message in German"),
    arg("--message-en", metavar="TEXT", help="the message in English"),
    *(
        arg(f"--{key[:-1]}", dest=key, action="append", metavar="NAME", help=f"scope: {help_text}")
        for key, help_text in (
            ("channels", "a channel it applies to (repeatable; none: all)"),
            ("departments", "a department it applies to (repeatable; none: all)"),
            ("campaigns", "a campaign it applies to (repeatable; none: all)"),
            ("audiences", "an audience it applies to (repeatable; none: all)"),
        )
    ),
)


def _settings(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise CliError(f"--settings {text!r} is neither YAML nor JSON") from err
    if not isinstance(value, dict):
        raise CliError(f"--settings {text!r}: give a mapping, such as '{{max: 3}}'")
    return value


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    """The fields the command line gives, as `rules.add_rule`/`edit_rule` take them."""
    data: dict[str, Any] = {}
    for name in ("kind", "severity"):
        if getattr(args, name) is not None:
            data[name] = getattr(args, name)
    settings = _settings(args.settings)
    if settings is not None:
        data["settings"] = settings
    message = {
        lang: getattr(args, f"message_{lang}")
        for lang in ("de", "en")
        if getattr(args, f"message_{lang}") is not None
    }
    if message:
        data["message"] = message
    scope = {key: getattr(args, key) for key in rules.SCOPE_KEYS if getattr(args, key)}
    if scope:
        data["scope"] = scope
    return data


@RULES.action("list", parents=[LISTING])
def cmd_rules_list(session: Session, actor: User, args: argparse.Namespace) -> None:
    """List the publishing rules (editors, approvers, admins)."""
    rows: list[dict[str, Any]] = [
        {"id": r.id, **rules.spec_of(r).as_dict()} for r in rules.list_rules(session, actor=actor)
    ]
    output.rows(
        rows,
        [
            *output.columns("id", "name", "kind", "severity"),
            ("enabled", output.flag("enabled", "yes", "no")),
            (
                "scope",
                lambda r: "; ".join(f"{k}: {', '.join(v)}" for k, v in r["scope"].items() if v),
            ),
        ],
        as_json=args.json,
        width=60,
    )


@RULES.action("add", arg("name"), *_FIELDS)
def cmd_rules_add(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Add a publishing rule (admins)."""
    data = {"name": args.name, **_changes(args)}
    rule = rules.add_rule(session, actor=actor, data=data)
    return f"added {rule.kind} rule {rule.name!r} ({rule.severity}, id {rule.id})"


@RULES.action(
    "edit",
    _RULE,
    arg("--rename", metavar="NEW_NAME", help="give the rule another name"),
    *_FIELDS,
    arg(
        "--every",
        action="append",
        choices=list(rules.SCOPE_KEYS),
        help="let the rule apply to every channel (departments, campaigns, audiences) again: "
        "that part of its scope is emptied (repeatable)",
    ),
)
def cmd_rules_edit(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Change a publishing rule (admins); a scope given replaces that part of its scope."""
    changes = _changes(args)
    for key in args.every or []:
        if key in changes.get("scope", {}):
            raise CliError(f"give --{key[:-1]} NAME or --every {key}, not both")
        changes.setdefault("scope", {})[key] = []
    if args.rename is not None:
        changes["name"] = args.rename
    if not changes:
        raise CliError(
            "nothing to change: give --rename, --kind, --severity, --settings, --every, ..."
        )
    rule = rules.edit_rule(session, actor=actor, ref=args.rule, changes=changes)
    return f"rule {rule.name!r} updated"


@RULES.action("disable", _RULE, arg("--enable", action="store_true", help="enable it again"))
def cmd_rules_disable(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Disable a publishing rule (or --enable it again) (admins)."""
    rule = rules.set_rule_enabled(session, actor=actor, ref=args.rule, enabled=args.enable)
    return f"rule {rule.name!r} {'enabled' if rule.enabled else 'disabled'}"


@RULES.action(
    "export",
    arg("file", help="YAML or JSON file, or - for standard output"),
    arg("--format", choices=list(rules.FORMATS), default="yaml", help="yaml (default) or json"),
)
def cmd_rules_export(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """Write every publishing rule as YAML or JSON, to import again elsewhere."""
    text = rules.export_rules(session, actor=actor, fmt=args.format)
    total = len(rules.list_rules(session, actor=actor))

    def write(out: IO[str]) -> int:
        out.write(text)
        return total

    count = common.export(args.file, write)
    return None if args.file == "-" else f"exported {count} rule(s) to {args.file}"


@RULES.action("import", arg("file", help="YAML or JSON file, or - for standard input"))
def cmd_rules_import(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Add or replace (by name) the publishing rules of a YAML or JSON file (admins); nothing
    is imported if any rule is broken."""
    done = rules.import_rules(session, actor=actor, text=common.read_text(args.file))
    return f"imported: {len(done.added)} added, {len(done.changed)} changed"


@RULES.action(
    "override",
    arg("piece", type=common.record_id, help="the piece's id"),
    _RULE,
    arg("--revision", type=common.record_id, required=True, help="the revision you read"),
    arg("--channel", metavar="NAME", help="only on this channel (default: every channel)"),
    arg("--justification", required=True, metavar="TEXT", help="why the rule does not apply"),
)
def cmd_rules_override(session: Session, actor: User, args: argparse.Namespace) -> str:
    """Let one revision of a piece pass a blocking rule, with a written justification
    (approvers; audited)."""
    channel_id = None
    if args.channel is not None:
        channel_id = get_channel(session, args.channel).id
    rule_checks.override_finding(
        session,
        actor=actor,
        piece_id=args.piece,
        revision=args.revision,
        rule=args.rule,
        channel_id=channel_id,
        justification=args.justification,
    )
    return f"rule {args.rule!r} overridden for revision {args.revision} of piece {args.piece}"
