"""Configuration from environment variables, read when asked for, never at import time."""

from __future__ import annotations

import os
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
    # Failed sign-ins (per account and per client) before each further try must wait.
    sign_in_failures_before_delay: int
    # The longest wait one client's failures grow to (an account's is capped far shorter).
    sign_in_max_delay_minutes: int


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
        sign_in_failures_before_delay=_int_env("PLANNER_MAX_LOGIN_FAILURES", 5),
        sign_in_max_delay_minutes=_int_env("PLANNER_LOCKOUT_MINUTES", 15),
    )
