"""Unsaved work in the Editor: what one user typed for one piece, kept until saved or discarded.

The Editor keeps a draft on every change (no save button), so text survives navigating
away, a reload or a closed tab. A draft belongs to its writer alone: nobody else reads,
changes or discards it. It remembers the revision the typing started from; if the piece
got a newer revision since, the draft is stale and `changes_since` says what changed.
Saving the piece deletes the saver's draft (in `pieces.edit_piece`, in the same transaction).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from planner import pieces
from planner.db import all_or_nothing
from planner.errors import Message, ValidationFailed
from planner.models import EditorDraft, User, utcnow
from planner.permissions import require


@dataclass(frozen=True)
class DraftText:
    """What the Editor's fields hold: title, master text and channel variants by channel id."""

    title: str
    body: str
    variants: dict[str, str]


def _variants(variants: Mapping[str, str]) -> dict[str, str]:
    """Variants by channel id as text, without empty ones (an empty variant is no variant)."""
    return {cid: text for cid, text in variants.items() if text.strip()}


def _key(actor: User, piece_id: int) -> tuple[int, int]:
    assert actor.id is not None
    return (actor.id, piece_id)


def get_draft(session: Session, *, actor: User, piece_id: int) -> EditorDraft | None:
    """`actor`'s own unsaved draft of the piece, if they have one."""
    require(actor, "edit_piece")
    pieces.get_piece(session, actor=actor, piece_id=piece_id)
    return session.get(EditorDraft, _key(actor, piece_id), populate_existing=True)


def keep_draft(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    base_revision: int,
    text: DraftText,
    drop_unchanged: bool = True,
) -> EditorDraft | None:
    """Keep what `actor` typed for the piece, begun on revision `base_revision`.

    Text no different from that revision is nothing unsaved: None is returned, and any
    draft is deleted unless `drop_unchanged` is False (text that may be an older copy of
    the fields, as a switch of page can send, never throws a kept draft away). A draft
    that already holds exactly this is not written again.
    """
    require(actor, "edit_piece")
    piece = pieces.get_piece(session, actor=actor, piece_id=piece_id)
    if not 1 <= base_revision <= piece.revision:
        raise ValidationFailed(
            {
                "base_revision": Message(
                    "draft_base",
                    "revision {base!r} is not a revision of piece {piece} (1 to {latest})",
                    base=base_revision,
                    piece=piece_id,
                    latest=piece.revision,
                )
            }
        )
    variants = _variants(text.variants)
    base = pieces.get_revision(session, actor=actor, piece_id=piece_id, number=base_revision)
    draft = session.get(EditorDraft, _key(actor, piece_id), populate_existing=True)
    if (text.title, text.body, variants) == (base.title, base.body, base.variants):
        if draft is not None and drop_unchanged:
            with all_or_nothing(session):
                session.delete(draft)
        return None
    if draft is not None and (
        draft.base_revision,
        draft.title,
        draft.body,
        draft.variants,
    ) == (base_revision, text.title, text.body, variants):
        return draft
    try:
        with all_or_nothing(session):
            if draft is None:
                user_id, _ = _key(actor, piece_id)
                draft = EditorDraft(user_id=user_id, piece_id=piece_id, base_revision=base_revision)
                session.add(draft)
            _write(draft, base_revision, text, variants)
    except IntegrityError:
        # The same user's other tab stored a draft of this piece first: write over it.
        draft = session.get(EditorDraft, _key(actor, piece_id), populate_existing=True)
        if draft is None:
            raise
        with all_or_nothing(session):
            _write(draft, base_revision, text, variants)
    return draft


def _write(
    draft: EditorDraft, base_revision: int, text: DraftText, variants: dict[str, str]
) -> None:
    draft.base_revision = base_revision
    draft.title = text.title
    draft.body = text.body
    draft.variants = variants
    draft.updated_at = utcnow()


def discard_draft(session: Session, *, actor: User, piece_id: int) -> bool:
    """Delete `actor`'s draft of the piece; whether there was one."""
    require(actor, "edit_piece")
    draft = session.get(EditorDraft, _key(actor, piece_id))
    if draft is None:
        return False
    with all_or_nothing(session):
        session.delete(draft)
    return True


def changes_since(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    header: pieces.DiffHeader = pieces.english_header,
) -> pieces.RevisionDiff | None:
    """What was saved on the piece since the revision `actor`'s draft began on; None without
    a draft or while it is current."""
    draft = get_draft(session, actor=actor, piece_id=piece_id)
    if draft is None:
        return None
    piece = pieces.get_piece(session, actor=actor, piece_id=piece_id)
    if piece.revision <= draft.base_revision:
        return None
    return pieces.diff_to_current(
        session, actor=actor, piece=piece, old=draft.base_revision, header=header
    )
