"""`python -m planner report process|approvals`: who may run them, CSV and HTML output."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from planner.db import make_engine
from tests.exported import csv_rows
from tests.test_cli import Cli, org, run

__all__ = ["org", "run"]


def _today() -> str:
    return datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()


def _tomorrow() -> str:
    return (datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=1)).isoformat()


@pytest.fixture
def approved(org: Cli) -> Cli:
    """Idea 1 accepted as piece 1, edited to revision 2 and approved by anna; idea 2
    rejected."""
    org.ok(
        "ideas", "submit", "--as", "mia", "--title", "Messe <b>2027</b>", "--pitch", "Wir sind da"
    )
    org.ok("ideas", "submit", "--as", "mia", "--title", "Gehaltsrunde", "--pitch", "Vertraulich")
    org.ok("ideas", "accept", "1", "--as", "ed")
    org.ok("ideas", "reject", "2", "--as", "ed", "--reason", "=kein Budget")
    org.ok("pieces", "edit", "1", "--as", "ed", "--title", "Messe <i>neu</i>", "--note", "Titel")
    org.ok("pieces", "submit", "1", "--as", "ed")
    org.ok("pieces", "request-changes", "1", "--as", "anna", "--comment", "Quelle fehlt")
    org.ok("pieces", "revise", "1", "--as", "ed")
    org.ok("pieces", "submit", "1", "--as", "ed")
    org.ok("pieces", "approve", "1", "--as", "anna", "--revision", "2")
    return org


def _period(*extra: str) -> list[str]:
    return ["--since", _today(), "--until", _tomorrow(), *extra]


def test_the_process_report_as_csv_for_editors_and_admins(approved: Cli) -> None:
    for reader in ("ed", "boss"):
        out = approved.ok("report", "process", *_period("--as", reader))
        rows = csv_rows(out)
        value = {(r["section"], r["name"], r["measure"]): r["value"] for r in rows}
        assert value[("ideas", "", "submitted")] == "2"
        assert value[("ideas", "", "acceptance_rate")] == "0.5000"
        assert value[("ideas_by_department", "Marketing", "rejected")] == "1"
        # A reason that looks like a formula is kept from running in a spreadsheet.
        assert value[("rejection_reasons", "'=kein Budget", "count")] == "1"
        assert value[("rework", "", "changes_requested")] == "1"
        assert value[("cycle_time", "idea_to_approval", "count")] == "1"
        assert value[("approval_wait", "", "reviews")] == "2"


@pytest.mark.parametrize("who", ["anna", "mia"])
def test_approvers_and_contributors_may_not_see_the_process_report(approved: Cli, who: str) -> None:
    code, out, err = approved("report", "process", *_period("--as", who))
    assert code == 1 and out == ""
    assert f"'{who}'" in err and "may not see the process report" in err


def test_the_process_report_as_html_to_a_file(approved: Cli, tmp_path: Path) -> None:
    target = tmp_path / "prozess.html"
    said = approved.ok(
        "report", "process", *_period("--format", "html", "--output", str(target), "--as", "ed")
    )
    assert f"wrote the report to {target}" in said
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    assert "Messe &lt;i&gt;neu&lt;/i&gt;" in page  # the reworked piece, escaped
    # The period as given: its first and its last day (the end is the day after's midnight).
    assert f"<p>Period: {_today()} to {_tomorrow()} (Europe/Berlin)</p>" in page
    assert "<i>neu</i>" not in page


def test_the_approvals_report_names_approver_revision_and_chain(approved: Cli) -> None:
    out = approved.ok("report", "approvals", *_period("--as", "boss"))
    rows = csv_rows(out)
    approvals = [r for r in rows if r["record"] == "approval"]
    assert [(r["actor"], r["actor_name"], r["object_id"], r["revision"], r["title"])
            for r in approvals] == [("anna", "anna", "1", "2", "Messe <i>neu</i>")]  # fmt: skip
    assert approvals[0]["at_local"].endswith(("CET", "CEST"))
    (chain,) = [r for r in rows if r["record"] == "chain"]
    assert chain["title"] == "intact" and "chain intact" in chain["note"]

    page = approved.ok("report", "approvals", *_period("--format", "html", "--as", "boss"))
    assert "<td>anna</td>" in page and "Messe &lt;i&gt;neu&lt;/i&gt;" in page
    assert "Intact:" in page and "<i>" not in page


@pytest.mark.parametrize("who", ["ed", "anna", "mia"])
def test_only_admins_may_see_the_approvals_report(approved: Cli, who: str) -> None:
    code, out, err = approved("report", "approvals", *_period("--as", who))
    assert code == 1 and out == ""
    assert "may not see the approvals report for audits" in err


def test_the_approvals_report_says_when_the_chain_is_broken(approved: Cli) -> None:
    engine = make_engine(os.environ["PLANNER_DATABASE_URL"])
    with engine.begin() as conn:  # as the file's owner, behind the trigger's back
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET note = 'nie passiert' WHERE id = 3"))
    engine.dispose()
    page = approved.ok("report", "approvals", *_period("--format", "html", "--as", "boss"))
    assert 'class="broken"' in page and "chain broken at event 3 (changed)" in page


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--since", "2030-01-02", "--until", "2030-01-01"], "--since must be before --until"),
        (["--since", "gestern", "--until", "2030-01-01"], "gestern"),
    ],
)
def test_bad_periods_and_formats_are_refused(org: Cli, args: list[str], said: str) -> None:
    for command in ("process", "approvals"):
        code, out, err = org("report", command, *args, "--as", "boss")
        assert code != 0 and out == ""
        assert said in err


def test_an_unknown_format_is_a_usage_error(org: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        org("report", "process", *_period("--format", "pdf", "--as", "boss"))
    assert stopped.value.code == 2
    assert "invalid choice: 'pdf' (choose from 'csv', 'html')" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("report", "separator", "name", "expected"),
    [
        pytest.param("process", ";", ";", ("ideas", "", "submitted", "2"), id="process-semicolon"),
        pytest.param(
            "process", ";", ";", ("ideas", "", "acceptance_rate", "0,5000"), id="decimal-comma"
        ),
        pytest.param(
            "process", ",", ",", ("ideas", "", "acceptance_rate", "0.5000"), id="decimal-point"
        ),
        pytest.param(
            "approvals", "\t", "tab", ("approval", "1", "2", "Messe <i>neu</i>"), id="approvals-tab"
        ),
    ],
)
def test_a_report_takes_the_separator_asked_for(
    approved: Cli, tmp_path: Path, report: str, separator: str, name: str, expected: tuple[str, ...]
) -> None:
    target = tmp_path / "bericht.csv"
    approved.ok(
        "report", report, *_period("--separator", name, "--output", str(target), "--as", "boss")
    )
    rows = csv_rows(target.read_bytes().decode("utf-8"), separator)
    columns = (
        ("section", "name", "measure", "value")
        if report == "process"
        else ("record", "object_id", "revision", "title")
    )
    assert expected in [tuple(r[c] for c in columns) for r in rows]


def test_the_separator_is_refused_for_a_report_in_html(org: Cli) -> None:
    code, out, err = org(
        "report", "process", *_period("--format", "html", "--separator", ";", "--as", "boss")
    )
    assert (code, out) == (2, "")
    assert err == "error: --separator applies to CSV only, not to --format html\n"
