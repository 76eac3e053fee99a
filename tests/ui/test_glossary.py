"""The German catalogue keeps to the glossary in docs/glossary.md: one word for each thing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from planner.ui import i18n

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "glossary.md"
# German endings a word takes in a sentence (Version/Versionen, Kanal/Kanals).
_GERMAN_ENDINGS = r"(?:e|en|es|n|s|er)?"


@dataclass(frozen=True)
class Term:
    """One row of the glossary: the English term, its German words, the words not to use."""

    english: str
    german: tuple[str, ...]
    forbidden: tuple[str, ...]


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _words(cell: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in cell.split(",") if word.strip())


def read_glossary(text: str) -> list[Term]:
    """The terms of the glossary's table (the rows under its header line)."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header, _rule, *rows = lines
    assert _cells(header)[:3] == ["English", "Deutsch", "nicht verwenden"]
    return [Term(cells[0], _words(cells[1]), _words(cells[2])) for cells in map(_cells, rows)]


def _said(text: str, word: str) -> str | None:
    """`word` as `text` says it (with a German ending), if it does."""
    found = re.search(rf"(?<!\w){re.escape(word)}{_GERMAN_ENDINGS}(?!\w)", text)
    return found[0] if found else None


def _speaks_of(english: str, term: str) -> bool:
    return re.search(rf"\b{re.escape(term)}(?:s|es|ed|ing)?\b", english, re.IGNORECASE) is not None


def misused_words(terms: list[Term], german: dict[str, str], english: dict[str, str]) -> list[str]:
    """`key: word` for each German text that uses a word the glossary forbids (as it says it).

    A forbidden word no row owns is wrong everywhere. One that another row owns ("Beitrag"
    is a piece, not a post) is wrong where the English text speaks of this row's term and
    not of the owning row's.
    """
    owner = {word: term for term in terms for word in term.german}
    found = set()
    for key, text in german.items():
        for term in terms:
            for word in term.forbidden:
                said = _said(text, word)
                if said is None:
                    continue
                owning = owner.get(word)
                if owning is None or (
                    _speaks_of(english.get(key, ""), term.english)
                    and not _speaks_of(english.get(key, ""), owning.english)
                ):
                    found.add(f"{key}: {said}")
    return sorted(found)


TERMS = read_glossary(GLOSSARY.read_text(encoding="utf-8"))


def test_the_glossary_names_the_dashboards_words() -> None:
    by_english = {term.english: term for term in TERMS}
    assert by_english["piece"].german[0] == "Beitrag"
    assert by_english["post"].german[0] == "Post"
    assert by_english["revision"].german[0] == "Version"
    assert "Fassung" in by_english["revision"].forbidden
    assert {"Krisenmodus", "Krisenstopp"} <= set(by_english["freeze"].forbidden)
    # No word is both someone's term and forbidden for the same thing.
    assert all(not set(term.german) & set(term.forbidden) for term in TERMS)


def test_the_german_catalogue_uses_no_forbidden_synonym() -> None:
    assert misused_words(TERMS, i18n.catalogue("de"), i18n.catalogue("en")) == []


@pytest.mark.parametrize(
    ("german", "english", "expected"),
    [
        pytest.param("Krisenmodus: alles steht", "Crisis freeze", ["k: Krisenmodus"], id="freeze"),
        pytest.param("Die Fassungen 1 und 2", "Revisions 1 and 2", ["k: Fassungen"], id="revision"),
        pytest.param("Beitrag #3 ist verschoben", "Post #3 is moved", ["k: Beitrag"], id="post"),
        pytest.param("Beitrag #3 ist freigegeben", "Piece #3 is approved", [], id="piece"),
        pytest.param("Posts des Beitrags", "The piece's posts", [], id="both"),
        pytest.param("Beitragende:r", "Contributor", [], id="not-the-word"),
    ],
)
def test_a_forbidden_synonym_is_found(german: str, english: str, expected: list[str]) -> None:
    assert misused_words(TERMS, {"k": german}, {"k": english}) == expected
