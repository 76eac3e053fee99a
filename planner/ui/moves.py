"""Workflow moves in the dashboard: their labels, and domain errors in the user's language."""

from __future__ import annotations

import enum
from collections.abc import Callable

import streamlit as st
from sqlmodel import Session

from planner import pieces, workflow
from planner.errors import (
    AlreadySent,
    EditConflict,
    FourEyesViolation,
    IllegalTransition,
    Message,
    NotFound,
    PermissionDenied,
    PlannerError,
    TimeInputError,
    ValidationFailed,
)
from planner.models import Piece, Role, User
from planner.ui import form_tokens, state
from planner.ui.i18n import render_message

# Moves that come with saving a piece in the editor, never a button of their own.
_WITH_SAVING = frozenset({("piece", "edit")})


def label(kind: str, action: str) -> str:
    """The button text for one move of an idea, a piece or a post."""
    return state.t(f"moves.{kind}.{action}")


def offered(kind: str, state: enum.StrEnum, role: Role) -> list[str]:
    """The moves a page offers as buttons: those the workflow table allows `role` from
    `state`, in table order."""
    return [
        action
        for action in workflow.allowed_actions(kind, state, role)
        if (kind, action) not in _WITH_SAVING
    ]


def message(text: str) -> str:
    """A domain message (a field's message, a time input's) in the session's language."""
    if isinstance(text, Message) and text.code == "illegal_move":
        p = text.params
        return _illegal(
            IllegalTransition(p["kind"], p["obj_id"], p["state"], p["action"], p["allowed"])
        )
    return render_message(state.lang(), text)


def attempt(move: Callable[[Session, User], object], refused: Callable[[list[str]], None]) -> bool:
    """Button callback: make `move` as the signed-in user; whether it was made.

    A refused move hands what to tell the user (`error_text`) to `refused`; with nobody
    signed in, nothing happens.
    """
    with state.signed_in() as (session, user):
        if user is None:
            return False
        try:
            move(session, user)
        except PlannerError as err:
            refused(error_text(err))
            return False
    return True


def send_back(
    session: Session, *, user: User, piece_id: int, revision: int, comment_key: str
) -> Piece:
    """Request changes to the revision that was shown, with the comment typed under
    `comment_key`."""
    return pieces.request_changes(
        session,
        actor=user,
        piece_id=piece_id,
        comment=st.session_state.get(comment_key, ""),
        revision=revision,
    )


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


def error_line(err: PlannerError) -> str:
    """Why a change was refused, in one line: the field messages of a ValidationFailed
    (without the fields' names), any other error as `error_text` says it."""
    if isinstance(err, ValidationFailed):
        return "; ".join(field_messages(err).values())
    return "; ".join(error_text(err))


def error_text(err: PlannerError) -> list[str]:
    """What to tell the user about a refused move, one message per problem."""
    t = state.t
    if isinstance(err, AlreadySent):
        return [form_tokens.already_text(err)]
    if isinstance(err, FourEyesViolation):
        said = err.args[0] if err.args else None
        # A refusal that says its own reason (the idea the piece was made from) says it.
        return [message(said)] if isinstance(said, Message) else [t("moves.four_eyes")]
    if isinstance(err, PermissionDenied):
        return [t("moves.denied")]
    if isinstance(err, IllegalTransition):
        return [_illegal(err)]
    if isinstance(err, EditConflict):
        return [t("moves.conflict", expected=err.expected, current=err.current)]
    if isinstance(err, NotFound):
        return [t("moves.not_found", what=t(f"moves.kind.{err.kind}"), name=err.key)]
    if isinstance(err, ValidationFailed):
        messages = []
        for name, problem in err.fields.items():
            known = f"moves.field.{name}"
            text = t(known)
            if text == known:
                # The field's label where there is one; never the key of a missing one.
                label, said = t(f"field.{name}"), message(problem)
                text = said if label == f"field.{name}" else f"{label}: {said}"
            messages.append(text)
        return messages
    if isinstance(err, TimeInputError):
        return [message(err.message)]
    return [str(err)]


def _illegal(err: IllegalTransition) -> str:
    t = state.t
    allowed = ", ".join(label(err.kind, a) for a in err.allowed) or t("moves.none")
    return t(
        "moves.illegal",
        what=t(f"moves.kind.{err.kind}"),
        action=label(err.kind, err.action),
        state=t(f"status.{err.state}"),
        allowed=allowed,
    )
