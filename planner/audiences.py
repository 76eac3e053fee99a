"""Target audiences (Zielgruppen): whom ideas and pieces are for, which channels reach
them and which departments serve them; and which audiences have nothing planned."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, update
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import Select

from planner import audit, rules
from planner.db import all_or_nothing
from planner.errors import Message, NotFound, ValidationFailed
from planner.models import (
    Audience,
    AudienceChannel,
    AudienceDepartment,
    Channel,
    Department,
    Idea,
    Piece,
    Post,
    PostStatus,
    User,
    utcnow,
)
from planner.names import Named, find_named, get_named, names_by_id, unknown_name
from planner.permissions import require, require_active
from planner.schemas import check_text

NAME_MIN, NAME_MAX = 2, 80
DESCRIPTION_MAX = 2000
# How far ahead the inbox looks for audiences with nothing planned.
QUIET_WEEKS = 4
# Posts that count as something planned for an audience (not cancelled, failed or missed).
_PLANNED = (
    PostStatus.planned,
    PostStatus.publishing,
    PostStatus.published,
    PostStatus.awaiting_manual,
    PostStatus.needs_check,
)


@dataclass(frozen=True)
class AudienceView:
    """An audience with the names of the channels that reach it and the departments that
    serve it (each sorted by name)."""

    audience: Audience
    channels: list[str]
    departments: list[str]


def get_audience(session: Session, name: str) -> Audience:
    """The audience called `name` (ignoring case); NotFound lists the names there are."""
    return get_named(session, Audience, "audience", name)


def list_audiences(session: Session, *, actor: User) -> list[AudienceView]:
    """Every audience by name with its channels and departments (every active account may
    read them: ideas name them)."""
    require_active(actor)
    found = list(session.exec(select(Audience).order_by(col(Audience.name))))
    channels = _names_by_audience(
        session,
        select(AudienceChannel.audience_id, Channel.name)
        .join(Channel, col(Channel.id) == AudienceChannel.channel_id)
        .order_by(col(Channel.name)),
    )
    departments = _names_by_audience(
        session,
        select(AudienceDepartment.audience_id, Department.name)
        .join(Department, col(Department.id) == AudienceDepartment.department_id)
        .order_by(col(Department.name)),
    )
    return [
        AudienceView(a, channels.get(a.id or 0, []), departments.get(a.id or 0, [])) for a in found
    ]


def _names_by_audience(session: Session, query: Select[int, str]) -> dict[int, list[str]]:
    """The (audience id, name) rows of `query` as each audience's names, in their order."""
    names: dict[int, list[str]] = {}
    for audience_id, name in session.exec(query):
        names.setdefault(audience_id, []).append(name)
    return names


def audience_names(session: Session, *, actor: User) -> dict[int, str]:
    """Every audience's name by id (every active account may read them)."""
    require_active(actor)
    return names_by_id(session, Audience)


def _checked_name(session: Session, name: str, *, field: str, other_than: int | None) -> str:
    name = check_text(name.strip(), field)
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise ValidationFailed(
            {
                field: Message(
                    "audience_name_length",
                    "an audience name has {min}-{max} characters",
                    min=NAME_MIN,
                    max=NAME_MAX,
                )
            }
        )
    if find_named(session, Audience, name, other_than=other_than) is not None:
        raise ValidationFailed(
            {field: Message("audience_exists", "audience {name!r} already exists", name=name)}
        )
    return name


def _checked_description(description: str) -> str:
    description = check_text(description.strip(), "description")
    if len(description) > DESCRIPTION_MAX:
        raise ValidationFailed(
            {
                "description": Message(
                    "audience_description_length",
                    "a description has at most {max} characters",
                    max=DESCRIPTION_MAX,
                )
            }
        )
    return description


def _ids_of(session: Session, model: type[Named], kind: str, names: Sequence[str]) -> list[int]:
    """The ids of the rows of `model` called `names`; ValidationFailed names the unknown."""
    ids: list[int] = []
    for name in names:
        if not name.strip():
            continue
        row = find_named(session, model, name)
        if row is None:
            raise ValidationFailed({f"{kind}s": str(unknown_name(session, model, kind, name))})
        assert row.id is not None
        if row.id not in ids:
            ids.append(row.id)
    return ids


def _link(
    session: Session,
    audience_id: int,
    channel_ids: list[int] | None,
    department_ids: list[int] | None,
) -> None:
    """Replace the audience's channels and/or departments (None: leave them as they are)."""
    if channel_ids is not None:
        session.execute(
            delete(AudienceChannel).where(col(AudienceChannel.audience_id) == audience_id)
        )
        for channel_id in channel_ids:
            session.add(AudienceChannel(audience_id=audience_id, channel_id=channel_id))
    if department_ids is not None:
        session.execute(
            delete(AudienceDepartment).where(col(AudienceDepartment.audience_id) == audience_id)
        )
        for department_id in department_ids:
            session.add(AudienceDepartment(audience_id=audience_id, department_id=department_id))


def create_audience(
    session: Session,
    *,
    actor: User,
    name: str,
    description: str = "",
    channels: Sequence[str] = (),
    departments: Sequence[str] = (),
) -> Audience:
    """Add an audience (admins), with the channels that reach it and the departments that
    serve it, named by name."""
    require(actor, "manage_audiences")
    name = _checked_name(session, name, field="name", other_than=None)
    description = _checked_description(description)
    channel_ids = _ids_of(session, Channel, "channel", channels)
    department_ids = _ids_of(session, Department, "department", departments)
    audience = Audience(name=name, description=description)
    with all_or_nothing(session):
        audit.record_change(
            session, audience, actor=actor, object_type="audience", action="create", note=name
        )
        assert audience.id is not None
        _link(session, audience.id, channel_ids, department_ids)
    return audience


def update_audience(
    session: Session,
    *,
    actor: User,
    name: str,
    new_name: str | None = None,
    description: str | None = None,
    channels: Sequence[str] | None = None,
    departments: Sequence[str] | None = None,
) -> Audience:
    """Change an audience (admins): its name, description, channels or departments (each
    left as it is when None; a list replaces the one stored)."""
    require(actor, "manage_audiences")
    audience = get_audience(session, name)
    assert audience.id is not None
    changed: list[str] = []
    old_name = audience.name
    if new_name is not None and new_name.strip() != audience.name:
        new_name = _checked_name(session, new_name, field="new_name", other_than=audience.id)
        changed.append(f"name {audience.name} -> {new_name}")
        audience.name = new_name
    if description is not None:
        description = _checked_description(description)
        if description != audience.description:
            changed.append("description")
            audience.description = description
    channel_ids = None if channels is None else _ids_of(session, Channel, "channel", channels)
    department_ids = (
        None if departments is None else _ids_of(session, Department, "department", departments)
    )
    if channels is not None:
        changed.append("channels: " + (", ".join(c.strip() for c in channels if c.strip()) or "-"))
    if departments is not None:
        shown = ", ".join(d.strip() for d in departments if d.strip()) or "-"
        changed.append("departments: " + shown)
    audience.updated_at = utcnow()
    with all_or_nothing(session):
        audit.record_change(
            session,
            audience,
            actor=actor,
            object_type="audience",
            action="edit",
            note="; ".join(changed) or "unchanged",
        )
        _link(session, audience.id, channel_ids, department_ids)
        if audience.name != old_name:
            # The rules scoped to the audience follow it to its new name.
            rules.rename_in_scopes(
                session, actor=actor, key="audiences", old=old_name, new=audience.name
            )
    return audience


def remove_audience(session: Session, *, actor: User, name: str) -> int:
    """Remove an audience (admins); the ideas and pieces that named it keep their text but
    no longer belong to it. Returns how many ideas and pieces it was taken from."""
    require(actor, "manage_audiences")
    audience = get_audience(session, name)
    audience_id = audience.id
    assert audience_id is not None
    with all_or_nothing(session):
        ideas = _unlink(session, Idea, audience_id)
        pieces = _unlink(session, Piece, audience_id)
        _link(session, audience_id, [], [])
        audit.record(
            session,
            actor=actor,
            object_type="audience",
            object_id=audience_id,
            action="remove",
            note=f"{audience.name} (taken from {ideas} idea(s), {pieces} piece(s))",
        )
        session.delete(audience)
    return ideas + pieces


def _unlink(session: Session, model: type[Idea] | type[Piece], audience_id: int) -> int:
    """Take the audience from every row of `model` that names it; how many rows."""
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(model).where(col(model.audience_id) == audience_id).values(audience_id=None)
    )
    return int(result.rowcount)


def set_piece_audience(
    session: Session, *, actor: User, piece_id: int, audience: str | None
) -> Piece:
    """Name the audience a piece is for (None or '' for none); editors and admins."""
    require(actor, "edit_piece")
    piece = session.get(Piece, piece_id, populate_existing=True)
    if piece is None:
        raise NotFound("piece", piece_id)
    try:
        found = get_audience(session, audience) if audience and audience.strip() else None
    except NotFound as err:
        raise ValidationFailed({"audience": str(err)}) from err
    old = piece.audience_id
    piece.audience_id = found.id if found is not None else None
    if piece.audience_id == old:
        return piece
    with all_or_nothing(session):
        audit.record_change(
            session,
            piece,
            actor=actor,
            object_type="piece",
            action="set_audience",
            note=found.name if found is not None else "-",
        )
    return piece


@dataclass(frozen=True)
class QuietAudience:
    """An audience with nothing planned in a window, and when it last had a post, if ever."""

    audience: Audience
    last_post: datetime | None


def audiences_without_plans(
    session: Session, *, actor: User, weeks: int = QUIET_WEEKS, now: datetime | None = None
) -> list[QuietAudience]:
    """Audiences whose pieces have no post in the coming `weeks` (not counting cancelled,
    failed or missed posts), by name; for those who may view pieces."""
    require(actor, "view_pieces")
    if weeks < 1:
        raise ValidationFailed(
            {"weeks": Message("weeks_range", "give at least 1 week, not {weeks}", weeks=weeks)}
        )
    now = now or utcnow()
    end = now + timedelta(weeks=weeks)
    planned = (
        select(Piece.audience_id)
        .join(Post, col(Post.piece_id) == Piece.id)
        .where(
            col(Piece.audience_id).is_not(None),
            col(Post.status).in_(_PLANNED),
            col(Post.publish_at) >= now,
            col(Post.publish_at) < end,
        )
    )
    last = (
        select(Piece.audience_id, func.max(Post.publish_at).label("last"))
        .join(Post, col(Post.piece_id) == Piece.id)
        .where(col(Post.status).in_(_PLANNED), col(Post.publish_at) < now)
        .group_by(col(Piece.audience_id))
        .subquery()
    )
    query = (
        select(Audience, last.c.last)
        .outerjoin(last, last.c.audience_id == Audience.id)
        .where(col(Audience.id).not_in(planned))
        .order_by(col(Audience.name))
    )
    return [QuietAudience(audience, when) for audience, when in session.exec(query)]
