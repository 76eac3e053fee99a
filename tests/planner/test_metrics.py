"""Metrics collection: the schedule's rounds, claims, rate limits, retries, the ledger.

Published posts on a Mastodon channel whose server is a pytest-httpserver on 127.0.0.1;
every request is checked as Mastodon expects it (path, bearer token). Time is injected
into the sweeps: nothing sleeps.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from secrets import token_hex

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select
from werkzeug import Request, Response

from planner import channels, org_settings, pieces
from planner.errors import ValidationFailed
from planner.metrics.collect import (
    Collector,
    CollectResult,
    MetricsSettings,
    claim_fetches,
    fetch,
    record_fetches,
)
from planner.metrics.schedule import parse_schedule
from planner.models import (
    Channel,
    MetricCollection,
    MetricFetch,
    MetricPause,
    MetricSnapshot,
    Post,
    PostStatus,
    utcnow,
)
from tests.conftest import World, utc
from tests.postgres_database import end_connections, named_engine

TOKEN = "metrics-" + token_hex(12)  # made per run
T0 = utc(2026, 11, 2, 9, 0)
ONE_THREAD = MetricsSettings(batch_size=10, threads=1, max_per_sweep=None)


@pytest.fixture
def collectors(engine: Engine) -> Iterator[list[Collector]]:
    made: list[Collector] = []
    yield made
    for collector in made:
        collector.close()


def _collector(
    engine: Engine, made: list[Collector], name: str = "w1", settings: MetricsSettings = ONE_THREAD
) -> Collector:
    collector = Collector(engine, worker_id=name, settings=settings)
    made.append(collector)
    return collector


def _mastodon(world: World, server: HTTPServer, name: str = "Mastodon") -> Channel:
    return channels.create_channel(
        world.session,
        actor=world.admin,
        kind="mastodon",
        name=name,
        settings={
            "instance_url": server.url_for("").rstrip("/"),
            "access_token": TOKEN,
            "timeout_seconds": 2,
        },
    )


def _published(world: World, channel: Channel, count: int = 1, at: datetime = T0) -> list[int]:
    """`count` posts of one approved piece, published on `channel` at `at`."""
    s = world.session
    piece = pieces.create_piece(s, actor=world.editor, data={"title": "Gruß", "body": "Hallo"})
    assert piece.id is not None and channel.id is not None
    posts = [
        Post(
            piece_id=piece.id,
            channel_id=channel.id,
            publish_at=at,
            published_at=at,
            status=PostStatus.published,
            external_id=str(1000 + i),
            created_by_id=world.editor.id,
        )
        for i in range(count)
    ]
    s.add_all(posts)
    s.commit()
    return [int(p.id) for p in posts if p.id is not None]


def _status(server: HTTPServer, external_id: str, favourites: int = 3) -> None:
    server.expect_request(
        f"/api/v1/statuses/{external_id}",
        method="GET",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).respond_with_json(
        {
            "id": external_id,
            "favourites_count": favourites,
            "reblogs_count": 1,
            "replies_count": 2,
        }
    )


def _snapshots(engine: Engine, post_id: int | None = None) -> list[MetricSnapshot]:
    with Session(engine) as s:
        query = select(MetricSnapshot).order_by(col(MetricSnapshot.id))
        if post_id is not None:
            query = query.where(MetricSnapshot.post_id == post_id)
        return list(s.exec(query))


def _collection(engine: Engine, post_id: int) -> MetricCollection:
    with Session(engine) as s:
        found = s.get(MetricCollection, post_id)
        assert found is not None
        return found


def _fetches(engine: Engine, post_id: int) -> list[MetricFetch]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(MetricFetch)
                .where(MetricFetch.post_id == post_id)
                .order_by(col(MetricFetch.id))
            )
        )


def test_rounds_follow_the_schedule_after_publishing(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    (post_id,) = _published(private_network, _mastodon(private_network, httpserver))
    _status(httpserver, "1000")
    collector = _collector(engine, collectors)

    early = collector.sweep(now=lambda: T0 + timedelta(minutes=30))
    assert (early.enrolled, early.claimed) == (1, 0)
    assert _collection(engine, post_id).next_due_at == T0 + timedelta(hours=1)

    first = collector.sweep(now=lambda: T0 + timedelta(hours=1, minutes=1))
    assert first.collected == [post_id]
    (snapshot,) = _snapshots(engine)
    assert (snapshot.reactions, snapshot.reposts, snapshot.replies) == (3, 1, 2)
    assert (snapshot.impressions, snapshot.link_clicks) == (None, None)  # Mastodon has none
    assert snapshot.raw["favourites_count"] == 3
    assert _collection(engine, post_id).next_due_at == T0 + timedelta(hours=24)

    assert collector.sweep(now=lambda: T0 + timedelta(hours=5)).claimed == 0
    assert collector.sweep(now=lambda: T0 + timedelta(hours=24)).collected == [post_id]
    # Down for weeks: the latest round due is taken once, the ones missed are not made up.
    assert collector.sweep(now=lambda: T0 + timedelta(days=22)).collected == [post_id]
    state = _collection(engine, post_id)
    assert (state.round, state.next_due_at) == (5, T0 + timedelta(days=28))
    assert collector.sweep(now=lambda: T0 + timedelta(days=29)).collected == [post_id]
    state = _collection(engine, post_id)
    assert (state.state, state.next_due_at) == ("done", None)
    assert collector.sweep(now=lambda: T0 + timedelta(days=60)).claimed == 0
    assert len(_snapshots(engine)) == 4
    assert len(httpserver.log) == 4
    assert [f.outcome for f in _fetches(engine, post_id)] == ["ok"] * 4


def test_a_post_older_than_the_schedule_gets_its_last_round_once(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    (post_id,) = _published(private_network, _mastodon(private_network, httpserver))
    _status(httpserver, "1000")
    collector = _collector(engine, collectors)
    assert collector.sweep(now=lambda: T0 + timedelta(days=90)).collected == [post_id]
    assert _collection(engine, post_id).state == "done"


def test_the_schedule_is_the_organisations_setting(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    world = private_network
    org_settings.set_setting(
        world.session, actor=world.admin, key="metrics_schedule", value=" 2H ,3d"
    )
    assert org_settings.get_setting(world.session, "metrics_schedule") == "2h, 3d"
    (post_id,) = _published(world, _mastodon(world, httpserver))
    _status(httpserver, "1000")
    collector = _collector(engine, collectors)
    assert collector.sweep(now=lambda: T0 + timedelta(hours=1, minutes=59)).claimed == 0
    assert collector.sweep(now=lambda: T0 + timedelta(hours=2)).collected == [post_id]
    assert _collection(engine, post_id).next_due_at == T0 + timedelta(days=3)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        pytest.param("", "at least one time", id="empty"),
        pytest.param("1h, soon", "'soon' is not a time after publishing", id="not-a-time"),
        pytest.param("1h, 30m", "'30m' does not come after", id="not-increasing"),
        pytest.param("1m", "outside 5m to 366d", id="too-soon"),
        pytest.param("400d", "outside 5m to 366d", id="too-late"),
    ],
)
def test_a_wrong_schedule_is_refused_with_its_reason(world: World, value: str, says: str) -> None:
    with pytest.raises(ValidationFailed, match=says):
        org_settings.set_setting(
            world.session, actor=world.admin, key="metrics_schedule", value=value
        )
    assert org_settings.get_setting(world.session, "metrics_schedule") == (
        "1h, 24h, 7d, 14d, 21d, 28d"
    )


def test_the_default_schedule_is_an_hour_a_day_a_week_then_weekly_for_a_month() -> None:
    assert parse_schedule("1h, 24h, 7d, 14d, 21d, 28d") == tuple(
        timedelta(hours=h) for h in (1, 24, 7 * 24, 14 * 24, 21 * 24, 28 * 24)
    )


def test_collection_switched_off_reads_nothing(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    world = private_network
    org_settings.set_setting(
        world.session, actor=world.admin, key="metrics_collection", value="off"
    )
    _published(world, _mastodon(world, httpserver))
    result = _collector(engine, collectors).sweep(now=lambda: T0 + timedelta(hours=2))
    assert (result.enrolled, result.claimed) == (0, 0)
    assert httpserver.log == []


def test_a_channel_that_cannot_report_is_never_claimed(
    engine: Engine, world: World, collectors: list[Collector]
) -> None:
    # The scripted test adapter reports no figures (reports_metrics is False).
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Feed", settings={}
    )
    (post_id,) = _published(world, channel)
    collector = _collector(engine, collectors)
    first = collector.sweep(now=lambda: T0 + timedelta(hours=2))
    assert (first.enrolled, first.claimed) == (1, 0)
    state = _collection(engine, post_id)
    assert (state.state, state.next_due_at) == ("unsupported", None)
    assert collector.sweep(now=lambda: T0 + timedelta(days=400)).claimed == 0
    assert _fetches(engine, post_id) == []


def test_a_429_pauses_the_channels_metrics_for_every_worker_not_its_publishing(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    channel = _mastodon(private_network, httpserver)
    first, second = _published(private_network, channel, count=2)
    httpserver.expect_oneshot_request("/api/v1/statuses/1000").respond_with_json(
        {"error": "Too many requests"}, status=429, headers={"Retry-After": "120"}
    )
    _status(httpserver, "1000")
    _status(httpserver, "1001")
    now = utcnow()
    result = _collector(engine, collectors).sweep(now=lambda: now)
    # The second post was not asked: the pause met on the first holds it back.
    assert len(httpserver.log) == 1
    assert (result.collected, result.withheld) == ([], 1)
    with Session(engine) as s:
        pause = s.get(MetricPause, channel.id)
        assert pause is not None
        assert now + timedelta(seconds=110) < pause.paused_until <= now + timedelta(seconds=121)
        stored = s.get(Channel, channel.id)
        assert stored is not None and stored.paused_until is None  # publishing goes on
    assert _collection(engine, first).attempts == 0  # a rate limit is no failed try
    assert [f.outcome for f in _fetches(engine, first)] == ["rate_limited"]
    assert _fetches(engine, first)[0].http_status == 429
    assert [f.outcome for f in _fetches(engine, second)] == ["withheld"]
    # Another worker sees the pause: nothing is claimed until it is over.
    other = _collector(engine, collectors, "w2")
    assert other.sweep(now=lambda: now + timedelta(seconds=60)).claimed == 0
    later = other.sweep(now=lambda: now + timedelta(seconds=130))
    assert sorted(later.collected) == [first, second]
    assert len(httpserver.log) == 3


def test_a_transient_error_is_retried_at_a_later_sweep_with_backoff(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    (post_id,) = _published(private_network, _mastodon(private_network, httpserver))
    httpserver.expect_oneshot_request("/api/v1/statuses/1000").respond_with_json(
        {"error": "Service Unavailable"}, status=503
    )
    _status(httpserver, "1000")
    collector = _collector(engine, collectors)
    now = T0 + timedelta(hours=1)
    result = collector.sweep(now=lambda: now)
    assert (result.collected, result.retried) == ([], 1)
    state = _collection(engine, post_id)
    assert state.attempts == 1 and state.last_error is not None
    assert state.next_due_at is not None and now < state.next_due_at <= now + timedelta(minutes=2)
    assert collector.sweep(now=lambda: now + timedelta(seconds=30)).claimed == 0
    assert collector.sweep(now=lambda: now + timedelta(minutes=3)).collected == [post_id]
    state = _collection(engine, post_id)
    assert (state.attempts, state.last_error, state.round) == (0, None, 1)
    assert [(f.outcome, f.http_status) for f in _fetches(engine, post_id)] == [
        ("transient", 503),
        ("ok", 200),
    ]


def test_a_round_failing_too_often_is_skipped(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    (post_id,) = _published(private_network, _mastodon(private_network, httpserver))
    httpserver.expect_request("/api/v1/statuses/1000").respond_with_json(
        {"error": "Bad Gateway"}, status=502
    )
    collector = _collector(engine, collectors)
    now = T0 + timedelta(hours=1)
    for step in range(ONE_THREAD.max_attempts):
        collector.sweep(now=lambda step=step: now + timedelta(hours=2 * step))
    state = _collection(engine, post_id)
    assert (state.round, state.attempts, state.state) == (1, 0, "active")
    assert "Bad Gateway" in (state.last_error or "")
    assert len(httpserver.log) == ONE_THREAD.max_attempts
    assert _snapshots(engine) == []


def test_a_permanent_error_is_recorded_and_the_round_skipped(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    (post_id,) = _published(private_network, _mastodon(private_network, httpserver))
    httpserver.expect_request("/api/v1/statuses/1000").respond_with_json(
        {"error": "This action is not allowed"}, status=403
    )
    result = _collector(engine, collectors).sweep(now=lambda: T0 + timedelta(hours=1))
    assert (result.collected, result.skipped) == ([], 1)
    state = _collection(engine, post_id)
    assert (state.round, state.next_due_at, state.state) == (1, T0 + timedelta(hours=24), "active")
    (attempt,) = _fetches(engine, post_id)
    assert (attempt.outcome, attempt.http_status) == ("auth", 403)
    assert "not allowed" in (attempt.error or "")


def test_a_post_deleted_on_the_network_ends_its_collection(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    (post_id,) = _published(private_network, _mastodon(private_network, httpserver))
    httpserver.expect_request("/api/v1/statuses/1000").respond_with_json(
        {"error": "Record not found"}, status=404
    )
    collector = _collector(engine, collectors)
    assert collector.sweep(now=lambda: T0 + timedelta(hours=1)).ended == 1
    state = _collection(engine, post_id)
    assert (state.state, state.next_due_at) == ("gone", None)
    assert collector.sweep(now=lambda: T0 + timedelta(days=8)).claimed == 0
    assert len(httpserver.log) == 1


def test_an_expired_lease_is_collected_by_another_worker_and_the_late_result_dropped(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    (post_id,) = _published(private_network, _mastodon(private_network, httpserver))
    _status(httpserver, "1000")
    now = T0 + timedelta(hours=1)
    collector = _collector(engine, collectors)
    collector.sweep(now=lambda: now - timedelta(minutes=1))  # enrol only
    # Worker "dead" claims the round and stops before recording anything.
    (claimed,) = claim_fetches(
        engine, worker_id="dead", now=now, limit=10, lease=timedelta(minutes=5)
    )
    assert collector.sweep(now=lambda: now + timedelta(minutes=1)).claimed == 0  # still leased
    result = collector.sweep(now=lambda: now + timedelta(minutes=6))
    assert result.collected == [post_id]
    # The dead worker wakes up with its answer: the round is stored once.
    late = CollectResult()
    record_fetches(
        engine,
        [fetch(claimed, collector.gate, deadline=float("inf"))],
        worker_id="dead",
        now=now + timedelta(minutes=7),
        offsets=parse_schedule("1h, 24h"),
        settings=ONE_THREAD,
        result=late,
    )
    assert (late.collected, late.lost) == ([], 1)
    assert len(_snapshots(engine, post_id)) == 1
    assert [f.outcome for f in _fetches(engine, post_id)] == ["lost_lease", "ok"]


def test_a_stopping_worker_releases_what_it_has_not_asked(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    # SIGTERM sets the stop: claimed collections whose request has not started go back.
    (post_id,) = _published(private_network, _mastodon(private_network, httpserver))
    _status(httpserver, "1000")
    now = T0 + timedelta(hours=1)
    stopping = _collector(engine, collectors, "stopping")
    stopping.sweep(now=lambda: now - timedelta(minutes=1))  # enrol only
    (claimed,) = claim_fetches(
        engine, worker_id="stopping", now=now, limit=10, lease=timedelta(minutes=5)
    )
    stopping.stop()
    result = CollectResult()
    record_fetches(
        engine,
        [fetch(claimed, stopping.gate, deadline=float("inf"))],
        worker_id="stopping",
        now=now,
        offsets=parse_schedule("1h, 24h"),
        settings=ONE_THREAD,
        result=result,
    )
    assert result.withheld == 1 and httpserver.log == []
    assert _collection(engine, post_id).claimed_by is None
    assert stopping.sweep(now=lambda: now).claimed == 0  # a stopped collector claims nothing
    assert _collector(engine, collectors, "next").sweep(now=lambda: now).collected == [post_id]


def test_several_workers_collect_each_round_exactly_once(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    channel = _mastodon(private_network, httpserver)
    ids = _published(private_network, channel, count=40)
    for i in range(40):
        _status(httpserver, str(1000 + i))
    settings = MetricsSettings(batch_size=3, threads=2, max_per_sweep=None)
    workers = [_collector(engine, collectors, f"w{n}", settings) for n in range(4)]
    now = T0 + timedelta(hours=1)
    workers[0].sweep(now=lambda: now - timedelta(minutes=1))  # enrol, so all start at once
    results: list[CollectResult] = []
    start = threading.Barrier(len(workers))

    def run(collector: Collector) -> None:
        start.wait()
        results.append(collector.sweep(now=lambda: now))

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(p for r in results for p in r.collected) == sorted(ids)
    assert Counter(s.post_id for s in _snapshots(engine)) == Counter(ids)
    assert len(httpserver.log) == 40
    with Session(engine) as s:
        fetches = list(s.exec(select(MetricFetch)))
    assert sorted(f.post_id for f in fetches) == sorted(ids)
    assert {f.outcome for f in fetches} == {"ok"}


def test_a_disabled_channel_is_not_asked(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    channel = _mastodon(private_network, httpserver)
    _published(private_network, channel)
    with Session(engine) as s:
        s.exec(update(Channel).where(col(Channel.id) == channel.id).values(enabled=False))
        s.commit()
    assert _collector(engine, collectors).sweep(now=lambda: T0 + timedelta(hours=2)).claimed == 0
    assert httpserver.log == []


def test_a_channel_publishing_found_rate_limited_is_left_to_publishing(
    engine: Engine, private_network: World, httpserver: HTTPServer, collectors: list[Collector]
) -> None:
    channel = _mastodon(private_network, httpserver)
    (post_id,) = _published(private_network, channel)
    _status(httpserver, "1000")
    now = T0 + timedelta(hours=2)
    with Session(engine) as s:
        s.exec(
            update(Channel)
            .where(col(Channel.id) == channel.id)
            .values(paused_until=now + timedelta(minutes=10))
        )
        s.commit()
    collector = _collector(engine, collectors)
    assert collector.sweep(now=lambda: now).claimed == 0
    assert httpserver.log == []
    assert collector.sweep(now=lambda: now + timedelta(minutes=11)).collected == [post_id]


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_results_read_while_the_database_went_away_are_recorded_once_it_answers(
    engine: Engine,
    private_network: World,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ids = _published(private_network, _mastodon(private_network, httpserver), count=3)
    # The collector's own engine, named, so only its connections are terminated; without a
    # ping on checkout, so a terminated connection fails when it is next used.
    name = f"planner-metrics-fault-{id(engine)}"
    own = named_engine(engine, name)
    terminated: list[bool] = []

    def answer(request: Request) -> Response:
        if request.path.endswith("/1002"):  # the batch's last request: the database restarts
            terminated.extend(end_connections(engine, name))
        return Response('{"favourites_count": 4}', content_type="application/json")

    for i in range(3):
        httpserver.expect_request(f"/api/v1/statuses/{1000 + i}").respond_with_handler(answer)
    collector = Collector(own, worker_id="w1", settings=ONE_THREAD)
    try:
        with caplog.at_level(logging.WARNING):
            result = collector.sweep(now=lambda: T0 + timedelta(hours=1))
    finally:
        collector.close()
        own.dispose()
    assert any(terminated)
    assert "could not record 3 metrics result(s)" in caplog.text
    assert sorted(result.collected) == sorted(ids)
    assert Counter(s.post_id for s in _snapshots(engine)) == Counter(ids)
    assert len(httpserver.log) == 3  # nothing was asked twice
