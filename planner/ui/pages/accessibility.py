"""'Accessibility statement' (Erklärung zur Barrierefreiheit): what the dashboard meets of
WCAG 2.1 AA / BITV 2.0, what Streamlit still limits, and whom to tell about a barrier.

Open to everyone, signed in or not; it reads no data, only the configured contact
(PLANNER_ACCESSIBILITY_CONTACT; without one, the planner's administrators).
"""

from __future__ import annotations

import streamlit as st

from planner.config import load_settings
from planner.ui import state
from planner.ui.plain import md

MET = ("tested", "language", "contrast", "diffs", "charts")
LIMITS = (
    "tables",
    "charts",
    "streamlit_texts",
    "language_start",
    "dark_theme",
    "calendar",
    "exclusions",
)


def contact() -> str:
    """Whom the statement names for reporting a barrier, in the session's language."""
    configured = load_settings().accessibility_contact
    return configured if configured else state.t("accessibility.contact_admins")


def _list(prefix: str, items: tuple[str, ...]) -> None:
    """A real list (<ul>), which screen readers announce with its length."""
    st.markdown("\n".join(f"- {md(state.t(f'{prefix}.{item}'))}" for item in items))


def render() -> None:
    """Draw the page."""
    t = state.t
    state.heading("accessibility.heading")
    # Markdown for paragraphs and lists, every text escaped: the configured contact and
    # the catalogue's texts are shown exactly as written.
    st.markdown(md(t("accessibility.intro")))
    st.subheader(t("accessibility.status_heading"))
    st.markdown(md(t("accessibility.status")))
    st.subheader(t("accessibility.met_heading"))
    _list("accessibility.met", MET)
    st.subheader(t("accessibility.limits_heading"))
    _list("accessibility.limit", LIMITS)
    st.subheader(t("accessibility.report_heading"))
    st.markdown(md(t("accessibility.report", contact=contact())))
    st.subheader(t("accessibility.enforcement_heading"))
    st.markdown(md(t("accessibility.enforcement")))


render()
