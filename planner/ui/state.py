"""What every dashboard page reads of the run in progress: the database, the signed-in
user, and the session's language with the texts, dates and notices written in it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import NoReturn

import streamlit as st
from sqlalchemy import Engine
from sqlmodel import Session

from planner.config import load_settings
from planner.db import get_engine
from planner.migrate import prepare
from planner.models import User
from planner.timezones import to_local
from planner.ui import keys
from planner.ui.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate


@st.cache_resource
def _engine(url: str) -> Engine:
    """One engine per server process and database, migrated once at start."""
    engine = get_engine(url)
    prepare(engine)
    return engine


def engine() -> Engine:
    """The dashboard's database engine (PLANNER_DATABASE_URL, read on every run)."""
    return _engine(load_settings().database_url)


# The language of the run in progress, resolved once at its start by `language_of_run()`. A
# page translates hundreds of labels in one run, and each session-state read costs about
# 20 µs (it goes through the widget registry, as the sidebar's selectbox owns the key). Every
# run gets a thread of its own and cannot change its language half-way: a change reruns.
_this_run = threading.local()


def _session_language() -> str:
    value = st.session_state.get(keys.LANGUAGE, DEFAULT_LANGUAGE)
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


@contextmanager
def language_of_run() -> Iterator[None]:
    """Fix the session's language for the run drawn inside this block."""
    _this_run.language = _session_language()
    try:
        yield
    finally:
        _this_run.language = None


def lang() -> str:
    """The language chosen for this browser session."""
    value: str | None = getattr(_this_run, "language", None)
    return value if value is not None else _session_language()


def t(key: str, **values: object) -> str:
    """A dashboard text in the session's language."""
    return translate(lang(), key, **values)


def t_count(key: str, count: int, **values: object) -> str:
    """The text `key` for `count` things: its `<key>_one` form for a single one ("1 Post",
    not "1 Posts"), where the catalogue has one."""
    one = f"{key}_one"
    if count == 1 and t(one) != one:
        key = one
    return t(key, count=count, **values)


def t_or(key: str, fallback: str) -> str:
    """The text for `key` in the session's language, or `fallback` where there is none (a
    stored code the catalogue does not name, like an action a newer version recorded)."""
    text = t(key)
    return fallback if text == key else text


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


@contextmanager
def signed_in() -> Iterator[tuple[Session, User | None]]:
    """A database session for this run, and the signed-in user read in it (None if nobody)."""
    with Session(engine(), expire_on_commit=False) as session:
        yield session, current_user(session)


@contextmanager
def page(
    text_key: str,
    done_key: str | None = None,
    *,
    reader: Callable[[Session], User | None] = current_user,
) -> Iterator[tuple[Session, User]]:
    """A page's heading, then a database session for this run and the user `reader` finds
    in it; without one the run stops after the heading, as Streamlit gates a page."""
    heading(text_key, done_key)
    with Session(engine(), expire_on_commit=False) as session:
        user = reader(session)
        if user is None:
            st.stop()
        yield session, user


def heading(text_key: str, done_key: str | None = None) -> None:
    """A page's title, and under it the notice a previous run left under `done_key`."""
    st.title(t(text_key))
    if done_key is not None:
        show_done(done_key)


def show_done(key: str) -> None:
    """Show, once, the message that a previous run left under `key` for this one."""
    done = st.session_state.pop(key, None)
    if done:
        st.success(done)


def rerun_with_notice(done_key: str, message: str, *, forget: Iterable[str] = ()) -> NoReturn:
    """Drop the session values under `forget`, leave `message` under `done_key` for the
    next run's `show_done`, and rerun the page."""
    for key in forget:
        st.session_state.pop(key, None)
    st.session_state[done_key] = message
    st.rerun()
