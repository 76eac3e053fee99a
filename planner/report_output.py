"""The process report and the approvals report as CSV and as printable HTML.

CSV is for further work: one row per figure, names language-neutral (durations in hours,
rates as fractions), numbers with the decimal mark of the file's `CsvFormat`, every text
cell safe from spreadsheet formulas. HTML is for
reading and printing: one self-contained page, every stored text escaped, in English
unless the caller passes the texts of another language (`PROCESS_TEXTS`, `APPROVAL_TEXTS`
name them).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import IO, Generic, TypeVar

from planner import approvals_report, process
from planner.approvals_report import ApprovalsReport
from planner.csvio import COMMA, CsvFormat
from planner.planning import Hold
from planner.process import (
    CYCLES,
    IdeaCounts,
    PostProblem,
    ProcessReport,
    Spread,
)
from planner.timezones import format_local, to_local

_COMMON_TEXTS = {
    "period": "Period: {since} to {until} ({zone})",
    "made": "Made {at} by the editorial planner.",
    "none": "None in this period.",
    "decimal_mark": ".",
    "date_format": "%Y-%m-%d",
    "datetime_format": "%Y-%m-%d %H:%M %Z",
}

PROCESS_TEXTS: dict[str, str] = {
    **_COMMON_TEXTS,
    "title": "Editorial process report",
    "ideas": "Ideas submitted",
    "by_department": "Ideas by department",
    "by_audience": "Ideas by audience",
    "no_audience": "(no audience)",
    "all": "All",
    "group": "Group",
    "submitted": "Submitted",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "merged": "Merged",
    "open": "Open",
    "acceptance_rate": "Acceptance rate",
    "reasons": "Rejection reasons",
    "reason": "Reason",
    "count": "Count",
    "no_reason": "(no reason given)",
    "cycles": "Cycle times (days)",
    "stretch": "Stretch",
    "median": "Median",
    "p90": "90th percentile",
    "cycle.idea_to_approval": "Idea to approval",
    "cycle.approval_to_publication": "Approval to publication",
    "cycle.idea_to_publication": "Idea to publication",
    "states": "Time in each state (days, stays that ended in the period)",
    "state": "State",
    "total": "Total",
    "state.draft": "Draft",
    "state.in_review": "In review",
    "state.changes_requested": "Changes requested",
    "state.approved": "Approved",
    "state.published": "Published",
    "state.archived": "Archived",
    "rework": "Rework loops",
    "rework_summary": "Pieces reviewed: {pieces}; changes requested: {requests} ({mean} per "
    "piece).",
    "piece": "Piece",
    "title_col": "Title",
    "loops": "Changes requested",
    "late": "Approvals waiting past the target",
    "late_summary": "Target in working days: {days} ({land}). Reviews begun in the period "
    "that took longer: {late} of {reviews}.",
    "land_none": "nationwide holidays only",
    "land": "public holidays of {land}",
    "submitted_at": "Submitted",
    "decided_at": "Decided",
    "still_open": "still open",
    "working_days": "Working days",
    "overrides": "Rule overrides",
    "when": "When",
    "who": "Who",
    "object": "Object",
    "justification": "Justification",
    "findings": "Rule findings",
    "findings_summary": "What the content rules find now in the current version of the "
    "pieces worked on in the period ({pieces}; one finding per piece and channel).",
    "rule": "Rule",
    "severity": "Severity",
    "severity.block": "blocks",
    "severity.warn": "warns",
    "severity.info": "informs",
    "finding_count": "Findings",
    "pieces": "Pieces",
    "overridden": "Of them overridden",
    "step_findings": "Findings at submission and approval",
    "step_findings_summary": "What the rules found when the pieces submitted for review or "
    "approved in the period ({pieces}) went through those steps, also where a blocking "
    "finding refused the step (recorded then, so a finding fixed since still counts; one "
    "finding per version of a piece and channel).",
    "stopped": "Of them refused a step",
    "plan_findings": "Findings when planning",
    "plan_findings_summary": "What the rules found each time a post was planned or moved in "
    "the period (planning the same post twice counts twice), and how often a blocking "
    "finding refused the time or the post; the planner then offers the next allowed time.",
    "found_times": "Times found",
    "refused": "Of them refused",
    "posts": "Failed, held, missed and needs-check posts",
    "responses": "Listening: response times",
    "responses_summary": "Items of the listening inbox answered in the period, per department: "
    "how many within the department's response target, the median hours from arrival to "
    "reply, and the items still open past their target.",
    "response_department": "Department",
    "no_department": "(no department)",
    "target_hours": "Target (hours)",
    "answered": "Answered",
    "within_target": "Within target",
    "median_hours": "Median (hours)",
    "open_overdue": "Open and overdue",
    "post": "Post",
    "channel": "Channel",
    "post_state": "Status",
    "post_state.failed": "failed",
    "post_state.missed": "missed",
    "post_state.needs_check": "needs check",
    "post_state.held": "held now",
    "post_state.held_by_rule": "held by a rule",
    "post_state.was_held": "was held",
    "held_until": "{reason} (until {until})",
}

APPROVAL_TEXTS: dict[str, str] = {
    **_COMMON_TEXTS,
    "title": "Approvals and overrides for audit",
    "approvals": "Approvals",
    "when": "When",
    "approver": "Approved by",
    "piece": "Piece",
    "revision": "Revision",
    "title_col": "Title",
    "overrides": "Rule overrides",
    "who": "Who",
    "object": "Object",
    "justification": "Justification",
    "chain": "Audit chain",
    "intact": "Intact: {summary}",
    "broken": "BROKEN: {summary}",
    "event": "Event",
}


# --- CSV --------------------------------------------------------------------------------

PROCESS_COLUMNS = ("section", "name", "measure", "value")


def _hours(span: timedelta | None) -> Decimal | str:
    """A duration in hours, two decimals ("" for none)."""
    return "" if span is None else Decimal(f"{span.total_seconds() / 3600:.2f}")


def _rate(value: float | None) -> Decimal | str:
    """A fraction, four decimals ("" for none)."""
    return "" if value is None else Decimal(f"{value:.4f}")


def _finding_rows(
    section: str, checked: int | None, tallies: Sequence[process.RuleTally]
) -> list[tuple[str, str, str, object]]:
    """A findings section's CSV rows: the pieces checked (where counted), then per rule
    its findings and pieces by severity and, for a blocking rule, the counts only it has
    (refused a step or a time, overridden)."""
    rows: list[tuple[str, str, str, object]] = []
    if checked is not None:
        rows.append((section, "", "pieces_checked", checked))
    for f in tallies:
        rows += [
            (section, f.rule, f"{f.severity}_findings", f.findings),
            (section, f.rule, f"{f.severity}_pieces", f.pieces),
        ]
        if f.severity == "block":
            rows += [(section, f.rule, f"block_{name}", n) for name, n in f.blocking_counts]
    return rows


def process_csv(
    report: ProcessReport,
    out: IO[str],
    *,
    describe_hold: Callable[[Hold], str] | None = None,
    fmt: CsvFormat = COMMA,
) -> int:
    """Write the process figures as CSV rows (section, name, measure, value) in `fmt`; the
    count. The sections and measures are fixed English keys, for spreadsheets and scripts;
    a held post's reason is worded by `describe_hold` (the reader's language), else in
    English."""
    rows: list[tuple[object, ...]] = [
        ("period", "since", "utc", report.since.isoformat()),
        ("period", "until", "utc", report.until.isoformat()),
    ]
    groups = [("ideas", report.ideas)] + [("ideas_by_department", c) for c in report.by_department]
    groups += [("ideas_by_audience", c) for c in report.by_audience or []]
    for section, counts in groups:
        for measure in ("submitted", "accepted", "rejected", "merged", "open"):
            rows.append((section, counts.name, measure, getattr(counts, measure)))
        rows.append((section, counts.name, "acceptance_rate", _rate(counts.acceptance_rate)))
    rows += [("rejection_reasons", reason, "count", n) for reason, n in report.rejection_reasons]
    for name in CYCLES:
        rows += _spread_rows("cycle_time", name, report.cycles[name])
    for stay in report.states:
        rows += _spread_rows("time_in_state", stay.state.value, stay.stays)
        rows.append(("time_in_state", stay.state.value, "total_hours", _hours(stay.total)))
    rows.append(("rework", "", "pieces_reviewed", len(report.reviewed)))
    rows.append(("rework", "", "changes_requested", report.change_requests))
    rows += [("rework", f"piece {r.piece_id}: {r.title}", "loops", r.loops) for r in report.rework]
    rows.append(("approval_wait", "", "target_working_days", report.target_days))
    rows.append(("approval_wait", "", "holiday_land", report.land))
    rows.append(("approval_wait", "", "reviews", len(report.reviews)))
    rows.append(("approval_wait", "", "past_target", len(report.late)))
    rows += [
        ("approval_wait", f"piece {r.piece_id}: {r.title}", "working_days", r.working_days)
        for r in report.late
    ]
    rows.append(("rule_overrides", "", "count", len(report.overrides)))
    rows += [
        ("rule_overrides", f"{o.at.isoformat()} {o.actor_name} {o.object_type} {o.object_id}",
         "justification", o.justification)
        for o in report.overrides
    ]  # fmt: skip
    rows += _finding_rows("rule_findings", report.findings_checked, report.findings)
    rows += _finding_rows("rule_findings_at_steps", report.steps_checked, report.step_findings)
    rows += _finding_rows("rule_findings_when_planning", None, report.planning_findings)
    for p in report.post_problems:
        name = f"post {p.post_id} ({p.channel}): {p.title}"
        if p.hold is None or describe_hold is None:
            rows.append(("post_problems", name, p.state, p.reason))
            continue
        rows.append(("post_problems", name, p.state, describe_hold(p.hold)))
        if p.until is not None:
            # The English reason says it in its text; worded otherwise, it gets its own row.
            rows.append(("post_problems", name, "held_until", p.until.isoformat()))
    for r in report.responses:
        rows += [
            ("responses", r.department, "target_hours", r.target_hours),
            ("responses", r.department, "answered", r.answered),
            ("responses", r.department, "within_target", r.within_target),
            ("responses", r.department, "share_within_target", _rate(r.share_within)),
            ("responses", r.department, "median_hours", _median(r.median_hours)),
            ("responses", r.department, "open_overdue", r.open_overdue),
        ]
    return _write(out, PROCESS_COLUMNS, rows, fmt)


def _median(hours: float | None) -> Decimal | str:
    """Hours, one decimal ("" for none)."""
    return "" if hours is None else Decimal(f"{hours:.1f}")


def _spread_rows(section: str, name: str, values: Spread) -> list[tuple[object, ...]]:
    return [
        (section, name, "count", values.count),
        (section, name, "median_hours", _hours(values.median)),
        (section, name, "p90_hours", _hours(values.p90)),
    ]


APPROVAL_COLUMNS = (
    "record",
    "event_id",
    "at_utc",
    "at_local",
    "actor",
    "actor_name",
    "object_type",
    "object_id",
    "revision",
    "title",
    "note",
)


def approvals_csv(report: ApprovalsReport, out: IO[str], *, fmt: CsvFormat = COMMA) -> int:
    """Write approvals, overrides and the chain's verification as CSV rows in `fmt`; the
    count."""
    tz = report.timezone
    rows: list[tuple[object, ...]] = [
        ("approval", a.event_id, a.at.isoformat(), format_local(a.at, tz), a.approver,
         a.approver_name, "piece", a.piece_id, a.revision, a.title, "")
        for a in report.approvals
    ]  # fmt: skip
    rows += [
        ("override", o.event_id, o.at.isoformat(), format_local(o.at, tz), o.actor_name, "",
         o.object_type, o.object_id, o.revision, "", o.justification)
        for o in report.overrides
    ]  # fmt: skip
    rows.append(
        ("chain", "", report.made_at.isoformat(), format_local(report.made_at, tz),
         report.made_by, "", "audit_log", "", "", "intact" if report.chain.intact else "broken",
         report.chain.summary())
    )  # fmt: skip
    return _write(out, APPROVAL_COLUMNS, rows, fmt)


def _write(
    out: IO[str], columns: Sequence[str], rows: Iterable[Sequence[object]], fmt: CsvFormat
) -> int:
    """Write `columns` and `rows` to `out` in `fmt`; the number of rows."""
    writer = fmt.start(out, columns)
    count = 0
    for row in rows:
        writer.writerow(fmt.cell(v) for v in row)
        count += 1
    return count


# --- HTML -------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; color: #111; margin: 2rem; line-height: 1.4; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 1.6rem; }
table { border-collapse: collapse; margin: 0.4rem 0 1rem; }
th, td { border: 1px solid #888; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.broken { color: #a00; font-weight: bold; }
@media print {
  body { margin: 0; font-size: 10pt; }
  h2 { break-after: avoid; }
  table { page-break-inside: auto; }
  tr { break-inside: avoid; }
  thead { display: table-header-group; }
}
"""


class _Page:
    """An HTML document being written: every text passes `html.escape`."""

    def __init__(self, texts: Mapping[str, str], defaults: Mapping[str, str], tz: str) -> None:
        self.texts = {**defaults, **texts}
        self.tz = tz
        self.parts: list[str] = []

    def when(self, at: datetime) -> str:
        """An instant in the report's zone, as the report's language writes it."""
        return to_local(at, self.tz).strftime(self.texts["datetime_format"])

    def bound(self, at: datetime, *, end: bool = False) -> str:
        """A bound of the period: a day where it falls on midnight (an end: the day
        before, the last one included), else the moment."""
        local = to_local(at, self.tz)
        if local.time() != time(0):
            return self.when(at)
        return (local - timedelta(days=1) if end else local).strftime(self.texts["date_format"])

    def t(self, key: str, **values: object) -> str:
        text = self.texts[key]
        return text.format(**values) if values else text

    def number(self, value: float, digits: int = 1) -> str:
        return f"{value:.{digits}f}".replace(".", self.texts["decimal_mark"])

    def days(self, span: timedelta | None) -> str:
        return "" if span is None else self.number(span.total_seconds() / 86400)

    def heading(self, level: int, text: str) -> None:
        self.parts.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def para(self, text: str, css: str = "") -> None:
        cls = f' class="{css}"' if css else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def table(self, head: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        if not rows:
            self.para(self.t("none"))
            return
        self.parts.append("<table><thead><tr>")
        self.parts += [f'<th scope="col">{html.escape(h)}</th>' for h in head]
        self.parts.append("</tr></thead><tbody>")
        for row in rows:
            self.parts.append("<tr>")
            for value in row:
                numeric = isinstance(value, int | float) and not isinstance(value, bool)
                css = ' class="n"' if numeric else ""
                self.parts.append(f"<td{css}>{html.escape(str(value))}</td>")
            self.parts.append("</tr>")
        self.parts.append("</tbody></table>")

    def section(
        self,
        key: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        intro: str | None = None,
    ) -> None:
        """A part of the report: its heading (the text `key`), a paragraph `intro` when
        given, and a table headed by the texts of `columns`."""
        self.heading(2, self.t(key))
        if intro is not None:
            self.para(intro)
        self.table([self.t(c) for c in columns], rows)

    def document(self, lang: str) -> str:
        title = html.escape(self.t("title"))
        return (
            f'<!DOCTYPE html>\n<html lang="{html.escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{title}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(self.parts)
            + "\n</main>\n</body>\n</html>\n"
        )


def _period(page: _Page, since: datetime, until: datetime, made: datetime) -> None:
    page.heading(1, page.t("title"))
    page.para(
        page.t("period", since=page.bound(since), until=page.bound(until, end=True), zone=page.tz)
    )
    page.para(page.t("made", at=page.when(made)))


def _findings_section(
    page: _Page, key: str, tallies: Sequence[process.RuleTally], counted: str, intro: str
) -> None:
    """A section of rule findings: rule, severity, how many (`counted` names the column),
    pieces, and the counts only a blocking finding has (refused, overridden)."""
    names = [name for name, _ in tallies[0].blocking_counts] if tallies else []
    page.section(
        key,
        ("rule", "severity", counted, "pieces", *names),
        [
            [f.rule, page.texts.get(f"severity.{f.severity}", f.severity), f.findings, f.pieces,
             *(count if f.severity == "block" else "" for _, count in f.blocking_counts)]
            for f in tallies
        ],
        intro=intro,
    )  # fmt: skip


def process_html(
    report: ProcessReport,
    *,
    texts: Mapping[str, str] | None = None,
    lang: str = "en",
    describe_hold: Callable[[Hold], str] | None = None,
) -> str:
    """The process report as one printable HTML page (texts: `PROCESS_TEXTS` keys; a held
    post's reason as `describe_hold` words it, in English when it is not given)."""
    page = _Page(texts or {}, PROCESS_TEXTS, report.timezone)
    _period(page, report.since, report.until, report.made_at)

    def rate(value: float | None) -> str:
        return "" if value is None else page.number(value * 100) + " %"

    def counts_rows(groups: Iterable[IdeaCounts], blank: str) -> list[list[object]]:
        return [
            [c.name or blank, c.submitted, c.accepted, c.rejected, c.merged, c.open,
             rate(c.acceptance_rate)]
            for c in groups
        ]  # fmt: skip

    groups = ("group", "submitted", "accepted", "rejected", "merged", "open", "acceptance_rate")
    everyone = counts_rows([report.ideas], page.t("all")) if report.ideas.submitted else []
    page.section("ideas", groups, everyone)
    page.section("by_department", groups, counts_rows(report.by_department, ""))
    if report.by_audience is not None:
        page.section("by_audience", groups, counts_rows(report.by_audience, page.t("no_audience")))
    page.section(
        "reasons",
        ("reason", "count"),
        [[reason or page.t("no_reason"), n] for reason, n in report.rejection_reasons],
    )
    page.section(
        "cycles",
        ("stretch", "count", "median", "p90"),
        [
            [page.t(f"cycle.{name}"), s.count, page.days(s.median), page.days(s.p90)]
            for name, s in report.cycles.items()
        ],
    )
    page.section(
        "states",
        ("state", "count", "median", "p90", "total"),
        [
            [page.t(f"state.{st.state.value}"), st.stays.count, page.days(st.stays.median),
             page.days(st.stays.p90), page.days(st.total) if st.stays.count else ""]
            for st in report.states
        ],
    )  # fmt: skip
    reviewed = len(report.reviewed)
    mean = page.number(report.change_requests / reviewed, 2) if reviewed else "0"
    page.section(
        "rework",
        ("piece", "title_col", "loops"),
        [[f"#{r.piece_id}", r.title, r.loops] for r in report.rework],
        intro=page.t("rework_summary", pieces=reviewed, requests=report.change_requests, mean=mean),
    )
    page.section(
        "late",
        ("piece", "title_col", "submitted_at", "decided_at", "working_days"),
        [
            [f"#{r.piece_id}", r.title, page.when(r.submitted_at),
             page.when(r.decided_at) if r.decided_at else page.t("still_open"),
             r.working_days]
            for r in report.late
        ],
        intro=page.t(
            "late_summary",
            days=report.target_days,
            land=page.t("land", land=report.land) if report.land else page.t("land_none"),
            late=len(report.late),
            reviews=len(report.reviews),
        ),
    )  # fmt: skip
    page.section(
        "overrides",
        ("when", "who", "object", "justification"),
        [
            [page.when(o.at), o.actor_name, f"{o.object_type} {o.object_id}",
             o.justification]
            for o in report.overrides
        ],
    )  # fmt: skip
    for name, tallies, counted, intro in (
        (
            "findings",
            report.findings,
            "finding_count",
            page.t("findings_summary", pieces=report.findings_checked),
        ),
        (
            "step_findings",
            report.step_findings,
            "finding_count",
            page.t("step_findings_summary", pieces=report.steps_checked),
        ),
        ("plan_findings", report.planning_findings, "found_times", page.t("plan_findings_summary")),
    ):
        _findings_section(page, name, tallies, counted, intro)
    page.section(
        "posts",
        ("when", "post", "channel", "piece", "post_state", "reason"),
        [
            [page.when(p.at), f"#{p.post_id}", p.channel, p.title,
             page.t(f"post_state.{p.state}"),
             _hold_reason(page, p, describe_hold)]
            for p in report.post_problems
        ],
    )  # fmt: skip
    page.section(
        "responses",
        ("response_department", "target_hours", "answered", "within_target", "median_hours",
         "open_overdue"),
        [
            [r.department or page.t("no_department"), r.target_hours, r.answered,
             rate(r.share_within),
             "" if r.median_hours is None else page.number(r.median_hours), r.open_overdue]
            for r in report.responses
        ],
        intro=page.t("responses_summary"),
    )  # fmt: skip
    return page.document(lang)


def _hold_reason(
    page: _Page, problem: PostProblem, describe_hold: Callable[[Hold], str] | None
) -> str:
    """A post's reason: its hold as `describe_hold` words it (until when, where it ended),
    else the stored text."""
    if problem.hold is None or describe_hold is None:
        return problem.reason
    reason = describe_hold(problem.hold)
    if problem.until is None:
        return reason
    return page.t("held_until", reason=reason, until=page.when(problem.until))


def _person(account: str, name: str) -> str:
    """A person as the audit knows them: their display name and account, or the account."""
    return f"{name} ({account})" if name and name != account else account


def approvals_html(
    report: ApprovalsReport, *, texts: Mapping[str, str] | None = None, lang: str = "en"
) -> str:
    """The approvals report as one printable HTML page (texts: `APPROVAL_TEXTS` keys)."""
    page = _Page(texts or {}, APPROVAL_TEXTS, report.timezone)
    _period(page, report.since, report.until, report.made_at)
    page.heading(2, page.t("chain"))
    if report.chain.intact:
        page.para(page.t("intact", summary=report.chain.summary()))
    else:
        page.para(page.t("broken", summary=report.chain.summary()), "broken")
    page.section(
        "approvals",
        ("when", "approver", "piece", "revision", "title_col", "event"),
        [
            [page.when(a.at),
             _person(a.approver, a.approver_name),
             f"#{a.piece_id}", "" if a.revision is None else a.revision, a.title, a.event_id]
            for a in report.approvals
        ],
    )  # fmt: skip
    page.section(
        "overrides",
        ("when", "who", "object", "revision", "justification", "event"),
        [
            [page.when(o.at), o.actor_name, f"{o.object_type} {o.object_id}",
             "" if o.revision is None else o.revision, o.justification, o.event_id]
            for o in report.overrides
        ],
    )  # fmt: skip
    return page.document(lang)


_Report = TypeVar("_Report")


@dataclass(frozen=True)
class ReportKind(Generic[_Report]):
    """A report over a period: the service that makes it, and its CSV and HTML writers."""

    make: Callable[..., _Report]
    csv: Callable[..., int]
    html: Callable[..., str]


PROCESS = ReportKind(process.process_report, process_csv, process_html)
APPROVALS = ReportKind(approvals_report.approvals_report, approvals_csv, approvals_html)
