"""A piece's comments as the Editor, Approvals and Board show them: who, when, on which
version, and the text exactly as typed."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st
from sqlmodel import Session

from planner import editing
from planner.models import Comment, User
from planner.ui import state


def show_comments(session: Session, user: User, comments: Sequence[Comment]) -> None:
    """Each comment under its author, time and revision (plain text, never markdown)."""
    t = state.t
    if not comments:
        st.caption(t("editor.no_comments"))
        return
    names = editing.display_names(session, actor=user, user_ids={c.author_id for c in comments})
    for c in comments:
        st.text(
            t(
                "editor.comment_by",
                name=names.get(c.author_id, ""),
                when=state.when(c.created_at, user.timezone),
                revision=c.revision,
            )
        )
        st.text(c.body)
