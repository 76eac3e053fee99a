"""Sign-in throttling: growing waits after failed sign-ins, per account and per client.

Failures are counted under two keys, never under a typed name or address itself:
"account:" plus a SHA-256 of the normalised username (for unknown names exactly as for
known ones, so a wait never tells whether an account exists) and "client:" plus a SHA-256
of the client's address (an IPv6 client by its /64 network). After
`sign_in_failures_before_delay` failures each further failure makes the next try wait
2, 4, 8 ... seconds: a client at most `sign_in_max_delay_minutes`, an account at most
`ACCOUNT_MAX_DELAY` (short, so somebody failing on purpose from elsewhere cannot keep the
owner out). A try during a wait is refused before any password is checked and does not
count, and the right password after the wait works. A sign-in clears its account's count;
counts without a failure for `FORGET_AFTER` start again from zero.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from planner.config import load_settings
from planner.models import SignInThrottle

# The longest wait one account's failures impose on every client.
ACCOUNT_MAX_DELAY = timedelta(seconds=30)
# A count whose last failure is older than this starts again from zero (and its row goes).
FORGET_AFTER = timedelta(hours=24)


def account_key(username: str) -> str:
    """The throttle key of a typed username (normalised as sign-in matches it)."""
    digest = hashlib.sha256(username.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
    return f"account:{digest}"


def client_key(address: str | None) -> str | None:
    """The throttle key of a client address; None when the address is unknown."""
    if address is None or not address.strip():
        return None
    text = address.strip()
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
            # One client usually holds a whole /64: count it as one.
            text = str(ipaddress.IPv6Network((ip, 64), strict=False))
        elif isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            text = str(ip.ipv4_mapped)
        else:
            text = str(ip)
    return "client:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Wait:
    """A try that must wait: until when, and about how many seconds from `now`."""

    until: datetime
    seconds: int


def _keys(username: str, client: str | None) -> list[str]:
    keys = [account_key(username)]
    by_client = client_key(client)
    if by_client is not None:
        keys.append(by_client)
    return keys


def wait_for(session: Session, *, username: str, client: str | None, now: datetime) -> Wait | None:
    """The wait before `username` may be tried from `client`, or None when it may be now."""
    ends = [
        row.blocked_until
        for row in (session.get(SignInThrottle, key) for key in _keys(username, client))
        if row is not None and row.blocked_until is not None and row.blocked_until > now
    ]
    return _wait(max(ends), now) if ends else None


def _wait(until: datetime, now: datetime) -> Wait:
    return Wait(until, max(1, math.ceil((until - now).total_seconds())))


def _delay(failures: int, allowed: int, cap: timedelta) -> timedelta | None:
    over = failures - allowed
    if over < 0:
        return None
    if over >= 32:  # 2**32 s is far beyond any cap
        return cap
    return min(timedelta(seconds=2**over), cap)


def _ensure_row(session: Session, key: str) -> None:
    """Insert the key's row unless another try already did (two tries may race)."""
    dialect = session.get_bind().dialect.name
    values = {"key": key, "failures": 0}
    if dialect == "postgresql":
        session.execute(postgresql.insert(SignInThrottle).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        session.execute(sqlite.insert(SignInThrottle).values(**values).on_conflict_do_nothing())
    elif session.get(SignInThrottle, key) is None:
        session.add(SignInThrottle(key=key))
        session.flush()


def record_failure(
    session: Session, *, username: str, client: str | None, now: datetime
) -> Wait | None:
    """Count a failed sign-in for the account and the client; the wait it starts, if any.

    Does not commit: the caller commits it together with the audit event.
    """
    settings = load_settings()
    allowed = settings.sign_in_failures_before_delay
    caps = {
        "account": ACCOUNT_MAX_DELAY,
        "client": timedelta(minutes=settings.sign_in_max_delay_minutes),
    }
    session.execute(
        delete(SignInThrottle).where(col(SignInThrottle.last_failure_at) < now - FORGET_AFTER)
    )
    latest: datetime | None = None
    for key in _keys(username, client):
        _ensure_row(session, key)
        row = session.get(SignInThrottle, key, with_for_update=True, populate_existing=True)
        assert row is not None
        stale = row.last_failure_at is None or row.last_failure_at < now - FORGET_AFTER
        row.failures = 1 if stale else row.failures + 1
        row.last_failure_at = now
        delay = _delay(row.failures, allowed, caps[key.split(":", 1)[0]])
        row.blocked_until = now + delay if delay is not None else None
        session.add(row)
        if row.blocked_until is not None and (latest is None or row.blocked_until > latest):
            latest = row.blocked_until
    session.flush()
    return _wait(latest, now) if latest is not None else None


def clear_account(session: Session, username: str) -> bool:
    """Forget the failures counted for `username` (not committed); whether there were any."""
    row = session.get(SignInThrottle, account_key(username))
    if row is None:
        return False
    session.delete(row)
    return True


def clear_client(session: Session, address: str) -> bool:
    """Forget the failures counted for one client address (not committed)."""
    key = client_key(address)
    row = session.get(SignInThrottle, key) if key is not None else None
    if row is None:
        return False
    session.delete(row)
    return True
