"""Organisation settings an admin changes at run time; every change is audited."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlmodel import Session, select

from planner import audit
from planner.config import load_settings
from planner.errors import Message, NotFound, ValidationFailed
from planner.metrics.schedule import DEFAULT_SCHEDULE, clean_schedule, parse_schedule
from planner.models import Setting, User, utcnow
from planner.permissions import require
from planner.schemas import check_text, checked_language
from planner.timezones import zone
from planner.workdays import check_land
from publishers.addresses import carries_credentials


def _zone(value: str) -> str:
    zone(value)
    return value


def _hours(value: str) -> str:
    try:
        hours = float(value)
    except ValueError as err:
        raise ValueError(
            Message("not_hours", "{value!r} is not a number of hours", value=value)
        ) from err
    if not 0 < hours <= 168:
        raise ValueError(
            Message("lateness_range", "the lateness bound is more than 0 and at most 168 hours")
        )
    return f"{hours:g}"


def _switch(value: str) -> str:
    lowered = value.strip().lower()
    if lowered in ("on", "true", "1", "yes", "an", "ja"):
        return "on"
    if lowered in ("off", "false", "0", "no", "aus", "nein"):
        return "off"
    raise ValueError(Message("not_on_off", "{value!r} is not on or off", value=value))


def _whole_number(code: str, unit: str, low: int, high: int) -> Callable[[str], str]:
    """A setting's check: a whole number of `unit` from `low` to `high`, else refused with
    the message `code`."""

    def check(value: str) -> str:
        if value.isascii() and value.isdigit() and low <= int(value) <= high:
            return str(int(value))
        text = f"{{value!r}} is not a number of {unit}: use a whole number from {{low}} to {{high}}"
        raise ValueError(
            Message(
                code,
                text,
                value=value,
                low=low,
                high=high,
            )
        )

    return check


_working_days = _whole_number("not_working_days", "working days", 1, 30)
_listening_minutes = _whole_number("not_listening_minutes", "minutes", 1, 1440)
# A response target in hours, the organisation's or a department's: one hour to 30 days.
RESPONSE_HOURS = (1, 720)
_response_hours = _whole_number("not_response_hours", "hours", *RESPONSE_HOURS)
_feed_size = _whole_number("not_feed_size", "posts", 1, 200)


def _base_url(value: str) -> str:
    """An http(s) address without query or fragment (its trailing '/' dropped), or '' for off."""
    if not value:
        return ""
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(c.isspace() for c in value)
    ):
        raise ValueError(
            Message(
                "not_base_url",
                "{value!r} is not an http:// or https:// address such as "
                "https://go.example.de (empty: off)",
                value=value,
            )
        )
    if carries_credentials(value):
        # Never echoed: the address holds a password, and posts would publish it.
        raise ValueError(
            Message(
                "address_with_credentials",
                "an address may not carry a user name or password",
            )
        )
    return value.rstrip("/")


@dataclass(frozen=True)
class SettingSpec:
    """A known setting: its default and how a value is checked and normalised."""

    default: Callable[[], str]
    clean: Callable[[str], str]
    help: str
    # The environment variable that, when set, replaces the built-in default.
    variable: str | None = None


def _hours_text(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g}"


SPECS: dict[str, SettingSpec] = {
    "org_timezone": SettingSpec(
        lambda: load_settings().default_timezone,
        _zone,
        "organisation time zone (IANA)",
        variable="PLANNER_TIMEZONE",
    ),
    "default_language": SettingSpec(lambda: "de", checked_language, "dashboard language: de or en"),
    "max_lateness_hours": SettingSpec(
        lambda: _hours_text(load_settings().max_lateness),
        _hours,
        "how late a missed post may still go out, in hours",
        variable="PLANNER_MAX_LATENESS",
    ),
    "publishing_frozen": SettingSpec(lambda: "off", _switch, "crisis freeze: on holds every post"),
    "allow_private_network": SettingSpec(
        lambda: "off",
        _switch,
        "on: channels may reach this machine and private networks (an intranet Matrix or "
        "WordPress); link-local and cloud metadata addresses stay refused",
    ),
    "approval_target_days": SettingSpec(
        lambda: "2",
        _working_days,
        "working days within which a piece in review should be approved or sent back",
    ),
    "metrics_collection": SettingSpec(
        lambda: "on",
        _switch,
        "off: the scheduler reads no figures of published posts (metrics)",
    ),
    "metrics_schedule": SettingSpec(
        lambda: DEFAULT_SCHEDULE,
        clean_schedule,
        "when a published post's figures are read, after publishing: times such as 1h, 24h, "
        "7d, 2w in increasing order, separated by commas",
    ),
    "holiday_land": SettingSpec(
        lambda: "",
        check_land,
        "German Land whose public holidays are no working days (BY, NW, ...); "
        "empty: the nationwide holidays only",
    ),
    "listening_interval_minutes": SettingSpec(
        lambda: "5",
        _listening_minutes,
        "how often the worker reads mentions of the listening channels and the followed "
        "feeds, in minutes",
    ),
    "replies_need_approval": SettingSpec(
        lambda: "off",
        _switch,
        "on: a reply from the listening inbox, on any channel, waits until someone other "
        "than its writer approves it (a rule of kind reply_approval does so for its scope)",
    ),
    "response_target_hours": SettingSpec(
        lambda: "24",
        _response_hours,
        "within how many hours an inbox item should be answered, unless its department "
        "has a target of its own",
    ),
    "content_feeds": SettingSpec(
        lambda: "off",
        _switch,
        "on: the published posts are public as RSS (/feed.rss) and Atom (/feed.atom)",
    ),
    "content_feed_size": SettingSpec(
        lambda: "20", _feed_size, "how many of the latest published posts the feeds hold"
    ),
    "tracked_links_base_url": SettingSpec(
        lambda: "",
        _base_url,
        "public address links in posts are shortened to (<address>/l/<code>, counting "
        "clicks); empty: links go out as written",
    ),
}


def get_setting(session: Session, key: str) -> str:
    """The current value of a known setting (its default when never set)."""
    spec = SPECS.get(key)
    if spec is None:
        raise NotFound("setting", key)
    row = session.get(Setting, key)
    return row.value if row is not None else spec.default()


Source = Literal["setting", "environment", "default"]


@dataclass(frozen=True)
class EffectiveSetting:
    """A setting's value in force and where it comes from: an admin's organisation
    setting, the environment variable that replaces the default, or the default."""

    key: str
    value: str
    source: Source
    variable: str | None = None  # the environment variable, when it is the source

    @property
    def origin(self) -> str:
        """The source in words: "organisation setting", "PLANNER_... (environment)", "default"."""
        if self.source == "setting":
            return "organisation setting"
        if self.source == "environment":
            return f"{self.variable} (environment)"
        return "default"


def effective_settings(session: Session, *, actor: User) -> list[EffectiveSetting]:
    """Every known setting with the value in force and its source (admins)."""
    require(actor, "read_settings")
    stored = {row.key: row.value for row in session.exec(select(Setting))}
    process = load_settings()
    result = []
    for key, spec in SPECS.items():
        if key in stored:
            result.append(EffectiveSetting(key, stored[key], "setting"))
        elif spec.variable is not None and process.is_set(spec.variable):
            result.append(EffectiveSetting(key, spec.default(), "environment", spec.variable))
        else:
            result.append(EffectiveSetting(key, spec.default(), "default"))
    return result


def all_settings(session: Session, *, actor: User) -> dict[str, str]:
    """Every known setting with the value in force (admins, as on the settings page)."""
    return {item.key: item.value for item in effective_settings(session, actor=actor)}


def is_frozen(session: Session) -> bool:
    """Whether the crisis freeze holds all publishing."""
    return get_setting(session, "publishing_frozen") == "on"


def metrics_schedule(session: Session) -> tuple[timedelta, ...]:
    """When published posts' figures are read, after publishing (the admins' schedule)."""
    return parse_schedule(get_setting(session, "metrics_schedule"))


def collects_metrics(session: Session) -> bool:
    """Whether the scheduler reads the figures of published posts."""
    return get_setting(session, "metrics_collection") == "on"


def allows_private_network(session: Session) -> bool:
    """Whether channels may reach loopback and private addresses (intranet servers)."""
    return get_setting(session, "allow_private_network") == "on"


def content_feeds_on(session: Session) -> bool:
    """Whether the published posts are served as RSS and Atom."""
    return get_setting(session, "content_feeds") == "on"


def tracked_links_base(session: Session) -> str:
    """The address tracked links go through, or '' when links go out as written."""
    return get_setting(session, "tracked_links_base_url")


def set_setting(session: Session, *, actor: User, key: str, value: Any) -> str:
    """Change a setting (admins only); the change is audited with old and new value."""
    require(actor, "change_settings")
    spec = SPECS.get(key)
    if spec is None:
        raise ValidationFailed({"key": f"unknown setting {key!r}; known: {', '.join(SPECS)}"})
    check_text(str(value), key)
    try:
        clean = spec.clean(str(value).strip())
    except ValueError as err:
        # The reason (a Message when it has a code) rather than str(err), which drops the code.
        reason = err.args[0] if err.args and isinstance(err.args[0], str) else str(err)
        raise ValidationFailed({key: reason}) from err
    old = get_setting(session, key)
    row = session.get(Setting, key) or Setting(key=key, value=clean)
    row.value = clean
    row.updated_at = utcnow()
    row.updated_by_id = actor.id
    session.add(row)
    audit.record(
        session,
        actor=actor,
        object_type="setting",
        object_id=key,
        action="change",
        from_state=old[:32],
        to_state=clean[:32],
    )
    session.commit()
    return clean


SettingKind = Literal["switch", "language", "text"]


def setting_kind(key: str) -> SettingKind:
    """How a setting's value is given: on or off, a dashboard language, or free text."""
    spec = SPECS.get(key)
    if spec is None:
        raise NotFound("setting", key)
    if spec.clean is _switch:
        return "switch"
    if spec.clean is checked_language:
        return "language"
    return "text"
