"""Accounts: Argon2 hashes, throttled sign-in, audited attempts, password rules, admin-only
management."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from secrets import token_hex
from typing import Any

import pytest
from argon2 import PasswordHasher, extract_parameters
from hypothesis import given
from hypothesis import strategies as hypothesis_st
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from planner import audit, ideas, throttle, users
from planner.errors import (
    AccountDisabled,
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    SignInThrottled,
    ValidationFailed,
)
from planner.models import AuditEvent, Role, SignInThrottle, User
from planner.passwords import common_passwords, password_problem
from tests.conftest import World, utc

ADMIN_PASSWORD = "root-" + token_hex(8)  # made per run: no credential lives in the code
ALICE_PASSWORD = "hers-" + token_hex(8)
WRONG_PASSWORD = "not-hers-" + token_hex(8)
NEW_PASSWORD = "brand-new-" + token_hex(8)
CLIENT = "203.0.113.7"
T0 = utc(2030, 1, 7, 9, 0)


def account(username: str, role: str, password: str, **extra: Any) -> dict[str, Any]:
    """Input for create_user."""
    return {
        "username": username,
        "display_name": username.title(),
        "role": role,
        "password": password,
        **extra,
    }


@pytest.fixture
def admin(session: Session) -> User:
    """The first account, an admin, plus a Marketing department."""
    user = users.create_user(session, actor=None, data=account("admin", "admin", ADMIN_PASSWORD))
    users.create_department(session, actor=user, name="Marketing")
    return user


@pytest.fixture
def alice(session: Session, admin: User) -> User:
    """An editor who signs in with ALICE_PASSWORD."""
    return users.create_user(session, actor=admin, data=account("alice", "editor", ALICE_PASSWORD))


def stored_user(engine: Engine, username: str) -> User:
    """The account as another connection sees it."""
    with Session(engine) as fresh:
        return fresh.exec(select(User).where(User.username == username)).one()


def user_count(engine: Engine) -> int:
    """How many accounts exist."""
    with Session(engine) as fresh:
        return fresh.exec(select(func.count()).select_from(User)).one()


def _an_admin(session: Session) -> User:
    admin = session.exec(select(User).where(User.role == Role.admin)).first()
    assert admin is not None
    return admin


def login_events(session: Session) -> list[AuditEvent]:
    """Every audit event about signing in, oldest first."""
    return [
        e
        for e in audit.list_events(session, actor=_an_admin(session), object_type="user")
        if e.action in ("login", "login_failed", "login_refused")
    ]


def sign_in(
    session: Session,
    password: str,
    at: Any = T0,
    username: str = "alice",
    client: str | None = CLIENT,
) -> User:
    """Try to sign in as `username` from `client` at the instant `at`."""
    return users.authenticate(session, username=username, password=password, client=client, now=at)


def fail(session: Session, at: Any, username: str = "alice", client: str | None = CLIENT) -> None:
    """One failed sign-in (a wrong password) that is not kept waiting."""
    with pytest.raises(AuthenticationFailed):
        sign_in(session, WRONG_PASSWORD, at=at, username=username, client=client)


def waits(session: Session, at: Any, username: str = "alice", client: str | None = CLIENT) -> int:
    """How many seconds a try with the right password is told to wait at `at`."""
    with pytest.raises(SignInThrottled) as caught:
        sign_in(session, ALICE_PASSWORD, at=at, username=username, client=client)
    return caught.value.seconds


def failures_until_waiting(
    session: Session, username: str, clients: Iterator[str | None], rounds: int
) -> list[int]:
    """Fail `rounds` times, each try as soon as allowed; the wait announced after each."""
    at, seen = T0, []
    for _ in range(rounds):
        client = next(clients)
        fail(session, at, username=username, client=client)
        wait = throttle.wait_for(session, username=username, client=client, now=at)
        seen.append(0 if wait is None else wait.seconds)
        at = at if wait is None else wait.until
    return seen


def throttle_row(engine: Engine, key: str | None) -> SignInThrottle | None:
    """The stored failure count of one key, as another connection sees it."""
    with Session(engine) as fresh:
        return fresh.get(SignInThrottle, key) if key is not None else None


def count_verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Let every Argon2 verification run as it does, noting the hash it was checked against
    (each one, not only the first of a pair, which the test run otherwise reuses)."""
    checked: list[str] = []
    real = PasswordHasher.verify
    monkeypatch.setattr(users, "_verify", getattr(users._verify, "__wrapped__", users._verify))

    def verify(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        checked.append(hash if isinstance(hash, str) else hash.decode())
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", verify)
    return checked


# --- hashing and signing in -----------------------------------------------------------------


def test_password_is_stored_as_an_argon2id_hash_not_as_plaintext(
    engine: Engine, alice: User
) -> None:
    stored = stored_user(engine, "alice").password_hash

    assert stored.startswith("$argon2id$")
    assert ALICE_PASSWORD not in stored
    assert PasswordHasher().verify(stored, ALICE_PASSWORD)


def test_right_password_signs_in(session: Session, alice: User) -> None:
    user = sign_in(session, ALICE_PASSWORD)

    assert user.id == alice.id
    assert login_events(session)[-1].action == "login"


def test_username_is_matched_case_insensitively(session: Session, alice: User) -> None:
    user = sign_in(session, ALICE_PASSWORD, username="  Alice ")

    assert user.id == alice.id


def test_wrong_password_is_refused_and_counted_for_the_account_and_the_client(
    session: Session, engine: Engine, alice: User
) -> None:
    fail(session, T0)

    for key in (throttle.account_key("alice"), throttle.client_key(CLIENT)):
        row = throttle_row(engine, key)
        assert row is not None and row.failures == 1 and row.blocked_until is None
    assert login_events(session)[-1].action == "login_failed"


def test_unknown_user_gets_the_same_error_as_a_wrong_password(
    session: Session, alice: User
) -> None:
    with pytest.raises(AuthenticationFailed) as wrong_password:
        sign_in(session, WRONG_PASSWORD)
    with pytest.raises(AuthenticationFailed) as unknown_user:
        sign_in(session, ALICE_PASSWORD, username="mallory")

    assert type(unknown_user.value) is type(wrong_password.value)
    assert str(unknown_user.value) == str(wrong_password.value)
    assert "mallory" not in str(unknown_user.value)


@pytest.mark.parametrize("typed", ["al\x00ice", "a" * 300, "\udcff"])
def test_a_name_no_account_can_have_is_an_ordinary_failed_sign_in(
    session: Session, alice: User, typed: str
) -> None:
    """A NUL byte (which PostgreSQL cannot compare), an over-long name or a lone surrogate in
    the username field is answered like any unknown name, not with a database error."""
    with pytest.raises(AuthenticationFailed):
        sign_in(session, ALICE_PASSWORD, username=typed)
    with pytest.raises(NotFound):
        users.get_user(session, typed)


def test_an_unknown_name_costs_one_real_argon2_verification_like_a_known_one(
    session: Session, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = count_verifications(monkeypatch)

    fail(session, T0, username="alice")
    fail(session, T0, username="mallory")

    assert checked == [alice.password_hash, users.dummy_hash()]
    assert extract_parameters(users.dummy_hash()) == extract_parameters(alice.password_hash)


# --- throttling -------------------------------------------------------------------------------


def test_failures_for_a_name_make_its_next_tries_wait_growing_but_capped_times(
    session: Session, alice: User
) -> None:
    clients = (f"198.51.100.{n}" for n in range(1, 200))  # a different client every time

    seen = failures_until_waiting(session, "alice", clients, 12)

    assert seen == [0, 0, 0, 0, 1, 2, 4, 8, 16, 30, 30, 30]
    assert timedelta(seconds=max(seen)) == throttle.ACCOUNT_MAX_DELAY


def test_a_wait_is_the_same_for_an_unknown_name_so_it_tells_nothing(
    session: Session, alice: User
) -> None:
    def answers(username: str) -> tuple[list[int], str]:
        clients = (f"198.51.100.{n}" for n in range(1, 200))
        seen = failures_until_waiting(session, username, clients, 7)
        with pytest.raises(SignInThrottled) as caught:
            sign_in(session, ALICE_PASSWORD, at=T0, username=username, client="192.0.2.1")
        return seen, str(caught.value)

    assert answers("mallory") == answers("alice")


def test_a_try_during_a_wait_is_refused_before_any_password_is_checked_and_not_counted(
    session: Session, engine: Engine, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(5):
        fail(session, T0)
    before = throttle_row(engine, throttle.account_key("alice"))
    checked = count_verifications(monkeypatch)

    for _ in range(20):
        assert waits(session, T0) == 1

    assert checked == []
    after = throttle_row(engine, throttle.account_key("alice"))
    assert before is not None and after is not None
    assert (after.failures, after.blocked_until) == (before.failures, before.blocked_until)
    assert login_events(session)[-1].action == "login_refused"


def test_after_the_wait_the_right_password_works_and_the_account_count_is_forgotten(
    session: Session, engine: Engine, alice: User
) -> None:
    for _ in range(5):
        fail(session, T0)
    assert waits(session, T0) == 1

    user = sign_in(session, ALICE_PASSWORD, at=T0 + timedelta(seconds=1))

    assert user.id == alice.id
    assert throttle_row(engine, throttle.account_key("alice")) is None
    fail(session, T0 + timedelta(seconds=2), client="192.0.2.1")  # a fresh count: no wait


def test_a_client_that_keeps_failing_waits_ever_longer_while_the_owner_gets_in_elsewhere(
    session: Session, engine: Engine, alice: User
) -> None:
    attacker = (CLIENT for _ in range(100))

    seen = failures_until_waiting(session, "alice", attacker, 15)

    assert seen == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900]
    account = throttle_row(engine, throttle.account_key("alice"))
    assert account is not None and account.blocked_until and account.last_failure_at
    assert account.blocked_until - account.last_failure_at == throttle.ACCOUNT_MAX_DELAY
    at = account.blocked_until  # the account's short wait is over, the client's is not
    assert waits(session, at, client=CLIENT) == 900 - 30
    assert sign_in(session, ALICE_PASSWORD, at=at, client="192.0.2.1").id == alice.id


def test_a_client_trying_many_names_waits_up_to_the_configured_longest_wait(
    session: Session, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_LOCKOUT_MINUTES", "5")
    at, seen = T0, []
    for n in range(16):
        fail(session, at, username=f"guess{n}")  # every name new: only the client counts
        wait = throttle.wait_for(session, username=f"guess{n + 1}", client=CLIENT, now=at)
        seen.append(0 if wait is None else wait.seconds)
        at = at if wait is None else wait.until

    assert seen == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    assert sign_in(session, ALICE_PASSWORD, at=at - timedelta(seconds=1), client=None).id


def test_the_number_of_failures_before_waiting_is_configurable(
    session: Session, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_MAX_LOGIN_FAILURES", "2")
    fail(session, T0)
    fail(session, T0)

    assert waits(session, T0) == 1


def test_an_ipv6_client_is_counted_by_its_network(session: Session, alice: User) -> None:
    assert throttle.client_key("2001:db8:1:2::1") == throttle.client_key("2001:db8:1:2:ffff::9")
    assert throttle.client_key("2001:db8:1:2::1") != throttle.client_key("2001:db8:1:3::1")
    assert throttle.client_key("::ffff:192.0.2.1") == throttle.client_key("192.0.2.1")
    assert throttle.client_key(None) is None
    assert throttle.client_key("192.0.2.1") != throttle.client_key("192.0.2.2")


def test_admin_password_reset_forgets_the_account_failures(
    session: Session, engine: Engine, admin: User, alice: User
) -> None:
    for _ in range(5):
        fail(session, T0)

    users.set_password(session, actor=admin, username="alice", password=NEW_PASSWORD)

    assert sign_in(session, NEW_PASSWORD, at=T0, client=None).id == alice.id
    assert throttle_row(engine, throttle.account_key("alice")) is None


def test_admin_unlocks_an_account_and_a_client_and_it_is_audited(
    session: Session, engine: Engine, admin: User, alice: User
) -> None:
    for _ in range(5):
        fail(session, T0)
    assert waits(session, T0) == 1

    assert users.unlock(session, actor=admin, username="alice") is True
    assert waits(session, T0) == 1  # the client still waits
    assert users.unlock(session, actor=admin, username="alice", client=CLIENT) is True

    assert sign_in(session, ALICE_PASSWORD, at=T0).id == alice.id
    assert throttle_row(engine, throttle.client_key(CLIENT)) is None
    unlocks = [
        e
        for e in audit.list_events(session, actor=admin, object_type="user")
        if e.action == "unlock"
    ]
    assert [(e.actor_id, e.object_id) for e in unlocks] == [(admin.id, str(alice.id))] * 2


def test_only_admins_unlock(session: Session, engine: Engine, admin: User, alice: User) -> None:
    for _ in range(5):
        fail(session, T0, username="admin")

    with pytest.raises(PermissionDenied):
        users.unlock(session, actor=alice, username="admin")

    assert throttle_row(engine, throttle.account_key("admin")) is not None


# --- disabled accounts and the audit trail ---------------------------------------------------


def test_disabled_account_is_refused_with_the_right_password(
    session: Session, admin: User, alice: User
) -> None:
    users.set_disabled(session, actor=admin, username="alice")

    with pytest.raises(AccountDisabled):
        sign_in(session, ALICE_PASSWORD)

    assert login_events(session)[-1].action == "login_refused"


def test_enabled_again_account_signs_in(session: Session, admin: User, alice: User) -> None:
    users.set_disabled(session, actor=admin, username="alice")
    users.set_disabled(session, actor=admin, username="alice", disabled=False)

    assert sign_in(session, ALICE_PASSWORD).id == alice.id


def test_every_sign_in_attempt_is_audited_and_no_password_or_unknown_name_is_written(
    session: Session, engine: Engine, admin: User, alice: User, caplog: pytest.LogCaptureFixture
) -> None:
    typed_name = "Sommersonne#2031"  # a password typed into the username field
    attempts: list[tuple[str, str, type[Exception] | None]] = [
        ("alice", ALICE_PASSWORD, None),
        ("alice", WRONG_PASSWORD, AuthenticationFailed),
        (typed_name, "nobody's password", AuthenticationFailed),
        *[("alice", f"guess number {n}", AuthenticationFailed) for n in range(3)],
        ("alice", ALICE_PASSWORD, SignInThrottled),  # the client waits after five failures
        (typed_name, "nobody's password", SignInThrottled),  # whatever name it tries
    ]
    caplog.set_level(logging.DEBUG, logger="planner")
    for username, password, error in attempts:
        before = len(login_events(session))
        if error is None:
            sign_in(session, password, username=username)
        else:
            with pytest.raises(error):
                sign_in(session, password, username=username)
        assert len(login_events(session)) == before + 1, (username, password)

    actions = [e.action for e in login_events(session)]
    assert actions == ["login"] + ["login_failed"] * 5 + ["login_refused"] * 2
    with Session(engine) as fresh:
        every_event = fresh.exec(select(AuditEvent)).all()
        throttle_keys = [row.key for row in fresh.exec(select(SignInThrottle))]
    written = " ".join(str(e.model_dump()) for e in every_event) + " ".join(throttle_keys)
    written += " ".join(r.getMessage() for r in caplog.records)
    for _username, password, _error in attempts:
        assert password not in written
    assert ADMIN_PASSWORD not in written
    assert typed_name.lower() not in written.lower()
    assert CLIENT not in written
    unknown = [e for e in every_event if e.actor_id is None and e.action.startswith("login")]
    assert {e.object_id for e in unknown} == {users.UNKNOWN_USER_MARKER}


# --- managing accounts ----------------------------------------------------------------------


def test_first_account_must_be_an_admin(session: Session, engine: Engine) -> None:
    with pytest.raises(ValidationFailed) as caught:
        users.create_user(session, actor=None, data=account("eve", "editor", ALICE_PASSWORD))

    assert set(caught.value.fields) == {"role"}
    assert user_count(engine) == 0


def test_after_the_first_account_an_admin_must_add_users(
    session: Session, engine: Engine, admin: User
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        users.create_user(session, actor=None, data=account("eve", "admin", ALICE_PASSWORD))

    assert set(caught.value.fields) == {"actor"}
    assert user_count(engine) == 1


@pytest.mark.parametrize("role", [Role.contributor, Role.editor, Role.approver])
def test_only_admins_manage_users(
    session: Session, engine: Engine, admin: User, alice: User, role: Role
) -> None:
    extra = {"department": "Marketing"} if role == Role.contributor else {}
    actor = users.create_user(
        session, actor=admin, data=account("someone", role.value, ALICE_PASSWORD, **extra)
    )
    count = user_count(engine)

    with pytest.raises(PermissionDenied):
        users.create_user(session, actor=actor, data=account("eve", "admin", ALICE_PASSWORD))
    with pytest.raises(PermissionDenied):
        users.list_users(session, actor=actor)
    with pytest.raises(PermissionDenied):
        users.set_disabled(session, actor=actor, username="alice")
    with pytest.raises(PermissionDenied):
        users.set_password(session, actor=actor, username="alice", password="hijacked password")
    with pytest.raises(PermissionDenied):
        users.create_department(session, actor=actor, name="Sales")

    assert user_count(engine) == count
    assert not stored_user(engine, "alice").disabled
    assert sign_in(session, ALICE_PASSWORD).id == alice.id


def test_admin_lists_and_adds_users(session: Session, admin: User, alice: User) -> None:
    users.create_user(session, actor=admin, data=account("bob", "approver", ALICE_PASSWORD))

    names = [u.username for u in users.list_users(session, actor=admin)]

    assert names == ["admin", "alice", "bob"]


def test_user_changes_their_own_password(session: Session, alice: User) -> None:
    users.set_password(session, actor=alice, username="alice", password=NEW_PASSWORD)

    assert sign_in(session, NEW_PASSWORD).id == alice.id
    with pytest.raises(AuthenticationFailed):
        sign_in(session, ALICE_PASSWORD)


def test_a_disabled_account_cannot_change_its_own_password(
    session: Session, admin: User, alice: User
) -> None:
    users.set_disabled(session, actor=admin, username="alice")
    with pytest.raises(PermissionDenied, match="disabled"):
        users.set_password(session, actor=alice, username="alice", password=NEW_PASSWORD)
    users.set_disabled(session, actor=admin, username="alice", disabled=False)
    assert sign_in(session, ALICE_PASSWORD).id == alice.id  # the old one still holds


def test_admin_cannot_disable_their_own_account(session: Session, admin: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        users.set_disabled(session, actor=admin, username="admin")

    assert set(caught.value.fields) == {"username"}


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        pytest.param(
            account("Has Space", "editor", ALICE_PASSWORD), {"username"}, id="username-space"
        ),
        pytest.param(account("x", "editor", ALICE_PASSWORD), {"username"}, id="username-short"),
        pytest.param(
            account("-dash", "editor", ALICE_PASSWORD), {"username"}, id="username-leading-dash"
        ),
        pytest.param(account("alice", "editor", ALICE_PASSWORD), {"username"}, id="username-taken"),
        pytest.param(account("bob", "editor", "short"), {"password"}, id="password-short"),
        pytest.param(
            account("Bad Name", "editor", "short"), {"username", "password"}, id="both-wrong"
        ),
        pytest.param(account("bob", "boss", ALICE_PASSWORD), {"role"}, id="role-unknown"),
        pytest.param(
            account("bob", "contributor", ALICE_PASSWORD), {"department"}, id="no-department"
        ),
        pytest.param(
            account("bob", "contributor", ALICE_PASSWORD, department="Sales"),
            {"department"},
            id="department-unknown",
        ),
        pytest.param(
            account("bob", "editor", ALICE_PASSWORD, email="bob-at-example"),
            {"email"},
            id="email-malformed",
        ),
        pytest.param(
            account("bob", "editor", ALICE_PASSWORD, locale="fr"), {"locale"}, id="locale"
        ),
    ],
)
def test_bad_account_input_names_the_fields_at_fault(
    session: Session, engine: Engine, admin: User, alice: User, data: Any, fields: set[str]
) -> None:
    count = user_count(engine)

    with pytest.raises(ValidationFailed) as caught:
        users.create_user(session, actor=admin, data=data)

    assert set(caught.value.fields) == fields
    assert user_count(engine) == count


def test_short_new_password_is_refused_and_the_old_one_still_works(
    session: Session, alice: User
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        users.set_password(session, actor=alice, username="alice", password="short")

    assert set(caught.value.fields) == {"password"}
    assert sign_in(session, ALICE_PASSWORD).id == alice.id


# --- roles and departments ------------------------------------------------------------------


def role_events(engine: Engine, user_id: int) -> list[tuple[str | None, str | None]]:
    """The role changes audited for one account."""
    with Session(engine) as fresh:
        query = select(AuditEvent).where(
            AuditEvent.object_type == "user",
            AuditEvent.object_id == str(user_id),
            AuditEvent.action == "change_role",
        )
        return [(e.from_state, e.to_state) for e in fresh.exec(query)]


def test_admin_changes_a_role_and_the_change_is_audited(
    session: Session, engine: Engine, admin: User, alice: User
) -> None:
    users.change_role(session, actor=admin, username="alice", role="approver")

    assert stored_user(engine, "alice").role == Role.approver
    assert role_events(engine, alice.id or 0) == [("editor", "approver")]


def test_a_new_contributor_role_needs_a_department(
    session: Session, engine: Engine, admin: User, alice: User
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        users.change_role(session, actor=admin, username="alice", role="contributor")
    assert set(caught.value.fields) == {"department"}
    assert stored_user(engine, "alice").role == Role.editor

    users.change_role(
        session, actor=admin, username="alice", role="contributor", department="marketing"
    )
    stored = stored_user(engine, "alice")
    assert stored.role == Role.contributor
    assert stored.department_id == users.get_department(session, "Marketing").id


@pytest.mark.parametrize(
    ("username", "role", "field"),
    [
        pytest.param("admin", "editor", "role", id="own-role"),
        pytest.param("alice", "chief", "role", id="unknown-role"),
    ],
)
def test_bad_role_change_is_refused_naming_the_field(
    session: Session, engine: Engine, admin: User, alice: User, username: str, role: str, field: str
) -> None:
    before = stored_user(engine, username).role

    with pytest.raises(ValidationFailed) as caught:
        users.change_role(session, actor=admin, username=username, role=role)

    assert set(caught.value.fields) == {field}
    assert stored_user(engine, username).role == before


def test_only_admins_change_roles_and_departments(
    session: Session, engine: Engine, admin: User, alice: User
) -> None:
    with pytest.raises(PermissionDenied):
        users.change_role(session, actor=alice, username="alice", role="admin")
    with pytest.raises(PermissionDenied):
        users.rename_department(session, actor=alice, name="Marketing", new_name="Sales")

    assert stored_user(engine, "alice").role == Role.editor
    assert [d.name for d in users.list_departments(session, actor=admin)] == ["Marketing"]


def test_department_is_renamed_and_audited(session: Session, engine: Engine, admin: User) -> None:
    users.rename_department(session, actor=admin, name="marketing", new_name=" Brand ")

    assert [d.name for d in users.list_departments(session, actor=admin)] == ["Brand"]
    with Session(engine) as fresh:
        event = fresh.exec(select(AuditEvent).where(AuditEvent.action == "rename")).one()
    assert (event.object_type, event.from_state, event.to_state) == (
        "department",
        "Marketing",
        "Brand",
    )


@pytest.mark.parametrize(
    "new_name",
    [pytest.param("HR", id="taken"), pytest.param("hr", id="taken-other-case"), pytest.param("x")],
)
def test_department_rename_to_a_taken_or_short_name_is_refused(
    session: Session, admin: User, new_name: str
) -> None:
    users.create_department(session, actor=admin, name="HR")

    with pytest.raises(ValidationFailed) as caught:
        users.rename_department(session, actor=admin, name="Marketing", new_name=new_name)

    assert set(caught.value.fields) == {"new_name"}
    assert [d.name for d in users.list_departments(session, actor=admin)] == [
        "HR",
        "Marketing",
    ]


def test_department_overview_counts_users_and_ideas(session: Session, admin: User) -> None:
    users.create_department(session, actor=admin, name="HR")
    lena = users.create_user(
        session,
        actor=admin,
        data=account("lena", "contributor", ALICE_PASSWORD, department="Marketing"),
    )
    for title in ("Messe 2031", "Kundentag 2031"):
        ideas.submit_idea(
            session,
            actor=lena,
            data={"title": title, "pitch": "Ein Beitrag über den Tag", "department": "Marketing"},
        )

    overview = [
        (c.department.name, c.users, c.ideas)
        for c in users.department_overview(session, actor=admin)
    ]

    assert overview == [("HR", 0, 0), ("Marketing", 1, 2)]


# --- password rules -------------------------------------------------------------------------

WEAK_PASSWORDS = [
    pytest.param("aaaaaaaaaa", "password_pattern", id="one-letter"),
    pytest.param("abcabcabcabc", "password_pattern", id="repeated-piece"),
    pytest.param("1234567890", "password_common", id="digits-in-a-row"),
    pytest.param("hijklmnopqr", "password_pattern", id="letters-in-a-row"),
    pytest.param("lkjhgfdsapo", "password_pattern", id="keyboard-row-backwards"),
    pytest.param("zzzzzzzz12!", "password_pattern", id="repeated-with-digits"),
    pytest.param("passwort1234", "password_common", id="passwort1234"),
    pytest.param("Passwort2031!", "password_common", id="common-with-year"),
    pytest.param("P@ssw0rd12345", "password_common", id="letter-swaps"),
    pytest.param("qwertz123456", "password_common", id="qwertz"),
    pytest.param("!!Sommer2031", "password_common", id="season"),
    pytest.param("ich liebe dich 1", "password_common", id="spaces"),
    pytest.param("hello alice, this is me", "password_has_name", id="username"),
    pytest.param("Wonderland forever", "password_has_name", id="display-name-part"),
    pytest.param("x" * 9 + "y" * 248, "too_long", id="257-characters"),
    pytest.param("too short", "too_short", id="nine-characters"),
]


@pytest.mark.parametrize(("password", "code"), WEAK_PASSWORDS)
def test_a_guessable_or_too_long_password_is_refused_and_the_old_one_still_works(
    session: Session, admin: User, alice: User, password: str, code: str
) -> None:
    alice.display_name = "Alice Wonderland"
    session.add(alice)
    session.commit()

    with pytest.raises(ValidationFailed) as caught:
        users.set_password(session, actor=admin, username="alice", password=password)

    assert set(caught.value.fields) == {"password"}
    assert caught.value.fields["password"].code == code  # type: ignore[attr-defined]
    assert sign_in(session, ALICE_PASSWORD).id == alice.id


@pytest.mark.parametrize(("password", "code"), WEAK_PASSWORDS)
def test_a_new_account_with_a_guessable_or_too_long_password_is_not_made(
    session: Session, engine: Engine, admin: User, password: str, code: str
) -> None:
    count = user_count(engine)
    data = account("alice", "editor", password, display_name="Alice Wonderland")

    with pytest.raises(ValidationFailed) as caught:
        users.create_user(session, actor=admin, data=data)

    assert set(caught.value.fields) == {"password"}
    assert caught.value.fields["password"].code == code  # type: ignore[attr-defined]
    assert user_count(engine) == count


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("correct horse battery staple", id="passphrase"),
        pytest.param("Zugspitze ist 2962 m hoch", id="german-sentence"),
        pytest.param("k" + "Hq7-zR2p" * 31 + "mN5wXy9", id="256-characters"),
    ],
)
def test_a_good_password_up_to_256_characters_is_set(
    session: Session, admin: User, alice: User, password: str
) -> None:
    users.set_password(session, actor=admin, username="alice", password=password)

    assert sign_in(session, password).id == alice.id


@given(
    word=hypothesis_st.sampled_from(sorted(common_passwords())),
    head=hypothesis_st.text(alphabet="0123456789!?.-_# ", max_size=4),
    tail=hypothesis_st.text(alphabet="0123456789!?.-_# ", max_size=8),
    capitalised=hypothesis_st.booleans(),
)
def test_a_common_password_with_digits_or_symbols_around_it_is_always_refused(
    word: str, head: str, tail: str, capitalised: bool
) -> None:
    password = head + (word.capitalize() if capitalised else word) + tail

    assert password_problem(password) is not None


def test_every_active_account_reads_the_department_names(world: World) -> None:
    by_id = {d.id: d.name for d in users.list_departments(world.session, actor=world.admin)}

    for reader in (world.contributor, world.editor, world.approver, world.admin):
        assert users.department_names(world.session, actor=reader) == by_id
    assert set(by_id.values()) == {"Marketing", "HR"}


def test_usernames_are_read_by_those_who_view_pieces(world: World) -> None:
    for reader in (world.editor, world.approver, world.admin):
        names = users.usernames(world.session, actor=reader)
        assert names[world.contributor.id] == "contrib"
        assert names[world.admin.id] == "admin"

    with pytest.raises(PermissionDenied):
        users.usernames(world.session, actor=world.contributor)


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(users.department_names, id="department-names"),
        pytest.param(users.usernames, id="usernames"),
    ],
)
def test_a_disabled_account_reads_no_names(world: World, read: Any) -> None:
    users.set_disabled(world.session, actor=world.admin, username="editor", disabled=True)

    with pytest.raises(PermissionDenied, match="disabled"):
        read(world.session, actor=world.editor)
