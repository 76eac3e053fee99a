"""'Notifications': what the signed-in user was told, marking it read, and choosing per kind
whether to hear of it in the dashboard and/or by e-mail."""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

from planner import notifications
from planner.models import User
from planner.notifications import Item, Preference
from planner.ui import keys, links, state

SHOWN = 50  # the newest ones; older ones stay stored


def _mark(ids: list[int] | None) -> None:
    """Button callback: mark the given notifications read (None: all of them)."""
    with state.signed_in() as (session, user):
        if user is None:
            return
        count = notifications.mark_read(session, actor=user, ids=ids)
    st.session_state[keys.NOTIFICATIONS_DONE] = state.t(
        "notifications.marked_one" if count == 1 else "notifications.marked", count=count
    )


def _save(kinds: list[str]) -> None:
    """Form callback: store the choices ticked for every kind."""
    with state.signed_in() as (session, user):
        if user is None:
            return
        notifications.set_preferences(
            session,
            actor=user,
            choices=[
                Preference(
                    kind,
                    in_app=bool(st.session_state.get(keys.NOTIFICATIONS_IN_APP + kind)),
                    email=bool(st.session_state.get(keys.NOTIFICATIONS_EMAIL + kind)),
                )
                for kind in kinds
            ],
        )
    st.session_state[keys.NOTIFICATIONS_DONE] = state.t("notifications.saved")


def _item(item: Item, user: User) -> None:
    t = state.t
    n = item.notification
    number = n.object_id if n.object_type == "idea" else item.piece_id
    with st.container(border=True):
        what = t(f"notifications.kind.{n.kind}", id=number, title=item.title, actor=item.actor)
        new = f"{t('notifications.new')}: " if n.read_at is None else ""
        st.text(new + what)  # titles are user text: plain, never markdown
        when = state.when(n.created_at, user.timezone)
        st.text(t("notifications.by", when=when, actor=item.actor) if item.actor else when)
        detail = notifications.detail_text(n, state.lang(), user.timezone)
        if detail:
            st.text(detail)
        if n.object_type in links.OPENED_ON:
            kind = t(f"links.kind.{n.object_type}")
            label = t("notifications.open", kind=kind, id=n.object_id)
            links.open_link(n.object_type, n.object_id, user.role, label)
        if n.read_at is None:
            st.button(
                t("notifications.mark_read"),
                key=f"{keys.NOTIFICATIONS_READ}{n.id}",
                on_click=_mark,
                args=([n.id],),
            )


def _list(session: Session, user: User) -> None:
    t = state.t
    unread = notifications.count_unread(session, actor=user)
    st.text(t("notifications.unread", count=unread))
    only = st.toggle(t("notifications.only_unread"), key=keys.NOTIFICATIONS_UNREAD_ONLY)
    if unread:
        st.button(
            t("notifications.mark_all"),
            key=keys.NOTIFICATIONS_MARK_ALL,
            on_click=_mark,
            args=(None,),
        )
    items = notifications.list_notifications(session, actor=user, unread_only=only, limit=SHOWN)
    if not items:
        st.info(t("notifications.empty"))
    for item in items:
        _item(item, user)


def _preferences(session: Session, user: User) -> None:
    t = state.t
    st.subheader(t("notifications.preferences"))
    if not user.email:
        st.info(t("notifications.no_address"))
    chosen = notifications.preferences(session, actor=user)
    with st.form(keys.NOTIFICATIONS_FORM):
        for pref in chosen:
            kind, in_app, email = st.columns([3, 1, 1])
            kind.text(t(f"notifications.pref.{pref.kind}"))
            in_app.checkbox(
                t("notifications.col.in_app"),
                value=pref.in_app,
                key=keys.NOTIFICATIONS_IN_APP + pref.kind,
            )
            email.checkbox(
                t("notifications.col.email"),
                value=pref.email,
                key=keys.NOTIFICATIONS_EMAIL + pref.kind,
            )
        st.form_submit_button(
            t("notifications.save"),
            key=keys.NOTIFICATIONS_SAVE,
            on_click=_save,
            args=([pref.kind for pref in chosen],),
        )


def render() -> None:
    """Draw the page."""
    state.heading("notifications.heading", keys.NOTIFICATIONS_DONE)
    with state.signed_in() as (session, user):
        if user is None:
            return
        _list(session, user)
        _preferences(session, user)


render()
