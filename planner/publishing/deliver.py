"""One claimed post on its way out: what is sent, its ledger row, the request."""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, bindparam, insert
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from planner import media, org_settings, rule_checks, tracked_links
from planner.checks import outgoing_post
from planner.credentials import UnreadableCredentials
from planner.errors import (
    ConfigurationError,
    Message,
    ValidationFailed,
)
from planner.models import Channel, PieceStatus, PostStatus, utcnow
from planner.publishing.tables import (
    ATTEMPTS,
    CHANNELS,
    PIECES,
    POSTS,
    REVISIONS,
    SETTINGS,
    as_json,
    recordset,
)
from publishers.base import (
    DeliveryError,
    OutgoingPost,
    Problem,
    Publisher,
    RateLimited,
    Receipt,
    TransientError,
)

AdapterFactory = Callable[[Channel], Publisher]

log = logging.getLogger("planner.publishing")


@dataclass
class Delivery:
    """One claimed post on its way out: what goes where, and (after `deliver`) how it went.

    `revision` is the piece's approved revision whose text is sent. `withheld` says why a
    claimed post was not sent after all (freeze, cancel, edit, lost lease, paused channel,
    stopping worker): nothing went out, so it is released, not counted as an attempt.
    The engine's explanations here are Messages (`planner.publishing.notes`), so the
    dashboard says them in the reader's language.
    """

    post_id: int
    piece_id: int
    channel_id: int
    channel_kind: str
    attempts: int
    key: str
    worker_id: str
    message: OutgoingPost
    adapter: Publisher | None
    revision: int = 0
    publish_at: datetime | None = None
    # Whether the channel is known to drop a repeated request (a channel property).
    dedupes: bool = False
    config_error: str = ""
    # The channel's own checks refused the text: the post fails before any request.
    invalid: str = ""
    # A publishing rule holds the post (planner.rule_checks): why, and until when.
    ruled: str = ""
    ruled_until: datetime | None = None
    ruled_message: Message | None = None
    withheld: str = ""
    attempt_id: int | None = None
    duration_ms: int = 0
    receipt: Receipt | None = None
    error: DeliveryError | None = None

    @property
    def sendable(self) -> bool:
        """Whether a request may be made at all (adapter built, text acceptable, no rule
        holds it)."""
        return self.adapter is not None and not self.invalid and not self.ruled


class Gate:
    """Says, right before each request, whether a claimed post may still go out.

    Two checks. Locally: the worker's lease on the post is still valid with a safety
    margin (a stalled worker whose lease ran out never sends, and recovery of an expired
    lease cannot race a send that may still start). In the database, at most `max_age`
    seconds old, one query per refresh for every post waiting to be sent: the post is
    still ours and `publishing` (not cancelled or recovered), publishing is not frozen,
    the piece is still approved at the revision being sent, and the channel is enabled,
    connected and not paused by a rate limit. A post whose request has not started when a
    freeze, cancel or edit commits therefore does not go out.
    """

    def __init__(self, engine: Engine, worker_id: str, *, max_age: float = 0.5) -> None:
        self.engine = engine
        self.worker_id = worker_id
        self.max_age = max_age
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._deadline: dict[int, float] = {}  # post -> monotonic time its lease is good to
        self._waiting: dict[int, Delivery] = {}
        self._verdicts: dict[int, str] = {}
        self._paused: dict[int, float] = {}  # channel -> monotonic time it may send again
        self._checked_at = float("-inf")

    def pause(self, channel_id: int, until: float) -> None:
        """A rate limit: no request to this channel before `until` (monotonic)."""
        with self._lock:
            self._paused[channel_id] = max(until, self._paused.get(channel_id, until))

    def hold(self, deliveries: Sequence[Delivery], deadline: float) -> None:
        """Register claimed deliveries whose lease is good until `deadline` (monotonic)."""
        with self._lock:
            for delivery in deliveries:
                self._deadline[delivery.post_id] = deadline
                self._waiting[delivery.post_id] = delivery
            self._checked_at = float("-inf")  # new posts: check them before the first send

    def renewed(self, post_ids: Sequence[int], lost: Sequence[int], deadline: float) -> None:
        """Leases renewed until `deadline`; `lost` ones were taken from this worker."""
        with self._lock:
            for post_id in post_ids:
                if post_id in self._deadline:
                    self._deadline[post_id] = max(self._deadline[post_id], deadline)
            for post_id in lost:
                if post_id in self._deadline:
                    self._deadline[post_id] = float("-inf")

    def release(self, post_ids: Sequence[int]) -> None:
        """Forget posts that are recorded."""
        with self._lock:
            for post_id in post_ids:
                self._deadline.pop(post_id, None)
                self._waiting.pop(post_id, None)
                self._verdicts.pop(post_id, None)

    def deadline(self, post_id: int) -> float:
        """Until when (monotonic) this worker may still start sending `post_id`."""
        with self._lock:
            return self._deadline.get(post_id, float("-inf"))

    def lease_ok(self, delivery: Delivery) -> str:
        """Why the local lease forbids sending now, or ''."""
        if time.monotonic() >= self.deadline(delivery.post_id):
            return Message(
                "publish_lease_ran_out",
                "this worker's lease on the post ran out before its request could start",
            )
        return ""

    def permit(self, delivery: Delivery) -> str:
        """Why `delivery` must not be sent now, or '' when it may go out."""
        if self.stopping.is_set():
            return Message(
                "publish_worker_stopping",
                "the worker is stopping; the post is released for the next one",
            )
        reason = self.lease_ok(delivery)
        if reason:
            return reason
        with self._lock:
            if self._paused.get(delivery.channel_id, float("-inf")) > time.monotonic():
                self._waiting.pop(delivery.post_id, None)
                return Message("publish_channel_waits", "the channel asked to wait (rate limit)")
            if time.monotonic() - self._checked_at > self.max_age:
                self._refresh()
            reason = self._verdicts.get(delivery.post_id, "")
            self._waiting.pop(delivery.post_id, None)
        return reason

    def _refresh(self) -> None:
        """Check every waiting post in one query (called with the lock held)."""
        waiting = dict(self._waiting)
        self._checked_at = time.monotonic()
        if not waiting:
            return
        try:
            try:
                rows, frozen = self._read(waiting)
            except OperationalError as err:
                # A connection the server dropped (restart, failover) is replaced once.
                log.warning(
                    "lost the database connection checking posts before sending (%s); once more",
                    type(err).__name__,
                )
                rows, frozen = self._read(waiting)
        except Exception as err:  # noqa: BLE001 - cannot confirm: send nothing until it can
            log.warning("cannot check posts before sending (%s); holding them", type(err).__name__)
            self._checked_at = float("-inf")
            for post_id in waiting:
                self._verdicts[post_id] = Message(
                    "publish_unconfirmed", "the database could not confirm the post may go out"
                )
            return
        now = utcnow()
        found = {int(row.id): row for row in rows}
        for post_id, delivery in waiting.items():
            self._verdicts[post_id] = _gate_reason(
                found.get(post_id), delivery, self.worker_id, frozen, now
            )

    def _read(self, waiting: dict[int, Delivery]) -> tuple[list[Any], bool]:
        with self.engine.connect() as conn:
            rows = conn.execute(_gate_statement(), {"ids": sorted(waiting)}).all()
            frozen = conn.execute(_FROZEN).first() is not None
        return list(rows), frozen


def _gate_reason(row: Any, delivery: Delivery, worker_id: str, frozen: bool, now: datetime) -> str:
    """Why the database forbids sending `delivery` now (a Message), or ''."""
    if row is None or row.status != PostStatus.publishing or row.claimed_by != worker_id:
        return Message(
            "publish_post_changed",
            "the post was changed (cancelled or taken over) before its request started",
        )
    if frozen:
        return Message("publish_frozen", "publishing was frozen before the request started")
    if row.approved_revision != delivery.revision or row.revision != delivery.revision:
        return Message(
            "publish_piece_changed",
            "the piece changed after revision {revision} was approved; it needs approval again",
            revision=delivery.revision,
        )
    if row.piece_status not in _SENDABLE_PIECES:
        return _piece_now(str(row.piece_status))
    if not row.enabled:
        return Message("publish_channel_disabled", "the channel was disabled")
    if row.needs_reconnect:
        return Message("publish_channel_reconnect", "the channel needs to be reconnected")
    if row.paused_until is not None and row.paused_until > now:
        return Message(
            "publish_channel_paused",
            "the channel is paused until {until:%Y-%m-%d %H:%M:%S} UTC",
            until=row.paused_until,
        )
    return ""


def _piece_now(status: str) -> Message:
    """The piece is no longer sendable: in which state it is now."""
    if status == PieceStatus.draft:
        return Message("publish_piece_draft", "the piece is draft now")
    if status == PieceStatus.in_review:
        return Message("publish_piece_in_review", "the piece is in_review now")
    if status == PieceStatus.changes_requested:
        return Message("publish_piece_changes_requested", "the piece is changes_requested now")
    if status == PieceStatus.archived:
        return Message("publish_piece_archived", "the piece is archived now")
    return Message("publish_piece_now", "the piece is {status} now", status=status)


@functools.cache
def _gate_statement() -> Any:
    return (
        sa.select(
            POSTS.c.id,
            POSTS.c.status,
            POSTS.c.claimed_by,
            PIECES.c.status.label("piece_status"),
            PIECES.c.revision,
            PIECES.c.approved_revision,
            CHANNELS.c.enabled,
            CHANNELS.c.needs_reconnect,
            CHANNELS.c.paused_until,
        )
        .join(PIECES, PIECES.c.id == POSTS.c.piece_id)
        .join(CHANNELS, CHANNELS.c.id == POSTS.c.channel_id)
        .where(POSTS.c.id.in_(bindparam("ids", expanding=True)))
    )


# A published piece stays approved as it is (it may be planned again).
_SENDABLE_PIECES = frozenset({PieceStatus.approved, PieceStatus.published})
_FROZEN = sa.select(SETTINGS.c.key).where(
    SETTINGS.c.key == "publishing_frozen", SETTINGS.c.value == "on"
)


def write_attempts(conn: Connection, deliveries: list[Delivery], worker_id: str) -> None:
    """Ledger rows for these deliveries, in one statement; their ids go on the deliveries."""
    now = utcnow()
    rows = [
        {"post_id": d.post_id, "worker": worker_id, "started_at": now, "idempotency_key": d.key}
        for d in deliveries
    ]
    if conn.dialect.name == "postgresql":
        # A fixed statement text, so it is prepared once (a multi-row VALUES is not).
        written = {
            int(post_id): int(attempt_id)
            for post_id, attempt_id in conn.execute(_WRITE_ATTEMPTS_PG, as_json(rows, _ATTEMPT_ROW))
        }
        for delivery in deliveries:
            delivery.attempt_id = written[delivery.post_id]
        return
    ids = conn.execute(
        insert(ATTEMPTS).returning(ATTEMPTS.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    for delivery, attempt_id in zip(deliveries, ids, strict=True):
        delivery.attempt_id = attempt_id


def prepare(
    session: Session,
    posts: Sequence[Any],
    worker_id: str,
    adapter_factory: AdapterFactory,
    now: datetime | None = None,
) -> list[Delivery]:
    """Deliveries for claimed posts (rows of `CLAIMED_COLUMNS`), in the session's
    transaction (the caller commits). The publishing rules are applied as of `now`
    (default: the current time); a post they stop is held, never sent.

    The text is the piece's approved revision (the claim returned its number), never the
    live piece, which may have been edited since, with its links tracked when the
    organisation has tracked links on. The channel's own checks run on it: a
    text the channel would refuse fails here, before any request. Posts to channels that
    deduplicate, and posts that will not be sent, get their ledger rows here, before any
    request: after a crash the former are simply sent again with the same key. Posts to
    channels that cannot deduplicate get theirs in `deliver`, right before their own
    request, so a crash sends to `needs_check` only a post whose request may have begun.
    """
    if not posts:
        return []
    conn = session.connection()
    wanted = {(p.piece_id, p.revision) for p in posts}
    revisions = {
        (row.piece_id, row.number): row
        for row in conn.execute(
            sa.select(
                REVISIONS.c.piece_id,
                REVISIONS.c.number,
                REVISIONS.c.title,
                REVISIONS.c.body,
                REVISIONS.c.variants,
                REVISIONS.c.tags,
                REVISIONS.c.media,
            ).where(sa.tuple_(REVISIONS.c.piece_id, REVISIONS.c.number).in_(sorted(wanted)))
        )
    }
    adapters: dict[int, Publisher | str] = {}
    channels: dict[int, Channel] = {}
    for channel in session.exec(
        select(Channel).where(col(Channel.id).in_({p.channel_id for p in posts}))
    ):
        assert channel.id is not None
        channels[channel.id] = channel
        try:
            adapters[channel.id] = adapter_factory(channel)
        except (ValidationFailed, ConfigurationError) as err:
            adapters[channel.id] = _misconfigured(channel, err)
    deliveries = []
    link_base = org_settings.tracked_links_base(session)
    for post in posts:
        adapter = adapters[post.channel_id]
        channel = channels[post.channel_id]
        approved = revisions.get((post.piece_id, post.revision))
        message = outgoing_post(
            post.id,
            post.channel_id,
            # The approved revision's own files (their bytes read now), then the post's.
            [
                *media.with_content(conn, (approved.media if approved else None) or []),
                *(json.loads(post.media) if post.media not in (None, "[]") else []),
            ],
            approved.title if approved else "",
            approved.body if approved else "",
            (approved.variants if approved else None) or {},
            (approved.tags if approved else None) or [],
        )
        # The one place the text sent is changed: links become tracked short links
        # (stored in this transaction, so a retry sends the same ones).
        message = tracked_links.track_message(session, message, link_base)
        delivery = Delivery(
            post_id=post.id,
            piece_id=post.piece_id,
            channel_id=post.channel_id,
            channel_kind=channel.kind,
            attempts=post.attempts,
            key=post.idempotency_key,
            worker_id=worker_id,
            message=message,
            adapter=None if isinstance(adapter, str) else adapter,
            revision=int(post.revision or 0),
            publish_at=post.publish_at,
            dedupes=bool(channel.deduplicates),
            config_error=adapter if isinstance(adapter, str) else "",
        )
        if approved is None:
            delivery.invalid = Message(
                "publish_revision_missing",
                "approved revision {revision} of the piece is missing",
                revision=post.revision,
            )
        elif delivery.adapter is not None:
            found = delivery.adapter.validate(message)
            if found:
                delivery.invalid = Message(
                    "publish_text_refused",
                    "{channel} would refuse the text: {findings}",
                    channel=channel.name,
                    findings=_findings(found),
                )
        deliveries.append(delivery)
    _apply_rules(session, deliveries, now or utcnow())
    now_written = [d for d in deliveries if not d.sendable or d.dedupes]
    if now_written:
        write_attempts(conn, now_written, worker_id)
    return deliveries


def _misconfigured(channel: Channel, err: ValidationFailed | ConfigurationError) -> Message:
    """Why a channel's adapter cannot be built, each setting's problem as the adapter said
    it (coded where it has a code)."""
    problem: str = str(err)
    if isinstance(err, ValidationFailed):
        problem = _joined(
            [
                Message("publish_setting_wrong", "{setting}: {problem}", setting=name, problem=said)
                for name, said in err.fields.items()
            ]
        )
    elif isinstance(err, UnreadableCredentials):
        problem = Message("publish_secrets_unreadable", str(err))
    return Message(
        "publish_channel_misconfigured",
        "channel {channel!r} is misconfigured: {problem}",
        channel=channel.name,
        problem=problem,
    )


def _findings(found: Sequence[Problem]) -> Message:
    """What the channel's own checks refused, each finding coded so it can be translated."""
    return _joined(
        [
            Message(
                "publish_finding",
                "{field}: {problem}",
                field=p.field,
                problem=Message.formatted(f"problem_{p.code}", p.message, p.params)
                if p.code
                else p.message,
            )
            for p in found
        ]
    )


def _joined(messages: Sequence[Message]) -> Message:
    """Several messages as one ("; " between them), each still translatable on its own."""
    joined = messages[-1]
    for message in reversed(messages[:-1]):
        joined = Message("several_findings", "{first}; {rest}", first=message, rest=joined)
    return joined


def _apply_rules(session: Session, deliveries: Sequence[Delivery], now: datetime) -> None:
    """Hold the deliveries a publishing rule stops (see `rule_checks.check_claimed`)."""
    candidates = [
        rule_checks.Claimed(d.post_id, d.piece_id, d.channel_id, d.revision, d.message.media)
        for d in deliveries
        if d.sendable and not d.config_error
    ]
    verdicts = rule_checks.check_claimed(session, candidates, now=now)
    for delivery in deliveries:
        verdict = verdicts.get(delivery.post_id)
        if verdict is not None:
            delivery.ruled = verdict.reason
            delivery.ruled_until = verdict.until
            delivery.ruled_message = verdict.message


def deliver(engine: Engine, delivery: Delivery, gate: Gate | None = None) -> Delivery:
    """Send one post through its adapter (no database session is open); never raises.

    `gate` decides, right before the request, whether the post may still go out; a
    withheld post is not sent. A post whose ledger row is not written yet (its channel
    cannot deduplicate) gets it first; if that fails, nothing is sent and the post is
    retried like a network error.
    """
    if not delivery.sendable:
        return delivery
    assert delivery.adapter is not None
    if gate is not None:
        delivery.withheld = gate.permit(delivery)
        if delivery.withheld:
            return delivery
    if delivery.attempt_id is None:
        try:
            _write_ledger_row(engine, delivery)
        except Exception as err:
            log.exception("could not write the ledger row for post %s", delivery.post_id)
            delivery.error = TransientError(
                Message(
                    "publish_ledger_unwritten",
                    "could not write the ledger row: {error}",
                    error=str(err),
                )
            )
            return delivery
        if gate is not None:
            # Writing the row took time: the lease must still hold when the request starts.
            delivery.withheld = gate.lease_ok(delivery)
            if delivery.withheld:
                return delivery
    started = time.monotonic()
    try:
        delivery.receipt = delivery.adapter.publish(delivery.message, delivery.key)
    except DeliveryError as err:
        delivery.error = err
    except Exception as err:  # an adapter bug must not kill the worker; retry later
        log.exception("adapter %s failed on post %s", delivery.channel_kind, delivery.post_id)
        delivery.error = TransientError(
            Message(
                "publish_adapter_failed",
                "unexpected error in the {kind} adapter: {error}",
                kind=delivery.channel_kind,
                error=repr(err),
            )
        )
    delivery.duration_ms = int((time.monotonic() - started) * 1000)
    if gate is not None and isinstance(delivery.error, RateLimited):
        # This worker's other posts to the channel wait at once, before it is recorded.
        gate.pause(delivery.channel_id, time.monotonic() + delivery.error.retry_after)
    return delivery


def _write_ledger_row(engine: Engine, delivery: Delivery) -> None:
    """Write a post's ledger row before its request. A connection the server dropped
    (restart, failover) is replaced once, but only when the failed statement returned no
    row: nothing was written then, so writing again cannot leave a second row."""
    try:
        with engine.begin() as conn:
            write_attempts(conn, [delivery], delivery.worker_id)
    except OperationalError:
        if delivery.attempt_id is not None:
            raise
        log.warning(
            "lost the database connection writing the ledger row for post %s; once more",
            delivery.post_id,
        )
        with engine.begin() as conn:
            write_attempts(conn, [delivery], delivery.worker_id)


_ATTEMPT_ROW: dict[str, Any] = {
    "post_id": sa.Integer(),
    "worker": sa.String(),
    "started_at": sa.DateTime(timezone=True),
    "idempotency_key": sa.String(),
}
_new_attempts = recordset("attempt", _ATTEMPT_ROW)
# Maps post -> attempt id: a batch has one new attempt per post.
_WRITE_ATTEMPTS_PG = (
    insert(ATTEMPTS)
    .from_select(list(_ATTEMPT_ROW), sa.select(*(_new_attempts.c[n] for n in _ATTEMPT_ROW)))
    .returning(ATTEMPTS.c.post_id, ATTEMPTS.c.id)
)
