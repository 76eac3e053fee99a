"""Charts on the dashboard's pages: horizontal bars with every label in full, a description
for screen readers, and the same numbers as a table beside the chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import streamlit as st

from planner.ui import state
from planner.ui.i18n import format_number

ROW_HEIGHT = 30  # pixels per row of bars: the chart grows with its rows, labels never squeeze


@dataclass(frozen=True)
class Bar:
    """One bar (or, with `part`, one stacked part of a bar): its label and its number."""

    label: str
    value: int
    part: str = ""


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
    labels = list(dict.fromkeys(row.label for row in rows))
    description = t("chart.description", title=title)
    data: list[dict[str, Any]] = [
        {"label": row.label, "value": row.value, "part": row.part} for row in rows
    ]
    encoding: dict[str, Any] = {
        "y": alt.Y(
            "label:N",
            title=label_title,
            sort=labels,
            axis=alt.Axis(labelLimit=0, labelOverlap=False, labelAngle=0),
        ),
        "x": alt.X(
            "value:Q",
            title=value_title,
            axis=alt.Axis(tickMinStep=1, format="d"),
            stack="zero" if part_title else None,
        ),
        "tooltip": [
            alt.Tooltip("label:N", title=label_title),
            *([alt.Tooltip("part:N", title=part_title)] if part_title else []),
            alt.Tooltip("value:Q", title=value_title),
        ],
    }
    if part_title:
        encoding["color"] = alt.Color("part:N", title=part_title)
    chart = (
        alt.Chart(alt.InlineData(values=data))
        .mark_bar()
        .encode(**encoding)
        # The height is the bars' own: fit only the width, or axes and title eat the rows.
        .properties(
            title=title,
            description=description,
            height=ROW_HEIGHT * max(1, len(labels)),
            autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
        )
    )
    figure, numbers = st.columns([3, 2])
    figure.altair_chart(chart, width="stretch")  # its description is the accessible name

    def cells(row: Bar) -> dict[str, str]:
        shown = {label_title: row.label}
        if part_title:
            shown[part_title] = row.part
        shown[value_title] = format_number(state.lang(), row.value)
        return shown

    numbers.table([cells(row) for row in rows], hide_index=True, alt=t("chart.table", title=title))
