"""Links in a real browser: a link to a piece or a post, opened in headless Chromium, shows
that item, and a reload of the page shows it again (the link stays in the address).

Runs with the harness of `tests/ui/test_e2e_browser.py` (select it with `-m e2e`); the
screenshots go to `test-output/e2e-links/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session

from planner import channels, pieces, planning, users
from planner.db import make_engine
from tests.ui.test_e2e_browser import (
    CHANNEL,
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

TITLES = ("Tag der offenen Tür", "Sommerfest im Werk Nord", "Azubi-Tag 2027")


def make_pieces(org: Org) -> tuple[list[int], int]:
    """Three pieces by the editor, the last one submitted for review with a post planned on
    the webhook channel; (their ids, the post's id)."""
    engine = make_engine(org.url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            eddi = users.get_user(s, "eddi")
            made = []
            for title in TITLES:
                piece = pieces.create_piece(
                    s, actor=eddi, data={"title": title, "body": f"Text zu {title}."}
                )
                assert piece.id is not None
                made.append(piece.id)
            channel = next(c for c in channels.list_channels(s, actor=eddi) if c.name == CHANNEL)
            assert channel.id is not None
            post = planning.plan_post(
                s,
                actor=eddi,
                piece_id=made[-1],
                channel=channel.id,
                when=datetime.now(UTC) + timedelta(days=5),
            )
            assert post.id is not None
            return made, post.id
    finally:
        engine.dispose()


@pytest.fixture
def linked(org: Org) -> tuple[list[int], int]:
    """The pieces and the post of `make_pieces`, made before the server starts."""
    return make_pieces(org)


@pytest.fixture
def quiet_server(org: Org, linked: tuple[list[int], int], tmp_path: Path) -> Iterator[Server]:
    """The dashboard without its scheduler (nothing here is due)."""
    with serving(org.url, tmp_path / "serve.log", scheduler=False) as running:
        yield running


@pytest.fixture
def browser(quiet_server: Server, tmp_path: Path) -> Iterator[Page]:
    with chromium_page(tmp_path / "chromium-profile") as opened:
        yield opened


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_a_piece_link_opens_its_piece_and_a_reload_keeps_it_open(
    linked: tuple[list[int], int], quiet_server: Server, browser: Page
) -> None:
    from playwright.sync_api import expect

    ids, post_id = linked
    ui = Dashboard(browser, quiet_server, REPO_ROOT / "test-output" / "e2e-links")
    with ui.reporting_failure():
        ui.sign_in("eddi")
        title = ui.t("editor.title")
        # The middle piece: neither the first the editor would list nor the newest.
        ui.page.goto(f"{quiet_server.url}/?piece={ids[1]}")
        ui.idle()
        ui.see(ui.t("editor.heading"))
        expect(ui.main.get_by_label(title, exact=True)).to_have_value(TITLES[1])
        assert f"piece={ids[1]}" in ui.page.url
        ui.shot("piece-link-opened")
        ui.page.reload()
        ui.idle()
        ui.see(ui.t("editor.heading"))
        expect(ui.main.get_by_label(title, exact=True)).to_have_value(TITLES[1])
        assert f"piece={ids[1]}" in ui.page.url
        ui.shot("piece-link-reloaded")
        # A post link opens the calendar with that post on top, also after a reload.
        ui.page.goto(f"{quiet_server.url}/?post={post_id}")
        ui.idle()
        ui.see(ui.t("linked_post.heading", id=post_id))
        ui.see(TITLES[2])
        ui.page.reload()
        ui.idle()
        ui.see(ui.t("linked_post.heading", id=post_id))
        assert f"post={post_id}" in ui.page.url
        ui.shot("post-link-reloaded")
