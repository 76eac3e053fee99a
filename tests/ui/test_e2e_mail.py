"""Notification e-mail end to end: an editor submits a piece for review in headless
Chromium; the dashboard's embedded worker e-mails the approver through a local SMTP server
(aiosmtpd on 127.0.0.1); the link in that e-mail, opened in the browser, shows the piece
for review, and so does the "Open" link of the notification on "Notifications".

Runs with the harness of `tests/ui/test_e2e_browser.py` (select it with `-m e2e`); the
screenshots go to `test-output/e2e-mail/`.
"""

from __future__ import annotations

import email
import re
from collections.abc import Callable, Iterator
from email import policy
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session

from planner import notifications, pieces, users
from planner.db import make_engine
from planner.notifications import Preference
from tests.publishers.test_newsletter import PASSWORD as SMTP_PASSWORD
from tests.publishers.test_newsletter import USER as SMTP_USER
from tests.publishers.test_newsletter import Server as SmtpServer
from tests.publishers.test_newsletter import start_smtp
from tests.ui.test_e2e_browser import (
    REPO_ROOT,
    Dashboard,
    Org,
    Server,
    _free_port,
    _missing,
    _wait_for,
    chromium_page,
    org,
    serving,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

__all__ = ["org", "start_smtp"]  # the fixtures, used by name

pytestmark = pytest.mark.e2e

ANNA = "anna@werk-nord.example"
SENDER = "Redaktion <planer@werk-nord.example>"
TITLE = "Tag der offenen Tür"
BODY = "Am 3. Oktober öffnet das Werk Nord seine Tore für alle Nachbarn."


@pytest.fixture
def piece_id(org: Org) -> int:
    """A draft by the editor; the approver has an address and wants review requests by mail."""
    engine = make_engine(org.url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            admin = users.get_user(s, "admin")
            users.set_email(s, actor=admin, username="anna", email=ANNA)
            anna = users.get_user(s, "anna")
            notifications.set_preferences(
                s,
                actor=anna,
                choices=[Preference(notifications.REVIEW_REQUESTED, in_app=True, email=True)],
            )
            piece = pieces.create_piece(
                s, actor=users.get_user(s, "eddi"), data={"title": TITLE, "body": BODY}
            )
            assert piece.id is not None
            return piece.id
    finally:
        engine.dispose()


@pytest.fixture
def smtp(start_smtp: Callable[..., SmtpServer]) -> SmtpServer:
    return start_smtp()


@pytest.fixture
def mailing_server(org: Org, piece_id: int, smtp: SmtpServer, tmp_path: Path) -> Iterator[Server]:
    """The dashboard with its embedded worker, sending e-mail through `smtp` and linking to
    itself."""
    port = _free_port()
    settings = {
        "PLANNER_SMTP_HOST": "127.0.0.1",
        "PLANNER_SMTP_PORT": str(smtp.port),
        "PLANNER_SMTP_SECURITY": "none",
        "PLANNER_SMTP_USERNAME": SMTP_USER,
        "PLANNER_SMTP_PASSWORD": SMTP_PASSWORD,
        "PLANNER_SMTP_FROM": SENDER,
        "PLANNER_PUBLIC_URL": f"http://127.0.0.1:{port}/",
    }
    with serving(org.url, tmp_path / "serve.log", port=port, extra_env=settings) as running:
        yield running


@pytest.fixture
def browser(mailing_server: Server, tmp_path: Path) -> Iterator[Page]:
    with chromium_page(tmp_path / "chromium-profile") as opened:
        yield opened


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_submitting_for_review_mails_the_approver_a_link_that_opens_the_piece(
    piece_id: int, smtp: SmtpServer, mailing_server: Server, browser: Page
) -> None:
    ui = Dashboard(browser, mailing_server, REPO_ROOT / "test-output" / "e2e-mail")
    with ui.reporting_failure():
        _walk(ui, piece_id, smtp)


def _walk(ui: Dashboard, piece_id: int, smtp: SmtpServer) -> None:
    ui.sign_in("eddi")
    ui.open("board")
    ui.click(ui.t("moves.piece.submit"))
    ui.see(ui.t("board.moved", id=piece_id, state=ui.t("status.in_review")))
    ui.shot("editor-submitted")
    ui.sign_out()

    _wait_for(
        lambda: len(smtp.mailbox.messages) >= 1,
        timeout=45,
        what="the embedded worker to send the review e-mail",
        server=ui.server,
    )
    ((_sender, recipients, raw),) = smtp.mailbox.messages
    assert recipients == [ANNA]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["To"] == ANNA
    assert message["Subject"] == (
        f"Redaktionsplaner: Beitrag #{piece_id} „{TITLE}“ wartet auf Ihre Freigabe"
    )
    body = message.get_body(("plain",))
    assert body is not None
    links = re.findall(r"http://127\.0\.0\.1:\d+/\?\S+", body.get_content())
    assert links == [f"{ui.server.url}/?piece={piece_id}"]

    # The approver follows the link from the e-mail.
    ui.sign_in("anna")
    ui.page.goto(links[0])
    ui.idle()
    ui.see(ui.t("approvals.heading"))
    ui.see(BODY)
    ui.see(ui.t("approvals.approve", revision=1))
    ui.shot("approver-opened-mail-link")

    # The same notification on "Notifications" opens the piece too.
    nav = ui.page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name=ui.t("nav.notifications"), exact=True).click()
    ui.idle()
    ui.see(ui.t("notifications.heading"))
    ui.shot("approver-notifications")
    opens = ui.t("notifications.open", kind=ui.t("links.kind.piece"), id=piece_id)
    ui.main.get_by_role("link", name=opens, exact=True).click()
    ui.idle()
    ui.see(ui.t("approvals.heading"))
    ui.see(BODY)
    assert f"piece={piece_id}" in ui.page.url
    ui.shot("approver-opened-notification")
