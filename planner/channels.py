"""Channels: configured publishing targets (adapter kind, name, settings)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, func, select

from planner import audit
from planner.errors import NotFound, ValidationFailed
from planner.models import Channel, User
from planner.permissions import require
from publishers import CHANNEL_KINDS


def create_channel(
    session: Session,
    *,
    actor: User,
    kind: str,
    name: str,
    settings: dict[str, Any] | None = None,
    daily_cap: int | None = None,
) -> Channel:
    """Add a channel of a known kind with a unique name."""
    require(actor, "manage_channels")
    problems: dict[str, str] = {}
    if kind not in CHANNEL_KINDS:
        problems["kind"] = f"unknown channel kind {kind!r}; known: {', '.join(CHANNEL_KINDS)}"
    name = name.strip()
    if not 2 <= len(name) <= 80:
        problems["name"] = "a channel name has 2-80 characters"
    elif session.exec(select(Channel).where(func.lower(Channel.name) == name.lower())).first():
        problems["name"] = f"channel {name!r} already exists"
    if daily_cap is not None and daily_cap < 1:
        problems["daily_cap"] = "a daily cap is at least 1"
    if problems:
        raise ValidationFailed(problems)
    channel = Channel(kind=kind, name=name, settings=dict(settings or {}), daily_cap=daily_cap)
    session.add(channel)
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="channel",
        object_id=channel.id,
        action="create",
        note=f"{kind}: {name}",
    )
    session.commit()
    return channel


def list_channels(session: Session, *, include_disabled: bool = True) -> list[Channel]:
    """Channels by name."""
    query = select(Channel).order_by(col(Channel.name))
    if not include_disabled:
        query = query.where(col(Channel.enabled).is_(True))
    return list(session.exec(query))


def get_channel(session: Session, ref: str | int) -> Channel:
    """A channel by id or by name (case-insensitive)."""
    channel: Channel | None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        channel = session.get(Channel, int(ref))
    else:
        channel = session.exec(
            select(Channel).where(func.lower(Channel.name) == ref.strip().lower())
        ).first()
    if channel is None:
        known = ", ".join(c.name for c in list_channels(session)) or "none yet"
        raise NotFound("channel", ref, f"known: {known}")
    return channel
