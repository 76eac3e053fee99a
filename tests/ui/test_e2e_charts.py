"""The analytics line chart drawn by the Vega-Lite and vega-embed that Streamlit bundles, in
headless Chromium in New York with an American browser locale: the axis and the tooltip
show each period's own first day (not the Sunday before, as UTC midnight is there) and
the numbers as the dashboard's language writes them, whatever the browser's settings.

No dashboard server: a page routed in memory loads Streamlit's own `embed` module and
draws `charts.line_spec`, so the check takes seconds. Runs with the browser tests
(`-m e2e`), skipped with their reason where chromium or playwright is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import streamlit

from planner.ui import charts, state
from tests.ui.test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, _missing

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(_missing() is not None, reason=_missing() or "")]

JS = Path(streamlit.__file__).resolve().parent / "static" / "static" / "js"
ORIGIN = "http://charts.invalid"  # never reached: every request is answered by the route
ZONE = "America/New_York"
WAIT_MS = 15_000
STEPS = [
    charts.Step("2026-11-16", "Blog", 1234),
    charts.Step("2026-11-23", "Blog", 4000),
    charts.Step("2026-11-30", "Blog", 17),
]


def _page(spec: dict[str, Any]) -> str:
    """A page that draws `spec` as SVG with Streamlit's vega-embed (the module's `n` export
    is vega-embed's namespace, as Streamlit's `loadVegaEmbed` imports it)."""
    embed = next(JS.glob("embed.*.js")).name
    return f"""<!doctype html><html><body><div id="chart"></div><script type="module">
import {{n}} from "./js/{embed}";
await n.default("#chart", {json.dumps(spec)}, {{renderer: "svg", actions: false}});
document.body.dataset.drawn = "yes";
</script></body></html>"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _drawn(browser: Browser, spec: dict[str, Any]) -> Page:
    page = browser.new_page(timezone_id=ZONE, locale="en-US")
    html = _page(spec)

    def answer(route: Route) -> None:
        url = route.request.url
        if url == f"{ORIGIN}/chart.html":
            route.fulfill(body=html, content_type="text/html")
        elif url.startswith(f"{ORIGIN}/js/") and (JS / url.removeprefix(f"{ORIGIN}/js/")).is_file():
            route.fulfill(
                path=JS / url.removeprefix(f"{ORIGIN}/js/"), content_type="text/javascript"
            )
        else:
            route.abort()

    page.route("**/*", answer)
    page.goto(f"{ORIGIN}/chart.html")
    page.wait_for_selector("body[data-drawn='yes']", timeout=WAIT_MS)
    return page


def _tooltip_of_first_point(page: Page) -> list[str]:
    page.locator("#chart svg .mark-symbol path").first.hover(force=True)
    tip = page.locator("#vg-tooltip-element.visible")
    tip.wait_for(timeout=WAIT_MS)
    return [cell.strip() for cell in tip.locator("td").all_inner_texts()]


@pytest.mark.parametrize(
    ("lang", "days", "numbers", "tooltip"),
    [
        (
            "de",
            ["16.11.2026", "23.11.2026", "30.11.2026"],
            ["1.000", "4.000"],
            ["Woche", "16.11.2026", "Kanal", "Blog", "Interaktionen", "1.234"],
        ),
        (
            "en",
            ["16 Nov 2026", "23 Nov 2026", "30 Nov 2026"],
            ["1,000", "4,000"],
            ["Woche", "16 Nov 2026", "Kanal", "Blog", "Interaktionen", "1,234"],
        ),
    ],
)
def test_new_york_sees_each_periods_own_day_and_the_languages_numbers(
    browser: Browser,
    lang: str,
    days: list[str],
    numbers: list[str],
    tooltip: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(state, "lang", lambda: lang)
    spec = charts.line_spec(
        STEPS, title="T", time_title="Woche", value_title="Interaktionen", group_title="Kanal"
    )
    page = _drawn(browser, spec)
    try:
        # The browser really is in New York: UTC midnight of the 16th is the 15th there.
        assert page.evaluate("new Date('2026-11-16').getDate()") == 15
        labels = page.locator("#chart svg text").all_text_contents()
        assert [label for label in labels if label in days] == days
        assert set(numbers) <= set(labels)
        assert _tooltip_of_first_point(page) == tooltip
    finally:
        page.close()
