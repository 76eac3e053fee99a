"""The Board page under AppTest: workflow moves through the buttons change the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from planner import channels, pieces, planning, users
from planner.db import make_engine
from planner.models import Comment, Piece, PieceStatus, PostStatus
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


def plan_posts(database: str, piece_id: int, count: int) -> list[int]:
    """`count` posts of the piece on a new channel, planned by "ed" from two hours ahead."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, ed = users.get_user(s, "admin"), users.get_user(s, "ed")
        channel = channels.create_channel(s, actor=admin, kind="recording", name="Social")
        soon = datetime.now(UTC) + timedelta(hours=2)
        posts = [
            planning.plan_post(
                s, actor=ed, piece_id=piece_id, channel=channel.id, when=soon + timedelta(days=n)
            )
            for n in range(count)
        ]
    engine.dispose()
    return [post.id or 0 for post in posts]


def post_status(database: str, post_id: int) -> PostStatus:
    with Session(make_engine(database)) as s:
        return planning.get_post(s, actor=users.get_user(s, "admin"), post_id=post_id).status


def test_a_stale_draft_card_cannot_archive_the_piece_approved_and_planned_since(
    database: str,
) -> None:
    add_user(database, "anna", "approver")
    add_user(database, "editor2", "editor", locale="de")
    piece = add_piece(database, "Betriebsfest")
    stale = open_page(sign_in("editor2", PASSWORD), "board")  # shows the draft
    assert stale.button(key=move(piece, "archive")).label == "Archivieren"
    # Meanwhile, in other sessions: submitted, approved, a post planned two hours ahead.
    ed = open_page(sign_in("ed", PASSWORD), "board")
    ed.button(key=move(piece, "submit")).click().run()
    anna = open_page(sign_in("anna", PASSWORD), "board")
    anna.button(key=move(piece, "approve")).click().run()
    assert stored(database, piece).status == PieceStatus.approved
    [post] = plan_posts(database, piece, 1)

    stale.button(key=move(piece, "archive")).click().run()
    assert not stale.exception
    assert [s.value for s in stale.success] == []
    assert [e.value for e in stale.main.error] == [
        "Beitrag #1 hat sich inzwischen geändert: Sie sahen ihn als „Entwurf“, jetzt ist er "
        "„freigegeben“. Es wurde nichts geändert; bitte sehen Sie ihn sich neu an."
    ]
    assert stored(database, piece).status == PieceStatus.approved
    assert stored(database, piece).approved_revision == 1
    assert post_status(database, post) == PostStatus.planned
    # Drawn again, the card shows the piece as it is, and archiving it now is a choice.
    assert stale.main.subheader[3].value == "freigegeben (1)"


@pytest.mark.parametrize("action", ["submit", "archive"])
def test_a_move_on_a_card_of_an_older_revision_is_refused_as_a_conflict(
    database: str, action: str
) -> None:
    piece = add_piece(database, "Betriebsfest")
    at = open_page(sign_in("ed", PASSWORD), "board")  # shows revision 1
    engine = make_engine(database)
    with Session(engine) as s:  # meanwhile, in the editor: revision 2, still a draft
        pieces.edit_piece(
            s,
            actor=users.get_user(s, "admin"),
            piece_id=piece,
            expected_revision=1,
            data={"body": "Neuer Text."},
        )
    engine.dispose()
    at.button(key=move(piece, action)).click().run()
    assert [e.value for e in at.main.error] == [
        "Someone else saved in the meantime: you saw revision 1, it is now at revision 2. "
        "Please read the new revision."
    ]
    assert stored(database, piece).status == PieceStatus.draft


@pytest.mark.parametrize(
    ("count", "said"),
    [
        (0, "Piece #1 is now “archived”."),
        (1, "Piece #1 is now “archived”. Its planned post will not go out now (see the Calendar)."),
        (
            2,
            "Piece #1 is now “archived”. Its 2 planned posts will not go out now "
            "(see the Calendar).",
        ),
    ],
)
def test_archiving_says_that_the_planned_posts_will_not_go_out(
    database: str, count: int, said: str
) -> None:
    piece = add_piece(database, "Betriebsfest")
    plan_posts(database, piece, count)
    at = open_page(sign_in("ed", PASSWORD), "board")
    at.button(key=move(piece, "archive")).click().run()
    assert [s.value for s in at.success] == [said]
    assert stored(database, piece).status == PieceStatus.archived


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
