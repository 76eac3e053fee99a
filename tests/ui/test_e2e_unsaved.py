"""Unsaved work in a real browser: text typed in the Editor and never saved is there again
after going straight to another page and back, and after a reload.

Runs with the harness of `tests/ui/test_e2e_browser.py` (select it with `-m e2e`); the
screenshots go to `test-output/e2e-unsaved/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session

from planner import pieces, users
from planner.db import make_engine
from tests.ui.test_e2e_browser import (
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

TYPED = "Neuer Text, nie gespeichert: Musik, Essen und Führungen."


@pytest.fixture
def piece_id(org: Org) -> int:
    engine = make_engine(org.url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            piece = pieces.create_piece(
                s,
                actor=users.get_user(s, "eddi"),
                data={"title": "Sommerfest", "body": "Alter Text."},
            )
            assert piece.id is not None
            return piece.id
    finally:
        engine.dispose()


@pytest.fixture
def editor_server(org: Org, piece_id: int, tmp_path: Path) -> Iterator[Server]:
    with serving(org.url, tmp_path / "serve.log", scheduler=False) as running:
        yield running


@pytest.fixture
def browser(editor_server: Server, tmp_path: Path) -> Iterator[Page]:
    with chromium_page(tmp_path / "chromium-profile") as opened:
        yield opened


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_typed_text_survives_leaving_the_page_at_once_and_a_reload(
    piece_id: int, editor_server: Server, browser: Page
) -> None:
    from playwright.sync_api import expect

    ui = Dashboard(browser, editor_server, REPO_ROOT / "test-output" / "e2e-unsaved")
    with ui.reporting_failure():
        ui.sign_in("eddi")
        ui.open("editor")
        body = ui.main.get_by_label(ui.t("editor.body"), exact=True)
        expect(body).to_have_value("Alter Text.")
        # Typed, and then straight to another page: no Tab, no save.
        body.fill(TYPED)
        nav = ui.page.get_by_test_id("stSidebarNav")
        nav.get_by_role("link", name=ui.t("nav.board"), exact=True).click()
        ui.idle()
        # Streamlit may take that first click only as leaving the field (its value goes
        # to the server, and the draft is kept); a person clicks again.
        ui.open("board")
        ui.open("editor")
        expect(ui.main.get_by_label(ui.t("editor.body"), exact=True)).to_have_value(TYPED)
        ui.see(ui.t("drafts.discard"))
        ui.shot("unsaved-back-after-leaving")
        ui.page.reload()
        ui.idle()
        ui.see(ui.t("editor.heading"))
        expect(ui.main.get_by_label(ui.t("editor.body"), exact=True)).to_have_value(TYPED)
        ui.shot("unsaved-back-after-reload")
