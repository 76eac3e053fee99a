"""Links to one post (`?post=7`): they open the calendar with the post at its top, for every
role that sees posts; a link to no post, or for a role without the calendar, is said so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from planner import channels, pieces, planning, users
from planner.db import make_engine
from planner.ui import keys
from tests.ui.conftest import PASSWORD, add_user, shown_when, sign_in

WHEN = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)


def _post(database: str) -> tuple[int, int]:
    """A post of piece "Betriebsfest" on channel "Social"; (post id, piece id)."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        ed = users.get_user(s, "ed")
        channel = channels.create_channel(s, actor=admin, kind="recording", name="Social")
        piece = pieces.create_piece(s, actor=ed, data={"title": "Betriebsfest", "body": "Text"})
        assert piece.id is not None and channel.id is not None
        post = planning.plan_post(s, actor=ed, piece_id=piece.id, channel=channel.id, when=WHEN)
    engine.dispose()
    assert post.id is not None
    return post.id, piece.id


def _follow(at: AppTest, **query: str) -> AppTest:
    """Open the dashboard's address with `query`, as a pasted link or a reload does."""
    for name, value in query.items():
        at.query_params[name] = value
    return at.run()


@pytest.mark.parametrize(
    ("username", "role", "lang"),
    [
        pytest.param("ed", "editor", "en", id="editor"),
        pytest.param("anna", "approver", "de", id="approver"),
    ],
)
def test_a_post_link_opens_the_calendar_with_the_post_on_top(
    database: str, username: str, role: str, lang: str
) -> None:
    post_id, piece_id = _post(database)
    if username != "ed":
        add_user(database, username, role)
    at = _follow(sign_in(username, PASSWORD), post=str(post_id))
    assert not at.exception
    assert at.title[0].value == ("Calendar" if lang == "en" else "Kalender")
    status = "planned" if lang == "en" else "geplant"
    label = f"#{post_id} · {shown_when(WHEN, lang)} · Social · Betriebsfest ({status})"
    assert label in [t.value for t in at.text]
    assert at.query_params["post"] == str(post_id)
    [to_piece] = [e.proto for e in at.main.get("link_button")]
    assert to_piece.url.endswith(f"/?piece={piece_id}")
    # Closing the box takes the post out of the address: a reload no longer shows it.
    at.button(key=keys.LINKED_POST_CLOSE).click().run()
    assert "post" not in at.query_params
    assert label not in [t.value for t in at.text]


def test_a_link_to_no_post_is_said_and_the_calendar_still_works(database: str) -> None:
    _post(database)
    at = _follow(sign_in("ed", PASSWORD), post="999")
    assert not at.exception
    assert at.title[0].value == "Calendar"
    assert any("post 999" in w.value.lower() or "#999" in w.value for w in at.warning)


def test_a_contributor_is_told_no_page_of_theirs_opens_a_post(database: str) -> None:
    post_id, _ = _post(database)
    at = _follow(sign_in("lena", PASSWORD), post=str(post_id))
    assert not at.exception
    assert any(str(post_id) in w.value for w in at.warning)


@pytest.mark.parametrize(("username", "lang"), [("ed", "en"), ("erik", "de")])
def test_a_post_link_with_a_number_above_every_id_is_said(
    database: str, username: str, lang: str
) -> None:
    _post(database)
    if username != "ed":
        add_user(database, username, "editor")
    at = _follow(sign_in(username, PASSWORD), post="99999999999999999999")
    assert not at.exception
    assert at.title[0].value == ("Calendar" if lang == "en" else "Kalender")
    assert any("99999999999999999999" in w.value for w in at.warning), at.warning
