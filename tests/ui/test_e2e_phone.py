"""On a phone: an approver reviews and approves a piece in headless Chromium 390 CSS pixels
wide (a touch screen). Choosing a page closes the sidebar, the review's text and diff wrap,
and no page scrolls sideways.

Runs with the harness of `tests/ui/test_e2e_browser.py` (select it with `-m e2e`); the
screenshots go to `test-output/e2e-phone/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session

from planner import pieces, users
from planner.db import make_engine
from planner.models import PieceStatus
from tests.ui.test_e2e_browser import (
    PASSWORD,
    REPO_ROOT,
    Dashboard,
    Org,
    Server,
    _missing,
    chromium_page,
    org,
    serving,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["org"]  # the fixture, used by name

pytestmark = pytest.mark.e2e

PHONE = (390, 844)
TITLE = "Tag der offenen Tür im Werk Nord"
FIRST = "Am 3. Oktober öffnet das Werk Nord seine Tore."
# A long address and a long compound word: the kind of text that pushes a narrow page wide.
BODY = (
    "Am 3. Oktober öffnet das Werk Nord seine Tore für alle Nachbarn und Familien. "
    "Anmeldung: https://werk-nord.example/tag-der-offenen-tuer/anmeldung?formular=familien"
    "&sprache=de&bereich=werksfuehrung — Betriebssicherheitsunterweisungsveranstaltung inklusive."
)


@pytest.fixture
def piece_id(org: Org) -> int:
    """A piece by the editor in two revisions, submitted for review."""
    engine = make_engine(org.url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            eddi = users.get_user(s, "eddi")
            piece = pieces.create_piece(s, actor=eddi, data={"title": TITLE, "body": FIRST})
            assert piece.id is not None
            pieces.edit_piece(
                s, actor=eddi, piece_id=piece.id, expected_revision=1, data={"body": BODY}
            )
            pieces.submit_piece(s, actor=eddi, piece_id=piece.id)
            return piece.id
    finally:
        engine.dispose()


@pytest.fixture
def phone_server(org: Org, piece_id: int, tmp_path: Path) -> Iterator[Server]:
    with serving(org.url, tmp_path / "serve.log", scheduler=False) as running:
        yield running


@pytest.fixture
def phone(phone_server: Server, tmp_path: Path) -> Iterator[Page]:
    with chromium_page(tmp_path / "chromium-profile", viewport=PHONE, mobile=True) as opened:
        yield opened


def _sideways(page: Page) -> list[str]:
    """The page's scrolling areas that are wider than the screen (none should be)."""
    found: list[str] = page.evaluate(
        """() => [document.documentElement, ...document.querySelectorAll(
            '[data-testid="stMain"], [data-testid="stAppViewContainer"], [data-testid="stApp"]')]
            .filter((e) => e.scrollWidth > e.clientWidth + 1)
            .map((e) => `${e.dataset.testid || e.tagName}: ${e.scrollWidth} > ${e.clientWidth}`)"""
    )
    return found


def _sidebar_open(page: Page) -> bool:
    return bool(
        page.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "false"
        and page.get_by_test_id("stSidebarNav").is_visible()
    )


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_an_approver_approves_a_piece_on_a_phone(
    org: Org, piece_id: int, phone_server: Server, phone: Page
) -> None:
    ui = Dashboard(phone, phone_server, REPO_ROOT / "test-output" / "e2e-phone")
    with ui.reporting_failure():
        _approve_on_phone(ui, org, piece_id)


def _approve_on_phone(ui: Dashboard, org: Org, piece_id: int) -> None:
    from playwright.sync_api import expect

    page = ui.page
    page.goto(ui.server.url)
    ui.see(ui.t("sign_in.heading"))
    form = ui.main.get_by_test_id("stForm")
    form.get_by_label(ui.t("sign_in.username"), exact=True).fill("anna")
    form.get_by_label(ui.t("sign_in.password"), exact=True).fill(PASSWORD)
    ui.click(ui.t("sign_in.submit"), where=form)
    ui.see(ui.t("calendar.heading"))
    assert _sideways(page) == []
    ui.shot("phone-signed-in")

    # The sidebar, opened by its button, closes once a page is chosen in it.
    if not _sidebar_open(page):
        page.get_by_test_id("stExpandSidebarButton").click()
    expect(page.get_by_test_id("stSidebarNav")).to_be_visible()
    ui.shot("phone-sidebar-open")
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name=ui.t("nav.approvals"), exact=True).click()
    ui.idle()
    ui.see(ui.t("approvals.heading"))
    expect(page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    expect(page.get_by_test_id("stExpandSidebarButton")).to_be_visible()
    ui.see("Betriebssicherheitsunterweisungsveranstaltung")
    assert _sideways(page) == []
    ui.shot("phone-review")

    ui.click(ui.t("approvals.approve", revision=2))
    ui.see(ui.t("approvals.approved", id=piece_id, revision=2))
    assert _sideways(page) == []
    ui.shot("phone-approved")

    engine = make_engine(org.url)
    try:
        with Session(engine) as s:
            anna = users.get_user(s, "anna")
            approved = pieces.get_piece(s, actor=anna, piece_id=piece_id)
            assert (approved.status, approved.approved_revision) == (PieceStatus.approved, 2)
    finally:
        engine.dispose()
