"""Accounts and departments: Argon2id password hashes, sign-in with lockout, admin actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, func, select

from planner import audit
from planner.config import load_settings
from planner.errors import (
    AccountDisabled,
    AccountLocked,
    AuthenticationFailed,
    Message,
    NotFound,
    ValidationFailed,
)
from planner.models import Department, Idea, Role, User, utcnow
from planner.permissions import require
from planner.schemas import PASSWORD_MIN, UserCreate, check_text, parse_input
from planner.timezones import zone

_hasher = PasswordHasher()  # Argon2id with the library's RFC 9106 low-memory profile

# Verified against when the username is unknown, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")


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


def get_user(session: Session, username: str) -> User:
    """The user called `username`."""
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        raise NotFound("user", username)
    return user


def get_department(session: Session, name: str) -> Department:
    """The department called `name` (case-insensitive)."""
    dep = session.exec(
        select(Department).where(func.lower(Department.name) == name.strip().lower())
    ).first()
    if dep is None:
        known = ", ".join(d.name for d in list_departments(session)) or "none yet"
        raise NotFound("department", name, f"known: {known}")
    return dep


def list_departments(session: Session) -> list[Department]:
    """All departments by name."""
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
    exists = session.exec(
        select(Department).where(func.lower(Department.name) == name.lower())
    ).first()
    if exists is not None:
        raise ValidationFailed(
            {"name": Message("department_exists", "department {name!r} already exists", name=name)}
        )
    dep = Department(name=name)
    session.add(dep)
    session.flush()
    audit.record(
        session,
        actor=actor,
        object_type="department",
        object_id=dep.id,
        action="create",
        note=name,
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
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor or user,
        object_type="user",
        object_id=user.id,
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


def set_password(session: Session, *, actor: User, username: str, password: str) -> None:
    """Change a password: admins for anyone, everyone for themselves. Clears a lockout."""
    user = get_user(session, username)
    if actor.id != user.id:
        require(actor, "manage_users")
    if len(password) < PASSWORD_MIN:
        raise ValidationFailed(
            {"password": Message("too_short", "at least {min} characters", min=PASSWORD_MIN)}
        )
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    audit.record(session, actor=actor, object_type="user", object_id=user.id, action="passwd")
    session.commit()


def set_disabled(session: Session, *, actor: User, username: str, disabled: bool = True) -> User:
    """Disable (or enable again) an account; an admin cannot disable themselves."""
    require(actor, "manage_users")
    user = get_user(session, username)
    if disabled and user.id == actor.id:
        raise ValidationFailed(
            {"username": Message("disable_self", "you cannot disable your own account")}
        )
    user.disabled = disabled
    session.add(user)
    audit.record(
        session,
        actor=actor,
        object_type="user",
        object_id=user.id,
        action="disable" if disabled else "enable",
    )
    session.commit()
    return user


def authenticate(
    session: Session, *, username: str, password: str, now: datetime | None = None
) -> User:
    """Sign in. Repeated failures lock the account for a while; every try is audited."""
    settings = load_settings()
    now = now or utcnow()
    user = session.exec(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        _verify(_DUMMY_HASH, password)
        audit.record(
            session,
            actor=None,
            actor_name="anonymous",
            object_type="user",
            object_id=username.strip().lower()[:64],
            action="login_failed",
            note="unknown user",
        )
        session.commit()
        raise AuthenticationFailed()
    if user.locked_until is not None and user.locked_until > now:
        audit.record(
            session,
            actor=user,
            object_type="user",
            object_id=user.id,
            action="login_refused",
            note="account locked",
        )
        session.commit()
        raise AccountLocked(user.username, user.locked_until)
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        note = f"failure {user.failed_logins} of {settings.max_login_failures}"
        if user.failed_logins >= settings.max_login_failures:
            user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            user.failed_logins = 0
            note += f"; locked until {user.locked_until:%Y-%m-%d %H:%M} UTC"
        session.add(user)
        audit.record(
            session,
            actor=user,
            object_type="user",
            object_id=user.id,
            action="login_failed",
            note=note,
        )
        session.commit()
        if user.locked_until is not None and user.locked_until > now:
            raise AccountLocked(user.username, user.locked_until)
        raise AuthenticationFailed()
    if user.disabled:
        audit.record(
            session,
            actor=user,
            object_type="user",
            object_id=user.id,
            action="login_refused",
            note="account disabled",
        )
        session.commit()
        raise AccountDisabled(user.username)
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.add(user)
    audit.record(session, actor=user, object_type="user", object_id=user.id, action="login")
    session.commit()
    return user


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
    session.add(user)
    audit.record(
        session,
        actor=actor,
        object_type="user",
        object_id=user.id,
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
    clash = session.exec(
        select(Department).where(
            func.lower(Department.name) == new_name.lower(), Department.id != dep.id
        )
    ).first()
    if clash is not None:
        raise ValidationFailed(
            {
                "new_name": Message(
                    "department_exists", "department {name!r} already exists", name=new_name
                )
            }
        )
    old = dep.name
    dep.name = new_name
    session.add(dep)
    audit.record(
        session,
        actor=actor,
        object_type="department",
        object_id=dep.id,
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


def department_overview(session: Session) -> list[DepartmentCounts]:
    """Every department by name, with its user and idea counts (counted in SQL)."""
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
