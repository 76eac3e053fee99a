"""Metrics collection benchmark: worker processes reading figures, against a plain loop.

Run from the repository root (PostgreSQL on 127.0.0.1 for the PostgreSQL row):

    .venv/bin/python bench/metrics.py                    # 10 000 posts, 4 workers
    .venv/bin/python bench/metrics.py --posts 2000 --workers 2 --pg ""   # SQLite only

For each backend it makes a fresh database with N posts published on one Mastodon
channel two hours ago (their first round, 1 h, is due), whose server is a local threaded
stdlib HTTP server in its own process answering `GET /api/v1/statuses/:id` as Mastodon
does (TCP_NODELAY set, keep-alive). Then:

- **enrol**: one worker's sweep enrols the N published posts in the queue (one
  statement per 2 000 posts); timed on its own.
- **round**: W worker processes, each with its own engine and a `Collector` (its
  claim, thread pool, ledger and fenced recording), start together and sweep until
  nothing is due; the round's time is from the start to the last worker done.
- **floor**: the same W processes x threads each sending the same requests (bearer
  token, JSON decoded) over one keep-alive session per thread through the same HTTP
  helper, with no database.

It checks that every post got exactly one snapshot and one ledger row. Nothing is
asserted; it prints a table. Everything talks to 127.0.0.1 only. Results: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import secrets
import socket
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import Engine, func, insert  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench.databases import scratch_database  # noqa: E402
from planner import channels, org_settings, pieces, users  # noqa: E402
from planner.credentials import new_key  # noqa: E402
from planner.db import make_engine  # noqa: E402
from planner.metrics.collect import Collector, MetricsSettings, enrol_published  # noqa: E402
from planner.metrics.schedule import parse_schedule  # noqa: E402
from planner.models import MetricFetch, MetricSnapshot, Post, PostStatus  # noqa: E402
from publishers import http  # noqa: E402

TOKEN = secrets.token_hex(16)  # made per run


# --- the Mastodon-like server -------------------------------------------------------------


class _Status(BaseHTTPRequestHandler):
    """Answers GET /api/v1/statuses/:id with a status's counts, keep-alive."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Without it, Nagle and delayed ACK add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        status_id = self.path.rsplit("/", 1)[-1]
        body = json.dumps(
            {
                "id": status_id,
                "favourites_count": len(status_id),
                "reblogs_count": 1,
                "replies_count": 2,
                "content": "<p>Hallo</p>",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(port: Any, ready: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    server.daemon_threads = True
    port.value = server.server_address[1]
    ready.set()
    server.serve_forever()


# --- the database ---------------------------------------------------------------------------


def make_posts(engine: Engine, server: str, count: int) -> datetime:
    """An admin, a Mastodon channel on `server`, `count` posts published 2 h ago."""
    published = datetime.now(UTC) - timedelta(hours=2)
    with Session(engine, expire_on_commit=False) as session:
        admin = users.create_user(
            session,
            actor=None,
            data={
                "username": "chefin",
                "display_name": "Chefin",
                "role": "admin",
                "password": secrets.token_urlsafe(18),
            },
        )
        org_settings.set_setting(session, actor=admin, key="allow_private_network", value="on")
        channel = channels.create_channel(
            session,
            actor=admin,
            kind="mastodon",
            name="Mastodon",
            settings={"instance_url": server, "access_token": TOKEN},
        )
        piece = pieces.create_piece(session, actor=admin, data={"title": "Gruß", "body": "Hallo"})
        posts: list[dict[str, Any]] = [
            {
                "piece_id": piece.id,
                "channel_id": channel.id,
                "publish_at": published,
                "published_at": published,
                "timezone": "Europe/Berlin",
                "status": PostStatus.published.name,
                "media": [],
                "attempts": 1,
                "idempotency_key": uuid.uuid4().hex,
                "external_id": str(100_000 + i),
                "version": 1,
                "created_by_id": admin.id,
                "created_at": published,
            }
            for i in range(count)
        ]
        session.connection().execute(insert(Post.__table__), posts)  # type: ignore[attr-defined]
        session.commit()
    return published


# --- the workers and the floor -------------------------------------------------------------


def _worker(url: str, name: str, threads: int, start: Any, results: Any) -> None:
    engine = make_engine(url)
    collector = Collector(
        engine,
        worker_id=name,
        settings=MetricsSettings(batch_size=50, threads=threads, max_per_sweep=None),
    )
    start.wait()
    result = collector.sweep()
    collector.close()
    results.put((name, len(result.collected), result.claimed, time.monotonic()))


def run_round(url: str, workers: int, threads: int) -> tuple[float, int]:
    """W worker processes sweep together; (seconds to the last one done, posts read)."""
    ctx = mp.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, f"bench-{i}", threads, start, results))
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    time.sleep(1.0)  # let every process open its engine
    began = time.monotonic()
    start.set()
    done = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    return max(d[3] for d in done) - began, sum(d[1] for d in done)


def _floor_thread(server: str, ids: list[int]) -> None:
    session = http.new_session(allow_private_network=True)
    for status_id in ids:
        response = http.request(
            "GET",
            f"{server}/api/v1/statuses/{status_id}",
            session=session,
            headers={"Authorization": f"Bearer {TOKEN}"},
            secrets=[TOKEN],
        )
        response.json()


def _floor_process(server: str, ids: list[int], threads: int, start: Any, results: Any) -> None:
    parts = [ids[i::threads] for i in range(threads)]
    pool = [threading.Thread(target=_floor_thread, args=(server, p)) for p in parts]
    start.wait()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    results.put(time.monotonic())


def run_floor(server: str, count: int, workers: int, threads: int) -> float:
    """The same requests from W processes x threads, keep-alive, no database; seconds."""
    ctx = mp.get_context("fork")
    start, results = ctx.Event(), ctx.Queue()
    ids = [100_000 + i for i in range(count)]
    procs = [
        ctx.Process(target=_floor_process, args=(server, ids[i::workers], threads, start, results))
        for i in range(workers)
    ]
    for proc in procs:
        proc.start()
    time.sleep(0.5)
    began = time.monotonic()
    start.set()
    ends = [results.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    return float(max(ends) - began)


def counts(url: str) -> tuple[int, int, int]:
    """(snapshots, ledger rows, posts with more than one snapshot)."""
    engine = make_engine(url)
    with Session(engine) as session:
        snapshots = session.exec(select(func.count()).select_from(MetricSnapshot)).one()
        fetches = session.exec(select(func.count()).select_from(MetricFetch)).one()
        doubled = session.exec(
            select(func.count()).select_from(
                select(MetricSnapshot.post_id)
                .group_by(MetricSnapshot.post_id)  # type: ignore[arg-type]
                .having(func.count() > 1)
                .subquery()
            )
        ).one()
    engine.dispose()
    return int(snapshots), int(fetches), int(doubled)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4, help="request threads per worker")
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "PLANNER_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="PostgreSQL URL for the PostgreSQL row ('' to skip it)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("PLANNER_SECRET_KEY", new_key())

    ctx = mp.get_context("fork")
    port, ready = ctx.Value("i", 0), ctx.Event()
    sink = ctx.Process(target=_serve, args=(port, ready), daemon=True)
    sink.start()
    ready.wait(10)
    server = f"http://127.0.0.1:{port.value}"

    rows: list[tuple[Any, ...]] = []
    backends = ["sqlite"] + (["postgresql"] if args.pg else [])
    try:
        for backend in backends:
            with scratch_database(
                args.pg if backend == "postgresql" else None, name="metrics", migrate=True
            ) as url:
                engine = make_engine(url)
                make_posts(engine, server, args.posts)
                began = time.monotonic()
                enrolled = enrol_published(
                    engine, now=datetime.now(UTC), offsets=parse_schedule("1h, 24h, 7d")
                )
                enrol_s = time.monotonic() - began
                engine.dispose()
                round_s, read = run_round(url, args.workers, args.threads)
                floor_s = run_floor(server, args.posts, args.workers, args.threads)
                snapshots, fetches, doubled = counts(url)
                rows.append(
                    (
                        backend,
                        enrolled,
                        enrol_s,
                        round_s,
                        read,
                        floor_s,
                        snapshots,
                        fetches,
                        doubled,
                    )
                )
    finally:
        sink.terminate()

    w, t = args.workers, args.threads
    print(f"\nmetrics collection, {args.posts} published posts, {w} workers x {t} threads")
    print(
        "| backend | enrol (s) | round (s) | per post (ms) | requests/s | floor (s) "
        "| floor requests/s | round / floor | snapshots | ledger rows | doubled |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for backend, enrolled, enrol_s, round_s, read, floor_s, snaps, fetches, doubled in rows:
        print(
            f"| {backend} | {enrol_s:.2f} ({enrolled}) | {round_s:.2f} | "
            f"{1000 * round_s / max(read, 1):.2f} | {read / round_s:.0f} | {floor_s:.2f} | "
            f"{args.posts / floor_s:.0f} | {round_s / floor_s:.1f}x | {snaps} | {fetches} | "
            f"{doubled} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
