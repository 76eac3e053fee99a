"""'Activity': the audit log with filters, pages and a CSV export of what the filters show."""

from __future__ import annotations

from datetime import date, datetime

import streamlit as st
from sqlmodel import Session

from planner import audit, csvio, editing
from planner.errors import Message, PermissionDenied
from planner.permissions import can
from planner.timezones import parse_day_bound, to_local
from planner.ui import keys, moves, paging, state, tables, widgets

PAGE_SIZE = 50


def _choice(label: str, options: list[str], key: str, prefix: str = "") -> str | None:
    """A filter selectbox whose first option means 'any'; with `prefix`, each option is
    shown as its text `prefix + option` (a stored action or kind in the reader's language)."""
    # Texts are looked up now: a format function may be called outside the run.
    labels = {"": state.t("activity.any"), **{v: state.t_or(prefix + v, v) for v in options}}
    picked = widgets.labelled_choice(label, labels, key=key)
    return picked or None


def _note(note: str, tz_name: str) -> str:
    """An event's note in the reader's language, with the moments the planner noted in UTC
    (a post planned or moved) in the reader's zone."""
    said = audit.note_message(note)
    if isinstance(said, Message):
        local = {
            name: to_local(value, tz_name)
            if isinstance(value, datetime) and value.tzinfo is not None
            else value
            for name, value in said.params.items()
        }
        said = Message.formatted(said.code, str(said), local)
    return moves.message(said)


def _object(kind: str, object_id: str, names: dict[int, str]) -> str:
    """What an event concerns: its kind, and an account by its name rather than its number."""
    if kind == "user" and object_id.isdigit() and int(object_id) in names:
        return f"{state.t_or('activity.object.' + kind, kind)} {names[int(object_id)]}"
    return f"{state.t_or('activity.object.' + kind, kind)} {object_id}"


def _day_input(label: str, key: str) -> date | None:
    """An optional day, written as the session's language writes dates."""
    day: date | None = st.date_input(
        label, value=None, format=state.t("format.date_input"), key=key
    )
    return day


def render() -> None:
    """Draw the page."""
    t = state.t
    state.heading("activity.heading")
    engine = state.engine()
    with Session(engine, expire_on_commit=False) as session:
        user = state.current_user(session)
        if user is None:
            return
        try:
            choices = audit.filter_choices(session, actor=user)
        except PermissionDenied as err:
            st.error("; ".join(moves.error_text(err)))
            return
        if not can(user, "view_audit"):
            st.text(t("activity.own_only"))
        top = st.columns(3)
        with top[0]:
            actor_name = _choice(t("activity.actor"), choices.actors, keys.ACTIVITY_ACTOR)
        with top[1]:
            kind = _choice(
                t("activity.kind"), choices.object_types, keys.ACTIVITY_KIND, "activity.object."
            )
        with top[2]:
            action = _choice(
                t("activity.action"), choices.actions, keys.ACTIVITY_ACTION, "activity.did."
            )
        dates = st.columns(2)
        with dates[0]:
            first = _day_input(t("activity.from", zone=user.timezone), keys.ACTIVITY_FROM)
        with dates[1]:
            last = _day_input(t("activity.to", zone=user.timezone), keys.ACTIVITY_TO)
            if first is not None and last is not None and last < first:
                st.error(t("activity.bad_range"))
                return
        filters = audit.EventFilter(
            actor_name=actor_name,
            object_type=kind,
            action=action,
            since=parse_day_bound(first.isoformat(), user.timezone) if first else None,
            until=parse_day_bound(last.isoformat(), user.timezone, end=True) if last else None,
        )
        total = audit.count_visible_events(session, actor=user, filters=filters)
        page = paging.page_number(
            total, PAGE_SIZE, key=keys.ACTIVITY_PAGE, label="activity.page", always=True
        )
        events = audit.visible_events(
            session,
            actor=user,
            filters=filters,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
            newest_first=True,
        )
        # An account is named, not numbered; one who may not read others' names only ever
        # sees events about themselves.
        names = {user.id or 0: user.display_name}
        if can(user, "view_pieces"):
            accounts = {
                int(e.object_id)
                for e in events
                if e.object_type == "user" and e.object_id.isdigit()
            }
            names |= editing.display_names(session, actor=user, user_ids=accounts)
    st.text(state.t_count("activity.count", total))
    tables.table(
        [
            {
                t("activity.col.when"): state.when(e.at, user.timezone),
                t("activity.col.actor"): e.actor_name,
                t("activity.col.object"): _object(e.object_type, e.object_id, names),
                t("activity.col.action"): state.t_or(f"activity.did.{e.action}", e.action),
                t("activity.col.change"): " → ".join(
                    state.t_or(f"status.{s}", s) for s in (e.from_state, e.to_state) if s
                ),
                t("activity.col.note"): _note(e.note, user.timezone),
            }
            for e in events
        ],
        empty=t("activity.empty"),
    )
    fmt = csvio.CsvFormat.for_language(state.lang())  # the reader's Excel splits there
    widgets.download(  # made only when clicked: it may cover many events
        t("activity.export"),
        lambda session, reader: csvio.export_visible_audit(
            session, actor=reader, filters=filters, fmt=fmt
        ),
        user=user,
        file_name=t("file.activity"),
        key=keys.ACTIVITY_EXPORT,
        disabled=total == 0,
    )


render()
