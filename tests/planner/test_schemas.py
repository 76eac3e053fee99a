"""parse_input: pydantic's field errors become coded Messages with their values."""

from __future__ import annotations

from typing import Any

import pytest

from planner.errors import Message, ValidationFailed
from planner.schemas import IdeaCreate, PieceCreate, PieceUpdate, UserCreate, parse_input

IDEA = {"title": "Azubi-Tag", "pitch": "Azubis führen durch das Werk", "department": "HR"}


def _fields(model: Any, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        parse_input(model, data)
    return info.value.fields


@pytest.mark.parametrize(
    ("model", "data", "field", "code", "params", "text"),
    [
        pytest.param(
            IdeaCreate,
            {**IDEA, "pitch": "kurz"},
            "pitch",
            "too_short",
            {"min": 10},
            "at least 10 characters",
            id="string-too-short",
        ),
        pytest.param(
            IdeaCreate,
            {**IDEA, "title": "x" * 201},
            "title",
            "too_long",
            {"max": 200},
            "at most 200 characters",
            id="string-too-long",
        ),
        pytest.param(
            IdeaCreate,
            {"title": "Azubi-Tag", "pitch": "Azubis führen durch das Werk"},
            "department",
            "missing",
            {},
            "Field required",
            id="missing",
        ),
        pytest.param(
            IdeaCreate,
            {**IDEA, "colour": "red"},
            "colour",
            "unknown_field",
            {},
            "unknown field",
            id="extra-forbidden",
        ),
        pytest.param(
            IdeaCreate,
            {**IDEA, "source_url": "kein-link"},
            "source_url",
            "not_a_url",
            {"value": "kein-link"},
            "'kein-link' is not a web address (http:// or https://)",
            id="value-error-with-a-message",
        ),
        pytest.param(
            IdeaCreate,
            {**IDEA, "urgency": 3},
            "urgency",
            "not_one_of",
            {"expected": "'low', 'normal' or 'high'"},
            "Input should be 'low', 'normal' or 'high'",
            id="enum",
        ),
        pytest.param(
            IdeaCreate,
            {**IDEA, "tags": ",".join(f"t{i}" for i in range(21))},
            "tags",
            "too_many_tags",
            {"max": 20, "count": 21},
            "at most 20 tags, got 21",
            id="too-many-tags",
        ),
        pytest.param(
            PieceCreate,
            {"title": "Messe", "due_date": "morgen"},
            "due_date",
            "not_a_date",
            {},
            None,
            id="date-parsing",
        ),
        pytest.param(
            PieceUpdate,
            {"variants": {1: "x" * 100_001}},
            "variants",
            "variant_too_long",
            {"channel": 1, "max": 100_000},
            "variant for channel 1 is longer than 100000 characters",
            id="variant-too-long",
        ),
        pytest.param(
            UserCreate,
            {
                "username": "Ö",
                "display_name": "Ö",
                "role": "editor",
                "password": "x" * 12,
            },
            "username",
            "bad_username",
            {},
            None,
            id="username",
        ),
    ],
)
def test_a_field_error_is_a_coded_message(
    model: Any,
    data: dict[str, Any],
    field: str,
    code: str,
    params: dict[str, Any],
    text: str | None,
) -> None:
    message = _fields(model, data)[field]
    assert isinstance(message, Message)
    assert (message.code, message.params) == (code, params)
    if text is not None:
        assert message == text


def test_an_unmapped_pydantic_error_keeps_its_english_text() -> None:
    message = _fields(PieceUpdate, {"variants": ["not", "a", "dict"]})["variants"]
    assert not isinstance(message, Message)
    assert message.startswith("Input should be a valid dictionary")
