"""Editor drafts: kept per user and piece, private to their writer, gone once saved."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from planner import channels, drafts, pieces
from planner.drafts import DraftText
from planner.errors import PermissionDenied, ValidationFailed
from planner.models import EditorDraft, Piece
from tests.conftest import World


def new_piece(world: World) -> Piece:
    """A draft piece by world.editor at revision 1."""
    return pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Werksfest", "body": "Erste Fassung."}
    )


def stored(engine: Engine) -> list[tuple[int, int, int, str, str, dict[str, str]]]:
    """Every draft as another connection sees it."""
    with Session(engine) as fresh:
        return [
            (d.user_id, d.piece_id, d.base_revision, d.title, d.body, d.variants)
            for d in fresh.exec(select(EditorDraft).order_by(EditorDraft.user_id))
        ]


def test_typed_text_is_kept_and_read_back_by_its_writer(world: World, engine: Engine) -> None:
    piece = new_piece(world)
    assert piece.id is not None and world.editor.id is not None
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Intranet"
    )
    assert channel.id is not None
    text = DraftText("Werksfest 2027", "Zweite Fassung.", {str(channel.id): "Kurz.", "999": "  "})
    drafts.keep_draft(
        world.session, actor=world.editor, piece_id=piece.id, base_revision=1, text=text
    )
    assert stored(engine) == [
        (
            world.editor.id,
            piece.id,
            1,
            "Werksfest 2027",
            "Zweite Fassung.",
            {str(channel.id): "Kurz."},
        )
    ]
    draft = drafts.get_draft(world.session, actor=world.editor, piece_id=piece.id)
    assert draft is not None and draft.body == "Zweite Fassung."


def test_a_draft_is_private_to_its_writer(world: World, engine: Engine) -> None:
    piece = new_piece(world)
    assert piece.id is not None
    drafts.keep_draft(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        base_revision=1,
        text=DraftText("Werksfest", "Nur meins.", {}),
    )
    assert drafts.get_draft(world.session, actor=world.editor2, piece_id=piece.id) is None
    assert drafts.discard_draft(world.session, actor=world.editor2, piece_id=piece.id) is False
    assert [row[4] for row in stored(engine)] == ["Nur meins."]
    with pytest.raises(PermissionDenied, match="approver"):
        drafts.get_draft(world.session, actor=world.approver, piece_id=piece.id)


def test_text_equal_to_its_revision_is_no_draft(world: World, engine: Engine) -> None:
    piece = new_piece(world)
    assert piece.id is not None
    kept = drafts.keep_draft(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        base_revision=1,
        text=DraftText("Werksfest", "Geändert.", {}),
    )
    assert kept is not None
    back = drafts.keep_draft(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        base_revision=1,
        text=DraftText("Werksfest", "Erste Fassung.", {}),
    )
    assert back is None
    assert stored(engine) == []


def test_saving_the_piece_deletes_the_savers_draft_only(world: World, engine: Engine) -> None:
    piece = new_piece(world)
    assert piece.id is not None and world.editor2.id is not None
    for actor, body in ((world.editor, "Meins."), (world.editor2, "Ihres.")):
        drafts.keep_draft(
            world.session,
            actor=actor,
            piece_id=piece.id,
            base_revision=1,
            text=DraftText("Werksfest", body, {}),
        )
    pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=1,
        data={"body": "Meins."},
    )
    assert stored(engine) == [(world.editor2.id, piece.id, 1, "Werksfest", "Ihres.", {})]


def test_a_draft_begun_on_an_older_revision_shows_what_changed_since(world: World) -> None:
    piece = new_piece(world)
    assert piece.id is not None
    drafts.keep_draft(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        base_revision=1,
        text=DraftText("Werksfest", "Mein Entwurf.", {}),
    )
    assert drafts.changes_since(world.session, actor=world.editor, piece_id=piece.id) is None
    pieces.edit_piece(
        world.session,
        actor=world.editor2,
        piece_id=piece.id,
        expected_revision=1,
        data={"body": "Fassung von jemand anderem."},
    )
    diff = drafts.changes_since(world.session, actor=world.editor, piece_id=piece.id)
    assert diff is not None
    assert (diff.old, diff.new) == (1, 2)
    assert [part.part for part in diff.parts] == ["body"]
    assert "+Fassung von jemand anderem." in diff.body


def test_discarding_deletes_the_draft(world: World, engine: Engine) -> None:
    piece = new_piece(world)
    assert piece.id is not None
    drafts.keep_draft(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        base_revision=1,
        text=DraftText("Werksfest", "Weg damit.", {}),
    )
    assert drafts.discard_draft(world.session, actor=world.editor, piece_id=piece.id) is True
    assert stored(engine) == []
    assert drafts.get_draft(world.session, actor=world.editor, piece_id=piece.id) is None


@pytest.mark.parametrize("base", [pytest.param(0, id="zero"), pytest.param(2, id="future")])
def test_a_base_that_is_no_revision_is_refused_by_number(
    world: World, engine: Engine, base: int
) -> None:
    piece = new_piece(world)
    assert piece.id is not None
    with pytest.raises(ValidationFailed, match=f"revision {base} is not a revision of piece"):
        drafts.keep_draft(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            base_revision=base,
            text=DraftText("Werksfest", "Text.", {}),
        )
    assert stored(engine) == []


def test_keeping_the_same_text_again_writes_nothing(world: World) -> None:
    piece = new_piece(world)
    assert piece.id is not None
    text = DraftText("Werksfest", "Gleich.", {})
    first = drafts.keep_draft(
        world.session, actor=world.editor, piece_id=piece.id, base_revision=1, text=text
    )
    assert first is not None
    stamp = first.updated_at
    again = drafts.keep_draft(
        world.session, actor=world.editor, piece_id=piece.id, base_revision=1, text=text
    )
    assert again is not None and again.updated_at == stamp
