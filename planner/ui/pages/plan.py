"""'Plan': the posts in a date range, in the user's time zone, with held posts marked."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import streamlit as st
from sqlmodel import Session, col, select

from planner import planning
from planner.models import Channel, Piece
from planner.timezones import format_local, zone
from planner.ui import app, keys


def render() -> None:
    """Draw the page."""
    t = app.t
    st.title(t("plan.heading"))
    today = date.today()
    picked = st.date_input(
        t("plan.range"), value=(today, today + timedelta(days=27)), key=keys.PLAN_RANGE
    )
    if not isinstance(picked, tuple) or len(picked) != 2:
        st.info(t("plan.invalid_range"))
        return
    first, last = picked
    if last < first:
        st.error(t("plan.invalid_range"))
        return
    with Session(app.engine(), expire_on_commit=False) as session:
        user = app.current_user(session)
        if user is None:
            return
        z = zone(user.timezone)
        start = datetime.combine(first, time(0), tzinfo=z)
        end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=z)
        posts = planning.list_posts(session, start=start, end=end, limit=2000)
        piece_ids = {p.piece_id for p in posts}
        titles = {
            p.id: p.title for p in session.exec(select(Piece).where(col(Piece.id).in_(piece_ids)))
        }
        names = {c.id: c.name for c in session.exec(select(Channel))}
        held = {h.post.id: h.reason.name for h in planning.held_posts(session)}
    if not posts:
        st.info(t("plan.empty"))
        return
    st.dataframe(
        [
            {
                t("col.when"): format_local(p.publish_at, user.timezone),
                t("col.channel"): names.get(p.channel_id, ""),
                t("col.piece"): titles.get(p.piece_id, ""),
                t("col.status"): t(f"status.{p.status}"),
                t("col.held"): t(f"hold.{held[p.id]}") if p.id in held else "",
            }
            for p in posts
        ],
        hide_index=True,
    )


render()
