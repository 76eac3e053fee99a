"""The Editor page under AppTest: variants as each channel counts, save, conflict, restore."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from planner import channels, pieces, planning, users
from planner.db import make_engine
from planner.ui import keys
from tests.ui import marked
from tests.ui.conftest import PASSWORD, account, open_page, sign_in


def _setup(database: str) -> tuple[int, int]:
    """A piece planned on a channel that allows 500 characters; (piece id, channel id)."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        ed = users.get_user(s, "ed")
        account(s, actor=admin, username="ada", role="approver", display_name="Ada Approver")
        channel = channels.create_channel(s, actor=admin, kind="recording", name="Social")
        piece = pieces.create_piece(
            s, actor=ed, data={"title": "Betriebsfest", "body": "Wir feiern <b>gemeinsam</b>."}
        )
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


def _edit_elsewhere(database: str, piece_id: int, body: str) -> None:
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        current = pieces.get_piece(s, actor=admin, piece_id=piece_id)
        pieces.edit_piece(
            s,
            actor=admin,
            piece_id=piece_id,
            expected_revision=current.revision,
            data={"body": body},
        )
    engine.dispose()


@pytest.mark.parametrize("username", ["ed", "admin"])
def test_editor_page_opens_for_editors_and_admins(database: str, username: str) -> None:
    _setup(database)
    at = open_page(sign_in(username, PASSWORD), "editor")
    assert not at.exception
    assert at.title[0].value == "Editor"
    assert at.text_input(key=keys.EDITOR_TITLE).value == "Betriebsfest"


@pytest.mark.parametrize("username", ["lena", "ada"])
def test_editor_page_is_absent_for_contributors_and_approvers(database: str, username: str) -> None:
    _setup(database)
    at = sign_in(username, PASSWORD)
    assert not at.exception
    with pytest.raises(ValueError, match="editor"):
        open_page(at, "editor")


def test_variant_counts_as_its_channel_and_a_too_long_one_shows_the_finding(
    database: str,
) -> None:
    _, channel_id = _setup(database)
    at = open_page(sign_in("ed", PASSWORD), "editor")
    variant = at.text_area(key=f"{keys.EDITOR_VARIANT}{channel_id}")
    # Empty: the master text is what goes out, and is what is counted.
    assert "Empty: the master text is sent." in [c.value for c in at.caption]
    assert "28 of 500 characters" in [t.value for t in at.text]
    variant.input("x" * 501).run()
    assert not at.exception
    assert "501 of 500 characters" in [t.value for t in at.text]
    assert "Social: 501 characters, Recording (tests) allows 500" in [e.value for e in at.error]
    variant = at.text_area(key=f"{keys.EDITOR_VARIANT}{channel_id}")
    variant.input("Kurz und gut").run()
    assert "12 of 500 characters" in [t.value for t in at.text]
    assert not at.error


def test_editing_and_saving_creates_a_revision_and_user_text_stays_plain(database: str) -> None:
    piece_id, channel_id = _setup(database)
    at = open_page(sign_in("ed", PASSWORD), "editor")
    # The channel's preview shows the master text as typed, escaped, never as markup.
    assert "Wir feiern <b>gemeinsam</b>." in marked.read(at).text
    assert "&lt;b&gt;gemeinsam" in marked.blocks(at)[0]
    at.text_area(key=keys.EDITOR_BODY).input("Wir feiern am Freitag im Werk.")
    at.text_area(key=f"{keys.EDITOR_VARIANT}{channel_id}").input("Freitag: Betriebsfest!")
    at.text_input(key=keys.EDITOR_NOTE).input("Datum ergänzt")
    at.button(key=keys.EDITOR_SAVE).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Saved as revision 2."]
    with Session(make_engine(database)) as s:
        ed = users.get_user(s, "ed")
        saved = pieces.get_piece(s, actor=ed, piece_id=piece_id)
        assert saved.revision == 2
        assert saved.body == "Wir feiern am Freitag im Werk."
        assert saved.variants == {str(channel_id): "Freitag: Betriebsfest!"}
        assert pieces.history(s, actor=ed, piece_id=piece_id)[-1].note == "Datum ergänzt"
    assert at.text_area(key=keys.EDITOR_BODY).value == "Wir feiern am Freitag im Werk."
    assert at.text_input(key=keys.EDITOR_NOTE).value == ""


def test_saving_an_approved_piece_says_its_approval_no_longer_holds(database: str) -> None:
    piece_id, _channel_id = _setup(database)
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        ed, ada = users.get_user(s, "ed"), users.get_user(s, "ada")
        pieces.submit_piece(s, actor=ed, piece_id=piece_id)
        pieces.approve_piece(s, actor=ada, piece_id=piece_id, revision=1)
    engine.dispose()
    at = open_page(sign_in("ed", PASSWORD), "editor")
    at.text_area(key=keys.EDITOR_BODY).input("Wir feiern am Samstag.")
    at.button(key=keys.EDITOR_SAVE).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [
        "Saved as revision 2. Its approval no longer holds: the piece is in review again, "
        "and its planned posts wait for a new approval."
    ]


def test_a_too_short_title_is_shown_next_to_the_title_and_nothing_is_saved(database: str) -> None:
    piece_id, _ = _setup(database)
    at = open_page(sign_in("ed", PASSWORD), "editor")
    at.text_input(key=keys.EDITOR_TITLE).input("ab")
    at.text_area(key=keys.EDITOR_BODY).input("Neuer Text")
    at.button(key=keys.EDITOR_SAVE).click().run()
    assert any(e.value.startswith("Title: ") for e in at.error)
    assert at.text_area(key=keys.EDITOR_BODY).value == "Neuer Text"
    with Session(make_engine(database)) as s:
        assert pieces.get_piece(s, actor=users.get_user(s, "ed"), piece_id=piece_id).revision == 1


def test_an_edit_conflict_says_so_and_keeps_the_text_then_saves_on_top(database: str) -> None:
    piece_id, _ = _setup(database)
    at = open_page(sign_in("ed", PASSWORD), "editor")
    at.text_area(key=keys.EDITOR_BODY).input("Mein neuer Text, lange getippt.").run()
    _edit_elsewhere(database, piece_id, "Der Text der Kollegin.")
    at.button(key=keys.EDITOR_SAVE).click().run()
    assert not at.exception
    assert any(
        "Someone else saved in the meantime: you edited revision 1, the saved one is revision 2"
        in e.value
        for e in at.error
    )
    assert at.text_area(key=keys.EDITOR_BODY).value == "Mein neuer Text, lange getippt."
    assert "Der Text der Kollegin." in [t.value for t in at.text]  # their version, to merge
    at.button(key=keys.EDITOR_REBASE).click().run()
    at.button(key=keys.EDITOR_SAVE).click().run()
    assert [s.value for s in at.success] == ["Saved as revision 3."]
    with Session(make_engine(database)) as s:
        saved = pieces.get_piece(s, actor=users.get_user(s, "ed"), piece_id=piece_id)
        assert saved.body == "Mein neuer Text, lange getippt."


def test_history_shows_a_diff_and_restores_a_revision(database: str) -> None:
    piece_id, _ = _setup(database)
    _edit_elsewhere(database, piece_id, "Zweite Fassung.")
    at = open_page(sign_in("ed", PASSWORD), "editor")
    diff = marked.read(at)
    assert diff.removed == ["Wir feiern <b>gemeinsam</b>"]
    assert diff.added == ["Zweite Fassung"]
    at.selectbox(key=keys.EDITOR_RESTORE_PICK).set_value(1)
    at.button(key=keys.EDITOR_RESTORE).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Revision 1 was restored as new revision 3."]
    assert at.text_area(key=keys.EDITOR_BODY).value == "Wir feiern <b>gemeinsam</b>."
    with Session(make_engine(database)) as s:
        restored = pieces.get_piece(s, actor=users.get_user(s, "ed"), piece_id=piece_id)
        assert (restored.revision, restored.body) == (3, "Wir feiern <b>gemeinsam</b>.")
    # Restoring it once more would change nothing: the page says so.
    at.selectbox(key=keys.EDITOR_RESTORE_PICK).set_value(1)
    at.button(key=keys.EDITOR_RESTORE).click().run()
    assert [e.value for e in at.error] == [
        "Save: revision 1 has the same content as the current revision 3: nothing to restore"
    ]


def test_comments_are_added_and_an_empty_one_is_refused_in_german(database: str) -> None:
    piece_id, _ = _setup(database)
    at = open_page(sign_in("admin", PASSWORD), "editor")
    assert at.title[0].value == "Editor"
    at.button(key=keys.EDITOR_COMMENT_ADD).click().run()
    assert "Kommentar: Ein Kommentar darf nicht leer sein." in [e.value for e in at.error]
    at.text_area(key=keys.EDITOR_COMMENT).input("Bitte <i>Foto</i> ergänzen")
    at.button(key=keys.EDITOR_COMMENT_ADD).click().run()
    assert "Bitte <i>Foto</i> ergänzen" in [t.value for t in at.text]
    assert at.text_area(key=keys.EDITOR_COMMENT).value == ""
    with Session(make_engine(database)) as s:
        admin = users.get_user(s, "admin")
        assert [c.body for c in pieces.list_comments(s, actor=admin, piece_id=piece_id)] == [
            "Bitte <i>Foto</i> ergänzen"
        ]


def test_search_finds_a_piece_among_many_by_title_and_pages(database: str) -> None:
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        ed = users.get_user(s, "ed")
        for i in range(30):
            pieces.create_piece(s, actor=ed, data={"title": f"Stück Nummer {i:02d}"})
    engine.dispose()
    at = open_page(sign_in("ed", PASSWORD), "editor")
    assert at.selectbox(key=keys.EDITOR_PIECE).label == "Piece (30 found)"
    assert len(at.selectbox(key=keys.EDITOR_PIECE).options) == 25
    at.number_input(key=keys.EDITOR_PAGE).set_value(2).run()
    assert len(at.selectbox(key=keys.EDITOR_PIECE).options) == 5
    at.text_input(key=keys.EDITOR_SEARCH).input("nummer 07").run()
    assert at.selectbox(key=keys.EDITOR_PIECE).options == ["#8 Stück Nummer 07 (draft)"]
    assert at.text_input(key=keys.EDITOR_TITLE).value == "Stück Nummer 07"


def test_each_variant_has_a_preview_cut_where_its_channel_stops(database: str) -> None:
    _piece_id, channel_id = _setup(database)
    at = open_page(sign_in("ed", PASSWORD), "editor")
    at.text_area(key=f"{keys.EDITOR_VARIANT}{channel_id}").input("Wort " * 110).run()
    assert not at.exception
    assert "Preview on Social (Recording (tests))" in [e.label for e in at.expander]
    shown = marked.read(at)
    assert shown.text.startswith("Wort Wort")
    assert shown.removed == [("Wort " * 110)[500:]]  # past the channel's 500 characters
    assert "Over the channel's limit" in shown.text
