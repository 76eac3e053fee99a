"""Load benchmark: N people at once in headless Chromium, and the embedded scheduler beside them.

Run from the repository root:

    .venv/bin/python bench/load.py                          # 1, 5, 10, 20 sessions
    .venv/bin/python bench/load.py --post-script-gc on,off  # with and without the forced GC
    .venv/bin/python bench/load.py --quick                  # 100 posts, 1 and 2 sessions
    .venv/bin/python bench/load.py --client protocol        # no browser: Streamlit's protocol

It builds the data as bench/browser.py does (`python -m planner demo --size N` in a fresh
SQLite file, ANALYZE), adds a webhook channel to a local sink (`tests/sink.py`, allowed by
the private-network setting) and a pool of approved posts on it planned a month ahead.
Then, for each `--post-script-gc` mode, it starts `python -m planner serve` (embedded
scheduler, poll `--poll` seconds) and runs each level in turn:

- N browser contexts in one headless Chromium, each signed in through the form (two of
  three as a demo editor, the third as a demo approver), untimed;
- for `--duration` seconds every session walks its path of page views (editor: Board,
  Calendar, Inbox, Editor, Publishing; approver: Approvals, Calendar, Board), a sidebar
  click each, waiting a random 0.5-1.5 × `--think` seconds between them. Each click is
  timed in the page from the click to the settled page, as bench/browser.py does; the
  p50 and p95 per page are the server's answer time as a person sees it;
- meanwhile posts of the pool fall due, one every `--due-every` seconds: their lateness
  is the first publish attempt's start (the ledger, `publish_attempts.started_at`) minus
  the planned time. A post is late when that exceeds the poll interval plus one second;
- CPU seconds (from /proc) of the server process and, apart, of the load generator (this
  process, Playwright's driver and Chromium), over the walk.

With `--client protocol` no browser runs: each session is a websocket on Streamlit's own
protocol (bench/protocol.py) that signs in through the form's widgets and opens a page by
asking for a run of its script, as a sidebar click makes the browser do. A page view is
timed from that request to the run's `script_finished`: the server's answer time, without
a browser building the page, and the load generator stays a few per cent of a core, so
the levels measure the server rather than the client. Everything else is the same.

Nothing is asserted; it prints a table. Results and their reading: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlmodel import Session, col, func, select  # noqa: E402

from bench.browser import (  # noqa: E402
    APPROVER,
    CHROMIUM,
    CHROMIUM_ARGS,
    CLICK_AND_SETTLE,
    EDITOR,
    PASSWORD,
    STEP_TIMEOUT_MS,
    TITLES,
    announce,
    load_demo,
    load_line,
    planner_server,
    t,
)
from bench.databases import scratch_database  # noqa: E402
from bench.protocol import Session as ProtocolSession  # noqa: E402
from bench.publishing import FAR, _cpu_of, _pct, add_posts, set_due  # noqa: E402
from planner import channels, org_settings  # noqa: E402
from planner.credentials import new_key  # noqa: E402
from planner.db import make_engine  # noqa: E402
from planner.models import PublishAttempt, User  # noqa: E402
from tests.sink import Sink  # noqa: E402

EDITORS = (EDITOR, "jonas.becker")
APPROVERS = (APPROVER, "markus.vogel")
EDITOR_PATH = ("board", "calendar", "inbox", "editor", "publishing")
APPROVER_PATH = ("approvals", "calendar", "board")
SIGN_IN_ALLOWANCE = 30.0  # s: posts fall due while the sessions sign in, too


# --- CPU ------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    """Every live process's children, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _tree_cpu(root: int, tree: dict[int, list[int]], skip: int) -> float:
    """CPU seconds of `root` and its descendants, leaving out `skip`'s subtree."""
    if root == skip:
        return 0.0
    return _cpu_of(root) + sum(_tree_cpu(c, tree, skip) for c in tree.get(root, []))


def cpu_now(server_pid: int) -> tuple[float, float]:
    """(server, load generator) CPU seconds so far."""
    tree = _children()
    return _tree_cpu(server_pid, tree, -1), _tree_cpu(os.getpid(), tree, server_pid)


# --- the sessions -----------------------------------------------------------------------------


async def only_loopback(route: Any) -> None:
    """Let requests to 127.0.0.1 through; abort everything else."""
    host = route.request.url.split("/")[2].split(":")[0]
    if host in ("127.0.0.1", "localhost"):
        await route.continue_()
    else:
        await route.abort()


async def settle(page: Any) -> None:
    """Wait until no script runs and nothing is stale."""
    await page.wait_for_timeout(100)
    await page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for()
    await page.locator("[data-stale='true']").first.wait_for(state="detached")


async def sign_in(page: Any, url: str, username: str) -> None:
    """Sign in through the form; waits for the first page."""
    await page.goto(url)
    form = page.get_by_test_id("stMain").get_by_test_id("stForm")
    await form.get_by_label(t("sign_in.username"), exact=True).fill(username)
    await form.get_by_label(t("sign_in.password"), exact=True).fill(PASSWORD)
    await form.get_by_role("button", name=t("sign_in.submit"), exact=True).click()
    await page.get_by_test_id("stSidebarNav").wait_for()
    await settle(page)


@dataclass
class Level:
    sessions: int
    gc: str
    client: str = "browser"
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    window: float = 0.0
    lateness: list[float] = field(default_factory=list)
    due: int = 0
    received: dict[str, list[int]] = field(default_factory=dict)  # bytes per view (protocol)


async def walk(page: Any, path: tuple[str, ...], until: float, think: float, level: Level) -> None:
    """Click through `path` again and again until `until` (monotonic); time every click."""
    nav = page.get_by_test_id("stSidebarNav")
    step = random.randrange(len(path))  # noqa: S311 - spreads the sessions, not a secret
    while time.monotonic() < until:
        name = path[step % len(path)]
        step += 1
        link = nav.get_by_role("link", name=t(f"nav.{name}"), exact=True)
        try:
            handle = await link.element_handle()
            title = t(TITLES[name])
            ms = float(await page.evaluate(CLICK_AND_SETTLE, [handle, title]))
        except Exception:  # noqa: BLE001 - a failed click is counted, the walk goes on
            level.errors += 1
            await settle(page)
            continue
        level.times.setdefault(name, []).append(ms)
        await asyncio.sleep(think * random.uniform(0.5, 1.5))  # noqa: S311


async def run_level(browser: Any, server: Any, level: Level, args: argparse.Namespace) -> None:
    """Sign `level.sessions` people in, then let them walk for `args.duration` seconds;
    the CPU is counted over the walk."""
    contexts, pages, paths = [], [], []
    for i in range(level.sessions):
        approver = i % 3 == 2
        context = await browser.new_context(
            viewport={"width": 1400, "height": 1300}, locale="de-DE"
        )
        await context.route("**/*", only_loopback)
        context.set_default_timeout(STEP_TIMEOUT_MS)
        contexts.append(context)
        pages.append(await context.new_page())
        paths.append(APPROVER_PATH if approver else EDITOR_PATH)
        names = APPROVERS if approver else EDITORS
        await sign_in(pages[-1], server.url, names[i // 3 % 2])
    cpu0 = cpu_now(server.proc.pid)
    t0 = time.monotonic()
    until = t0 + args.duration
    await asyncio.gather(
        *(walk(p, path, until, args.think, level) for p, path in zip(pages, paths, strict=True))
    )
    level.window = time.monotonic() - t0
    cpu1 = cpu_now(server.proc.pid)
    level.server_cpu, level.client_cpu = (b - a for a, b in zip(cpu0, cpu1, strict=True))
    for context in contexts:
        await context.close()


async def walk_protocol(
    session: ProtocolSession, path: tuple[str, ...], until: float, think: float, level: Level
) -> None:
    """As `walk`, over the protocol: each page view is a run of the page's script."""
    step = random.randrange(len(path))  # noqa: S311 - spreads the sessions, not a secret
    while time.monotonic() < until:
        name = path[step % len(path)]
        step += 1
        try:
            seconds, run = await session.open(name, t(f"nav.{name}"))
        except Exception:  # noqa: BLE001 - a failed view is counted, the walk goes on
            level.errors += 1
            continue
        if run.exceptions:  # the page raised: counted, and not timed as a page
            level.errors += 1
            continue
        level.times.setdefault(name, []).append(seconds * 1000)
        level.received.setdefault(name, []).append(run.received)
        await asyncio.sleep(think * random.uniform(0.5, 1.5))  # noqa: S311


async def run_level_protocol(server: Any, level: Level, args: argparse.Namespace) -> None:
    """As `run_level`, each session a websocket on Streamlit's protocol, no browser."""
    async with contextlib.AsyncExitStack() as stack:
        sessions, paths = [], []
        for i in range(level.sessions):
            approver = i % 3 == 2
            session = await stack.enter_async_context(ProtocolSession(server.url))
            names = APPROVERS if approver else EDITORS
            await session.sign_in(names[i // 3 % 2], PASSWORD)
            sessions.append(session)
            paths.append(APPROVER_PATH if approver else EDITOR_PATH)
        cpu0 = cpu_now(server.proc.pid)
        t0 = time.monotonic()
        until = t0 + args.duration
        await asyncio.gather(
            *(
                walk_protocol(s, path, until, args.think, level)
                for s, path in zip(sessions, paths, strict=True)
            )
        )
        level.window = time.monotonic() - t0
        cpu1 = cpu_now(server.proc.pid)
    level.server_cpu, level.client_cpu = (b - a for a, b in zip(cpu0, cpu1, strict=True))


def plant_due(engine: Any, pool: list[int], every: float, window: float) -> dict[int, datetime]:
    """Take posts from `pool` and make one due every `every` s over the next `window` s."""
    start = datetime.now(UTC) + timedelta(seconds=every)
    count = max(1, int(window / every))
    when = {pool.pop(): start + timedelta(seconds=i * every) for i in range(count)}
    set_due(engine, when, analyze=False)
    return when


def lateness(engine: Any, when: dict[int, datetime]) -> list[float]:
    """Seconds from planned to the first attempt's start, per post that was attempted."""
    with Session(engine) as s:
        rows = s.exec(
            select(PublishAttempt.post_id, func.min(PublishAttempt.started_at))
            .where(col(PublishAttempt.post_id).in_(list(when)))
            .group_by(PublishAttempt.post_id)
        ).all()
    out = []
    for post_id, started in rows:
        started = started if started.tzinfo else started.replace(tzinfo=UTC)
        out.append((started - when[post_id]).total_seconds())
    return sorted(out)


def prepare_channel(engine: Any, sink_url: str, pool_size: int) -> list[int]:
    """A webhook channel to the sink and `pool_size` approved posts on it, a month ahead."""
    with Session(engine, expire_on_commit=False) as s:
        by_name = {u.username: u for u in s.exec(select(User))}
        admin = by_name["admin"]
        org_settings.set_setting(s, actor=admin, key="allow_private_network", value="on")
        channel = channels.create_channel(
            s,
            actor=admin,
            kind="webhook",
            name="Bench-Sink",
            settings={"url": sink_url, "receiver_deduplicates": True, "secret": new_key()},
        )
        assert channel.id is not None
    return add_posts(
        engine, by_name[EDITOR], by_name[APPROVER], channel.id, pool_size, per_piece=10
    )


def table(levels: list[Level], poll: float) -> None:
    """One row per mode and level."""
    print()
    print(
        "| client | postScriptGC | sessions | page views | errors | p50 ms | p95 ms "
        "| per page p50/p95 ms "
        "| server CPU % | server CPU ms per view | load generator CPU % "
        "| due posts | attempted | lateness p50/max s "
        f"| late (> {poll + 1:g} s) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|")
    for lv in levels:
        every = sorted(x for v in lv.times.values() for x in v)
        per = "; ".join(
            f"{name} {statistics.median(v):.0f}/{_pct(sorted(v), 0.95):.0f}"
            for name, v in sorted(lv.times.items())
        )
        late = sum(1 for x in lv.lateness if x > poll + 1) + (lv.due - len(lv.lateness))
        lat = f"{statistics.median(lv.lateness):.1f}/{max(lv.lateness):.1f}" if lv.lateness else "-"
        print(
            f"| {lv.client} | {lv.gc} | {lv.sessions} | {len(every)} | {lv.errors} | "
            f"{statistics.median(every) if every else float('nan'):.0f} | "
            f"{_pct(every, 0.95):.0f} | {per} | "
            f"{100 * lv.server_cpu / lv.window:.0f} | "
            f"{1000 * lv.server_cpu / max(1, len(every)):.0f} | "
            f"{100 * lv.client_cpu / lv.window:.0f} | "
            f"{lv.due} | {len(lv.lateness)} | {lat} | {late} |"
        )
    received: dict[str, list[int]] = {}
    for lv in levels:
        for name, got in lv.received.items():
            received.setdefault(name, []).extend(got)
    sizes = {name: statistics.median(got) / 1024 for name, got in sorted(received.items())}
    if sizes:
        print()
        print(
            "Bytes the server sent per page view (median, KiB): "
            + "; ".join(f"{name} {kib:.0f}" for name, kib in sizes.items())
        )


async def measure_level(
    browser: Any,
    server: Any,
    engine: Any,
    pool: list[int],
    gc: str,
    sessions: int,
    args: argparse.Namespace,
) -> Level:
    """One level: posts fall due while `sessions` people sign in and walk."""
    level = Level(sessions, gc, args.client)
    when = plant_due(engine, pool, args.due_every, args.duration + SIGN_IN_ALLOWANCE)
    if browser is None:
        await run_level_protocol(server, level, args)
    else:
        await run_level(browser, server, level, args)
    # Posts due by the end of the walk count; the sweep after them gets its poll and two
    # seconds. The later ones go back a month ahead.
    end = datetime.now(UTC)
    due_now = {p: w for p, w in when.items() if w <= end}
    later = {p: end + FAR for p in when if p not in due_now}
    if later:
        set_due(engine, later, analyze=False)
    await asyncio.sleep(args.poll + 2)
    level.due = len(due_now)
    level.lateness = lateness(engine, due_now)
    return level


async def bench(args: argparse.Namespace) -> list[Level]:
    """Every mode and level; the measured levels."""
    levels: list[Level] = []
    modes = [m.strip() for m in args.post_script_gc.split(",")]
    counts = [int(n) for n in args.sessions.split(",")]
    with (
        scratch_database(None, name="load") as db_url,
        tempfile.TemporaryDirectory() as tmp,
        Sink(deduplicate=True) as sink,
    ):
        print(f"  demo loaded in {load_demo(db_url, args.size):.1f} s", flush=True)
        engine = make_engine(db_url)
        per_level = int((args.duration + SIGN_IN_ALLOWANCE) / args.due_every) + 1
        pool = prepare_channel(engine, sink.url, per_level * len(modes) * len(counts))
        async with contextlib.AsyncExitStack() as stack:
            browser = None
            if args.client == "browser":
                from playwright.async_api import async_playwright

                pw = await stack.enter_async_context(async_playwright())
                browser = await pw.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )
                stack.push_async_callback(browser.close)
            for gc in modes:
                server_cm = planner_server(
                    db_url,
                    gc,
                    Path(tmp),
                    PLANNER_EMBEDDED_SCHEDULER="1",
                    PLANNER_POLL_SECONDS=f"{args.poll:g}",
                )
                with server_cm as server:
                    for n in counts:
                        began = time.monotonic()
                        levels.append(
                            await measure_level(browser, server, engine, pool, gc, n, args)
                        )
                        print(
                            f"  {args.client}, gc {gc}, {n} sessions: "
                            f"{sum(map(len, levels[-1].times.values()))} "
                            f"page views, {levels[-1].errors} errors, took "
                            f"{time.monotonic() - began:.0f} s",
                            flush=True,
                        )
        engine.dispose()
    return levels


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=10_000, help="posts in the demo")
    parser.add_argument("--sessions", default="1,5,10,20", help="concurrent sessions per level")
    parser.add_argument("--duration", type=float, default=40.0, help="seconds of walking")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between clicks")
    parser.add_argument("--poll", type=float, default=5.0, help="the scheduler's poll (s)")
    parser.add_argument("--due-every", type=float, default=2.0, help="s between due posts")
    parser.add_argument(
        "--post-script-gc",
        default="default",
        help="comma-separated: default (as planner serve sets it), on, off",
    )
    parser.add_argument(
        "--client",
        choices=("browser", "protocol"),
        default="browser",
        help="headless Chromium, or Streamlit's websocket protocol without a browser",
    )
    parser.add_argument("--quick", action="store_true", help="100 posts, 1 and 2 sessions")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.sessions, args.duration = 100, "1,2", 10.0
    os.environ.setdefault("PLANNER_SECRET_KEY", new_key())
    began = announce(
        f"{args.client}, {args.size} posts, sessions {args.sessions}, {args.duration:g} s each, "
        f"think {args.think:g} s, poll {args.poll:g} s"
    )
    levels = asyncio.run(bench(args))
    table(levels, args.poll)
    print()
    print(f"took {time.time() - began:.0f} s; load average now {load_line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
