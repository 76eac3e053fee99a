"""Who may draw a page: the signed-in user, if their role allows the page's action."""

from __future__ import annotations

from contextlib import AbstractContextManager

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


# The action each page for admins needs, by page (as the app names pages: texts "<page>.…").
ACTIONS = {
    "users": "manage_users",
    "departments": "manage_departments",
    "channels": "manage_channels",
    "audiences": "manage_audiences",
    "slots": "manage_channels",
    "settings": "change_settings",
    "process": "view_process",
    "rules": "manage_rules",
}


def page(name: str, done_key: str | None = None) -> AbstractContextManager[tuple[Session, User]]:
    """`state.page` for the page `name` (heading "<name>.heading") and a user whose role
    allows its action in ACTIONS; anyone else sees the refusal under the heading."""
    action = ACTIONS[name]
    return state.page(
        f"{name}.heading", done_key, reader=lambda session: permitted_user(session, action)
    )
