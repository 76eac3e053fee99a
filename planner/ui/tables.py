"""Tables on the dashboard's pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from planner.ui import widgets


def table(rows: Sequence[Mapping[str, object]], *, empty: str) -> None:
    """`rows` as a table without its index, or the text `empty` where there are none."""
    if not rows:
        st.info(empty)
    else:
        st.dataframe(rows, hide_index=True)


def pickable(
    rows: Sequence[Mapping[str, object]], ids: Sequence[int], *, key: str, picker: str
) -> None:
    """`rows` as a table in which clicking a row opens its item (`ids`, row by row) in the
    picker `picker`, which the page draws after the table."""
    event = st.dataframe(
        rows, hide_index=True, on_select="rerun", selection_mode="single-row", key=key
    )
    clicked = event.selection.rows if event is not None else []
    chosen = ids[clicked[0]] if clicked and clicked[0] < len(ids) else None
    applied = f"{key}_applied"
    # Only a new click opens its row: a row left selected must not undo a later pick.
    if chosen is not None and st.session_state.get(applied) != chosen:
        st.session_state[picker] = chosen
    st.session_state[applied] = chosen


def picker(label: str, labels: Mapping[int, str], *, key: str) -> int | None:
    """The select box a pickable table opens its rows in: the ids of `labels`, each shown
    as its label."""
    return widgets.labelled_choice(label, labels, key=key)
