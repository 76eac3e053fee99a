"""The interactive calendar in a real browser: FullCalendar in its component frame, posts
as cards, dragged to another day with a real mouse (the move is stored exactly as the
move form stores it), a refused drop said in the user's language with the card back where
the database has it, a click on a card opening the piece, and on a phone a list.

The dashboard runs as `python -m planner serve` (scheduler off) on a fresh SQLite file with
the users and the webhook channel of `tests/ui/test_e2e_browser.py`; headless Chromium
drives it. Marked `e2e`; skipped, saying why, without chromium or playwright.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from planner import pieces, planning, users
from planner.db import make_engine
from planner.models import Post
from planner.timezones import to_local
from planner.ui import keys
from tests.ui.test_e2e_browser import (
    CHANNEL,
    REPO_ROOT,
    ZONE,
    Dashboard,
    Org,
    Server,
    _missing,
    chromium_page,
    org,  # noqa: F401 - the fixture, used by name
    serving,
)

if TYPE_CHECKING:
    from playwright.sync_api import FrameLocator, Locator, Page

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(_missing() is not None, reason=_missing() or ""),
]

SCREENSHOTS = REPO_ROOT / "test-output" / "e2e-calendar"
FRAME = "iframe[title='streamlit_calendar.calendar']"
PIECE = "Tag der offenen Tür"


@dataclass
class Planned:
    """The running dashboard, a browser page on it, and the post the test drags."""

    org: Org
    server: Server
    page: Page
    post_id: int
    piece_id: int
    local: datetime  # the post's time on the users' wall clock


def _first_day_shown(day: date) -> date:
    """The Monday that starts the month view around `day` (whole weeks, Monday first)."""
    first = day.replace(day=1)
    return first - timedelta(days=first.weekday())


def _days() -> tuple[datetime, date]:
    """A time two days ahead at 10:00 and a later day, both in the month view of today."""
    today = datetime.now(ZoneInfo(ZONE)).date()
    start = today + timedelta(days=2)
    if start.month != today.month:
        # Near a month's end the view of today may not show the next days: start in the
        # next month instead and look at that (the test then picks that month's date).
        start = start.replace(day=1) + timedelta(days=7)
    local = datetime(start.year, start.month, start.day, 10, 0, tzinfo=ZoneInfo(ZONE))
    return local, start + timedelta(days=2)


def _plan(setup: Org, local: datetime) -> tuple[int, int]:
    engine = make_engine(setup.url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            eddi = users.get_user(s, "eddi")
            piece = pieces.create_piece(s, actor=eddi, data={"title": PIECE})
            post = planning.plan_post(
                s, actor=eddi, piece_id=piece.id or 0, channel=CHANNEL, when=local
            )
            return post.id or 0, piece.id or 0
    finally:
        engine.dispose()


def _stored(setup: Org, post_id: int) -> tuple[datetime, int]:
    """The post's time on the users' wall clock, and its version, as stored."""
    engine = make_engine(setup.url)
    try:
        with Session(engine) as s:
            post = s.get(Post, post_id)
            assert post is not None
            return to_local(post.publish_at, ZONE).replace(tzinfo=None), post.version
    finally:
        engine.dispose()


def _move_elsewhere(setup: Org, post_id: int, when: datetime) -> None:
    """Someone else moves the post while the page still shows it."""
    engine = make_engine(setup.url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            planning.move_post(s, actor=users.get_user(s, "admin"), post_id=post_id, when=when)
    finally:
        engine.dispose()


@contextmanager
def _planned(org: Org, tmp_path: Path, *, phone: bool) -> Iterator[Planned]:  # noqa: F811
    """The post planned, the dashboard serving, and a browser on it: a computer's, or a
    phone's (390 CSS pixels wide, saying it is a phone)."""
    local, _ = _days()
    post_id, piece_id = _plan(org, local)
    device: dict[str, Any] = {"viewport": (390, 844), "mobile": True} if phone else {}
    with (
        serving(org.url, tmp_path / "serve.log", scheduler=False) as server,
        chromium_page(tmp_path / "chromium-profile", **device) as page,
    ):
        console: list[str] = []
        page.on(
            "console",
            lambda message: console.append(message.text) if message.type == "error" else None,
        )
        yield Planned(org, server, page, post_id, piece_id, local)
        assert console == [], f"errors on the browser's console: {console}"


@pytest.fixture
def planned(org: Org, tmp_path: Path) -> Iterator[Planned]:  # noqa: F811 - the fixture
    with _planned(org, tmp_path, phone=False) as ready:
        yield ready


@pytest.fixture
def on_phone(org: Org, tmp_path: Path) -> Iterator[Planned]:  # noqa: F811 - the fixture
    with _planned(org, tmp_path, phone=True) as ready:
        yield ready


def _open_on_phone(ui: Dashboard) -> FrameLocator:
    """Signed in as the editor on a phone, who lands on the Calendar: its one frame."""
    ui.sign_in("eddi")
    ui.see(ui.t("calendar.heading"))
    ui.page.locator(FRAME).wait_for()
    assert ui.page.locator(FRAME).count() == 1  # the list alone: no grid drawn beside it
    return ui.page.frame_locator(FRAME).first


def _open_calendar(ui: Dashboard, day: date) -> FrameLocator:
    """The Calendar page at `day` in the month view (its week when the week view is
    chosen), and the calendar's frame."""
    ui.sign_in("eddi")
    ui.open("calendar")
    today = datetime.now(ZoneInfo(ZONE)).date()
    if day.month != today.month or day.isocalendar()[:2] != today.isocalendar()[:2]:
        # Another month, or (for the week view) another week than today's: go to the day.
        # The date field's segments (day, month, year in German), typed like a person.
        field = ui.main.get_by_label(ui.t("calendar.date"), exact=True)
        field.get_by_role("spinbutton").first.click()
        ui.page.keyboard.type(f"{day:%d%m%Y}")
        ui.page.keyboard.press("Enter")
        ui.idle()
    frame = ui.page.frame_locator(FRAME).first
    frame.locator(".fc-daygrid-body").wait_for()
    return frame


def _card(frame: FrameLocator) -> Locator:
    return frame.locator(".fc-event.planner-post", has_text=PIECE)


def _cell(frame: FrameLocator, day: date) -> Locator:
    return frame.locator(f"td.fc-daygrid-day[data-date='{day.isoformat()}']")


def _drag(page: Page, card: Locator, target: Locator) -> None:
    """Press on the card, move the mouse in steps onto the target and let go."""
    card.scroll_into_view_if_needed()
    start, end = card.bounding_box(), target.bounding_box()
    assert start is not None and end is not None
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def test_a_card_dragged_to_another_day_moves_the_post_there(planned: Planned) -> None:
    ui = Dashboard(planned.page, planned.server, SCREENSHOTS / "drag")
    local, target = _days()
    with ui.reporting_failure():
        frame = _open_calendar(ui, local.date())
        card = _card(frame)
        card.wait_for()
        assert "10:00" in card.inner_text()
        # The webhook channel's icon is drawn before the card's time.
        icon = card.locator(".fc-event-time").evaluate(
            "e => getComputedStyle(e, '::before').backgroundImage"
        )
        assert icon.startswith('url("data:image/svg+xml'), icon
        assert _cell(frame, local.date()).locator(".planner-post").count() == 1
        ui.shot("before-drag")
        _drag(ui.page, card, _cell(frame, target))
        ui.idle()
        new_time = datetime(target.year, target.month, target.day, 10, tzinfo=ZoneInfo(ZONE))
        moved = ui.t(
            "calendar.moved", id=planned.post_id, when=new_time.strftime(ui.t("format.datetime"))
        )
        ui.see(moved)
        ui.shot("after-drag")
        when, _version = _stored(planned.org, planned.post_id)
        assert when == datetime(target.year, target.month, target.day, 10, 0)
        frame = ui.page.frame_locator(FRAME).first
        _cell(frame, target).locator(".planner-post").wait_for()


def test_a_refused_drop_says_why_and_the_card_stays_where_the_post_is(planned: Planned) -> None:
    ui = Dashboard(planned.page, planned.server, SCREENSHOTS / "refused")
    local, target = _days()
    elsewhere = local + timedelta(days=1, hours=2)
    with ui.reporting_failure():
        frame = _open_calendar(ui, local.date())
        card = _card(frame)
        card.wait_for()
        # Someone else moves the post while this page still shows it where it was.
        _move_elsewhere(planned.org, planned.post_id, elsewhere)
        _drag(ui.page, card, _cell(frame, target))
        ui.idle()
        why = ui.t("calendar.post_conflict", id=planned.post_id)
        ui.see(ui.t("calendar.fc.refused", id=planned.post_id, reason=why))
        ui.shot("refused")
        when, _version = _stored(planned.org, planned.post_id)
        assert when == elsewhere.replace(tzinfo=None)
        # Drawn anew from the database: the card is on the day the post is, not the drop's.
        frame = ui.page.frame_locator(FRAME).first
        _cell(frame, elsewhere.date()).locator(".planner-post").wait_for()
        assert "12:00" in _card(frame).inner_text()
        assert _cell(frame, target).locator(".planner-post").count() == 0


def test_a_click_on_a_card_opens_its_piece_by_its_link(planned: Planned) -> None:
    ui = Dashboard(planned.page, planned.server, SCREENSHOTS / "click")
    local, _ = _days()
    with ui.reporting_failure():
        frame = _open_calendar(ui, local.date())
        _card(frame).click()
        ui.idle()
        ui.see(ui.t("editor.heading"))
        ui.page.wait_for_url(f"**/editor?piece={planned.piece_id}")
        ui.shot("piece-opened")
        when, version = _stored(planned.org, planned.post_id)
        assert (when, version) == (local.replace(tzinfo=None), 1)  # a click moves nothing


def test_a_full_day_shows_four_cards_and_more_which_opens_its_week(planned: Planned) -> None:
    from playwright.sync_api import expect

    ui = Dashboard(planned.page, planned.server, SCREENSHOTS / "more")
    day = planned.local.date()
    # Five more posts on the post's day, one an hour after it: six in all.
    for hour in range(1, 6):
        _plan(planned.org, planned.local + timedelta(hours=hour))
    with ui.reporting_failure():
        frame = _open_calendar(ui, day)
        cell = _cell(frame, day)
        expect(cell.locator(".planner-post")).to_have_count(4)
        more = cell.locator(".planner-more")
        expect(more).to_have_text(ui.t("calendar.fc.more_cards", count=2))
        ui.shot("month-more")
        # Under the calendar, the same month as text: one table, the day's six posts counted.
        table = ui.see(ui.t("calendar.fc.as_text")).locator("xpath=following::table[1]")
        day_said = ui.t("calendar.crowded_day", count=6)
        expect(table.get_by_role("cell", name=day_said)).to_have_count(1)
        table.scroll_into_view_if_needed()
        ui.shot("month-as-text")
        more.click()
        ui.idle()
        week = ui.page.frame_locator(FRAME).first
        week.locator(".fc-timegrid").wait_for()
        expect(week.locator(".planner-post")).to_have_count(6)
        expect(ui.main.get_by_role("radio", name=ui.t("calendar.view.week"))).to_be_checked()
        # The week as text: the day's six posts in one text, a line each.
        texts = ui.main.locator(f".st-key-{keys.CAL_WEEK} [data-testid='stText']")
        day_text = texts.filter(has_text=PIECE)
        day_text.scroll_into_view_if_needed()
        assert len(day_text.inner_text().strip().splitlines()) == 6
        ui.shot("week-of-the-day")


def test_on_a_phone_the_month_is_a_list(on_phone: Planned) -> None:
    ui = Dashboard(on_phone.page, on_phone.server, SCREENSHOTS / "phone")
    with ui.reporting_failure():
        if on_phone.local.month != datetime.now(ZoneInfo(ZONE)).month:
            pytest.skip("the post lies in next month; the list shows this one")
        frame = _open_on_phone(ui)
        ui.see(ui.t("calendar.fc.how_phone"))  # tapped, not dragged
        entry = frame.locator(".fc-list-event", has_text=PIECE)
        entry.wait_for()
        assert "10:00" in entry.inner_text()
        assert frame.locator(".fc-daygrid-body").count() == 0
        entry.scroll_into_view_if_needed()
        ui.shot("phone-list")
        # The month as text: a line a day (seven columns do not fit), nothing sideways.
        as_text = ui.main.get_by_test_id("stText").filter(has_text=ui.t("calendar.weekday.6"))
        lines = as_text.inner_text().strip().splitlines()
        assert len(lines) in (28, 35, 42) and lines[0].startswith(ui.t("calendar.weekday.0"))
        assert ui.main.locator("[data-testid='stMarkdownContainer'] table").count() == 0
        width = ui.page.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return m.scrollWidth - m.clientWidth; }"
        )
        assert width <= 1


@pytest.mark.parametrize(
    ("device", "drawn"),
    [
        pytest.param("planned", ".fc-timegrid", id="computer-grid"),
        pytest.param("on_phone", ".fc-list", id="phone-list"),
    ],
)
def test_the_week_passes_axe_too(device: str, drawn: str, request: pytest.FixtureRequest) -> None:
    from tests.ui.test_accessibility import AXE, _axe_violations, _describe

    if not AXE.exists():
        pytest.skip(f"{AXE} is missing (npm ci --prefix tests/axe)")
    ready: Planned = request.getfixturevalue(device)
    ui = Dashboard(ready.page, ready.server, SCREENSHOTS / f"axe-{device}")
    with ui.reporting_failure():
        if device == "on_phone":
            _open_on_phone(ui)
        else:
            _open_calendar(ui, ready.local.date())
        ui.main.get_by_text(ui.t("calendar.view.week"), exact=True).click()
        ui.idle()
        ui.page.frame_locator(FRAME).first.locator(drawn).wait_for()
        ui.shot("week")
        found = _axe_violations(ui.page)
    assert not found, _describe(found)


def test_in_the_week_a_card_dragged_to_another_hour_moves_the_post_to_that_time(
    planned: Planned,
) -> None:
    ui = Dashboard(planned.page, planned.server, SCREENSHOTS / "week-drag")
    local, _ = _days()
    with ui.reporting_failure():
        _open_calendar(ui, local.date())
        ui.main.get_by_text(ui.t("calendar.view.week"), exact=True).click()
        ui.idle()
        frame = ui.page.frame_locator(FRAME).first
        card = _card(frame)
        card.wait_for()
        card.scroll_into_view_if_needed()
        # The next day at 14:00 if it is in the same week, else the day before.
        day = local.date() + timedelta(days=1 if local.weekday() < 6 else -1)
        column = frame.locator(f"td.fc-timegrid-col[data-date='{day.isoformat()}']")
        slot = frame.locator("td.fc-timegrid-slot-lane[data-time='14:00:00']")
        slot.scroll_into_view_if_needed()
        start, col, lane = card.bounding_box(), column.bounding_box(), slot.bounding_box()
        assert start is not None and col is not None and lane is not None
        grab_y = start["y"] + 4  # near the card's top: the grab keeps this offset
        ui.page.mouse.move(start["x"] + start["width"] / 2, grab_y)
        ui.page.mouse.down()
        ui.page.mouse.move(col["x"] + col["width"] / 2, lane["y"] + 4, steps=15)
        ui.page.mouse.up()
        ui.idle()
        new_time = datetime(day.year, day.month, day.day, 14, tzinfo=ZoneInfo(ZONE))
        ui.see(
            ui.t(
                "calendar.moved",
                id=planned.post_id,
                when=new_time.strftime(ui.t("format.datetime")),
            )
        )
        ui.shot("after-drag")
        when, _version = _stored(planned.org, planned.post_id)
        assert when == new_time.replace(tzinfo=None)
