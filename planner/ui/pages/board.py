"""'Board': pieces by workflow state, each with the moves this user may make as buttons."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import altair as alt
import streamlit as st
from sqlmodel import Session

from planner import pieces
from planner.errors import PlannerError
from planner.models import Piece, PieceStatus, User
from planner.ui import keys, moves, paging, state

PAGE_SIZE = 8

_MOVES: dict[str, Callable[..., Piece]] = {
    "submit": pieces.submit_piece,
    "revise": pieces.revise_piece,
    "archive": pieces.archive_piece,
    "reopen": pieces.reopen_piece,
}


def _move(piece_id: int, action: str, revision: int) -> None:
    """Button callback: one move on one piece, bound to the revision the button was shown for."""
    if action == "request_changes":  # needs a comment: ask for it in a dialog
        st.session_state[keys.BOARD_DIALOG] = {"piece": piece_id, "revision": revision}
        return
    with state.signed_in() as (session, user):
        if user is None:
            return
        try:
            if action == "approve":
                piece = pieces.approve_piece(
                    session, actor=user, piece_id=piece_id, revision=revision
                )
            else:
                piece = _MOVES[action](session, actor=user, piece_id=piece_id)
        except PlannerError as err:
            moves.refused(keys.BOARD_ERRORS)[str(piece_id)] = moves.error_text(err)
            return
    st.session_state[keys.BOARD_DONE] = state.t(
        "board.moved", id=piece_id, state=state.t(f"status.{piece.status}")
    )


def _close_dialog() -> None:
    st.session_state[keys.BOARD_DIALOG] = None


def _send_comment(piece_id: int, revision: int) -> None:
    """Dialog callback: request changes with the comment typed (kept if refused)."""
    with state.signed_in() as (session, user):
        if user is None:
            return
        try:
            moves.send_back(
                session,
                user=user,
                piece_id=piece_id,
                revision=revision,
                comment_key=keys.BOARD_COMMENT,
            )
        except PlannerError as err:
            moves.refused(keys.BOARD_ERRORS)["dialog"] = moves.error_text(err)
            return
    st.session_state[keys.BOARD_COMMENT] = ""
    st.session_state[keys.BOARD_DIALOG] = None
    st.session_state[keys.BOARD_DONE] = state.t(
        "board.moved", id=piece_id, state=state.t("status.changes_requested")
    )


def _comment_dialog(target: dict[str, int]) -> None:
    t = state.t

    # The open flag lives in session state, not in the dialog call, so AppTest can drive it.
    @st.dialog(t("board.comment_title", id=target["piece"]), on_dismiss=_close_dialog)
    def dialog() -> None:
        st.text_area(t("board.comment"), key=keys.BOARD_COMMENT, max_chars=5000)
        moves.show_refused(keys.BOARD_ERRORS, "dialog")
        left, right = st.columns(2)
        left.button(
            moves.label("piece", "request_changes"),
            key=keys.BOARD_COMMENT_SEND,
            type="primary",
            on_click=_send_comment,
            args=(target["piece"], target["revision"]),
        )
        right.button(t("board.cancel"), key=keys.BOARD_COMMENT_CANCEL, on_click=_close_dialog)

    dialog()


def _chart(counts: dict[PieceStatus, int]) -> None:
    t = state.t
    data: list[dict[str, Any]] = [
        {"state": t(f"status.{status}"), "pieces": n, "order": i}
        for i, (status, n) in enumerate(counts.items())
    ]
    chart = (
        alt.Chart(alt.InlineData(values=data))
        .mark_bar()
        .encode(
            x=alt.X("state:N", title=t("col.status"), sort=alt.SortField("order")),
            y=alt.Y("pieces:Q", title=t("board.chart_pieces"), axis=alt.Axis(tickMinStep=1)),
            tooltip=["state:N", "pieces:Q"],
        )
        .properties(title=t("board.chart_title"), description=t("board.chart_title"), height=220)
    )
    st.altair_chart(chart, width="stretch")


def _column(session: Session, user: User, status: PieceStatus, count: int) -> None:
    t = state.t
    st.subheader(t("board.column", state=t(f"status.{status}"), count=count))
    if count == 0:
        st.text(t("board.empty"))
        return
    page = paging.page_number(
        count, PAGE_SIZE, key=keys.BOARD_PAGE + status.value, label="board.page"
    )
    listed = pieces.list_pieces(
        session, actor=user, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    actions = moves.offered("piece", status, user.role)
    for piece in listed:
        assert piece.id is not None
        with st.container(border=True):
            st.text(f"#{piece.id} {piece.title}")  # user text: plain, never HTML
            st.text(t("board.revision", revision=piece.revision))
            for action in actions:
                st.button(
                    moves.label("piece", action),
                    key=f"{keys.BOARD_MOVE}{piece.id}_{action}",
                    on_click=_move,
                    args=(piece.id, action, piece.revision),
                )
            moves.show_refused(keys.BOARD_ERRORS, str(piece.id))


def render() -> None:
    """Draw the page."""
    state.heading("board.heading", keys.BOARD_DONE)
    with state.signed_in() as (session, user):
        if user is None:
            return
        counts = pieces.count_pieces_by_status(session, actor=user)
        _chart(counts)
        for column, status in zip(st.columns(len(counts)), counts, strict=True):
            with column:
                _column(session, user, status, counts[status])
    target = st.session_state.get(keys.BOARD_DIALOG)
    if target:
        _comment_dialog(target)


render()
