"""The dashboard under AppTest keeps a server-side session per sign-in: signing in starts
one, signing out ends it, and a session ended elsewhere signs the tab out on its next run."""

from __future__ import annotations

from sqlmodel import Session, select

from planner import sessions, users
from planner.db import make_engine
from planner.models import UserSession
from planner.ui import keys
from planner.ui.document import MARKER
from tests.ui.conftest import PASSWORD, sign_in


def _sessions(database: str) -> list[UserSession]:
    engine = make_engine(database)
    try:
        with Session(engine) as s:
            return list(s.exec(select(UserSession).order_by(UserSession.id)))
    finally:
        engine.dispose()


def test_signing_in_starts_a_session_and_signing_out_ends_it(database: str) -> None:
    at = sign_in("lena", PASSWORD)
    token = at.session_state[keys.SESSION_TOKEN]
    (row,) = _sessions(database)
    assert row.token_hash == sessions.token_hash(token) and row.ended_at is None
    # The page hands the browser a grant for the cookie, never the token itself.
    (script,) = [e.proto.body for e in at.get("html") if MARKER not in e.proto.body]
    assert "/_planner/session" in script and token not in script

    at.button(key=keys.SIGN_OUT).click().run()
    assert keys.USER_ID not in at.session_state
    assert keys.SESSION_TOKEN not in at.session_state
    (row,) = _sessions(database)
    assert row.end_reason == "sign_out"
    (script,) = [e.proto.body for e in at.get("html") if MARKER not in e.proto.body]
    assert "/_planner/signout" in script


def test_a_session_ended_elsewhere_signs_this_tab_out(database: str) -> None:
    at = sign_in("lena", PASSWORD)
    assert at.session_state[keys.USER_ID]
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        users.set_disabled(s, actor=admin, username="lena")
        users.set_disabled(s, actor=admin, username="lena", disabled=False)  # enabled again
    engine.dispose()
    at.run()
    assert keys.USER_ID not in at.session_state
    assert at.text_input(key=keys.SIGN_IN_USERNAME)  # the sign-in form again
    (row,) = _sessions(database)
    assert row.end_reason == "disabled"
