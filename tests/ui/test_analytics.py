"""'Analytics', the reach on 'My ideas' and suggested times on the calendar: hand-built
published posts with figures, in German and English, as editor and as contributor."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from planner import ideas, users
from planner.db import make_engine
from planner.models import Channel, MetricSnapshot, Piece, Post, PostStatus
from planner.ui import keys
from tests.exported import csv_rows
from tests.ui.conftest import PASSWORD, open_page, sign_in

_NOW = datetime.now(UTC)
# Three days ago at the full hour: inside the page's default 30 days.
_AT = (_NOW - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)


@pytest.fixture
def measured(database: str) -> str:
    """Lena's idea (HR) became piece 1 with a post on the Blog (12 engagement, 300
    impressions); an editor's own piece on the Blog with 5; one channel without posts."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        ed = users.get_user(s, "ed")
        piece = ideas.accept_idea(s, actor=ed, idea_id=1)
        own = Piece(title="Interne Notiz", owner_id=ed.id, campaign="Sommer")
        blog, quiet = Channel(kind="webhook", name="Blog"), Channel(kind="webhook", name="Leise")
        s.add_all([own, blog, quiet])
        s.flush()
        for target, figures in (
            (piece, {"impressions": 300, "reactions": 8, "reposts": 1, "replies": 3}),
            (own, {"reactions": 5}),
        ):
            post = Post(
                piece_id=target.id,
                channel_id=blog.id,
                publish_at=_AT,
                published_at=_AT,
                status=PostStatus.published,
                created_by_id=ed.id,
            )
            s.add(post)
            s.flush()
            assert post.id is not None
            s.add(MetricSnapshot(post_id=post.id, collected_at=_AT + timedelta(hours=2), **figures))
        s.commit()
    engine.dispose()
    return database


def _texts(at: Any) -> list[str]:
    return [t.value for t in at.main.text]


def test_the_editor_sees_engagement_top_pieces_and_best_times_in_english(
    measured: str, exports: list[Callable[[], Any]]
) -> None:
    at = open_page(sign_in("ed", PASSWORD), "analytics")
    assert not at.exception
    assert at.title[0].value == "Analytics"
    assert "reactions + reposts + replies + link clicks" in at.main.caption[0].value
    assert "2 posts published, 2 of them with figures: 300 impressions, 17 engagement." in _texts(
        at
    )
    specs = [json.loads(c.proto.spec) for c in at.main.get("vega_lite_chart")]
    line, grid = specs
    assert line["mark"]["type"] == "line"
    assert line["title"] == "Engagement by Channel"
    assert line["description"].startswith("Line chart")
    over_time = at.main.dataframe[0].value  # the chart's numbers, beside it
    assert list(over_time["Channel"]) == ["Blog"]
    assert list(over_time["Engagement"]) == ["17"]
    assert grid["mark"]["type"] == "rect"
    cells = at.main.dataframe[3].value
    assert list(cells["Posts"]) == ["2"]
    assert list(cells["Mean engagement"]) == ["8.5"]
    assert list(cells["Note"]) == ["few data"]
    top = at.main.dataframe[1].value
    assert list(top["Title"]) == ["Azubi-Tag <b>2027</b>", "Interne Notiz"]
    assert list(top["Engagement"]) == ["12", "5"]
    assert list(top["By channel"]) == ["Blog: 12", "Blog: 5"]
    departments = at.main.dataframe[2].value
    assert list(departments["Department"]) == ["HR"]
    # The CSV behind the chart.
    made = exports[-1]()
    rows = csv_rows(made, ",")  # English: comma-separated, after the byte order mark
    assert [(r["channel"], r["posts"], r["engagement"]) for r in rows] == [("Blog", "2", "17")]


def test_filters_narrow_the_figures(measured: str) -> None:
    at = open_page(sign_in("ed", PASSWORD), "analytics")
    at.selectbox(key=keys.ANALYTICS_CAMPAIGN).select_index(1).run()
    assert not at.exception
    assert "1 post published, 1 with figures: –" in " ".join(_texts(at))
    at.selectbox(key=keys.ANALYTICS_BY).select_index(3).run()  # campaign
    over_time = at.main.dataframe[0].value
    assert list(over_time["Campaign"]) == ["Sommer"]
    assert list(over_time["Engagement"]) == ["5"]


def test_the_contributor_sees_her_departments_figures_in_german(measured: str) -> None:
    at = open_page(sign_in("lena", PASSWORD), "analytics")
    assert not at.exception
    assert at.title[0].value == "Analyse"
    assert at.main.info[0].value.startswith("Sie sehen die Zahlen Ihrer Abteilung")
    assert (
        "1 Post veröffentlicht, 1 davon mit Messwerten: 300 Impressionen, 12 Interaktionen."
        in _texts(at)
    )
    top = at.main.dataframe[1].value
    assert list(top["Titel"]) == ["Azubi-Tag <b>2027</b>"]
    assert list(top["Interaktionen"]) == ["12"]


@pytest.mark.parametrize(
    ("lang", "line", "department"),
    [
        pytest.param(
            "de",
            "Reichweite: 1 Post veröffentlicht, 300 Impressionen, 12 Interaktionen.",
            "Ihre Abteilung HR – veröffentlichte Ideen: 1, Posts: 1, Impressionen: 300, "
            "Interaktionen: 12.",
            id="de",
        ),
        pytest.param(
            "en",
            "Reach: 1 post published, 300 impressions, 12 engagement.",
            "Your department HR – ideas published: 1, posts: 1, impressions: 300, engagement: 12.",
            id="en",
        ),
    ],
)
def test_my_ideas_show_what_each_idea_and_the_department_achieved(
    measured: str, lang: str, line: str, department: str
) -> None:
    at = sign_in("lena", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select(lang).run()
    at = open_page(at, "my_ideas")
    assert not at.exception
    assert at.main.caption[0].value == department
    table = at.main.dataframe[0].value
    engagement = "Interaktionen" if lang == "de" else "Engagement"
    assert list(table[engagement]) == ["12"]
    assert line in _texts(at)  # the only idea is the one picked


def test_the_planning_form_suggests_times_and_a_click_fills_the_time(measured: str) -> None:
    at = open_page(sign_in("ed", PASSWORD), "calendar")
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).select_index(0).run()  # "Blog", by name
    at.button(key=keys.CAL_SUGGEST).click().run()
    assert not at.exception
    # Two posts are history too thin to go by, and Blog has no slot plan.
    assert "Blog has too few figures and no publishing slots for suggestions yet." in [
        i.value for i in at.main.info
    ]
    admin = make_engine(measured)
    with Session(admin) as s:
        from planner import slots

        slots.set_slot_plan(s, actor=users.get_user(s, "admin"), channel="Blog", slots="Wed 10:00")
    admin.dispose()
    at.button(key=keys.CAL_SUGGEST).click().run()
    assert "Suggested times for Blog:" in _texts(at)
    at.button(key=f"{keys.CAL_SUGGESTED}_0").click().run()
    typed = at.text_input(key=keys.CAL_PLAN_WHEN).value
    assert typed.endswith("10:00")
    assert datetime.strptime(typed, "%Y-%m-%d %H:%M").weekday() == 2  # a Wednesday


@pytest.mark.parametrize(
    ("lang", "column", "mean"),
    [
        pytest.param("de", "Interaktionen im Mittel", "1.234,5", id="de"),
        pytest.param("en", "Mean engagement", "1,234.5", id="en"),
    ],
)
def test_the_best_times_mean_is_grouped_as_the_other_figures(
    measured: str, lang: str, column: str, mean: str
) -> None:
    """Piece 1's post later reached 2464 engagement: with the other post's 5, a mean of
    1234.5 in the one cell both posts share."""
    engine = make_engine(measured)
    with Session(engine) as s:
        post = s.exec(select(Post).where(Post.piece_id == 1)).one()
        assert post.id is not None
        s.add(
            MetricSnapshot(post_id=post.id, collected_at=_AT + timedelta(hours=3), reactions=2464)
        )
        s.commit()
    engine.dispose()
    at = sign_in("ed", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select(lang).run()
    at = open_page(at, "analytics")
    assert not at.exception
    [cells] = [d.value for d in at.main.dataframe if column in d.value.columns]
    assert list(cells[column]) == [mean]


def test_the_engagement_download_is_separated_by_semicolons_in_german(
    measured: str, exports: list[Callable[[], Any]]
) -> None:
    at = open_page(sign_in("lena", PASSWORD), "analytics")
    assert not at.exception
    made = exports[-1]()
    assert made.encode("utf-8").startswith(b"\xef\xbb\xbf")
    rows = csv_rows(made, ";")
    assert [(r["channel"], r["posts"], r["engagement"]) for r in rows] == [("Blog", "1", "12")]
