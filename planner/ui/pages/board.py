"""'Board': pieces by workflow state, each with the moves this user may make as buttons."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from sqlmodel import Session

from planner import audiences, pieces, planning
from planner.errors import EditConflict, PlannerError
from planner.models import Piece, PieceStatus, PostStatus, User
from planner.ui import audience_filter, charts, keys, layout, moves, paging, state
from planner.ui.comments import show_comments

PAGE_SIZE = 8

_MOVES: dict[str, Callable[..., Piece]] = {
    "approve": pieces.approve_piece,
    "submit": pieces.submit_piece,
    "revise": pieces.revise_piece,
    "archive": pieces.archive_piece,
    "reopen": pieces.reopen_piece,
}


def _move(piece_id: int, action: str, revision: int, shown: str | None = None) -> None:
    """Button callback: one move on one piece, bound to the revision and the state its card
    showed (a piece changed since is refused, nothing changed)."""
    if action == "request_changes":  # needs a comment: ask for it in a dialog
        st.session_state[keys.BOARD_DIALOG] = {"piece": piece_id, "revision": revision}
        return
    with state.signed_in() as (session, user):
        if user is None:
            return
        seen = PieceStatus(shown) if shown is not None else None
        try:
            piece = _MOVES[action](
                session, actor=user, piece_id=piece_id, revision=revision, expected_status=seen
            )
        except PlannerError as err:
            said = (
                _changed(session, user, piece_id, err, seen)
                if isinstance(err, EditConflict)
                else moves.error_text(err)
            )
            moves.refused(keys.BOARD_ERRORS)[str(piece_id)] = said
            return
        done = state.t("board.moved", id=piece_id, state=state.t(f"status.{piece.status}"))
        if piece.status == PieceStatus.archived:
            done += _posts_left(session, user, piece_id)
    st.session_state[keys.BOARD_DONE] = done


def _changed(
    session: Session, user: User, piece_id: int, err: EditConflict, seen: PieceStatus | None
) -> list[str]:
    """What to say of a card that no longer shows the piece: the state it is in now, when
    that moved on; otherwise the revisions, as any conflict."""
    try:
        now = pieces.get_piece(session, actor=user, piece_id=piece_id).status
    except PlannerError as gone:
        return moves.error_text(gone)
    if seen is None or now == seen:
        return moves.error_text(err)
    t = state.t
    return [t("board.changed", id=piece_id, seen=t(f"status.{seen}"), now=t(f"status.{now}"))]


def _posts_left(session: Session, user: User, piece_id: int) -> str:
    """For a piece just archived: that its planned posts will not go out now (or nothing)."""
    planned = planning.list_posts(session, actor=user, piece_id=piece_id, status=PostStatus.planned)
    if not planned:
        return ""
    if len(planned) == 1:
        return state.t("board.archived_post_one")
    return state.t("board.archived_posts", count=len(planned))


def _close_dialog() -> None:
    st.session_state[keys.BOARD_DIALOG] = None


def _send_comment(piece_id: int, revision: int) -> None:
    """Dialog callback: request changes with the comment typed (kept if refused)."""

    def send_back(session: Session, user: User) -> Piece:
        return moves.send_back(
            session, user=user, piece_id=piece_id, revision=revision, comment_key=keys.BOARD_COMMENT
        )

    def refused(messages: list[str]) -> None:
        moves.refused(keys.BOARD_ERRORS)["dialog"] = messages

    if not moves.attempt(send_back, refused):
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
        st.text_area(
            t("board.comment"),
            key=keys.BOARD_COMMENT,
            max_chars=5000,
            help=t("comments.mention_hint"),
        )
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
    charts.bars(
        [charts.Bar(t(f"status.{status}"), n) for status, n in counts.items()],
        title=t("board.chart_title"),
        label_title=t("col.status"),
        value_title=t("board.chart_pieces"),
    )


def _column(
    session: Session, user: User, status: PieceStatus, count: int, audience_id: int | None
) -> None:
    t = state.t
    st.subheader(t("board.column", state=t(f"status.{status}"), count=count))
    if count == 0:
        st.text(t("board.empty"))
        return
    page = paging.page_number(
        count, PAGE_SIZE, key=keys.BOARD_PAGE + status.value, label="board.page"
    )
    listed = pieces.list_pieces(
        session,
        actor=user,
        status=status,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        audience_id=audience_id,
    )
    named = any(p.audience_id is not None for p in listed)
    audience_names = audiences.audience_names(session, actor=user) if named else {}
    actions = moves.offered("piece", status, user.role)
    comments = pieces.comments_on(
        session, actor=user, piece_ids=[p.id for p in listed if p.id is not None]
    )
    for piece in listed:
        assert piece.id is not None
        with st.container(border=True):
            st.text(f"#{piece.id} {piece.title}")  # user text: plain, never HTML
            st.text(t("board.revision", revision=piece.revision))
            if piece.audience_id is not None:
                st.text(t("audiences.of_piece", name=audience_names.get(piece.audience_id, "")))
            said = comments[piece.id]
            if said:
                with st.expander(t("comments.heading", count=len(said))):
                    show_comments(session, user, said)
            for action in actions:
                st.button(
                    moves.label("piece", action),
                    key=f"{keys.BOARD_MOVE}{piece.id}_{action}",
                    on_click=_move,
                    args=(piece.id, action, piece.revision, piece.status.value),
                )
            moves.show_refused(keys.BOARD_ERRORS, str(piece.id))


def render() -> None:
    """Draw the page."""
    with state.page("board.heading", keys.BOARD_DONE) as (session, user):
        audience_id = audience_filter.pick(session, user, "board")
        counts = pieces.count_pieces_by_status(session, actor=user, audience_id=audience_id)
        _chart(counts)
        with layout.whole_words(keys.BOARD_COLUMNS, min_width="14rem"):
            for column, status in zip(st.columns(len(counts)), counts, strict=True):
                with column:
                    _column(session, user, status, counts[status], audience_id)
    target = st.session_state.get(keys.BOARD_DIALOG)
    if target:
        _comment_dialog(target)


render()
