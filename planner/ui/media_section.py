"""The Editor's images and documents: the files of the piece's revision, their alt text,
uploading, changing and removing them (each change a new revision)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from sqlmodel import Session
from streamlit.delta_generator import DeltaGenerator

from planner import media
from planner.errors import (
    AlreadySent,
    EditConflict,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from planner.models import Piece, User
from planner.ui import form_tokens, keys, moves, state
from planner.ui.plain import md

_UPLOAD_FORM = "editor_media_upload"
_TYPES = ["png", "jpg", "jpeg", "gif", "webp", "pdf"]


def show_media(session: Session, user: User, piece: Piece) -> None:
    """The piece's files with their alt text, and a way to attach one more."""
    t = state.t
    assert piece.id is not None
    st.subheader(t("editor.media.heading"))
    st.caption(t("editor.media.rules", size=media.MAX_UPLOAD_BYTES // (1024 * 1024)))
    error = st.session_state.get(keys.EDITOR_MEDIA_ERROR)
    if error:
        st.error(error)
    attached = media.piece_media(session, actor=user, piece_id=piece.id)
    shown = (piece.id, piece.revision)
    if st.session_state.get(keys.EDITOR_MEDIA_SHOWN) != shown:
        # Another revision: its alt texts replace whatever the fields held.
        for item in attached:
            st.session_state[f"{keys.EDITOR_MEDIA_ALT}{item.id}"] = item.alt_text
        st.session_state[keys.EDITOR_MEDIA_SHOWN] = shown
    if not attached:
        st.info(t("editor.media.none"))
    for item in attached:
        _file(session, user, piece, item)
    _upload(session, user, piece)


def show_files(session: Session, user: User, piece: Piece) -> None:
    """The files of the piece's current revision as an approver reads them: each image with
    its alt text, each document by name (nothing to change here)."""
    t = state.t
    assert piece.id is not None
    attached = media.piece_media(session, actor=user, piece_id=piece.id)
    if not attached:
        return
    st.subheader(t("editor.media.heading"))
    for item in attached:
        words = _described(session, user, item)
        if item.is_image:
            words.text(t("editor.media.alt_shown", alt=item.alt_text))


def _described(session: Session, user: User, item: media.Attached) -> DeltaGenerator:
    """A file's picture (an image's own, with its alt text as caption) and its name, size
    and pixels; the column beside the picture, for more about it."""
    t = state.t
    picture, words = st.columns([1, 3])
    size = max(1, round(item.size / 1024))
    if item.is_image:
        content, _ = media.media_content(session, actor=user, media_id=item.id)
        picture.image(content, caption=item.alt_text, width=160)
        words.text(
            t(
                "editor.media.image",
                name=item.filename,
                width=item.width,
                height=item.height,
                size=size,
            )
        )
    else:
        words.text(t("editor.media.document", name=item.filename, size=size))
    return words


def _file(session: Session, user: User, piece: Piece, item: media.Attached) -> None:
    t = state.t
    assert piece.id is not None
    fields = _described(session, user, item)
    if item.is_image:
        fields.text_area(
            t("editor.media.alt", name=md(item.filename)),
            key=f"{keys.EDITOR_MEDIA_ALT}{item.id}",
            max_chars=media.MAX_ALT_TEXT,
            height=80,
        )
    left, right = fields.columns(2)
    if item.is_image and left.button(
        t("editor.media.alt_save"), key=f"{keys.EDITOR_MEDIA_ALT_SAVE}{item.id}"
    ):
        alt = str(st.session_state.get(f"{keys.EDITOR_MEDIA_ALT}{item.id}", ""))
        _file_change(
            media.set_alt_text, session, user, piece, item, "editor.media.alt_saved", alt_text=alt
        )
    if right.button(t("editor.media.remove"), key=f"{keys.EDITOR_MEDIA_REMOVE}{item.id}"):
        _file_change(media.remove_media, session, user, piece, item, "editor.media.removed")


def _file_change(
    change: Callable[..., Piece],
    session: Session,
    user: User,
    piece: Piece,
    item: media.Attached,
    said: str,
    **values: str,
) -> None:
    """One change of the file `item` (`change`: a function of the media module, given
    `values` beyond the piece, revision and file), said by the text `said`."""
    _change(
        lambda base: change(
            session,
            actor=user,
            piece_id=piece.id or 0,
            expected_revision=base,
            media_id=item.id,
            **values,
        ),
        piece,
        lambda saved: state.t(said, name=item.filename, revision=saved.revision),
    )


def _upload(session: Session, user: User, piece: Piece) -> None:
    t = state.t
    form_tokens.before_drawing(
        _UPLOAD_FORM, {keys.EDITOR_MEDIA_NEW_ALT: ""}, button=keys.EDITOR_MEDIA_ADD
    )
    # A new key after each file attached: the uploader starts empty again.
    uploads = int(st.session_state.get(keys.EDITOR_MEDIA_UPLOADS, 0))
    chosen = st.file_uploader(
        t("editor.media.upload"), type=_TYPES, key=f"{keys.EDITOR_MEDIA_UPLOAD}{uploads}"
    )
    st.text_area(
        t("editor.media.new_alt"),
        key=keys.EDITOR_MEDIA_NEW_ALT,
        max_chars=media.MAX_ALT_TEXT,
        height=80,
    )
    if not st.button(t("editor.media.add"), key=keys.EDITOR_MEDIA_ADD):
        return
    if chosen is None:
        st.session_state[keys.EDITOR_MEDIA_ERROR] = t("editor.media.pick_first")
        st.rerun()
    assert chosen is not None
    content = chosen.getvalue()
    alt = str(st.session_state.get(keys.EDITOR_MEDIA_NEW_ALT, ""))
    sent = {"piece": piece.id, "name": chosen.name, "size": len(content), "alt": alt}

    def upload(base: int) -> Piece:
        return media.upload_media(
            session,
            actor=user,
            piece_id=piece.id or 0,
            expected_revision=base,
            filename=chosen.name,
            content=content,
            alt_text=alt,
            token=form_tokens.token(_UPLOAD_FORM, sent),
        )

    def done(saved: Piece) -> str:
        form_tokens.sent(_UPLOAD_FORM, sent)
        form_tokens.empty_next_run(_UPLOAD_FORM)
        st.session_state[keys.EDITOR_MEDIA_UPLOADS] = uploads + 1
        return t("editor.media.added", name=chosen.name, revision=saved.revision)

    _change(upload, piece, done)


def _change(act: Callable[[int], Piece], piece: Piece, said: Callable[[Piece], str]) -> None:
    """Run one change of the files from the revision the editor works on, and say how it went.

    The text fields keep what is typed in them: the editor goes on from the new revision
    when it was working on the one before.
    """
    base = int(st.session_state.get(keys.EDITOR_BASE, piece.revision))
    try:
        saved = act(base)
    except AlreadySent as err:
        st.session_state[keys.EDITOR_DONE] = form_tokens.already_text(err)
        st.session_state[keys.EDITOR_MEDIA_ERROR] = ""
    except EditConflict as err:
        st.session_state[keys.EDITOR_CONFLICT] = {"mine": err.expected, "current": err.current}
    except (ValidationFailed, IllegalTransition, PermissionDenied, NotFound) as err:
        st.session_state[keys.EDITOR_MEDIA_ERROR] = "; ".join(moves.error_text(err))
    else:
        st.session_state[keys.EDITOR_MEDIA_ERROR] = ""
        st.session_state[keys.EDITOR_DONE] = said(saved)
        if base == saved.revision - 1:
            st.session_state[keys.EDITOR_BASE] = saved.revision
    st.rerun()
