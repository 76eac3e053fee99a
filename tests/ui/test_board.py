"""The Board page under AppTest: workflow moves through the buttons change the database."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from planner import pieces, users
from planner.db import make_engine
from planner.models import Comment, Piece, PieceStatus
from planner.ui import keys
from planner.ui.i18n import translate
from tests.ui.conftest import (
    PASSWORD,
    add_user,
    charts_shown,
    kept_whole,
    open_page,
    sign_in,
)


def add_piece(database: str, title: str, *, by: str = "ed", submit: bool = False) -> int:
    """A draft (or a piece in review) written by `by`; its id."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        author = users.get_user(s, by)
        piece = pieces.create_piece(s, actor=author, data={"title": title, "body": "Text."})
        assert piece.id is not None
        if submit:
            pieces.submit_piece(s, actor=author, piece_id=piece.id)
    engine.dispose()
    return piece.id


def stored(database: str, piece_id: int) -> Piece:
    """The piece as the database has it now."""
    with Session(make_engine(database)) as s:
        piece = s.get(Piece, piece_id)
        assert piece is not None
        return piece


def move(piece_id: int, action: str) -> str:
    """The key of one move button."""
    return f"{keys.BOARD_MOVE}{piece_id}_{action}"


@pytest.mark.parametrize(
    ("username", "role"), [("ed", None), ("admin", None), ("anna", "approver")]
)
def test_board_opens_for_editors_approvers_and_admins(
    database: str, username: str, role: str | None
) -> None:
    if role:
        add_user(database, username, role)
    add_piece(database, "Betriebsfest <i>2027</i>")
    at = open_page(sign_in(username, PASSWORD), "board")
    assert not at.exception
    assert at.title[0].value in ("Board: pieces by state", "Übersicht: Beiträge nach Stand")
    assert "#1 Betriebsfest <i>2027</i>" in [t.value for t in at.main.text]
    assert charts_shown(at)  # pipeline by state


def test_board_is_not_routable_for_contributors(database: str) -> None:
    with pytest.raises(ValueError, match="board"):
        open_page(sign_in("lena", PASSWORD), "board")


def test_editor_moves_a_piece_through_submit_archive_and_reopen(database: str) -> None:
    piece = add_piece(database, "Betriebsfest")
    at = open_page(sign_in("ed", PASSWORD), "board")
    assert at.main.subheader[0].value == "draft (1)"
    assert at.button(key=move(piece, "submit")).label == "Submit for review"
    at.button(key=move(piece, "submit")).click().run()
    assert [s.value for s in at.success] == ["Piece #1 is now “in review”."]
    assert stored(database, piece).status == PieceStatus.in_review
    assert at.main.subheader[1].value == "in review (1)"
    with pytest.raises(KeyError):  # an editor may not approve
        at.button(key=move(piece, "approve"))
    with pytest.raises(KeyError):  # an edit is saved in the editor, not taken on the board
        at.button(key=move(piece, "edit"))
    at.button(key=move(piece, "archive")).click().run()
    assert stored(database, piece).status == PieceStatus.archived
    at.button(key=move(piece, "reopen")).click().run()
    assert stored(database, piece).status == PieceStatus.draft


def test_a_move_made_stale_by_someone_else_says_what_is_allowed(database: str) -> None:
    piece = add_piece(database, "Betriebsfest")
    at = open_page(sign_in("ed", PASSWORD), "board")
    engine = make_engine(database)
    with Session(engine) as s:  # meanwhile, in another tab
        pieces.submit_piece(s, actor=users.get_user(s, "ed"), piece_id=piece)
    engine.dispose()
    at.button(key=move(piece, "submit")).click().run()
    assert [e.value for e in at.main.error] == [
        "Cannot “Submit for review” while the piece is “in review”. Allowed: Edit, Archive."
    ]


def test_approver_approves_and_requests_changes_with_a_comment_in_a_dialog(
    database: str,
) -> None:
    add_user(database, "anna", "approver")
    first = add_piece(database, "Betriebsfest", submit=True)
    second = add_piece(database, "Sommerfest", submit=True)
    at = open_page(sign_in("anna", PASSWORD), "board")
    at.button(key=move(first, "approve")).click().run()
    assert stored(database, first).status == PieceStatus.approved
    assert stored(database, first).approved_revision == 1

    at.button(key=move(second, "request_changes")).click().run()
    at.button(key=keys.BOARD_COMMENT_SEND).click().run()
    assert [e.value for e in at.error] == ["Bitte geben Sie eine Begründung an."]
    assert stored(database, second).status == PieceStatus.in_review
    at.text_area(key=keys.BOARD_COMMENT).input("Bitte das Datum nennen.")
    at.button(key=keys.BOARD_COMMENT_SEND).click().run()
    assert not at.exception
    assert stored(database, second).status == PieceStatus.changes_requested
    with Session(make_engine(database)) as s:
        comment = s.exec(select(Comment).where(Comment.piece_id == second)).one()
    assert comment.body == "Bitte das Datum nennen."
    with pytest.raises(KeyError):  # the dialog closed
        at.button(key=keys.BOARD_COMMENT_SEND)


def test_admin_cannot_approve_their_own_piece_on_the_board(database: str) -> None:
    piece = add_piece(database, "Betriebsfest", by="admin", submit=True)
    at = open_page(sign_in("admin", PASSWORD), "board")
    at.button(key=move(piece, "approve")).click().run()
    assert [e.value for e in at.main.error] == [
        "Sie haben an diesem Beitrag mitgeschrieben und dürfen ihn deshalb nicht freigeben. "
        "Das muss eine andere Person tun (Vier-Augen-Prinzip)."
    ]
    assert stored(database, piece).status == PieceStatus.in_review


def test_columns_page_through_their_pieces(database: str) -> None:
    for n in range(10):
        add_piece(database, f"Entwurf {n}")
    at = open_page(sign_in("ed", PASSWORD), "board")
    assert at.main.subheader[0].value == "draft (10)"
    drafts = [t.value for t in at.main.text if t.value.startswith("#")]
    assert len(drafts) == 8
    at.number_input(key=keys.BOARD_PAGE + "draft").set_value(2).run()
    assert [t.value for t in at.main.text if t.value.startswith("#")] == [
        "#2 Entwurf 1",
        "#1 Entwurf 0",
    ]


@pytest.mark.parametrize(("username", "lang"), [("admin", "de"), ("ed", "en")])
def test_board_chart_shows_every_state_readably_with_its_numbers_as_text(
    database: str, username: str, lang: str
) -> None:
    add_piece(database, "Betriebsfest")
    add_piece(database, "Sommerfest", submit=True)
    add_piece(database, "Jubiläum", submit=True)
    at = open_page(sign_in(username, PASSWORD), "board")
    [chart] = charts_shown(at)
    assert chart.caption == translate(lang, "board.chart_title")
    counts = {PieceStatus.draft: "1", PieceStatus.in_review: "2"}
    assert chart.rows == [
        [translate(lang, "col.status"), translate(lang, "board.chart_pieces")],
        *([translate(lang, f"status.{s}"), counts.get(s, "0")] for s in PieceStatus),
    ]
    # Bars to scale: two in review fill the width, one draft half of it, no bar for none.
    widths = {row[0]: bar for row, bar in zip(chart.rows[1:], chart.bars[1:], strict=True)}
    assert widths[translate(lang, "status.in_review")] == ["width:100.00%;background:#1f5fa8"]
    assert widths[translate(lang, "status.draft")] == ["width:50.00%;background:#1f5fa8"]
    assert widths[translate(lang, "status.approved")] == []


def test_board_columns_keep_their_words_whole(database: str) -> None:
    add_piece(database, "Veröffentlichungsplanung Ausbildungsmesse")
    at = open_page(sign_in("admin", PASSWORD), "board")
    columns = kept_whole(at, keys.BOARD_COLUMNS)
    assert [h.value for h in columns.get("subheader")] == [h.value for h in at.main.subheader]
    assert "#1 Veröffentlichungsplanung Ausbildungsmesse" in [t.value for t in columns.get("text")]
