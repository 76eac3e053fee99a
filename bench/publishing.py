"""Publishing benchmark: worker processes against a plain HTTP loop (the floor).

Run from the repository root (PostgreSQL on 127.0.0.1 for the PostgreSQL rows):

    .venv/bin/python bench/publishing.py                 # 10 000 posts per configuration
    .venv/bin/python bench/publishing.py --posts 3000    # smaller

For each configuration (1, 2 and 4 `python -m planner worker` processes on PostgreSQL,
1 on SQLite) it measures:

- **backlog**: N posts come due at the same instant while the workers are already
  polling; throughput is N / (last receipt - due time), next to the floor: the same
  number of processes and threads sending the same webhook requests through the same
  HTTP helper (`publishers.http.request`), each thread over one keep-alive session as the
  engine's are, to the same kind of sink, with no database.
- **latency**: due (publish_at) to sent (the sink's receive time), median and p99, for
  the backlog (mostly queueing) and for a paced run where posts come due one by one at
  half the measured backlog throughput (what the scheduler adds at a sustainable load).
- **duplicates**: deliveries beyond one per key, plus posts with more than one attempt.

It also reports CPU time per post for the workers, PostgreSQL (local, from /proc) and the
sink, and with `--profile-dir DIR` (py-spy on PATH) samples the workers during the
backlog. Nothing is asserted; it prints tables. Everything talks to 127.0.0.1 only.
Results and their reading: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import Engine, bindparam, func, text, update  # noqa: E402
from sqlmodel import Session, col, select  # noqa: E402

from bench.databases import scratch_database  # noqa: E402
from planner import channels, org_settings, users  # noqa: E402
from planner.credentials import new_key  # noqa: E402
from planner.db import make_engine  # noqa: E402
from planner.models import (  # noqa: E402
    Piece,
    PieceStatus,
    Post,
    PostStatus,
    PublishAttempt,
    Revision,
    User,
    WorkerHeartbeat,
    utcnow,
)
from publishers.http import new_session, raise_for_channel, request  # noqa: E402
from tests.sink import Sink  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FAR = timedelta(days=30)
SECRET_KEY = new_key()
# Channel secrets are encrypted here and read by the workers: one key for both.
os.environ["PLANNER_SECRET_KEY"] = SECRET_KEY


# --- the floor: the same requests without the planner ------------------------------------------


def _payload(i: int, key: str) -> bytes:
    """The body WebhookPublisher sends for a post (same fields, same encoding)."""
    return json.dumps(
        {
            "post_id": i,
            "idempotency_key": key,
            "title": "Betriebsfest",
            "text": "Alle sind dabei! #Sommerfest",
            "link": None,
            "tags": [],
            "media": [],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


# Webhooks are signed (Standard Webhooks), so a channel needs a secret; made per run.
HOOK_SECRET = "bench-" + secrets.token_hex(16)


def floor_client(url: str, count: int, threads: int, start_at: float) -> None:
    """One floor process: `count` webhook requests over `threads` threads, from `start_at`."""
    counter = iter(range(count))
    lock = threading.Lock()

    def loop() -> None:
        # One keep-alive session per thread, as the engine keeps one per channel and thread.
        # The sink listens on 127.0.0.1, which the engine's channels reach with the admin's
        # allowance (allow_private_network); the floor's sessions get the same.
        session = new_session(allow_private_network=True)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                session.close()
                return
            key = uuid.uuid4().hex
            response = request(
                "POST",
                url,
                session=session,
                data=_payload(i, key),
                headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Idempotency-Key": key,
                    "X-Planner-Event": "post",
                },
                timeout=(5.0, 30.0),
            )
            raise_for_channel(response).json()

    time.sleep(max(0.0, start_at - time.time()))
    cpu = time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(loop) for _ in range(threads)]:
            future.result()
    print(json.dumps({"cpu_seconds": time.process_time() - cpu}))  # sending only, no imports


def run_floor(n: int, processes: int, threads: int) -> dict[str, float]:
    """The floor with `processes` x `threads` concurrency: posts/s and duplicates."""
    with Sink() as sink:
        own = os.times()
        start_at = time.time() + 2.0  # every client process imported and waiting
        share = [n // processes + (1 if i < n % processes else 0) for i in range(processes)]
        procs = [
            subprocess.Popen(  # noqa: S603 (this script, with numbers and a local URL)
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--floor-client",
                    sink.url,
                    str(count),
                    str(threads),
                    repr(start_at),
                ],
                cwd=REPO_ROOT,
                env=_env(),
                stdout=subprocess.PIPE,
            )
            for count in share
        ]
        clients_cpu = 0.0
        for proc in procs:
            out, _err = proc.communicate(timeout=600)
            clients_cpu += json.loads(out.decode().strip().splitlines()[-1])["cpu_seconds"]
        deliveries, raw, _messages = sink.snapshot()
        end = os.times()
    last = max(d.received_at for d in deliveries)
    return {
        "posts_per_s": len(raw) / (last - start_at),
        "duplicates": len(deliveries) - len(raw),
        "clients_cpu_ms": 1000 * clients_cpu / n,
        "sink_cpu_ms": 1000 * (end.user + end.system - own.user - own.system) / n,
    }


# --- the planner: a fresh database, an organisation, posts ----------------------------------


@contextmanager
def fresh_database(backend: str, pg_url: str) -> Iterator[tuple[Engine, str]]:
    """A migrated empty database and the URL worker processes use for it."""
    server = pg_url if backend == "postgresql" else None
    with scratch_database(server, name="publishing", migrate=True) as url:
        engine = make_engine(url)
        try:
            yield engine, url
        finally:
            engine.dispose()


def make_org(engine: Engine, sink_url: str, *, dedupe: bool) -> tuple[User, User, int]:
    """An admin, an editor, an approver and a webhook channel to the sink.

    The sink ignores a repeated idempotency key, so the channel says so by default
    (`--no-dedupe` measures a channel that cannot deduplicate: one ledger write per post).
    """
    with Session(engine, expire_on_commit=False) as s:
        password = secrets.token_urlsafe(16)
        admin = users.create_user(
            s,
            actor=None,
            data={"username": "admin", "display_name": "A", "role": "admin", "password": password},
        )
        editor, approver = (
            users.create_user(
                s,
                actor=admin,
                data={"username": r, "display_name": r, "role": r, "password": password},
            )
            for r in ("editor", "approver")
        )
        # The sink listens on 127.0.0.1: channels may reach it only with this allowance.
        org_settings.set_setting(s, actor=admin, key="allow_private_network", value="on")
        channel = channels.create_channel(
            s,
            actor=admin,
            kind="webhook",
            name="Intranet",
            settings={"url": sink_url, "receiver_deduplicates": dedupe, "secret": HOOK_SECRET},
        )
        assert channel.id is not None
        return editor, approver, channel.id


def add_posts(
    engine: Engine, editor: User, approver: User, channel_id: int, n: int, per_piece: int
) -> list[int]:
    """`n` posts planned a month ahead, `per_piece` per approved piece.

    Rows are inserted directly (a benchmark fixture, not the workflow): each piece is
    approved at its current revision, whose snapshot is stored, exactly what the
    scheduler checks and sends.
    """
    assert editor.id is not None and approver.id is not None
    now = utcnow()
    with Session(engine, expire_on_commit=False) as s:
        piece_rows = [
            Piece(
                title=f"Beitrag {i}",
                body="Alle sind dabei! #Sommerfest",
                owner_id=editor.id,
                status=PieceStatus.approved,
                revision=1,
                approved_revision=1,
                approved_by_id=approver.id,
                approved_at=now,
            )
            for i in range((n + per_piece - 1) // per_piece)
        ]
        s.add_all(piece_rows)
        s.flush()
        # The approved revision is what the scheduler sends.
        s.add_all(
            Revision(
                piece_id=piece.id or 0,
                number=1,
                title=piece.title,
                body=piece.body,
                author_id=editor.id,
            )
            for piece in piece_rows
        )
        post_rows = [
            Post(
                piece_id=piece_rows[i // per_piece].id or 0,
                channel_id=channel_id,
                publish_at=now + FAR,
                created_by_id=editor.id,
            )
            for i in range(n)
        ]
        s.add_all(post_rows)
        s.commit()
        return [p.id or 0 for p in post_rows]


def set_due(engine: Engine, when: dict[int, datetime], *, analyze: bool) -> None:
    """Give posts their publish_at (one executemany), then refresh the planner statistics.

    The UPDATE stands in for time passing. Without ANALYZE the statistics still say
    every post is a month ahead and PostgreSQL plans the claim for "almost nothing is
    due" (see bench/RESULTS.md); autovacuum would catch up only later.
    """
    table = Post.__table__  # type: ignore[attr-defined]
    stmt = update(table).where(table.c.id == bindparam("pid")).values(publish_at=bindparam("at"))
    with engine.begin() as conn:
        conn.execute(stmt, [{"pid": pid, "at": at} for pid, at in when.items()])
    if analyze:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def unfinished(engine: Engine) -> int:
    """Posts due within a day that are not done (the others wait a month ahead)."""
    with Session(engine) as s:
        return int(
            s.exec(
                select(func.count())
                .select_from(Post)
                .where(
                    col(Post.status).in_([PostStatus.planned, PostStatus.publishing]),
                    col(Post.publish_at) < utcnow() + timedelta(days=1),
                )
            ).one()
        )


# --- CPU accounting (Linux /proc): where the machine's time goes ------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a live process has used."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _postgres_pids() -> list[int]:
    """Local PostgreSQL server processes (the benchmark's database runs on this machine)."""
    pids = []
    for entry in Path("/proc").iterdir() if Path("/proc").exists() else []:
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith("postgres"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@dataclass
class CpuMeter:
    """CPU seconds of the workers, the PostgreSQL server and this process (the sink)."""

    workers: list[int]
    start: dict[str, float] = field(default_factory=dict)

    def _now(self) -> dict[str, float]:
        own = os.times()
        return {
            "workers": sum(_cpu_of(p) for p in self.workers),
            "postgres": sum(_cpu_of(p) for p in _postgres_pids()),
            "sink": own.user + own.system,
        }

    def begin(self) -> None:
        self.start = self._now()

    def per_post_ms(self, posts: int) -> dict[str, float]:
        end = self._now()
        return {k: 1000 * (end[k] - self.start[k]) / posts for k in end}


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.25)


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PLANNER_") and k.lower() not in ("http_proxy", "https_proxy")
    }
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", **extra)
    return env


@dataclass
class Phase:
    """One measured phase of an engine run."""

    posts: int = 0
    posts_per_s: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    rate: float = 0.0


@dataclass
class EngineRun:
    """What one configuration measured."""

    name: str
    backend: str
    processes: int
    threads: int
    floor_posts_per_s: float = 0.0
    floor_duplicates: int = 0
    backlog: Phase = field(default_factory=Phase)
    paced: Phase = field(default_factory=Phase)
    duplicates: int = 0
    multi_attempt_posts: int = 0
    not_published: int = 0
    per_worker: list[int] = field(default_factory=list)
    cpu_ms_per_post: dict[str, float] = field(default_factory=dict)
    floor_cpu_ms_per_post: dict[str, float] = field(default_factory=dict)


def _latencies(engine: Engine, ids: list[int], sink: Sink) -> list[float]:
    deliveries, _raw, _messages = sink.snapshot()
    first: dict[str, float] = {}
    for d in deliveries:
        first.setdefault(d.key, d.received_at)
    with Session(engine) as s:
        rows = s.exec(select(Post.idempotency_key, Post.publish_at).where(col(Post.id).in_(ids)))
        return sorted(first[k] - at.timestamp() for k, at in rows if k in first)


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def start_workers(
    engine: Engine, url: str, args: argparse.Namespace, processes: int, threads: int, logs: Path
) -> list[subprocess.Popen[bytes]]:
    """`processes` worker processes on the database at `url`, once each has swept."""
    env = _env(
        PLANNER_DATABASE_URL=url,
        PLANNER_SECRET_KEY=SECRET_KEY,
        PLANNER_POLL_SECONDS=str(args.poll),
        PLANNER_BATCH_SIZE=str(args.batch),
        PLANNER_PUBLISH_THREADS=str(threads),
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "planner", "worker"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=(logs / f"worker-{i}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for i in range(processes)
    ]
    pids = {w.pid for w in workers}
    with Session(engine) as s:

        def ready() -> bool:
            s.expire_all()
            return pids <= {h.pid for h in s.exec(select(WorkerHeartbeat))}

        try:
            wait_for(ready, 60, "the workers to start")
        except BaseException:
            stop_workers(workers)
            raise
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM (they drain), then SIGKILL what has not ended after 30 s."""
    for w in workers:
        w.terminate()
    for w in workers:
        try:
            w.wait(timeout=30)
        except subprocess.TimeoutExpired:
            w.kill()
            w.wait()


def run_engine(run: EngineRun, args: argparse.Namespace, profile_dir: Path | None) -> None:
    """Workers publish a backlog, then a paced stream; fills in `run`."""
    with Sink() as sink, fresh_database(run.backend, args.pg_url) as (engine, url):
        editor, approver, channel_id = make_org(engine, sink.url, dedupe=args.dedupe)
        backlog_ids = add_posts(engine, editor, approver, channel_id, args.posts, args.per_piece)
        logs = Path(tempfile.mkdtemp(prefix="planner-bench-logs-"))
        workers = start_workers(engine, url, args, run.processes, run.threads, logs)
        profilers: list[subprocess.Popen[bytes]] = []
        try:
            if profile_dir is not None:
                profilers = _start_profilers(workers, profile_dir, run.name, args.profile_mode)

            # Backlog: everything due at one instant, two seconds from now.
            due = utcnow() + timedelta(seconds=2)
            set_due(engine, dict.fromkeys(backlog_ids, due), analyze=args.analyze)
            meter = CpuMeter([w.pid for w in workers])
            meter.begin()
            wait_for(lambda: unfinished(engine) == 0, 900, "the backlog")
            run.cpu_ms_per_post = meter.per_post_ms(len(backlog_ids))
            lat = _latencies(engine, backlog_ids, sink)
            deliveries, _raw, _m = sink.snapshot()
            last = max(d.received_at for d in deliveries)
            run.backlog = Phase(
                posts=len(backlog_ids),
                posts_per_s=len(backlog_ids) / (last - due.timestamp()),
                p50=statistics.median(lat),
                p99=_pct(lat, 0.99),
            )
            for proc in profilers:
                proc.send_signal(signal.SIGINT)
            for proc in profilers:
                proc.wait(timeout=60)
            profilers = []

            # Paced: posts come due one by one at half the backlog throughput.
            rate = max(1.0, run.backlog.posts_per_s / 2)
            n_paced = max(10, int(rate * args.paced_seconds))
            paced_ids = add_posts(engine, editor, approver, channel_id, n_paced, args.per_piece)
            start = utcnow() + timedelta(seconds=2)
            set_due(
                engine,
                {pid: start + timedelta(seconds=i / rate) for i, pid in enumerate(paced_ids)},
                analyze=args.analyze,
            )
            wait_for(
                lambda: unfinished(engine) == 0,
                args.paced_seconds + 120,
                "the paced posts",
            )
            lat = _latencies(engine, paced_ids, sink)
            run.paced = Phase(
                posts=n_paced,
                rate=rate,
                p50=statistics.median(lat),
                p99=_pct(lat, 0.99),
            )
        finally:
            for proc in profilers:
                proc.send_signal(signal.SIGINT)
            stop_workers(workers)
            shutil.rmtree(logs, ignore_errors=True)
        deliveries, raw, _messages = sink.snapshot()
        with Session(engine) as s:
            run.duplicates = len(deliveries) - len(raw)
            run.not_published = int(
                s.exec(
                    select(func.count())
                    .select_from(Post)
                    .where(Post.status != PostStatus.published)
                ).one()
            )
            per_post = s.exec(
                select(PublishAttempt.post_id, func.count())
                .group_by(col(PublishAttempt.post_id))
                .having(func.count() > 1)
            ).all()
            run.multi_attempt_posts = len(per_post)
            run.per_worker = sorted(
                (
                    int(n)
                    for _w, n in s.exec(
                        select(PublishAttempt.worker, func.count()).group_by(
                            col(PublishAttempt.worker)
                        )
                    )
                ),
                reverse=True,
            )


def _start_profilers(
    workers: list[subprocess.Popen[bytes]], folder: Path, name: str, mode: str
) -> list[subprocess.Popen[bytes]]:
    """py-spy (if on PATH) samples the workers until SIGINT: every thread, waiting or not
    ('wall'), or only the thread holding the GIL ('gil': where the CPU goes)."""
    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy is not on PATH; no profile", file=sys.stderr)
        return []
    folder.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(  # noqa: S603 (py-spy from PATH, with a pid and a path)
            [
                spy,
                "record",
                "--pid",
                str(w.pid),
                "--format",
                "raw",
                "--rate",
                "250",
                *(["--idle"] if mode == "wall" else ["--gil"]),
                "--output",
                str(folder / f"{name}-{mode}-worker{i}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i, w in enumerate(workers)
    ]


# --- the table --------------------------------------------------------------------------------


def table(runs: list[EngineRun], poll: float) -> str:
    head = (
        "| configuration | floor posts/s | engine posts/s | ratio | backlog due→sent "
        "p50 / p99 (s) | paced rate (posts/s) | paced due→sent p50 / p99 (s) | duplicates |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    rows = []
    for r in runs:
        ratio = r.backlog.posts_per_s / r.floor_posts_per_s if r.floor_posts_per_s else 0.0
        dups = r.duplicates + r.multi_attempt_posts + r.floor_duplicates
        rows.append(
            f"| {r.name} ({r.processes}×{r.threads} threads) | {r.floor_posts_per_s:.0f} | "
            f"{r.backlog.posts_per_s:.0f} | {ratio:.0%} | "
            f"{r.backlog.p50:.1f} / {r.backlog.p99:.1f} | {r.paced.rate:.0f} | "
            f"{r.paced.p50:.2f} / {r.paced.p99:.2f} | {dups}"
            + (f" ({r.not_published} not published!)" if r.not_published else "")
            + " |"
        )
    cpu = [
        "",
        "CPU time per post (ms; 2 cores give 2 000 ms per second, so posts/s is at most "
        "2000 / the row's total):",
        "",
        "| configuration | floor: client processes | floor: sink | floor total "
        "| engine: workers | engine: PostgreSQL | engine: sink (+ this script) | engine total |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        f, e = r.floor_cpu_ms_per_post, r.cpu_ms_per_post
        cpu.append(
            f"| {r.name} | {f.get('clients', 0):.2f} | {f.get('sink', 0):.2f} | "
            f"{sum(f.values()):.2f} | {e.get('workers', 0):.2f} | {e.get('postgres', 0):.2f} | "
            f"{e.get('sink', 0):.2f} | {sum(e.values()):.2f} |"
        )
    targets = (
        f"Targets: engine >= 70% of the floor; 0 duplicates; paced p99 <= poll "
        f"({poll:g} s) + 2 s = {poll + 2:g} s."
    )
    return "\n".join([head, *rows, *cpu, "", targets])


@dataclass
class Burst:
    """Many posts due at the same minute on several channels: how long until the last."""

    posts: int
    channels: int
    processes: int
    seconds_to_last: float = 0.0
    duplicates: int = 0
    not_published: int = 0


def run_burst(burst: Burst, args: argparse.Namespace) -> None:
    """`burst.posts` posts over `burst.channels` webhook channels, all due at one instant,
    published by `burst.processes` workers on PostgreSQL; fills in `burst`."""
    with Sink() as sink, fresh_database("postgresql", args.pg_url) as (engine, url):
        editor, approver, first = make_org(engine, sink.url, dedupe=args.dedupe)
        channel_ids = [first]
        with Session(engine, expire_on_commit=False) as s:
            admin = s.exec(select(User).where(User.username == "admin")).one()
            for i in range(2, burst.channels + 1):
                channel = channels.create_channel(
                    s,
                    actor=admin,
                    kind="webhook",
                    name=f"Intranet {i}",
                    settings={
                        "url": sink.url,
                        "receiver_deduplicates": args.dedupe,
                        "secret": HOOK_SECRET,
                    },
                )
                channel_ids.append(channel.id or 0)
        ids: list[int] = []
        for channel_id in channel_ids:
            ids += add_posts(
                engine, editor, approver, channel_id, burst.posts // burst.channels, args.per_piece
            )
        logs = Path(tempfile.mkdtemp(prefix="planner-bench-logs-"))
        workers = start_workers(engine, url, args, burst.processes, args.threads, logs)
        try:
            # All due at the same minute: the start of the next whole minute is too far to
            # wait for, so "the same minute" is one instant two seconds from now.
            due = utcnow() + timedelta(seconds=2)
            set_due(engine, dict.fromkeys(ids, due), analyze=args.analyze)
            wait_for(lambda: unfinished(engine) == 0, 600, "the burst")
        finally:
            stop_workers(workers)
            shutil.rmtree(logs, ignore_errors=True)
        deliveries, raw, _messages = sink.snapshot()
        burst.seconds_to_last = max(d.received_at for d in deliveries) - due.timestamp()
        burst.duplicates = len(deliveries) - len(raw)
        with Session(engine) as s:
            burst.not_published = int(
                s.exec(
                    select(func.count())
                    .select_from(Post)
                    .where(Post.status != PostStatus.published)
                ).one()
            )


CONFIGS = {
    "pg1": ("postgresql", 1),
    "pg2": ("postgresql", 2),
    "pg4": ("postgresql", 4),
    "sqlite1": ("sqlite", 1),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--floor-client":
        url, count, threads, start_at = argv[1:5]
        floor_client(url, int(count), int(threads), float(start_at))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=10_000, help="backlog size per run")
    parser.add_argument("--threads", type=int, default=4, help="publish threads per worker")
    parser.add_argument("--batch", type=int, default=100, help="PLANNER_BATCH_SIZE")
    parser.add_argument("--poll", type=float, default=1.0, help="PLANNER_POLL_SECONDS")
    parser.add_argument("--per-piece", type=int, default=10, help="posts per approved piece")
    parser.add_argument(
        "--floor-runs", type=int, default=3, help="floor runs around the engine's (median taken)"
    )
    parser.add_argument("--paced-seconds", type=float, default=10.0, help="length of paced run")
    parser.add_argument(
        "--configs", default=",".join(CONFIGS), help=f"comma-separated, of {', '.join(CONFIGS)}"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PLANNER_TEST_POSTGRES_URL") or DEFAULT_PG,
        help="PostgreSQL database (a scratch schema is made and dropped)",
    )
    parser.add_argument(
        "--no-dedupe",
        dest="dedupe",
        action="store_false",
        help="the channel does not trust the sink to deduplicate (ledger row per post)",
    )
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="keep the stale planner statistics after the posts come due",
    )
    parser.add_argument("--profile-dir", type=Path, help="py-spy raw profiles of the backlog")
    parser.add_argument("--profile-mode", choices=["wall", "gil"], default="wall")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--burst",
        default="500,5,2",
        help="posts,channels,workers due at one instant on PostgreSQL ('' skips the row)",
    )
    args = parser.parse_args(argv)

    runs: list[EngineRun] = []
    started = datetime.now(UTC)
    for name in args.configs.split(","):
        backend, processes = CONFIGS[name]
        run = EngineRun(name=name, backend=backend, processes=processes, threads=args.threads)
        t0 = time.monotonic()
        # The floor is quick and noisy on a shared machine, whose speed also drifts over
        # minutes: half its runs go right before the engine run, the rest right after,
        # and the median is taken.
        before = (args.floor_runs + 1) // 2
        floors = [run_floor(args.posts, processes, args.threads) for _ in range(before)]
        run_engine(run, args, args.profile_dir)
        floors += [
            run_floor(args.posts, processes, args.threads) for _ in range(args.floor_runs - before)
        ]
        floors.sort(key=lambda f: f["posts_per_s"])
        floor = floors[len(floors) // 2]
        run.floor_posts_per_s = floor["posts_per_s"]
        run.floor_duplicates = int(sum(f["duplicates"] for f in floors))
        run.floor_cpu_ms_per_post = {
            "clients": floor["clients_cpu_ms"],
            "sink": floor["sink_cpu_ms"],
        }
        print(
            f"{name}: floor {run.floor_posts_per_s:.0f}/s, engine {run.backlog.posts_per_s:.0f}/s,"
            f" paced p99 {run.paced.p99:.2f} s, workers {run.per_worker}"
            f" ({time.monotonic() - t0:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        runs.append(run)
    print(
        f"\n{args.posts} posts per run, poll {args.poll:g} s, batch {args.batch}, "
        f"{args.per_piece} posts per piece, ANALYZE {'on' if args.analyze else 'off'}, "
        f"channel {'deduplicates' if args.dedupe else 'cannot deduplicate'}; "
        f"started {started:%Y-%m-%d %H:%M} UTC\n"
    )
    print(table(runs, args.poll))
    burst = None
    if args.burst:
        n_posts, n_channels, n_workers = (int(x) for x in args.burst.split(","))
        burst = Burst(posts=n_posts, channels=n_channels, processes=n_workers)
        run_burst(burst, args)
        print(
            "\n| burst | workers | until the last is sent | duplicates | not published |\n"
            "|---|---|---|---|---|\n"
            f"| {burst.posts} posts due at one instant on {burst.channels} channels "
            f"| {burst.processes}×{args.threads} threads | {burst.seconds_to_last:.1f} s "
            f"| {burst.duplicates} | {burst.not_published} |"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in runs], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
