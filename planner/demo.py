"""Demo content: a fictional heating company's people, channels, ideas, pieces and calendar.

Everything is created through the service functions, so every row carries its audit
events exactly as if people had worked through the dashboard. The texts live in
`data/demo_content.json`; this module only knows the order of the moves.

The demo's accounts on Mastodon, LinkedIn and the rest are invented: those channels are
built with a placeholder credential so their adapters validate, then disabled once their
posts are planned, so the scheduler never sends anything with them. Only channels that
need no network (XING, posted by hand) stay enabled.
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, insert
from sqlmodel import Session, SQLModel, func, select

from planner import audiences, audit, channels, ideas, pieces, planning, rules, slots, users
from planner.config import DATA_DIR
from planner.errors import ValidationFailed
from planner.models import (
    Channel,
    Department,
    Idea,
    IdeaStatus,
    Piece,
    PieceStatus,
    Post,
    PostStatus,
    Revision,
    Role,
    Series,
    Urgency,
    User,
    utcnow,
)
from planner.passwords import password_problem
from planner.timezones import to_utc, zone
from publishers import REGISTRY

CONTENT_FILE = DATA_DIR / "demo_content.json"
BULK_SEED = 42
# Stored for a demo channel's required secrets; the channel is disabled, so it is never sent.
PLACEHOLDER_CREDENTIAL = "demo-placeholder-not-a-real-credential"

_WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_IDEA_FIELDS = ("title", "pitch", "department", "target_audience", "goal", "urgency", "tags")
# Wall-clock slots for generated posts; none falls into a DST gap or fold (02:00-03:00).
_BULK_SLOTS = (time(8, 0), time(9, 0), time(10, 30), time(12, 30), time(15, 0), time(17, 0))
_BULK_STATUSES = (
    PieceStatus.draft,
    PieceStatus.in_review,
    PieceStatus.changes_requested,
    PieceStatus.approved,
    PieceStatus.archived,
)
_BULK_WEIGHTS = (3, 2, 1, 5, 1)
# Generated ideas: waiting in the inbox, rejected, or accepted (then a generated piece's).
_BULK_IDEA_STATUSES = (IdeaStatus.submitted, IdeaStatus.rejected, IdeaStatus.accepted)
_BULK_IDEA_WEIGHTS = (2, 1, 4)
# Generated audit events lie up to this far back, so the activity log has a history.
_BULK_HISTORY = timedelta(days=90)


class DemoLogin(NamedTuple):
    """One demo account and its password, shown once and never stored in clear."""

    username: str
    role: Role
    department: str | None
    password: str


@dataclass(frozen=True)
class DemoResult:
    """What `load_demo` made: every login with its password, the row counts, and the
    channels it disabled because the demo has no credentials for them."""

    logins: tuple[DemoLogin, ...]
    counts: Mapping[str, int]
    disabled_channels: tuple[str, ...] = ()


def count_rows(session: Session) -> dict[str, int]:
    """Rows per kind: departments, users, channels, ideas, pieces, posts, series."""
    models: dict[str, type[Any]] = {
        "departments": Department,
        "users": User,
        "channels": Channel,
        "ideas": Idea,
        "pieces": Piece,
        "posts": Post,
        "series": Series,
    }
    return {
        name: int(session.exec(select(func.count()).select_from(model)).one())
        for name, model in models.items()
    }


def load_content(path: Path = CONTENT_FILE) -> dict[str, Any]:
    """The demo texts and structure from `data/demo_content.json`."""
    content: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return content


def load_demo(
    session: Session, *, password: str | None = None, size: int = 0, now: datetime | None = None
) -> DemoResult:
    """Fill an empty database with the demo organisation and its editorial calendar.

    Every demo user gets `password`, or without one a random `secrets.token_urlsafe(9)`;
    the passwords are only returned, never written anywhere. Posts are planned on working
    days after `now` (default: the current time) at Berlin wall-clock times, so they all
    lie in the future. Services commit step by step: a failure half-way leaves a
    half-filled database, which a second run refuses, so start again from an empty one.

    `size` > 0 adds `size` generated posts, `size // 3` pieces and `size // 3` ideas for
    benchmarks, deterministically (`random.Random(42)`). These rows are bulk-inserted
    directly in one transaction, bypassing the services: they are valid (approved pieces
    carry an approver who wrote no revision, posts lie in the future on the demo channels,
    none on archived pieces; ideas come from each department's contributor, rejected ones
    with a reason, and most accepted ones became a generated piece). Each generated row
    gets one audit event like the service would write (idea "submit", piece "create",
    post "plan"), dated within the last 90 days, plus one summary event.

    Channels marked `"enabled": false` in the content file are disabled last (a disabled
    channel takes no new posts): their due posts are then held, never sent.
    """
    content = load_content()
    if password is not None:
        # Checked for every demo user first: a refusal half-way would leave a half-filled demo.
        for spec in content["users"]:
            problem = password_problem(
                password, username=spec["username"], display_name=spec.get("display_name") or ""
            )
            if problem is not None:
                raise ValidationFailed({"password": problem})
    if size < 0:
        raise ValidationFailed({"size": f"the number of generated posts is >= 0, not {size}"})
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValidationFailed({"now": f"{now.isoformat()!r} has no time zone"})
    existing = {name: n for name, n in count_rows(session).items() if n}
    if existing:
        found = ", ".join(f"{name}: {n}" for name, n in existing.items())
        raise ValidationFailed(
            {
                "database": "the demo needs an empty database, but this one already holds "
                f"data ({found}); load the demo into a new database"
            }
        )
    builder = _DemoBuilder(session, content, now)
    logins = builder.add_people(password)
    builder.add_channels()
    builder.add_audiences()
    builder.add_ideas()
    builder.add_standalone_pieces()
    if size:
        builder.bulk(size)
    disabled = builder.disable_channels()
    # The default publishing rules, last: the demo's own plan keeps to them.
    rules.load_default_rules(session, actor=builder.admin)
    return DemoResult(logins=tuple(logins), counts=count_rows(session), disabled_channels=disabled)


def _insert_with_ids(conn: Connection, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Insert `rows` in one multi-row statement and write each row's new id into it."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    ids = conn.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
    ).scalars()
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id


def _placeholder(name: str, content: Mapping[str, Any]) -> str:
    """The placeholder for a secret setting; a webhook address on the demo's own domain."""
    if name.endswith("_url"):
        return f"https://hooks.{content['email_domain']}/{PLACEHOLDER_CREDENTIAL}"
    return PLACEHOLDER_CREDENTIAL


class _DemoBuilder:
    """Walks the content file through the services, remembering what it created."""

    def __init__(self, session: Session, content: dict[str, Any], now: datetime) -> None:
        self.session = session
        self.content = content
        self.now = now
        self.tz_name: str = content["timezone"]
        self.today: date = now.astimezone(zone(self.tz_name)).date()
        self.users: dict[str, User] = {}
        self.contributors: dict[str, User] = {}
        self.channel_ids: dict[str, int] = {}
        self.idea_ids: dict[str, int] = {}

    # --- people and channels ------------------------------------------------------------

    def add_people(self, password: str | None) -> list[DemoLogin]:
        """The admin (with no actor, as the first account), the departments, everyone else."""
        first, *others = self.content["users"]
        if first["role"] != Role.admin or first.get("department"):
            raise ValueError("the first demo user must be an admin without a department")
        logins = [self._add_user(first, password, actor=None)]
        for name in self.content["departments"]:
            users.create_department(self.session, actor=self.admin, name=name)
        logins += [self._add_user(spec, password, actor=self.admin) for spec in others]
        return logins

    def _add_user(
        self, spec: dict[str, Any], password: str | None, *, actor: User | None
    ) -> DemoLogin:
        secret = password or secrets.token_urlsafe(9)
        while password is None and password_problem(
            secret, username=spec["username"], display_name=spec.get("display_name") or ""
        ):
            secret = secrets.token_urlsafe(9)  # by chance guessable (a name in it): another
        data: dict[str, object] = {
            "username": spec["username"],
            "display_name": spec["display_name"],
            "email": f"{spec['username']}@{self.content['email_domain']}",
            "role": spec["role"],
            "password": secret,
            "locale": spec.get("locale", "de"),
            "timezone": self.tz_name,
        }
        if spec.get("department"):
            data["department"] = spec["department"]
        user = users.create_user(self.session, actor=actor, data=data)
        self.users[user.username] = user
        if user.role == Role.contributor:
            self.contributors[spec["department"]] = user
        return DemoLogin(user.username, user.role, spec.get("department"), secret)

    @property
    def admin(self) -> User:
        """The demo admin, the actor for everything an admin sets up."""
        return next(u for u in self.users.values() if u.role == Role.admin)

    def add_channels(self) -> None:
        """One channel per entry, with its settings and a placeholder for each secret."""
        for spec in self.content["channels"]:
            settings = dict(spec.get("settings", {}))
            for setting in REGISTRY[spec["kind"]].settings_spec:
                if setting.secret and setting.required and setting.name not in settings:
                    settings[setting.name] = _placeholder(setting.name, self.content)
            channel = channels.create_channel(
                self.session,
                actor=self.admin,
                kind=spec["kind"],
                name=spec["name"],
                settings=settings,
                daily_cap=spec.get("daily_cap"),
            )
            assert channel.id is not None
            self.channel_ids[spec["key"]] = channel.id

    def add_audiences(self) -> None:
        """The target audiences with their channels and departments, and the channels'
        weekly publishing slots; ideas submitted later name the audiences."""
        names = {spec["key"]: spec["name"] for spec in self.content["channels"]}
        for spec in self.content.get("audiences", []):
            audiences.create_audience(
                self.session,
                actor=self.admin,
                name=spec["name"],
                description=spec.get("description", ""),
                channels=[names[key] for key in spec.get("channels", [])],
                departments=spec.get("departments", []),
            )
        for key, plan in self.content.get("slots", {}).items():
            slots.set_slot_plan(
                self.session, actor=self.admin, channel=self.channel_ids[key], slots=plan
            )

    def disable_channels(self) -> tuple[str, ...]:
        """Disable the channels the content marks `"enabled": false`; their names."""
        names = []
        for spec in self.content["channels"]:
            if spec.get("enabled", True) is False:
                channels.set_enabled(
                    self.session,
                    actor=self.admin,
                    ref=self.channel_ids[spec["key"]],
                    enabled=False,
                )
                names.append(spec["name"])
        return tuple(names)

    # --- ideas and pieces ----------------------------------------------------------------

    def add_ideas(self) -> None:
        """Submit every idea, then triage them: accept (and develop), reject or merge."""
        specs: list[dict[str, Any]] = self.content["ideas"]
        for spec in specs:
            submitter = (
                self.users[spec["submitter"]]
                if "submitter" in spec
                else self.contributors[spec["department"]]
            )
            data = {key: spec[key] for key in _IDEA_FIELDS if key in spec}
            if spec.get("source_url"):
                data["source_url"] = spec["source_url"]
            submission = ideas.submit_idea(self.session, actor=submitter, data=data)
            assert submission.idea.id is not None
            self.idea_ids[spec["key"]] = submission.idea.id
        default_editor = next(u for u in self.users.values() if u.role == Role.editor)
        for spec in specs:
            outcome = spec.get("outcome", "submitted")
            idea_id = self.idea_ids[spec["key"]]
            editor = self.users[spec["by"]] if "by" in spec else default_editor
            if outcome == "accepted":
                piece_spec = spec["piece"]
                owner = self.users[piece_spec["editor"]]
                piece = ideas.accept_idea(
                    self.session, actor=owner, idea_id=idea_id, note=spec.get("note", "")
                )
                self._develop(piece, piece_spec)
            elif outcome == "rejected":
                ideas.reject_idea(
                    self.session, actor=editor, idea_id=idea_id, reason=spec["reason"]
                )
            elif outcome == "merged":
                ideas.merge_idea(
                    self.session,
                    actor=editor,
                    idea_id=idea_id,
                    into_id=self.idea_ids[spec["into"]],
                    note=spec.get("note", ""),
                )
            elif outcome != "submitted":
                raise ValueError(f"unknown idea outcome {outcome!r} for {spec['key']!r}")

    def add_standalone_pieces(self) -> None:
        """Pieces an editor started without an idea, such as the weekly tip."""
        for spec in self.content["pieces"]:
            data: dict[str, Any] = {
                "title": spec["title"],
                "body": spec["body"],
                "campaign": spec.get("campaign", ""),
                "tags": spec.get("tags", []),
            }
            if "due_in_days" in spec:
                data["due_date"] = self.today + timedelta(days=spec["due_in_days"])
            piece = pieces.create_piece(self.session, actor=self.users[spec["editor"]], data=data)
            self._develop(piece, spec)

    def _develop(self, piece: Piece, spec: dict[str, Any]) -> None:
        """Write the piece, move it through its workflow steps, then plan its posts."""
        assert piece.id is not None
        editor = self.users[spec["editor"]]
        data: dict[str, Any] = {
            "body": spec["body"],
            "variants": self._variants(spec.get("variants", {})),
            "note": spec.get("edit_note", "erste Version mit Kanalvarianten"),
        }
        for key in ("title", "campaign", "tags"):
            if key in spec:
                data[key] = spec[key]
        if "due_in_days" in spec:
            data["due_date"] = self.today + timedelta(days=spec["due_in_days"])
        pieces.edit_piece(
            self.session,
            actor=editor,
            piece_id=piece.id,
            expected_revision=piece.revision,
            data=data,
        )
        for comment in spec.get("comments", []):
            pieces.add_comment(
                self.session,
                actor=self.users[comment["by"]],
                piece_id=piece.id,
                body=comment["text"],
            )
        for step in spec.get("steps", []):
            self._step(piece, spec, step, editor)
        if spec.get("posts"):
            self._plan(piece, spec["posts"], editor)
        if "series" in spec:
            self._series(piece, spec["series"], editor)

    def _step(self, piece: Piece, spec: dict[str, Any], step: str, editor: User) -> None:
        assert piece.id is not None
        session = self.session
        if step == "submit":
            pieces.submit_piece(session, actor=editor, piece_id=piece.id)
        elif step == "approve":
            pieces.approve_piece(
                session,
                actor=self.users[spec["approver"]],
                piece_id=piece.id,
                revision=piece.revision,
                note=spec.get("approval_note", ""),
            )
        elif step == "request_changes":
            pieces.request_changes(
                session,
                actor=self.users[spec.get("reviewer") or spec["approver"]],
                piece_id=piece.id,
                comment=spec["changes_comment"],
                revision=piece.revision,
            )
        elif step == "revise":
            pieces.revise_piece(session, actor=editor, piece_id=piece.id)
        elif step == "update":
            self._update(piece, spec["update"], editor)
        elif step == "archive":
            pieces.archive_piece(
                session, actor=editor, piece_id=piece.id, note=spec["archive_note"]
            )
        else:
            raise ValueError(f"unknown demo workflow step {step!r}")

    def _update(self, piece: Piece, update: dict[str, Any], editor: User) -> None:
        """Save a new revision with text replacements in the master text and variants."""
        assert piece.id is not None
        body = piece.body
        variants = {int(cid): text for cid, text in piece.variants.items()}
        for old, new in update["replace"]:
            if old not in body and not any(old in text for text in variants.values()):
                raise ValueError(f"demo update: {old!r} is not in piece {piece.title!r}")
            body = body.replace(old, new)
            variants = {cid: text.replace(old, new) for cid, text in variants.items()}
        pieces.edit_piece(
            self.session,
            actor=self.users[update["by"]] if "by" in update else editor,
            piece_id=piece.id,
            expected_revision=piece.revision,
            data={"body": body, "variants": variants, "note": update["note"]},
        )

    def _variants(self, by_key: dict[str, str]) -> dict[int, str]:
        return {self.channel_ids[key]: text for key, text in by_key.items()}

    # --- calendar ------------------------------------------------------------------------

    def _workday(self, n: int) -> date:
        """The n-th weekday (Monday to Friday) after today."""
        day, seen = self.today, 0
        while seen < n:
            day += timedelta(days=1)
            if day.weekday() < 5:
                seen += 1
        return day

    def _plan(self, piece: Piece, specs: list[dict[str, Any]], editor: User) -> None:
        assert piece.id is not None
        prepared = [
            planning.prepare_post(
                self.session,
                actor=editor,
                piece_id=piece.id,
                channel=self.channel_ids[spec["channel"]],
                when=datetime.combine(
                    self._workday(spec["workday"]), time.fromisoformat(spec["time"])
                ),
                tz_name=self.tz_name,
                now=self.now,
            )
            for spec in specs
        ]
        stored = planning.store_posts(self.session, actor=editor, posts=prepared)
        for post, spec in zip(stored, specs, strict=True):
            if "cancel" in spec:
                assert post.id is not None
                planning.cancel_post(
                    self.session, actor=editor, post_id=post.id, reason=spec["cancel"]
                )

    def _series(self, piece: Piece, spec: dict[str, Any], editor: User) -> None:
        assert piece.id is not None
        day = self.today + timedelta(days=1)
        while day.weekday() != _WEEKDAYS[spec["weekday"]]:
            day += timedelta(days=1)
        planning.create_series(
            self.session,
            actor=editor,
            piece_id=piece.id,
            channel=self.channel_ids[spec["channel"]],
            rule=spec["rule"],
            start=datetime.combine(day, time.fromisoformat(spec["time"])),
            tz_name=self.tz_name,
            now=self.now,
        )

    # --- benchmark volume ----------------------------------------------------------------

    def bulk(self, size: int) -> None:
        """Insert `size // 3` pieces and `size` posts directly, in one transaction.

        Core multi-row inserts on the session's connection: building ORM objects costs
        far more than the inserts themselves at benchmark volumes.
        """
        rng = random.Random(BULK_SEED)  # noqa: S311 - reproducible test data, not secrets
        parts: dict[str, Any] = self.content["bulk"]
        editors = [u.id for u in self.users.values() if u.role == Role.editor]
        approvers = [u.id for u in self.users.values() if u.role == Role.approver]
        channel_ids = sorted(self.channel_ids.values())
        stamp = utcnow()
        piece_rows: list[dict[str, Any]] = []
        for number in range(1, max(1, size // 3) + 1):
            # The first one is approved, so there is always a piece to plan posts for.
            status = (
                PieceStatus.approved
                if number == 1
                else rng.choices(_BULK_STATUSES, weights=_BULK_WEIGHTS)[0]
            )
            title = f"{rng.choice(parts['formats'])}: {rng.choice(parts['topics'])} (#{number})"
            tags = rng.sample(parts["hashtags"], k=2)
            teaser = f"{title} – {rng.choice(parts['paragraphs'])} {parts['link']} {' '.join(tags)}"
            approver = rng.choice(approvers) if status == PieceStatus.approved else None
            piece_rows.append(
                {
                    "idea_id": None,
                    "title": title,
                    "body": "\n\n".join(rng.sample(parts["paragraphs"], k=3)),
                    "variants": {
                        str(cid): teaser for cid in rng.sample(channel_ids, k=rng.randint(1, 3))
                    },
                    # Editors write, approvers approve: four-eyes holds for every row.
                    "owner_id": rng.choice(editors),
                    "due_date": self.today + timedelta(days=rng.randint(3, 90)),
                    "campaign": "Benchmark",
                    "tags": [t.lstrip("#") for t in tags],
                    "status": status,
                    "revision": 1,
                    "approved_revision": 1 if approver else None,
                    "approved_by_id": approver,
                    "approved_at": stamp if approver else None,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "version": 1,
                }
            )
        conn = self.session.connection()
        idea_rows = self._bulk_ideas(max(1, size // 3), stamp)
        _insert_with_ids(conn, Idea, idea_rows)
        accepted = [row["id"] for row in idea_rows if row["status"] == IdeaStatus.accepted]
        for piece, idea_id in zip(piece_rows, accepted, strict=False):
            piece["idea_id"] = idea_id
        _insert_with_ids(conn, Piece, piece_rows)
        conn.execute(
            insert(Revision.__table__),  # type: ignore[attr-defined]
            [
                {
                    "piece_id": row["id"],
                    "number": 1,
                    "title": row["title"],
                    "body": row["body"],
                    "variants": row["variants"],
                    "author_id": row["owner_id"],
                    "note": "generated for benchmarks",
                    "created_at": stamp,
                }
                for row in piece_rows
            ],
        )
        plannable = [row for row in piece_rows if row["status"] != PieceStatus.archived]
        post_rows: list[dict[str, Any]] = []
        for _ in range(size):
            row = rng.choice(plannable)
            day = self.today + timedelta(days=rng.randint(1, 120))
            while day.weekday() >= 5:
                day += timedelta(days=1)
            local = datetime.combine(day, rng.choice(_BULK_SLOTS))
            post_rows.append(
                {
                    "piece_id": row["id"],
                    "channel_id": int(rng.choice(list(row["variants"]))),
                    "series_id": None,
                    "occurrence_at": None,
                    "publish_at": to_utc(local, self.tz_name),
                    "timezone": self.tz_name,
                    "status": PostStatus.planned,
                    "media": [],
                    "attempts": 0,
                    # Random, not seeded: adapters send it to the channel to deduplicate.
                    "idempotency_key": uuid.uuid4().hex,
                    "version": 1,
                    "created_by_id": row["owner_id"],
                    "created_at": stamp,
                }
            )
        _insert_with_ids(conn, Post, post_rows)
        self._bulk_audit(conn, idea_rows, piece_rows, post_rows)
        audit.record(
            self.session,
            actor=self.admin,
            object_type="demo",
            object_id="bulk",
            action="generate",
            note=f"{len(idea_rows)} ideas, {len(piece_rows)} pieces and {size} posts "
            f"bulk-inserted for benchmarks (seed {BULK_SEED}; one audit event each)",
        )
        try:
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise

    def _bulk_ideas(self, count: int, stamp: datetime) -> list[dict[str, Any]]:
        """`count` generated idea rows from the departments' contributors.

        A random generator of their own, so the pieces and posts stay what they were.
        """
        rng = random.Random(BULK_SEED + 1)  # noqa: S311 - reproducible test data
        parts: dict[str, Any] = self.content["bulk"]
        departments = {
            d.name: d.id for d in self.session.exec(select(Department)) if d.id is not None
        }
        submitters = [
            (departments[name], user.id)
            for name, user in sorted(self.contributors.items())
            if user.id is not None
        ]
        rows: list[dict[str, Any]] = []
        for number in range(1, count + 1):
            status = rng.choices(_BULK_IDEA_STATUSES, weights=_BULK_IDEA_WEIGHTS)[0]
            department_id, submitter_id = rng.choice(submitters)
            topic = rng.choice(parts["topics"])
            rows.append(
                {
                    "title": f"{topic} (Idee #{number})",
                    "pitch": rng.choice(parts["paragraphs"]),
                    "department_id": department_id,
                    "submitted_by_id": submitter_id,
                    "target_audience": "",
                    "goal": "",
                    "source_url": None,
                    "urgency": rng.choice(list(Urgency)),
                    "tags": [t.lstrip("#") for t in rng.sample(parts["hashtags"], k=2)],
                    "status": status,
                    "rejection_reason": (
                        "passt nicht in den Redaktionsplan"
                        if status == IdeaStatus.rejected
                        else None
                    ),
                    "merged_into_id": None,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "version": 1,
                }
            )
        return rows

    def _bulk_audit(
        self,
        conn: Any,
        idea_rows: list[dict[str, Any]],
        piece_rows: list[dict[str, Any]],
        post_rows: list[dict[str, Any]],
    ) -> None:
        """One audit event per generated row, as the service would record it."""
        rng = random.Random(BULK_SEED + 2)  # noqa: S311 - reproducible test data
        names = {u.id: u.username for u in self.users.values()}
        now = utcnow()
        span = int(_BULK_HISTORY.total_seconds())
        kinds = (
            ("idea", "submit", "submitted_by_id", idea_rows),
            ("piece", "create", "owner_id", piece_rows),
            ("post", "plan", "created_by_id", post_rows),
        )
        events = [
            audit.event_row(
                at=now - timedelta(seconds=rng.randint(60, span)),
                actor_id=row[actor_key],
                actor_name=names[row[actor_key]],
                object_type=object_type,
                object_id=row["id"],
                action=action,
                from_state=None,
                to_state=str(row["status"]),
                version=1,
            )
            for object_type, action, actor_key, rows in kinds
            for row in rows
        ]
        events.sort(key=lambda e: e["at"])
        if events:
            audit.append(conn, events)
