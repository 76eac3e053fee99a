"""The append-only audit trail: every transition, edit, sign-in and settings change.

Every event is chained: its `hash` is the SHA-256 of its own fields and of the previous
event's hash (`prev_hash`), and its id follows the newest event's. A changed, deleted or
inserted event therefore breaks the chain, whatever the database allowed; `verify` finds
the first broken link, in the database or in an exported CSV file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypedDict, Unpack

from sqlalchemy import Connection, String, cast, event, insert, inspect, or_, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, func, select

from planner.db import paged, where_equal, where_within
from planner.errors import Message, PermissionDenied
from planner.models import AuditEvent, Idea, Role, User, utcnow
from planner.permissions import can, ideas_seen_by, require

AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]

# What an event says happened to which object (after who did it, and when).
EVENT_FIELDS = ("object_type", "object_id", "action", "from_state", "to_state", "version", "note")
# The fields an event's hash covers, in this order, followed by `prev_hash`.
CHAINED_FIELDS = ("id", "at", "actor_id", "actor_name", *EVENT_FIELDS)


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


def _canonical(name: str, value: Any) -> Any:
    """One field as it enters the hash: times as UTC with microseconds, ids as numbers."""
    if value is None:
        return None
    if name == "at":
        if not isinstance(value, datetime):
            value = datetime.fromisoformat(str(value))
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if name in ("id", "actor_id", "version"):
        return int(value)
    return str(value)


def event_hash(row: Mapping[str, Any], prev_hash: str | None) -> str:
    """SHA-256 (hex) of one event's fields and the hash of the event before it.

    The fields are serialised canonically: a JSON array in `CHAINED_FIELDS` order, then
    `prev_hash` (null for the first event), UTF-8, no spaces.
    """
    values = [_canonical(name, row.get(name)) for name in CHAINED_FIELDS]
    payload = json.dumps([*values, prev_hash], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_PG_CHAIN_LOCK = text(
    "SELECT pg_advisory_xact_lock(hashtext('planner.audit_events:' || current_schema()))"
)


def _sqlite_in_transaction(conn: Connection) -> bool:
    """Whether SQLite's write transaction has begun (the driver begins it at the first write)."""
    return bool(conn.connection.dbapi_connection.in_transaction)  # type: ignore[union-attr]


def lock_chain(conn: Connection) -> None:
    """Serialise appends until this transaction ends, so two writers never fork the chain.

    PostgreSQL: a transaction-level advisory lock per schema. SQLite: the database write
    lock (a transaction that has not written yet starts as IMMEDIATE). Every audited change
    takes it as its last lock, so a writer that is not audited takes it to be serialised
    with them (after its own row locks, never before).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_CHAIN_LOCK)
    elif conn.dialect.name == "sqlite" and not _sqlite_in_transaction(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def chain(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`rows` (from `event_row`) ready to insert in this order: each with the id after the
    newest event and its `prev_hash` and `hash`.

    Takes the chain lock, held until the transaction ends: call it right before the insert.
    """
    if not rows:
        return []
    lock_chain(conn)
    tip = conn.execute(
        select(AUDIT.c.id, AUDIT.c.hash).order_by(AUDIT.c.id.desc()).limit(1)
    ).first()
    last_id, prev = (int(tip.id), tip.hash) if tip is not None else (0, None)
    chained: list[dict[str, Any]] = []
    for row in rows:
        last_id += 1
        link = {**row, "id": last_id, "prev_hash": prev}
        link["hash"] = prev = event_hash(link, link["prev_hash"])
        chained.append(link)
    return chained


def append(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Insert events built by `event_row`, chained (the caller commits); the rows stored."""
    chained = chain(conn, rows)
    if chained:
        conn.execute(insert(AUDIT), chained)
    return chained


_HELD = "planner.audit.held_events"


@event.listens_for(OrmSession, "before_flush")
def _hold_new_events(session: OrmSession, _context: Any, _instances: Any) -> None:
    """Events added to a session (`record`) are appended after the flush's other changes.

    The chain lock is then the last lock the transaction takes: a transaction waiting
    for it never holds a row that the lock's holder still has to change.
    """
    new = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if not new:
        return
    new.sort(key=lambda obj: inspect(obj).insert_order or 0)
    for obj in new:
        session.expunge(obj)
    if session.new or session.dirty or session.deleted:
        session.info.setdefault(_HELD, []).extend(new)
    else:  # nothing else to flush: no after_flush follows
        _append_events(session, new)


@event.listens_for(OrmSession, "after_flush")
def _append_held_events(session: OrmSession, _context: Any) -> None:
    held: list[AuditEvent] = session.info.pop(_HELD, [])
    if held:
        _append_events(session, held)


@event.listens_for(OrmSession, "after_rollback")
def _drop_held_events(session: OrmSession) -> None:
    session.info.pop(_HELD, None)


def _append_events(session: OrmSession, events: list[AuditEvent]) -> None:
    rows = [{name: getattr(obj, name) for name in CHAINED_FIELDS} for obj in events]
    for obj, link in zip(events, append(session.connection(), rows), strict=True):
        obj.id, obj.prev_hash, obj.hash = link["id"], link["prev_hash"], link["hash"]


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
    """Add one audit event to the session's transaction (the caller commits).

    It is chained and inserted when the session flushes (see `chain`), after the flush's
    other changes; it then leaves the session (its fields stay readable).
    """
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


class EventDetails(TypedDict, total=False):
    """What an audit event may say besides who did what to which object."""

    from_state: str | None
    to_state: str | None
    version: int | None
    note: str
    actor_name: str | None


class Stored(Protocol):
    """A table row: its id is known once it is flushed."""

    id: int | None


def record_change(
    session: Session,
    obj: Stored,
    *,
    actor: User | None,
    object_type: str,
    action: str,
    **details: Unpack[EventDetails],
) -> AuditEvent:
    """Add `obj` to the session with one audit event about it (the caller commits).

    A new `obj` is flushed first, so that its event names its id.
    """
    session.add(obj)
    if obj.id is None:
        session.flush()
    return record(
        session, actor=actor, object_type=object_type, object_id=obj.id, action=action, **details
    )


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
    query = where_within(select(AuditEvent), AuditEvent.at, since, until)
    query = where_equal(
        query,
        (AuditEvent.object_type, object_type),
        (AuditEvent.object_id, None if object_id is None else str(object_id)),
    )
    query = query.order_by(col(AuditEvent.at), col(AuditEvent.id))
    if limit is not None:
        query = query.limit(limit)
    return list(session.exec(query))


_MINUTE = r"(\d{4}-\d\d-\d\d \d\d:\d\d)"
_PLANNED = re.compile(rf"piece (\d+) on channel (\d+) at {_MINUTE} UTC")
_MOVED = re.compile(rf"(plan import: )?{_MINUTE} -> {_MINUTE} UTC")
_MERGED = re.compile(r"merged into idea #(\d+)")
_SERIES = re.compile(rf"(FREQ=\S+) from {_MINUTE} (\S+)( in the channel's slots)?")
_RULE = re.compile(r"rule: ([^\n]*?)( \(imported\))?")
_OVERRIDE = re.compile(r"rule: ([^\n]*)\nchannel: ([^\n]*)\n(.*)", re.DOTALL)


def _minute(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M")


def _utc_minute(text: str) -> datetime:
    """A moment a note wrote in UTC, as an aware instant (the dashboard shows it in the
    reader's zone)."""
    return _minute(text).replace(tzinfo=UTC)


def note_message(note: str) -> str:
    """An event's note for display: one the planner wrote itself (stored in English, as the
    CLI prints it) comes back as a Message the dashboard says in the reader's language;
    a person's note stays as they wrote it."""
    if note == "all its posts are out":
        return Message("note_all_posts_out", "all its posts are out")
    if note == "no change":
        return Message("note_no_change", "no change")
    if found := _PLANNED.fullmatch(note):
        return Message(
            "note_planned",
            "piece {piece} on channel {channel} at {when:%Y-%m-%d %H:%M} UTC",
            piece=int(found[1]),
            channel=int(found[2]),
            when=_utc_minute(found[3]),
        )
    if (found := _MOVED.fullmatch(note)) and found[1]:
        return Message(
            "note_moved_by_import",
            "plan import: {old:%Y-%m-%d %H:%M} -> {new:%Y-%m-%d %H:%M} UTC",
            old=_utc_minute(found[2]),
            new=_utc_minute(found[3]),
        )
    if found:
        return Message(
            "note_moved",
            "{old:%Y-%m-%d %H:%M} -> {new:%Y-%m-%d %H:%M} UTC",
            old=_utc_minute(found[2]),
            new=_utc_minute(found[3]),
        )
    if found := _MERGED.fullmatch(note):
        return Message("note_merged", "merged into idea #{idea}", idea=int(found[1]))
    if found := _OVERRIDE.fullmatch(note):
        if not found[2]:
            return Message(
                "note_override_all",
                "rule: {rule}; all channels; {justification}",
                rule=found[1],
                justification=found[3],
            )
        return Message(
            "note_override",
            "rule: {rule}; channel: {channel}; {justification}",
            rule=found[1],
            channel=found[2],
            justification=found[3],
        )
    if found := _RULE.fullmatch(note):
        if found[2]:
            return Message("note_rule_imported", "rule: {rule} (imported)", rule=found[1])
        return Message("note_rule", "rule: {rule}", rule=found[1])
    if (found := _SERIES.fullmatch(note)) and found[4]:
        return Message(
            "note_series_in_slots",
            "{rule} from {start:%Y-%m-%d %H:%M} {zone} in the channel's slots",
            rule=found[1],
            start=_minute(found[2]),
            zone=found[3],
        )
    if found:
        return Message(
            "note_series",
            "{rule} from {start:%Y-%m-%d %H:%M} {zone}",
            rule=found[1],
            start=_minute(found[2]),
            zone=found[3],
        )
    # Imported here: the publishing engine records audit events through this module.
    from planner.publishing import notes

    return notes.audit_note(note) or note


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
    and what happened to their department's ideas and their own.
    """
    if can(actor, "view_audit"):
        return query
    if actor.disabled or actor.role != Role.contributor:
        raise PermissionDenied(f"{actor.username!r} may not read the audit log")
    own_ideas = select(cast(Idea.id, String)).where(ideas_seen_by(actor))
    return query.where(
        or_(
            col(AuditEvent.actor_id) == actor.id,
            (col(AuditEvent.object_type) == "idea") & col(AuditEvent.object_id).in_(own_ideas),
        )
    )


def _filtered(query: Any, actor: User, filters: EventFilter) -> Any:
    query = where_equal(
        _visible(query, actor),
        (AuditEvent.actor_name, filters.actor_name),
        (AuditEvent.object_type, filters.object_type),
        (AuditEvent.action, filters.action),
    )
    return where_within(query, AuditEvent.at, filters.since, filters.until)


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
    return list(session.exec(paged(query, limit, offset)))


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


# --- verification -----------------------------------------------------------------------


@dataclass(frozen=True)
class BrokenLink:
    """The first place where the chain does not hold.

    `problem` is one of: "changed" (the event's fields do not match its hash), "missing"
    (events before this id were removed), "inserted" (this event was put into the chain
    afterwards), "broken link" (its `prev_hash` is not the previous event's hash),
    "unchained" (an event without a hash: not written by the planner).
    """

    event_id: int
    problem: str
    detail: str


@dataclass(frozen=True)
class ChainReport:
    """What `verify` found: how many events it checked and the first broken link, if any."""

    events: int
    last_id: int | None = None
    last_hash: str | None = None
    broken: BrokenLink | None = None

    @property
    def intact(self) -> bool:
        """Whether every checked event and every link between them holds."""
        return self.broken is None

    def summary(self) -> str:
        """One line for people: the count and result, or where the chain breaks."""
        if self.broken is not None:
            b = self.broken
            return f"chain broken at event {b.event_id} ({b.problem}): {b.detail}"
        if self.last_id is None:
            return f"{self.events} events, chain intact"
        return (
            f"{self.events} events, chain intact; last event {self.last_id} "
            f"has hash {self.last_hash}"
        )


def verify_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    before: Mapping[str, Any] | None = None,
    from_start: bool = True,
) -> ChainReport:
    """Check events given in id order: each event's hash and its link to the one before.

    `before` is the event just before the first row (its hash is what the first row must
    link to); without it, `from_start` says the rows begin the log (the first links to
    nothing), otherwise the first row's link is taken as it is (an exported period).
    A row's values may be lists of candidates (read back from CSV, where an empty cell or a
    spreadsheet-escaped text is ambiguous): the row holds if one combination matches.
    """
    previous: Mapping[str, Any] | None = before
    seen: dict[str, int] = {}
    order: list[int] = []
    count = 0
    last_id: int | None = None
    for row in rows:
        event_id = int(_first(row["id"]))
        stored_hash = _first(row.get("hash"))
        prev_hash = _first(row.get("prev_hash"))
        if not stored_hash:
            return ChainReport(
                count,
                broken=BrokenLink(
                    event_id, "unchained", "it has no hash: not written by the planner"
                ),
            )
        if not _matches(row, prev_hash, stored_hash):
            return ChainReport(
                count,
                broken=BrokenLink(
                    event_id, "changed", "its stored fields do not match its hash (content changed)"
                ),
            )
        expected: str | None
        if previous is not None:
            expected = _first(previous.get("hash"))
        else:
            expected = None if from_start else prev_hash
        if prev_hash != expected:
            return ChainReport(
                count, broken=_link_problem(event_id, prev_hash, previous, seen, order)
            )
        seen[stored_hash] = event_id
        order.append(event_id)
        previous, last_id, count = row, event_id, count + 1
    last_hash = None if previous is None or last_id is None else _first(previous.get("hash"))
    return ChainReport(count, last_id=last_id, last_hash=last_hash)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _matches(row: Mapping[str, Any], prev_hash: str | None, stored_hash: str) -> bool:
    """Whether the row's fields hash to `stored_hash` (trying each candidate combination)."""
    combos: list[dict[str, Any]] = [{}]
    for name in CHAINED_FIELDS:
        value = row.get(name)
        options = value if isinstance(value, list) else [value]
        combos = [{**c, name: option} for c in combos for option in options]
    return any(event_hash(combo, prev_hash) == stored_hash for combo in combos)


def _link_problem(
    event_id: int,
    prev_hash: str | None,
    previous: Mapping[str, Any] | None,
    seen: Mapping[str, int],
    order: Sequence[int],
) -> BrokenLink:
    """Name what a link that does not hold means."""
    if prev_hash is not None and prev_hash in seen:
        linked = seen[prev_hash]
        first_inserted = order[order.index(linked) + 1]
        return BrokenLink(
            first_inserted,
            "inserted",
            f"event {event_id} follows event {linked}, so the events from "
            f"{first_inserted} on before it were inserted afterwards",
        )
    if previous is None:
        return BrokenLink(
            event_id,
            "missing",
            "events before it are missing: it links to an event that is not there",
        )
    previous_id = int(_first(previous["id"]))
    if event_id > previous_id + 1:
        missing = (
            f"event {previous_id + 1}"
            if event_id == previous_id + 2
            else f"events {previous_id + 1} to {event_id - 1}"
        )
        return BrokenLink(
            previous_id + 1,
            "missing",
            f"{missing} missing: event {event_id} links to an event that is not there",
        )
    return BrokenLink(
        event_id,
        "broken link",
        f"its prev_hash is not the hash of event {previous_id}, the event before it "
        f"(that event was replaced, or this link was changed)",
    )


def verify(
    session: Session,
    *,
    actor: User,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ChainReport:
    """Recompute the chain of stored events (admins): all, or the events of [since, until).

    A period runs from the first event at or after `since` to the last one before `until`
    in id order, and its first event must link to the event before it.
    """
    require(actor, "verify_audit")
    conn = session.connection()
    bounds = select(func.min(AUDIT.c.id), func.max(AUDIT.c.id))
    if since is not None:
        bounds = bounds.where(AUDIT.c.at >= since)
    if until is not None:
        bounds = bounds.where(AUDIT.c.at < until)
    low, high = conn.execute(bounds).one()
    if low is None:
        return ChainReport(0)
    before = None
    if since is not None:
        last_before = (
            conn.execute(select(AUDIT).where(AUDIT.c.id < low).order_by(AUDIT.c.id.desc()).limit(1))
            .mappings()
            .first()
        )
        before = None if last_before is None else dict(last_before)
    query = (
        select(AUDIT)
        .where(AUDIT.c.id >= low, AUDIT.c.id <= high)
        .order_by(AUDIT.c.id)
        .execution_options(yield_per=1000)
    )
    return verify_rows((dict(r) for r in conn.execute(query).mappings()), before=before)
