"""Whether a channel would accept a post: one check for every stage a text passes.

The text a channel is sent is its variant of the piece, or the master text when it has
none; its adapter's `validate` says what the channel would refuse (too long as that
channel counts, media it cannot carry, ...). Review, approval and planning refuse such
a text, and the publishing engine holds a post with it, so no request is ever made for a
post its channel would turn down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from planner import org_settings, rule_checks, tracked_links
from planner.channels import build_adapter
from planner.errors import ConfigurationError, Message, ValidationFailed
from planner.models import Channel, Piece, PieceStatus, Post, PostStatus, Revision, User
from planner.permissions import require
from publishers.base import Media, OutgoingPost, Problem, Publisher

# Posts that may still go out, so their channel must accept the text.
_DONE = (PostStatus.cancelled, PostStatus.published)
# A piece still being written: its text may be empty or long yet (a channel's variant is
# often written only once the piece is planned there). Submission checks it on every
# channel it is planned on, so planning need not.
_BEING_WRITTEN = (PieceStatus.draft, PieceStatus.changes_requested)


def outgoing_post(
    post_id: int,
    channel_id: int,
    media: Sequence[Mapping[str, Any]],
    title: str,
    body: str,
    variants: Mapping[str, str],
    tags: Sequence[str],
) -> OutgoingPost:
    """What the adapter of channel `channel_id` is sent: its variant, or the master text.

    Each of `media` is a URL's (`url`) or a file uploaded to the planner (no `url`; its
    `filename` and, for sending, its `content`).
    """
    return OutgoingPost(
        post_id=post_id,
        title=title,
        text=variants.get(str(channel_id)) or body,
        media=[
            Media(
                url=str(m.get("url", "")),
                alt_text=str(m.get("alt_text", "")),
                mime_type=str(m.get("mime_type", "")),
                filename=str(m.get("filename", "")),
                content=bytes(m.get("content") or b""),
            )
            for m in media
        ],
        tags=list(tags),
    )


def content_post(
    channel: Channel,
    content: Piece | Revision,
    *,
    post_id: int = 0,
    media: Sequence[Mapping[str, Any]] = (),
) -> OutgoingPost:
    """What `channel` would be sent of a piece's current content or of a stored revision:
    its own uploaded files (without their bytes), then the post's `media`."""
    assert channel.id is not None
    files = [*content.media, *media]
    return outgoing_post(
        post_id, channel.id, files, content.title, content.body, content.variants, content.tags
    )


def problems_for(
    channel: Channel, outgoing: OutgoingPost, adapter: Publisher | None = None
) -> list[Problem]:
    """What `channel` would refuse in `outgoing` (empty when it would accept it).

    `adapter` is the channel's adapter where the caller has built it already. A channel
    whose adapter cannot be built (bad settings, no publisher for its kind, unreadable
    secrets) cannot vouch for any text: that is reported as a problem of field "channel"
    whose message names the channel, never raised.
    """
    if adapter is None:
        try:
            adapter = build_adapter(channel)
        except ValidationFailed as err:
            return [
                Problem(
                    "channel",
                    Message(
                        "channel_setting_wrong",
                        "channel {channel!r} cannot check this post until an admin fixes "
                        "its setting {setting!r}: {problem}",
                        channel=channel.name,
                        setting=setting,
                        problem=problem,
                    ),
                )
                for setting, problem in err.fields.items()
            ]
        except ConfigurationError as err:
            return [
                Problem(
                    "channel",
                    Message(
                        "channel_unreadable",
                        "channel {channel!r} cannot check this post: {problem}",
                        channel=channel.name,
                        problem=str(err),
                    ),
                )
            ]
    return adapter.validate(outgoing)


def finding_message(channel: Channel, found: Problem) -> Message:
    """One problem as a message naming the channel, coded so the dashboard can translate it."""
    if isinstance(found.message, Message):
        return found.message  # the planner's own finding, which names the channel already
    finding: str = found.message
    if found.code:
        finding = Message.formatted(f"problem_{found.code}", found.message, found.params)
    return Message(
        "channel_refuses",
        "channel {channel!r} would refuse this post: {finding}",
        channel=channel.name,
        finding=finding,
    )


def refusal(
    channel: Channel, outgoing: OutgoingPost, adapter: Publisher | None = None
) -> Message | None:
    """Everything `channel` would refuse in `outgoing` as one message, or None if nothing."""
    return _joined(finding_message(channel, p) for p in problems_for(channel, outgoing, adapter))


def _joined(messages: Iterable[Message]) -> Message | None:
    """Several messages as one, each still translatable on its own."""
    found = list(messages)
    if not found:
        return None
    joined = found[-1]
    for message in reversed(found[:-1]):
        joined = Message("several_findings", "{first}; {rest}", first=message, rest=joined)
    return joined


def channels_of(
    session: Session, piece: Piece, *, posts_where: ColumnElement[bool] | bool
) -> list[Channel]:
    """The channels, by name, that `piece` has a variant for or a post on (of its posts,
    those `posts_where` selects)."""
    posted = select(Post.channel_id).where(Post.piece_id == piece.id, posts_where)
    ids = {int(k) for k in piece.variants if k.isdigit()} | set(session.exec(posted))
    if not ids:
        return []
    return list(
        session.exec(select(Channel).where(col(Channel.id).in_(ids)).order_by(col(Channel.name)))
    )


def piece_channels(session: Session, *, actor: User, piece: Piece) -> list[Channel]:
    """The channels a piece goes out on: those it has a variant for or a post still due on."""
    require(actor, "view_pieces")
    return channels_of(session, piece, posts_where=col(Post.status).not_in(_DONE))


def require_accepted(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    channels: Sequence[Channel] | None = None,
    field: str = "channel",
) -> None:
    """Raise ValidationFailed (on `field`) naming every channel that would refuse the piece.

    Checks the piece's current content on `channels`, by default every channel it goes
    out on (`piece_channels`); a post still due also with its own media. Changes nothing.
    """
    require(actor, "view_pieces")
    if channels is None:
        channels = piece_channels(session, actor=actor, piece=piece)
    if not channels:
        return
    media: dict[int, list[list[dict[str, Any]]]] = {}
    if piece.id is not None:
        due = select(Post.channel_id, Post.media).where(
            Post.piece_id == piece.id,
            col(Post.status).not_in(_DONE),
            col(Post.channel_id).in_([c.id for c in channels]),
        )
        for channel_id, items in session.exec(due):
            if items and items not in media.get(channel_id, []):
                media.setdefault(channel_id, []).append(list(items))
    findings: list[Message] = []
    link_base = org_settings.tracked_links_base(session)
    for channel in channels:
        assert channel.id is not None
        seen: set[Problem] = set()
        for items in [[], *media.get(channel.id, [])]:
            outgoing = content_post(channel, piece, media=items)
            if link_base:
                # The channel's limits apply to the text as sent, with short links.
                counted = tracked_links.counted_text(outgoing.text, link_base)
                outgoing = replace(outgoing, text=counted)
            for found in problems_for(channel, outgoing):
                # The text's findings repeat for every post's media: say each once.
                if found not in seen:
                    seen.add(found)
                    findings.append(finding_message(channel, found))
    refused = _joined(findings)
    if refused is not None:
        raise ValidationFailed({field: refused})


def require_plannable(session: Session, *, actor: User, piece: Piece, channel: Channel) -> None:
    """Raise ValidationFailed (on "channel") if `channel` would refuse the piece's text.

    A piece still being written is not checked here: its submission checks every channel
    it is planned on, and a post cannot go out before that.
    """
    require(actor, "view_pieces")
    if piece.status in _BEING_WRITTEN:
        return
    require_accepted(session, actor=actor, piece=piece, channels=[channel])


def require_releasable(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    into: list[rule_checks.RuleFinding] | None = None,
) -> None:
    """Raise ValidationFailed unless every channel the piece goes out on accepts its text
    ("channel") and no publishing rule blocks it there ("rules", overrides honoured):
    what review and approval require. `into`, when given, receives the publishing rules'
    findings (of every severity), also when it raises."""
    channels = piece_channels(session, actor=actor, piece=piece)
    problems: dict[str, str] = {}
    try:
        require_accepted(session, actor=actor, piece=piece, channels=channels)
    except ValidationFailed as err:
        problems.update(err.fields)
    try:
        rule_checks.require_no_blocking(
            session, actor=actor, piece=piece, channels=channels, into=into
        )
    except ValidationFailed as err:
        problems.update(err.fields)
    if problems:
        raise ValidationFailed(problems)
