"""The audit log's hash chain and the triggers that refuse REPLACE and TRUNCATE.

Tampering "behind the trigger's back" runs as the database owner, who may drop a trigger:
the chain still shows what changed.
"""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from planner import audit, csvio
from planner.db import make_engine
from planner.errors import PermissionDenied, ValidationFailed
from planner.migrate import alembic_config, upgrade
from planner.models import AuditEvent
from tests.conftest import World, utc


def _all_events(session: Session) -> list[AuditEvent]:
    """Every stored event in id order, read straight from the table (no user exists yet)."""
    return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all())


def event_ids(engine: Engine) -> list[int]:
    with Session(engine) as fresh:
        return [e.id or 0 for e in fresh.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def verify(world: World, **period: object) -> audit.ChainReport:
    world.session.rollback()
    return audit.verify(world.session, actor=world.admin, **period)  # type: ignore[arg-type]


@contextmanager
def trigger_lifted(engine: Engine, verb: str) -> Iterator[object]:
    """As the owner: drop the append-only trigger for `verb`, run the body, recreate it."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change"))
        else:
            conn.execute(text(f"DROP TRIGGER audit_events_no_{verb}"))
        yield conn
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change"))
        else:
            conn.execute(
                text(
                    f"CREATE TRIGGER audit_events_no_{verb} BEFORE {verb.upper()} ON audit_events "
                    "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
                )
            )


# --- the database refuses rewrites ----------------------------------------------------------


def test_replace_into_an_existing_event_is_refused(world: World, engine: Engine) -> None:
    before = [e.model_dump() for e in audit.list_events(world.session, actor=world.admin)]
    first = before[0]["id"]
    if engine.dialect.name == "sqlite":
        statements = [
            f"REPLACE INTO audit_events (id, at, actor_name, object_type, object_id, action, note)"
            f" SELECT id, at, 'mallory', object_type, object_id, action, 'rewritten'"
            f" FROM audit_events WHERE id = {first}",
            f"INSERT OR REPLACE INTO audit_events (id, at, actor_name, object_type, object_id,"
            f" action, note) VALUES ({first}, '2026-01-01 00:00:00', 'm', 'x', '1', 'x', '')",
        ]
    else:
        statements = [
            f"INSERT INTO audit_events (id, at, actor_name, object_type, object_id, action, note)"
            f" VALUES ({first}, now(), 'm', 'x', '1', 'x', '') ON CONFLICT (id) DO UPDATE"
            " SET note = 'rewritten', actor_name = 'mallory'"
        ]

    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))

    world.session.rollback()
    assert [e.model_dump() for e in audit.list_events(world.session, actor=world.admin)] == before


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # PostgreSQL: the chain shows it
def test_sqlite_refuses_to_fill_a_gap_before_the_newest_event(world: World, engine: Engine) -> None:
    ids = event_ids(engine)
    with trigger_lifted(engine, "delete") as conn:
        conn.execute(text(f"DELETE FROM audit_events WHERE id = {ids[2]}"))  # type: ignore[attr-defined]

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_events (id, at, actor_name, object_type, object_id, action,"
                f" note) VALUES ({ids[2]}, '2026-01-01 00:00:00', 'm', 'x', '1', 'x', '')"
            )
        )
    assert event_ids(engine) == ids[:2] + ids[3:]


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # SQLite has no TRUNCATE
@pytest.mark.parametrize(
    "statement",
    ["TRUNCATE audit_events", "TRUNCATE users CASCADE"],
    ids=["audit", "cascading-from-users"],
)
def test_truncate_is_refused_on_postgresql(world: World, engine: Engine, statement: str) -> None:
    before = event_ids(engine)

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))

    assert event_ids(engine) == before


# --- the chain ----------------------------------------------------------------------------


def test_every_way_of_writing_events_extends_one_intact_chain(world: World, engine: Engine) -> None:
    audit.record(world.session, actor=world.editor, object_type="piece", object_id=1, action="a")
    audit.record(world.session, actor=world.editor, object_type="piece", object_id=2, action="b")
    world.session.commit()
    with engine.begin() as conn:
        audit.append(
            conn,
            [
                audit.event_row(
                    actor_name="worker-1",
                    object_type="post",
                    object_id=n,
                    action="publish",
                    from_state="publishing",
                    to_state="published",
                    note="=SUM(A1) 'quoted' ünïcode",
                )
                for n in range(3)
            ],
        )

    events = audit.list_events(world.session, actor=world.admin)
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash is None
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    report = verify(world)
    assert report.intact and report.events == len(events)
    assert report.summary().startswith(f"{len(events)} events, chain intact")
    assert report.last_hash == events[-1].hash


def test_concurrent_writers_do_not_fork_the_chain(world: World, engine: Engine) -> None:
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(8):
                with Session(engine) as session:
                    audit.record(
                        session,
                        actor=None,
                        actor_name=f"worker-{worker}",
                        object_type="post",
                        object_id=n,
                        action="claim",
                    )
                    session.commit()
        except BaseException as err:  # noqa: BLE001 - any failure in a thread fails the test
            errors.append(err)

    count = len(event_ids(engine))
    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert len(event_ids(engine)) == count + 32
    assert verify(world).intact


def test_an_event_changed_behind_the_triggers_back_is_reported_at_its_id(
    world: World, engine: Engine
) -> None:
    ids = event_ids(engine)
    target = ids[3]
    with trigger_lifted(engine, "update") as conn:
        conn.execute(  # type: ignore[attr-defined]
            text(f"UPDATE audit_events SET actor_name = 'mallory' WHERE id = {target}")
        )

    report = verify(world)

    assert not report.intact and report.broken is not None
    assert (report.broken.event_id, report.broken.problem) == (target, "changed")
    assert report.events == 3
    assert f"event {target}" in report.summary()


def test_a_rehashed_event_breaks_the_link_of_the_next_one(world: World, engine: Engine) -> None:
    """Whoever recomputes a changed event's own hash still breaks the next event's link."""
    events = audit.list_events(world.session, actor=world.admin)
    target = events[2]
    forged = {**target.model_dump(), "note": "rewritten"}
    forged_hash = audit.event_hash(forged, target.prev_hash)
    with trigger_lifted(engine, "update") as conn:
        conn.execute(  # type: ignore[attr-defined]
            text("UPDATE audit_events SET note = 'rewritten', hash = :h WHERE id = :id"),
            {"h": forged_hash, "id": target.id},
        )

    broken = verify(world).broken

    assert broken is not None
    assert (broken.event_id, broken.problem) == (events[3].id, "broken link")


def test_a_deleted_event_is_reported_as_missing_at_its_id(world: World, engine: Engine) -> None:
    ids = event_ids(engine)
    with trigger_lifted(engine, "delete") as conn:
        conn.execute(text(f"DELETE FROM audit_events WHERE id = {ids[4]}"))  # type: ignore[attr-defined]

    broken = verify(world).broken

    assert broken is not None
    assert (broken.event_id, broken.problem) == (ids[4], "missing")
    assert f"event {ids[5]} links to an event that is not there" in broken.detail


def test_the_first_event_deleted_is_reported(world: World, engine: Engine) -> None:
    ids = event_ids(engine)
    with trigger_lifted(engine, "delete") as conn:
        conn.execute(text(f"DELETE FROM audit_events WHERE id = {ids[0]}"))  # type: ignore[attr-defined]

    broken = verify(world).broken

    assert broken is not None
    assert (broken.event_id, broken.problem) == (ids[1], "missing")


def test_an_event_inserted_without_the_chain_is_reported(world: World, engine: Engine) -> None:
    with engine.begin() as conn:
        next_id = max(event_ids(engine)) + 1
        conn.execute(
            text(
                "INSERT INTO audit_events (id, at, actor_name, object_type, object_id, action,"
                f" note) VALUES ({next_id}, :at, 'mallory', 'user', '1', 'login', '')"
            ),
            {"at": utc(2026, 1, 1).replace(tzinfo=None)},
        )

    broken = verify(world).broken

    assert broken is not None
    assert (broken.event_id, broken.problem) == (next_id, "unchained")


def test_a_chained_event_slipped_in_between_is_reported_as_inserted() -> None:
    first = {"id": 1, "at": utc(2026, 1, 1), "actor_name": "a", "action": "x", "note": ""}
    first["hash"] = audit.event_hash(first, None)
    forged = {**first, "id": 2, "actor_name": "mallory", "prev_hash": first["hash"]}
    forged["hash"] = audit.event_hash(forged, first["hash"])
    last = {**first, "id": 3, "prev_hash": first["hash"]}
    last["hash"] = audit.event_hash(last, first["hash"])

    broken = audit.verify_rows([first, forged, last]).broken

    assert broken is not None
    assert (broken.event_id, broken.problem) == (2, "inserted")


def test_a_period_is_verified_with_its_link_to_the_event_before(
    world: World, engine: Engine
) -> None:
    s = world.session
    for n, day in enumerate((2, 3, 4)):
        audit.record(
            s, actor=world.admin, object_type="piece", object_id=n, action="edit"
        ).at = utc(2030, 1, day, 12)
    s.commit()
    ids = event_ids(engine)

    assert verify(world, since=utc(2030, 1, 3), until=utc(2030, 1, 4)).events == 1
    with trigger_lifted(engine, "delete") as conn:
        conn.execute(text(f"DELETE FROM audit_events WHERE id = {ids[-3]}"))  # type: ignore[attr-defined]
    assert verify(world, since=utc(2030, 1, 4)).intact
    broken = verify(world, since=utc(2030, 1, 3)).broken
    assert broken is not None and (broken.event_id, broken.problem) == (ids[-3], "missing")


def test_only_admins_verify(world: World) -> None:
    for actor in (world.editor, world.approver, world.contributor):
        with pytest.raises(PermissionDenied):
            audit.verify(world.session, actor=actor)


# --- an exported period, on its own -----------------------------------------------------------


def _export(world: World) -> str:
    out = io.StringIO()
    csvio.export_audit(world.session, actor=world.admin, out=out)
    return out.getvalue()


def test_an_exported_period_verifies_on_its_own(world: World) -> None:
    audit.record(
        world.session,
        actor=world.admin,
        object_type="setting",
        object_id="x",
        action="change",
        from_state="",
        to_state="-5",
        note="=HYPERLINK('x')\n zweite Zeile; =1+1 ",
    )
    world.session.commit()
    exported = _export(world)

    report = csvio.verify_audit_file(exported)

    stored = audit.list_events(world.session, actor=world.admin)
    assert report.intact and report.events == len(stored)
    tail = "\n".join([exported.splitlines()[0], *exported.splitlines()[4:]])
    assert csvio.verify_audit_file(tail).intact  # a later period: its first link is taken


def test_an_edited_export_is_reported_at_the_edited_event(world: World) -> None:
    lines = _export(world).splitlines()
    lines[3] = lines[3].replace("admin", "mallory", 1)
    target = int(lines[3].split(",")[0])

    broken = csvio.verify_audit_file("\n".join(lines)).broken
    assert broken is not None and (broken.event_id, broken.problem) == (target, "changed")

    without = [*lines[:3], *lines[4:]]
    broken = csvio.verify_audit_file("\n".join(without)).broken
    assert broken is not None and (broken.event_id, broken.problem) == (target, "missing")


def test_a_file_without_hashes_is_refused_clearly() -> None:
    with pytest.raises(ValidationFailed, match="missing column"):
        csvio.verify_audit_file("id,at_utc,actor\n1,2026-01-01T00:00:00+00:00,a\n")


# --- migration ------------------------------------------------------------------------------


def test_the_migration_chains_events_stored_before_it(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0006")
    with engine.begin() as conn:
        for n in (1, 2, 3):
            conn.execute(
                text(
                    "INSERT INTO audit_events (at, actor_name, object_type, object_id, action,"
                    " note) VALUES (:at, 'ed', 'piece', :n, 'edit', 'vorher')"
                ),
                {"at": utc(2026, 11, n, 8).replace(tzinfo=None), "n": str(n)},
            )

    upgrade(engine)

    with Session(engine) as session:
        events = _all_events(session)
        assert all(e.hash for e in events) and events[0].prev_hash is None
        assert audit.verify_rows(e.model_dump() for e in events).intact
        audit.record(session, actor=None, object_type="piece", object_id=4, action="edit")
        session.commit()
        assert audit.verify_rows(e.model_dump() for e in _all_events(session)).events == 4
    engine.dispose()


def test_downgrading_0007_keeps_the_audit_log_append_only(tmp_path: Path) -> None:
    """SQLite rebuilds the table to drop the hash columns; the rebuilt one is protected too."""
    engine = make_engine(f"sqlite:///{tmp_path / 'down.db'}")
    upgrade(engine)
    with Session(engine) as session:
        audit.record(session, actor=None, object_type="piece", object_id=1, action="edit")
        session.commit()

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    for statement in ("UPDATE audit_events SET note = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))

    upgrade(engine)
    with Session(engine) as session:
        assert audit.verify_rows(e.model_dump() for e in _all_events(session)).events == 1
    engine.dispose()


# --- any single change, anywhere ------------------------------------------------------------


def _built_chain(notes: list[str]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    prev: str | None = None
    for n, note in enumerate(notes, start=1):
        row: dict[str, object] = {
            "id": n,
            "at": utc(2026, 1, 1, 8, 0, n % 60),
            "actor_id": n % 3 or None,
            "actor_name": f"user{n % 3}",
            "object_type": "piece",
            "object_id": str(n),
            "action": "edit",
            "from_state": "draft",
            "to_state": None,
            "version": n,
            "note": note,
            "prev_hash": prev,
        }
        row["hash"] = prev = audit.event_hash(row, prev)
        rows.append(row)
    return rows


@settings(max_examples=60, deadline=None)
@given(
    notes=st.lists(st.text(max_size=12), min_size=3, max_size=12),
    data=st.data(),
)
def test_any_changed_field_or_deleted_event_is_found_where_it_happened(
    notes: list[str], data: st.DataObject
) -> None:
    rows = _built_chain(notes)
    assert audit.verify_rows(rows).intact
    target = data.draw(st.integers(0, len(rows) - 1), label="event")
    field = data.draw(st.sampled_from(audit.CHAINED_FIELDS[1:]), label="field")
    changed = [dict(r) for r in rows]
    value = changed[target][field]
    changed[target][field] = (
        value + timedelta(microseconds=1)
        if isinstance(value, datetime)
        else (value or 0) + 1
        if isinstance(value, int) or field in ("actor_id", "version")
        else f"{value or ''}x"
    )

    broken = audit.verify_rows(changed).broken
    assert broken is not None and (broken.event_id, broken.problem) == (target + 1, "changed")

    if 0 < target < len(rows) - 1:
        broken = audit.verify_rows(rows[:target] + rows[target + 1 :]).broken
        assert broken is not None and (broken.event_id, broken.problem) == (target + 1, "missing")
