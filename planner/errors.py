"""The planner's one error hierarchy; every error also inherits its nearest builtin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Message(str):
    """An English message that also carries a stable `code` and its `params`.

    It is the formatted English text, so the CLI and logs print it as before; the dashboard
    looks up `error.<code>` in the user's language and formats it with `params`.
    """

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, text: str, /, **params: Any) -> Message:
        """`text` is an English template, formatted with `params` (`{value!r}` works)."""
        self = super().__new__(cls, text.format(**params) if params else text)
        self.code = code
        self.params = params
        return self

    @classmethod
    def formatted(cls, code: str, text: str, params: Mapping[str, Any]) -> Message:
        """A Message from text that is already formatted (an adapter's finding)."""
        return _rebuild_message(code, text, dict(params))

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from the finished text: formatting it again would break on its braces.
        return (_rebuild_message, (self.code, str(self), self.params))

    def __repr__(self) -> str:
        return f"Message({self.code!r}, {str(self)!r})"


def _rebuild_message(code: str, text: str, params: dict[str, Any]) -> Message:
    message = Message(code, text)
    message.params = params
    return message


def message_data(message: Message) -> dict[str, Any]:
    """A message as JSON-ready data, to store and rebuild later with `message_from_data`
    (the dashboard can then still say it in the reader's language). Nested messages and
    times among its params are kept as such; any other param that JSON cannot hold is
    kept as its text."""
    return {
        "code": message.code,
        "text": str(message),
        "params": {name: _param_data(value) for name, value in message.params.items()},
    }


def _param_data(value: Any) -> Any:
    if isinstance(value, Message):
        return {"message": message_data(value)}
    if isinstance(value, datetime):
        key = getattr(value.tzinfo, "key", None)
        return {"time": value.isoformat(), "zone": key}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_param_data(v) for v in value]
    return str(value)


def message_from_data(data: Mapping[str, Any]) -> Message:
    """The message that `message_data` stored (its English text as it was then)."""
    params = {name: _param_from_data(value) for name, value in dict(data["params"]).items()}
    return _rebuild_message(str(data["code"]), str(data["text"]), params)


def _param_from_data(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"message"}:
        return message_from_data(value["message"])
    if isinstance(value, dict) and set(value) == {"time", "zone"}:
        at = datetime.fromisoformat(value["time"])
        try:
            return at.astimezone(ZoneInfo(value["zone"])) if value["zone"] else at
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return at  # a zone this machine does not know: the time with its offset
    if isinstance(value, list):
        return [_param_from_data(v) for v in value]
    return value


class PlannerError(Exception):
    """Base of every error the planner raises on purpose."""


class ValidationFailed(PlannerError, ValueError):
    """User input broke one or more field rules; `fields` maps field name to message."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        detail = "; ".join(f"{name}: {msg}" for name, msg in self.fields.items())
        super().__init__(f"Invalid input: {detail}")


class NotFound(PlannerError, LookupError):
    """The object does not exist, or the actor may not see it."""

    def __init__(self, kind: str, key: object, hint: str = "") -> None:
        self.kind = kind
        self.key = key
        super().__init__(f"{kind} {key!r} not found" + (f" ({hint})" if hint else ""))


class PermissionDenied(PlannerError, PermissionError):
    """The acting user's role or department does not allow the action."""


class AuthenticationFailed(PlannerError, PermissionError):
    """Wrong username or password; deliberately does not say which."""

    def __init__(self) -> None:
        super().__init__("Wrong username or password")


class SignInThrottled(PlannerError, PermissionError):
    """Too many failed sign-ins from this client or for this name: wait `seconds` (about).

    The same for every name, known or not; it never says which account exists.
    """

    def __init__(self, seconds: int) -> None:
        self.seconds = seconds
        super().__init__(f"Too many sign-in attempts; try again in about {seconds} s")


class AccountDisabled(PlannerError, PermissionError):
    """The account was disabled by an admin."""

    def __init__(self, username: str) -> None:
        self.username = username
        super().__init__(f"Account {username!r} is disabled")


class IllegalTransition(PlannerError, ValueError):
    """A workflow move that the current state does not allow."""

    def __init__(
        self, kind: str, obj_id: object, state: str, action: str, allowed: Sequence[str]
    ) -> None:
        self.kind = kind
        self.obj_id = obj_id
        self.state = state
        self.action = action
        self.allowed = list(allowed)
        allowed_text = ", ".join(self.allowed) if self.allowed else "none"
        super().__init__(
            f"Cannot {action} {kind} {obj_id} while it is {state!r}; allowed: {allowed_text}"
        )

    def as_message(self) -> Message:
        """This refusal as a Message coded `illegal_move`, for a list of problems (a CSV
        file's lines); the dashboard says it as it says a refused move."""
        return Message.formatted(
            "illegal_move",
            str(self),
            {
                "kind": self.kind,
                "obj_id": self.obj_id,
                "state": self.state,
                "action": self.action,
                "allowed": self.allowed,
            },
        )


class FourEyesViolation(PermissionDenied):
    """Somebody tried to approve a version they wrote or edited."""


class EditConflict(PlannerError, RuntimeError):
    """Somebody else saved first; `attempted` keeps what this user tried to save."""

    def __init__(
        self, kind: str, obj_id: object, expected: int, current: int, attempted: Any
    ) -> None:
        self.kind = kind
        self.obj_id = obj_id
        self.expected = expected
        self.current = current
        self.attempted = attempted
        kept = " Your text was kept; reload and merge it." if attempted is not None else ""
        super().__init__(
            f"{kind} {obj_id} was changed by someone else: you worked on version {expected}, "
            f"it is now at version {current}.{kept}"
        )


class AlreadySent(PlannerError, ValueError):
    """A form was sent again with the one-time token an earlier send already spent.

    Nothing was created the second time. `action` and `object_id` name what the first send
    created (`object_id` is None when the token belongs to another user or form).
    """

    def __init__(self, action: str, object_id: int | None) -> None:
        self.action = action
        self.object_id = object_id
        made = f": it created {action} #{object_id}" if object_id is not None else ""
        super().__init__(f"This form was already sent{made}; nothing was created again")


class NothingToRestore(ValidationFailed):
    """The revision to restore has exactly the content the piece has now."""

    def __init__(self, piece_id: object, number: int, current: int) -> None:
        self.piece_id = piece_id
        self.number = number
        self.current = current
        self.reason = Message(
            "nothing_to_restore",
            "revision {number} of piece {piece_id} has the same content as the current "
            "revision {current}: nothing to restore",
            number=number,
            piece_id=piece_id,
            current=current,
        )
        super().__init__({"revision": self.reason})


class TimeInputError(PlannerError, ValueError):
    """A date or time the user entered cannot be used (malformed, nonexistent, ambiguous).

    `message` is the English text, a `Message` with a code where the dashboard translates it.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class CsvImportFailed(PlannerError, ValueError):
    """A CSV file had broken rows; nothing was imported. `problems` lists (line, message)."""

    def __init__(self, problems: Sequence[tuple[int, str]]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  line {line}: {msg}" for line, msg in self.problems)
        super().__init__(
            f"Nothing was imported: {len(self.problems)} problem(s) in the file\n{lines}"
        )


class ExportFailed(PlannerError, OSError):
    """An export could not be written to `path`; whatever was there before is unchanged.

    `reason` says why in plain words (permission denied, no such directory, disk full ...).
    """

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot write {self.path!r}: {reason}; the file was left unchanged")


class RestoreRefused(PlannerError, ValueError):
    """A backup cannot be restored here (not a planner backup, another database type, a
    schema this planner does not know, or a database that holds data); nothing changed."""


class RestoreFailed(PlannerError, OSError):
    """A restore broke off (a tool or the database failed); the database was left as it was."""

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot restore {self.path!r}: {reason}; the database was left unchanged")


class ConfigurationError(PlannerError, ValueError):
    """The planner's own configuration (environment, settings) is wrong."""


class ReplyFailed(PlannerError, RuntimeError):
    """The channel did not take a reply; `message` is its own words, `retryable` whether
    trying again later may succeed."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        self.message = message
        self.retryable = retryable
        super().__init__(f"The reply was not sent: {message}")
