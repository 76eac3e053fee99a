"""Session-state and widget keys: each named once, and no two names for the same key."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from planner.ui import keys

KEYS_FILE = Path(keys.__file__)


def _assigned_names() -> list[str]:
    tree = ast.parse(KEYS_FILE.read_text(encoding="utf-8"))
    return [
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]


def test_every_key_constant_is_defined_once() -> None:
    names = _assigned_names()
    assert names, "keys.py defines no constants"
    assert [name for name, n in Counter(names).items() if n > 1] == []


def test_no_two_key_constants_share_a_value() -> None:
    values = {name: getattr(keys, name) for name in _assigned_names()}
    assert all(isinstance(value, str) for value in values.values())
    shared = {
        value: sorted(name for name, v in values.items() if v == value)
        for value, n in Counter(values.values()).items()
        if n > 1
    }
    assert shared == {}
