"""Operators' bad days, end to end: real worker processes stopped, paused and killed
while a flaky receiver answers, on PostgreSQL.

Uses the processes, database and receiver of the exactly-once tests. Every run is bounded
in posts, processes and time, so it belongs in every CI run.
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections import Counter

import pytest
from sqlmodel import Session

from planner import channels, pieces
from planner.models import Channel, Piece, PostStatus
from tests.conftest import World, allow_private_network
from tests.planner import test_exactly_once as e2e
from tests.planner.test_exactly_once import (
    Database,
    Processes,
    _add_posts,
    _attempts,
    _make_all_due,
    _posts,
    _start_workers,
    _unfinished,
    _wait_until_sweeping,
    wait_for,
)
from tests.sink import Faults, Sink

# The exactly-once tests' fixtures: a fresh database, processes that never outlive a test.
database = e2e.database
processes = e2e.processes

FAST_RETRIES = {
    "PLANNER_RETRY_BASE_SECONDS": "0.3",
    "PLANNER_RETRY_CAP_SECONDS": "1",
    "PLANNER_MAX_ATTEMPTS": "6",
}


def _approved(session: Session, world: World) -> Piece:
    piece = pieces.create_piece(
        session, actor=world.editor, data={"title": "Betriebsfest", "body": "Alle sind dabei!"}
    )
    assert piece.id is not None
    pieces.submit_piece(session, actor=world.editor, piece_id=piece.id)
    return pieces.approve_piece(session, actor=world.approver, piece_id=piece.id, revision=1)


def _hook(session: Session, world: World, name: str, sink: Sink, *, deduplicates: bool) -> Channel:
    allow_private_network(session, world.admin)  # the sink listens on 127.0.0.1
    channel = channels.create_channel(
        session,
        actor=world.admin,
        kind="webhook",
        name=name,
        settings={"url": sink.url, "secret": "sink-secret", "timeout_seconds": 1},
    )
    if deduplicates:
        assert channel.id is not None
        channel = channels.set_deduplication(
            session, actor=world.admin, ref=channel.id, deduplicates=True
        )
    return channel


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261202)


# --- SIGTERM drains -------------------------------------------------------------------------------


@pytest.mark.parametrize("database", ["postgresql", "sqlite"], indirect=True)
def test_sigterm_drains_the_posts_in_flight_and_releases_the_rest(
    database: Database, processes: Processes
) -> None:
    n_posts = 40
    with Sink(delay=0.4) as sink, Session(database.engine, expire_on_commit=False) as s:
        world = World(s)
        plain = _hook(s, world, "Intranet", sink, deduplicates=False)
        _add_posts(s, world, _approved(s, world), plain, n_posts)
        (worker,) = _start_workers(processes, database, 1, PLANNER_LEASE_SECONDS="300")
        _wait_until_sweeping(processes, database, [worker])
        _make_all_due(database.engine)
        wait_for(lambda: sink.count() >= 4, timeout=60, what="requests in flight", procs=processes)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, processes.logs()
        delivered = sink.snapshot()[1]
        posts = _posts(database.engine)
        # Nothing is left `publishing` (no five-minute lease to wait for); what went out is
        # published, the rest is planned again with no attempt counted.
        by_status = Counter(p.status for p in posts.values())
        assert set(by_status) <= {PostStatus.published, PostStatus.planned}, by_status
        for post in posts.values():
            sent = delivered[post.idempotency_key]
            if post.status == PostStatus.published:
                assert sent == 1
            else:
                assert (sent, post.attempts, post.claimed_by) == (0, 0, None)
        assert 0 < by_status[PostStatus.published] < n_posts
        # The next worker takes over at once and sends each remaining post once.
        (successor,) = _start_workers(processes, database, 1, prefix="successor")
        wait_for(
            lambda: _unfinished(database.engine) == 0,
            timeout=90,
            what="the rest to be published",
            procs=processes,
            alive=(successor,),
            interval=0.25,
        )
        processes.stop(successor)
        _deliveries, raw, _messages = sink.snapshot()
    posts = _posts(database.engine)
    assert Counter(p.status for p in posts.values()) == {PostStatus.published: n_posts}
    assert set(raw.values()) == {1}


# --- SIGSTOP past the lease -----------------------------------------------------------------------


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_worker_stalled_past_its_lease_causes_no_duplicate(
    database: Database, processes: Processes
) -> None:
    n_posts = 60
    lease = {"PLANNER_LEASE_SECONDS": "2"}
    with Sink(delay=0.3) as sink, Session(database.engine, expire_on_commit=False) as s:
        world = World(s)
        plain = _hook(s, world, "Intranet", sink, deduplicates=False)
        _add_posts(s, world, _approved(s, world), plain, n_posts)
        victim, survivor = _start_workers(processes, database, 2, **lease)
        _wait_until_sweeping(processes, database, [victim, survivor])
        _make_all_due(database.engine)
        wait_for(lambda: sink.count() >= 6, timeout=60, what="requests in flight", procs=processes)
        victim.send_signal(signal.SIGSTOP)
        time.sleep(4)  # twice the lease: the survivor recovers the victim's posts
        victim.send_signal(signal.SIGCONT)
        wait_for(
            lambda: _unfinished(database.engine) == 0,
            timeout=90,
            what="no post planned or publishing",
            procs=processes,
            alive=(victim, survivor),
            interval=0.25,
        )
        processes.stop(victim)
        processes.stop(survivor)
        _deliveries, raw, _messages = sink.snapshot()
    posts = _posts(database.engine)
    by_status = Counter(p.status for p in posts.values())
    assert set(by_status) <= {PostStatus.published, PostStatus.needs_check}, by_status
    # No post reached the receiver twice; every post that went out is published (a
    # result that came back after the lease was lost answered the check).
    assert max(raw.values()) == 1, [k for k, n in raw.items() if n > 1]
    for post in posts.values():
        if raw[post.idempotency_key]:
            assert post.status == PostStatus.published, post


# --- chaos: kills, stops and a flaky receiver -----------------------------------------------------


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_chaos_every_post_once_or_in_a_state_a_person_sees(
    database: Database, processes: Processes, rng: random.Random
) -> None:
    n_posts = 240
    faults = {"error": 0.04, "rate_limit": 0.03, "slow": 0.03, "drop": 0.03, "slow_seconds": 1.5}
    env = {"PLANNER_LEASE_SECONDS": "3", "PLANNER_BATCH_SIZE": "10", **FAST_RETRIES}
    with (
        Sink(faults=Faults(seed=1, **faults)) as plain_sink,  # type: ignore[arg-type]
        Sink(deduplicate=True, faults=Faults(seed=2, **faults)) as dedup_sink,  # type: ignore[arg-type]
        Session(database.engine, expire_on_commit=False) as s,
    ):
        world = World(s)
        piece = _approved(s, world)
        plain = _hook(s, world, "Plain", plain_sink, deduplicates=False)
        dedup = _hook(s, world, "Dedup", dedup_sink, deduplicates=True)
        _add_posts(s, world, piece, plain, n_posts // 2)
        _add_posts(s, world, piece, dedup, n_posts // 2)
        workers = _start_workers(processes, database, 4, **env)
        _wait_until_sweeping(processes, database, workers)
        _make_all_due(database.engine)
        for generation in range(1, 7):  # about ten seconds of random SIGKILL and SIGTERM
            time.sleep(rng.uniform(1.0, 2.0))
            victim = rng.choice(workers)
            victim.send_signal(rng.choice([signal.SIGKILL, signal.SIGTERM]))
            try:
                victim.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pytest.fail(f"worker {victim.pid} did not stop\n{processes.logs()}")
            workers.remove(victim)
            workers += _start_workers(processes, database, 1, prefix=f"gen{generation}", **env)
        wait_for(
            lambda: _unfinished(database.engine) == 0,
            timeout=150,
            what="no post planned or publishing",
            procs=processes,
            alive=tuple(workers),
            interval=0.5,
        )
        for w in workers:
            processes.stop(w)
        _d1, plain_raw, _m1 = plain_sink.snapshot()
        _d2, _r2, dedup_messages = dedup_sink.snapshot()
    posts = _posts(database.engine)
    attempts = _attempts(database.engine)
    by_status = Counter(p.status for p in posts.values())
    assert set(by_status) <= {PostStatus.published, PostStatus.needs_check, PostStatus.failed}
    assert by_status[PostStatus.published] > n_posts // 2, by_status
    for post in posts.values():
        if post.status != PostStatus.published:
            assert post.last_error, f"post {post.id} is {post.status} without a reason"
        if post.channel_id == dedup.id:
            # The receiver keeps one message per key, however often it was sent.
            assert dedup_messages[post.idempotency_key] <= 1
            if post.status == PostStatus.published:
                assert dedup_messages[post.idempotency_key] == 1
        else:
            copies = plain_raw[post.idempotency_key]
            # Every duplicate at a receiver that cannot drop them is a post a person checks.
            if copies > 1:
                assert post.status == PostStatus.needs_check, post
            if post.status == PostStatus.published:
                assert copies == 1, post
        # Every attempt is on the ledger under the post's own key.
        assert {a.idempotency_key for a in attempts.get(post.id or 0, [])} <= {post.idempotency_key}
