"""One claimed post on its way out: what is sent, its ledger row, the request."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import (
    Connection,
    Engine,
    insert,
)
from sqlmodel import Session, col, select

from planner.errors import (
    ConfigurationError,
    ValidationFailed,
)
from planner.models import (
    Channel,
    utcnow,
)
from planner.publishing.tables import ATTEMPTS, PIECES, as_json, recordset
from publishers.base import (
    DeliveryError,
    Media,
    OutgoingPost,
    Publisher,
    Receipt,
    TransientError,
)

AdapterFactory = Callable[[Channel], Publisher]

log = logging.getLogger("planner.publishing")


def _message(
    post_id: int,
    channel_id: int,
    media: list[dict[str, Any]],
    title: str,
    body: str,
    variants: dict[str, str],
    tags: list[str],
) -> OutgoingPost:
    """What the adapter sends: the channel's variant, or the master text."""
    return OutgoingPost(
        post_id=post_id,
        title=title,
        text=variants.get(str(channel_id)) or body,
        media=[
            Media(
                url=str(m.get("url", "")),
                alt_text=str(m.get("alt_text", "")),
                mime_type=str(m.get("mime_type", "")),
            )
            for m in media
        ],
        tags=list(tags),
    )


@dataclass
class Delivery:
    """One claimed post on its way out: what goes where, and (after `deliver`) how it went."""

    post_id: int
    piece_id: int
    channel_id: int
    channel_kind: str
    attempts: int
    key: str
    worker_id: str
    message: OutgoingPost
    adapter: Publisher | None
    config_error: str = ""
    attempt_id: int | None = None
    duration_ms: int = 0
    receipt: Receipt | None = None
    error: DeliveryError | None = None


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
) -> list[Delivery]:
    """Deliveries for claimed posts (rows of `CLAIMED_COLUMNS`), and the ledger rows of
    those whose channel deduplicates, in the session's transaction (the caller commits)."""
    if not posts:
        return []
    conn = session.connection()
    pieces = {
        row.id: row
        for row in conn.execute(
            sa.select(
                PIECES.c.id,
                PIECES.c.title,
                PIECES.c.body,
                PIECES.c.variants,
                PIECES.c.tags,
            ).where(PIECES.c.id.in_({p.piece_id for p in posts}))
        )
    }
    adapters: dict[int, Publisher | str] = {}
    kinds: dict[int, str] = {}
    for channel in session.exec(
        select(Channel).where(col(Channel.id).in_({p.channel_id for p in posts}))
    ):
        assert channel.id is not None
        kinds[channel.id] = channel.kind
        try:
            adapters[channel.id] = adapter_factory(channel)
        except (ValidationFailed, ConfigurationError) as err:
            adapters[channel.id] = f"channel {channel.name!r} is misconfigured: {err}"
    deliveries = []
    for post in posts:
        piece = pieces[post.piece_id]
        adapter = adapters[post.channel_id]
        deliveries.append(
            Delivery(
                post_id=post.id,
                piece_id=post.piece_id,
                channel_id=post.channel_id,
                channel_kind=kinds[post.channel_id],
                attempts=post.attempts,
                key=post.idempotency_key,
                worker_id=worker_id,
                message=_message(
                    post.id,
                    post.channel_id,
                    json.loads(post.media) if post.media not in (None, "[]") else [],
                    piece.title,
                    piece.body,
                    piece.variants,
                    piece.tags,
                ),
                adapter=None if isinstance(adapter, str) else adapter,
                config_error=adapter if isinstance(adapter, str) else "",
            )
        )
    now_written = [d for d in deliveries if d.adapter is None or d.adapter.deduplicates]
    if now_written:
        write_attempts(conn, now_written, worker_id)
    return deliveries


def deliver(engine: Engine, delivery: Delivery) -> Delivery:
    """Send one post through its adapter (no database session is open); never raises.

    A post whose ledger row is not written yet (its channel cannot deduplicate) gets it
    first; if that fails, nothing is sent and the post is retried like a network error.
    """
    if delivery.adapter is None:
        return delivery
    if delivery.attempt_id is None:
        try:
            with engine.begin() as conn:
                write_attempts(conn, [delivery], delivery.worker_id)
        except Exception as err:
            log.exception("could not write the ledger row for post %s", delivery.post_id)
            delivery.error = TransientError(f"could not write the ledger row: {err}")
            return delivery
    started = time.monotonic()
    try:
        delivery.receipt = delivery.adapter.publish(delivery.message, delivery.key)
    except DeliveryError as err:
        delivery.error = err
    except Exception as err:  # an adapter bug must not kill the worker; retry later
        log.exception("adapter %s failed on post %s", delivery.channel_kind, delivery.post_id)
        delivery.error = TransientError(
            f"unexpected error in the {delivery.channel_kind} adapter: {err!r}"
        )
    delivery.duration_ms = int((time.monotonic() - started) * 1000)
    return delivery


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
