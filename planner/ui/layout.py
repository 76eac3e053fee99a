"""Layout the dashboard adds to Streamlit's: narrow columns whose words stay whole, and
whether the browser is a phone."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

# Streamlit lets text break anywhere in a word (`word-break: break-word`), which cuts
# German compounds in a narrow column ("Veröffentlic|hung"); inside these containers text
# wraps between words, and the browser hyphenates by the page's language where it can.
# Columns keep a minimum width and wrap onto the next line rather than squeeze a word.
_WHOLE_WORDS = (
    "<style>.st-key-{key}, .st-key-{key} * {{"
    "word-break: normal !important; overflow-wrap: normal !important; hyphens: auto;"
    "}} .st-key-{key} [data-testid='stColumn'] {{ min-width: {min_width}; }}</style>"
)


def whole_words(key: str, *, min_width: str) -> DeltaGenerator:
    """A container (keyed `key`) whose texts are never broken inside a word; its columns
    are at least `min_width` (CSS) wide and wrap onto a new line when the page is narrow."""
    st.html(_WHOLE_WORDS.format(key=key, min_width=min_width))
    return st.container(key=key)


def is_phone(user_agent: str) -> bool:
    """Whether a browser's User-Agent says it is a phone: phones' browsers put "Mobi" in it
    (Chrome and Firefox on Android, Safari on the iPhone); tablets and computers do not."""
    return "Mobi" in user_agent


def on_phone() -> bool:
    """Whether the browser of this session says it is a phone (`is_phone`)."""
    return is_phone(st.context.headers.get("User-Agent") or "")
