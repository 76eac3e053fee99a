"""Sign-in sessions: resume, idle timeout, absolute lifetime, sign-out, disable and password
change end them; the database holds only token hashes; grants are single-use."""

from __future__ import annotations

import time
from datetime import timedelta
from secrets import token_hex

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from planner import audit, sessions, users
from planner.config import load_settings
from planner.errors import ConfigurationError
from planner.models import UserSession
from tests.conftest import PASSWORD, World, utc

T0 = utc(2030, 1, 7, 9, 0)


@pytest.fixture(autouse=True)
def _timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANNER_SESSION_IDLE_MINUTES", "30")
    monkeypatch.setenv("PLANNER_SESSION_LIFETIME_HOURS", "8")


def test_a_token_resumes_its_user_until_signed_out(world: World, session: Session) -> None:
    token = sessions.start(session, user=world.editor, client="127.0.0.1 Chromium", now=T0)
    assert sessions.resume(session, token, now=T0 + timedelta(minutes=5)) == world.editor
    assert sessions.resume(session, "not-a-token", now=T0) is None
    assert sessions.resume(session, None, now=T0) is None

    assert sessions.end(session, token, now=T0 + timedelta(minutes=6)) is True
    assert sessions.resume(session, token, now=T0 + timedelta(minutes=7)) is None
    assert sessions.end(session, token) is False  # already ended
    (row,) = session.exec(select(UserSession)).all()
    assert (row.end_reason, row.ended_at, row.client) == (
        "sign_out",
        T0 + timedelta(minutes=6),
        "127.0.0.1 Chromium",
    )
    events = audit.list_events(session, actor=world.admin, object_type="session", object_id=row.id)
    assert [(e.action, e.actor_name, e.note) for e in events] == [
        ("start", "editor", "127.0.0.1 Chromium"),
        ("end", "editor", "sign_out"),
    ]


def test_use_keeps_a_session_alive_and_idleness_ends_it(world: World, session: Session) -> None:
    token = sessions.start(session, user=world.editor, now=T0)
    # Used every 20 minutes, the 30-minute idle timeout never passes.
    for minutes in (20, 40, 60):
        assert sessions.resume(session, token, now=T0 + timedelta(minutes=minutes))
    (row,) = session.exec(select(UserSession)).all()
    assert row.last_seen_at == T0 + timedelta(minutes=60)
    # Seen again within a minute: last_seen_at is not rewritten.
    assert sessions.resume(session, token, now=T0 + timedelta(minutes=60, seconds=30))
    session.refresh(row)
    assert row.last_seen_at == T0 + timedelta(minutes=60)

    assert sessions.resume(session, token, now=T0 + timedelta(minutes=91)) is None
    session.refresh(row)
    assert (row.end_reason, row.ended_at) == ("idle", T0 + timedelta(minutes=91))
    # Ended stays ended, even if asked at an earlier moment.
    assert sessions.resume(session, token, now=T0 + timedelta(minutes=61)) is None
    (end,) = [
        e
        for e in audit.list_events(session, actor=world.admin, object_type="session")
        if e.action == "end"
    ]
    assert (end.actor_name, end.note) == ("system", "idle")


def test_the_absolute_lifetime_ends_even_a_busy_session(world: World, session: Session) -> None:
    token = sessions.start(session, user=world.editor, now=T0)
    (row,) = session.exec(select(UserSession)).all()
    assert row.expires_at == T0 + timedelta(hours=8)
    moment = T0
    while moment < T0 + timedelta(hours=8) - timedelta(minutes=20):
        moment += timedelta(minutes=20)
        assert sessions.resume(session, token, now=moment) == world.editor
    assert sessions.resume(session, token, now=T0 + timedelta(hours=8)) is None
    session.refresh(row)
    assert row.end_reason == "expired"


def test_disabling_an_account_ends_every_session_of_it(world: World, session: Session) -> None:
    mine = [sessions.start(session, user=world.editor, now=T0) for _ in range(3)]
    other = sessions.start(session, user=world.approver, now=T0)
    users.set_disabled(session, actor=world.admin, username="editor")
    assert all(sessions.resume(session, t, now=T0) is None for t in mine)
    assert sessions.resume(session, other, now=T0) == world.approver
    ended = session.exec(select(UserSession).where(UserSession.user_id == world.editor.id)).all()
    assert {(r.end_reason, r.ended_at is not None) for r in ended} == {("disabled", True)}
    events = [
        e
        for e in audit.list_events(session, actor=world.admin, object_type="session")
        if e.action == "end"
    ]
    assert [(e.actor_name, e.note) for e in events] == [("admin", "disabled")] * 3
    # Enabling the account again does not bring the old sessions back.
    users.set_disabled(session, actor=world.admin, username="editor", disabled=False)
    assert all(sessions.resume(session, t, now=T0) is None for t in mine)


def test_a_disabled_user_is_not_resumed_even_if_a_session_was_left_open(
    world: World, session: Session
) -> None:
    token = sessions.start(session, user=world.editor, now=T0)
    world.editor.disabled = True  # disabled behind the planner's back, e.g. in SQL
    session.add(world.editor)
    session.commit()
    assert sessions.resume(session, token, now=T0) is None
    (row,) = session.exec(select(UserSession)).all()
    assert row.end_reason == "disabled"


def test_a_password_change_ends_the_other_sessions(world: World, session: Session) -> None:
    here = sessions.start(session, user=world.editor, now=T0)
    elsewhere = sessions.start(session, user=world.editor, now=T0)
    users.set_password(
        session,
        actor=world.editor,
        username="editor",
        password="new-" + token_hex(8),
        keep_session=here,
    )
    assert sessions.resume(session, here, now=T0) == world.editor
    assert sessions.resume(session, elsewhere, now=T0) is None
    # An admin's reset ends every session of the account.
    users.set_password(session, actor=world.admin, username="editor", password=PASSWORD)
    assert sessions.resume(session, here, now=T0) is None
    reasons = [r.end_reason for r in session.exec(select(UserSession).order_by(UserSession.id))]
    assert reasons == ["password", "password"]


def test_the_token_is_never_stored_in_clear(world: World, session: Session, engine: Engine) -> None:
    token = sessions.start(session, user=world.editor, client="browser", now=T0)
    with engine.connect() as conn:
        rows = [
            [str(value) for value in row]
            for table in ("user_sessions", "audit_events")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        ]
    assert rows
    assert not any(token in value for row in rows for value in row)
    (row,) = session.exec(select(UserSession)).all()
    assert row.token_hash == sessions.token_hash(token) and len(row.token_hash) == 64
    assert sessions.start(session, user=world.editor, now=T0) != token  # random every time


def test_a_grant_is_swapped_for_its_token_once() -> None:
    code = sessions.grant("the-token")
    assert code != "the-token"
    assert sessions.redeem(code) == "the-token"
    assert sessions.redeem(code) is None
    assert sessions.redeem("made-up") is None
    assert sessions.redeem("") is None


def test_a_grant_expires_after_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    code = sessions.grant("the-token")
    later = time.monotonic() + sessions.GRANT_SECONDS + 1
    monkeypatch.setattr(sessions.time, "monotonic", lambda: later)
    assert sessions.redeem(code) is None


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("PLANNER_SESSION_IDLE_MINUTES", "soon", "whole number"),
        ("PLANNER_SESSION_LIFETIME_HOURS", "0", "at least 1"),
        ("PLANNER_ALLOWED_HOSTS", "planner.example.com, http://x", "'http://x' is not a host"),
        ("PLANNER_COOKIE_SECURE", "maybe", "auto, on or off"),
    ],
)
def test_bad_session_settings_say_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=says):
        load_settings()


def test_allowed_hosts_default_and_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANNER_ALLOWED_HOSTS", raising=False)
    assert load_settings().allowed_hosts == ("localhost", "127.0.0.1")
    monkeypatch.setenv("PLANNER_ALLOWED_HOSTS", "Planner.Example.com, *.intern.example.com")
    assert load_settings().allowed_hosts == ("planner.example.com", "*.intern.example.com")


def test_a_session_ended_from_two_places_at_once_ends_once(
    world: World, session: Session, engine: Engine
) -> None:
    token = sessions.start(session, user=world.editor, now=T0)
    with Session(engine, expire_on_commit=False) as other_tab:
        # The other tab has read the session as open, just before this one signs out.
        seen_open = other_tab.exec(select(UserSession)).one()  # held: stays in its identity map
        assert seen_open.ended_at is None
        other_tab.commit()
        assert sessions.end(session, token, now=T0 + timedelta(minutes=1)) is True
        assert sessions.end(other_tab, token, now=T0 + timedelta(minutes=2)) is False
    (row,) = session.exec(select(UserSession)).all()
    session.refresh(row)
    assert row.ended_at == T0 + timedelta(minutes=1)
    ends = [
        e
        for e in audit.list_events(session, actor=world.admin, object_type="session")
        if e.action == "end"
    ]
    assert len(ends) == 1
