"""The interactive calendar's data without a browser: posts read through `planning` (on
SQLite and PostgreSQL) become cards in the colour and words of what publishing does with
them, free and crowded days and free slots become background marks, the options speak
German or English, and what the calendar reports back (a drop, a click) is read safely."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

import pytest

from planner import channels, pieces, planning
from planner.models import Channel, Piece, Post, PostStatus
from planner.ui import channel_icons, fullcalendar, layout
from planner.ui.i18n import translate
from publishers import REGISTRY
from tests.conftest import World
from tests.ui.test_german import english_words

BERLIN = "Europe/Berlin"
YEAR = datetime.now(UTC).year + 1
DAY = date(YEAR, 6, 9)  # a Wednesday in summer time: 10:00 in Berlin is 08:00 UTC
TODAY = date(YEAR, 6, 8)


def _channel(world: World, name: str, cap: int | None = None) -> Channel:
    return channels.create_channel(
        world.session, actor=world.admin, kind="recording", name=name, daily_cap=cap
    )


def _approved(world: World, title: str) -> Piece:
    s, editor = world.session, world.editor
    piece = pieces.create_piece(s, actor=editor, data={"title": title})
    pieces.edit_piece(
        s, actor=editor, piece_id=piece.id or 0, expected_revision=1, data={"body": "Text."}
    )
    submitted = pieces.submit_piece(s, actor=editor, piece_id=piece.id or 0)
    return pieces.approve_piece(
        s, actor=world.approver, piece_id=piece.id or 0, revision=submitted.revision
    )


def _plan(world: World, piece: Piece, channel: Channel, when: str) -> Post:
    return planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id or 0,
        channel=channel.id or 0,
        when=when,
        tz_name=BERLIN,
    )


def _set_status(world: World, post: Post, status: PostStatus) -> None:
    """Put a post where only the publishing engine puts it."""
    post.status = status
    world.session.add(post)
    world.session.commit()


def _entries(world: World, first: date, days: int) -> list[planning.CalendarEntry]:
    start, *_, end = planning.local_bounds(first, days, BERLIN)
    return planning.calendar_entries(world.session, actor=world.editor, start=start, end=end)


def _cards(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("display") != "background"]


def _marks(events: list[dict[str, Any]]) -> dict[str, str]:
    return {e["start"]: e["title"] for e in events if e.get("display") == "background"}


@pytest.mark.parametrize(
    ("lang", "states"),
    [
        pytest.param(
            "de",
            [
                "geplant",
                "zurückgehalten: der Kanal ist deaktiviert",
                "veröffentlicht",
                "fehlgeschlagen",
                "zu prüfen",
            ],
            id="de",
        ),
        pytest.param(
            "en",
            ["planned", "held: the channel is disabled", "published", "failed", "needs check"],
            id="en",
        ),
    ],
)
def test_each_card_says_and_colours_what_publishing_does_with_its_post(
    world: World, lang: str, states: list[str]
) -> None:
    social, intranet = _channel(world, "Social"), _channel(world, "Intranet der Lindenbach GmbH")
    piece = _approved(world, "Messe")
    planned = _plan(world, piece, social, f"{DAY} 10:00")
    _plan(world, piece, intranet, f"{DAY} 11:00")
    published = _plan(world, piece, social, f"{DAY} 12:00")
    failed = _plan(world, piece, social, f"{DAY} 13:00")
    checked = _plan(world, piece, social, f"{DAY} 14:00")
    channels.set_enabled(world.session, actor=world.admin, ref=intranet.id or 0, enabled=False)
    _set_status(world, published, PostStatus.published)
    _set_status(world, failed, PostStatus.failed)
    _set_status(world, checked, PostStatus.needs_check)

    events = fullcalendar.events(
        _entries(world, DAY, 1),
        lang=lang,
        tz_name=BERLIN,
        first=DAY,
        days=1,
        today=TODAY,
        movable=frozenset({planned.id or 0}),
    )
    cards = _cards(events)
    short = "Intranet der Lind…"  # a long channel name is cut on a card
    channels_shown = ["Social", short, "Social", "Social", "Social"]
    assert [c["title"] for c in cards] == [
        f"{name} · Messe · {state}" for name, state in zip(channels_shown, states, strict=True)
    ]
    assert [c["extendedProps"]["state"] for c in cards] == [
        "scheduled",
        "held",
        "published",
        "failed",
        "other",
    ]
    assert [c["backgroundColor"] for c in cards] == [
        fullcalendar.COLOURS[c["extendedProps"]["state"]] for c in cards
    ]
    assert len({c["backgroundColor"] for c in cards}) == 5
    # The users' wall clock without an offset (the calendar runs in UTC over it).
    assert [c["start"] for c in cards] == [f"{DAY}T{h}:00:00" for h in (10, 11, 12, 13, 14)]
    assert [c["startEditable"] for c in cards] == [True, False, False, False, False]
    # Timed cards in white text whose length stays: said once, in the calendar's options.
    assert not any({"allDay", "textColor", "durationEditable"} & set(c) for c in cards)
    grid = fullcalendar.options(
        lang=lang, view="month", anchor=DAY, now=datetime(YEAR, 6, 8, tzinfo=UTC), tz_name=BERLIN
    )
    assert (grid["eventTextColor"], grid["eventDurationEditable"]) == ("#ffffff", False)
    assert cards[0]["extendedProps"] == {
        "post": planned.id,
        "piece": piece.id,
        "version": planned.version,
        "state": "scheduled",
        "order": 0,
    }
    assert planning.CROWDED_DAY == 5
    assert list(_marks(events)) == [DAY.isoformat()]  # five posts on one day: crowded
    if lang == "de":
        assert [english_words(c["title"].replace("Messe", "")) for c in cards] == [[]] * 5


def test_a_card_keeps_the_wall_clock_across_the_summer_time_change(world: World) -> None:
    social = _channel(world, "Social")
    piece = _approved(world, "Messe")
    change = date(YEAR, 3, 31) - timedelta(days=(date(YEAR, 3, 31).weekday() + 1) % 7)
    _plan(world, piece, social, f"{change} 03:30")  # the first hour of summer time
    _plan(world, piece, social, f"{change - timedelta(days=1)} 23:30")  # still winter time
    cards = _cards(
        fullcalendar.events(
            _entries(world, change - timedelta(days=1), 2),
            lang="de",
            tz_name=BERLIN,
            first=change - timedelta(days=1),
            days=2,
            today=TODAY,
        )
    )
    assert [c["start"] for c in cards] == [
        f"{change - timedelta(days=1)}T23:30:00",
        f"{change}T03:30:00",
    ]


@pytest.mark.parametrize(
    ("lang", "free", "crowded", "capped"),
    [
        pytest.param("de", "frei", "voll: 5 Posts", "Tageslimit: Newsletter", id="de"),
        pytest.param("en", "free", "crowded: 5 posts", "daily cap: Newsletter", id="en"),
    ],
)
def test_free_and_crowded_days_are_marked_with_words(
    world: World, lang: str, free: str, crowded: str, capped: str
) -> None:
    social, letter = _channel(world, "Social"), _channel(world, "Newsletter", cap=2)
    piece = _approved(world, "Messe")
    first = TODAY - timedelta(days=2)  # two days before today: never marked free
    busy, capped_day, one = TODAY, TODAY + timedelta(days=1), TODAY + timedelta(days=2)
    for hour in range(planning.CROWDED_DAY):  # an hour apart: one piece, never twice at once
        _plan(world, piece, social, f"{busy} {9 + hour:02d}:00")
    _plan(world, piece, letter, f"{capped_day} 08:00")
    _plan(world, piece, letter, f"{capped_day} 18:00")
    _plan(world, piece, social, f"{one} 08:00")
    caps = {c.id or 0: c.daily_cap for c in (social, letter)}

    marks = fullcalendar.day_marks(
        _entries(world, first, 6), tz_name=BERLIN, first=first, days=6, caps=caps, today=TODAY
    )
    assert [(m.day, m.kind, m.posts, m.full_channels) for m in marks] == [
        (busy, "crowded", 5, ()),
        (capped_day, "crowded", 2, ("Newsletter",)),
        (TODAY + timedelta(days=3), "free", 0, ()),
    ]
    events = fullcalendar.events(
        _entries(world, first, 6),
        lang=lang,
        tz_name=BERLIN,
        first=first,
        days=6,
        today=TODAY,
        caps=caps,
    )
    assert _marks(events) == {
        busy.isoformat(): crowded,
        capped_day.isoformat(): capped,
        (TODAY + timedelta(days=3)).isoformat(): free,
    }
    background = [e for e in events if e.get("display") == "background"]
    assert all(e["allDay"] and e["end"] > e["start"] for e in background)
    assert [e["backgroundColor"] for e in background] == [
        fullcalendar.MARKS["crowded"],
        fullcalendar.MARKS["crowded"],
        fullcalendar.MARKS["free"],
    ]


def test_free_slots_of_a_slot_plan_are_drawn_on_the_wall_clock() -> None:
    slots = [datetime(YEAR, 1, 12, 8, 0, tzinfo=UTC), datetime(YEAR, 7, 12, 8, 0, tzinfo=UTC)]
    events = fullcalendar.events(
        [],
        lang="en",
        tz_name=BERLIN,
        first=date(YEAR, 1, 12),
        days=0,
        today=TODAY,
        free_slots=slots,
    )
    assert [(e["start"], e["end"], e["title"], e["display"]) for e in events] == [
        (f"{YEAR}-01-12T09:00:00", f"{YEAR}-01-12T09:30:00", "free slot", "background"),
        (f"{YEAR}-07-12T10:00:00", f"{YEAR}-07-12T10:30:00", "free slot", "background"),
    ]


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    return []


@pytest.mark.parametrize(
    ("lang", "code", "today", "no_posts"),
    [
        ("de", "de", "Heute", "In diesem Zeitraum ist nichts geplant."),
        ("en", "en-GB", "Today", "Nothing is planned in this range."),
    ],
)
def test_the_calendar_speaks_the_users_language_monday_first_in_24_hours(
    lang: str, code: str, today: str, no_posts: str
) -> None:
    now = datetime(YEAR, 6, 9, 22, 30, tzinfo=UTC)  # past midnight in Berlin
    options = fullcalendar.options(lang=lang, view="month", anchor=DAY, now=now, tz_name=BERLIN)
    locale = options["locale"]
    assert (locale["code"], locale["week"]["dow"], options["firstDay"]) == (code, 1, 1)
    assert locale["buttonText"]["today"] == today
    assert locale["noEventsText"] == no_posts
    assert options["now"] == f"{YEAR}-06-10T00:30:00"
    assert (options["initialView"], options["initialDate"]) == ("dayGridMonth", DAY.isoformat())
    assert options["eventTimeFormat"]["hour12"] is False
    assert options["timeZone"] == "UTC"
    if lang == "de":  # every text FullCalendar may show, German (its own locale is English)
        words = [w for text in _texts(locale) for w in english_words(text.replace("$0", ""))]
        assert words == []
        assert fullcalendar.legend("de")[-4:] == [
            translate("de", f"calendar.fc.legend.{k}", count=5)
            for k in ("free", "crowded", "slot", "more")
        ]


@pytest.mark.parametrize(
    ("view", "phone", "shown"),
    [
        ("month", False, "dayGridMonth"),
        ("month", True, "listMonth"),
        ("week", False, "timeGridWeek"),
        ("week", True, "listWeek"),
    ],
)
def test_a_phone_gets_the_list_of_the_month_or_week(view: str, phone: bool, shown: str) -> None:
    now = datetime(YEAR, 6, 9, 8, tzinfo=UTC)
    options = fullcalendar.options(
        lang="de",
        view="month" if view == "month" else "week",
        anchor=DAY,
        now=now,
        tz_name=BERLIN,
        phone=phone,
    )
    assert options["initialView"] == shown
    assert (options["height"] == "auto") if phone else ("height" in options)


@pytest.mark.parametrize(
    ("agent", "phone"),
    [
        pytest.param(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            True,
            id="android-phone",
        ),
        pytest.param(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            True,
            id="iphone",
        ),
        pytest.param(
            "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
            True,
            id="firefox-android",
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            False,
            id="android-tablet",
        ),
        pytest.param(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36",
            False,
            id="desktop",
        ),
        pytest.param("", False, id="none"),
    ],
)
def test_a_browser_that_says_it_is_a_phone_is_one(agent: str, phone: bool) -> None:
    assert layout.is_phone(agent) is phone


def _change(start: object, props: object) -> dict[str, Any]:
    return {
        "callback": "eventChange",
        "eventChange": {"oldEvent": {}, "event": {"start": start, "extendedProps": props}},
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            _change("2027-06-11T10:00:00Z", {"post": 7, "version": 3}),
            fullcalendar.Drop(7, 3, datetime(2027, 6, 11, 10, 0)),
            id="utc",
        ),
        pytest.param(
            _change("2027-06-11T10:00:00", {"post": 7, "version": 3}),
            fullcalendar.Drop(7, 3, datetime(2027, 6, 11, 10, 0)),
            id="no-offset",
        ),
        pytest.param(
            _change("2027-06-11T12:00:00+02:00", {"post": 7}),
            fullcalendar.Drop(7, None, datetime(2027, 6, 11, 10, 0)),
            id="offset",
        ),
        pytest.param(_change("tomorrow", {"post": 7}), None, id="no-time"),
        pytest.param(_change("2027-06-11T10:00:00Z", {"post": "7"}), None, id="text-id"),
        pytest.param(_change("2027-06-11T10:00:00Z", {"post": True}), None, id="bool-id"),
        pytest.param(_change(None, {"post": 7}), None, id="no-start"),
        pytest.param(_change("2027-06-11", None), None, id="no-props"),
        pytest.param({"callback": "eventChange"}, None, id="empty"),
        pytest.param({"callback": "dateClick", "dateClick": {}}, None, id="other-callback"),
        pytest.param({}, None, id="nothing-yet"),
        pytest.param(None, None, id="none"),
    ],
)
def test_a_drop_is_read_as_the_users_wall_clock_and_nothing_else_is(
    value: object, expected: fullcalendar.Drop | None
) -> None:
    assert fullcalendar.dropped(value) == expected


def test_a_drop_is_typed_as_a_person_types_a_new_time() -> None:
    assert fullcalendar.Drop(7, 3, datetime(2027, 6, 11, 9, 5)).typed() == "2027-06-11 09:05"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            {"callback": "eventClick", "eventClick": {"event": {"extendedProps": {"piece": 4}}}},
            4,
            id="card",
        ),
        pytest.param(
            {"callback": "eventClick", "eventClick": {"event": {"extendedProps": {}}}},
            None,
            id="no-piece",
        ),
        pytest.param({"callback": "eventClick", "eventClick": None}, None, id="empty"),
        pytest.param(_change("2027-06-11T10:00:00Z", {"piece": 4}), None, id="a-drop"),
    ],
)
def test_a_click_names_the_cards_piece(value: object, expected: int | None) -> None:
    assert fullcalendar.clicked_piece(value) == expected


def test_a_months_day_draws_a_few_cards_problems_first_and_more_for_the_rest(
    world: World,
) -> None:
    social = _channel(world, "Social")
    piece = _approved(world, "Messe")
    posts = [_plan(world, piece, social, f"{DAY} {hour}:00") for hour in (9, 10, 11, 12, 13)]
    _set_status(world, posts[-1], PostStatus.failed)  # the day's last post failed
    next_day = DAY + timedelta(days=1)
    _plan(world, piece, social, f"{next_day} 09:00")
    entries = _entries(world, DAY, 2)

    events = fullcalendar.events(
        entries, lang="de", tz_name=BERLIN, first=DAY, days=2, today=TODAY, per_day=2
    )
    cards = [e for e in events if "planner-post" in e.get("classNames", [])]
    # Of the five, the failed one and then the earliest; the next day's only post.
    assert sorted(c["start"] for c in cards) == [
        f"{DAY}T09:00:00",
        f"{DAY}T13:00:00",
        f"{next_day}T09:00:00",
    ]
    assert {c["extendedProps"]["order"] for c in cards} == {0}
    [more] = [e for e in events if "planner-more" in e.get("classNames", [])]
    assert more == {
        "id": f"more-{DAY}",
        "title": "+3 weitere",
        "start": DAY.isoformat(),
        "allDay": True,
        "startEditable": False,
        "classNames": ["planner-more"],
        "backgroundColor": "#ffffff",
        "borderColor": "#545454",
        "textColor": "#1f1f1f",
        "extendedProps": {"more": DAY.isoformat(), "order": 1},
    }
    english = fullcalendar.more_event(DAY, 3, lang="en")
    assert english["title"] == "+3 more"
    # The day's mark counts all five posts, not the two cards.
    assert _marks(events)[DAY.isoformat()] == translate("de", "calendar.fc.crowded_day", count=5)
    # The calendar orders a day's events by `order` first: the cards above "+3 weitere".
    options = fullcalendar.options(
        lang="de", view="month", anchor=DAY, now=datetime(YEAR, 6, 8, tzinfo=UTC), tz_name=BERLIN
    )
    assert options["eventOrder"].split(",")[0] == "order"
    # Without a limit (the week, a phone's list) every post is a card.
    every = fullcalendar.events(entries, lang="de", tz_name=BERLIN, first=DAY, days=2, today=TODAY)
    assert len([e for e in every if "planner-post" in e.get("classNames", [])]) == 6
    assert not [e for e in every if "planner-more" in e.get("classNames", [])]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            {
                "callback": "eventClick",
                "eventClick": {"event": {"extendedProps": {"more": "2027-06-09", "order": 1}}},
            },
            date(2027, 6, 9),
            id="more",
        ),
        pytest.param(
            {"callback": "eventClick", "eventClick": {"event": {"extendedProps": {"piece": 4}}}},
            None,
            id="a-card",
        ),
        pytest.param(
            {"callback": "eventClick", "eventClick": {"event": {"extendedProps": {"more": "9"}}}},
            None,
            id="not-a-day",
        ),
        pytest.param(_change("2027-06-11T10:00:00Z", {"more": "2027-06-09"}), None, id="a-drop"),
    ],
)
def test_a_click_on_more_names_its_day(value: object, expected: date | None) -> None:
    assert fullcalendar.clicked_more(value) == expected


def test_each_card_carries_its_channel_kinds_icon_and_every_kind_has_one(world: World) -> None:
    hook = channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "https://intranet.example/hook", "secret": secrets.token_hex(16)},
    )
    social = _channel(world, "Social")
    piece = _approved(world, "Messe")
    _plan(world, piece, hook, f"{DAY} 10:00")
    _plan(world, piece, social, f"{DAY} 11:00")
    cards = _cards(
        fullcalendar.events(
            _entries(world, DAY, 1), lang="de", tz_name=BERLIN, first=DAY, days=1, today=TODAY
        )
    )
    assert [c["classNames"][-1] for c in cards] == [
        "planner-kind-webhook",
        "planner-kind-recording",
    ]
    css = fullcalendar.css()
    shipped = [kind for kind, cls in REGISTRY.items() if cls.__module__.startswith("publishers.")]
    assert len(shipped) >= 15
    for kind in shipped:
        uri = channel_icons.data_uri(kind, "#ffffff")
        assert uri.startswith("data:image/svg+xml,"), kind
        # The planner's own constant text, not untrusted input.
        svg = ElementTree.fromstring(unquote(uri.removeprefix("data:image/svg+xml,")))  # noqa: S314
        [path] = svg.iter("{http://www.w3.org/2000/svg}path")
        assert path.get("fill") == "#ffffff" and len(path.get("d") or "") > 10, kind
        assert (
            f'.planner-kind-{kind} .fc-event-time::before {{ background-image: url("{uri}")' in css
        )
    # A kind without an icon (a test adapter) draws nothing but its words.
    assert channel_icons.data_uri("recording", "#ffffff") == ""
    assert "planner-kind-recording" not in css
