"""The append-only audit trail: every transition, edit, sign-in and settings change."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from planner.models import AuditEvent, User


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
        actor_id=actor.id if actor else None,
        actor_name=actor.username if actor else (actor_name or "system"),
        object_type=object_type,
        object_id=str(object_id),
        action=action,
        from_state=from_state,
        to_state=to_state,
        version=version,
        note=note,
    )
    session.add(event)
    return event


def list_events(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    object_type: str | None = None,
    object_id: object | None = None,
    limit: int | None = None,
) -> list[AuditEvent]:
    """Audit events in time order, filtered by a half-open [since, until) range and object."""
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
