"""Dashboard texts in German and English, kept in locale files rather than in code.

`locales/de.json` holds the shared texts; each page may keep its own in
`locales/de/PAGE.json` (and the same for `en`). A key defined twice is an error.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from planner.errors import Message

if TYPE_CHECKING:
    from planner.planning import Hold

LANGUAGES = {"de": "Deutsch", "en": "English"}
DEFAULT_LANGUAGE = "de"
_LOCALES = Path(__file__).resolve().parent / "locales"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every text of one language, by key."""
    data: dict[str, str] = {}
    for path in [_LOCALES / f"{lang}.json", *sorted((_LOCALES / lang).glob("*.json"))]:
        pairs: list[tuple[str, str]] = json.loads(
            path.read_text(encoding="utf-8"), object_pairs_hook=list
        )
        texts = dict(pairs)
        # Within one file too: JSON keeps the last of two equal keys without a word.
        repeated = {key for key, times in Counter(key for key, _ in pairs).items() if times > 1}
        twice = sorted(repeated | (set(texts) & set(data)))
        if twice:
            raise ValueError(f"{path.name}: texts defined twice for {lang!r}: {twice}")
        data.update(texts)
    return data


# Values that are amounts get the language's digit grouping (de 10.000, en 10,000);
# numbers that name something (ids, revisions) never do.
QUANTITIES = frozenset(
    {
        "count", "total", "pages", "limit", "max", "min", "used", "size", "done",
        "due", "held", "failed", "needs_check", "missed", "awaiting_manual",
    }
)  # fmt: skip
_GROUPING = {"de": ".", "en": ","}


def format_number(lang: str, value: int) -> str:
    """An amount with the digit grouping of `lang`: 10.000 in German, 10,000 in English."""
    grouped = f"{value:,}"
    return grouped.replace(",", _GROUPING.get(lang, _GROUPING[DEFAULT_LANGUAGE]))


def _localised(lang: str, values: dict[str, object]) -> dict[str, object]:
    # A value that is itself a Message (a field's problem inside a CSV line's) is said in
    # `lang` too.
    return {
        name: format_number(lang, value)
        if name in QUANTITIES and isinstance(value, int) and not isinstance(value, bool)
        else render_message(lang, value)
        if isinstance(value, Message)
        else value
        for name, value in values.items()
    }


def translate(lang: str, key: str, **values: object) -> str:
    """The text for `key` in `lang` (falling back to German, then to the key itself)."""
    text = catalogue(lang if lang in LANGUAGES else DEFAULT_LANGUAGE).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    return text.format(**_localised(lang, values)) if values else text


def hold_text(lang: str, hold: Hold) -> str:
    """Why the engine holds a post, in `lang` (a rule's hold names the rule's finding)."""
    from planner.planning import RuleHold  # planning's imports reach this module

    if isinstance(hold, RuleHold):
        return translate(lang, "hold.rule", finding=hold.message)
    return translate(lang, f"hold.{hold.name}")


def render_message(lang: str, message: str) -> str:
    """A domain message in `lang`: its `error.<code>` text when it has one, else as it came."""
    if not isinstance(message, Message):
        return message
    text = catalogue(lang if lang in LANGUAGES else DEFAULT_LANGUAGE).get(f"error.{message.code}")
    if text is None:
        return str(message)
    return text.format(**_localised(lang, message.params))
