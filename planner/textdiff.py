"""What changed in a text, word by word: the kept, removed and added runs, in reading order.

An approver reads the new text with its changes marked, not a line-based `+`/`-` diff:
a text is split into words, white space and single punctuation marks, and the runs that
differ are the smallest ones that turn the old text into the new one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

# A word (letters, digits, underscores, in any script), a run of white space, or one
# other character: a changed comma is one change, not a changed word.
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")

Op = Literal["equal", "delete", "insert"]


@dataclass(frozen=True)
class Change:
    """A run of text that both versions share (`equal`), or that one removed or added."""

    op: Op
    text: str


def word_diff(old: str, new: str) -> list[Change]:
    """The runs that turn `old` into `new`; a replaced run is its removal, then its addition.

    Joining the `equal` and `delete` runs gives `old`; the `equal` and `insert` runs, `new`.
    White space alone between two changes joins them into one ("Wir feiern" replaced by
    "Zweite Fassung" reads as one change, not two words swapped around a space kept).
    Neighbouring runs of one kind are merged, and empty runs are left out.
    """
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    opcodes = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    changes: list[Change] = []
    removed = added = ""
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        kept = "".join(a[i1:i2])
        between = 0 < index < len(opcodes) - 1 and (removed or added)
        if tag == "equal" and not (between and kept.isspace()):
            _add(changes, "delete", removed)
            _add(changes, "insert", added)
            removed = added = ""
            _add(changes, "equal", kept)
        elif tag == "equal":
            removed, added = removed + kept, added + kept
        else:
            removed, added = removed + kept, added + "".join(b[j1:j2])
    _add(changes, "delete", removed)
    _add(changes, "insert", added)
    return changes


def _add(changes: list[Change], op: Op, text: str) -> None:
    """Append a run, merged into the last one if that is of the same kind; never an empty one."""
    if not text:
        return
    if changes and changes[-1].op == op:
        changes[-1] = Change(op, changes[-1].text + text)
    else:
        changes.append(Change(op, text))
