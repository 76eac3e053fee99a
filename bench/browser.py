"""Browser benchmark: click to settled page in headless Chromium, next to an empty page.

Run from the repository root:

    .venv/bin/python bench/browser.py                 # 10 000 posts, median of 5
    .venv/bin/python bench/browser.py --quick         # 100 posts, 1 run
    .venv/bin/python bench/browser.py --post-script-gc on   # Streamlit's forced GC on

It fills a fresh SQLite database with `python -m planner demo --size N` (as
bench/dashboard.py does, then ANALYZE), starts the dashboard the way `python -m planner
serve` does (`planner.ui.server.serve`, embedded scheduler included) on a free port of
127.0.0.1 and signs in through the form in headless Chromium (Debian's /usr/bin/chromium
driven by PyPI playwright): a demo editor, and a demo approver for Approvals.

A page's time is measured inside the page: the sidebar link is clicked from JavaScript,
and the clock stops when the page has settled: Streamlit has reported the script run
(`data-test-script-state` went to "running" and back), its status widget is gone and no
element is still marked stale (`data-stale="true"`, what the previous page left behind).
Each page is opened from a cheap page (Submit idea) that is reopened, untimed, between
runs; one warm-up, then `--runs` timed clicks, median. The calendar's month view is the
click on its link; its week view is the click on the "week" option of the view switch.

The floor is the same measurement on an empty Streamlit app, started the same way
(`st.App(...).run(config=...)` with the dashboard's configuration): two pages of one
line each, the timed click on the second's sidebar link. Nothing is asserted; it prints
a table. Results and their reading: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.dashboard import PASSWORD, load_demo  # noqa: E402
from bench.databases import scratch_database  # noqa: E402
from planner.credentials import new_key  # noqa: E402
from planner.ui import keys  # noqa: E402
from planner.ui.i18n import translate  # noqa: E402
from tests.ui.test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, _free_port, _health  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Page

LANG = "de"  # the sign-in page's language and the demo users'
EDITOR = "lena.hoffmann"
APPROVER = "sabine.krueger"
NEUTRAL = "submit_idea"
TITLES = {  # each measured page's title
    "board": "board.heading",
    "calendar": "calendar.heading",
    "inbox": "inbox.heading",
    "editor": "editor.heading",
    "publishing": "pub.heading",
    "approvals": "approvals.heading",
}  # the cheap page every timed click starts from
LIMIT_MS, FLOOR_TIMES = 400.0, 4.0
STEP_TIMEOUT_MS = 60_000

# Starts a Streamlit server as `planner serve` does; argv: gc (on/off/default), then
# either "planner" and the serve arguments, or "floor", the script and the port.
LAUNCHER = """
import sys
import streamlit as st
gc, what = sys.argv[1], sys.argv[2]
run = st.App.run
def run_with(self, *, config=None):
    config = dict(config or {})
    if gc != "default":
        config["runner.postScriptGC"] = gc == "on"
    return run(self, config=config)
st.App.run = run_with
if what == "planner":
    from planner.cli import main
    sys.argv = ["planner", *sys.argv[3:]]
    raise SystemExit(main())
script, port = sys.argv[3], int(sys.argv[4])
sys.argv = [script]
st.App(script).run(config={
    "server.port": port, "server.address": "127.0.0.1", "server.headless": True,
    "browser.gatherUsageStats": False, "server.fileWatcherType": "none",
    "client.toolbarMode": "viewer",
})
"""
FLOOR_APP = """import streamlit as st

def one():
    st.title("one")

def two():
    st.title("two")

st.navigation([st.Page(one, title="one"), st.Page(two, title="two")]).run()
"""

# Clicks `el` and resolves with the ms until the page has settled (see the docstring).
CLICK_AND_SETTLE = """
([el, title, marker]) => new Promise((resolve, reject) => {
  const app = document.querySelector("[data-testid='stApp']");
  let sawRunning = false;
  const settled = () => {
    const state = app.getAttribute("data-test-script-state");
    if (state === "running") { sawRunning = true; return false; }
    return (sawRunning || arrived())
      && !document.querySelector("[data-testid='stStatusWidget']")
      && !document.querySelector("[data-stale='true']");
  };
  // With `title`: the run has come once the page's title is shown (React may fold a fast
  // run's "running" and "notRunning" into one render, so no change of state is seen); with
  // `marker`, once an element it selects is shown (a rerun of the same page).
  const arrived = () => (title !== null && [...document.querySelectorAll(
    "[data-testid='stMain'] h1")].some((h) => h.textContent.trim() === title))
    || (marker !== null && document.querySelector(marker) !== null);
  const t0 = performance.now();
  let done = false;
  const finish = () => {
    if (done || !settled()) return;
    done = true;
    observer.disconnect();
    clearInterval(timer);
    resolve(performance.now() - t0);
  };
  // A fast run can flip the state to "running" and back between two callbacks: the
  // records still hold each change.
  const observer = new MutationObserver((records) => {
    for (const r of records) {
      if (r.target === app && r.attributeName === "data-test-script-state"
          && r.oldValue === "running") sawRunning = true;
    }
    finish();
  });
  observer.observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeOldValue: true,
  });
  const timer = setInterval(() => {
    finish();
    if (!done && performance.now() - t0 > TIMEOUT_MS) {
      done = true; observer.disconnect(); clearInterval(timer);
      reject(new Error("the page did not settle"));
    }
  }, 5);
  el.click();
})
    """.replace("TIMEOUT_MS", str(STEP_TIMEOUT_MS))


@dataclass
class Server:
    """A running Streamlit server: its URL, process and log."""

    url: str
    proc: subprocess.Popen[bytes]
    log: IO[bytes]
    log_path: Path


def server_env(db_url: str, **extra: str) -> dict[str, str]:
    """The environment of a dashboard server: only loopback, no proxies."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PLANNER_") and k.lower() not in ("http_proxy", "https_proxy")
    }
    env.update(
        PLANNER_DATABASE_URL=db_url,
        PLANNER_SECRET_KEY=os.environ["PLANNER_SECRET_KEY"],
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        BROWSER="none",
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


@contextmanager
def started(args: list[str], env: dict[str, str], port: int, folder: Path) -> Iterator[Server]:
    """Run the launcher with `args` until the server answers; stop it afterwards."""
    log_path = folder / f"server-{port}.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", LAUNCHER, *args],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while _health(port) != "ok":
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield Server(f"http://127.0.0.1:{port}", proc, log, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def planner_server(db_url: str, gc: str, folder: Path, **env: str) -> Any:
    """`python -m planner serve` on a free port (postScriptGC as `gc` says)."""
    port = _free_port()
    args = [gc, "planner", "serve", "--port", str(port), "--address", "127.0.0.1"]
    return started(args, server_env(db_url, **env), port, folder)


def floor_server(gc: str, folder: Path) -> Any:
    """The empty two-page app, started the same way."""
    script = folder / "floor_app.py"
    script.write_text(FLOOR_APP, encoding="utf-8")
    port = _free_port()
    env = server_env("sqlite://")
    return started([gc, "floor", str(script), str(port)], env, port, folder)


# --- in the browser ---------------------------------------------------------------------------


def only_loopback(route: Any) -> None:
    """Let requests to 127.0.0.1 through; abort everything else."""
    host = route.request.url.split("/")[2].split(":")[0]
    if host in ("127.0.0.1", "localhost"):
        route.continue_()
    else:
        route.abort()


def t(key: str, **values: object) -> str:
    """A dashboard string in the benchmark's language."""
    return translate(LANG, key, **values)


def settle(page: Page) -> None:
    """Wait until no script runs and nothing is stale."""
    page.wait_for_timeout(100)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for()
    page.locator("[data-stale='true']").first.wait_for(state="detached")


def sign_in(page: Page, url: str, username: str) -> None:
    """Sign in through the form; waits for the first page."""
    page.goto(url)
    form = page.get_by_test_id("stMain").get_by_test_id("stForm")
    form.get_by_label(t("sign_in.username"), exact=True).fill(username)
    form.get_by_label(t("sign_in.password"), exact=True).fill(PASSWORD)
    form.get_by_role("button", name=t("sign_in.submit"), exact=True).click()
    page.get_by_test_id("stSidebarNav").wait_for()
    settle(page)


def click_timed(
    page: Page, locator: Any, title: str | None = None, marker: str | None = None
) -> float:
    """Click `locator` and return the ms until the page (titled `title`, or showing an
    element the CSS selector `marker` selects) settled."""
    handle = locator.element_handle()
    return float(page.evaluate(CLICK_AND_SETTLE, [handle, title, marker]))


def nav_link(page: Page, name: str) -> Any:
    """The sidebar navigation's link called `name`."""
    return page.get_by_test_id("stSidebarNav").get_by_role("link", name=name, exact=True)


def open_page(page: Page, name: str, title: str) -> float:
    """Click the sidebar link `name`; ms until the page titled `title` settled."""
    return click_timed(page, nav_link(page, name), title)


def measure(action: Callable[[], float], reset: Callable[[], object], runs: int) -> list[float]:
    """One warm-up and `runs` timed `action`s, each after an untimed `reset`."""
    times = []
    for i in range(runs + 1):
        reset()
        elapsed = action()
        if i:
            times.append(elapsed)
    return times


def calendar_week(page: Page) -> float:
    """On the calendar: click the week view; ms to settled."""
    option = page.get_by_test_id("stMain").get_by_text(t("calendar.view.week"), exact=True)
    # The week's text columns are drawn in the week view only.
    return click_timed(page, option, marker=f".st-key-{keys.CAL_WEEK}")


def calendar_month(page: Page) -> None:
    """On the calendar in month view (reopened, untimed)."""
    page.get_by_test_id("stMain").get_by_text(t("calendar.view.month"), exact=True).click()
    settle(page)


# --- the run --------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def bench_pages(url: str, runs: int, browser: Any) -> list[Row]:
    """Every measured page of the dashboard at `url`."""
    rows: list[Row] = []
    for username, pages in (
        (EDITOR, ("board", "calendar", "inbox", "editor", "publishing")),
        (APPROVER, ("approvals",)),
    ):
        context = new_context(browser)
        page = context.new_page()
        sign_in(page, url, username)
        neutral = nav_link(page, t(f"nav.{NEUTRAL}"))

        def back(neutral: Any = neutral, page: Page = page) -> None:
            neutral.click()
            settle(page)

        for name in pages:
            label = t(f"nav.{name}")
            title = t(TITLES[name])
            times = measure(
                lambda label=label, title=title, page=page: open_page(page, label, title),
                back,
                runs,
            )
            rows.append(Row("calendar (month)" if name == "calendar" else name, times))
            print(f"  {rows[-1].label:<18} {rows[-1].median:8.0f} ms", flush=True)
            if name == "calendar":
                times = measure(
                    lambda page=page: calendar_week(page),
                    lambda page=page: calendar_month(page),
                    runs,
                )
                rows.append(Row("calendar (week)", times))
                print(f"  {rows[-1].label:<18} {rows[-1].median:8.0f} ms", flush=True)
        context.close()
    return rows


def bench_floor(url: str, runs: int, browser: Any) -> Row:
    """The empty app: the click on its second page's link."""
    context = new_context(browser)
    page = context.new_page()
    page.goto(url)
    page.get_by_test_id("stSidebarNav").wait_for()
    settle(page)

    def back() -> None:
        nav_link(page, "one").click()
        settle(page)

    row = Row("floor", measure(lambda: open_page(page, "two", "two"), back, runs))
    context.close()
    print(f"  {'floor':<18} {row.median:8.0f} ms", flush=True)
    return row


def new_context(browser: Any) -> Any:
    """A fresh browser context that reaches only 127.0.0.1."""
    context = browser.new_context(viewport={"width": 1400, "height": 1300}, locale="de-DE")
    context.route("**/*", only_loopback)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    return context


def print_table(rows: list[Row], floor: Row) -> None:
    """page | median ms | floor ms | ratio | target."""
    print()
    print(f"Target: < {LIMIT_MS:.0f} ms and <= {FLOOR_TIMES:.0f}x the floor (median ms).")
    print()
    print("| page | median ms | floor ms | × floor | target |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        ratio = row.median / floor.median
        met = row.median < LIMIT_MS and ratio <= FLOOR_TIMES
        print(
            f"| {row.label} | {row.median:.0f} | {floor.median:.0f} | {ratio:.1f} | "
            f"{'met' if met else 'missed'} |"
        )


def announce(details: str) -> float:
    """Print when, where and under what load the run starts; its start (epoch seconds)."""
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
        f"{os.cpu_count()} CPUs, load average {load_line()}; {details}",
        flush=True,
    )
    return time.time()


def load_line() -> str:
    """The machine's load average, for the record."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="posts in the demo")
    parser.add_argument("--runs", type=int, default=5, help="timed clicks per page (median)")
    parser.add_argument(
        "--post-script-gc",
        choices=("default", "on", "off"),
        default="default",
        help="Streamlit's runner.postScriptGC: as planner serve sets it, or forced on/off",
    )
    parser.add_argument("--quick", action="store_true", help="100 posts, 1 run")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.runs = 100, 1
    from playwright.sync_api import sync_playwright

    os.environ.setdefault("PLANNER_SECRET_KEY", new_key())
    began = announce(
        f"{args.size} posts, {args.runs} runs (+1 warm-up), postScriptGC {args.post_script_gc}"
    )
    with (
        scratch_database(None, name="browser") as db_url,
        tempfile.TemporaryDirectory() as tmp,
        sync_playwright() as pw,
    ):
        folder = Path(tmp)
        print(f"  demo loaded in {load_demo(db_url, args.size):.1f} s", flush=True)
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            with floor_server(args.post_script_gc, folder) as floor_app:
                floor = bench_floor(floor_app.url, args.runs, browser)
            with planner_server(db_url, args.post_script_gc, folder) as server:
                rows = bench_pages(server.url, args.runs, browser)
        finally:
            browser.close()
    print_table(rows, floor)
    print()
    print(f"took {time.time() - began:.0f} s; load average now {load_line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
