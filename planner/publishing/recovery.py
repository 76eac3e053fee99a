"""Posts whose time passed unsent (missed) and posts whose worker stopped (recovery)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, update
from sqlmodel import Session, col, func, select

from planner import audit, org_settings, tracked_links, workflow
from planner.channels import build_adapter
from planner.checks import outgoing_post
from planner.errors import Message, PlannerError
from planner.models import Channel, Piece, Post, PostStatus, PublishAttempt, Revision
from planner.publishing import notes
from planner.publishing.deliver import AdapterFactory
from publishers.base import DeliveryError, OutgoingPost, Publisher, Receipt

log = logging.getLogger("planner.publishing")


def mark_missed(session: Session, *, now: datetime, lateness: timedelta) -> list[int]:
    """Posts never tried and later than the bound become `missed` for an editor."""
    said = Message(
        "publish_missed",
        "not published within {lateness} of its time",
        lateness=notes.span(lateness),
    )
    stmt = (
        update(Post)
        .where(
            col(Post.status).in_(workflow.sources("post", "miss")),
            col(Post.attempts) == 0,
            col(Post.publish_at) < now - lateness,
        )
        .values(
            status=workflow.target("post", "miss"),
            last_error=str(said),
            last_error_reason=notes.stored(said),
            version=Post.version + 1,
        )
        .returning(col(Post.id))
        .execution_options(synchronize_session=False)
    )
    ids = list(session.exec(stmt).scalars())
    for post_id in ids:
        audit.record(
            session,
            actor=None,
            actor_name="scheduler",
            object_type="post",
            object_id=post_id,
            action="miss",
            from_state=PostStatus.planned.value,
            to_state=PostStatus.missed.value,
            note=f"more than {lateness} late",
        )
    session.commit()
    return ids


@dataclass
class Recovery:
    """What happened to posts whose worker's lease ran out."""

    requeued: list[int] = field(default_factory=list)
    needs_check: list[int] = field(default_factory=list)


def recover_expired(session: Session, *, now: datetime) -> Recovery:
    """Posts left `publishing` by a stopped worker: safe to send again, or checked.

    If a request may have been in flight (an attempt was started and never finished) and
    the channel is not known to drop repeats, sending again could publish twice:
    `needs_check`, which a lookup at the channel (`resolve_checks`) or a person settles.
    A worker sends only while its lease holds with a margin (see `deliver.Gate`), so a
    lease that ran out here cannot race a request that is still allowed to start.
    """
    result = Recovery()
    rows = session.exec(
        select(Post, Channel)
        .join(Channel, col(Post.channel_id) == Channel.id)
        .where(
            col(Post.status).in_(workflow.sources("post", "requeue")),
            col(Post.lease_until) < now,
        )
    ).all()
    for post, channel in rows:
        open_attempt = session.exec(
            select(PublishAttempt)
            .where(PublishAttempt.post_id == post.id, col(PublishAttempt.finished_at).is_(None))
            .order_by(col(PublishAttempt.id).desc())
        ).first()
        in_flight = open_attempt is not None
        action = "suspect" if in_flight and not channel.deduplicates else "requeue"
        note = (
            Message(
                "publish_worker_stopped_check",
                "worker {worker} stopped mid-request; {channel} is not known to drop "
                "repeats, so check whether it went out",
                worker=post.claimed_by,
                channel=channel.name,
            )
            if action == "suspect"
            else Message(
                "publish_worker_stopped_same_key",
                "worker {worker} stopped; sending again with the same idempotency key",
                worker=post.claimed_by,
            )
            if in_flight
            else Message(
                "publish_worker_stopped",
                "worker {worker} stopped; sending again",
                worker=post.claimed_by,
            )
        )
        stored = notes.stored(note)
        target = PostStatus(workflow.target("post", action))
        moved = session.exec(
            update(Post)
            .where(
                col(Post.id) == post.id,
                col(Post.status).in_(workflow.sources("post", action)),
                col(Post.lease_until) < now,
            )
            .values(
                status=target,
                claimed_by=None,
                lease_until=None,
                next_attempt_at=None,
                last_error=str(note),
                last_error_reason=stored,
                version=Post.version + 1,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:
            session.rollback()
            continue
        if open_attempt is not None:
            open_attempt.finished_at = now
            open_attempt.outcome = "interrupted"
            open_attempt.error = str(note)
            open_attempt.reason = stored
            session.add(open_attempt)
        audit.record(
            session,
            actor=None,
            actor_name="scheduler",
            object_type="post",
            object_id=post.id,
            action=action,
            from_state=PostStatus.publishing.value,
            to_state=target.value,
            note=str(note),
        )
        session.commit()
        (result.needs_check if action == "suspect" else result.requeued).append(
            post.id  # type: ignore[arg-type]
        )
    return result


@dataclass
class Resolution:
    """What lookups at the channels made of posts that needed a check."""

    found: list[int] = field(default_factory=list)
    not_found: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)


# A lookup that could not tell is tried again after this long.
LOOKUP_RETRY = timedelta(minutes=5)


def resolve_checks(
    engine: Engine,
    *,
    now: datetime,
    limit: int = 50,
    adapter_factory: AdapterFactory = build_adapter,
    worker: str = "scheduler",
) -> Resolution:
    """Settle `needs_check` posts by asking their channel, before a person is asked.

    Where the adapter can look a post up (by slug, record key, the receiver's status
    address), a post that is there becomes `published` with its address, one that surely
    is not is planned again (same idempotency key), and one the channel cannot tell about
    stays for a person (asked again after `LOOKUP_RETRY`). No session is open during a
    lookup; each answer is stored only if the post is still unchanged.
    """
    result = Resolution()
    waiting = (
        col(Post.status).in_(workflow.sources("post", "found")),
        col(Channel.enabled).is_(True),
        or_(col(Post.next_attempt_at).is_(None), col(Post.next_attempt_at) <= now),
    )
    adapters: dict[int, Publisher] = {}
    with Session(engine, expire_on_commit=False) as session:
        # Only channels that can look posts up: checks on the others wait for a person
        # and must not crowd out those a lookup can settle.
        for channel in session.exec(
            select(Channel).where(
                col(Channel.id).in_(
                    select(Post.channel_id)
                    .join(Channel, col(Post.channel_id) == Channel.id)
                    .where(*waiting)
                    .distinct()
                )
            )
        ):
            assert channel.id is not None
            try:
                adapter = adapter_factory(channel)
            except (PlannerError, ValueError):
                continue
            if adapter.can_look_up:
                adapters[channel.id] = adapter
        if not adapters:
            return result
        rows = session.exec(
            select(Post, Channel, Revision)
            .join(Channel, col(Post.channel_id) == Channel.id)
            .join(Piece, col(Post.piece_id) == Piece.id)
            .join(
                Revision,
                and_(
                    col(Revision.piece_id) == Piece.id,
                    # The revision the post was sent with (the piece may have been edited
                    # and approved again since); posts claimed before it was kept: the
                    # approved one.
                    col(Revision.number)
                    == func.coalesce(col(Post.sent_revision), col(Piece.approved_revision)),
                ),
            )
            .where(*waiting, col(Post.channel_id).in_(sorted(adapters)))
            .order_by(col(Post.id))
            .limit(limit)
        ).all()
        # What was sent: the same text, tracked links included, that `prepare` made.
        messages: dict[int, OutgoingPost] = {}
        link_base = org_settings.tracked_links_base(session)
        for post, channel, revision in rows:
            assert channel.id is not None and post.id is not None
            messages[post.id] = tracked_links.track_message(
                session,
                outgoing_post(
                    post.id,
                    channel.id,
                    [*revision.media, *post.media],
                    revision.title,
                    revision.body,
                    revision.variants,
                    revision.tags,
                ),
                link_base,
            )
        session.commit()
    answers: list[tuple[Post, str, Receipt | None, str]] = []
    for post, channel, _revision in rows:
        assert channel.id is not None and post.id is not None
        adapter = adapters[channel.id]
        message = messages[post.id]
        try:
            receipt = adapter.lookup(message, post.idempotency_key)
        except DeliveryError as err:
            answers.append((post, "unknown", None, err.message))
            continue
        except Exception as err:  # an adapter bug must not stop the sweep
            log.exception("lookup of post %s failed", post.id)
            answers.append((post, "unknown", None, repr(err)))
            continue
        answers.append((post, "found" if receipt else "not_found", receipt, ""))
    with Session(engine) as session:
        for post, answer, receipt, error in answers:
            assert post.id is not None
            values: dict[str, Any]
            if answer == "unknown":
                unsure = Message(
                    "publish_lookup_unsure",
                    "{note} (lookup could not tell: {error})",
                    note=notes.said(post.last_error, post.last_error_reason),
                    error=error,
                )
                values = {
                    "next_attempt_at": now + LOOKUP_RETRY,
                    "last_error": str(unsure)[:2000],
                    "last_error_reason": notes.stored(unsure) if len(unsure) <= 2000 else None,
                }
            elif answer == "found":
                assert receipt is not None
                values = {
                    "status": workflow.target("post", "found"),
                    "external_id": receipt.external_id,
                    "external_url": receipt.url,
                    "published_at": now,
                    "last_error": None,
                    "last_error_reason": None,
                    "next_attempt_at": None,
                }
            else:
                gone = Message(
                    "publish_not_at_channel", "the channel has no such post: sending it again"
                )
                values = {
                    "status": workflow.target("post", "not_found"),
                    "last_error": str(gone),
                    "last_error_reason": notes.stored(gone),
                    "next_attempt_at": None,
                }
            moved = session.exec(
                update(Post)
                .where(
                    col(Post.id) == post.id,
                    col(Post.version) == post.version,
                    col(Post.status).in_(workflow.sources("post", "found")),
                )
                .values(**values, version=Post.version + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if moved != 1:
                session.rollback()
                continue
            if answer != "unknown":
                audit.record(
                    session,
                    actor=None,
                    actor_name=worker,
                    object_type="post",
                    object_id=post.id,
                    action=answer,
                    from_state=PostStatus.needs_check.value,
                    to_state=str(values["status"]),
                    note=receipt.url or receipt.external_id if receipt else "",
                )
            session.commit()
            getattr(result, answer).append(post.id)
    return result
