"""The kept latest figures (`latest_metrics`): the triggers keep each post's newest
snapshot whoever inserts, updates or deletes snapshots, in any order; analytics as of now
read them and give exactly what searching every post's snapshots gives, and a period that
ends in the past still gets the figures as they were then."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, update
from sqlmodel import Session, col, select

from planner import analytics
from planner.analytics import Figures
from planner.metrics import views as metrics_views
from planner.models import LatestMetrics, MetricSnapshot, Post, PostStatus, User
from tests import analytics_data as make
from tests.conftest import World, utc

MARCH, APRIL = utc(2026, 3, 1), utc(2026, 4, 1)
NOW = utc(2026, 12, 1)
AFTER_APRIL = utc(2026, 4, 10)  # the one snapshot collected after March's end


@pytest.fixture
def history(world: World) -> World:
    """March's posts with several snapshots each: A (Marketing's idea) on Blog (its newest
    snapshot collected after March) and Mastodon (two snapshots at one instant), B (HR's
    idea) on Blog (its older snapshot arrives after its newer one), C (no idea) on Blog
    without figures, and a planned post that never counts."""
    s = world.session
    blog, mastodon = make.channel(s, "Blog"), make.channel(s, "Mastodon")
    a = make.piece(s, world, "A: Messe", make.idea(s, world.contributor, "A: Messe"), "Herbst")
    b = make.piece(s, world, "B: Azubis", make.idea(s, world.hr_contributor, "B: Azubis"), "Herbst")
    c = make.piece(s, world, "C: Intern", None, "Herbst")
    a1 = make.post(s, world, a, blog, utc(2026, 3, 2, 8))
    make.snapshot(s, a1, utc(2026, 3, 2, 12), impressions=100, reactions=5, reposts=1, replies=0)
    make.snapshot(s, a1, utc(2026, 3, 5), impressions=300, reactions=10, reposts=2, replies=3)
    make.snapshot(s, a1, AFTER_APRIL, impressions=400, reactions=20, reposts=2, replies=3)
    a2 = make.post(s, world, a, mastodon, utc(2026, 3, 3, 10))
    make.snapshot(s, a2, utc(2026, 3, 4), reactions=4, reposts=0, replies=1, link_clicks=2)
    make.snapshot(s, a2, utc(2026, 3, 4), reactions=6, reposts=0, replies=1, link_clicks=2)
    b1 = make.post(s, world, b, blog, utc(2026, 3, 10, 8))
    make.snapshot(s, b1, utc(2026, 3, 20), impressions=80, reactions=8, link_clicks=3)
    make.snapshot(s, b1, utc(2026, 3, 11), impressions=50, reactions=1, link_clicks=1)
    make.post(s, world, c, blog, utc(2026, 3, 16, 8))
    make.post(s, world, a, blog, utc(2026, 3, 20, 8), PostStatus.planned)
    s.commit()
    return world


def test_the_publishing_pages_latest_figures_are_the_newest_collected_not_the_last_stored(
    history: World,
) -> None:
    """B's post on Blog: its snapshot of 20 March was stored before that of 11 March."""
    s = history.session
    posts = {p.publish_at: p.id for p in s.exec(select(Post))}
    b1, c1 = posts[utc(2026, 3, 10, 8)], posts[utc(2026, 3, 16, 8)]
    assert b1 is not None and c1 is not None
    found = metrics_views.latest_figures(s, actor=history.editor, post_ids=[b1, c1])
    assert list(found) == [b1]  # C's post has no figures
    assert (found[b1].collected_at, found[b1].reactions) == (utc(2026, 3, 20), 8)
    # A contributor sees only their department's posts' figures.
    assert metrics_views.latest_figures(s, actor=history.contributor, post_ids=[b1]) == {}


def _everything(s: Session, actor: User, until: datetime) -> dict[str, Any]:
    """What every public figure of planner.analytics gives `actor` for March to `until`."""
    found: dict[str, Any] = {
        f"engagement by {by}": analytics.engagement_over_time(
            s, actor=actor, since=MARCH, until=until, by=by, period="week"
        )
        for by in analytics.DIMENSIONS
    }
    found["engagement of Marketing"] = analytics.engagement_over_time(
        s, actor=actor, since=MARCH, until=until, department_id=actor.department_id or 1
    )
    found["top pieces"] = analytics.top_pieces(s, actor=actor, since=MARCH, until=until)
    found["departments"] = analytics.department_reach(s, actor=actor, since=MARCH, until=until)
    found["departments, all time"] = analytics.department_reach(s, actor=actor)
    found["ideas"] = analytics.idea_reach(s, actor=actor, idea_ids=[1, 2])
    if not analytics.sees_own_department_only(actor):
        found["best times"] = analytics.best_times(
            s, actor=actor, channel="Blog", since=MARCH, until=until
        )
        found["suggested"] = analytics.suggest_times(s, actor=actor, channel="Blog", after=NOW)
    return found


def _everything_both_ways(
    s: Session, actor: User, until: datetime, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """`_everything`, after checking that it is what every figure gives when it takes the
    search of each post's snapshots, as if a snapshot had been collected after any period's
    end (which it then does for the rest of the test)."""
    found = _everything(s, actor, until)
    monkeypatch.setattr(
        analytics, "_newest_collection", lambda _s: datetime.max.replace(tzinfo=UTC)
    )
    assert _everything(s, actor, until) == found
    return found


@pytest.mark.parametrize("who", ["editor", "contributor"])
def test_figures_as_of_now_from_the_kept_rows_equal_those_of_searching_the_snapshots(
    history: World, monkeypatch: pytest.MonkeyPatch, who: str
) -> None:
    s = history.session
    actor = history.editor if who == "editor" else history.contributor
    assert analytics._newest_collection(s) == AFTER_APRIL  # so NOW reads the kept rows
    kept = _everything_both_ways(s, actor, NOW, monkeypatch)
    totals = kept["engagement by channel"].totals
    if who == "editor":
        # a1 as of its April snapshot, a2 the later of its two at one instant, b1 its
        # newer snapshot although it arrived first, c1 without figures.
        assert totals == Figures(4, 3, 480, 34, 2, 4, 5, 45)
        assert [p.title for p in kept["top pieces"]] == ["A: Messe", "B: Azubis", "C: Intern"]
    else:
        assert totals == Figures(2, 2, 400, 26, 2, 4, 2, 34)
        assert [p.title for p in kept["top pieces"]] == ["A: Messe"]


@pytest.mark.parametrize("who", ["editor", "contributor"])
def test_a_period_that_ended_before_the_newest_collection_gets_the_figures_of_then(
    history: World, monkeypatch: pytest.MonkeyPatch, who: str
) -> None:
    s = history.session
    actor = history.editor if who == "editor" else history.contributor
    then = _everything_both_ways(s, actor, APRIL, monkeypatch)
    totals = then["engagement by channel"].totals
    if who == "editor":
        # a1 as of its 5 March snapshot: its April one is after the period.
        assert totals == Figures(4, 3, 380, 24, 2, 4, 5, 35)
    else:
        assert totals == Figures(2, 2, 300, 16, 2, 4, 2, 24)
    marketing = {d.department: d.reach for d in then["departments"]}["Marketing"]
    assert (marketing.posts, marketing.measured, marketing.engagement) == (2, 2, 24)


def _kept(engine: Engine) -> dict[int, tuple[Any, ...]]:
    """The kept rows by post: the snapshot's id, when it was collected, its reactions."""
    with Session(engine) as s:
        rows = s.exec(select(LatestMetrics).order_by(col(LatestMetrics.post_id)))
        return {r.post_id: (r.snapshot_id, r.collected_at, r.reactions) for r in rows}


def _newest(engine: Engine) -> dict[int, tuple[Any, ...]]:
    """What the kept rows must be: each post's newest snapshot, found by sorting them all."""
    with Session(engine) as s:
        found: dict[int, MetricSnapshot] = {}
        for m in s.exec(select(MetricSnapshot)):
            kept = found.get(m.post_id)
            if kept is None or (m.collected_at, m.id or 0) > (kept.collected_at, kept.id or 0):
                found[m.post_id] = m
        return {post: (m.id, m.collected_at, m.reactions) for post, m in sorted(found.items())}


def test_the_triggers_keep_the_newest_snapshot_whatever_the_order_of_arrival(
    engine: Engine, history: World
) -> None:
    s = history.session
    a1, a2, b1 = 1, 2, 3
    assert _kept(engine) == _newest(engine)
    assert {post: row[2] for post, row in _kept(engine).items()} == {a1: 20, a2: 6, b1: 8}

    # One statement with several snapshots of one post, out of order; then an older one.
    rows: list[dict[str, Any]] = [
        {"post_id": a1, "collected_at": utc(2026, 5, 1), "reactions": 30, "raw": {}},
        {"post_id": a1, "collected_at": utc(2026, 6, 1), "reactions": 40, "raw": {}},
        {"post_id": a1, "collected_at": utc(2026, 4, 20), "reactions": 25, "raw": {}},
        {"post_id": b1, "collected_at": utc(2026, 3, 15), "reactions": 5, "raw": {}},
    ]
    s.execute(insert(MetricSnapshot), rows)
    s.commit()
    make.snapshot(s, a1, utc(2026, 5, 15), reactions=35)
    s.commit()
    assert _kept(engine) == _newest(engine)
    assert {post: row[2] for post, row in _kept(engine).items()} == {a1: 40, a2: 6, b1: 8}

    # At the kept instant, a later id wins; a post's first snapshot makes its row.
    make.snapshot(s, b1, utc(2026, 3, 20), reactions=9)
    make.snapshot(s, 4, utc(2026, 3, 17), reactions=2)
    s.commit()
    assert _kept(engine) == _newest(engine)
    assert {post: row[2] for post, row in _kept(engine).items()} == {a1: 40, a2: 6, b1: 9, 4: 2}


def test_an_updated_or_deleted_snapshot_makes_its_posts_row_be_computed_again(
    engine: Engine, history: World
) -> None:
    s = history.session
    newest_of_a1 = s.exec(select(LatestMetrics.snapshot_id).where(LatestMetrics.post_id == 1)).one()
    s.execute(delete(MetricSnapshot).where(col(MetricSnapshot.id) == newest_of_a1))
    s.commit()
    assert _kept(engine) == _newest(engine)
    assert _kept(engine)[1][2] == 10

    # A snapshot moved to another post, and one made newer than the kept one.
    s.execute(
        update(MetricSnapshot)
        .where(col(MetricSnapshot.post_id) == 2)
        .values(post_id=4, collected_at=utc(2026, 3, 18))
    )
    s.execute(
        update(MetricSnapshot)
        .where(col(MetricSnapshot.collected_at) == utc(2026, 3, 11))
        .values(collected_at=utc(2026, 3, 25))
    )
    s.commit()
    assert _kept(engine) == _newest(engine)
    assert {post: row[2] for post, row in _kept(engine).items()} == {1: 10, 3: 1, 4: 6}

    s.execute(delete(MetricSnapshot))
    s.commit()
    assert _kept(engine) == {}


def test_figures_stay_those_of_the_snapshots_after_every_change(
    history: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = history.session
    s.execute(delete(MetricSnapshot).where(col(MetricSnapshot.reactions) == 20))
    make.snapshot(s, 4, utc(2026, 3, 30), reactions=7, replies=1)
    s.commit()
    kept = _everything_both_ways(s, history.editor, NOW, monkeypatch)
    assert kept["engagement by channel"].totals == Figures(4, 4, 380, 31, 2, 5, 5, 43)
