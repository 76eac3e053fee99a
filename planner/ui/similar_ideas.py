"""Ideas that look like the one in view, as the Submit idea and Inbox pages list them."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from planner.ideas import SimilarIdea
from planner.ui import state


def show(similar: Iterable[SimilarIdea]) -> None:
    """One plain-text line per similar idea: its id, title, department and state."""
    t = state.t
    for s in similar:
        st.text(
            t(
                "submit.similar_item",
                id=s.id,
                title=s.title,
                department=s.department,
                status=t(f"status.{s.status}"),
            )
        )
