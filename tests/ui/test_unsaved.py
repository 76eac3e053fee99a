"""Unsaved work in the Editor under AppTest: kept on change, back after leaving or a reload,
discarded on request, warned about when someone saved meanwhile, gone once saved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from planner import channels, drafts, pieces, planning, users
from planner.db import make_engine
from planner.models import EditorDraft
from planner.ui import keys
from tests.ui.conftest import PASSWORD, add_user, open_page, sign_in

BODY = "Wir feiern am Freitag im Werk, lange getippt."
VARIANT = "Freitag: Betriebsfest!"


def _setup(database: str) -> tuple[int, int]:
    """A piece planned on one channel; (piece id, channel id)."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        ed = users.get_user(s, "ed")
        channel = channels.create_channel(s, actor=admin, kind="recording", name="Social")
        piece = pieces.create_piece(s, actor=ed, data={"title": "Betriebsfest", "body": "Alt."})
        assert piece.id is not None and channel.id is not None
        planning.plan_post(
            s,
            actor=ed,
            piece_id=piece.id,
            channel=channel.id,
            when=datetime.now(UTC) + timedelta(days=3),
        )
    engine.dispose()
    return piece.id, channel.id


def _draft(database: str, username: str, piece_id: int) -> EditorDraft | None:
    engine = make_engine(database)
    try:
        with Session(engine, expire_on_commit=False) as s:
            user = users.get_user(s, username)
            return drafts.get_draft(s, actor=user, piece_id=piece_id)
    finally:
        engine.dispose()


def _type(database: str, channel_id: int) -> AppTest:
    """Sign in as ed, open the Editor and type into title, text and the variant."""
    at = open_page(sign_in("ed", PASSWORD), "editor")
    at.text_input(key=keys.EDITOR_TITLE).input("Betriebsfest 2027").run()
    at.text_area(key=keys.EDITOR_BODY).input(BODY).run()
    at.text_area(key=f"{keys.EDITOR_VARIANT}{channel_id}").input(VARIANT).run()
    assert not at.exception
    return at


def test_typed_text_is_kept_without_saving_and_is_back_after_a_reload(database: str) -> None:
    piece_id, channel_id = _setup(database)
    at = _type(database, channel_id)
    assert at.caption[0].value.startswith("Not saved yet")
    draft = _draft(database, "ed", piece_id)
    assert draft is not None
    assert (draft.base_revision, draft.title, draft.body, draft.variants) == (
        1,
        "Betriebsfest 2027",
        BODY,
        {str(channel_id): VARIANT},
    )
    # A reload: a new browser session of the same user.
    again = open_page(sign_in("ed", PASSWORD), "editor")
    assert not again.exception
    assert again.text_input(key=keys.EDITOR_TITLE).value == "Betriebsfest 2027"
    assert again.text_area(key=keys.EDITOR_BODY).value == BODY
    assert again.text_area(key=f"{keys.EDITOR_VARIANT}{channel_id}").value == VARIANT
    assert [i.value for i in again.info if "unsaved changes" in i.value] != []
    assert again.button(key=keys.EDITOR_DRAFT_DISCARD).label == "Discard draft"


def test_typed_text_is_back_after_visiting_another_page(database: str) -> None:
    _piece_id, channel_id = _setup(database)
    at = _type(database, channel_id)
    open_page(at, "board")
    back = open_page(at, "editor")
    assert not back.exception
    assert back.text_area(key=keys.EDITOR_BODY).value == BODY
    assert back.text_area(key=f"{keys.EDITOR_VARIANT}{channel_id}").value == VARIANT


def test_discarding_the_draft_loads_the_saved_text_and_forgets_it(database: str) -> None:
    piece_id, channel_id = _setup(database)
    _type(database, channel_id)
    at = open_page(sign_in("ed", PASSWORD), "editor")
    at.button(key=keys.EDITOR_DRAFT_DISCARD).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Draft discarded; the saved revision is loaded."]
    assert at.text_area(key=keys.EDITOR_BODY).value == "Alt."
    assert at.text_input(key=keys.EDITOR_TITLE).value == "Betriebsfest"
    assert _draft(database, "ed", piece_id) is None
    assert not [b for b in at.button if b.key == keys.EDITOR_DRAFT_DISCARD]


def test_saving_the_piece_deletes_the_draft(database: str) -> None:
    piece_id, channel_id = _setup(database)
    at = _type(database, channel_id)
    at.button(key=keys.EDITOR_SAVE).click().run()
    assert [s.value for s in at.success] == ["Saved as revision 2."]
    assert _draft(database, "ed", piece_id) is None
    again = open_page(sign_in("ed", PASSWORD), "editor")
    assert again.text_area(key=keys.EDITOR_BODY).value == BODY
    assert not [b for b in again.button if b.key == keys.EDITOR_DRAFT_DISCARD]


def test_another_editor_sees_the_saved_text_not_someone_elses_draft(database: str) -> None:
    piece_id, channel_id = _setup(database)
    _type(database, channel_id)
    add_user(database, "eve", "editor", locale="en")
    at = open_page(sign_in("eve", PASSWORD), "editor")
    assert at.text_area(key=keys.EDITOR_BODY).value == "Alt."
    assert not [b for b in at.button if b.key == keys.EDITOR_DRAFT_DISCARD]
    assert _draft(database, "eve", piece_id) is None
    assert _draft(database, "ed", piece_id) is not None


def test_a_draft_of_an_older_revision_warns_and_shows_what_changed(database: str) -> None:
    piece_id, channel_id = _setup(database)
    _type(database, channel_id)
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        pieces.edit_piece(
            s,
            actor=admin,
            piece_id=piece_id,
            expected_revision=1,
            data={"body": "Die Kollegin schrieb das."},
        )
    engine.dispose()
    at = open_page(sign_in("ed", PASSWORD), "editor")
    assert not at.exception
    assert at.text_area(key=keys.EDITOR_BODY).value == BODY
    assert [w.value for w in at.warning] == [
        "Your draft began on revision 1, but revision 2 was saved since. "
        "Check what changed before you save."
    ]
    assert "What changed from revision 1 to 2" in [e.label for e in at.expander]
    # Saving it is an edit conflict, as for any text begun on an older revision.
    at.button(key=keys.EDITOR_SAVE).click().run()
    assert any("Someone else saved in the meantime" in e.value for e in at.error)
    assert _draft(database, "ed", piece_id) is not None
    # Loading the saved revision instead throws the draft away.
    at.button(key=keys.EDITOR_RELOAD).click().run()
    assert at.text_area(key=keys.EDITOR_BODY).value == "Die Kollegin schrieb das."
    assert _draft(database, "ed", piece_id) is None


def test_text_typed_and_sent_only_with_the_switch_to_another_page_is_kept(
    database: str,
) -> None:
    # In a browser, a click on another page while the text field has the focus sends the
    # field's text along with the switch: the Editor never runs with it. Under AppTest the
    # same is a value set and a page switch in one run.
    piece_id, _channel_id = _setup(database)
    at = open_page(sign_in("ed", PASSWORD), "editor")
    assert _draft(database, "ed", piece_id) is None
    at.text_area(key=keys.EDITOR_BODY).input(BODY)
    board = open_page(at, "board")
    assert not board.exception
    draft = _draft(database, "ed", piece_id)
    assert draft is not None and draft.body == BODY
    back = open_page(board, "editor")
    assert back.text_area(key=keys.EDITOR_BODY).value == BODY
    # Further runs of other pages leave the kept draft alone.
    open_page(open_page(back, "board"), "calendar")
    kept = _draft(database, "ed", piece_id)
    assert kept is not None and kept.body == BODY


def test_a_switch_of_page_carrying_the_fields_as_saved_keeps_the_draft(database: str) -> None:
    # The Editor's run kept the typed text; then a switch of page arrives with the fields
    # as they were before the typing reached the server. The draft stays.
    piece_id, _channel_id = _setup(database)
    at = open_page(sign_in("ed", PASSWORD), "editor")
    saved = at.text_area(key=keys.EDITOR_BODY).value
    at.text_area(key=keys.EDITOR_BODY).input(BODY).run()
    kept = _draft(database, "ed", piece_id)
    assert kept is not None and kept.body == BODY
    at.text_area(key=keys.EDITOR_BODY).input(saved)
    board = open_page(at, "board")
    assert not board.exception
    still = _draft(database, "ed", piece_id)
    assert still is not None and still.body == BODY
    back = open_page(board, "editor")
    assert back.text_area(key=keys.EDITOR_BODY).value == BODY
