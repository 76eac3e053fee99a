"""Paging long lists: which page to show, and the number field that picks it."""

from __future__ import annotations

import math

import streamlit as st

from planner.ui import state


def page_number(
    items: int, page_size: int, *, key: str, label: str, always: bool = False, **values: object
) -> int:
    """The page of `items` items to show; a number field (text `label`, given `pages` and
    `values`) when there is more than one page, or `always`. A page number left over from
    a longer list is brought back into range."""
    pages = max(1, math.ceil(items / page_size))
    if st.session_state.get(key, 1) > pages:
        st.session_state[key] = pages
    if pages == 1 and not always:
        return 1
    return int(
        st.number_input(
            state.t(label, pages=pages, **values), min_value=1, max_value=pages, step=1, key=key
        )
    )
