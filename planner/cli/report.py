"""Reports over a period: `report process` (the editorial process) and `report approvals`
(approvals and overrides for audits, with the audit chain's verification)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import IO

from sqlmodel import Session

from planner import approvals_report, process, report_output
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


def _write(
    path: str, fmt: str, csv: Callable[[IO[str]], int], page: Callable[[], str]
) -> str | None:
    def write(out: IO[str]) -> int:
        if fmt == "csv":
            return csv(out)
        out.write(page())
        return 1

    common.export(path, write)
    return None if path == "-" else f"wrote the report to {path}"


@REPORT.command("process", [ACTING], *_PERIOD)
@acting
def cmd_report_process(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """The editorial process of a period: ideas, cycle times, review waits, rework, posts."""
    since, until = _period(actor, args)
    report = process.process_report(session, actor=actor, since=since, until=until)
    return _write(
        args.output,
        args.format,
        lambda out: report_output.process_csv(report, out),
        lambda: report_output.process_html(report),
    )


@REPORT.command("approvals", [ACTING], *_PERIOD)
@acting
def cmd_report_approvals(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """Who approved which revision of what, every override, and the audit chain's check."""
    since, until = _period(actor, args)
    report = approvals_report.approvals_report(session, actor=actor, since=since, until=until)
    return _write(
        args.output,
        args.format,
        lambda out: report_output.approvals_csv(report, out),
        lambda: report_output.approvals_html(report),
    )
