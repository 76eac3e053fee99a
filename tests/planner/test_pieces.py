"""Pieces: four-eyes, approval bound to a revision, optimistic locking, history, comments."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from planner import audit, channels, ideas, pieces, planning, workflow
from planner.errors import (
    EditConflict,
    FourEyesViolation,
    IllegalTransition,
    NothingToRestore,
    PermissionDenied,
    ValidationFailed,
)
from planner.models import AuditEvent, Comment, Piece, PieceStatus, Revision, Role
from tests.conftest import World, utc

PUBLISH_AT = utc(2099, 3, 2, 9, 0)
AFTER_PUBLISH_AT = utc(2099, 3, 2, 9, 5)


def new_piece(world: World, body: str = "First line.\nSecond line.") -> Piece:
    """A draft by world.editor at revision 1."""
    return pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Winter tyre checklist", "body": body}
    )


def in_review(world: World, body: str = "First line.\nSecond line.") -> Piece:
    """A piece by world.editor, submitted for review at revision 1."""
    piece = new_piece(world, body)
    assert piece.id is not None
    return pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)


def stored_piece(engine: Engine, piece_id: int) -> Piece:
    """The piece as another connection sees it."""
    with Session(engine) as fresh:
        piece = fresh.get(Piece, piece_id)
        assert piece is not None
        return piece


def audit_count(engine: Engine) -> int:
    """How many audit events exist."""
    with Session(engine) as fresh:
        return fresh.exec(select(func.count()).select_from(AuditEvent)).one()


def edit(world: World, piece_id: int, actor_name: str, revision: int, body: str) -> Piece:
    """Save `body` as the user `actor_name`, starting from `revision`."""
    actor = getattr(world, actor_name)
    return pieces.edit_piece(
        world.session,
        actor=actor,
        piece_id=piece_id,
        expected_revision=revision,
        data={"body": body},
    )


# --- four-eyes -----------------------------------------------------------------------------


def test_admin_who_edited_a_revision_cannot_approve_it(world: World, engine: Engine) -> None:
    piece = new_piece(world)
    assert piece.id is not None
    edit(world, piece.id, "admin", 1, "Admin's wording.")
    edit(world, piece.id, "editor", 2, "Editor's wording.")  # the admin's edit is history now
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    events = audit_count(engine)

    with pytest.raises(FourEyesViolation, match="four-eyes"):
        pieces.approve_piece(world.session, actor=world.admin, piece_id=piece.id, revision=3)

    assert stored_piece(engine, piece.id).status == PieceStatus.in_review
    assert stored_piece(engine, piece.id).approved_revision is None
    assert audit_count(engine) == events


def test_admin_who_created_the_piece_cannot_approve_it(world: World, engine: Engine) -> None:
    piece = pieces.create_piece(world.session, actor=world.admin, data={"title": "Admin's own"})
    assert piece.id is not None
    pieces.submit_piece(world.session, actor=world.admin, piece_id=piece.id)

    with pytest.raises(FourEyesViolation):
        pieces.approve_piece(world.session, actor=world.admin, piece_id=piece.id, revision=1)

    assert stored_piece(engine, piece.id).status == PieceStatus.in_review


def test_editor_later_made_approver_cannot_approve_what_they_wrote(
    world: World, engine: Engine
) -> None:
    piece = in_review(world)
    assert piece.id is not None
    # No service changes a role yet; an admin doing it in the database is the realistic path.
    promoted = world.editor
    promoted.role = Role.approver
    world.session.add(promoted)
    world.session.commit()

    with pytest.raises(FourEyesViolation):
        pieces.approve_piece(world.session, actor=promoted, piece_id=piece.id, revision=1)

    assert stored_piece(engine, piece.id).status == PieceStatus.in_review


def test_the_submitter_of_the_idea_a_piece_was_made_from_cannot_approve_it(
    world: World, engine: Engine
) -> None:
    # The idea's pitch becomes the piece's text, written down by the accepting editor.
    submitted = ideas.submit_idea(
        world.session,
        actor=world.approver,
        data={
            "title": "Our approval process",
            "pitch": "The approver's own words, published as they are.",
            "department": "Marketing",
        },
    ).idea
    assert submitted.id is not None
    piece = ideas.accept_idea(world.session, actor=world.editor, idea_id=submitted.id)
    assert piece.id is not None
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    events = audit_count(engine)

    with pytest.raises(FourEyesViolation) as caught:
        pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=1)

    assert str(caught.value) == (
        f"'approver' submitted idea #{submitted.id}, whose text piece {piece.id} was made "
        "from, and so may not approve it; another approver must (four-eyes rule)"
    )
    assert stored_piece(engine, piece.id).status == PieceStatus.in_review
    assert audit_count(engine) == events
    other = world.user("other-approver", Role.approver)
    approved = pieces.approve_piece(world.session, actor=other, piece_id=piece.id, revision=1)
    assert approved.status == PieceStatus.approved


@pytest.mark.parametrize("role", [Role.approver, Role.admin])
def test_another_approver_or_admin_can_approve_what_an_admin_edited(
    world: World, engine: Engine, role: Role
) -> None:
    other = world.user(f"other-{role.value}", role)
    piece = new_piece(world)
    assert piece.id is not None
    edit(world, piece.id, "admin", 1, "Admin's wording.")
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)

    pieces.approve_piece(world.session, actor=other, piece_id=piece.id, revision=2)

    stored = stored_piece(engine, piece.id)
    assert stored.status == PieceStatus.approved
    assert (stored.approved_revision, stored.approved_by_id) == (2, other.id)
    assert stored.approved_at is not None


# --- approval is bound to a revision --------------------------------------------------------


def test_approving_a_stale_revision_is_an_edit_conflict(world: World, engine: Engine) -> None:
    piece = in_review(world)
    assert piece.id is not None
    edit(world, piece.id, "editor", 1, "Changed while the approver was reading.")
    events = audit_count(engine)

    with pytest.raises(EditConflict) as caught:
        pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=1)

    assert (caught.value.expected, caught.value.current) == (1, 2)
    stored = stored_piece(engine, piece.id)
    assert (stored.status, stored.approved_revision) == (PieceStatus.in_review, None)
    assert audit_count(engine) == events


def test_approval_records_the_revision_in_the_audit_event(world: World) -> None:
    piece = in_review(world)
    assert piece.id is not None

    pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=1)

    event = audit.list_events(
        world.session, actor=world.admin, object_type="piece", object_id=piece.id
    )[-1]
    assert (event.action, event.version, event.actor_id) == ("approve", 1, world.approver.id)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"body": "A late fix."}, id="body"),
        pytest.param({"title": "A better title"}, id="title"),
        pytest.param({"tags": ["winter"]}, id="tags"),
        pytest.param({"campaign": "Winter 2099"}, id="campaign"),
        pytest.param({"due_date": "2099-01-15"}, id="due-date"),
    ],
)
def test_any_edit_after_approval_sends_the_piece_back_to_review(
    world: World, engine: Engine, change: dict[str, object]
) -> None:
    piece = in_review(world)
    assert piece.id is not None
    pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=1)
    assert pieces.is_approved_as_is(stored_piece(engine, piece.id))

    pieces.edit_piece(
        world.session, actor=world.editor2, piece_id=piece.id, expected_revision=1, data=change
    )

    stored = stored_piece(engine, piece.id)
    assert (stored.status, stored.revision, stored.approved_revision) == (
        PieceStatus.in_review,
        2,
        1,
    )
    assert not pieces.is_approved_as_is(stored)
    event = audit.list_events(
        world.session, actor=world.admin, object_type="piece", object_id=piece.id
    )[-1]
    assert (event.action, event.from_state, event.to_state) == ("edit", "approved", "in_review")


def test_due_post_is_held_when_piece_changed_after_approval(world: World) -> None:
    s = world.session
    channel = channels.create_channel(s, actor=world.admin, kind="recording", name="Mastodon")
    piece = in_review(world)
    assert piece.id is not None and channel.id is not None
    post = planning.plan_post(
        s, actor=world.editor, piece_id=piece.id, channel=channel.id, when=PUBLISH_AT
    )
    assert planning.due_posts(s, now=AFTER_PUBLISH_AT) == []  # not approved yet

    pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=1)
    assert [p.id for p in planning.due_posts(s, now=AFTER_PUBLISH_AT)] == [post.id]

    edit(world, piece.id, "editor", 1, "Changed after approval.")
    assert planning.due_posts(s, now=AFTER_PUBLISH_AT) == []
    held = planning.held_posts(s, actor=world.admin, now=AFTER_PUBLISH_AT)
    assert [(h.post.id, h.reason) for h in held] == [
        (post.id, planning.HoldReason.changed_after_approval)
    ]

    with pytest.raises(EditConflict):
        pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=1)
    assert planning.due_posts(s, now=AFTER_PUBLISH_AT) == []

    pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=2)
    assert [p.id for p in planning.due_posts(s, now=AFTER_PUBLISH_AT)] == [post.id]
    assert planning.held_posts(s, actor=world.admin, now=AFTER_PUBLISH_AT) == []


# --- optimistic locking ---------------------------------------------------------------------


def test_second_save_from_the_same_revision_is_a_conflict_that_keeps_the_typed_text(
    world: World, engine: Engine
) -> None:
    piece = new_piece(world)
    assert piece.id is not None
    edit(world, piece.id, "editor", 1, "Editor one's text.")

    with pytest.raises(EditConflict) as caught:
        edit(world, piece.id, "editor2", 1, "Editor two's text.")

    assert caught.value.attempted.body == "Editor two's text."
    assert (caught.value.expected, caught.value.current) == (1, 2)
    stored = stored_piece(engine, piece.id)
    assert (stored.body, stored.revision) == ("Editor one's text.", 2)
    numbers = [
        r.number for r in pieces.history(world.session, actor=world.editor, piece_id=piece.id)
    ]
    assert numbers == [1, 2]


def test_concurrent_editors_first_save_wins_and_second_gets_a_conflict(
    world: World, engine: Engine
) -> None:
    piece = new_piece(world)
    assert piece.id is not None
    with Session(engine, expire_on_commit=False) as one, Session(engine) as two:
        # Both editors open revision 1 in their own session.
        mine = pieces.get_piece(one, actor=world.editor, piece_id=piece.id)
        theirs = pieces.get_piece(two, actor=world.editor2, piece_id=piece.id)
        assert mine.revision == theirs.revision == 1

        pieces.edit_piece(
            one,
            actor=world.editor,
            piece_id=piece.id,
            expected_revision=1,
            data={"body": "Editor one's text."},
        )
        with pytest.raises(EditConflict) as caught:
            pieces.edit_piece(
                two,
                actor=world.editor2,
                piece_id=piece.id,
                expected_revision=1,
                data={"body": "Editor two's text.", "title": "Their title"},
            )

    # Session two re-reads the piece (services never trust a cached copy), sees revision 2
    # and refuses; a save racing past that check is caught by the row version instead.
    assert caught.value.attempted.body == "Editor two's text."
    assert caught.value.attempted.title == "Their title"
    assert caught.value.current == 2
    stored = stored_piece(engine, piece.id)
    assert (stored.body, stored.title, stored.revision) == (
        "Editor one's text.",
        "Winter tyre checklist",
        2,
    )
    with Session(engine) as fresh:
        authors = fresh.exec(
            select(Revision.author_id)
            .where(Revision.piece_id == piece.id)
            .order_by(col(Revision.number))
        ).all()
    assert list(authors) == [world.editor.id, world.editor.id]


def test_approval_of_a_revision_edited_meanwhile_in_another_session_is_refused(
    world: World, engine: Engine
) -> None:
    piece = in_review(world)
    assert piece.id is not None
    with Session(engine) as approver_session:
        # The approver opens revision 1; an editor saves revision 2 before they click approve.
        opened = pieces.get_piece(approver_session, actor=world.approver, piece_id=piece.id)
        assert opened.revision == 1
        edit(world, piece.id, "editor", 1, "Changed while the approver was reading.")

        with pytest.raises(EditConflict):
            pieces.approve_piece(
                approver_session, actor=world.approver, piece_id=piece.id, revision=1
            )

    stored = stored_piece(engine, piece.id)
    assert (stored.status, stored.revision, stored.approved_revision) == (
        PieceStatus.in_review,
        2,
        None,
    )


def test_an_approval_racing_an_edit_past_its_checks_is_a_conflict_in_revisions(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    piece = in_review(world)
    assert piece.id is not None
    real = workflow.check
    pending = [piece.id]

    def check(kind: str, obj: Any, action: str, actor: Any, note: str = "") -> workflow.Move:
        # An editor saves revision 2 once the approval has passed its own reading.
        if action == "approve" and pending:
            with Session(engine) as other:
                pieces.edit_piece(
                    other,
                    actor=world.editor2,
                    piece_id=pending.pop(),
                    expected_revision=1,
                    data={"body": "Changed at the same moment."},
                )
        return real(kind, obj, action, actor, note)

    monkeypatch.setattr(workflow, "check", check)
    with pytest.raises(EditConflict) as caught:
        pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=1)

    # Revisions, as the approver reads and approves them (not the row's internal version).
    assert (caught.value.expected, caught.value.current) == (1, 2)
    stored = stored_piece(engine, piece.id)
    assert (stored.status, stored.revision, stored.approved_revision) == (
        PieceStatus.in_review,
        2,
        None,
    )
    monkeypatch.setattr(workflow, "check", real)
    approved = pieces.approve_piece(
        world.session, actor=world.approver, piece_id=piece.id, revision=caught.value.current
    )
    assert (approved.status, approved.approved_revision) == (PieceStatus.approved, 2)


def test_conflicting_save_writes_no_revision_and_no_audit_event(
    world: World, engine: Engine
) -> None:
    piece = new_piece(world)
    assert piece.id is not None
    edit(world, piece.id, "editor", 1, "Editor one's text.")
    events = audit_count(engine)

    with pytest.raises(EditConflict):
        edit(world, piece.id, "editor2", 1, "Editor two's text.")

    assert audit_count(engine) == events
    assert len(pieces.history(world.session, actor=world.editor, piece_id=piece.id)) == 2


# --- history, diff, restore -----------------------------------------------------------------


def test_every_save_is_a_revision_in_the_history(world: World) -> None:
    piece = new_piece(world, "v1")
    assert piece.id is not None
    edit(world, piece.id, "editor", 1, "v2")
    edit(world, piece.id, "editor2", 2, "v3")

    revs = pieces.history(world.session, actor=world.approver, piece_id=piece.id)

    assert [(r.number, r.body) for r in revs] == [(1, "v1"), (2, "v2"), (3, "v3")]
    assert [r.author_id for r in revs] == [world.editor.id, world.editor.id, world.editor2.id]


def test_saving_unchanged_content_makes_no_new_revision(world: World, engine: Engine) -> None:
    piece = new_piece(world, "Same.")
    assert piece.id is not None
    events = audit_count(engine)

    edit(world, piece.id, "editor", 1, "Same.")

    assert stored_piece(engine, piece.id).revision == 1
    assert audit_count(engine) == events


def test_diff_shows_the_changed_lines(world: World) -> None:
    piece = new_piece(world, "Keep this line.\nOld wording here.")
    assert piece.id is not None
    edit(world, piece.id, "editor", 1, "Keep this line.\nNew wording here.")

    diff = pieces.diff_revisions(world.session, actor=world.editor, piece_id=piece.id, old=1, new=2)

    assert "-Old wording here." in diff.body
    assert "+New wording here." in diff.body
    assert "-Keep this line." not in diff.body
    assert diff.title == ""  # the title did not change
    assert "+New wording here." in diff.text


def test_diff_shows_changed_channel_variants(world: World) -> None:
    s = world.session
    channel = channels.create_channel(s, actor=world.admin, kind="recording", name="Mastodon")
    piece = new_piece(world)
    assert piece.id is not None and channel.id is not None
    pieces.edit_piece(
        s,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=1,
        data={"variants": {channel.id: "Short toot #winter"}},
    )

    diff = pieces.diff_revisions(s, actor=world.editor, piece_id=piece.id, old=1, new=2)

    assert "+Short toot #winter" in diff.variants[str(channel.id)]


def test_restore_saves_old_content_as_a_new_revision(world: World, engine: Engine) -> None:
    piece = new_piece(world, "Original.")
    assert piece.id is not None
    edit(world, piece.id, "editor", 1, "Rewritten.")

    restored = pieces.restore_revision(
        world.session, actor=world.editor2, piece_id=piece.id, number=1, expected_revision=2
    )

    assert (restored.revision, restored.body) == (3, "Original.")
    revs = pieces.history(world.session, actor=world.editor, piece_id=piece.id)
    assert [r.body for r in revs] == ["Original.", "Rewritten.", "Original."]
    assert revs[-1].note == "restored revision 1"
    assert stored_piece(engine, piece.id).body == "Original."


def test_restore_from_a_stale_revision_is_an_edit_conflict(world: World, engine: Engine) -> None:
    piece = new_piece(world, "Original.")
    assert piece.id is not None
    edit(world, piece.id, "editor", 1, "Rewritten.")

    with pytest.raises(EditConflict):
        pieces.restore_revision(
            world.session, actor=world.editor2, piece_id=piece.id, number=1, expected_revision=1
        )

    assert stored_piece(engine, piece.id).body == "Rewritten."


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        pytest.param({"due_date": date(2026, 12, 15)}, "+2026-12-15", id="due-date"),
        pytest.param({"campaign": "Winteraktion"}, "+Winteraktion", id="campaign"),
        pytest.param({"tags": ["winter", "sicherheit"]}, "+sicherheit", id="tags"),
    ],
)
def test_save_changing_only_due_date_campaign_or_tags_can_be_diffed_and_restored(
    world: World, engine: Engine, change: dict[str, Any], shown: str
) -> None:
    s = world.session
    piece = pieces.create_piece(
        s,
        actor=world.editor,
        data={
            "title": "Winter tyre checklist",
            "body": "Check the tread.",
            "due_date": "2026-12-01",
            "campaign": "Herbst",
            "tags": ["winter"],
        },
    )
    assert piece.id is not None
    before = stored_piece(engine, piece.id)
    pieces.edit_piece(s, actor=world.editor, piece_id=piece.id, expected_revision=1, data=change)

    diff = pieces.diff_revisions(s, actor=world.editor, piece_id=piece.id, old=1, new=2)
    restored = pieces.restore_revision(
        s, actor=world.editor, piece_id=piece.id, number=1, expected_revision=2
    )

    assert shown in diff.text
    assert (diff.title, diff.body) == ("", "")
    assert restored.revision == 3
    after = stored_piece(engine, piece.id)
    assert (after.due_date, after.campaign, after.tags) == (
        before.due_date,
        before.campaign,
        before.tags,
    )
    with Session(engine) as fresh:
        kept = fresh.exec(
            select(Revision).where(Revision.piece_id == piece.id).order_by(col(Revision.number))
        ).all()
    field = next(iter(change))
    assert [getattr(r, field) for r in kept] == [
        getattr(before, field),
        change[field],
        getattr(before, field),
    ]


def test_diff_names_each_tag_added_or_removed(world: World) -> None:
    s = world.session
    piece = pieces.create_piece(
        s, actor=world.editor, data={"title": "Winter tyre checklist", "tags": ["auto", "winter"]}
    )
    assert piece.id is not None
    pieces.edit_piece(
        s,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=1,
        data={"tags": ["winter", "sicherheit"]},
    )

    diff = pieces.diff_revisions(s, actor=world.editor, piece_id=piece.id, old=1, new=2)

    assert "-auto\n" in diff.tags and "+sicherheit\n" in diff.tags
    assert "-winter" not in diff.tags


@pytest.mark.parametrize(
    ("number", "edits"),
    [
        pytest.param(1, 0, id="the-current-revision"),
        pytest.param(1, 2, id="an-old-revision-already-restored"),
    ],
)
def test_restoring_a_revision_with_the_current_content_is_refused_and_saves_nothing(
    world: World, engine: Engine, number: int, edits: int
) -> None:
    piece = new_piece(world, "Original.")
    assert piece.id is not None
    if edits:
        edit(world, piece.id, "editor", 1, "Rewritten.")
        edit(world, piece.id, "editor", 2, "Original.")
    current = 1 + edits
    events = audit_count(engine)

    with pytest.raises(NothingToRestore) as caught:
        pieces.restore_revision(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            number=number,
            expected_revision=current,
        )

    assert str(caught.value.reason) == (
        f"revision {number} of piece {piece.id} has the same content as the current "
        f"revision {current}: nothing to restore"
    )
    assert stored_piece(engine, piece.id).revision == current
    assert audit_count(engine) == events


def test_edit_with_an_unknown_channel_variant_is_refused(world: World, engine: Engine) -> None:
    piece = new_piece(world)
    assert piece.id is not None

    with pytest.raises(ValidationFailed) as caught:
        pieces.edit_piece(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            expected_revision=1,
            data={"variants": {999: "Nowhere"}},
        )

    assert set(caught.value.fields) == {"variants"}
    assert stored_piece(engine, piece.id).revision == 1


# --- who may edit, and when -----------------------------------------------------------------


@pytest.mark.parametrize("actor_name", ["approver", "contributor"])
def test_only_editors_and_admins_edit_pieces(world: World, engine: Engine, actor_name: str) -> None:
    piece = new_piece(world, "Original.")
    assert piece.id is not None

    with pytest.raises(PermissionDenied):
        edit(world, piece.id, actor_name, 1, "Not theirs to write.")

    assert stored_piece(engine, piece.id).body == "Original."


def test_archived_piece_cannot_be_edited(world: World, engine: Engine) -> None:
    piece = new_piece(world, "Original.")
    assert piece.id is not None
    pieces.archive_piece(world.session, actor=world.editor, piece_id=piece.id)
    events = audit_count(engine)

    with pytest.raises(IllegalTransition) as caught:
        edit(world, piece.id, "editor", 1, "Too late.")

    assert "while it is 'archived'" in str(caught.value)
    assert caught.value.allowed == ["reopen"]
    stored = stored_piece(engine, piece.id)
    assert (stored.body, stored.revision) == ("Original.", 1)
    assert audit_count(engine) == events


def test_a_move_held_to_the_state_seen_refuses_a_piece_approved_since(
    world: World, engine: Engine
) -> None:
    # Seen as a draft at revision 1; submitted and approved since, still revision 1.
    piece = in_review(world)
    assert piece.id is not None
    pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=1)
    events = audit_count(engine)

    with pytest.raises(EditConflict) as caught:
        pieces.archive_piece(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            revision=1,
            expected_status=PieceStatus.draft,
        )

    assert (caught.value.expected, caught.value.current) == (1, 1)
    stored = stored_piece(engine, piece.id)
    assert (stored.status, stored.approved_revision) == (PieceStatus.approved, 1)
    assert audit_count(engine) == events
    # Held to what it is now, or to nothing (as the CLI), the move is made.
    pieces.archive_piece(
        world.session, actor=world.editor, piece_id=piece.id, expected_status=PieceStatus.approved
    )
    assert stored_piece(engine, piece.id).status == PieceStatus.archived
    pieces.reopen_piece(world.session, actor=world.editor, piece_id=piece.id)
    assert stored_piece(engine, piece.id).status == PieceStatus.draft


@pytest.mark.parametrize("action", ["submit", "archive"])
def test_a_move_held_to_an_older_revision_is_an_edit_conflict(
    world: World, engine: Engine, action: str
) -> None:
    piece = new_piece(world, "Original.")
    assert piece.id is not None
    edit(world, piece.id, "editor", 1, "Changed since.")
    move = {"submit": pieces.submit_piece, "archive": pieces.archive_piece}[action]

    with pytest.raises(EditConflict) as caught:
        move(world.session, actor=world.editor, piece_id=piece.id, revision=1)

    assert (caught.value.expected, caught.value.current) == (1, 2)
    assert stored_piece(engine, piece.id).status == PieceStatus.draft


def test_reopened_piece_can_be_edited_again(world: World, engine: Engine) -> None:
    piece = new_piece(world, "Original.")
    assert piece.id is not None
    pieces.archive_piece(world.session, actor=world.editor, piece_id=piece.id)
    pieces.reopen_piece(world.session, actor=world.editor, piece_id=piece.id)

    edit(world, piece.id, "editor", 1, "Back in business.")

    stored = stored_piece(engine, piece.id)
    assert (stored.status, stored.body) == (PieceStatus.draft, "Back in business.")


# --- comments -------------------------------------------------------------------------------


def test_comment_is_tied_to_the_current_revision_and_audited(world: World) -> None:
    piece = new_piece(world)
    assert piece.id is not None
    edit(world, piece.id, "editor", 1, "Second version.")

    comment = pieces.add_comment(
        world.session, actor=world.approver, piece_id=piece.id, body="  Nice intro.  "
    )

    assert (comment.body, comment.revision, comment.author_id) == (
        "Nice intro.",
        2,
        world.approver.id,
    )
    listed = pieces.list_comments(world.session, actor=world.editor, piece_id=piece.id)
    assert [c.body for c in listed] == ["Nice intro."]
    event = audit.list_events(
        world.session, actor=world.admin, object_type="piece", object_id=piece.id
    )[-1]
    assert (event.action, event.note) == ("comment", "Nice intro.")


def test_comments_are_listed_oldest_first(world: World) -> None:
    piece = new_piece(world)
    assert piece.id is not None
    for body in ("First", "Second", "Third"):
        pieces.add_comment(world.session, actor=world.editor, piece_id=piece.id, body=body)

    listed = pieces.list_comments(world.session, actor=world.approver, piece_id=piece.id)

    assert [c.body for c in listed] == ["First", "Second", "Third"]


def test_change_request_is_kept_as_a_comment(world: World) -> None:
    piece = in_review(world)
    assert piece.id is not None

    pieces.request_changes(
        world.session, actor=world.approver, piece_id=piece.id, comment="Add the source."
    )

    listed = pieces.list_comments(world.session, actor=world.editor, piece_id=piece.id)
    assert [(c.body, c.author_id, c.revision) for c in listed] == [
        ("Add the source.", world.approver.id, 1)
    ]


@pytest.mark.parametrize("body", ["", "   "])
def test_empty_comment_is_refused(world: World, engine: Engine, body: str) -> None:
    piece = new_piece(world)
    assert piece.id is not None

    with pytest.raises(ValidationFailed) as caught:
        pieces.add_comment(world.session, actor=world.editor, piece_id=piece.id, body=body)

    assert set(caught.value.fields) == {"body"}
    with Session(engine) as fresh:
        assert fresh.exec(select(func.count()).select_from(Comment)).one() == 0


def test_contributor_cannot_comment_on_pieces(world: World, engine: Engine) -> None:
    piece = new_piece(world)
    assert piece.id is not None

    with pytest.raises(PermissionDenied):
        pieces.add_comment(world.session, actor=world.contributor, piece_id=piece.id, body="Hi")

    with Session(engine) as fresh:
        assert fresh.exec(select(func.count()).select_from(Comment)).one() == 0


# --- board and approvals --------------------------------------------------------------------


def test_pieces_are_counted_per_state_with_every_state_present(world: World) -> None:
    new_piece(world)
    new_piece(world)
    in_review(world)

    counts = pieces.count_pieces_by_status(world.session, actor=world.approver)

    assert counts == {
        PieceStatus.draft: 2,
        PieceStatus.in_review: 1,
        PieceStatus.changes_requested: 0,
        PieceStatus.approved: 0,
        PieceStatus.published: 0,
        PieceStatus.archived: 0,
    }
    with pytest.raises(PermissionDenied):
        pieces.count_pieces_by_status(world.session, actor=world.contributor)


def test_review_diff_of_a_never_approved_piece_shows_everything_as_added(world: World) -> None:
    piece = in_review(world, "First line.\nSecond line.")
    assert piece.id is not None

    diff = pieces.review_diff(world.session, actor=world.approver, piece_id=piece.id)

    assert (diff.old, diff.new) == (0, 1)
    assert "+First line." in diff.body and "+Second line." in diff.body
    assert "+Winter tyre checklist" in diff.title


def test_review_diff_compares_with_the_last_approved_revision(world: World) -> None:
    piece = in_review(world, "Keep this line.\nOld wording here.")
    assert piece.id is not None
    s = world.session
    pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=1)
    edit(world, piece.id, "editor", 1, "Keep this line.\nSecond wording.")
    edit(world, piece.id, "editor", 2, "Keep this line.\nThird wording.")

    diff = pieces.review_diff(s, actor=world.approver, piece_id=piece.id)

    assert (diff.old, diff.new) == (1, 3)
    assert "-Old wording here." in diff.body and "+Third wording." in diff.body
    assert "Second wording" not in diff.body


def test_review_queue_lists_pieces_in_review_longest_waiting_first_with_owners(
    world: World,
) -> None:
    first = in_review(world)
    new_piece(world)
    second = in_review(world)

    queue = pieces.review_queue(world.session, actor=world.approver)
    page = pieces.review_queue(world.session, actor=world.approver, limit=1, offset=1)

    assert [(item.piece.id, item.owner) for item in queue] == [
        (first.id, "Editor"),
        (second.id, "Editor"),
    ]
    assert [item.piece.id for item in page] == [second.id]
    with pytest.raises(PermissionDenied):
        pieces.review_queue(world.session, actor=world.contributor)
