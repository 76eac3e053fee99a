"""The dashboard's texts: both languages say the same things, each text defined once."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from string import Formatter

import pytest

import planner
import publishers
from planner import schemas
from planner.errors import Message
from planner.publishing import record as publishing_record
from planner.ui import i18n


def test_german_and_english_have_the_same_texts() -> None:
    german, english = i18n.catalogue("de"), i18n.catalogue("en")
    assert sorted(set(german) - set(english)) == []
    assert sorted(set(english) - set(german)) == []
    assert all(value.strip() for value in [*german.values(), *english.values()])


def _refused_twice(locales: Path, monkeypatch: pytest.MonkeyPatch, main: str, page: str) -> None:
    """German made of `main` (de.json) and `page` (de/page.json) is refused for "a"."""
    (locales / "de").mkdir()
    (locales / "de.json").write_text(main, encoding="utf-8")
    (locales / "de" / "page.json").write_text(page, encoding="utf-8")
    monkeypatch.setattr(i18n, "_LOCALES", locales)
    i18n.catalogue.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"page.json: texts defined twice for 'de': \['a'\]"):
            i18n.catalogue("de")
    finally:
        i18n.catalogue.cache_clear()


def test_a_text_defined_in_two_locale_files_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _refused_twice(tmp_path, monkeypatch, json.dumps({"a": "A"}), json.dumps({"a": "B"}))


def test_a_text_defined_twice_in_one_locale_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # JSON itself keeps the last of the two without a word: the first would be lost.
    page = '{"a": "Wie oft", "b": "B", "a": "{total} insgesamt"}'
    _refused_twice(tmp_path, monkeypatch, "{}", page)


def test_a_missing_english_text_falls_back_to_german_then_to_the_key() -> None:
    assert i18n.translate("en", "nav.my_ideas") == "My ideas"
    assert i18n.translate("fr", "nav.my_ideas") == i18n.translate("de", "nav.my_ideas")
    assert i18n.translate("en", "no.such.text") == "no.such.text"


def _raised_messages() -> dict[str, set[str]]:
    """Every Message the planner builds: code -> the names of the values it is given."""
    found: dict[str, set[str]] = {
        code: set()
        for code in schemas._PLAIN_CODES.values()  # built from pydantic's type
    }
    for path in sorted(Path(planner.__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "_whole_number"
                and isinstance(node.args[0], ast.Constant)
            ):
                # org_settings' whole-number checks: the code, given value, low and high.
                found.setdefault(str(node.args[0].value), set()).update({"value", "low", "high"})
                continue
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Message"):
                continue
            code = node.args[0] if node.args else None
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                found.setdefault(code.value, set()).update(
                    k.arg for k in node.keywords if k.arg is not None
                )
            else:
                # A code must be readable here, or this test could not check its texts.
                assert (path.name, ast.unparse(code) if code else "") in {
                    ("errors.py", "code"),
                    ("schemas.py", "_PLAIN_CODES[kind]"),
                    ("org_settings.py", "code"),  # _whole_number's, read above
                }
    found.update(_adapter_problems())
    found.update(_adapter_answers())
    found.update(_adapter_config_errors())
    return found


def _adapter_config_errors() -> dict[str, set[str]]:
    """Every coded ConfigError the adapters raise: planner code `config_<code>` -> values.

    A setting's `Rule` names the code of the ConfigError it raises for a value it refuses.
    """
    found: dict[str, set[str]] = {}
    for path in sorted(Path(publishers.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            called = getattr(getattr(node, "func", None), "id", None)
            if not isinstance(node, ast.Call) or called not in {"ConfigError", "Rule"}:
                continue
            named = {k.arg: k.value for k in node.keywords}
            if called == "Rule":
                code = node.args[0] if node.args else named.get("code")
                assert isinstance(code, ast.Constant), ast.unparse(node)
                found[f"config_{code.value}"] = {"value", *({"low", "high"} & set(named))}
                continue
            code = named.get("code")
            if code is None:
                continue  # an adapter's own check: said in English as it is
            if (path.name, ast.unparse(code)) == ("base.py", "self.code"):
                continue  # the refusal of a Rule, whose code is found where the Rule is written
            assert isinstance(code, ast.Constant), ast.unparse(node)
            params = named.get("params")
            keys = params.keys if isinstance(params, ast.Dict) else []
            found[f"config_{code.value}"] = {k.value for k in keys if isinstance(k, ast.Constant)}
    return found


def _adapter_answers() -> dict[str, set[str]]:
    """Every connection-test answer the adapters build with `answer(...)`: planner code
    `connection_<code>` -> its values (planner/channels.py passes them on as Messages)."""
    found: dict[str, set[str]] = {}
    for path in sorted(Path(publishers.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "answer":
                code = node.args[0]
                assert isinstance(code, ast.Constant), ast.unparse(node)
                values = {k.arg for k in node.keywords if k.arg is not None}
                found.setdefault(f"connection_{code.value}", set()).update(values)
    return found


def _adapter_problems() -> dict[str, set[str]]:
    """Every finding the adapters build with `problem(...)`: planner code -> its values.

    The planner passes them on as Messages coded `problem_<code>` (planner/editing.py).
    """
    found: dict[str, set[str]] = {}
    for path in sorted(Path(publishers.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "problem"):
                continue
            code = node.args[1]
            values = {k.arg for k in node.keywords if k.arg is not None}
            if isinstance(code, ast.Constant):
                found[f"problem_{code.value}"] = values
            else:  # the base's length finding: one code per unit a channel counts in
                assert (path.name, values) == ("base.py", {"used", "channel", "limit"})
                for cls in publishers.REGISTRY.values():
                    unit = cls.counted_as.split(" (")[0].replace(" ", "_")
                    found[f"problem_too_long_{unit}"] = values
    return found


def test_every_message_code_has_a_german_and_an_english_text_using_only_its_values() -> None:
    raised = _raised_messages()
    assert {"too_short", "not_a_url", "bad_datetime", "dst_gap", "in_the_past"} <= set(raised)
    for lang in ("de", "en"):
        texts = i18n.catalogue(lang)
        assert sorted(c for c in raised if f"error.{c}" not in texts) == [], lang
        for code, values in raised.items():
            used = {f for _, f, _, _ in Formatter().parse(texts[f"error.{code}"]) if f}
            assert used <= values, (lang, code, used - values)


def test_no_error_text_is_left_without_a_message_that_uses_it() -> None:
    raised = _raised_messages()
    unused = [k for k in i18n.catalogue("de") if k.startswith("error.") and k[6:] not in raised]
    assert unused == []


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        pytest.param("de", "„kein-link“ ist keine Webadresse (http:// oder https://).", id="de"),
        pytest.param("en", "'kein-link' is not a web address (http:// or https://)", id="en"),
        pytest.param("fr", "„kein-link“ ist keine Webadresse (http:// oder https://).", id="other"),
    ],
)
def test_a_message_is_rendered_in_the_users_language(lang: str, expected: str) -> None:
    message = Message(
        "not_a_url", "{value!r} is not a web address (http:// or https://)", value="kein-link"
    )
    assert i18n.render_message(lang, message) == expected


def test_a_plain_or_unknown_message_is_shown_as_it_came() -> None:
    assert i18n.render_message("de", "at least 10 characters") == "at least 10 characters"
    assert (
        i18n.render_message("de", Message("no.such.code", "as {it} came", it="it")) == "as it came"
    )


def test_an_adapters_finding_is_said_in_the_editors_language() -> None:
    from planner.editing import _finding_message
    from publishers.base import problem

    found = problem(
        "text",
        "too_long_graphemes",
        "{used} graphemes, {channel} allows {limit}",
        used=301,
        channel="Bluesky",
        limit=300,
    )
    assert found.message == "301 graphemes, Bluesky allows 300"
    message = _finding_message(found)
    assert message == "301 graphemes, Bluesky allows 300"  # the CLI's English
    assert i18n.render_message("de", message) == "301 Schriftzeichen, Bluesky erlaubt 300."


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        pytest.param("de", "01.12.2026 09:30 CET", id="de"),
        pytest.param("en", "01 Dec 2026 09:30 CET", id="en"),
    ],
)
def test_moments_are_written_as_the_language_writes_dates(lang: str, expected: str) -> None:
    from datetime import UTC, datetime

    from tests.ui.conftest import shown_when

    assert shown_when(datetime(2026, 12, 1, 8, 30, tzinfo=UTC), lang) == expected


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        pytest.param("de", "12.345 posts, #12345", id="de"),
        pytest.param("en", "12,345 posts, #12345", id="en"),
    ],
)
def test_amounts_get_the_languages_digit_grouping_and_ids_do_not(
    lang: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / f"{lang}.json").write_text(
        json.dumps({"x": "{count} posts, #{id}"}), encoding="utf-8"
    )
    monkeypatch.setattr(i18n, "_LOCALES", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        assert i18n.translate(lang, "x", count=12345, id=12345) == expected
    finally:
        i18n.catalogue.cache_clear()


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_organisation_setting_has_a_label_and_a_help_text(lang: str) -> None:
    from planner import org_settings

    texts = i18n.catalogue(lang)
    wanted = [
        f"settings.{part}.{name}" for name in org_settings.SPECS for part in ("label", "help")
    ]
    assert [key for key in wanted if key not in texts] == []


def _subclasses(cls: type) -> list[type]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


def test_every_ledger_outcome_has_a_german_and_an_english_name() -> None:
    # The engine's own outcomes: each `_Verdict(action, outcome, ...)` it can reach.
    given = {
        node.args[1].value
        for path in sorted((Path(planner.__file__).parent / "publishing").glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "_Verdict"
        and len(node.args) > 1
        and isinstance(node.args[1], ast.Constant)
    }
    assert given and given <= set(publishing_record.ENGINE_OUTCOMES)
    outcomes = {*publishing_record.ENGINE_OUTCOMES}
    outcomes |= {cls.outcome for cls in _subclasses(publishers.base.DeliveryError)}
    for lang in ("de", "en"):
        missing = [o for o in sorted(outcomes) if f"outcome.{o}" not in i18n.catalogue(lang)]
        assert missing == [], lang
