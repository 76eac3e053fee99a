"""The engine's own explanations on posts and ledger rows, kept so that the dashboard can
say them in the reader's language.

The text columns (`posts.last_error`, `publish_attempts.error`) keep the English text, as
every reader of the database sees it; beside them (`posts.last_error_reason`,
`publish_attempts.reason`) the engine keeps the same explanation as `errors.message_data`
JSON. A channel's own words that the engine passes on stay as the channel gave them,
inside the engine's sentence.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

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
