"""'Settings' (admins): one input per organisation setting the planner knows, each with the
planner's own message next to a bad value."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from planner import org_settings
from planner.errors import ValidationFailed
from planner.ui import access, keys, moves, state
from planner.ui.i18n import LANGUAGES


def _shown(name: str, value: str) -> str | bool:
    """A stored value as its input holds it."""
    return value == "on" if org_settings.setting_kind(name) == "switch" else value


def _setting_widget(name: str) -> None:
    """The input for one setting, as its kind asks, labelled and explained in the session's
    language; its value is in the session state (`_fill`)."""
    t = state.t
    label, help_text = t(f"settings.label.{name}"), t(f"settings.help.{name}")
    key = keys.SETTINGS_FIELD + name
    kind = org_settings.setting_kind(name)
    if kind == "switch":
        st.checkbox(label, help=help_text, key=key)
    elif kind == "language":
        st.selectbox(
            label,
            options=list(LANGUAGES),
            format_func=LANGUAGES.__getitem__,
            help=help_text,
            key=key,
        )
    else:
        st.text_input(label, help=help_text, key=key)


def _fill(current: dict[str, str]) -> None:
    """Fill the inputs with the stored values where they are new or where the stored value
    changed since they were filled (another admin, the Publishing page's freeze switch, the
    command line): a save then writes only what this admin changed, never a value that
    was stored before someone else's change. Not while the form is being sent: its inputs
    hold what was typed."""
    if st.session_state.get(keys.SETTINGS_SAVE):
        return
    shown = st.session_state.get(keys.SETTINGS_SHOWN) or {}
    for name, value in current.items():
        key = keys.SETTINGS_FIELD + name
        if key not in st.session_state or shown.get(name) != value:
            if org_settings.setting_kind(name) == "language" and value not in LANGUAGES:
                value = next(iter(LANGUAGES))
            st.session_state[key] = _shown(name, value)
    st.session_state[keys.SETTINGS_SHOWN] = dict(current)


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
        _fill(current)
        slots: dict[str, DeltaGenerator] = {}
        with st.form(keys.SETTINGS_FORM):
            for name in current:
                _setting_widget(name)
                slots[name] = st.empty()
            saved = st.form_submit_button(t("settings.save"), key=keys.SETTINGS_SAVE)
        if not saved:
            return
        # What this admin changed: against what the inputs were filled with, so that a
        # value someone else stored meanwhile is not written back.
        shown = st.session_state.get(keys.SETTINGS_SHOWN) or current
        wanted = {name: _wanted(name) for name in current}
        changed = {
            k: v
            for k, v in wanted.items()
            if v.strip() != shown.get(k, current[k]) and v.strip() != current[k]
        }
        failed, stored = False, []
        for key, value in changed.items():
            try:
                org_settings.set_setting(session, actor=actor, key=key, value=value)
                stored.append(t(f"settings.label.{key}"))
            except ValidationFailed as err:
                failed = True
                slots[key].error(moves.message(err.fields.get(key, str(err))))
        if failed:
            if stored:
                st.success(t("settings.saved_some", names=", ".join(stored)))
            return
    st.session_state[keys.SETTINGS_DONE] = t("settings.saved" if changed else "settings.unchanged")
    st.rerun()


render()
