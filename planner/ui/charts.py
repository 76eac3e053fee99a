"""Charts on the dashboard's pages: horizontal bars as an HTML table (every label in full,
every number as text), and Vega-Lite lines and heat maps with a description for screen
readers and the same numbers as a table beside them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from hashlib import sha256
from html import escape
from typing import Any

import streamlit as st

from planner.ui import state
from planner.ui.i18n import format_number

# The schema the installed Altair names (`altair.SCHEMA_URL`; tests/ui/test_charts.py checks
# the spec against Altair's), without importing Altair into the dashboard for it.
SCHEMA_URL = "https://vega.github.io/schema/vega-lite/v6.4.1.json"


@dataclass(frozen=True)
class Bar:
    """One bar (or, with `part`, one stacked part of a bar): its label and its number."""

    label: str
    value: int
    part: str = ""


# Bar colours with at least 3:1 contrast against the white page (WCAG 1.4.11), one per
# stacked part, in the order the parts first appear.
PALETTE = ("#1f5fa8", "#a34a0d", "#2d7d3a", "#7b3f9e", "#a3262a", "#0b6e79", "#5a6270")
_TABLE = "width:100%;border-collapse:collapse;margin:0 0 1rem 0"
_CAPTION = "caption-side:top;text-align:left;font-weight:600;padding:0 0 6px 0"
_CELL = "text-align:left;vertical-align:middle;padding:4px 8px;border-bottom:1px solid #d6d6d6"
_NUMBER = "display:inline-block;min-width:5ch;text-align:right;font-variant-numeric:tabular-nums"
_TRACK = "display:flex;flex:1;min-width:60px;height:14px"
_SWATCH = "display:inline-block;width:0.8em;height:0.8em;margin-right:4px;vertical-align:baseline"


def _swatch(colour: str) -> str:
    return f'<span aria-hidden="true" style="{_SWATCH};background:{colour}"></span>'


def bars_html(
    rows: Sequence[Bar],
    *,
    title: str,
    label_title: str,
    value_title: str,
    part_title: str = "",
) -> str:
    """Horizontal bars as one HTML table: a row per label in the order given, its label in
    full, its number as text and a bar drawn to scale beside it (hidden from screen
    readers, which read the number). With `part_title` each bar is stacked by part, and a
    column names every part with its colour and number."""
    lang = state.lang()
    labels = list(dict.fromkeys(row.label for row in rows))
    parts = list(dict.fromkeys(row.part for row in rows)) if part_title else []
    colour = {part: PALETTE[n % len(PALETTE)] for n, part in enumerate(parts)}
    of_label: dict[str, list[Bar]] = {label: [] for label in labels}
    for row in rows:
        of_label[row.label].append(row)
    totals = {label: sum(r.value for r in of_label[label]) for label in labels}
    top = max(totals.values(), default=0) or 1
    head = [label_title, *([part_title] if part_title else []), value_title]
    out = [
        f'<table class="planner-bars" style="{_TABLE}">',
        f'<caption style="{_CAPTION}">{escape(title)}</caption>',
        "<thead><tr>",
        *(f'<th scope="col" style="{_CELL}">{escape(h)}</th>' for h in head),
        "</tr></thead><tbody>",
    ]
    for label in labels:
        segments = "".join(
            f'<span style="width:{100 * r.value / top:.2f}%;'
            f'background:{colour.get(r.part, PALETTE[0])}"></span>'
            for r in of_label[label]
            if r.value > 0
        )
        out.append(f'<tr><th scope="row" style="{_CELL};font-weight:normal">{escape(label)}</th>')
        if part_title:
            named = ", ".join(
                f"{_swatch(colour[r.part])}{escape(r.part)} {format_number(lang, r.value)}"
                for r in of_label[label]
            )
            out.append(f'<td style="{_CELL}">{named}</td>')
        out.append(
            f'<td style="{_CELL};width:55%"><div style="display:flex;align-items:center;gap:8px">'
            f'<span style="{_NUMBER}">{format_number(lang, totals[label])}</span>'
            f'<span aria-hidden="true" style="{_TRACK}">{segments}</span></div></td></tr>'
        )
    out.append("</tbody></table>")
    return "".join(out)


def bars(
    rows: Sequence[Bar],
    *,
    title: str,
    label_title: str,
    value_title: str,
    part_title: str = "",
) -> None:
    """Horizontal bars in the order given (`bars_html`): every label in full, every number
    as text, drawn by the browser without a charting library."""
    st.html(
        bars_html(
            rows,
            title=title,
            label_title=label_title,
            value_title=value_title,
            part_title=part_title,
        )
    )


# How a chart writes numbers and dates in each dashboard language (Vega's locale; Streamlit
# passes none to vega-embed, so each spec carries its own in `config.locale`): German
# 1.234 and 8,5 with German month and day names, English 1,234 and 8.5, as the tables do.
_VEGA_LOCALE: dict[str, dict[str, Any]] = {
    "de": {
        "number": {"decimal": ",", "thousands": ".", "grouping": [3], "currency": ["", " €"]},
        "time": {
            "dateTime": "%A, %e. %B %Y, %X",
            "date": "%d.%m.%Y",
            "time": "%H:%M:%S",
            "periods": ["AM", "PM"],
            "days": [
                "Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag",
            ],
            "shortDays": ["So", "Mo", "Di", "Mi", "Do", "Fr", "Sa"],
            "months": [
                "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
                "September", "Oktober", "November", "Dezember",
            ],
            "shortMonths": [
                "Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez",
            ],
        },
    },
    "en": {
        "number": {"decimal": ".", "thousands": ",", "grouping": [3], "currency": ["£", ""]},
        "time": {
            "dateTime": "%a %e %b %X %Y",
            "date": "%d/%m/%Y",
            "time": "%H:%M:%S",
            "periods": ["AM", "PM"],
            "days": [
                "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
            ],
            "shortDays": ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
            "months": [
                "January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December",
            ],
            "shortMonths": [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ],
        },
    },
}  # fmt: skip


def _config() -> dict[str, Any]:
    """The spec's `config`: the locale of the session's language."""
    return {"locale": _VEGA_LOCALE.get(state.lang(), _VEGA_LOCALE["de"])}


@dataclass(frozen=True)
class Step:
    """One point of a line over time: the period's first day (ISO), its group, its number."""

    start: str
    group: str
    value: int


def _utc_day(iso: str) -> dict[str, Any]:
    """The day `iso` as a Vega-Lite date-time at UTC midnight."""
    day = date.fromisoformat(iso[:10])
    return {"year": day.year, "month": day.month, "date": day.day, "utc": True}


def line_spec(
    rows: Sequence[Step], *, title: str, time_title: str, value_title: str, group_title: str
) -> dict[str, Any]:
    """The Vega-Lite spec of lines over time, one per group, with points on every period.

    Every browser shows each period's own first day, whatever its time zone: a date-only
    ISO string is read as UTC midnight, so the time axis is a UTC scale and the dates are
    written in UTC (`utcyearmonthdate`), as the session's language writes them; the axis
    marks the periods themselves. Numbers are grouped as the language groups them."""
    data: list[dict[str, Any]] = [
        {"start": row.start, "group": row.group, "value": row.value} for row in rows
    ]
    name = "data-" + sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]
    day = state.t("format.date")
    starts = sorted({row.start for row in rows})
    when = {
        "field": "start",
        "title": time_title,
        "type": "temporal",
        "timeUnit": "utcyearmonthdate",
    }
    return {
        "data": {"name": name},
        "mark": {"type": "line", "point": True},
        "description": state.t("chart.line_description", title=title),
        "encoding": {
            "x": {
                **when,
                "scale": {"type": "utc"},
                "axis": {"format": day, "values": [_utc_day(start) for start in starts]},
            },
            "y": {
                "axis": {"format": ",d", "tickMinStep": 1},
                "field": "value",
                "title": value_title,
                "type": "quantitative",
            },
            "color": {"field": "group", "title": group_title, "type": "nominal"},
            "tooltip": [
                {**when, "format": day},
                {"field": "group", "title": group_title, "type": "nominal"},
                {"field": "value", "title": value_title, "type": "quantitative", "format": ",d"},
            ],
        },
        "title": title,
        "config": _config(),
        "$schema": SCHEMA_URL,
        "datasets": {name: data},
    }


@dataclass(frozen=True)
class HeatCell:
    """One cell of a weekday x hour grid: its labels, its number and how many it stands for."""

    weekday: str
    hour: str
    value: float
    count: int
    thin: bool


def heatmap_spec(
    cells: Sequence[HeatCell],
    *,
    title: str,
    weekdays: Sequence[str],
    value_title: str,
    count_title: str,
) -> dict[str, Any]:
    """The Vega-Lite spec of a weekday x hour heat map; thin cells are drawn faint."""
    data: list[dict[str, Any]] = [
        {
            "weekday": c.weekday,
            "hour": c.hour,
            "value": round(c.value, 1),
            "count": c.count,
            "thin": c.thin,
        }
        for c in cells
    ]
    name = "data-" + sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]
    return {
        "data": {"name": name},
        "mark": {"type": "rect"},
        "description": state.t("chart.heatmap_description", title=title),
        "encoding": {
            "x": {
                "field": "hour",
                "title": state.t("chart.hour"),
                "type": "ordinal",
                "sort": [f"{h:02d}" for h in range(24)],
                "axis": {"labelAngle": 0},
            },
            "y": {
                "field": "weekday",
                "title": state.t("chart.weekday"),
                "type": "ordinal",
                "sort": list(weekdays),
            },
            "color": {"field": "value", "title": value_title, "type": "quantitative"},
            "opacity": {"condition": {"test": "datum.thin", "value": 0.35}, "value": 1},
            "tooltip": [
                {"field": "weekday", "title": state.t("chart.weekday"), "type": "ordinal"},
                {"field": "hour", "title": state.t("chart.hour"), "type": "ordinal"},
                {"field": "value", "title": value_title, "type": "quantitative"},
                {"field": "count", "title": count_title, "type": "quantitative"},
            ],
        },
        "title": title,
        "config": _config(),
        "$schema": SCHEMA_URL,
        "datasets": {name: data},
    }


def figure_with_table(spec: dict[str, Any], rows: Sequence[dict[str, object]], title: str) -> None:
    """A chart and beside it a table of the same numbers (the chart's text equivalent)."""
    figure, numbers = st.columns([3, 2])
    figure.vega_lite_chart(spec=spec, width="stretch")
    numbers.dataframe(rows, hide_index=True, height=min(420, 38 + 35 * max(1, len(rows))))
    numbers.caption(state.t("chart.table", title=title))
