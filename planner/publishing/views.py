"""What the publishing overview shows: posts the scheduler left to a person, the pieces they
belong to, and the latest attempts in the ledger."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from planner.models import Channel, Piece, Post, PostStatus, PublishAttempt, User
from planner.permissions import require
from publishers.manual import CUT, ManualPublisher

# Where the scheduler leaves a post to a person; the workflow says what they may do with it.
NEEDS_A_PERSON = (
    PostStatus.failed,
    PostStatus.missed,
    PostStatus.needs_check,
    PostStatus.awaiting_manual,
)


def posts_needing_a_person(session: Session, *, actor: User, limit: int = 200) -> list[Post]:
    """Failed, missed, unconfirmed and hand-posted posts, the earliest first (those who may
    view pieces)."""
    require(actor, "view_pieces")
    query = (
        select(Post)
        .where(col(Post.status).in_(NEEDS_A_PERSON))
        .order_by(col(Post.publish_at), col(Post.id))
        .limit(limit)
    )
    return list(session.exec(query))


@dataclass(frozen=True)
class ManualHandoff:
    """What a person needs to post one post by hand: where, the text, and the images with
    their descriptions (None where an image has none)."""

    network: str
    open_url: str
    text: str
    media: tuple[tuple[str, str | None], ...]


_MEDIA_LINE = re.compile(r"- (\S+) \((.*)\)")
_DEFAULTS = {spec.name: spec.default for spec in ManualPublisher.settings_spec}


def manual_handoff(session: Session, *, actor: User, post: Post) -> ManualHandoff | None:
    """The parts of a hand-posted post's instructions (those who may view pieces), read from
    what the adapter left on the post; None when it waits for no person or left none."""
    require(actor, "view_pieces")
    said = post.last_error or ""
    if post.status != PostStatus.awaiting_manual or said.count(CUT) < 2:
        return None
    head, _, rest = said.partition(f"\n{CUT}\n")
    text = rest.rpartition(f"\n{CUT}")[0]
    media: list[tuple[str, str | None]] = []
    for line in head.splitlines():
        if found := _MEDIA_LINE.fullmatch(line):
            media.append((found[1], None if found[2] == "no description" else found[2]))
    channel = session.get(Channel, post.channel_id)
    settings = {**_DEFAULTS, **(channel.settings if channel else {})}
    return ManualHandoff(
        network=str(settings["network_name"]),
        open_url=str(settings["open_url"]),
        text=text,
        media=tuple(media),
    )


def piece_titles(session: Session, *, actor: User, piece_ids: Iterable[int]) -> dict[int, str]:
    """The titles of the given pieces by id (those who may view pieces)."""
    require(actor, "view_pieces")
    wanted = set(piece_ids)
    if not wanted:
        return {}
    rows = session.exec(select(Piece.id, Piece.title).where(col(Piece.id).in_(wanted)))
    return {piece_id: title for piece_id, title in rows if piece_id is not None}


def latest_attempts(session: Session, *, actor: User, limit: int = 100) -> list[PublishAttempt]:
    """The newest attempts to publish, newest first (those who may read the audit log, as
    for one post's ledger)."""
    require(actor, "view_audit")
    query = select(PublishAttempt).order_by(col(PublishAttempt.id).desc()).limit(limit)
    return list(session.exec(query))
