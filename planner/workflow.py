"""The editorial workflow as data: one transition table per kind of object, one `apply`.

Every move is guard (role, state, note, extra guard such as four-eyes) -> change -> audit
event -> commit, in one transaction. An illegal move names the state and the allowed moves.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypedDict

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from planner import audit, notifications
from planner.errors import (
    EditConflict,
    IllegalTransition,
    Message,
    PermissionDenied,
    ValidationFailed,
)
from planner.models import (
    Idea,
    IdeaStatus,
    Piece,
    PieceStatus,
    Post,
    PostStatus,
    Role,
    User,
    utcnow,
)
from planner.schemas import check_text

# The longest note a move takes (a reason, a comment asking for changes): what the
# dashboard's longest comment box takes.
NOTE_MAX = 5_000
_EDITORIAL = frozenset({Role.editor, Role.admin})
_APPROVERS = frozenset({Role.approver, Role.admin})
# Moves only the scheduler makes: no person's role may take them.
SYSTEM: frozenset[Role] = frozenset()


@dataclass(frozen=True)
class Move:
    """Where an action leads, who may take it, and whether a note is required."""

    target: enum.StrEnum
    roles: frozenset[Role]
    note_required: bool = False


Table = Mapping[tuple[enum.StrEnum, str], Move]


def _from_each(action: str, move: Move, *states: enum.StrEnum) -> Table:
    """Rows of a table: `action` takes any of `states` where `move` says."""
    return {(state, action): move for state in states}


IDEA_MOVES: Table = {
    (IdeaStatus.submitted, "accept"): Move(IdeaStatus.accepted, _EDITORIAL),
    (IdeaStatus.submitted, "reject"): Move(IdeaStatus.rejected, _EDITORIAL, note_required=True),
    (IdeaStatus.submitted, "merge"): Move(IdeaStatus.merged, _EDITORIAL),
    (IdeaStatus.rejected, "reopen"): Move(IdeaStatus.submitted, _EDITORIAL),
}

PIECE_MOVES: Table = {
    (PieceStatus.draft, "submit"): Move(PieceStatus.in_review, _EDITORIAL),
    (PieceStatus.in_review, "approve"): Move(PieceStatus.approved, _APPROVERS),
    (PieceStatus.in_review, "request_changes"): Move(
        PieceStatus.changes_requested, _APPROVERS, note_required=True
    ),
    (PieceStatus.changes_requested, "revise"): Move(PieceStatus.draft, _EDITORIAL),
    # Saving an edit: a new revision in the same state, except that an edit of an approved
    # piece needs a new approval. Published and archived pieces are not edited.
    **{
        (state, "edit"): Move(state, _EDITORIAL)
        for state in (PieceStatus.draft, PieceStatus.in_review, PieceStatus.changes_requested)
    },
    (PieceStatus.approved, "edit"): Move(PieceStatus.in_review, _EDITORIAL),
    **_from_each(
        "archive",
        Move(PieceStatus.archived, _EDITORIAL),
        PieceStatus.draft,
        PieceStatus.in_review,
        PieceStatus.changes_requested,
        PieceStatus.approved,
        PieceStatus.published,
    ),
    (PieceStatus.archived, "reopen"): Move(PieceStatus.draft, _EDITORIAL),
    # The scheduler, once every post of an approved piece is out and no series continues.
    (PieceStatus.approved, "publish"): Move(PieceStatus.published, SYSTEM),
}

# A post's lifecycle. The scheduler's moves (no role may take them) drive the engine's
# SQL: the claim takes posts from the sources of "claim", recovery from those of
# "requeue"/"suspect", and so on; people's moves drive every "allowed" list.
_POST_OPEN = (PostStatus.planned, PostStatus.failed, PostStatus.missed)
POST_MOVES: Table = {
    # The scheduler.
    (PostStatus.planned, "claim"): Move(PostStatus.publishing, SYSTEM),
    (PostStatus.planned, "miss"): Move(PostStatus.missed, SYSTEM),
    (PostStatus.publishing, "publish"): Move(PostStatus.published, SYSTEM),
    (PostStatus.publishing, "retry_later"): Move(PostStatus.planned, SYSTEM),
    (PostStatus.publishing, "fail"): Move(PostStatus.failed, SYSTEM),
    (PostStatus.publishing, "hand_over"): Move(PostStatus.awaiting_manual, SYSTEM),
    # Recovery of a post whose worker stopped: sent again (nothing can have gone out, or
    # the channel drops repeats) or checked, by a lookup or by a person.
    (PostStatus.publishing, "requeue"): Move(PostStatus.planned, SYSTEM),
    (PostStatus.publishing, "suspect"): Move(PostStatus.needs_check, SYSTEM),
    # A lookup at the channel settles a check: the post is there, or surely is not.
    (PostStatus.needs_check, "found"): Move(PostStatus.published, SYSTEM),
    (PostStatus.needs_check, "not_found"): Move(PostStatus.planned, SYSTEM),
    # A post cancelled while its request was already on its way, and it went out.
    (PostStatus.cancelled, "arrived"): Move(PostStatus.published, SYSTEM),
    # People. A post being sent may be cancelled: unless its request has started, it
    # does not go out (the worker checks right before each request).
    **_from_each("move", Move(PostStatus.planned, _EDITORIAL), *_POST_OPEN),
    **_from_each(
        "cancel",
        Move(PostStatus.cancelled, _EDITORIAL),
        *_POST_OPEN,
        PostStatus.publishing,
        PostStatus.needs_check,
        PostStatus.awaiting_manual,
    ),
    **_from_each(
        "retry",
        Move(PostStatus.planned, _EDITORIAL),
        PostStatus.failed,
        PostStatus.missed,
        PostStatus.needs_check,
    ),
    **_from_each(
        "mark_posted",
        Move(PostStatus.published, _EDITORIAL),
        PostStatus.needs_check,
        PostStatus.awaiting_manual,
    ),
}

TABLES: dict[str, Table] = {"idea": IDEA_MOVES, "piece": PIECE_MOVES, "post": POST_MOVES}


def sources(kind: str, action: str) -> list[enum.StrEnum]:
    """The states from which `action` may be taken, in table order (for SQL conditions)."""
    return [state for (state, a) in TABLES[kind] if a == action]


def target(kind: str, action: str) -> enum.StrEnum:
    """Where `action` leads, for an action that leads to one state wherever it starts."""
    (state,) = {move.target for (_s, a), move in TABLES[kind].items() if a == action}
    return state


# Moves that record what already happened rather than a way forward: a cancelled post
# whose request had already started is published after all, but no cancelled post waits
# to go out.
RECORDS_ONLY = frozenset({"arrived"})


def leading_to(kind: str, goal: enum.StrEnum) -> list[enum.StrEnum]:
    """The states from which some sequence of moves (not `RECORDS_ONLY`) still reaches
    `goal` (itself excluded)."""
    found: set[enum.StrEnum] = set()
    grew = True
    while grew:
        grew = False
        for (source, action), move in TABLES[kind].items():
            if action in RECORDS_ONLY:
                continue
            if source != goal and source not in found and (move.target in found | {goal}):
                found.add(source)
                grew = True
    return [state for state in type(goal) if state in found]


Stateful = Idea | Piece | Post


def actions(kind: str) -> list[str]:
    """Every action defined for `kind`, in table order."""
    return list(dict.fromkeys(action for _state, action in TABLES[kind]))


def allowed_actions(kind: str, state: enum.StrEnum, role: Role | None = None) -> list[str]:
    """The actions allowed from `state`, optionally only those `role` may take."""
    return [
        action
        for (source, action), move in TABLES[kind].items()
        if source == state and (role is None or role in move.roles)
    ]


def _a(noun: str) -> str:
    """The noun with its indefinite article: "an idea", "a piece"."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def check_role(kind: str, action: str, actor: User) -> None:
    """Raise unless `actor`'s role may take `action` from some state (checked before the
    object is even looked up, so a refusal tells nothing about which objects exist)."""
    table = TABLES[kind]
    if not any(a == action for (_s, a) in table):
        raise ValidationFailed({"action": f"unknown {kind} action {action!r}"})
    roles = {role for (_s, a), move in table.items() if a == action for role in move.roles}
    if actor.disabled:
        raise PermissionDenied(f"Account {actor.username!r} is disabled")
    if actor.role not in roles:
        raise PermissionDenied(
            f"{actor.username!r} (role {actor.role.value}) may not {action} {_a(kind)}"
        )


def check(kind: str, obj: Stateful, action: str, actor: User, note: str = "") -> Move:
    """Return the move for `action`, or raise naming what is wrong (nothing is changed)."""
    table = TABLES[kind]
    check_role(kind, action, actor)
    move = table.get((obj.status, action))
    if move is None:
        raise IllegalTransition(
            kind, obj.id, obj.status.value, action, allowed_actions(kind, obj.status, actor.role)
        )
    if actor.role not in move.roles:
        raise PermissionDenied(
            f"{actor.username!r} (role {actor.role.value}) may not {action} {_a(kind)} "
            f"while it is {obj.status.value!r}"
        )
    if move.note_required and not note.strip():
        raise ValidationFailed({"note": f"a reason is required to {action.replace('_', ' ')}"})
    return move


class Step(TypedDict, total=False):
    """What `apply` takes besides the move itself: the note, a check and a change."""

    note: str
    guard: Callable[[], None] | None
    effect: Callable[[], None] | None


def apply(
    session: Session,
    *,
    kind: str,
    obj: Stateful,
    action: str,
    actor: User,
    note: str = "",
    guard: Callable[[], None] | None = None,
    effect: Callable[[], None] | None = None,
    version: int | None = None,
    commit: bool = True,
) -> None:
    """Guard, change state, run `effect`, write one audit event and commit, or change nothing.

    `version` is the version recorded in the audit event (a piece's revision, a post's row
    version). With `commit=False` the move is only flushed and the caller commits, so that
    several moves are stored together; any error still rolls the whole transaction back.
    """
    check_text(note, "note")
    if len(note.strip()) > NOTE_MAX:
        raise ValidationFailed(
            {"note": Message("too_long", "at most {max} characters", max=NOTE_MAX)}
        )
    move = check(kind, obj, action, actor, note)
    if guard is not None:
        guard()
    before = obj.status
    # A piece's conflict is said in revisions, the numbers its readers see and approve by
    # (its row version is an internal counter); an idea's or a post's in row versions.
    seen = obj.revision if isinstance(obj, Piece) else obj.version
    try:
        # The table only maps a kind's states to states of the same kind.
        setattr(obj, "status", move.target)  # noqa: B010
        if not isinstance(obj, Post):  # a post keeps no change time of its own
            obj.updated_at = utcnow()
        if effect is not None:
            effect()
        session.add(obj)
        notifications.on_move(
            session, obj=obj, action=action, actor=actor, note=note.strip(), before=before
        )
        audit.record(
            session,
            actor=actor,
            object_type=kind,
            object_id=obj.id,
            action=action,
            from_state=before.value,
            to_state=move.target.value,
            version=version,
            note=note.strip(),
        )
        if commit:
            session.commit()
        else:
            session.flush()
    except StaleDataError as err:
        session.rollback()
        session.refresh(obj)
        current = obj.revision if isinstance(obj, Piece) else obj.version
        raise EditConflict(kind, obj.id, seen, current, None) from err
    except BaseException:
        session.rollback()
        raise


def apply_post(
    session: Session,
    *,
    post: Post,
    action: str,
    actor: User,
    note: str = "",
    expected_version: int | None = None,
    guard: Callable[[], None] | None = None,
    effect: Callable[[], None] | None = None,
    commit: bool = True,
) -> Post:
    """`apply` for a person's move of a post, bound to the row version they saw.

    A post changed since (`expected_version` is not its version) raises EditConflict;
    the audit event records the version the move gives the post.
    """
    loaded = post.version

    def guards() -> None:
        if expected_version is not None and expected_version != loaded:
            raise EditConflict("post", post.id, expected_version, loaded, None)
        if guard is not None:
            guard()

    apply(
        session,
        kind="post",
        obj=post,
        action=action,
        actor=actor,
        note=note,
        guard=guards,
        effect=effect,
        version=loaded + 1,
        commit=commit,
    )
    return post
