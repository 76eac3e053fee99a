"""The engine's own explanations on posts and ledger rows, kept so that the dashboard can
say them in the reader's language.

An audit event keeps only its note's English text: `audit_note` recognises the engine's
own notes there, so the activity log can say them in the reader's language too.

The text columns (`posts.last_error`, `publish_attempts.error`) keep the English text, as
every reader of the database sees it; beside them (`posts.last_error_reason`,
`publish_attempts.reason`) the engine keeps the same explanation as `errors.message_data`
JSON. A channel's own words that the engine passes on stay as the channel gave them,
inside the engine's sentence.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from planner.errors import Message, message_data, message_from_data

log = logging.getLogger("planner.publishing")


def span(duration: timedelta) -> Message:
    """A duration as people write it: whole hours, else whole minutes, else seconds."""
    seconds = round(duration.total_seconds())
    if seconds and seconds % 3600 == 0:
        hours = seconds // 3600
        if hours == 1:
            return Message("span_hour", "1 hour")
        return Message("span_hours", "{count} hours", count=hours)
    if seconds and seconds % 60 == 0:
        minutes = seconds // 60
        if minutes == 1:
            return Message("span_minute", "1 minute")
        return Message("span_minutes", "{count} minutes", count=minutes)
    if seconds == 1:
        return Message("span_second", "1 second")
    return Message("span_seconds", "{count} seconds", count=seconds)


def stored(note: str | None) -> str | None:
    """The JSON to keep beside `note`: None unless the engine said it as a Message."""
    if not isinstance(note, Message):
        return None
    return json.dumps(message_data(note), separators=(",", ":"))


def said(text: str | None, data: str | None) -> str:
    """What a post or ledger row says: the stored Message when it is the explanation of
    `text` (its English text is `text`), else `text` as it is (a channel's own words, a
    row written before explanations were kept, or one whose JSON cannot be read)."""
    if not text:
        return ""
    if not data:
        return text
    try:
        message = message_from_data(json.loads(data))
    except (ValueError, TypeError, KeyError, AttributeError):
        log.warning("a stored explanation cannot be read; its text is shown as it is")
        return text
    return message if str(message) == text else text


# The engine's notes on audit events, by their English templates (as the engine writes
# them in deliver.py, record.py and recovery.py): `{name}` is any text, `{name:%...}` a
# moment in UTC written with that format.
_TEMPLATES = (
    ("publish_gave_up", "gave up after {count} attempts: {error}"),
    ("publish_gave_up_once", "gave up after 1 attempt: {error}"),
    ("publish_rate_limited_gave_up", "rate limited {count} times; gave up: {error}"),
    (
        "publish_wait_too_late",
        "the channel asked to wait until {until} UTC, later than the post may go out "
        "({latest} UTC): {error}",
    ),
    (
        "publish_may_have_gone_out",
        "{error}; it may have gone out, and this channel is not known to drop repeats, so it "
        "is not sent again: check whether it was published",
    ),
    (
        "publish_worker_stopped_check",
        "worker {worker} stopped mid-request; {channel} is not known to drop repeats, so "
        "check whether it went out",
    ),
    (
        "publish_worker_stopped_same_key",
        "worker {worker} stopped; sending again with the same idempotency key",
    ),
    ("publish_worker_stopped", "worker {worker} stopped; sending again"),
    (
        "publish_piece_changed",
        "the piece changed after revision {revision} was approved; it needs approval again",
    ),
    ("publish_channel_paused", "the channel is paused until {until:%Y-%m-%d %H:%M:%S} UTC"),
    ("publish_revision_missing", "approved revision {revision} of the piece is missing"),
    ("publish_text_refused", "{channel} would refuse the text: {findings}"),
    ("publish_not_at_channel", "the channel has no such post: sending it again"),
    (
        "publish_lease_ran_out",
        "this worker's lease on the post ran out before its request could start",
    ),
    ("publish_worker_stopping", "the worker is stopping; the post is released for the next one"),
    ("publish_channel_waits", "the channel asked to wait (rate limit)"),
    ("publish_unconfirmed", "the database could not confirm the post may go out"),
    (
        "publish_post_changed",
        "the post was changed (cancelled or taken over) before its request started",
    ),
    ("publish_frozen", "publishing was frozen before the request started"),
    ("publish_piece_draft", "the piece is draft now"),
    ("publish_piece_in_review", "the piece is in_review now"),
    ("publish_piece_changes_requested", "the piece is changes_requested now"),
    ("publish_piece_archived", "the piece is archived now"),
    ("publish_channel_disabled", "the channel was disabled"),
    ("publish_channel_reconnect", "the channel needs to be reconnected"),
)
_FIELD = re.compile(r"\{(\w+)(?::([^}]*))?\}")
_NUMBERS = frozenset({"count", "revision"})
# How Python writes a timedelta: "2:00:00", "1 day, 0:30:00", "0:00:05.500000".
_LATE = re.compile(r"more than (?:(\d+) days?, )?(\d+):(\d\d):(\d\d)(?:\.\d+)? late")


def _pattern(template: str) -> tuple[re.Pattern[str], dict[str, str]]:
    """A template as a pattern that matches its texts, and the format of each moment."""
    parts, formats, last = [], {}, 0
    for found in _FIELD.finditer(template):
        parts += [re.escape(template[last : found.start()]), f"(?P<{found[1]}>.+?)"]
        if found[2]:
            formats[found[1]] = found[2]
        last = found.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts), re.DOTALL), formats


_PATTERNS = [(code, *_pattern(template)) for code, template in _TEMPLATES]
# Notes the engine writes on audit events only.
_FIXED = {
    str(message): message
    for message in (
        Message(
            "publish_arrived_after_cancel",
            "its request had started before the post was cancelled, and it went out",
        ),
        Message("publish_found_after_lease", "its request succeeded after the lease was lost"),
    )
}


def audit_note(note: str) -> Message | None:
    """The engine's own note on an audit event as the Message it was, recognised from its
    English text; None for any other note (a person's, a channel's own words)."""
    if note in _FIXED:
        return _FIXED[note]
    if late := _LATE.fullmatch(note):
        days, hours, minutes, seconds = (int(part or 0) for part in late.groups())
        lateness = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        return Message("note_more_than_late", "more than {lateness} late", lateness=span(lateness))
    for code, pattern, formats in _PATTERNS:
        found = pattern.fullmatch(note)
        if found is None:
            continue
        try:
            params = {
                name: _param(name, value, formats.get(name))
                for name, value in found.groupdict().items()
            }
        except ValueError:
            continue  # a moment that is none: another note that happens to look alike
        return Message.formatted(code, note, params)
    return None


def _param(name: str, value: str, time_format: str | None) -> Any:
    """A value read back from a note: a count or revision as a number, a moment as a UTC
    time (ValueError when it is none), anything else as the text it was."""
    if time_format:
        return datetime.strptime(value, time_format).replace(tzinfo=UTC)
    if name in _NUMBERS and value.isdigit():
        return int(value)
    return value
