"""Bar charts as HTML tables: labels in full and escaped, numbers as text, bars to scale,
stacked parts named with their colour and number. The line chart's Vega-Lite spec: dates
and numbers as the dashboard's language writes them, each period's own day in every time
zone (tests/ui/test_e2e_charts.py draws it in Chromium)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import altair
import jsonschema
import pytest

from planner.ui import charts, state
from tests.ui.conftest import bar_chart

ROWS = [
    charts.Bar("Entwurf", 3),
    charts.Bar("In Prüfung", 0),
    charts.Bar("Freigegeben – sehr lange Bezeichnung <b>", 1204),
]
PARTS = [
    charts.Bar("KW 49", 2, "LinkedIn"),
    charts.Bar("KW 49", 1, "Blog"),
    charts.Bar("KW 50", 5, "LinkedIn"),
]


@pytest.fixture(autouse=True)
def german(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard's language outside a running page: German, as the numbers show."""
    monkeypatch.setattr(state, "lang", lambda: "de")


def test_every_label_and_number_stands_as_text_and_the_bars_are_to_scale() -> None:
    body = charts.bars_html(ROWS, title="Beiträge", label_title="Stand", value_title="Anzahl")
    chart = bar_chart(body)
    assert chart.caption == "Beiträge"
    assert chart.rows == [
        ["Stand", "Anzahl"],
        ["Entwurf", "3"],
        ["In Prüfung", "0"],
        ["Freigegeben – sehr lange Bezeichnung <b>", "1.204"],  # escaped, German digits
    ]
    assert "&lt;b&gt;" in body and "<b>" not in body
    assert chart.bars == [
        [],
        ["width:0.25%;background:#1f5fa8"],
        [],  # no bar for none
        ["width:100.00%;background:#1f5fa8"],
    ]
    # The headers are headers, every label heads its row, the bars are hidden from
    # screen readers (they read the number).
    assert body.count('<th scope="col"') == 2 and body.count('<th scope="row"') == 3
    assert body.count('<span aria-hidden="true" style="display:flex') == 3


def test_stacked_parts_are_named_with_their_number_and_share_one_bar() -> None:
    body = charts.bars_html(
        PARTS, title="Posts", label_title="Woche", value_title="Posts", part_title="Kanal"
    )
    chart = bar_chart(body)
    assert chart.rows == [
        ["Woche", "Kanal", "Posts"],
        ["KW 49", "LinkedIn 2, Blog 1", "3"],
        ["KW 50", "LinkedIn 5", "5"],
    ]
    linkedin, blog = charts.PALETTE[:2]
    assert chart.bars[1:] == [
        [f"width:40.00%;background:{linkedin}", f"width:20.00%;background:{blog}"],
        [f"width:100.00%;background:{linkedin}"],
    ]
    # Each part's name carries its colour, as a swatch screen readers skip.
    assert body.count(f'<span aria-hidden="true" style="{charts._SWATCH};background:') == 3


def test_no_rows_give_an_empty_table_with_its_caption() -> None:
    chart = bar_chart(charts.bars_html([], title="Leer", label_title="A", value_title="B"))
    assert (chart.caption, chart.rows) == ("Leer", [["A", "B"]])


STEPS = [
    charts.Step("2026-11-16", "Blog", 1234),
    charts.Step("2026-11-23", "Blog", 4000),
    charts.Step("2026-11-16", "LinkedIn", 3),
]


@cache
def _vega_lite() -> jsonschema.Draft7Validator:
    """A validator of the Vega-Lite schema the installed Altair carries."""
    path = Path(altair.__file__).parent / "vegalite" / "v6" / "schema" / "vega-lite-schema.json"
    return jsonschema.Draft7Validator(json.loads(path.read_text(encoding="utf-8")))


def _line(lang: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr(state, "lang", lambda: lang)
    return charts.line_spec(
        STEPS, title="T", time_title="Woche", value_title="Interaktionen", group_title="Kanal"
    )


@pytest.mark.parametrize(
    ("lang", "day", "thousands", "decimal"),
    [("de", "%d.%m.%Y", ".", ","), ("en", "%d %b %Y", ",", ".")],
)
def test_the_line_chart_writes_each_periods_own_day_and_numbers_in_the_language(
    lang: str, day: str, thousands: str, decimal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _line(lang, monkeypatch)
    x, y, tooltip = spec["encoding"]["x"], spec["encoding"]["y"], spec["encoding"]["tooltip"]
    # A date-only ISO string is UTC midnight to Vega: the axis and the tooltip write it in
    # UTC (in New York the local time would be the Sunday before a Monday), in the format
    # of the table beside the chart (`format.date`).
    assert day == state.t("format.date")
    assert x["scale"] == {"type": "utc"}
    assert x["timeUnit"] == "utcyearmonthdate"
    assert x["axis"]["format"] == day
    # The axis marks the periods themselves (not Sundays or the middle of a week).
    assert x["axis"]["values"] == [
        {"year": 2026, "month": 11, "date": 16, "utc": True},
        {"year": 2026, "month": 11, "date": 23, "utc": True},
    ]
    when, _group, value = tooltip
    assert (when["field"], when["timeUnit"], when["format"]) == ("start", "utcyearmonthdate", day)
    # Amounts grouped (1.234 / 1,234) by the language's own separators.
    assert value["format"] == y["axis"]["format"] == ",d"
    number = spec["config"]["locale"]["number"]
    assert (number["thousands"], number["decimal"], number["grouping"]) == (
        thousands,
        decimal,
        [3],
    )
    assert spec["config"]["locale"]["time"]["shortMonths"][10] == "Nov"


def test_the_chart_specs_are_valid_vega_lite_of_the_installed_altair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert charts.SCHEMA_URL == altair.SCHEMA_URL
    grid = charts.heatmap_spec(
        [charts.HeatCell("Mo", "09", 8.5, 2, True)],
        title="Zeiten",
        weekdays=["Mo"],
        value_title="Mittel",
        count_title="Posts",
    )
    # The heat map's means are written as the language writes them too (8,5).
    assert grid["config"]["locale"]["number"]["decimal"] == ","
    for spec in (_line("de", monkeypatch), _line("en", monkeypatch), grid):
        _vega_lite().validate(spec)
