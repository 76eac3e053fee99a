"""The post a link names (`?post=7`), shown on the page that opens posts: when and where it
goes out, its state and last error, and a link to its piece."""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

from planner import channels, pieces, planning
from planner.errors import NotFound, PermissionDenied
from planner.models import User
from planner.publishing import notes
from planner.ui import keys, links, state
from planner.ui.i18n import render_message


def _close() -> None:
    """Button callback: the post is done with; the address no longer names it."""
    links.keep("post", None)


def show(session: Session, user: User) -> None:
    """If the address names a post, the post in a box at the top of the page (call where
    the page's content starts); a post this user may not see is said to be out of reach."""
    asked = links.requested()
    if asked is None or asked[0] != "post":
        return
    t = state.t
    post_id = asked[1]
    try:
        post = planning.get_post(session, actor=user, post_id=post_id)
        piece = pieces.get_piece(session, actor=user, piece_id=post.piece_id)
    except (NotFound, PermissionDenied):
        st.warning(t("links.not_here", kind=t("links.kind.post"), id=post_id))
        return
    links.keep("post", post_id)
    names = channels.channel_names(session, actor=user)
    with st.container(border=True, key=keys.LINKED_POST):
        st.subheader(t("linked_post.heading", id=post_id))
        st.text(  # titles and channel names are user text: plain, never markdown
            t(
                "calendar.post_label",
                id=post_id,
                when=state.when(post.publish_at, user.timezone),
                channel=names.get(post.channel_id, ""),
                title=piece.title,
                status=t(f"status.{post.status}"),
            )
        )
        if post.last_error:
            said = notes.said(post.last_error, post.last_error_reason)
            st.text(t("linked_post.error", error=render_message(state.lang(), said)))
        if post.external_url:
            st.text(t("linked_post.url", url=post.external_url))
        left, right = st.columns(2)
        left.link_button(
            t("linked_post.piece", id=post.piece_id), links.address("piece", post.piece_id)
        )
        right.button(t("linked_post.close"), key=keys.LINKED_POST_CLOSE, on_click=_close)
