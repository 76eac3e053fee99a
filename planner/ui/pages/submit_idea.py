"""'Submit idea': a form with field-level messages and duplicate suggestions as one types."""

from __future__ import annotations

import streamlit as st

from planner import audiences, ideas, users
from planner.errors import PermissionDenied, ValidationFailed
from planner.models import Department, Role, Urgency
from planner.ui import form_tokens, keys, moves, similar_ideas, state

_FIELDS = {
    "title": keys.SUBMIT_TITLE,
    "pitch": keys.SUBMIT_PITCH,
    "department": keys.SUBMIT_DEPARTMENT,
    "target_audience": keys.SUBMIT_AUDIENCE,
    "goal": keys.SUBMIT_GOAL,
    "source_url": keys.SUBMIT_URL,
    "urgency": keys.SUBMIT_URGENCY,
    "tags": keys.SUBMIT_TAGS,
}
# The fields emptied once the idea is stored (department and urgency stay as chosen).
_CLEARED = {
    key: ""
    for key in (
        keys.SUBMIT_TITLE,
        keys.SUBMIT_PITCH,
        keys.SUBMIT_AUDIENCE,
        keys.SUBMIT_GOAL,
        keys.SUBMIT_URL,
        keys.SUBMIT_TAGS,
    )
}
_FORM = "submit_idea"


def _typed() -> dict[str, object]:
    return {name: st.session_state.get(key) for name, key in _FIELDS.items()}


def _current_errors() -> dict[str, str]:
    """The errors of the last send, less those of fields changed since (fixed, or tried)."""
    errors: dict[str, str] = st.session_state.get(keys.SUBMIT_ERRORS, {})
    seen: dict[str, object] = st.session_state.get(keys.SUBMIT_ERROR_VALUES, {})
    kept = {
        name: message
        for name, message in errors.items()
        if name not in _FIELDS or st.session_state.get(_FIELDS[name]) == seen.get(name)
    }
    if kept != errors:
        st.session_state[keys.SUBMIT_ERRORS] = kept
    return kept


def _field_error(errors: dict[str, str], name: str) -> None:
    if name in errors:
        st.error(f"{state.t('field.' + name)}: {moves.message(errors[name])}")


def render() -> None:
    """Draw the page."""
    t = state.t
    state.heading("submit.heading")
    again = form_tokens.before_drawing(_FORM, _CLEARED, button=keys.SUBMIT_BUTTON, values=_typed())
    if again:
        st.success(again)
    else:
        state.show_done(keys.SUBMIT_DONE)
    errors = _current_errors()
    if errors:
        st.error(t("submit.invalid"))
        for name, message in errors.items():
            if name not in _FIELDS:
                st.error(moves.message(message))
    with state.signed_in() as (session, user):
        if user is None:
            return
        departments = [d.name for d in users.list_departments(session, actor=user)]
        own = session.get(Department, user.department_id) if user.department_id else None
        st.text_input(t("submit.title"), key=keys.SUBMIT_TITLE, max_chars=200)
        _field_error(errors, "title")
        st.text_area(t("submit.pitch"), key=keys.SUBMIT_PITCH, max_chars=5000)
        _field_error(errors, "pitch")
        if user.role == Role.contributor and own is not None:
            st.text_input(
                t("submit.department"), value=own.name, disabled=True, key=keys.SUBMIT_DEPARTMENT
            )
        else:
            st.selectbox(t("submit.department"), options=departments, key=keys.SUBMIT_DEPARTMENT)
        _field_error(errors, "department")
        defined = list(audiences.audience_names(session, actor=user).values())
        if defined:  # the defined audiences to choose from, or none
            st.selectbox(
                t("submit.audience"),
                options=["", *sorted(defined, key=str.lower)],
                format_func=lambda name: name or t("submit.no_audience"),
                key=keys.SUBMIT_AUDIENCE,
            )
        else:
            st.text_input(t("submit.audience"), key=keys.SUBMIT_AUDIENCE, max_chars=200)
        st.text_input(t("submit.goal"), key=keys.SUBMIT_GOAL, max_chars=500)
        st.text_input(t("submit.url"), key=keys.SUBMIT_URL)
        _field_error(errors, "source_url")
        st.selectbox(
            t("submit.urgency"),
            options=[u.value for u in Urgency],
            index=1,
            format_func=lambda v: t(f"urgency.{v}"),
            key=keys.SUBMIT_URGENCY,
        )
        st.text_input(t("submit.tags"), key=keys.SUBMIT_TAGS)
        _field_error(errors, "tags")
        title = st.session_state.get(keys.SUBMIT_TITLE, "")
        similar = (
            ideas.find_similar_ideas(
                session, actor=user, title=title, pitch=st.session_state.get(keys.SUBMIT_PITCH, "")
            )
            if len(title.strip()) >= 3
            else []
        )
        if similar:
            st.warning(t("submit.similar"))
            similar_ideas.show(similar)
        if not st.button(t("submit.button"), key=keys.SUBMIT_BUTTON, type="primary"):
            return
        sent = _typed()
        data = dict(sent)
        if not data.get("source_url"):
            data.pop("source_url")
        try:
            done = form_tokens.send(
                _FORM,
                sent,
                lambda token: ideas.submit_idea(session, actor=user, data=data, token=token),
                done=lambda result: t("submit.done", id=result.idea.id),
            )
        except ValidationFailed as err:
            st.session_state[keys.SUBMIT_ERRORS] = err.fields
            st.session_state[keys.SUBMIT_ERROR_VALUES] = sent
            st.rerun()
            return
        except PermissionDenied as err:
            st.error("; ".join(moves.error_text(err)))
            return
    st.session_state[keys.SUBMIT_ERRORS] = {}
    st.session_state[keys.SUBMIT_DONE] = done
    st.rerun()


render()
