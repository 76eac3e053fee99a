"""Accessibility in a real browser: axe-core over every page, for every role, in both languages.

One dashboard server (`python -m planner serve`, scheduler off) over the demo organisation
(`planner.demo`: ideas, pieces in review with several revisions, a calendar of posts, so
every page shows its real content), one headless Chromium per test process. For each
role and language the test signs in, opens every page of the role's navigation and the
accessibility statement, and there

- injects axe-core (npm `axe-core`, pinned in tests/axe/package-lock.json, installed by
  `npm ci --prefix tests/axe` in scripts/test.sh) and fails on any violation of the WCAG
  2.0/2.1 level A and AA rules (tags wcag2a, wcag2aa, wcag21a, wcag21aa);
- checks what axe does not: the document language is the user's (`<html lang>`), every
  chart has an accessible name of its own (not Vega's "Vega visualization"), and keyboard
  focus on the sidebar's links and buttons is drawn with at least 3:1 contrast;
- saves a full-page screenshot to `test-output/a11y/ROLE-LANG/`.

The signed-out pages (sign-in and the statement) are checked the same way. Marked `e2e`;
skipped, saying why, without chromium, playwright or the npm package, which fails CI.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session

from planner.credentials import new_key
from planner.db import make_engine
from planner.demo import load_demo
from planner.migrate import upgrade
from planner.models import Role
from planner.ui.app import PAGES_BY_ROLE
from tests.ui.test_e2e_browser import (
    PASSWORD,
    REPO_ROOT,
    Dashboard,
    Server,
    _missing,
    chromium_page,
    serving,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

# A browser test: with the others in the xdist group "browser" (tests/conftest.py), so its
# module-wide demo server is started once.
pytestmark = pytest.mark.e2e

AXE = REPO_ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = REPO_ROOT / "test-output" / "a11y"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# One demo account per role (data/demo_content.json).
DEMO_USER = {
    Role.contributor: "julia.schneider",
    Role.editor: "lena.hoffmann",
    Role.approver: "sabine.krueger",
    Role.admin: "admin",
}
# Violations Streamlit itself or a component it draws causes and the dashboard cannot
# change: (rule, a part of the element's CSS selector or of its markup, why). Each is
# named in the accessibility statement.
STREAMLIT_EXCLUSIONS: list[tuple[str, str, str]] = [
    (
        "label-content-name-mismatch",
        'role="gridcell" data-date="',
        "FullCalendar names a month's day cell by its day number (aria-labelledby, no option "
        "changes it) while the cell also holds the day's posts; the same month is on the page "
        "as text",
    ),
]


# The parts of a page drawn only while open, each opened by a click: (a tab or an
# expander, its label, a text shown inside once it is drawn).
_DRAWN_WHEN_OPEN: dict[str, list[tuple[str, str, str]]] = {
    "calendar": [
        ("tab", "calendar.tab.series", "calendar.series_preset"),
        ("expander", "calendar.move", "calendar.move_day"),
        ("expander", "calendar.feeds.heading", "calendar.feeds.name"),
        ("expander", "csv.heading", "csv.file"),
    ],
    "inbox": [("expander", "csv.heading", "csv.file")],
}


def _skip_reason() -> str | None:
    missing = _missing()
    if missing is not None:
        return missing
    if not AXE.exists():
        return f"{AXE} is missing (npm ci --prefix tests/axe)"
    return None


@dataclass
class Demo:
    """The running dashboard over the demo organisation, and a browser page on it."""

    server: Server
    page: Page


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo organisation in a fresh SQLite file, served once, and one Chromium page."""
    if (reason := _skip_reason()) is not None:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("a11y")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PLANNER_SECRET_KEY", new_key())
        url = f"sqlite:///{tmp / 'demo.db'}"
        engine = make_engine(url)
        upgrade(engine)
        with Session(engine, expire_on_commit=False) as s:
            load_demo(s, password=PASSWORD)
        engine.dispose()
        with (
            serving(url, tmp / "serve.log", scheduler=False) as server,
            chromium_page(tmp / "chromium-profile") as page,
        ):
            yield Demo(server, page)


# --- what the browser sees --------------------------------------------------------------------


def _axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.0/2.1 A and AA violations on the page as shown, minus the
    documented exclusions."""
    # Into every frame too (the interactive calendar draws in its own): axe then checks
    # each frame's content as part of the page.
    for frame in page.frames:
        if not frame.evaluate("typeof window.axe !== 'undefined'"):
            frame.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {
                runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
            });
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({
                    target: n.target.join(' '), html: n.html.slice(0, 200),
                    why: n.failureSummary,
                })),
            }));
        }""",
        WCAG_AA,
    )
    kept = []
    for violation in found:
        nodes = [
            node
            for node in violation["nodes"]
            if not any(
                rule == violation["id"] and (part in node["target"] or part in node["html"])
                for rule, part, _why in STREAMLIT_EXCLUSIONS
            )
        ]
        if nodes:
            kept.append({**violation, "nodes": nodes})
    return kept


def _chart_names(page: Page) -> list[str]:
    """The accessible name of every chart on the page (Vega's graphics root)."""
    names: list[str] = page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
            .map(chart => {
                const root = chart.closest('[role="graphics-document"]')
                    || chart.querySelector('[role="graphics-document"]');
                return root ? (root.getAttribute('aria-label') || '') : '';
            })"""
    )
    return names


def _focus_rings(page: Page) -> list[tuple[str, str, float]]:
    """Tab through the sidebar from its first link: for each link or button that takes the
    focus, its text, its outline (style and width) and the outline's contrast against the
    nearest background behind it."""
    page.get_by_test_id("stSidebarNav").get_by_role("link").first.focus()
    rings: list[tuple[str, str, float]] = []
    for _ in range(30):
        page.keyboard.press("Tab")
        seen: dict[str, Any] = page.evaluate(
            """() => {
                const el = document.activeElement;
                const sidebar = document.querySelector('[data-testid="stSidebar"]');
                if (!el || !sidebar || !sidebar.contains(el)) return {done: true};
                const style = getComputedStyle(el);
                let back = el.parentElement, bg = 'rgba(0, 0, 0, 0)';
                while (back) {
                    bg = getComputedStyle(back).backgroundColor;
                    if (bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') break;
                    back = back.parentElement;
                }
                return {done: false, tag: el.tagName, text: el.innerText.trim().slice(0, 40),
                        outline: style.outlineStyle + ' ' + style.outlineWidth,
                        colour: style.outlineColor, background: bg};
            }"""
        )
        if seen["done"]:
            break
        if seen["tag"] not in ("A", "BUTTON"):
            continue
        rings.append((seen["text"], seen["outline"], _contrast(seen["colour"], seen["background"])))
    return rings


def _contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS `rgb(...)`/`rgba(...)` colours (alpha ignored)."""

    def luminance(colour: str) -> float:
        parts = colour[colour.index("(") + 1 : colour.index(")")].split(",")
        channels = [float(part) / 255 for part in parts[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines.extend(f"    {n['target']}: {n['html']}\n      {n['why']}" for n in v["nodes"][:5])
    return "\n".join(lines)


# --- the walk ---------------------------------------------------------------------------------


@dataclass
class Finding:
    """What one page showed that fails the checks."""

    page: str
    problem: str


class Audit:
    """Opens pages like a person and collects what fails on each."""

    def __init__(self, ui: Dashboard) -> None:
        self.ui = ui
        self.findings: list[Finding] = []
        self.opened: list[str] = []

    def check(self, name: str) -> None:
        """Every check on the page as it is shown now, and its screenshot."""
        page = self.ui.page
        self.ui.idle()
        self.ui.main.locator("h1").first.wait_for()
        # Charts draw after the script run has finished.
        page.wait_for_function(
            """() => Array.from(document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
                .every(chart => chart.querySelector('svg, canvas'))"""
        )
        self.opened.append(name)
        self.ui.shot(name)
        exceptions = self.ui.main.get_by_test_id("stException").count()
        if exceptions:
            self.findings.append(Finding(name, f"{exceptions} exception(s) on the page"))
        shown = page.evaluate("document.documentElement.lang")
        if shown != self.ui.lang:
            self.findings.append(Finding(name, f"<html lang={shown!r}>, not {self.ui.lang!r}"))
        for label in _chart_names(page):
            if not label or label == "Vega visualization":
                self.findings.append(Finding(name, f"a chart is named {label!r}"))
        violations = _axe_violations(page)
        if violations:
            self.findings.append(Finding(name, _describe(violations)))

    def open(self, page: str, role: Role) -> None:
        """Open one page of the sidebar's navigation (never folded: every page is listed),
        then, where it has any, its parts drawn only while open, and check it again."""
        nav = self.ui.page.get_by_test_id("stSidebarNav")
        nav.get_by_role("link", name=self.ui.t(f"nav.{page}"), exact=True).click()
        self.check(page)
        parts = _DRAWN_WHEN_OPEN.get(page, [])
        if role == Role.approver:  # reads the calendar: no plan, move or CSV there
            parts = [p for p in parts if p[1] == "calendar.feeds.heading"]
        if not parts:
            return
        for kind, label, inside in parts:
            if kind == "tab":
                self.ui.main.get_by_role("tab", name=self.ui.t(label), exact=True).click()
            else:
                self.ui.main.locator("summary").filter(has_text=self.ui.t(label)).first.click()
            self.ui.idle()
            self.ui.see(self.ui.t(inside))
        self.check(f"{page}-opened")

    def report(self) -> str:
        return "\n".join(f"[{f.page}] {f.problem}" for f in self.findings)


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("role", list(DEMO_USER), ids=[r.value for r in DEMO_USER])
def test_every_page_of_a_role_passes_axe_wcag_aa_in_chromium(
    demo: Demo, role: Role, lang: str
) -> None:
    started = time.monotonic()
    ui = Dashboard(demo.page, demo.server, SCREENSHOTS / f"{role.value}-{lang}")
    audit = Audit(ui)
    demo.page.context.clear_cookies()  # whoever the last test left signed in
    with ui.reporting_failure():
        ui.sign_in(DEMO_USER[role])
        if lang != "de":
            ui.choose(ui.t("sidebar.language"), "English", where=ui.sidebar)
            ui.lang = lang
        for page in [*PAGES_BY_ROLE[role], "accessibility"]:
            audit.open(page, role)
        rings = _focus_rings(demo.page)
    print(f"{role.value}/{lang}: {len(audit.opened)} pages in {time.monotonic() - started:.1f} s")  # noqa: T201
    assert [p for p in audit.opened if not p.endswith("-opened")] == [
        *PAGES_BY_ROLE[role],
        "accessibility",
    ]
    opened_parts = {p.removesuffix("-opened") for p in audit.opened if p.endswith("-opened")}
    assert opened_parts == {p for p in _DRAWN_WHEN_OPEN if p in PAGES_BY_ROLE[role]}
    assert not audit.findings, audit.report()
    assert rings, "no link or button in the sidebar took the keyboard focus"
    weak = [ring for ring in rings if ring[1].startswith("none") or ring[2] < 3]
    assert not weak, f"focus rings missing or under 3:1 (text, outline, contrast): {weak}"


def test_signed_out_pages_pass_axe_and_link_the_statement(demo: Demo) -> None:
    ui = Dashboard(demo.page, demo.server, SCREENSHOTS / "signed-out-de")
    audit = Audit(ui)
    demo.page.context.clear_cookies()
    demo.page.goto(demo.server.url)
    ui.see(ui.t("sign_in.heading"))
    audit.check("sign_in")
    ui.main.get_by_role("link", name=ui.t("accessibility.link"), exact=True).click()
    ui.see(ui.t("accessibility.heading"))
    audit.check("accessibility")
    assert not audit.findings, audit.report()
    ui.see(ui.t("accessibility.report", contact=ui.t("accessibility.contact_admins")))
    ui.main.get_by_role("link", name=ui.t("nav.sign_in"), exact=True).click()
    ui.see(ui.t("sign_in.username"))
