"""The dashboard's side of sign-in sessions: resume from the cookie, hand a new session's
grant to the browser, sign out.

Each browser tab is a Streamlit session that keeps its sign-in token in server memory
(session state) and checks it on every run, so a session ended elsewhere (sign-out in
another tab, account disabled, idle timeout) ends this tab's sign-in on its next run. A
new tab or a reload starts without session state and resumes from the HttpOnly cookie,
which Streamlit reads from the websocket's handshake (`st.context.cookies`).
"""

from __future__ import annotations

import json

import streamlit as st
from sqlmodel import Session

from planner import sessions
from planner.models import User
from planner.ui import keys
from planner.ui.web import COOKIE_NAME, SESSION_PATH, SIGN_OUT_PATH


def _client() -> str:
    """Who signed in from where, for the record: address and browser."""
    address = _text(st.context.ip_address)
    agent = _text(st.context.headers.get("User-Agent"))
    return f"{address} {agent}".strip()[:200]


def _text(value: object) -> str:
    """A request detail as text; empty when the run has no browser (e.g. under AppTest)."""
    return value if isinstance(value, str) else ""


def _post(path: str, body: str) -> str:
    """A page script that POSTs `body` to one of the planner's routes (same origin)."""
    return (
        "<script>fetch("
        f"{json.dumps(path)}, {{method: 'POST', body: {json.dumps(body)}, "
        "credentials: 'same-origin', cache: 'no-store'})</script>"
    )


def remember(session: Session, user: User) -> None:
    """After a successful sign-in: start a session and have the browser store its cookie."""
    token = sessions.start(session, user=user, client=_client())
    st.session_state[keys.SESSION_TOKEN] = token
    st.session_state[keys.SESSION_COOKIE_SCRIPT] = _post(SESSION_PATH, sessions.grant(token))


def resume(session: Session) -> None:
    """At the start of a run: keep, end or restore this tab's sign-in from its session."""
    token = st.session_state.get(keys.SESSION_TOKEN)
    if token is not None:
        if sessions.resume(session, token) is None:
            st.session_state.pop(keys.SESSION_TOKEN, None)
            st.session_state.pop(keys.USER_ID, None)
        return
    if keys.USER_ID in st.session_state:
        return
    token = _text(st.context.cookies.get(COOKIE_NAME))
    user = sessions.resume(session, token) if token else None
    if user is None:
        return
    st.session_state[keys.USER_ID] = user.id
    st.session_state[keys.SESSION_TOKEN] = token
    st.session_state[keys.LANGUAGE] = user.locale


def forget(session: Session) -> None:
    """Sign out: end this tab's session and have the browser delete the cookie."""
    sessions.end(session, st.session_state.pop(keys.SESSION_TOKEN, None))
    st.session_state.pop(keys.USER_ID, None)
    st.session_state[keys.SESSION_COOKIE_SCRIPT] = _post(SIGN_OUT_PATH, "")


def send_to_browser() -> None:
    """Run, once, the cookie script a sign-in or sign-out left for this run."""
    script = st.session_state.pop(keys.SESSION_COOKIE_SCRIPT, None)
    if script:
        st.html(script, unsafe_allow_javascript=True)
