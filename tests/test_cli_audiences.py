"""The command line of audiences and publishing slots: `audiences ...`, `slots ...`,
`plan queue`, the off-plan warnings of `plan series` and `plan import`, a series in slots,
and the posts of a new series a publishing rule holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from secrets import token_hex

import pytest

from planner.timezones import zone
from tests.conftest import feb_day
from tests.test_cli import Cli


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PLANNER_TIMEZONE", "Europe/Berlin")
    monkeypatch.delenv("PLANNER_USER", raising=False)
    run = Cli(capsys, monkeypatch)
    run.ok("init", "--admin", "boss", "--password-stdin", stdin=f"chief-{token_hex(8)}\n")
    run.ok("departments", "add", "Marketing", "--as", "boss")
    run.ok(
        "users", "add", "ed", "--role", "editor", "--as", "boss", "--password-stdin",
        stdin=f"writer-{token_hex(8)}\n",
    )  # fmt: skip
    run.ok("channels", "add", "recording", "Blog", "--as", "boss")
    run.ok("channels", "add", "recording", "Newsletter", "--as", "boss")
    return run


def _piece(run: Cli) -> None:
    """Piece 1, accepted from idea 1."""
    run.ok(
        "ideas", "submit", "--title", "Tipp der Woche", "--pitch", "Jede Woche ein Tipp",
        "--department", "Marketing", "--as", "ed",
    )  # fmt: skip
    run.ok("ideas", "accept", "1", "--as", "ed")


def test_an_admin_adds_edits_and_removes_an_audience(run: Cli) -> None:
    out = run.ok(
        "audiences", "add", "Endkunden", "--description", "Hausbesitzer",
        "--channel", "blog", "--department", "Marketing", "--as", "boss",
    )  # fmt: skip
    assert out == "created audience 'Endkunden' (id 1)\n"
    run.ok("audiences", "edit", "endkunden", "--channel", "Newsletter", "--as", "boss")
    listed = json.loads(run.ok("audiences", "list", "--as", "ed", "--json"))
    assert listed == [
        {
            "id": 1,
            "name": "Endkunden",
            "description": "Hausbesitzer",
            "channels": ["Newsletter"],
            "departments": ["Marketing"],
        }
    ]
    code, _out, err = run("audiences", "add", "Presse", "--as", "ed")
    assert (code, err) == (1, "error: 'ed' (role editor) may not manage audiences\n")
    code, _out, err = run("audiences", "edit", "Endkunden", "--as", "boss")
    assert code == 2 and "nothing to change" in err
    code, _out, err = run("audiences", "add", "Presse", "--channel", "Fax", "--as", "boss")
    assert code == 1 and "channels: channel 'Fax' not found (known: Blog, Newsletter)" in err
    assert "removed audience 'Endkunden'" in run.ok(
        "audiences", "remove", "Endkunden", "--as", "boss"
    )
    assert run.ok("audiences", "list", "--as", "ed").endswith("\n(none)\n")


def test_slots_are_set_listed_and_a_piece_is_queued_into_the_next_free_one(run: Cli) -> None:
    out = run.ok("slots", "set", "Blog", "Do 9:30, Di 9:30", "--as", "boss")
    assert out == "channel 'Blog': Tue 09:30, Thu 09:30 (Europe/Berlin)\n"
    code, _out, err = run("slots", "set", "Blog", "Tue 9", "--as", "boss")
    assert code == 1 and "'Tue 9' is not a slot" in err
    listed = json.loads(run.ok("slots", "list", "--as", "ed", "--json"))
    assert [(r["channel"], r["slots"]) for r in listed] == [
        ("Blog", ["Tue 09:30", "Thu 09:30"]),
        ("Newsletter", []),
    ]
    _piece(run)
    free = json.loads(run.ok("slots", "free", "Blog", "--days", "8", "--as", "ed", "--json"))
    first = datetime.fromisoformat(free[0]["at_utc"])
    assert len(free) in (2, 3) and first - datetime.now(UTC) < timedelta(days=7)
    out = run.ok("plan", "queue", "1", "--channel", "Blog", "--as", "ed")
    assert out.startswith("planned post 1: piece 1 at ") and "(next free slot)" in out
    queued = json.loads(run.ok("plan", "list", "--as", "ed", "--json"))
    assert [datetime.fromisoformat(p["publish_at_utc"]) for p in queued] == [first]
    after = json.loads(run.ok("slots", "free", "Blog", "--days", "8", "--as", "ed", "--json"))
    assert after == free[1:]
    code, _out, err = run("plan", "queue", "1", "--channel", "Newsletter", "--as", "ed")
    assert code == 1
    assert "channel 'Newsletter' has no publishing slots yet" in err


def test_a_series_and_an_import_off_the_slot_plan_are_planned_with_a_warning(
    run: Cli, tmp_path: Path
) -> None:
    run.ok("slots", "set", "Blog", "Tue 09:30", "--as", "boss")
    _piece(run)
    out = run.ok(
        "plan", "series", "1", "Blog", "--rule", "FREQ=DAILY;COUNT=2",
        "--start", f"{feb_day(2)} 09:30", "--tz", "Europe/Berlin", "--as", "ed",
    )  # fmt: skip
    assert out.splitlines()[1] == (
        "warning: 1 post(s) of the series are not at the channel's publishing slots: "
        f"{feb_day(3)} 09:30 CET"
    )
    plan = tmp_path / "plan.csv"
    plan.write_text(
        f"piece_id,channel,publish_at\n1,Blog,{feb_day(9)} 09:30\n1,Blog,{feb_day(10)} 11:00\n",
        encoding="utf-8",
    )
    out = run.ok("plan", "import", str(plan), "--as", "ed")
    assert out.splitlines() == [
        "planned 2 new post(s), moved 0, 0 unchanged",
        f"warning: line 3: {feb_day(10)} 11:00 CET is not one of the channel's publishing "
        "slots; planned as written",
    ]


def test_an_import_row_with_queue_takes_the_channels_next_free_slot(
    run: Cli, tmp_path: Path
) -> None:
    run.ok("slots", "set", "Blog", "Tue 09:30", "--as", "boss")
    _piece(run)
    plan = tmp_path / "plan.csv"
    plan.write_text("piece_id,channel,publish_at\n1,Blog,queue\n1,Blog,queue\n", encoding="utf-8")

    out = run.ok("plan", "import", str(plan), "--as", "ed").splitlines()

    assert out[0] == "planned 2 new post(s), moved 0, 0 unchanged"
    prefix = "line {}: planned in the channel's next free slot: "
    assert len(out) == 3
    for number, text in enumerate(out[1:], start=2):
        assert text.startswith(prefix.format(number)), text
    # "YYYY-MM-DD HH:MM CET" (or CEST): the organisation's wall clock.
    days = [datetime.strptime(text.split(": ", 2)[2][:16], "%Y-%m-%d %H:%M") for text in out[1:]]
    # Two Tuesdays at 09:30, a week apart: the second row did not take the first's slot.
    assert [(d.weekday(), d.hour, d.minute) for d in days] == [(1, 9, 30)] * 2
    assert days[1] - days[0] == timedelta(weeks=1)


def test_an_editor_names_a_pieces_audience(run: Cli) -> None:
    run.ok("audiences", "add", "Endkunden", "--as", "boss")
    _piece(run)
    assert run.ok("audiences", "assign", "1", "endkunden", "--as", "ed") == (
        "piece 1 is for 'endkunden'\n"
    )
    assert run.ok("audiences", "assign", "1", "", "--as", "ed") == "piece 1 is for no audience\n"
    code, _out, err = run("audiences", "assign", "1", "Presse", "--as", "ed")
    assert code == 1 and "audience 'Presse' not found (known: Endkunden)" in err


def test_a_series_names_the_posts_a_quiet_sunday_holds(run: Cli) -> None:
    run.ok(
        "rules", "add", "Sonntagsruhe", "--kind", "quiet_hours", "--severity", "block",
        "--settings", "{days: [sunday]}", "--message-de", "Sonntags nicht",
        "--message-en", "Not on Sundays", "--as", "boss",
    )  # fmt: skip
    _piece(run)
    out = run.ok(
        "plan", "series", "1", "Blog", "--rule", "FREQ=DAILY;COUNT=10",
        "--start", "2027-03-26 09:00", "--tz", "Europe/Berlin", "--as", "ed",
    )  # fmt: skip
    assert out.splitlines()[1:] == [
        "warning: 2 post(s) of the series are refused by a publishing rule at their time; "
        "the engine holds each until the time allowed:",
        "  2027-03-28 09:00 CEST: rule 'Sonntagsruhe' on channel 'Blog': Not on Sundays "
        "(quiet time on this channel; next allowed: 2027-03-29 00:00 CEST)",
        "  2027-04-04 09:00 CEST: rule 'Sonntagsruhe' on channel 'Blog': Not on Sundays "
        "(quiet time on this channel; next allowed: 2027-04-05 00:00 CEST)",
    ]


def test_a_series_in_slots_names_the_occurrences_that_found_no_free_slot(run: Cli) -> None:
    run.ok("slots", "set", "Blog", "Tue 09:30", "--as", "boss")
    _piece(run)
    berlin = zone("Europe/Berlin")
    today = datetime.now(berlin).date()
    monday = today + timedelta(days=7 - today.weekday() + 7)
    out = run.ok(
        "plan", "series", "1", "Blog", "--rule", "FREQ=DAILY;COUNT=3", "--in-slots",
        "--start", f"{monday} 00:00", "--tz", "Europe/Berlin", "--as", "ed",
    )  # fmt: skip
    days = [datetime.combine(monday + timedelta(days=n), time(), berlin) for n in range(3)]
    tuesday = days[1].replace(hour=9, minute=30)
    assert out.splitlines() == [
        "created series 1 (FREQ=DAILY;COUNT=3); the piece now has 3 post(s), each in a "
        "free publishing slot of the channel where one was",
        "warning: 2 post(s) of the series found no free slot the rules allow before the next "
        f"occurrence and keep their own time: {days[0]:%Y-%m-%d %H:%M %Z}, "
        f"{days[2]:%Y-%m-%d %H:%M %Z}",
    ]
    planned = json.loads(run.ok("plan", "list", "--as", "ed", "--json"))
    assert [datetime.fromisoformat(p["publish_at_utc"]) for p in planned] == [
        days[0],
        tuesday,
        days[2],
    ]
    code, _out, err = run(
        "plan", "series", "1", "Newsletter", "--rule", "FREQ=WEEKLY;COUNT=3", "--in-slots",
        "--start", f"{monday} 00:00", "--as", "ed",
    )  # fmt: skip
    assert code == 1
    assert "channel 'Newsletter' has no publishing slots to place the series in" in err


def test_a_series_is_cancelled_by_its_id_from_plan_list(run: Cli) -> None:
    _piece(run)
    today = datetime.now(zone("Europe/Berlin")).date()
    start = f"{today + timedelta(days=7)} 09:00"
    out = run.ok(
        "plan", "series", "1", "Blog", "--rule", "FREQ=WEEKLY;COUNT=3",
        "--start", start, "--as", "ed",
    )  # fmt: skip
    assert out.startswith("created series 1 ")
    listed = run.ok("plan", "list", "--as", "ed").splitlines()
    assert listed[0].split()[-1] == "series"
    assert [row.split()[-1] for row in listed[1:]] == ["1", "1", "1"]
    [series] = json.loads(run.ok("plan", "list-series", "--as", "ed", "--json"))
    assert {k: series[k] for k in ("series_id", "rule", "start", "running", "waiting")} == {
        "series_id": 1,
        "rule": "FREQ=WEEKLY;COUNT=3",
        "start": start,
        "running": True,
        "waiting": 3,
    }
    assert (
        series["next_at"]
        == f"{start} {datetime.fromisoformat(start).astimezone(zone('Europe/Berlin')):%Z}"
    )
    # At noon: at the first series' times it would send the piece twice, and be refused.
    run.ok(
        "plan", "series", "1", "Blog", "--rule", "FREQ=DAILY;COUNT=2",
        "--start", start.replace("09:00", "12:00"), "--as", "ed",
    )  # fmt: skip
    newest = json.loads(run.ok("plan", "list-series", "--limit", "1", "--as", "ed", "--json"))
    assert [s["series_id"] for s in newest] == [2]
    run.ok("plan", "cancel-series", "2", "--as", "ed")
    table = run.ok("plan", "list-series", "--as", "ed").splitlines()
    assert table[0].split()[:3] == ["series", "rule", "from"]
    assert table[1].split()[:2] == ["1", "FREQ=WEEKLY;COUNT=3"] and "running" in table[1]
    out = run.ok("plan", "cancel-series", "1", "--reason", "Aktion vorbei", "--as", "ed")
    assert out == "series 1 cancelled: 3 post(s) cancelled\n"
    statuses = [p["status"] for p in json.loads(run.ok("plan", "list", "--as", "ed", "--json"))]
    assert statuses == ["cancelled"] * 5
    assert json.loads(run.ok("plan", "list-series", "--as", "ed", "--json")) == []
    [_second, ended] = json.loads(run.ok("plan", "list-series", "--ended", "--as", "ed", "--json"))
    assert (ended["running"], ended["waiting"], ended["next_at"]) == (False, 0, None)
    code, _out, err = run("plan", "cancel-series", "1", "--as", "ed")
    assert code == 1 and "series #1 has ended already" in err
    code, _out, err = run("plan", "cancel-series", "7", "--as", "ed")
    assert code == 1 and "series 7 not found" in err
