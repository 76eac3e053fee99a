"""Page gates: a page script run for nobody, or for a role its action refuses, stops after
its heading (the app's navigation never offers such a page; these run the scripts alone)."""

from __future__ import annotations

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from planner import users
from planner.db import make_engine
from planner.ui import keys
from planner.ui.app import page_path
from planner.ui.i18n import translate


def _page(name: str, username: str | None, database: str) -> AppTest:
    at = AppTest.from_file(str(page_path(name)), default_timeout=30)
    at.session_state[keys.LANGUAGE] = "en"
    if username is not None:
        engine = make_engine(database)
        with Session(engine) as s:
            at.session_state[keys.USER_ID] = users.get_user(s, username).id
        engine.dispose()
    return at.run()


@pytest.mark.parametrize(
    ("name", "heading"),
    [
        ("my_ideas", "my_ideas.heading"),
        ("calendar", "calendar.heading"),
        ("publishing", "pub.heading"),
    ],
)
def test_a_page_without_a_signed_in_user_shows_only_its_heading(
    database: str, name: str, heading: str
) -> None:
    at = _page(name, None, database)
    assert not at.exception
    assert [t.value for t in at.title] == [translate("en", heading)]
    assert not (at.dataframe or at.text or at.selectbox or at.button or at.error)


@pytest.mark.parametrize("name", ["users", "departments", "channels", "settings"])
def test_an_admin_page_opened_by_an_editor_shows_the_refusal_and_nothing_else(
    database: str, name: str
) -> None:
    at = _page(name, "ed", database)
    assert not at.exception
    assert [t.value for t in at.title] == [translate("en", f"{name}.heading")]
    assert [e.value for e in at.error] == [translate("en", "moves.denied")]
    assert not (at.dataframe or at.text_input or at.selectbox or at.button)


def test_an_admin_page_opened_by_an_admin_goes_on_past_the_gate(database: str) -> None:
    at = _page("departments", "admin", database)
    assert not at.exception
    assert not at.error
    assert at.text_input(key=keys.DEPARTMENTS_ADD_NAME)
