"""The media library: uploads checked by content, alt text required, files bound to revisions."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from datetime import timedelta
from typing import ClassVar

import pytest
from PIL import Image, ImageFile
from sqlalchemy import Engine
from sqlmodel import Session, select

import publishers
from planner import channels, media, pieces, planning
from planner.errors import EditConflict, NotFound, ValidationFailed
from planner.models import Channel, MediaFile, Piece, PieceStatus, Post, PostStatus, utcnow
from planner.publishing import EngineSettings, claim
from planner.worker import Worker
from publishers.base import Media, OutgoingPost, Receipt
from publishers.images import Limits
from publishers.media import uploaded_file
from tests import recording
from tests.conftest import World

FAST = EngineSettings(
    batch_size=10,
    threads=1,
    lease=timedelta(seconds=30),
    max_attempts=3,
    retry_base_seconds=60,
    retry_cap_seconds=600,
    poll_seconds=1,
)


def png(width: int = 40, height: int = 30, color: str = "red") -> bytes:
    """A real PNG image of the given size."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` pixels (its pixel data is missing)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"")


def bitmap() -> bytes:
    """A real image in a format the planner does not take (BMP)."""
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "BMP")
    return out.getvalue()


def jpeg_with_exif(width: int = 40, height: int = 30) -> bytes:
    """A JPEG carrying EXIF: the camera's make and a GPS block."""
    exif = Image.Exif()
    exif[0x010F] = "Kamerahersteller"  # Make
    exif[0x8825] = {1: "N", 2: (50.0, 56.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    Image.new("RGB", (width, height), "blue").save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


class MediaRecording(recording.RecordingPublisher):
    """The recording adapter, taking up to two images, at most 100 px wide, as Mastodon would."""

    kind: ClassVar[str] = "recording_media"
    display_name: ClassVar[str] = "Recording with media (tests)"
    supports_media: ClassVar[bool] = True
    media_limits: ClassVar[Limits | None] = Limits(
        max_count=2, types=frozenset({"image/png", "image/jpeg"}), max_side=100
    )
    sent: ClassVar[list[list[tuple[str, str, bytes]]]] = []

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        files = [uploaded_file(item, self.media_limits) for item in post.media]
        self.sent.append(
            [
                (f.filename, item.alt_text, f.content)
                for f, item in zip(files, post.media, strict=True)
            ]
        )
        return super().publish(post, idempotency_key)


@pytest.fixture
def media_kind(recording_kind: type[recording.RecordingPublisher]) -> Iterator[None]:
    MediaRecording.sent = []
    publishers.register(MediaRecording)
    # The claim is built once per process with the kinds registered then: build it anew.
    claim._claim_statement.cache_clear()
    yield
    publishers.unregister(MediaRecording.kind)
    claim._claim_statement.cache_clear()


def _piece(world: World) -> Piece:
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Sommerfest", "body": "Wir feiern!"}
    )
    assert piece.id is not None
    return piece


def _upload(
    world: World, piece: Piece, content: bytes, *, name: str = "fest.png", alt: str = "Ein Zelt"
) -> Piece:
    assert piece.id is not None
    return media.upload_media(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=piece.revision,
        filename=name,
        content=content,
        alt_text=alt,
    )


def _stored(session: Session) -> list[MediaFile]:
    return list(session.exec(select(MediaFile)))


def test_an_uploaded_image_is_stored_and_attached_as_a_new_revision(world: World) -> None:
    piece = _piece(world)
    piece = _upload(world, piece, png(), alt="  Ein weißes   Zelt im Park ")
    assert piece.revision == 2
    (stored,) = _stored(world.session)
    assert (stored.filename, stored.mime_type, stored.width, stored.height) == (
        "fest.png",
        "image/png",
        40,
        30,
    )
    assert Image.open(io.BytesIO(stored.content)).size == (40, 30)
    listed = media.piece_media(world.session, actor=world.editor, piece_id=piece.id or 0)
    assert [(m.id, m.filename, m.alt_text, m.is_image) for m in listed] == [
        (stored.id, "fest.png", "Ein weißes Zelt im Park", True)
    ]
    revision = pieces.get_revision(
        world.session, actor=world.editor, piece_id=piece.id or 0, number=2
    )
    assert revision.media == [
        {
            "id": stored.id,
            "filename": "fest.png",
            "mime_type": "image/png",
            "alt_text": "Ein weißes Zelt im Park",
        }
    ]
    assert revision.note == "attached fest.png"
    content, mime = media.media_content(world.session, actor=world.editor, media_id=stored.id or 0)
    assert (content, mime) == (stored.content, "image/png")


def test_a_cut_off_image_is_refused_even_when_pillow_was_told_to_accept_them(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # matrix-synapse sets this on import; a process holding both must still refuse.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    piece = _piece(world)
    with pytest.raises(ValidationFailed) as cut:
        _upload(world, piece, png()[:60], name="kaputt.png")
    assert "kaputt.png" in cut.value.fields["media"]
    assert _stored(world.session) == []
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True


def test_an_image_without_alt_text_is_refused_and_nothing_is_stored(world: World) -> None:
    piece = _piece(world)
    with pytest.raises(ValidationFailed) as err:
        _upload(world, piece, png(), alt="   ")
    assert err.value.fields["alt_text"].code == "alt_text_required"  # type: ignore[attr-defined]
    assert "'fest.png' needs an alt text" in err.value.fields["alt_text"]
    assert _stored(world.session) == []
    assert pieces.get_piece(world.session, actor=world.editor, piece_id=piece.id or 0).revision == 1


def test_a_file_that_is_no_image_is_refused_whatever_its_name(world: World) -> None:
    piece = _piece(world)
    with pytest.raises(ValidationFailed) as err:
        _upload(world, piece, b"GIF89a but really a text file", name="bild.gif")
    message = err.value.fields["media"]
    assert message.code == "media_not_an_image"  # type: ignore[attr-defined]
    assert message == "the file 'bild.gif' is no PNG, JPEG, GIF or WebP image and no PDF"
    with pytest.raises(ValidationFailed) as cut:
        _upload(world, piece, png()[:60], name="kaputt.png")
    assert "kaputt.png" in cut.value.fields["media"]
    with pytest.raises(ValidationFailed) as bmp:
        _upload(world, piece, bitmap(), name="alt.bmp")
    assert bmp.value.fields["media"] == (
        "the file 'alt.bmp' is a BMP image; PNG, JPEG, GIF or WebP are taken"
    )
    # A small file that would unpack to a huge image (a decompression bomb).
    with pytest.raises(ValidationFailed) as bomb:
        _upload(world, piece, png_header(20_000, 20_000), name="bombe.png")
    assert bomb.value.fields["media"] == ("the image 'bombe.png' has more than 80000000 pixels")
    assert _stored(world.session) == []


def animation(kind: str, frames: int = 3) -> bytes:
    """An animated image of `frames` frames in `kind` ("GIF" or "WEBP")."""
    shots = [Image.new("RGB", (20, 20), color) for color in ("red", "green", "blue")[:frames]]
    out = io.BytesIO()
    shots[0].save(out, format=kind, save_all=True, append_images=shots[1:], duration=100, loop=0)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["GIF", "WEBP"])
def test_an_animated_image_is_refused_rather_than_stored_as_its_first_frame(
    world: World, kind: str
) -> None:
    piece = _piece(world)
    name = f"anim.{kind.lower()}"
    with pytest.raises(ValidationFailed) as err:
        _upload(world, piece, animation(kind), name=name)
    message = err.value.fields["media"]
    assert message.code == "media_animated"  # type: ignore[attr-defined]
    assert message == (
        f"the image '{name}' is animated (3 frames); only still images are stored: "
        "upload one frame, or link to the animation in the text"
    )
    assert _stored(world.session) == []
    # One frame of it is a still image, and is stored.
    _upload(world, piece, animation(kind, frames=1), name=name)
    assert len(_stored(world.session)) == 1


def test_a_file_above_the_size_limit_is_refused_with_both_sizes(world: World) -> None:
    piece = _piece(world)
    with pytest.raises(ValidationFailed) as err:
        _upload(world, piece, b"\x89PNG" + b"0" * media.MAX_UPLOAD_BYTES, name="riesig.png")
    assert err.value.fields["media"] == (
        "the file 'riesig.png' has 15.0 MB; at most 15.0 MB can be uploaded"
    )
    assert _stored(world.session) == []


def test_exif_is_stripped_from_a_stored_photo(world: World) -> None:
    photo = jpeg_with_exif()
    assert Image.open(io.BytesIO(photo)).getexif()  # the camera's data is there before
    piece = _upload(world, _piece(world), photo, name="urlaub.jpg", alt="Strand")
    (stored,) = _stored(world.session)
    assert stored.mime_type == "image/jpeg"
    assert not Image.open(io.BytesIO(stored.content)).getexif()
    assert b"Kamerahersteller" not in stored.content
    assert piece.revision == 2


def test_an_oversize_image_is_stored_scaled_down_and_sent_smaller_still(world: World) -> None:
    piece = _upload(world, _piece(world), png(5000, 1000), name="panorama.png", alt="Berge")
    (stored,) = _stored(world.session)
    assert (stored.width, stored.height) == (media.MAX_STORED_SIDE, 819)
    assert piece.media[0]["mime_type"] == "image/png"
    item = Media(url="", filename="panorama.png", mime_type="image/png", content=stored.content)
    sent = uploaded_file(item, Limits(max_count=1, types=frozenset({"image/png"}), max_side=500))
    assert Image.open(io.BytesIO(sent.content)).size == (500, 100)


def test_a_pdf_needs_no_alt_text_but_an_image_channel_refuses_it(
    world: World, media_kind: None
) -> None:
    piece = _upload(
        world, _piece(world), b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n", name="a.pdf", alt=""
    )
    assert [m["mime_type"] for m in piece.media] == ["application/pdf"]
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording_media", name="Feed"
    )
    with pytest.raises(ValidationFailed) as err:
        planning_post(world, piece, channel)
    assert "'a.pdf' is application/pdf" in err.value.fields["channel"]


def planning_post(world: World, piece: Piece, channel: Channel) -> Post:
    assert piece.id is not None and channel.id is not None
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    return planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel=channel.id,
        when=utcnow() + timedelta(days=1),
    )


def test_a_channel_that_cannot_carry_files_refuses_the_upload_by_name(world: World) -> None:
    piece = _piece(world)
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Feed"
    )
    assert piece.id is not None and channel.id is not None
    piece = pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=piece.revision,
        data={"variants": {channel.id: "Wir feiern im Park!"}},
    )
    with pytest.raises(ValidationFailed) as err:
        _upload(world, piece, png())
    assert err.value.fields["media"] == (
        "channel 'Feed' would refuse this post: Recording (tests) posts carry no media here"
    )
    assert _stored(world.session) == []
    assert pieces.get_piece(world.session, actor=world.editor, piece_id=piece.id).revision == 2


def test_alt_text_change_and_removal_are_revisions_and_bound_to_what_the_editor_saw(
    world: World,
) -> None:
    piece = _upload(world, _piece(world), png())
    file_id = int(piece.media[0]["id"])
    assert piece.id is not None
    piece = media.set_alt_text(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=2,
        media_id=file_id,
        alt_text="Ein rotes Zelt",
    )
    assert (piece.revision, piece.media[0]["alt_text"]) == (3, "Ein rotes Zelt")
    same = media.set_alt_text(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=3,
        media_id=file_id,
        alt_text="Ein rotes Zelt",
    )
    assert same.revision == 3  # nothing changed: no revision
    with pytest.raises(EditConflict):
        media.remove_media(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            expected_revision=2,
            media_id=file_id,
        )
    with pytest.raises(ValidationFailed):
        media.set_alt_text(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            expected_revision=3,
            media_id=file_id,
            alt_text="",
        )
    piece = media.remove_media(
        world.session, actor=world.editor, piece_id=piece.id, expected_revision=3, media_id=file_id
    )
    assert (piece.revision, piece.media) == (4, [])
    with pytest.raises(NotFound):
        media.remove_media(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            expected_revision=4,
            media_id=file_id,
        )
    old = pieces.get_revision(world.session, actor=world.editor, piece_id=piece.id, number=3)
    assert old.media[0]["alt_text"] == "Ein rotes Zelt"  # history keeps it
    assert len(_stored(world.session)) == 1


def test_a_contributor_may_not_upload(world: World) -> None:
    piece = _piece(world)
    from planner.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        media.upload_media(
            world.session,
            actor=world.contributor,
            piece_id=piece.id or 0,
            expected_revision=1,
            filename="x.png",
            content=png(),
            alt_text="x",
        )


def test_the_engine_sends_the_approved_revisions_files_only(
    world: World, engine: Engine, media_kind: None
) -> None:
    s = world.session
    channel = channels.create_channel(s, actor=world.admin, kind="recording_media", name="Feed")
    piece = _upload(world, _piece(world), png(400, 200), name="zelt.png", alt="Ein Zelt")
    assert piece.id is not None and channel.id is not None
    pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
    pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=2)
    post = planning.plan_post(
        s,
        actor=world.editor,
        piece_id=piece.id,
        channel=channel.id,
        when=utcnow() + timedelta(days=1),
    )
    # A change of alt text after approval is a new revision that needs review again.
    piece = media.set_alt_text(
        s,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=2,
        media_id=int(piece.media[0]["id"]),
        alt_text="Ein Zelt am Abend",
    )
    assert piece.status == PieceStatus.in_review
    post.publish_at = utcnow() - timedelta(minutes=1)
    s.add(post)
    s.commit()
    worker = Worker(engine, worker_id="test-worker", settings=FAST)
    try:
        assert worker.sweep().claimed == 0  # held: the approval was for revision 2
        pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=3)

        assert worker.sweep().claimed == 1
    finally:
        worker.close()
    ((filename, alt, content),) = MediaRecording.sent[0]
    assert (filename, alt) == ("zelt.png", "Ein Zelt am Abend")
    assert Image.open(io.BytesIO(content)).size == (100, 50)  # fitted to the channel
    with Session(engine) as check:
        assert check.get(Post, post.id).status == PostStatus.published  # type: ignore[union-attr]


def test_a_channel_planned_later_that_cannot_carry_the_files_stops_the_submission(
    world: World,
) -> None:
    piece = _upload(world, _piece(world), png())
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Feed"
    )
    assert piece.id is not None and channel.id is not None
    planning.plan_post(  # a draft may be planned anywhere: its submission checks
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel=channel.id,
        when=utcnow() + timedelta(days=1),
    )
    with pytest.raises(ValidationFailed) as err:
        pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    assert err.value.fields["channel"] == (
        "channel 'Feed' would refuse this post: Recording (tests) posts carry no media here"
    )
    piece = media.remove_media(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=2,
        media_id=int(piece.media[0]["id"]),
    )
    assert (
        pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id or 0).status
        == PieceStatus.in_review
    )


def test_restoring_a_revision_brings_back_its_files_and_alt_texts(world: World) -> None:
    piece = _upload(world, _piece(world), png(), alt="Ein Zelt")
    assert piece.id is not None
    restored = pieces.restore_revision(
        world.session, actor=world.editor, piece_id=piece.id, number=1, expected_revision=2
    )
    assert (restored.revision, restored.media) == (3, [])
    again = pieces.restore_revision(
        world.session, actor=world.editor, piece_id=piece.id, number=2, expected_revision=3
    )
    assert again.revision == 4
    assert [m["alt_text"] for m in again.media] == ["Ein Zelt"]
    diff = pieces.diff_revisions(world.session, actor=world.editor, piece_id=piece.id, old=3, new=4)
    assert diff.media == "--- media @ r3\n+++ media @ r4\n@@ -0,0 +1 @@\n+fest.png: Ein Zelt\n"
    assert [p.part for p in diff.parts] == ["media"]
