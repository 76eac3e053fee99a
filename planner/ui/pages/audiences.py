"""'Audiences' (admins): every target audience with the channels that reach it and the
departments that serve it; add, change and remove them."""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

from planner import audiences, channels, users
from planner.audiences import AudienceView
from planner.errors import NotFound, ValidationFailed
from planner.models import User
from planner.ui import access, keys, moves, state, tables


def _picker(label: str, options: list[str], key: str, chosen: list[str] | None = None) -> None:
    """A multiselect of `options`, starting with those of `chosen` still offered."""
    st.multiselect(
        label,
        options,
        default=None if chosen is None else [c for c in chosen if c in options],
        placeholder=state.t("widget.choose_options"),
        key=key,
    )


def _add(session: Session, actor: User, channel_names: list[str], departments: list[str]) -> None:
    t = state.t
    st.subheader(t("audiences.add"))
    with st.form(keys.AUDIENCES_ADD_FORM):
        st.text_input(t("audiences.name"), max_chars=80, key=keys.AUDIENCES_ADD_NAME)
        st.text_area(
            t("audiences.description"),
            max_chars=audiences.DESCRIPTION_MAX,
            key=keys.AUDIENCES_ADD_DESCRIPTION,
        )
        _picker(t("audiences.channels"), channel_names, keys.AUDIENCES_ADD_CHANNELS)
        _picker(t("audiences.departments"), departments, keys.AUDIENCES_ADD_DEPARTMENTS)
        slot = st.empty()
        added = st.form_submit_button(t("audiences.submit"), key=keys.AUDIENCES_ADD_SUBMIT)
    if not added:
        return
    try:
        made = audiences.create_audience(
            session,
            actor=actor,
            name=st.session_state.get(keys.AUDIENCES_ADD_NAME, ""),
            description=st.session_state.get(keys.AUDIENCES_ADD_DESCRIPTION, ""),
            channels=st.session_state.get(keys.AUDIENCES_ADD_CHANNELS, []),
            departments=st.session_state.get(keys.AUDIENCES_ADD_DEPARTMENTS, []),
        )
    except ValidationFailed as err:
        slot.error("; ".join(moves.field_messages(err).values()))
        return
    state.rerun_with_notice(
        keys.AUDIENCES_DONE,
        t("audiences.added", name=made.name),
        forget=(
            keys.AUDIENCES_ADD_NAME,
            keys.AUDIENCES_ADD_DESCRIPTION,
            keys.AUDIENCES_ADD_CHANNELS,
            keys.AUDIENCES_ADD_DEPARTMENTS,
        ),
    )


def _edit(
    session: Session,
    actor: User,
    found: list[AudienceView],
    channel_names: list[str],
    departments: list[str],
) -> None:
    t = state.t
    st.subheader(t("audiences.edit_heading"))
    by_id = {v.audience.id: v for v in found}
    picked = st.selectbox(
        t("audiences.pick"),
        options=list(by_id),
        format_func=lambda i: by_id[i].audience.name,
        key=keys.AUDIENCES_PICK,
    )
    view = by_id.get(picked)
    if view is None:
        return
    suffix = str(view.audience.id)
    shown_key = keys.AUDIENCES_EDIT_SHOWN + suffix
    if (
        keys.AUDIENCES_EDIT_NAME + suffix not in st.session_state
        or shown_key not in st.session_state
    ):
        # What the form is filled with, to send only what the admin changes: a change
        # another admin stored meanwhile is not written back by a form drawn before it.
        st.session_state[shown_key] = {
            "new_name": view.audience.name,
            "description": view.audience.description,
            "channels": sorted(view.channels),
            "departments": sorted(view.departments),
        }
    st.text_input(
        t("audiences.name"),
        value=view.audience.name,
        max_chars=80,
        key=keys.AUDIENCES_EDIT_NAME + suffix,
    )
    st.text_area(
        t("audiences.description"),
        value=view.audience.description,
        max_chars=audiences.DESCRIPTION_MAX,
        key=keys.AUDIENCES_EDIT_DESCRIPTION + suffix,
    )
    _picker(
        t("audiences.channels"), channel_names, keys.AUDIENCES_EDIT_CHANNELS + suffix, view.channels
    )
    _picker(
        t("audiences.departments"),
        departments,
        keys.AUDIENCES_EDIT_DEPARTMENTS + suffix,
        view.departments,
    )
    slot = st.container()
    if st.button(t("audiences.save"), key=keys.AUDIENCES_SAVE, type="primary"):
        try:
            shown = st.session_state.get(shown_key, {})
            typed = {
                "new_name": st.session_state.get(keys.AUDIENCES_EDIT_NAME + suffix),
                "description": st.session_state.get(keys.AUDIENCES_EDIT_DESCRIPTION + suffix),
                "channels": st.session_state.get(keys.AUDIENCES_EDIT_CHANNELS + suffix, []),
                "departments": st.session_state.get(keys.AUDIENCES_EDIT_DEPARTMENTS + suffix, []),
            }
            changed = audiences.update_audience(
                session,
                actor=actor,
                name=view.audience.name,
                **{
                    field: value
                    for field, value in typed.items()
                    if field not in shown
                    or (sorted(value) if isinstance(value, list) else value) != shown[field]
                },
            )
        except (ValidationFailed, NotFound) as err:
            slot.error(moves.error_line(err))
        else:
            # The form is filled anew from what is stored now.
            state.rerun_with_notice(
                keys.AUDIENCES_DONE, t("audiences.saved", name=changed.name), forget=[shown_key]
            )
    # One confirmation per audience: a tick given for one is not taken for the next picked.
    confirm = keys.AUDIENCES_REMOVE_CONFIRM + suffix
    st.checkbox(t("audiences.remove_confirm", name=view.audience.name), key=confirm)
    if st.button(t("audiences.remove"), key=keys.AUDIENCES_REMOVE):
        if not st.session_state.get(confirm):
            slot.error(t("audiences.remove_unconfirmed"))
            return
        try:
            taken = audiences.remove_audience(session, actor=actor, name=view.audience.name)
        except NotFound as err:
            slot.error("; ".join(moves.error_text(err)))
            return
        state.rerun_with_notice(
            keys.AUDIENCES_DONE,
            t("audiences.removed", name=view.audience.name, count=taken),
            forget=(keys.AUDIENCES_PICK, confirm),
        )


def render() -> None:
    """Draw the page."""
    t = state.t
    with access.page("audiences", keys.AUDIENCES_DONE) as (session, actor):
        found = audiences.list_audiences(session, actor=actor)
        tables.table(
            [
                {
                    t("audiences.col.name"): v.audience.name,
                    t("audiences.col.description"): v.audience.description,
                    t("audiences.col.channels"): ", ".join(v.channels),
                    t("audiences.col.departments"): ", ".join(v.departments),
                }
                for v in found
            ],
            empty=t("audiences.empty"),
        )
        channel_names = [c.name for c in channels.list_channels(session, actor=actor)]
        departments = [d.name for d in users.list_departments(session, actor=actor)]
        _add(session, actor, channel_names, departments)
        if found:
            _edit(session, actor, found, channel_names, departments)


render()
