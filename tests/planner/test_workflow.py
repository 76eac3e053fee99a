"""The workflow tables, driven through the service functions for every state, action and role."""

from __future__ import annotations

import enum
import itertools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, SQLModel, col, func, select

from planner import channels, finishing, ideas, pieces, planning, publishing, users, workflow
from planner.errors import EditConflict, IllegalTransition, PermissionDenied, ValidationFailed
from planner.models import (
    AuditEvent,
    Channel,
    Comment,
    Idea,
    IdeaStatus,
    Piece,
    PieceStatus,
    Post,
    PostStatus,
    Revision,
    Role,
    User,
    utcnow,
)
from planner.publishing import EngineSettings
from planner.worker import Worker
from tests.conftest import World
from tests.postgres_database import end_connections, named_engine

EDITORIAL = frozenset({Role.editor, Role.admin})
APPROVERS = frozenset({Role.approver, Role.admin})
SYSTEM: frozenset[Role] = frozenset()  # only the scheduler

# The intended workflow, written out by hand, independently of planner.workflow:
# (state, action) -> (target state, roles that may take the move).
DOCUMENTED_MOVES: dict[str, dict[tuple[str, str], tuple[str, frozenset[Role]]]] = {
    "idea": {
        ("submitted", "accept"): ("accepted", EDITORIAL),
        ("submitted", "reject"): ("rejected", EDITORIAL),
        ("submitted", "merge"): ("merged", EDITORIAL),
        ("rejected", "reopen"): ("submitted", EDITORIAL),
    },
    "piece": {
        ("draft", "submit"): ("in_review", EDITORIAL),
        ("in_review", "approve"): ("approved", APPROVERS),
        ("in_review", "request_changes"): ("changes_requested", APPROVERS),
        ("changes_requested", "revise"): ("draft", EDITORIAL),
        ("draft", "edit"): ("draft", EDITORIAL),
        ("in_review", "edit"): ("in_review", EDITORIAL),
        ("changes_requested", "edit"): ("changes_requested", EDITORIAL),
        ("approved", "edit"): ("in_review", EDITORIAL),
        ("draft", "archive"): ("archived", EDITORIAL),
        ("in_review", "archive"): ("archived", EDITORIAL),
        ("changes_requested", "archive"): ("archived", EDITORIAL),
        ("approved", "archive"): ("archived", EDITORIAL),
        ("published", "archive"): ("archived", EDITORIAL),
        ("archived", "reopen"): ("draft", EDITORIAL),
        ("approved", "publish"): ("published", SYSTEM),
    },
    "post": {
        ("planned", "claim"): ("publishing", SYSTEM),
        ("planned", "miss"): ("missed", SYSTEM),
        ("publishing", "publish"): ("published", SYSTEM),
        ("publishing", "retry_later"): ("planned", SYSTEM),
        ("publishing", "fail"): ("failed", SYSTEM),
        ("publishing", "hand_over"): ("awaiting_manual", SYSTEM),
        ("publishing", "requeue"): ("planned", SYSTEM),
        ("publishing", "suspect"): ("needs_check", SYSTEM),
        ("needs_check", "found"): ("published", SYSTEM),
        ("needs_check", "not_found"): ("planned", SYSTEM),
        ("cancelled", "arrived"): ("published", SYSTEM),
        ("planned", "move"): ("planned", EDITORIAL),
        ("failed", "move"): ("planned", EDITORIAL),
        ("missed", "move"): ("planned", EDITORIAL),
        ("planned", "cancel"): ("cancelled", EDITORIAL),
        ("failed", "cancel"): ("cancelled", EDITORIAL),
        ("missed", "cancel"): ("cancelled", EDITORIAL),
        ("publishing", "cancel"): ("cancelled", EDITORIAL),
        ("needs_check", "cancel"): ("cancelled", EDITORIAL),
        ("awaiting_manual", "cancel"): ("cancelled", EDITORIAL),
        ("failed", "retry"): ("planned", EDITORIAL),
        ("missed", "retry"): ("planned", EDITORIAL),
        ("needs_check", "retry"): ("planned", EDITORIAL),
        ("needs_check", "mark_posted"): ("published", EDITORIAL),
        ("awaiting_manual", "mark_posted"): ("published", EDITORIAL),
    },
}
NOTE_REQUIRED = {("idea", "reject"), ("piece", "request_changes")}
STATES: dict[str, type[enum.StrEnum]] = {
    "idea": IdeaStatus,
    "piece": PieceStatus,
    "post": PostStatus,
}
ACTIONS = {
    "idea": ["accept", "reject", "merge", "reopen"],
    "piece": [
        "submit",
        "approve",
        "request_changes",
        "revise",
        "edit",
        "archive",
        "reopen",
        "publish",
    ],
    "post": [
        "claim",
        "miss",
        "publish",
        "retry_later",
        "fail",
        "hand_over",
        "requeue",
        "suspect",
        "found",
        "not_found",
        "arrived",
        "move",
        "cancel",
        "retry",
        "mark_posted",
    ],
}
# What a person can do: the actions some role may take (the rest only the scheduler takes).
HUMAN_ACTIONS = {
    kind: [a for a in actions if any(roles for (_s, x), (_t, roles) in moves.items() if x == a)]
    for kind, actions in ACTIONS.items()
    for moves in [DOCUMENTED_MOVES[kind]]
}
MODELS: dict[str, type[Idea] | type[Piece] | type[Post]] = {
    "idea": Idea,
    "piece": Piece,
    "post": Post,
}
# Any day of next year is in the future for the real clock that moves are checked against.
YEAR = datetime.now(UTC).year + 1


# --- building an object in a given state through the services ---------------------------


def idea_in(world: World, state: str) -> tuple[Idea, Idea]:
    """A Marketing idea in `state`, and a second submitted idea it can be merged into."""
    s = world.session

    def submit(title: str) -> Idea:
        data = {"title": title, "pitch": f"{title}: a pitch long enough", "department": "Marketing"}
        return ideas.submit_idea(s, actor=world.contributor, data=data).idea

    target = submit("Annual report highlights")
    idea = submit("Winter tyre checklist")
    assert idea.id is not None and target.id is not None
    if state == IdeaStatus.accepted:
        ideas.accept_idea(s, actor=world.editor, idea_id=idea.id)
    elif state == IdeaStatus.rejected:
        ideas.reject_idea(s, actor=world.editor, idea_id=idea.id, reason="Not this quarter")
    elif state == IdeaStatus.merged:
        ideas.merge_idea(s, actor=world.editor, idea_id=idea.id, into_id=target.id)
    return idea, target


def piece_in(world: World, state: str) -> Piece:
    """A piece written by world.editor, moved into `state` (published is set directly)."""
    s = world.session
    data = {"title": "Winter tyre checklist", "body": "Check the tread depth."}
    piece = pieces.create_piece(s, actor=world.editor, data=data)
    assert piece.id is not None
    if state == PieceStatus.archived:
        pieces.archive_piece(s, actor=world.editor, piece_id=piece.id)
    elif state != PieceStatus.draft:
        pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
        if state == PieceStatus.changes_requested:
            pieces.request_changes(s, actor=world.approver, piece_id=piece.id, comment="Shorter")
        elif state in (PieceStatus.approved, PieceStatus.published):
            pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=1)
    if state == PieceStatus.published:
        # Only the scheduler publishes; no service moves a piece here.
        piece.status = PieceStatus.published
        s.add(piece)
        s.commit()
    assert piece.status == state
    return piece


def post_in(world: World, state: str, piece: Piece | None = None) -> Post:
    """A post (of a new draft piece, or of `piece`) on a channel of its own, planned
    through the services and, for the states only the scheduler reaches, put there
    directly."""
    s = world.session
    if piece is None:
        data = {"title": "Winter tyre checklist", "body": "Check the tread depth."}
        piece = pieces.create_piece(s, actor=world.editor, data=data)
    name = f"Mastodon {s.exec(select(func.count()).select_from(Channel)).one() + 1}"
    channel = channels.create_channel(s, actor=world.admin, kind="recording", name=name)
    assert piece.id is not None and channel.id is not None
    post = planning.plan_post(
        s, actor=world.editor, piece_id=piece.id, channel=channel.id, when=f"{YEAR}-03-02 09:00"
    )
    assert post.id is not None
    if state == PostStatus.cancelled:
        planning.cancel_post(s, actor=world.editor, post_id=post.id)
    elif state != PostStatus.planned:
        post.status = PostStatus(state)
        s.add(post)
        s.commit()
    assert post.status == state
    return post


def actor_for(world: World, role: Role) -> User:
    """A user with `role` who wrote no revision of any piece (four-eyes stays out of the way)."""
    return {
        Role.contributor: world.contributor,
        Role.editor: world.editor2,
        Role.approver: world.approver,
        Role.admin: world.admin,
    }[role]


Call = Callable[[Session, User, Any, Any], object]

IDEA_CALLS: dict[str, Call] = {
    "accept": lambda s, actor, idea, _t: ideas.accept_idea(s, actor=actor, idea_id=idea.id),
    "reject": lambda s, actor, idea, _t: ideas.reject_idea(
        s, actor=actor, idea_id=idea.id, reason="Covered last month"
    ),
    "merge": lambda s, actor, idea, target: ideas.merge_idea(
        s, actor=actor, idea_id=idea.id, into_id=target.id
    ),
    "reopen": lambda s, actor, idea, _t: ideas.reopen_idea(s, actor=actor, idea_id=idea.id),
}
PIECE_CALLS: dict[str, Call] = {
    "submit": lambda s, actor, piece, _t: pieces.submit_piece(s, actor=actor, piece_id=piece.id),
    "approve": lambda s, actor, piece, _t: pieces.approve_piece(
        s, actor=actor, piece_id=piece.id, revision=piece.revision
    ),
    "request_changes": lambda s, actor, piece, _t: pieces.request_changes(
        s, actor=actor, piece_id=piece.id, comment="Please cite a source"
    ),
    "revise": lambda s, actor, piece, _t: pieces.revise_piece(s, actor=actor, piece_id=piece.id),
    "archive": lambda s, actor, piece, _t: pieces.archive_piece(s, actor=actor, piece_id=piece.id),
    "reopen": lambda s, actor, piece, _t: pieces.reopen_piece(s, actor=actor, piece_id=piece.id),
    "edit": lambda s, actor, piece, _t: pieces.edit_piece(
        s,
        actor=actor,
        piece_id=piece.id,
        expected_revision=piece.revision,
        data={"body": "Check the tread depth and the pressure."},
    ),
}
POST_CALLS: dict[str, Call] = {
    "move": lambda s, actor, post, _t: planning.move_post(
        s, actor=actor, post_id=post.id, when=f"{YEAR}-03-09 09:00", expected_version=post.version
    ),
    "cancel": lambda s, actor, post, _t: planning.cancel_post(
        s, actor=actor, post_id=post.id, reason="Not this week", expected_version=post.version
    ),
    "retry": lambda s, actor, post, _t: publishing.retry_post(s, actor=actor, post_id=post.id),
    "mark_posted": lambda s, actor, post, _t: publishing.mark_posted(
        s, actor=actor, post_id=post.id, url="https://social.example/@shop/1"
    ),
}
CALLS = {"idea": IDEA_CALLS, "piece": PIECE_CALLS, "post": POST_CALLS}


# --- reading back what is stored ----------------------------------------------------------


def stored(engine: Engine, kind: str, obj_id: int) -> dict[str, Any]:
    """The object's row as another connection sees it."""
    with Session(engine) as fresh:
        row = fresh.get(MODELS[kind], obj_id)
        assert row is not None
        return row.model_dump()


def audit_rows(engine: Engine, kind: str, obj_id: int) -> list[AuditEvent]:
    """The object's audit events, oldest first."""
    with Session(engine) as fresh:
        query = (
            select(AuditEvent)
            .where(AuditEvent.object_type == kind, AuditEvent.object_id == str(obj_id))
            .order_by(col(AuditEvent.id))
        )
        return list(fresh.exec(query))


def row_counts(engine: Engine) -> dict[str, int]:
    """How many rows the tables a workflow move could touch hold."""
    models: list[type[SQLModel]] = [AuditEvent, Idea, Piece, Revision, Comment, Post]
    with Session(engine) as fresh:
        return {m.__name__: fresh.exec(select(func.count()).select_from(m)).one() for m in models}


# --- the matrix ---------------------------------------------------------------------------


def expected_outcome(kind: str, state: str, action: str, role: Role) -> type[Exception] | str:
    """The target state of an allowed move, or the error a refused one raises."""
    moves = DOCUMENTED_MOVES[kind]
    roles = {r for (_s, a), (_t, rs) in moves.items() if a == action for r in rs}
    if role not in roles:
        return PermissionDenied
    if (state, action) not in moves:
        return IllegalTransition
    target, move_roles = moves[(state, action)]
    return target if role in move_roles else PermissionDenied


def allowed_for(kind: str, state: str, role: Role) -> set[str]:
    """The documented actions `role` may take from `state`."""
    return {
        a for (s, a), (_t, roles) in DOCUMENTED_MOVES[kind].items() if s == state and role in roles
    }


MATRIX = [
    pytest.param(kind, state.value, action, role, id=f"{kind}-{state.value}-{action}-{role.value}")
    for kind in ("idea", "piece", "post")
    for state, action, role in itertools.product(STATES[kind], HUMAN_ACTIONS[kind], Role)
]


@pytest.mark.parametrize(("kind", "state", "action", "role"), MATRIX)
def test_move_is_taken_or_refused_as_the_table_says(
    world: World, engine: Engine, kind: str, state: str, action: str, role: Role
) -> None:
    target: Idea | None = None
    obj: Idea | Piece | Post
    if kind == "idea":
        obj, target = idea_in(world, state)
    elif kind == "piece":
        obj = piece_in(world, state)
    else:
        obj = post_in(world, state)
    assert obj.id is not None
    actor = actor_for(world, role)
    before = stored(engine, kind, obj.id)
    counts = row_counts(engine)
    events = audit_rows(engine, kind, obj.id)
    expected = expected_outcome(kind, state, action, role)

    if isinstance(expected, str):
        CALLS[kind][action](world.session, actor, obj, target)

        after = stored(engine, kind, obj.id)
        assert after["status"] == expected
        new_events = audit_rows(engine, kind, obj.id)[len(events) :]
        assert len(new_events) == 1
        event = new_events[0]
        assert (event.action, event.from_state, event.to_state) == (action, state, expected)
        assert event.actor_id == actor.id
        if kind == "post":  # the row version the move gave the post
            assert event.version == after["version"] == before["version"] + 1
        return

    with pytest.raises(expected) as caught:
        CALLS[kind][action](world.session, actor, obj, target)

    if expected is IllegalTransition:
        message = str(caught.value)
        assert f"while it is {state!r}" in message
        allowed = allowed_for(kind, state, role)
        listed = set(message.rsplit("; allowed: ", 1)[1].split(", "))
        assert listed == (allowed or {"none"})
        assert isinstance(caught.value, IllegalTransition)  # narrows the type for the checks below
        assert caught.value.state == state
        assert set(caught.value.allowed) == allowed
    assert stored(engine, kind, obj.id) == before
    assert audit_rows(engine, kind, obj.id) == events
    assert row_counts(engine) == counts


def test_transition_tables_are_the_documented_workflow() -> None:
    for kind, table in workflow.TABLES.items():
        actual = {
            (state.value, action): (move.target.value, move.roles)
            for (state, action), move in table.items()
        }
        assert actual == DOCUMENTED_MOVES[kind]
        required = {(kind, action) for (_s, action), move in table.items() if move.note_required}
        assert required == {(k, a) for k, a in NOTE_REQUIRED if k == kind}


def test_matrix_covers_every_action_and_state_of_every_table() -> None:
    assert set(workflow.TABLES) == set(ACTIONS)
    for kind in workflow.TABLES:
        assert workflow.actions(kind) == ACTIONS[kind]
        sources = {state for state, _a in workflow.TABLES[kind]}
        targets = {move.target for move in workflow.TABLES[kind].values()}
        assert sources | targets <= set(STATES[kind])


# --- reasons ------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", [pytest.param("", id="empty"), pytest.param("  ", id="blank")])
def test_rejecting_an_idea_needs_a_reason(world: World, engine: Engine, reason: str) -> None:
    idea, _target = idea_in(world, IdeaStatus.submitted)
    assert idea.id is not None
    before, counts = stored(engine, "idea", idea.id), row_counts(engine)

    with pytest.raises(ValidationFailed) as caught:
        ideas.reject_idea(world.session, actor=world.editor, idea_id=idea.id, reason=reason)

    assert set(caught.value.fields) == {"note"}
    assert stored(engine, "idea", idea.id) == before
    assert row_counts(engine) == counts


@pytest.mark.parametrize("comment", [pytest.param("", id="empty"), pytest.param("\n", id="blank")])
def test_requesting_changes_needs_a_comment(world: World, engine: Engine, comment: str) -> None:
    piece = piece_in(world, PieceStatus.in_review)
    assert piece.id is not None
    before, counts = stored(engine, "piece", piece.id), row_counts(engine)

    with pytest.raises(ValidationFailed) as caught:
        pieces.request_changes(
            world.session, actor=world.approver, piece_id=piece.id, comment=comment
        )

    assert set(caught.value.fields) == {"note"}
    assert stored(engine, "piece", piece.id) == before
    assert row_counts(engine) == counts


def test_rejection_reason_and_change_request_are_kept_in_the_audit_note(
    world: World, engine: Engine
) -> None:
    idea, _target = idea_in(world, IdeaStatus.submitted)
    piece = piece_in(world, PieceStatus.in_review)
    assert idea.id is not None and piece.id is not None

    ideas.reject_idea(world.session, actor=world.editor, idea_id=idea.id, reason=" Off-topic ")
    pieces.request_changes(
        world.session, actor=world.approver, piece_id=piece.id, comment="Add a photo"
    )

    assert audit_rows(engine, "idea", idea.id)[-1].note == "Off-topic"
    assert audit_rows(engine, "piece", piece.id)[-1].note == "Add a photo"


def test_disabled_editor_cannot_take_a_move_they_otherwise_may(
    world: World, engine: Engine
) -> None:
    piece = piece_in(world, PieceStatus.draft)
    assert piece.id is not None
    users.set_disabled(world.session, actor=world.admin, username=world.editor2.username)
    before, counts = stored(engine, "piece", piece.id), row_counts(engine)

    with pytest.raises(PermissionDenied, match="disabled"):
        pieces.submit_piece(world.session, actor=world.editor2, piece_id=piece.id)

    assert stored(engine, "piece", piece.id) == before
    assert row_counts(engine) == counts


def test_move_roles_are_checked_for_the_state_not_only_for_the_action(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A table where editors may archive drafts but only admins may archive approved pieces.
    table = dict(workflow.PIECE_MOVES)
    table[(PieceStatus.approved, "archive")] = workflow.Move(
        PieceStatus.archived, frozenset({Role.admin})
    )
    monkeypatch.setitem(workflow.TABLES, "piece", table)
    piece = piece_in(world, PieceStatus.approved)
    assert piece.id is not None
    before, counts = stored(engine, "piece", piece.id), row_counts(engine)

    with pytest.raises(PermissionDenied, match="while it is 'approved'"):
        pieces.archive_piece(world.session, actor=world.editor2, piece_id=piece.id)

    assert stored(engine, "piece", piece.id) == before
    assert row_counts(engine) == counts
    pieces.archive_piece(world.session, actor=world.admin, piece_id=piece.id)
    assert stored(engine, "piece", piece.id)["status"] == PieceStatus.archived


def test_refusal_names_the_move_with_the_right_article(world: World) -> None:
    idea = idea_in(world, "submitted")[0]
    piece = piece_in(world, PieceStatus.in_review)
    assert idea.id is not None

    with pytest.raises(PermissionDenied) as an_idea:
        ideas.accept_idea(world.session, actor=world.contributor, idea_id=idea.id)
    with pytest.raises(PermissionDenied) as a_piece:
        workflow.check("piece", piece, "approve", world.contributor)

    assert str(an_idea.value) == "'contrib' (role contributor) may not accept an idea"
    assert str(a_piece.value) == "'contrib' (role contributor) may not approve a piece"


# --- the scheduler's moves ----------------------------------------------------------------

SYSTEM_MOVES = [
    pytest.param(kind, state, action, id=f"{kind}-{state}-{action}")
    for kind, moves in DOCUMENTED_MOVES.items()
    for (state, action), (_target, roles) in moves.items()
    if not roles
]


@pytest.mark.parametrize(("kind", "state", "action"), SYSTEM_MOVES)
def test_no_person_may_take_a_move_of_the_scheduler(
    world: World, kind: str, state: str, action: str
) -> None:
    obj = MODELS[kind](status=STATES[kind](state))  # type: ignore[call-arg]
    for role in Role:
        with pytest.raises(PermissionDenied, match=f"may not {action} a"):
            workflow.check(kind, obj, action, actor_for(world, role))


@pytest.mark.parametrize("state", [pytest.param(s.value, id=s.value) for s in PieceStatus])
def test_the_scheduler_publishes_a_finished_piece_only_from_where_the_table_says(
    world: World, engine: Engine, state: str
) -> None:
    piece = piece_in(world, state)
    assert piece.id is not None
    # A post that went out (set directly: an archived piece cannot be planned).
    out = post_in(world, PostStatus.published)
    out.piece_id = piece.id
    world.session.add(out)
    world.session.commit()
    before = stored(engine, "piece", piece.id)
    events = audit_rows(engine, "piece", piece.id)

    publishing.publish_finished_pieces(world.session, piece_ids=[piece.id], worker="worker-7")

    after = stored(engine, "piece", piece.id)
    new_events = audit_rows(engine, "piece", piece.id)[len(events) :]
    if (state, "publish") not in DOCUMENTED_MOVES["piece"]:
        assert after == before
        assert new_events == []
        return
    assert after["status"] == "published"
    assert after["version"] == before["version"] + 1
    [event] = new_events
    assert (event.action, event.from_state, event.to_state) == ("publish", state, "published")
    assert (event.actor_id, event.actor_name, event.version) == (None, "worker-7", piece.revision)


# A post in these states may still go out, so its piece is not finished yet.
STILL_OPEN = {"planned", "publishing", "failed", "missed", "needs_check", "awaiting_manual"}


@pytest.mark.parametrize("another_out", [False, True], ids=["alone", "another-out"])
@pytest.mark.parametrize("post_state", [pytest.param(s.value, id=s.value) for s in PostStatus])
def test_an_approved_piece_is_published_once_a_post_went_out_and_none_may_still_go_out(
    world: World, engine: Engine, post_state: str, another_out: bool
) -> None:
    post = post_in(world, post_state)
    piece = world.session.get(Piece, post.piece_id)
    assert piece is not None and piece.id is not None
    if another_out:
        post_in(world, PostStatus.published, piece)
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=1)

    publishing.publish_finished_pieces(world.session, piece_ids=[piece.id], worker="worker-7")

    # Alone, a cancelled post went nowhere: the piece stays approved, to be planned again.
    went_out = another_out or post_state == "published"
    expected = "published" if went_out and post_state not in STILL_OPEN else "approved"
    assert stored(engine, "piece", piece.id)["status"] == expected


def _approved_with_posts(world: World, *states: PostStatus) -> tuple[Piece, list[Post]]:
    """An approved piece with one post in each of `states`."""
    piece = piece_in(world, PieceStatus.approved)
    return piece, [post_in(world, state, piece) for state in states]


def test_cancelling_the_last_open_post_publishes_its_piece(world: World, engine: Engine) -> None:
    piece, [_out, open_] = _approved_with_posts(world, PostStatus.published, PostStatus.failed)
    assert piece.id is not None and open_.id is not None
    events = audit_rows(engine, "piece", piece.id)

    planning.cancel_post(world.session, actor=world.editor2, post_id=open_.id, reason="veraltet")

    assert stored(engine, "piece", piece.id)["status"] == "published"
    [event] = audit_rows(engine, "piece", piece.id)[len(events) :]
    assert (event.action, event.from_state, event.to_state) == ("publish", "approved", "published")
    assert (event.actor_id, event.actor_name, event.note) == (
        world.editor2.id,
        world.editor2.username,
        "all its posts are out",
    )


def test_cancelling_a_post_leaves_its_piece_approved_while_another_may_go_out_or_none_went(
    world: World, engine: Engine
) -> None:
    waiting, [_out, planned, missed] = _approved_with_posts(
        world, PostStatus.published, PostStatus.planned, PostStatus.missed
    )
    never, [first, second] = _approved_with_posts(world, PostStatus.planned, PostStatus.failed)
    assert waiting.id is not None and never.id is not None

    for post in (planned, first, second):
        assert post.id is not None
        planning.cancel_post(world.session, actor=world.editor2, post_id=post.id)

    # One post may still go out (a missed one can be sent again) ...
    assert stored(engine, "piece", waiting.id)["status"] == "approved"
    # ... and a piece none of whose posts went out is still to be planned.
    assert stored(engine, "piece", never.id)["status"] == "approved"
    assert missed.id is not None
    planning.cancel_post(world.session, actor=world.editor2, post_id=missed.id)
    assert stored(engine, "piece", waiting.id)["status"] == "published"


def _published_now(world: World, post: Post) -> None:
    """The post went out just now (as the engine records it)."""
    post.status = PostStatus.published
    post.published_at = utcnow()
    world.session.add(post)
    world.session.commit()


def test_a_piece_approved_again_is_finished_by_a_post_of_the_new_approval_only(
    world: World, engine: Engine
) -> None:
    piece, [first] = _approved_with_posts(world, PostStatus.planned)
    assert piece.id is not None and first.id is not None
    _published_now(world, first)
    publishing.publish_finished_pieces(world.session, piece_ids=[piece.id], worker="w")
    assert stored(engine, "piece", piece.id)["status"] == "published"
    # Reopened for a new version and approved again: the old post went out before that.
    s = world.session
    pieces.archive_piece(s, actor=world.editor, piece_id=piece.id)
    pieces.reopen_piece(s, actor=world.editor, piece_id=piece.id)
    pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
    revision = stored(engine, "piece", piece.id)["revision"]
    pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=revision)
    assert finishing.finish_pieces(s, None, by="w") == []
    assert stored(engine, "piece", piece.id)["status"] == "approved"
    # A post of the new approval that is cancelled does not finish it either ...
    second, third = (post_in(world, PostStatus.planned, piece) for _ in range(2))
    assert second.id is not None
    planning.cancel_post(s, actor=world.editor2, post_id=second.id)
    assert stored(engine, "piece", piece.id)["status"] == "approved"
    # ... one that goes out does.
    _published_now(world, third)
    assert finishing.finish_pieces(s, None, by="w") == [piece.id]


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_cancel_stands_when_the_database_goes_away_before_its_piece_is_published(
    world: World, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """The cancel is committed, then the connection ends (as in a restart) before its piece
    is marked published: the cancel stands and says so, and a worker publishes the piece."""
    piece, [_out, open_] = _approved_with_posts(world, PostStatus.published, PostStatus.failed)
    assert piece.id is not None and open_.id is not None
    name = f"planner-cancel-{id(engine)}"
    own = named_engine(engine, name)
    ended: list[bool] = []

    def end_after_the_cancel(_session: Session) -> None:
        if not ended:
            ended.extend(end_connections(engine, name))

    try:
        with Session(own) as s, caplog.at_level(logging.WARNING):
            editor = s.get(User, world.editor2.id)
            assert editor is not None
            event.listen(s, "after_commit", end_after_the_cancel)
            planning.cancel_post(s, actor=editor, post_id=open_.id)
    finally:
        own.dispose()
    assert ended == [True]
    assert stored(engine, "post", open_.id)["status"] == "cancelled"
    assert stored(engine, "piece", piece.id)["status"] == "approved"
    assert f"piece {piece.id}: not marked published yet" in caplog.text
    worker = Worker(engine, worker_id="w", settings=EngineSettings())
    try:
        worker.sweep()
    finally:
        worker.close()
    assert stored(engine, "piece", piece.id)["status"] == "published"


# --- posts ---------------------------------------------------------------------------------


def test_a_move_keeps_its_effects_on_the_post(world: World, engine: Engine) -> None:
    post = post_in(world, PostStatus.failed)
    assert post.id is not None
    post.last_error = "HTTP 500"
    world.session.add(post)
    world.session.commit()

    planning.move_post(
        world.session, actor=world.editor, post_id=post.id, when=f"{YEAR}-04-01 10:00"
    )

    after = stored(engine, "post", post.id)
    assert (after["status"], after["last_error"]) == ("planned", None)
    assert after["publish_at"] == datetime(YEAR, 4, 1, 8, 0, tzinfo=UTC)  # Europe/Berlin, CEST
    assert audit_rows(engine, "post", post.id)[-1].note.endswith(f"-> {YEAR}-04-01 08:00 UTC")


def test_a_retry_resets_the_attempts_and_sends_a_late_post_now(
    world: World, engine: Engine
) -> None:
    post = post_in(world, PostStatus.missed)
    assert post.id is not None
    post.publish_at = datetime(2020, 1, 1, tzinfo=UTC)
    post.attempts = 3
    post.next_attempt_at = datetime(2020, 1, 2, tzinfo=UTC)
    world.session.add(post)
    world.session.commit()

    asked = datetime.now(UTC).replace(microsecond=0)

    publishing.retry_post(world.session, actor=world.editor, post_id=post.id)

    after = stored(engine, "post", post.id)
    assert (after["status"], after["attempts"], after["next_attempt_at"]) == ("planned", 0, None)
    assert asked <= after["publish_at"] <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        pytest.param("", "no_post_url", id="missing"),
        pytest.param("social.example/1", "not_a_web_address", id="not-a-web-address"),
    ],
)
def test_a_post_made_by_hand_is_marked_published_only_with_its_address(
    world: World, engine: Engine, url: str, problem: str
) -> None:
    post = post_in(world, PostStatus.awaiting_manual)
    assert post.id is not None
    before, counts = stored(engine, "post", post.id), row_counts(engine)

    with pytest.raises(ValidationFailed) as caught:
        publishing.mark_posted(world.session, actor=world.editor, post_id=post.id, url=url)

    assert getattr(caught.value.fields["url"], "code", None) == problem
    assert stored(engine, "post", post.id) == before
    assert row_counts(engine) == counts


def test_a_post_marked_published_keeps_its_address(world: World, engine: Engine) -> None:
    post = post_in(world, PostStatus.needs_check)
    assert post.id is not None

    publishing.mark_posted(
        world.session, actor=world.editor, post_id=post.id, url=" https://social.example/1 "
    )

    after = stored(engine, "post", post.id)
    assert (after["status"], after["external_url"]) == ("published", "https://social.example/1")
    assert after["published_at"] is not None
    assert audit_rows(engine, "post", post.id)[-1].note == "https://social.example/1"


def test_a_post_changed_since_it_was_shown_is_an_edit_conflict(
    world: World, engine: Engine
) -> None:
    post = post_in(world, PostStatus.planned)
    assert post.id is not None
    seen = post.version
    planning.move_post(
        world.session, actor=world.editor, post_id=post.id, when=f"{YEAR}-05-01 10:00"
    )
    before, counts = stored(engine, "post", post.id), row_counts(engine)

    with pytest.raises(EditConflict):
        planning.cancel_post(
            world.session, actor=world.editor2, post_id=post.id, expected_version=seen
        )

    assert stored(engine, "post", post.id) == before
    assert row_counts(engine) == counts


def test_a_cancelled_post_is_never_waiting_to_go_out() -> None:
    # "arrived" records that a cancelled post's request had already started; it is no way
    # forward, so a piece with cancelled posts can still be finished.
    assert workflow.leading_to("post", PostStatus.published) == [
        PostStatus.planned,
        PostStatus.publishing,
        PostStatus.failed,
        PostStatus.missed,
        PostStatus.needs_check,
        PostStatus.awaiting_manual,
    ]
