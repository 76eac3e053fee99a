"""Exactly once, end to end: real worker processes, a real database, a local webhook receiver.

Every test starts `python -m planner worker` (or `serve`) subprocesses against a fresh
database (a SQLite file, or a new PostgreSQL schema) and a receiver on 127.0.0.1
(`tests/sink.py`), then checks what the receiver got and what the ledger says. A
fixture stops every process it started, whatever happens in the test.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from planner import channels, pieces
from planner.credentials import new_key
from planner.db import make_engine
from planner.migrate import upgrade
from planner.models import Channel, Piece, Post, PostStatus, PublishAttempt, WorkerHeartbeat, utcnow
from tests.conftest import POSTGRES_URL, World, allow_private_network
from tests.postgres_database import scratch_schema
from tests.sink import Sink

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = new_key()
UNFINISHED = [PostStatus.planned, PostStatus.publishing]


# --- fixtures: a fresh database, processes that never outlive the test ----------------------


@dataclass
class Database:
    """A migrated, empty database and the URL a subprocess uses to reach it."""

    backend: str
    engine: Engine
    url: str


@pytest.fixture
def database(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Database]:
    """A SQLite file in tmp_path, or a new PostgreSQL schema (named in the URL)."""
    # The channel secrets this test saves are read by the processes it starts.
    monkeypatch.setenv("PLANNER_SECRET_KEY", SECRET_KEY)
    if request.param == "sqlite":
        path = tmp_path / "planner.db"
        shutil.copy(sqlite_template, path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        yield Database("sqlite", engine, url)
        engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("PLANNER_TEST_POSTGRES_URL is not set")
    with scratch_schema(POSTGRES_URL, "planner_e2e") as url:
        engine = make_engine(url)
        try:
            upgrade(engine)  # through the URL with the escaped search path, as a worker would
            yield Database("postgresql", engine, url)
        finally:
            engine.dispose()


def _env(database: Database, **extra: str) -> dict[str, str]:
    """A subprocess environment: this database, a shared key, no proxies, no stray settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PLANNER_") and k.lower() not in ("http_proxy", "https_proxy")
    }
    env.update(
        PLANNER_DATABASE_URL=database.url,
        PLANNER_SECRET_KEY=SECRET_KEY,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class Processes:
    """`python -m planner ...` subprocesses; the fixture ends all of them after the test."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[tuple[subprocess.Popen[bytes], Path, IO[bytes]]] = []

    def start(self, *args: str, env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
        log_path = self.log_dir / f"{name}.log"
        log = log_path.open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "planner", *args],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.running.append((proc, log_path, log))
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it does not end within `grace` seconds."""
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc, _path, log in self.running:
            self.stop(proc)
            log.close()

    def logs(self) -> str:
        """The tail of every process's output, for failure messages."""
        parts = []
        for proc, path, log in self.running:
            log.flush()
            tail = path.read_text(errors="replace")[-2000:]
            parts.append(f"--- {path.name} (pid {proc.pid}, exit {proc.poll()}) ---\n{tail}")
        return "\n".join(parts)

    def check_alive(self, *procs: subprocess.Popen[bytes]) -> None:
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"process {proc.pid} exited with {proc.returncode}\n{self.logs()}")


@pytest.fixture
def processes(tmp_path: Path, database: Database) -> Iterator[Processes]:
    """Ends every process it started; depends on `database`, so it does so before the
    database is dropped."""
    procs = Processes(tmp_path)
    yield procs
    procs.stop_all()


def wait_for(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    procs: Processes | None = None,
    alive: tuple[subprocess.Popen[bytes], ...] = (),
    interval: float = 0.1,
) -> None:
    """Poll `condition` until it holds; fail with the processes' logs at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if procs is not None:
            procs.check_alive(*alive)
        if time.monotonic() > deadline:
            logs = procs.logs() if procs is not None else ""
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}\n{logs}")
        time.sleep(interval)


# --- the organisation and its posts ---------------------------------------------------------


def _org(session: Session, sink: Sink, *, deduplicates: bool) -> tuple[World, Piece, Channel]:
    """Users, an approved piece and a webhook channel to the sink."""
    world = World(session)
    allow_private_network(session, world.admin)  # the sink listens on 127.0.0.1
    channel = channels.create_channel(
        session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": sink.url, "secret": "sink-secret", "receiver_deduplicates": deduplicates},
    )
    piece = pieces.create_piece(
        session, actor=world.editor, data={"title": "Betriebsfest", "body": "Alle sind dabei!"}
    )
    assert piece.id is not None
    pieces.submit_piece(session, actor=world.editor, piece_id=piece.id)
    piece = pieces.approve_piece(session, actor=world.approver, piece_id=piece.id, revision=1)
    return world, piece, channel


def _add_posts(session: Session, world: World, piece: Piece, channel: Channel, n: int) -> None:
    """`n` posts planned far ahead (not yet due), in one transaction."""
    assert piece.id is not None and channel.id is not None and world.editor.id is not None
    later = utcnow() + timedelta(days=30)
    session.add_all(
        Post(
            piece_id=piece.id,
            channel_id=channel.id,
            publish_at=later,
            created_by_id=world.editor.id,
        )
        for _ in range(n)
    )
    session.commit()


def _make_all_due(engine: Engine) -> None:
    """Time passes: every planned post is due now."""
    with Session(engine) as s:
        s.exec(update(Post).values(publish_at=utcnow() - timedelta(seconds=1)))
        s.commit()


def _unfinished(engine: Engine) -> int:
    with Session(engine) as s:
        return int(
            s.exec(
                select(func.count()).select_from(Post).where(col(Post.status).in_(UNFINISHED))
            ).one()
        )


def _heartbeats(engine: Engine) -> list[WorkerHeartbeat]:
    with Session(engine) as s:
        return list(s.exec(select(WorkerHeartbeat)))


def _posts(engine: Engine) -> dict[int, Post]:
    with Session(engine) as s:
        return {p.id: p for p in s.exec(select(Post)) if p.id is not None}


def _attempts(engine: Engine) -> dict[int, list[PublishAttempt]]:
    by_post: dict[int, list[PublishAttempt]] = {}
    with Session(engine) as s:
        for a in s.exec(select(PublishAttempt).order_by(col(PublishAttempt.id))):
            by_post.setdefault(a.post_id, []).append(a)
    return by_post


def _start_workers(
    processes: Processes, database: Database, n: int, *, prefix: str = "worker", **env: str
) -> list[subprocess.Popen[bytes]]:
    settings = {
        "PLANNER_POLL_SECONDS": "0.2",
        "PLANNER_BATCH_SIZE": "20",
        "PLANNER_PUBLISH_THREADS": "4",
        **env,
    }
    return [
        processes.start("worker", env=_env(database, **settings), name=f"{prefix}-{i}")
        for i in range(n)
    ]


def _wait_until_sweeping(
    processes: Processes, database: Database, workers: list[subprocess.Popen[bytes]]
) -> None:
    """Every worker has swept at least once (its heartbeat row exists)."""
    pids = {w.pid for w in workers}
    wait_for(
        lambda: pids <= {h.pid for h in _heartbeats(database.engine)},
        timeout=60,
        what=f"{len(workers)} workers to start sweeping",
        procs=processes,
        alive=tuple(workers),
    )


# --- 1000 posts, several worker processes: each post exactly once ----------------------------


@pytest.mark.parametrize(
    ("database", "n_workers", "n_posts"),
    [
        pytest.param("postgresql", 4, 1000, id="postgresql"),
        pytest.param("sqlite", 2, 300, id="sqlite"),
    ],
    indirect=["database"],
)
def test_competing_worker_processes_publish_every_post_exactly_once(
    database: Database, processes: Processes, n_workers: int, n_posts: int
) -> None:
    with Sink(deduplicate=False) as sink, Session(database.engine, expire_on_commit=False) as s:
        world, piece, channel = _org(s, sink, deduplicates=False)
        _add_posts(s, world, piece, channel, n_posts)
        workers = _start_workers(processes, database, n_workers)
        _wait_until_sweeping(processes, database, workers)
        _make_all_due(database.engine)  # all workers are polling when the posts come due
        wait_for(
            lambda: _unfinished(database.engine) == 0,
            timeout=90,
            what="every post to be published",
            procs=processes,
            alive=tuple(workers),
            interval=0.25,
        )
        for w in workers:
            processes.stop(w)
        deliveries, raw, _messages = sink.snapshot()

    posts = _posts(database.engine)
    assert len(posts) == n_posts
    assert Counter(p.status for p in posts.values()) == {PostStatus.published: n_posts}
    # The receiver got every post's key, each exactly once, and nothing else.
    assert len(deliveries) == n_posts
    assert set(raw) == {p.idempotency_key for p in posts.values()}
    assert set(raw.values()) == {1}
    # The ledger: one attempt per post, published, under the key that was sent.
    attempts = _attempts(database.engine)
    assert set(attempts) == set(posts)
    for post_id, rows in attempts.items():
        assert [(a.outcome, a.idempotency_key) for a in rows] == [
            ("published", posts[post_id].idempotency_key)
        ]
        assert rows[0].finished_at is not None
    # They really competed: more than one process published.
    per_worker = Counter(rows[0].worker for rows in attempts.values())
    assert len(per_worker) > 1, per_worker
    assert {int(w.split(":")[1]) for w in per_worker} <= {w.pid for w in workers}


# --- a worker killed mid-batch ------------------------------------------------------------------


def _victim_state(engine: Engine, pid: int) -> tuple[set[int], set[int]]:
    """Posts the killed worker had started sending (open attempt) and had only claimed."""
    marker = f":{pid}:worker:"
    with Session(engine) as s:
        open_attempts = set(
            s.exec(
                select(PublishAttempt.post_id).where(
                    col(PublishAttempt.worker).contains(marker),
                    col(PublishAttempt.finished_at).is_(None),
                )
            )
        )
        claimed = set(
            s.exec(
                select(Post.id).where(
                    col(Post.claimed_by).contains(marker),
                    Post.status == PostStatus.publishing,
                )
            )
        )
    return open_attempts, {p for p in claimed if p is not None} - open_attempts


def _open_attempts_of(engine: Engine, pid: int) -> int:
    with Session(engine) as s:
        return int(
            s.exec(
                select(func.count())
                .select_from(PublishAttempt)
                .where(
                    col(PublishAttempt.worker).contains(f":{pid}:worker:"),
                    col(PublishAttempt.finished_at).is_(None),
                )
            ).one()
        )


def _sending(attempts: list[PublishAttempt]) -> list[str]:
    """The outcomes of the attempts that may have sent a request ("withheld" ones did not)."""
    return [a.outcome for a in attempts if a.outcome != "withheld"]


@pytest.mark.parametrize("database", ["postgresql", "sqlite"], indirect=True)
@pytest.mark.parametrize("deduplicates", [True, False], ids=["dedup", "no-dedup"])
def test_a_worker_killed_mid_batch_loses_nothing_and_never_resends_blindly(
    database: Database, processes: Processes, deduplicates: bool
) -> None:
    n_posts = 120
    slow = {"PLANNER_LEASE_SECONDS": "2"}
    with (
        Sink(deduplicate=deduplicates, delay=0.25) as sink,
        Session(database.engine, expire_on_commit=False) as s,
    ):
        world, piece, channel = _org(s, sink, deduplicates=deduplicates)
        _add_posts(s, world, piece, channel, n_posts)
        workers = _start_workers(processes, database, 2, **slow)
        victim, survivor = workers
        _wait_until_sweeping(processes, database, workers)
        _make_all_due(database.engine)
        # Some posts are out, and the victim is waiting for the receiver on some of its own.
        wait_for(
            lambda: sink.count() >= 20 and _open_attempts_of(database.engine, victim.pid) >= 2,
            timeout=60,
            what="the victim to be mid-batch",
            procs=processes,
            alive=(victim, survivor),
            interval=0.02,
        )
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        delivered_before = sink.count()
        time.sleep(0.3)  # let the database notice the dead connection
        in_flight, claimed_only = _victim_state(database.engine, victim.pid)
        assert in_flight, "the victim was killed with no request in flight"
        assert 0 < delivered_before < n_posts
        (replacement,) = _start_workers(processes, database, 1, prefix="replacement", **slow)
        # Leases run out after 2 s; the survivors recover the victim's posts and go on.
        wait_for(
            lambda: _unfinished(database.engine) == 0,
            timeout=90,
            what="no post planned or publishing",
            procs=processes,
            alive=(survivor, replacement),
            interval=0.25,
        )
        processes.stop(survivor)
        processes.stop(replacement)
        _deliveries, raw, messages = sink.snapshot()

    posts = _posts(database.engine)
    attempts = _attempts(database.engine)
    by_status = Counter(p.status for p in posts.values())
    assert set(by_status) <= {PostStatus.published, PostStatus.needs_check}, by_status
    assert len(posts) == n_posts
    key = {post_id: p.idempotency_key for post_id, p in posts.items()}
    # Nothing the victim only claimed (never started) was held back: it went out once.
    for post_id in claimed_only:
        assert posts[post_id].status == PostStatus.published
        assert raw[key[post_id]] == 1
    # On a busy machine a worker's 2 s lease may run out before its request starts: that
    # attempt is "withheld" (nothing sent) and a later one publishes. Only attempts that
    # may have sent something count below.
    for post_id in set(posts) - in_flight:
        assert posts[post_id].status == PostStatus.published
        assert raw[key[post_id]] == 1, f"post {post_id} outside the crash was sent twice"
        assert _sending(attempts[post_id]) == ["published"]
    for post_id in in_flight:
        outcomes = _sending(attempts[post_id])
        assert outcomes[0] == "interrupted"
        assert {a.idempotency_key for a in attempts[post_id]} == {key[post_id]}
        if deduplicates:
            # Sent again with the same key; the receiver kept one message.
            assert posts[post_id].status == PostStatus.published
            assert outcomes == ["interrupted", "published"]
            assert 1 <= raw[key[post_id]] <= 2
        else:
            # Maybe delivered, maybe not: a person checks; it is never sent a second time.
            assert posts[post_id].status == PostStatus.needs_check
            assert outcomes == ["interrupted"]
            assert raw[key[post_id]] <= 1
    if deduplicates:
        assert by_status == {PostStatus.published: n_posts}
        assert set(messages) == set(key.values())
        assert set(messages.values()) == {1}
    else:
        assert by_status[PostStatus.needs_check] == len(in_flight)
        assert set(messages.values()) == {1}
    assert set(raw) <= set(key.values())


# --- the dashboard's embedded scheduler -----------------------------------------------------------


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_dashboard_process_publishes_with_its_embedded_scheduler(
    database: Database, processes: Processes
) -> None:
    with Sink(deduplicate=False) as sink, Session(database.engine, expire_on_commit=False) as s:
        world, piece, channel = _org(s, sink, deduplicates=False)
        _add_posts(s, world, piece, channel, 1)
        _make_all_due(database.engine)
        port = _free_port()
        server = processes.start(
            "serve",
            "--port",
            str(port),
            "--address",
            "127.0.0.1",
            env=_env(
                database,
                PLANNER_POLL_SECONDS="0.5",
                PLANNER_EMBEDDED_SCHEDULER="1",
                BROWSER="none",  # belt and braces: --server.headless already opens nothing
            ),
            name="serve",
        )
        wait_for(
            lambda: _health(port) == "ok",
            timeout=60,
            what="the dashboard to answer /_stcore/health",
            procs=processes,
            alive=(server,),
            interval=0.25,
        )
        wait_for(
            lambda: sink.count() >= 1 and _unfinished(database.engine) == 0,
            timeout=30,
            what="the embedded scheduler to publish the due post",
            procs=processes,
            alive=(server,),
        )
        beats = _heartbeats(database.engine)
        # A deploy stops the dashboard with SIGTERM: its scheduler drains and it exits 0.
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0, processes.logs()
        assert re.search(r"embedded scheduler \S+ stopped", processes.logs())
        _deliveries, raw, _messages = sink.snapshot()

    (post,) = _posts(database.engine).values()
    assert post.status == PostStatus.published
    assert raw == {post.idempotency_key: 1}
    embedded = [b for b in beats if b.embedded]
    assert [(b.pid, b.embedded) for b in embedded] == [(server.pid, True)]
    assert len(beats) == 1
    (attempt,) = _attempts(database.engine)[post.id or 0]
    assert attempt.worker == embedded[0].worker_id
    assert attempt.outcome == "published"
