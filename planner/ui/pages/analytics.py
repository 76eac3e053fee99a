"""'Analytics': what published posts achieved over a period, by channel, department,
audience or campaign; the top pieces; the best times per channel; the CSV behind the chart.

Contributors see their own department's figures and the pieces of their own ideas."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime, timedelta

import streamlit as st
from sqlmodel import Session

from planner import analytics, csvio
from planner.models import User, utcnow
from planner.permissions import can
from planner.timezones import parse_day_bound, to_local
from planner.ui import charts, keys, state, tables, widgets
from planner.ui.i18n import format_number

# The period a first visit shows: the last 30 days, today included.
_DEFAULT_DAYS = 30


def _number(value: int | None) -> str:
    """An amount in the session's language; '–' for a figure no network gave."""
    return "–" if value is None else format_number(state.lang(), value)


def _mean(value: float) -> str:
    """A mean with one decimal, grouped as `_number` groups: 1.234,5 in German, 1,234.5 in
    English."""
    text = f"{value:,.1f}"
    if state.lang() == "de":
        return text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


def _pick(label: str, options: Mapping[int, str], key: str) -> int | None:
    """A filter's choice: one of `options` by id, or None for all."""
    labels: dict[int | None, str] = {None: state.t("analytics.all")}
    for i, name in options.items():
        labels[i] = name
    choice: int | None = widgets.labelled_choice(label, labels, key=key)
    return choice


def _filters(
    user: User, choices: analytics.FilterChoices
) -> tuple[datetime, datetime, analytics.Scope] | None:
    t = state.t
    today = to_local(utcnow(), user.timezone).date()
    row = st.columns(4)
    with row[0]:
        first: date | None = st.date_input(
            t("analytics.from", zone=user.timezone),
            value=today - timedelta(days=_DEFAULT_DAYS - 1),
            format=t("format.date_input"),
            key=keys.ANALYTICS_FROM,
        )
    with row[1]:
        last: date | None = st.date_input(
            t("analytics.to", zone=user.timezone),
            value=today,
            format=t("format.date_input"),
            key=keys.ANALYTICS_TO,
        )
    with row[2]:
        channel_id = _pick(t("col.channel"), choices.channels, keys.ANALYTICS_CHANNEL)
    with row[3]:
        department_id = _pick(
            t("analytics.department"), choices.departments, keys.ANALYTICS_DEPARTMENT
        )
    row = st.columns(4)
    with row[0]:
        audience_id = _pick(t("analytics.audience"), choices.audiences, keys.ANALYTICS_AUDIENCE)
    with row[1]:
        campaigns = dict(enumerate(choices.campaigns))
        campaign = _pick(t("analytics.campaign"), campaigns, keys.ANALYTICS_CAMPAIGN)
    if first is None or last is None:
        return None
    if last < first:
        st.error(t("analytics.bad_range"))
        return None
    since = parse_day_bound(first.isoformat(), user.timezone)
    until = parse_day_bound(last.isoformat(), user.timezone, end=True)
    scope: analytics.Scope = {
        "channel_id": channel_id,
        "department_id": department_id,
        "audience_id": audience_id,
        "campaign": None if campaign is None else campaigns[campaign],
    }
    return since, until, scope


class _Csv:
    """The CSV of the table behind the chart, made only when its button is clicked."""

    def __init__(
        self,
        since: datetime,
        until: datetime,
        by: analytics.Dimension,
        period: analytics.Period,
        scope: analytics.Scope,
    ) -> None:
        self.since, self.until, self.by, self.period, self.scope = since, until, by, period, scope
        # The separator of the reader's language, fixed when drawn: the file is made later.
        self.fmt = csvio.CsvFormat.for_language(state.lang())

    def __call__(self, session: Session, user: User) -> str:
        report = analytics.engagement_over_time(
            session,
            actor=user,
            since=self.since,
            until=self.until,
            by=self.by,
            period=self.period,
            **self.scope,
        )
        out = io.StringIO()
        analytics.engagement_csv(report, out, fmt=self.fmt)
        return out.getvalue()


def _over_time(
    session: Session,
    user: User,
    since: datetime,
    until: datetime,
    scope: analytics.Scope,
) -> None:
    t = state.t
    st.subheader(t("analytics.over_time"))
    left, right = st.columns(2)
    # Labels made here, in the run's language: a select box formats its options later too.
    dimensions = {d: t(f"analytics.by.{d}") for d in analytics.DIMENSIONS}
    periods = {p: t(f"analytics.period.{p}") for p in analytics.PERIODS}
    by: analytics.Dimension = widgets.labelled_choice(
        t("analytics.by"), dimensions, key=keys.ANALYTICS_BY, where=left
    )
    period: analytics.Period = widgets.labelled_choice(
        t("analytics.period"), periods, key=keys.ANALYTICS_PERIOD, index=1, where=right
    )
    report = analytics.engagement_over_time(
        session, actor=user, since=since, until=until, by=by, period=period, **scope
    )
    totals = report.totals
    st.text(
        state.t_count(
            "analytics.totals",
            totals.posts,
            measured=format_number(state.lang(), totals.measured),
            impressions=_number(totals.impressions),
            engagement=_number(totals.engagement),
        )
    )
    if not report.points:
        st.info(t("analytics.empty"))
        return
    none = t("analytics.none")
    group_title = t(f"analytics.by.{by}")
    title = t("analytics.chart_title", by=group_title)
    spec = charts.line_spec(
        [
            charts.Step(p.start.isoformat(), p.group or none, p.figures.engagement)
            for p in report.points
        ],
        title=title,
        time_title=t(f"analytics.period.{period}"),
        value_title=t("analytics.col.engagement"),
        group_title=group_title,
    )
    rows: list[dict[str, object]] = [
        {
            t(f"analytics.period.{period}"): state.day(p.start),
            group_title: p.group or none,
            t("analytics.col.posts"): _number(p.figures.posts),
            t("analytics.col.impressions"): _number(p.figures.impressions),
            t("analytics.col.engagement"): _number(p.figures.engagement),
        }
        for p in report.points
    ]
    charts.figure_with_table(spec, rows, title)
    widgets.download(
        t("analytics.csv"),
        _Csv(since, until, by, period, scope),
        user=user,
        file_name=t("file.engagement"),
        key=keys.ANALYTICS_CSV,
    )


def _top(
    session: Session, user: User, since: datetime, until: datetime, scope: analytics.Scope
) -> None:
    t = state.t
    st.subheader(t("analytics.top"))
    top = analytics.top_pieces(session, actor=user, since=since, until=until, **scope)
    tables.table(
        [
            {
                t("col.id"): p.piece_id,
                t("col.title"): p.title,
                t("analytics.department"): p.department or t("analytics.none"),
                t("analytics.campaign"): p.campaign or t("analytics.none"),
                t("analytics.col.posts"): _number(p.figures.posts),
                t("analytics.col.impressions"): _number(p.figures.impressions),
                t("analytics.col.engagement"): _number(p.figures.engagement),
                t("analytics.col.by_channel"): ", ".join(
                    f"{c.channel}: {_number(c.figures.engagement)}" for c in p.channels
                ),
            }
            for p in top
        ],
        empty=t("analytics.empty"),
    )


def _departments(
    session: Session, user: User, since: datetime, until: datetime, scope: analytics.Scope
) -> None:
    t = state.t
    st.subheader(t("analytics.departments"))
    tables.table(
        [
            {
                t("analytics.department"): d.department,
                t("analytics.col.ideas"): _number(d.ideas),
                t("analytics.col.posts"): _number(d.reach.posts),
                t("analytics.col.impressions"): _number(d.reach.impressions),
                t("analytics.col.engagement"): _number(d.reach.engagement),
            }
            for d in analytics.department_reach(
                session, actor=user, since=since, until=until, **scope
            )
        ],
        empty=t("analytics.empty"),
    )


def _best_times(
    session: Session,
    user: User,
    since: datetime,
    until: datetime,
    channel_id: int | None,
    channels: dict[int, str],
) -> None:
    t = state.t
    st.subheader(t("analytics.best_times"))
    st.caption(t("analytics.best_times_note", min=analytics.MIN_POSTS))
    if not channels:
        st.info(t("analytics.empty"))
        return
    picked: int = widgets.labelled_choice(
        t("col.channel"),
        channels,
        key=keys.ANALYTICS_BEST_CHANNEL,
        index=list(channels).index(channel_id) if channel_id in channels else 0,
    )
    grid = analytics.best_times(session, actor=user, channel=picked, since=since, until=until)
    if not grid.cells:
        st.info(t("analytics.best_times_empty"))
        return
    weekdays = [t(f"slots.day.{d}") for d in range(7)]
    title = t("analytics.best_times_title", channel=grid.channel, zone=grid.timezone)
    spec = charts.heatmap_spec(
        [
            charts.HeatCell(
                weekdays[c.weekday], f"{c.hour:02d}", c.mean_engagement, c.posts, c.thin
            )
            for c in grid.cells
        ],
        title=title,
        weekdays=weekdays,
        value_title=t("analytics.col.mean"),
        count_title=t("analytics.col.posts"),
    )
    rows: list[dict[str, object]] = [
        {
            t("chart.weekday"): weekdays[c.weekday],
            t("chart.hour"): f"{c.hour:02d}:00",
            t("analytics.col.posts"): _number(c.posts),
            t("analytics.col.mean"): _mean(c.mean_engagement),
            t("analytics.col.note"): t("analytics.thin") if c.thin else "",
        }
        for c in sorted(grid.cells, key=lambda c: -c.mean_engagement)
    ]
    charts.figure_with_table(spec, rows, title)


def render() -> None:
    """Draw the page."""
    t = state.t
    with state.page("analytics.heading") as (session, user):
        st.caption(t("analytics.engagement_means"))
        if analytics.sees_own_department_only(user):
            st.info(t("analytics.own_only"))
        choices = analytics.filter_choices(session, actor=user)
        report_scope = _filters(user, choices)
        if report_scope is None:
            return
        since, until, scope = report_scope
        _over_time(session, user, since, until, scope)
        _top(session, user, since, until, scope)
        _departments(session, user, since, until, scope)
        if can(user, "view_pieces"):
            _best_times(session, user, since, until, scope.get("channel_id"), choices.channels)


render()
