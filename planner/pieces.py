"""Pieces: revisions on every save, optimistic locking, review moves bound to a version."""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from sqlmodel import Session, col, delete, func, select

from planner import audit, checks, notifications, rule_checks, rules, submissions, workflow
from planner.db import all_or_nothing, check_page, paged
from planner.errors import (
    EditConflict,
    Message,
    NotFound,
    NothingToRestore,
    ValidationFailed,
)
from planner.models import (
    Channel,
    Comment,
    EditorDraft,
    Piece,
    PieceStatus,
    Revision,
    User,
    utcnow,
)
from planner.permissions import require
from planner.schemas import PieceCreate, PieceUpdate, check_text, parse_input
from planner.textdiff import Change, word_diff

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PartDiff:
    """One part of a piece that changed, word by word.

    `part` is "title", "body", "variant" (of channel `channel_id`), "due_date",
    "campaign" or "tags" (one tag a line).
    """

    part: str
    changes: tuple[Change, ...]
    channel_id: int | None = None


@dataclass(frozen=True)
class RevisionDiff:
    """What changed between two revisions of a piece: a unified diff per part, and the
    changed parts word by word (`parts`, in the order of the piece's form)."""

    piece_id: int
    old: int
    new: int
    title: str
    body: str
    variants: dict[str, str]
    due_date: str
    campaign: str
    tags: str
    parts: tuple[PartDiff, ...] = ()
    # The files, one "name: alt text" a line.
    media: str = ""

    @property
    def changed(self) -> bool:
        """Whether any part differs."""
        return any(self._parts())

    def _parts(self) -> tuple[str, ...]:
        return (
            self.title,
            self.body,
            *self.variants.values(),
            self.due_date,
            self.campaign,
            self.tags,
            self.media,
        )

    @property
    def text(self) -> str:
        """All parts of the diff as one text."""
        present = [p for p in self._parts() if p]
        return "\n".join(present) if present else "(no differences)\n"


def revision_note(note: str) -> str:
    """A revision's note for display: one the planner wrote itself (stored in English, as the
    CLI prints it) comes back as a Message the dashboard says in the reader's language; a
    person's note stays as they wrote it."""
    if note == "created":
        return Message("note_created", "created")
    if found := re.fullmatch(r"created from idea #(\d+)", note):
        return Message("note_created_from_idea", "created from idea #{idea}", idea=int(found[1]))
    if found := re.fullmatch(r"attached (.+)", note, re.DOTALL):
        return Message("note_attached", "attached {name}", name=found[1])
    if found := re.fullmatch(r"removed (.+)", note, re.DOTALL):
        return Message("note_removed", "removed {name}", name=found[1])
    if found := re.fullmatch(r"alt text of (.+)", note, re.DOTALL):
        return Message("note_alt_text", "alt text of {name}", name=found[1])
    if found := re.fullmatch(r"restored revision (\d+)", note):
        return Message("note_restored", "restored revision {number}", number=int(found[1]))
    return note


def get_piece(session: Session, *, actor: User, piece_id: int) -> Piece:
    """One piece, for those who may view pieces."""
    require(actor, "view_pieces")
    piece = session.get(Piece, piece_id, populate_existing=True)
    if piece is None:
        raise NotFound("piece", piece_id)
    return piece


def list_pieces(
    session: Session,
    *,
    actor: User,
    status: PieceStatus | None = None,
    limit: int | None = None,
    offset: int = 0,
    audience_id: int | None = None,
) -> list[Piece]:
    """Pieces (of one audience, if given), most recently changed first."""
    require(actor, "view_pieces")
    check_page(limit, offset)
    latest_first = (col(Piece.updated_at).desc(), col(Piece.id).desc())
    if limit is None:
        query = select(Piece)
        if status is not None:
            query = query.where(Piece.status == status)
        if audience_id is not None:
            query = query.where(Piece.audience_id == audience_id)
        return list(session.exec(query.order_by(*latest_first).offset(offset)))
    # The page's ids are sorted first and only their rows read: sorting the whole rows
    # (texts and variants) of every piece in the state is what a page used to cost.
    page = select(Piece.id)
    if status is not None:
        page = page.where(Piece.status == status)
    if audience_id is not None:
        page = page.where(Piece.audience_id == audience_id)
    page = page.order_by(*latest_first).offset(offset).limit(limit)
    return list(session.exec(select(Piece).where(col(Piece.id).in_(page)).order_by(*latest_first)))


@dataclass(frozen=True)
class ReviewItem:
    """A piece waiting for review, with the name of its owner."""

    piece: Piece
    owner: str


def review_queue(
    session: Session, *, actor: User, limit: int | None = None, offset: int = 0
) -> list[ReviewItem]:
    """Pieces in review, longest waiting first, with their owners' names (one query)."""
    require(actor, "view_pieces")
    query = (
        select(Piece, User.display_name)
        .join(User, col(Piece.owner_id) == User.id)
        .where(Piece.status == PieceStatus.in_review)
        .order_by(col(Piece.updated_at), col(Piece.id))
    )
    return [ReviewItem(piece, name) for piece, name in session.exec(paged(query, limit, offset))]


def count_pieces_by_status(
    session: Session, *, actor: User, audience_id: int | None = None
) -> dict[PieceStatus, int]:
    """How many pieces (of one audience, if given) are in each state (every state present,
    zero if none), counted in SQL."""
    require(actor, "view_pieces")
    counts = dict.fromkeys(PieceStatus, 0)
    query = select(Piece.status, func.count())
    if audience_id is not None:
        query = query.where(Piece.audience_id == audience_id)
    rows = session.exec(query.group_by(Piece.status))
    for status, n in rows:
        counts[PieceStatus(status)] = int(n)
    return counts


def revision_of(piece: Piece, *, author_id: int, note: str) -> Revision:
    """A snapshot of everything a save can change, as revision number `piece.revision`."""
    assert piece.id is not None
    return Revision(
        piece_id=piece.id,
        number=piece.revision,
        title=piece.title,
        body=piece.body,
        variants=dict(piece.variants),
        due_date=piece.due_date,
        campaign=piece.campaign,
        tags=list(piece.tags),
        media=[dict(m) for m in piece.media],
        author_id=author_id,
        note=note,
    )


def store_revision(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    change: Callable[[], None],
    note: str,
    event_note: str = "",
    token: str | None = None,
    saves_draft: bool = False,
) -> None:
    """Change `piece` by `change` and store it as its next revision (noted `note`), as the
    workflow's "edit", spending the form's `token`. The audit event says `event_note`, or
    that an approved piece needs review again. `saves_draft`: the change saves what the
    actor had typed, so their draft of the piece is deleted."""
    assert actor.id is not None and piece.id is not None
    author_id, piece_id = actor.id, piece.id
    after_approval = piece.status == PieceStatus.approved

    def save() -> None:
        change()
        piece.revision += 1
        revision = revision_of(piece, author_id=author_id, note=note)
        session.add(revision)
        session.flush()
        submissions.spend(
            session, actor=actor, token=token, action="revision", object_id=revision.id
        )
        if saves_draft:
            session.exec(
                delete(EditorDraft).where(
                    col(EditorDraft.user_id) == author_id, col(EditorDraft.piece_id) == piece_id
                )
            )

    with submissions.first_use(session, actor=actor, token=token):
        workflow.apply(
            session,
            kind="piece",
            obj=piece,
            action="edit",
            actor=actor,
            note=event_note
            or ("edited after approval: needs review again" if after_approval else ""),
            effect=save,
            version=piece.revision + 1,
        )


def create_piece(session: Session, *, actor: User, data: dict[str, Any]) -> Piece:
    """Start a piece without an idea; it is a draft at revision 1."""
    require(actor, "create_piece")
    new = parse_input(PieceCreate, data)
    assert actor.id is not None
    piece = Piece(
        title=new.title,
        body=new.body,
        owner_id=actor.id,
        due_date=new.due_date,
        campaign=new.campaign,
        tags=new.tags,
    )
    with all_or_nothing(session):
        created = PieceStatus.draft.value
        audit.record_change(
            session,
            piece,
            actor=actor,
            object_type="piece",
            action="create",
            to_state=created,
            version=1,
        )
        session.add(revision_of(piece, author_id=actor.id, note="created"))
    return piece


def _check_variants(session: Session, variants: dict[int, str]) -> dict[str, str]:
    if not variants:
        return {}
    known = {
        c.id: c for c in session.exec(select(Channel).where(col(Channel.id).in_(list(variants))))
    }
    unknown = sorted(set(variants) - set(known))
    if unknown:
        raise ValidationFailed({"variants": f"unknown channel id(s): {unknown}"})
    return {str(cid): text for cid, text in variants.items() if text.strip()}


def edit_piece(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    expected_revision: int,
    data: dict[str, Any],
    token: str | None = None,
    media: list[dict[str, Any]] | None = None,
) -> Piece:
    """Save a new revision of a piece.

    `expected_revision` is the revision the editor started from: if someone saved since,
    EditConflict is raised and carries the attempted update, so nothing typed is lost.
    An edit after approval sends the piece back to review. A form's spent `token` raises
    AlreadySent naming the revision the first save created.
    """
    require(actor, "edit_piece")
    submissions.refuse_spent(session, actor=actor, token=token)
    update = parse_input(PieceUpdate, data)
    piece = get_piece(session, actor=actor, piece_id=piece_id)
    if piece.revision != expected_revision:
        raise EditConflict("piece", piece_id, expected_revision, piece.revision, update)
    workflow.check("piece", piece, "edit", actor)
    variants = (
        _check_variants(session, update.variants)
        if update.variants is not None
        else dict(piece.variants)
    )
    changed = (
        (update.title is not None and update.title != piece.title)
        or (update.body is not None and update.body != piece.body)
        or variants != piece.variants
        or ("due_date" in update.model_fields_set and update.due_date != piece.due_date)
        or (update.campaign is not None and update.campaign != piece.campaign)
        or (update.tags is not None and update.tags != piece.tags)
        or (media is not None and media != piece.media)
    )
    if not changed:
        return piece

    def change() -> None:
        if update.title is not None:
            piece.title = update.title
        if update.body is not None:
            piece.body = update.body
        piece.variants = variants
        if "due_date" in update.model_fields_set:
            piece.due_date = update.due_date
        if update.campaign is not None:
            piece.campaign = update.campaign
        if update.tags is not None:
            piece.tags = update.tags
        if media is not None:  # a restored revision's files (`planner.media` changes them)
            piece.media = media

    try:
        store_revision(
            session,
            actor=actor,
            piece=piece,
            change=change,
            note=update.note,
            event_note=update.note,
            token=token,
            saves_draft=True,
        )
    except EditConflict as err:
        # The same form, sent at the same moment, may have saved first: say that instead.
        submissions.refuse_spent(session, actor=actor, token=token)
        # Said in revisions, the numbers the editor sees, and with the text kept.
        raise EditConflict("piece", piece_id, expected_revision, piece.revision, update) from err
    return piece


def add_utm_parameters(
    session: Session, *, actor: User, piece_id: int, expected_revision: int
) -> Piece:
    """The UTM rule's fix: give every link the piece sends on each of its channels the UTM
    parameters it lacks (source: the channel, medium: the rule's, campaign: the piece's),
    saved as a new revision; a channel without a variant gets one from the master text."""
    piece = get_piece(session, actor=actor, piece_id=piece_id)
    if not piece.campaign.strip():
        raise ValidationFailed(
            {
                "campaign": Message(
                    "utm_without_campaign",
                    "piece {piece} has no campaign to name in its links",
                    piece=piece_id,
                )
            }
        )
    mediums = [r.settings["medium"] for r in rules.enabled_rules(session) if r.kind == "utm_links"]
    variants: dict[int, str] = {}
    for channel in checks.piece_channels(session, actor=actor, piece=piece):
        assert channel.id is not None
        text = piece.variants.get(str(channel.id)) or piece.body
        fixed = rule_checks.with_utm(
            text,
            source=rule_checks.slug(channel.name),
            medium=mediums[0] if mediums else "social",
            campaign=rule_checks.slug(piece.campaign),
        )
        if fixed != text:
            variants[channel.id] = fixed
    if not variants:
        return piece
    kept = {int(k): v for k, v in piece.variants.items() if k.isdigit()}
    return edit_piece(
        session,
        actor=actor,
        piece_id=piece_id,
        expected_revision=expected_revision,
        data={"variants": {**kept, **variants}, "note": "UTM parameters added to links"},
    )


def authors(session: Session, piece_id: int) -> set[int]:
    """Everyone who wrote or edited any revision of a piece."""
    return set(session.exec(select(Revision.author_id).where(Revision.piece_id == piece_id)))


def _apply(
    session: Session, piece: Piece, action: str, *, actor: User, **step: Unpack[workflow.Step]
) -> Piece:
    """`workflow.apply` to a piece; its audit event records the piece's revision."""
    workflow.apply(
        session, kind="piece", obj=piece, version=piece.revision, action=action, actor=actor, **step
    )
    return piece


def _as_seen(
    piece: Piece, revision: int | None, expected_status: PieceStatus | None
) -> Callable[[], None]:
    """A guard holding a move to the piece as its taker saw it: at `revision` and in
    `expected_status` (either None: not held to it). A piece changed since raises
    EditConflict (in revisions), nothing changed: its state may have moved on while its
    revision stayed (a draft submitted and approved as it was)."""

    def guard() -> None:
        changed = (revision is not None and revision != piece.revision) or (
            expected_status is not None and expected_status != piece.status
        )
        if changed:
            seen = piece.revision if revision is None else revision
            raise EditConflict("piece", piece.id, seen, piece.revision, None)

    return guard


def _move(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    action: str,
    note: str = "",
    revision: int | None = None,
    expected_status: PieceStatus | None = None,
) -> Piece:
    piece = get_piece(session, actor=actor, piece_id=piece_id)
    guard = _as_seen(piece, revision, expected_status)
    return _apply(session, piece, action, actor=actor, note=note, guard=guard)


def _release_step(
    session: Session,
    piece: Piece,
    action: str,
    *,
    actor: User,
    note: str,
    guard: Callable[[], None] | None = None,
    effect: Callable[[], None] | None = None,
) -> Piece:
    """Submit or approve: after `guard`, every channel the piece goes out on must accept its
    text and no publishing rule may block it there. What the rules found is recorded with
    the step, or on its own when a blocking finding refused the step (the process report
    counts both)."""
    found: list[rule_checks.RuleFinding] = []

    def guards() -> None:
        if guard is not None:
            guard()
        checks.require_releasable(session, actor=actor, piece=piece, into=found)

    def effects() -> None:
        if effect is not None:
            effect()
        rule_checks.record_findings(
            session, actor=actor, piece=piece, step=action, findings=found, stopped=False
        )

    try:
        return _apply(session, piece, action, actor=actor, note=note, guard=guards, effect=effects)
    except ValidationFailed as refused:
        if "rules" in refused.fields and any(f.blocks for f in found):
            rule_checks.record_refusal(
                session, actor=actor, piece=piece, step=action, findings=found
            )
        raise


def submit_piece(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    note: str = "",
    revision: int | None = None,
    expected_status: PieceStatus | None = None,
) -> Piece:
    """Send a draft to review; every channel it goes out on must accept its text, and no
    publishing rule may block it (unless an approver overrode that finding). With
    `revision` and/or `expected_status`, only a piece still as its submitter saw it
    (EditConflict otherwise)."""
    piece = get_piece(session, actor=actor, piece_id=piece_id)
    guard = _as_seen(piece, revision, expected_status)
    return _release_step(session, piece, "submit", actor=actor, note=note, guard=guard)


def approve_piece(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    revision: int,
    note: str = "",
    expected_status: PieceStatus | None = None,
) -> Piece:
    """Approve exactly `revision`, the version the approver read; never one's own work. A
    `note` is kept as a comment on the piece as well (its @mentions are told).

    Every channel the piece goes out on must accept its text, and no publishing rule may
    block it (unless an approver overrode that finding).
    """
    piece = get_piece(session, actor=actor, piece_id=piece_id)
    text = check_text(note, "note").strip()
    # A note is kept as a comment too, and whom it names as @username is told.
    named = notifications.mentions(session, actor=actor, piece_id=piece_id, text=text)

    as_seen = _as_seen(piece, revision, expected_status)

    def guard() -> None:
        as_seen()
        rule_checks.refuse_own_work(session, actor=actor, piece_id=piece_id, approving=True)

    def bind_approval() -> None:
        piece.approved_revision = piece.revision
        piece.approved_by_id = actor.id
        piece.approved_at = utcnow()
        if text:
            assert actor.id is not None
            session.add(
                Comment(piece_id=piece_id, author_id=actor.id, revision=piece.revision, body=text)
            )
            notifications.store(session.connection(), named)

    return _release_step(
        session, piece, "approve", actor=actor, note=note, guard=guard, effect=bind_approval
    )


def request_changes(
    session: Session, *, actor: User, piece_id: int, comment: str, revision: int | None = None
) -> Piece:
    """Send a piece in review back with a comment saying what to change (its editors are
    told, and so is everyone the comment names as @username)."""
    check_text(comment, "comment")
    piece = get_piece(session, actor=actor, piece_id=piece_id)

    def guard() -> None:
        if revision is not None and revision != piece.revision:
            raise EditConflict("piece", piece_id, revision, piece.revision, None)

    named = notifications.mentions(session, actor=actor, piece_id=piece_id, text=comment)

    def keep_comment() -> None:
        assert actor.id is not None
        session.add(
            Comment(
                piece_id=piece_id, author_id=actor.id, revision=piece.revision, body=comment.strip()
            )
        )
        notifications.store(session.connection(), named)

    return _apply(
        session,
        piece,
        "request_changes",
        actor=actor,
        note=comment,
        guard=guard,
        effect=keep_comment,
    )


class AsSeen(TypedDict, total=False):
    """The piece as the person moving it saw it: its revision and its state (a move of a
    piece changed since raises EditConflict, nothing changed; each left out: not held)."""

    revision: int | None
    expected_status: PieceStatus | None


def revise_piece(
    session: Session, *, actor: User, piece_id: int, note: str = "", **seen: Unpack[AsSeen]
) -> Piece:
    """Take a piece with requested changes back to draft to work on it."""
    return _move(session, actor=actor, piece_id=piece_id, action="revise", note=note, **seen)


def archive_piece(
    session: Session, *, actor: User, piece_id: int, note: str = "", **seen: Unpack[AsSeen]
) -> Piece:
    """Archive a piece."""
    return _move(session, actor=actor, piece_id=piece_id, action="archive", note=note, **seen)


def reopen_piece(
    session: Session, *, actor: User, piece_id: int, note: str = "", **seen: Unpack[AsSeen]
) -> Piece:
    """Bring an archived piece back as a draft."""
    return _move(session, actor=actor, piece_id=piece_id, action="reopen", note=note, **seen)


def history(session: Session, *, actor: User, piece_id: int) -> list[Revision]:
    """Every saved revision of a piece, oldest first."""
    get_piece(session, actor=actor, piece_id=piece_id)
    return list(
        session.exec(
            select(Revision).where(Revision.piece_id == piece_id).order_by(col(Revision.number))
        )
    )


def get_revision(session: Session, *, actor: User, piece_id: int, number: int) -> Revision:
    """One revision of a piece."""
    get_piece(session, actor=actor, piece_id=piece_id)
    rev = session.exec(
        select(Revision).where(Revision.piece_id == piece_id, Revision.number == number)
    ).first()
    if rev is None:
        raise NotFound("revision", f"{piece_id}/{number}")
    return rev


# Names a part of a revision in a diff's header: the part ("title", "text", "due_date",
# "campaign", "tags", or a variant's channel id) and the revision's number.
DiffHeader = Callable[[str | int, int], str]
_PART_NAMES = {"due_date": "due date"}


def english_header(part: str | int, number: int) -> str:
    """A diff header as the CLI prints it: "title @ r2", "channel 6 @ r1"."""
    name = f"channel {part}" if isinstance(part, int) else _PART_NAMES.get(part, part)
    return f"{name} @ r{number}"


def _udiff(old: str, new: str, part: str | int, a: int, b: int, header: DiffHeader) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=header(part, a),
        tofile=header(part, b),
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _diff(
    a: Revision | None, b: Revision, piece_id: int, header: DiffHeader = english_header
) -> RevisionDiff:
    """Every part of revision `b` against `a`, or against nothing (revision 0) if `a` is None."""
    old, new = (a.number if a else 0), b.number

    def part(name: str | int, before: str, after: str) -> str:
        return _udiff(before, after, name, old, new, header)

    def due(rev: Revision | None) -> str:
        return rev.due_date.isoformat() if rev and rev.due_date else ""

    a_variants = a.variants if a else {}
    keys = sorted(set(a_variants) | set(b.variants), key=int)
    variants = {}
    for key in keys:
        text = part(int(key), a_variants.get(key, ""), b.variants.get(key, ""))
        if text:
            variants[key] = text
    compared = [
        ("title", None, a.title if a else "", b.title),
        ("body", None, a.body if a else "", b.body),
        *(("variant", int(k), a_variants.get(k, ""), b.variants.get(k, "")) for k in keys),
        ("due_date", None, due(a), due(b)),
        ("campaign", None, a.campaign if a else "", b.campaign),
        ("tags", None, _lines(a.tags if a else []), _lines(b.tags)),
        ("media", None, _media_lines(a), _media_lines(b)),
    ]
    parts = tuple(
        PartDiff(name, tuple(word_diff(before, after)), channel_id)
        for name, channel_id, before, after in compared
        if before != after
    )
    return RevisionDiff(
        piece_id=piece_id,
        old=old,
        new=new,
        title=part("title", a.title if a else "", b.title),
        body=part("text", a.body if a else "", b.body),
        variants=variants,
        due_date=part("due_date", due(a), due(b)),
        campaign=part("campaign", a.campaign if a else "", b.campaign),
        # One tag a line, so the diff names each tag added or removed.
        tags=part("tags", _lines(a.tags if a else []), _lines(b.tags)),
        parts=parts,
        media=part("media", _media_lines(a), _media_lines(b)),
    )


def _lines(items: list[str]) -> str:
    return "".join(f"{item}\n" for item in items)


def _media_lines(rev: Revision | None) -> str:
    """A revision's files, one "name: alt text" a line (a new alt text is a changed line)."""
    return (
        "".join(f"{m.get('filename', '')}: {m.get('alt_text', '')}\n" for m in rev.media)
        if rev
        else ""
    )


def diff_revisions(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    old: int,
    new: int,
    header: DiffHeader = english_header,
) -> RevisionDiff:
    """What changed between two revisions: texts, channel variants, due date, campaign, tags.

    `header` names each part and revision in the diff's headers (the dashboard's in the
    reader's language)."""
    a = get_revision(session, actor=actor, piece_id=piece_id, number=old)
    b = get_revision(session, actor=actor, piece_id=piece_id, number=new)
    return _diff(a, b, piece_id, header)


def review_diff(
    session: Session, *, actor: User, piece_id: int, header: DiffHeader = english_header
) -> RevisionDiff:
    """The current revision against the last approved one, or against nothing if never approved.

    A diff against nothing shows every line as added (`old` is 0).
    """
    piece = get_piece(session, actor=actor, piece_id=piece_id)
    return diff_to_current(
        session, actor=actor, piece=piece, old=piece.approved_revision, header=header
    )


def diff_to_current(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    old: int | None,
    header: DiffHeader = english_header,
) -> RevisionDiff:
    """The piece's current revision against revision `old`, or against nothing (every
    line added) when `old` is None."""
    assert piece.id is not None
    a = None if old is None else get_revision(session, actor=actor, piece_id=piece.id, number=old)
    b = get_revision(session, actor=actor, piece_id=piece.id, number=piece.revision)
    return _diff(a, b, piece.id, header)


def restore_revision(
    session: Session, *, actor: User, piece_id: int, number: int, expected_revision: int
) -> Piece:
    """Save an old revision's content, its files too, as a new revision (history is never
    rewritten).

    Raises NothingToRestore when the piece already has exactly that content.
    """
    rev = get_revision(session, actor=actor, piece_id=piece_id, number=number)
    piece = get_piece(session, actor=actor, piece_id=piece_id)
    if piece.revision == expected_revision and _content(rev) == _content(piece):
        raise NothingToRestore(piece_id, number, piece.revision)
    return edit_piece(
        session,
        actor=actor,
        piece_id=piece_id,
        expected_revision=expected_revision,
        data={
            "title": rev.title,
            "body": rev.body,
            "variants": {int(k): v for k, v in rev.variants.items()},
            "due_date": rev.due_date,
            "campaign": rev.campaign,
            "tags": list(rev.tags),
            "note": f"restored revision {number}",
        },
        media=[dict(m) for m in rev.media],
    )


def _content(obj: Piece | Revision) -> tuple[Any, ...]:
    return (obj.title, obj.body, obj.variants, obj.due_date, obj.campaign, obj.tags, obj.media)


def add_comment(
    session: Session, *, actor: User, piece_id: int, body: str, token: str | None = None
) -> Comment:
    """Comment on the current revision of a piece; everyone it names as @username is told.

    A name that is nobody who may see the piece is refused (ValidationFailed), nothing
    stored; a form's spent `token` raises AlreadySent naming the comment the first send
    created.
    """
    require(actor, "comment")
    submissions.refuse_spent(session, actor=actor, token=token)
    piece = get_piece(session, actor=actor, piece_id=piece_id)
    text = body.strip()
    if not text:
        raise ValidationFailed({"body": Message("empty_comment", "a comment cannot be empty")})
    if len(text) > 5_000:
        raise ValidationFailed({"body": Message("too_long", "at most {max} characters", max=5000)})
    check_text(text, "body")
    named = notifications.mentions(session, actor=actor, piece_id=piece_id, text=text)
    assert actor.id is not None
    comment = Comment(piece_id=piece_id, author_id=actor.id, revision=piece.revision, body=text)
    with submissions.first_use(session, actor=actor, token=token), all_or_nothing(session):
        session.add(comment)
        notifications.store(session.connection(), named)
        audit.record_change(
            session,
            piece,
            actor=actor,
            object_type="piece",
            action="comment",
            version=piece.revision,
            note=text[:200],
        )
        session.flush()
        submissions.spend(session, actor=actor, token=token, action="comment", object_id=comment.id)
    return comment


def list_comments(session: Session, *, actor: User, piece_id: int) -> list[Comment]:
    """Comments on a piece, oldest first."""
    get_piece(session, actor=actor, piece_id=piece_id)
    return list(
        session.exec(select(Comment).where(Comment.piece_id == piece_id).order_by(col(Comment.id)))
    )


def comments_on(
    session: Session, *, actor: User, piece_ids: Sequence[int]
) -> dict[int, list[Comment]]:
    """The comments on each of several pieces, oldest first (in one query, for the Board)."""
    require(actor, "view_pieces")
    found: dict[int, list[Comment]] = {piece_id: [] for piece_id in piece_ids}
    if found:
        rows = session.exec(
            select(Comment).where(col(Comment.piece_id).in_(list(found))).order_by(col(Comment.id))
        )
        for comment in rows:
            found[comment.piece_id].append(comment)
    return found


def is_approved_as_is(piece: Piece) -> bool:
    """Whether the piece is approved at its current revision (what publishing requires)."""
    return piece.status == PieceStatus.approved and piece.approved_revision == piece.revision
