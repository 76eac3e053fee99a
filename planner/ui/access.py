"""Who may draw a page: the signed-in user, if their role allows the page's action."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlmodel import Session

from planner.errors import PermissionDenied
from planner.models import User
from planner.permissions import require
from planner.ui import moves, state


def permitted_user(session: Session, action: str) -> User | None:
    """The signed-in user if they may do `action`; else None, with the refusal shown."""
    actor = state.current_user(session)
    if actor is None:
        return None
    try:
        require(actor, action)
    except PermissionDenied as err:
        st.error("; ".join(moves.error_text(err)))
        return None
    return actor


@contextmanager
def permitted(action: str) -> Iterator[tuple[Session, User | None]]:
    """A database session for this run, and the signed-in user if they may do `action`
    (None if not, with the refusal shown)."""
    with Session(state.engine(), expire_on_commit=False) as session:
        yield session, permitted_user(session, action)
