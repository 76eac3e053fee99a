"""Target audiences and publishing slots in the dashboard: the admin pages, the audience
filter of Board and Calendar, free slots and "add to queue", the Inbox notice, a piece's
audience in the Editor, in German and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Selectbox

from planner import audiences, channels, ideas, pieces, slots, users
from planner.db import make_engine
from planner.models import Post
from planner.ui import keys
from tests.ui.conftest import PASSWORD, open_page, sign_in

FROM_THE_IDEA = "Target audience: none of its own (its idea names Endkunden)"


def _setup(database: str, *, plan: str = "") -> int:
    """Channels Blog and Social (Blog with `plan` as its slots); the HR idea accepted as a
    piece for the audience Endkunden. Returns the piece's id."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, ed = users.get_user(s, "admin"), users.get_user(s, "ed")
        for name in ("Blog", "Social"):
            channels.create_channel(s, actor=admin, kind="recording", name=name)
        audiences.create_audience(s, actor=admin, name="Endkunden", channels=["Blog"])
        audiences.create_audience(s, actor=admin, name="Fachpresse")
        if plan:
            slots.set_slot_plan(s, actor=admin, channel="Blog", slots=plan)
        idea = ideas.list_ideas(s, actor=ed)[0]
        piece = ideas.accept_idea(s, actor=ed, idea_id=idea.id or 0)
        audiences.set_piece_audience(s, actor=ed, piece_id=piece.id or 0, audience="Endkunden")
    engine.dispose()
    return piece.id or 0


def test_an_admin_adds_changes_and_removes_an_audience_in_german(database: str) -> None:
    _setup(database)
    at = open_page(sign_in("admin", PASSWORD), "audiences")
    assert not at.exception
    assert at.title[0].value == "Zielgruppen"
    assert list(at.dataframe[0].value["Zielgruppe"]) == ["Endkunden", "Fachpresse"]
    at.text_input(key=keys.AUDIENCES_ADD_NAME).input("endkunden")
    at.button(key=keys.AUDIENCES_ADD_SUBMIT).click().run()
    assert [e.value for e in at.error] == ["Die Zielgruppe „endkunden“ gibt es schon."]

    at.text_input(key=keys.AUDIENCES_ADD_NAME).input("Installateure")
    at.text_area(key=keys.AUDIENCES_ADD_DESCRIPTION).input("Fachbetriebe im Handwerk")
    at.multiselect(key=keys.AUDIENCES_ADD_CHANNELS).select("Social")
    at.multiselect(key=keys.AUDIENCES_ADD_DEPARTMENTS).select("HR")
    at.button(key=keys.AUDIENCES_ADD_SUBMIT).click().run()
    assert [s.value for s in at.success] == ["Die Zielgruppe Installateure wurde hinzugefügt."]
    rows = at.dataframe[0].value.to_dict("records")
    assert rows[2] == {
        "Zielgruppe": "Installateure",
        "Beschreibung": "Fachbetriebe im Handwerk",
        "Erreicht über Kanäle": "Social",
        "Betreut von Abteilungen": "HR",
    }

    at.selectbox(key=keys.AUDIENCES_PICK).select_index(0).run()
    assert at.multiselect(key=f"{keys.AUDIENCES_EDIT_CHANNELS}1").value == ["Blog"]
    at.multiselect(key=f"{keys.AUDIENCES_EDIT_CHANNELS}1").select("Social")
    at.text_input(key=f"{keys.AUDIENCES_EDIT_NAME}1").input("Privatkunden")
    at.button(key=keys.AUDIENCES_SAVE).click().run()
    assert [s.value for s in at.success] == ["Die Zielgruppe Privatkunden wurde gespeichert."]
    assert at.dataframe[0].value.to_dict("records")[2]["Erreicht über Kanäle"] == "Blog, Social"

    at.selectbox(key=keys.AUDIENCES_PICK).select_index(2).run()  # Privatkunden, by name
    at.button(key=keys.AUDIENCES_REMOVE).click().run()
    assert [e.value for e in at.error] == [
        "Bitte bestätigen Sie das Entfernen zuerst mit dem Häkchen."
    ]
    # A tick given for another audience is not taken for this one.
    at.selectbox(key=keys.AUDIENCES_PICK).select_index(0).run()  # Fachpresse
    at.checkbox(key=f"{keys.AUDIENCES_REMOVE_CONFIRM}2").check().run()
    at.selectbox(key=keys.AUDIENCES_PICK).select_index(2).run()
    assert at.checkbox(key=f"{keys.AUDIENCES_REMOVE_CONFIRM}1").value is False
    at.button(key=keys.AUDIENCES_REMOVE).click().run()
    assert [e.value for e in at.error] == [
        "Bitte bestätigen Sie das Entfernen zuerst mit dem Häkchen."
    ]
    assert len(at.dataframe[0].value) == 3
    at.checkbox(key=f"{keys.AUDIENCES_REMOVE_CONFIRM}1").check()
    at.button(key=keys.AUDIENCES_REMOVE).click().run()
    assert [s.value for s in at.success] == [
        "Die Zielgruppe Privatkunden wurde entfernt. "
        "Ideen und Beiträge, die nicht mehr zu ihr gehören: 1."
    ]
    assert list(at.dataframe[0].value["Zielgruppe"]) == ["Fachpresse", "Installateure"]


def test_the_audiences_page_speaks_english(database: str) -> None:
    _setup(database)
    at = sign_in("admin", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("en").run()
    at = open_page(at, "audiences")
    assert at.title[0].value == "Target audiences"
    assert list(at.dataframe[0].value.columns) == [
        "Target audience",
        "Description",
        "Reached by channels",
        "Served by departments",
    ]


def test_an_admin_sets_a_channels_slots_in_german_and_a_bad_one_is_named(database: str) -> None:
    _setup(database)
    at = open_page(sign_in("admin", PASSWORD), "slots")
    assert not at.exception
    assert at.title[0].value == "Sendeplan"
    at.selectbox(key=keys.SLOTS_CHANNEL).select_index(0).run()  # Blog
    at.text_input(key=f"{keys.SLOTS_PLAN}1").input("Di 9:30, Mo 25:00")
    at.button(key=keys.SLOTS_SAVE).click().run()
    assert [e.value for e in at.error] == [
        "„Mo 25:00“ ist kein Sendeplatz: Schreiben Sie einen Wochentag und eine Uhrzeit, "
        "z. B. Di 09:30, Do 09:30."
    ]
    at.text_input(key=f"{keys.SLOTS_PLAN}1").input("Do 9:30; Di/Mi 9.30")
    at.button(key=keys.SLOTS_SAVE).click().run()
    assert [s.value for s in at.success] == ["Sendeplätze von Blog: Di 09:30, Mi 09:30, Do 09:30"]
    rows = at.dataframe[0].value.to_dict("records")
    assert [(r["Kanal"], r["Sendeplätze pro Woche"]) for r in rows] == [
        ("Blog", "Di 09:30, Mi 09:30, Do 09:30"),
        ("Social", "–"),
    ]
    assert rows[0]["Nächster freier Sendeplatz"] != "–"


def test_the_slots_page_speaks_english(database: str) -> None:
    _setup(database, plan="Tue 09:30")
    at = sign_in("admin", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("en").run()
    at = open_page(at, "slots")
    assert at.title[0].value == "Publishing slots"
    assert at.dataframe[0].value.to_dict("records")[0]["Weekly slots"] == "Tue 09:30"


def _queue_on_blog(database: str) -> AppTest:
    """The Calendar of ed (who reads English), with a piece added to Blog's queue; Blog
    has a slot every working day, Social none."""
    piece_id = _setup(database, plan="Mon 09:30, Tue 09:30, Wed 09:30, Thu 09:30, Fri 09:30")
    at = open_page(sign_in("ed", PASSWORD), "calendar")
    assert not at.exception
    free = next(t.value for t in at.text if t.value.startswith("Blog: "))
    assert "Social" not in free
    at.selectbox(key=keys.CAL_PLAN_PIECE).select(piece_id).run()
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).select_index(0).run()  # Blog
    return at.button(key=keys.SLOTS_QUEUE).click().run()


def _the_one_post(database: str) -> Post:
    engine = make_engine(database)
    with Session(engine) as s:
        (post,) = s.exec(select(Post)).all()
    engine.dispose()
    return post


def test_the_calendar_lists_free_slots_and_adds_a_piece_to_the_queue(database: str) -> None:
    at = _queue_on_blog(database)
    assert not at.exception
    post = _the_one_post(database)
    assert post.publish_at - datetime.now(UTC) < timedelta(days=4)
    assert next(s.value for s in at.success).startswith(
        f"Post {post.id} has been planned in the next free slot: "
    )
    # The channel without slots cannot be queued into, and says why.
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).select_index(1).run()  # Social
    at.button(key=keys.SLOTS_QUEUE).click().run()
    assert [e.value for e in at.error] == [
        "The channel 'Social' has no publishing slots yet; an admin sets them on the page "
        "Publishing slots."
    ]


def test_a_second_click_on_add_to_queue_plans_no_second_post(database: str) -> None:
    at = _queue_on_blog(database)
    # The second click of a double click, or the same click again within a minute.
    at.button(key=keys.SLOTS_QUEUE).click().run()

    assert not at.exception
    post = _the_one_post(database)
    assert [m.value for m in at.success] == [
        f"This post is already planned as #{post.id}; no second one was created."
    ]


def test_board_and_calendar_filter_by_audience_and_the_inbox_names_quiet_ones(
    database: str,
) -> None:
    _setup(database)
    at = open_page(sign_in("admin", PASSWORD), "board")
    assert not at.exception
    assert "#1" in " ".join(t.value for t in at.text)
    assert "Zielgruppe: Endkunden" in [t.value for t in at.text]
    at.selectbox(key=f"{keys.AUDIENCE_FILTER}board").select_index(2).run()  # Fachpresse
    assert "#1" not in " ".join(t.value for t in at.text)
    calendar = open_page(at, "calendar")
    assert not calendar.exception
    assert calendar.selectbox(key=f"{keys.AUDIENCE_FILTER}calendar").label == "Zielgruppe"
    inbox = open_page(at, "inbox")
    assert next(i.value for i in inbox.info) == (
        "In den nächsten 4 Wochen ist nichts geplant für: Endkunden, Fachpresse"
    )


def test_a_contributor_picks_the_audience_of_an_idea_from_the_list(database: str) -> None:
    _setup(database)
    at = open_page(sign_in("lena", PASSWORD), "submit_idea")
    box = at.selectbox(key=keys.SUBMIT_AUDIENCE)
    assert box.options == ["(keine)", "Endkunden", "Fachpresse"]
    at.text_input(key=keys.SUBMIT_TITLE).input("Wärmepumpe im Altbau")
    at.text_area(key=keys.SUBMIT_PITCH).input("Was Eigentümer wissen wollen")
    box.select("Fachpresse")
    at.button(key=keys.SUBMIT_BUTTON).click().run()
    assert not at.exception and not at.error
    engine = make_engine(database)
    with Session(engine) as s:
        lena = users.get_user(s, "lena")
        newest = ideas.list_ideas(s, actor=lena)[0]
        assert (newest.title, newest.target_audience) == ("Wärmepumpe im Altbau", "Fachpresse")
        assert newest.audience_id == audiences.get_audience(s, "Fachpresse").id
    engine.dispose()


def _piece_of_an_idea_for(database: str, audience: str) -> int:
    """The audiences Endkunden and Fachpresse; an idea for `audience` accepted as a piece,
    which then names none of its own (as `audiences assign` can leave it): it is for its
    idea's audience. Returns the piece's id."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, ed, lena = (users.get_user(s, n) for n in ("admin", "ed", "lena"))
        for name in ("Endkunden", "Fachpresse"):
            audiences.create_audience(s, actor=admin, name=name)
        idea = ideas.submit_idea(
            s,
            actor=lena,
            data={
                "title": "Wärmepumpe im Altbau",
                "pitch": "Was Eigentümer wissen wollen",
                "department": "HR",
                "target_audience": audience,
            },
        ).idea
        piece = ideas.accept_idea(s, actor=ed, idea_id=idea.id or 0)
        audiences.set_piece_audience(s, actor=ed, piece_id=piece.id or 0, audience=None)
    engine.dispose()
    return piece.id or 0


def _stored_audience(database: str, piece_id: int) -> str | None:
    """The name of the audience piece `piece_id` names itself, read back as the editor."""
    engine = make_engine(database)
    with Session(engine) as s:
        ed = users.get_user(s, "ed")
        piece = pieces.get_piece(s, actor=ed, piece_id=piece_id)
        names = audiences.audience_names(s, actor=ed)
        stored = None if piece.audience_id is None else names[piece.audience_id]
    engine.dispose()
    return stored


def _open_in_editor(username: str, piece_id: int, lang: str | None = None) -> AppTest:
    at = sign_in(username, PASSWORD)
    if lang is not None:
        at.selectbox(key=keys.LANGUAGE).select(lang).run()
    at = open_page(at, "editor")
    at.selectbox(key=keys.EDITOR_PIECE).select(piece_id).run()
    assert not at.exception
    return at


def _audience_choice(at: AppTest, piece_id: int, stored: int | None) -> Selectbox[Any]:
    """The Editor's audience choice for the piece, which names `stored` (an audience id)."""
    return at.selectbox(key=f"{keys.EDITOR_AUDIENCE_PICK}{piece_id}_{stored or 'none'}")


def test_the_editor_shows_the_audience_a_piece_takes_from_its_idea(database: str) -> None:
    piece_id = _piece_of_an_idea_for(database, "Endkunden")
    at = _open_in_editor("ed", piece_id)  # ed reads English
    assert FROM_THE_IDEA in [t.value for t in at.text]
    choice = _audience_choice(at, piece_id, None)
    assert choice.label == "Target audience of the piece"
    assert choice.options == [
        "None of its own (from the idea: Endkunden)",
        "Endkunden",
        "Fachpresse",
    ]
    assert choice.value is None
    # A piece without an idea, naming no audience, is for none.
    engine = make_engine(database)
    with Session(engine) as s:
        other = pieces.create_piece(s, actor=users.get_user(s, "ed"), data={"title": "Sommerfest"})
        other_id = other.id or 0
    engine.dispose()
    at = _open_in_editor("ed", other_id)
    assert "Target audience: none" in [t.value for t in at.text]
    assert _audience_choice(at, other_id, None).options == ["None", "Endkunden", "Fachpresse"]


def test_an_editor_sets_a_pieces_audience_and_back_to_none_keeping_the_typed_text(
    database: str,
) -> None:
    piece_id = _piece_of_an_idea_for(database, "Endkunden")
    at = _open_in_editor("ed", piece_id)
    at.text_area(key=keys.EDITOR_BODY).input("Noch nicht gespeichert.").run()
    _audience_choice(at, piece_id, None).select(2)  # Fachpresse, by its id
    at.button(key=keys.EDITOR_AUDIENCE_SET).click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["The piece's target audience is now Fachpresse."]
    assert _stored_audience(database, piece_id) == "Fachpresse"
    assert "Target audience: Fachpresse" in [t.value for t in at.text]
    assert _audience_choice(at, piece_id, 2).value == 2
    assert at.text_area(key=keys.EDITOR_BODY).value == "Noch nicht gespeichert."

    _audience_choice(at, piece_id, 2).select_index(0)  # none of its own
    at.button(key=keys.EDITOR_AUDIENCE_SET).click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["The piece now has no target audience of its own."]
    assert _stored_audience(database, piece_id) is None
    assert FROM_THE_IDEA in [t.value for t in at.text]
    assert at.text_area(key=keys.EDITOR_BODY).value == "Noch nicht gespeichert."


def test_an_admin_sets_a_pieces_audience_in_german(database: str) -> None:
    piece_id = _piece_of_an_idea_for(database, "Fachpresse")
    at = _open_in_editor("admin", piece_id)  # the admin reads German
    assert "Zielgruppe: keine eigene (die Idee nennt Fachpresse)" in [t.value for t in at.text]
    choice = _audience_choice(at, piece_id, None)
    assert choice.label == "Zielgruppe des Beitrags"
    assert choice.options == ["Keine eigene (von der Idee: Fachpresse)", "Endkunden", "Fachpresse"]
    assert at.button(key=keys.EDITOR_AUDIENCE_SET).label == "Zielgruppe festlegen"
    choice.select(1)  # Endkunden
    at.button(key=keys.EDITOR_AUDIENCE_SET).click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Die Zielgruppe des Beitrags ist jetzt Endkunden."]
    assert "Zielgruppe: Endkunden" in [t.value for t in at.text]
    assert _stored_audience(database, piece_id) == "Endkunden"


def test_an_audience_removed_meanwhile_is_named_and_nothing_changes(database: str) -> None:
    piece_id = _piece_of_an_idea_for(database, "Endkunden")
    at = _open_in_editor("ed", piece_id)
    _audience_choice(at, piece_id, None).select(2)  # Fachpresse
    engine = make_engine(database)
    with Session(engine) as s:
        audiences.remove_audience(s, actor=users.get_user(s, "admin"), name="Fachpresse")
    engine.dispose()
    at.button(key=keys.EDITOR_AUDIENCE_SET).click().run()
    assert not at.exception and not at.success
    assert [e.value for e in at.error] == [
        "The target audience 'Fachpresse' no longer exists; pick another one."
    ]
    assert _stored_audience(database, piece_id) is None
    assert _audience_choice(at, piece_id, None).options == [
        "None of its own (from the idea: Endkunden)",
        "Endkunden",
    ]


def test_who_may_no_longer_edit_pieces_cannot_set_an_audience(database: str) -> None:
    # Editors and admins may name a piece's audience, and only they open the Editor: an
    # editor made an approver while it is open is refused by the domain.
    piece_id = _piece_of_an_idea_for(database, "Endkunden")
    at = _open_in_editor("ed", piece_id)
    _audience_choice(at, piece_id, None).select(2)  # Fachpresse
    engine = make_engine(database)
    with Session(engine) as s:
        users.change_role(s, actor=users.get_user(s, "admin"), username="ed", role="approver")
    engine.dispose()
    at.button(key=keys.EDITOR_AUDIENCE_SET).click().run()
    assert not at.exception and not at.success
    assert _stored_audience(database, piece_id) is None
    assert at.title[0].value != "Editor"


def test_a_save_writes_only_what_this_admin_changed_not_an_older_value(database: str) -> None:
    _setup(database)
    at = open_page(sign_in("admin", PASSWORD), "audiences")
    at.selectbox(key=keys.AUDIENCES_PICK).set_value(1).run()
    # Another admin describes the audience and adds a channel meanwhile.
    with Session(make_engine(database)) as s:
        audiences.update_audience(
            s,
            actor=users.get_user(s, "admin"),
            name="Endkunden",
            description="Hausbesitzer im Umland",
            channels=["Blog", "Social"],
        )
    at.text_input(key=f"{keys.AUDIENCES_EDIT_NAME}1").input("Privatkunden")
    at.button(key=keys.AUDIENCES_SAVE).click().run()
    assert not at.exception
    with Session(make_engine(database)) as s:
        [view] = [
            v
            for v in audiences.list_audiences(s, actor=users.get_user(s, "admin"))
            if v.audience.name == "Privatkunden"
        ]
        # Before, the form's empty description and single channel were written back.
        assert view.audience.description == "Hausbesitzer im Umland"
        assert sorted(view.channels) == ["Blog", "Social"]
