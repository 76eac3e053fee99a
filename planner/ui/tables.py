"""Tables on the dashboard's pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st


def table(rows: Sequence[Mapping[str, object]], *, empty: str) -> None:
    """`rows` as a table without its index, or the text `empty` where there are none."""
    if not rows:
        st.info(empty)
    else:
        st.dataframe(rows, hide_index=True)
