"""'Departments' (admins): every department with its users and ideas; add and rename."""

from __future__ import annotations

import streamlit as st

from planner import users
from planner.errors import NotFound, ValidationFailed
from planner.ui import access, keys, moves, state, tables


def render() -> None:
    """Draw the page."""
    t = state.t
    with access.page("departments", keys.DEPARTMENTS_DONE) as (session, actor):
        overview = users.department_overview(session, actor=actor)
        tables.table(
            [
                {
                    t("departments.col.name"): c.department.name,
                    t("departments.col.users"): c.users,
                    t("departments.col.ideas"): c.ideas,
                }
                for c in overview
            ],
            empty=t("departments.empty"),
        )

        st.subheader(t("departments.add"))
        with st.form(keys.DEPARTMENTS_ADD_FORM):
            st.text_input(t("departments.name"), max_chars=80, key=keys.DEPARTMENTS_ADD_NAME)
            add_slot = st.empty()
            added = st.form_submit_button(t("departments.submit"), key=keys.DEPARTMENTS_ADD_SUBMIT)
        if added:
            try:
                dep = users.create_department(
                    session, actor=actor, name=st.session_state.get(keys.DEPARTMENTS_ADD_NAME, "")
                )
            except ValidationFailed as err:
                add_slot.error("; ".join(moves.field_messages(err).values()))
            else:
                state.rerun_with_notice(
                    keys.DEPARTMENTS_DONE,
                    t("departments.added", name=dep.name),
                    forget=[keys.DEPARTMENTS_ADD_NAME],
                )

        if not overview:
            return
        st.subheader(t("departments.rename_heading"))
        names = [c.department.name for c in overview]
        old = st.selectbox(t("departments.pick"), options=names, key=keys.DEPARTMENTS_PICK)
        st.text_input(t("departments.new_name"), max_chars=80, key=keys.DEPARTMENTS_NEW_NAME)
        rename_slot = st.container()
        if st.button(t("departments.rename"), key=keys.DEPARTMENTS_RENAME):
            try:
                dep = users.rename_department(
                    session,
                    actor=actor,
                    name=old,
                    new_name=st.session_state.get(keys.DEPARTMENTS_NEW_NAME, ""),
                )
            except (ValidationFailed, NotFound) as err:
                rename_slot.error(moves.error_line(err))
            else:
                state.rerun_with_notice(
                    keys.DEPARTMENTS_DONE,
                    t("departments.renamed", name=dep.name),
                    forget=(keys.DEPARTMENTS_NEW_NAME, keys.DEPARTMENTS_PICK),
                )


render()
