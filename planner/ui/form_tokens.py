"""One-time tokens for the dashboard's forms, so that a form sent twice creates one thing.

Each form keeps a random token in the session; the domain spends it with the thing the
form creates (see planner.submissions). A send whose values are the ones the last
successful send had, within a minute (a double click, a click the browser repeated with
the text it still showed), goes with the spent token and is refused by the domain; a
form whose values changed since gets a fresh token.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import streamlit as st

from planner.errors import AlreadySent
from planner.ui import keys, state

T = TypeVar("T")

REPEAT_WINDOW = 60.0  # seconds in which the same values count as the same send
_EMPTY = ".empty"  # + form token key: empty the form's fields on the next run


def _fingerprint(values: Mapping[str, object]) -> str:
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _repeated(kept: dict[str, object] | None, values: Mapping[str, object]) -> bool:
    if kept is None or kept["sent"] is None:
        return False
    at = kept["at"]
    assert isinstance(at, float)
    return kept["sent"] == _fingerprint(values) and time.monotonic() - at < REPEAT_WINDOW


def token(form: str, values: Mapping[str, object]) -> str:
    """The token to send `form` with `values`: the one the form's last successful send
    spent when these are the values it sent, a minute ago at most; else an unspent one."""
    kept: dict[str, object] | None = st.session_state.get(keys.FORM_TOKEN + form)
    if kept is not None and (kept["sent"] is None or _repeated(kept, values)):
        return str(kept["token"])
    fresh = secrets.token_urlsafe(32)
    st.session_state[keys.FORM_TOKEN + form] = {"token": fresh, "sent": None, "at": 0.0}
    return fresh


def sent(form: str, values: Mapping[str, object], notice: str = "") -> None:
    """Remember that `form`'s token was spent on `values` (by this send or an earlier one),
    and the `notice` that said so."""
    kept: dict[str, object] | None = st.session_state.get(keys.FORM_TOKEN + form)
    if kept is not None:
        kept["sent"] = _fingerprint(values)
        kept["at"] = time.monotonic()
        kept["notice"] = notice


def send(
    form: str,
    values: Mapping[str, object],
    store: Callable[[str], T],
    *,
    done: Callable[[T], str],
    again: Callable[[AlreadySent], str] | None = None,
    empty: bool = True,
) -> str:
    """Send `form` with `values` once: `store(token)` with the form's token (see `token`).

    The answer is what to tell the user: `done` of what `store` returned, or, when the
    domain refused the token as spent (a double click, a repeated send), what the first
    send made (`again`, by default `already_text`). Either way the token counts as spent
    on these values, and with `empty` the form's fields are emptied on the next run. Any
    other refusal propagates: the form keeps its token and what is typed in it.
    """
    try:
        notice = done(store(token(form, values)))
    except AlreadySent as err:
        notice = (again or already_text)(err)
    sent(form, values, notice)
    if empty:
        empty_next_run(form)
    return notice


def empty_next_run(form: str) -> None:
    """Have `before_drawing` empty the form's fields on the next run (a widget's value
    cannot change once it is drawn in a run)."""
    st.session_state[keys.FORM_TOKEN + form + _EMPTY] = True


def before_drawing(
    form: str,
    fields: Mapping[str, Any],
    *,
    button: str,
    values: Mapping[str, object] | None = None,
) -> str | None:
    """Call before drawing the form: put `fields` (by widget key) back to their empty
    value (None: the default the widget is drawn with) when the last run stored the form's
    thing, or when the browser brought back the `values` of that send (a second click
    that was on its way while the form was emptied) and this run is not a send. In that
    second case the answer is the send's notice, to show again; otherwise None.

    Set, not removed, where the widget has no default of its own: a widget whose key is
    only removed keeps showing what the browser still holds.
    """
    pending = st.session_state.pop(keys.FORM_TOKEN + form + _EMPTY, False)
    kept: dict[str, object] | None = st.session_state.get(keys.FORM_TOKEN + form)
    brought_back = (
        not pending
        and values is not None
        and not st.session_state.get(button)
        and _repeated(kept, values)
    )
    if not (pending or brought_back):
        return None
    for key, value in fields.items():
        if value is None:
            st.session_state.pop(key, None)
        else:
            st.session_state[key] = value
    return str(kept["notice"]) if brought_back and kept is not None else None


def already_text(err: AlreadySent) -> str:
    """What to tell the user when a form was sent again: what the first send created."""
    if err.object_id is None:
        return state.t("forms.already.other")
    return state.t(f"forms.already.{err.action}", id=err.object_id)
