from planner import ideas, pieces
from tests.conftest import World


def test_contributor_idea_becomes_approved_piece(world: World) -> None:
    s = world.session
    sub = ideas.submit_idea(
        s,
        actor=world.contributor,
        data={
            "title": "Tipps für den Winter",
            "pitch": "Zehn Tipps für sichere Winterfahrten",
            "department": "Marketing",
        },
    )
    piece = ideas.accept_idea(s, actor=world.editor, idea_id=sub.idea.id)
    piece = pieces.edit_piece(
        s, actor=world.editor, piece_id=piece.id, expected_revision=1, data={"body": "Neuer Text"}
    )
    pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
    piece = pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=2)
    assert piece.status == "approved" and piece.approved_revision == 2
