"""Reports over a period: `report process` (the editorial process) and `report approvals`
(approvals and overrides for audits, with the audit chain's verification)."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import IO, Any

from sqlmodel import Session

from planner import report_output
from planner.cli import common
from planner.cli.common import ACTING, CliError, Commands, acting, arg
from planner.models import User

REPORT = Commands("report", "reports over a period, as CSV or printable HTML")
COMMANDS = (REPORT,)

_PERIOD = (
    arg("--since", required=True, help="first date or date-time, in your zone"),
    arg("--until", required=True, help="last date (inclusive) or date-time, in your zone"),
    arg("--format", choices=("csv", "html"), default="csv", help="csv (default) or html"),
    arg("--output", default="-", help="file to write (default: - for standard output)"),
)


def _period(actor: User, args: argparse.Namespace) -> tuple[datetime, datetime]:
    since = common.when(actor, args.since)
    until = common.when(actor, args.until, end=True)
    if since is None or until is None:
        raise CliError("give both --since and --until")
    if since >= until:
        raise CliError("--since must be before --until")
    return since, until


def _report(
    session: Session, actor: User, args: argparse.Namespace, kind: report_output.ReportKind[Any]
) -> str | None:
    """Make the report of the period the arguments give; write it where and as they say."""
    since, until = _period(actor, args)
    report = kind.make(session, actor=actor, since=since, until=until)

    def write(out: IO[str]) -> int:
        if args.format == "csv":
            return kind.csv(report, out)
        out.write(kind.html(report))
        return 1

    common.export(args.output, write)
    return None if args.output == "-" else f"wrote the report to {args.output}"


@REPORT.command("process", [ACTING], *_PERIOD)
@acting
def cmd_report_process(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """The editorial process of a period: ideas, cycle times, review waits, rework, posts."""
    return _report(session, actor, args, report_output.PROCESS)


@REPORT.command("approvals", [ACTING], *_PERIOD)
@acting
def cmd_report_approvals(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """Who approved which revision of what, every override, and the audit chain's check."""
    return _report(session, actor, args, report_output.APPROVALS)
