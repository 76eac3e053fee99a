"""Accounts: Argon2 hashes, sign-in with lockout, audited attempts, admin-only management."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from planner import audit, ideas, users
from planner.errors import (
    AccountDisabled,
    AccountLocked,
    AuthenticationFailed,
    PermissionDenied,
    ValidationFailed,
)
from planner.models import AuditEvent, Role, User
from tests.conftest import utc

ADMIN_PASSWORD = "admin password 1"
ALICE_PASSWORD = "alice's long secret"
WRONG_PASSWORD = "not alice's secret"
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


def sign_in(session: Session, password: str, at: Any = T0, username: str = "alice") -> User:
    """Try to sign in as `username` at the instant `at`."""
    return users.authenticate(session, username=username, password=password, now=at)


def lock_out(session: Session) -> None:
    """Fail to sign in as alice until the account locks (at T0)."""
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            sign_in(session, WRONG_PASSWORD)
    with pytest.raises(AccountLocked):
        sign_in(session, WRONG_PASSWORD)


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


def test_wrong_password_is_refused_and_counted(
    session: Session, engine: Engine, alice: User
) -> None:
    with pytest.raises(AuthenticationFailed):
        sign_in(session, WRONG_PASSWORD)

    assert stored_user(engine, "alice").failed_logins == 1
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


# --- lockout --------------------------------------------------------------------------------


def test_account_locks_after_the_maximum_number_of_failures(
    session: Session, engine: Engine, alice: User
) -> None:
    for attempt in range(4):
        with pytest.raises(AuthenticationFailed):
            sign_in(session, WRONG_PASSWORD, at=T0 + timedelta(seconds=attempt))

    with pytest.raises(AccountLocked) as caught:
        sign_in(session, WRONG_PASSWORD, at=T0 + timedelta(seconds=4))

    assert caught.value.until == T0 + timedelta(seconds=4, minutes=15)
    assert stored_user(engine, "alice").locked_until == caught.value.until


def test_locked_account_refuses_even_the_right_password(session: Session, alice: User) -> None:
    lock_out(session)

    with pytest.raises(AccountLocked):
        sign_in(session, ALICE_PASSWORD, at=T0 + timedelta(minutes=14))

    assert login_events(session)[-1].action == "login_refused"


def test_lock_expires_and_the_right_password_works_again(
    session: Session, engine: Engine, alice: User
) -> None:
    lock_out(session)

    user = sign_in(session, ALICE_PASSWORD, at=T0 + timedelta(minutes=15, seconds=1))

    assert user.id == alice.id
    stored = stored_user(engine, "alice")
    assert (stored.failed_logins, stored.locked_until) == (0, None)


def test_lockout_threshold_is_configurable(
    session: Session, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_MAX_LOGIN_FAILURES", "2")
    with pytest.raises(AuthenticationFailed):
        sign_in(session, WRONG_PASSWORD)

    with pytest.raises(AccountLocked):
        sign_in(session, WRONG_PASSWORD)


def test_successful_sign_in_resets_the_failure_count(
    session: Session, engine: Engine, alice: User
) -> None:
    for _ in range(4):
        with pytest.raises(AuthenticationFailed):
            sign_in(session, WRONG_PASSWORD)

    sign_in(session, ALICE_PASSWORD)

    assert stored_user(engine, "alice").failed_logins == 0
    with pytest.raises(AuthenticationFailed):  # a fresh count: not locked at failure five
        sign_in(session, WRONG_PASSWORD)


def test_admin_password_reset_clears_a_lockout(
    session: Session, engine: Engine, admin: User, alice: User
) -> None:
    lock_out(session)

    users.set_password(session, actor=admin, username="alice", password="a brand new secret")

    assert sign_in(session, "a brand new secret", at=T0 + timedelta(minutes=1)).id == alice.id
    assert stored_user(engine, "alice").locked_until is None


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


def test_every_sign_in_attempt_is_audited_and_no_password_is_written(
    session: Session, engine: Engine, admin: User, alice: User
) -> None:
    attempts: list[tuple[str, str, type[Exception] | None]] = [
        ("alice", ALICE_PASSWORD, None),
        ("alice", WRONG_PASSWORD, AuthenticationFailed),
        ("nobody", "nobody's password", AuthenticationFailed),
        *[("alice", f"guess number {n}", AuthenticationFailed) for n in range(3)],
        ("alice", "guess number 3", AccountLocked),  # the fifth failure locks
        ("alice", ALICE_PASSWORD, AccountLocked),  # refused while locked
    ]
    for username, password, error in attempts:
        before = len(login_events(session))
        if error is None:
            sign_in(session, password, username=username)
        else:
            with pytest.raises(error):
                sign_in(session, password, username=username)
        assert len(login_events(session)) == before + 1, (username, password)

    actions = [e.action for e in login_events(session)]
    assert actions == ["login"] + ["login_failed"] * 6 + ["login_refused"]
    with Session(engine) as fresh:
        every_event = fresh.exec(select(AuditEvent)).all()
    written = " ".join(str(e.model_dump()) for e in every_event)
    for _username, password, _error in attempts:
        assert password not in written
    assert ADMIN_PASSWORD not in written


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
    users.set_password(session, actor=alice, username="alice", password="alice's new secret")

    assert sign_in(session, "alice's new secret").id == alice.id
    with pytest.raises(AuthenticationFailed):
        sign_in(session, ALICE_PASSWORD)


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
