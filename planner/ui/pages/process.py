"""'Process' (editors and admins): how the editorial process went over a period, and the
reports to download (the approvals report for audits: admins)."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import streamlit as st
from sqlmodel import Session

from planner import csvio, process, report_output
from planner.models import User, utcnow
from planner.permissions import can
from planner.timezones import parse_day_bound, to_local
from planner.ui import access, keys, state, tables, widgets
from planner.ui.i18n import hold_text

# The period a first visit shows: the last 30 days, today included.
_DEFAULT_DAYS = 30


def _day_input(label: str, key: str, default: date) -> date | None:
    day: date | None = st.date_input(
        label, value=default, format=state.t("format.date_input"), key=key
    )
    return day


def _decimal(value: float) -> str:
    """A number with one decimal, as the session's language writes numbers."""
    text = f"{value:.1f}"
    return text.replace(".", ",") if state.lang() == "de" else text


def _days(span: timedelta | None) -> str:
    """A duration in days, one decimal, as the session's language writes numbers."""
    return "" if span is None else _decimal(span.total_seconds() / 86400)


def _rate(value: float | None) -> str:
    if value is None:
        return state.t("process.no_rate")
    text = f"{value * 100:.1f}"
    return (text.replace(".", ",") if state.lang() == "de" else text) + " %"


def _texts(prefix: str, defaults: Mapping[str, str]) -> dict[str, str]:
    """The texts of a downloaded report in the session's language."""
    return {key: state.t(f"report.{prefix}.{key}") for key in defaults}


class _File:
    """What a download makes when its button is clicked: the report of one period in one
    format, with the texts of the session's language (and a CSV's separator) fixed when
    drawn."""

    def __init__(self, since: datetime, until: datetime, fmt: str) -> None:
        self.since, self.until, self.fmt = since, until, fmt
        self.lang = state.lang()
        self.csv_format = csvio.CsvFormat.for_language(self.lang)
        self.process_texts = _texts("process", report_output.PROCESS_TEXTS)
        self.approval_texts = _texts("approvals", report_output.APPROVAL_TEXTS)

    def process(self, session: Session, user: User) -> str:
        """The process report, as `user` sees it."""
        return _report_file(
            self,
            session,
            user,
            report_output.PROCESS,
            self.process_texts,
            describe_hold=functools.partial(hold_text, self.lang),
        )

    def approvals(self, session: Session, user: User) -> str:
        """The approvals report for audits, as `user` sees it."""
        return _report_file(self, session, user, report_output.APPROVALS, self.approval_texts)


def _report_file(
    file: _File,
    session: Session,
    user: User,
    kind: report_output.ReportKind[Any],
    texts: Mapping[str, str],
    **options: Any,
) -> str:
    """A report of the file's period as `user` sees it, made only when its button is
    clicked (`options`: what both writers take beyond the HTML's texts and language)."""
    report = kind.make(session, actor=user, since=file.since, until=file.until)
    if file.fmt == "csv":
        out = io.StringIO()
        kind.csv(report, out, fmt=file.csv_format, **options)
        return out.getvalue()
    return kind.html(report, texts=texts, lang=file.lang, **options)


def render() -> None:
    """Draw the page."""
    t = state.t
    with access.page("process") as (session, user):
        today = to_local(utcnow(), user.timezone).date()
        dates = st.columns(2)
        with dates[0]:
            first = _day_input(
                t("process.from", zone=user.timezone),
                keys.PROCESS_FROM,
                today - timedelta(days=_DEFAULT_DAYS - 1),
            )
        with dates[1]:
            last = _day_input(t("process.to", zone=user.timezone), keys.PROCESS_TO, today)
        if first is None or last is None:
            return
        if last < first:
            st.error(t("process.bad_range"))
            return
        since = parse_day_bound(first.isoformat(), user.timezone)
        until = parse_day_bound(last.isoformat(), user.timezone, end=True)
        report = process.process_report(session, actor=user, since=since, until=until)
        _ideas(report)
        _times(report)
        _review(report, user)
        _exceptions(report, user)
        _responses(report)
        _downloads(user, since, until)


def _ideas(report: process.ProcessReport) -> None:
    t = state.t
    st.subheader(t("process.ideas"))
    ideas = report.ideas
    st.text(
        state.t_count(
            "process.ideas_total",
            ideas.submitted,
            accepted=ideas.accepted,
            rejected=ideas.rejected,
            merged=ideas.merged,
            open=ideas.open,
            rate=_rate(ideas.acceptance_rate),
        )
    )

    def rows(groups: list[process.IdeaCounts], column: str, blank: str) -> list[dict[str, object]]:
        return [
            {
                t(column): c.name or blank,
                t("process.col.submitted"): c.submitted,
                t("process.col.accepted"): c.accepted,
                t("process.col.rejected"): c.rejected,
                t("process.col.merged"): c.merged,
                t("process.col.open"): c.open,
                t("process.col.rate"): _rate(c.acceptance_rate),
            }
            for c in groups
        ]

    st.markdown(f"**{t('process.by_department')}**")
    tables.table(rows(report.by_department, "process.col.department", ""), empty=t("process.empty"))
    if report.by_audience is not None:
        st.markdown(f"**{t('process.by_audience')}**")
        tables.table(
            rows(report.by_audience, "process.col.audience", t("process.no_audience")),
            empty=t("process.empty"),
        )
    st.markdown(f"**{t('process.reasons')}**")
    tables.table(
        [
            {t("process.col.reason"): reason or t("process.no_reason"), t("process.col.count"): n}
            for reason, n in report.rejection_reasons
        ],
        empty=t("process.empty"),
    )


def _times(report: process.ProcessReport) -> None:
    t = state.t
    st.subheader(t("process.cycles"))
    st.caption(t("process.cycles_note"))
    tables.table(
        [
            {
                t("process.col.stretch"): t(f"process.cycle.{name}"),
                t("process.col.count"): s.count,
                t("process.col.median"): _days(s.median),
                t("process.col.p90"): _days(s.p90),
            }
            for name, s in report.cycles.items()
        ],
        empty=t("process.empty"),
    )
    st.subheader(t("process.states"))
    st.caption(t("process.states_note"))
    tables.table(
        [
            {
                t("process.col.state"): t(f"status.{s.state.value}"),
                t("process.col.count"): s.stays.count,
                t("process.col.median"): _days(s.stays.median),
                t("process.col.p90"): _days(s.stays.p90),
                t("process.col.total"): _days(s.total) if s.stays.count else "",
            }
            for s in report.states
        ],
        empty=t("process.empty"),
    )


def _review(report: process.ProcessReport, user: User) -> None:
    t = state.t
    st.subheader(t("process.rework"))
    reviewed = len(report.reviewed)
    mean = f"{report.change_requests / reviewed:.2f}" if reviewed else "0"
    st.text(
        state.t_count(
            "process.rework_summary",
            reviewed,
            total=report.change_requests,
            mean=mean.replace(".", ",") if state.lang() == "de" else mean,
        )
    )
    tables.table(
        [
            {
                t("process.col.piece"): f"#{r.piece_id}",
                t("process.col.title"): r.title,
                t("process.col.loops"): r.loops,
            }
            for r in report.rework
        ],
        empty=t("process.empty"),
    )
    st.subheader(t("process.late"))
    land = t("process.land", land=report.land) if report.land else t("process.land_none")
    st.text(
        t(
            "process.late_summary",
            days=report.target_days,
            land=land,
            count=len(report.late),
            total=len(report.reviews),
        )
    )
    tables.table(
        [
            {
                t("process.col.piece"): f"#{r.piece_id}",
                t("process.col.title"): r.title,
                t("process.col.submitted_at"): state.when(r.submitted_at, user.timezone),
                t("process.col.decided_at"): state.when(r.decided_at, user.timezone)
                if r.decided_at
                else t("process.still_open"),
                t("process.col.working_days"): r.working_days,
            }
            for r in report.late
        ],
        empty=t("process.empty"),
    )


def _object(kind: str, object_id: str) -> str:
    """What an audit event concerns: its kind in the reader's language, and its id."""
    return f"{state.t_or('activity.object.' + kind, kind)} {object_id}"


def _exceptions(report: process.ProcessReport, user: User) -> None:
    t = state.t
    st.subheader(t("process.overrides"))
    tables.table(
        [
            {
                t("process.col.when"): state.when(o.at, user.timezone),
                t("process.col.who"): o.actor_name,
                t("process.col.object"): _object(o.object_type, o.object_id),
                t("process.col.justification"): o.justification,
            }
            for o in report.overrides
        ],
        empty=t("process.empty"),
    )
    st.subheader(t("process.findings"))
    st.text(state.t_count("process.findings_note", report.findings_checked))
    _findings_table(report.findings, "process.col.findings")
    st.subheader(t("process.step_findings"))
    st.text(state.t_count("process.step_findings_note", report.steps_checked))
    _findings_table(report.step_findings, "process.col.findings")
    st.subheader(t("process.plan_findings"))
    st.text(t("process.plan_findings_note"))
    _findings_table(report.planning_findings, "process.col.found_times")
    st.subheader(t("process.posts"))
    tables.table(
        [
            {
                t("process.col.when"): state.when(p.at, user.timezone),
                t("process.col.post"): f"#{p.post_id}",
                t("process.col.channel"): p.channel,
                t("process.col.piece"): p.title,
                t("process.col.status"): _problem_state(p),
                t("process.col.reason"): _problem_reason(p, user.timezone),
            }
            for p in report.post_problems
        ],
        empty=t("process.empty"),
    )


def _findings_table(tallies: Sequence[process.RuleTally], counted: str) -> None:
    """A table of rule findings: rule, severity, how many (`counted` names the column),
    pieces, and the counts only a blocking finding has (refused, overridden)."""
    t = state.t
    tables.table(
        [
            {
                t("process.col.rule"): f.rule,
                t("process.col.severity"): t(f"rules.severity.{f.severity}"),
                t(counted): f.findings,
                t("process.col.pieces"): f.pieces,
                **{
                    t(f"process.col.{name}"): str(count) if f.severity == "block" else ""
                    for name, count in f.blocking_counts
                },
            }
            for f in tallies
        ],
        empty=t("process.empty"),
    )


def _problem_reason(problem: process.PostProblem, timezone: str) -> str:
    """Why: a hold in the reader's language (until when, where it ended), else as stored."""
    if problem.hold is None:
        return problem.reason
    reason = hold_text(state.lang(), problem.hold)
    if problem.until is None:
        return reason
    return state.t("process.held_until", reason=reason, until=state.when(problem.until, timezone))


def _problem_state(problem: process.PostProblem) -> str:
    """How a post's problem reads in the table: held now, held by a rule, or its state."""
    if problem.state in ("held_by_rule", "was_held"):  # in the period, with the hold then
        return state.t(f"process.{problem.state}")
    if problem.hold is not None:
        return state.t("process.held_now")
    return state.t(f"status.{problem.state}")


def _responses(report: process.ProcessReport) -> None:
    t = state.t
    st.subheader(t("process.responses"))
    st.text(t("process.responses_note"))
    tables.table(
        [
            {
                t("process.col.response_department"): r.department or t("process.no_department"),
                t("process.col.target_hours"): r.target_hours,
                t("process.col.answered"): r.answered,
                t("process.col.within_target"): _rate(r.share_within),
                t("process.col.median_hours"): ""
                if r.median_hours is None
                else _decimal(r.median_hours),
                t("process.col.open_overdue"): r.open_overdue,
            }
            for r in report.responses
        ],
        empty=t("process.empty"),
    )


def _downloads(user: User, since: datetime, until: datetime) -> None:
    t = state.t
    csv_file = _File(since, until, "csv")
    html_file = _File(since, until, "html")
    st.subheader(t("process.downloads"))
    _pair(
        user,
        (t("process.csv"), csv_file.process, t("file.process_csv"), keys.PROCESS_CSV),
        (t("process.html"), html_file.process, t("file.process_html"), keys.PROCESS_HTML),
    )
    if not can(user, "view_approvals_report"):
        return
    st.text(t("process.audit_note"))
    _pair(
        user,
        (
            t("process.audit_csv"),
            csv_file.approvals,
            t("file.approvals_csv"),
            keys.PROCESS_AUDIT_CSV,
        ),
        (
            t("process.audit_html"),
            html_file.approvals,
            t("file.approvals_html"),
            keys.PROCESS_AUDIT_HTML,
        ),
    )


def _pair(user: User, *downloads: tuple[str, Callable[[Session, User], str], str, str]) -> None:
    """Download buttons side by side: (label, file maker, file name, widget key) each; the
    file is made, as `user`, only when its button is clicked."""
    for column, (label, data, file_name, key) in zip(
        st.columns(len(downloads)), downloads, strict=True
    ):
        widgets.download(
            label,
            data,
            file_name=file_name,
            user=user,
            key=key,
            where=column,
        )


render()
