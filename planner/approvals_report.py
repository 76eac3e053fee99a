"""The period report for audits: who approved which revision of what and when, every
rule override, and whether the audit log's hash chain holds over the period.

It is read from the audit log alone (an approval event records the revision approved);
the title is the approved revision's own, as stored with that revision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, cast
from sqlmodel import Session, col, select

from planner import audit
from planner.db import within_period
from planner.models import AuditEvent, Piece, Revision, User, utcnow
from planner.permissions import require
from planner.process import Override, check_period, overrides_in


@dataclass(frozen=True)
class Approval:
    """One approval: who, when, which piece and which of its revisions."""

    event_id: int
    at: datetime
    approver: str  # the account name the audit event records
    approver_name: str  # their display name ("" when the account is gone)
    piece_id: int
    revision: int | None
    title: str  # the approved revision's title (the piece's today if it has none)


@dataclass(frozen=True)
class ApprovalsReport:
    """What the audit report of one period holds."""

    since: datetime
    until: datetime
    timezone: str
    made_at: datetime
    made_by: str
    approvals: list[Approval]
    overrides: list[Override]
    chain: audit.ChainReport


def approvals_report(
    session: Session,
    *,
    actor: User,
    since: datetime,
    until: datetime,
    now: datetime | None = None,
) -> ApprovalsReport:
    """Approvals and overrides of [since, until), and the chain's verification (admins)."""
    require(actor, "view_approvals_report")
    check_period(since, until)
    query = (
        select(AuditEvent, User.display_name, Revision.title, Piece.title)
        .outerjoin(User, col(User.id) == col(AuditEvent.actor_id))
        .outerjoin(Piece, cast(col(Piece.id), String) == col(AuditEvent.object_id))
        .outerjoin(
            Revision,
            and_(
                col(Revision.piece_id) == col(Piece.id),
                col(Revision.number) == col(AuditEvent.version),
            ),
        )
        .where(
            AuditEvent.object_type == "piece",
            AuditEvent.action == "approve",
            *within_period(AuditEvent.at, since, until),
        )
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    )
    approvals = [
        Approval(
            event.id or 0,
            event.at,
            event.actor_name,
            display_name or "",
            int(event.object_id),
            event.version,
            revision_title or piece_title or "",
        )
        for event, display_name, revision_title, piece_title in session.exec(query)
    ]
    overrides = overrides_in(session, since, until)
    chain = audit.verify(session, actor=actor, since=since, until=until)
    return ApprovalsReport(
        since=since,
        until=until,
        timezone=actor.timezone,
        made_at=now or utcnow(),
        made_by=actor.username,
        approvals=approvals,
        overrides=overrides,
        chain=chain,
    )
