"""Forms sent twice under AppTest: one thing is created, the form is empty afterwards, and
the second send says what the first created; field errors go once the field is fixed.

A browser that repeats a click (a double click while the page still shows the old text)
sends the form again with the values it sent the first time: the tests type them again
and click, which is what reaches the server.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from planner import channels, pieces, users
from planner.db import make_engine
from planner.models import Comment, Idea, Post, Revision, Series
from planner.timezones import zone
from planner.ui import keys
from tests.ui.conftest import PASSWORD, open_page, opened, sign_in

BERLIN = zone("Europe/Berlin")


def _count(database: str, table: type[Any]) -> int:
    engine = make_engine(database)
    with Session(engine) as s:
        counted = int(s.exec(select(func.count()).select_from(table)).one())
    engine.dispose()
    return counted


def _piece_and_channel(database: str) -> tuple[int, int]:
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, ed = users.get_user(s, "admin"), users.get_user(s, "ed")
        channel = channels.create_channel(s, actor=admin, kind="recording", name="Social")
        piece = pieces.create_piece(s, actor=ed, data={"title": "Sommerfest", "body": "Text"})
    engine.dispose()
    assert piece.id is not None and channel.id is not None
    return piece.id, channel.id


def _send_twice(
    at: AppTest,
    button: str,
    *,
    fill: Callable[[], object],
    shown: Callable[[], object],
    empty: object,
) -> None:
    """Fill the form and send it, twice with the same values (as a repeated click does);
    after each send it shows `empty`."""
    for _ in range(2):
        fill()
        at.button(key=button).click().run()
        assert not at.exception
        assert shown() == empty


def _fill_idea(at: AppTest, title: str) -> None:
    at.text_input(key=keys.SUBMIT_TITLE).input(title)
    at.text_area(key=keys.SUBMIT_PITCH).input("Azubis führen Schulklassen durch das Werk")


def test_an_idea_form_sent_again_creates_one_idea_and_names_it(database: str) -> None:
    at = sign_in("lena", PASSWORD)
    before = _count(database, Idea)
    _fill_idea(at, "Werksführung für Schulen")
    at.button(key=keys.SUBMIT_BUTTON).click().run()
    assert [s.value for s in at.success] == [f"Danke! Ihre Idee #{before + 1} ist eingereicht."]
    assert at.text_input(key=keys.SUBMIT_TITLE).value == ""
    assert at.text_area(key=keys.SUBMIT_PITCH).value == ""

    _fill_idea(at, "Werksführung für Schulen")  # the repeated click, with the old text
    at.button(key=keys.SUBMIT_BUTTON).click().run()

    assert not at.exception
    assert _count(database, Idea) == before + 1
    assert [s.value for s in at.success] == [
        f"Dieses Formular war schon abgeschickt: Ihre Idee ist als #{before + 1} gespeichert, "
        "es wurde keine zweite angelegt."
    ]
    assert at.text_input(key=keys.SUBMIT_TITLE).value == ""
    assert not at.error

    _fill_idea(at, "Werksführung für Eltern")  # another idea: a form of its own
    at.button(key=keys.SUBMIT_BUTTON).click().run()
    assert [s.value for s in at.success] == [f"Danke! Ihre Idee #{before + 2} ist eingereicht."]
    assert _count(database, Idea) == before + 2


def test_the_sent_text_brought_back_without_a_click_is_emptied_again(database: str) -> None:
    # A double click can reach the server as a run without the click that still carries
    # the text the browser showed: the form is emptied again and the notice stays.
    at = sign_in("lena", PASSWORD)
    before = _count(database, Idea)
    _fill_idea(at, "Werksführung für Schulen")
    at.button(key=keys.SUBMIT_BUTTON).click().run()

    _fill_idea(at, "Werksführung für Schulen")
    at.run()

    assert at.text_input(key=keys.SUBMIT_TITLE).value == ""
    assert at.text_area(key=keys.SUBMIT_PITCH).value == ""
    assert [s.value for s in at.success] == [f"Danke! Ihre Idee #{before + 1} ist eingereicht."]
    assert _count(database, Idea) == before + 1


def test_a_field_error_goes_once_the_field_is_fixed_and_stays_while_it_is_not(
    database: str,
) -> None:
    at = sign_in("lena", PASSWORD)
    at.text_input(key=keys.SUBMIT_TITLE).input("Werksführung für Schulen")
    at.text_area(key=keys.SUBMIT_PITCH).input("kurz")
    at.text_input(key=keys.SUBMIT_URL).input("kein-link")
    at.button(key=keys.SUBMIT_BUTTON).click().run()
    pitch_error = "Pitch: mindestens 10 Zeichen"
    url_error = "Quelle: „kein-link“ ist keine Webadresse (http:// oder https://)."
    assert {pitch_error, url_error} <= {e.value for e in at.error}

    at.text_area(key=keys.SUBMIT_PITCH).input("Azubis führen Schulklassen durch das Werk").run()

    errors = [e.value for e in at.error]
    assert pitch_error not in errors
    assert url_error in errors  # not fixed yet
    assert "Bitte korrigieren Sie die markierten Angaben." in errors

    at.text_input(key=keys.SUBMIT_URL).input("").run()

    assert not at.error
    assert _count(database, Idea) == 1  # only the fixture's; nothing was sent meanwhile


def test_a_comment_sent_again_is_added_once_and_the_box_is_empty(database: str) -> None:
    piece_id, _ = _piece_and_channel(database)
    at = open_page(sign_in("ed", PASSWORD), "editor")
    at.selectbox(key=keys.EDITOR_PIECE).set_value(piece_id).run()
    box = keys.EDITOR_COMMENT
    _send_twice(
        at,
        keys.EDITOR_COMMENT_ADD,
        fill=lambda: at.text_area(key=box).input("Bitte Foto ergänzen"),
        shown=lambda: at.text_area(key=box).value,
        empty="",
    )

    assert _count(database, Comment) == 1
    assert [s.value for s in at.success] == [
        "This comment is already saved; it was not added again."
    ]
    assert [t.value for t in at.text].count("Bitte Foto ergänzen") == 1


def test_a_version_saved_again_is_stored_once_and_the_note_is_empty(database: str) -> None:
    piece_id, _ = _piece_and_channel(database)
    at = open_page(sign_in("ed", PASSWORD), "editor")
    at.selectbox(key=keys.EDITOR_PIECE).set_value(piece_id).run()
    at.text_area(key=keys.EDITOR_BODY).input("Neuer Text")
    at.text_input(key=keys.EDITOR_NOTE).input("gekürzt")
    at.button(key=keys.EDITOR_SAVE).click().run()
    assert [s.value for s in at.success] == ["Saved as revision 2."]
    assert at.text_input(key=keys.EDITOR_NOTE).value == ""

    # The repeated click still carries the revision it started from and the note.
    at.session_state[keys.EDITOR_BASE] = 1
    at.text_input(key=keys.EDITOR_NOTE).input("gekürzt")
    at.button(key=keys.EDITOR_SAVE).click().run()

    assert not at.exception
    assert [s.value for s in at.success] == [
        "These changes are already saved as a new version; no further version was created."
    ]
    assert at.text_input(key=keys.EDITOR_NOTE).value == ""
    assert not at.error
    assert _count(database, Revision) == 2  # the piece's revisions 1 and 2


def _calendar(database: str) -> AppTest:
    """The Calendar for the editor, with a piece and a channel chosen for its forms."""
    piece_id, channel_id = _piece_and_channel(database)
    at = open_page(sign_in("ed", PASSWORD), "calendar")
    at.selectbox(key=keys.CAL_PLAN_PIECE).set_value(piece_id)
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(channel_id)
    return at


def test_a_post_planned_again_is_planned_once_and_the_time_is_empty(database: str) -> None:
    day = datetime.now(BERLIN).date() + timedelta(days=3)
    at = _calendar(database)
    _send_twice(
        at,
        keys.CAL_PLAN_BUTTON,
        fill=lambda: at.text_input(key=keys.CAL_PLAN_WHEN).input(f"{day:%d.%m.%Y} 09:30"),
        shown=lambda: at.text_input(key=keys.CAL_PLAN_WHEN).value,
        empty="",
    )

    assert _count(database, Post) == 1
    assert [s.value for s in at.success] == [
        "This post is already planned as #1; no second one was created."
    ]
    assert not at.error


def test_a_series_created_again_is_created_once_and_the_form_is_empty(database: str) -> None:
    start = datetime.now(UTC).astimezone(BERLIN).date() + timedelta(days=1)
    at = opened(_calendar(database), keys.CAL_PLAN_TABS, "Series")  # only the open tab is drawn

    def fill() -> None:
        at.text_input(key=keys.CAL_SERIES_START).input(f"{start:%Y-%m-%d} 08:00")
        at.number_input(key=keys.CAL_SERIES_COUNT).set_value(3)

    def shown() -> tuple[str, float | None]:
        count = at.number_input(key=keys.CAL_SERIES_COUNT).value
        return at.text_input(key=keys.CAL_SERIES_START).value, count

    _send_twice(at, keys.CAL_SERIES_BUTTON, fill=fill, shown=shown, empty=("", 6))

    assert _count(database, Series) == 1
    assert _count(database, Post) == 3
    assert [s.value for s in at.success] == [
        "This series was already created as #1; no second one was created."
    ]
