"""`python -m planner report engagement|best-times`: figures of hand-built published posts
as a table, JSON and CSV, and who sees what."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select

from planner.db import make_engine
from planner.models import Channel, Idea, MetricSnapshot, Piece, Post, PostStatus, User
from tests.exported import csv_file_rows
from tests.test_cli import Cli, org, run

__all__ = ["org", "run"]

# Last Monday 09:00 Berlin time at least a week ago: inside the default 30 days.
_NOW = datetime.now(UTC)
_MONDAY = (_NOW - timedelta(days=_NOW.weekday() + 7)).replace(
    hour=8, minute=0, second=0, microsecond=0
)


@pytest.fixture
def published(org: Cli) -> Cli:
    """Idea 1 (mia, Marketing) became piece 1, published on the Blog with figures; an
    editor's own piece on the Blog without figures."""
    org.ok("ideas", "submit", "--as", "mia", "--title", "Messe", "--pitch", "Wir sind da")
    org.ok("ideas", "accept", "1", "--as", "ed")
    engine = make_engine(os.environ["PLANNER_DATABASE_URL"])
    with Session(engine) as s:
        ed = s.exec(select(User).where(User.username == "ed")).one()
        blog = Channel(kind="webhook", name="=Blog", settings={})
        own = Piece(title="Intern", owner_id=ed.id)
        s.add_all([blog, own])
        s.flush()
        piece = s.exec(select(Piece).where(Piece.idea_id == 1)).one()
        for target, offset, figures in (
            (piece, 0, {"impressions": 200, "reactions": 7, "replies": 2, "link_clicks": 1}),
            (own, 1, None),
        ):
            at = _MONDAY + timedelta(days=offset)
            post = Post(
                piece_id=target.id,
                channel_id=blog.id,
                publish_at=at,
                published_at=at,
                status=PostStatus.published,
                created_by_id=ed.id,
            )
            s.add(post)
            s.flush()
            if figures:
                assert post.id is not None
                s.add(
                    MetricSnapshot(post_id=post.id, collected_at=at + timedelta(hours=5), **figures)
                )
        assert s.get(Idea, 1) is not None
        s.commit()
    engine.dispose()
    return org


def test_engagement_per_week_and_channel_as_a_table(published: Cli) -> None:
    out = published.ok("report", "engagement", "--as", "ed")
    header, row = out.splitlines()
    assert header.split() == ["period", "channel", "posts", "measured", "impressions", "engagement"]
    assert row.split() == [_MONDAY.date().isoformat(), "=Blog", "2", "1", "200", "10"]


def test_engagement_as_json_by_department_and_month(published: Cli) -> None:
    out = published.ok(
        "report", "engagement", "--by", "department", "--period", "month", "--json", "--as", "boss"
    )
    rows = json.loads(out)
    assert {(r["group"], r["posts"], r["engagement"]) for r in rows} == {
        ("Marketing", 1, 10),
        ("", 1, 0),
    }


def test_engagement_rows_to_a_csv_file_kept_from_running_as_formulas(
    published: Cli, tmp_path: Path
) -> None:
    target = tmp_path / "engagement.csv"
    said = published.ok("report", "engagement", "--csv", str(target), "--as", "ed")
    assert f"wrote the rows to {target}" in said
    rows = csv_file_rows(target.read_bytes())
    assert rows == [
        {
            "period_start": _MONDAY.date().isoformat(),
            "channel": "'=Blog",
            "posts": "2",
            "measured": "1",
            "impressions": "200",
            "reactions": "7",
            "reposts": "0",
            "replies": "2",
            "link_clicks": "1",
            "engagement": "10",
        }
    ]


def test_a_contributor_gets_their_departments_figures_only(published: Cli) -> None:
    rows = json.loads(published.ok("report", "engagement", "--json", "--as", "mia"))
    assert [(r["posts"], r["engagement"]) for r in rows] == [(1, 10)]


def test_a_period_that_ends_before_it_begins_is_refused(published: Cli) -> None:
    code, _out, err = published(
        "report", "engagement", "--from", "2026-05-02", "--to", "2026-05-01", "--as", "ed"
    )
    assert code == 2 and "--from must not be after --to" in err


def test_best_times_show_the_channels_cells_and_say_when_history_is_too_thin(
    published: Cli,
) -> None:
    out = published.ok("report", "best-times", "--channel", "=Blog", "--as", "ed")
    lines = out.splitlines()
    assert lines[0] == "=Blog: weekday and hour in Europe/Berlin, last year"
    hour = _MONDAY.astimezone(ZoneInfo("Europe/Berlin")).hour
    assert lines[2].split() == [
        "Mon",
        f"{hour:02d}:00",
        "1",
        "10.0",
        "thin",
        "(under",
        "3",
        "posts)",
    ]
    assert lines[-1] == "suggested: none (not enough history and no publishing slots)"
    data = json.loads(
        published.ok("report", "best-times", "--channel", "=Blog", "--json", "--as", "ed")
    )
    assert data["suggestions"]["basis"] == "none"
    assert data["best_times"]["cells"][0]["thin"] is True


def test_best_times_of_an_unknown_channel_are_refused_by_name(published: Cli) -> None:
    code, _out, err = published("report", "best-times", "--channel", "Fax", "--as", "ed")
    assert code == 1 and "'Fax'" in err


def test_engagement_rows_to_a_csv_file_separated_by_semicolons(
    published: Cli, tmp_path: Path
) -> None:
    target = tmp_path / "engagement.csv"
    published.ok("report", "engagement", "--csv", str(target), "--separator", ";", "--as", "ed")
    [row] = csv_file_rows(target.read_bytes(), ";")
    assert (row["channel"], row["engagement"]) == ("'=Blog", "10")


def test_the_separator_is_for_the_csv_file_only(published: Cli) -> None:
    code, out, err = published("report", "engagement", "--separator", ";", "--as", "ed")
    assert (code, out) == (2, "")
    assert err == "error: --separator applies to the --csv file only\n"
