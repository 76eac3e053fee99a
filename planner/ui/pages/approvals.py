"""'Approvals': pieces in review, each with its diff against the last approved version."""

from __future__ import annotations

import streamlit as st
from sqlmodel import Session

from planner import channels, editing, pieces
from planner import preview as previews
from planner.models import Piece, PieceStatus, User
from planner.rule_checks import RuleFinding
from planner.ui import keys, links, moves, paging, rendered, rule_findings, state, tables
from planner.ui.comments import show_comments
from planner.ui.media_section import show_files
from planner.ui.plain import md

PAGE_SIZE = 20


def _decide(action: str, piece_id: int, revision: int) -> None:
    """Button callback: approve or request changes for exactly the revision that was shown."""

    def decide(session: Session, user: User) -> Piece:
        if action == "approve":
            return pieces.approve_piece(
                session,
                actor=user,
                piece_id=piece_id,
                revision=revision,
                note=st.session_state.get(keys.APPROVALS_COMMENT, ""),
            )
        return moves.send_back(
            session,
            user=user,
            piece_id=piece_id,
            revision=revision,
            comment_key=keys.APPROVALS_COMMENT,
        )

    def refused(messages: list[str]) -> None:
        st.session_state[keys.APPROVALS_ERROR] = {action: messages}
        # Which piece, and what was typed: the piece may have left the queue meanwhile.
        st.session_state[keys.APPROVALS_ERROR_PIECE] = (
            piece_id,
            st.session_state.get(keys.APPROVALS_COMMENT, ""),
        )

    if not moves.attempt(decide, refused):
        return
    st.session_state[keys.APPROVALS_COMMENT] = ""
    st.session_state[keys.APPROVALS_DONE] = state.t(
        "approvals.approved" if action == "approve" else "approvals.sent_back",
        id=piece_id,
        revision=revision,
    )


def _refused_elsewhere(errors: dict[str, list[str]], piece_id: int | None, typed: str) -> None:
    """A decision on a piece no longer shown (someone else decided it meanwhile, or it left
    the page): said at the top, naming the piece, with the comment that was typed."""
    t = state.t
    for messages in errors.values():
        for text in messages:
            st.error(t("approvals.refused_other", id=piece_id, text=text))
    if errors and typed.strip():
        st.info(t("approvals.comment_kept", text=typed.strip()))


def render() -> None:
    """Draw the page."""
    t = state.t
    state.heading("approvals.heading", keys.APPROVALS_DONE)
    errors: dict[str, list[str]] = st.session_state.pop(keys.APPROVALS_ERROR, None) or {}
    refused_piece, typed = st.session_state.pop(keys.APPROVALS_ERROR_PIECE, None) or (None, "")
    with state.signed_in() as (session, user):
        if user is None:
            return
        total = pieces.count_pieces_by_status(session, actor=user)[PieceStatus.in_review]
        if total == 0:
            if refused_piece is not None:
                _refused_elsewhere(errors, refused_piece, typed)
            st.info(t("approvals.empty"))
            return
        page = paging.page_number(total, PAGE_SIZE, key=keys.APPROVALS_PAGE, label="approvals.page")
        queue = pieces.review_queue(
            session, actor=user, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
        )
        st.text(state.t_count("approvals.count", total))
        in_queue = [item.piece for item in queue]
        labels = {p.id: f"#{p.id} {p.title}" for p in in_queue if p.id is not None}
        links.follow("piece", keys.APPROVALS_PICK, list(labels))
        tables.pickable(
            [
                {
                    t("col.id"): item.piece.id,
                    t("col.title"): item.piece.title,
                    t("approvals.revision"): item.piece.revision,
                    t("approvals.owner"): item.owner,
                    t("approvals.changed"): state.when(item.piece.updated_at, user.timezone),
                }
                for item in queue
            ],
            [p.id or 0 for p in in_queue],
            key=keys.APPROVALS_TABLE,
            picker=keys.APPROVALS_PICK,
        )
        picked = tables.picker(t("approvals.pick"), labels, key=keys.APPROVALS_PICK)
        piece = next((p for p in in_queue if p.id == picked), None)
        if refused_piece is not None and (piece is None or piece.id != refused_piece):
            _refused_elsewhere(errors, refused_piece, typed)
            errors = {}
        if piece is None or piece.id is None:
            return
        links.opened("piece", piece.id)
        diff = pieces.review_diff(session, actor=user, piece_id=piece.id)
        names = channels.channel_names(session, actor=user)
        shown = previews.piece_previews(
            session, actor=user, piece_id=piece.id, revision=piece.revision
        )
        if diff.old == 0:
            st.subheader(t("approvals.never_approved", revision=diff.new))
        else:
            st.subheader(t("approvals.since", old=diff.old, new=diff.new))
        rendered.show_diff(diff, names)
        show_files(session, user, piece)
        found: list[RuleFinding] = []
        in_view = editing.variant_channels(session, actor=user, piece_id=piece.id)
        if shown:
            st.subheader(t("preview.heading"))
            tabs = st.tabs([md(p.channel_name) for p in shown])
            for tab, preview in zip(tabs, shown, strict=True):
                with tab:
                    st.markdown(md(preview.kind_name))
                    rendered.show_preview(preview)
                    for finding in preview.check.findings:
                        st.error(md(moves.message(finding.message)))
                    channel = next(c for c in in_view if c.id == preview.channel_id)
                    found += rule_findings.show_findings(
                        session,
                        user,
                        piece,
                        channel,
                        piece.variants.get(str(channel.id)) or piece.body,
                    )
        rule_findings.show_overrides(session, user, piece)
        comments = pieces.list_comments(session, actor=user, piece_id=piece.id)
        st.subheader(t("comments.heading", count=len(comments)))
        show_comments(session, user, comments)
    rule_findings.override_form(piece, found, errors.get("override", []))
    st.text_area(
        t("approvals.comment"),
        key=keys.APPROVALS_COMMENT,
        max_chars=5000,
        help=t("comments.mention_hint"),
    )
    left, right = st.columns(2)
    with left:
        st.button(
            t("approvals.approve", revision=piece.revision),
            key=keys.APPROVALS_APPROVE,
            type="primary",
            on_click=_decide,
            args=("approve", piece.id, piece.revision),
        )
        for message in errors.get("approve", []):
            st.error(message)
    with right:
        st.button(
            moves.label("piece", "request_changes"),
            key=keys.APPROVALS_REQUEST,
            on_click=_decide,
            args=("request_changes", piece.id, piece.revision),
        )
        for message in errors.get("request_changes", []):
            st.error(message)


render()
