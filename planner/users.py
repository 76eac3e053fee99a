"""Accounts and departments: Argon2id password hashes, throttled sign-in, admin actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, func, select

from planner import audit, rules, sessions, throttle
from planner.errors import (
    AccountDisabled,
    AuthenticationFailed,
    Message,
    NotFound,
    SignInThrottled,
    ValidationFailed,
)
from planner.models import Department, Idea, Role, User, utcnow
from planner.names import find_named, get_named, names_by_id
from planner.passwords import password_problem
from planner.permissions import require, require_active
from planner.schemas import UserCreate, UserEmail, check_text, parse_input, text_problem
from planner.timezones import zone

_hasher = PasswordHasher()  # Argon2id with the library's RFC 9106 low-memory profile


_dummy: list[str] = []


def dummy_hash() -> str:
    """The hash verified against when the username is unknown, so both paths cost the
    same (made by the same hasher, hence with the same Argon2id parameters as every new
    password). Made on the first sign-in, whoever signs in, not when the module loads: a
    command that signs nobody in does not pay for it; made again if the hasher's
    parameters change."""
    if not _dummy or _hasher.check_needs_rehash(_dummy[0]):
        _dummy[:] = [_hasher.hash("not-a-real-password-only-for-timing")]
    return _dummy[0]


# What the audit log names when a sign-in gave an unknown username: never the typed text,
# which is often a password typed into the wrong field.
UNKNOWN_USER_MARKER = "(unknown)"


def hash_password(password: str) -> str:
    """An Argon2id hash of `password`."""
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def user_count(session: Session) -> int:
    """How many accounts exist (0 means the first admin may be created without one)."""
    return int(session.exec(select(func.count()).select_from(User)).one())


USERNAME_MAX = 64  # the width of users.username


def _find_user(session: Session, name: str) -> User | None:
    """The user with the normalised username `name`, if any. A name no account can have
    (over-long, or with a character the database cannot compare, such as NUL) is looked
    up nowhere: it is simply nobody's."""
    if len(name) > USERNAME_MAX or text_problem(name) is not None:
        return None
    return session.exec(select(User).where(User.username == name)).first()


def get_user(session: Session, username: str) -> User:
    """The user called `username`."""
    user = _find_user(session, username.strip().lower())
    if user is None:
        raise NotFound("user", username)
    return user


def get_department(session: Session, name: str) -> Department:
    """The department called `name` (case-insensitive)."""
    return get_named(session, Department, "department", name)


def list_departments(session: Session, *, actor: User) -> list[Department]:
    """All departments by name (every active account may read them: ideas name them)."""
    require_active(actor)
    return list(session.exec(select(Department).order_by(col(Department.name))))


def create_department(session: Session, *, actor: User | None, name: str) -> Department:
    """Add a department; `actor` None only while the database has no users (bootstrap/demo)."""
    if actor is not None:
        require(actor, "manage_departments")
    elif user_count(session):
        raise ValidationFailed({"actor": "an admin must add departments"})
    name = check_text(name.strip(), "name")
    if not 2 <= len(name) <= 80:
        raise ValidationFailed(
            {"name": Message("department_name_length", "a department name has 2-80 characters")}
        )
    if find_named(session, Department, name) is not None:
        raise ValidationFailed(
            {"name": Message("department_exists", "department {name!r} already exists", name=name)}
        )
    dep = Department(name=name)
    audit.record_change(
        session, dep, actor=actor, object_type="department", action="create", note=name
    )
    session.commit()
    return dep


def create_user(session: Session, *, actor: User | None, data: dict[str, object]) -> User:
    """Add an account. Without an actor only the very first account, an admin, may be made."""
    if actor is None:
        if user_count(session):
            raise ValidationFailed({"actor": "only an admin may add users (use --as ADMIN)"})
        if data.get("role") not in (Role.admin, "admin"):
            raise ValidationFailed({"role": "the first account must be an admin"})
    else:
        require(actor, "manage_users")
    new = parse_input(UserCreate, data)
    zone(new.timezone)
    problems: dict[str, str] = {}
    if session.exec(select(User).where(User.username == new.username)).first() is not None:
        problems["username"] = Message("username_taken", "{name!r} is taken", name=new.username)
    department_id = None
    if new.department:
        try:
            department_id = get_department(session, new.department).id
        except NotFound as err:
            problems["department"] = str(err)
    elif new.role == Role.contributor:
        problems["department"] = Message(
            "contributor_without_department", "a contributor belongs to a department"
        )
    if new.email is not None and (taken := with_email(session, new.email)):
        problems["email"] = _email_taken(new.email, taken[0])
    weak = password_problem(new.password, username=new.username, display_name=new.display_name)
    if weak is not None:
        problems["password"] = weak
    if problems:
        raise ValidationFailed(problems)
    user = User(
        username=new.username,
        display_name=new.display_name,
        email=new.email,
        role=new.role,
        department_id=department_id,
        password_hash=hash_password(new.password),
        locale=new.locale,
        timezone=new.timezone,
    )
    audit.record_change(
        session,
        user,
        actor=actor or user,
        object_type="user",
        action="create",
        to_state=new.role.value,
        note=new.username,
    )
    session.commit()
    return user


def list_users(session: Session, *, actor: User) -> list[User]:
    """All accounts, for admins."""
    require(actor, "manage_users")
    return list(session.exec(select(User).order_by(col(User.username))))


def set_password(
    session: Session, *, actor: User, username: str, password: str, keep_session: str | None = None
) -> None:
    """Change a password: admins for anyone, everyone for themselves.

    Also forgets the failed sign-ins counted for the account, so its owner is not kept
    waiting, and ends the account's sign-in sessions (except the one of token
    `keep_session`).
    """
    require_active(actor)
    user = get_user(session, username)
    if actor.id != user.id:
        require(actor, "manage_users")
    weak = password_problem(password, username=user.username, display_name=user.display_name)
    if weak is not None:
        raise ValidationFailed({"password": weak})
    user.password_hash = hash_password(password)
    session.add(user)
    throttle.clear_account(session, user.username)
    audit.record(session, actor=actor, object_type="user", object_id=user.id, action="passwd")
    sessions.end_all_for(session, user, reason="password", actor=actor, keep=keep_session)
    session.commit()


def unlock(session: Session, *, actor: User, username: str, client: str | None = None) -> bool:
    """Forget the failed sign-ins counted for `username` (and for one client address, when
    given), so the next try is not kept waiting; admins only, audited.

    Whether there was anything to forget.
    """
    require(actor, "manage_users")
    user = get_user(session, username)
    cleared = throttle.clear_account(session, user.username)
    if client is not None:
        cleared = throttle.clear_client(session, client) or cleared
    note = "with one client address" if client is not None else ""
    audit.record_change(session, user, actor=actor, object_type="user", action="unlock", note=note)
    session.commit()
    return cleared


def set_disabled(session: Session, *, actor: User, username: str, disabled: bool = True) -> User:
    """Disable (or enable again) an account; an admin cannot disable themselves."""
    require(actor, "manage_users")
    user = get_user(session, username)
    if disabled and user.id == actor.id:
        raise ValidationFailed(
            {"username": Message("disable_self", "you cannot disable your own account")}
        )
    user.disabled = disabled
    action = "disable" if disabled else "enable"
    audit.record_change(session, user, actor=actor, object_type="user", action=action)
    if disabled:
        sessions.end_all_for(session, user, reason="disabled", actor=actor)
    session.commit()
    return user


def with_email(session: Session, email: str) -> list[User]:
    """The accounts whose e-mail address is `email`, ignoring case (in every alphabet:
    compared here, as SQLite's lower() folds ASCII letters only), in order of id."""
    wanted = email.strip().lower()
    addresses = session.exec(select(User.id, User.email).where(col(User.email).is_not(None)))
    ids = [id_ for id_, address in addresses if address and address.lower() == wanted]
    if not ids:
        return []
    return list(session.exec(select(User).where(col(User.id).in_(ids)).order_by(col(User.id))))


def _email_taken(email: str, other: User) -> Message:
    return Message(
        "email_taken",
        "{email!r} is already the e-mail address of {name!r}",
        email=email,
        name=other.username,
    )


def set_email(session: Session, *, actor: User, username: str, email: str | None) -> User:
    """Give an account its e-mail address, or remove it with None (admins only).

    Single sign-on matches a company identity to the account by this address, so no two
    accounts may share it (ignoring case).
    """
    require(actor, "manage_users")
    user = get_user(session, username)
    new = parse_input(UserEmail, {"email": email}).email
    if new is not None:
        other = next((u for u in with_email(session, new) if u.id != user.id), None)
        if other is not None:
            raise ValidationFailed({"email": _email_taken(new, other)})
    user.email = new
    note = "e-mail address set" if new else "e-mail address removed"
    audit.record_change(session, user, actor=actor, object_type="user", action="email", note=note)
    session.commit()
    return user


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    client: str | None = None,
    now: datetime | None = None,
) -> User:
    """Sign in from `client` (its address; None when unknown). Every try is audited.

    Failed tries make later ones wait a growing time, per account and per client
    (`planner.throttle`); a try during a wait is refused with `SignInThrottled` before any
    password is checked. Known and unknown names get the same answers at the same cost.
    """
    now = now or utcnow()
    unknown_hash = dummy_hash()  # before the lookup, so no path pays for making it alone
    name = username.strip().lower()
    user = _find_user(session, name)
    wait = throttle.wait_for(session, username=name, client=client, now=now)
    if wait is not None:
        _audit_attempt(session, user, "login_refused", f"waiting {wait.seconds} s after failures")
        session.commit()
        raise SignInThrottled(wait.seconds)
    if user is None:
        _verify(unknown_hash, password)
        verified = False
    else:
        verified = _verify(user.password_hash, password)
    if user is None or not verified:
        wait = throttle.record_failure(session, username=name, client=client, now=now)
        note = "wrong password" if user is not None else "unknown user"
        if wait is not None:
            note += f"; next try waits {wait.seconds} s"
        _audit_attempt(session, user, "login_failed", note)
        session.commit()
        raise AuthenticationFailed()
    if user.disabled:
        _audit_attempt(session, user, "login_refused", "account disabled")
        session.commit()
        raise AccountDisabled(user.username)
    throttle.clear_account(session, user.username)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.add(user)
    audit.record(session, actor=user, object_type="user", object_id=user.id, action="login")
    session.commit()
    return user


def _audit_attempt(session: Session, user: User | None, action: str, note: str) -> None:
    """A sign-in try that did not succeed; an unknown name is never written down."""
    if user is None:
        audit.record(
            session,
            actor=None,
            actor_name="anonymous",
            object_type="user",
            object_id=UNKNOWN_USER_MARKER,
            action=action,
            note=note,
        )
    else:
        audit.record(
            session, actor=user, object_type="user", object_id=user.id, action=action, note=note
        )


def change_role(
    session: Session,
    *,
    actor: User,
    username: str,
    role: Role | str,
    department: str | None = None,
) -> User:
    """Give an account another role (admins only, not their own); contributors need a department."""
    require(actor, "manage_users")
    user = get_user(session, username)
    try:
        new_role = Role(role)
    except ValueError as err:
        known = ", ".join(r.value for r in Role)
        raise ValidationFailed(
            {
                "role": Message(
                    "not_a_role", "{role!r} is not a role; use {known}", role=role, known=known
                )
            }
        ) from err
    if user.id == actor.id and new_role != user.role:
        raise ValidationFailed({"role": Message("own_role", "you cannot change your own role")})
    department_id = user.department_id
    if department:
        try:
            department_id = get_department(session, department).id
        except NotFound as err:
            raise ValidationFailed({"department": str(err)}) from err
    if new_role == Role.contributor and department_id is None:
        raise ValidationFailed(
            {
                "department": Message(
                    "contributor_without_department", "a contributor belongs to a department"
                )
            }
        )
    old_role = user.role
    user.role = new_role
    user.department_id = department_id
    audit.record_change(
        session,
        user,
        actor=actor,
        object_type="user",
        action="change_role",
        from_state=old_role.value,
        to_state=new_role.value,
        note=user.username,
    )
    session.commit()
    return user


def rename_department(session: Session, *, actor: User, name: str, new_name: str) -> Department:
    """Rename a department (admins only); the new name must be free."""
    require(actor, "manage_departments")
    dep = get_department(session, name)
    new_name = new_name.strip()
    if not 2 <= len(new_name) <= 80:
        raise ValidationFailed(
            {"new_name": Message("department_name_length", "a department name has 2-80 characters")}
        )
    if find_named(session, Department, new_name, other_than=dep.id) is not None:
        raise ValidationFailed(
            {
                "new_name": Message(
                    "department_exists", "department {name!r} already exists", name=new_name
                )
            }
        )
    old = dep.name
    # The rules scoped to the department follow it to its new name, in the same commit.
    rules.rename_in_scopes(session, actor=actor, key="departments", old=old, new=new_name)
    dep.name = new_name
    audit.record_change(
        session,
        dep,
        actor=actor,
        object_type="department",
        action="rename",
        from_state=old[:32],
        to_state=new_name[:32],
        note=f"{old} -> {new_name}",
    )
    session.commit()
    return dep


@dataclass(frozen=True)
class DepartmentCounts:
    """A department with how many accounts and ideas belong to it."""

    department: Department
    users: int
    ideas: int


def department_overview(session: Session, *, actor: User) -> list[DepartmentCounts]:
    """Every department by name, with its user and idea counts (counted in SQL; admins)."""
    require(actor, "manage_departments")
    user_counts = (
        select(User.department_id, func.count().label("n"))
        .group_by(col(User.department_id))
        .subquery()
    )
    idea_counts = (
        select(Idea.department_id, func.count().label("n"))
        .group_by(col(Idea.department_id))
        .subquery()
    )
    query = (
        select(Department, user_counts.c.n, idea_counts.c.n)
        .outerjoin(user_counts, user_counts.c.department_id == Department.id)
        .outerjoin(idea_counts, idea_counts.c.department_id == Department.id)
        .order_by(col(Department.name))
    )
    return [DepartmentCounts(dep, int(u or 0), int(i or 0)) for dep, u, i in session.exec(query)]


def department_names(session: Session, *, actor: User) -> dict[int, str]:
    """Every department's name by id (every active account may read them: ideas name them)."""
    require_active(actor)
    return names_by_id(session, Department)


def usernames(session: Session, *, actor: User) -> dict[int, str]:
    """Every account's username by id, for those who may view pieces (which name their
    owners, authors and approvers)."""
    require(actor, "view_pieces")
    return {
        user_id: name
        for user_id, name in session.exec(select(User.id, User.username))
        if user_id is not None
    }
