"""'Inbox': triage submitted ideas (accept, reject with a reason, merge), one or many at once."""

from __future__ import annotations

from typing import Any

import streamlit as st
from sqlmodel import Session

from planner import audiences, ideas, users
from planner.errors import PlannerError
from planner.models import Idea, IdeaStatus, Role, Urgency, User
from planner.ui import (
    charts,
    csv_transfer,
    keys,
    links,
    moves,
    paging,
    similar_ideas,
    state,
    tables,
    widgets,
)

PAGE_SIZE = 25
REJECTED_SHOWN = 50  # the latest rejected ideas offered to take back


def _act(action: str, idea_id: int) -> None:
    """Button callback: one move on one idea; widget state may still change here."""
    with state.signed_in() as (session, user):
        if user is None:
            return
        try:
            if action == "accept":
                piece = ideas.accept_idea(session, actor=user, idea_id=idea_id)
                done = state.t("inbox.accepted", id=idea_id, piece=piece.id)
            elif action == "reopen":
                ideas.reopen_idea(session, actor=user, idea_id=idea_id)
                done = state.t("inbox.reopened", id=idea_id)
            elif action == "reject":
                reason = st.session_state.get(keys.INBOX_REASON, "")
                ideas.reject_idea(session, actor=user, idea_id=idea_id, reason=reason)
                done = state.t("inbox.rejected", id=idea_id)
            else:
                into = st.session_state.get(keys.INBOX_MERGE_INTO)
                if into is None:
                    moves.refused(keys.INBOX_ERRORS)[action] = [state.t("inbox.merge_pick")]
                    return
                ideas.merge_idea(session, actor=user, idea_id=idea_id, into_id=int(into))
                done = state.t("inbox.merged", id=idea_id, into=int(into))
        except PlannerError as err:
            moves.refused(keys.INBOX_ERRORS)[action] = moves.error_text(err)
            return
    st.session_state[keys.INBOX_DONE] = done
    st.session_state[keys.INBOX_REASON] = ""
    st.session_state[keys.INBOX_MERGE_INTO] = None


def _chart(session: Session, user: User) -> None:
    counts = ideas.ideas_per_department(session, actor=user)
    if not counts:
        return
    t = state.t
    charts.bars(
        [charts.Bar(name, n) for name, n in counts],
        title=t("inbox.chart_title"),
        label_title=t("col.department"),
        value_title=t("inbox.chart_ideas"),
    )


def _filters(session: Session, user: User) -> dict[str, Any]:
    t = state.t
    departments = [d.name for d in users.list_departments(session, actor=user)]
    # Labels are fixed per run (AppTest formats values again outside the run).
    department_labels = {"": t("inbox.all"), **{name: name for name in departments}}
    urgency_labels = {"": t("inbox.all"), **{u.value: t(f"urgency.{u}") for u in Urgency}}
    left, middle, right = st.columns(3)
    department = widgets.labelled_choice(
        t("col.department"), department_labels, key=keys.INBOX_DEPARTMENT, where=left
    )
    urgency = widgets.labelled_choice(
        t("inbox.urgency"), urgency_labels, key=keys.INBOX_URGENCY, where=middle
    )
    tag = right.text_input(t("inbox.tag"), key=keys.INBOX_TAG).strip()
    return {
        "status": IdeaStatus.submitted,
        "department": department or None,
        "urgency": Urgency(urgency) if urgency else None,
        "tag": tag or None,
    }


def _bulk(session: Session, user: User, rows: list[Idea]) -> None:
    t = state.t
    st.subheader(t("inbox.bulk"))
    labels = {idea.id: f"#{idea.id} {idea.title}" for idea in rows if idea.id is not None}
    pending = st.session_state.pop(keys.INBOX_PENDING, None)
    if pending is not None:  # the ideas a bulk run could not move stay selected
        st.session_state[keys.INBOX_BULK_PICK] = [i for i in pending if i in labels]
    elif any(i not in labels for i in st.session_state.get(keys.INBOX_BULK_PICK, [])):
        st.session_state[keys.INBOX_BULK_PICK] = [
            i for i in st.session_state[keys.INBOX_BULK_PICK] if i in labels
        ]
    picked: list[int] = st.multiselect(
        t("inbox.bulk_pick"),
        options=list(labels),
        format_func=labels.__getitem__,
        placeholder=t("widget.choose_options"),
        key=keys.INBOX_BULK_PICK,
    )
    reason = st.text_area(t("inbox.bulk_reason"), key=keys.INBOX_BULK_REASON, max_chars=2000)
    left, right = st.columns(2)
    accept = left.button(t("inbox.bulk_accept"), key=keys.INBOX_BULK_ACCEPT, disabled=not picked)
    reject = right.button(t("inbox.bulk_reject"), key=keys.INBOX_BULK_REJECT, disabled=not picked)
    moves.show_refused(keys.INBOX_ERRORS, "bulk")
    if not (accept or reject):
        return
    bar = st.progress(0.0, text=t("inbox.bulk_progress", done=0, total=len(picked)))

    def show_progress(done: int, total: int) -> None:
        bar.progress(done / total, text=t("inbox.bulk_progress", done=done, total=total))

    outcome = ideas.triage_ideas(
        session,
        actor=user,
        idea_ids=picked,
        action="accept" if accept else "reject",
        reason=reason,
        progress=show_progress,
    )
    # The same refusal for many ideas (a missing reason, say) is said once, naming them all.
    refused: dict[str, list[int]] = {}
    for idea_id, err in outcome.failed.items():
        for message in moves.error_text(err):
            refused.setdefault(message, []).append(idea_id)
    moves.refused(keys.INBOX_ERRORS)["bulk"] = [
        f"{', '.join(f'#{i}' for i in ids)}: {message}" for message, ids in refused.items()
    ]
    if outcome.done:
        st.session_state[keys.INBOX_DONE] = t("inbox.bulk_done", done=len(outcome.done))
    st.session_state[keys.INBOX_PENDING] = list(outcome.failed)
    st.rerun()


def _one(session: Session, user: User, rows: list[Idea], names: dict[int | None, str]) -> None:
    t = state.t
    st.subheader(t("inbox.one"))
    labels = {idea.id: f"#{idea.id} {idea.title}" for idea in rows if idea.id is not None}
    picked = tables.picker(t("inbox.pick"), labels, key=keys.INBOX_PICK)
    idea = next((i for i in rows if i.id == picked), None)
    if idea is None or idea.id is None:
        return
    links.opened("idea", idea.id)
    # User-written text: plain text only, never markdown or HTML.
    st.text(idea.title)
    st.text(idea.pitch)
    st.text(
        t(
            "inbox.facts",
            department=names.get(idea.department_id, "?"),
            urgency=t(f"urgency.{idea.urgency}"),
            tags=", ".join(idea.tags) or "–",
            audience=idea.target_audience or "–",
            goal=idea.goal or "–",
        )
    )
    if idea.source_url:
        st.text(t("inbox.source", url=idea.source_url))
    similar = ideas.find_similar_ideas(
        session, actor=user, title=idea.title, pitch=idea.pitch, exclude_id=idea.id
    )
    if similar:
        st.text(t("inbox.similar"))
        similar_ideas.show(similar)
    st.button(
        moves.label("idea", "accept"),
        key=keys.INBOX_ACCEPT,
        type="primary",
        on_click=_act,
        args=("accept", idea.id),
    )
    moves.show_refused(keys.INBOX_ERRORS, "accept")
    st.text_area(t("inbox.reason"), key=keys.INBOX_REASON, max_chars=2000)
    st.button(
        moves.label("idea", "reject"),
        key=keys.INBOX_REJECT,
        on_click=_act,
        args=("reject", idea.id),
    )
    moves.show_refused(keys.INBOX_ERRORS, "reject")
    st.number_input(
        t("inbox.merge_into"), min_value=1, step=1, value=None, key=keys.INBOX_MERGE_INTO
    )
    st.button(
        moves.label("idea", "merge"), key=keys.INBOX_MERGE, on_click=_act, args=("merge", idea.id)
    )
    moves.show_refused(keys.INBOX_ERRORS, "merge")


def _triage(session: Session, user: User, filters: dict[str, Any], total: int) -> None:
    """The page of submitted ideas, one idea's moves and the bulk moves."""
    t = state.t
    page = paging.page_number(total, PAGE_SIZE, key=keys.INBOX_PAGE, label="inbox.page")
    rows = ideas.list_ideas(
        session, actor=user, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters
    )
    names: dict[int | None, str] = {
        d.id: d.name for d in users.list_departments(session, actor=user)
    }
    st.text(state.t_count("inbox.count", total))
    links.follow("idea", keys.INBOX_PICK, [i.id for i in rows if i.id is not None])
    tables.pickable(
        [
            {
                t("col.id"): idea.id,
                t("col.title"): idea.title,
                t("col.department"): names.get(idea.department_id, "?"),
                t("inbox.urgency"): t(f"urgency.{idea.urgency}"),
                t("inbox.tags"): ", ".join(idea.tags),
                t("col.submitted"): state.when(idea.created_at, user.timezone),
            }
            for idea in rows
        ],
        [i.id or 0 for i in rows],
        key=keys.INBOX_TABLE,
        picker=keys.INBOX_PICK,
    )
    _one(session, user, rows, names)
    _bulk(session, user, rows)


def _rejected(session: Session, user: User) -> None:
    """The latest rejected ideas with their reasons; one can be taken back into triage."""
    t = state.t
    with widgets.lazy_expander(
        t("inbox.rejected_heading"), key=keys.INBOX_REJECTED_OPEN
    ) as is_open:
        if not is_open:
            return
        rows = ideas.list_ideas(
            session, actor=user, limit=REJECTED_SHOWN, status=IdeaStatus.rejected
        )
        tables.table(
            [
                {
                    t("col.id"): idea.id,
                    t("col.title"): idea.title,
                    t("inbox.rejected_reason"): idea.rejection_reason or "",
                }
                for idea in rows
            ],
            empty=t("inbox.rejected_none"),
        )
        if not rows:
            return
        labels = {idea.id: f"#{idea.id} {idea.title}" for idea in rows if idea.id is not None}
        picked = widgets.labelled_choice(
            t("inbox.rejected_pick"), labels, key=keys.INBOX_REJECTED_PICK
        )
        st.button(
            moves.label("idea", "reopen"),
            key=keys.INBOX_REOPEN,
            on_click=_act,
            args=("reopen", picked),
        )
        moves.show_refused(keys.INBOX_ERRORS, "reopen")


def _quiet_audiences(session: Session, user: User) -> None:
    """The audiences with nothing planned in the coming weeks, as one notice."""
    quiet = audiences.audiences_without_plans(session, actor=user)
    if quiet:
        names = ", ".join(q.audience.name for q in quiet)
        st.info(state.t("inbox.quiet_audiences", weeks=audiences.QUIET_WEEKS, names=names))


def render() -> None:
    """Draw the page."""
    t = state.t
    with state.page("inbox.heading", keys.INBOX_DONE) as (session, user):
        _chart(session, user)
        _quiet_audiences(session, user)
        filters = _filters(session, user)
        total = ideas.count_ideas(session, actor=user, **filters)
        if total == 0:
            st.info(t("inbox.empty"))
        else:
            _triage(session, user, filters, total)
        if user.role in (Role.editor, Role.admin):
            _rejected(session, user)
            csv_transfer.panel(user, "ideas")


render()
