"""`python -m planner audit verify`: the chain in the database or in an exported file."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text

from planner.db import make_engine
from tests.exported import csv_rows
from tests.test_cli import Cli, org, run

__all__ = ["org", "run"]


def test_verify_reports_an_intact_chain_and_only_admins_run_it(org: Cli) -> None:
    out = org.ok("audit", "verify", "--as", "boss")
    assert "events, chain intact" in out

    code, _out, err = org("audit", "verify", "--as", "ed")
    assert code == 1
    assert "may not verify the audit log" in err


def test_verify_names_the_first_changed_event_and_fails(org: Cli) -> None:
    engine = make_engine(os.environ["PLANNER_DATABASE_URL"])
    with engine.begin() as conn:  # as the file's owner, behind the trigger's back
        conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET note = 'nie passiert' WHERE id = 3"))
    engine.dispose()

    code, out, _err = org("audit", "verify", "--as", "boss")

    assert code == 1
    assert "chain broken at event 3 (changed)" in out
    assert "2 event(s) before it are intact" in out


def test_an_export_verifies_on_its_own_and_an_edit_shows(org: Cli, tmp_path: Path) -> None:
    exported = tmp_path / "audit.csv"
    org.ok("audit", "export", str(exported), "--as", "boss")
    org.monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'nowhere' / 'none.db'}")

    out = org.ok("audit", "verify", "--file", str(exported))
    assert "events, chain intact" in out

    lines = exported.read_text(encoding="utf-8").splitlines()
    edited = tmp_path / "edited.csv"
    edited.write_text("\n".join([*lines[:2], *lines[3:]]) + "\n", encoding="utf-8")
    code, out, _err = org("audit", "verify", "--file", str(edited))
    assert code == 1
    assert "chain broken at event 2 (missing)" in out


def test_verify_period_and_bad_arguments(org: Cli, tmp_path: Path) -> None:
    assert "chain intact" in org.ok("audit", "verify", "--as", "boss", "--from", "2020-01-01")
    code, _out, err = org(
        "audit", "verify", "--as", "boss", "--from", "2030-01-02", "--to", "2030-01-01"
    )
    assert code == 2 and "--from must be before --to" in err
    code, _out, err = org("audit", "verify", "--file", str(tmp_path / "absent.csv"))
    assert code == 2 and "cannot read" in err


def test_a_contributor_exports_the_events_the_activity_page_shows_them(org: Cli) -> None:
    org.ok("ideas", "submit", "--as", "mia", "--title", "Messeauftritt", "--pitch", "Wir sind da")

    out = org.ok("audit", "export", "-", "--as", "mia", "--since", "2020-01-01")

    rows = csv_rows(out)
    assert rows and {r["actor"] for r in rows} == {"mia"}
    assert ("idea", "submit") in {(r["object_type"], r["action"]) for r in rows}
    everything = org.ok("audit", "export", "-", "--as", "boss")
    assert len(csv_rows(everything)) > len(rows)


def test_an_export_separated_by_semicolons_verifies_on_its_own(org: Cli, tmp_path: Path) -> None:
    org.ok("ideas", "submit", "--as", "mia", "--title", "Größe, =1+1", "--pitch", "Ü; -5 %, @x")
    exported = tmp_path / "audit.csv"
    org.ok("audit", "export", str(exported), "--separator", ";", "--as", "boss")

    rows = csv_rows(exported.read_bytes().decode("utf-8"), ";")
    assert ("idea", "submit") in {(r["object_type"], r["action"]) for r in rows}
    org.monkeypatch.setenv("PLANNER_DATABASE_URL", f"sqlite:///{tmp_path / 'nowhere' / 'none.db'}")
    out = org.ok("audit", "verify", "--file", str(exported))
    assert f"{len(rows)} events, chain intact" in out
