"""The publishing engine with a recording adapter, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from planner import (
    channels,
    credentials,
    notifications,
    org_settings,
    pieces,
    planning,
    publishing,
)
from planner import worker as worker_module
from planner.errors import IllegalTransition, ValidationFailed
from planner.models import (
    AuditEvent,
    Channel,
    Piece,
    PieceStatus,
    Post,
    PostStatus,
    PublishAttempt,
    utcnow,
)
from planner.publishing import EngineSettings
from planner.worker import Worker
from publishers.base import (
    AuthError,
    ManualActionRequired,
    OutgoingPost,
    PermanentError,
    Publisher,
    RateLimited,
    Receipt,
    TransientError,
)
from publishers.wordpress import slug_for
from tests import recording
from tests.conftest import World

FAST = EngineSettings(
    batch_size=10,
    threads=2,
    lease=timedelta(seconds=30),
    max_attempts=3,
    retry_base_seconds=60,
    retry_cap_seconds=600,
    poll_seconds=1,
)


@pytest.fixture
def rec(recording_kind: type[recording.RecordingPublisher]) -> type[recording.RecordingPublisher]:
    return recording_kind


@pytest.fixture
def worker(engine: Engine, rec: type[recording.RecordingPublisher]) -> Iterator[Worker]:
    w = Worker(engine, worker_id="test-worker", settings=FAST)
    yield w
    w.close()


def _channel(world: World, name: str = "Feed", **settings: object) -> Channel:
    return channels.create_channel(
        world.session, actor=world.admin, kind="recording", name=name, settings=dict(settings)
    )


def _approved_piece(world: World, text: str = "Frohe Weihnachten!") -> Piece:
    s = world.session
    piece = pieces.create_piece(s, actor=world.editor, data={"title": "Gruß", "body": text})
    assert piece.id is not None
    pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
    return pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=1)


def _due_post(world: World, piece: Piece, channel: Channel, *, ago: timedelta) -> Post:
    """A post planned for the future, then time 'passes' so it was due `ago`."""
    assert piece.id is not None and channel.id is not None
    post = planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel=channel.id,
        when=utcnow() + timedelta(days=1),
    )
    post.publish_at = utcnow() - ago
    world.session.add(post)
    world.session.commit()
    return post


def _reload(engine: Engine, post_id: int | None) -> Post:
    with Session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        return post


def _attempts(engine: Engine, post_id: int | None) -> list[PublishAttempt]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(PublishAttempt)
                .where(PublishAttempt.post_id == post_id)
                .order_by(col(PublishAttempt.id))
            )
        )


def test_due_post_is_published_once_with_its_idempotency_key(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    channel = _channel(world)
    piece = _approved_piece(world)
    due = _due_post(world, piece, channel, ago=timedelta(minutes=1))
    later = planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id or 0,
        channel=channel.id or 0,
        when=utcnow() + timedelta(hours=2),
    )
    result = worker.sweep()
    assert result.claimed == 1
    assert [(c.post_id, c.key) for c in rec.calls] == [(due.id, due.idempotency_key)]
    assert rec.calls[0].text == "Frohe Weihnachten!"
    post = _reload(engine, due.id)
    assert post.status == PostStatus.published
    assert post.external_id == f"ext-{due.id}"
    assert post.published_at is not None
    assert _reload(engine, later.id).status == PostStatus.planned
    (attempt,) = _attempts(engine, due.id)
    assert attempt.outcome == "published"
    assert attempt.worker == "test-worker"
    assert attempt.http_status == 201
    assert attempt.finished_at is not None
    assert worker.sweep().claimed == 0
    assert len(rec.calls) == 1


def test_the_channel_variant_is_sent_instead_of_the_master_text(
    world: World, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    channel = _channel(world)
    s = world.session
    piece = pieces.create_piece(s, actor=world.editor, data={"title": "Gruß", "body": "Lang"})
    assert piece.id is not None and channel.id is not None
    pieces.edit_piece(
        s,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=1,
        data={"variants": {channel.id: "Kurz #Advent"}},
    )
    pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
    piece = pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=2)
    _due_post(world, piece, channel, ago=timedelta(seconds=5))
    worker.sweep()
    assert [c.text for c in rec.calls] == ["Kurz #Advent"]


@pytest.mark.parametrize("change", ["unapproved", "edited_after_approval"])
def test_due_post_is_held_when_piece_is_not_approved_as_is(
    world: World,
    engine: Engine,
    worker: Worker,
    rec: type[recording.RecordingPublisher],
    change: str,
) -> None:
    channel = _channel(world)
    s = world.session
    if change == "unapproved":
        piece = pieces.create_piece(s, actor=world.editor, data={"title": "Entwurf"})
        expected = planning.HoldReason.not_approved
    else:
        piece = _approved_piece(world)
        assert piece.id is not None
        pieces.edit_piece(
            s,
            actor=world.editor,
            piece_id=piece.id,
            expected_revision=1,
            data={"body": "Nachträglich geändert"},
        )
        expected = planning.HoldReason.changed_after_approval
    post = _due_post(world, piece, channel, ago=timedelta(minutes=1))
    assert worker.sweep().claimed == 0
    assert rec.calls == []
    assert _reload(engine, post.id).status == PostStatus.planned
    with Session(engine) as fresh:
        held = planning.held_posts(fresh, actor=world.admin)
    assert [(h.post.id, h.reason) for h in held] == [(post.id, expected)]


def test_transient_errors_back_off_with_jitter_then_fail(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    channel = _channel(world)
    post = _due_post(world, _approved_piece(world), channel, ago=timedelta(seconds=1))
    rec.script.append(TransientError("upstream timeout", http_status=503))
    before = utcnow()
    worker.sweep()
    retried = _reload(engine, post.id)
    assert retried.status == PostStatus.planned
    assert retried.last_error == "upstream timeout"
    assert retried.next_attempt_at is not None
    wait = (retried.next_attempt_at - before).total_seconds()
    assert 0.5 * 60 - 1 <= wait <= 60 + 2  # base 60 s, jitter 50-100 %
    assert worker.sweep().claimed == 0  # not before the backoff is over

    for failure in (2, 3):
        with Session(engine) as s:  # let the backoff pass
            p = s.get(Post, post.id)
            assert p is not None
            p.next_attempt_at = utcnow() - timedelta(seconds=1)
            s.add(p)
            s.commit()
        rec.script.append(TransientError("still down", http_status=502))
        worker.sweep()
        state = _reload(engine, post.id)
        if failure < FAST.max_attempts:
            assert state.status == PostStatus.planned
    final = _reload(engine, post.id)
    assert final.status == PostStatus.failed
    assert final.last_error == "gave up after 3 attempts: still down"
    assert [a.outcome for a in _attempts(engine, post.id)] == ["transient"] * 3
    assert [a.http_status for a in _attempts(engine, post.id)] == [503, 502, 502]


def test_backoff_doubles_up_to_the_cap() -> None:
    settings = EngineSettings(retry_base_seconds=30, retry_cap_seconds=200)
    top = random.Random(1)
    ceilings = [
        max(publishing.backoff_seconds(settings, n, top) for _ in range(200)) for n in (1, 2, 3, 4)
    ]
    assert 25 < ceilings[0] <= 30
    assert 50 < ceilings[1] <= 60
    assert 100 < ceilings[2] <= 120
    assert 170 < ceilings[3] <= 200
    floors = [min(publishing.backoff_seconds(settings, 2, top) for _ in range(200))]
    assert floors[0] >= 30


def test_rate_limit_waits_exactly_as_long_as_the_channel_says(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    channel = _channel(world)
    post = _due_post(world, _approved_piece(world), channel, ago=timedelta(seconds=1))
    rec.script.append(RateLimited("slow down", retry_after=120))
    before = utcnow()
    worker.sweep()
    state = _reload(engine, post.id)
    assert state.status == PostStatus.planned
    assert state.next_attempt_at is not None
    assert 119 <= (state.next_attempt_at - before).total_seconds() <= 122
    (attempt,) = _attempts(engine, post.id)
    assert attempt.outcome == "rate_limited"
    assert attempt.http_status == 429


def test_permanent_error_fails_at_once_with_the_channel_message(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    channel = _channel(world)
    post = _due_post(world, _approved_piece(world), channel, ago=timedelta(seconds=1))
    rec.script.append(PermanentError("Text too long (max 500)", http_status=422))
    worker.sweep()
    state = _reload(engine, post.id)
    assert state.status == PostStatus.failed
    assert state.last_error == "Text too long (max 500)"
    assert len(rec.calls) == 1
    assert worker.sweep().claimed == 0


def test_auth_error_fails_and_flags_the_channel_so_its_posts_are_held(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    channel = _channel(world)
    piece = _approved_piece(world)
    first = _due_post(world, piece, channel, ago=timedelta(minutes=2))
    rec.script.append(AuthError("The access token was revoked", http_status=401))
    worker.settings = EngineSettings(batch_size=1, threads=1, lease=FAST.lease)
    worker.sweep(max_batches=1)
    second = _due_post(world, piece, channel, ago=timedelta(minutes=1))
    worker.sweep()
    assert _reload(engine, first.id).status == PostStatus.failed
    assert _reload(engine, first.id).last_error == "The access token was revoked"
    with Session(engine) as s:
        flagged = s.get(Channel, channel.id)
        assert flagged is not None and flagged.needs_reconnect
        held = planning.held_posts(s, actor=world.admin)
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "needs_reconnect")).all()
    assert [(h.post.id, h.reason) for h in held] == [
        (second.id, planning.HoldReason.channel_needs_reconnect)
    ]
    assert len(events) == 1
    assert len(rec.calls) == 1


@pytest.mark.parametrize(
    ("late", "expected"),
    [
        pytest.param(timedelta(hours=5), PostStatus.published, id="5h-late-goes-out"),
        pytest.param(timedelta(hours=7), PostStatus.missed, id="7h-late-is-missed"),
    ],
)
def test_lateness_bound_decides_between_publishing_late_and_missed(
    world: World, engine: Engine, worker: Worker, late: timedelta, expected: PostStatus
) -> None:
    post = _due_post(world, _approved_piece(world), _channel(world), ago=late)
    worker.sweep()
    assert _reload(engine, post.id).status == expected


def test_lateness_bound_comes_from_the_admin_setting(
    world: World, engine: Engine, worker: Worker
) -> None:
    org_settings.set_setting(world.session, actor=world.admin, key="max_lateness_hours", value="1")
    post = _due_post(world, _approved_piece(world), _channel(world), ago=timedelta(hours=2))
    assert worker.sweep().missed == 1
    assert _reload(engine, post.id).status == PostStatus.missed


def test_freeze_holds_everything_and_lifting_it_applies_the_lateness_rule(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    channel = _channel(world)
    piece = _approved_piece(world)
    recent = _due_post(world, piece, channel, ago=timedelta(minutes=5))
    org_settings.set_setting(world.session, actor=world.admin, key="publishing_frozen", value="on")
    assert worker.sweep().claimed == 0
    assert rec.calls == []
    with Session(engine) as s:
        assert {h.reason for h in planning.held_posts(s, actor=world.admin)} == {
            planning.HoldReason.frozen
        }
    old = _due_post(world, piece, channel, ago=timedelta(hours=8))
    org_settings.set_setting(world.session, actor=world.admin, key="publishing_frozen", value="off")
    worker.sweep()
    assert _reload(engine, recent.id).status == PostStatus.published
    assert _reload(engine, old.id).status == PostStatus.missed
    assert [c.post_id for c in rec.calls] == [recent.id]


def _crash_mid_request(world: World, engine: Engine, channel: Channel) -> Post:
    """A worker claimed the post, wrote its attempt row, and died before finishing."""
    post = _due_post(world, _approved_piece(world), channel, ago=timedelta(minutes=1))
    deliveries = publishing.claim_deliveries(
        engine,
        worker_id="dead-worker",
        now=utcnow(),
        limit=5,
        lease=timedelta(seconds=1),
        lateness=timedelta(hours=6),
    )
    assert [d.post_id for d in deliveries] == [post.id]
    if deliveries[0].attempt_id is None:  # the channel cannot deduplicate: row before send
        with Session(engine) as s:
            s.add(PublishAttempt(post_id=post.id or 0, worker="dead-worker"))
            s.commit()
    return post


def test_worker_dying_mid_request_on_a_channel_without_dedup_needs_a_human(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    post = _crash_mid_request(world, engine, _channel(world))
    time.sleep(1.1)  # the dead worker's lease runs out
    result = worker.sweep()
    assert result.needs_check == 1
    assert rec.calls == []
    state = _reload(engine, post.id)
    assert state.status == PostStatus.needs_check
    assert "check whether it went out" in (state.last_error or "")
    assert _attempts(engine, post.id)[0].outcome == "interrupted"
    publishing.mark_posted(
        world.session, actor=world.editor, post_id=post.id or 0, url="https://example.org/x"
    )
    assert _reload(engine, post.id).status == PostStatus.published


def test_worker_dying_on_a_deduplicating_channel_is_resent_with_the_same_key(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    channel = recording.deduplicating(world.session, admin=world.admin, channel=_channel(world))
    post = _crash_mid_request(world, engine, channel)
    time.sleep(1.1)
    result = worker.sweep()
    assert result.requeued == 1
    assert [c.key for c in rec.calls] == [post.idempotency_key]
    assert _reload(engine, post.id).status == PostStatus.published


def test_a_crash_mid_batch_sends_to_a_human_only_the_posts_whose_request_began(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    # A dead worker claimed four posts: two on a channel that cannot deduplicate, two on
    # one that can. It sent one of each, then died before recording anything.
    plain = _channel(world, "Plain")
    dedupe = recording.deduplicating(
        world.session, admin=world.admin, channel=_channel(world, "Dedupe")
    )
    piece = _approved_piece(world)
    posts = [
        _due_post(world, piece, channel, ago=timedelta(minutes=1))
        for channel in (plain, plain, dedupe, dedupe)
    ]
    deliveries = publishing.claim_deliveries(
        engine,
        worker_id="dead-worker",
        now=utcnow(),
        limit=10,
        lease=timedelta(seconds=1),
        lateness=timedelta(hours=6),
    )
    assert [d.post_id for d in deliveries] == sorted(p.id for p in posts)
    # Ledger rows before any request: for the deduplicating channel all at once; for the
    # other, each right before its own request.
    assert [len(_attempts(engine, p.id)) for p in posts] == [0, 0, 1, 1]
    sent = [publishing.deliver(engine, deliveries[0]), publishing.deliver(engine, deliveries[2])]
    assert [d.receipt is not None for d in sent] == [True, True]
    assert [len(_attempts(engine, p.id)) for p in posts] == [1, 0, 1, 1]
    rec.reset()
    time.sleep(1.1)  # the dead worker's lease runs out
    result = worker.sweep()
    assert result.needs_check == 1
    assert result.requeued == 3
    assert [_reload(engine, p.id).status for p in posts] == [
        PostStatus.needs_check,
        PostStatus.published,
        PostStatus.published,
        PostStatus.published,
    ]
    # The post that went out on the deduplicating channel is sent again with its key.
    assert sorted(c.key for c in rec.calls) == sorted(p.idempotency_key for p in posts[1:])


def _claim_with_a_short_lease(engine: Engine) -> list[publishing.Delivery]:
    """A slow worker's claim: its lease runs out after a second."""
    return publishing.claim_deliveries(
        engine,
        worker_id="slow-worker",
        now=utcnow(),
        limit=5,
        lease=timedelta(seconds=1),
        lateness=timedelta(hours=6),
    )


def test_a_success_after_the_lease_was_lost_answers_the_check_it_caused(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    post = _due_post(world, _approved_piece(world), _channel(world), ago=timedelta(minutes=1))
    (delivery,) = _claim_with_a_short_lease(engine)
    publishing.deliver(engine, delivery)
    time.sleep(1.1)
    with Session(engine) as s:  # meanwhile the lease ran out and a sweep recovered the post
        assert publishing.recover_expired(s, now=utcnow()).needs_check == [post.id]
    (outcome,) = publishing.finish_deliveries(
        engine, [delivery], worker_id="slow-worker", settings=FAST
    )
    # The receipt proves the post went out: the check is answered, once, on the record.
    assert (outcome.status, outcome.outcome) == (PostStatus.published, "published")
    state = _reload(engine, post.id)
    assert (state.status, state.external_id) == (PostStatus.published, f"ext-{post.id}")
    (attempt,) = _attempts(engine, post.id)
    assert attempt.outcome == "published"
    assert "lease lost before completion" in (attempt.error or "")
    with Session(engine) as s:
        moves = s.exec(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "post", AuditEvent.object_id == str(post.id))
            .order_by(col(AuditEvent.id))
        ).all()
    assert moves[-2:] == ["suspect", "found"]
    assert len(rec.calls) == 1


def _told(world: World, kind: str) -> list[tuple[str, int]]:
    return [
        (item.notification.object_type, item.notification.object_id)
        for item in notifications.list_notifications(world.session, actor=world.editor)
        if item.notification.kind == kind
    ]


@pytest.mark.parametrize("wanted", [True, False])
def test_whoever_cancelled_a_post_whose_request_had_begun_is_told_that_it_went_out(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher], wanted: bool
) -> None:
    kind = notifications.CANCELLED_POST_PUBLISHED
    if not wanted:  # turned off, as any kind can be
        notifications.set_preferences(
            world.session,
            actor=world.editor,
            choices=[notifications.Preference(kind, in_app=False, email=False)],
        )
    piece, channel = _approved_piece(world), _channel(world)
    sent, stopped = (_due_post(world, piece, channel, ago=timedelta(minutes=1)) for _ in "ab")
    deliveries = _claim_with_a_short_lease(engine)
    [out] = [d for d in deliveries if d.post_id == sent.id]
    publishing.deliver(engine, out)  # its request is out...
    for post in (sent, stopped):  # ...when the editor cancels both
        planning.cancel_post(world.session, actor=world.editor, post_id=post.id or 0)
    publishing.finish_deliveries(engine, [out], worker_id="slow-worker", settings=FAST)

    assert _reload(engine, sent.id).status == PostStatus.published
    assert _reload(engine, stopped.id).status == PostStatus.cancelled
    assert _told(world, kind) == ([("post", sent.id)] if wanted else [])


def test_a_failure_after_the_lease_was_lost_leaves_the_post_to_its_recovery(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    post = _due_post(world, _approved_piece(world), _channel(world), ago=timedelta(minutes=1))
    (delivery,) = _claim_with_a_short_lease(engine)
    rec.script.append(TransientError("upstream timeout", http_status=503))
    publishing.deliver(engine, delivery)
    time.sleep(1.1)
    with Session(engine) as s:
        assert publishing.recover_expired(s, now=utcnow()).needs_check == [post.id]
    (outcome,) = publishing.finish_deliveries(
        engine, [delivery], worker_id="slow-worker", settings=FAST
    )
    assert outcome.status == PostStatus.publishing  # not ours any more: nothing moved
    assert _reload(engine, post.id).status == PostStatus.needs_check
    (attempt,) = _attempts(engine, post.id)
    assert attempt.outcome == "transient"
    assert "lease lost before completion" in (attempt.error or "")


def test_slow_requests_renew_the_lease_so_nobody_takes_the_post_over(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    settings = EngineSettings(batch_size=1, threads=1, lease=timedelta(seconds=1))
    slow = Worker(engine, worker_id="slow", settings=settings)
    other = Worker(engine, worker_id="other", settings=settings)
    try:
        post = _due_post(world, _approved_piece(world), _channel(world), ago=timedelta(seconds=1))
        rec.script.append(2.5)  # the request takes longer than two leases
        runner = threading.Thread(target=slow.sweep)
        runner.start()
        time.sleep(1.6)
        assert other.sweep().requeued == 0
        runner.join()
    finally:
        slow.close()
        other.close()
    assert _reload(engine, post.id).status == PostStatus.published
    assert len(rec.calls) == 1


def test_a_slow_request_holds_up_no_other_posts_result(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    channel = _channel(world)
    piece = _approved_piece(world)
    first = _due_post(world, piece, channel, ago=timedelta(seconds=2))
    second = _due_post(world, piece, channel, ago=timedelta(seconds=1))
    rec.script.append(3.0)  # whichever request goes first takes three seconds
    runner = threading.Thread(target=worker.sweep)
    runner.start()
    try:
        deadline = time.monotonic() + 2.5
        states: set[PostStatus] = set()
        while time.monotonic() < deadline:
            states = {_reload(engine, p.id).status for p in (first, second)}
            if PostStatus.published in states:
                break
            time.sleep(0.05)
        # The fast post is recorded (post and ledger) while the slow one is still out.
        assert states == {PostStatus.published, PostStatus.publishing}
        fast = first if _reload(engine, first.id).status == PostStatus.published else second
        (attempt,) = _attempts(engine, fast.id)
        assert attempt.outcome == "published" and attempt.finished_at is not None
    finally:
        runner.join()
    assert {_reload(engine, p.id).status for p in (first, second)} == {PostStatus.published}
    with Session(engine) as s:
        stored = s.get(Piece, piece.id)
        assert stored is not None and stored.status == PieceStatus.published


def test_retry_and_cancel_from_the_publishing_queue(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    channel = _channel(world)
    piece = _approved_piece(world)
    post = _due_post(world, piece, channel, ago=timedelta(seconds=1))
    rec.script.append(PermanentError("Duplicate", http_status=422))
    worker.sweep()
    assert _reload(engine, post.id).status == PostStatus.failed
    publishing.retry_post(world.session, actor=world.editor, post_id=post.id or 0)
    worker.sweep()
    assert _reload(engine, post.id).status == PostStatus.published
    with pytest.raises(IllegalTransition, match="while it is 'published'"):
        publishing.retry_post(world.session, actor=world.editor, post_id=post.id or 0)
    other = _due_post(world, piece, channel, ago=timedelta(seconds=1))
    planning.cancel_post(world.session, actor=world.editor, post_id=other.id or 0, reason="Krise")
    assert worker.sweep().claimed == 0
    assert _reload(engine, other.id).status == PostStatus.cancelled


def test_piece_is_published_once_all_its_posts_are_out(
    world: World, engine: Engine, worker: Worker
) -> None:
    channel = _channel(world)
    piece = _approved_piece(world)
    _due_post(world, piece, channel, ago=timedelta(seconds=2))
    _due_post(world, piece, channel, ago=timedelta(seconds=1))
    worker.sweep()
    with Session(engine) as s:
        stored = s.get(Piece, piece.id)
        assert stored is not None
        assert stored.status == PieceStatus.published


def _piece_status(engine: Engine, piece: Piece) -> PieceStatus:
    with Session(engine) as s:
        stored = s.get(Piece, piece.id)
        assert stored is not None
        return stored.status


def test_the_worker_publishes_finished_pieces_the_step_after_a_cancel_did_not_reach(
    world: World,
    engine: Engine,
    rec: type[recording.RecordingPublisher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A piece left approved with its posts all out (the database went away right after a
    cancel, or an older version cancelled its last post) is published by a worker's look
    over all pieces: on its first sweep, then every ALL_PIECES_EVERY seconds."""
    channel = _channel(world)
    stuck, waiting = _approved_piece(world), _approved_piece(world, "Noch nicht")
    out = _due_post(world, stuck, channel, ago=timedelta(seconds=1))
    first = Worker(engine, worker_id="first-worker", settings=FAST)
    try:
        first.sweep()
        # What the cancel's own step would have published: the rows as they are after it.
        assert _piece_status(engine, stuck) == PieceStatus.published
        cancelled = [
            _due_post(world, p, channel, ago=timedelta(days=1)).id for p in (stuck, waiting)
        ]
        with Session(engine) as s:
            s.execute(update(Piece).where(col(Piece.id) == stuck.id).values(status="approved"))
            s.execute(update(Post).where(col(Post.id).in_(cancelled)).values(status="cancelled"))
            s.commit()
        assert _reload(engine, out.id).status == PostStatus.published
        # Within ALL_PIECES_EVERY of its last look, a worker does not look again ...
        first.sweep()
        assert _piece_status(engine, stuck) == PieceStatus.approved
        # ... and once that time has passed, it does.
        monkeypatch.setattr(worker_module, "ALL_PIECES_EVERY", 0.0)
        first.sweep()
    finally:
        first.close()
    assert _piece_status(engine, stuck) == PieceStatus.published
    # A piece none of whose posts went out stays approved, to be planned again.
    assert _piece_status(engine, waiting) == PieceStatus.approved


def test_status_summary_counts_and_lists_live_workers(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    channel = _channel(world)
    _due_post(
        world,
        pieces.create_piece(world.session, actor=world.editor, data={"title": "Entwurf"}),
        channel,
        ago=timedelta(minutes=1),
    )
    failing = _due_post(world, _approved_piece(world), channel, ago=timedelta(minutes=1))
    rec.script.append(PermanentError("nope", http_status=400))
    worker.sweep()
    with Session(engine) as s:
        summary = publishing.status_summary(s, actor=world.admin)
    assert [w.worker_id for w in summary.workers] == ["test-worker"]
    assert summary.workers[0].failed == 1
    assert (summary.due, summary.held, summary.failed) == (0, 1, 1)
    assert _reload(engine, failing.id).status == PostStatus.failed


def test_manual_channel_waits_for_a_person_to_post_and_give_the_url(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    post = _due_post(world, _approved_piece(world), _channel(world), ago=timedelta(seconds=1))
    rec.script.append(ManualActionRequired("Bitte auf XING posten: Frohe Weihnachten!"))
    worker.sweep()
    state = _reload(engine, post.id)
    assert state.status == PostStatus.awaiting_manual
    assert state.last_error == "Bitte auf XING posten: Frohe Weihnachten!"
    assert worker.sweep().claimed == 0  # nothing is sent again while a person is on it
    with pytest.raises(ValidationFailed) as caught:
        publishing.mark_posted(world.session, actor=world.editor, post_id=post.id or 0)
    assert "url" in caught.value.fields
    publishing.mark_posted(
        world.session,
        actor=world.editor,
        post_id=post.id or 0,
        url="https://www.xing.com/news/1",
    )
    done = _reload(engine, post.id)
    assert (done.status, done.external_url) == (PostStatus.published, "https://www.xing.com/news/1")
    with Session(engine) as s:
        piece = s.get(Piece, done.piece_id)
        assert piece is not None and piece.status == PieceStatus.published


def test_a_webhook_channel_saved_without_a_secret_publishes_nothing_and_says_why(
    world: World, engine: Engine, worker: Worker
) -> None:
    channel = channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "https://hooks.example.org/in", "secret": "hook-secret-for-test"},
    )
    post = _due_post(world, _approved_piece(world), channel, ago=timedelta(minutes=1))
    # As a channel made while webhooks could go unsigned is stored: no secret at all.
    channel.credentials = credentials.encrypt({})
    world.session.add(channel)
    world.session.commit()

    worker.sweep()

    state = _reload(engine, post.id)
    assert state.status == PostStatus.failed
    assert state.last_error is not None
    assert "needs a secret to sign" in state.last_error
    assert "channels edit NAME --secret secret" in state.last_error
    assert _attempts(engine, post.id)[-1].outcome != "published"


class _SlugSite(Publisher):
    """A site that finds a post by a slug made of its title and key, as WordPress does: the
    first post arrives but its answer is lost."""

    kind = "recording"
    display_name = "slug site"
    can_look_up = True
    settings_spec = ()

    def __init__(self, held: dict[str, str]) -> None:
        super().__init__({})
        self.held = held

    def publish(self, post: OutgoingPost, key: str) -> Receipt:
        slug = slug_for(post.title, key)
        first = not self.held
        self.held[slug] = post.text
        if first:
            raise TransientError("the site did not answer in time", ambiguous=True)
        return Receipt(external_id=slug)

    def lookup(self, post: OutgoingPost, key: str) -> Receipt | None:
        slug = slug_for(post.title, key)
        return Receipt(external_id=slug) if slug in self.held else None

    def check_connection(self) -> str:
        return "ok"


def test_a_check_after_an_unanswered_send_looks_for_the_text_sent_not_a_newer_one(
    world: World, engine: Engine, rec: type[recording.RecordingPublisher]
) -> None:
    held: dict[str, str] = {}
    piece = _approved_piece(world)
    assert piece.id is not None
    post = _due_post(world, piece, _channel(world), ago=timedelta(minutes=1))
    w = Worker(engine, worker_id="w", settings=FAST, adapter_factory=lambda _c: _SlugSite(held))
    try:
        w.sweep()
        assert _reload(engine, post.id).status == PostStatus.needs_check
        # The title is changed and approved again before the check.
        s = world.session
        edited = pieces.edit_piece(
            s, actor=world.editor, piece_id=piece.id, expected_revision=1, data={"title": "Neu"}
        )
        pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=edited.revision)
        w.sweep()
    finally:
        w.close()
    # Before, the check looked for "Neu", found nothing and sent the post a second time.
    assert len(held) == 1
    assert _reload(engine, post.id).status == PostStatus.published


def test_a_post_sent_again_by_a_person_gets_its_tries_anew(
    world: World, engine: Engine, worker: Worker, rec: type[recording.RecordingPublisher]
) -> None:
    post = _due_post(world, _approved_piece(world), _channel(world), ago=timedelta(minutes=1))

    def due_now() -> None:
        with engine.begin() as conn:
            conn.execute(update(Post).where(col(Post.id) == post.id).values(next_attempt_at=None))

    for _ in range(FAST.max_attempts):
        rec.script.append(TransientError("503 from the channel", http_status=503))
        worker.sweep()
        due_now()
    assert _reload(engine, post.id).status == PostStatus.failed
    publishing.retry_post(world.session, actor=world.editor, post_id=post.id)
    # The post gets its full tries again: the first two temporary errors are waited out.
    for _ in range(FAST.max_attempts - 1):
        rec.script.append(TransientError("503 from the channel", http_status=503))
        worker.sweep()
        # Before, the ledger's old failures counted: it failed for good at the first error.
        assert _reload(engine, post.id).status == PostStatus.planned
        due_now()
    rec.script.append(TransientError("503 from the channel", http_status=503))
    worker.sweep()
    again = _reload(engine, post.id)
    assert (again.status, again.last_error) == (
        PostStatus.failed,
        f"gave up after {FAST.max_attempts} attempts: 503 from the channel",
    )
