"""Charts on the dashboard's pages: horizontal bars with every label in full, a description
for screen readers, and the same numbers as a table beside the chart."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

import streamlit as st

from planner.ui import state
from planner.ui.i18n import format_number

ROW_HEIGHT = 30  # pixels per row of bars: the chart grows with its rows, labels never squeeze
# The schema the installed Altair names (`altair.SCHEMA_URL`; tests/ui/test_charts.py checks
# the spec against Altair's), without importing Altair into the dashboard for it.
SCHEMA_URL = "https://vega.github.io/schema/vega-lite/v6.4.1.json"


@dataclass(frozen=True)
class Bar:
    """One bar (or, with `part`, one stacked part of a bar): its label and its number."""

    label: str
    value: int
    part: str = ""


def bar_spec(
    rows: Sequence[Bar],
    *,
    title: str,
    label_title: str,
    value_title: str,
    part_title: str = "",
) -> dict[str, Any]:
    """The Vega-Lite spec of the bars: the dict Altair makes of the same chart, built directly."""
    # Building Altair's objects and validating them against the schema on every run cost
    # more than the rest of the chart; the spec (named inline dataset included) is the same.
    labels = list(dict.fromkeys(row.label for row in rows))
    data: list[dict[str, Any]] = [
        {"label": row.label, "value": row.value, "part": row.part} for row in rows
    ]
    name = "data-" + sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]
    encoding: dict[str, Any] = {
        "tooltip": [
            {"field": "label", "title": label_title, "type": "nominal"},
            *([{"field": "part", "title": part_title, "type": "nominal"}] if part_title else []),
            {"field": "value", "title": value_title, "type": "quantitative"},
        ],
        "x": {
            "axis": {"format": "d", "tickMinStep": 1},
            "field": "value",
            "stack": "zero" if part_title else None,
            "title": value_title,
            "type": "quantitative",
        },
        "y": {
            "axis": {"labelAngle": 0, "labelLimit": 0, "labelOverlap": False},
            "field": "label",
            "sort": labels,
            "title": label_title,
            "type": "nominal",
        },
    }
    if part_title:
        encoding["color"] = {"field": "part", "title": part_title, "type": "nominal"}
    return {
        "data": {"name": name},
        "mark": {"type": "bar"},
        # The height is the bars' own: fit only the width, or axes and title eat the rows.
        "autosize": {"contains": "padding", "type": "fit-x"},
        "description": state.t("chart.description", title=title),
        "encoding": encoding,
        "height": ROW_HEIGHT * max(1, len(labels)),
        "title": title,
        "$schema": SCHEMA_URL,
        "datasets": {name: data},
    }


def bars(
    rows: Sequence[Bar],
    *,
    title: str,
    label_title: str,
    value_title: str,
    part_title: str = "",
) -> None:
    """Horizontal bars in the order given, labels in full and upright, described for screen
    readers; beside them a table of the same numbers (the chart's text equivalent)."""
    t = state.t
    spec = bar_spec(
        rows, title=title, label_title=label_title, value_title=value_title, part_title=part_title
    )
    figure, numbers = st.columns([3, 2])
    figure.vega_lite_chart(spec=spec, width="stretch")  # its description is the accessible name

    def cells(row: Bar) -> dict[str, str]:
        shown = {label_title: row.label}
        if part_title:
            shown[part_title] = row.part
        shown[value_title] = format_number(state.lang(), row.value)
        return shown

    numbers.table([cells(row) for row in rows], hide_index=True, alt=t("chart.table", title=title))


@dataclass(frozen=True)
class Step:
    """One point of a line over time: the period's first day (ISO), its group, its number."""

    start: str
    group: str
    value: int


def line_spec(
    rows: Sequence[Step], *, title: str, time_title: str, value_title: str, group_title: str
) -> dict[str, Any]:
    """The Vega-Lite spec of lines over time, one per group, with points on every period."""
    data: list[dict[str, Any]] = [
        {"start": row.start, "group": row.group, "value": row.value} for row in rows
    ]
    name = "data-" + sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]
    return {
        "data": {"name": name},
        "mark": {"type": "line", "point": True},
        "description": state.t("chart.line_description", title=title),
        "encoding": {
            "x": {"field": "start", "title": time_title, "type": "temporal"},
            "y": {
                "axis": {"format": "d", "tickMinStep": 1},
                "field": "value",
                "title": value_title,
                "type": "quantitative",
            },
            "color": {"field": "group", "title": group_title, "type": "nominal"},
            "tooltip": [
                {"field": "start", "title": time_title, "type": "temporal"},
                {"field": "group", "title": group_title, "type": "nominal"},
                {"field": "value", "title": value_title, "type": "quantitative"},
            ],
        },
        "title": title,
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
        "$schema": SCHEMA_URL,
        "datasets": {name: data},
    }


def figure_with_table(spec: dict[str, Any], rows: Sequence[dict[str, object]], title: str) -> None:
    """A chart and beside it a table of the same numbers (the chart's text equivalent)."""
    figure, numbers = st.columns([3, 2])
    figure.vega_lite_chart(spec=spec, width="stretch")
    numbers.dataframe(rows, hide_index=True, height=min(420, 38 + 35 * max(1, len(rows))))
    numbers.caption(state.t("chart.table", title=title))
