"""The media library: images and documents uploaded for a piece, and the files of a revision.

An upload is checked by its content (`publishers.images`): only real PNG, JPEG, GIF and
WebP images, re-encoded without their metadata and scaled down to `MAX_STORED_SIDE`, and
PDF documents are stored, as bytes in the database (so backups hold them). Attaching a
file, removing it or changing its alt text saves a new revision of the piece like any
edit: an approval holds for exactly the files and alt texts it saw, and the publishing
engine sends the approved revision's files only. A channel that cannot carry a file is
named when the file is attached, and again at submission and approval.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlmodel import Session, col, select

from planner import checks, submissions, workflow
from planner.errors import EditConflict, Message, NotFound, ValidationFailed
from planner.models import MediaFile, Piece, User
from planner.permissions import require
from planner.pieces import get_piece, store_revision
from publishers import images

# What one upload may be at most, before it is checked (a phone photo is 3-12 MB).
MAX_UPLOAD_BYTES = 15 * 1024 * 1024
# Stored images are scaled down to this longest side; channels get smaller copies on sending.
MAX_STORED_SIDE = 4096
# Files one revision may carry (channels take fewer each: 4 on Mastodon and Bluesky).
MAX_FILES = 10
MAX_ALT_TEXT = 1500
MAX_FILENAME = 200


@dataclass(frozen=True)
class Attached:
    """One file of a piece's revision, as the editor lists it."""

    id: int
    filename: str
    mime_type: str
    alt_text: str
    size: int
    width: int
    height: int

    @property
    def is_image(self) -> bool:
        """Whether the file is an image (else a PDF document)."""
        return self.mime_type.startswith("image/")


def piece_media(session: Session, *, actor: User, piece_id: int) -> list[Attached]:
    """The files of a piece's current revision, in order, with their alt text."""
    piece = get_piece(session, actor=actor, piece_id=piece_id)
    return _listed(session, piece.media)


def revision_media(
    session: Session, *, actor: User, refs: Sequence[Mapping[str, Any]]
) -> list[Attached]:
    """The files a stored revision's `media` names, in order."""
    require(actor, "view_pieces")
    return _listed(session, refs)


def _listed(session: Session, refs: Sequence[Mapping[str, Any]]) -> list[Attached]:
    ids = [int(ref["id"]) for ref in refs]
    if not ids:
        return []
    rows = session.exec(
        select(MediaFile.id, MediaFile.size, MediaFile.width, MediaFile.height).where(
            col(MediaFile.id).in_(ids)
        )
    )
    found = {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in rows}
    listed = []
    for ref in refs:
        media_id = int(ref["id"])
        if media_id in found:
            size, width, height = found[media_id]
            listed.append(
                Attached(
                    id=media_id,
                    filename=str(ref.get("filename", "")),
                    mime_type=str(ref.get("mime_type", "")),
                    alt_text=str(ref.get("alt_text", "")),
                    size=size,
                    width=width,
                    height=height,
                )
            )
    return listed


def media_content(session: Session, *, actor: User, media_id: int) -> tuple[bytes, str]:
    """The stored bytes of one file and their type, for those who may view pieces."""
    require(actor, "view_pieces")
    row = session.exec(
        select(MediaFile.content, MediaFile.mime_type).where(MediaFile.id == media_id)
    ).first()
    if row is None:
        raise NotFound("media_file", media_id)
    return bytes(row[0]), str(row[1])


def upload_media(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    expected_revision: int,
    filename: str,
    content: bytes,
    alt_text: str = "",
    token: str | None = None,
) -> Piece:
    """Store an uploaded file and attach it to the piece: a new revision.

    Refuses (ValidationFailed on "media" or "alt_text") a file that is too large, no
    image or PDF, an image without alt text, and a file a channel the piece goes out on
    cannot carry. Nothing is stored then.
    """
    require(actor, "edit_piece")
    submissions.refuse_spent(session, actor=actor, token=token)
    piece = get_piece(session, actor=actor, piece_id=piece_id)
    name = _clean_filename(filename)
    if not content:
        raise ValidationFailed(
            {"media": Message("media_empty", "the file {name!r} is empty", name=name)}
        )
    if len(content) > MAX_UPLOAD_BYTES:
        raise ValidationFailed(
            {
                "media": Message(
                    "media_too_large",
                    "the file {name!r} has {size} MB; at most {limit} MB can be uploaded",
                    name=name,
                    size=_megabytes(len(content)),
                    limit=_megabytes(MAX_UPLOAD_BYTES),
                )
            }
        )
    try:
        checked = images.check(content)
        if checked.mime_type != images.PDF_TYPE:
            limits = images.Limits(
                max_count=1, types=frozenset({checked.mime_type}), max_side=MAX_STORED_SIDE
            )
            fitted, _ = images.fit(checked.content, checked.mime_type, limits)
            if fitted is not checked.content:
                checked = images.check(fitted)
    except images.NotAnImage as err:
        raise ValidationFailed({"media": _unusable(name, err)}) from err
    alt = _checked_alt_text(alt_text, name, checked.mime_type)
    if len(piece.media) >= MAX_FILES:
        raise ValidationFailed(
            {
                "media": Message(
                    "media_too_many", "a piece carries at most {limit} files", limit=MAX_FILES
                )
            }
        )
    assert actor.id is not None
    stored = MediaFile(
        piece_id=piece_id,
        filename=name,
        mime_type=checked.mime_type,
        size=len(checked.content),
        width=checked.width,
        height=checked.height,
        sha256=hashlib.sha256(checked.content).hexdigest(),
        content=checked.content,
        uploaded_by_id=actor.id,
    )
    ref = {"filename": name, "mime_type": checked.mime_type, "alt_text": alt}

    def add_file() -> list[dict[str, Any]]:
        session.add(stored)
        session.flush()
        return [*piece.media, {"id": stored.id, **ref}]

    return _save(
        session,
        actor=actor,
        piece=piece,
        expected_revision=expected_revision,
        change=add_file,
        note=f"attached {name}",
        token=token,
    )


def set_alt_text(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    expected_revision: int,
    media_id: int,
    alt_text: str,
) -> Piece:
    """Change one file's alt text: a new revision (unchanged text saves nothing)."""
    require(actor, "edit_piece")
    piece = get_piece(session, actor=actor, piece_id=piece_id)
    current = _ref(piece, media_id)
    alt = _checked_alt_text(alt_text, str(current.get("filename", "")), current["mime_type"])
    if alt == current.get("alt_text", ""):
        return piece
    return _save(
        session,
        actor=actor,
        piece=piece,
        expected_revision=expected_revision,
        change=lambda: [
            {**ref, "alt_text": alt} if int(ref["id"]) == media_id else dict(ref)
            for ref in piece.media
        ],
        note=f"alt text of {current.get('filename', media_id)}",
    )


def remove_media(
    session: Session, *, actor: User, piece_id: int, expected_revision: int, media_id: int
) -> Piece:
    """Take one file off the piece: a new revision (older revisions keep it)."""
    require(actor, "edit_piece")
    piece = get_piece(session, actor=actor, piece_id=piece_id)
    current = _ref(piece, media_id)
    return _save(
        session,
        actor=actor,
        piece=piece,
        expected_revision=expected_revision,
        change=lambda: [dict(ref) for ref in piece.media if int(ref["id"]) != media_id],
        note=f"removed {current.get('filename', media_id)}",
    )


def _ref(piece: Piece, media_id: int) -> dict[str, Any]:
    for ref in piece.media:
        if int(ref["id"]) == media_id:
            return dict(ref)
    raise NotFound("media_file", media_id, f"not attached to piece {piece.id}")


def _save(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    expected_revision: int,
    change: Callable[[], list[dict[str, Any]]],
    note: str,
    token: str | None = None,
) -> Piece:
    """Give `piece` the media `change` returns as a new revision, bound to the one the
    editor saw; refused if a channel the piece goes out on cannot carry them."""
    if piece.revision != expected_revision:
        raise EditConflict("piece", piece.id, expected_revision, piece.revision, None)
    workflow.check("piece", piece, "edit", actor)

    def carried() -> None:
        media = change()
        _require_carried(session, actor=actor, piece=piece, media=media)
        piece.media = media

    store_revision(session, actor=actor, piece=piece, change=carried, note=note[:500], token=token)
    return piece


def _require_carried(
    session: Session, *, actor: User, piece: Piece, media: Sequence[Mapping[str, Any]]
) -> None:
    """Raise ValidationFailed (on "media") naming each channel that cannot carry `media`."""
    findings: list[Message] = []
    for channel in checks.piece_channels(session, actor=actor, piece=piece):
        outgoing = checks.outgoing_post(
            0, channel.id or 0, media, piece.title, piece.body, piece.variants, piece.tags
        )
        for found in checks.problems_for(channel, outgoing):
            if found.field in ("media", "channel"):
                findings.append(checks.finding_message(channel, found))
    if findings:
        joined = findings[-1]
        for message in reversed(findings[:-1]):
            joined = Message("several_findings", "{first}; {rest}", first=message, rest=joined)
        raise ValidationFailed({"media": joined})


def _unusable(name: str, err: images.NotAnImage) -> Message:
    """Why the file `name` cannot be used, coded by the reason Pillow found."""
    if err.reason == "pdf_cut_off":
        return Message(
            "media_pdf_cut_off", "the PDF {name!r} is cut off (no end-of-file marker)", name=name
        )
    if err.reason == "format":
        return Message(
            "media_other_format",
            "the file {name!r} is a {format} image; PNG, JPEG, GIF or WebP are taken",
            name=name,
            format=err.format,
        )
    if err.reason == "animated":
        return Message(
            "media_animated",
            "the image {name!r} is animated ({frames} frames); only still images are "
            "stored: upload one frame, or link to the animation in the text",
            name=name,
            frames=err.frames,
        )
    if err.reason == "too_many_pixels":
        return Message(
            "media_too_many_pixels",
            "the image {name!r} has more than {limit} pixels",
            name=name,
            limit=images.MAX_SOURCE_PIXELS,
        )
    if err.reason == "damaged":
        return Message("media_damaged", "the image {name!r} is damaged", name=name)
    return Message(
        "media_not_an_image",
        "the file {name!r} is no PNG, JPEG, GIF or WebP image and no PDF",
        name=name,
    )


def _checked_alt_text(alt_text: str, name: str, mime_type: str) -> str:
    alt = " ".join(alt_text.split())
    if mime_type != images.PDF_TYPE and not alt:
        raise ValidationFailed(
            {
                "alt_text": Message(
                    "alt_text_required",
                    "the image {name!r} needs an alt text: describe what it shows for people "
                    "who cannot see it",
                    name=name,
                )
            }
        )
    if len(alt) > MAX_ALT_TEXT:
        raise ValidationFailed(
            {
                "alt_text": Message(
                    "alt_text_too_long",
                    "the alt text has {length} characters; at most {limit} are allowed",
                    length=len(alt),
                    limit=MAX_ALT_TEXT,
                )
            }
        )
    return alt


def _clean_filename(filename: str) -> str:
    """The file's own name without any folder, printable, at most MAX_FILENAME characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "upload"
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_FILENAME - len(ext) - 1] + dot + ext) if dot else name[:MAX_FILENAME]
    return name


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


def with_content(conn: Connection, refs: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The media of a revision with each file's bytes, for sending (the engine's own read).

    A file that is gone is sent as one without content, which its adapter refuses.
    """
    wanted = [dict(ref) for ref in refs]
    if not wanted:
        return []
    table = MediaFile.__table__  # type: ignore[attr-defined]
    ids = sorted({int(ref["id"]) for ref in wanted})
    found = {
        row.id: bytes(row.content)
        for row in conn.execute(sa.select(table.c.id, table.c.content).where(table.c.id.in_(ids)))
    }
    return [{**ref, "content": found.get(int(ref["id"]), b"")} for ref in wanted]
