"""The dashboard's texts: both languages say the same things, each text defined once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner.ui import i18n


def test_german_and_english_have_the_same_texts() -> None:
    german, english = i18n.catalogue("de"), i18n.catalogue("en")
    assert sorted(set(german) - set(english)) == []
    assert sorted(set(english) - set(german)) == []
    assert all(value.strip() for value in [*german.values(), *english.values()])


def test_a_text_defined_in_two_locale_files_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "de").mkdir()
    (tmp_path / "de.json").write_text(json.dumps({"a": "A"}), encoding="utf-8")
    (tmp_path / "de" / "page.json").write_text(json.dumps({"a": "B"}), encoding="utf-8")
    monkeypatch.setattr(i18n, "_LOCALES", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"page.json: texts defined twice for 'de': \['a'\]"):
            i18n.catalogue("de")
    finally:
        i18n.catalogue.cache_clear()


def test_a_missing_english_text_falls_back_to_german_then_to_the_key() -> None:
    assert i18n.translate("en", "nav.my_ideas") == "My ideas"
    assert i18n.translate("fr", "nav.my_ideas") == i18n.translate("de", "nav.my_ideas")
    assert i18n.translate("en", "no.such.text") == "no.such.text"
