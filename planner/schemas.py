"""Input models: user input is validated here, never by building table models from raw data."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, TypeVar
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from planner.errors import Message, ValidationFailed
from planner.models import Role, Urgency
from planner.passwords import PASSWORD_MAX, PASSWORD_MIN
from planner.timezones import check_year

TITLE_MAX = 200
PITCH_MAX = 5_000
BODY_MAX = 100_000
TAG_MAX = 40
TAGS_MAX = 20
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# The largest id (and revision number) a PostgreSQL integer column holds; SQLite's limit
# (2^63 - 1) is higher, so one rule serves both.
ID_MAX = 2**31 - 1
# Characters no text field takes: C0 and C1 controls (PostgreSQL cannot store NUL at all),
# a carriage return that does not end a line, and lone surrogates (not encodable as UTF-8).
# Line breaks (\n, \r\n) and tabs are text.
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]|\r(?!\n)")

M = TypeVar("M", bound=BaseModel)


def _shown(value: object) -> str:
    """`value` as text for a message, cut short: an input may be megabytes long."""
    text = str(value)
    return text if len(text) <= 24 else text[:24] + "..."


def id_problem(value: object) -> Message | None:
    """Why `value` (an int, or digits as text) is not an id, or None if it is one."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        digits = value.strip()
        # isascii: '²'.isdigit() holds but int('²') fails; the length bounds int()'s work.
        if digits.isascii() and digits.isdigit() and len(digits) <= 12:
            number = int(digits)
    if number is not None and 1 <= number <= ID_MAX:
        return None
    return Message(
        "not_an_id",
        "{value!r} is not an id: use a whole number from 1 to {max}",
        value=_shown(value),
        max=ID_MAX,
    )


def parse_id(value: object, field: str = "id") -> int:
    """`value` as an id (1 to ID_MAX), or ValidationFailed naming `field`."""
    problem = id_problem(value)
    if problem is not None:
        raise ValidationFailed({field: problem})
    return int(str(value).strip())


def text_problem(value: str) -> Message | None:
    """Why `value` cannot be stored as text (a control character), or None if it can."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    return Message(
        "control_character",
        "contains the control character {char}, which cannot be stored; only line breaks "
        "and tabs are allowed",
        char=f"U+{ord(found.group()[0]):04X}",
    )


def check_text(value: str, field: str) -> str:
    """`value` unchanged if it can be stored as text, else ValidationFailed naming `field`."""
    problem = text_problem(value)
    if problem is not None:
        raise ValidationFailed({field: problem})
    return value


def _storable(value: Any) -> None:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            raise ValueError(problem)
    elif isinstance(value, list | tuple):
        for item in value:
            _storable(item)
    elif isinstance(value, dict):
        for item in value.values():
            _storable(item)


class _Input(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        _storable(value)
        return value


def _clean_tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = re.split(r"[;,]", value)
    if not isinstance(value, list | tuple):
        raise ValueError(Message("not_text", "Input should be a valid string"))
    tags: list[str] = []
    for raw in value:
        tag = str(raw).strip().lstrip("#").strip()
        if not tag:
            continue
        if len(tag) > TAG_MAX:
            raise ValueError(
                Message(
                    "tag_too_long",
                    "tag {tag!r}... is longer than {max} characters",
                    tag=tag[:20],
                    max=TAG_MAX,
                )
            )
        if tag.lower() not in (t.lower() for t in tags):
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        raise ValueError(
            Message(
                "too_many_tags", "at most {max} tags, got {count}", max=TAGS_MAX, count=len(tags)
            )
        )
    return tags


class IdeaCreate(_Input):
    """What a contributor submits."""

    title: str = Field(min_length=3, max_length=TITLE_MAX)
    pitch: str = Field(min_length=10, max_length=PITCH_MAX)
    department: str = Field(min_length=1, max_length=80)
    target_audience: str = Field(default="", max_length=200)
    goal: str = Field(default="", max_length=500)
    source_url: str | None = Field(default=None, max_length=2000)
    urgency: Urgency = Urgency.normal
    tags: list[str] = Field(default_factory=list)

    @field_validator("source_url", mode="before")
    @classmethod
    def _url(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        parsed = urlparse(text)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(
                Message(
                    "not_a_url", "{value!r} is not a web address (http:// or https://)", value=text
                )
            )
        return text

    @field_validator("urgency", mode="before")
    @classmethod
    def _urgency(cls, value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower()
            aliases = {"niedrig": "low", "mittel": "normal", "hoch": "high", "": "normal"}
            key = aliases.get(key, key)
            if key not in {u.value for u in Urgency}:
                raise ValueError(
                    Message(
                        "not_an_urgency",
                        "{value!r} is not an urgency; use low, normal or high",
                        value=value,
                    )
                )
            return key
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str]:
        return _clean_tags(value)


class _TextInput(_Input):
    # Master texts and variants keep their exact whitespace (indentation, final newline);
    # only the short fields are trimmed, by their validators.
    model_config = ConfigDict(str_strip_whitespace=False, extra="forbid")

    @field_validator("title", "campaign", "note", mode="before", check_fields=False)
    @classmethod
    def _trim(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value


def _checked_due(value: date | None) -> date | None:
    """A due date as given, or the problem with its year."""
    if value is not None:
        check_year(value, value.isoformat())
    return value


class PieceCreate(_TextInput):
    """A piece an editor starts without an idea."""

    title: str = Field(min_length=3, max_length=TITLE_MAX)
    body: str = Field(default="", max_length=BODY_MAX)
    due_date: date | None = None
    campaign: str = Field(default="", max_length=120)
    tags: list[str] = Field(default_factory=list)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str]:
        return _clean_tags(value)

    @field_validator("due_date")
    @classmethod
    def _due(cls, value: date | None) -> date | None:
        return _checked_due(value)


class PieceUpdate(_TextInput):
    """A save of a piece: only the fields given change; `variants` maps channel id to text."""

    title: str | None = Field(default=None, min_length=3, max_length=TITLE_MAX)
    body: str | None = Field(default=None, max_length=BODY_MAX)
    variants: dict[int, str] | None = None
    due_date: date | None = None
    campaign: str | None = Field(default=None, max_length=120)
    tags: list[str] | None = None
    note: str = Field(default="", max_length=500)

    @field_validator("variants", mode="before")
    @classmethod
    def _channel_ids(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for channel_id in value:
                problem = id_problem(channel_id)
                if problem is not None:
                    raise ValueError(problem)
        return value

    @field_validator("variants")
    @classmethod
    def _variants(cls, value: dict[int, str] | None) -> dict[int, str] | None:
        if value is None:
            return None
        for channel_id, text in value.items():
            if len(text) > BODY_MAX:
                raise ValueError(
                    Message(
                        "variant_too_long",
                        "variant for channel {channel} is longer than {max} characters",
                        channel=channel_id,
                        max=BODY_MAX,
                    )
                )
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str] | None:
        return None if value is None else _clean_tags(value)

    @field_validator("due_date")
    @classmethod
    def _due(cls, value: date | None) -> date | None:
        return _checked_due(value)


def _checked_email(value: str | None) -> str | None:
    """An e-mail address as given, None for none, or the `not_an_email` problem."""
    if not value:
        return None
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        raise ValueError(Message("not_an_email", "{value!r} is not an e-mail address", value=value))
    return value


def checked_language(value: str) -> str:
    """A dashboard language as given ('de' or 'en'), or the `not_a_language` problem."""
    if value not in ("de", "en"):
        raise ValueError(
            Message(
                "not_a_language",
                "{value!r} is not a supported language; use 'de' or 'en'",
                value=value,
            )
        )
    return value


class UserEmail(_Input):
    """A new e-mail address for an account (None removes it)."""

    email: str | None = Field(default=None, max_length=254)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _checked_email(value.strip() if value else value)


class UserCreate(_Input):
    """A new account."""

    username: str = Field(max_length=64)
    display_name: str = Field(min_length=1, max_length=120)
    email: str | None = Field(default=None, max_length=254)
    role: Role
    department: str | None = None
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    locale: str = "de"
    timezone: str = "Europe/Berlin"

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        value = value.lower()
        if not USERNAME_RE.match(value):
            raise ValueError(
                Message(
                    "bad_username",
                    "use 2-64 lowercase letters, digits, '.', '_' or '-', starting with a letter "
                    "or digit",
                )
            )
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return _checked_email(value)

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        return checked_language(value)


# pydantic error types whose English text needs no values in another language.
_PLAIN_CODES = {
    "missing": "missing",
    "int_parsing": "not_a_whole_number",
    "int_type": "not_a_whole_number",
    "int_from_float": "not_a_whole_number",
    "date_parsing": "not_a_date",
    "date_type": "not_a_date",
    "date_from_datetime_parsing": "not_a_date",
    "date_from_datetime_inexact": "not_a_date",
    "string_type": "not_text",
    "string_unicode": "not_text",
}


def _message(error: Any) -> str:
    """One pydantic error as a Message coded by its `type`; an unmapped type keeps its text."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), Exception):
        reason = ctx["error"].args[0] if ctx["error"].args else ""
        if isinstance(reason, Message):
            return reason
    if kind == "string_too_long":
        return Message("too_long", "at most {max} characters", max=ctx["max_length"])
    if kind == "string_too_short":
        return Message("too_short", "at least {min} characters", min=ctx["min_length"])
    if kind == "extra_forbidden":
        return Message("unknown_field", "unknown field")
    if kind == "enum":
        return Message("not_one_of", "Input should be {expected}", expected=ctx["expected"])
    msg = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if kind in _PLAIN_CODES:
        return Message(_PLAIN_CODES[kind], msg)
    return msg


def parse_input(model: type[M], data: dict[str, Any]) -> M:
    """Validate `data` into `model`, or raise ValidationFailed with one message per field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        fields: dict[str, str] = {}
        for error in err.errors():
            name = ".".join(str(part) for part in error["loc"]) or "input"
            fields.setdefault(name, _message(error))
        raise ValidationFailed(fields) from err
