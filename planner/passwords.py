"""What a new password must be: long enough, not too long, and not trivially guessable.

Refused are very common passwords (the list in `common_passwords.txt`, also with digits or
symbols added at the start or end and with the usual letter swaps such as '@' for 'a'),
repetitive or sequential ones ('aaaaaaaaaa', 'abcabcabcabc', '1234567890', 'qwertzuiop')
and ones that contain the account's username or a part of its display name.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from planner.errors import Message

PASSWORD_MIN = 10
# Long passphrases are welcome; the bound keeps a single sign-in from hashing megabytes.
PASSWORD_MAX = 256
# Names shorter than this are not looked for (they turn up in random passwords by chance).
_NAME_MIN = 4
_DISTINCT_MIN = 4

_LIST = Path(__file__).resolve().parent / "common_passwords.txt"
_SWAPS = str.maketrans({"@": "a", "4": "a", "0": "o", "3": "e", "1": "i", "!": "i", "$": "s",
                        "5": "s", "7": "t", "€": "e", "8": "b"})  # fmt: skip
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_LEAD = re.compile(r"^[\W\d_]+")
_TRAIL = re.compile(r"[\W\d_]+$")
# How many added digits or symbols at either end are looked behind for a listed password.
_EDGE_MAX = 12
# Runs a password must not be a piece of: alphabet, digits, German and English keyboard rows.
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertzuiopüasdfghjklöäyxcvbnm",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6zhn7ujm8ik9ol0p",
    "1qay2wsx3edc4rfv5tgb6zhn7ujm8ik9ol0p",
)


@cache
def common_passwords() -> frozenset[str]:
    """The built-in list of very common passwords and password words, lowercase."""
    lines = _LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def _is_repetitive(text: str) -> bool:
    if len(set(text)) < _DISTINCT_MIN:
        return True
    # A shorter piece said again and again ('abcabcabcabc', 'passwortpasswort').
    return len(text) > 1 and text in (text + text)[1:-1]


def _is_sequence(text: str) -> bool:
    if len(text) < 3:
        return False
    return any(text in run or text in run[::-1] for run in _SEQUENCES)


def _is_common(lowered: str) -> bool:
    """Whether `lowered`, less any digits or symbols added at its start or end, is listed."""
    known = common_passwords()
    lead = len(lowered) - len(_LEAD.sub("", lowered))
    trail = len(lowered) - len(_TRAIL.sub("", lowered))
    for i in range(min(lead, _EDGE_MAX) + 1):
        for j in range(min(trail, _EDGE_MAX) + 1):
            core = lowered[i : len(lowered) - j]
            if core and (core in known or core.translate(_SWAPS) in known):
                return True
    return False


def _names(username: str, display_name: str) -> set[str]:
    parts = {username.strip().lower()}
    parts |= {p for p in re.split(r"[\W_]+", display_name.lower()) if p}
    parts |= {p for p in re.split(r"[\W_]+", username.lower()) if p}
    return {p for p in parts if len(p) >= _NAME_MIN}


def password_problem(password: str, *, username: str = "", display_name: str = "") -> str | None:
    """Why `password` may not be set for this account (a coded Message), or None when it may."""
    if len(password) < PASSWORD_MIN:
        return Message("too_short", "at least {min} characters", min=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return Message("too_long", "at most {max} characters", max=PASSWORD_MAX)
    lowered = password.lower()
    squeezed = re.sub(r"\s+", "", lowered)
    base = _EDGES.sub("", squeezed)
    if _is_common(lowered) or _is_common(squeezed):
        return Message(
            "password_common",
            "this is one of the most common passwords (digits or symbols around it do not "
            "help); choose another",
        )
    # The part between added digits or symbols counts too ('aaaaaa1234'), when long enough.
    shapes = {squeezed, base} if len(base) >= 6 else {squeezed}
    if any(_is_repetitive(t) or _is_sequence(t) for t in shapes):
        return Message(
            "password_pattern",
            "this password is a repeated or sequential pattern (like 'aaaaaaaaaa', "
            "'abcabcabcabc' or '1234567890'); choose another",
        )
    if any(name in squeezed for name in _names(username, display_name)):
        return Message(
            "password_has_name", "a password must not contain the username or the person's name"
        )
    return None
