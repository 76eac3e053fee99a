"""'Process': the process figures of a period, in German and English, and the downloads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from planner import ideas, pieces, users
from planner.db import make_engine
from planner.models import (
    InboxItem,
    InboxSource,
    InboxStatus,
    ResponseTarget,
    Role,
    utcnow,
)
from planner.ui import keys
from planner.ui.app import page_path
from planner.ui.i18n import translate
from tests.exported import csv_rows
from tests.ui.conftest import PASSWORD, add_user, open_page, sign_in


@pytest.fixture
def reviewed(database: str) -> str:
    """The fixture's idea accepted; a second one rejected; the piece sent back once."""
    add_user(database, "anna", Role.approver.value)
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        ed, anna = users.get_user(s, "ed"), users.get_user(s, "anna")
        lena = users.get_user(s, "lena")
        second = ideas.submit_idea(
            s, actor=lena, data={"title": "Kantine", "pitch": "Neues Menü", "department": "HR"}
        )
        assert second.idea.id is not None
        ideas.reject_idea(s, actor=ed, idea_id=second.idea.id, reason="Kein <b>Budget</b>")
        piece = ideas.accept_idea(s, actor=ed, idea_id=1)
        assert piece.id is not None
        pieces.submit_piece(s, actor=ed, piece_id=piece.id)
        pieces.request_changes(s, actor=anna, piece_id=piece.id, comment="Quelle fehlt")
    engine.dispose()
    return database


def test_the_editor_sees_the_figures_in_english(reviewed: str) -> None:
    at = open_page(sign_in("ed", PASSWORD), "process")
    assert not at.exception
    assert at.title[0].value == "Process"
    texts = [t.value for t in at.main.text]
    assert (
        "2 ideas submitted: 1 accepted, 1 rejected, 0 merged, 0 open. "
        "Acceptance rate: 50.0 %." in texts
    )
    assert "1 piece reviewed; changes requested: 1 (1.00 per piece)." in texts
    by_department = at.dataframe[0].value
    assert list(by_department["Department"]) == ["HR"]
    assert list(by_department["Acceptance rate"]) == ["50.0 %"]
    reasons = at.dataframe[1].value
    assert list(reasons["Reason"]) == ["Kein <b>Budget</b>"]  # shown as written, not as HTML
    # An editor downloads the process report; the approvals report is the admins'.
    assert {b.key for b in at.get("download_button")} == {keys.PROCESS_CSV, keys.PROCESS_HTML}


def test_a_german_editor_reads_one_piece_reviewed_and_the_target_in_working_days(
    reviewed: str,
) -> None:
    at = sign_in("ed", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("de").run()
    at = open_page(at, "process")
    assert not at.exception
    texts = [t.value for t in at.main.text]
    assert "1 Beitrag geprüft, 1-mal Änderungen erbeten (1,00 je Beitrag)." in texts
    assert any(t.startswith("Ziel in Arbeitstagen: 2 (") for t in texts)


def test_a_german_editor_reads_one_idea_submitted_in_the_singular(database: str) -> None:
    at = sign_in("ed", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("de").run()
    at = open_page(at, "process")
    assert not at.exception
    assert at.main.text[0].value.startswith("1 Idee eingereicht: 0 angenommen, ")


def test_the_editors_csv_download_is_comma_separated_with_a_byte_order_mark(
    reviewed: str, exports: list[Callable[[], Any]]
) -> None:
    at = open_page(sign_in("ed", PASSWORD), "process")
    assert not at.exception
    process_csv, _process_html = (make() for make in exports[-2:])
    rows = csv_rows(process_csv, ",")
    assert {"section": "ideas", "name": "", "measure": "rejected", "value": "1"} in rows
    rate = {"section": "ideas", "name": "", "measure": "acceptance_rate", "value": "0.5000"}
    assert rate in rows


def test_the_admin_sees_the_page_in_german_and_downloads_both_reports(
    reviewed: str, exports: list[Callable[[], Any]]
) -> None:
    at = open_page(sign_in("admin", PASSWORD), "process")
    assert not at.exception
    assert at.title[0].value == "Prozess"
    texts = [t.value for t in at.main.text]
    assert (
        "2 Ideen eingereicht: 1 angenommen, 1 abgelehnt, 0 zusammengeführt, 0 offen. "
        "Annahmequote: 50,0 %." in texts
    )
    assert at.dataframe[0].value.columns[0] == "Abteilung"
    assert {b.key for b in at.get("download_button")} == {
        keys.PROCESS_CSV,
        keys.PROCESS_HTML,
        keys.PROCESS_AUDIT_CSV,
        keys.PROCESS_AUDIT_HTML,
    }
    process_csv, process_html, audit_csv, audit_html = (make() for make in exports[-4:])
    rows = csv_rows(process_csv, ";")
    assert {"section": "ideas", "name": "", "measure": "rejected", "value": "1"} in rows
    # German Excel reads "0.5000" as text or a date: the German file writes a decimal comma.
    rate = {"section": "ideas", "name": "", "measure": "acceptance_rate", "value": "0,5000"}
    assert rate in rows
    assert '<html lang="de">' in process_html
    assert "<title>Bericht zum Redaktionsprozess</title>" in process_html
    assert "Kein &lt;b&gt;Budget&lt;/b&gt;" in process_html
    # Counts stand where no noun must agree with them ("1 Beiträge geprüft" before).
    assert "Geprüfte Beiträge: 1; erbetene Änderungen: 1 (1,00 je Beitrag)." in process_html
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    first = today - timedelta(days=29)  # the page's default: the last 30 days
    assert f"Zeitraum: {first:%d.%m.%Y} bis {today:%d.%m.%Y} (Europe/Berlin)" in process_html
    assert [r["record"] for r in csv_rows(audit_csv, ";")] == ["chain"]
    assert "Intakt:" in audit_html and "Freigaben und Ausnahmen" in audit_html


def test_a_period_ending_before_it_begins_is_refused(reviewed: str) -> None:
    at = open_page(sign_in("ed", PASSWORD), "process")
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()
    at.date_input(key=keys.PROCESS_FROM).set_value(today + timedelta(days=2)).run()
    assert [e.value for e in at.error] == ["The end of the period is before its start."]
    assert not at.dataframe
    at.date_input(key=keys.PROCESS_TO).set_value(today + timedelta(days=3)).run()
    assert not at.error
    assert "0 ideas submitted" in at.main.text[0].value


@pytest.mark.parametrize("username", ["anna", "lena"])
def test_approvers_and_contributors_are_refused_the_page(reviewed: str, username: str) -> None:
    at = AppTest.from_file(str(page_path("process")), default_timeout=30)
    at.session_state[keys.LANGUAGE] = "en"
    engine = make_engine(reviewed)
    with Session(engine) as s:
        at.session_state[keys.USER_ID] = users.get_user(s, username).id
    engine.dispose()
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == [translate("en", "process.heading")]
    assert [e.value for e in at.error] == [translate("en", "moves.denied")]
    assert not (at.dataframe or at.date_input or at.get("download_button"))
    with pytest.raises(ValueError, match="process"):
        open_page(sign_in(username, PASSWORD), "process")


@pytest.fixture
def answered(reviewed: str) -> str:
    """Three listening items HR answered today after 2, 3.5 and 5 hours, against a target
    of 4 hours: 2 of 3 within it, the median 3.5 hours."""
    engine = make_engine(reviewed)
    now = utcnow()
    with Session(engine) as s:
        hr = users.get_department(s, "HR")
        assert hr.id is not None
        s.add(ResponseTarget(department_id=hr.id, hours=4))
        for n, hours in enumerate((2.0, 3.5, 5.0)):
            handled = now - timedelta(minutes=5)
            s.add(
                InboxItem(
                    source=InboxSource.mention,
                    source_key="channel:1",
                    external_id=f"answered-{n}",
                    received_at=handled - timedelta(hours=hours),
                    status=InboxStatus.answered,
                    department_id=hr.id,
                    handled_at=handled,
                )
            )
        s.commit()
    engine.dispose()
    return reviewed


def _responses(at: AppTest, median: str) -> Any:
    [table] = [d.value for d in at.main.dataframe if median in d.value.columns]
    return table


def test_the_response_times_read_as_the_pages_other_numbers(
    answered: str, exports: list[Callable[[], Any]]
) -> None:
    german = open_page(sign_in("admin", PASSWORD), "process")
    assert not german.exception
    table = _responses(german, "Median (Stunden)")
    assert list(table["Im Ziel"]) == ["66,7 %"]
    assert list(table["Median (Stunden)"]) == ["3,5"]
    process_html = exports[-3]()  # the process report's HTML, in German
    assert '<html lang="de">' in process_html
    assert "<td>66,7 %</td><td>3,5</td>" in process_html.replace("\n", "")
    english = open_page(sign_in("ed", PASSWORD), "process")
    table = _responses(english, "Median (hours)")
    assert list(table["Within target"]) == ["66.7 %"]
    assert list(table["Median (hours)"]) == ["3.5"]
