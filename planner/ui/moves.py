"""Workflow moves in the dashboard: their labels, and domain errors in the user's language."""

from __future__ import annotations

import streamlit as st

from planner.errors import (
    EditConflict,
    FourEyesViolation,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    PlannerError,
    TimeInputError,
    ValidationFailed,
)
from planner.ui import app
from planner.ui.i18n import render_message


def label(kind: str, action: str) -> str:
    """The button text for one move of an idea or a piece."""
    return app.t(f"moves.{kind}.{action}")


def message(text: str) -> str:
    """A domain message (a field's message, a time input's) in the session's language."""
    return render_message(app.lang(), text)


def field_messages(err: ValidationFailed) -> dict[str, str]:
    """The field messages of `err` in the session's language, by field name."""
    return {name: message(text) for name, text in err.fields.items()}


def refused(key: str) -> dict[str, list[str]]:
    """The messages of refused moves a page keeps under `key`, by the spot that shows them."""
    errors: dict[str, list[str]] = st.session_state.setdefault(key, {})
    return errors


def show_refused(key: str, where: str) -> None:
    """Show, once, the messages of refused moves kept under `key` for the spot `where`."""
    for text in refused(key).pop(where, []):
        st.error(text)


def error_text(err: PlannerError) -> list[str]:
    """What to tell the user about a refused move, one message per problem."""
    t = app.t
    if isinstance(err, FourEyesViolation):
        return [t("moves.four_eyes")]
    if isinstance(err, PermissionDenied):
        return [t("moves.denied")]
    if isinstance(err, IllegalTransition):
        allowed = ", ".join(label(err.kind, a) for a in err.allowed) or t("moves.none")
        return [
            t(
                "moves.illegal",
                what=t(f"moves.kind.{err.kind}"),
                action=label(err.kind, err.action),
                state=t(f"status.{err.state}"),
                allowed=allowed,
            )
        ]
    if isinstance(err, EditConflict):
        return [t("moves.conflict", expected=err.expected, current=err.current)]
    if isinstance(err, NotFound):
        return [t("moves.not_found", what=t(f"moves.kind.{err.kind}"), name=err.key)]
    if isinstance(err, ValidationFailed):
        messages = []
        for name, problem in err.fields.items():
            known = f"moves.field.{name}"
            text = t(known)
            messages.append(text if text != known else f"{t('field.' + name)}: {message(problem)}")
        return messages
    if isinstance(err, TimeInputError):
        return [message(err.message)]
    return [str(err)]
