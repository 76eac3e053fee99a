"""The audience filter that Calendar and Board share: all audiences, or one of them."""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

from planner import audiences
from planner.models import User
from planner.ui import keys, state


def pick(session: Session, user: User, page: str) -> int | None:
    """The audience chosen on `page` (None: all); drawn only once audiences exist."""
    names = audiences.audience_names(session, actor=user)
    if not names:
        return None
    labels: dict[int | None, str] = {None: state.t("audiences.all")}
    labels.update(sorted(names.items(), key=lambda item: item[1].lower()))
    chosen: int | None = st.selectbox(
        state.t("audiences.filter"),
        options=list(labels),
        format_func=labels.__getitem__,
        key=keys.AUDIENCE_FILTER + page,
    )
    return chosen
