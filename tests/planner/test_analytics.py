"""Analytics on hand-built posts and metric snapshots whose figures are worked out here:
engagement over time, top pieces, best times across a DST change, reach of ideas and
departments, who sees what, and the CSV of the table behind the charts."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlmodel import select

from planner import analytics, planning, slots, tracked_links
from planner.analytics import Figures, Point, Reach
from planner.errors import PermissionDenied, ValidationFailed
from planner.models import Audience, Channel, Idea, Piece, PostStatus
from tests import analytics_data as make
from tests.conftest import World, utc

MARCH, APRIL = utc(2026, 3, 1), utc(2026, 4, 1)  # Berlin midnight is 23:00 UTC the day before
NOW = utc(2026, 12, 1)


@pytest.fixture
def march(world: World) -> World:
    """Three pieces in March: A (Marketing's idea) on Blog and Mastodon, B (HR's idea) on
    Blog, C (an editor's, no idea) on Blog without figures; one post only planned."""
    s = world.session
    blog, mastodon = make.channel(s, "Blog"), make.channel(s, "Mastodon")
    a = make.piece(s, world, "A: Messe", make.idea(s, world.contributor, "Messe"), "Herbst")
    b = make.piece(s, world, "B: Azubis", make.idea(s, world.hr_contributor, "Azubis"))
    c = make.piece(s, world, "C: Intern", None, "Herbst")
    a1 = make.post(s, world, a, blog, utc(2026, 3, 2, 8))  # Monday 09:00 Berlin
    make.snapshot(s, a1, utc(2026, 3, 2, 12), impressions=100, reactions=5, reposts=1, replies=0)
    make.snapshot(
        s,
        a1,
        utc(2026, 3, 5),
        impressions=300,
        reactions=10,
        reposts=2,
        replies=3,
        link_clicks=None,
    )
    # Collected after the period: counts for "now", not for March.
    make.snapshot(s, a1, utc(2026, 4, 10), impressions=400, reactions=20, reposts=2, replies=3)
    a2 = make.post(s, world, a, mastodon, utc(2026, 3, 3, 10))
    make.snapshot(s, a2, utc(2026, 3, 4), reactions=4, reposts=0, replies=1, link_clicks=2)
    b1 = make.post(s, world, b, blog, utc(2026, 3, 10, 8))
    make.snapshot(s, b1, utc(2026, 3, 11), impressions=50, reactions=1, link_clicks=1)
    make.post(s, world, c, blog, utc(2026, 3, 16, 8))  # published, no figures yet
    make.post(s, world, a, blog, utc(2026, 3, 20, 8), PostStatus.planned)
    s.commit()
    return world


def test_engagement_per_week_and_channel_counts_each_posts_latest_figures_in_the_period(
    march: World,
) -> None:
    report = analytics.engagement_over_time(
        march.session, actor=march.editor, since=MARCH, until=APRIL, by="channel", period="week"
    )
    assert report.points == [
        Point(date(2026, 3, 2), "Blog", Figures(1, 1, 300, 10, 2, 3, 0, 15)),
        Point(date(2026, 3, 2), "Mastodon", Figures(1, 1, None, 4, 0, 1, 2, 7)),
        Point(date(2026, 3, 9), "Blog", Figures(1, 1, 50, 1, 0, 0, 1, 2)),
        Point(date(2026, 3, 16), "Blog", Figures(1, 0, None, 0, 0, 0, 0, 0)),
    ]
    assert report.totals == Figures(4, 3, 350, 15, 2, 4, 3, 24)
    assert not report.department_only


def test_clicks_on_the_planners_tracked_links_add_to_link_clicks_and_engagement(
    march: World,
) -> None:
    s = march.session
    # Two clicks on a link of the Mastodon post; one on the post without figures.
    codes = tracked_links.codes_for(s, 2, ["https://example.com/messe"])
    other = tracked_links.codes_for(s, 4, ["https://example.com/intern"])
    s.commit()
    for code in (*codes.values(), *codes.values(), *other.values()):
        assert tracked_links.follow(s, code, count=True) is not None
    report = analytics.engagement_over_time(
        s, actor=march.editor, since=MARCH, until=APRIL, by="channel", period="week"
    )
    assert report.points == [
        Point(date(2026, 3, 2), "Blog", Figures(1, 1, 300, 10, 2, 3, 0, 15)),
        Point(date(2026, 3, 2), "Mastodon", Figures(1, 1, None, 4, 0, 1, 4, 9)),
        Point(date(2026, 3, 9), "Blog", Figures(1, 1, 50, 1, 0, 0, 1, 2)),
        Point(date(2026, 3, 16), "Blog", Figures(1, 0, None, 0, 0, 0, 1, 1)),
    ]


def test_engagement_per_month_by_department_audience_and_campaign(march: World) -> None:
    def groups(by: analytics.Dimension) -> dict[str, int]:
        report = analytics.engagement_over_time(
            march.session, actor=march.admin, since=MARCH, until=APRIL, by=by, period="month"
        )
        assert {p.start for p in report.points} == {date(2026, 3, 1)}
        return {p.group: p.figures.engagement for p in report.points}

    assert groups("department") == {"Marketing": 22, "HR": 2, "": 0}
    assert groups("campaign") == {"Herbst": 22, "": 2}
    assert groups("audience") == {"": 24}


def test_a_posts_audience_is_its_pieces_as_on_the_calendar_even_where_the_idea_names_another(
    march: World,
) -> None:
    s = march.session
    trade, trainees = Audience(name="Fachhandel"), Audience(name="Azubis")
    s.add_all([trade, trainees])
    s.flush()
    # A's piece is for the trade; B's idea named the trainees, but its editor cleared
    # the piece's audience.
    a = s.exec(select(Piece).where(Piece.title == "A: Messe")).one()
    b = s.exec(select(Piece).where(Piece.title == "B: Azubis")).one()
    a.audience_id = trade.id
    b_idea = s.get(Idea, b.idea_id)
    assert b_idea is not None
    b_idea.audience_id = trainees.id
    s.commit()

    report = analytics.engagement_over_time(
        s, actor=march.admin, since=MARCH, until=APRIL, by="audience", period="month"
    )
    assert {p.group: p.figures.engagement for p in report.points} == {"Fachhandel": 22, "": 2}
    for audience, engagement, posts in ((trade, 22, 2), (trainees, 0, 0)):
        figures = analytics.engagement_over_time(
            s, actor=march.admin, since=MARCH, until=APRIL, audience_id=audience.id
        ).totals
        assert (figures.engagement, figures.posts) == (engagement, posts)
        # The calendar's audience filter shows the same published posts.
        shown = planning.calendar_entries(
            s, actor=march.admin, start=MARCH, end=APRIL, audience_id=audience.id
        )
        assert len([e for e in shown if e.post.status == PostStatus.published]) == posts


def test_filters_narrow_the_posts_counted(march: World) -> None:
    s = march.session
    blog = s.get(Channel, 1)
    assert blog is not None and blog.name == "Blog"
    report = analytics.engagement_over_time(
        s, actor=march.editor, since=MARCH, until=APRIL, period="month", channel_id=blog.id
    )
    assert report.totals == Figures(3, 2, 350, 11, 2, 3, 1, 17)
    marketing = march.contributor.department_id
    report = analytics.engagement_over_time(
        s, actor=march.editor, since=MARCH, until=APRIL, department_id=marketing
    )
    assert report.totals.engagement == 22
    report = analytics.engagement_over_time(
        s, actor=march.editor, since=MARCH, until=APRIL, campaign="Herbst"
    )
    assert (report.totals.posts, report.totals.engagement) == (3, 22)


def test_a_contributor_sees_their_own_departments_totals_only(march: World) -> None:
    s = march.session
    mine = analytics.engagement_over_time(
        s, actor=march.contributor, since=MARCH, until=APRIL, by="channel"
    )
    assert mine.department_only
    assert mine.totals == Figures(2, 2, 300, 14, 2, 4, 2, 22)
    hr = analytics.engagement_over_time(
        s, actor=march.hr_contributor, since=MARCH, until=APRIL, by="department"
    )
    assert [(p.group, p.figures.engagement) for p in hr.points] == [("HR", 2)]


def test_a_contributors_filters_offer_their_departments_channels_only(march: World) -> None:
    s = march.session
    hr = analytics.filter_choices(s, actor=march.hr_contributor)
    assert (list(hr.channels.values()), list(hr.departments.values())) == (["Blog"], ["HR"])
    everything = analytics.filter_choices(s, actor=march.editor)
    assert list(everything.channels.values()) == ["Blog", "Mastodon"]
    assert everything.campaigns == ["Herbst"]


def test_top_pieces_rank_by_engagement_with_figures_per_channel(march: World) -> None:
    top = analytics.top_pieces(march.session, actor=march.approver, since=MARCH, until=APRIL)
    assert [(p.title, p.figures.engagement, p.figures.impressions) for p in top] == [
        ("A: Messe", 22, 300),
        ("B: Azubis", 2, 50),
        ("C: Intern", 0, None),
    ]
    assert [(c.channel, c.figures.engagement) for c in top[0].channels] == [
        ("Blog", 15),
        ("Mastodon", 7),
    ]
    assert (top[0].department, top[0].campaign, top[2].department) == ("Marketing", "Herbst", "")
    assert (
        len(
            analytics.top_pieces(
                march.session, actor=march.admin, since=MARCH, until=APRIL, limit=1
            )
        )
        == 1
    )


def test_a_contributor_sees_the_pieces_of_their_own_ideas_only(march: World) -> None:
    s = march.session
    mine = analytics.top_pieces(s, actor=march.contributor, since=MARCH, until=APRIL)
    assert [p.title for p in mine] == ["A: Messe"]
    theirs = analytics.top_pieces(s, actor=march.hr_contributor, since=MARCH, until=APRIL)
    assert [p.title for p in theirs] == ["B: Azubis"]


def test_idea_reach_is_what_the_ideas_posts_achieved_by_now(march: World) -> None:
    s = march.session
    ideas = {i.title: i.id for i in s.exec(select(Idea))}
    wanted = [ideas["Messe"], ideas["Azubis"]]
    assert analytics.idea_reach(s, actor=march.editor, idea_ids=wanted, as_of=NOW) == {
        ideas["Messe"]: Reach(posts=2, measured=2, impressions=400, engagement=32),
        ideas["Azubis"]: Reach(posts=1, measured=1, impressions=50, engagement=2),
    }
    # In March the later snapshot did not exist yet.
    march_reach = analytics.idea_reach(s, actor=march.editor, idea_ids=wanted, as_of=APRIL)
    assert march_reach[ideas["Messe"]].engagement == 22
    # A contributor gets their own ideas' reach only.
    assert list(analytics.idea_reach(s, actor=march.contributor, idea_ids=wanted)) == [
        ideas["Messe"]
    ]


def test_department_reach_totals_what_each_departments_ideas_achieved(march: World) -> None:
    s = march.session
    assert analytics.department_reach(s, actor=march.admin, as_of=NOW) == [
        analytics.DepartmentReach("HR", 1, Reach(1, 1, 50, 2), 2),
        analytics.DepartmentReach("Marketing", 1, Reach(2, 2, 400, 32), 1),
    ]
    assert analytics.department_reach(s, actor=march.contributor, as_of=NOW) == [
        analytics.DepartmentReach("Marketing", 1, Reach(2, 2, 400, 32), 1),
    ]


def test_the_csv_is_the_table_behind_the_charts(march: World) -> None:
    report = analytics.engagement_over_time(
        march.session, actor=march.editor, since=MARCH, until=APRIL, by="channel", period="week"
    )
    out = io.StringIO()
    assert analytics.engagement_csv(report, out) == 4
    assert out.getvalue().splitlines() == [
        "\ufeffperiod_start,channel,posts,measured,impressions,reactions,reposts,replies,link_clicks,engagement",
        "2026-03-02,Blog,1,1,300,10,2,3,0,15",
        "2026-03-02,Mastodon,1,1,,4,0,1,2,7",
        "2026-03-09,Blog,1,1,50,1,0,0,1,2",
        "2026-03-16,Blog,1,0,,0,0,0,0,0",
    ]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        pytest.param({"since": APRIL, "until": MARCH}, "period", id="period-backwards"),
        pytest.param({"by": "weekday"}, "by", id="unknown-dimension"),
        pytest.param({"period": "year"}, "period", id="unknown-period"),
    ],
)
def test_bad_choices_are_refused_by_name(march: World, options: dict, field: str) -> None:
    given = {"since": MARCH, "until": APRIL, **options}
    with pytest.raises(ValidationFailed) as refused:
        analytics.engagement_over_time(march.session, actor=march.editor, **given)
    assert field in refused.value.fields


def test_a_disabled_account_sees_nothing(march: World) -> None:
    march.contributor.disabled = True
    with pytest.raises(PermissionDenied):
        analytics.engagement_over_time(
            march.session, actor=march.contributor, since=MARCH, until=APRIL
        )


# --- best times across the spring DST change (29 March 2026 in Berlin) ------------------


@pytest.fixture
def social(world: World) -> World:
    """A channel's history: Tuesdays 09:00 Berlin (before and after the DST change) engage
    most, Thursdays 14:00 less, one Friday 18:00 post much more but alone."""
    s = world.session
    social = make.channel(s, "Social")
    piece = make.piece(s, world, "Serie", make.idea(s, world.contributor, "Serie"))
    history = [
        (utc(2026, 3, 24, 8), 10),  # Tue 09:00 CET
        (utc(2026, 3, 31, 7), 20),  # Tue 09:00 CEST
        (utc(2026, 4, 7, 7), 30),  # Tue 09:00 CEST
        (utc(2026, 3, 26, 13), 5),  # Thu 14:00 CET
        (utc(2026, 4, 2, 12), 5),  # Thu 14:00 CEST
        (utc(2026, 4, 9, 12), 5),  # Thu 14:00 CEST
        (utc(2026, 4, 10, 16), 100),  # Fri 18:00 CEST, a single post
    ]
    for at, reactions in history:
        post = make.post(s, world, piece, social, at)
        make.snapshot(s, post, utc(2026, 4, 11), reactions=reactions)
    s.commit()
    return world


def test_the_best_time_grid_is_in_local_time_across_the_dst_change(social: World) -> None:
    grid = analytics.best_times(
        social.session, actor=social.editor, channel="Social", since=MARCH, until=utc(2026, 5, 1)
    )
    assert grid.timezone == "Europe/Berlin"
    assert [(c.weekday, c.hour, c.posts, c.mean_engagement, c.thin) for c in grid.cells] == [
        (1, 9, 3, 20.0, False),
        (3, 14, 3, 5.0, False),
        (4, 18, 1, 100.0, True),
    ]


def test_suggested_times_are_the_next_best_cells_never_a_thin_one(social: World) -> None:
    after = utc(2026, 4, 13, 10)  # Monday 12:00 CEST
    found = analytics.suggest_times(
        social.session, actor=social.editor, channel="Social", after=after, n=2
    )
    assert found.basis == "history"
    assert [(t.at, t.posts, t.mean_engagement) for t in found.times] == [
        (utc(2026, 4, 14, 7), 3, 20.0),  # Tue 09:00 CEST
        (utc(2026, 4, 16, 12), 3, 5.0),  # Thu 14:00 CEST
    ]


def test_a_suggestion_after_the_autumn_change_keeps_the_local_hour(social: World) -> None:
    after = utc(2026, 10, 21, 10)  # Wednesday; clocks go back on Sunday 25 October
    found = analytics.suggest_times(
        social.session, actor=social.editor, channel="Social", after=after, n=2
    )
    assert [t.at for t in found.times] == [
        utc(2026, 10, 27, 8),  # Tue 09:00 CET
        utc(2026, 10, 22, 12),  # Thu 14:00 CEST
    ]


def test_without_history_the_slot_plan_is_suggested_else_nothing(social: World) -> None:
    s = social.session
    make.channel(s, "Neu")
    s.commit()
    slots.set_slot_plan(s, actor=social.admin, channel="Neu", slots="Wed 10:00")
    after = utc(2026, 4, 13, 10)
    found = analytics.suggest_times(s, actor=social.editor, channel="Neu", after=after, n=2)
    assert found.basis == "slots"
    assert [t.at for t in found.times] == [utc(2026, 4, 15, 8), utc(2026, 4, 22, 8)]
    make.channel(s, "Leer")
    s.commit()
    empty = analytics.suggest_times(s, actor=social.editor, channel="Leer", after=after)
    assert (empty.basis, empty.times) == ("none", [])


def test_best_times_and_suggestions_are_for_those_who_see_channels(social: World) -> None:
    with pytest.raises(PermissionDenied):
        analytics.suggest_times(social.session, actor=social.contributor, channel="Social")
    with pytest.raises(PermissionDenied):
        analytics.best_times(social.session, actor=social.contributor, channel="Social")
    with pytest.raises(ValidationFailed):
        analytics.suggest_times(social.session, actor=social.editor, channel="Social", n=0)


def _post_at_half_past_midnight(social: World) -> None:
    """One more post of the Social series: on 1 April at 00:30 CEST, 22:30 UTC the day
    before, with one reaction."""
    s = social.session
    piece = s.exec(select(Piece)).one()
    channel = s.exec(select(Channel)).one()
    late = make.post(s, social, piece, channel, utc(2026, 3, 31, 22, 30))
    make.snapshot(s, late, utc(2026, 4, 11), reactions=1)
    s.commit()


def test_local_days_follow_the_organisations_zone(social: World) -> None:
    s = social.session
    _post_at_half_past_midnight(social)
    report = analytics.engagement_over_time(
        s, actor=social.editor, since=MARCH, until=utc(2026, 5, 1), period="month"
    )
    assert [(p.start, p.figures.posts, p.figures.engagement) for p in report.points] == [
        (date(2026, 3, 1), 3, 35),
        (date(2026, 4, 1), 5, 141),
    ]


def test_an_older_sqlite_without_unixepoch_finds_the_same_local_times(
    social: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def figures() -> tuple[list[tuple[int, int, int]], list[tuple[date, int]]]:
        grid = analytics.best_times(
            social.session, actor=social.editor, channel="Social", since=MARCH,
            until=utc(2026, 5, 1),
        )  # fmt: skip
        report = analytics.engagement_over_time(
            social.session, actor=social.editor, since=MARCH, until=utc(2026, 5, 1), period="day"
        )
        return (
            [(c.weekday, c.hour, c.posts) for c in grid.cells],
            [(p.start, p.figures.engagement) for p in report.points],
        )

    found = figures()
    # SQLite before 3.38 has no unixepoch(): the instant is read through strftime.
    monkeypatch.setattr(analytics.sqlite3, "sqlite_version_info", (3, 37, 2))
    assert figures() == found
    assert found[0] == [(1, 9, 3), (3, 14, 3), (4, 18, 1)]


def test_a_period_of_any_length_finds_the_same_local_days_and_hours(social: World) -> None:
    """The command line takes any period (`--from 0002-01-01 --to 9998-12-31`): the zone's
    offsets are those of the time its posts span, so the days and hours are those of a
    period around the posts."""
    s = social.session
    _post_at_half_past_midnight(social)

    def figures(since: datetime, until: datetime) -> tuple[list[Any], list[Any]]:
        grid = analytics.best_times(
            s, actor=social.editor, channel="Social", since=since, until=until
        )
        report = analytics.engagement_over_time(
            s, actor=social.editor, since=since, until=until, period="day"
        )
        return (
            [(c.weekday, c.hour, c.posts) for c in grid.cells],
            [(p.start, p.figures.posts, p.figures.engagement) for p in report.points],
        )

    around = figures(MARCH, utc(2026, 5, 1))
    assert around[1][2:4] == [
        (date(2026, 3, 31), 1, 20),  # Tuesday 09:00 CEST
        (date(2026, 4, 1), 1, 1),  # 00:30 CEST, 22:30 UTC the day before
    ]
    assert (2, 0, 1) in around[0]  # that post is in Wednesday's 00:00 cell
    assert figures(datetime(2, 1, 1, tzinfo=UTC), datetime(9998, 12, 31, tzinfo=UTC)) == around
    # A period without posts has none, whatever its length.
    empty = analytics.engagement_over_time(
        s, actor=social.editor, since=datetime(2, 1, 1, tzinfo=UTC), until=MARCH
    )
    assert empty.points == []
