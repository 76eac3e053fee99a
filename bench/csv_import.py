"""CSV import benchmark: ideas files at the row limit, on SQLite and PostgreSQL.

Run from the repository root (PostgreSQL on 127.0.0.1 for the PostgreSQL rows):

    .venv/bin/python bench/csv_import.py                        # both backends
    .venv/bin/python bench/csv_import.py --backends sqlite --rows 10000

For each backend it makes a fresh, migrated database (a temporary SQLite file, or a
scratch schema in the PostgreSQL database that is dropped afterwards) with an admin, an
editor and two departments, and imports, as the editor, through `csvio.import_ideas`:

- **good**: `--rows` valid ideas (default 50 000, the limit), stored with one audit event
  each;
- **bad last row**: `--bad-rows` rows (default 20 000) whose last row names an unknown
  department; the file is refused and nothing is stored;
- **too many rows**: one row more than the limit; refused before any row is checked;
- **too large**: a file one byte over the size limit; refused before it is read as CSV.

Each case runs in a new process (which makes the file first) on a database that holds
only the set-up rows. It prints the seconds of the import call (`perf_counter`); the CPU
seconds that process spent in it (`process_time`, without the PostgreSQL server's share),
which a busy machine inflates less than the wall-clock time; the process's resident
memory before the call and its peak (VmRSS, VmHWM from /proc/self/status: interpreter,
libraries and the file in memory included; the high-water mark is reset just before the
call through /proc/self/clear_refs); and, from a second such run with
`tracemalloc` on, the peak of Python allocations during the call (tracemalloc slows the
run, so that run is not timed).
Nothing is asserted; it prints a table. Results: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from secrets import token_hex
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlmodel import Session, func, select  # noqa: E402

from bench.databases import scratch_database  # noqa: E402
from planner import csvio, users  # noqa: E402
from planner.db import make_engine  # noqa: E402
from planner.errors import CsvImportFailed  # noqa: E402
from planner.migrate import upgrade  # noqa: E402
from planner.models import AuditEvent, Idea, User  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "bench-" + token_hex(8)  # made per run: throwaway users of a scratch database
HEADER = "title,pitch,department,target_audience,goal,source_url,urgency,tags\n"


@dataclass
class Row:
    backend: str
    case: str
    rows: int
    size: int
    seconds: float
    cpu_seconds: float
    rss_before_mb: float
    rss_mb: float
    traced_mb: float
    outcome: str


def ideas_file(rows: int, *, bad_last: bool = False) -> bytes:
    """`rows` ideas as CSV bytes; with `bad_last` the last row names an unknown department."""
    lines = [HEADER]
    for i in range(rows):
        dep = "Vertrieb" if bad_last and i == rows - 1 else ("Marketing", "HR")[i % 2]
        lines.append(
            f"Idee Nummer {i},Ein Pitch für Idee {i} mit genug Text für einen echten Pitch,"
            f"{dep},Kundinnen und Kunden,Reichweite,https://example.org/{i},"
            f"{('low', 'normal', 'high')[i % 3]},tag{i % 7};serie\n"
        )
    return "".join(lines).encode()


def oversize_file() -> bytes:
    """A well-formed file one byte larger than `csvio.MAX_BYTES`."""
    head = HEADER.encode()
    filler = b"Idee,Ein Pitch mit genug Text,Marketing,,,,normal,\n"
    body = filler * ((csvio.MAX_BYTES - len(head)) // len(filler) + 1)
    return (head + body)[: csvio.MAX_BYTES + 1]


def set_up(url: str) -> None:
    """Migrate, then an admin, an editor and the departments Marketing and HR."""
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        admin = users.create_user(
            session,
            actor=None,
            data={
                "username": "admin",
                "display_name": "Admin",
                "role": "admin",
                "password": PASSWORD,
            },
        )
        for name in ("Marketing", "HR"):
            users.create_department(session, actor=admin, name=name)
        users.create_user(
            session,
            actor=admin,
            data={"username": "ed", "display_name": "Ed", "role": "editor", "password": PASSWORD},
        )
    engine.dispose()


def counts(url: str) -> tuple[int, int]:
    """(ideas, audit events) stored."""
    engine = make_engine(url)
    with Session(engine) as session:
        ideas = session.exec(select(func.count()).select_from(Idea)).one()
        events = session.exec(select(func.count()).select_from(AuditEvent)).one()
    engine.dispose()
    return int(ideas), int(events)


def rss_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MiB;
    without /proc the peak comes from ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Reset VmHWM to the current resident size (Linux), so the peak is the call's own."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def make_file(case: str, rows: int) -> bytes:
    """The input of `case`."""
    if case == "too large":
        return oversize_file()
    return ideas_file(rows, bad_last=case == "bad last row")


def run_import(url: str, raw: bytes, traced: bool) -> dict[str, Any]:
    """Import `raw` as the editor, measuring only the `import_ideas` call."""
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            editor = session.exec(select(User).where(User.username == "ed")).one()
            before = rss_mb("VmRSS")
            reset_peak()
            if traced:
                tracemalloc.start()
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                stored = csvio.import_ideas(session, actor=editor, raw=raw)
                outcome = f"stored {len(stored)}"
            except CsvImportFailed as err:
                line, message = err.problems[0]
                outcome = f"refused ({len(err.problems)}): line {line}: {message[:60]}"
            seconds = time.perf_counter() - started
            cpu_seconds = time.process_time() - cpu_started
            peak_traced = tracemalloc.get_traced_memory()[1] if traced else 0
    finally:
        engine.dispose()
    return {
        "size": len(raw),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rss_before": before,
        "rss_peak": rss_mb("VmHWM"),
        "traced": peak_traced / 2**20,
        "outcome": outcome,
    }


def child(case: str, rows: int, url: str, traced: bool) -> None:
    """In a fresh process: make the file, import it once, print the figures as JSON."""
    print(json.dumps(run_import(url, make_file(case, rows), traced)))


def in_child(case: str, rows: int, url: str, *, traced: bool) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - this interpreter and script, fixed arguments
        [sys.executable, __file__, "--child", case, "--rows", str(rows), "--url", url]
        + (["--traced"] if traced else []),
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def measure(backend: str, pg_url: str, case: str, rows: int) -> Row:
    """One case: a timed run and a traced run, each in a new process on a fresh database."""
    with scratch_database(pg_url if backend == "postgresql" else None, name="csv") as url:
        set_up(url)
        _, set_up_events = counts(url)
        timed = in_child(case, rows, url, traced=False)
        ideas, events = counts(url)
    with scratch_database(pg_url if backend == "postgresql" else None, name="csv") as url:
        set_up(url)
        traced = in_child(case, rows, url, traced=True)
    outcome = f"{timed['outcome']}; stored: {ideas} ideas, {events - set_up_events} events"
    return Row(
        backend,
        case,
        rows,
        timed["size"],
        timed["seconds"],
        timed["cpu_seconds"],
        timed["rss_before"],
        timed["rss_peak"],
        traced["traced"],
        outcome,
    )


def print_table(rows: list[Row]) -> None:
    print()
    print(
        f"{'backend':<10} {'case':<14} {'rows':>7} {'MB in':>6} {'seconds':>8} {'CPU s':>6} "
        f"{'RSS before':>10} {'peak RSS':>8} {'traced':>6}  outcome (MB: MiB)"
    )
    for r in rows:
        print(
            f"{r.backend:<10} {r.case:<14} {r.rows:>7} {r.size / 2**20:>6.1f} {r.seconds:>8.2f} "
            f"{r.cpu_seconds:>6.2f} "
            f"{r.rss_before_mb:>10.0f} {r.rss_mb:>8.0f} {r.traced_mb:>6.0f}  {r.outcome}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="sqlite, postgresql or both"
    )
    parser.add_argument(
        "--postgres",
        default=DEFAULT_PG,
        help="PostgreSQL database (a scratch schema is made and dropped)",
    )
    parser.add_argument("--rows", type=int, default=csvio.MAX_ROWS, help="rows of the good file")
    parser.add_argument(
        "--bad-rows", type=int, default=20_000, help="rows of the file with a bad last row"
    )
    parser.add_argument("--cases", default="", help="only these cases (comma-separated)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.rows, args.url, args.traced)
        return 0
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    cases = [
        ("good", args.rows),
        ("bad last row", args.bad_rows),
        ("too many rows", csvio.MAX_ROWS + 1),
        ("too large", 0),
    ]
    if args.cases:
        wanted = {c.strip() for c in args.cases.split(",")}
        cases = [c for c in cases if c[0] in wanted]

    started = time.time()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
        f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"Python {platform.python_version()}, limits: {csvio.MAX_ROWS} rows, "
        f"{csvio.MAX_BYTES} bytes",
        flush=True,
    )
    rows: list[Row] = []
    for backend in backends:
        for case, count in cases:
            row = measure(backend, args.postgres, case, count)
            print(f"  {backend} {case}: {row.seconds:.2f} s", flush=True)
            rows.append(row)
    print_table(rows)
    print()
    print(
        f"took {time.time() - started:.0f} s; load average now "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
