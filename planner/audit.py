"""The append-only audit trail: every transition, edit, sign-in and settings change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, or_
from sqlmodel import Session, col, func, select

from planner.errors import PermissionDenied
from planner.models import AuditEvent, Idea, Role, User, utcnow
from planner.permissions import can


def event_row(
    *,
    actor_name: str,
    object_type: str,
    object_id: object,
    action: str,
    from_state: str | None,
    to_state: str | None,
    version: int | None = None,
    note: str = "",
    at: datetime | None = None,
    actor_id: int | None = None,
) -> dict[str, Any]:
    """One audit event as the row to insert: `record` and every bulk insert build it here."""
    return {
        "at": at or utcnow(),
        "actor_id": actor_id,
        "actor_name": actor_name,
        "object_type": object_type,
        "object_id": str(object_id),
        "action": action,
        # A StrEnum state is stored as its plain value, also in JSON-encoded groups of rows.
        "from_state": None if from_state is None else str(from_state),
        "to_state": None if to_state is None else str(to_state),
        "version": version,
        "note": note,
    }


def record(
    session: Session,
    *,
    actor: User | None,
    object_type: str,
    object_id: object,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    version: int | None = None,
    note: str = "",
    actor_name: str | None = None,
) -> AuditEvent:
    """Add one audit event to the session's transaction (the caller commits)."""
    event = AuditEvent(
        **event_row(
            actor_id=actor.id if actor else None,
            actor_name=actor.username if actor else (actor_name or "system"),
            object_type=object_type,
            object_id=object_id,
            action=action,
            from_state=from_state,
            to_state=to_state,
            version=version,
            note=note,
        )
    )
    session.add(event)
    return event


def list_events(
    session: Session,
    *,
    actor: User,
    since: datetime | None = None,
    until: datetime | None = None,
    object_type: str | None = None,
    object_id: object | None = None,
    limit: int | None = None,
) -> list[AuditEvent]:
    """Audit events in time order, filtered by a half-open [since, until) range and object.

    Every event, so only for those who read the whole audit log (see `visible_events`).
    """
    if not can(actor, "view_audit"):
        raise PermissionDenied(f"{actor.username!r} may not read the audit log")
    query = select(AuditEvent)
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    if until is not None:
        query = query.where(col(AuditEvent.at) < until)
    if object_type is not None:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == str(object_id))
    query = query.order_by(col(AuditEvent.at), col(AuditEvent.id))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


@dataclass(frozen=True)
class EventFilter:
    """What the activity log is narrowed to; None means any."""

    actor_name: str | None = None
    object_type: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _visible(query: Any, actor: User) -> Any:
    """Limit `query` to the events `actor` may read.

    Editors, approvers and admins read everything; a contributor reads their own actions
    and what happened to their department's ideas.
    """
    if can(actor, "view_audit"):
        return query
    if actor.disabled or actor.role != Role.contributor:
        raise PermissionDenied(f"{actor.username!r} may not read the audit log")
    own_ideas = select(cast(Idea.id, String)).where(Idea.department_id == actor.department_id)
    return query.where(
        or_(
            col(AuditEvent.actor_id) == actor.id,
            (col(AuditEvent.object_type) == "idea") & col(AuditEvent.object_id).in_(own_ideas),
        )
    )


def _filtered(query: Any, actor: User, filters: EventFilter) -> Any:
    query = _visible(query, actor)
    if filters.actor_name is not None:
        query = query.where(AuditEvent.actor_name == filters.actor_name)
    if filters.object_type is not None:
        query = query.where(AuditEvent.object_type == filters.object_type)
    if filters.action is not None:
        query = query.where(AuditEvent.action == filters.action)
    if filters.since is not None:
        query = query.where(col(AuditEvent.at) >= filters.since)
    if filters.until is not None:
        query = query.where(col(AuditEvent.at) < filters.until)
    return query


def visible_events(
    session: Session,
    *,
    actor: User,
    filters: EventFilter | None = None,
    offset: int = 0,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[AuditEvent]:
    """The audit events `actor` may read, filtered, in time order (one page when limited)."""
    query = _filtered(select(AuditEvent), actor, filters or EventFilter())
    if newest_first:
        query = query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    else:
        query = query.order_by(col(AuditEvent.at), col(AuditEvent.id))
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


def count_visible_events(
    session: Session, *, actor: User, filters: EventFilter | None = None
) -> int:
    """How many events `visible_events` would return without a limit (counted in SQL)."""
    query = _filtered(select(func.count()).select_from(AuditEvent), actor, filters or EventFilter())
    return int(session.exec(query).one())


@dataclass(frozen=True)
class FilterChoices:
    """The distinct values the activity filters offer, among the events an actor may read."""

    actors: list[str]
    object_types: list[str]
    actions: list[str]


def filter_choices(session: Session, *, actor: User) -> FilterChoices:
    """Distinct actor names, object kinds and actions of the events `actor` may read."""

    def distinct(column: Any) -> list[str]:
        query = _visible(select(column).distinct(), actor).order_by(column)
        return [str(v) for v in session.exec(query) if v is not None]

    return FilterChoices(
        actors=distinct(col(AuditEvent.actor_name)),
        object_types=distinct(col(AuditEvent.object_type)),
        actions=distinct(col(AuditEvent.action)),
    )
