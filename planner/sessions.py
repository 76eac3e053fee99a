"""Server-side sign-in sessions: a signed-in browser stays signed in until it signs out,
sits idle too long or reaches the absolute lifetime.

Signing in makes a random token (`secrets.token_urlsafe(32)`); the browser keeps it in an
HttpOnly cookie and the table `user_sessions` keeps only its SHA-256, so a copy of the
database signs nobody in. Disabling an account or changing its password ends its
sessions. Idle timeout and lifetime come from the configuration
(PLANNER_SESSION_IDLE_MINUTES, PLANNER_SESSION_LIFETIME_HOURS).

A browser session of the dashboard cannot set a cookie itself, so signing in also makes
a *grant*: a single-use code, valid for a minute and kept only in this process's memory,
that the web server swaps for the cookie (see `planner.ui.web`).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from planner import audit
from planner.config import load_settings
from planner.models import User, UserSession, utcnow

# last_seen_at is written at most this often, so a busy page does not write on every run.
LAST_SEEN_STEP = timedelta(minutes=1)
GRANT_SECONDS = 60.0
_MAX_TOKEN_LENGTH = 100  # a token_urlsafe(32) has 43 characters; longer input is not one


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of a token: what the database stores instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, *, user: User, client: str = "", now: datetime | None = None) -> str:
    """Open a session for `user` (who has just signed in) and return its token.

    Only the token's hash is stored; the token itself goes to the browser and nowhere else.
    """
    assert user.id is not None
    settings = load_settings()
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=token_hash(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_lifetime_hours),
        client=client[:200],
    )
    note = client[:200]
    audit.record_change(session, row, actor=user, object_type="session", action="start", note=note)
    session.commit()
    return token


def _find(session: Session, token: str | None) -> UserSession | None:
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    return session.exec(
        select(UserSession).where(UserSession.token_hash == token_hash(token))
    ).first()


def _close(
    session: Session, row: UserSession, *, reason: str, actor: User | None, now: datetime
) -> bool:
    """End `row` unless something else (another tab, another process) just did; audited."""
    ended = session.exec(
        update(UserSession)
        .where(col(UserSession.id) == row.id, col(UserSession.ended_at).is_(None))
        .values(ended_at=now, end_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    if ended != 1:
        return False
    row.ended_at, row.end_reason = now, reason
    # Without an actor the event names "system".
    audit.record_change(session, row, actor=actor, object_type="session", action="end", note=reason)
    return True


def resume(session: Session, token: str | None, now: datetime | None = None) -> User | None:
    """The user a session token signs in, or None when it does not (any more).

    A session ends here when its user is disabled, it was idle longer than the idle
    timeout or it reached its absolute lifetime. A live one is marked as seen (at most
    once a minute).
    """
    row = _find(session, token)
    if row is None or row.ended_at is not None:
        return None
    settings = load_settings()
    now = now or utcnow()
    user = session.get(User, row.user_id)
    reason = None
    if user is None or user.disabled:
        reason = "disabled"
    elif now >= row.expires_at:
        reason = "expired"
    elif now - row.last_seen_at >= timedelta(minutes=settings.session_idle_minutes):
        reason = "idle"
    if reason is not None:
        _close(session, row, reason=reason, actor=None, now=now)
        session.commit()
        return None
    if now - row.last_seen_at >= LAST_SEEN_STEP:
        row.last_seen_at = now
        session.add(row)
        session.commit()
    return user


def end(session: Session, token: str | None, now: datetime | None = None) -> bool:
    """Sign out: end the session of `token`. False when it had already ended or is unknown."""
    row = _find(session, token)
    if row is None or row.ended_at is not None:
        return False
    ended = _close(
        session,
        row,
        reason="sign_out",
        actor=session.get(User, row.user_id),
        now=now or utcnow(),
    )
    session.commit()
    return ended


def end_all_for(
    session: Session,
    user: User,
    *,
    reason: str,
    actor: User | None,
    keep: str | None = None,
    now: datetime | None = None,
) -> int:
    """End every open session of `user` (except the one of token `keep`); how many ended.

    Called by the account changes that must sign a person out everywhere (disable,
    password change); they commit, so the change and the ended sessions are one step.
    """
    now = now or utcnow()
    query = select(UserSession).where(
        UserSession.user_id == user.id, col(UserSession.ended_at).is_(None)
    )
    if keep:
        query = query.where(UserSession.token_hash != token_hash(keep))
    rows = list(session.exec(query))
    return sum(_close(session, row, reason=reason, actor=actor, now=now) for row in rows)


def open_sessions(session: Session, user: User) -> list[UserSession]:
    """The sessions of `user` that have not ended, oldest first (idle ones included until
    they are next used)."""
    return list(
        session.exec(
            select(UserSession)
            .where(UserSession.user_id == user.id, col(UserSession.ended_at).is_(None))
            .order_by(col(UserSession.id))
        )
    )


# --- grants: how the token reaches the browser's cookie -------------------------------------

_grants: dict[str, tuple[str, float]] = {}
_grants_lock = threading.Lock()


def grant(token: str) -> str:
    """A single-use code, valid for GRANT_SECONDS, that `redeem` swaps for `token`."""
    code = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _grants_lock:
        for key in [key for key, (_, until) in _grants.items() if until <= now]:
            del _grants[key]
        _grants[token_hash(code)] = (token, now + GRANT_SECONDS)
    return code


def redeem(code: str | None) -> str | None:
    """The token a grant code stands for, once; None when unknown, used or expired."""
    if not code or len(code) > _MAX_TOKEN_LENGTH:
        return None
    with _grants_lock:
        found = _grants.pop(token_hash(code), None)
    if found is None or found[1] <= time.monotonic():
        return None
    return found[0]
