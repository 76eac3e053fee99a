"""Publishing slots as the dashboard shows them: slot plans with the language's weekday
names, free slots under the calendar, "add to queue", suggested times from a channel's
history, and off-plan warnings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import streamlit as st
from dateutil.tz import datetime_ambiguous
from sqlmodel import Session

from planner import analytics, channels, slots
from planner.errors import PlannerError, ValidationFailed
from planner.models import User
from planner.permissions import can
from planner.slots import Slot
from planner.timezones import to_local
from planner.ui import form_tokens, keys, moves, state

FREE_SHOWN = 40  # free slots listed under the calendar at most
QUEUE_FORM = "slots_queue"  # the "add to queue" button's one-time token (form_tokens)


def plan_text(plan: Sequence[Slot]) -> str:
    """A slot plan in the session's language: "Di 09:30, Do 09:30" (parse_slot_plan reads it)."""
    return ", ".join(
        f"{state.t(f'slots.day.{s.weekday}')} {s.minute // 60:02d}:{s.minute % 60:02d}"
        for s in plan
    )


def free_list(
    session: Session, user: User, *, start: datetime, end: datetime, channel_id: int | None
) -> None:
    """The free slots of [start, end) by channel (one channel if given), as plain text."""
    t = state.t
    plans = slots.slot_plans(session, actor=user)
    names = {
        c.id: c.name
        for c in channels.list_channels(session, actor=user, include_disabled=False)
        if c.id in plans and (channel_id is None or c.id == channel_id)
    }
    st.subheader(t("slots.free_heading"))
    if not names:
        st.text(t("slots.no_plans"))
        return
    lines = []
    for cid, name in sorted(names.items(), key=lambda item: item[1].lower()):
        assert cid is not None
        free = slots.free_slots(session, actor=user, channel=cid, start=start, end=end)
        shown = ", ".join(state.when(at, user.timezone) for at in free[:FREE_SHOWN])
        more = t("slots.more", count=len(free) - FREE_SHOWN) if len(free) > FREE_SHOWN else ""
        lines.append(f"{name}: {shown or t('slots.none_free')}{more}")
    st.text("\n".join(lines))


def queue_button(
    session: Session, user: User, piece_id: int | None, channel_id: int | None
) -> None:
    """ "Add to queue": plan the chosen piece in the chosen channel's next free slot."""
    t = state.t
    if not can(user, "plan_posts"):
        return
    if not st.button(t("slots.queue"), key=keys.SLOTS_QUEUE, help=t("slots.queue_help")):
        return
    if piece_id is None or channel_id is None:
        st.error(t("calendar.pick_piece") if piece_id is None else t("calendar.pick_channel"))
        return
    # A second click on the way (or the same piece and channel again within a minute) is
    # refused by the domain with the first click's token: one post, not two slots taken.
    sent = {"piece": piece_id, "channel": channel_id}
    try:
        done = form_tokens.send(
            QUEUE_FORM,
            sent,
            lambda token: slots.queue_post(
                session, actor=user, piece_id=piece_id, channel=channel_id, token=token
            ),
            done=lambda post: t(
                "slots.queued", id=post.id, when=state.when(post.publish_at, user.timezone)
            ),
            empty=False,
        )
    except ValidationFailed as err:
        st.error("; ".join(moves.field_messages(err).values()))
        return
    except PlannerError as err:
        st.error("; ".join(moves.error_text(err)))
        return
    st.session_state[keys.CAL_DONE] = done
    st.rerun()


def remember_series(
    session: Session, user: User, series_id: int | None, *, in_slots: bool = False
) -> None:
    """Keep, for the next run, warnings about a new series' posts off the slot plan (for
    a series in slots: those that found no free slot) and those a blocking time rule
    refuses (each with the next allowed time)."""
    if series_id is None:
        return
    off = slots.series_off_plan(session, actor=user, series_id=series_id)
    if off:
        shown = ", ".join(state.when(at, user.timezone) for at in off[:5])
        more = state.t("slots.series_more", count=len(off) - 5) if len(off) > 5 else ""
        st.session_state[keys.SLOTS_OFF_PLAN] = state.t_count(
            "slots.series_unplaced" if in_slots else "slots.series_off_plan",
            len(off),
            when=shown + more,
        )
    held = slots.series_rule_holds(session, actor=user, series_id=series_id)
    if held:
        which = "; ".join(
            f"{state.when(h.at, user.timezone)}: {moves.message(h.message)}" for h in held[:5]
        )
        more = state.t("slots.series_more", count=len(held) - 5) if len(held) > 5 else ""
        st.session_state[keys.SLOTS_RULE_HOLDS] = state.t_count(
            "slots.series_rule_holds", len(held), which=which + more
        )


def show_warning() -> None:
    """Show, once, the off-plan and rule warnings a previous run left."""
    for key in (keys.SLOTS_OFF_PLAN, keys.SLOTS_RULE_HOLDS):
        warning = st.session_state.pop(key, None)
        if warning:
            st.warning(warning)


def _fill_when(text: str) -> None:
    """Put a suggested time into the planning form's time field (before it is drawn)."""
    st.session_state[keys.CAL_PLAN_WHEN] = text


def _typed(at: datetime, tz_name: str) -> str:
    """An instant as the planning form's time field reads it back: local wall time, with
    the offset where that wall time happens twice (the autumn fold)."""
    local = to_local(at, tz_name)
    if datetime_ambiguous(local):
        return local.isoformat(" ", "minutes")  # '2026-10-25 02:30+01:00'
    return f"{local:%Y-%m-%d %H:%M}"


def suggested_times(session: Session, user: User, channel_id: int | None) -> None:
    """ "Suggest times": the chosen channel's best upcoming times from its history (or its
    slot plan), each a button that fills the time field."""
    t = state.t
    if not can(user, "plan_posts") or channel_id is None:
        return
    if st.button(t("calendar.suggest"), key=keys.CAL_SUGGEST, help=t("calendar.suggest_help")):
        found = analytics.suggest_times(session, actor=user, channel=channel_id)
        st.session_state[keys.CAL_SUGGESTED] = (channel_id, found)
    kept = st.session_state.get(keys.CAL_SUGGESTED)
    if kept is None or kept[0] != channel_id:
        return
    found = kept[1]
    if found.basis == "none":
        st.info(t("calendar.suggested_none", channel=found.channel))
        return
    st.text(t("calendar.suggested", channel=found.channel))
    st.caption(t(f"calendar.suggested_{found.basis}"))
    for number, (column, suggestion) in enumerate(
        zip(st.columns(len(found.times)), found.times, strict=True)
    ):
        column.button(
            state.when(suggestion.at, user.timezone),
            key=f"{keys.CAL_SUGGESTED}_{number}",
            on_click=_fill_when,
            args=(_typed(suggestion.at, user.timezone),),
        )
