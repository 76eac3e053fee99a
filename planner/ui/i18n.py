"""Dashboard texts in German and English, kept in locales/*.json rather than in code."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = {"de": "Deutsch", "en": "English"}
DEFAULT_LANGUAGE = "de"
_LOCALES = Path(__file__).resolve().parent / "locales"


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every text of one language, by key."""
    data: dict[str, str] = json.loads((_LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def translate(lang: str, key: str, **values: object) -> str:
    """The text for `key` in `lang` (falling back to German, then to the key itself)."""
    text = catalogue(lang if lang in LANGUAGES else DEFAULT_LANGUAGE).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(key, key)
    return text.format(**values) if values else text
