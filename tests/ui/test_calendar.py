"""The Calendar page under AppTest: views, plan, bad dates, move, cancel, series, both languages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from planner import channels, ideas, pieces, planning, rules, slots, users
from planner.db import make_engine
from planner.models import PostStatus
from planner.rules import WEEKDAYS
from planner.timezones import zone
from planner.ui import keys
from planner.ui.i18n import translate
from tests.conftest import last_sunday
from tests.ui.conftest import (
    PASSWORD,
    account,
    add_user,
    charts_shown,
    kept_whole,
    open_page,
    opened,
    set_post_status,
    sign_in,
)
from tests.ui.test_process_findings import NO_GUARANTEES

BERLIN = zone("Europe/Berlin")
YEAR = datetime.now(UTC).year + 1


def _in_days(days: int, hour: int = 10) -> datetime:
    local_day = datetime.now(BERLIN).date() + timedelta(days=days)
    return datetime(local_day.year, local_day.month, local_day.day, hour, 0, tzinfo=BERLIN)


def _setup(database: str) -> dict[str, int]:
    """An approver, two channels, a piece from an HR idea and one without; ids by name."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        ed = users.get_user(s, "ed")
        account(s, actor=admin, username="ada", role="approver", display_name="Ada Approver")
        social = channels.create_channel(s, actor=admin, kind="recording", name="Social")
        intranet = channels.create_channel(
            s,
            actor=admin,
            kind="webhook",
            name="Intranet",
            settings={"url": "https://intranet.example.org/", "secret": "hook-secret-for-test"},
        )
        idea = ideas.list_ideas(s, actor=ed)[0]
        accepted = ideas.accept_idea(s, actor=ed, idea_id=idea.id or 0)
        other = pieces.create_piece(s, actor=ed, data={"title": "Messe <b>Bericht</b>"})
        ids = {
            "social": social.id or 0,
            "intranet": intranet.id or 0,
            "hr_piece": accepted.id or 0,
            "other_piece": other.id or 0,
        }
    engine.dispose()
    return ids


def _series_tab(at: Any, lang: str = "en") -> Any:
    """The page with the plan form's "Series" tab open (only the open tab is drawn)."""
    return opened(at, keys.CAL_PLAN_TABS, translate(lang, "calendar.tab.series"))


def _plan(database: str, piece_id: int, channel_id: int, when: datetime) -> int:
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        post = planning.plan_post(
            s, actor=users.get_user(s, "ed"), piece_id=piece_id, channel=channel_id, when=when
        )
    engine.dispose()
    return post.id or 0


def _post(database: str, post_id: int) -> tuple[PostStatus, datetime]:
    with Session(make_engine(database)) as s:
        post = planning.get_post(s, actor=users.get_user(s, "admin"), post_id=post_id)
        return post.status, post.publish_at


def _series_of_ed(
    database: str, piece_id: int, plans: list[tuple[int, str, datetime]]
) -> list[int | None]:
    """Series of the piece that "ed" creates: (channel id, rule, first local time) each."""
    engine = make_engine(database)
    with Session(engine) as s:
        ids = [
            planning.create_series(
                s,
                actor=users.get_user(s, "ed"),
                piece_id=piece_id,
                channel=channel,
                rule=rule,
                start=f"{start:%Y-%m-%d %H:%M}",
                tz_name="Europe/Berlin",
            ).id
            for channel, rule, start in plans
        ]
    engine.dispose()
    return ids


def _series_posts(database: str, series_id: int | None) -> list[int]:
    with Session(make_engine(database)) as s:
        admin = users.get_user(s, "admin")
        return [p.id or 0 for p in planning.list_posts(s, actor=admin) if p.series_id == series_id]


def _list_view(at):  # type: ignore[no-untyped-def]
    return at.radio(key=keys.CAL_VIEW).set_value("list").run()


@pytest.mark.parametrize("username", ["ed", "ada", "admin"])
def test_calendar_opens_for_editors_approvers_and_admins(database: str, username: str) -> None:
    _setup(database)
    at = open_page(sign_in(username, PASSWORD), "calendar")
    assert not at.exception
    assert at.title[0].value in ("Calendar", "Kalender")
    if username == "ada":
        assert "Sie sehen den Kalender nur lesend." in [i.value for i in at.info]
        with pytest.raises(KeyError):
            at.button(key=keys.CAL_PLAN_BUTTON)
    else:
        assert at.button(key=keys.CAL_PLAN_BUTTON).label in ("Plan", "Einplanen")


@pytest.mark.parametrize("zone_name", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_the_calendar_opens_on_today_on_the_users_own_clock(database: str, zone_name: str) -> None:
    """UTC+14 and UTC-11: for most hours of the day at least one of them is on another
    date than the server's UTC clock."""
    add_user(database, "kiri", "editor", timezone=zone_name)
    at = open_page(sign_in("kiri", PASSWORD), "calendar")
    assert not at.exception
    assert at.date_input(key=keys.CAL_DATE).value == datetime.now(zone(zone_name)).date()


def test_calendar_is_absent_for_contributors_and_the_old_plan_page_is_gone(database: str) -> None:
    at = sign_in("lena", PASSWORD)
    with pytest.raises(ValueError, match="calendar"):
        open_page(at, "calendar")
    ed = sign_in("ed", PASSWORD)
    with pytest.raises(ValueError, match="plan"):
        ed.switch_page("planner/ui/pages/plan.py")


def test_planning_a_post_through_the_calendar_shows_it_in_the_list_view(database: str) -> None:
    ids = _setup(database)
    at = open_page(sign_in("ed", PASSWORD), "calendar")
    at.text_input(key=keys.CAL_PLAN_SEARCH).input("Messe").run()
    assert at.selectbox(key=keys.CAL_PLAN_PIECE).value == ids["other_piece"]
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(ids["social"])
    when = _in_days(3, hour=9)
    at.text_input(key=keys.CAL_PLAN_WHEN).input(f"{when:%Y-%m-%d} 09:30")
    at.button(key=keys.CAL_PLAN_BUTTON).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [
        f"Post #1 is planned for {when:%d %b %Y} 09:30 {when:%Z}."
    ]
    assert at.text_input(key=keys.CAL_PLAN_WHEN).value == ""
    _list_view(at)
    table = at.dataframe[0].value
    assert list(table["Piece"]) == ["Messe <b>Bericht</b>"]  # plain text, not HTML
    assert list(table["Channel"]) == ["Social"]
    assert list(table["When"]) == [f"{when:%d %b %Y} 09:30 {when:%Z}"]
    assert list(table["Status"]) == ["planned"]


def _approved_with_a_forbidden_term(database: str) -> int:
    """The editor's piece "Tarif", approved by ada, and then a blocking rule that forbids a
    word of it (so only planning can find it); the piece's id."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        ed, admin = users.get_user(s, "ed"), users.get_user(s, "admin")
        piece = pieces.create_piece(
            s, actor=ed, data={"title": "Tarif", "body": "Der garantiert beste Tarif."}
        )
        assert piece.id is not None
        pieces.submit_piece(s, actor=ed, piece_id=piece.id)
        pieces.approve_piece(s, actor=users.get_user(s, "ada"), piece_id=piece.id, revision=1)
        rules.add_rule(s, actor=admin, data=NO_GUARANTEES)
    engine.dispose()
    return piece.id


@pytest.mark.parametrize(
    ("username", "message"),
    [
        (
            "ed",
            "Publishing rules: rule 'Keine Garantien' on channel 'Social': We promise "
            "nothing. (forbidden: garantiert)",
        ),
        (
            "admin",
            "Veröffentlichungsregeln: Regel „Keine Garantien“ auf dem Kanal „Social“: Wir "
            "versprechen nichts. (verboten: garantiert)",
        ),
    ],
)
def test_a_plan_a_content_rule_refuses_says_why_and_keeps_the_form(
    database: str, username: str, message: str
) -> None:
    ids = _setup(database)
    piece_id = _approved_with_a_forbidden_term(database)
    at = open_page(sign_in(username, PASSWORD), "calendar")
    at.text_input(key=keys.CAL_PLAN_SEARCH).input("Tarif").run()
    at.selectbox(key=keys.CAL_PLAN_PIECE).set_value(piece_id)
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(ids["social"])
    when = f"{_in_days(3):%Y-%m-%d} 09:30"
    at.text_input(key=keys.CAL_PLAN_WHEN).input(when)
    at.button(key=keys.CAL_PLAN_BUTTON).click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [message]
    assert not at.success
    assert at.text_input(key=keys.CAL_PLAN_WHEN).value == when
    engine = make_engine(database)
    with Session(engine) as s:
        assert planning.list_posts(s, actor=users.get_user(s, "ed"), piece_id=piece_id) == []
    engine.dispose()


def test_a_series_a_content_rule_refuses_says_why(database: str) -> None:
    ids = _setup(database)
    piece_id = _approved_with_a_forbidden_term(database)
    at = _series_tab(open_page(sign_in("ed", PASSWORD), "calendar"))
    at.text_input(key=keys.CAL_PLAN_SEARCH).input("Tarif").run()
    at.selectbox(key=keys.CAL_PLAN_PIECE).set_value(piece_id)
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(ids["social"])
    at.text_input(key=keys.CAL_SERIES_START).input(f"{_in_days(1):%Y-%m-%d} 08:00")
    at.number_input(key=keys.CAL_SERIES_COUNT).set_value(3)
    at.button(key=keys.CAL_SERIES_BUTTON).click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Publishing rules: rule 'Keine Garantien' on channel 'Social': We promise nothing. "
        "(forbidden: garantiert)"
    ]
    assert not at.success


def test_a_series_whose_times_have_all_passed_is_refused_not_reported_created(
    database: str,
) -> None:
    ids = _setup(database)
    at = _series_tab(open_page(sign_in("ed", PASSWORD), "calendar"))
    at.selectbox(key=keys.CAL_PLAN_PIECE).set_value(ids["hr_piece"])
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(ids["social"])
    at.text_input(key=keys.CAL_SERIES_START).input("01.01.2020 10:00")
    at.number_input(key=keys.CAL_SERIES_COUNT).set_value(6)
    at.button(key=keys.CAL_SERIES_BUTTON).click().run()
    assert not at.exception
    # Before, "Series #1 … is created" was said and nothing was planned.
    assert not at.success
    assert [e.value for e in at.error] == [
        "First date: every time of this series is in the past (the last: 2020-02-05 10:00); "
        "start it later"
    ]


def test_the_open_series_tab_stays_open_when_the_language_is_switched(database: str) -> None:
    _setup(database)
    at = _series_tab(open_page(sign_in("ed", PASSWORD), "calendar"))
    at.text_input(key=keys.CAL_SERIES_START).input("01.03.2030 09:00").run()
    at.selectbox(key=keys.LANGUAGE).select("de").run()
    assert not at.exception
    # Before, the tab was kept by its English label, which no German tab has: "Einmal" opened.
    assert at.session_state[keys.CAL_PLAN_TABS] == "Serie"
    assert at.text_input(key=keys.CAL_SERIES_START).value == "01.03.2030 09:00"
    at.selectbox(key=keys.LANGUAGE).select("en").run()
    assert at.session_state[keys.CAL_PLAN_TABS] == "Series"


GAP_DAY = f"{YEAR}-03-{last_sunday(YEAR, 3):02d}"


@pytest.mark.parametrize(
    ("username", "typed", "message"),
    [
        pytest.param(
            "admin",
            "31.02.2027 09:30",
            "Zeitpunkt: „31.02.2027 09:30“ ist kein lesbares Datum mit Uhrzeit; schreiben Sie "
            "z. B. „01.12.2026 09:30“ oder „2026-12-01 09:30“.",
            id="de-no-such-day",
        ),
        pytest.param(
            "admin",
            f"{GAP_DAY} 02:30",
            f"Zeitpunkt: {GAP_DAY} 02:30 gibt es in Europe/Berlin nicht: An diesem Tag springen "
            "die Uhren von 02:00 auf 03:00 Uhr. Wählen Sie eine Zeit vor 02:00 oder ab 03:00 Uhr.",
            id="de-dst-gap",
        ),
        pytest.param(
            "admin",
            "2001-01-01 09:00",
            "Zeitpunkt: 2001-01-01 09:00 liegt in der Vergangenheit.",
            id="de-past",
        ),
        pytest.param(
            "ed",
            "31.02.2027 09:30",
            "When: Cannot read '31.02.2027 09:30' as a date and time; use e.g. "
            "'2026-12-01 09:30' or '01.12.2026 09:30'",
            id="en-no-such-day",
        ),
        pytest.param(
            "ed",
            f"{GAP_DAY} 02:30",
            f"When: {GAP_DAY} 02:30 does not exist in Europe/Berlin: clocks jump from 02:00 to "
            "03:00 that day. Choose a time before 02:00 or from 03:00.",
            id="en-dst-gap",
        ),
        pytest.param(
            "ed", "2001-01-01 09:00", "When: 2001-01-01 09:00 is in the past", id="en-past"
        ),
    ],
)
def test_a_bad_date_shows_the_domains_message_in_the_users_language_and_keeps_it(
    database: str, username: str, typed: str, message: str
) -> None:
    ids = _setup(database)
    at = open_page(sign_in(username, PASSWORD), "calendar")
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(ids["social"])
    at.text_input(key=keys.CAL_PLAN_WHEN).input(typed)
    at.button(key=keys.CAL_PLAN_BUTTON).click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [message]
    assert at.text_input(key=keys.CAL_PLAN_WHEN).value == typed
    _list_view(at)
    nothing = {
        "admin": "In diesem Zeitraum ist nichts geplant.",
        "ed": "Nothing is planned in this range.",
    }
    assert nothing[username] in [i.value for i in at.info]


def test_moving_and_cancelling_a_post(database: str) -> None:
    ids = _setup(database)
    post_id = _plan(database, ids["other_piece"], ids["social"], _in_days(2))
    at = opened(open_page(sign_in("ed", PASSWORD), "calendar"), keys.CAL_MOVE_OPEN)
    assert at.selectbox(key=keys.CAL_MOVE_POST).value == post_id
    at.text_input(key=keys.CAL_MOVE_WHEN).input("gestern irgendwann")
    at.button(key=keys.CAL_MOVE_BUTTON).click().run()
    assert any(e.value.startswith("When: Cannot read 'gestern irgendwann'") for e in at.error)
    target = _in_days(5, hour=14)
    at.text_input(key=keys.CAL_MOVE_WHEN).input(f"{target:%d.%m.%Y} 14:15")
    at.button(key=keys.CAL_MOVE_BUTTON).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [
        f"Post #{post_id} is moved to {target:%d %b %Y} 14:15 {target:%Z}."
    ]
    status, publish_at = _post(database, post_id)
    assert status == PostStatus.planned
    assert publish_at == target.replace(minute=15).astimezone(UTC)
    at.button(key=keys.CAL_CANCEL_BUTTON).click().run()
    assert [s.value for s in at.success] == [f"Post #{post_id} is cancelled."]
    assert _post(database, post_id)[0] == PostStatus.cancelled
    _list_view(at)
    assert "Nothing is planned in this range." in [i.value for i in at.info]


@pytest.mark.parametrize("username", ["ed", "admin"])  # English, German
def test_a_series_is_ended_from_the_move_form_once_confirmed(database: str, username: str) -> None:
    ids = _setup(database)
    single = _plan(database, ids["other_piece"], ids["intranet"], _in_days(1, hour=8))
    start = _in_days(1)
    series = _series_of_ed(
        database,
        ids["other_piece"],
        [
            (ids["social"], "FREQ=DAILY;COUNT=2", start),
            (ids["intranet"], "FREQ=DAILY;COUNT=2", start.replace(hour=11)),
        ],
    )
    with Session(make_engine(database)) as s:
        posts = {p.id: p.series_id for p in planning.list_posts(s, actor=users.get_user(s, "ed"))}
    lang = "en" if username == "ed" else "de"
    at = opened(open_page(sign_in(username, PASSWORD), "calendar"), keys.CAL_MOVE_OPEN)
    at.selectbox(key=keys.CAL_MOVE_DAY).set_value(start.date()).run()
    # A post of no series offers no such thing.
    at.selectbox(key=keys.CAL_MOVE_POST).set_value(single).run()
    assert not [c for c in at.checkbox if c.key.startswith(keys.CAL_SERIES_CANCEL_CONFIRM)]
    first, other = (next(p for p, s in posts.items() if s == one) for one in series)
    at.selectbox(key=keys.CAL_MOVE_POST).set_value(first).run()
    confirm = at.checkbox(key=f"{keys.CAL_SERIES_CANCEL_CONFIRM}.{series[0]}")
    assert confirm.label == translate(lang, "calendar.series_cancel_confirm", id=series[0])
    assert not [b for b in at.button if b.key == keys.CAL_SERIES_CANCEL_BUTTON]
    confirm.check().run()
    assert at.button(key=keys.CAL_SERIES_CANCEL_BUTTON).label == translate(
        lang, "calendar.series_cancel", id=series[0]
    )
    # The confirmation is the series' own: another series' post asks again.
    at.selectbox(key=keys.CAL_MOVE_POST).set_value(other).run()
    assert at.checkbox(key=f"{keys.CAL_SERIES_CANCEL_CONFIRM}.{series[1]}").value is False
    assert not [b for b in at.button if b.key == keys.CAL_SERIES_CANCEL_BUTTON]
    at.selectbox(key=keys.CAL_MOVE_POST).set_value(first).run()
    again = at.checkbox(key=f"{keys.CAL_SERIES_CANCEL_CONFIRM}.{series[0]}")
    assert again.value is False  # asked again after looking elsewhere
    again.check().run()
    at.button(key=keys.CAL_SERIES_CANCEL_BUTTON).click().run()
    assert not at.exception and not at.error
    assert [m.value for m in at.success] == [
        translate(lang, "calendar.series_cancelled", id=series[0], count=2)
    ]
    statuses = {p: _post(database, p)[0] for p in posts}
    assert statuses == {
        p: PostStatus.cancelled if s == series[0] else PostStatus.planned for p, s in posts.items()
    }


@pytest.mark.parametrize("username", ["ed", "admin"])  # English, German
def test_the_series_tab_lists_the_running_series_and_ends_one_once_confirmed(
    database: str, username: str
) -> None:
    ids = _setup(database)
    start = _in_days(1)
    weekly = "FREQ=WEEKLY;COUNT=2"
    first, second = _series_of_ed(
        database,
        ids["other_piece"],
        [(ids["social"], "FREQ=DAILY;COUNT=2", start), (ids["intranet"], weekly, start)],
    )
    lang = "en" if username == "ed" else "de"
    at = _series_tab(open_page(sign_in(username, PASSWORD), "calendar"), lang)
    assert not at.exception
    when = start.strftime(translate(lang, "format.datetime"))
    # The rule in words, and as written.
    words = {freq: translate(lang, f"calendar.rule.{freq}") for freq in ("daily", "weekly")}
    twice = translate(lang, "calendar.rule.count", count=2)
    texts = [m.value for m in at.text]
    listed = [
        texts.index(
            translate(
                lang,
                "calendar.series_item",
                id=series_id,
                title="Messe <b>Bericht</b>",
                channel=channel,
                rule=rule,
                start=when,
                zone="Europe/Berlin",
            )
        )
        for series_id, channel, rule in (
            (second, "Intranet", f"{words['weekly']}, {twice} ({weekly})"),
            (first, "Social", f"{words['daily']}, {twice} (FREQ=DAILY;COUNT=2)"),
        )
    ]
    assert listed == sorted(listed)  # the newest first
    progress = translate(lang, "calendar.series_progress", waiting=2, published=0)
    assert f"{progress} · {translate(lang, 'calendar.series_next', when=when)}" in [
        m.value for m in at.text
    ]
    # Each series' end asks first, and only that series' button is offered once asked.
    end = f"{keys.CAL_SERIES_LIST_END}.{first}"
    assert not [b for b in at.button if b.key == end]
    at.checkbox(key=f"{keys.CAL_SERIES_LIST_CONFIRM}.{first}").check().run()
    assert at.button(key=end).label == translate(lang, "calendar.series_cancel", id=first)
    assert not [b for b in at.button if b.key == f"{keys.CAL_SERIES_LIST_END}.{second}"]
    at.button(key=end).click().run()
    assert not at.exception and not at.error
    assert [m.value for m in at.success] == [
        translate(lang, "calendar.series_cancelled", id=first, count=2)
    ]
    # The ended series leaves the list; the other one's end is still to be asked for.
    assert not [c for c in at.checkbox if c.key == f"{keys.CAL_SERIES_LIST_CONFIRM}.{first}"]
    assert at.checkbox(key=f"{keys.CAL_SERIES_LIST_CONFIRM}.{second}").value is False
    statuses = {_post(database, p)[0] for p in _series_posts(database, first)}
    assert statuses == {PostStatus.cancelled}


def test_more_running_series_than_a_page_holds_are_on_further_pages(database: str) -> None:
    ids = _setup(database)
    made = _series_of_ed(
        database,
        ids["other_piece"],
        [(ids["social"], "FREQ=DAILY;COUNT=1", _in_days(1 + day)) for day in range(21)],
    )
    at = _series_tab(open_page(sign_in("ed", PASSWORD), "calendar"))
    assert not at.exception

    def listed(at: Any) -> list[int]:
        prefix = f"{keys.CAL_SERIES_LIST_CONFIRM}."
        return [int(c.key.removeprefix(prefix)) for c in at.checkbox if c.key.startswith(prefix)]

    assert translate("en", "calendar.series_total", total=21) in [m.value for m in at.text]
    assert listed(at) == made[:0:-1]  # the newest 20 first
    assert at.number_input(key=keys.CAL_SERIES_PAGE).label == translate(
        "en", "calendar.series_page", pages=2
    )
    at.number_input(key=keys.CAL_SERIES_PAGE).set_value(2).run()
    assert not at.exception
    assert listed(at) == [made[0]]


def test_the_series_list_marks_a_series_in_slots_with_the_slot_it_took(database: str) -> None:
    ids = _setup(database)
    monday = _in_days(7 - _in_days(0).weekday(), hour=0)  # next Monday, 00:00 Berlin time
    engine = make_engine(database)
    with Session(engine) as s:
        slots.set_slot_plan(
            s, actor=users.get_user(s, "admin"), channel=ids["social"], slots="Wed 12:00"
        )
        planning.create_series(
            s,
            actor=users.get_user(s, "ed"),
            piece_id=ids["other_piece"],
            channel=ids["social"],
            rule="FREQ=WEEKLY;COUNT=2",
            start=f"{monday:%Y-%m-%d %H:%M}",
            tz_name="Europe/Berlin",
            in_slots=True,
        )
    engine.dispose()
    at = _series_tab(open_page(sign_in("ed", PASSWORD), "calendar"))
    assert not at.exception
    wednesday = (monday + timedelta(days=2)).replace(hour=12)
    progress = " · ".join(
        [
            translate("en", "calendar.series_progress", waiting=2, published=0),
            translate("en", "calendar.series_next", when=f"{wednesday:%d %b %Y %H:%M %Z}"),
            translate("en", "calendar.series_slotted"),
        ]
    )
    assert progress in [m.value for m in at.text]


def test_the_move_form_lists_the_posts_of_the_day_picked(database: str) -> None:
    ids = _setup(database)
    morning = _plan(database, ids["other_piece"], ids["social"], _in_days(1))
    afternoon = _plan(database, ids["other_piece"], ids["intranet"], _in_days(1, hour=15))
    next_day = _plan(database, ids["other_piece"], ids["social"], _in_days(2))
    at = opened(open_page(sign_in("ed", PASSWORD), "calendar"), keys.CAL_MOVE_OPEN)
    one, two = _in_days(1), _in_days(2)
    day = at.selectbox(key=keys.CAL_MOVE_DAY)
    assert day.options == [f"{one:%d %b %Y} (2 posts)", f"{two:%d %b %Y} (1 post)"]
    assert day.value == one.date()
    post = at.selectbox(key=keys.CAL_MOVE_POST)
    assert [o.split(" · ")[0] for o in post.options] == [f"#{morning}", f"#{afternoon}"]
    assert post.value == morning

    at.selectbox(key=keys.CAL_MOVE_DAY).set_value(two.date()).run()
    post = at.selectbox(key=keys.CAL_MOVE_POST)
    assert [o.split(" · ")[0] for o in post.options] == [f"#{next_day}"]
    at.button(key=keys.CAL_CANCEL_BUTTON).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [f"Post #{next_day} is cancelled."]
    assert [_post(database, i)[0] for i in (morning, afternoon, next_day)] == [
        PostStatus.planned,
        PostStatus.planned,
        PostStatus.cancelled,
    ]


def test_a_weekly_series_puts_its_posts_on_the_calendar(database: str) -> None:
    ids = _setup(database)
    at = _series_tab(open_page(sign_in("ed", PASSWORD), "calendar"))
    at.selectbox(key=keys.CAL_PLAN_PIECE).set_value(ids["other_piece"])
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(ids["intranet"])
    at.button(key=keys.CAL_SERIES_BUTTON).click().run()
    assert [e.value for e in at.error] == [
        "First date: Enter a date and time, e.g. '2026-12-01 09:30'"
    ]
    start = _in_days(1, hour=8)
    at.text_input(key=keys.CAL_SERIES_START).input(f"{start:%Y-%m-%d} 08:00")
    at.number_input(key=keys.CAL_SERIES_COUNT).set_value(3)
    at.button(key=keys.CAL_SERIES_BUTTON).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Series #1 (weekly, 3 times) is created."]
    _list_view(at)
    table = at.dataframe[0].value
    assert list(table["Channel"]) == ["Intranet"] * 3
    assert list(table["When"]) == [
        f"{start + timedelta(weeks=w):%d %b %Y} 08:00 {start + timedelta(weeks=w):%Z}"
        for w in range(3)
    ]


@pytest.mark.parametrize("username", ["ed", "admin"])  # English, German
def test_a_series_placed_in_the_channels_slots_lands_on_them(database: str, username: str) -> None:
    ids = _setup(database)
    engine = make_engine(database)
    with Session(engine) as s:
        slots.set_slot_plan(
            s, actor=users.get_user(s, "admin"), channel="Intranet", slots="Tue 09:30, Thu 09:30"
        )
    engine.dispose()
    lang = "en" if username == "ed" else "de"
    at = _series_tab(open_page(sign_in(username, PASSWORD), "calendar"), lang)
    at.selectbox(key=keys.CAL_PLAN_PIECE).set_value(ids["other_piece"])
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(ids["social"])
    today = datetime.now(BERLIN).date()
    monday = today + timedelta(days=14 - today.weekday())
    at.text_input(key=keys.CAL_SERIES_START).input(f"{monday:%Y-%m-%d} 00:00")
    at.number_input(key=keys.CAL_SERIES_COUNT).set_value(2)
    box = at.checkbox(key=keys.CAL_SERIES_IN_SLOTS)
    assert box.label == translate(lang, "calendar.series_in_slots")
    box.check()
    at.button(key=keys.CAL_SERIES_BUTTON).click().run()
    # Social has no slots: refused, with the reason, and the form keeps what was typed.
    field = "Channel" if lang == "en" else "Kanal"
    said = translate(lang, "error.series_without_slots", name="Social")
    assert [e.value for e in at.error] == [f"{field}: {said}"]
    assert at.checkbox(key=keys.CAL_SERIES_IN_SLOTS).value is True
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(ids["intranet"])
    at.button(key=keys.CAL_SERIES_BUTTON).click().run()
    assert not at.exception and not at.error and len(at.success) == 1
    assert at.checkbox(key=keys.CAL_SERIES_IN_SLOTS).value is False  # the form is emptied
    with Session(make_engine(database)) as s:
        posts = planning.list_posts(s, actor=users.get_user(s, "ed"))
    tuesdays = [
        datetime.combine(monday + timedelta(days=1, weeks=w), time(9, 30), BERLIN) for w in range(2)
    ]
    assert [p.publish_at for p in posts] == [d.astimezone(UTC) for d in tuesdays]


@pytest.mark.parametrize("username", ["ed", "admin"])  # English, German
def test_a_series_form_names_the_posts_a_quiet_day_holds(database: str, username: str) -> None:
    ids = _setup(database)
    start = _in_days(1, hour=8)
    engine = make_engine(database)
    with Session(engine) as s:
        rules.add_rule(
            s,
            actor=users.get_user(s, "admin"),
            data={
                "name": "Ruhetag",
                "kind": "quiet_hours",
                "severity": "block",
                "message": {"de": "Heute nicht", "en": "Not today"},
                "settings": {"days": [WEEKDAYS[start.weekday()]]},
            },
        )
    engine.dispose()
    at = _series_tab(
        open_page(sign_in(username, PASSWORD), "calendar"), "en" if username == "ed" else "de"
    )
    at.selectbox(key=keys.CAL_PLAN_PIECE).set_value(ids["other_piece"])
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(ids["intranet"])
    at.text_input(key=keys.CAL_SERIES_START).input(f"{start:%Y-%m-%d} 08:00")
    at.number_input(key=keys.CAL_SERIES_COUNT).set_value(2)
    at.button(key=keys.CAL_SERIES_BUTTON).click().run()
    assert not at.exception
    days = [start, start + timedelta(weeks=1)]  # both on the quiet weekday, held a day
    nexts = [(d + timedelta(days=1)).replace(hour=0) for d in days]
    if username == "ed":
        held = [
            f"{d:%d %b %Y} 08:00 {d:%Z}: rule 'Ruhetag' on channel 'Intranet': Not today "
            f"(quiet time on this channel; next allowed: {n:%Y-%m-%d} 00:00 {n:%Z})"
            for d, n in zip(days, nexts, strict=True)
        ]
        said = "2 posts of the series are refused by a publishing rule at their time; "
        said += "each is held until the time allowed: "
    else:
        held = [
            f"{d:%d.%m.%Y} 08:00 {d:%Z}: Regel „Ruhetag“ auf dem Kanal „Intranet“: Heute nicht "
            f"(Ruhezeit auf diesem Kanal; frühestens erlaubt: {n:%d.%m.%Y} 00:00 Uhr)"
            for d, n in zip(days, nexts, strict=True)
        ]
        said = "Eine Regel lässt 2 Posts der Serie zu ihrer Zeit nicht zu; sie werden bis zur "
        said += "erlaubten Zeit zurückgehalten: "
    assert [w.value for w in at.warning] == [said + "; ".join(held)]
    assert len(at.success) == 1  # the series is created all the same


def test_a_german_series_form_names_one_held_post_in_the_singular(database: str) -> None:
    ids = _setup(database)
    start = _in_days(1, hour=8)
    engine = make_engine(database)
    with Session(engine) as s:
        rules.add_rule(
            s,
            actor=users.get_user(s, "admin"),
            data={
                "name": "Ruhetag",
                "kind": "quiet_hours",
                "severity": "block",
                "message": {"de": "Heute nicht", "en": "Not today"},
                "settings": {"days": [WEEKDAYS[start.weekday()]]},
            },
        )
    engine.dispose()
    at = _series_tab(open_page(sign_in("admin", PASSWORD), "calendar"), "de")
    at.selectbox(key=keys.CAL_PLAN_PIECE).set_value(ids["other_piece"])
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(ids["intranet"])
    at.text_input(key=keys.CAL_SERIES_START).input(f"{start:%Y-%m-%d} 08:00")
    at.number_input(key=keys.CAL_SERIES_COUNT).set_value(1)
    at.button(key=keys.CAL_SERIES_BUTTON).click().run()
    assert not at.exception
    [warning] = [w.value for w in at.warning]
    assert warning.startswith(
        "Eine Regel lässt 1 Post der Serie zu seiner Zeit nicht zu; er wird bis zur "
        f"erlaubten Zeit zurückgehalten: {start:%d.%m.%Y} 08:00 {start:%Z}: "
    )


def test_month_view_counts_days_marks_crowded_and_empty_ones_in_german(database: str) -> None:
    ids = _setup(database)
    when = _in_days(2)
    for hour in range(5):  # an hour apart: one piece, never twice at once on a channel
        _plan(database, ids["other_piece"], ids["social"], when + timedelta(hours=hour))
    _plan(database, ids["hr_piece"], ids["intranet"], when)
    at = open_page(sign_in("admin", PASSWORD), "calendar")
    at.date_input(key=keys.CAL_DATE).set_value(when.date()).run()
    assert not at.exception
    # One table, a week a row: Monday first, the month's days in bold, each day's count.
    table = _month_table(at)
    lines = table.splitlines()
    assert lines[0] == "| Mo | Di | Mi | Do | Fr | Sa | So |"
    assert len(lines) in (6, 7, 8)  # header, its rule, and four to six weeks
    assert all(line.count(" | ") == 6 for line in lines[2:])
    day = f"**{when.day}.{when.month}.**"
    assert f"{day} ⚠ 6 Posts: voll" in table
    assert "– frei –" in table
    assert charts_shown(at)  # posts per channel per week
    at.selectbox(key=keys.CAL_CHANNEL).set_value(ids["intranet"]).run()
    assert f"{day} 1 Post |" in _month_table(at)
    assert "⚠" not in _month_table(at)
    at.radio(key=keys.CAL_VIEW).set_value("week").run()
    assert [t.value for t in at.text if "·" in t.value] == [
        "10:00 · Intranet · Azubi-Tag <b>2027</b> (geplant)"
    ]
    week = kept_whole(at, keys.CAL_WEEK)  # no word in the narrow day columns is cut
    assert [t.value for t in week.get("text") if "·" in t.value] == [
        "10:00 · Intranet · Azubi-Tag <b>2027</b> (geplant)"
    ]


def test_department_filter_and_crowded_slots_in_the_list(database: str) -> None:
    ids = _setup(database)
    when = _in_days(4)
    _plan(database, ids["hr_piece"], ids["social"], when)
    _plan(database, ids["other_piece"], ids["social"], when + timedelta(minutes=30))
    at = open_page(sign_in("ed", PASSWORD), "calendar")
    _list_view(at)
    table = at.dataframe[0].value
    assert list(table["Crowded"]) == ["⚠", "⚠"]
    with Session(make_engine(database)) as s:
        hr = users.get_department(s, "HR").id
    at.selectbox(key=keys.CAL_DEPARTMENT).set_value(hr).run()
    table = at.dataframe[0].value
    assert list(table["Piece"]) == ["Azubi-Tag <b>2027</b>"]


def _move_buttons(at) -> list[str]:  # type: ignore[no-untyped-def]
    shown = {b.key: b.label for b in at.button}
    return [shown[k] for k in (keys.CAL_MOVE_BUTTON, keys.CAL_CANCEL_BUTTON) if k in shown]


@pytest.mark.parametrize(
    ("status", "buttons", "time_asked"),
    [
        pytest.param(PostStatus.planned, ["Move", "Cancel post"], True, id="planned"),
        pytest.param(PostStatus.failed, ["Move", "Cancel post"], True, id="failed"),
        pytest.param(PostStatus.needs_check, ["Cancel post"], False, id="needs-check"),
        # Cancelled before its request starts, a post being sent does not go out.
        pytest.param(PostStatus.publishing, ["Cancel post"], False, id="publishing"),
        pytest.param(PostStatus.published, [], False, id="published"),
    ],
)
def test_the_calendar_offers_only_the_moves_the_workflow_allows_for_the_post(
    database: str, status: PostStatus, buttons: list[str], time_asked: bool
) -> None:
    ids = _setup(database)
    post_id = _plan(database, ids["other_piece"], ids["social"], _in_days(2))
    set_post_status(database, post_id, status)

    at = opened(open_page(sign_in("ed", PASSWORD), "calendar"), keys.CAL_MOVE_OPEN)

    assert not at.exception
    assert _move_buttons(at) == buttons
    assert any(t.key == keys.CAL_MOVE_WHEN for t in at.text_input) is time_asked
    in_flight = "This post is being sent right now." in " ".join(c.value for c in at.text)
    assert in_flight is (status == PostStatus.publishing)
    if buttons:
        picked = at.selectbox(key=keys.CAL_MOVE_POST)
        assert picked.value == post_id
        assert picked.options[0].endswith(f"({status.value.replace('_', ' ')})")
    else:
        assert "Nothing to move in the range shown." in [c.value for c in at.text]


def test_approvers_get_no_move_buttons(database: str) -> None:
    ids = _setup(database)
    _plan(database, ids["other_piece"], ids["social"], _in_days(2))

    at = open_page(sign_in("ada", PASSWORD), "calendar")

    assert not at.exception
    assert _move_buttons(at) == []


@pytest.mark.parametrize(
    ("username", "message"),
    [
        pytest.param(
            "ed",
            "Post: Cannot “Move” while the post is “needs check”. "
            "Allowed: Cancel post, Send again, Mark as published.",
            id="en",
        ),
        pytest.param(
            "admin",
            "Post: „Verschieben“ geht nicht, solange der Post „zu prüfen“ ist. "
            "Möglich: Absagen, Erneut senden, Als veröffentlicht markieren.",
            id="de",
        ),
    ],
)
def test_a_move_the_scheduler_overtook_is_refused_in_the_users_language(
    database: str, username: str, message: str
) -> None:
    ids = _setup(database)
    post_id = _plan(database, ids["other_piece"], ids["social"], _in_days(2))
    at = opened(open_page(sign_in(username, PASSWORD), "calendar"), keys.CAL_MOVE_OPEN)
    set_post_status(database, post_id, PostStatus.needs_check)  # meanwhile, the scheduler

    at.text_input(key=keys.CAL_MOVE_WHEN).input(f"{_in_days(5):%Y-%m-%d} 10:00")
    at.button(key=keys.CAL_MOVE_BUTTON).click().run()

    assert not at.exception
    assert [e.value for e in at.error] == [message]
    assert _post(database, post_id)[0] == PostStatus.needs_check
    assert _move_buttons(at) == [{"ed": "Cancel post", "admin": "Absagen"}[username]]


@pytest.mark.parametrize(
    ("username", "message"),
    [
        pytest.param(
            "ed",
            "Line 2: Cannot “Move” while the post is “published”. Allowed: nothing.",
            id="en",
        ),
        pytest.param(
            "admin",
            "Zeile 2: „Verschieben“ geht nicht, solange der Post „veröffentlicht“ "
            "ist. Möglich: nichts.",
            id="de",
        ),
    ],
)
def test_a_plan_file_that_would_move_a_post_that_went_out_names_the_line(
    database: str, username: str, message: str
) -> None:
    ids = _setup(database)
    when = _in_days(2)
    post_id = _plan(database, ids["other_piece"], ids["social"], when)
    set_post_status(database, post_id, PostStatus.published)
    later = when + timedelta(days=1)
    raw = (
        "post_id,piece_id,channel,publish_at,timezone\n"
        f"{post_id},{ids['other_piece']},Social,{later:%Y-%m-%d %H:%M},Europe/Berlin\n"
    ).encode()
    at = opened(open_page(sign_in(username, PASSWORD), "calendar"), keys.CSV_OPEN + "plan")

    at.file_uploader[0].upload("plan.csv", raw, "text/csv").run()
    at.button(key=keys.CSV_IMPORT + "plan").click().run()

    assert not at.exception
    assert [e.value for e in at.main.error][1:] == [message]
    assert _post(database, post_id) == (PostStatus.published, when.astimezone(UTC))


def _approve(database: str, piece_id: int) -> None:
    """The editor writes the piece's text and submits it; the approver approves it as it is."""
    engine = make_engine(database)
    with Session(engine) as s:
        ed = users.get_user(s, "ed")
        pieces.edit_piece(
            s, actor=ed, piece_id=piece_id, expected_revision=1, data={"body": "Messe-Text."}
        )
        piece = pieces.submit_piece(s, actor=ed, piece_id=piece_id)
        pieces.approve_piece(
            s, actor=users.get_user(s, "ada"), piece_id=piece_id, revision=piece.revision
        )
    engine.dispose()


@pytest.mark.parametrize(
    ("username", "columns", "goes_out", "held"),
    [
        pytest.param(
            "ed",
            ("Channel", "When due"),
            "✓ will be published",
            "⏸ held: the channel is disabled",
            id="en",
        ),
        pytest.param(
            "admin",
            ("Kanal", "Wenn fällig"),
            "✓ wird veröffentlicht",
            "⏸ wird zurückgehalten: der Kanal ist deaktiviert",
            id="de",
        ),
    ],
)
def test_a_post_on_a_disabled_channel_is_shown_held_with_the_reason(
    database: str, username: str, columns: tuple[str, str], goes_out: str, held: str
) -> None:
    ids = _setup(database)
    _approve(database, ids["other_piece"])
    _plan(database, ids["other_piece"], ids["social"], _in_days(3))
    _plan(database, ids["other_piece"], ids["intranet"], _in_days(3, hour=11))
    engine = make_engine(database)
    with Session(engine) as s:
        channels.set_enabled(s, actor=users.get_user(s, "admin"), ref="Intranet", enabled=False)
    engine.dispose()
    at = _list_view(open_page(sign_in(username, PASSWORD), "calendar"))
    assert not at.exception
    table = at.dataframe[0].value
    channel, outlook = columns
    assert dict(zip(table[channel], table[outlook], strict=True)) == {
        "Social": goes_out,
        "Intranet": held,
    }


@pytest.mark.parametrize(("username", "lang"), [("admin", "de"), ("ed", "en")])
def test_the_weekly_chart_names_every_week_and_channel_with_its_numbers_as_text(
    database: str, username: str, lang: str
) -> None:
    ids = _setup(database)
    when = _in_days(2)
    _plan(database, ids["other_piece"], ids["social"], when)
    _plan(database, ids["other_piece"], ids["social"], when + timedelta(hours=2))
    _plan(database, ids["hr_piece"], ids["intranet"], when)
    at = open_page(sign_in(username, PASSWORD), "calendar")
    at.date_input(key=keys.CAL_DATE).set_value(when.date())
    at.radio(key=keys.CAL_VIEW).set_value("week").run()
    [chart] = charts_shown(at)
    monday = (when.date() - timedelta(days=when.weekday())).strftime(translate(lang, "format.date"))
    assert chart.caption == translate(lang, "calendar.chart_title")
    assert chart.rows == [
        [
            translate(lang, "calendar.chart_week"),
            translate(lang, "col.channel"),
            translate(lang, "calendar.chart_posts"),
        ],
        [monday, "Social 2, Intranet 1", "3"],
    ]
    # One bar for the week, stacked by channel: Social's two thirds, Intranet's third.
    assert chart.bars[1] == ["width:66.67%;background:#1f5fa8", "width:33.33%;background:#a34a0d"]


def _month_table(at) -> str:  # type: ignore[no-untyped-def]
    """The month as text: the one markdown table under the calendar."""
    [table] = [m.value for m in at.markdown if m.value.startswith("| ")]
    return str(table)


def _calendars(at) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The interactive calendars on the page, by the start of their key: their arguments."""
    found = {}
    for node in at.get("component_instance"):
        key = node.proto.id.split("-", 2)[-1]
        found[key.rsplit("_", 3)[0]] = json.loads(node.proto.json_args)
    return found


@pytest.mark.parametrize(
    ("username", "card", "legend"),
    [
        pytest.param(
            "ed",
            "Social · Messe <b>Bericht</b> · held: the piece is not approved",
            "Legend",
            id="en",
        ),
        pytest.param(
            "admin",
            "Social · Messe <b>Bericht</b> · zurückgehalten: der Beitrag ist nicht freigegeben",
            "Legende",
            id="de",
        ),
    ],
)
def test_month_and_week_show_the_posts_as_cards_beside_the_same_as_text(
    database: str, username: str, card: str, legend: str
) -> None:
    ids = _setup(database)
    when = _in_days(3)
    post_id = _plan(database, ids["other_piece"], ids["social"], when)
    at = open_page(sign_in(username, PASSWORD), "calendar")
    at.date_input(key=keys.CAL_DATE).set_value(when.date()).run()
    assert not at.exception
    shown = _calendars(at)
    # One calendar: the grid, as the browser does not say it is a phone.
    assert list(shown) == [keys.CAL_GRID]
    grid = shown[keys.CAL_GRID]
    assert grid["options"]["initialView"] == "dayGridMonth"
    assert grid["options"]["initialDate"] == when.date().isoformat()
    cards = [e for e in grid["events"] if e.get("display") != "background"]
    assert [(c["id"], c["title"], c["start"], c["startEditable"]) for c in cards] == [
        (str(post_id), card, f"{when:%Y-%m-%dT%H:%M:%S}", True)
    ]
    assert grid["callbacks"] == ["eventClick", "eventChange"]
    assert f"**{legend}**" in [m.value for m in at.markdown]
    # The text view is still there under the calendar: the month's day counts.
    lang = at.session_state[keys.LANGUAGE]
    day = translate(lang, "calendar.day", day=when.day, month=when.month)
    assert f"**{day}** {translate(lang, 'calendar.posts_one')}" in _month_table(at)

    at.radio(key=keys.CAL_VIEW).set_value("week").run()
    views = {k: v["options"]["initialView"] for k, v in _calendars(at).items()}
    assert views == {keys.CAL_GRID: "timeGridWeek"}
    assert at.get("component_instance")[0].proto.id.endswith(f"week_{when.date()}_0")

    at.radio(key=keys.CAL_VIEW).set_value("list").run()
    assert _calendars(at) == {}  # the list view is the table alone
    assert [str(p) for p in at.dataframe[0].value.iloc[:, 0]] == [str(post_id)]


def test_an_approvers_cards_cannot_be_dragged(database: str) -> None:
    ids = _setup(database)
    when = _in_days(3)
    _plan(database, ids["other_piece"], ids["social"], when)
    at = open_page(sign_in("ada", PASSWORD), "calendar")
    at.date_input(key=keys.CAL_DATE).set_value(when.date()).run()
    assert not at.exception
    cards = [e for e in _calendars(at)[keys.CAL_GRID]["events"] if e.get("display") != "background"]
    assert [c["startEditable"] for c in cards] == [False]
    how = translate("de", "calendar.fc.how")
    assert how not in [t.value for t in at.text]


def test_the_forms_below_the_calendar_are_drawn_only_while_open(database: str) -> None:
    ids = _setup(database)
    _plan(database, ids["other_piece"], ids["social"], _in_days(2))
    at = open_page(sign_in("ed", PASSWORD), "calendar")
    assert not at.exception

    def drawn() -> set[str]:
        widgets = [*at.text_input, *at.button, *at.selectbox, *at.number_input]
        return {w.key for w in widgets if w.key}

    # Shown closed: their names, none of their widgets.
    assert [tab.label for tab in at.tabs] == ["Once", "Series"]
    assert {e.label for e in at.expander} >= {
        "Move or cancel",
        translate("en", "calendar.feeds.heading"),
        translate("en", "csv.heading"),
    }
    hidden = {
        keys.CAL_SERIES_START,
        keys.CAL_MOVE_DAY,
        keys.CAL_FEED_NAME,
        keys.CSV_IMPORT + "plan",
    }
    assert keys.CAL_PLAN_WHEN in drawn() and not hidden & drawn()
    # Each drawn once opened; the plan form's tab gives way to the series form.
    at = _series_tab(at)
    assert keys.CAL_SERIES_START in drawn() and keys.CAL_PLAN_WHEN not in drawn()
    for key, widget in (
        (keys.CAL_MOVE_OPEN, keys.CAL_MOVE_DAY),
        (keys.CAL_FEED_OPEN, keys.CAL_FEED_NAME),
        (keys.CSV_OPEN + "plan", keys.CSV_IMPORT + "plan"),
    ):
        at = opened(at, key)
        assert not at.exception
        assert widget in drawn()


def test_what_was_typed_in_a_closed_tab_or_expander_is_there_when_it_opens_again(
    database: str,
) -> None:
    ids = _setup(database)
    _plan(database, ids["other_piece"], ids["social"], _in_days(2))
    _plan(database, ids["other_piece"], ids["social"], _in_days(4))
    at = open_page(sign_in("ed", PASSWORD), "calendar")
    at.text_input(key=keys.CAL_PLAN_WHEN).input("morgen 9 Uhr").run()
    at = _series_tab(at)
    at.selectbox(key=keys.CAL_SERIES_PRESET).select("monthly").run()
    at.number_input(key=keys.CAL_SERIES_COUNT).set_value(9).run()
    at.text_input(key=keys.CAL_SERIES_START).input("übermorgen").run()
    at = opened(at, keys.CAL_MOVE_OPEN)
    later_day = at.selectbox(key=keys.CAL_MOVE_DAY).options[1]
    at.selectbox(key=keys.CAL_MOVE_DAY).select_index(1).run()
    at.text_input(key=keys.CAL_MOVE_WHEN).input("später").run()
    at = opened(at, keys.CAL_FEED_OPEN)
    at.selectbox(key=keys.CAL_FEED_STATUS).select("planned").run()
    at = opened(at, keys.CAL_FEED_OPEN, False)
    at = opened(at, keys.CAL_MOVE_OPEN, False)
    at = opened(at, keys.CAL_PLAN_TABS, "Once")
    assert not at.exception
    assert at.text_input(key=keys.CAL_PLAN_WHEN).value == "morgen 9 Uhr"
    at = _series_tab(opened(opened(at, keys.CAL_MOVE_OPEN), keys.CAL_FEED_OPEN))
    assert at.text_input(key=keys.CAL_SERIES_START).value == "übermorgen"
    assert at.selectbox(key=keys.CAL_SERIES_PRESET).value == "monthly"
    assert at.number_input(key=keys.CAL_SERIES_COUNT).value == 9
    assert at.text_input(key=keys.CAL_MOVE_WHEN).value == "später"
    assert at.selectbox(key=keys.CAL_MOVE_DAY).options[1] == later_day
    assert at.selectbox(key=keys.CAL_MOVE_DAY).index == 1
    assert at.selectbox(key=keys.CAL_FEED_STATUS).value == "planned"
    assert not at.warning


def test_a_new_series_counts_six_occurrences_unless_changed(database: str) -> None:
    _setup(database)
    at = _series_tab(open_page(sign_in("ed", PASSWORD), "calendar"))
    assert at.number_input(key=keys.CAL_SERIES_COUNT).value == 6
    assert not at.warning
