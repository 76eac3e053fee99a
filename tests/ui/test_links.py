"""Links to one piece or idea: the same link opens it for every role on that role's page,
survives a reload, and a bad or foreign one is said so."""

from __future__ import annotations

from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from planner import ideas, pieces, users
from planner.db import make_engine
from planner.ui import keys
from tests.ui.conftest import PASSWORD, add_user, open_page, sign_in


def _pieces(database: str, count: int) -> list[int]:
    """`count` pieces by the editor, the last one submitted for review; their ids."""
    engine = make_engine(database)
    made = []
    with Session(engine, expire_on_commit=False) as s:
        ed = users.get_user(s, "ed")
        for n in range(count):
            piece = pieces.create_piece(s, actor=ed, data={"title": f"Beitrag {n}", "body": "T"})
            assert piece.id is not None
            made.append(piece.id)
        pieces.submit_piece(s, actor=ed, piece_id=made[-1])
    engine.dispose()
    return made


def _follow(at: AppTest, **query: str) -> AppTest:
    """Open the dashboard's address with `query`, as a pasted link or a reload does."""
    for name, value in query.items():
        at.query_params[name] = value
    return at.run()


def test_a_piece_link_opens_the_piece_in_the_editor_and_stays_in_the_address(
    database: str,
) -> None:
    first, second, _third = _pieces(database, 3)
    at = _follow(sign_in("ed", PASSWORD), piece=str(first))
    assert not at.exception
    assert at.title[0].value == "Editor"  # sent on from the start page
    assert at.selectbox(key=keys.EDITOR_PIECE).value == first
    assert at.text_input(key=keys.EDITOR_TITLE).value == "Beitrag 0"
    assert at.code[0].value.endswith(f"/?piece={first}")
    # Picking another piece puts it in the address: a reload reopens that one.
    at.text_input(key=keys.EDITOR_SEARCH).set_value("").run()
    at.selectbox(key=keys.EDITOR_PIECE).set_value(second).run()
    assert at.query_params["piece"] == str(second)
    assert at.text_input(key=keys.EDITOR_TITLE).value == "Beitrag 1"


def test_the_same_link_opens_the_piece_for_review_for_an_approver(database: str) -> None:
    *_, in_review = _pieces(database, 3)
    add_user(database, "anna", "approver")
    at = _follow(sign_in("anna", PASSWORD), piece=str(in_review))
    assert not at.exception
    assert at.title[0].value == "Freigaben"
    assert at.selectbox(key=keys.APPROVALS_PICK).value == in_review
    assert at.query_params["piece"] == str(in_review)


def test_an_idea_link_opens_it_for_its_contributor_and_in_the_editors_inbox(
    database: str,
) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        (idea,) = ideas.list_ideas(s, actor=users.get_user(s, "admin"))
    engine.dispose()
    at = _follow(sign_in("lena", PASSWORD), idea=str(idea.id))
    assert not at.exception
    assert at.selectbox(key=keys.MY_IDEA_PICK).value == idea.id
    at = _follow(sign_in("ed", PASSWORD), idea=str(idea.id))
    assert not at.exception
    assert at.title[0].value == "Inbox: new ideas"
    assert at.selectbox(key=keys.INBOX_PICK).value == idea.id


def test_a_link_to_nothing_or_no_number_is_said_and_the_page_still_works(
    database: str,
) -> None:
    _pieces(database, 1)
    at = _follow(sign_in("ed", PASSWORD), piece="999")
    assert not at.exception
    assert [w.value for w in at.warning] == [
        "The piece #999 is not offered on this page (it does not exist, is done already, "
        "or is not visible to you)."
    ]
    for bad in ("abc", "²", "0"):
        at = _follow(sign_in("ed", PASSWORD), piece=bad)
        assert not at.exception
        assert f"The link names no valid number (piece: “{bad}”)." in [w.value for w in at.warning]


def test_a_contributor_is_told_no_page_of_theirs_opens_a_piece(database: str) -> None:
    (piece,) = _pieces(database, 1)
    at = _follow(sign_in("lena", PASSWORD), piece=str(piece))
    assert not at.exception
    assert [w.value for w in at.warning] == [
        f"Beitrag Nr. {piece} lässt sich mit Ihrer Rolle auf keiner Seite öffnen."
    ]


def test_a_link_or_search_with_a_number_above_every_id_finds_nothing(database: str) -> None:
    _pieces(database, 1)
    add_user(database, "erik", "editor")
    said = {
        "en": "The piece #99999999999999999999 is not offered on this page",
        "de": "Beitrag Nr. 99999999999999999999 steht auf dieser Seite nicht zur Auswahl",
    }
    for username, lang in (("ed", "en"), ("erik", "de")):
        at = _follow(sign_in(username, PASSWORD), piece="99999999999999999999")
        assert not at.exception
        assert any(w.value.startswith(said[lang]) for w in at.warning), at.warning
        for page in ("editor", "calendar"):
            at = open_page(sign_in(username, PASSWORD), page)
            search = keys.EDITOR_SEARCH if page == "editor" else keys.CAL_PLAN_SEARCH
            for text in ("12345678901234567890", "#99999999999999999999", "²"):
                at.text_input(key=search).input(text).run()
                assert not at.exception, (page, text)
