"""The command line of calendar feeds and tracked links: `plan export --format ics`,
`calendar-feeds list|create|revoke` and `links list`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex

import pytest
from icalendar import Calendar
from sqlmodel import Session

from planner import calendar_feeds, tracked_links
from planner.db import get_engine
from planner.timezones import format_local
from tests.conftest import last_sunday
from tests.test_cli import Cli

YEAR = datetime.now(UTC).year + 1
SPRING, AUTUMN = last_sunday(YEAR, 3), last_sunday(YEAR, 10)


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PLANNER_TIMEZONE", "Europe/Berlin")
    monkeypatch.delenv("PLANNER_USER", raising=False)
    monkeypatch.delenv("PLANNER_PUBLIC_URL", raising=False)
    run = Cli(capsys, monkeypatch)
    run.ok("init", "--admin", "boss", "--password-stdin", stdin=f"chief-{token_hex(8)}\n")
    run.ok("departments", "add", "Marketing", "--as", "boss")
    run.ok(
        "users", "add", "ed", "--role", "editor", "--as", "boss", "--password-stdin",
        stdin=f"writer-{token_hex(8)}\n",
    )  # fmt: skip
    run.ok("channels", "add", "recording", "Blog", "--as", "boss")
    run.ok("channels", "add", "recording", "Newsletter", "--as", "boss")
    run.ok(
        "ideas", "submit", "--title", "Tipp der Woche", "--pitch", "Jede Woche ein Tipp",
        "--department", "Marketing", "--as", "ed",
    )  # fmt: skip
    run.ok("ideas", "accept", "1", "--as", "ed")
    # The day before summer time begins and the day it ends: 09:00 CET both times.
    spring_eve = f"{YEAR}-03-{SPRING - 1} 09:00"
    run.ok("plan", "add", "1", "Blog", spring_eve, "--tz", "Europe/Berlin", "--as", "ed")
    run.ok("plan", "add", "1", "Newsletter", f"{YEAR}-10-{AUTUMN} 09:00", "--as", "ed")
    return run


def _starts(path: Path) -> dict[str, datetime]:
    calendar = Calendar.from_ical(path.read_bytes())
    return {str(e["SUMMARY"]): e.decoded("DTSTART") for e in calendar.walk("VEVENT")}


def test_plan_export_writes_the_calendar_as_ics_with_filters(run: Cli, tmp_path: Path) -> None:
    target = tmp_path / "plan.ics"
    since = ("--since", f"{YEAR}-01-01", "--until", f"{YEAR}-12-31")  # beyond a feed's range
    out = run.ok("plan", "export", str(target), "--format", "ics", *since, "--as", "ed")
    assert out == f"exported 2 post(s) to {target}\n"
    assert _starts(target) == {
        "Blog: Tipp der Woche": datetime(YEAR, 3, SPRING - 1, 8, tzinfo=UTC),
        "Newsletter: Tipp der Woche": datetime(YEAR, 10, AUTUMN, 8, tzinfo=UTC),
    }
    run.ok(
        "plan", "export", str(target), "--format", "ics", *since, "--channel", "newsletter",
        "--department", "Marketing", "--status", "planned", "--as", "ed",
    )  # fmt: skip
    assert list(_starts(target)) == ["Newsletter: Tipp der Woche"]
    code, _out, err = run("plan", "export", str(target), "--channel", "Blog", "--as", "ed")
    assert (code, err) == (2, "error: the calendar's filters apply to --format ics only\n")
    code, _out, err = run(
        "plan", "export", "-", "--format", "ics", "--channel", "Fax", "--as", "ed"
    )
    assert code == 1 and "channel 'Fax' not found" in err


def test_calendar_feeds_are_created_listed_and_revoked(run: Cli) -> None:
    made = json.loads(
        run.ok(
            "calendar-feeds",
            "create",
            "--name",
            "Blog",
            "--channel",
            "Blog",
            "--as",
            "ed",
            "--json",
        )
    )
    assert made["id"] == 1 and made["url"].startswith("/calendar/")
    token = made["url"].removeprefix("/calendar/").removesuffix(".ics")
    with Session(get_engine()) as s:
        ics = calendar_feeds.fetch_feed(s, token, now=datetime(YEAR, 1, 1, tzinfo=UTC))
    assert ics is not None and b"Blog: Tipp der Woche" in ics and b"Newsletter" not in ics

    listed = json.loads(run.ok("calendar-feeds", "list", "--as", "ed", "--json"))
    assert [(f["id"], f["name"], f["filters"], f["revoked_at"]) for f in listed] == [
        (1, "Blog", {"channel_id": 1}, None)
    ]
    assert token not in json.dumps(listed)
    # The table shows when the feed was last fetched as the other lists show instants.
    table = run.ok("calendar-feeds", "list", "--as", "ed")
    fetched = datetime.fromisoformat(listed[0]["last_fetched_at"])
    assert f"  {format_local(fetched, 'Europe/Berlin')}  active" in table
    assert "+00:00" not in table
    assert json.loads(run.ok("calendar-feeds", "list", "--as", "boss", "--json")) == []
    everyone = json.loads(run.ok("calendar-feeds", "list", "--everyone", "--as", "boss", "--json"))
    assert [f["id"] for f in everyone] == [1]
    assert run.ok("calendar-feeds", "revoke", "1", "--as", "boss") == "calendar feed 1 revoked\n"
    code, _out, err = run("calendar-feeds", "revoke", "7", "--as", "ed")
    assert (code, err) == (1, "error: calendar feed 7 not found\n")
    with Session(get_engine()) as s:
        assert calendar_feeds.fetch_feed(s, token) is None
    text = run.ok("calendar-feeds", "create", "--as", "ed")
    assert text.startswith("created calendar feed 2 ('Redaktionsplan'); subscribe to this URL")


def test_links_list_shows_the_clicks_per_link(run: Cli) -> None:
    with Session(get_engine()) as s:
        code = tracked_links.codes_for(s, 1, ["https://example.com/messe"])[
            "https://example.com/messe"
        ]
        s.commit()
        tracked_links.follow(s, code, count=True)
    listed = json.loads(run.ok("links", "list", "--as", "ed", "--json"))
    assert [(r["post_id"], r["code"], r["url"], r["clicks"]) for r in listed] == [
        (1, code, "https://example.com/messe", 1)
    ]
    assert json.loads(run.ok("links", "list", "--post", "2", "--as", "ed", "--json")) == []


def test_a_contributors_ics_export_and_feed_hold_no_piece_text_or_campaign(
    run: Cli, tmp_path: Path
) -> None:
    run.ok(
        "users", "add", "co", "--role", "contributor", "--department", "Marketing",
        "--as", "boss", "--password-stdin", stdin=f"helper-{token_hex(8)}\n",
    )  # fmt: skip
    run.ok(
        "pieces", "edit", "1", "--body", "ENTWURF (intern, nicht freigegeben): neue Preise",
        "--variant", "Blog=VARIANTE (intern)", "--campaign", "Preisrunde intern",
        "--as", "ed",
    )  # fmt: skip
    since = ("--since", f"{YEAR}-01-01", "--until", f"{YEAR}-12-31")
    target = tmp_path / "mine.ics"
    run.ok("plan", "export", str(target), "--format", "ics", *since, "--as", "co")
    made = json.loads(run.ok("calendar-feeds", "create", "--as", "co", "--json"))
    token = made["url"].removeprefix("/calendar/").removesuffix(".ics")
    with Session(get_engine()) as s:
        feed = calendar_feeds.fetch_feed(s, token, now=datetime(YEAR, 1, 1, tzinfo=UTC))
    assert feed is not None
    for ics in (target.read_bytes(), feed):
        events = Calendar.from_ical(ics).walk("VEVENT")
        assert sorted(str(e["SUMMARY"]) for e in events) == [
            "Blog: Tipp der Woche",
            "Newsletter: Tipp der Woche",
        ]
        assert {str(e["DESCRIPTION"]) for e in events} == {"Status: geplant"}
        assert b"ENTWURF" not in ics and b"VARIANTE" not in ics and b"Preisrunde" not in ics
    # The editor's calendar keeps them.
    run.ok("plan", "export", str(target), "--format", "ics", *since, "--as", "ed")
    assert b"ENTWURF" in target.read_bytes() and b"Preisrunde intern" in target.read_bytes()

    for option in (("--campaign", "Preisrunde intern"), ("--department", "Marketing")):
        for command in (
            ("plan", "export", "-", "--format", "ics"),
            ("calendar-feeds", "create"),
        ):
            code, _out, err = run(*command, *option, "--as", "co")
            assert code == 1, err
            assert "contributors filter the calendar by channel and status only" in err
    # By channel and status, as 'My ideas' shows them, it filters.
    blog = run.ok(
        "plan", "export", "-", "--format", "ics", "--channel", "Blog", "--status", "planned",
        *since, "--as", "co",
    )  # fmt: skip
    assert "Blog: Tipp der Woche" in blog and "Newsletter" not in blog
