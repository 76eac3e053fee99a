"""The Approvals page under AppTest: the diff, approving the revision shown, four-eyes."""

from __future__ import annotations

from secrets import token_urlsafe

import pytest
from sqlmodel import Session, select

from planner import channels, notifications, pieces, users
from planner.db import make_engine
from planner.models import Comment, Piece, PieceStatus
from planner.ui import keys
from tests.ui import marked
from tests.ui.conftest import PASSWORD, add_user, open_page, sign_in


def in_review(database: str, *, by: str = "ed", body: str = "Erste Zeile.\nZweite Zeile.") -> int:
    """A piece written by `by` and submitted for review; its id."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        author = users.get_user(s, by)
        piece = pieces.create_piece(s, actor=author, data={"title": "Betriebsfest", "body": body})
        assert piece.id is not None
        pieces.submit_piece(s, actor=author, piece_id=piece.id)
    engine.dispose()
    return piece.id


def edit(database: str, piece_id: int, revision: int, body: str) -> None:
    """The editor saves a new revision meanwhile."""
    engine = make_engine(database)
    with Session(engine) as s:
        pieces.edit_piece(
            s,
            actor=users.get_user(s, "ed"),
            piece_id=piece_id,
            expected_revision=revision,
            data={"body": body},
        )
    engine.dispose()


def stored(database: str, piece_id: int) -> Piece:
    """The piece as the database has it now."""
    with Session(make_engine(database)) as s:
        piece = s.get(Piece, piece_id)
        assert piece is not None
        return piece


@pytest.mark.parametrize("username", ["anna", "admin"])
def test_approvals_opens_for_approvers_and_admins(database: str, username: str) -> None:
    add_user(database, "anna", "approver")
    at = open_page(sign_in(username, PASSWORD), "approvals")
    assert not at.exception
    assert at.title[0].value == "Freigaben"
    assert at.info[0].value == "Nichts wartet auf Freigabe."


@pytest.mark.parametrize("username", ["ed", "lena"])
def test_approvals_is_not_routable_for_editors_and_contributors(
    database: str, username: str
) -> None:
    with pytest.raises(ValueError, match="approvals"):
        open_page(sign_in(username, PASSWORD), "approvals")


def test_approver_sees_the_whole_text_of_a_new_piece_and_approves_it_in_english(
    database: str,
) -> None:
    add_user(database, "joe", "approver", locale="en")
    piece = in_review(database, body="Erste Zeile <script>x</script>")
    at = open_page(sign_in("joe", PASSWORD), "approvals")
    assert not at.exception
    assert at.title[0].value == "Approvals"
    assert list(at.dataframe[0].value["Owner"]) == ["Eda Editor"]
    assert at.main.subheader[0].value == "Never approved: all of revision 1"
    shown = marked.read(at)
    assert shown.added == ["Betriebsfest", "Erste Zeile <script>x</script>"]  # title, text
    assert "<script>" not in "".join(marked.blocks(at))  # escaped, never markup
    at.button(key=keys.APPROVALS_APPROVE).click().run()
    assert [s.value for s in at.success] == ["Piece #1 is approved at revision 1."]
    done = stored(database, piece)
    assert (done.status, done.approved_revision) == (PieceStatus.approved, 1)
    assert at.info[0].value == "Nothing is waiting for approval."


def test_diff_is_against_the_last_approved_revision(database: str) -> None:
    add_user(database, "anna", "approver")
    piece = in_review(database)
    engine = make_engine(database)
    with Session(engine) as s:
        pieces.approve_piece(s, actor=users.get_user(s, "anna"), piece_id=piece, revision=1)
    engine.dispose()
    edit(database, piece, 1, "Erste Zeile.\nNeue zweite Zeile.")
    at = open_page(sign_in("anna", PASSWORD), "approvals")
    assert at.main.subheader[0].value == (
        "Änderungen seit der freigegebenen Version 1 (jetzt Version 2)"
    )
    diff = marked.read(at)
    assert (diff.removed, diff.added) == (["Zweite"], ["Neue zweite"])
    assert diff.text.startswith("Erste Zeile.\n")  # kept, unmarked


def test_request_changes_needs_a_comment_and_keeps_it_as_a_comment(database: str) -> None:
    add_user(database, "anna", "approver")
    piece = in_review(database)
    at = open_page(sign_in("anna", PASSWORD), "approvals")
    at.button(key=keys.APPROVALS_REQUEST).click().run()
    assert [e.value for e in at.main.error] == ["Bitte geben Sie eine Begründung an."]
    assert stored(database, piece).status == PieceStatus.in_review

    at.text_area(key=keys.APPROVALS_COMMENT).input("Bitte das Datum nennen.")
    at.button(key=keys.APPROVALS_REQUEST).click().run()
    assert not at.main.error
    assert stored(database, piece).status == PieceStatus.changes_requested
    with Session(make_engine(database)) as s:
        assert s.exec(select(Comment.body)).all() == ["Bitte das Datum nennen."]


def test_approving_ones_own_piece_shows_the_four_eyes_rule_at_the_button(database: str) -> None:
    piece = in_review(database, by="admin")
    at = open_page(sign_in("admin", PASSWORD), "approvals")
    at.text_area(key=keys.APPROVALS_COMMENT).input("Passt so")
    at.button(key=keys.APPROVALS_APPROVE).click().run()
    assert [e.value for e in at.main.error] == [
        "Sie haben an diesem Beitrag mitgeschrieben und dürfen ihn deshalb nicht freigeben. "
        "Das muss eine andere Person tun (Vier-Augen-Prinzip)."
    ]
    assert at.text_area(key=keys.APPROVALS_COMMENT).value == "Passt so"  # nothing typed is lost
    assert stored(database, piece).status == PieceStatus.in_review


def test_approval_is_bound_to_the_revision_shown(database: str) -> None:
    add_user(database, "anna", "approver")
    piece = in_review(database)
    at = open_page(sign_in("anna", PASSWORD), "approvals")
    assert at.button(key=keys.APPROVALS_APPROVE).label == "Version 1 freigeben"
    edit(database, piece, 1, "Geändert, während Anna liest.")
    at.button(key=keys.APPROVALS_APPROVE).click().run()
    assert [e.value for e in at.main.error] == [
        "Inzwischen hat jemand anderes gespeichert: Sie sahen Version 1, aktuell ist Version 2. "
        "Bitte lesen Sie die neue Version."
    ]
    assert stored(database, piece).status == PieceStatus.in_review
    assert at.button(key=keys.APPROVALS_APPROVE).label == "Version 2 freigeben"


def test_approvers_read_each_channels_post_as_its_readers_will(database: str) -> None:
    add_user(database, "anna", "approver")
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, author = users.get_user(s, "admin"), users.get_user(s, "ed")
        linkedin = channels.create_channel(
            s,
            actor=admin,
            kind="linkedin",
            name="LinkedIn Firma",
            settings={"organization_id": "123", "access_token": token_urlsafe(16)},
        )
        piece = pieces.create_piece(s, actor=author, data={"title": "Fest", "body": "Kurz."})
        assert piece.id is not None
        long = " ".join(["Sommerfest"] * 30) + " #Team https://firma.example/fest"
        pieces.edit_piece(
            s,
            actor=author,
            piece_id=piece.id,
            expected_revision=1,
            data={"variants": {linkedin.id: long}},
        )
        pieces.submit_piece(s, actor=author, piece_id=piece.id)
    engine.dispose()
    at = open_page(sign_in("anna", PASSWORD), "approvals")
    assert not at.exception
    assert [tab.label for tab in at.tabs] == ["LinkedIn Firma"]
    shown = marked.read(at)
    assert "… mehr anzeigen" in shown.text
    assert "Linkvorschau: firma.example" in shown.text
    assert any("der Feed kürzt nach etwa 210 Zeichen" in t.value for t in at.text)
    assert any("Hashtags: #Team" in t.value for t in at.text)


def test_a_decision_someone_else_made_first_is_told_with_the_comment_kept(database: str) -> None:
    add_user(database, "anna", "approver")
    add_user(database, "ada", "approver")
    piece = in_review(database)
    ada = open_page(sign_in("ada", PASSWORD), "approvals")
    with Session(make_engine(database)) as s:  # Anna approves first, on her own page
        pieces.approve_piece(s, actor=users.get_user(s, "anna"), piece_id=piece, revision=1)
    ada.text_area(key=keys.APPROVALS_COMMENT).input("Bitte das Datum nennen.")
    ada.button(key=keys.APPROVALS_REQUEST).click().run()
    assert not ada.exception
    # Before, only "Nothing is waiting" was shown: no refusal, the comment gone.
    [refusal] = [e.value for e in ada.main.error]
    assert refusal.startswith(f"Beitrag #{piece}: ")
    assert [i.value for i in ada.main.info] == [
        "Ihr Kommentar wurde nicht gespeichert; hier ist er zum Kopieren: Bitte das Datum nennen.",
        "Nichts wartet auf Freigabe.",
    ]
    assert stored(database, piece).status == PieceStatus.approved


def test_a_comment_given_with_an_approval_is_kept_and_tells_whom_it_names(database: str) -> None:
    add_user(database, "anna", "approver")
    piece = in_review(database)
    at = open_page(sign_in("anna", PASSWORD), "approvals")
    at.text_area(key=keys.APPROVALS_COMMENT).input("@ed bitte noch das Datum prüfen")
    at.button(key=keys.APPROVALS_APPROVE).click().run()
    assert not at.main.error
    assert stored(database, piece).status == PieceStatus.approved
    with Session(make_engine(database)) as s:
        # Before, it was kept only in the audit note: no comment, and Ed was not told.
        assert s.exec(select(Comment.body)).all() == ["@ed bitte noch das Datum prüfen"]
        told = notifications.list_notifications(s, actor=users.get_user(s, "ed"))
        assert "mentioned" in [item.notification.kind for item in told]


def test_a_mention_of_nobody_is_refused_with_a_label_not_a_key(database: str) -> None:
    add_user(database, "anna", "approver")
    in_review(database)
    at = open_page(sign_in("anna", PASSWORD), "approvals")
    at.text_area(key=keys.APPROVALS_COMMENT).input("@nobody bitte")
    at.button(key=keys.APPROVALS_REQUEST).click().run()
    # Before: "field.body: @nobody: …"
    [refusal] = [e.value for e in at.main.error]
    assert refusal.startswith("Text: @nobody")
