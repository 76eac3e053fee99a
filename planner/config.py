"""Configuration from environment variables, read when asked for, never at import time.

Every PLANNER_* variable the planner reads is declared once in `VARIABLES`: its name, the
type of value it takes, its default and what it means. `load_settings()` reads them all
into one frozen `Settings`; a bad value stops with a message naming the variable, what it
got (secrets are never shown) and what it expects. The README's configuration table is made
from the same list: `python -m planner.config --readme` writes it.
"""

from __future__ import annotations

import functools
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from planner.errors import ConfigurationError

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"
DEFAULT_TIMEZONE = "Europe/Berlin"
KEY_FILE_NAME = "secret.key"

T = TypeVar("T")


class Unfit(ValueError):
    """A value that does not fit its type; the text, when there is one, says why exactly."""


# --- one parser per type of value ---------------------------------------------------------


@dataclass(frozen=True)
class Parser(Generic[T]):
    """Turns a variable's text into a typed value, or raises `Unfit`.

    `kind` is the short name the README table shows; `expected` completes the sentence
    "NAME must be ..." in error messages.
    """

    kind: str
    expected: str
    convert: Callable[[str], T]


def whole(low: int, high: int | None = None) -> Parser[int]:
    """A whole number from `low` (to `high`, when given)."""

    def convert(text: str) -> int:
        digits = text.removeprefix("-")
        # isascii: '²'.isdigit() holds but int('²') fails; the length bounds int()'s work.
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 12):
            raise Unfit()
        value = int(text)
        if value < low or (high is not None and value > high):
            raise Unfit()
        return value

    if high is None:
        return Parser(f"whole number ≥ {low}", f"a whole number of at least {low}", convert)
    return Parser(f"{low}–{high}", f"a whole number from {low} to {high}", convert)


def positive_number() -> Parser[float]:
    """A number more than 0 (decimals allowed)."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError as err:
            raise Unfit() from err
        if not (math.isfinite(value) and value > 0):
            raise Unfit()
        return value

    return Parser("number > 0", "a number more than 0, such as 15 or 0.5", convert)


_SWITCH = {
    **dict.fromkeys(("1", "on", "true", "yes"), True),
    **dict.fromkeys(("0", "off", "false", "no"), False),
}


def switch() -> Parser[bool]:
    """On or off."""

    def convert(text: str) -> bool:
        try:
            return _SWITCH[text.lower()]
        except KeyError as err:
            raise Unfit() from err

    return Parser("1 / 0", "1 or 0 (also on/off, true/false, yes/no)", convert)


_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}


def parse_duration(text: str) -> timedelta:
    """'6h', '90m', '45s' or a plain number of hours; more than zero."""
    raw = text.strip().lower()
    try:
        if raw and raw[-1] in _DURATION_UNITS:
            seconds = float(raw[:-1]) * _DURATION_UNITS[raw[-1]]
        else:
            seconds = float(raw) * 3600.0
    except ValueError as err:
        raise ConfigurationError(f"{text!r} is not a duration such as '6h' or '30m'") from err
    if not (math.isfinite(seconds) and seconds > 0):
        raise ConfigurationError(f"{text!r} is not a duration more than zero")
    return timedelta(seconds=seconds)


def duration() -> Parser[timedelta]:
    """A length of time: '6h', '90m', '45s' or a plain number of hours."""

    def convert(text: str) -> timedelta:
        try:
            return parse_duration(text)
        except ConfigurationError as err:
            raise Unfit() from err

    return Parser(
        "duration",
        "a duration more than zero such as '6h', '90m' or '45s' (a plain number counts hours)",
        convert,
    )


def file_path() -> Parser[Path]:
    """A file's path; '~' is the user's home directory."""
    return Parser("file path", "a file path", lambda text: Path(text).expanduser())


def free_text(*, min_length: int = 1, hint: str = "") -> Parser[str]:
    """Free text, at least `min_length` characters long."""

    def convert(value: str) -> str:
        if len(value) < min_length:
            raise Unfit(f"it has {len(value)} characters")
        return value

    if min_length <= 1:
        return Parser("text", "text", convert)
    return Parser(f"≥ {min_length} characters", f"at least {min_length} characters{hint}", convert)


def http_url() -> Parser[str]:
    """An http:// or https:// address."""

    def convert(value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Unfit()
        return value

    return Parser("URL", "an http(s) URL", convert)


def _taken_by(read: Callable[[str], object], *errors: type[Exception]) -> Callable[[str], str]:
    """A conversion that keeps the text as it is if `read` takes it without one of `errors`."""

    def convert(value: str) -> str:
        try:
            read(value)
        except errors as err:
            raise Unfit() from err
        return value

    return convert


# The databases the planner runs on (its SQL and migrations are written for these two).
DATABASE_BACKENDS = ("sqlite", "postgresql")


def database_url() -> Parser[str]:
    """An SQLAlchemy database URL of SQLite or PostgreSQL."""

    def convert(value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except (ArgumentError, ValueError) as err:
            raise Unfit() from err
        if backend not in DATABASE_BACKENDS:
            raise Unfit(f"the planner runs on SQLite or PostgreSQL, not {backend}")
        return value

    return Parser(
        "database URL",
        "an SQLAlchemy URL such as sqlite:///data/planner.db or "
        "postgresql+psycopg://user@host:5432/db",
        convert,
    )


def time_zone() -> Parser[str]:
    """An IANA time zone name."""
    return Parser(
        "IANA time zone",
        "an IANA time zone such as 'Europe/Berlin'",
        _taken_by(ZoneInfo, ZoneInfoNotFoundError, ValueError),
    )


def choice(*choices: str) -> Parser[str]:
    """One of a few words (case does not matter)."""

    def convert(value: str) -> str:
        if value.lower() not in choices:
            raise Unfit()
        return value.lower()

    words = ", ".join(choices[:-1]) + " or " + choices[-1]
    return Parser(" / ".join(choices), words, convert)


# A host name (optionally with a leading "*." for its subdomains), an IPv4 address, an
# IPv6 address in brackets, or "*" for any host.
_HOST = re.compile(
    r"\*|(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\]"
)


def _hosts(raw: str) -> tuple[str, ...]:
    """Comma-separated host names, lower-cased; each one checked, none empty."""
    hosts = tuple(part.strip().lower().rstrip(".") for part in raw.split(","))
    for host in hosts:
        if not _HOST.fullmatch(host):
            raise Unfit(f"{host!r} is not a host name")
    return hosts


HOSTS: Parser[tuple[str, ...]] = Parser(
    "host names",
    "host names separated by commas, like planner.example.com, *.example.com, 127.0.0.1 or [::1]",
    _hosts,
)


# --- the variables ----------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One environment variable: its `Settings` field, type, default and meaning.

    `shown_default` is the default as the README shows it ("–": none); a `secret` value
    never appears in messages.
    """

    name: str
    field: str
    parser: Parser[Any]
    default: object
    shown_default: str
    description: str
    secret: bool = False


COOKIE_SECURE_CHOICES = ("auto", "on", "off")
SMTP_SECURITY_CHOICES = ("starttls", "ssl", "none")
OIDC_COOKIE_SECRET_MIN = 32
OIDC_CALLBACK_PATH = "/oauth2callback"  # the path Streamlit answers the provider on
_NO_DEFAULT = "–"

VARIABLES: tuple[Variable, ...] = (
    Variable(
        "PLANNER_DATABASE_URL",
        "database_url",
        database_url(),
        f"sqlite:///{DATA_DIR / 'planner.db'}",
        "`sqlite:///data/planner.db`",
        "The database the planner stores everything in (SQLite file or PostgreSQL).",
        secret=True,  # may hold a password
    ),
    Variable(
        "PLANNER_MIGRATION_DATABASE_URL",
        "migration_database_url",
        database_url(),
        None,
        _NO_DEFAULT,
        "The schema owner's database URL: then only `migrate`, `init` and `demo` change the "
        'schema, as that role (see "Hardened PostgreSQL").',
        secret=True,
    ),
    Variable(
        "PLANNER_TIMEZONE",
        "default_timezone",
        time_zone(),
        DEFAULT_TIMEZONE,
        f"`{DEFAULT_TIMEZONE}`",
        "The time zone of new users and, until an admin sets one, of the organisation.",
    ),
    Variable(
        "PLANNER_MAX_LOGIN_FAILURES",
        "sign_in_failures_before_delay",
        whole(1),
        5,
        "`5`",
        "Failed sign-ins (per account and per client address) before each further try waits.",
    ),
    Variable(
        "PLANNER_LOCKOUT_MINUTES",
        "sign_in_max_delay_minutes",
        whole(1),
        15,
        "`15`",
        "The longest wait in minutes for one client address (an account's is at most 30 s).",
    ),
    Variable(
        "PLANNER_SESSION_IDLE_MINUTES",
        "session_idle_minutes",
        whole(1),
        60,
        "`60`",
        "A sign-in session unused for this many minutes ends.",
    ),
    Variable(
        "PLANNER_SESSION_LIFETIME_HOURS",
        "session_lifetime_hours",
        whole(1),
        12,
        "`12`",
        "A sign-in session ends this many hours after sign-in, used or not.",
    ),
    Variable(
        "PLANNER_ALLOWED_HOSTS",
        "allowed_hosts",
        HOSTS,
        ("localhost", "127.0.0.1"),
        "`localhost,127.0.0.1`",
        "Host names the dashboard answers to, comma separated (`*.example.com` for "
        "subdomains); the `--address` it serves on is added.",
    ),
    Variable(
        "PLANNER_COOKIE_SECURE",
        "cookie_secure",
        choice(*COOKIE_SECURE_CHOICES),
        "auto",
        "`auto`",
        "Whether the sign-in cookie is `Secure`: `auto` when the request came over HTTPS, "
        "`on` always, `off` never.",
    ),
    Variable(
        "PLANNER_USER",
        "user",
        free_text(),
        None,
        _NO_DEFAULT,
        "Who acts on the command line when `--as` is not given.",
    ),
    Variable(
        "PLANNER_PORT",
        "port",
        whole(1, 65_535),
        8501,
        "`8501`",
        "The port `serve` (and `start.sh`) runs the dashboard on when `--port` is not given.",
    ),
    Variable(
        "PLANNER_EMBEDDED_SCHEDULER",
        "embedded_scheduler",
        switch(),
        True,
        "`1`",
        "Whether `serve` publishes with its own scheduler; `0` when separate `worker` "
        "processes publish.",
    ),
    Variable(
        "PLANNER_SECRET_KEY",
        "secret_key",
        free_text(),
        None,
        "key file (SQLite only)",
        "The Fernet key channel secrets are encrypted with; required with PostgreSQL "
        "(`python -m planner secret-key` makes one).",
        secret=True,
    ),
    Variable(
        "PLANNER_SECRET_KEY_FILE",
        "secret_key_file",
        file_path(),
        DATA_DIR / KEY_FILE_NAME,
        f"`data/{KEY_FILE_NAME}`",
        "Where the embedded (SQLite) planner keeps its key when `PLANNER_SECRET_KEY` is not "
        "set; made on first use, readable by its owner only.",
    ),
    Variable(
        "PLANNER_POLL_SECONDS",
        "poll_seconds",
        positive_number(),
        15.0,
        "`15`",
        "How often, in seconds, a scheduler looks for due posts.",
    ),
    Variable(
        "PLANNER_MAX_LATENESS",
        "max_lateness",
        duration(),
        timedelta(hours=6),
        "`6h`",
        "How late a missed post may still go out, unless an admin set `max_lateness_hours`.",
    ),
    Variable(
        "PLANNER_MAX_ATTEMPTS",
        "max_attempts",
        whole(1),
        5,
        "`5`",
        "Transient failures before a post counts as failed.",
    ),
    Variable(
        "PLANNER_RETRY_BASE_SECONDS",
        "retry_base_seconds",
        positive_number(),
        30.0,
        "`30`",
        "The first wait, in seconds, before a failed post is tried again (it doubles per try).",
    ),
    Variable(
        "PLANNER_RETRY_CAP_SECONDS",
        "retry_cap_seconds",
        positive_number(),
        3600.0,
        "`3600`",
        "The longest wait, in seconds, between tries of a failed post.",
    ),
    Variable(
        "PLANNER_LEASE_SECONDS",
        "lease_seconds",
        positive_number(),
        300.0,
        "`300`",
        "How long, in seconds, a worker's claim on a post holds before another may recover it.",
    ),
    Variable(
        "PLANNER_BATCH_SIZE",
        "batch_size",
        whole(1),
        100,
        "`100`",
        "How many due posts a worker claims at once.",
    ),
    Variable(
        "PLANNER_PUBLISH_THREADS",
        "publish_threads",
        whole(1),
        4,
        "`4`",
        "How many requests to channels one worker makes at the same time.",
    ),
    Variable(
        "PLANNER_SMTP_HOST",
        "smtp_host",
        free_text(),
        None,
        _NO_DEFAULT,
        "Notification e-mail: the SMTP server the worker sends through; none: no e-mail.",
    ),
    Variable(
        "PLANNER_SMTP_PORT",
        "smtp_port",
        whole(1, 65_535),
        None,
        "by security",
        "Notification e-mail: the SMTP port (587 for `starttls`, 465 for `ssl`, 25 for `none`).",
    ),
    Variable(
        "PLANNER_SMTP_SECURITY",
        "smtp_security",
        choice(*SMTP_SECURITY_CHOICES),
        "starttls",
        "`starttls`",
        "Notification e-mail: `starttls`, `ssl` (TLS from the start) or `none` (unencrypted).",
    ),
    Variable(
        "PLANNER_SMTP_USERNAME",
        "smtp_username",
        free_text(),
        None,
        _NO_DEFAULT,
        "Notification e-mail: the SMTP login; none: send without login.",
    ),
    Variable(
        "PLANNER_SMTP_PASSWORD",
        "smtp_password",
        free_text(),
        None,
        _NO_DEFAULT,
        "Notification e-mail: the SMTP login's password.",
        secret=True,
    ),
    Variable(
        "PLANNER_SMTP_FROM",
        "smtp_from",
        free_text(),
        None,
        _NO_DEFAULT,
        "Notification e-mail: the sender address, e.g. `Redaktion <planer@example.de>`; "
        "required with `PLANNER_SMTP_HOST`.",
    ),
    Variable(
        "PLANNER_PUBLIC_URL",
        "public_url",
        http_url(),
        None,
        _NO_DEFAULT,
        "The dashboard's address as people open it; notification e-mails link to items "
        "there (without it they name the item's number only).",
    ),
    Variable(
        "PLANNER_ACCESSIBILITY_CONTACT",
        "accessibility_contact",
        free_text(),
        None,
        "the administrators",
        "Where people report an accessibility barrier (an e-mail address, a name or a "
        "team), as the dashboard's accessibility statement names it.",
    ),
    Variable(
        "PLANNER_OIDC_METADATA_URL",
        "oidc_metadata_url",
        http_url(),
        None,
        _NO_DEFAULT,
        "Single sign-on: the provider's `.well-known/openid-configuration` URL.",
    ),
    Variable(
        "PLANNER_OIDC_CLIENT_ID",
        "oidc_client_id",
        free_text(),
        None,
        _NO_DEFAULT,
        "Single sign-on: the client ID registered for the planner at the provider.",
    ),
    Variable(
        "PLANNER_OIDC_CLIENT_SECRET",
        "oidc_client_secret",
        free_text(),
        None,
        _NO_DEFAULT,
        "Single sign-on: that client's secret.",
        secret=True,
    ),
    Variable(
        "PLANNER_OIDC_REDIRECT_URI",
        "oidc_redirect_uri",
        http_url(),
        None,
        _NO_DEFAULT,
        f"Single sign-on: the dashboard's address followed by `{OIDC_CALLBACK_PATH}`, "
        "registered exactly so at the provider.",
    ),
    Variable(
        "PLANNER_OIDC_COOKIE_SECRET",
        "oidc_cookie_secret",
        free_text(
            min_length=OIDC_COOKIE_SECRET_MIN,
            hint=' (make one with `python -c "import secrets; print(secrets.token_urlsafe(32))"`)',
        ),
        None,
        _NO_DEFAULT,
        "Single sign-on: random characters that sign the identity cookie.",
        secret=True,
    ),
)
BY_NAME: Mapping[str, Variable] = {variable.name: variable for variable in VARIABLES}

# Single sign-on (OpenID Connect, through Streamlit's st.login): every variable, in order.
OIDC_VARIABLES = tuple(name for name in BY_NAME if name.startswith("PLANNER_OIDC_"))


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


@dataclass(frozen=True)
class Settings:
    """Every PLANNER_* variable, typed; organisation settings admins change live in the
    database (see planner/org_settings.py). Secret values stay out of the repr."""

    database_url: str = field(repr=False)
    migration_database_url: str | None = field(repr=False)
    default_timezone: str
    # Failed sign-ins (per account and per client) before each further try must wait.
    sign_in_failures_before_delay: int
    # The longest wait one client's failures grow to (an account's is capped far shorter).
    sign_in_max_delay_minutes: int
    # Sign-in sessions (see planner/sessions.py) and the `serve` web server.
    session_idle_minutes: int
    session_lifetime_hours: int
    allowed_hosts: tuple[str, ...]
    cookie_secure: str
    # The command line's defaults for `--as` and `serve --port`.
    user: str | None
    port: int
    embedded_scheduler: bool
    secret_key: str | None = field(repr=False)
    secret_key_file: Path
    # How workers publish (planner.publishing.EngineSettings).
    poll_seconds: float
    max_lateness: timedelta
    max_attempts: int
    retry_base_seconds: float
    retry_cap_seconds: float
    lease_seconds: float
    batch_size: int
    publish_threads: int
    # Notification e-mail (planner.mail) and the address its links point to.
    smtp_host: str | None
    smtp_port: int | None
    smtp_security: str
    smtp_username: str | None
    smtp_password: str | None = field(repr=False)
    smtp_from: str | None
    public_url: str | None
    # Named in the accessibility statement for reporting barriers (None: the admins).
    accessibility_contact: str | None
    oidc_metadata_url: str | None
    oidc_client_id: str | None
    oidc_client_secret: str | None = field(repr=False)
    oidc_redirect_uri: str | None
    oidc_cookie_secret: str | None = field(repr=False)
    # Single sign-on, when all of its variables are set.
    oidc: OidcSettings | None = None
    # The names of the variables that were set (the others have their defaults).
    from_environment: frozenset[str] = frozenset()

    def is_set(self, name: str) -> bool:
        """Whether the variable `name` was set, rather than left at its default."""
        return name in self.from_environment


def _problem(name: str, raw: str, parser: Parser[Any], *, secret: bool, detail: Unfit) -> str:
    got = "a value that is not shown (it is secret)" if secret else repr(raw)
    reason = f" ({detail})" if str(detail) else ""
    return f"{name} must be {parser.expected}, got {got}{reason}"


def _read(variable: Variable, raw: str) -> object:
    """The typed value of `raw`, or a `ConfigurationError` saying what is wrong."""
    try:
        return variable.parser.convert(raw)
    except Unfit as err:
        raise ConfigurationError(
            _problem(variable.name, raw, variable.parser, secret=variable.secret, detail=err)
        ) from err


def _oidc(settings: Settings) -> OidcSettings | None:
    """Single sign-on settings, or None when no PLANNER_OIDC_* variable is set.

    Setting only some of them is a mistake that is named, never a silent fallback to
    password-only sign-in.
    """
    given = [name for name in OIDC_VARIABLES if settings.is_set(name)]
    if not given:
        return None
    missing = [name for name in OIDC_VARIABLES if name not in given]
    if missing:
        raise ConfigurationError(
            "single sign-on is half configured: set " + ", ".join(missing) + " as well"
        )
    redirect_uri = str(settings.oidc_redirect_uri)
    callback = urlsplit(redirect_uri)
    if not callback.path.rstrip("/").endswith(OIDC_CALLBACK_PATH) or callback.query:
        raise ConfigurationError(
            f"PLANNER_OIDC_REDIRECT_URI must be the dashboard's address followed by "
            f"{OIDC_CALLBACK_PATH}, e.g. https://planner.example.com{OIDC_CALLBACK_PATH}, "
            f"got {redirect_uri!r}"
        )
    return OidcSettings(
        metadata_url=str(settings.oidc_metadata_url),
        client_id=str(settings.oidc_client_id),
        client_secret=str(settings.oidc_client_secret),
        redirect_uri=redirect_uri.rstrip("/"),
        cookie_secret=str(settings.oidc_cookie_secret),
    )


@functools.lru_cache(maxsize=16)
def _settings(raw: tuple[str | None, ...]) -> Settings:
    values: dict[str, Any] = {}
    given: set[str] = set()
    problems: list[str] = []
    for variable, text_value in zip(VARIABLES, raw, strict=True):
        value = (text_value or "").strip()
        values[variable.field] = variable.default
        if value:
            given.add(variable.name)
            try:
                values[variable.field] = _read(variable, value)
            except ConfigurationError as err:
                problems.append(str(err))
    if problems:  # all of them at once, on one line
        raise ConfigurationError("; ".join(problems))
    settings = Settings(**values, from_environment=frozenset(given))
    if settings.smtp_host and not settings.smtp_from:
        raise ConfigurationError("PLANNER_SMTP_HOST is set: set PLANNER_SMTP_FROM as well")
    return replace(settings, oidc=_oidc(settings))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every PLANNER_* variable now (from `environ`, by default the process's own).

    An empty variable counts as not set. The result is cached per distinct set of values,
    so reading the settings often costs little and a changed environment is seen at once.
    """
    source = os.environ if environ is None else environ
    return _settings(tuple(source.get(variable.name) for variable in VARIABLES))


def load_oidc_settings() -> OidcSettings | None:
    """Single sign-on settings, or None when no PLANNER_OIDC_* variable is set."""
    return load_settings().oidc


# --- the README's table -------------------------------------------------------------------


def markdown_table(variables: Iterable[Variable] = VARIABLES) -> str:
    """The configuration table of the README, one row per variable."""
    rows = [
        "| variable | value | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for variable in variables:
        secret = " Secret: never shown in messages." if variable.secret else ""
        meaning = variable.description + secret
        rows.append(
            f"| `{variable.name}` | {variable.parser.kind} | {variable.shown_default} | {meaning} |"
        )
    return "\n".join(rows) + "\n"


README = REPO_ROOT / "README.md"
TABLE_START = "<!-- config-table:start (made by `python -m planner.config --readme`) -->"
TABLE_END = "<!-- config-table:end -->"


def readme_with_table(readme: str) -> str:
    """`readme` with the text between its table markers replaced by `markdown_table()`."""
    head, start, rest = readme.partition(TABLE_START)
    _old, end, tail = rest.partition(TABLE_END)
    if not (start and end):
        raise ConfigurationError(f"the README has no lines {TABLE_START!r} ... {TABLE_END!r}")
    return f"{head}{TABLE_START}\n{markdown_table()}{TABLE_END}{tail}"


def main(argv: list[str]) -> int:
    """`python -m planner.config`: check the environment and say what is wrong;
    `--markdown` prints the README's table, `--readme` writes it into README.md."""
    if argv == ["--markdown"]:
        sys.stdout.write(markdown_table())
        return 0
    if argv == ["--readme"]:
        text = README.read_text(encoding="utf-8")
        README.write_text(readme_with_table(text), encoding="utf-8")
        return 0
    if argv:
        sys.stderr.write("usage: python -m planner.config [--markdown | --readme]\n")
        return 2
    try:
        load_settings()
    except ConfigurationError as err:
        sys.stderr.write(f"error: {err}\n")
        return 1
    sys.stdout.write("configuration ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
