"""'Settings' (admins): time zone, default language, lateness bound, crisis freeze, and
whether channels may reach private networks."""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

from planner import org_settings
from planner.errors import ValidationFailed
from planner.ui import access, keys, moves, state
from planner.ui.i18n import LANGUAGES


def render() -> None:
    """Draw the page."""
    t = state.t
    st.title(t("settings.heading"))
    state.show_done(keys.SETTINGS_DONE)
    with Session(state.engine(), expire_on_commit=False) as session:
        actor = access.permitted_user(session, "change_settings")
        if actor is None:
            return
        current = org_settings.all_settings(session, actor=actor)
        slots = {}
        with st.form(keys.SETTINGS_FORM):
            st.text_input(
                t("settings.timezone"), value=current["org_timezone"], key=keys.SETTINGS_TIMEZONE
            )
            slots["org_timezone"] = st.empty()
            languages = list(LANGUAGES)
            st.selectbox(
                t("settings.language"),
                options=languages,
                index=languages.index(current["default_language"]),
                format_func=LANGUAGES.__getitem__,
                key=keys.SETTINGS_LANGUAGE,
            )
            slots["default_language"] = st.empty()
            st.text_input(
                t("settings.lateness"),
                value=current["max_lateness_hours"],
                key=keys.SETTINGS_LATENESS,
            )
            slots["max_lateness_hours"] = st.empty()
            st.checkbox(
                t("settings.freeze"),
                value=current["publishing_frozen"] == "on",
                key=keys.SETTINGS_FREEZE,
            )
            slots["publishing_frozen"] = st.empty()
            st.checkbox(
                t("settings.private_network"),
                value=current["allow_private_network"] == "on",
                help=t("settings.private_network_help"),
                key=keys.SETTINGS_PRIVATE_NETWORK,
            )
            slots["allow_private_network"] = st.empty()
            saved = st.form_submit_button(t("settings.save"), key=keys.SETTINGS_SAVE)
        if not saved:
            return
        wanted = {
            "org_timezone": st.session_state.get(keys.SETTINGS_TIMEZONE, ""),
            "default_language": st.session_state.get(keys.SETTINGS_LANGUAGE, ""),
            "max_lateness_hours": st.session_state.get(keys.SETTINGS_LATENESS, ""),
            "publishing_frozen": "on" if st.session_state.get(keys.SETTINGS_FREEZE) else "off",
            "allow_private_network": (
                "on" if st.session_state.get(keys.SETTINGS_PRIVATE_NETWORK) else "off"
            ),
        }
        changed = {k: v for k, v in wanted.items() if str(v).strip() != current[k]}
        failed = False
        for key, value in changed.items():
            try:
                org_settings.set_setting(session, actor=actor, key=key, value=value)
            except ValidationFailed as err:
                failed = True
                # Our own words in the user's language; the planner's detail as a caption.
                slots[key].error(
                    t(f"settings.bad.{key}", value=repr(value))
                    + f" ({moves.message(err.fields.get(key, str(err)))})"
                )
        if failed:
            return
    st.session_state[keys.SETTINGS_DONE] = t("settings.saved" if changed else "settings.unchanged")
    st.rerun()


render()
