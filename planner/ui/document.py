"""The page every dashboard screen is drawn in: its language and the styles that make
Streamlit's defaults accessible (WCAG 2.1 AA), applied once per run by the app.

Streamlit serves `<html lang="en">` whatever the interface speaks, so a screen reader
would read German text with English rules; a small script sets the user's language. The
styles raise captions to at least 4.5:1 contrast, give every link, button and tab a focus
ring of at least 3:1 in the light and the dark theme, and keep diffs readable: their lines
wrap (no region only a mouse can scroll) and changed lines keep the text's own colour on a
tinted background (Streamlit's green and red text is 2.2:1). On a phone, choosing a page
closes the sidebar, as it does in Streamlit only for browsers that say they are phones.
"""

from __future__ import annotations

import json

import streamlit as st

# The element that carries the styles and the script; its own container is hidden, so it
# takes no room on the page.
MARKER = "planner-document"
FOCUS_COLOUR = "#1f6feb"  # 4.6:1 on white, 4.1:1 on Streamlit's dark background

STYLES = f"""
[data-testid="stElementContainer"]:has(#{MARKER}) {{ display: none; }}
[data-testid="stCaptionContainer"] {{ color: inherit; opacity: 0.8; }}
a:focus-visible,
button:focus-visible,
summary:focus-visible,
[role="tab"]:focus-visible {{
  outline: 2px solid {FOCUS_COLOUR} !important;
  outline-offset: 2px;
}}
[data-testid="stCode"] pre code {{ overflow-wrap: anywhere; }}
[data-testid="stCode"] :is(.token.inserted, .token.deleted, .token.inserted *, .token.deleted *) {{
  color: inherit !important;
}}
[data-testid="stCode"] .token.inserted {{ background-color: rgba(33, 195, 84, 0.14); }}
[data-testid="stCode"] .token.deleted {{ background-color: rgba(255, 43, 43, 0.12); }}
"""


# Streamlit closes the sidebar after a page is chosen only where the browser calls itself a
# phone; on any narrow screen it would stay over the page just chosen. Below Streamlit's
# own breakpoint for narrow screens (768 px), a choice in the navigation closes it. One
# listener per browser tab: the page stays loaded from run to run.
CLOSE_SIDEBAR = """
if (!window.plannerClosesSidebar) {
  window.plannerClosesSidebar = true;
  document.addEventListener("click", (event) => {
    const chosen = event.target.closest('[data-testid="stSidebarNav"] a');
    if (!chosen || !window.matchMedia("(max-width: 767.98px)").matches) return;
    const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (close) setTimeout(() => close.click(), 0);
  }, true);
}
"""


def prepare(lang: str) -> None:
    """Give this run's page the document language `lang`, the dashboard's styles, and a
    sidebar that closes after a page is chosen on a narrow screen."""
    script = f"document.documentElement.lang = {json.dumps(lang)};{CLOSE_SIDEBAR}"
    st.html(
        f'<div id="{MARKER}"></div><style>{STYLES}</style><script>{script}</script>',
        unsafe_allow_javascript=True,
    )
