"""The engine under faults, in one process: only approved text, exactly once.

Edits, freezes and cancellations racing the scheduler, requests whose outcome is
ambiguous, leases that run out, rate limits and a database that goes away. Each test
drives the public engine functions (claim, deliver, finish) or a whole `Worker.sweep`,
with the scripted recording adapter or the real webhook adapter against a local receiver.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from planner import channels, org_settings, pieces, planning, publishing
from planner.models import AuditEvent, Channel, Piece, Post, PostStatus, Revision, utcnow
from planner.publishing import Delivery, EngineSettings
from planner.publishing.deliver import Gate
from planner.worker import Worker
from publishers.base import RateLimited, TransientError
from tests import recording
from tests.conftest import World, allow_private_network
from tests.planner import test_publishing
from tests.planner.test_publishing import (
    FAST,
    _approved_piece,
    _attempts,
    _channel,
    _due_post,
    _reload,
)
from tests.postgres_database import end_connections, named_engine
from tests.sink import Faults, Sink

LATENESS = timedelta(hours=6)


# The engine tests' fixtures: the recording adapter, and a worker with fast settings.
rec = test_publishing.rec
worker = test_publishing.worker


def _claim(engine: Engine, *, worker_id: str = "w1", lease: float = 30) -> list[Delivery]:
    return publishing.claim_deliveries(
        engine,
        worker_id=worker_id,
        now=utcnow(),
        limit=50,
        lease=timedelta(seconds=lease),
        lateness=LATENESS,
    )


def _gate(engine: Engine, deliveries: list[Delivery], *, worker_id: str = "w1") -> Gate:
    gate = Gate(engine, worker_id, max_age=0)
    gate.hold(deliveries, time.monotonic() + 30)
    return gate


def _finish(engine: Engine, deliveries: list[Delivery], worker_id: str = "w1") -> None:
    publishing.finish_deliveries(
        engine, deliveries, worker_id=worker_id, settings=FAST, lateness=LATENESS
    )


def _moves(engine: Engine, post_id: int | None) -> list[str]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(AuditEvent.action)
                .where(AuditEvent.object_type == "post", AuditEvent.object_id == str(post_id))
                .order_by(col(AuditEvent.id))
            )
        )


def _retract(world: World, piece: Piece) -> None:
    """An editor replaces the approved sentence (a new revision, not approved)."""
    assert piece.id is not None
    pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        data={"body": "Retracted sentence."},
        expected_revision=1,
    )


# --- 1. only the approved revision goes out


def test_an_edit_after_the_claim_never_sends_the_unapproved_text(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    piece = _approved_piece(world, "Approved sentence.")
    post = _due_post(world, piece, _channel(world), ago=timedelta(seconds=5))
    (delivery,) = _claim(engine)
    # The edit commits between the claim and the request (READ COMMITTED would see it).
    _retract(world, piece)
    # Whatever reads happen later, what is sent is the approved revision's text...
    assert delivery.message.text == "Approved sentence."
    # ...and right before the request the gate sees the edit: nothing goes out.
    publishing.deliver(engine, delivery, _gate(engine, [delivery]))
    assert rec.calls == []
    assert "changed after revision 1 was approved" in delivery.withheld
    _finish(engine, [delivery])
    state = _reload(engine, post.id)
    assert (state.status, state.attempts) == (PostStatus.planned, 0)
    assert _attempts(engine, post.id) == []  # no request was ever started
    assert _moves(engine, post.id)[-1] == "requeue"


def test_without_the_gate_the_approved_text_is_still_what_is_sent(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    piece = _approved_piece(world, "Approved sentence.")
    _due_post(world, piece, _channel(world), ago=timedelta(seconds=5))
    (delivery,) = _claim(engine)
    _retract(world, piece)
    publishing.deliver(engine, delivery)
    assert [c.text for c in rec.calls] == ["Approved sentence."]


def test_a_piece_archived_after_the_claim_is_not_sent(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    piece = _approved_piece(world)
    post = _due_post(world, piece, _channel(world), ago=timedelta(seconds=5))
    (delivery,) = _claim(engine)
    assert piece.id is not None
    pieces.archive_piece(world.session, actor=world.editor, piece_id=piece.id)
    publishing.deliver(engine, delivery, _gate(engine, [delivery]))
    assert rec.calls == []
    assert delivery.withheld == "the piece is archived now"
    _finish(engine, [delivery])
    assert _reload(engine, post.id).status == PostStatus.planned


# --- 2. ambiguous outcomes


@pytest.mark.parametrize("dedupes", [False, True], ids=["plain", "deduplicating"])
def test_an_ambiguous_failure_is_retried_only_where_the_channel_drops_repeats(
    world: World,
    engine: Engine,
    worker: Worker,
    rec: type[recording.RecordingPublisher],
    dedupes: bool,
) -> None:
    channel = _channel(world)
    if dedupes:
        channel = recording.deduplicating(world.session, admin=world.admin, channel=channel)
    post = _due_post(world, _approved_piece(world), channel, ago=timedelta(seconds=5))
    rec.script.append(TransientError("the receiver did not answer in time", ambiguous=True))
    worker.sweep()
    state = _reload(engine, post.id)
    if dedupes:
        assert state.status == PostStatus.planned  # sent again later with the same key
        assert state.next_attempt_at is not None
    else:
        assert state.status == PostStatus.needs_check
        assert "may have gone out" in (state.last_error or "")
        assert _moves(engine, post.id)[-1] == "suspect"
    assert len(rec.calls) == 1


def test_an_unambiguous_failure_is_retried_on_any_channel(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    post = _due_post(world, _approved_piece(world), _channel(world), ago=timedelta(seconds=5))
    rec.script.append(TransientError("cannot connect"))  # nothing was sent
    worker.sweep()
    assert _reload(engine, post.id).status == PostStatus.planned


def _webhook(world: World, sink: Sink, *, status_url: bool) -> Channel:
    settings: dict[str, object] = {"url": sink.url, "secret": "sink-secret", "timeout_seconds": 1}
    if status_url:
        settings["status_url"] = sink.status_url
    allow_private_network(world.session, world.admin)  # the sink listens on 127.0.0.1
    return channels.create_channel(
        world.session, actor=world.admin, kind="webhook", name="Intranet", settings=settings
    )


@pytest.mark.parametrize("fault", ["slow", "drop"])
def test_a_timeout_at_a_plain_receiver_is_never_sent_twice_and_a_lookup_settles_it(
    world: World, engine: Engine, fault: str
) -> None:
    faults = Faults(slow=1.0 if fault == "slow" else 0, drop=1.0 if fault == "drop" else 0)
    with Sink(faults=faults, delay=0) as sink:
        plain = _webhook(world, sink, status_url=True)
        post = _due_post(world, _approved_piece(world), plain, ago=timedelta(seconds=5))
        w = Worker(engine, worker_id="w", settings=FAST)
        try:
            first = w.sweep()
            assert _reload(engine, post.id).status == PostStatus.needs_check
            assert first.needs_check == 0  # not a crash: the verdict itself
            second = w.sweep()  # the lookup finds the post at the receiver
        finally:
            w.close()
        state = _reload(engine, post.id)
        assert second.found == 1
        assert (state.status, state.external_id) == (PostStatus.published, post.idempotency_key)
        assert sink.raw[post.idempotency_key] == 1
        assert _moves(engine, post.id)[-2:] == ["suspect", "found"]


def test_a_lookup_that_finds_nothing_sends_the_post_again_with_the_same_key(
    world: World, engine: Engine
) -> None:
    with Sink() as sink:
        plain = _webhook(world, sink, status_url=True)
        post = _due_post(world, _approved_piece(world), plain, ago=timedelta(seconds=5))
        with Session(engine) as s:  # a request that never arrived, left for a check
            s.exec(
                update(Post)
                .where(col(Post.id) == post.id)
                .values(status=PostStatus.needs_check, attempts=1)
            )
            s.commit()
        w = Worker(engine, worker_id="w", settings=FAST)
        try:
            result = w.sweep()
        finally:
            w.close()
        assert result.not_found == 1
        assert _reload(engine, post.id).status == PostStatus.published
        assert sink.raw[post.idempotency_key] == 1


def test_checks_nobody_can_look_up_do_not_crowd_out_those_a_lookup_settles(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    piece = _approved_piece(world)
    with Sink() as sink:
        plain = _webhook(world, sink, status_url=True)
        cannot = _channel(world, "No lookups")
        posts = [_due_post(world, piece, cannot, ago=timedelta(seconds=5)) for _ in range(3)]
        answerable = _due_post(world, piece, plain, ago=timedelta(seconds=5))
        with Session(engine) as s:
            s.exec(update(Post).values(status=PostStatus.needs_check, attempts=1))
            s.commit()
        result = publishing.resolve_checks(engine, now=utcnow(), limit=2)
    assert result.not_found == [answerable.id]  # the receiver never got it: sent again
    assert _reload(engine, answerable.id).status == PostStatus.planned
    assert {_reload(engine, p.id).status for p in posts} == {PostStatus.needs_check}


# --- 3. fencing: no request without a valid lease


def test_a_worker_whose_lease_ran_out_does_not_send(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    post = _due_post(world, _approved_piece(world), _channel(world), ago=timedelta(seconds=5))
    (delivery,) = _claim(engine, lease=1)
    gate = Gate(engine, "w1", max_age=0)
    gate.hold([delivery], time.monotonic() + 0.8)  # lease 1 s less the margin
    time.sleep(1.1)  # the worker stalls (SIGSTOP, a long GC pause) past its lease
    with Session(engine) as s:
        assert publishing.recover_expired(s, now=utcnow()).requeued == [post.id]
    publishing.deliver(engine, delivery, gate)
    assert rec.calls == []
    assert "lease" in delivery.withheld
    _finish(engine, [delivery])  # the post is no longer ours: nothing changes
    assert _reload(engine, post.id).status == PostStatus.planned


def test_a_lost_renewal_stops_the_sends_of_those_posts(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    post = _due_post(world, _approved_piece(world), _channel(world), ago=timedelta(seconds=5))
    (delivery,) = _claim(engine)
    gate = _gate(engine, [delivery])
    with Session(engine) as s:  # someone else holds the post now
        s.exec(update(Post).where(col(Post.id) == post.id).values(claimed_by="other"))
        s.commit()
    with Session(engine) as s:
        held = publishing.renew_leases(
            s, worker_id="w1", post_ids=[post.id or 0], lease=timedelta(seconds=30)
        )
    assert held == []
    gate.renewed(held, [post.id or 0], time.monotonic() + 30)
    publishing.deliver(engine, delivery, gate)
    assert rec.calls == []


# --- 6. rate limits pause the channel


def test_a_429_pauses_the_whole_channel_for_every_worker(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    limited, other = _channel(world, "Limited"), _channel(world, "Other")
    piece = _approved_piece(world)
    first = _due_post(world, piece, limited, ago=timedelta(seconds=5))
    waiting = _due_post(world, piece, limited, ago=timedelta(seconds=4))
    elsewhere = _due_post(world, piece, other, ago=timedelta(seconds=3))
    one_at_a_time = EngineSettings(batch_size=1, threads=1, lease=timedelta(seconds=30))
    rec.script.append(RateLimited("slow down", retry_after=120))
    w = Worker(engine, worker_id="w", settings=one_at_a_time)
    try:
        w.sweep()
    finally:
        w.close()
    with Session(engine) as s:
        channel = s.get(Channel, limited.id)
        assert channel is not None and channel.paused_until is not None
        assert 110 < (channel.paused_until - utcnow()).total_seconds() <= 121
        assert "rate limited" in (channel.pause_reason or "")
    # The other post of that channel was not even tried; the other channel went on.
    assert [c.post_id for c in rec.calls] == [first.id, elsewhere.id]
    assert _reload(engine, waiting.id).status == PostStatus.planned
    assert _reload(engine, elsewhere.id).status == PostStatus.published
    with Session(engine) as s:
        assert publishing.status_summary(s, actor=world.admin).paused == [
            ("Limited", channel.paused_until)
        ]


def test_rate_limited_waits_never_carry_a_post_past_the_lateness_bound(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    post = _due_post(world, _approved_piece(world), _channel(world), ago=timedelta(hours=5))
    (delivery,) = _claim(engine)
    delivery.error = RateLimited("come back tomorrow", retry_after=2 * 3600)
    _finish(engine, [delivery])
    state = _reload(engine, post.id)
    assert state.status == PostStatus.failed
    assert "later than the post may go out" in (state.last_error or "")


def test_rate_limited_waits_count_against_the_attempt_budget(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    post = _due_post(world, _approved_piece(world), _channel(world), ago=timedelta(seconds=5))
    for _ in range(FAST.max_attempts + 1):
        with Session(engine) as s:  # the wait is over; the channel is not paused any more
            s.exec(update(Post).values(next_attempt_at=None))
            s.exec(update(Channel).values(paused_until=None))
            s.commit()
        deliveries = _claim(engine)
        if not deliveries:
            break
        rec.script.append(RateLimited("slow down", retry_after=1))
        publishing.deliver(engine, deliveries[0])
        _finish(engine, deliveries)
    state = _reload(engine, post.id)
    assert state.status == PostStatus.failed
    assert f"rate limited {FAST.max_attempts + 1} times" in (state.last_error or "")
    assert len(rec.calls) == FAST.max_attempts + 1


# --- 7. freeze and cancel apply until the request starts


def test_a_freeze_after_the_claim_stops_the_posts_not_yet_sent(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    piece = _approved_piece(world)
    channel = _channel(world)
    posts = [_due_post(world, piece, channel, ago=timedelta(seconds=5)) for _ in range(5)]
    deliveries = _claim(engine)
    gate = _gate(engine, deliveries)
    publishing.deliver(engine, deliveries[0], gate)  # one went out before the freeze
    org_settings.set_setting(world.session, actor=world.admin, key="publishing_frozen", value="on")
    for delivery in deliveries[1:]:
        publishing.deliver(engine, delivery, gate)
    assert [c.post_id for c in rec.calls] == [posts[0].id]
    _finish(engine, deliveries)
    assert [_reload(engine, p.id).status for p in posts] == [
        PostStatus.published,
        *[PostStatus.planned] * 4,
    ]
    assert all(_reload(engine, p.id).attempts == 0 for p in posts[1:])


def test_a_post_cancelled_while_being_sent_goes_out_only_if_its_request_had_started(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    piece = _approved_piece(world)
    channel = _channel(world)
    early, late = (_due_post(world, piece, channel, ago=timedelta(seconds=5)) for _ in "ab")
    deliveries = _claim(engine)
    gate = _gate(engine, deliveries)
    publishing.deliver(engine, deliveries[1], gate)  # the later one's request is out...
    for post in (early, late):  # ...when an editor cancels both
        planning.cancel_post(world.session, actor=world.editor, post_id=post.id or 0)
    publishing.deliver(engine, deliveries[0], gate)
    assert [c.post_id for c in rec.calls] == [late.id]
    _finish(engine, deliveries)
    assert _reload(engine, early.id).status == PostStatus.cancelled
    # What went out is on record as published, not hidden behind the cancel.
    state = _reload(engine, late.id)
    assert (state.status, state.external_id) == (PostStatus.published, f"ext-{late.id}")
    assert _moves(engine, late.id)[-2:] == ["cancel", "arrived"]


# --- 8. the channel's own checks run at the claim


def test_a_text_the_channel_would_refuse_fails_before_any_request(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    piece = _approved_piece(world)
    post = _due_post(world, piece, _channel(world), ago=timedelta(seconds=5))
    with Session(engine) as s:  # stored before the channel's checks ran (an older version)
        s.exec(update(Revision).where(col(Revision.piece_id) == piece.id).values(body="x" * 501))
        s.commit()
    worker.sweep()
    assert rec.calls == []
    state = _reload(engine, post.id)
    assert state.status == PostStatus.failed
    assert "would refuse" in (state.last_error or "")
    (attempt,) = _attempts(engine, post.id)
    assert attempt.outcome == "invalid"


# --- 4. the database goes away mid-sweep


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_terminated_database_connections_lose_no_result(
    world: World,
    engine: Engine,
    rec: type[recording.RecordingPublisher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    piece = _approved_piece(world)
    channel = _channel(world)
    posts = [_due_post(world, piece, channel, ago=timedelta(seconds=5)) for _ in range(6)]
    # The worker's own engine, named, so only its connections are terminated; without a
    # ping on checkout, so a terminated connection fails when it is next used, as it does
    # when the server restarts under a busy worker.
    name = f"planner-fault-{id(engine)}"
    own = named_engine(engine, name)
    rec.script.extend([0.4] * 6)  # every request takes 0.4 s
    settings = EngineSettings(batch_size=6, threads=2, lease=timedelta(seconds=30))
    w = Worker(own, worker_id="w", settings=settings)

    terminated: list[bool] = []

    def terminate() -> None:
        # Once the third request has started (the first two came back and are being
        # recorded, four requests still to come back), however slow the machine is.
        deadline = time.monotonic() + 30
        while len(rec.calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        terminated.extend(end_connections(engine, name))

    killer = threading.Thread(target=terminate)
    killer.start()
    try:
        with caplog.at_level(logging.WARNING):
            result = w.sweep()
    finally:
        killer.join()
        w.close()
        own.dispose()
    # The database went away under the worker: its connections were ended mid-sweep, and it
    # noticed (while it recorded a result, or wrote the ledger row of a request about to go
    # out: which comes first depends on timing)...
    assert any(terminated)
    outage = ("could not record", "lost the database connection")
    assert any(m in r.getMessage() for r in caplog.records for m in outage), caplog.text
    # ...and every result that came back was recorded once it answered again: each post
    # sent once and published, none left to a person.
    assert sorted(c.post_id for c in rec.calls) == sorted(p.id for p in posts)
    assert result.count(PostStatus.published) == 6
    assert [_reload(engine, p.id).status for p in posts] == [PostStatus.published] * 6


class _SigtermOnSkippedRun(logging.Handler):
    """Sends SIGTERM when the scheduler skips a sweep because the one sending a post still
    runs (once `in_flight()` says the request has started).

    The scheduler logs that while its loop holds the job store lock, before it moves the
    job to its next run time; the signal's handler then runs on that thread at once. This
    is the moment `docker stop` hit a worker in a CI run, which then ended in an error.
    """

    def __init__(self, in_flight: Callable[[], bool]) -> None:
        super().__init__()
        self.in_flight = in_flight
        self.sent = False

    def emit(self, record: logging.LogRecord) -> None:
        skipped = "maximum number of running instances" in record.getMessage()
        if skipped and not self.sent and self.in_flight():
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)


def test_sigterm_while_the_scheduler_skips_a_run_stops_the_worker_cleanly(
    world: World,
    engine: Engine,
    rec: type[recording.RecordingPublisher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    post = _due_post(world, _approved_piece(world), _channel(world), ago=timedelta(seconds=5))
    rec.script.append(2.0)  # the request outlasts several poll intervals
    w = Worker(engine, worker_id="w", settings=replace(FAST, poll_seconds=0.2))
    signaller = _SigtermOnSkippedRun(in_flight=lambda: bool(rec.calls))
    scheduler_log = logging.getLogger("apscheduler.scheduler")
    scheduler_log.addHandler(signaller)
    # Should the worker not stop, this stops it from another thread, and the test fails.
    hung: list[bool] = []
    guard = threading.Timer(60, lambda: (hung.append(True), w.stop()))
    guard.start()
    try:
        with caplog.at_level(logging.INFO):
            w.run_forever()  # returns: the signal ended the loop without an error
    finally:
        guard.cancel()
        scheduler_log.removeHandler(signaller)
    assert signaller.sent and not hung
    assert "signal 15: finishing the posts in flight, then stopping" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    # The request in flight was let finish and recorded: sent once, published.
    assert [c.post_id for c in rec.calls] == [post.id]
    assert _reload(engine, post.id).status == PostStatus.published
