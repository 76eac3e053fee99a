"""Configuration from environment variables, read when asked for, never at import time."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
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
    # Sign-in sessions (see planner/sessions.py) and the `serve` web server.
    session_idle_minutes: int = 60
    session_lifetime_hours: int = 12
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1")
    cookie_secure: str = "auto"
    # The database owner's URL, when migrations run as a role of their own (see README,
    # "Hardened PostgreSQL"); the planner's processes then never migrate by themselves.
    migration_database_url: str | None = None


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
        sign_in_failures_before_delay=_int_env("PLANNER_MAX_LOGIN_FAILURES", 5),
        sign_in_max_delay_minutes=_int_env("PLANNER_LOCKOUT_MINUTES", 15),
        session_idle_minutes=_int_env("PLANNER_SESSION_IDLE_MINUTES", 60),
        session_lifetime_hours=_int_env("PLANNER_SESSION_LIFETIME_HOURS", 12),
        allowed_hosts=_hosts_env(),
        cookie_secure=_cookie_secure_env(),
        migration_database_url=os.environ.get("PLANNER_MIGRATION_DATABASE_URL") or None,
    )


# Single sign-on (OpenID Connect, through Streamlit's st.login): every variable, in order.
OIDC_VARIABLES = (
    "PLANNER_OIDC_METADATA_URL",
    "PLANNER_OIDC_CLIENT_ID",
    "PLANNER_OIDC_CLIENT_SECRET",
    "PLANNER_OIDC_REDIRECT_URI",
    "PLANNER_OIDC_COOKIE_SECRET",
)
OIDC_COOKIE_SECRET_MIN = 32
OIDC_CALLBACK_PATH = "/oauth2callback"  # the path Streamlit answers the provider on


@dataclass(frozen=True)
class OidcSettings:
    """The company identity provider the dashboard signs people in with.

    The two secrets never appear in the object's repr, so they cannot reach a log line.
    """

    metadata_url: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    cookie_secret: str = field(repr=False)


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"{name} must be an http(s) URL, got {value!r}")
    return value


def load_oidc_settings() -> OidcSettings | None:
    """Single sign-on settings, or None when no PLANNER_OIDC_* variable is set.

    Setting only some of them is a mistake that is named, never a silent fallback to
    password-only sign-in.
    """
    values = {name: (os.environ.get(name) or "").strip() for name in OIDC_VARIABLES}
    if not any(values.values()):
        return None
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise ConfigurationError(
            "single sign-on is half configured: set " + ", ".join(missing) + " as well"
        )
    metadata_url = _http_url("PLANNER_OIDC_METADATA_URL", values["PLANNER_OIDC_METADATA_URL"])
    redirect_uri = _http_url("PLANNER_OIDC_REDIRECT_URI", values["PLANNER_OIDC_REDIRECT_URI"])
    callback = urlsplit(redirect_uri)
    if not callback.path.rstrip("/").endswith(OIDC_CALLBACK_PATH) or callback.query:
        raise ConfigurationError(
            f"PLANNER_OIDC_REDIRECT_URI must be the dashboard's address followed by "
            f"{OIDC_CALLBACK_PATH}, e.g. https://planner.example.com{OIDC_CALLBACK_PATH}, "
            f"got {redirect_uri!r}"
        )
    cookie_secret = values["PLANNER_OIDC_COOKIE_SECRET"]
    if len(cookie_secret) < OIDC_COOKIE_SECRET_MIN:
        raise ConfigurationError(
            f"PLANNER_OIDC_COOKIE_SECRET must have at least {OIDC_COOKIE_SECRET_MIN} "
            f"characters (it has {len(cookie_secret)}); make one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(32))"`'
        )
    return OidcSettings(
        metadata_url=metadata_url,
        client_id=values["PLANNER_OIDC_CLIENT_ID"],
        client_secret=values["PLANNER_OIDC_CLIENT_SECRET"],
        redirect_uri=redirect_uri.rstrip("/"),
        cookie_secret=cookie_secret,
    )
