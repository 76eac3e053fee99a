"""The demo loader fills an empty database with every state, through the service functions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from argon2 import PasswordHasher
from sqlmodel import Session, col, func, select

from planner import channels, pieces, planning, rule_checks, rules, users
from planner.config import DATA_DIR
from planner.demo import PLACEHOLDER_CREDENTIAL, count_rows, load_content, load_demo
from planner.errors import ValidationFailed
from planner.models import (
    AuditEvent,
    Comment,
    Department,
    Idea,
    IdeaStatus,
    Piece,
    PieceStatus,
    Post,
    PostStatus,
    Role,
    Series,
    User,
)
from planner.timezones import to_local

# A Monday in March: the weekly series runs across the switch to summer time.
NOW = datetime(2030, 3, 18, 7, 30, tzinfo=UTC)
PASSWORD = "demo-" + uuid.uuid4().hex[:16]  # made per run: no credential in the code
DEPARTMENTS = {
    "Marketing",
    "Customer Care",
    "Sales",
    "Product Development",
    "Public Relations",
    "HR",
    "IT/Collaboration",
}
# `published` is reached only by the scheduler once a piece's posts are out.
WORKFLOW_STATES = set(PieceStatus) - {PieceStatus.published}


def _audit_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def test_demo_has_every_department_role_and_workflow_state(session: Session) -> None:
    result = load_demo(session, password=PASSWORD, now=NOW)

    assert {d.name for d in session.exec(select(Department))} == DEPARTMENTS
    accounts = list(session.exec(select(User)))
    assert {u.role for u in accounts} == set(Role)
    assert all(u.username == u.username.lower() for u in accounts)
    assert {u.locale for u in accounts} == {"de", "en"}
    contributors = [u for u in accounts if u.role == Role.contributor]
    assert len({u.department_id for u in contributors}) == len(DEPARTMENTS)

    all_ideas = list(session.exec(select(Idea)))
    assert {i.status for i in all_ideas} == set(IdeaStatus)
    assert all(i.rejection_reason for i in all_ideas if i.status == IdeaStatus.rejected)
    assert all(i.merged_into_id for i in all_ideas if i.status == IdeaStatus.merged)

    all_pieces = list(session.exec(select(Piece)))
    assert {p.status for p in all_pieces} == WORKFLOW_STATES
    for piece in all_pieces:
        assert piece.id is not None
        if piece.status == PieceStatus.approved:
            assert piece.approved_revision == piece.revision
            assert piece.approved_by_id not in pieces.authors(session, piece.id)
        if piece.status == PieceStatus.changes_requested:
            assert session.exec(select(Comment).where(Comment.piece_id == piece.id)).first()
    assert any(
        p.status == PieceStatus.in_review
        and p.approved_revision is not None
        and p.approved_revision < p.revision
        for p in all_pieces
    ), "one piece was edited after its approval"

    # Every idea and piece has its audit trail, as if people had clicked through.
    audited = set(
        session.exec(
            select(AuditEvent.object_type, AuditEvent.object_id).where(
                col(AuditEvent.object_type).in_(["idea", "piece"])
            )
        )
    )
    assert {("idea", str(i.id)) for i in all_ideas} <= audited
    assert {("piece", str(p.id)) for p in all_pieces} <= audited

    assert result.counts == count_rows(session)
    assert result.counts["ideas"] >= 30 and result.counts["channels"] >= 7
    assert len(result.logins) == len(accounts)
    assert {login.password for login in result.logins} == {PASSWORD}
    assert {login.department for login in result.logins} >= DEPARTMENTS


def test_demo_plans_future_posts_a_series_and_a_cancellation(session: Session) -> None:
    load_demo(session, password=PASSWORD, now=NOW)

    posts = list(session.exec(select(Post)))
    assert all(p.publish_at > NOW for p in posts)
    planned = [p for p in posts if p.status == PostStatus.planned]
    assert len({p.channel_id for p in planned}) >= 4
    assert all(to_local(p.publish_at, "Europe/Berlin").weekday() < 5 for p in posts)
    by_piece = {p.id: p for p in session.exec(select(Piece))}
    assert {by_piece[p.piece_id].status for p in planned} >= {
        PieceStatus.approved,
        PieceStatus.in_review,
        PieceStatus.draft,
    }
    assert [p.status for p in posts].count(PostStatus.cancelled) == 1

    series = session.exec(select(Series)).one()
    occurrences = [p for p in posts if p.series_id == series.id]
    assert len(occurrences) == 8
    local = [to_local(p.publish_at, series.timezone) for p in occurrences]
    assert {(t.weekday(), t.hour, t.minute) for t in local} == {(1, 10, 0)}


def test_second_load_is_refused_and_changes_nothing(session: Session) -> None:
    load_demo(session, password=PASSWORD, now=NOW)
    before, events = count_rows(session), _audit_count(session)

    with pytest.raises(ValidationFailed) as err:
        load_demo(session, password=PASSWORD, now=NOW)

    assert "empty database" in err.value.fields["database"]
    assert count_rows(session) == before
    assert _audit_count(session) == events


def test_demo_loads_the_default_rule_set(session: Session) -> None:
    load_demo(session, password=PASSWORD, now=NOW)
    shipped = yaml.safe_load((DATA_DIR / "rules" / "default.yaml").read_text(encoding="utf-8"))
    wanted = {entry["name"]: entry for entry in shipped["rules"]}
    assert wanted, "the default rule set names rules"
    admin = session.exec(select(User).where(User.role == Role.admin)).first()
    assert admin is not None

    loaded = {r.name: rules.spec_of(r).as_dict() for r in rules.list_rules(session, actor=admin)}

    # Every rule of the file as written there: kind, severity, scope, settings, messages.
    assert loaded == wanted


def test_the_demo_plan_keeps_to_the_default_rules_it_loads(session: Session) -> None:
    load_demo(session, password=PASSWORD, now=NOW)
    admin = session.exec(select(User).where(User.role == Role.admin)).first()
    assert admin is not None and rules.list_rules(session, actor=admin)
    entries = planning.calendar_entries(
        session, actor=admin, start=NOW, end=NOW + timedelta(days=120)
    )
    shown = session.exec(select(Post).where(Post.status != PostStatus.cancelled)).all()
    assert len(entries) == len(shown)

    # What the rules will say at claim of every planned post, whatever else holds it now
    # (the demo leaves its channels disabled): no rule the demo itself ships blocks one.
    verdicts = rule_checks.forecast_holds(session, [e.post for e in entries], now=NOW)

    blocked = {
        post_id: str(verdict.message)
        for post_id, verdict in verdicts.items()
        if verdict.message is not None
    }
    assert blocked == {}
    # The holds the calendar shows are those of the disabled channels, of pieces not yet
    # approved and of the piece the demo changes after its approval.
    assert {e.hold for e in entries if e.hold is not None} <= {
        planning.HoldReason.channel_disabled,
        planning.HoldReason.not_approved,
        planning.HoldReason.changed_after_approval,
    }


def test_random_passwords_each_sign_in_and_bulk_rows_are_valid(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Still a real Argon2id hash and verify per user, with the cheapest parameters: twelve
    # distinct passwords at full cost would take seconds.
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    result = load_demo(session, size=60, now=NOW)

    passwords = [login.password for login in result.logins]
    assert len(set(passwords)) == len(passwords)
    assert all(len(p) >= 10 for p in passwords)
    for login in result.logins:
        user = users.authenticate(session, username=login.username, password=login.password)
        assert user.role == login.role

    bulk = list(session.exec(select(Piece).where(Piece.campaign == "Benchmark")))
    assert len(bulk) == 20
    for piece in bulk:
        assert piece.id is not None and piece.variants
        assert piece.approved_by_id not in pieces.authors(session, piece.id)
    bulk_ids = {p.id for p in bulk}
    bulk_posts = [p for p in session.exec(select(Post)) if p.piece_id in bulk_ids]
    assert len(bulk_posts) == 60
    archived = {p.id for p in bulk if p.status == PieceStatus.archived}
    for post in bulk_posts:
        assert post.publish_at > NOW and post.status == PostStatus.planned
        assert post.piece_id not in archived


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"password": "short"}, "password", id="short-password"),
        pytest.param({"password": "Passwort2031!"}, "password", id="common-password"),
        pytest.param({"password": "nina schulz rocks"}, "password", id="a-demo-users-name"),
        pytest.param({"size": -1}, "size", id="negative-size"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    session: Session, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        load_demo(session, now=NOW, **kwargs)  # type: ignore[arg-type]

    assert field in err.value.fields
    assert not any(count_rows(session).values())


def test_existing_department_alone_blocks_the_demo(session: Session) -> None:
    users.create_department(session, actor=None, name="Marketing")

    with pytest.raises(ValidationFailed, match="departments: 1"):
        load_demo(session, password=PASSWORD, now=NOW)

    assert count_rows(session)["users"] == 0


def test_demo_channels_are_valid_and_only_offline_ones_may_send(session: Session) -> None:
    result = load_demo(session, password=PASSWORD, now=NOW)
    admin = session.exec(select(User).where(User.role == Role.admin)).first()
    assert admin is not None

    demo_channels = channels.list_channels(session, actor=admin)
    for channel in demo_channels:
        adapter = channels.build_adapter(channel)  # every setting is one its adapter knows
        for name in channels.secret_names(channel):
            # No real credential: the placeholder, or a webhook address on the demo domain.
            value = adapter.settings[name]
            assert value is None or value.endswith(PLACEHOLDER_CREDENTIAL), (channel.name, name)
            assert "://" not in (value or "") or ".example/" in value, (channel.name, name)
    enabled = [c for c in demo_channels if c.enabled]
    # The invented accounts stay disabled; what remains needs no network at all.
    assert [c.kind for c in enabled] == ["manual"]
    assert set(result.disabled_channels) == {c.name for c in demo_channels if not c.enabled}

    # Once every post is due: the disabled channels hold theirs, none for want of an adapter.
    later = NOW + timedelta(days=400)
    held = planning.held_posts(session, actor=admin, now=later)
    assert {h.reason for h in held} >= {planning.HoldReason.channel_disabled}
    assert planning.HoldReason.no_adapter not in {h.reason for h in held}
    due = planning.due_posts(session, now=later, limit=1000)
    assert due, "the XING posts of approved pieces go out (to the editor, by hand)"
    by_id = {c.id: c for c in demo_channels}
    assert {by_id[p.channel_id].kind for p in due} == {"manual"}


@pytest.mark.parametrize(("channel", "limit"), [("mastodon", 500), ("bluesky", 300)])
def test_short_channel_variants_fit_the_channel_limit(channel: str, limit: int) -> None:
    content = load_content()
    specs = [i["piece"] for i in content["ideas"] if "piece" in i] + content["pieces"]
    texts = [s["variants"][channel] for s in specs if channel in s.get("variants", {})]

    assert texts
    assert all(len(text) <= limit for text in texts)


def test_bulk_size_makes_that_many_posts_with_ideas_and_their_history(session: Session) -> None:
    load_demo(session, password=PASSWORD, size=300, now=NOW)

    bulk_pieces = {
        p.id: p for p in session.exec(select(Piece).where(Piece.campaign == "Benchmark"))
    }
    bulk_posts = [p for p in session.exec(select(Post)) if p.piece_id in bulk_pieces]
    bulk_ideas = list(session.exec(select(Idea).where(col(Idea.title).contains("(Idee #"))))
    assert (len(bulk_posts), len(bulk_pieces), len(bulk_ideas)) == (300, 100, 100)
    assert {i.status for i in bulk_ideas} == {
        IdeaStatus.submitted,
        IdeaStatus.rejected,
        IdeaStatus.accepted,
    }
    assert all(i.rejection_reason for i in bulk_ideas if i.status == IdeaStatus.rejected)
    contributors = {
        u.id: u for u in session.exec(select(User).where(User.role == Role.contributor))
    }
    assert all(contributors[i.submitted_by_id].department_id == i.department_id for i in bulk_ideas)
    linked = {p.idea_id for p in bulk_pieces.values() if p.idea_id is not None}
    assert linked and linked <= {i.id for i in bulk_ideas if i.status == IdeaStatus.accepted}

    # One audit event per generated idea, piece and post, by its author.
    events = {
        (e.object_type, e.object_id): e
        for e in session.exec(
            select(AuditEvent).where(col(AuditEvent.action).in_(["submit", "create", "plan"]))
        )
    }
    generated = (
        [("idea", i.id, i.submitted_by_id) for i in bulk_ideas]
        + [("piece", p.id, p.owner_id) for p in bulk_pieces.values()]
        + [("post", p.id, p.created_by_id) for p in bulk_posts]
    )
    for object_type, object_id, author in generated:
        event = events[object_type, str(object_id)]
        assert event.actor_id == author
