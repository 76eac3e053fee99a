"""The stored data: SQLModel tables, their enums, and UTC-aware timestamps everywhere."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from planner.dbtypes import UTCDateTime, enum_type, json_type


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def core_tables(*models: type[SQLModel]) -> tuple[Any, ...]:
    """The Core tables of table `models`, in that order, for statements that skip the
    ORM's unit of work (bulk inserts, claims, the engine's hot path)."""
    return tuple(model.__table__ for model in models)  # type: ignore[attr-defined]


class Role(enum.StrEnum):
    """What a user may do; see `planner.permissions`."""

    contributor = "contributor"
    editor = "editor"
    approver = "approver"
    admin = "admin"


class IdeaStatus(enum.StrEnum):
    """Where an idea stands in triage."""

    submitted = "submitted"
    accepted = "accepted"
    rejected = "rejected"
    merged = "merged"


class Urgency(enum.StrEnum):
    """How soon the submitting department needs the content."""

    low = "low"
    normal = "normal"
    high = "high"


class PieceStatus(enum.StrEnum):
    """Where a piece stands in the editorial workflow."""

    draft = "draft"
    in_review = "in_review"
    changes_requested = "changes_requested"
    approved = "approved"
    published = "published"
    archived = "archived"


class PostStatus(enum.StrEnum):
    """Where one post (a piece on one channel at one time) stands."""

    planned = "planned"
    publishing = "publishing"
    published = "published"
    failed = "failed"
    missed = "missed"
    needs_check = "needs_check"
    awaiting_manual = "awaiting_manual"  # a person posts it by hand (channels without an API)
    cancelled = "cancelled"


# Row versions for optimistic locking: every ORM update checks and bumps them, so a
# concurrent change raises StaleDataError instead of silently overwriting.
_IDEA_VERSION = Column("version", Integer, nullable=False, server_default="1")
_PIECE_VERSION = Column("version", Integer, nullable=False, server_default="1")
_POST_VERSION = Column("version", Integer, nullable=False, server_default="1")


def _ts(*, index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, index=index, nullable=nullable)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Department(SQLModel, table=True):
    """A part of the company that submits ideas (Marketing, HR, ...)."""

    __tablename__ = "departments"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    created_at: datetime = _created()


class User(SQLModel, table=True):
    """A person who signs in; contributors belong to a department."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=120)
    email: str | None = Field(default=None, max_length=254)
    role: Role = Field(sa_type=enum_type(Role))
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)
    password_hash: str = Field(max_length=255)
    # No longer used: failed sign-ins are counted in `sign_in_throttle` (planner.throttle).
    # Kept so existing databases and other readers of the table need no change.
    failed_logins: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    locked_until: datetime | None = _ts()
    disabled: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    locale: str = Field(default="de", max_length=8)
    timezone: str = Field(default="Europe/Berlin", max_length=64)
    created_at: datetime = _created()


class Audience(SQLModel, table=True):
    """A target audience (Zielgruppe): whom ideas and pieces are for."""

    __tablename__ = "audiences"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    description: str = Field(default="", sa_type=Text)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class AudienceChannel(SQLModel, table=True):
    """A channel that reaches an audience."""

    __tablename__ = "audience_channels"

    audience_id: int = Field(foreign_key="audiences.id", primary_key=True)
    channel_id: int = Field(foreign_key="channels.id", primary_key=True)


class AudienceDepartment(SQLModel, table=True):
    """A department that serves an audience."""

    __tablename__ = "audience_departments"

    audience_id: int = Field(foreign_key="audiences.id", primary_key=True)
    department_id: int = Field(foreign_key="departments.id", primary_key=True)


class Idea(SQLModel, table=True):
    """A content idea a department submitted, and what became of it."""

    __tablename__ = "ideas"
    __mapper_args__ = {"version_id_col": _IDEA_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    pitch: str = Field(sa_type=Text)
    department_id: int = Field(foreign_key="departments.id", index=True)
    submitted_by_id: int = Field(foreign_key="users.id", index=True)
    target_audience: str = Field(default="", max_length=200)
    # The defined audience the text names (see planner.audiences), if it names one.
    audience_id: int | None = Field(default=None, foreign_key="audiences.id", index=True)
    goal: str = Field(default="", max_length=500)
    source_url: str | None = Field(default=None, max_length=2000)
    urgency: Urgency = Field(default=Urgency.normal, sa_type=enum_type(Urgency))
    tags: list[str] = Field(default_factory=list, sa_type=json_type())
    status: IdeaStatus = Field(
        default=IdeaStatus.submitted, sa_type=enum_type(IdeaStatus), index=True
    )
    rejection_reason: str | None = Field(default=None, sa_type=Text)
    merged_into_id: int | None = Field(default=None, foreign_key="ideas.id")
    created_at: datetime = _created()
    updated_at: datetime = _created()
    version: int = Field(default=None, sa_column=_IDEA_VERSION)


class Piece(SQLModel, table=True):
    """Edited content: a master text plus one variant per planned channel.

    `revision` counts saved content versions; an approval holds for `approved_revision`
    only, so any later edit makes the piece need review again.
    """

    __tablename__ = "pieces"
    __mapper_args__ = {"version_id_col": _PIECE_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    idea_id: int | None = Field(default=None, foreign_key="ideas.id", index=True)
    title: str = Field(max_length=200)
    body: str = Field(default="", sa_type=Text)
    variants: dict[str, str] = Field(default_factory=dict, sa_type=json_type())
    owner_id: int = Field(foreign_key="users.id", index=True)
    due_date: date | None = None
    campaign: str = Field(default="", max_length=120)
    tags: list[str] = Field(default_factory=list, sa_type=json_type())
    audience_id: int | None = Field(default=None, foreign_key="audiences.id", index=True)
    status: PieceStatus = Field(
        default=PieceStatus.draft, sa_type=enum_type(PieceStatus), index=True
    )
    revision: int = Field(default=1)
    # The files of the current revision, in order: {"id": MediaFile id, "alt_text": ...,
    # "mime_type": ..., "filename": ...}. The alt text belongs to the revision, so changing
    # it is a new revision like any edit.
    media: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=json_type(), sa_column_kwargs={"server_default": "[]"}
    )
    approved_revision: int | None = None
    approved_by_id: int | None = Field(default=None, foreign_key="users.id")
    approved_at: datetime | None = _ts()
    created_at: datetime = _created()
    updated_at: datetime = _created()
    version: int = Field(default=None, sa_column=_PIECE_VERSION)


class Revision(SQLModel, table=True):
    """One saved version of a piece's content: texts, channel variants, due date, campaign, tags."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("piece_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    piece_id: int = Field(foreign_key="pieces.id", index=True)
    number: int
    title: str = Field(max_length=200)
    body: str = Field(sa_type=Text)
    variants: dict[str, str] = Field(default_factory=dict, sa_type=json_type())
    due_date: date | None = None
    campaign: str = Field(default="", max_length=120)
    tags: list[str] = Field(default_factory=list, sa_type=json_type())
    # The files of this version with their alt text (as `Piece.media`): an approval holds
    # for exactly these.
    media: list[dict[str, Any]] = Field(
        default_factory=list, sa_type=json_type(), sa_column_kwargs={"server_default": "[]"}
    )
    author_id: int = Field(foreign_key="users.id")
    note: str = Field(default="", max_length=500)
    created_at: datetime = _created()


class MediaFile(SQLModel, table=True):
    """An image or document uploaded for a piece: its checked bytes, never changed.

    Images are stored re-encoded without metadata (EXIF); revisions refer to a file by id
    together with its alt text.
    """

    __tablename__ = "media_files"

    id: int | None = Field(default=None, primary_key=True)
    piece_id: int = Field(foreign_key="pieces.id", index=True)
    filename: str = Field(max_length=200)
    mime_type: str = Field(max_length=64)
    size: int
    width: int = Field(default=0)
    height: int = Field(default=0)
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_type=LargeBinary, nullable=False)
    uploaded_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = _created()


class Channel(SQLModel, table=True):
    """A configured publishing target: an adapter kind plus its settings."""

    __tablename__ = "channels"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    name: str = Field(max_length=80, unique=True)
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    # Encrypted credentials; written by the channel configuration in the publishing issues.
    credentials: str | None = Field(default=None, sa_type=Text)
    enabled: bool = Field(default=True)
    daily_cap: int | None = None
    needs_reconnect: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # Whether this channel's server drops a repeated request (same idempotency key), so an
    # ambiguous outcome may be retried automatically. Proven per channel, never assumed of
    # an adapter kind: detected from what the server says it runs, or set by an admin.
    deduplicates: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # Why `deduplicates` holds (or does not), for admins: "Mastodon 4.3.0", "set by admin".
    deduplication_basis: str = Field(
        default="", max_length=200, sa_column_kwargs={"server_default": ""}
    )
    # A 429's Retry-After pauses the whole channel, for every worker, until this instant.
    paused_until: datetime | None = _ts()
    pause_reason: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = _created()


class PublishingSlot(SQLModel, table=True):
    """One weekly slot of a channel's plan: a weekday (0 Monday) and a wall-clock minute
    of the day in the organisation's time zone."""

    __tablename__ = "publishing_slots"

    channel_id: int = Field(foreign_key="channels.id", primary_key=True)
    weekday: int = Field(primary_key=True)
    minute: int = Field(primary_key=True)


class Series(SQLModel, table=True):
    """A recurrence: RRULE text + IANA zone + local wall-clock start, materialised as posts."""

    __tablename__ = "series"

    id: int | None = Field(default=None, primary_key=True)
    piece_id: int = Field(foreign_key="pieces.id", index=True)
    channel_id: int = Field(foreign_key="channels.id", index=True)
    rule: str = Field(max_length=500)
    timezone: str = Field(max_length=64)
    # Naive wall-clock time in `timezone` that the rule repeats: deliberately not an
    # instant, so it gets a plain timestamp column rather than the UTC-only type.
    local_start: datetime = Field(sa_type=DateTime(timezone=False), nullable=False)
    materialized_until: datetime | None = _ts()
    active: bool = Field(default=True)
    # Each occurrence goes to the channel's first free publishing slot from its time until
    # the next occurrence, instead of at its own time (`planner.slots.place_series_posts`).
    in_slots: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    # Every occurrence of the rule is planned: the series plans nothing more, and no longer
    # keeps its piece from being published (`active` stays true until it is ended).
    complete: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = _created()


class Post(SQLModel, table=True):
    """One piece on one channel at one instant: the scheduler's unit of work."""

    __tablename__ = "posts"
    __mapper_args__ = {"version_id_col": _POST_VERSION}
    __table_args__ = (
        UniqueConstraint("series_id", "occurrence_at"),
        # The scheduler's claim takes due posts by status, in (publish_at, id) order.
        Index("ix_posts_status_publish_at_id", "status", "publish_at", "id"),
        # Analytics reads a period's published posts' channels and pieces from the index
        # alone, without a lookup of each post's row.
        Index(
            "ix_posts_status_publish_at_id_channel_id_piece_id",
            "status",
            "publish_at",
            "id",
            "channel_id",
            "piece_id",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    piece_id: int = Field(foreign_key="pieces.id", index=True)
    channel_id: int = Field(foreign_key="channels.id", index=True)
    series_id: int | None = Field(default=None, foreign_key="series.id", index=True)
    occurrence_at: datetime | None = _ts()
    publish_at: datetime = Field(sa_type=UTCDateTime, index=True, nullable=False)
    timezone: str = Field(default="Europe/Berlin", max_length=64)
    # No index of its own: ix_posts_status_publish_at_id starts with it, and every index
    # costs the scheduler a write on each claim and each outcome.
    status: PostStatus = Field(default=PostStatus.planned, sa_type=enum_type(PostStatus))
    media: list[dict[str, Any]] = Field(default_factory=list, sa_type=json_type())
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    claimed_by: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = _ts()
    next_attempt_at: datetime | None = _ts()
    idempotency_key: str = Field(
        default_factory=lambda: uuid.uuid4().hex, max_length=64, unique=True
    )
    external_id: str | None = Field(default=None, max_length=500)
    external_url: str | None = Field(default=None, max_length=2000)
    last_error: str | None = Field(default=None, sa_type=Text)
    # The engine's own explanation of `last_error` as `errors.message_data` JSON text, so
    # the dashboard says it in the reader's language (`publishing.notes`); None for a
    # channel's own words. It counts only while its English text is `last_error`.
    last_error_reason: str | None = Field(default=None, sa_type=Text)
    published_at: datetime | None = _ts()
    # The approved revision the scheduler's last claim took to send: the text that went
    # out, even after the piece is edited and approved again (None: never claimed).
    sent_revision: int | None = None
    # A person's "send again": the ledger's last row then; only the failures after it
    # count against the post's tries (None: all of them).
    retried_after: int | None = None
    version: int = Field(default=None, sa_column=_POST_VERSION)
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = _created()


class PublishAttempt(SQLModel, table=True):
    """The ledger: one row per attempt to publish a post, written before the request."""

    __tablename__ = "publish_attempts"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id", index=True)
    worker: str = Field(max_length=120)
    started_at: datetime = _created()
    finished_at: datetime | None = _ts()
    outcome: str | None = Field(default=None, max_length=24)
    http_status: int | None = None
    error: str | None = Field(default=None, sa_type=Text)
    external_id: str | None = Field(default=None, max_length=500)
    external_url: str | None = Field(default=None, max_length=2000)
    duration_ms: int | None = None
    idempotency_key: str | None = Field(default=None, max_length=64)
    # Why a publishing rule held the post (outcome "rule"), else the engine's own
    # explanation of `error`, as `errors.message_data` JSON text, so the dashboard says it
    # in the reader's language (`error` keeps the English text; `publishing.notes`).
    reason: str | None = Field(default=None, sa_type=Text)


class PostHold(SQLModel, table=True):
    """A stretch of time the engine found a due post held (freeze, piece not approved as
    it is, channel disabled, disconnected, without publisher or paused): from when a sweep
    first saw it until one saw it go (`ended_at`; None while it lasts). A rule's hold is
    in the ledger instead. At most one open stretch per post, whichever worker saw it."""

    __tablename__ = "post_holds"
    __table_args__ = (
        Index(
            "ux_post_holds_open_post_id",
            "post_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id", index=True)
    reason: str = Field(max_length=32)  # a planning.HoldReason name
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    ended_at: datetime | None = _ts()


class WorkerHeartbeat(SQLModel, table=True):
    """A publishing worker's sign of life, written on every sweep."""

    __tablename__ = "worker_heartbeats"

    worker_id: str = Field(primary_key=True, max_length=120)
    hostname: str = Field(max_length=255)
    pid: int
    embedded: bool = Field(default=False)
    started_at: datetime = _created()
    last_seen: datetime = _created()
    published: int = Field(default=0)
    failed: int = Field(default=0)


class Comment(SQLModel, table=True):
    """A remark on a piece, tied to the revision it was made on."""

    __tablename__ = "comments"

    id: int | None = Field(default=None, primary_key=True)
    piece_id: int = Field(foreign_key="pieces.id", index=True)
    author_id: int = Field(foreign_key="users.id")
    revision: int
    body: str = Field(sa_type=Text)
    created_at: datetime = _created()


class AuditEvent(SQLModel, table=True):
    """Append-only record of who did what to which object (triggers refuse changes)."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True, nullable=False)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    actor_name: str = Field(max_length=64)
    object_type: str = Field(max_length=32, index=True)
    object_id: str = Field(max_length=64)
    action: str = Field(max_length=48)
    from_state: str | None = Field(default=None, max_length=32)
    to_state: str | None = Field(default=None, max_length=32)
    version: int | None = None
    note: str = Field(default="", sa_type=Text)
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64)


class Setting(SQLModel, table=True):
    """An organisation setting an admin can change (time zone, language, freeze, ...)."""

    __tablename__ = "settings"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_type=Text)
    updated_at: datetime = _created()
    updated_by_id: int | None = Field(default=None, foreign_key="users.id")


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins counted per account or per client (the key is a hash, never a name)."""

    __tablename__ = "sign_in_throttle"

    key: str = Field(primary_key=True, max_length=100)
    failures: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_failure_at: datetime | None = _ts()
    blocked_until: datetime | None = _ts()


class UserSession(SQLModel, table=True):
    """A signed-in browser: only the SHA-256 of its random token is stored."""

    __tablename__ = "user_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    created_at: datetime = _created()
    last_seen_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ended_at: datetime | None = _ts()
    end_reason: str | None = Field(default=None, max_length=32)
    client: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})


class FormSubmission(SQLModel, table=True):
    """A form's one-time token, spent by the first thing created from that form.

    Every rendered form carries a fresh random token; sending the same form again (a
    double click, a reload that resends) finds its token spent and creates nothing.
    """

    __tablename__ = "form_submissions"

    token: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="users.id", index=True)
    action: str = Field(max_length=32)
    object_id: int | None = None
    created_at: datetime = _created()


class Notification(SQLModel, table=True):
    """Something a user is told about: in the dashboard, and by e-mail if they chose so.

    E-mail goes out from the worker (an outbox): `mailed_at` is set once it was accepted
    by the mail server; `mail_attempts` and `mail_error` tell why it has not been yet.
    """

    __tablename__ = "notifications"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(max_length=32)
    object_type: str = Field(max_length=32)
    object_id: int
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    detail: str = Field(default="", sa_type=Text)
    created_at: datetime = _created()
    read_at: datetime | None = _ts()
    email: bool = Field(default=False)
    mailed_at: datetime | None = _ts()
    mail_attempts: int = Field(default=0)
    # When a worker last took it to send: another takes it again only after `mail.HOLD`.
    mail_tried_at: datetime | None = _ts()
    mail_error: str | None = Field(default=None, sa_type=Text)


class NotificationPreference(SQLModel, table=True):
    """How one user wants to hear of one kind of notification (absent row: the default)."""

    __tablename__ = "notification_preferences"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    kind: str = Field(primary_key=True, max_length=32)
    in_app: bool = Field(default=True)
    email: bool = Field(default=False)


class EditorDraft(SQLModel, table=True):
    """What one user typed in the Editor for one piece and has not saved yet.

    Kept on every change and deleted when the piece is saved or the draft discarded;
    `base_revision` is the revision the typing started from, so a newer one is noticed.
    """

    __tablename__ = "editor_drafts"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    piece_id: int = Field(foreign_key="pieces.id", primary_key=True, index=True)
    base_revision: int
    title: str = Field(default="", sa_type=Text)
    body: str = Field(default="", sa_type=Text)
    variants: dict[str, str] = Field(default_factory=dict, sa_type=json_type())
    updated_at: datetime = _created()


class PublishingRule(SQLModel, table=True):
    """One of the organisation's publishing rules (guidelines as code), see `planner.rules`.

    `scope` names the channels, departments, campaigns and audiences it applies to (an
    empty list: all); `settings` holds what its `kind` needs (terms, hours, a cap ...).
    """

    __tablename__ = "publishing_rules"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    kind: str = Field(max_length=32)
    severity: str = Field(max_length=8)
    scope: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    message_de: str = Field(default="", sa_type=Text)
    message_en: str = Field(default="", sa_type=Text)
    enabled: bool = Field(default=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class RuleOverride(SQLModel, table=True):
    """An approver's written decision that a blocking rule does not stop one revision of a
    piece (on one channel, or on every channel when `channel_id` is None)."""

    __tablename__ = "rule_overrides"

    id: int | None = Field(default=None, primary_key=True)
    piece_id: int = Field(foreign_key="pieces.id", index=True)
    revision: int
    rule_id: int = Field(foreign_key="publishing_rules.id", index=True)
    channel_id: int | None = Field(default=None, foreign_key="channels.id")
    justification: str = Field(sa_type=Text)
    approver_id: int = Field(foreign_key="users.id")
    created_at: datetime = _created()


class RecordedFinding(SQLModel, table=True):
    """A rule's finding on one channel as the check at a step found it: when a piece was
    submitted for review or approved (or the step was refused for it). The process report
    counts these, so a finding fixed since still shows that the rules caught it."""

    __tablename__ = "recorded_findings"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    step: str = Field(max_length=24)  # the workflow action: submit or approve
    stopped: bool = Field(default=False)  # whether the findings refused the step
    piece_id: int = Field(foreign_key="pieces.id", index=True)
    revision: int
    channel_id: int = Field(foreign_key="channels.id")
    rule_id: int | None = Field(default=None, foreign_key="publishing_rules.id")
    rule: str = Field(max_length=200)  # its name then (a channel's daily cap has no rule row)
    severity: str = Field(max_length=8)
    overridden: bool = Field(default=False)
    actor_id: int = Field(foreign_key="users.id")


class MetricSnapshot(SQLModel, table=True):
    """A published post's interaction figures as its channel reported them at one instant.

    The five counts are the planner's normalised schema; a figure the network does not
    give stays None (not 0). `raw` keeps the channel's answer as it came.
    """

    __tablename__ = "metric_snapshots"
    __table_args__ = (Index("ix_metric_snapshots_post_id_collected_at", "post_id", "collected_at"),)

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id")
    collected_at: datetime = _created()
    impressions: int | None = None
    reactions: int | None = None
    reposts: int | None = None
    replies: int | None = None
    link_clicks: int | None = None
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())


class LatestMetrics(SQLModel, table=True):
    """A post's newest metric snapshot (latest `collected_at`, then highest id), copied:
    one row per post that has a snapshot. Database triggers on `metric_snapshots` keep it
    (migration 0028), whoever writes a snapshot, so figures as of now read one row per
    post instead of searching its snapshots. Never written by the planner itself."""

    __tablename__ = "latest_metrics"

    post_id: int = Field(foreign_key="posts.id", primary_key=True)
    snapshot_id: int
    collected_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    impressions: int | None = None
    reactions: int | None = None
    reposts: int | None = None
    replies: int | None = None
    link_clicks: int | None = None


class InboxSource(enum.StrEnum):
    """What brought an item into the listening inbox."""

    mention = "mention"  # the company's account was named (or quoted)
    reply = "reply"  # someone answered one of the company's posts
    feed_item = "feed_item"  # a new entry in a followed RSS/Atom feed


class InboxStatus(enum.StrEnum):
    """Where an inbox item stands."""

    new = "new"
    assigned = "assigned"
    answered = "answered"
    converted = "converted"  # an idea was made of it
    dismissed = "dismissed"


class Feed(SQLModel, table=True):
    """A followed RSS or Atom feed whose new entries arrive in the listening inbox.

    `etag` and `last_modified` are the server's validators of the last answer, sent back
    so an unchanged feed answers 304 without its body.
    """

    __tablename__ = "feeds"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000, unique=True)
    name: str = Field(max_length=120)
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    enabled: bool = Field(default=True)
    last_fetched_at: datetime | None = _ts()
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    last_error: str | None = Field(default=None, sa_type=Text)
    # A 429's Retry-After: the feed is not asked again before this instant.
    paused_until: datetime | None = _ts()
    created_by_id: int = Field(foreign_key="users.id")
    created_at: datetime = _created()


class ListeningState(SQLModel, table=True):
    """How far the inbox has read a listening channel's mentions, and its last error."""

    __tablename__ = "listening_states"

    channel_id: int = Field(foreign_key="channels.id", primary_key=True)
    cursor: str | None = Field(default=None, max_length=500)
    last_fetched_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, sa_type=Text)
    # A 429's Retry-After: the channel's mentions are not read again before this instant.
    paused_until: datetime | None = _ts()


class ResponseTarget(SQLModel, table=True):
    """Within how many hours a department should answer what is assigned to it
    (no row: the organisation's `response_target_hours`)."""

    __tablename__ = "response_targets"

    department_id: int = Field(foreign_key="departments.id", primary_key=True)
    hours: int


class InboxItem(SQLModel, table=True):
    """A mention, a reply or a feed entry to react to, and how it was handled.

    `source_key` names where it came from ("channel:3", "feed:7"); with `external_id` it is
    unique, so an item never arrives twice, however many workers poll at once.
    """

    __tablename__ = "inbox_items"
    __table_args__ = (UniqueConstraint("source_key", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    source: InboxSource = Field(sa_type=enum_type(InboxSource))
    source_key: str = Field(max_length=40)
    channel_id: int | None = Field(default=None, foreign_key="channels.id")
    feed_id: int | None = Field(default=None, foreign_key="feeds.id")
    external_id: str = Field(max_length=500)
    author_name: str = Field(default="", max_length=200)
    author_handle: str = Field(default="", max_length=200)
    author_url: str | None = Field(default=None, max_length=2000)
    title: str = Field(default="", max_length=500)
    text: str = Field(default="", sa_type=Text)
    url: str | None = Field(default=None, max_length=2000)
    received_at: datetime = _created()
    published_at: datetime | None = _ts()
    # What a reply on the network needs besides the id (Bluesky's root and parent refs).
    context: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    in_reply_to_post_id: int | None = Field(default=None, foreign_key="posts.id")
    status: InboxStatus = Field(default=InboxStatus.new, sa_type=enum_type(InboxStatus), index=True)
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)
    assigned_at: datetime | None = _ts()
    handled_by_id: int | None = Field(default=None, foreign_key="users.id")
    handled_at: datetime | None = _ts()
    idea_id: int | None = Field(default=None, foreign_key="ideas.id")
    dismiss_reason: str | None = Field(default=None, sa_type=Text)
    # A reply waiting for a second person's approval, or the reply that was sent.
    reply_text: str | None = Field(default=None, sa_type=Text)
    reply_by_id: int | None = Field(default=None, foreign_key="users.id")
    reply_requested_at: datetime | None = _ts()
    reply_external_id: str | None = Field(default=None, max_length=500)
    reply_url: str | None = Field(default=None, max_length=2000)
    # When someone started sending the reply; nobody else sends one meanwhile.
    reply_sending_at: datetime | None = _ts()


class CalendarFeed(SQLModel, table=True):
    """A user's subscribable calendar (iCalendar) at a secret URL, with the filters it shows.

    Only the SHA-256 of the URL's random token is stored; the feed shows what its owner
    may see at the moment it is fetched, so a disabled owner's feed stops working.
    """

    __tablename__ = "calendar_feeds"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=80)
    # The dashboard's calendar filters: channel_id, department_id, audience_id, campaign, status.
    filters: dict[str, Any] = Field(default_factory=dict, sa_type=json_type())
    created_at: datetime = _created()
    last_fetched_at: datetime | None = _ts()
    revoked_at: datetime | None = _ts()
    revoked_by_id: int | None = Field(default=None, foreign_key="users.id")


class TrackedLink(SQLModel, table=True):
    """A short redirect `<base>/l/<code>` that stands for one link in one post's text and
    counts its clicks."""

    __tablename__ = "tracked_links"
    __table_args__ = (UniqueConstraint("post_id", "url_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    post_id: int = Field(foreign_key="posts.id", index=True)
    url: str = Field(sa_type=Text)
    # SHA-256 of `url`: one code per link and post, however long the link is.
    url_hash: str = Field(max_length=64)
    clicks: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = _created()
    last_click_at: datetime | None = _ts()


class MetricCollection(SQLModel, table=True):
    """Where the collection of one published post's figures stands: its next round, and
    the worker holding it (a lease, as for publishing).

    Rounds are the organisation's `metrics_schedule` (1 h, 24 h, 7 days, ... after
    publishing); `round` is the index of the next one. `next_due_at` is None once the
    collection ended, and `state` says why.
    """

    __tablename__ = "metric_collections"
    # The claim takes due collections in (next_due_at, post_id) order.
    __table_args__ = (Index("ix_metric_collections_next_due_at_post_id", "next_due_at", "post_id"),)

    post_id: int = Field(foreign_key="posts.id", primary_key=True)
    channel_id: int = Field(foreign_key="channels.id", index=True)
    published_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    round: int = Field(default=0)
    next_due_at: datetime | None = _ts()
    # active, done (every round taken), unsupported (the channel reports no figures),
    # gone (deleted on the channel), no_receipt (nothing to ask the channel about).
    state: str = Field(default="active", max_length=16)
    claimed_by: str | None = Field(default=None, max_length=120)
    lease_until: datetime | None = _ts()
    # Failed tries of the current round (transient errors), for the backoff.
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, sa_type=Text)
    collected_at: datetime | None = _ts()
    created_at: datetime = _created()


class MetricFetch(SQLModel, table=True):
    """The metrics ledger: one row per request for a post's figures, written before it."""

    __tablename__ = "metric_fetches"

    id: int | None = Field(default=None, primary_key=True)
    post_id: int = Field(foreign_key="posts.id", index=True)
    round: int
    worker: str = Field(max_length=120)
    started_at: datetime = _created()
    finished_at: datetime | None = _ts()
    outcome: str | None = Field(default=None, max_length=24)
    http_status: int | None = None
    error: str | None = Field(default=None, sa_type=Text)
    duration_ms: int | None = None


class MetricPause(SQLModel, table=True):
    """A channel's rate limit on reading figures: no metrics request before `paused_until`,
    for every worker. Publishing keeps its own pause (`Channel.paused_until`)."""

    __tablename__ = "metric_pauses"

    channel_id: int = Field(foreign_key="channels.id", primary_key=True)
    paused_until: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reason: str | None = Field(default=None, sa_type=Text)
