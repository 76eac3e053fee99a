"""Word diffs: the runs rebuild both texts, and a change reads as one change."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from planner.textdiff import Change, word_diff


def _sides(changes: list[Change]) -> tuple[str, str]:
    old = "".join(c.text for c in changes if c.op != "insert")
    new = "".join(c.text for c in changes if c.op != "delete")
    return old, new


@given(st.text(max_size=80), st.text(max_size=80))
def test_the_runs_rebuild_the_old_and_the_new_text(old: str, new: str) -> None:
    changes = word_diff(old, new)
    assert _sides(changes) == (old, new)
    assert all(c.text for c in changes)
    assert all(a.op != b.op for a, b in pairwise(changes))


def test_an_unchanged_text_is_one_kept_run() -> None:
    assert word_diff("Größe zählt.", "Größe zählt.") == [Change("equal", "Größe zählt.")]


def test_a_changed_word_is_marked_alone() -> None:
    assert word_diff("Das Fest ist am Montag.", "Das Fest ist am Dienstag.") == [
        Change("equal", "Das Fest ist am "),
        Change("delete", "Montag"),
        Change("insert", "Dienstag"),
        Change("equal", "."),
    ]


def test_words_replaced_around_a_space_read_as_one_change() -> None:
    assert word_diff("Wir feiern heute.", "Zweite Fassung heute.") == [
        Change("delete", "Wir feiern"),
        Change("insert", "Zweite Fassung"),
        Change("equal", " heute."),
    ]


def test_a_changed_punctuation_mark_is_its_own_change() -> None:
    assert word_diff("Kommt alle.", "Kommt alle!") == [
        Change("equal", "Kommt alle"),
        Change("delete", "."),
        Change("insert", "!"),
    ]
