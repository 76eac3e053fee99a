"""'Settings' (admins): one input per organisation setting the planner knows, each with the
planner's own message next to a bad value."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from planner import org_settings
from planner.errors import ValidationFailed
from planner.ui import access, keys, moves, state
from planner.ui.i18n import LANGUAGES


def _setting_widget(name: str, value: str) -> None:
    """The input for one setting, as its kind asks, labelled and explained in the session's
    language."""
    t = state.t
    label, help_text = t(f"settings.label.{name}"), t(f"settings.help.{name}")
    key = keys.SETTINGS_FIELD + name
    kind = org_settings.setting_kind(name)
    if kind == "switch":
        st.checkbox(label, value=value == "on", help=help_text, key=key)
    elif kind == "language":
        languages = list(LANGUAGES)
        st.selectbox(
            label,
            options=languages,
            index=languages.index(value) if value in LANGUAGES else 0,
            format_func=LANGUAGES.__getitem__,
            help=help_text,
            key=key,
        )
    else:
        st.text_input(label, value=value, help=help_text, key=key)


def _wanted(name: str) -> str:
    """What the form holds for one setting, as the planner takes it."""
    value = st.session_state.get(keys.SETTINGS_FIELD + name)
    if isinstance(value, bool):
        return "on" if value else "off"
    return "" if value is None else str(value)


def render() -> None:
    """Draw the page."""
    t = state.t
    with access.page("settings", keys.SETTINGS_DONE) as (session, actor):
        current = org_settings.all_settings(session, actor=actor)
        slots: dict[str, DeltaGenerator] = {}
        with st.form(keys.SETTINGS_FORM):
            for name, value in current.items():
                _setting_widget(name, value)
                slots[name] = st.empty()
            saved = st.form_submit_button(t("settings.save"), key=keys.SETTINGS_SAVE)
        if not saved:
            return
        wanted = {name: _wanted(name) for name in current}
        changed = {k: v for k, v in wanted.items() if v.strip() != current[k]}
        failed = False
        for key, value in changed.items():
            try:
                org_settings.set_setting(session, actor=actor, key=key, value=value)
            except ValidationFailed as err:
                failed = True
                slots[key].error(moves.message(err.fields.get(key, str(err))))
        if failed:
            return
    st.session_state[keys.SETTINGS_DONE] = t("settings.saved" if changed else "settings.unchanged")
    st.rerun()


render()
