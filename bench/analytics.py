"""Analytics benchmark: the service calls of the Analytics page at 100 000 posts with a
year of metrics, against the page's 300 ms target.

Run from the repository root:

    .venv/bin/python bench/analytics.py                                # SQLite, 100 000 posts
    .venv/bin/python bench/analytics.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/analytics.py --posts 10000 --runs 3 --sqlite-only

It fills a fresh, migrated database (a temporary SQLite file, or a scratch schema in the
PostgreSQL database given by `--postgres` or PLANNER_TEST_POSTGRES_URL, dropped
afterwards) directly with rows: 5 channels, 2 departments, one idea and piece per 4 posts,
`--posts` published posts spread over the last 365 days, and `--snapshots` metric
snapshots per post collected over the days after it was published. Then `ANALYZE`.

For each case it times, with `perf_counter`, the calls the Analytics page makes in one run
(filter choices, engagement over time, top pieces, one channel's best-time grid,
department totals), as an editor (sees everything) and as a contributor (their
department only): once to warm up, then `--runs` times; the median is printed, in
wall-clock and in CPU milliseconds of the calling thread (with SQLite that is the
queries' own cost, which the machine's other work barely moves). The page's default
period is its last 30 days; 90 days and the year (the whole history) are timed too. With
`--apptest` the page itself is also run under Streamlit's AppTest (its server-side time,
signed in as the editor). Nothing is asserted; it prints a table. Results:
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench.databases import scratch_database  # noqa: E402
from planner import analytics  # noqa: E402
from planner.db import make_engine  # noqa: E402
from planner.migrate import upgrade  # noqa: E402
from planner.models import (  # noqa: E402
    Channel,
    Department,
    Idea,
    MetricSnapshot,
    Piece,
    Post,
    PostStatus,
    Role,
    User,
)
from planner.permissions import can  # noqa: E402

TARGET_MS = 300.0
DAYS_30, DAYS_90 = timedelta(days=30), timedelta(days=90)
CHANNELS = ("Blog", "LinkedIn", "Mastodon", "Bluesky", "Newsletter")


def fill(url: str, posts: int, snapshots: int, now: datetime) -> float:
    """Fill the database with `posts` published posts and their snapshots; seconds taken."""
    started = time.perf_counter()
    rng = random.Random(42)  # noqa: S311 (made-up figures, not secrets)
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(Department), [{"id": 1, "name": "Marketing"}, {"id": 2, "name": "HR"}])
        people = [
            ("editor", Role.editor, None),
            ("contrib", Role.contributor, 1),
        ]
        conn.execute(
            insert(User),
            [
                {
                    "id": i + 1,
                    "username": name,
                    "display_name": name.title(),
                    "role": role,
                    "department_id": dep,
                    "password_hash": "-",
                    "created_at": now,
                }
                for i, (name, role, dep) in enumerate(people)
            ],
        )
        conn.execute(
            insert(Channel),
            [
                {"id": i + 1, "kind": "webhook", "name": name, "settings": {}, "created_at": now}
                for i, name in enumerate(CHANNELS)
            ],
        )
        pieces = max(1, posts // 4)
        for start in range(0, pieces, 10_000):
            ids = range(start + 1, min(pieces, start + 10_000) + 1)
            conn.execute(
                insert(Idea),
                [
                    {
                        "id": i,
                        "title": f"Idee {i}",
                        "pitch": "-",
                        "department_id": 1 + i % 2,
                        "submitted_by_id": 2,
                        "tags": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(Piece),
                [
                    {
                        "id": i,
                        "idea_id": i,
                        "title": f"Beitrag {i}",
                        "owner_id": 1,
                        "campaign": f"Kampagne {i % 12}",
                        "variants": {},
                        "tags": [],
                        "media": [],
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
        for start in range(0, posts, 10_000):
            rows, metrics = [], []
            for i in range(start + 1, min(posts, start + 10_000) + 1):
                at = now - timedelta(seconds=rng.randrange(365 * 86400))
                at = at.replace(minute=0, second=0, microsecond=0)
                rows.append(
                    {
                        "id": i,
                        "piece_id": 1 + (i - 1) % pieces,
                        "channel_id": 1 + i % len(CHANNELS),
                        "publish_at": at,
                        "published_at": at,
                        "status": PostStatus.published,
                        "media": [],
                        "idempotency_key": uuid.uuid4().hex,
                        "created_by_id": 1,
                        "created_at": at,
                    }
                )
                reactions = 0
                for n in range(snapshots):
                    reactions += rng.randrange(20)
                    metrics.append(
                        {
                            "post_id": i,
                            "collected_at": min(now, at + timedelta(days=n, hours=1)),
                            "impressions": None if i % 5 == 0 else reactions * 30,
                            "reactions": reactions,
                            "reposts": reactions // 4,
                            "replies": reactions // 6,
                            "link_clicks": None if i % 3 == 0 else reactions // 2,
                            "raw": {},
                        }
                    )
            conn.execute(insert(Post), rows)
            conn.execute(insert(MetricSnapshot), metrics)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def page_calls(session: Session, user: User, since: datetime, until: datetime) -> None:
    """What one run of the Analytics page asks of the service."""
    analytics.filter_choices(session, actor=user)
    analytics.engagement_over_time(
        session, actor=user, since=since, until=until, by="channel", period="week"
    )
    analytics.top_pieces(session, actor=user, since=since, until=until)
    if can(user, "view_pieces"):  # the page shows the heat map to those who see channels
        analytics.best_times(session, actor=user, channel="Blog", since=since, until=until)
    analytics.department_reach(session, actor=user, since=since, until=until)


def timed(call: Callable[[], Any], runs: int) -> float:
    """The median milliseconds of `runs` calls, after one to warm up."""
    return timed_cpu(call, runs)[0]


def timed_cpu(call: Callable[[], Any], runs: int) -> tuple[float, float]:
    """The median wall-clock and thread CPU milliseconds of `runs` calls, after one to warm
    up. With SQLite the query runs in this thread, so its CPU time is the query's cost
    whatever else the machine does; PostgreSQL's work is in the server, not here."""
    call()
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.thread_time()
        call()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def apptest_ms(url: str, runs: int) -> float:
    """The Analytics page's server-side time under AppTest, signed in as the editor: the
    median of `runs` reruns of the page (the app's entry script included), after the first
    run of the editor's default page and one run of this one."""
    from streamlit.testing.v1 import AppTest

    from planner.ui import keys

    os.environ["PLANNER_DATABASE_URL"] = url
    os.environ.setdefault("PLANNER_EMBEDDED_SCHEDULER", "0")
    at = AppTest.from_file(str(REPO_ROOT / "planner_app.py"), default_timeout=120)
    at.session_state[keys.USER_ID] = 1
    at.run()
    at.switch_page("planner/ui/pages/analytics.py")

    def run() -> None:
        at.run()
        if at.exception:
            raise RuntimeError(at.exception[0].message)

    return timed(run, runs)


def cases(session: Session, now: datetime) -> list[tuple[str, Callable[[User], Any], bool]]:
    """What is timed, by name: a call as one user, and whether only editors may make it
    (the heat map and the suggestions name channels, which contributors do not see)."""
    year = now - timedelta(days=366)
    return [
        (
            "page, last 30 days (its default)",
            lambda u: page_calls(session, u, now - DAYS_30, now),
            False,
        ),
        ("page, last 90 days", lambda u: page_calls(session, u, now - DAYS_90, now), False),
        ("page, whole year", lambda u: page_calls(session, u, year, now), False),
        (
            "engagement over time, year, by day",
            lambda u: analytics.engagement_over_time(
                session, actor=u, since=year, until=now, period="day"
            ),
            False,
        ),
        (
            "engagement over time, year 2 to 9998 (the CLI takes any period)",
            lambda u: analytics.engagement_over_time(
                session,
                actor=u,
                since=datetime(2, 1, 1, tzinfo=UTC),
                until=datetime(9998, 12, 31, tzinfo=UTC),
                period="month",
            ),
            False,
        ),
        (
            "top pieces, year",
            lambda u: analytics.top_pieces(session, actor=u, since=year, until=now),
            False,
        ),
        (
            "best-time grid, one channel, year",
            lambda u: analytics.best_times(session, actor=u, channel="Blog"),
            True,
        ),
        (
            "suggest_times (planning form)",
            lambda u: analytics.suggest_times(session, actor=u, channel="Blog"),
            True,
        ),
    ]


def measure(url: str, backend: str, now: datetime, runs: int) -> None:
    """Print one table row per case, as the editor and as the contributor ("-" where a
    contributor may not make the call)."""
    engine = make_engine(url)
    with Session(engine) as session:
        editor, contrib = session.get(User, 1), session.get(User, 2)
        assert editor is not None and contrib is not None
        for name, case, editors_only in cases(session, now):
            ed, ed_cpu = timed_cpu(lambda: case(editor), runs)  # noqa: B023 (called right here)
            shown = "| - | - "
            if not editors_only:
                co, co_cpu = timed_cpu(lambda: case(contrib), runs)  # noqa: B023
                shown = f"| {co:.0f} | {co_cpu:.0f} "
            print(f"| {backend} | {name} | {ed:.0f} | {ed_cpu:.0f} {shown}| {TARGET_MS:.0f} |")
    engine.dispose()


def main() -> None:
    """Fill, time, print."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--snapshots", type=int, default=5, help="snapshots per post")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres", default=None, help="also on this PostgreSQL URL")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--apptest", action="store_true", help="also time the page (AppTest)")
    args = parser.parse_args()
    postgres = (
        None if args.sqlite_only else args.postgres or os.environ.get("PLANNER_TEST_POSTGRES_URL")
    )
    now = datetime.now(UTC).replace(microsecond=0)
    print(
        f"# {platform.node()} {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}, "
        f"{now:%Y-%m-%d %H:%M} UTC; {args.posts} posts x {args.snapshots} snapshots; "
        f"median of {args.runs}"
    )
    print(
        "| backend | case | editor ms | editor CPU ms | contributor ms | contributor CPU ms "
        "| target ms |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for backend, server in [("sqlite", None), *([("postgresql", postgres)] if postgres else [])]:
        with scratch_database(server, name="analytics") as url:
            seconds = fill(url, args.posts, args.snapshots, now)
            print(f"<!-- {backend}: filled in {seconds:.0f} s -->")
            measure(url, backend, now, args.runs)
            if args.apptest:
                ms = apptest_ms(url, args.runs)
                name = "Analytics page under AppTest (editor)"
                print(f"| {backend} | {name} | {ms:.0f} | | | | {TARGET_MS:.0f} |")


if __name__ == "__main__":
    main()
