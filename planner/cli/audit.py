"""The append-only audit log: `audit export|verify`."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from planner import audit, csvio
from planner.cli import common
from planner.cli.common import ACTING, CliError, Commands, arg
from planner.cli.output import line
from planner.models import User

AUDIT = Commands("audit", "the append-only audit log")
COMMANDS = (AUDIT,)


@AUDIT.action(
    "export",
    arg("file", help="CSV file, or - for standard output"),
    arg("--since", help="date or date-time in your zone"),
    arg("--until", help="date (inclusive) or date-time in your zone"),
    common.SEPARATOR,
)
def cmd_audit_export(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """Write audit events as CSV."""
    since, until = common.when(actor, args.since), common.when(actor, args.until, end=True)
    if since and until and since >= until:
        raise CliError("--since must be before --until")
    fmt = common.separator_of(args)
    count = common.export(
        args.file,
        lambda out: csvio.export_audit(
            session, actor=actor, out=out, since=since, until=until, fmt=fmt
        ),
    )
    return None if args.file == "-" else f"exported {count} audit event(s) to {args.file}"


@AUDIT.command(
    "verify",
    [ACTING],
    arg("--from", dest="date_from", help="date or date-time in your zone"),
    arg("--to", dest="date_to", help="date (inclusive) or date-time in your zone"),
    arg(
        "--file",
        help="an exported audit CSV to check on its own, without the database (- for stdin)",
    ),
)
def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Recompute the audit log's hash chain (admins) and report the first broken link."""
    if args.file is not None:
        if args.date_from or args.date_to:
            raise CliError("--file checks the whole file: --from and --to do not apply")
        raw = common.read_file(args.file)
        try:
            report = csvio.verify_audit_file(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            raise CliError(f"{args.file!r} is not UTF-8 text") from err
    else:
        with common.session() as session:
            actor = common.actor(session, args)
            since = common.when(actor, args.date_from)
            until = common.when(actor, args.date_to, end=True)
            if since and until and since >= until:
                raise CliError("--from must be before --to")
            report = audit.verify(session, actor=actor, since=since, until=until)
    # The report is the command's result; a broken chain also fails the exit code.
    line(report.summary())
    if report.intact:
        return 0
    line(f"{report.events} event(s) before it are intact")
    return 1
