"""Each notification on the Notifications page links to its item, on the page that shows
that item to the reader's role, and the link opens it there."""

from __future__ import annotations

from typing import Any

from streamlit.testing.v1 import AppTest

from planner.ui import keys
from tests.ui.conftest import PASSWORD, add_user, open_page, sign_in
from tests.ui.test_notifications import submitted


def _page_links(at: AppTest) -> list[Any]:
    """The page links drawn in the main area (AppTest has no element type of its own for them)."""
    return [e.proto for e in at.main.get("page_link")]


def test_a_notification_links_to_its_piece_on_the_approvers_page(database: str) -> None:
    add_user(database, "anna", "approver")
    piece_id = submitted(database)
    at = open_page(sign_in("anna", PASSWORD), "notifications")
    assert not at.exception
    [link] = _page_links(at)
    assert link.label == f"Beitrag Nr. {piece_id} öffnen"
    assert link.page.endswith("approvals") and link.query_string == f"piece={piece_id}"
    # Following it (as the browser does: the page and its query) opens that piece.
    at.query_params["piece"] = str(piece_id)
    opened = open_page(at, "approvals")
    assert opened.selectbox(key=keys.APPROVALS_PICK).value == piece_id
