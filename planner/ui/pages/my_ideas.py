"""'My ideas': every idea the user submitted and what became of it."""

from __future__ import annotations

import streamlit as st

from planner import analytics, ideas
from planner.models import User
from planner.ui import keys, links, paging, state, tables
from planner.ui.i18n import format_number

PAGE_SIZE = 50


def _amount(value: int | None) -> str:
    """An amount in the session's language; '–' for a figure no network gave."""
    return "–" if value is None else format_number(state.lang(), value)


def _reach_line(reach: analytics.Reach | None) -> str:
    if reach is None:
        return state.t_count("my_ideas.reach_line", 0, impressions="–", engagement="0")
    return state.t_count(
        "my_ideas.reach_line",
        reach.posts,
        impressions=_amount(reach.impressions),
        engagement=_amount(reach.engagement),
    )


def _department_line(department: analytics.DepartmentReach | None, user: User) -> None:
    """What the user's department's ideas achieved, if the user has a department."""
    if department is None or department.department_id != user.department_id:
        return
    st.caption(
        state.t(
            "my_ideas.department_reach",
            department=department.department,
            ideas=_amount(department.ideas),
            count=department.reach.posts,
            impressions=_amount(department.reach.impressions),
            engagement=_amount(department.reach.engagement),
        )
    )


def render() -> None:
    """Draw the page."""
    t = state.t
    with state.page("my_ideas.heading") as (session, user):
        total = ideas.count_ideas(session, actor=user, mine=True)
        if not total:
            st.info(t("my_ideas.empty"))
            return
        page = paging.page_number(
            total, PAGE_SIZE, key=keys.MY_IDEAS_PAGE, label="my_ideas.page", total=total
        )
        mine = ideas.list_ideas(
            session, actor=user, mine=True, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        titles = {idea.id: f"#{idea.id} {idea.title}" for idea in mine if idea.id is not None}
        reach = analytics.idea_reach(session, actor=user, idea_ids=list(titles))
        if user.department_id is not None:
            found = analytics.department_reach(
                session, actor=user, department_id=user.department_id
            )
            _department_line(found[0] if found else None, user)
        links.follow("idea", keys.MY_IDEA_PICK, list(titles))
        tables.pickable(
            [
                {
                    t("col.id"): idea.id,
                    t("col.title"): idea.title,
                    t("col.status"): t(f"status.{idea.status}"),
                    t("col.submitted"): state.when(idea.created_at, user.timezone),
                    t("analytics.col.posts"): _amount(_posts(reach, idea.id)),
                    t("analytics.col.engagement"): _amount(_engagement(reach, idea.id)),
                }
                for idea in mine
            ],
            list(titles),
            key=keys.MY_IDEAS_TABLE,
            picker=keys.MY_IDEA_PICK,
        )
        picked = tables.picker(t("my_ideas.pick"), titles, key=keys.MY_IDEA_PICK)
        if picked is None:
            return
        links.keep("idea", picked)
        outcome = ideas.idea_outcome(session, actor=user, idea_id=picked)
    links.show("idea", picked)
    st.text(t("col.status") + ": " + t(f"status.{outcome.idea.status}"))
    st.text(t("my_ideas.reach") + ": " + _reach_line(reach.get(picked)))
    if outcome.merged_into is not None:
        st.text(t("my_ideas.merged_into", id=outcome.merged_into))
    if outcome.carried_by is not None and outcome.carrier_status is not None:
        # Where its merges ended: a rejection there is this idea's too (reason below).
        status = t(f"status.{outcome.carrier_status}")
        st.text(t("my_ideas.carried_by", id=outcome.carried_by, status=status))
    if outcome.rejection_reason:
        st.text(t("my_ideas.rejected_because"))
        st.text(outcome.rejection_reason)  # user text: shown as plain text, never HTML
    if outcome.piece_id is not None:
        st.text(
            t(
                "my_ideas.became_piece",
                id=outcome.piece_id,
                status=t(f"status.{outcome.piece_status}"),
            )
        )
        st.text(outcome.piece_title or "")  # the piece's title as edited: plain text
        if outcome.posts:
            st.dataframe(
                [
                    {
                        t("col.channel"): post.channel,
                        t("col.when"): state.when(post.publish_at, user.timezone),
                        t("col.status"): t(f"status.{post.status}"),
                        t("col.published"): (
                            state.when(post.published_at, user.timezone)
                            if post.published_at
                            else ""
                        ),
                        t("col.link"): post.external_url or "",
                    }
                    for post in outcome.posts
                ],
                hide_index=True,
            )
        else:
            st.text(t("my_ideas.no_posts"))


def _posts(reach: dict[int, analytics.Reach], idea_id: int | None) -> int:
    found = reach.get(idea_id or 0)
    return 0 if found is None else found.posts


def _engagement(reach: dict[int, analytics.Reach], idea_id: int | None) -> int:
    found = reach.get(idea_id or 0)
    return 0 if found is None else found.engagement


render()
