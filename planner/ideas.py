"""Ideas: submission with duplicate suggestions, department visibility, and triage."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any, TypedDict, Unpack

from sqlalchemy import ColumnElement, case, or_
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, func, select

from planner import submissions, workflow
from planner.db import check_page
from planner.errors import (
    EditConflict,
    NotFound,
    PermissionDenied,
    PlannerError,
    ValidationFailed,
)
from planner.models import (
    Audience,
    Channel,
    Department,
    Idea,
    IdeaStatus,
    Piece,
    Post,
    PostStatus,
    Role,
    Urgency,
    User,
)
from planner.names import find_named
from planner.permissions import can, ideas_seen_by, require, require_active
from planner.pieces import revision_of
from planner.schemas import IdeaCreate, check_text, parse_input
from planner.users import get_department

SIMILARITY_THRESHOLD = 0.55
_QUERY_WORDS = 6  # distinctive words taken from the title, twice as many from the pitch
_CANDIDATES = 300  # ideas scored in Python per search, however many are stored
_STOPWORDS = frozenset(
    "the and for with from that this your our how what why der die das und für mit von "
    "ein eine einen wie was warum unsere unser ihre zum zur den dem des auf aus bei".split()
)


@dataclass(frozen=True)
class SimilarIdea:
    """An existing idea that looks like the one being written."""

    id: int
    title: str
    status: IdeaStatus
    department: str
    score: float  # how alike the two are, from 0 to 1 (1: the same title and pitch)


@dataclass(frozen=True)
class Submission:
    """A stored idea and the possible duplicates found when it was submitted."""

    idea: Idea
    similar: list[SimilarIdea] = field(default_factory=list)


@dataclass(frozen=True)
class PostOutcome:
    """Where one post of an idea's piece stands, for the contributor."""

    channel: str
    publish_at: datetime
    status: PostStatus
    published_at: datetime | None
    external_url: str | None


@dataclass(frozen=True)
class IdeaOutcome:
    """What became of an idea: its state, the reason, and the piece and posts it led to."""

    idea: Idea
    department: str
    rejection_reason: str | None
    merged_into: int | None
    piece_id: int | None
    piece_title: str | None
    piece_status: str | None
    posts: list[PostOutcome]
    # For a merged idea: the idea its merges ended at and that idea's state (None for an
    # idea not merged). A rejection there is this idea's too: `rejection_reason` is its.
    carried_by: int | None = None
    carrier_status: IdeaStatus | None = None


class _DropMarks(dict[int, int | None]):
    """A `str.translate` table that drops combining marks, filled as characters are met."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        self[code] = kept
        return kept


_DROP_MARKS = _DropMarks()


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = text.replace("ß", "ss")
    return text if text.isascii() else text.translate(_DROP_MARKS)


def _folded_words(folded: str) -> set[str]:
    return {w for w in re.findall(r"\w+", folded) if len(w) > 2 and w not in _STOPWORDS}


@dataclass(frozen=True)
class _Compared:
    """A title and pitch made ready for scoring: the folded title, the words of both, the
    words of the pitch. Folding never reaches across a space and a space splits words, so
    the words of "title pitch" are those of the title and of the pitch together."""

    title: str
    words: set[str]
    pitch_words: set[str]

    @classmethod
    def of(cls, title: str, pitch: str) -> _Compared:
        """`title` and `pitch` folded and split into words, once."""
        folded_title = _fold(title)
        pitch_words = _folded_words(_fold(pitch))
        return cls(folded_title, _folded_words(folded_title) | pitch_words, pitch_words)


_MOST_ALIKE = 1.5  # the highest `_score_compared`: the same title and the same words


def _score_compared(one: _Compared, other: _Compared, floor: float = 0.0) -> float:
    """The similarity of two texts; 0.0 when it is surely below `floor` (the exact title
    ratio, the costly part, is then not computed)."""
    a, b = one.words, other.words
    overlap = len(a & b) / len(a | b) if a and b else 0.0
    pa, pb = one.pitch_words, other.pitch_words
    # Squared, so that only (nearly) the same pitch counts on its own, not a few shared words.
    pitch_overlap = (len(pa & pb) / len(pa | pb)) ** 2 if pa and pb else 0.0
    matcher = SequenceMatcher(None, one.title, other.title)
    if floor > 0.0:  # upper bounds of the ratio, from cheap to less cheap
        for bound in (matcher.real_quick_ratio, matcher.quick_ratio):
            most = bound()
            if max(most, pitch_overlap, 0.5 * most + overlap) < floor:
                return 0.0
    title_ratio = matcher.ratio()
    return max(title_ratio, pitch_overlap, 0.5 * title_ratio + overlap)


def _query_words(text: str, limit: int) -> list[str]:
    """The `limit` longest significant words of `text`, lower-cased but not accent-folded."""
    seen: dict[str, str] = {}
    for word in re.findall(r"\w+", unicodedata.normalize("NFC", text.lower())):
        folded = _fold(word)
        if len(folded) > 2 and folded not in _STOPWORDS:
            seen.setdefault(folded, word)
    return sorted(seen.values(), key=len, reverse=True)[:limit]


def _patterns(word: str) -> set[str]:
    """Fragments that find `word` inside `lower(column)` on SQLite and PostgreSQL alike.

    SQL `lower()` folds only ASCII letters on SQLite (and under the C collation on
    PostgreSQL), so a stored "Übersicht" stays "Übersicht". The plain form finds the word
    where `lower()` does fold, the accent-folded form ("grosse") a spelling without umlauts,
    and the longest run of ASCII letters between anything that may be spelt otherwise
    (umlauts, ß, "ss", "ue") finds every spelling in any case: "bersicht", "enfest".
    """
    runs = re.split(r"[^a-z0-9]+|ss|[aou]e", word)
    longest = max(runs, key=len, default="")
    patterns = {p for p in (word, _fold(word)) if len(p) > 2}
    if len(longest) > 3:
        patterns.add(longest)
    return patterns


def _visible(query: Any, actor: User) -> Any:
    require_active(actor)
    if can(actor, "see_all_departments"):
        return query
    return query.where(ideas_seen_by(actor))


def find_similar_ideas(
    session: Session,
    *,
    actor: User,
    title: str,
    pitch: str = "",
    limit: int = 5,
    exclude_id: int | None = None,
) -> list[SimilarIdea]:
    """Ideas the actor can see whose title or pitch resembles the given text."""
    words = _query_words(title, _QUERY_WORDS)
    words += [w for w in _query_words(pitch, 2 * _QUERY_WORDS) if w not in words]
    words = words[: 2 * _QUERY_WORDS]
    if not words:
        return []
    # Narrow in SQL to the ideas sharing the most words with the title or pitch (a bounded
    # candidate set, however many ideas exist), then score those few in Python.
    columns: tuple[ColumnElement[str] | Mapped[str], ColumnElement[str] | Mapped[str]] = (
        func.lower(Idea.title),
        func.lower(Idea.pitch),
    )
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's LIKE ignores the case of exactly the letters its lower() folds (ASCII):
        # the same matches, without lowering both texts again for every pattern and row.
        columns = (col(Idea.title), col(Idea.pitch))
    shares = [
        or_(*(c.contains(p, autoescape=True) for p in _patterns(w) for c in columns)) for w in words
    ]
    shared: ColumnElement[int] = case((shares[0], 1), else_=0)
    for share in shares[1:]:
        shared = shared + case((share, 1), else_=0)
    # Only the columns scored and shown: no full Idea objects for hundreds of candidates.
    query = _visible(
        select(col(Idea.id), Idea.title, Idea.pitch, Idea.status)
        .add_columns(col(Department.name))
        .join(Department, col(Idea.department_id) == Department.id),
        actor,
    ).where(or_(*shares))
    if exclude_id is not None:
        query = query.where(Idea.id != exclude_id)
    query = query.order_by(shared.desc(), col(Idea.id).desc()).limit(_CANDIDATES)
    wanted = _Compared.of(title, pitch)
    scored = []
    for idea_id, idea_title, idea_pitch, status, dep_name in session.exec(query):
        score = _score_compared(
            wanted, _Compared.of(idea_title, idea_pitch), floor=SIMILARITY_THRESHOLD
        )
        if score >= SIMILARITY_THRESHOLD:
            shown = round(score / _MOST_ALIKE, 2)
            scored.append(SimilarIdea(idea_id, idea_title, IdeaStatus(status), dep_name, shown))
    scored.sort(key=lambda s: s.score, reverse=True)
    return scored[:limit]


def _department_for(
    session: Session, actor: User, name: str, found: dict[str, Department] | None = None
) -> Department:
    key = name.strip().lower()
    dep = found.get(key) if found is not None else None
    if dep is None:
        dep = get_department(session, name)
        if found is not None:
            found[key] = dep
    if actor.role == Role.contributor and dep.id != actor.department_id:
        raise PermissionDenied(
            f"{actor.username!r} may submit ideas only for their own department, not {dep.name!r}"
        )
    return dep


def _audience_for(
    session: Session, text: str, found: dict[str, Audience | None] | None
) -> Audience | None:
    """The defined audience `text` names (ignoring case), or None for a free description."""
    if not text.strip():
        return None
    key = text.strip().lower()
    if found is not None and key in found:
        return found[key]
    audience = find_named(session, Audience, text)
    if found is not None:
        found[key] = audience
    return audience


def idea_values(
    session: Session,
    *,
    actor: User,
    data: dict[str, Any],
    departments: dict[str, Department] | None = None,
    audiences: dict[str, Audience | None] | None = None,
) -> dict[str, Any]:
    """Validate one idea without storing it: the values of its new row, by column.

    `departments` and `audiences` keep what was already looked up by name, so that the
    many rows of one CSV import ask the database once per department and audience.
    """
    require(actor, "submit_idea")
    new = parse_input(IdeaCreate, data)
    try:
        dep = _department_for(session, actor, new.department, departments)
    except NotFound as err:
        raise ValidationFailed({"department": str(err)}) from err
    assert actor.id is not None and dep.id is not None
    # The text names a defined audience (ignoring case), or it is a free description.
    audience = _audience_for(session, new.target_audience, audiences)
    return {
        "title": new.title,
        "pitch": new.pitch,
        "department_id": dep.id,
        "submitted_by_id": actor.id,
        "target_audience": audience.name if audience is not None else new.target_audience,
        "audience_id": audience.id if audience is not None else None,
        "goal": new.goal,
        "source_url": new.source_url,
        "urgency": new.urgency,
        "tags": new.tags,
    }


def prepare_idea(session: Session, *, actor: User, data: dict[str, Any]) -> Idea:
    """Validate one idea without storing it (used by submit)."""
    return Idea(**idea_values(session, actor=actor, data=data))


_SUBMITTED = submissions.StoredAs(
    object_type="idea", action="submit", to_state=IdeaStatus.submitted.value
)


def store_ideas(
    session: Session,
    *,
    actor: User,
    ideas: list[Idea],
    token: str | None = None,
    then: Callable[[], None] | None = None,
) -> list[Idea]:
    """Store prepared ideas as submitted; a form `token` is spent naming the first; `then`
    runs in the same transaction once they have their ids (see `submissions.store_rows`)."""
    submissions.store_rows(
        session, actor=actor, token=token, rows=ideas, stored_as=_SUBMITTED, then=then
    )
    return ideas


def submit_idea(
    session: Session, *, actor: User, data: dict[str, Any], token: str | None = None
) -> Submission:
    """Submit an idea; the answer lists existing ideas it may duplicate.

    A form's one-time `token` makes a second send of the same form create nothing: it
    raises AlreadySent naming the idea the first send created.
    """
    submissions.refuse_spent(session, actor=actor, token=token)
    idea = prepare_idea(session, actor=actor, data=data)
    store_ideas(session, actor=actor, ideas=[idea], token=token)
    similar = find_similar_ideas(
        session, actor=actor, title=idea.title, pitch=idea.pitch, exclude_id=idea.id
    )
    return Submission(idea=idea, similar=similar)


def get_idea(session: Session, *, actor: User, idea_id: int) -> Idea:
    """One idea, if the actor may see it (contributors: their department's and their own)."""
    require_active(actor)
    idea = session.get(Idea, idea_id, populate_existing=True)
    if idea is None or (
        not can(actor, "see_all_departments")
        and idea.department_id != actor.department_id
        and idea.submitted_by_id != actor.id
    ):
        raise NotFound("idea", idea_id)
    return idea


class IdeaFilters(TypedDict, total=False):
    """Which ideas a list keeps; `mine` keeps only the actor's own."""

    status: IdeaStatus | None
    department: str | None
    urgency: Urgency | None
    tag: str | None
    mine: bool


def _filtered(session: Session, query: Any, actor: User, filters: IdeaFilters) -> Any:
    """`query` narrowed to the visible ideas that pass `filters` (all but the tag: see
    `_has_tag`)."""
    query = _visible(query, actor)
    if filters.get("mine"):
        query = query.where(Idea.submitted_by_id == actor.id)
    if (status := filters.get("status")) is not None:
        query = query.where(Idea.status == status)
    if (department := filters.get("department")) is not None:
        query = query.where(Idea.department_id == get_department(session, department).id)
    if (urgency := filters.get("urgency")) is not None:
        query = query.where(Idea.urgency == urgency)
    return query


def _has_tag(tags: list[str], tag: str) -> bool:
    wanted = tag.strip().lstrip("#").casefold()
    return wanted in (t.casefold() for t in tags)


def list_ideas(
    session: Session,
    *,
    actor: User,
    limit: int | None = None,
    offset: int = 0,
    **filters: Unpack[IdeaFilters],
) -> list[Idea]:
    """Ideas the actor may see, newest first, filtered."""
    check_page(limit, offset)
    newest_first = (col(Idea.created_at).desc(), col(Idea.id).desc())
    tag = filters.get("tag")
    if tag is None and limit is not None:
        # The page's ids are sorted first and only their rows read: sorting the whole rows
        # (pitches and all) of every matching idea is what a page used to cost.
        page = _filtered(session, select(Idea.id), actor, filters)
        page = page.order_by(*newest_first).offset(offset).limit(limit)
        return list(
            session.exec(select(Idea).where(col(Idea.id).in_(page)).order_by(*newest_first))
        )
    query = _filtered(session, select(Idea), actor, filters).order_by(*newest_first)
    if tag is None:
        return list(session.exec(query.offset(offset)))
    # Tags live in a JSON list; matching them case-insensitively is done here, portably.
    ideas = [i for i in session.exec(query) if _has_tag(i.tags, tag)]
    end = None if limit is None else offset + limit
    return ideas[offset:end]


def count_ideas(session: Session, *, actor: User, **filters: Unpack[IdeaFilters]) -> int:
    """How many ideas `list_ideas` would give with the same filters (for paging)."""
    # Tags live in a JSON list: with a tag, the ideas' tags are read and matched here.
    tag = filters.get("tag")
    columns = select(func.count()).select_from(Idea) if tag is None else select(Idea.tags)
    query = _filtered(session, columns, actor, filters)
    if tag is None:
        return int(session.exec(query).one())
    return sum(1 for tags in session.exec(query) if _has_tag(tags, tag))


def ideas_per_department(
    session: Session, *, actor: User, status: IdeaStatus | None = IdeaStatus.submitted
) -> list[tuple[str, int]]:
    """(department, number of ideas) counted in SQL, for departments with any; by name."""
    query = _visible(
        select(Department.name, func.count(col(Idea.id)))
        .join(Department, col(Idea.department_id) == Department.id)
        .group_by(Department.name)
        .order_by(Department.name),
        actor,
    )
    if status is not None:
        query = query.where(Idea.status == status)
    return [(name, int(n)) for name, n in session.exec(query)]


@dataclass(frozen=True)
class BulkOutcome:
    """What a bulk triage did: the ideas it moved, and the error for each one it could not."""

    done: list[int]
    failed: dict[int, PlannerError]


def triage_ideas(
    session: Session,
    *,
    actor: User,
    idea_ids: Sequence[int],
    action: str,
    reason: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> BulkOutcome:
    """Accept or reject several ideas, each in its own transaction; one failure stops none.

    `progress(done, total)` is called after each idea, so a caller can show how far it got.
    """
    if action not in ("accept", "reject"):
        raise ValidationFailed({"action": f"bulk triage can accept or reject, not {action!r}"})
    done: list[int] = []
    failed: dict[int, PlannerError] = {}
    for n, idea_id in enumerate(idea_ids, start=1):
        try:
            if action == "accept":
                accept_idea(session, actor=actor, idea_id=idea_id)
            else:
                reject_idea(session, actor=actor, idea_id=idea_id, reason=reason)
            done.append(idea_id)
        except PlannerError as err:
            failed[idea_id] = err
        if progress is not None:
            progress(n, len(idea_ids))
    return BulkOutcome(done=done, failed=failed)


def accept_idea(session: Session, *, actor: User, idea_id: int, note: str = "") -> Piece:
    """Accept an idea: it becomes a draft piece owned by the accepting editor."""
    workflow.check_role("idea", "accept", actor)
    idea = get_idea(session, actor=actor, idea_id=idea_id)
    workflow.check("idea", idea, "accept", actor, note)
    author_id = actor.id
    assert author_id is not None
    piece = Piece(
        idea_id=idea.id,
        title=idea.title,
        body=idea.pitch,
        owner_id=author_id,
        tags=idea.tags,
        audience_id=idea.audience_id,
    )

    def create_piece() -> None:
        session.add(piece)
        session.flush()
        assert piece.id is not None
        session.add(revision_of(piece, author_id=author_id, note=f"created from idea #{idea.id}"))

    workflow.apply(
        session,
        kind="idea",
        obj=idea,
        action="accept",
        actor=actor,
        note=note or "accepted",
        effect=create_piece,
    )
    return piece


def reject_idea(session: Session, *, actor: User, idea_id: int, reason: str) -> Idea:
    """Reject an idea; the reason is required and shown to the contributor."""
    workflow.check_role("idea", "reject", actor)
    check_text(reason, "reason")
    return _settle_rejection(
        session, actor=actor, idea_id=idea_id, action="reject", note=reason, reason=reason.strip()
    )


def reopen_idea(session: Session, *, actor: User, idea_id: int, note: str = "") -> Idea:
    """Put a rejected idea back into triage."""
    workflow.check_role("idea", "reopen", actor)
    return _settle_rejection(
        session, actor=actor, idea_id=idea_id, action="reopen", note=note, reason=None
    )


def _settle_rejection(
    session: Session, *, actor: User, idea_id: int, action: str, note: str, reason: str | None
) -> Idea:
    """Take `action` on an idea whose rejection reason becomes `reason` (None: no longer)."""
    idea = get_idea(session, actor=actor, idea_id=idea_id)

    def keep_reason() -> None:
        idea.rejection_reason = reason

    workflow.apply(
        session, kind="idea", obj=idea, action=action, actor=actor, note=note, effect=keep_reason
    )
    return idea


def merge_idea(
    session: Session, *, actor: User, idea_id: int, into_id: int, note: str = ""
) -> Idea:
    """Merge a duplicate idea into another; the duplicate's contributor is sent there.

    The target is held to the row version it was read at: it is stored again with the
    merge (its version checked and raised), so a target merged, rejected or accepted in the
    meantime makes this merge fail, nothing stored. Two editors merging two ideas into each
    other at once thus never leave both merged, each pointing at the other.
    """
    workflow.check_role("idea", "merge", actor)
    idea = get_idea(session, actor=actor, idea_id=idea_id)
    target = get_idea(session, actor=actor, idea_id=into_id)
    target_version = target.version

    def guard() -> None:
        if target.id == idea.id:
            raise ValidationFailed({"into": "an idea cannot be merged into itself"})
        if target.status in (IdeaStatus.merged, IdeaStatus.rejected):
            hint = (
                f"; merge into #{target.merged_into_id} instead"
                if target.merged_into_id not in (None, idea.id)
                else ""
            )
            raise ValidationFailed({"into": f"idea #{target.id} is {target.status.value}{hint}"})

    def point_to_target() -> None:
        idea.merged_into_id = target.id
        # Changing the target stores it with a check of its row version: a target changed
        # since it was read fails the whole merge (StaleDataError).
        target.updated_at = idea.updated_at
        session.add(target)

    try:
        workflow.apply(
            session,
            kind="idea",
            obj=idea,
            action="merge",
            actor=actor,
            note=note or f"merged into idea #{target.id}",
            guard=guard,
            effect=point_to_target,
        )
    except EditConflict as conflict:
        # One of the two ideas changed meanwhile (the move was rolled back): say what the
        # target is now if that forbids the merge, else that it changed.
        session.refresh(target)
        guard()
        if target.version != target_version:
            raise EditConflict(
                "idea", target.id, target_version, target.version, None
            ) from conflict
        raise
    return idea


def idea_outcome(session: Session, *, actor: User, idea_id: int) -> IdeaOutcome:
    """What became of an idea, following merges to the idea that carried it on: that
    idea's piece and posts, or its rejection and the reason."""
    idea = get_idea(session, actor=actor, idea_id=idea_id)
    dep = session.get(Department, idea.department_id)
    carrier = idea
    seen = {idea.id}
    while carrier.merged_into_id is not None and carrier.merged_into_id not in seen:
        nxt = session.get(Idea, carrier.merged_into_id, populate_existing=True)
        if nxt is None:
            break
        seen.add(nxt.id)
        carrier = nxt
    piece = session.exec(select(Piece).where(Piece.idea_id == carrier.id)).first()
    posts: list[PostOutcome] = []
    if piece is not None:
        rows = session.exec(
            select(Post, Channel.name)
            .join(Channel, col(Post.channel_id) == Channel.id)
            .where(Post.piece_id == piece.id)
            .order_by(col(Post.publish_at))
        )
        posts = [
            PostOutcome(name, p.publish_at, p.status, p.published_at, p.external_url)
            for p, name in rows
        ]
    merged = carrier is not idea
    reason = idea.rejection_reason
    if merged and carrier.status == IdeaStatus.rejected:
        reason = carrier.rejection_reason
    return IdeaOutcome(
        idea=idea,
        department=dep.name if dep else "?",
        rejection_reason=reason,
        merged_into=idea.merged_into_id,
        piece_id=piece.id if piece else None,
        piece_title=piece.title if piece else None,
        piece_status=piece.status.value if piece else None,
        posts=posts,
        carried_by=carrier.id if merged else None,
        carrier_status=carrier.status if merged else None,
    )
