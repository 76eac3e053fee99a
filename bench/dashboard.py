"""Dashboard benchmark: the server-side run time of every page, next to an empty page.

Run from the repository root (PostgreSQL on 127.0.0.1 for the PostgreSQL rows):

    .venv/bin/python bench/dashboard.py                          # 100, 10 000, 100 000 posts
    .venv/bin/python bench/dashboard.py --sizes 100,10000 --backends sqlite --runs 5
    .venv/bin/python bench/dashboard.py --sizes 10000 --backends sqlite --cpu   # busy machine

For each backend and size it fills a fresh database with `python -m planner demo --size N`
(a temporary SQLite file, or a scratch schema in the PostgreSQL database that is dropped
afterwards), runs `ANALYZE`, and then opens the dashboard under Streamlit's AppTest:

- one AppTest per role, signed in by putting the demo user's id into session state (what
  the sign-in form does), run once on its default page;
- for every page in `planner.ui.app.PAGES_BY_ROLE`, as a user whose role sees it (the
  contributor for "Submit idea" and "My ideas", the approver for "Approvals", the admin
  for "Activity" and the admin pages, otherwise the editor): `switch_page` and
  `run()`, once to warm up and then `--runs` times, timed with `perf_counter`. The median
  is the page's time. The calendar is measured in each of its views;
- the **floor**: an empty Streamlit script (one `st.write`) under AppTest, the cheapest
  page the same harness can time: a fresh `AppTest.from_file(...).run()`, median of
  `--runs`, measured before and after each block's pages in the same process, so the
  ratio compares numbers taken minutes apart. It includes AppTest setting up a new
  session (most of its ~45-100 ms); a second run of the same AppTest (printed as
  "rerun") costs a few ms. The target "within 3x the floor" is checked against the
  former, the only one a page that touches the database can be held to.

A page's time is everything AppTest's `run()` does on the server: the app's entry script
(sign-in check, sidebar, navigation) and the page, its queries, and turning the elements
into the messages a browser would receive. The browser's rendering and the network are
not included. With `--cpu` a run's time is instead the CPU time of the thread that ran
the script, and each script is compiled once per process as on a live server: the
server's own cost, which the machine's other work barely moves (wall-clock times on a
shared machine do). AppTest also recompiles both scripts on every run (a new script cache per
run); a live server compiles them once, so that share is printed too. A page that raises
is reported with its exception instead of a time. Nothing is asserted; it prints a table.
Results and their reading:
bench/RESULTS.md.
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
from dataclasses import dataclass, field
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session, select  # noqa: E402
from streamlit.runtime.scriptrunner.script_cache import ScriptCache  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from bench.databases import scratch_database  # noqa: E402
from planner.credentials import new_key  # noqa: E402
from planner.db import make_engine  # noqa: E402
from planner.models import Role, User  # noqa: E402
from planner.ui import keys  # noqa: E402
from planner.ui.app import PAGES_BY_ROLE, page_path  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
APP = REPO_ROOT / "planner_app.py"
PASSWORD = token_urlsafe(16)  # the throwaway demo's password, new each run
FLOOR_SCRIPT = 'import streamlit as st\n\nst.write("floor")\n'
TIMEOUT = 120.0
# Targets by size: (ms, times the floor); None where there is no ratio target.
TARGETS: dict[int, tuple[float, float | None]] = {10_000: (300.0, 3.0), 100_000: (1000.0, None)}
CALENDAR_VIEWS = ("month", "week", "list")
# Who opens a page: the role the page is made for, among those that see it.
PREFERRED_ROLE = {
    "submit_idea": Role.contributor,
    "my_ideas": Role.contributor,
    "approvals": Role.approver,
    "activity": Role.admin,
}


@dataclass
class Row:
    page: str
    role: Role
    size: int
    backend: str
    times: list[float] = field(default_factory=list)
    error: str | None = None
    compile_ms: float = float("nan")

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000 if self.times else float("nan")


def role_for(page: str) -> Role:
    """The role that opens `page`: the preferred one, else an editor, else the admin."""
    seeing = [role for role, pages in PAGES_BY_ROLE.items() if page in pages]
    preferred = PREFERRED_ROLE.get(page)
    if preferred in seeing:
        return preferred
    return Role.editor if Role.editor in seeing else seeing[0]


def page_variants() -> list[tuple[str, str, dict[str, object]]]:
    """(label, page, session state to set before the run) for every page to measure."""
    pages: list[str] = []
    for role_pages in PAGES_BY_ROLE.values():
        pages += [p for p in role_pages if p not in pages]
    out: list[tuple[str, str, dict[str, object]]] = []
    for page in pages:
        if page == "calendar":
            out += [(f"calendar ({v})", page, {keys.CAL_VIEW: v}) for v in CALENDAR_VIEWS]
        else:
            out.append((page, page, {}))
    return out


# --- databases --------------------------------------------------------------------------------


def load_demo(url: str, size: int) -> float:
    """`python -m planner demo --size N` into `url`, then ANALYZE; the seconds it took."""
    env = {**os.environ, "PLANNER_DATABASE_URL": url}
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "planner", "demo", "--size", str(size), f"--password={PASSWORD}"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    elapsed = time.perf_counter() - started
    engine = make_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()
    engine.dispose()
    return elapsed


def demo_users(url: str) -> dict[Role, int]:
    """One demo user id per role (the first by id)."""
    engine = make_engine(url)
    with Session(engine) as session:
        found: dict[Role, int] = {}
        for user in session.exec(select(User).order_by(User.id)):  # type: ignore[arg-type]
            if user.id is not None and not user.disabled:
                found.setdefault(user.role, user.id)
    engine.dispose()
    return found


def row_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    tables = ("ideas", "pieces", "posts", "audit_events")
    with engine.connect() as conn:
        counts = {
            t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables
        }
    engine.dispose()
    return counts


# --- timing -------------------------------------------------------------------------------------


# With --cpu, a run's time is the CPU time of the thread that ran the script (what the
# server spent on it, however busy the machine), and scripts are compiled once per process
# as a live server does: `_script_cpu` holds the CPU seconds of the last script run.
_script_cpu: list[float] = []


def measure_cpu() -> None:
    """Time runs by their script thread's CPU, and cache compiled scripts, from now on."""
    from streamlit.runtime.scriptrunner import script_runner

    run_script = script_runner.ScriptRunner._run_script
    get_bytecode = ScriptCache.get_bytecode
    compiled: dict[str, Any] = {}

    def timed(self: Any, rerun_data: Any) -> None:
        started = time.thread_time()
        try:
            run_script(self, rerun_data)
        finally:
            _script_cpu.append(time.thread_time() - started)

    def cached(self: ScriptCache, script_path: str) -> Any:
        if script_path not in compiled:
            compiled[script_path] = get_bytecode(self, script_path)
        return compiled[script_path]

    script_runner.ScriptRunner._run_script = timed  # type: ignore[method-assign]
    ScriptCache.get_bytecode = cached  # type: ignore[method-assign]


def timed_run(at: AppTest) -> float:
    started = time.perf_counter()
    before = len(_script_cpu)
    at.run(timeout=TIMEOUT)
    elapsed = time.perf_counter() - started
    return sum(_script_cpu[before:]) if len(_script_cpu) > before else elapsed


def measure_floor(runs: int, folder: Path) -> tuple[list[float], list[float]]:
    """The empty page: `runs` fresh AppTests, each `from_file(...).run()` timed (the floor,
    which includes AppTest's set-up of a new session), then `runs` reruns of one of them
    (what a rerun alone costs)."""
    script = folder / "floor.py"
    script.write_text(FLOOR_SCRIPT, encoding="utf-8")
    cold = []
    for _ in range(runs):
        started = time.perf_counter()
        before = len(_script_cpu)
        at = AppTest.from_file(str(script), default_timeout=TIMEOUT).run()
        elapsed = time.perf_counter() - started
        cold.append(sum(_script_cpu[before:]) if len(_script_cpu) > before else elapsed)
    return cold, [timed_run(at) for _ in range(runs)]


def compile_ms(page: str, runs: int) -> float:
    """What compiling the entry script and the page costs (median ms, with Streamlit's
    "magic" rewrite). AppTest makes a new script cache for every run, so each of its runs
    pays this; a live server compiles each script once and caches the bytecode."""
    times = []
    for _ in range(runs):
        cache = ScriptCache()
        started = time.perf_counter()
        cache.get_bytecode(str(APP))
        cache.get_bytecode(str(page_path(page)))
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def signed_in(user_id: int) -> AppTest:
    """An AppTest of the whole app with `user_id` signed in, run once on its default page."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.session_state[keys.USER_ID] = user_id
    at.session_state[keys.LANGUAGE] = "en"
    at.run()
    if at.exception:
        raise RuntimeError(f"the app did not start: {at.exception[0].message}")
    return at


def measure_page(at: AppTest, page: str, state: dict[str, object], runs: int) -> list[float]:
    script = str(page_path(page).relative_to(APP.parent))
    times = []
    for i in range(runs + 1):  # the first is a warm-up
        for key, value in state.items():
            at.session_state[key] = value
        at.switch_page(script)
        elapsed = timed_run(at)
        if at.exception:
            raise RuntimeError(at.exception[0].message.strip().splitlines()[-1][:200])
        if i:
            times.append(elapsed)
    return times


@dataclass
class Floor:
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)

    def add(self, runs: int, folder: Path) -> None:
        cold, warm = measure_floor(runs, folder)
        self.cold += cold
        self.warm += warm

    @property
    def ms(self) -> float:
        """The floor: a fresh AppTest's first run of the empty page, median."""
        return statistics.median(self.cold) * 1000

    @property
    def warm_ms(self) -> float:
        return statistics.median(self.warm) * 1000


def bench_backend(
    backend: str,
    size: int,
    runs: int,
    pg_url: str,
    variants: list[tuple[str, str, dict[str, object]]],
) -> tuple[list[Row], Floor]:
    """Every page on a fresh demo of `size` posts; the rows and the floor measured around them
    (before and after the pages, after the demo load)."""
    rows: list[Row] = []
    floor = Floor()
    with (
        scratch_database(pg_url if backend == "postgresql" else None, name="dash") as url,
        tempfile.TemporaryDirectory() as folder,
    ):
        load_s = load_demo(url, size)
        counts = row_counts(url)
        print(
            f"  {backend} {size}: demo loaded in {load_s:.1f} s: "
            + ", ".join(f"{v} {k}" for k, v in counts.items()),
            flush=True,
        )
        os.environ["PLANNER_DATABASE_URL"] = url
        ids = demo_users(url)
        floor.add(runs, Path(folder))
        sessions: dict[Role, AppTest] = {}
        for label, page, state in variants:
            role = role_for(page)
            row = Row(label, role, size, backend)
            try:
                if role not in sessions:
                    sessions[role] = signed_in(ids[role])
                row.times = measure_page(sessions[role], page, state, runs)
                row.compile_ms = compile_ms(page, runs)
            except Exception as err:  # noqa: BLE001 - a failing page is a row of the report
                row.error = f"{type(err).__name__}: {err}"
            rows.append(row)
            print(
                f"    {label:<18} {row.median_ms:8.1f} ms"
                + (f"  ERROR {row.error}" if row.error else ""),
                flush=True,
            )
        sessions.clear()
        floor.add(runs, Path(folder))
    print(f"    floor {floor.ms:.1f} ms (a rerun of it: {floor.warm_ms:.1f} ms)", flush=True)
    return rows, floor


# --- report -------------------------------------------------------------------------------------


def verdict(ms: float, floor_ms: float, size: int) -> str:
    """'ok' or 'MISS' against the target for `size`; '' where there is none."""
    target = TARGETS.get(size)
    if target is None or ms != ms:
        return ""
    limit, ratio = target
    if _script_cpu:  # --cpu: the empty page's CPU is no session set-up; no ratio to it
        ratio = None
    missed = ms >= limit or (ratio is not None and ms > ratio * floor_ms)
    return "MISS" if missed else "ok"


def print_table(rows: list[Row], floors: dict[tuple[int, str], Floor]) -> None:
    """One row per page and size and backend: median ms, ratio to the floor, the target."""
    print()
    print(
        "Targets: at 10000 posts < 300 ms and <= 3x the floor; at 100000 < 1000 ms. "
        "floor = a fresh AppTest's first run of an empty page (the reference's floor, what "
        "the 3x is checked against); rerun = a second run of that AppTest. A page's time is "
        "a rerun of the signed-in app on that page; 'of it compiling' is the part AppTest "
        "spends recompiling the entry script and the page (a live server caches it)."
    )
    print()
    print(
        "| page | role | backend | posts | median ms | × floor | × rerun | "
        "of it compiling ms | target |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    order = {label: i for i, label in enumerate(dict.fromkeys(r.page for r in rows))}
    backends = {b: i for i, b in enumerate(dict.fromkeys(r.backend for r in rows))}
    for (size, backend), floor in sorted(
        floors.items(), key=lambda kv: (backends[kv[0][1]], kv[0][0])
    ):
        print(
            f"| (floor; its rerun {floor.warm_ms:.1f} ms) | | {backend} | {size} | "
            f"{floor.ms:.0f} | 1.0 | {floor.ms / floor.warm_ms:.0f} | | |"
        )
    for row in sorted(rows, key=lambda r: (order[r.page], backends[r.backend], r.size)):
        if row.error:
            print(
                f"| {row.page} | {row.role.value} | {row.backend} | {row.size} | error | | | | "
                f"{row.error[:80]} |"
            )
            continue
        floor = floors[row.size, row.backend]
        ms = row.median_ms
        print(
            f"| {row.page} | {row.role.value} | {row.backend} | {row.size} | {ms:.0f} | "
            f"{ms / floor.ms:.1f} | {ms / floor.warm_ms:.0f} | {row.compile_ms:.0f} | "
            f"{verdict(ms, floor.ms, row.size)} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="100,10000,100000", help="posts per demo, comma-separated"
    )
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="sqlite, postgresql or both"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per page (median)")
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG,
        help="PostgreSQL database (a scratch schema is made and dropped)",
    )
    parser.add_argument(
        "--pages", default="", help="only these pages (comma-separated labels or names)"
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="time each run by the CPU its script thread used, scripts compiled once "
        "(as a live server does): comparable on a busy machine",
    )
    args = parser.parse_args(argv)
    if args.cpu:
        measure_cpu()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    variants = page_variants()
    if args.pages:
        wanted = {p.strip() for p in args.pages.split(",")}
        variants = [v for v in variants if v[0] in wanted or v[1] in wanted]

    # A shared database needs the key in every process (the demo and this one).
    os.environ.setdefault("PLANNER_SECRET_KEY", new_key())
    started = time.time()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
        f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"Python {platform.python_version()}, runs per page {args.runs} (+1 warm-up)", flush=True)
    rows: list[Row] = []
    floors: dict[tuple[int, str], Floor] = {}
    for backend in backends:
        for size in sizes:
            got, floors[size, backend] = bench_backend(
                backend, size, args.runs, args.pg_url, variants
            )
            rows += got
    print_table(rows, floors)
    print()
    print(
        f"took {time.time() - started:.0f} s; load average now "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
