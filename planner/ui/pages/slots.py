"""'Publishing slots' (admins): each channel's weekly slot plan, in the organisation's time
zone, with its next free slot; set or clear a channel's plan."""

from __future__ import annotations

import streamlit as st

from planner import channels, slots
from planner.errors import NotFound, ValidationFailed
from planner.models import utcnow
from planner.ui import access, keys, moves, slot_texts, state, tables, widgets


def render() -> None:
    """Draw the page."""
    t = state.t
    with access.page("slots", keys.SLOTS_DONE) as (session, actor):
        tz_name = slots.org_timezone(session)
        st.text(t("slots.zone", zone=tz_name))
        plans = slots.slot_plans(session, actor=actor)
        found = channels.list_channels(session, actor=actor)
        rows = []
        for channel in found:
            plan = plans.get(channel.id or 0, [])
            upcoming = (
                slots.free_slots(
                    session,
                    actor=actor,
                    channel=channel.id or 0,
                    start=utcnow(),
                    end=utcnow() + slots.QUEUE_HORIZON,
                )[:1]
                if plan
                else []
            )
            rows.append(
                {
                    t("slots.col.channel"): channel.name,
                    t("slots.col.plan"): slot_texts.plan_text(plan) or "–",
                    t("slots.col.next"): state.when(upcoming[0], actor.timezone)
                    if upcoming
                    else "–",
                }
            )
        tables.table(rows, empty=t("slots.no_channels"))
        if not found:
            return
        st.subheader(t("slots.set_heading"))
        by_id = {c.id: c.name for c in found}
        picked = widgets.labelled_choice(t("slots.channel"), by_id, key=keys.SLOTS_CHANNEL)
        if picked is None:
            return
        key = f"{keys.SLOTS_PLAN}{picked}"
        st.text_input(
            t("slots.plan"),
            value=slot_texts.plan_text(plans.get(picked, [])),
            help=t("slots.plan_help"),
            key=key,
        )
        slot = st.container()
        if st.button(t("slots.save"), key=keys.SLOTS_SAVE, type="primary"):
            try:
                saved = slots.set_slot_plan(
                    session, actor=actor, channel=picked, slots=st.session_state.get(key, "")
                )
            except (ValidationFailed, NotFound) as err:
                slot.error(moves.error_line(err))
            else:
                state.rerun_with_notice(
                    keys.SLOTS_DONE,
                    t(
                        "slots.saved",
                        channel=by_id[picked],
                        plan=slot_texts.plan_text(saved) or t("slots.no_slots"),
                    ),
                    forget=[key],
                )


render()
