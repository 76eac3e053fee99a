"""The dashboard's entry: sign-in, language, and navigation built per user from their role."""

from __future__ import annotations

import threading
from datetime import date, datetime
from pathlib import Path

import streamlit as st
from sqlalchemy import Engine
from sqlmodel import Session

from planner import publishing, users
from planner.config import load_settings
from planner.db import get_engine
from planner.errors import AccountDisabled, AuthenticationFailed, SignInThrottled
from planner.migrate import upgrade
from planner.models import Role, User
from planner.timezones import to_local
from planner.ui import keys
from planner.ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate


@st.cache_resource
def _engine(url: str) -> Engine:
    """One engine per server process and database, migrated once at start."""
    engine = get_engine(url)
    upgrade(engine)
    return engine


def engine() -> Engine:
    """The dashboard's database engine (PLANNER_DATABASE_URL, read on every run)."""
    return _engine(load_settings().database_url)


# The language of the run in progress, resolved once at its start by `run()`. A page
# translates hundreds of labels in one run, and each session-state read costs about 20 µs
# (it goes through the widget registry, as the sidebar's selectbox owns the key). Every
# run gets a thread of its own and cannot change its language half-way: a change reruns.
_this_run = threading.local()


def _session_language() -> str:
    value = st.session_state.get(keys.LANGUAGE, DEFAULT_LANGUAGE)
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def lang() -> str:
    """The language chosen for this browser session."""
    value: str | None = getattr(_this_run, "language", None)
    return value if value is not None else _session_language()


def t(key: str, **values: object) -> str:
    """A dashboard text in the session's language."""
    return translate(lang(), key, **values)


def when(instant: datetime | None, tz_name: str) -> str:
    """A moment in the user's zone, written as the session's language writes dates."""
    if instant is None:
        return ""
    return to_local(instant, tz_name).strftime(t("format.datetime"))


def day(value: date) -> str:
    """A calendar day, written as the session's language writes dates."""
    return value.strftime(t("format.date"))


def current_user(session: Session) -> User | None:
    """The signed-in user, re-read on every run so a disabled account drops out at once."""
    user_id = st.session_state.get(keys.USER_ID)
    if user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None or user.disabled:
        st.session_state.pop(keys.USER_ID, None)
        return None
    return user


def show_done(key: str) -> None:
    """Show, once, the message that a previous run left under `key` for this one."""
    done = st.session_state.pop(key, None)
    if done:
        st.success(done)


def _sign_in_page() -> None:
    st.title(t("sign_in.heading"))
    with st.form(keys.SIGN_IN_FORM):
        username = st.text_input(t("sign_in.username"), key=keys.SIGN_IN_USERNAME)
        password = st.text_input(t("sign_in.password"), type="password", key=keys.SIGN_IN_PASSWORD)
        submitted = st.form_submit_button(t("sign_in.submit"))
    if not submitted:
        return
    if not username.strip() or not password:
        st.error(t("sign_in.missing"))
        return
    with Session(engine(), expire_on_commit=False) as session:
        try:
            # The browser's address counts the failures of one client; None when Streamlit
            # does not know it (localhost, or a test run without a real connection).
            address = st.context.ip_address
            user = users.authenticate(
                session,
                username=username,
                password=password,
                client=address if isinstance(address, str) else None,
            )
        except SignInThrottled as err:
            st.error(t("sign_in.throttled", seconds=err.seconds))
            return
        except AccountDisabled:
            st.error(t("sign_in.disabled"))
            return
        except AuthenticationFailed:
            st.error(t("sign_in.failed"))
            return
    st.session_state[keys.USER_ID] = user.id
    st.session_state[keys.LANGUAGE] = user.locale
    st.rerun()


def _sidebar(session: Session, user: User) -> None:
    with st.sidebar:
        st.text(t("sidebar.signed_in_as", name=user.display_name, role=t(f"role.{user.role}")))
        st.text(t("sidebar.time_zone", zone=user.timezone))
        if user.role in (Role.editor, Role.admin):
            # The responsible editor's notice: their posts on channels without an API are
            # due and wait to be posted by hand (the text is ready on "Publishing").
            waiting = publishing.awaiting_manual_count(session, user=user)
            if waiting:
                st.warning(t("sidebar.manual_waiting", count=waiting))
        st.selectbox(
            t("sidebar.language"),
            options=list(LANGUAGES),
            format_func=LANGUAGES.__getitem__,
            key=keys.LANGUAGE,
        )
        if st.button(t("sidebar.sign_out"), key=keys.SIGN_OUT):
            st.session_state.pop(keys.USER_ID, None)
            st.rerun()


PAGES_BY_ROLE: dict[Role, list[str]] = {
    Role.contributor: ["submit_idea", "my_ideas", "activity"],
    Role.editor: [
        "calendar",
        "editor",
        "inbox",
        "board",
        "publishing",
        "submit_idea",
        "my_ideas",
        "activity",
    ],
    Role.approver: ["calendar", "approvals", "board", "submit_idea", "my_ideas", "activity"],
    Role.admin: [
        "calendar",
        "editor",
        "inbox",
        "board",
        "approvals",
        "publishing",
        "submit_idea",
        "my_ideas",
        "activity",
        "users",
        "departments",
        "channels",
        "settings",
    ],
}


PAGES_DIR = Path(__file__).resolve().parent / "pages"


def page_path(page: str) -> Path:
    """The script of a dashboard page (each page is its own file, as Streamlit routes them)."""
    return PAGES_DIR / f"{page}.py"


def run() -> None:
    """Draw the app for this run."""
    _this_run.language = _session_language()
    try:
        _run()
    finally:
        _this_run.language = None


def _run() -> None:
    st.set_page_config(page_title=t("app.title"), layout="wide")
    with Session(engine(), expire_on_commit=False) as session:
        user = current_user(session)
        if user is not None:
            _sidebar(session, user)
    if user is None:
        nav = st.navigation(
            [st.Page(_sign_in_page, title=t("nav.sign_in"), url_path="sign-in")],
            position="hidden",
        )
        nav.run()
        return
    nav = st.navigation(
        [
            st.Page(page_path(page), title=t(f"nav.{page}"), url_path=page, default=i == 0)
            for i, page in enumerate(PAGES_BY_ROLE[user.role])
        ]
    )
    nav.run()
