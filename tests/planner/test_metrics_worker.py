"""Metrics collection in real `python -m planner worker` processes: SIGTERM drains it.

Uses the processes and databases of the exactly-once tests; the Mastodon server is a
pytest-httpserver on 127.0.0.1 that answers each status request after a short wait, so a
sweep is still running when the signal comes.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from datetime import timedelta
from secrets import token_hex

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import Session, select
from werkzeug import Request, Response

from planner import channels, pieces
from planner.models import MetricCollection, MetricFetch, MetricSnapshot, Post, PostStatus, utcnow
from tests.conftest import World, allow_private_network
from tests.planner import test_exactly_once as e2e
from tests.planner.test_exactly_once import Database, Processes, _start_workers, wait_for

database = e2e.database
processes = e2e.processes

TOKEN = "worker-metrics-" + token_hex(10)  # made per run
POSTS = 16


def _slow_status(request: Request) -> Response:
    assert request.headers.get("Authorization") == f"Bearer {TOKEN}"
    time.sleep(0.3)
    status_id = request.path.rsplit("/", 1)[-1]
    return Response(
        f'{{"id": "{status_id}", "favourites_count": 5, "reblogs_count": 1, "replies_count": 0}}',
        content_type="application/json",
    )


def _published(database: Database, server: HTTPServer) -> None:
    with Session(database.engine, expire_on_commit=False) as s:
        world = World(s)
        allow_private_network(s, world.admin)
        channel = channels.create_channel(
            s,
            actor=world.admin,
            kind="mastodon",
            name="Mastodon",
            settings={
                "instance_url": server.url_for("").rstrip("/"),
                "access_token": TOKEN,
                "timeout_seconds": 5,
            },
        )
        piece = pieces.create_piece(s, actor=world.editor, data={"title": "Gruß", "body": "Hi"})
        published = utcnow() - timedelta(hours=2)
        s.add_all(
            Post(
                piece_id=piece.id or 0,
                channel_id=channel.id or 0,
                publish_at=published,
                published_at=published,
                status=PostStatus.published,
                external_id=str(5000 + i),
                created_by_id=world.editor.id or 0,
            )
            for i in range(POSTS)
        )
        s.commit()


def _rows(
    database: Database,
) -> tuple[list[MetricCollection], list[MetricSnapshot], list[MetricFetch]]:
    with Session(database.engine) as s:
        return (
            list(s.exec(select(MetricCollection))),
            list(s.exec(select(MetricSnapshot))),
            list(s.exec(select(MetricFetch))),
        )


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_sigterm_records_the_figures_read_and_releases_the_rest(
    database: Database, processes: Processes, httpserver: HTTPServer
) -> None:
    lock = threading.Lock()
    asked: list[str] = []

    def handler(request: Request) -> Response:
        with lock:
            asked.append(request.path)
        return _slow_status(request)

    for i in range(POSTS):
        httpserver.expect_request(f"/api/v1/statuses/{5000 + i}").respond_with_handler(handler)
    _published(database, httpserver)

    (worker,) = _start_workers(processes, database, 1, PLANNER_POLL_SECONDS="0.5")
    wait_for(lambda: len(asked) >= 3, timeout=60, what="metrics requests", procs=processes)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0, processes.logs()

    collections, snapshots, fetches = _rows(database)
    # Nothing stays claimed; what was read is stored once, the rest goes back to the queue.
    assert [c.claimed_by for c in collections] == [None] * POSTS
    assert 0 < len(snapshots) < POSTS
    assert Counter(s.post_id for s in snapshots).most_common(1)[0][1] == 1
    outcomes = Counter(f.outcome for f in fetches)
    assert set(outcomes) <= {"ok", "withheld"}, outcomes
    assert outcomes["ok"] == len(snapshots)

    (successor,) = _start_workers(processes, database, 1, prefix="successor")
    wait_for(
        lambda: len(_rows(database)[1]) == POSTS,
        timeout=90,
        what="the rest to be collected",
        procs=processes,
        alive=(successor,),
        interval=0.25,
    )
    processes.stop(successor)
    _collections, snapshots, _fetches = _rows(database)
    assert sorted(Counter(s.post_id for s in snapshots).values()) == [1] * POSTS
