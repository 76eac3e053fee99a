"""The Calendar's planning forms say what is wrong with a rule or a time in the user's
language, and a new series in words."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from planner import channels, pieces, users
from planner.db import make_engine
from planner.timezones import zone
from planner.ui import keys
from planner.ui.i18n import translate
from tests.ui.conftest import PASSWORD, add_user, open_page, opened, sign_in

BERLIN = zone("Europe/Berlin")
USERS = [pytest.param("ed", "en", id="en"), pytest.param("erik", "de", id="de")]


def _calendar(database: str, username: str) -> AppTest:
    """The Calendar for an editor, with a piece and a channel chosen for its forms."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, ed = users.get_user(s, "admin"), users.get_user(s, "ed")
        channel = channels.create_channel(s, actor=admin, kind="recording", name="Social")
        piece = pieces.create_piece(s, actor=ed, data={"title": "Sommerfest", "body": "Text"})
    engine.dispose()
    if username != "ed":
        add_user(database, username, "editor")
    at = open_page(sign_in(username, PASSWORD), "calendar")
    at.selectbox(key=keys.CAL_PLAN_PIECE).set_value(piece.id)
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(channel.id)
    return at


@pytest.mark.parametrize(("username", "lang"), USERS)
def test_a_series_is_said_in_words_and_a_rule_dateutil_refuses_in_the_users_language(
    database: str, username: str, lang: str
) -> None:
    day = datetime.now(BERLIN).date() + timedelta(days=2)
    until = day + timedelta(days=14)
    at = opened(
        _calendar(database, username), keys.CAL_PLAN_TABS, translate(lang, "calendar.tab.series")
    )
    at.text_input(key=keys.CAL_SERIES_START).input(f"{day:%d.%m.%Y} 10:00")
    at.text_input(key=keys.CAL_SERIES_UNTIL).input(f"{until:%d.%m.%Y}")
    at.button(key=keys.CAL_SERIES_BUTTON).click().run()
    assert not at.exception
    [done] = [s.value for s in at.success]
    assert "FREQ=" not in done
    assert f"{until:%d.%m.%Y}" in done if lang == "de" else "until" in done

    at.selectbox(key=keys.CAL_SERIES_PRESET).set_value("custom").run()
    said = {
        "en": "DI in BYDAY is not a weekday; use MO TU WE TH FR SA SU",
        "de": "DI in BYDAY ist kein Wochentag; verwenden Sie die englischen Kürzel "
        "MO TU WE TH FR SA SU.",
    }
    at.text_input(key=keys.CAL_SERIES_START).input(f"{day:%d.%m.%Y} 10:00")
    at.text_input(key=keys.CAL_SERIES_RULE).input("FREQ=WEEKLY;BYDAY=MO,DI;COUNT=4")
    at.button(key=keys.CAL_SERIES_BUTTON).click().run()
    assert not at.exception
    assert any(e.value.endswith(said[lang]) for e in at.error), [e.value for e in at.error]


@pytest.mark.parametrize(("username", "lang"), USERS)
def test_a_slash_date_or_a_date_without_time_is_refused_in_the_users_language(
    database: str, username: str, lang: str
) -> None:
    at = _calendar(database, username)
    said = {
        "en": ("is ambiguous", "has no time"),
        "de": ("ist mehrdeutig", "enthält keine Uhrzeit"),
    }
    for when, expected in zip(("12/03/2027 10:00", "1.1.2027"), said[lang], strict=True):
        at.text_input(key=keys.CAL_PLAN_WHEN).input(when)
        at.button(key=keys.CAL_PLAN_BUTTON).click().run()
        assert not at.exception
        assert not at.success
        assert any(expected in e.value for e in at.error), [e.value for e in at.error]
