"""What the editor works with: finding a piece, its channels, each variant as its channel counts.

The length of a channel variant is measured by the channel's own adapter (graphemes for
Bluesky, weighted characters for X, bytes for Matrix...), and the adapter's `validate`
findings are returned as they are, so the editor sees what the scheduler would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import false, func, or_
from sqlmodel import Session, col, select

from planner import org_settings, tracked_links
from planner.channels import build_adapter
from planner.checks import channels_of
from planner.errors import Message, NotFound, ValidationFailed
from planner.models import Channel, Piece, PieceStatus, Post, PostStatus, User
from planner.permissions import require
from planner.schemas import id_problem
from publishers import REGISTRY
from publishers.base import OutgoingPost, Problem

PAGE_SIZE = 25


@dataclass(frozen=True)
class PieceHit:
    """One piece in a search result: enough to pick it."""

    id: int
    title: str
    status: PieceStatus
    revision: int


@dataclass(frozen=True)
class PieceSearch:
    """One page of pieces matching a search, and how many match in all."""

    hits: list[PieceHit]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class Finding:
    """Something the channel's adapter says must be fixed before the post can go out."""

    field: str
    message: str


@dataclass(frozen=True)
class VariantCheck:
    """A variant's length as its channel counts it, the limit, and the adapter's findings."""

    channel_id: int
    channel_name: str
    count: int
    limit: int | None
    counted_as: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def too_long(self) -> bool:
        """Whether the text is over the channel's limit."""
        return self.limit is not None and self.count > self.limit


def search_pieces(
    session: Session,
    *,
    actor: User,
    text: str = "",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> PieceSearch:
    """Pieces whose title contains `text` (or whose number it is; '#12' is only that number)."""
    require(actor, "view_pieces")
    needle = text.strip()
    number = needle[1:].strip() if needle.startswith("#") else ""
    condition = None
    if number.isascii() and number.isdigit():
        # A number no id column holds ('#99999999999999999999') is no piece's.
        condition = col(Piece.id) == int(number) if id_problem(number) is None else false()
    elif needle:
        like = col(Piece.title).ilike(f"%{_escape_like(needle)}%", escape="\\")
        # Only ASCII digits of an id are tried as one: '²' passes isdigit() but not int().
        by_id = col(Piece.id) == int(needle) if id_problem(needle) is None else None
        condition = like if by_id is None else or_(like, by_id)
    count_query = select(func.count()).select_from(Piece)
    query = select(Piece.id, Piece.title, Piece.status, Piece.revision)
    if condition is not None:
        count_query = count_query.where(condition)
        query = query.where(condition)
    total = int(session.exec(count_query).one())
    pages = max(1, -(-total // page_size))
    page = min(max(1, page), pages)
    rows = session.exec(
        query.order_by(col(Piece.updated_at).desc(), col(Piece.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    hits = [
        PieceHit(id=int(r[0] or 0), title=r[1], status=PieceStatus(r[2]), revision=r[3])
        for r in rows
    ]
    return PieceSearch(hits=hits, total=total, page=page, pages=pages)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def variant_channels(session: Session, *, actor: User, piece_id: int) -> list[Channel]:
    """The channels a piece needs a variant for: where it is planned, or has a variant."""
    require(actor, "view_pieces")
    piece = session.get(Piece, piece_id)
    if piece is None:
        raise NotFound("piece", piece_id)
    return channels_of(session, piece, posts_where=Post.status != PostStatus.cancelled)


def check_variant(
    session: Session,
    *,
    actor: User,
    channel_id: int,
    text: str,
    title: str = "",
) -> VariantCheck:
    """Measure `text` the way the channel counts it and collect its adapter's findings.

    An empty variant is checked as the master text it falls back to, so callers pass
    the text that would actually be sent. While tracked links are on, each link counts as
    the short link it will be sent as.
    """
    require(actor, "view_pieces")
    text = tracked_links.counted_text(text, org_settings.tracked_links_base(session))
    channel = session.get(Channel, channel_id)
    if channel is None:
        raise NotFound("channel", channel_id)
    cls = REGISTRY.get(channel.kind)
    if cls is None:
        return VariantCheck(
            channel_id=channel_id,
            channel_name=channel.name,
            count=len(text),
            limit=None,
            counted_as="characters",
            findings=[Finding("kind", f"there is no publisher for {channel.kind!r} channels yet")],
        )
    try:
        adapter = build_adapter(channel)
    except ValidationFailed as err:
        # A misconfigured channel still has its declared limit; the admin must fix the rest.
        return VariantCheck(
            channel_id=channel_id,
            channel_name=channel.name,
            count=len(text),
            limit=cls.text_limit,
            counted_as=cls.counted_as,
            findings=[Finding(name, message) for name, message in err.fields.items()],
        )
    problems = adapter.validate(OutgoingPost(post_id=0, title=title, text=text))
    return VariantCheck(
        channel_id=channel_id,
        channel_name=channel.name,
        count=adapter.measure(text),
        limit=adapter.text_limit,
        counted_as=adapter.counted_as,
        findings=[Finding(p.field, _finding_message(p)) for p in problems],
    )


def _finding_message(found: Problem) -> str:
    """The adapter's English text, with its code so the dashboard can translate it."""
    if not found.code:
        return found.message
    return Message.formatted(f"problem_{found.code}", found.message, found.params)


def display_names(session: Session, *, actor: User, user_ids: set[int]) -> dict[int, str]:
    """Users' display names by id, for history and comments (who may view pieces)."""
    require(actor, "view_pieces")
    if not user_ids:
        return {}
    rows = session.exec(select(User.id, User.display_name).where(col(User.id).in_(user_ids)))
    return {int(uid): name for uid, name in rows if uid is not None}
