"""The command line of the listening inbox: `feeds add|list|remove`, `inbox fetch --once`,
`inbox list|show|assign|reply|approve|discard|dismiss|reopen|to-idea|targets|target`, each
for the roles allowed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from secrets import token_hex

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import Session

from planner.db import make_engine
from planner.models import InboxItem, InboxSource
from tests.test_cli import Cli

TOKEN = token_hex(16)  # made per run: no credential lives in the code
RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Presse</title>
<item><title>Studie zur Ausbildung</title><guid>urn:p:1</guid>
<link>https://presse.example.de/1</link><description>Mehr Azubis.</description></item>
</channel></rss>"""
MENTION = {
    "id": "201",
    "type": "mention",
    "account": {"acct": "erika@example.org", "display_name": "Erika"},
    "status": {
        "id": "7001",
        "content": "<p>@redaktion Wann ist der Tag der offenen Tür?</p>",
        "url": "https://example.org/@erika/7001",
        "in_reply_to_id": None,
    },
}


@pytest.fixture
def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    httpserver: HTTPServer,
) -> Cli:
    """An organisation with a Mastodon channel and a feed on the local server."""
    monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("PLANNER_USER", raising=False)
    run = Cli(capsys, monkeypatch)
    run.ok("init", "--admin", "boss", "--password-stdin", stdin=f"chief-{token_hex(8)}\n")
    run.ok("departments", "add", "Marketing", "--as", "boss")
    for name, role, extra in (
        ("ed", "editor", []),
        ("anna", "approver", []),
        ("lena", "contributor", ["--department", "Marketing"]),
    ):
        run.ok(
            "users", "add", name, "--role", role, *extra, "--as", "boss", "--password-stdin",
            stdin=f"pw-{token_hex(8)}\n",
        )  # fmt: skip
    run.ok("settings", "set", "allow_private_network", "on", "--as", "boss")
    run.ok(
        "channels", "add", "mastodon", "Social",
        "--set", f"instance_url={httpserver.url_for('/').rstrip('/')}",
        "--secret", "access_token", "--password-stdin", "--as", "boss",
        stdin=TOKEN + "\n",
    )  # fmt: skip
    httpserver.expect_request("/api/v1/notifications").respond_with_json([MENTION])
    httpserver.expect_request("/feed.xml").respond_with_data(
        RSS, content_type="application/rss+xml"
    )
    return run


def test_an_address_with_a_user_name_or_password_is_refused_and_not_stored(run: Cli) -> None:
    url = "https://redaktion:S3cretPW@presse.example.de/feed.xml"
    code, out, err = run("feeds", "add", url, "--as", "ed")
    assert (code, out) == (1, "")
    assert "url: an address may not carry a user name or password" in err
    assert "S3cretPW" not in err
    assert json.loads(run.ok("feeds", "list", "--json", "--as", "ed")) == []
    base = "https://u:S3cretPW@go.example.de"
    code, _out, err = run("settings", "set", "tracked_links_base_url", base, "--as", "boss")
    assert code == 1 and "may not carry a user name or password" in err
    assert "S3cretPW" not in run.ok("settings", "list", "--as", "boss")


def _listed(run: Cli, *extra: str, user: str = "ed") -> list[dict[str, object]]:
    rows: list[dict[str, object]] = json.loads(
        run.ok("inbox", "list", "--json", "--as", user, *extra)
    )
    return rows


def test_feeds_are_followed_listed_read_and_removed(run: Cli, httpserver: HTTPServer) -> None:
    url = httpserver.url_for("/feed.xml")
    assert run.ok("feeds", "add", url, "--name", "Presse", "--as", "ed") == (
        "following feed 1: Presse\n"
    )
    code, _out, err = run("feeds", "add", url, "--as", "ed")
    assert code == 1 and "is followed already" in err
    code, _out, err = run("feeds", "add", url, "--as", "lena")
    assert (code, err) == (1, "error: 'lena' (role contributor) may not manage followed feeds\n")
    assert run.ok("inbox", "fetch", "--once", "--as", "ed") == "new items: 2; sources read: 2\n"
    assert run.ok("inbox", "fetch", "--once", "--as", "ed") == "new items: 0; sources read: 2\n"
    [feed] = json.loads(run.ok("feeds", "list", "--json", "--as", "ed"))
    assert (feed["name"], feed["url"], feed["last_error"]) == ("Presse", url, "")
    assert feed["last_fetched"]
    assert [r["source"] for r in _listed(run, "--source", "feed_item")] == ["feed_item"]
    assert run.ok("feeds", "remove", "1", "--as", "ed") == "no longer following feed 1\n"
    assert run.ok("feeds", "list", "--as", "ed").endswith("(none)\n")
    code, _out, err = run("inbox", "fetch", "--once", "--as", "lena")
    assert code == 1 and "may not assign or dismiss inbox items" in err
    # Without --once it would poll forever beside the worker: it says so and stops.
    code, _out, err = run("inbox", "fetch", "--as", "ed")
    assert code == 2 and "pass --once" in err


def test_an_item_is_assigned_answered_and_its_department_sees_it(
    run: Cli, httpserver: HTTPServer
) -> None:
    run.ok("inbox", "fetch", "--once", "--as", "ed")
    [row] = _listed(run)
    assert (row["source"], row["status"], row["author"]) == (
        "mention",
        "new",
        "erika@example.org",
    )
    assert _listed(run, user="lena") == []
    assert run.ok("inbox", "assign", "1", "--department", "Marketing", "--as", "ed") == (
        "inbox item 1 assigned to Marketing\n"
    )
    [seen] = _listed(run, user="lena")
    assert (seen["status"], seen["department"]) == ("assigned", "Marketing")
    code, _out, err = run("inbox", "reply", "1", "--text", "x" * 501, "--as", "lena")
    assert code == 1 and "501 characters" in err
    httpserver.expect_oneshot_request(
        "/api/v1/statuses", method="POST", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"id": "7100", "url": "https://social.example.de/@r/7100"})
    out = run.ok("inbox", "reply", "1", "--text", "Am Samstag!", "--as", "lena")
    assert out == "replied to inbox item 1: https://social.example.de/@r/7100\n"
    shown = json.loads(run.ok("inbox", "show", "1", "--json", "--as", "ed"))
    assert (shown["status"], shown["reply_text"]) == ("answered", "Am Samstag!")


def test_replies_wait_for_approval_by_someone_else_when_the_setting_says_so(
    run: Cli, httpserver: HTTPServer
) -> None:
    run.ok("settings", "set", "replies_need_approval", "on", "--as", "boss")
    run.ok("inbox", "fetch", "--once", "--as", "ed")
    assert run.ok("inbox", "reply", "1", "--text", "Danke!", "--as", "boss") == (
        "the reply to inbox item 1 waits for someone else's approval\n"
    )
    code, _out, err = run("inbox", "approve", "1", "--as", "boss")
    assert code == 1 and "someone else must approve it" in err
    code, _out, err = run("inbox", "approve", "1", "--as", "ed")
    assert code == 1 and "may not approve replies" in err
    httpserver.expect_oneshot_request("/api/v1/statuses", method="POST").respond_with_json(
        {"id": "7101", "url": "https://social.example.de/@r/7101"}
    )
    assert run.ok("inbox", "approve", "1", "--as", "anna") == (
        "replied to inbox item 1: https://social.example.de/@r/7101\n"
    )


def test_a_waiting_reply_is_discarded_by_its_writer_or_an_approver(run: Cli) -> None:
    run.ok("settings", "set", "replies_need_approval", "on", "--as", "boss")
    run.ok("inbox", "fetch", "--once", "--as", "ed")
    run.ok("inbox", "assign", "1", "--department", "Marketing", "--as", "ed")
    run.ok("inbox", "reply", "1", "--text", "Danke!", "--as", "ed")
    # A member of the department sees the item, but the reply is not hers to drop.
    code, _out, err = run("inbox", "discard", "1", "--as", "lena")
    assert code == 1 and "may not" in err
    assert run.ok("inbox", "discard", "1", "--as", "anna") == (
        "the reply waiting on inbox item 1 was discarded\n"
    )
    shown = json.loads(run.ok("inbox", "show", "1", "--json", "--as", "ed"))
    assert (shown["status"], shown["reply_text"], shown["reply_waiting_for_approval"]) == (
        "assigned",
        None,
        False,
    )
    code, _out, err = run("inbox", "discard", "1", "--as", "ed")
    assert code == 1 and "no reply" in err.lower()
    # Written again, its writer may discard it too.
    run.ok("inbox", "reply", "1", "--text", "Danke sehr!", "--as", "ed")
    run.ok("inbox", "discard", "1", "--as", "ed")


def test_an_item_becomes_an_idea_or_is_dismissed(run: Cli, httpserver: HTTPServer) -> None:
    run.ok("feeds", "add", httpserver.url_for("/feed.xml"), "--as", "ed")
    run.ok("inbox", "fetch", "--once", "--as", "ed")
    # A feed entry is not answered from here: "reply" is not offered.
    offered = json.loads(run.ok("inbox", "show", "2", "--json", "--as", "ed"))["allowed"]
    assert offered == ["assign", "to_idea", "dismiss"]
    # Said with the commands' names.
    assert "allowed: assign, to-idea, dismiss\n" in run.ok("inbox", "show", "2", "--as", "ed")
    out = run.ok("inbox", "to-idea", "2", "--department", "Marketing", "--as", "ed")
    assert out == "inbox item 2 became idea 1\n"
    idea = json.loads(run.ok("ideas", "show", "1", "--json", "--as", "ed"))
    assert (idea["title"], idea["pitch"]) == ("Studie zur Ausbildung", "Mehr Azubis.")
    shown = json.loads(run.ok("inbox", "show", "2", "--json", "--as", "ed"))
    assert (shown["status"], shown["idea_id"]) == ("converted", 1)
    assert run.ok("inbox", "dismiss", "1", "--reason", "Spam", "--as", "ed") == (
        "inbox item 1 dismissed\n"
    )
    code, _out, err = run("inbox", "dismiss", "1", "--as", "ed")
    assert code == 1 and "allowed: reopen" in err
    assert [r["status"] for r in _listed(run, "--status", "dismissed")] == ["dismissed"]
    # The move offered is there: the item comes back as new, its reason cleared.
    code, _out, err = run("inbox", "reopen", "1", "--as", "lena")
    assert code == 1 and "may not" in err
    assert run.ok("inbox", "reopen", "1", "--as", "ed") == "inbox item 1 reopened\n"
    shown = json.loads(run.ok("inbox", "show", "1", "--json", "--as", "ed"))
    assert (shown["status"], shown["dismiss_reason"]) == ("new", None)
    code, _out, err = run("inbox", "reopen", "1", "--as", "ed")
    assert code == 1 and "Cannot reopen inbox item 1 while it is 'new'" in err
    run.ok("inbox", "dismiss", "1", "--as", "ed")
    table = run.ok("inbox", "list", "--as", "ed")
    assert "Studie zur Ausbildung" in table and "converted" in table


def _targets(run: Cli) -> dict[str, object]:
    shown: dict[str, object] = json.loads(run.ok("inbox", "targets", "--json", "--as", "boss"))
    return shown


def test_response_targets_are_listed_set_and_dropped_by_an_admin(run: Cli) -> None:
    assert run.ok("inbox", "targets", "--as", "boss") == (
        "default: 24 hours (for departments without a target of their own)\n"
        "department  hours\n"
        "(none)\n"
    )
    assert _targets(run) == {"default_hours": 24, "departments": {}}
    assert run.ok("inbox", "target", "Marketing", "48", "--as", "boss") == (
        "response target of Marketing: 48 hours\n"
    )
    run.ok("settings", "set", "response_target_hours", "12", "--as", "boss")
    assert _targets(run) == {"default_hours": 12, "departments": {"Marketing": 48}}
    assert run.ok("inbox", "targets", "--as", "boss") == (
        "default: 12 hours (for departments without a target of their own)\n"
        "department  hours\n"
        "Marketing   48\n"
    )
    assert run.ok("inbox", "target", "Marketing", "--default", "--as", "boss") == (
        "response target of Marketing: the organisation's (12 hours)\n"
    )
    assert _targets(run) == {"default_hours": 12, "departments": {}}


def test_a_response_target_for_an_unknown_department_is_refused(run: Cli) -> None:
    code, _out, err = run("inbox", "target", "Vertrieb", "48", "--as", "boss")
    assert (code, err) == (1, "error: department 'Vertrieb' not found (known: Marketing)\n")
    assert _targets(run)["departments"] == {}


@pytest.mark.parametrize("hours", ["0", "-5", "721", "abc", "1.5"])
def test_a_response_target_that_is_no_number_of_hours_is_refused(run: Cli, hours: str) -> None:
    run.ok("inbox", "target", "Marketing", "48", "--as", "boss")
    with pytest.raises(SystemExit) as done:
        run("inbox", "target", "Marketing", hours, "--as", "boss")
    assert done.value.code == 2
    assert (
        f"argument hours: {hours!r} is not a number of hours: use a whole number from 1 to 720"
        in run.capsys.readouterr().err
    )
    assert _targets(run)["departments"] == {"Marketing": 48}


def test_a_response_target_takes_hours_or_default_but_not_both(run: Cli) -> None:
    run.ok("inbox", "target", "Marketing", "48", "--as", "boss")
    code, _out, err = run("inbox", "target", "Marketing", "--as", "boss")
    assert (code, err) == (
        2,
        "error: give the target in hours, or --default for the organisation's\n",
    )
    code, _out, err = run("inbox", "target", "Marketing", "6", "--default", "--as", "boss")
    assert (code, err) == (2, "error: give hours or --default, not both\n")
    assert _targets(run)["departments"] == {"Marketing": 48}


@pytest.mark.parametrize(("user", "role"), [("ed", "editor"), ("lena", "contributor")])
def test_only_who_manages_departments_sees_and_sets_response_targets(
    run: Cli, user: str, role: str
) -> None:
    run.ok("inbox", "target", "Marketing", "48", "--as", "boss")
    refused = f"error: {user!r} (role {role}) may not manage departments\n"
    for argv in (
        ["target", "Marketing", "6"],
        ["target", "Marketing", "--default"],
        ["targets"],
        ["targets", "--json"],
    ):
        code, out, err = run("inbox", *argv, "--as", user)
        assert (code, out, err) == (1, "", refused)
    assert _targets(run)["departments"] == {"Marketing": 48}


def _show(run: Cli, item: str, user: str) -> dict[str, object]:
    shown: dict[str, object] = json.loads(run.ok("inbox", "show", item, "--json", "--as", user))
    return shown


def test_show_lists_only_the_moves_the_reader_may_make(run: Cli) -> None:
    run.ok("settings", "set", "replies_need_approval", "on", "--as", "boss")
    run.ok("inbox", "fetch", "--once", "--as", "ed")
    run.ok("inbox", "assign", "1", "--department", "Marketing", "--as", "ed")
    assert _show(run, "1", "ed")["allowed"] == ["assign", "reply", "to_idea", "dismiss"]
    # Lena answers her department's items and makes ideas of them; she does not assign or
    # dismiss them, so she is not told she may.
    assert _show(run, "1", "lena")["allowed"] == ["reply", "to_idea"]
    assert "allowed: reply, to-idea\n" in run.ok("inbox", "show", "1", "--as", "lena")
    run.ok("inbox", "reply", "1", "--text", "Danke!", "--as", "ed")
    assert _show(run, "1", "lena")["allowed"] == ["to_idea"]
    assert _show(run, "1", "anna")["allowed"] == ["approve", "discard"]
    assert _show(run, "1", "ed")["allowed"] == ["assign", "discard", "to_idea", "dismiss"]


def test_dismissing_an_item_discards_its_waiting_reply_and_says_so(run: Cli) -> None:
    run.ok("settings", "set", "replies_need_approval", "on", "--as", "boss")
    run.ok("inbox", "fetch", "--once", "--as", "ed")
    run.ok("inbox", "reply", "1", "--text", "Danke!", "--as", "ed")
    assert run.ok("inbox", "dismiss", "1", "--as", "boss") == (
        "inbox item 1 dismissed; the reply waiting for approval on it was discarded\n"
    )
    shown = _show(run, "1", "anna")
    assert (shown["reply_text"], shown["reply_waiting_for_approval"]) == (None, False)
    assert shown["allowed"] == []
    run.ok("inbox", "reopen", "1", "--as", "boss")
    code, _out, err = run("inbox", "approve", "1", "--as", "anna")
    assert code == 1 and "no reply waits" in err


def test_a_long_item_becomes_an_idea_and_its_title_and_pitch_can_be_given(
    run: Cli, httpserver: HTTPServer
) -> None:
    run.ok("feeds", "add", httpserver.url_for("/feed.xml"), "--name", "Presse", "--as", "ed")
    run.ok("inbox", "fetch", "--once", "--as", "ed")  # 1: the mention, 2: the feed's entry
    engine = make_engine(os.environ["PLANNER_DATABASE_URL"])
    with Session(engine) as s:
        s.add(
            InboxItem(
                source=InboxSource.feed_item,
                source_key="feed:1",
                feed_id=1,
                external_id="urn:p:long",
                title="Lange Studie",
                text="word " * 1200,  # longer than an idea's pitch
            )
        )
        s.commit()
    engine.dispose()
    assert run.ok("inbox", "to-idea", "3", "--department", "Marketing", "--as", "ed") == (
        "inbox item 3 became idea 1\n"
    )
    idea = json.loads(run.ok("ideas", "show", "1", "--json", "--as", "ed"))
    assert idea["title"] == "Lange Studie" and len(idea["pitch"]) <= 5000
    run.ok("inbox", "assign", "1", "--department", "Marketing", "--as", "ed")
    code, _out, err = run("inbox", "to-idea", "1", "--title", "x", "--as", "lena")
    assert (code, err) == (1, "error: invalid input\n  title: at least 3 characters\n")
    out = run.ok(
        "inbox", "to-idea", "1", "--title", "Tag der offenen Tür",
        "--pitch", "Erika fragt nach dem Termin: ein Post dazu.", "--as", "lena",
    )  # fmt: skip
    assert out == "inbox item 1 became idea 2\n"
    idea = json.loads(run.ok("ideas", "show", "2", "--json", "--as", "lena"))
    assert (idea["title"], idea["pitch"]) == (
        "Tag der offenen Tür",
        "Erika fragt nach dem Termin: ein Post dazu.",
    )
    # The feed no longer followed: its entries name it so, not by an internal key.
    run.ok("feeds", "remove", "1", "--as", "ed")
    assert _show(run, "2", "ed")["from"] == "removed feed"


def test_a_response_target_of_one_hour_is_said_in_the_singular(run: Cli) -> None:
    assert run.ok("inbox", "target", "Marketing", "1", "--as", "boss") == (
        "response target of Marketing: 1 hour\n"
    )
    run.ok("settings", "set", "response_target_hours", "1", "--as", "boss")
    assert run.ok("inbox", "targets", "--as", "boss").startswith("default: 1 hour (")
