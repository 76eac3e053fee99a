"""Bar charts as HTML tables: labels in full and escaped, numbers as text, bars to scale,
stacked parts named with their colour and number."""

from __future__ import annotations

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
