"""The command line: every command has --help; actions go through the same checks."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from secrets import token_hex
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine
from sqlmodel import Session

from planner import channels, cli, pieces, tracked_links, users, workflow
from planner.config import REPO_ROOT
from planner.credentials import new_key
from planner.db import session_scope
from planner.models import Post, PostStatus, Role
from tests.conftest import World

# Made per run: no password is written into the tests.
ADMIN_PW = f"admin-{token_hex(8)}"


class Cli:
    """Runs `python -m planner` in-process against one SQLite file."""

    def __init__(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        err = io.StringIO()
        code = cli.main(list(argv), stderr=err)
        out = self.capsys.readouterr().out
        return code, out, err.getvalue()

    def ok(self, *argv: str, stdin: str | None = None) -> str:
        code, out, err = self(*argv, stdin=stdin)
        assert code == 0, f"{argv} failed with {code}: {err}"
        return out


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("PLANNER_USER", raising=False)
    monkeypatch.setattr("planner.cli.pieces.DATA_DIR", tmp_path)
    return Cli(capsys, monkeypatch)


@pytest.fixture
def org(run: Cli) -> Cli:
    run.ok("init", "--admin", "boss", "--password-stdin", stdin=ADMIN_PW + "\n")
    run.ok("departments", "add", "Marketing", "--as", "boss")
    for name, role, extra in (
        ("ed", "editor", []),
        ("anna", "approver", []),
        ("mia", "contributor", ["--department", "Marketing"]),
    ):
        run.ok(
            "users",
            "add",
            name,
            "--role",
            role,
            *extra,
            "--as",
            "boss",
            "--password-stdin",
            stdin=f"secret-of-the-{role}-123\n",
        )
    run.ok("channels", "list", "--as", "boss")
    return run


def _subcommands() -> list[list[str]]:
    parser = cli.build_parser()
    paths: list[list[str]] = []

    def walk(p: object, prefix: list[str]) -> None:
        for action in getattr(p, "_actions", []):
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                for name, child in choices.items():
                    paths.append([*prefix, name])
                    walk(child, [*prefix, name])

    walk(parser, [])
    return paths


@pytest.mark.parametrize("path", _subcommands(), ids=lambda p: " ".join(p))
def test_every_command_has_help(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main([*path, "--help"])
    assert done.value.code == 0
    assert "usage: python -m planner" in capsys.readouterr().out


def test_module_entry_point_runs_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "planner", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0
    for command in ("init", "migrate", "demo", "users", "ideas", "pieces", "plan", "audit"):
        assert command in proc.stdout


def test_commands_on_an_uninitialised_database_say_to_run_init(run: Cli) -> None:
    code, _out, err = run("ideas", "list", "--as", "someone")
    assert code == 1
    assert "python -m planner init" in err


def test_migrate_is_idempotent(run: Cli) -> None:
    head = sorted(p.name[:4] for p in (REPO_ROOT / "planner/migrations/versions").glob("0*.py"))
    assert f"empty -> {head[-1]}" in run.ok("migrate")
    assert "up to date" in run.ok("migrate")


def test_first_account_must_be_an_admin_and_later_ones_need_one(run: Cli) -> None:
    run.ok("migrate")
    code, _out, err = run(
        "users", "add", "eve", "--role", "editor", "--password-stdin", stdin="long-password-1\n"
    )
    assert code == 1
    assert "first account must be an admin" in err
    run.ok("users", "add", "root", "--role", "admin", "--password-stdin", stdin="long-password-1\n")
    code, _out, err = run(
        "users", "add", "eve", "--role", "editor", "--password-stdin", stdin="long-password-1\n"
    )
    assert code == 2
    assert "--as USERNAME" in err


def test_full_path_from_idea_to_planned_post(org: Cli) -> None:
    run = org
    out = run.ok(
        "ideas",
        "submit",
        "--as",
        "mia",
        "--title",
        "Winterreifen-Check",
        "--pitch",
        "Kurzer Ratgeber zum Reifenwechsel",
        "--tags",
        "auto, winter",
    )
    assert "submitted idea 1" in out
    out = run.ok(
        "ideas",
        "submit",
        "--as",
        "mia",
        "--title",
        "Winterreifen Check 2026",
        "--pitch",
        "Ratgeber zum Reifenwechsel im Winter",
    )
    assert "#1" in out  # the duplicate suggestion
    run.ok("ideas", "merge", "2", "--into", "1", "--as", "ed")
    assert "draft piece 1" in run.ok("ideas", "accept", "1", "--as", "ed")
    run.ok("pieces", "edit", "1", "--as", "ed", "--body", "Neuer Text", "--note", "Text")
    run.ok("pieces", "submit", "1", "--as", "ed")
    code, _out, err = run("pieces", "approve", "1", "--as", "ed", "--revision", "2")
    assert code == 1
    assert "may not approve" in err
    assert "approved" in run.ok("pieces", "approve", "1", "--as", "anna", "--revision", "2")
    shown = json.loads(run.ok("ideas", "show", "2", "--as", "mia", "--json"))
    assert shown["status"] == "merged"
    assert shown["merged_into"] == 1
    assert shown["piece"]["status"] == "approved"
    history = json.loads(run.ok("pieces", "history", "1", "--as", "ed", "--json"))
    assert [h["revision"] for h in history] == [1, 2]
    assert "+Neuer Text" in run.ok("pieces", "history", "1", "--as", "ed", "--diff", "1", "2")


@pytest.fixture
def planned(org: Cli) -> Cli:
    """The org with idea 1 accepted as piece 1, planned on channel 'Blog'."""
    org.ok("ideas", "submit", "--as", "mia", "--title", "Messeauftritt", "--pitch", "Wir sind da!!")
    org.ok("ideas", "accept", "1", "--as", "ed")
    with session_scope() as session:
        admin = users.get_user(session, "boss")
        channels.create_channel(session, actor=admin, kind="recording", name="Blog")
    org.ok("plan", "add", "1", "Blog", "2030-01-15 09:00", "--as", "ed")
    org.ok("audiences", "add", "Endkunden", "--channel", "Blog", "--as", "boss")
    org.ok("slots", "set", "Blog", "Tue 09:30", "--as", "boss")
    org.ok(
        *("rules", "add", "Hashtags", "--as", "boss", "--kind", "max_hashtags"),
        *("--severity", "warn", "--settings", "{max: 30}"),
        *("--message-de", "Höchstens 30 Hashtags", "--message-en", "At most 30 hashtags"),
    )
    org.ok("calendar-feeds", "create", "--name", "Messen", "--as", "ed")
    with session_scope() as session:  # a link as a publish with tracked links stores it
        tracked_links.codes_for(session, 1, ["https://example.com/messe"])
        session.commit()
    return org


def _json_commands() -> list[list[str]]:
    """Every command that takes --json, as a path of subcommand names."""
    parser = cli.build_parser()
    found: list[list[str]] = []

    def walk(p: argparse.ArgumentParser, prefix: list[str]) -> None:
        if any("--json" in a.option_strings for a in p._actions):
            found.append(prefix)
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, [*prefix, name])

    walk(parser, [])
    return found


# Every command with --json: its name, its arguments, and a (key, value) a JSON row must hold.
JSON_COMMANDS = [
    pytest.param(["users", "list"], ["--as", "boss"], ("username", "mia"), id="users list"),
    pytest.param(
        ["departments", "list"], ["--as", "mia"], ("name", "Marketing"), id="departments list"
    ),
    pytest.param(["ideas", "list"], ["--as", "mia"], ("title", "Messeauftritt"), id="ideas list"),
    pytest.param(["ideas", "show"], ["1", "--as", "mia"], ("status", "accepted"), id="ideas show"),
    pytest.param(["pieces", "list"], ["--as", "ed"], ("status", "draft"), id="pieces list"),
    pytest.param(["pieces", "show"], ["1", "--as", "ed"], ("revision", 1), id="pieces show"),
    pytest.param(["pieces", "history"], ["1", "--as", "ed"], ("author", "ed"), id="pieces history"),
    pytest.param(["plan", "list"], ["--as", "ed"], ("channel", "Blog"), id="plan list"),
    pytest.param(
        ["settings", "list"],
        ["--as", "boss"],
        ("org_timezone", "Europe/Berlin"),
        id="settings list",
    ),
    pytest.param(["channels", "list"], ["--as", "boss"], ("name", "Blog"), id="channels list"),
    pytest.param(["posts", "list"], ["--as", "ed"], ("status", "planned"), id="posts list"),
    pytest.param(["posts", "attempts"], ["1", "--as", "ed"], ("post_id", 1), id="posts attempts"),
    pytest.param(["status"], ["--as", "ed"], ("frozen", False), id="status"),
    pytest.param(
        ["metrics", "collect"], ["--once", "--as", "boss"], ("claimed", 0), id="metrics collect"
    ),
    pytest.param(["metrics", "show"], ["1", "--as", "ed"], ("post_id", 1), id="metrics show"),
    pytest.param(["rules", "list"], ["--as", "ed"], ("name", "Hashtags"), id="rules list"),
    pytest.param(
        ["notifications", "list"], ["--as", "mia"], ("kind", "idea_accepted"), id="notifications"
    ),
    pytest.param(["audiences", "list"], ["--as", "mia"], ("name", "Endkunden"), id="audiences"),
    pytest.param(["slots", "list"], ["--as", "ed"], ("slots", ["Tue 09:30"]), id="slots list"),
    pytest.param(["slots", "free"], ["Blog", "--as", "ed"], ("channel", "Blog"), id="slots free"),
    pytest.param(["calendar-feeds", "list"], ["--as", "ed"], ("name", "Messen"), id="feeds list"),
    pytest.param(
        ["calendar-feeds", "create"], ["--as", "ed"], ("name", "Redaktionsplan"), id="feeds create"
    ),
    pytest.param(["links", "list"], ["--as", "ed"], ("clicks", 0), id="links list"),
]


@pytest.mark.parametrize(("command", "args", "row"), JSON_COMMANDS)
def test_list_commands_print_json(
    planned: Cli, command: list[str], args: list[str], row: tuple[str, Any]
) -> None:
    out = json.loads(planned.ok(*command, *args, "--json"))

    rows = out if isinstance(out, list) else [out]
    key, value = row
    assert value in [r.get(key) for r in rows]
    assert "password" not in json.dumps(out)


# Commands whose --json output needs data from a channel or feed server, or metric
# snapshots, tested where those are.
JSON_ELSEWHERE = {
    ("inbox", "list"): "tests/test_cli_inbox.py",
    ("inbox", "show"): "tests/test_cli_inbox.py",
    ("inbox", "targets"): "tests/test_cli_inbox.py",
    ("feeds", "list"): "tests/test_cli_inbox.py",
    ("report", "engagement"): "tests/test_cli_analytics.py",
    ("report", "best-times"): "tests/test_cli_analytics.py",
    ("plan", "list-series"): "tests/test_cli_audiences.py",
}


def test_every_command_with_json_output_is_in_the_json_test() -> None:
    here = [p.values[0] for p in JSON_COMMANDS] + [list(c) for c in JSON_ELSEWHERE]
    assert sorted(_json_commands()) == sorted(here)


def test_history_diffs_and_restores_a_save_that_changed_only_tags_and_due_date(
    planned: Cli,
) -> None:
    planned.ok("pieces", "edit", "1", "--as", "ed", "--tags", "messe", "--due", "2030-01-10")

    diff = planned.ok("pieces", "history", "1", "--as", "ed", "--diff", "1", "2")
    restored = planned.ok("pieces", "history", "1", "--as", "ed", "--restore", "1")
    code, _out, err = planned("pieces", "history", "1", "--as", "ed", "--restore", "1")

    assert "+messe" in diff and "+2030-01-10" in diff
    assert restored == "restored revision 1 as revision 3\n"
    shown = json.loads(planned.ok("pieces", "show", "1", "--as", "ed", "--json"))
    assert (shown["tags"], shown["due_date"], shown["revision"]) == ([], None, 3)
    assert code == 1
    assert err == (
        "error: revision 1 of piece 1 has the same content as the current revision 3: "
        "nothing to restore\n"
    )


def test_history_diff_and_restore_print_json_with_json(planned: Cli) -> None:
    planned.ok("pieces", "edit", "1", "--as", "ed", "--tags", "messe", "--due", "2030-01-10")

    diff = json.loads(
        planned.ok("pieces", "history", "1", "--as", "ed", "--diff", "1", "2", "--json")
    )
    restored = json.loads(
        planned.ok("pieces", "history", "1", "--as", "ed", "--restore", "1", "--json")
    )

    assert (diff["piece_id"], diff["old"], diff["new"], diff["changed"]) == (1, 1, 2, True)
    assert "+messe" in diff["tags"] and "+2030-01-10" in diff["text"]
    assert {p["part"] for p in diff["parts"]} == {"tags", "due_date"}
    assert restored == {"piece_id": 1, "restored": 1, "revision": 3}


def test_bad_input_gets_field_messages_and_stores_nothing(org: Cli) -> None:
    code, _out, err = org(
        "ideas", "submit", "--as", "mia", "--title", "x", "--pitch", "kurz", "--url", "notaurl"
    )
    assert code == 1
    assert "title: at least 3 characters" in err
    assert "source_url" in err
    assert json.loads(org.ok("ideas", "list", "--as", "ed", "--json")) == []


def test_ideas_list_filters_by_status_urgency_tag_and_submitter(org: Cli) -> None:
    for who, title, urgency, tags in (
        ("mia", "Messe 2027", "high", "messe,b2b"),
        ("mia", "Azubi-Tag", "normal", "karriere"),
        ("ed", "Newsletter März", "high", "b2b"),
    ):
        org.ok(
            "ideas", "submit", "--as", who, "--title", title, "--pitch", "Ein Pitch mit Inhalt",
            "--department", "Marketing", "--urgency", urgency, "--tags", tags,
        )  # fmt: skip
    org.ok("ideas", "reject", "2", "--as", "ed", "--reason", "kein Budget")

    def titles(*options: str) -> list[str]:
        listed = json.loads(org.ok("ideas", "list", "--as", "ed", "--json", *options))
        return sorted(i["title"] for i in listed)

    assert titles("--urgency", "high") == ["Messe 2027", "Newsletter März"]
    assert titles("--tag", "b2b", "--mine") == ["Newsletter März"]
    assert titles("--status", "rejected") == ["Azubi-Tag"]
    assert titles("--department", "Marketing", "--urgency", "normal") == ["Azubi-Tag"]


def test_illegal_move_names_state_and_allowed_moves(org: Cli) -> None:
    org.ok(
        "ideas",
        "submit",
        "--as",
        "mia",
        "--title",
        "Messe 2027",
        "--pitch",
        "Wir sind auf der Hannover Messe",
    )
    org.ok("ideas", "reject", "1", "--as", "ed", "--reason", "kein Budget")
    code, _out, err = org("ideas", "accept", "1", "--as", "ed")
    assert code == 1
    assert "while it is 'rejected'; allowed: reopen" in err
    # The move the message names exists: the idea waits in the inbox again, reason cleared.
    assert org.ok("ideas", "reopen", "1", "--as", "ed") == (
        "reopened idea 1; it waits in the inbox again\n"
    )
    shown = json.loads(org.ok("ideas", "show", "1", "--as", "mia", "--json"))
    assert (shown["status"], shown.get("rejection_reason")) == ("submitted", None)
    code, _out, err = org("ideas", "reopen", "1", "--as", "mia")
    assert code == 1


def test_edit_conflict_keeps_the_attempted_text(org: Cli, tmp_path: Path) -> None:
    org.ok(
        "ideas",
        "submit",
        "--as",
        "mia",
        "--title",
        "Messe 2027",
        "--pitch",
        "Wir sind auf der Hannover Messe",
    )
    org.ok("ideas", "accept", "1", "--as", "ed")
    org.ok("pieces", "edit", "1", "--as", "ed", "--body", "Erste Fassung")
    code, _out, err = org(
        "pieces", "edit", "1", "--as", "ed", "--body", "Meine Fassung", "--expected-revision", "1"
    )
    assert code == 2
    assert "changed by someone else" in err
    kept = list((tmp_path / "conflicts").glob("piece-1-r1-*.json"))
    assert len(kept) == 1
    assert json.loads(kept[0].read_text(encoding="utf-8"))["body"] == "Meine Fassung"
    assert f"what you tried to save is in {kept[0]}" in err
    assert kept[0].stat().st_mode & 0o077 == 0  # the user's own text, for them alone


def test_an_edit_conflict_where_data_cannot_be_written_keeps_the_text_elsewhere(
    org: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conflicts").write_text("a file where the folder would be")
    spare = tmp_path / "tmp"
    spare.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spare))
    org.ok("ideas", "submit", "--as", "mia", "--title", "Messe 2027", "--pitch", "Hannover Messe")
    org.ok("ideas", "accept", "1", "--as", "ed")
    org.ok("pieces", "edit", "1", "--as", "ed", "--body", "Erste Fassung")
    edit = ("pieces", "edit", "1", "--as", "ed", "--body", "Meine Fassung")
    code, _out, err = org(*edit, "--expected-revision", "1")
    # Before, a traceback (FileExistsError) and the text was lost.
    assert code == 2 and "Traceback" not in err
    [kept] = spare.glob("piece-1-r1-*.json")
    assert f"what you tried to save is in {kept}" in err
    assert json.loads(kept.read_text(encoding="utf-8"))["body"] == "Meine Fassung"
    # Nowhere to write at all (the temporary folder lies below that file too): shown.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "conflicts" / "tmp"))
    code, _out, err = org(*edit, "--expected-revision", "1")
    assert code == 2
    assert "what you tried to save is below (no file could be written):" in err
    assert '"body": "Meine Fassung"' in err


def test_plan_add_shows_local_time_and_refuses_dst_gaps(org: Cli) -> None:
    org.ok(
        "ideas",
        "submit",
        "--as",
        "mia",
        "--title",
        "Messe 2027",
        "--pitch",
        "Wir sind auf der Hannover Messe",
    )
    org.ok("ideas", "accept", "1", "--as", "ed")
    code, _out, err = org("plan", "add", "1", "Blog", "2030-01-01 09:00", "--as", "ed")
    assert code == 1
    assert "channel: channel 'Blog' not found (known: none yet)" in err
    with session_scope() as session:
        admin = users.get_user(session, "boss")
        channels.create_channel(
            session,
            actor=admin,
            kind="wordpress",
            name="Blog",
            settings={
                "site_url": "https://blog.example.de",
                "username": "redaktion",
                "application_password": "abcd efgh ijkl mnop",
            },
        )
    out = org.ok("plan", "add", "1", "blog", "2030-01-15 09:00", "--as", "ed")
    assert "2030-01-15 09:00 CET" in out
    code, _out, err = org("plan", "add", "1", "Blog", "2030-03-31 02:30", "--as", "ed")
    assert code == 1
    assert "does not exist in Europe/Berlin" in err
    listed = json.loads(org.ok("plan", "list", "--as", "ed", "--json"))
    assert [(p["channel"], p["publish_at"]) for p in listed] == [("Blog", "2030-01-15 09:00 CET")]
    assert listed[0]["status"] == "planned"
    assert listed[0]["held"] is None  # held means due but not allowed out; this is not due


def test_password_never_echoed(org: Cli) -> None:
    out = org.ok(
        "users", "passwd", "mia", "--as", "boss", "--password-stdin", stdin="brand-new-secret-99\n"
    )
    assert "brand-new-secret-99" not in out


def test_audit_export_to_file(org: Cli, tmp_path: Path) -> None:
    target = tmp_path / "audit.csv"
    out = org.ok("audit", "export", str(target), "--as", "boss", "--since", "2020-01-01")
    assert "exported" in out
    text = target.read_text(encoding="utf-8")
    assert text.startswith("\ufeffid,at_utc,at_local,actor")  # Excel reads it as UTF-8
    assert "login" not in text.split("\n")[0]
    code, _out, err = org("audit", "export", "-", "--as", "boss", "--since", "morgen")
    assert code == 1
    assert "morgen" in err


# --- publishing from the command line ---------------------------------------------------------


def _allow_private_network(org: Cli) -> None:
    """The admin lets channels reach this machine: the test server listens on 127.0.0.1."""
    org.ok("settings", "set", "allow_private_network", "on", "--as", "boss")


def _intranet(org: Cli, httpserver: HTTPServer) -> None:
    """A webhook channel "Intranet" to the local test server's /in."""
    _allow_private_network(org)
    org.ok(
        "channels",
        "add",
        "webhook",
        "Intranet",
        "--set",
        f"url={httpserver.url_for('/in')}",
        "--secret",
        "secret",
        "--as",
        "boss",
        "--password-stdin",
        stdin="hook-secret-for-test\n",
    )


def _approved_piece_with_due_post(org: Cli, channel: str) -> int:
    """Accept, write, submit and approve a piece; plan it, then let its time pass."""
    org.ok(
        "ideas",
        "submit",
        "--as",
        "mia",
        "--title",
        "Messe 2027",
        "--pitch",
        "Wir sind auf der Hannover Messe",
    )
    org.ok("ideas", "accept", "1", "--as", "ed")
    org.ok("pieces", "submit", "1", "--as", "ed")
    org.ok("pieces", "approve", "1", "--as", "anna", "--revision", "1")
    out = org.ok("plan", "add", "1", channel, "2030-01-15 09:00", "--as", "ed")
    post_id = int(out.split()[2].rstrip(":"))
    with session_scope() as session:
        post = session.get(Post, post_id)
        assert post is not None
        post.publish_at = datetime.now(UTC) - timedelta(minutes=1)
        session.add(post)
        session.commit()
    return post_id


def test_channels_add_keeps_the_secret_out_of_every_output(
    org: Cli, httpserver: HTTPServer
) -> None:
    _allow_private_network(org)
    out = org.ok(
        "channels",
        "add",
        "webhook",
        "Intranet",
        "--set",
        f"url={httpserver.url_for('/in')}",
        "--secret",
        "secret",
        "--as",
        "boss",
        "--password-stdin",
        stdin="hook-secret-value-1\n",
    )
    assert "hook-secret-value-1" not in out
    assert "secret = *** (set)" in out
    listed = org.ok("channels", "list", "--json", "--as", "boss")
    assert "hook-secret-value-1" not in listed
    assert json.loads(listed)[0]["settings"]["secret"] == "*** (set)"
    code, _out, err = org(
        "channels", "add", "webhook", "Kaputt", "--set", "url=ftp://x", "--as", "boss"
    )
    assert code == 1
    assert "url" in err
    code, _out, err = org("channels", "add", "fax", "Fax", "--as", "boss")
    assert code == 1
    assert "unknown channel kind 'fax'" in err


def test_channels_add_builds_a_mastodon_channel_and_never_prints_its_token(org: Cli) -> None:
    token = token_hex(12)
    out = org.ok(
        "channels",
        "add",
        "mastodon",
        "Mastodon",
        "--set",
        "instance_url=https://social.example.de/",
        "--set",
        "visibility=unlisted",
        "--secret",
        "access_token",
        "--as",
        "boss",
        "--password-stdin",
        stdin=token + "\n",
    )
    assert "created mastodon channel 'Mastodon'" in out
    assert "instance_url = https://social.example.de" in out
    assert "visibility = unlisted" in out
    assert "access_token = *** (set)" in out
    listed = org.ok("channels", "list", "--json", "--as", "boss")
    assert json.loads(listed)[0]["settings"]["access_token"] == "*** (set)"
    # A token given with --set (on the command line) is stored as a secret all the same.
    out = org.ok(
        "channels",
        "add",
        "mastodon",
        "Mastodon 2",
        "--set",
        "instance_url=https://social.example.de",
        "--set",
        f"access_token={token}-b",
        "--as",
        "boss",
    )
    assert "access_token = *** (set)" in out
    for shown in (out, listed, org.ok("channels", "list", "--as", "boss")):
        assert token not in shown
    with session_scope() as session:
        stored = channels.get_channel(session, "Mastodon 2")
        assert "access_token" not in stored.settings
        assert token not in (stored.credentials or "")
        assert channels.build_adapter(stored).settings["access_token"] == f"{token}-b"
    code, _out, err = org(
        "channels",
        "add",
        "mastodon",
        "Ohne Token",
        "--set",
        "instance_url=https://a.example",
        "--as",
        "boss",
    )
    assert code == 1
    assert "access_token" in err and "is required" in err


def test_demo_says_which_channels_it_left_disabled(run: Cli) -> None:
    out = run.ok("demo", "--password", f"demo-{token_hex(8)}")
    line = next(line for line in out.splitlines() if line.startswith("Disabled"))
    assert "no credentials" in line and "Mastodon" in line and "XING" not in line
    listed = {
        c["name"]: c for c in json.loads(run.ok("channels", "list", "--json", "--as", "admin"))
    }
    assert listed["XING"]["enabled"] is True
    assert listed["Mastodon"]["enabled"] is False
    assert listed["Mastodon"]["settings"]["access_token"] == "*** (set)"
    assert "placeholder" not in out + json.dumps(listed)


def test_channels_test_and_disable(org: Cli, httpserver: HTTPServer) -> None:
    _intranet(org, httpserver)
    httpserver.expect_oneshot_request("/in", json={"event": "ping"}).respond_with_data(
        "", status=204
    )
    assert "answered HTTP 204" in org.ok("channels", "test", "Intranet", "--as", "boss")
    httpserver.expect_oneshot_request("/in").respond_with_json({"error": "bad token"}, status=401)
    code, _out, err = org("channels", "test", "Intranet", "--as", "boss")
    assert code == 1
    assert "bad token" in err
    assert (
        json.loads(org.ok("channels", "list", "--json", "--as", "boss"))[0]["needs_reconnect"]
        is True
    )
    assert "disabled" in org.ok("channels", "disable", "Intranet", "--as", "boss")
    code, _out, err = org("channels", "disable", "Intranet", "--as", "ed")
    assert code == 1
    assert "may not manage channels" in err


def test_publish_due_dry_run_then_once_sends_to_the_webhook(
    org: Cli, httpserver: HTTPServer
) -> None:
    _intranet(org, httpserver)
    post_id = _approved_piece_with_due_post(org, "Intranet")
    out = org.ok("publish-due", "--dry-run", "--as", "ed")
    assert f"would publish post {post_id} on Intranet" in out
    assert httpserver.log == []
    httpserver.expect_oneshot_request("/in", method="POST").respond_with_json(
        {"id": "n-1", "url": "https://intranet.example/n-1"}, status=201
    )
    assert "1 published" in org.ok("publish-due")
    ((request, _response),) = httpserver.log
    assert json.loads(request.get_data())["text"] == "Wir sind auf der Hannover Messe"
    posts = json.loads(org.ok("posts", "list", "--status", "published", "--as", "ed", "--json"))
    assert [(p["id"], p["external_url"]) for p in posts] == [
        (post_id, "https://intranet.example/n-1")
    ]
    status = json.loads(org.ok("status", "--json", "--as", "ed"))
    assert (status["due"], status["failed"]) == (0, 0)
    assert len(status["workers"]) == 1


def test_publish_due_still_accepts_once_from_old_crontabs_without_offering_it(
    org: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    # publish-due always makes exactly one sweep; --once used to say so.
    assert "claimed 0" in org.ok("publish-due", "--once")
    with pytest.raises(SystemExit):
        cli.main(["publish-due", "--help"])
    assert "--once" not in capsys.readouterr().out


def test_publish_due_refuses_an_acting_user_who_does_not_exist(org: Cli) -> None:
    code, out, err = org("publish-due", "--as", "no.such.user")

    assert (code, out) == (2, "")
    assert "no user 'no.such.user'" in err
    assert "claimed 0" in org.ok("publish-due", "--as", "ed")


def test_settings_are_read_by_admins_and_others_are_told_they_may_not_read_them(
    org: Cli,
) -> None:
    code, _out, err = org("settings", "list", "--as", "ed")

    assert (code, err) == (1, "error: 'ed' (role editor) may not read settings\n")
    assert "org_timezone" in org.ok("settings", "list", "--as", "boss")


@pytest.mark.parametrize("due", ["20270301", "2027-W05-3", "2027-060", "2027-3-1"])
def test_a_due_date_other_than_yyyy_mm_dd_is_refused_before_the_piece_is_read(
    planned: Cli, due: str
) -> None:
    with pytest.raises(SystemExit) as done:
        planned("pieces", "edit", "1", "--as", "ed", "--due", due)

    assert done.value.code == 2
    err = planned.capsys.readouterr().err
    assert err.endswith(f"error: argument --due: {due!r} is not a date (YYYY-MM-DD)\n")
    assert json.loads(planned.ok("pieces", "show", "1", "--as", "ed", "--json"))["revision"] == 1


@pytest.mark.parametrize("when", ["Jan 2031 10:00", "2031-03 10:00"])
def test_a_post_time_missing_its_day_is_refused_and_nothing_is_planned(
    planned: Cli, when: str
) -> None:
    code, _out, err = planned("plan", "add", "1", "Blog", when, "--as", "ed")
    series = ("plan", "series", "1", "Blog", "--rule", "FREQ=WEEKLY;COUNT=2", "--start", when)
    series_code, _out, series_err = planned(*series, "--as", "ed")

    assert (code, series_code) == (1, 1)
    assert "is not a full date; give day, month and year" in err
    assert "is not a full date; give day, month and year" in series_err
    assert len(json.loads(planned.ok("plan", "list", "--all", "--json", "--as", "ed"))) == 1


def test_freeze_holds_posts_and_failed_posts_can_be_retried(
    org: Cli, httpserver: HTTPServer
) -> None:
    _intranet(org, httpserver)
    post_id = _approved_piece_with_due_post(org, "Intranet")
    code, _out, err = org("freeze", "on", "--as", "ed")
    assert code == 1
    assert "may not change settings" in err
    assert "FROZEN" in org.ok("freeze", "on", "--as", "boss")
    assert "claimed 0" in org.ok("publish-due")
    held = json.loads(org.ok("posts", "list", "--status", "held", "--as", "ed", "--json"))
    assert [(p["id"], p["reason"]) for p in held] == [
        (post_id, "publishing is frozen (crisis freeze)")
    ]
    org.ok("freeze", "off", "--as", "boss")
    httpserver.expect_oneshot_request("/in").respond_with_json({"error": "Text fehlt"}, 422)
    out = org.ok("publish-due")
    assert f"post {post_id}: failed (Text fehlt)" in out
    code, _out, err = org("posts", "retry", "999", "--as", "ed")
    assert code == 1
    assert "post 999 not found" in err
    assert "next sweep" in org.ok("posts", "retry", str(post_id), "--as", "ed")
    httpserver.expect_oneshot_request("/in").respond_with_json({"id": "ok"}, status=201)
    assert "1 published" in org.ok("publish-due")


# --- channels edit, the ledger, retries ---------------------------------------------------


def test_channels_edit_changes_settings_and_reads_secrets_from_standard_input(
    org: Cli, httpserver: HTTPServer
) -> None:
    _intranet(org, httpserver)
    secret = token_hex(12)
    out = org.ok(
        "channels",
        "edit",
        "intranet",
        "--set",
        f"url={httpserver.url_for('/neu')}",
        "--secret",
        "secret",
        "--rename",
        "Intranet neu",
        "--daily-cap",
        "5",
        "--as",
        "boss",
        "--password-stdin",
        stdin=secret + "\n",
    )

    assert "channel 'Intranet neu' updated" in out
    assert f"url = {httpserver.url_for('/neu')}" in out
    assert "secret = *** (set)" in out
    listed = json.loads(org.ok("channels", "list", "--json", "--as", "boss"))
    assert [(c["name"], c["daily_cap"]) for c in listed] == [("Intranet neu", 5)]
    assert secret not in out + json.dumps(listed)
    with session_scope() as session:
        stored = channels.get_channel(session, "Intranet neu")
        assert channels.build_adapter(stored).settings["secret"] == secret
    org.ok("channels", "edit", "Intranet neu", "--no-daily-cap", "--as", "boss")
    assert json.loads(org.ok("channels", "list", "--json", "--as", "boss"))[0]["daily_cap"] is None


def test_channels_saved_under_another_key_are_listed_and_take_their_secrets_again(
    org: Cli, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _intranet(org, httpserver)
    # The database restored on a machine with another key.
    monkeypatch.setenv("PLANNER_SECRET_KEY", new_key())

    table = org.ok("channels", "list", "--as", "boss")
    assert "secrets unreadable" in table
    assert "the secrets of 'Intranet' cannot be read" in table
    [listed] = json.loads(org.ok("channels", "list", "--json", "--as", "boss"))
    assert listed["secrets_unreadable"] is True
    assert listed["settings"]["secret"] == "(unreadable: enter it again)"
    out = org.ok("channels", "edit", "Intranet", "--daily-cap", "4", "--as", "boss")
    assert "secret = (unreadable: enter it again)" in out
    code, _out, err = org("channels", "test", "Intranet", "--as", "boss")
    assert code == 1 and "enter the channel's secrets again" in err

    secret = token_hex(12)
    out = org.ok(
        "channels",
        "edit",
        "Intranet",
        "--secret",
        "secret",
        "--as",
        "boss",
        "--password-stdin",
        stdin=secret + "\n",
    )

    assert "secret = *** (set)" in out
    [listed] = json.loads(org.ok("channels", "list", "--json", "--as", "boss"))
    assert (listed["secrets_unreadable"], listed["daily_cap"]) == (False, 4)
    table = org.ok("channels", "list", "--as", "boss")
    assert "secrets unreadable" not in table and "cannot be read" not in table
    assert secret not in out + table + json.dumps(listed)
    with session_scope() as session:
        stored = channels.get_channel(session, "Intranet")
        assert channels.build_adapter(stored).settings["secret"] == secret


def test_channels_edit_refuses_bad_input_with_clear_messages_and_changes_nothing(
    org: Cli, httpserver: HTTPServer
) -> None:
    url = httpserver.url_for("/in")
    secret = token_hex(12)
    _allow_private_network(org)
    org.ok(
        "channels",
        "add",
        "webhook",
        "Intranet",
        "--set",
        f"url={url}",
        "--secret",
        "secret",
        "--as",
        "boss",
        "--password-stdin",
        stdin=f"{secret}\n",
    )

    unknown = org("channels", "edit", "Fax", "--set", "url=https://x.example", "--as", "boss")
    malformed = org("channels", "edit", "Intranet", "--set", "url", "--as", "boss")
    on_argv = org("channels", "edit", "Intranet", "--secret", f"secret={secret}", "--as", "boss")
    invalid = org("channels", "edit", "Intranet", "--set", "url=ftp://x", "--as", "boss")
    unknown_key = org("channels", "edit", "Intranet", "--set", "colour=red", "--as", "boss")
    nothing = org("channels", "edit", "Intranet", "--as", "boss")
    both = org("channels", "edit", "Intranet", "--daily-cap", "3", "--no-daily-cap", "--as", "boss")
    editor = org("channels", "edit", "Intranet", "--daily-cap", "3", "--as", "ed")

    assert unknown[0] == 1
    assert "channel 'Fax' not found (known: Intranet)" in unknown[2]
    assert malformed[0] == 2 and "'url': write --set KEY=VALUE" in malformed[2]
    assert on_argv[0] == 2
    assert "--secret 'secret': give only the setting's name" in on_argv[2]
    assert secret not in on_argv[2]
    assert invalid[0] == 1 and "url" in invalid[2] and "http" in invalid[2]
    assert unknown_key[0] == 1 and "colour" in unknown_key[2]
    assert nothing[0] == 2 and "nothing to change" in nothing[2]
    assert both[0] == 2 and "not both" in both[2]
    assert editor[0] == 1 and "may not manage channels" in editor[2]
    listed = json.loads(org.ok("channels", "list", "--json", "--as", "boss"))
    assert [(c["name"], c["settings"]["url"], c["daily_cap"]) for c in listed] == [
        ("Intranet", url, None)
    ]


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://127.0.0.1:9/in", "127.0.0.1 is this machine (loopback)"),
        ("http://0x7f000001:9/in", "127.0.0.1 is this machine (loopback)"),
        ("http://169.254.169.254/latest/", "169.254.169.254 is a link-local address"),
        ("https://bot:pw-1a2b3c@hooks.example.org/in", "enter them in the channel's secret"),
    ],
)
def test_channels_add_refuses_an_address_inside_or_with_a_password(
    org: Cli, url: str, said: str
) -> None:
    code, out, err = org(
        "channels",
        "add",
        "webhook",
        "Intranet",
        "--set",
        f"url={url}",
        "--secret",
        "secret",
        "--as",
        "boss",
        "--password-stdin",
        stdin="hook-secret-for-test\n",
    )
    assert code == 1
    assert said in err
    assert ("allow_private_network" in err) == ("loopback" in said)
    assert "pw-1a2b3c" not in out + err
    assert json.loads(org.ok("channels", "list", "--json", "--as", "boss")) == []


def test_channels_add_takes_no_secret_on_the_command_line(org: Cli) -> None:
    token = token_hex(12)
    code, out, err = org(
        "channels",
        "add",
        "mastodon",
        "Mastodon",
        "--set",
        "instance_url=https://social.example.de",
        "--secret",
        f"access_token={token}",
        "--as",
        "boss",
    )
    assert code == 2
    assert "--secret 'access_token': give only the setting's name" in err
    assert token not in out + err
    assert json.loads(org.ok("channels", "list", "--json", "--as", "boss")) == []


def _set_post(post_id: int, **values: Any) -> None:
    with session_scope() as session:
        post = session.get(Post, post_id)
        assert post is not None
        for name, value in values.items():
            setattr(post, name, value)
        session.add(post)
        session.commit()


def test_posts_attempts_shows_the_ledger_of_one_post(org: Cli, httpserver: HTTPServer) -> None:
    _intranet(org, httpserver)
    post_id = _approved_piece_with_due_post(org, "Intranet")
    before = org.ok("posts", "attempts", str(post_id), "--as", "ed")
    httpserver.expect_oneshot_request("/in").respond_with_json({"error": "Text fehlt"}, 422)
    org.ok("publish-due")
    org.ok("posts", "retry", str(post_id), "--as", "ed")
    httpserver.expect_oneshot_request("/in").respond_with_json({"id": "n-7"}, status=201)
    org.ok("publish-due")

    table = org.ok("posts", "attempts", str(post_id), "--as", "anna")
    data = json.loads(org.ok("posts", "attempts", str(post_id), "--as", "ed", "--json"))

    assert "0 attempt(s)" in before and "(none)" in before
    assert f"post {post_id} on Intranet at " in table and ": published; 2 attempt(s)" in table
    assert "permanent" in table and "422" in table and "Text fehlt" in table
    assert "n-7" in table
    assert (data["post_id"], data["channel"], data["status"]) == (post_id, "Intranet", "published")
    first, second = data["attempts"]
    assert (first["outcome"], first["http_status"], first["error"]) == (
        "permanent",
        422,
        "Text fehlt",
    )
    assert (second["outcome"], second["external_id"]) == ("published", "n-7")
    assert second["finished_at"] is not None and second["worker"]
    assert first["started_at"].endswith(("CET", "CEST"))


def test_posts_attempts_refuses_an_unknown_post_and_a_contributor(planned: Cli) -> None:
    code, _out, err = planned("posts", "attempts", "999", "--as", "ed")
    assert code == 1 and "post 999 not found" in err
    code, _out, err = planned("posts", "attempts", "1", "--as", "mia")
    assert code == 1 and "may not read the audit log" in err


def test_a_refused_move_is_said_with_the_commands_names(planned: Cli) -> None:
    code, _out, err = planned("posts", "mark-posted", "1", "--as", "ed")
    assert (code, err) == (
        1,
        "error: Cannot mark-posted post 1 while it is 'planned'; allowed: move, cancel\n",
    )


def test_archiving_a_planned_piece_names_the_posts_that_will_not_go_out(planned: Cli) -> None:
    out = planned.ok("pieces", "archive", "1", "--as", "ed")
    assert out == (
        "piece 1 is now archived (revision 1)\n"
        "its planned posts (1) will not go out now (cancel them, or reopen it)\n"
    )


def test_posts_list_says_when_a_post_is_retried(planned: Cli) -> None:
    _set_post(1, next_attempt_at=datetime(2030, 1, 15, 8, 5, tzinfo=UTC), attempts=1)

    table = planned.ok("posts", "list", "--as", "ed")
    rows = json.loads(planned.ok("posts", "list", "--as", "ed", "--json"))
    shown = json.loads(planned.ok("posts", "attempts", "1", "--as", "ed", "--json"))

    assert "planned, retry at 2030-01-15 09:05 CET" in table
    assert [r["retry_at"] for r in rows] == ["2030-01-15 09:05 CET"]
    assert shown["retry_at"] == "2030-01-15 09:05 CET"
    _set_post(1, next_attempt_at=None)
    assert "retry at" not in planned.ok("posts", "list", "--as", "ed")


@pytest.mark.parametrize("command", ["plan", "posts"])
def test_cancelling_a_post_being_sent_warns_that_it_may_still_go_out(
    planned: Cli, command: str
) -> None:
    planned.ok("plan", "add", "1", "Blog", "2030-01-16 09:00", "--as", "ed")
    _set_post(1, status=PostStatus.publishing)

    in_flight = planned.ok(command, "cancel", "1", "--as", "ed")
    waiting = planned.ok(command, "cancel", "2", "--as", "ed")

    assert in_flight == (
        "post 1 cancelled\n"
        "warning: post 1 was being sent; it goes out only if its request had begun already "
        "(`posts list` shows what became of it)\n"
    )
    assert waiting == "post 2 cancelled\n"
    statuses = [
        p["status"] for p in json.loads(planned.ok("posts", "list", "--as", "ed", "--json"))
    ]
    assert statuses == ["cancelled", "cancelled"]


def test_posts_retry_of_a_held_post_says_why_it_stays_held(
    org: Cli, httpserver: HTTPServer
) -> None:
    _intranet(org, httpserver)
    post_id = _approved_piece_with_due_post(org, "Intranet")
    _set_post(post_id, status=PostStatus.failed, last_error="Text fehlt")
    org.ok("channels", "disable", "Intranet", "--as", "boss")
    disabled = org.ok("posts", "retry", str(post_id), "--as", "ed")
    _set_post(post_id, status=PostStatus.failed)
    org.ok("channels", "disable", "Intranet", "--enable", "--as", "boss")
    org.ok("freeze", "on", "--as", "boss")
    frozen = org.ok("posts", "retry", str(post_id), "--as", "ed")
    _set_post(post_id, status=PostStatus.failed)
    org.ok("freeze", "off", "--as", "boss")
    org.ok("pieces", "edit", "1", "--as", "ed", "--body", "Neu")
    edited = org.ok("posts", "retry", str(post_id), "--as", "ed")

    assert disabled == (
        f"post {post_id} is planned again, but it stays held: the channel is disabled\n"
    )
    assert frozen.endswith("stays held: publishing is frozen (crisis freeze)\n")
    assert edited.endswith("stays held: the piece changed after it was approved\n")
    code, _out, err = org("posts", "retry", str(post_id), "--as", "ed")
    assert code == 1 and "while it is 'planned'" in err


def test_a_variant_its_channel_would_refuse_is_stopped_at_submission(org: Cli) -> None:
    org.ok("ideas", "submit", "--as", "mia", "--title", "Messe 2027", "--pitch", "Wir sind da")
    org.ok("ideas", "accept", "1", "--as", "ed")
    with session_scope() as session:
        admin = users.get_user(session, "boss")
        channels.create_channel(
            session,
            actor=admin,
            kind="bluesky",
            name="Bluesky",
            settings={"handle": "firma.bsky.social", "app_password": token_hex(8)},
        )
    org.ok("pieces", "edit", "1", "--as", "ed", "--variant", "Bluesky=" + "ä" * 310)

    code, _out, err = org("pieces", "submit", "1", "--as", "ed")

    assert code == 1
    assert (
        "  channel: channel 'Bluesky' would refuse this post: 310 graphemes, Bluesky allows 300"
        in err
    )
    shown = json.loads(org.ok("pieces", "show", "1", "--as", "ed", "--json"))
    assert shown["status"] == "draft"
    org.ok("pieces", "edit", "1", "--as", "ed", "--variant", "Bluesky=" + "ä" * 300)
    assert "in_review" in org.ok("pieces", "submit", "1", "--as", "ed")


def test_a_429_pauses_the_channel_and_status_says_until_when(
    org: Cli, httpserver: HTTPServer
) -> None:
    _intranet(org, httpserver)
    post_id = _approved_piece_with_due_post(org, "Intranet")
    httpserver.expect_oneshot_request("/in", method="POST").respond_with_json(
        {"error": "slow down"}, status=429, headers={"Retry-After": "600"}
    )
    org.ok("publish-due")
    out = org.ok("status", "--as", "ed")
    assert "paused by a rate limit: Intranet until" in out
    status = json.loads(org.ok("status", "--json", "--as", "ed"))
    ((name, _until),) = status["paused"]
    assert name == "Intranet"
    # The post waits for the channel; it is not held, and nothing else is sent meanwhile.
    assert (status["held"], status["failed"]) == (0, 0)
    org.ok("publish-due")
    assert len(httpserver.log) == 1
    posts = json.loads(org.ok("posts", "list", "--as", "ed", "--json"))
    assert [(p["id"], p["status"]) for p in posts] == [(post_id, "planned")]


def test_approve_needs_the_revision_the_approver_read(org: Cli) -> None:
    org.ok("ideas", "submit", "--as", "mia", "--title", "Messe 2027", "--pitch", "Wir sind da")
    org.ok("ideas", "accept", "1", "--as", "ed")
    org.ok("pieces", "edit", "1", "--as", "ed", "--body", "Erster Text")
    org.ok("pieces", "submit", "1", "--as", "ed")

    code, _out, err = org("pieces", "approve", "1", "--as", "anna")
    assert code == 2
    assert err == (
        "error: say which revision you read: --revision N (piece 1 is at revision 2; "
        "read it with `python -m planner pieces show 1`)\n"
    )
    code, _out, err = org("pieces", "approve", "1", "--as", "anna", "--revision", "1")
    assert code == 2
    assert "you read revision 1, but piece 1 is now at revision 2" in err
    assert "approve --revision 2" in err
    shown = json.loads(org.ok("pieces", "show", "1", "--as", "anna", "--json"))
    assert (shown["status"], shown["approved_revision"]) == ("in_review", None)

    assert "approved" in org.ok("pieces", "approve", "1", "--as", "anna", "--revision", "2")


def test_ideas_show_says_the_rejection_of_the_idea_it_was_merged_into(org: Cli) -> None:
    pitch = ("--pitch", "Ein Stand auf der Messe", "--department", "Marketing")
    org.ok("ideas", "submit", "--as", "ed", "--title", "Messe 2027", *pitch)
    org.ok("ideas", "submit", "--as", "mia", "--title", "Messestand", *pitch)
    org.ok("ideas", "merge", "2", "--into", "1", "--as", "ed")
    org.ok("ideas", "reject", "1", "--as", "ed", "--reason", "Kein Budget")

    shown = json.loads(org.ok("ideas", "show", "2", "--as", "mia", "--json"))
    said = org.ok("ideas", "show", "2", "--as", "mia")

    assert (shown["status"], shown["merged_into"], shown["rejection_reason"]) == (
        "merged",
        1,
        "Kein Budget",
    )
    assert shown["carried_by"] == {"id": 1, "status": "rejected"}
    assert said.splitlines()[2:] == [
        "  merged into idea #1",
        "  carried on as idea #1, status: rejected",
        "  rejected because: Kein Budget",
    ]


def _meanwhile(
    monkeypatch: pytest.MonkeyPatch, engine: Engine, step: Callable[[Session], object]
) -> None:
    """Run `step` in a session of its own once: when the next approval has read its piece
    and is about to store anything (another person's request at the same moment)."""
    real = workflow.check
    pending = [step]

    def check(kind: str, obj: Any, action: str, actor: Any, note: str = "") -> workflow.Move:
        if action == "approve" and pending:
            with Session(engine) as other:
                pending.pop()(other)
        return real(kind, obj, action, actor, note)

    monkeypatch.setattr(workflow, "check", check)


@pytest.mark.parametrize(
    ("meanwhile", "said"),
    [
        pytest.param(
            "edit",
            "error: you read revision 1, but piece 1 is now at revision 2: read it with "
            "`python -m planner pieces show 1`, then approve --revision 2\n",
            id="edited",
        ),
        pytest.param(
            "request_changes",
            "error: piece 1 was changed by someone else while you approved it (still "
            "revision 1): look at it again with `python -m planner pieces show 1`\n",
            id="sent-back",
        ),
    ],
)
def test_an_approval_racing_another_change_names_the_pieces_revision(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch, meanwhile: str, said: str
) -> None:
    monkeypatch.setattr("planner.cli.common.engine", lambda: engine)
    monkeypatch.delenv("PLANNER_USER", raising=False)
    s = world.session
    piece = pieces.create_piece(s, actor=world.editor, data={"title": "Messe", "body": "Text"})
    assert piece.id == 1
    pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
    other = world.user("anna", Role.approver)

    def change(session: Session) -> None:
        if meanwhile == "edit":
            pieces.edit_piece(
                session,
                actor=world.editor2,
                piece_id=1,
                expected_revision=1,
                data={"body": "Neuer Text"},
            )
        else:
            pieces.request_changes(session, actor=other, piece_id=1, comment="Bitte kürzer.")

    _meanwhile(monkeypatch, engine, change)
    err = io.StringIO()
    code = cli.main(["pieces", "approve", "1", "--as", "approver", "--revision", "1"], stderr=err)

    assert (code, err.getvalue()) == (2, said)
    if meanwhile == "edit":  # the advice works
        err = io.StringIO()
        argv = ["pieces", "approve", "1", "--as", "approver", "--revision", "2"]
        assert cli.main(argv, stderr=err) == 0, err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["pieces", "show", "9223372036854775808"],
        ["pieces", "show", "2147483648"],
        ["ideas", "merge", "1", "--into", "-5"],
        ["posts", "retry", "²"],
        ["pieces", "history", "1", "--restore", "99999999999999999999"],
        ["ideas", "list", "--limit", "-1"],
        ["channels", "edit", "x", "--daily-cap", "9223372036854775808"],
    ],
)
def test_a_number_no_column_holds_is_refused_before_the_database_sees_it(
    org: Cli, argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        org(*argv, "--as", "boss")
    assert done.value.code == 2
    err = org.capsys.readouterr().err
    assert "use a whole number from" in err
    assert "Traceback" not in err


def test_a_control_character_in_an_argument_is_refused(org: Cli) -> None:
    code, _out, err = org("departments", "add", "Ver\x00trieb", "--as", "boss")
    assert (code, err.splitlines()) == (
        2,
        [
            "error: name: contains the control character U+0000, which cannot be stored; "
            "only line breaks and tabs are allowed"
        ],
    )
    assert "Vertrieb" not in org.ok("departments", "list", "--as", "boss")


def test_output_into_a_closed_pipe_ends_quietly() -> None:
    """`python -m planner ... | head -0`: no traceback when the reader has gone."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "planner", "secret-key"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader goes away before the planner writes
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert err == ""


def test_a_body_file_that_is_not_text_is_refused(org: Cli, tmp_path: Path) -> None:
    org.ok("ideas", "submit", "--as", "mia", "--title", "Messe 2027", "--pitch", "Wir sind da")
    org.ok("ideas", "accept", "1", "--as", "ed")
    org.ok("channels", "add", "manual", "Blog", "--as", "boss")
    binary = tmp_path / "bild.png"
    binary.write_bytes(bytes(range(256)))
    for option in (["--body-file", str(binary)], ["--variant-file", f"Blog={binary}"]):
        code, _out, err = org("pieces", "edit", "1", "--as", "ed", *option)
        assert (code, err) == (2, f"error: {str(binary)!r} is not UTF-8 text\n")


def test_a_bad_planner_port_stops_serve_with_the_variable_named(
    run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_PORT", "abc")
    code, out, err = run("serve")
    assert (code, out) == (1, "")
    assert err == "error: PLANNER_PORT must be a whole number from 1 to 65535, got 'abc'\n"


def test_a_bad_port_option_is_refused_before_anything_starts(run: Cli) -> None:
    with pytest.raises(SystemExit) as done:
        run("serve", "--port", "abc")
    assert done.value.code == 2
    assert "'abc' is not a port number: use a whole number from 1 to 65535" in (
        run.capsys.readouterr().err
    )


def test_settings_list_shows_the_lateness_the_environment_sets(
    org: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_MAX_LATENESS", "90m")
    [row] = [
        line
        for line in org.ok("settings", "list", "--as", "boss").splitlines()
        if line.startswith("max_lateness_hours")
    ]
    assert row.split()[1] == "1.5"
    assert "PLANNER_MAX_LATENESS (environment)" in row
    listed = json.loads(org.ok("settings", "list", "--as", "boss", "--json"))
    assert listed["max_lateness_hours"] == "1.5"
    org.ok("settings", "set", "max_lateness_hours", "4", "--as", "boss")
    listed = json.loads(org.ok("settings", "list", "--as", "boss", "--json"))
    assert listed["max_lateness_hours"] == "4"  # the admin's setting wins


def test_a_bad_variable_stops_a_command_with_one_line_naming_it(
    org: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_MAX_ATTEMPTS", "0")
    code, out, err = org("ideas", "list", "--as", "boss")
    assert (code, out) == (1, "")
    assert err == "error: PLANNER_MAX_ATTEMPTS must be a whole number of at least 1, got '0'\n"


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["worker"]])
def test_serve_and_worker_do_not_start_with_a_bad_variable(
    run: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str]
) -> None:
    monkeypatch.setenv("PLANNER_EMBEDDED_SCHEDULER", "maybe")
    code, out, err = run(*command)
    assert (code, out) == (1, "")
    assert err == (
        "error: PLANNER_EMBEDDED_SCHEDULER must be 1 or 0 (also on/off, true/false, yes/no), "
        "got 'maybe'\n"
    )
    assert not (tmp_path / "cli.db").exists()  # nothing ran


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        (
            ("channels", "add", "mastodon", "M2", "--secret", "access_token"),
            "error: 'mia' (role contributor) may not manage channels\n",
        ),
        (
            ("users", "add", "bob", "--role", "admin"),
            "error: 'mia' (role contributor) may not manage users\n",
        ),
        (
            ("users", "passwd", "ed"),
            "error: 'mia' (role contributor) may not manage users\n",
        ),
    ],
)
def test_who_may_not_act_is_told_so_before_any_secret_is_read(
    org: Cli, command: tuple[str, ...], refusal: str
) -> None:
    # Nothing on standard input: before, "no password on standard input" was the answer.
    code, _out, err = org(*command, "--as", "mia", "--password-stdin")
    assert (code, err) == (1, refusal)


def test_anyone_sets_their_own_password_however_they_write_their_name(org: Cli) -> None:
    new = "ein-neues-passwort-fuer-mia-42\n"
    assert org.ok("users", "passwd", "MIA", "--as", "mia", "--password-stdin", stdin=new) == (
        "password of 'MIA' changed\n"
    )
