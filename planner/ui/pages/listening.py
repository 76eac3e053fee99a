"""'Listening': mentions, replies and followed feeds' entries to react to; assign, reply,
make an idea, dismiss; overdue items marked; followed feeds and response targets."""

from __future__ import annotations

from typing import Any

import streamlit as st
from sqlmodel import Session
from streamlit.delta_generator import DeltaGenerator

from planner import inbox
from planner.errors import (
    FourEyesViolation,
    IllegalTransition,
    PlannerError,
    ReplyFailed,
    ValidationFailed,
)
from planner.models import InboxSource, InboxStatus, User
from planner.permissions import can
from planner.ui import keys, moves, state, widgets

SHOWN = 100


def _errors(err: PlannerError) -> list[str]:
    """What to tell the user about a refused action, in their language."""
    t = state.t
    if isinstance(err, ReplyFailed):
        return [t("listening.reply_failed", reason=err.message)]
    if isinstance(err, FourEyesViolation):
        return [t("listening.own_reply")]
    if isinstance(err, IllegalTransition):
        allowed = ", ".join(t(f"listening.action.{a}") for a in err.allowed) or t("moves.none")
        return [
            t(
                "listening.illegal",
                action=t(f"listening.action.{err.action}"),
                status=t(f"listening.status.{err.state}"),
                allowed=allowed,
            )
        ]
    if isinstance(err, ValidationFailed):
        return [f"{_field(name)}: {text}" for name, text in moves.field_messages(err).items()]
    return moves.error_text(err)


def _field(name: str) -> str:
    """The label of a refused field: the page's own, else the dashboard's (an idea's
    fields), else its name."""
    return state.t_or(f"listening.field.{name}", state.t_or(f"field.{name}", name))


def _hours(key: str, hours: int, **values: object) -> str:
    """The text `key` for `hours` hours: its `_one` form for a single hour."""
    return state.t(f"{key}_one" if hours == 1 else key, hours=hours, **values)


def _source_name(view: inbox.InboxView) -> str:
    """The name of the channel or feed an item came from, or that it is gone."""
    if view.source_name:
        return view.source_name
    gone = "feed" if view.item.source == InboxSource.feed_item else "channel"
    return state.t(f"listening.source_gone.{gone}")


def _idea_changes() -> dict[str, str]:
    """The title and pitch typed for the idea an item is to become (none not shown)."""
    get = st.session_state.get
    typed = {"title": get(keys.LISTENING_IDEA_TITLE), "pitch": get(keys.LISTENING_IDEA_PITCH)}
    return {name: str(value) for name, value in typed.items() if value is not None}


def _act(action: str, item_id: int) -> None:
    """Button callback: one action on one item; the outcome is shown by the next run."""
    get = st.session_state.get
    t = state.t
    with state.signed_in() as (session, user):
        if user is None:
            return
        try:
            if action == "assign":
                department = str(get(keys.LISTENING_ASSIGN_TO) or "")
                inbox.assign_item(session, actor=user, item_id=item_id, department=department)
                done = t("listening.assigned", id=item_id, department=department)
            elif action == "reply":
                text = str(get(keys.LISTENING_REPLY_TEXT) or "")
                item = inbox.reply_to_item(session, actor=user, item_id=item_id, text=text)
                done = t(
                    "listening.replied" if item.reply_external_id else "listening.reply_waits",
                    id=item_id,
                )
            elif action == "approve":
                inbox.approve_reply(session, actor=user, item_id=item_id)
                done = t("listening.replied", id=item_id)
            elif action == "discard":
                inbox.discard_reply(session, actor=user, item_id=item_id)
                done = t("listening.discarded", id=item_id)
            elif action == "to_idea":
                department = str(get(keys.LISTENING_IDEA_DEPARTMENT) or "")
                # Read before the move, which refuses if another reply was written meanwhile.
                dropping = inbox.reply_waits_on(session, actor=user, item_id=item_id)
                item = inbox.item_to_idea(
                    session,
                    actor=user,
                    item_id=item_id,
                    department=department or None,
                    changes=_idea_changes() or None,
                )
                done = t(
                    "listening.converted_reply_dropped" if dropping else "listening.converted",
                    id=item_id,
                    idea=item.idea_id,
                )
            elif action == "dismiss":
                reason = str(get(keys.LISTENING_DISMISS_REASON) or "")
                dropping = inbox.reply_waits_on(session, actor=user, item_id=item_id)
                inbox.dismiss_item(session, actor=user, item_id=item_id, reason=reason)
                done = t(
                    "listening.dismissed_reply_dropped" if dropping else "listening.dismissed",
                    id=item_id,
                )
            else:
                inbox.reopen_item(session, actor=user, item_id=item_id)
                done = t("listening.reopened", id=item_id)
        except PlannerError as err:
            moves.refused(keys.LISTENING_ERRORS)[action] = _errors(err)
            return
    st.session_state[keys.LISTENING_DONE] = done
    for key in (keys.LISTENING_REPLY_TEXT, keys.LISTENING_DISMISS_REASON):
        st.session_state[key] = ""


def _fetch() -> None:
    """Button callback: read every source now."""
    with state.signed_in() as (_session, user):
        if user is None:
            return
        try:
            result = inbox.poll_now(state.engine(), actor=user)
        except PlannerError as err:
            moves.refused(keys.LISTENING_ERRORS)["fetch"] = _errors(err)
            return
    st.session_state[keys.LISTENING_DONE] = state.t(
        "listening.fetched", count=result.arrived, sources=result.sources
    )


def _add_feed() -> None:
    """Form callback: follow a feed."""
    get = st.session_state.get
    with state.signed_in() as (session, user):
        if user is None:
            return
        try:
            feed = inbox.add_feed(
                session,
                actor=user,
                url=str(get(keys.LISTENING_FEED_URL) or ""),
                name=str(get(keys.LISTENING_FEED_NAME) or ""),
                department=str(get(keys.LISTENING_FEED_DEPARTMENT) or "") or None,
            )
        except PlannerError as err:
            moves.refused(keys.LISTENING_ERRORS)["feed"] = _errors(err)
            return
    st.session_state[keys.LISTENING_DONE] = state.t("listening.feed_added", name=feed.name)
    st.session_state[keys.LISTENING_FEED_URL] = ""
    st.session_state[keys.LISTENING_FEED_NAME] = ""


def _remove_feed(feed_id: int, name: str) -> None:
    """Button callback: stop following a feed."""
    with state.signed_in() as (session, user):
        if user is None:
            return
        try:
            inbox.remove_feed(session, actor=user, feed_id=feed_id)
        except PlannerError as err:
            moves.refused(keys.LISTENING_ERRORS)["feed"] = _errors(err)
            return
    st.session_state[keys.LISTENING_DONE] = state.t("listening.feed_removed", name=name)


def _save_target() -> None:
    """Form callback: a department's own response target (0: the organisation's)."""
    get = st.session_state.get
    with state.signed_in() as (session, user):
        if user is None:
            return
        department = str(get(keys.LISTENING_TARGET_DEPARTMENT) or "")
        hours = int(get(keys.LISTENING_TARGET_HOURS) or 0)
        try:
            inbox.set_response_target(
                session, actor=user, department=department, hours=hours or None
            )
        except PlannerError as err:
            moves.refused(keys.LISTENING_ERRORS)["target"] = _errors(err)
            return
    st.session_state[keys.LISTENING_DONE] = state.t(
        "listening.target_saved" if hours else "listening.target_cleared", department=department
    )


def _filters(session: Session, user: User) -> dict[str, Any]:
    t = state.t
    status_labels = {
        "": t("listening.all"),
        **{s.value: t(f"listening.status.{s}") for s in InboxStatus},
    }
    source_labels = {
        "": t("listening.all"),
        **{s.value: t(f"listening.source.{s}") for s in InboxSource},
    }
    columns = st.columns(3 if can(user, "view_inbox") else 2)
    status = widgets.labelled_choice(
        t("listening.col.status"), status_labels, key=keys.LISTENING_STATUS, where=columns[0]
    )
    source = widgets.labelled_choice(
        t("listening.col.source"), source_labels, key=keys.LISTENING_SOURCE, where=columns[1]
    )
    department = ""
    if can(user, "view_inbox"):
        names = inbox.departments_of(session, actor=user)
        labels = {"": t("listening.all"), **{n: n for n in names}}
        department = widgets.labelled_choice(
            t("listening.col.department"), labels, key=keys.LISTENING_DEPARTMENT, where=columns[2]
        )
    return {
        "status": InboxStatus(status) if status else None,
        "source": InboxSource(source) if source else None,
        "department": department or None,
    }


def _table(views: list[inbox.InboxView], user: User) -> None:
    t = state.t
    rows = [
        {
            t("listening.col.id"): view.item.id,
            t("listening.col.overdue"): t("listening.overdue") if view.overdue else "",
            t("listening.col.received"): state.when(view.item.received_at, user.timezone),
            t("listening.col.source"): t(f"listening.source.{view.item.source}"),
            t("listening.col.from"): _source_name(view),
            t("listening.col.author"): view.item.author_handle or view.item.author_name,
            t("listening.col.text"): (view.item.title or view.item.text)[:120],
            t("listening.col.status"): t(f"listening.status.{view.item.status}"),
            t("listening.col.department"): view.department,
        }
        for view in views
    ]
    st.dataframe(rows, hide_index=True, key=keys.LISTENING_TABLE)


def _web_address(url: str | None) -> bool:
    """Whether a link a network or feed gave is a web address (never `javascript:` and the
    like, which a button would run)."""
    return bool(url) and str(url).lower().startswith(("https://", "http://"))


def _detail(session: Session, user: User, view: inbox.InboxView) -> None:
    t = state.t
    item = view.item
    assert item.id is not None
    with st.container(border=True):
        st.subheader(t("listening.item", id=item.id))
        if view.overdue:
            st.warning(t("listening.overdue_since", due=state.when(view.due_at, user.timezone)))
        meta = [
            t(
                "listening.meta.source",
                source=t(f"listening.source.{item.source}"),
                name=_source_name(view),
            ),
            t("listening.meta.status", status=t(f"listening.status.{item.status}")),
            _hours(
                "listening.meta.target",
                view.target_hours,
                due=state.when(view.due_at, user.timezone),
            ),
        ]
        if item.author_name or item.author_handle:
            meta.append(
                t(
                    "listening.meta.author",
                    author=" ".join(
                        part
                        for part in (
                            item.author_name,
                            f"({item.author_handle})" if item.author_handle else "",
                        )
                        if part
                    ),
                )
            )
        if view.department:
            meta.append(t("listening.meta.department", department=view.department))
        for line in meta:
            st.text(line)
        if item.title:
            st.text(item.title)  # people's words: plain text, never markdown
        st.text(item.text)
        if _web_address(item.url):
            st.link_button(t("listening.open_original"), item.url or "")
        if item.reply_external_id:
            st.text(t("listening.reply_sent", text=item.reply_text or ""))
            if _web_address(item.reply_url):
                st.link_button(t("listening.open_reply"), item.reply_url or "")
        if item.idea_id:
            st.text(t("listening.idea_made", idea=item.idea_id))
        if item.dismiss_reason:
            st.text(t("listening.dismiss_reason", reason=item.dismiss_reason))
        _actions(session, user, view)


# The button of each action on an item, in the order their refusals are shown; its text
# is `listening.<action>`.
_BUTTONS = {
    "assign": keys.LISTENING_ASSIGN,
    "reply": keys.LISTENING_REPLY,
    "approve": keys.LISTENING_APPROVE,
    "discard": keys.LISTENING_DISCARD,
    "to_idea": keys.LISTENING_TO_IDEA,
    "dismiss": keys.LISTENING_DISMISS,
    "reopen": keys.LISTENING_REOPEN,
}


def _button(action: str, item_id: int, where: DeltaGenerator | None = None) -> None:
    """The button of `action` on the item `item_id` (in `where`, or on the page)."""
    button = st.button if where is None else where.button
    button(
        state.t(f"listening.{action}"), key=_BUTTONS[action], on_click=_act, args=(action, item_id)
    )


def _actions(session: Session, user: User, view: inbox.InboxView) -> None:
    t = state.t
    item = view.item
    assert item.id is not None
    own = view.department or inbox.own_department(session, actor=user)
    other_item = st.session_state.get(keys.LISTENING_DRAFT_ITEM) != item.id
    if other_item:
        # Text typed for another item is not sent to or kept on this one.
        for key in (keys.LISTENING_REPLY_TEXT, keys.LISTENING_DISMISS_REASON):
            st.session_state[key] = ""
        st.session_state[keys.LISTENING_DRAFT_ITEM] = item.id
    if other_item or keys.LISTENING_IDEA_TITLE not in st.session_state:
        # The idea's fields start as the item suggests it; what is typed stays, a refusal
        # included, until another item is picked.
        draft = inbox.idea_draft(item, own, lang=state.lang())
        st.session_state[keys.LISTENING_IDEA_TITLE] = draft["title"]
        st.session_state[keys.LISTENING_IDEA_PITCH] = draft["pitch"]
    allowed = inbox.actions_for(user, item)
    for where in _BUTTONS:
        moves.show_refused(keys.LISTENING_ERRORS, where)
    if inbox.reply_in_flight(item):
        # Nothing else may happen to the item until the channel has answered.
        st.info(t("listening.sending"))
        return
    if inbox.waiting_reply(item):
        st.info(t("listening.pending", by=view.pending_reply_by, text=item.reply_text or ""))
        if item.reply_by_id == user.id:
            st.caption(t("listening.own_reply"))
        left, right = st.columns(2)
        if "approve" in allowed:
            _button("approve", item.id, left)
        if "discard" in allowed:
            _button("discard", item.id, right)
    if "reply" in allowed:
        st.text_area(
            t("listening.reply_text"), key=keys.LISTENING_REPLY_TEXT, max_chars=inbox.REPLY_MAX
        )
        _button("reply", item.id)
    departments = inbox.departments_of(session, actor=user)
    if "assign" in allowed and departments:
        left, right = st.columns([3, 1])
        left.selectbox(t("listening.assign_to"), options=departments, key=keys.LISTENING_ASSIGN_TO)
        _button("assign", item.id, right)
    if "to_idea" in allowed and departments:
        st.text_input(
            t("listening.idea_title"),
            key=keys.LISTENING_IDEA_TITLE,
            max_chars=inbox.IDEA_TITLE_MAX,
        )
        st.text_area(
            t("listening.idea_pitch"),
            key=keys.LISTENING_IDEA_PITCH,
            max_chars=inbox.IDEA_PITCH_MAX,
        )
        left, right = st.columns([3, 1])
        left.selectbox(
            t("listening.idea_department"),
            options=departments,
            index=departments.index(own) if own in departments else 0,
            key=keys.LISTENING_IDEA_DEPARTMENT,
        )
        _button("to_idea", item.id, right)
    if "dismiss" in allowed:
        left, right = st.columns([3, 1])
        left.text_input(
            t("listening.dismiss_reason_label"),
            key=keys.LISTENING_DISMISS_REASON,
            max_chars=inbox.REASON_MAX,
        )
        _button("dismiss", item.id, right)
    if "reopen" in allowed:
        _button("reopen", item.id)


def _sources(session: Session, user: User) -> None:
    t = state.t
    found = inbox.source_states(session, actor=user)
    with st.expander(t("listening.sources", count=len(found))):
        if not found:
            st.info(t("listening.no_sources"))
        for source in found:
            when = state.when(source.last_fetched_at, user.timezone) or t("listening.never")
            st.text(t(f"listening.source_line.{source.kind}", name=source.name, when=when))
            if source.last_error:
                st.error(t("listening.source_error", name=source.name, error=source.last_error))
        moves.show_refused(keys.LISTENING_ERRORS, "fetch")
        if can(user, "handle_inbox"):
            st.button(t("listening.fetch"), key=keys.LISTENING_FETCH, on_click=_fetch)


def _feeds(session: Session, user: User) -> None:
    t = state.t
    st.subheader(t("listening.feeds"))
    moves.show_refused(keys.LISTENING_ERRORS, "feed")
    feeds = inbox.list_feeds(session, actor=user)
    if not feeds:
        st.info(t("listening.no_feeds"))
    for feed in feeds:
        assert feed.id is not None
        left, right = st.columns([4, 1])
        department = inbox.feed_department(session, feed)
        left.text(
            t("listening.feed_line", name=feed.name, url=feed.url)
            + (f" — {department}" if department else "")
        )
        right.button(
            t("listening.feed_remove"),
            key=f"{keys.LISTENING_FEED_REMOVE}{feed.id}",
            on_click=_remove_feed,
            args=(feed.id, feed.name),
        )
    departments = inbox.departments_of(session, actor=user)
    labels = {"": t("listening.no_department"), **{n: n for n in departments}}
    with st.form(keys.LISTENING_FEED_FORM):
        st.text_input(t("listening.feed_url"), key=keys.LISTENING_FEED_URL, max_chars=inbox.URL_MAX)
        st.text_input(
            t("listening.feed_name"), key=keys.LISTENING_FEED_NAME, max_chars=inbox.NAME_MAX
        )
        widgets.labelled_choice(
            t("listening.feed_department"), labels, key=keys.LISTENING_FEED_DEPARTMENT
        )
        st.form_submit_button(
            t("listening.feed_add"), key=keys.LISTENING_FEED_ADD, on_click=_add_feed
        )


def _targets(session: Session, user: User) -> None:
    t = state.t
    st.subheader(t("listening.targets"))
    moves.show_refused(keys.LISTENING_ERRORS, "target")
    default = inbox.default_target_hours(session, actor=user)
    st.text(_hours("listening.target_default", default))
    departments = inbox.departments_of(session, actor=user)
    if not departments:
        return
    named = inbox.response_targets_by_name(session, actor=user)
    # Outside the form, so that picking another department shows its target at once.
    department = st.selectbox(
        t("listening.col.department"), options=departments, key=keys.LISTENING_TARGET_DEPARTMENT
    )
    if department is not None and (
        st.session_state.get(keys.LISTENING_TARGET_SHOWN) != department
        or keys.LISTENING_TARGET_HOURS not in st.session_state
    ):
        # The field holds the department's own target, so saving it as shown keeps it.
        st.session_state[keys.LISTENING_TARGET_HOURS] = named.get(department, 0)
        st.session_state[keys.LISTENING_TARGET_SHOWN] = department
    if department in named:
        st.caption(_hours("listening.target_own", named[department], department=department))
    elif department is not None:
        st.caption(t("listening.target_none", department=department))
    with st.form(keys.LISTENING_TARGET_FORM):
        st.number_input(
            t("listening.target_hours"),
            min_value=0,  # 0: the organisation's target again
            max_value=inbox.MAX_TARGET_HOURS,
            step=1,
            help=t("listening.target_help"),
            key=keys.LISTENING_TARGET_HOURS,
        )
        st.form_submit_button(
            t("listening.target_save"), key=keys.LISTENING_TARGET_SAVE, on_click=_save_target
        )
    for name, hours in named.items():
        st.text(_hours("listening.target_line", hours, department=name))


def render() -> None:
    """Draw the page."""
    with state.page("listening.heading", keys.LISTENING_DONE) as (session, user):
        if can(user, "view_inbox"):
            _sources(session, user)
        else:
            st.caption(state.t("listening.member_hint"))
        filters = _filters(session, user)
        views = inbox.list_items(session, actor=user, limit=SHOWN, **filters)
        overdue = sum(1 for v in views if v.overdue)
        st.text(state.t("listening.count", count=len(views), overdue=overdue))
        if not views:
            st.info(state.t("listening.empty"))
        else:
            _table(views, user)
            by_id = {v.item.id: v for v in views}
            labels = {
                v.item.id: ("⚠ " if v.overdue else "")
                + f"#{v.item.id} {(v.item.title or v.item.text)[:60]}"
                for v in views
            }
            picked = widgets.labelled_choice(
                state.t("listening.pick"), labels, key=keys.LISTENING_PICK
            )
            if picked in by_id:
                _detail(session, user, by_id[picked])
        if can(user, "manage_feeds"):
            _feeds(session, user)
        if can(user, "manage_departments"):
            _targets(session, user)


render()
