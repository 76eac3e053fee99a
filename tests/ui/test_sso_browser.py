"""Single sign-on in a real browser against a real OpenID Connect provider.

The test starts the npm package `oidc-provider` (`tests/oidc/provider.js`, installed by
`npm ci --prefix tests/oidc`) on 127.0.0.1 and `python -m planner serve` configured for it
through the PLANNER_OIDC_* settings. Headless Chromium clicks "Mit Firmenkonto anmelden",
types a login name and password into the provider's own login page, and comes back signed
in as the planner user with the e-mail the provider vouched for. A company identity whose
e-mail no planner account has gets the clear message and stays signed out.

Select it with `-m e2e`. Without node, the provider's packages, chromium or playwright it
is skipped, saying why; in CI (PLANNER_REQUIRE_POSTGRES=1 or PLANNER_REQUIRE_ALL_TESTS=1)
such a skip fails the run (see tests/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from secrets import token_urlsafe
from typing import TYPE_CHECKING, Any

import pytest
from sqlmodel import Session, col, select

from planner import users
from planner.db import make_engine
from planner.migrate import upgrade
from planner.models import AuditEvent
from planner.ui.i18n import translate
from tests.oidc_provider import Idp, free_port, start, stop, why_not
from tests.ui.test_e2e_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    Server,
    _health,
    _missing,
    _wait_for,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "test-output" / "sso"
PLANNER_PASSWORD = token_urlsafe(16)  # made per run: no credential lives in the code
STEP_TIMEOUT_MS = 20_000
# Login name at the provider -> the claims its ID token carries.
ACCOUNTS = {
    "eva": {"email": "Eva.Editor@Example.COM", "email_verified": True, "name": "Eva E."},
    "max": {"email": "max.mustermann@example.com", "email_verified": True, "name": "Max M."},
}


def _why_not() -> str | None:
    """Why this test cannot run here, or None."""
    return why_not() or _missing()


@dataclass
class Setup:
    """What the test started: the provider, the dashboard, its database."""

    idp: Idp
    server: Server
    database_url: str
    eva_id: int


def _database(tmp_path: Path) -> tuple[str, int]:
    """A fresh SQLite file with an admin and Eva, an editor with a company e-mail."""
    url = f"sqlite:///{tmp_path / 'sso.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.create_user(
            s,
            actor=None,
            data={
                "username": "admin",
                "display_name": "Admin",
                "role": "admin",
                "password": PLANNER_PASSWORD,
            },
        )
        eva = users.create_user(
            s,
            actor=admin,
            data={
                "username": "eva",
                "display_name": "Eva Editor",
                "role": "editor",
                "password": PLANNER_PASSWORD,
                "email": "eva.editor@example.com",
            },
        )
    engine.dispose()
    assert eva.id is not None
    return url, eva.id


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    """The provider and `python -m planner serve` configured for it; both always stopped."""
    database_url, eva_id = _database(tmp_path)
    port = free_port()
    # The dashboard is reached as localhost, the provider as 127.0.0.1: two sites, so
    # neither sees the other's cookies (as with a real company provider).
    redirect_uri = f"http://localhost:{port}/oauth2callback"
    cookie_secret = token_urlsafe(32)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PLANNER_", "OIDC_"))
        and k.lower() not in ("http_proxy", "https_proxy")
    }
    with start(tmp_path / "oidc-provider.log", redirect_uri=redirect_uri, accounts=ACCOUNTS) as idp:
        serve_log = tmp_path / "serve.log"
        with serve_log.open("wb") as serve_out:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "planner",
                    "serve",
                    "--port",
                    str(port),
                    "--address",
                    "127.0.0.1",
                ],
                cwd=REPO_ROOT,
                env={
                    **env,
                    "NO_PROXY": "127.0.0.1,localhost",
                    "no_proxy": "127.0.0.1,localhost",
                    "PLANNER_DATABASE_URL": database_url,
                    "PLANNER_EMBEDDED_SCHEDULER": "0",
                    "PLANNER_OIDC_METADATA_URL": idp.metadata_url,
                    "PLANNER_OIDC_CLIENT_ID": idp.client_id,
                    "PLANNER_OIDC_CLIENT_SECRET": idp.client_secret,
                    "PLANNER_OIDC_REDIRECT_URI": redirect_uri,
                    "PLANNER_OIDC_COOKIE_SECRET": cookie_secret,
                    "BROWSER": "none",
                    "PYTHONUNBUFFERED": "1",
                },
                stdin=subprocess.DEVNULL,
                stdout=serve_out,
                stderr=subprocess.STDOUT,
            )
            server = Server(f"http://localhost:{port}", proc, serve_log, serve_out)
            try:
                _wait_for(
                    lambda: _health(port) == "ok",
                    timeout=60,
                    what="the dashboard to answer /_stcore/health",
                    server=server,
                )
                yield Setup(idp, server, database_url, eva_id)
            finally:
                stop(proc)
        logged = serve_log.read_text(errors="replace")
        assert idp.client_secret not in logged
        assert cookie_secret not in logged


@pytest.fixture
def page(setup: Setup, tmp_path: Path) -> Iterator[Page]:
    """A headless Chromium page with a fresh profile; only loopback addresses are reached."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 900},
            locale="de-DE",
        )
        try:
            outside: list[str] = []

            def only_loopback(route: Any) -> None:
                host = route.request.url.split("/")[2].split(":")[0]
                if host in ("127.0.0.1", "localhost"):
                    route.continue_()
                    return
                # The provider's own pages load a web font; only the dashboard must not
                # reach out.
                if route.request.frame.url.startswith(setup.server.url):
                    outside.append(route.request.url)
                route.abort()

            context.route("**/*", only_loopback)
            context.set_default_timeout(STEP_TIMEOUT_MS)
            yield context.pages[0] if context.pages else context.new_page()
            assert not outside, f"the dashboard tried to reach beyond loopback: {outside}"
        finally:
            context.close()


def t(key: str, **values: object) -> str:
    return translate("de", key, **values)


def _sign_in_at_the_provider(page: Page, setup: Setup, login: str) -> None:
    """Click the company-account button and sign in on the provider's own login page."""
    if not page.url.startswith(setup.server.url):
        page.goto(setup.server.url)
    page.get_by_role("button", name=t("sso.sign_in"), exact=True).click()
    page.wait_for_url(f"{setup.idp.issuer}/interaction/**")
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill(setup.idp.password)
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(f"{setup.server.url}/**")


def _events(setup: Setup) -> list[AuditEvent]:
    engine = make_engine(setup.database_url)
    try:
        with Session(engine) as s:
            query = select(AuditEvent).where(col(AuditEvent.action).startswith("login"))
            return list(s.exec(query.order_by(col(AuditEvent.id))))
    finally:
        engine.dispose()


@pytest.mark.skipif(_why_not() is not None, reason=_why_not() or "")
def test_company_sign_in_maps_the_email_to_the_planner_user(setup: Setup, page: Page) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        _known_then_unknown(page, setup)
    except BaseException:
        page.screenshot(path=SCREENSHOTS / "failure.png", full_page=True)
        print(setup.server.logs())  # noqa: T201 - pytest shows a failing test's output
        print(setup.idp.logs())  # noqa: T201
        raise


def _known_then_unknown(page: Page, setup: Setup) -> None:
    sidebar = page.get_by_test_id("stSidebar")
    main = page.get_by_test_id("stMain")

    # Eva's company identity carries Eva.Editor@Example.COM: she is the planner's "eva".
    _sign_in_at_the_provider(page, setup, "eva")
    sidebar.get_by_text(
        t("sidebar.signed_in_as", name="Eva Editor", role=t("role.editor"))
    ).wait_for()
    page.screenshot(path=SCREENSHOTS / "01-eva-signed-in.png", full_page=True)
    (event,) = _events(setup)
    assert (event.action, event.actor_id, event.note) == ("login", setup.eva_id, "method sso")

    # Signing out of the planner ends the company identity too (the provider asks first).
    sidebar.get_by_role("button", name=t("sidebar.sign_out"), exact=True).click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{setup.server.url}/**")
    main.get_by_role("button", name=t("sso.sign_in"), exact=True).wait_for()
    assert sidebar.count() == 0

    # Max has a company identity but no planner account with his e-mail.
    _sign_in_at_the_provider(page, setup, "max")
    message = t("sso.refused.unknown", email="max.mustermann@example.com")
    main.get_by_text(message).wait_for()
    page.screenshot(path=SCREENSHOTS / "02-max-refused.png", full_page=True)
    assert sidebar.count() == 0
    refused = _events(setup)[-1]
    assert (refused.action, refused.actor_id, refused.object_id, refused.note) == (
        "login_failed",
        None,
        "m***@example.com",
        "method sso; unknown",
    )
    # He may try another company account: this ends the current one.
    main.get_by_role("button", name=t("sso.other_account"), exact=True).click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{setup.server.url}/**")
    main.get_by_role("button", name=t("sso.sign_in"), exact=True).wait_for()
    assert len(_events(setup)) == 2
