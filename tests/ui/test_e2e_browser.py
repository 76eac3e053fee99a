"""End to end in a real browser: the dashboard server, headless Chromium, a webhook receiver.

The test starts `python -m planner serve` on a free port of 127.0.0.1 against a fresh
SQLite database, with its embedded scheduler, and a local webhook sink (`tests/sink.py`).
Headless Chromium (Debian's `chromium`, driven by PyPI `playwright`; never
`playwright install`) then walks the editorial path by clicking and typing, one role
after the other: a contributor submits an idea with a double click (one idea is stored),
an editor accepts it, writes the text, plans a post on the webhook channel and submits
the piece for review, an approver approves it. The embedded scheduler publishes the post
with no browser involved; the sink receives it and the calendar shows it as published.
Every step leaves a screenshot in `test-output/e2e/`.

Select it with `-m e2e`. Without chromium or playwright it is skipped, saying why; in CI
(PLANNER_REQUIRE_POSTGRES=1 or PLANNER_REQUIRE_ALL_TESTS=1) such a skip fails the run
(see tests/conftest.py). PLANNER_TEST_CHROMIUM names another chromium binary.
"""

from __future__ import annotations

import http.client
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from secrets import token_urlsafe
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from planner import channels, users
from planner.credentials import new_key
from planner.db import make_engine
from planner.migrate import upgrade
from planner.models import Idea, Post, PostStatus, PublishAttempt
from planner.ui.i18n import translate
from tests.conftest import allow_private_network
from tests.sink import Sink

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = pytest.mark.e2e

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PLANNER_TEST_CHROMIUM") or "/usr/bin/chromium"
SCREENSHOTS = REPO_ROOT / "test-output" / "e2e"
PASSWORD = token_urlsafe(16)  # made per run: no credential lives in the code
ZONE = "Europe/Berlin"
CHANNEL = "Intranet-Hook"
IDEA_TITLE = "Sommerfest im Werk Nord"
BODY = "Am 12. Juli feiern wir im Werk Nord: Musik, Essen und Führungen für alle Familien."
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# What a phone's Chrome says it is (the dashboard draws the calendar as a list for it).
PHONE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
STEP_TIMEOUT_MS = 20_000  # one click and its rerun; generous for 2 shared cores


def _missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "PyPI playwright is not installed (pip install -r requirements-dev.txt)"
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing (Debian: apt-get install chromium)"
    return None


# --- the server, its database and the receiver ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _health(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/_stcore/health")
        response = conn.getresponse()
        return response.read().decode("utf-8", "replace") if response.status == 200 else ""
    except OSError:
        return ""
    finally:
        conn.close()


@dataclass
class Server:
    """The running dashboard: its URL, process and log."""

    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def logs(self) -> str:
        self.log.flush()
        tail = self.log_path.read_text(errors="replace")[-3000:]
        return f"--- serve (pid {self.proc.pid}, exit {self.proc.poll()}) ---\n{tail}"

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"the dashboard server exited with {self.proc.returncode}\n{self.logs()}")


def _wait_for(condition: Callable[[], bool], *, timeout: float, what: str, server: Server) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        server.check_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{server.logs()}")
        time.sleep(0.2)


@dataclass
class Org:
    """What the test set up before the server started."""

    url: str
    sink: Sink


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    """A fresh SQLite file: one user per role and a webhook channel to a local sink."""
    monkeypatch.setenv("PLANNER_SECRET_KEY", new_key())
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with Sink(deduplicate=False) as sink:
        with Session(engine, expire_on_commit=False) as s:
            admin = users.create_user(
                s,
                actor=None,
                data={
                    "username": "admin",
                    "display_name": "Admin",
                    "role": "admin",
                    "password": PASSWORD,
                },
            )
            users.create_department(s, actor=admin, name="Werk Nord")
            for username, name, role in (
                ("carla", "Carla Contrib", "contributor"),
                ("eddi", "Eddi Editor", "editor"),
                ("anna", "Anna Approver", "approver"),
            ):
                data = {
                    "username": username,
                    "display_name": name,
                    "role": role,
                    "password": PASSWORD,
                    "timezone": ZONE,
                }
                if role == "contributor":
                    data["department"] = "Werk Nord"
                users.create_user(s, actor=admin, data=data)
            allow_private_network(s, admin)  # the sink listens on 127.0.0.1
            channels.create_channel(
                s,
                actor=admin,
                kind="webhook",
                name=CHANNEL,
                settings={"url": sink.url, "secret": "sink-secret", "receiver_deduplicates": False},
            )
        engine.dispose()
        yield Org(url, sink)


@pytest.fixture
def server(org: Org, tmp_path: Path) -> Iterator[Server]:
    """`python -m planner serve` on a free port with its embedded scheduler; always stopped."""
    with serving(org.url, tmp_path / "serve.log") as running:
        yield running


@contextmanager
def serving(
    database_url: str,
    log_path: Path,
    *,
    scheduler: bool = True,
    port: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """`python -m planner serve` on `port` (default: a free one) for `database_url`, with
    `extra_env` set too; stopped on leaving."""
    port = port or _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PLANNER_") and k.lower() not in ("http_proxy", "https_proxy")
    }
    env.update(
        PLANNER_DATABASE_URL=database_url,
        PLANNER_SECRET_KEY=os.environ["PLANNER_SECRET_KEY"],
        PLANNER_EMBEDDED_SCHEDULER="1" if scheduler else "0",
        PLANNER_POLL_SECONDS="0.5",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        BROWSER="none",
        TZ=ZONE,  # the calendar's default day is the server's today: the users' today
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "planner", "serve", "--port", str(port), "--address", "127.0.0.1"],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    running = Server(f"http://127.0.0.1:{port}", proc, log_path, log)
    try:
        _wait_for(
            lambda: _health(port) == "ok",
            timeout=60,
            what="the dashboard to answer /_stcore/health",
            server=running,
        )
        yield running
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()


@pytest.fixture
def page(server: Server, tmp_path: Path) -> Iterator[Page]:
    """A headless Chromium page with a fresh profile; only 127.0.0.1 is reachable."""
    with chromium_page(tmp_path / "chromium-profile") as opened:
        yield opened


@contextmanager
def chromium_page(
    profile: Path, *, viewport: tuple[int, int] = (1400, 1300), mobile: bool = False
) -> Iterator[Page]:
    """A headless Chromium page with a fresh profile in `profile`, German and in ZONE, of
    `viewport` (width, height) CSS pixels, as a phone with a touch screen (and a phone's
    User-Agent) when `mobile`;
    only 127.0.0.1 is reachable, and the block fails if the page tried to reach anything
    else."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
            is_mobile=mobile,
            has_touch=mobile,
            **({"user_agent": PHONE_USER_AGENT} if mobile else {}),
            locale="de-DE",
            timezone_id=ZONE,
        )
        try:
            outside: list[str] = []

            def only_loopback(route: Any) -> None:
                host = route.request.url.split("/")[2].split(":")[0]
                if host in ("127.0.0.1", "localhost"):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            context.route("**/*", only_loopback)
            context.set_default_timeout(STEP_TIMEOUT_MS)
            page = context.pages[0] if context.pages else context.new_page()
            yield page
            assert not outside, f"the dashboard tried to reach beyond 127.0.0.1: {outside}"
        finally:
            context.close()


# --- driving Streamlit -------------------------------------------------------------------------


class Dashboard:
    """Clicks and types on the dashboard like a person, in the language it shows."""

    def __init__(self, page: Page, server: Server, screenshots: Path = SCREENSHOTS) -> None:
        self.page = page
        self.server = server
        self.lang = "de"
        self.step = 0
        self.screenshots = screenshots
        screenshots.mkdir(parents=True, exist_ok=True)
        for old in screenshots.glob("*.png"):
            old.unlink()

    def t(self, key: str, **values: object) -> str:
        return translate(self.lang, key, **values)

    @property
    def main(self) -> Locator:
        return self.page.get_by_test_id("stMain")

    @property
    def sidebar(self) -> Locator:
        return self.page.get_by_test_id("stSidebar")

    def idle(self) -> None:
        """Wait until the script run a click or a typed value started has finished."""
        self.page.wait_for_timeout(150)
        self.page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for()
        self.server.check_alive()

    def shot(self, name: str) -> None:
        self.step += 1
        self.page.screenshot(path=self.screenshots / f"{self.step:02d}-{name}.png", full_page=True)

    def see(self, text: str, *, where: Locator | None = None) -> Locator:
        """Wait until `text` is shown, and bring it into view for the next screenshot."""
        # Only a visible match: a table's text also stands in its grid's hidden cells.
        found = (where or self.main).get_by_text(text, exact=False).filter(visible=True).first
        found.wait_for()
        # Scrolled by the page itself: Playwright's own scroll first waits for the element
        # to stand still for two frames, which a page Streamlit is still drawing on a busy
        # machine may not do for seconds (CI failed on that). A match Streamlit has
        # replaced meanwhile is scrolled to harmlessly; the next step finds the new one.
        found.evaluate("node => node.scrollIntoView({block: 'nearest'})")
        return found

    @contextmanager
    def reporting_failure(self) -> Iterator[None]:
        """On a failure inside: a screenshot named 'failure', and the dashboard's log
        printed (pytest shows a failing test's output). A skip is not a failure."""
        try:
            yield
        except pytest.skip.Exception:
            raise
        except BaseException:
            self.shot("failure")
            print(self.server.logs())  # noqa: T201
            raise

    def type(self, label: str, text: str) -> None:
        """Type into a text input or area and leave it, so Streamlit takes the value."""
        box = self.main.get_by_label(label, exact=True)
        box.fill(text)
        box.press("Tab")
        self.idle()

    def click(self, name: str, *, where: Locator | None = None) -> None:
        (where or self.main).get_by_role("button", name=name, exact=True).click()
        self.idle()

    def open(self, page: str) -> None:
        """Go to a page through the sidebar navigation (the session stays signed in)."""
        nav = self.page.get_by_test_id("stSidebarNav")
        nav.get_by_role("link", name=self.t(f"nav.{page}"), exact=True).click()
        self.idle()
        self.see(self.t(self._heading(page)))

    @staticmethod
    def _heading(page: str) -> str:
        return {
            "submit_idea": "submit.heading",
            "inbox": "inbox.heading",
            "editor": "editor.heading",
            "calendar": "calendar.heading",
            "board": "board.heading",
            "approvals": "approvals.heading",
            "publishing": "pub.heading",
        }[page]

    def sign_in(self, username: str) -> None:
        self.page.goto(self.server.url)
        self.lang = "de"
        self.see(self.t("sign_in.heading"))
        form = self.main.get_by_test_id("stForm")
        form.get_by_label(self.t("sign_in.username"), exact=True).fill(username)
        form.get_by_label(self.t("sign_in.password"), exact=True).fill(PASSWORD)
        self.click(self.t("sign_in.submit"), where=form)
        self.see(self.t("sidebar.time_zone", zone=ZONE), where=self.sidebar)

    def sign_out(self) -> None:
        self.click(self.t("sidebar.sign_out"), where=self.sidebar)
        self.see(self.t("sign_in.heading"))

    def choose(self, label: str, option: str, *, where: Locator | None = None) -> None:
        """Pick an option of a select box by its shown text."""
        (where or self.main).get_by_label(label, exact=True).click()
        self.page.get_by_role("option", name=option, exact=True).click()
        self.idle()


def _ideas(org: Org) -> list[str]:
    """The titles of all ideas stored, oldest first."""
    engine = make_engine(org.url)
    try:
        with Session(engine) as s:
            return [i.title for i in s.exec(select(Idea).order_by(col(Idea.id)))]
    finally:
        engine.dispose()


def _local(instant: datetime) -> str:
    """How a person in ZONE types a time: their wall clock, to the second."""
    return instant.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")


# --- the path ---------------------------------------------------------------------------------


@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_each_role_walks_the_path_in_chromium_and_the_scheduler_publishes(
    org: Org, server: Server, page: Page
) -> None:
    ui = Dashboard(page, server)
    with ui.reporting_failure():
        _walk(ui, org)


def _walk(ui: Dashboard, org: Org) -> None:
    # Contributor, who switches the dashboard to English first.
    ui.sign_in("carla")
    ui.shot("contributor-signed-in")
    ui.choose(ui.t("sidebar.language"), "English", where=ui.sidebar)
    ui.lang = "en"
    ui.see(ui.t("submit.heading"))
    ui.type(ui.t("submit.title"), IDEA_TITLE)
    ui.type(ui.t("submit.pitch"), "Werksfest mit Familien, Bericht für Intranet und Presse.")
    ui.shot("contributor-idea-typed")
    # A double click, as impatient people give: the second click reaches the server with
    # the text the page still showed, and must not create a second idea.
    ui.main.get_by_role("button", name=ui.t("submit.button"), exact=True).dblclick()
    ui.idle()
    done = ui.main.get_by_text(ui.t("submit.done", id=1), exact=True)
    again = ui.main.get_by_text(ui.t("forms.already.idea", id=1), exact=True)
    done.or_(again).first.wait_for()
    ui.idle()
    ui.shot("contributor-idea-submitted")
    assert _ideas(org) == [IDEA_TITLE]
    assert ui.main.get_by_label(ui.t("submit.title"), exact=True).input_value() == ""
    ui.sign_out()

    # Editor: accept, write, plan, submit for review.
    ui.sign_in("eddi")
    ui.open("inbox")
    ui.see(IDEA_TITLE)
    ui.shot("editor-inbox")
    ui.click(ui.t("moves.idea.accept"))
    ui.see(ui.t("inbox.accepted", id=1, piece=1))
    ui.shot("editor-idea-accepted")

    ui.open("editor")
    ui.type(ui.t("editor.body"), BODY)
    ui.type(ui.t("editor.note"), "Text geschrieben")
    ui.click(ui.t("editor.save"))
    ui.see(ui.t("editor.saved", revision=2))
    ui.shot("editor-text-saved")
    assert ui.main.get_by_label(ui.t("editor.note"), exact=True).input_value() == ""

    ui.open("calendar")
    when = datetime.now().astimezone() + timedelta(seconds=20)
    ui.type(ui.t("calendar.plan_when", zone=ZONE), _local(when))
    ui.shot("editor-post-typed")
    ui.click(ui.t("calendar.plan_button"))
    ui.see(ui.t("calendar.planned", id=1, when="\0").split("\0")[0])
    ui.shot("editor-post-planned")
    plan_when = ui.main.get_by_label(ui.t("calendar.plan_when", zone=ZONE), exact=True)
    assert plan_when.input_value() == ""

    ui.open("board")
    ui.click(ui.t("moves.piece.submit"))
    ui.see(ui.t("board.moved", id=1, state=ui.t("status.in_review")))
    ui.shot("editor-submitted-for-review")
    ui.sign_out()

    # Approver: approve the revision shown.
    ui.sign_in("anna")
    ui.open("approvals")
    ui.see(BODY)
    ui.shot("approver-queue")
    ui.click(ui.t("approvals.approve", revision=2))
    ui.see(ui.t("approvals.approved", id=1, revision=2))
    ui.shot("approver-approved")

    # The embedded scheduler publishes on its own; nobody needs to click anything.
    _wait_for(
        lambda: org.sink.count() >= 1,
        timeout=45,
        what="the embedded scheduler to deliver the post to the webhook sink",
        server=ui.server,
    )
    ui.open("calendar")
    ui.page.get_by_test_id("stMain").get_by_text(ui.t("calendar.view.week"), exact=True).click()
    ui.idle()
    entry = ui.t(
        "calendar.entry",
        time=f"{when.astimezone(ZoneInfo(ZONE)):%H:%M}",
        channel=CHANNEL,
        title=IDEA_TITLE,
        status=ui.t("status.published"),
    )
    ui.see(entry)
    ui.shot("approver-calendar-published")
    ui.sign_out()

    # The editor sees the scheduler's attempt in the ledger on "Publishing".
    ui.sign_in("eddi")
    ui.open("publishing")
    ui.see(ui.t("pub.workers", count=1))
    ui.see(ui.t("pub.counts", due=0, held=0, failed=0, needs_check=0, missed=0, awaiting_manual=0))
    ui.see(ui.t("pub.nothing"))
    # The ledger is a canvas (glide data grid): its cell text is not in the DOM. The
    # screenshot shows it; the database below says what it holds.
    ui.main.get_by_test_id("stDataFrame").last.scroll_into_view_if_needed()
    ui.shot("editor-publishing-ledger")

    _deliveries, raw, _messages = org.sink.snapshot()
    engine = make_engine(org.url)
    try:
        with Session(engine) as s:
            (post,) = s.exec(select(Post)).all()
            attempts = list(s.exec(select(PublishAttempt)))
    finally:
        engine.dispose()
    assert post.status == PostStatus.published
    assert raw == {post.idempotency_key: 1}
    assert [(a.outcome, a.worker.split(":")[1:3]) for a in attempts] == [
        ("published", [str(ui.server.proc.pid), "embedded"])
    ]
