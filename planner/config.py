"""Configuration from environment variables, read when asked for, never at import time."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from planner.errors import ConfigurationError

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
DEFAULT_TIMEZONE = "Europe/Berlin"


@dataclass(frozen=True)
class Settings:
    """Process-level settings; organisation settings that admins change live in the database."""

    database_url: str
    default_timezone: str
    max_login_failures: int
    lockout_minutes: int
    # Sign-in sessions (see planner/sessions.py) and the `serve` web server.
    session_idle_minutes: int = 60
    session_lifetime_hours: int = 12
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    cookie_secure: str = "auto"


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from err
    if value < 1:
        raise ConfigurationError(f"{name} must be at least 1, got {value}")
    return value


# A host name (optionally with a leading "*." for its subdomains), an IPv4 address, an
# IPv6 address in brackets, or "*" for any host.
_HOST = re.compile(
    r"\*|(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\]"
)
COOKIE_SECURE_CHOICES = ("auto", "on", "off")


def parse_hosts(raw: str, *, name: str = "PLANNER_ALLOWED_HOSTS") -> tuple[str, ...]:
    """Comma-separated host names, lower-cased; each one checked, none empty."""
    hosts = tuple(part.strip().lower().rstrip(".") for part in raw.split(","))
    for host in hosts:
        if not _HOST.fullmatch(host):
            raise ConfigurationError(
                f"{name} entry {host!r} is not a host name; use names like "
                "planner.example.com, *.example.com, 127.0.0.1 or [::1], separated by commas"
            )
    return hosts


def _hosts_env() -> tuple[str, ...]:
    raw = os.environ.get("PLANNER_ALLOWED_HOSTS")
    if raw is None or raw.strip() == "":
        return ("localhost", "127.0.0.1")
    return parse_hosts(raw)


def _cookie_secure_env() -> str:
    raw = (os.environ.get("PLANNER_COOKIE_SECURE") or "auto").strip().lower()
    if raw not in COOKIE_SECURE_CHOICES:
        raise ConfigurationError(f"PLANNER_COOKIE_SECURE must be auto, on or off, got {raw!r}")
    return raw


def load_settings() -> Settings:
    """Read the settings from the environment, with defaults for the embedded shape."""
    url = os.environ.get("PLANNER_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'planner.db'}"
    zone = os.environ.get("PLANNER_TIMEZONE") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigurationError(f"PLANNER_TIMEZONE {zone!r} is not an IANA time zone") from err
    return Settings(
        database_url=url,
        default_timezone=zone,
        max_login_failures=_int_env("PLANNER_MAX_LOGIN_FAILURES", 5),
        lockout_minutes=_int_env("PLANNER_LOCKOUT_MINUTES", 15),
        session_idle_minutes=_int_env("PLANNER_SESSION_IDLE_MINUTES", 60),
        session_lifetime_hours=_int_env("PLANNER_SESSION_LIFETIME_HOURS", 12),
        allowed_hosts=_hosts_env(),
        cookie_secure=_cookie_secure_env(),
    )
