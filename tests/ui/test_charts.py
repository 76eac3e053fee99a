"""The bar chart's spec is the one Altair would make of the same chart, written directly."""

from __future__ import annotations

from typing import Any

import altair as alt
import pytest
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

from planner.ui import charts, state

ROWS = [
    charts.Bar("Entwurf", 3),
    charts.Bar("In Prüfung", 0),
    charts.Bar("Freigegeben – sehr lange Bezeichnung", 1204),
]
PARTS = [
    charts.Bar("KW 49", 2, "LinkedIn"),
    charts.Bar("KW 49", 1, "Blog"),
    charts.Bar("KW 50", 5, "LinkedIn"),
]


def _altair(rows: list[charts.Bar], part_title: str) -> dict[str, Any]:
    """The chart as it was built with Altair objects, turned into a spec as Streamlit does."""
    labels = list(dict.fromkeys(row.label for row in rows))
    encoding: dict[str, Any] = {
        "y": alt.Y(
            "label:N",
            title="Status",
            sort=labels,
            axis=alt.Axis(labelLimit=0, labelOverlap=False, labelAngle=0),
        ),
        "x": alt.X(
            "value:Q",
            title="Anzahl",
            axis=alt.Axis(tickMinStep=1, format="d"),
            stack="zero" if part_title else None,
        ),
        "tooltip": [
            alt.Tooltip("label:N", title="Status"),
            *([alt.Tooltip("part:N", title=part_title)] if part_title else []),
            alt.Tooltip("value:Q", title="Anzahl"),
        ],
    }
    if part_title:
        encoding["color"] = alt.Color("part:N", title=part_title)
    chart = (
        alt.Chart(
            alt.InlineData(
                values=[{"label": r.label, "value": r.value, "part": r.part} for r in rows]
            )
        )
        .mark_bar()
        .encode(**encoding)
        .properties(
            title="Beiträge",
            description=state.t("chart.description", title="Beiträge"),
            height=charts.ROW_HEIGHT * max(1, len(labels)),
            autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
        )
    )
    return dict(_convert_altair_to_vega_lite_spec(chart))


@pytest.mark.parametrize(("rows", "part_title"), [(ROWS, ""), (PARTS, "Kanal"), ([], "")])
def test_bar_spec_is_what_altair_makes_of_the_same_chart(
    rows: list[charts.Bar], part_title: str
) -> None:
    spec = charts.bar_spec(
        rows, title="Beiträge", label_title="Status", value_title="Anzahl", part_title=part_title
    )
    assert spec == _altair(rows, part_title)
