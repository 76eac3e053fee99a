"""Streamlit widgets as the dashboard draws them: choices shown by their labels, and
downloads whose file is made only when they are clicked, as the user who clicks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st
from sqlmodel import Session
from streamlit.delta_generator import DeltaGenerator

from planner.models import User
from planner.ui import state

K = TypeVar("K")
# The type a download is sent as, by its file name's ending.
_MIME = {"csv": "text/csv", "html": "text/html", "ics": "text/calendar"}


@contextmanager
def lazy_expander(label: str, *, key: str, open_now: bool = False) -> Iterator[bool]:
    """An expander whose content the caller draws only while it is open (yielded): opening
    or closing it runs the page again, so a closed one costs neither the server nor the
    browser anything. `open_now` opens it, e.g. to show what its form just did."""
    if open_now:
        st.session_state[key] = True
    box = st.expander(label, key=key, on_change="rerun")
    with box:
        yield bool(box.open)


def keep_values(*names: str) -> None:
    """Keep what was typed or chosen in the widgets `names` while the tab or expander that
    holds them is closed: Streamlit forgets the value of a widget it does not draw. Call
    it before any of them is drawn, and only for widgets drawn without a default of their
    own (a text input without `value`, a select box at `index` 0, a number input whose
    default is put in the session state before it is drawn): Streamlit warns of a widget
    with both. A choice no longer among a select box's options falls back to the first."""
    for name in names:
        if name in st.session_state:
            st.session_state[name] = st.session_state[name]


def labelled_choice(
    label: str,
    labels: Mapping[K, str],
    *,
    key: str,
    index: int = 0,
    where: DeltaGenerator | None = None,
) -> K:
    """A select box over the keys of `labels`, each shown as its label, the one at `index`
    chosen first; drawn in `where` (a column, a container) or else on the page."""
    select = st.selectbox if where is None else where.selectbox
    return select(label, options=list(labels), index=index, format_func=labels.__getitem__, key=key)


def download(
    label: str,
    make: Callable[[Session, User], str | bytes],
    *,
    user: User,
    file_name: str,
    key: str,
    disabled: bool = False,
    where: DeltaGenerator | None = None,
) -> None:
    """A download button whose file `make` makes only when it is clicked (a click does not
    run the page again): in a session of its own, as `user` read again then, so an account
    disabled since gets an empty file. Its type follows from the ending of `file_name`.
    Drawn in `where` or else on the page."""
    assert user.id is not None
    engine, user_id = state.engine(), user.id

    def made() -> str | bytes:
        with Session(engine) as session:
            current = session.get(User, user_id)
            if current is None or current.disabled:
                return ""
            return make(session, current)

    button = st.download_button if where is None else where.download_button
    button(
        label,
        data=made,
        file_name=file_name,
        mime=_MIME[file_name.rsplit(".", 1)[1]],
        on_click="ignore",
        disabled=disabled,
        key=key,
    )
