"""Sign-in sessions and the Host check in a real browser, against `python -m planner serve`.

Same set-up as `test_e2e_browser.py` (whose fixtures these tests use): a fresh SQLite
database, the dashboard server on a free port of 127.0.0.1, Debian's chromium driven by
playwright. Select with `-m e2e`; without chromium or playwright the tests are skipped,
saying why.
"""

from __future__ import annotations

import base64
import http.client
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlmodel import Session, select

from planner.db import make_engine
from planner.models import UserSession
from planner.ui.web import COOKIE_NAME
from tests.ui import test_e2e_browser as e2e
from tests.ui.test_e2e_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO_ROOT,
    ZONE,
    Dashboard,
    Org,
    Server,
    _missing,
    _wait_for,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

# The browser test's fixtures: its organisation, the running server, a Chromium page.
org = e2e.org
server = e2e.server
page = e2e.page

SHOTS = REPO_ROOT / "test-output" / "e2e-sessions"


class Tab(Dashboard):
    """One browser tab on the dashboard (screenshots in their own folder)."""

    def __init__(self, page: Page, server: Server, name: str) -> None:
        self.page = page
        self.server = server
        self.lang = "de"
        self.step = 0
        self.name = name
        SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str) -> None:
        self.step += 1
        self.page.screenshot(path=SHOTS / f"{self.name}-{self.step:02d}-{name}.png")

    def signed_in(self) -> None:
        self.idle()
        self.see(self.t("sidebar.time_zone", zone=ZONE), where=self.sidebar)

    def signed_out(self) -> None:
        self.idle()
        self.see(self.t("sign_in.heading"))


def _cookies(page: Page) -> list[dict[str, object]]:
    return [dict(c) for c in page.context.cookies() if c["name"] == COOKIE_NAME]


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_a_reload_and_a_new_tab_stay_signed_in_until_sign_out(
    org: Org, server: Server, page: Page
) -> None:
    first = Tab(page, server, "first")
    second: Tab | None = None
    try:
        first.sign_in("eddi")
        _wait_for(
            lambda: bool(_cookies(page)), timeout=10, what="the session cookie", server=server
        )
        (cookie,) = _cookies(page)
        assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Lax", False)
        assert COOKIE_NAME not in page.evaluate("document.cookie")  # page scripts never see it
        first.shot("signed-in")

        page.reload()
        first.signed_in()
        first.shot("reloaded")

        second = Tab(page.context.new_page(), server, "second")
        second.page.goto(server.url)
        second.signed_in()
        second.shot("new-tab")

        first.sign_out()
        _wait_for(lambda: not _cookies(page), timeout=10, what="the cookie to go", server=server)
        first.shot("signed-out")
        second.page.reload()
        second.signed_out()
        second.shot("reloaded-after-sign-out")

        # The session ended on the server, not only the cookie in this browser: the old
        # cookie, put back, signs nobody in.
        page.context.add_cookies([cookie])  # type: ignore[list-item]
        second.page.reload()
        second.signed_out()
    except BaseException:
        first.shot("failure")
        if second is not None:
            second.shot("failure")
        print(server.logs())  # noqa: T201 - pytest shows a failing test's output
        raise
    engine = make_engine(org.url)
    try:
        with Session(engine) as s:
            rows = list(s.exec(select(UserSession)))
    finally:
        engine.dispose()
    assert [(r.end_reason, r.ended_at is not None) for r in rows] == [("sign_out", True)]


def _handshake(port: int, host: str) -> str:
    """The status line a websocket handshake to Streamlit's stream gets with `host`."""
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            (
                "GET /_stcore/stream HTTP/1.1\r\n"
                f"Host: {host}\r\n"
                f"Origin: http://{host}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: streamlit\r\n\r\n"
            ).encode()
        )
        return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def _get(port: int, host: str, path: str = "/") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_a_host_outside_the_allowed_ones_is_refused(server: Server, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    port = int(server.url.rsplit(":", 1)[1])
    for path in ("/", "/_stcore/health", "/_planner/session"):
        assert _get(port, "rebound.example", path) == 400
    assert _get(port, f"localhost:{port}") == 200
    assert _handshake(port, f"rebound.example:{port}").split(" ")[1] == "400"
    assert _handshake(port, f"127.0.0.1:{port}").split(" ")[1] == "101"

    # A page under another name that resolves to this server (DNS rebinding) gets nothing.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP rebound.example 127.0.0.1"],
        )
        try:
            tab = browser.new_page()
            refused = tab.goto(f"http://rebound.example:{port}/", timeout=20_000)
            assert refused is not None and refused.status == 400
            assert "Invalid host header" in tab.content()
            allowed = tab.goto(f"http://localhost:{port}/_stcore/health", timeout=20_000)
            assert allowed is not None and allowed.status == 200
        finally:
            browser.close()
