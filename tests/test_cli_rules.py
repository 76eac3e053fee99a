"""The command line of publishing rules: `rules export FILE` and `rules import FILE` carry
every rule into another database exactly, in YAML and in JSON; a broken file is refused
whole, saying what is wrong, and stores nothing."""

from __future__ import annotations

import json
from pathlib import Path
from secrets import token_hex

import pytest
import yaml

from tests.test_cli import Cli


def _org(run: Cli) -> None:
    """An admin "boss", an editor "ed", channel Blog, department Marketing and audience
    Presse in the database the environment names."""
    run.ok("init", "--admin", "boss", "--password-stdin", stdin=f"chief-{token_hex(8)}\n")
    run.ok(
        "users", "add", "ed", "--role", "editor", "--as", "boss", "--password-stdin",
        stdin=f"writer-{token_hex(8)}\n",
    )  # fmt: skip
    run.ok("channels", "add", "recording", "Blog", "--as", "boss")
    run.ok("departments", "add", "Marketing", "--as", "boss")
    run.ok("audiences", "add", "Presse", "--as", "boss")


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("PLANNER_USER", raising=False)
    run = Cli(capsys, monkeypatch)
    _org(run)
    return run


def _fresh(run: Cli, path: Path) -> None:
    """Point the command line at a new, empty database at `path`, set up like the first."""
    run.monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{path}")
    _org(run)


def _listed(run: Cli) -> list[dict[str, object]]:
    """`rules list --json` without the ids (a database numbers its rows its own way)."""
    rows = json.loads(run.ok("rules", "list", "--json", "--as", "ed"))
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def _some_rules(run: Cli) -> None:
    """Rules of several kinds, scopes and severities, one disabled, with words YAML reads
    as something else unless quoted (on, null, 22:00, #ad, a colon)."""
    run.ok(
        "rules", "add", "Keine Garantien: nie", "--kind", "forbidden_terms",
        "--settings", "{terms: ['garantiert', 'on', 'null', '#ad', 'Größe: XL']}",
        "--message-de", "Wir versprechen nichts „Sicheres“.", "--message-en", "no",
        "--channel", "Blog", "--campaign", "Herbst", "--campaign", "Messe",
        "--as", "boss",
    )  # fmt: skip
    run.ok(
        "rules", "add", "Nachtruhe", "--kind", "quiet_hours", "--severity", "block",
        "--settings", "{from: '22:00', until: '7:00', days: [sunday]}",
        "--message-de", "Nachts nicht", "--message-en", "Not at night", "--as", "boss",
    )  # fmt: skip
    run.ok(
        "rules", "add", "Werbung", "--kind", "ad_disclosure", "--severity", "warn",
        "--message-de", "Werbung kennzeichnen", "--message-en", "Disclose ads",
        "--department", "Marketing", "--audience", "Presse", "--as", "boss",
    )  # fmt: skip
    run.ok(
        "rules", "add", "UTM", "--kind", "utm_links", "--severity", "info",
        "--settings", "{only_with_campaign: false}",
        "--message-de", "Links mit UTM", "--message-en", "Links with UTM", "--as", "boss",
    )  # fmt: skip
    run.ok("rules", "disable", "Werbung", "--as", "boss")


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_rules_exported_to_a_file_are_imported_exactly_into_a_fresh_database(
    run: Cli, tmp_path: Path, fmt: str
) -> None:
    _some_rules(run)
    listed = _listed(run)
    assert [(r["name"], r["enabled"]) for r in listed] == [
        ("Keine Garantien: nie", True),
        ("Nachtruhe", True),
        ("UTM", True),
        ("Werbung", False),
    ]
    exported = tmp_path / f"rules.{fmt}"

    out = run.ok("rules", "export", str(exported), "--format", fmt, "--as", "ed")

    assert out == f"exported 4 rule(s) to {exported}\n"
    text = exported.read_text(encoding="utf-8")
    data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert [r["name"] for r in data["rules"]] == [r["name"] for r in listed]
    assert run.ok("rules", "export", "-", "--format", fmt, "--as", "ed") == text

    _fresh(run, tmp_path / "other.db")
    assert _listed(run) == []
    out = run.ok("rules", "import", str(exported), "--as", "boss")
    assert out == "imported: 4 added, 0 changed\n"
    assert _listed(run) == listed
    assert run.ok("rules", "export", "-", "--format", fmt, "--as", "ed") == text
    # Importing the same file again changes nothing.
    assert run.ok("rules", "import", str(exported), "--as", "boss") == (
        "imported: 0 added, 0 changed\n"
    )


def test_importing_the_export_again_puts_back_the_rules_changed_since(
    run: Cli, tmp_path: Path
) -> None:
    _some_rules(run)
    listed = _listed(run)
    exported = tmp_path / "rules.yaml"
    run.ok("rules", "export", str(exported), "--as", "ed")
    run.ok(
        "rules", "edit", "Nachtruhe", "--severity", "warn", "--settings", "{days: [saturday]}",
        "--as", "boss",
    )  # fmt: skip
    run.ok("rules", "disable", "Werbung", "--enable", "--as", "boss")
    assert _listed(run) != listed

    out = run.ok("rules", "import", str(exported), "--as", "boss")

    assert out == "imported: 0 added, 2 changed\n"
    assert _listed(run) == listed


_BROKEN = {
    "entries.yaml": (
        (
            b"rules:\n"
            b"- name: Gut\n  kind: max_hashtags\n  settings: {max: 3}\n  message: {de: a, en: b}\n"
            b"- name: Schlecht\n  kind: max_hashtags\n  severity: stop\n  settings: {max: drei}\n"
            b"  message: {de: a}\n"
        ),
        (
            1,
            "error: invalid input\n"
            "  rule 2 severity: severity is block, warn or info, not 'stop'\n"
            "  rule 2 message_en: the rule needs a message in en\n"
            "  rule 2 settings: 'max' must be a whole number of at least 0, not 'drei'\n",
        ),
    ),
    "syntax.yaml": (
        b"rules: [\n- name: Gut\n",
        (1, "error: invalid input\n  file: the file is neither YAML nor JSON (line 2)\n"),
    ),
    "syntax.json": (
        b'{"rules": [{"name": "Gut",}',
        (1, "error: invalid input\n  file: the file is neither YAML nor JSON (line 1)\n"),
    ),
    "shape.json": (
        b'{"name": "Gut", "kind": "max_hashtags"}',
        (1, "error: invalid input\n  file: the file must hold a list under 'rules:'\n"),
    ),
    "twice.yaml": (
        (
            b"rules:\n"
            b"- name: Gut\n  kind: max_hashtags\n  settings: {max: 3}\n  message: {de: a, en: b}\n"
            b"- name: Gut\n  kind: max_hashtags\n  settings: {max: 4}\n  message: {de: a, en: b}\n"
        ),
        (1, "error: invalid input\n  rule Gut: rule 'Gut' appears twice\n"),
    ),
    "latin-1.yaml": ("rules:\n- name: Größe\n".encode("latin-1"), (2, "is not UTF-8 text")),
}


@pytest.mark.parametrize("name", list(_BROKEN))
def test_a_broken_rules_file_is_refused_whole_and_stores_nothing(
    run: Cli, tmp_path: Path, name: str
) -> None:
    _some_rules(run)
    before = run.ok("rules", "export", "-", "--as", "ed")
    raw, (status, said) = _BROKEN[name]
    path = tmp_path / name
    path.write_bytes(raw)

    code, out, err = run("rules", "import", str(path), "--as", "boss")

    assert (code, out) == (status, "")
    if status == 2:
        assert err == f"error: {str(path)!r} {said}\n"
    else:
        assert err == said
    assert run.ok("rules", "export", "-", "--as", "ed") == before


def test_a_rule_naming_an_unknown_channel_department_or_audience_is_refused(run: Cli) -> None:
    code, out, err = run(
        "rules", "add", "Ghost", "--kind", "forbidden_terms", "--settings", "{terms: [Messe]}",
        "--channel", "Nope", "--department", "Nope2", "--audience", "NoAud",
        "--message-de", "V", "--message-en", "F", "--as", "boss",
    )  # fmt: skip

    assert (code, out) == (1, "")
    assert err == (
        "error: invalid input\n"
        "  channels: unknown channel Nope; known: Blog\n"
        "  departments: unknown department Nope2; known: Marketing\n"
        "  audiences: unknown audience NoAud; known: Presse\n"
    )
    assert _listed(run) == []


def test_a_rules_scope_is_stored_as_named_and_follows_renamed_channels_and_audiences(
    run: Cli,
) -> None:
    run.ok(
        "rules", "add", "Messe", "--kind", "forbidden_terms", "--settings", "{terms: [Messe]}",
        "--channel", "blog", "--department", "MARKETING", "--audience", "presse",
        "--campaign", "Herbst", "--message-de", "V", "--message-en", "F", "--as", "boss",
    )  # fmt: skip
    [listed] = _listed(run)
    assert listed["scope"] == {
        "channels": ["Blog"],
        "departments": ["Marketing"],
        "campaigns": ["Herbst"],
        "audiences": ["Presse"],
    }

    run.ok("channels", "edit", "blog", "--rename", "Blog Seite", "--as", "boss")
    run.ok("audiences", "edit", "Presse", "--rename", "Fachpresse", "--as", "boss")

    [listed] = _listed(run)
    assert listed["scope"] == {
        "channels": ["Blog Seite"],
        "departments": ["Marketing"],
        "campaigns": ["Herbst"],
        "audiences": ["Fachpresse"],
    }


def test_a_part_of_a_rules_scope_is_emptied_with_every(run: Cli) -> None:
    run.ok(
        "rules", "add", "Messe", "--kind", "forbidden_terms", "--settings", "{terms: [Messe]}",
        "--channel", "Blog", "--department", "Marketing",
        "--message-de", "V", "--message-en", "F", "--as", "boss",
    )  # fmt: skip
    # Before, no option emptied a scope list ("--channel ''" was refused as a name).
    assert run.ok("rules", "edit", "Messe", "--every", "channels", "--as", "boss") == (
        "rule 'Messe' updated\n"
    )
    [listed] = _listed(run)
    assert (listed["scope"]["channels"], listed["scope"]["departments"]) == ([], ["Marketing"])
    code, _out, err = run(
        "rules", "edit", "Messe", "--every", "channels", "--channel", "Blog", "--as", "boss"
    )
    assert (code, err) == (2, "error: give --channel NAME or --every channels, not both\n")
