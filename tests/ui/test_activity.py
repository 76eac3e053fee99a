"""'Activity': the audit log for every role, filtered, paged, exported as CSV."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from planner import audit, users
from planner.db import make_engine
from planner.models import Role
from planner.ui import keys
from tests.exported import csv_rows
from tests.ui.conftest import PASSWORD, add_user, open_page, sign_in


@pytest.mark.parametrize("username", ["admin", "ed", "appr", "lena"])
def test_every_role_opens_the_activity_log(database: str, username: str) -> None:
    add_user(database, "appr", Role.approver.value)
    at = open_page(sign_in(username, PASSWORD), "activity")
    assert not at.exception
    assert at.title[0].value in ("Aktivität", "Activity")
    assert len(at.dataframe[0].value) > 0


def test_contributor_sees_her_own_actions_and_her_department_only(database: str) -> None:
    at = open_page(sign_in("lena", PASSWORD), "activity")
    assert any(t.value.startswith("Sie sehen Ihre eigenen Aktionen") for t in at.main.text)
    assert not at.main.caption  # in the text's own colour: a caption's grey is too faint
    table = at.dataframe[0].value
    assert set(table["Wer"]) == {"lena"}
    assert "Konto Admin" not in set(table["Objekt"])  # the admin's own sign-up is not hers
    assert "admin" not in at.selectbox(key=keys.ACTIVITY_ACTOR).options


def test_filter_narrows_the_table_and_the_csv_holds_what_is_shown(
    database: str, exports: list[Callable[[], Any]]
) -> None:
    at = open_page(sign_in("ed", PASSWORD), "activity")
    assert at.main.text[-1].value.endswith("events")
    at.selectbox(key=keys.ACTIVITY_ACTION).select("login").run()
    at.selectbox(key=keys.ACTIVITY_ACTOR).select("ed").run()
    table = at.dataframe[0].value
    assert list(table["Action"]) == ["signed in"]
    assert list(table["Who"]) == ["ed"]
    assert at.main.text[-1].value == "1 event"

    rows = csv_rows(exports[-1](), ",")  # English: comma-separated
    assert [(r["actor"], r["action"]) for r in rows] == [("ed", "login")]
    assert rows[0]["at_local"].endswith(("CET", "CEST"))


def test_a_day_range_in_the_users_zone_filters_and_a_reversed_one_is_refused(
    database: str,
) -> None:
    at = open_page(sign_in("ed", PASSWORD), "activity")
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()  # the user's zone
    at.date_input(key=keys.ACTIVITY_TO).set_value(today).run()
    assert len(at.dataframe[0].value) > 0
    at.date_input(key=keys.ACTIVITY_FROM).set_value(today + timedelta(days=2)).run()
    assert [e.value for e in at.error] == ["The end of the range is before its start."]
    assert at.date_input(key=keys.ACTIVITY_FROM).value == today + timedelta(days=2)
    at.date_input(key=keys.ACTIVITY_TO).set_value(today + timedelta(days=3)).run()
    assert at.info[0].value == "No events for this selection."


def test_activity_renders_in_german(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "activity")
    assert at.title[0].value == "Aktivität"
    assert "Aktion" in at.dataframe[0].value.columns


def test_the_engines_notes_are_said_in_german(database: str) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        audit.record(
            s,
            actor=None,
            actor_name="scheduler",
            object_type="post",
            object_id=1,
            action="miss",
            from_state="planned",
            to_state="missed",
            note="more than 2:00:00 late",
        )
        s.commit()
    engine.dispose()
    at = open_page(sign_in("admin", PASSWORD), "activity")
    assert not at.exception
    assert "mehr als 2 Stunden zu spät" in list(at.dataframe[0].value["Notiz"])


def test_long_logs_are_paged(database: str) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        admin = users.get_user(s, "admin")
        for n in range(60):
            audit.record(s, actor=admin, object_type="piece", object_id=n, action="edit")
        s.commit()
    engine.dispose()
    at = open_page(sign_in("ed", PASSWORD), "activity")
    at.selectbox(key=keys.ACTIVITY_ACTION).select("edit").run()
    assert at.main.text[-1].value == "60 events"
    assert len(at.dataframe[0].value) == 50
    assert at.dataframe[0].value["Object"][0] == "piece 59"  # newest first
    at.number_input(key=keys.ACTIVITY_PAGE).set_value(2).run()
    assert list(at.dataframe[0].value["Object"]) == [f"piece {n}" for n in range(9, -1, -1)]
