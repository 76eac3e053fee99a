"""The Calendar page's 'In your calendar app' panel under AppTest, in German and English:
the .ics download with the page's filters, a feed made with them (its URL shown once and
working), the list, and revoking (an admin revokes anyone's)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlmodel import Session

from planner import calendar_feeds, channels, pieces, planning, users
from planner.db import make_engine
from planner.ui import keys
from planner.ui.i18n import translate
from tests.ui.conftest import PASSWORD, open_page, opened, sign_in

YEAR = datetime.now(UTC).year + 1


def _plan(database: str) -> dict[str, int]:
    """Two channels with one planned post each; their ids by name."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, ed = users.get_user(s, "admin"), users.get_user(s, "ed")
        ids = {}
        for name in ("Social", "Blog"):
            channel = channels.create_channel(s, actor=admin, kind="recording", name=name)
            piece = pieces.create_piece(s, actor=ed, data={"title": f"Beitrag {name}"})
            planning.plan_post(
                s,
                actor=ed,
                piece_id=piece.id or 0,
                channel=channel.id or 0,
                when=datetime.now(UTC).replace(microsecond=0, second=0, minute=0)
                + timedelta(days=5),
            )
            ids[name] = channel.id or 0
    engine.dispose()
    return ids


def _token(url: str) -> str:
    return url.rsplit("/", 1)[1].removesuffix(".ics")


@pytest.mark.parametrize("username", ["admin", "ed"], ids=["de", "en"])
def test_a_feed_is_made_with_the_pages_filters_and_revoked(
    database: str, username: str, exports: list[Callable[[], Any]]
) -> None:
    ids = _plan(database)
    at = opened(open_page(sign_in(username, PASSWORD), "calendar"), keys.CAL_FEED_OPEN)
    lang = "de" if username == "admin" else "en"
    assert not at.exception
    headings = [e.label for e in at.main.expander]
    assert translate(lang, "calendar.feeds.heading") in headings
    at.selectbox(key=keys.CAL_CHANNEL).select(ids["Blog"]).run()

    # The download: the calendar with the filter chosen.
    made = [export() for export in exports]
    ics = [m for m in made if isinstance(m, bytes) and m.startswith(b"BEGIN:VCALENDAR")][-1]
    summaries = {str(e["SUMMARY"]) for e in Calendar.from_ical(ics).walk("VEVENT")}
    assert summaries == {"Blog: Beitrag Blog"}

    at.text_input(key=keys.CAL_FEED_NAME).input("Nur Blog")
    at.button(key=keys.CAL_FEED_CREATE).click().run()
    assert not at.exception
    assert [s.value for s in at.main.success] == [translate(lang, "calendar.feeds.created")]
    (url,) = [c.value for c in at.main.code]
    assert "/calendar/" in url and url.endswith(".ics")
    engine = make_engine(database)
    with Session(engine) as s:
        served = calendar_feeds.fetch_feed(s, _token(url))
    assert served is not None
    assert {str(e["SUMMARY"]) for e in Calendar.from_ical(served).walk("VEVENT")} == {
        "Blog: Beitrag Blog"
    }
    shown = " ".join(t.value for t in at.main.text)
    assert "Nur Blog" in shown
    assert f"{translate(lang, 'calendar.feeds.filter.channel_id')}: Blog" in shown

    # The URL is shown once: the next run lists the feed without it.
    at.run()
    assert [c.value for c in at.main.code] == []
    revoke = [b for b in at.main.button if b.key and b.key.startswith(keys.CAL_FEED_REVOKE)]
    assert len(revoke) == 1
    revoke[0].click().run()
    assert not at.exception
    assert translate(lang, "calendar.feeds.revoked") in [s.value for s in at.main.success]
    assert translate(lang, "calendar.feeds.is_revoked") in [t.value for t in at.main.text]
    with Session(engine) as s:
        assert calendar_feeds.fetch_feed(s, _token(url)) is None
    engine.dispose()


@pytest.mark.parametrize("username", ["admin", "ed"], ids=["de", "en"])
def test_a_second_click_makes_no_second_feed_and_shows_the_first_ones_address(
    database: str, username: str
) -> None:
    at = opened(open_page(sign_in(username, PASSWORD), "calendar"), keys.CAL_FEED_OPEN)
    lang = "de" if username == "admin" else "en"
    at.button(key=keys.CAL_FEED_CREATE).click().run()
    (url,) = [c.value for c in at.main.code]

    # The second click of a double click, or the same click again within a minute.
    at.button(key=keys.CAL_FEED_CREATE).click().run()

    assert not at.exception
    assert [s.value for s in at.main.success] == [translate(lang, "forms.already.calendar_feed")]
    assert [c.value for c in at.main.code] == [url]
    engine = make_engine(database)
    with Session(engine) as s:
        assert calendar_feeds.fetch_feed(s, _token(url)) is not None
        owner = users.get_user(s, username)
        assert len(calendar_feeds.list_feeds(s, actor=owner)) == 1
    engine.dispose()


def test_an_admin_sees_and_revokes_an_editors_feed(database: str) -> None:
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        made = calendar_feeds.create_feed(s, actor=users.get_user(s, "ed"), name="Eda's")
    at = opened(open_page(sign_in("admin", PASSWORD), "calendar"), keys.CAL_FEED_OPEN)
    shown = " ".join(t.value for t in at.main.text)
    assert "Eda's" in shown and translate("de", "calendar.feeds.owner", owner="ed") in shown
    at.button(key=f"{keys.CAL_FEED_REVOKE}{made.feed.id}").click().run()
    assert not at.exception
    with Session(engine) as s:
        assert calendar_feeds.fetch_feed(s, made.token) is None
    engine.dispose()


def test_a_feed_narrowed_to_a_campaign_and_a_state_shows_only_those_posts(
    database: str, exports: list[Callable[[], Any]]
) -> None:
    ids = _plan(database)
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        ed = users.get_user(s, "ed")
        piece = pieces.create_piece(
            s, actor=ed, data={"title": "Herbstaktion", "campaign": "Herbst 2027"}
        )
        planning.plan_post(
            s,
            actor=ed,
            piece_id=piece.id or 0,
            channel=ids["Social"],
            when=datetime.now(UTC).replace(microsecond=0, second=0, minute=0) + timedelta(days=6),
        )
    at = opened(open_page(sign_in("ed", PASSWORD), "calendar"), keys.CAL_FEED_OPEN)
    assert not at.exception
    campaign = at.selectbox(key=keys.CAL_FEED_CAMPAIGN)
    assert campaign.options == [translate("en", "calendar.feeds.all_campaigns"), "Herbst 2027"]
    campaign.select("Herbst 2027").run()
    at.selectbox(key=keys.CAL_FEED_STATUS).select("planned").run()
    made = [export() for export in exports]
    ics = [m for m in made if isinstance(m, bytes) and m.startswith(b"BEGIN:VCALENDAR")][-1]
    assert {str(e["SUMMARY"]) for e in Calendar.from_ical(ics).walk("VEVENT")} == {
        "Social: Herbstaktion"
    }
    at.text_input(key=keys.CAL_FEED_NAME).input("Herbst").run()
    at.button(key=keys.CAL_FEED_CREATE).click().run()
    assert not at.exception
    shown = " ".join(t.value for t in at.main.text)
    assert "campaign: Herbst 2027" in shown and "status: planned" in shown
    (url,) = [c.value for c in at.main.code]
    with Session(engine) as s:
        served = calendar_feeds.fetch_feed(s, _token(url))
    assert served is not None
    assert {str(e["SUMMARY"]) for e in Calendar.from_ical(served).walk("VEVENT")} == {
        "Social: Herbstaktion"
    }
    # No published post: the same campaign in the state "published" shows nothing.
    at.selectbox(key=keys.CAL_FEED_STATUS).select("published").run()
    made = [export() for export in exports]
    ics = [m for m in made if isinstance(m, bytes) and m.startswith(b"BEGIN:VCALENDAR")][-1]
    assert list(Calendar.from_ical(ics).walk("VEVENT")) == []
    engine.dispose()
