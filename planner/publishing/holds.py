"""When due posts were held, kept as stretches of time (`PostHold`) for the process report.

A post the engine does not claim (publishing frozen, piece not approved as it is, channel
disabled, disconnected, without publisher or paused by a rate limit) leaves no ledger row:
each sweep therefore notes which due posts it finds held and why. A stretch opens when a
sweep first finds a post held for a reason and ends when one finds it no longer held for
that reason (released, published, cancelled, missed, or held for another reason, which
opens the next stretch). Several workers may watch at once: a partial unique index keeps
one open stretch per post, and an insert that meets it is skipped.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from planner import planning
from planner.models import PostHold

_OPEN = col(PostHold.ended_at).is_(None)


@dataclass
class HoldChanges:
    """What one watch changed: the posts whose stretch began, and those whose ended."""

    started: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)


@functools.cache
def _open_stretch(dialect: str) -> Any:
    """An insert of open stretches that skips a post another worker just opened one for."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = PostHold.__table__  # type: ignore[attr-defined]
    return insert(table).on_conflict_do_nothing(
        index_elements=["post_id"], index_where=table.c.ended_at.is_(None)
    )


def watch_holds(session: Session, *, now: datetime) -> HoldChanges:
    """Note the due posts held at `now`: open a stretch for each newly held post (or held
    for another reason than before) and end the stretches of posts no longer held so."""
    held = planning.due_hold_reasons(session, now=now)
    open_now = {
        post_id: (hold_id, reason)
        for hold_id, post_id, reason in session.exec(
            select(PostHold.id, PostHold.post_id, PostHold.reason).where(_OPEN)
        )
    }
    changes = HoldChanges()
    ending = []
    for post_id, (hold_id, reason) in open_now.items():
        found = held.get(post_id)
        if found is None or found.name != reason:
            ending.append(hold_id)
            changes.ended.append(post_id)
    if ending:
        session.exec(
            update(PostHold)
            .where(col(PostHold.id).in_(ending), _OPEN)
            .values(ended_at=now)
            .execution_options(synchronize_session=False)
        )
    changes.started = [
        post_id
        for post_id, reason in sorted(held.items())
        if post_id not in open_now or open_now[post_id][1] != reason.name
    ]
    if changes.started:
        session.execute(
            _open_stretch(session.get_bind().dialect.name),
            [
                {"post_id": post_id, "reason": held[post_id].name, "started_at": now}
                for post_id in changes.started
            ],
        )
    session.commit()
    return changes
