"""Reports over a period: `report process` (the editorial process), `report approvals`
(approvals and overrides for audits, with the audit chain's verification), `report
engagement` (what published posts achieved) and `report best-times` (per channel)."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import IO, Any

from sqlmodel import Session

from planner import analytics, report_output, slots
from planner.cli import common, output
from planner.cli.common import LISTING, CliError, Commands, arg
from planner.models import User, utcnow
from planner.timezones import format_local, to_local

REPORT = Commands(
    "report", "reports over a period, as CSV or printable HTML; engagement and best times"
)
COMMANDS = (REPORT,)

_PERIOD = (
    arg("--since", required=True, help="first date or date-time, in your zone"),
    arg("--until", required=True, help="last date (inclusive) or date-time, in your zone"),
    arg("--format", choices=("csv", "html"), default="csv", help="csv (default) or html"),
    common.SEPARATOR,
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
    fmt = common.separator_of(args, args.format)
    report = kind.make(session, actor=actor, since=since, until=until)

    def write(out: IO[str]) -> int:
        if args.format == "csv":
            return kind.csv(report, out, fmt=fmt)
        out.write(kind.html(report))
        return 1

    common.export(args.output, write)
    return None if args.output == "-" else f"wrote the report to {args.output}"


@REPORT.action("process", *_PERIOD)
def cmd_report_process(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """The editorial process of a period: ideas, cycle times, review waits, rework, posts."""
    return _report(session, actor, args, report_output.PROCESS)


@REPORT.action("approvals", *_PERIOD)
def cmd_report_approvals(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """Who approved which revision of what, every override, and the audit chain's check."""
    return _report(session, actor, args, report_output.APPROVALS)


# The period `report engagement` covers without --from/--to: the last 30 days, today included.
_ENGAGEMENT_DAYS = 30


def _engagement_period(actor: User, args: argparse.Namespace) -> tuple[datetime, datetime]:
    today = to_local(utcnow(), actor.timezone).date()
    first = args.date_from or (today - timedelta(days=_ENGAGEMENT_DAYS - 1)).isoformat()
    last = args.date_to or today.isoformat()
    since, until = common.when(actor, first), common.when(actor, last, end=True)
    assert since is not None and until is not None
    if since >= until:
        raise CliError("--from must not be after --to")
    return since, until


@REPORT.action(
    "engagement",
    arg("--from", dest="date_from", type=common.day, help="first day (default: 30 days ago)"),
    arg("--to", dest="date_to", type=common.day, help="last day, inclusive (default: today)"),
    arg(
        "--by", choices=analytics.DIMENSIONS, default="channel", help="group by (default: channel)"
    ),
    arg("--period", choices=analytics.PERIODS, default="week", help="day, week (default) or month"),
    arg("--csv", dest="csv_file", metavar="FILE", help="also write the rows as CSV (- for stdout)"),
    common.SEPARATOR,
    parents=[LISTING],
)
def cmd_report_engagement(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """Engagement (reactions + reposts + replies + link clicks) of the posts published per
    period, by channel, department, audience or campaign."""
    since, until = _engagement_period(actor, args)
    if args.separator is not None and not args.csv_file:
        raise CliError("--separator applies to the --csv file only")
    fmt = common.separator_of(args)
    report = analytics.engagement_over_time(
        session, actor=actor, since=since, until=until, by=args.by, period=args.period
    )
    if args.csv_file == "-":
        common.export("-", lambda out: analytics.engagement_csv(report, out, fmt=fmt))
        return None
    output.rows(
        analytics.engagement_rows(report),
        [("period", "period_start"), (args.by, "group"), *output.columns(*_FIGURES)],
        as_json=args.json,
    )
    if args.csv_file:
        common.export(args.csv_file, lambda out: analytics.engagement_csv(report, out, fmt=fmt))
        return None if args.json else f"wrote the rows to {args.csv_file}"
    return None


_FIGURES = ("posts", "measured", "impressions", "engagement")


@REPORT.action(
    "best-times",
    arg("--channel", required=True, metavar="NAME", help="the channel (name or id)"),
    arg(
        "--suggest",
        type=common.whole(1, 20, "a number of times"),
        default=3,
        help="how many upcoming times to suggest (default: 3)",
    ),
    parents=[LISTING],
)
def cmd_report_best_times(session: Session, actor: User, args: argparse.Namespace) -> str | None:
    """A channel's best publishing times from the last year: posts and mean engagement per
    weekday and hour (organisation time), and the best upcoming times (editors, approvers,
    admins)."""
    grid = analytics.best_times(session, actor=actor, channel=args.channel)
    suggestions = analytics.suggest_times(
        session, actor=actor, channel=args.channel, n=args.suggest
    )
    if args.json:
        output.emit_json({"best_times": grid, "suggestions": suggestions})
        return None
    output.line(f"{grid.channel}: weekday and hour in {grid.timezone}, last year")
    output.table(
        ["weekday", "hour", "posts", "mean engagement", "note"],
        [
            [
                slots.WEEKDAYS[c.weekday],
                f"{c.hour:02d}:00",
                c.posts,
                f"{c.mean_engagement:.1f}",
                f"thin (under {analytics.MIN_POSTS} posts)" if c.thin else "",
            ]
            for c in sorted(grid.cells, key=lambda c: -c.mean_engagement)
        ],
    )
    if suggestions.basis == "none":
        return "suggested: none (not enough history and no publishing slots)"
    basis = "from history" if suggestions.basis == "history" else "from the slot plan"
    shown = ", ".join(format_local(t.at, actor.timezone) for t in suggestions.times)
    return f"suggested ({basis}): {shown}"
