"""Posts held for reasons other than a rule (freeze, disabled channel, ...) are kept as
stretches of time by the sweeps that see them, so the process report lists the posts that
were held in a period, with why and until when; on both backends, with several workers."""

from __future__ import annotations

import io
import logging
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from planner import channels, org_settings, pieces, planning, process, publishing, report_output
from planner.models import Channel, Post, PostHold, PostStatus, utcnow
from planner.worker import Worker
from tests import recording
from tests.conftest import World
from tests.exported import csv_rows
from tests.planner.test_rules import SETTINGS, _approved, _channel, _due


def _freeze(world: World, on: bool) -> None:
    org_settings.set_setting(
        world.session, actor=world.admin, key="publishing_frozen", value="on" if on else "off"
    )


def _enable(world: World, channel: Channel, enabled: bool) -> None:
    assert channel.id is not None
    channels.set_enabled(world.session, actor=world.admin, ref=channel.id, enabled=enabled)


def _watch(engine: Engine, now: datetime) -> publishing.HoldChanges:
    with Session(engine) as session:
        return publishing.watch_holds(session, now=now)


def _stretches(engine: Engine) -> list[tuple[int, str, datetime, datetime | None]]:
    with Session(engine) as session:
        rows = session.exec(select(PostHold).order_by(col(PostHold.id)))
        return [(h.post_id, h.reason, h.started_at, h.ended_at) for h in rows]


def _report(world: World, since: datetime, until: datetime) -> process.ProcessReport:
    return process.process_report(world.session, actor=world.editor, since=since, until=until)


def test_a_freeze_is_kept_from_the_sweep_that_saw_it_to_the_one_that_saw_it_end(
    world: World, engine: Engine
) -> None:
    feed = _channel(world)
    start = utcnow()
    post = _due(world, _approved(world, feed), feed, start - timedelta(minutes=5))
    assert post.id is not None
    _freeze(world, True)

    first = _watch(engine, start + timedelta(minutes=1))
    again = _watch(engine, start + timedelta(minutes=2))  # still held: nothing new
    assert (first.started, first.ended, again.started, again.ended) == ([post.id], [], [], [])
    _freeze(world, False)
    ended = _watch(engine, start + timedelta(minutes=3))
    assert (ended.started, ended.ended) == ([], [post.id])
    assert _stretches(engine) == [
        (post.id, "frozen", start + timedelta(minutes=1), start + timedelta(minutes=3))
    ]

    report = _report(world, start - timedelta(hours=1), start + timedelta(hours=1))
    (was,) = [p for p in report.post_problems if p.post_id == post.id]
    assert (was.state, was.at, was.until, was.hold) == (
        "was_held",
        start + timedelta(minutes=1),
        start + timedelta(minutes=3),
        planning.HoldReason.frozen,
    )
    until = start + timedelta(minutes=3)
    assert was.reason == f"publishing is frozen (crisis freeze) (until {until:%Y-%m-%d %H:%M} UTC)"

    out = io.StringIO()
    report_output.process_csv(report, out)
    rows = [r for r in csv_rows(out.getvalue()) if r["measure"] == "was_held"]
    assert [r["name"] for r in rows] == [f"post {post.id} (Feed): Beitrag"]
    assert rows[0]["value"] == was.reason
    # Worded in the reader's language, the end of the hold gets a row of its own.
    out = io.StringIO()
    report_output.process_csv(report, out, describe_hold=lambda hold: f"<{hold.name}>")
    rows = [
        (r["measure"], r["value"])
        for r in csv_rows(out.getvalue())
        if r["name"] == f"post {post.id} (Feed): Beitrag"
    ]
    assert rows == [("was_held", "<frozen>"), ("held_until", until.isoformat())]
    page = report_output.process_html(report, describe_hold=lambda hold: f"<{hold.name}>")
    assert "<td>was held</td>" in page and "&lt;frozen&gt; (until " in page


def test_a_post_held_for_another_reason_ends_one_stretch_and_starts_the_next(
    world: World, engine: Engine
) -> None:
    feed = _channel(world)
    start = utcnow()
    post = _due(world, _approved(world, feed), feed, start - timedelta(minutes=5))
    _freeze(world, True)
    _enable(world, feed, False)
    _watch(engine, start + timedelta(minutes=1))  # the freeze comes first
    _freeze(world, False)
    changed = _watch(engine, start + timedelta(minutes=2))
    assert (changed.started, changed.ended) == ([post.id], [post.id])
    assert _stretches(engine) == [
        (post.id, "frozen", start + timedelta(minutes=1), start + timedelta(minutes=2)),
        (post.id, "channel_disabled", start + timedelta(minutes=2), None),
    ]
    # Held now: listed once as held now (the open stretch), plus the freeze before it.
    report = _report(world, start - timedelta(hours=1), start + timedelta(hours=1))
    states = sorted((p.state, p.hold) for p in report.post_problems if p.post_id == post.id)
    assert states == [
        ("held", planning.HoldReason.channel_disabled),
        ("was_held", planning.HoldReason.frozen),
    ]


def test_a_period_lists_only_the_stretches_that_overlap_it(world: World, engine: Engine) -> None:
    feed = _channel(world)
    start = utcnow()
    post = _due(world, _approved(world, feed), feed, start - timedelta(minutes=5))
    _freeze(world, True)
    _watch(engine, start + timedelta(minutes=10))
    _freeze(world, False)
    _watch(engine, start + timedelta(minutes=20))

    def listed(since: datetime, until: datetime) -> list[int]:
        return [
            p.post_id for p in _report(world, since, until).post_problems if p.state == "was_held"
        ]

    assert listed(start, start + timedelta(minutes=10)) == []  # ends as the hold starts
    assert listed(start, start + timedelta(minutes=11)) == [post.id]
    assert listed(start + timedelta(minutes=19), start + timedelta(hours=1)) == [post.id]
    assert listed(start + timedelta(minutes=20), start + timedelta(hours=1)) == []  # ended then


def test_workers_watching_at_once_keep_one_open_stretch_per_post(
    world: World, engine: Engine
) -> None:
    feed = _channel(world)
    piece = _approved(world, feed)
    start = utcnow()
    posts = [_due(world, piece, feed, start - timedelta(minutes=i)) for i in range(1, 13)]
    _freeze(world, True)
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def watch() -> None:
        try:
            barrier.wait(timeout=30)
            _watch(engine, start + timedelta(minutes=1))
        except BaseException as err:  # noqa: BLE001 - reported by the test below
            errors.append(err)

    threads = [threading.Thread(target=watch) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    stretches = _stretches(engine)
    assert sorted(s[0] for s in stretches) == sorted(p.id for p in posts if p.id)
    assert {(s[1], s[3]) for s in stretches} == {("frozen", None)}


def test_the_worker_notes_the_hold_and_its_end_when_the_post_goes_out(
    world: World, engine: Engine, recording_kind: type[recording.RecordingPublisher]
) -> None:
    feed = _channel(world)
    post = _due(world, _approved(world, feed), feed, utcnow() - timedelta(minutes=1))
    _freeze(world, True)
    worker = Worker(engine, worker_id="w-holds", settings=SETTINGS)
    try:
        worker.sweep()
        assert [(s[0], s[1], s[3]) for s in _stretches(engine)] == [(post.id, "frozen", None)]
        assert recording_kind.calls == []
        _freeze(world, False)
        worker.sweep()  # publishes it; the next sweep sees it no longer held
        worker.sweep()
    finally:
        worker.close()
    with Session(engine) as session:
        sent = session.get(Post, post.id)
        assert sent is not None and sent.status == PostStatus.published
    ((post_id, reason, started, ended),) = _stretches(engine)
    assert (post_id, reason) == (post.id, "frozen") and ended is not None and ended > started


def test_publishing_goes_on_when_the_holds_cannot_be_noted(
    world: World,
    engine: Engine,
    recording_kind: type[recording.RecordingPublisher],
    caplog: pytest.LogCaptureFixture,
) -> None:
    feed = _channel(world)
    post = _due(world, _approved(world, feed), feed, utcnow() - timedelta(minutes=1))
    world.session.commit()
    worker = Worker(engine, worker_id="w-away", settings=SETTINGS)
    # The holds' table is away (a broken database); it comes back afterwards, as the next
    # tests on this database need it.
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE post_holds RENAME TO post_holds_away"))
    try:
        with caplog.at_level(logging.WARNING, logger="planner.worker"):
            result = worker.sweep()
    finally:
        worker.close()
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE post_holds_away RENAME TO post_holds"))
    assert result.count(PostStatus.published) == 1
    assert [c.post_id for c in recording_kind.calls] == [post.id]
    assert "could not note the held posts" in caplog.text


def test_each_hold_is_noted_with_its_reason_and_a_releasable_post_is_not(
    world: World, engine: Engine
) -> None:
    start = utcnow()
    due = start - timedelta(minutes=5)
    feeds = {name: _channel(world, name) for name in ("Frei", "Aus", "Getrennt", "Pause")}
    posts = {name: _due(world, _approved(world, feed), feed, due) for name, feed in feeds.items()}
    edited = _approved(world, feeds["Frei"])
    posts["Geändert"] = _due(world, edited, feeds["Frei"], due)
    assert edited.id is not None
    pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=edited.id,
        expected_revision=edited.revision,
        data={"body": "Nachträglich geändert"},
    )
    _enable(world, feeds["Aus"], False)
    feeds["Getrennt"].needs_reconnect = True
    feeds["Pause"].paused_until = start + timedelta(hours=1)
    world.session.add_all([feeds["Getrennt"], feeds["Pause"]])
    world.session.commit()

    _watch(engine, start)
    noted = {post_id: reason for post_id, reason, _s, _e in _stretches(engine)}
    assert noted == {
        posts["Aus"].id: "channel_disabled",
        posts["Getrennt"].id: "channel_needs_reconnect",
        posts["Pause"].id: "channel_paused",
        posts["Geändert"].id: "changed_after_approval",
    }
    # The same reasons as the held list gives.
    held = planning.held_posts(world.session, actor=world.editor, now=start)
    assert {h.post.id: h.reason.name for h in held} == noted
