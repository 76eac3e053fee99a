"""The Editor's unsaved work: kept as a draft on every change, put back on return.

Whatever the Editor's fields hold differently from the revision they began on is kept
(`planner.drafts`) at the start of every run, when Streamlit has already put the changed
values into the session state, so no save button is needed and leaving the page loses
nothing. Opening the piece again restores the draft, says so, offers to discard it and, if
someone saved a newer revision meanwhile, warns and shows what they changed.
"""

from __future__ import annotations

import contextlib
from typing import Any

import streamlit as st
from sqlmodel import Session

from planner import channels, drafts
from planner.drafts import DraftText
from planner.errors import PlannerError
from planner.models import Channel, Piece, User
from planner.permissions import can
from planner.ui import keys, rendered, state


def variant_key(channel_id: int | None) -> str:
    """The session-state key of the variant field for channel `channel_id`."""
    return f"{keys.EDITOR_VARIANT}{channel_id}"


def _may(user: User) -> bool:
    return can(user, "edit_piece")


def restore(session: Session, user: User, piece: Piece, planned: list[Channel]) -> None:
    """Right after the fields were filled from the saved piece: put `user`'s draft of it
    in them instead, if there is one (call before the fields are drawn)."""
    assert piece.id is not None
    st.session_state.pop(keys.EDITOR_DRAFT_RESTORED, None)
    if not _may(user):
        return
    draft = drafts.get_draft(session, actor=user, piece_id=piece.id)
    if draft is None:
        return
    st.session_state[keys.EDITOR_TITLE] = draft.title
    st.session_state[keys.EDITOR_BODY] = draft.body
    planned_ids = {c.id for c in planned}
    for channel in planned:
        st.session_state[variant_key(channel.id)] = draft.variants.get(str(channel.id), "")
    offered = {c.id for c in channels.list_channels(session, actor=user, include_disabled=False)}
    extra = [int(k) for k in draft.variants if int(k) not in planned_ids and int(k) in offered]
    for channel_id in extra:
        st.session_state[variant_key(channel_id)] = draft.variants[str(channel_id)]
    if extra:
        st.session_state[keys.EDITOR_EXTRA_CHANNELS] = extra
    st.session_state[keys.EDITOR_BASE] = draft.base_revision
    st.session_state[keys.EDITOR_DRAFT_RESTORED] = {
        "piece": piece.id,
        "when": state.when(draft.updated_at, user.timezone),
    }


def _shown(planned: list[Channel]) -> list[int]:
    """The channels whose variant fields the Editor shows in this run."""
    shown: list[Any] = [c.id for c in planned]
    shown += list(st.session_state.get(keys.EDITOR_EXTRA_CHANNELS) or [])
    return [int(cid) for cid in shown if cid is not None]


def _typed(shown: list[int]) -> DraftText:
    """What the Editor's fields hold in this run."""
    return DraftText(
        title=str(st.session_state.get(keys.EDITOR_TITLE, "")),
        body=str(st.session_state.get(keys.EDITOR_BODY, "")),
        variants={str(cid): str(st.session_state.get(variant_key(cid), "")) for cid in shown},
    )


def keep(session: Session, user: User, piece: Piece, planned: list[Channel]) -> None:
    """Keep what the fields hold as `user`'s draft of the piece (nothing if unchanged), then
    say it is kept, or restored, with a button that discards it."""
    assert piece.id is not None
    if not _may(user):
        return
    base = int(st.session_state.get(keys.EDITOR_BASE, piece.revision))
    shown = _shown(planned)
    st.session_state[keys.EDITOR_OPEN] = {"piece": piece.id, "base": base, "channels": shown}
    draft = drafts.keep_draft(
        session, actor=user, piece_id=piece.id, base_revision=base, text=_typed(shown)
    )
    if draft is None:
        st.session_state.pop(keys.EDITOR_DRAFT_RESTORED, None)
        return
    t = state.t
    restored = st.session_state.get(keys.EDITOR_DRAFT_RESTORED)
    if restored and restored.get("piece") == piece.id:
        st.info(t("drafts.restored", when=restored["when"]))
    else:
        st.caption(t("drafts.kept"))
    changed = drafts.changes_since(session, actor=user, piece_id=piece.id)
    if changed is not None:
        st.warning(t("drafts.stale", base=changed.old, revision=changed.new))
        with st.expander(t("drafts.changes", base=changed.old, revision=changed.new)):
            rendered.show_diff(changed, channels.channel_names(session, actor=user))
    if st.button(t("drafts.discard"), key=keys.EDITOR_DRAFT_DISCARD):
        discard(session, user, piece)
        st.session_state[keys.EDITOR_DONE] = t("drafts.discarded")
        st.rerun()


def keep_left_behind(session: Session, user: User) -> None:
    """On any page but the Editor: keep what its fields held when the user left it.

    A click on another page sends the text of the field that had the focus, and right
    after it the switch of page; the Editor's own run, which keeps drafts, may then be cut
    short before it does, or never start. The text then reaches the new page's run
    (`planner.ui.rerun_merge`) and is still in the session state until that run ends
    (Streamlit then drops the fields of a page not drawn), so it is kept from here. This
    run too may be cut short by the next request, which receives the same text: the
    Editor's fields are forgotten only once a draft was kept (or there was nothing to
    keep). Text no different from the revision never deletes a draft from here.
    """
    opened = st.session_state.get(keys.EDITOR_OPEN)
    if not opened:
        return
    if keys.EDITOR_BODY in st.session_state and _may(user):
        # A piece gone meanwhile, or no longer to be edited, has nothing to keep.
        with contextlib.suppress(PlannerError):
            drafts.keep_draft(
                session,
                actor=user,
                piece_id=int(opened["piece"]),
                base_revision=int(opened["base"]),
                text=_typed([int(cid) for cid in opened["channels"]]),
                drop_unchanged=False,
            )
    st.session_state.pop(keys.EDITOR_OPEN, None)


def discard(session: Session, user: User, piece: Piece) -> None:
    """Throw away `user`'s draft of the piece and load the saved piece into the fields."""
    assert piece.id is not None
    if _may(user):
        drafts.discard_draft(session, actor=user, piece_id=piece.id)
    st.session_state.pop(keys.EDITOR_DRAFT_RESTORED, None)
    st.session_state[keys.EDITOR_LOADED] = None
