"""In a real browser: a blocking publishing rule shows in the editor and blocks approval.

Uses the harness of `tests/ui/test_e2e_browser.py` (the dashboard server, headless
Chromium, one user per role). Select it with `-m e2e`; screenshots go to
`test-output/e2e-rules/`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session

from planner import channels, pieces, rules, users
from planner.db import make_engine
from planner.models import Piece, PieceStatus
from tests.ui.test_e2e_browser import (  # noqa: F401 - the fixtures are used by name
    CHANNEL,
    REPO_ROOT,
    Dashboard,
    Org,
    Server,
    _missing,
    org,
    page,
    server,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

TEXT = "Der garantiert beste Tarif für Ihre Wärmepumpe."
RULE = "Keine Garantien"


def _blocked_piece_in_review(url: str) -> int:
    """A piece in review on the webhook channel, then a rule that blocks its text; its id."""
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            admin, editor = users.get_user(s, "admin"), users.get_user(s, "eddi")
            channel = channels.get_channel(s, CHANNEL)
            piece = pieces.create_piece(s, actor=editor, data={"title": "Tarif", "body": TEXT})
            assert piece.id is not None
            pieces.edit_piece(
                s,
                actor=editor,
                piece_id=piece.id,
                expected_revision=1,
                data={"variants": {channel.id: TEXT}},
            )
            pieces.submit_piece(s, actor=editor, piece_id=piece.id)
            rules.add_rule(
                s,
                actor=admin,
                data={
                    "name": RULE,
                    "kind": "forbidden_terms",
                    "settings": {"terms": ["garantiert"]},
                    "message": {"de": "Wir versprechen nichts.", "en": "We promise nothing."},
                },
            )
            return piece.id
    finally:
        engine.dispose()


def _status(url: str, piece_id: int) -> PieceStatus:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            piece = s.get(Piece, piece_id)
            assert piece is not None
            return piece.status
    finally:
        engine.dispose()


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_a_blocking_rule_shows_in_the_editor_and_blocks_approval_in_chromium(
    org: Org,  # noqa: F811 - the harness's fixtures, imported above
    server: Server,  # noqa: F811
    page: Page,  # noqa: F811
) -> None:
    piece_id = _blocked_piece_in_review(org.url)
    ui = Dashboard(page, server, REPO_ROOT / "test-output" / "e2e-rules")
    finding = f"Regel „{RULE}“ auf dem Kanal „{CHANNEL}“: Wir versprechen nichts."
    with ui.reporting_failure():
        ui.sign_in("eddi")
        ui.open("editor")
        ui.see(finding)
        ui.shot("editor-shows-the-finding")
        ui.sign_out()

        ui.sign_in("anna")
        ui.open("approvals")
        ui.see(finding)
        ui.shot("approver-sees-the-finding")
        ui.click(ui.t("approvals.approve", revision=2))
        ui.see(ui.t("field.rules"))
        ui.shot("approval-refused")
    assert _status(org.url, piece_id) == PieceStatus.in_review
