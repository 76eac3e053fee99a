"""Workflow moves in the dashboard: every move a person can take is named in both languages,
and a page offers as buttons only the moves the workflow table allows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from planner import workflow
from planner.models import PieceStatus, PostStatus, Role
from planner.ui import i18n, moves


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_move_a_person_can_take_is_named_in_both_languages(lang: str) -> None:
    texts = i18n.catalogue(lang)
    for kind, table in workflow.TABLES.items():
        assert f"moves.kind.{kind}" in texts, kind
        for (_state, action), move in table.items():
            if move.roles:
                assert f"moves.{kind}.{action}" in texts, (kind, action)


def test_buttons_are_the_moves_the_table_allows_less_those_that_come_with_saving() -> None:
    assert moves.offered("piece", PieceStatus.draft, Role.editor) == ["submit", "archive"]
    assert moves.offered("piece", PieceStatus.approved, Role.approver) == []
    assert moves.offered("post", PostStatus.needs_check, Role.admin) == [
        "cancel",
        "retry",
        "mark_posted",
    ]
    assert moves.offered("post", PostStatus.publishing, Role.admin) == ["cancel"]
    assert moves.offered("post", PostStatus.failed, Role.approver) == []


# Where the domain names what it could not find: NotFound("kind", ...), and the lookups by
# name (planner.names), which pass the kind on.
_NOT_FOUND = re.compile(r"""(?:NotFound|get_named|unknown_name)\((?:[^()"]*?,\s*)?"([a-z_ ]+)\"""")


def _kinds_not_found() -> set[str]:
    root = Path(__file__).resolve().parents[2] / "planner"
    return {
        kind
        for path in root.rglob("*.py")
        for kind in _NOT_FOUND.findall(path.read_text(encoding="utf-8"))
    }


@pytest.mark.parametrize("lang", ["de", "en"])
def test_everything_that_may_not_be_found_is_named_in_both_languages(lang: str) -> None:
    kinds = _kinds_not_found()
    # The scan finds the kinds it must: one raised directly, one passed by a lookup by name.
    assert {"piece", "inbox item", "department", "audience"} <= kinds
    texts = i18n.catalogue(lang)
    assert sorted(k for k in kinds if f"moves.kind.{k}" not in texts) == []
