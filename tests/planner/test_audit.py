"""The audit trail is append-only; organisation settings are admin-only, validated, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, func, select

from planner import audit, ideas, org_settings
from planner.errors import PermissionDenied, ValidationFailed
from planner.models import AuditEvent, PieceStatus, Setting, utcnow
from tests.conftest import World, utc


def all_events(engine: Engine) -> list[dict[str, object]]:
    """Every audit event as another connection sees it."""
    with Session(engine) as fresh:
        return [e.model_dump() for e in fresh.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def _content(event: dict[str, object]) -> dict[str, object]:
    """An event without its place in the chain."""
    return {k: v for k, v in event.items() if k not in ("id", "prev_hash", "hash")}


def setting_events(engine: Engine, key: str) -> list[AuditEvent]:
    """The audit events about one setting, oldest first."""
    with Session(engine) as fresh:
        query = (
            select(AuditEvent)
            .where(AuditEvent.object_type == "setting", AuditEvent.object_id == key)
            .order_by(col(AuditEvent.id))
        )
        return list(fresh.exec(query))


@pytest.fixture(autouse=True)
def default_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The organisation zone defaults to Europe/Berlin unless the environment says otherwise."""
    monkeypatch.delenv("PLANNER_TIMEZONE", raising=False)


# --- append-only ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE audit_events SET note = 'tampered'", id="update-all"),
        pytest.param(
            "UPDATE audit_events SET to_state = 'x' WHERE id = (SELECT min(id) FROM audit_events)",
            id="update-one",
        ),
        pytest.param("DELETE FROM audit_events", id="delete-all"),
        pytest.param(
            "DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events)",
            id="delete-one",
        ),
    ],
)
def test_raw_change_to_audit_events_is_refused_by_the_database(
    world: World, engine: Engine, statement: str
) -> None:
    before = all_events(engine)
    assert before, "the world fixture writes audit events"

    with engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement))
        conn.rollback()

    assert all_events(engine) == before


def test_orm_change_to_an_audit_event_is_refused(world: World, engine: Engine) -> None:
    before = all_events(engine)
    s = world.session
    event = s.exec(select(AuditEvent).order_by(col(AuditEvent.id))).first()
    assert event is not None

    event.note = "rewritten history"
    s.add(event)
    with pytest.raises(DBAPIError, match="append-only"):
        s.commit()
    s.rollback()

    assert all_events(engine) == before


def test_new_audit_events_can_still_be_appended(world: World, engine: Engine) -> None:
    count = len(all_events(engine))

    audit.record(
        world.session, actor=world.editor, object_type="piece", object_id=7, action="comment"
    )
    world.session.commit()

    events = all_events(engine)
    assert len(events) == count + 1
    assert (events[-1]["object_id"], events[-1]["actor_name"]) == ("7", "editor")


def test_a_bulk_insert_of_event_rows_stores_what_record_stores(
    world: World, engine: Engine
) -> None:
    at = utc(2031, 5, 4, 3, 2, 1)
    audit.record(
        world.session,
        actor=world.editor,
        object_type="piece",
        object_id=7,
        action="publish",
        from_state=PieceStatus.approved,
        to_state=PieceStatus.published,
        version=3,
        note="all its posts are out",
    ).at = at
    world.session.commit()
    row = audit.event_row(
        actor_id=world.editor.id,
        actor_name="editor",
        object_type="piece",
        object_id=7,
        action="publish",
        from_state=PieceStatus.approved,
        to_state=PieceStatus.published,
        version=3,
        note="all its posts are out",
        at=at,
    )
    with engine.begin() as conn:
        audit.append(conn, [row])

    recorded, inserted = all_events(engine)[-2:]
    assert inserted["prev_hash"] == recorded["hash"]
    assert inserted["id"] == recorded["id"] + 1  # type: ignore[operator]
    assert _content(recorded) == _content(inserted)
    assert (inserted["object_id"], inserted["from_state"], inserted["to_state"]) == (
        "7",
        "approved",
        "published",
    )
    assert type(row["from_state"]) is str  # a plain value, also when JSON-encoded


def test_event_row_defaults_to_now_and_no_actor() -> None:
    row = audit.event_row(
        actor_name="worker-1",
        object_type="post",
        object_id=5,
        action="claim",
        from_state=None,
        to_state="publishing",
    )

    assert row["actor_id"] is None and row["version"] is None and row["note"] == ""
    assert abs((row["at"] - utcnow()).total_seconds()) < 60


def test_list_events_filters_by_object_and_half_open_time_range(world: World) -> None:
    s = world.session
    for note in ("one", "two"):
        audit.record(
            s, actor=world.editor, object_type="piece", object_id=7, action="edit", note=note
        )
    audit.record(s, actor=world.editor, object_type="piece", object_id=8, action="edit")
    s.commit()

    events = audit.list_events(s, actor=world.admin, object_type="piece", object_id=7)
    assert [e.note for e in events] == ["one", "two"]
    first = events[0].at
    assert (
        audit.list_events(s, actor=world.admin, object_type="piece", object_id=7, until=first) == []
    )
    assert [
        e.note for e in audit.list_events(s, actor=world.admin, object_id=7, since=first, limit=1)
    ] == ["one"]
    assert audit.list_events(s, actor=world.admin, since=utc(2999, 1, 1)) == []


# --- organisation settings ------------------------------------------------------------------


def test_setting_change_is_stored_and_audited_with_old_and_new_value(
    world: World, engine: Engine
) -> None:
    s = world.session
    assert org_settings.get_setting(s, "org_timezone") == "Europe/Berlin"

    org_settings.set_setting(s, actor=world.admin, key="org_timezone", value="Europe/Vienna")
    org_settings.set_setting(s, actor=world.admin, key="org_timezone", value=" Europe/London ")

    assert org_settings.get_setting(s, "org_timezone") == "Europe/London"
    with Session(engine) as fresh:
        row = fresh.get(Setting, "org_timezone")
        assert row is not None
        assert (row.value, row.updated_by_id) == ("Europe/London", world.admin.id)
    events = setting_events(engine, "org_timezone")
    assert [(e.action, e.from_state, e.to_state, e.actor_id) for e in events] == [
        ("change", "Europe/Berlin", "Europe/Vienna", world.admin.id),
        ("change", "Europe/Vienna", "Europe/London", world.admin.id),
    ]


def test_switch_setting_is_normalised_and_takes_effect(world: World, engine: Engine) -> None:
    s = world.session
    assert not org_settings.is_frozen(s)

    stored = org_settings.set_setting(s, actor=world.admin, key="publishing_frozen", value="Ja")

    assert stored == "on"
    assert org_settings.is_frozen(s)
    [event] = setting_events(engine, "publishing_frozen")
    assert (event.from_state, event.to_state) == ("off", "on")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        pytest.param("org_timezone", "Mars/Olympus_Mons", id="unknown-zone"),
        pytest.param("org_timezone", "", id="empty-zone"),
        pytest.param("default_language", "fr", id="unsupported-language"),
        pytest.param("max_lateness_hours", "soon", id="hours-not-a-number"),
        pytest.param("max_lateness_hours", "0", id="hours-zero"),
        pytest.param("publishing_frozen", "maybe", id="switch-not-on-or-off"),
    ],
)
def test_bad_setting_value_is_refused_naming_the_setting(
    world: World, engine: Engine, key: str, value: str
) -> None:
    before = org_settings.all_settings(world.session, actor=world.admin)

    with pytest.raises(ValidationFailed) as caught:
        org_settings.set_setting(world.session, actor=world.admin, key=key, value=value)

    assert set(caught.value.fields) == {key}
    assert org_settings.all_settings(world.session, actor=world.admin) == before
    assert setting_events(engine, key) == []


def test_unknown_setting_is_refused_listing_the_known_ones(world: World, engine: Engine) -> None:
    with pytest.raises(ValidationFailed) as caught:
        org_settings.set_setting(world.session, actor=world.admin, key="colour", value="blue")

    assert "org_timezone" in caught.value.fields["key"]
    with Session(engine) as fresh:
        assert fresh.exec(select(func.count()).select_from(Setting)).one() == 0


@pytest.mark.parametrize("actor_name", ["editor", "approver", "contributor"])
def test_only_admins_change_settings(world: World, engine: Engine, actor_name: str) -> None:
    actor = getattr(world, actor_name)

    with pytest.raises(PermissionDenied):
        org_settings.set_setting(world.session, actor=actor, key="publishing_frozen", value="on")

    assert not org_settings.is_frozen(world.session)
    assert setting_events(engine, "publishing_frozen") == []


# --- who reads what -------------------------------------------------------------------------


def _idea(world: World, actor_name: str, department: str) -> int:
    """A submitted idea's id."""
    result = ideas.submit_idea(
        world.session,
        actor=getattr(world, actor_name),
        data={
            "title": f"Idee {department}",
            "pitch": "Ein Beitrag für alle",
            "department": department,
        },
    )
    return result.idea.id or 0


def test_contributor_reads_own_actions_and_own_department_ideas_only(world: World) -> None:
    mine = _idea(world, "contributor", "Marketing")
    other = _idea(world, "hr_contributor", "HR")
    ideas.reject_idea(world.session, actor=world.editor, idea_id=mine, reason="passt nicht")
    ideas.reject_idea(world.session, actor=world.editor, idea_id=other, reason="passt nicht")

    seen = audit.visible_events(world.session, actor=world.contributor)

    assert seen
    for event in seen:
        assert event.actor_id == world.contributor.id or (
            event.object_type == "idea" and event.object_id == str(mine)
        )
    assert ("idea", str(mine), "reject") in {(e.object_type, e.object_id, e.action) for e in seen}
    assert str(other) not in {e.object_id for e in seen if e.object_type == "idea"}
    assert audit.count_visible_events(world.session, actor=world.contributor) == len(seen)
    assert "editor" in audit.filter_choices(world.session, actor=world.contributor).actors
    assert "admin" not in audit.filter_choices(world.session, actor=world.contributor).actors


def test_editors_read_everything_filtered_and_paged(world: World) -> None:
    everything = audit.visible_events(world.session, actor=world.editor)
    assert len(everything) == audit.count_visible_events(world.session, actor=world.admin)

    only = audit.EventFilter(actor_name="admin", object_type="user", action="create")
    created = audit.visible_events(world.session, actor=world.approver, filters=only)
    assert len(created) == 6  # the admin and five more accounts
    page = audit.visible_events(
        world.session, actor=world.editor, filters=only, offset=4, limit=4, newest_first=True
    )
    assert [e.id for e in page] == [e.id for e in reversed(created)][4:]
    assert audit.count_visible_events(world.session, actor=world.editor, filters=only) == 6
    later = audit.EventFilter(since=utc(2999, 1, 1))
    assert audit.visible_events(world.session, actor=world.editor, filters=later) == []


def test_a_disabled_account_reads_nothing(world: World) -> None:
    world.contributor.disabled = True

    with pytest.raises(PermissionDenied):
        audit.visible_events(world.session, actor=world.contributor)
