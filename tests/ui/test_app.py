"""The dashboard under AppTest: sign-in, role-based pages, both languages."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from planner import ideas, users
from planner.db import make_engine
from planner.migrate import upgrade
from planner.models import Role
from planner.ui import keys
from planner.ui.app import PAGES_BY_ROLE

APP = str(Path(__file__).resolve().parents[2] / "planner_app.py")
PASSWORD = "dashboard-password-1"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite database with an admin, an editor and a contributor with an idea."""
    url = f"sqlite:///{tmp_path / 'ui.db'}"
    monkeypatch.setenv("PLANNER_DATABASE_URL", url)
    engine = make_engine(url)
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.create_user(
            s,
            actor=None,
            data={
                "username": "admin",
                "display_name": "Admin",
                "role": "admin",
                "password": PASSWORD,
            },
        )
        users.create_department(s, actor=admin, name="HR")
        users.create_user(
            s,
            actor=admin,
            data={
                "username": "ed",
                "display_name": "Eda Editor",
                "role": "editor",
                "password": PASSWORD,
                "locale": "en",
            },
        )
        contrib = users.create_user(
            s,
            actor=admin,
            data={
                "username": "lena",
                "display_name": "Lena",
                "role": "contributor",
                "department": "HR",
                "password": PASSWORD,
            },
        )
        ideas.submit_idea(
            s,
            actor=contrib,
            data={
                "title": "Azubi-Tag <b>2027</b>",
                "pitch": "Azubis zeigen ihren Alltag",
                "department": "HR",
            },
        )
    engine.dispose()
    return url


def _sign_in(username: str, password: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key=keys.SIGN_IN_USERNAME).input(username)
    at.text_input(key=keys.SIGN_IN_PASSWORD).input(password)
    at.button[0].click().run()
    return at


def test_wrong_password_shows_the_message_and_stays_signed_out(database: str) -> None:
    at = _sign_in("lena", "wrong-password")
    assert [e.value for e in at.error] == ["Benutzername oder Passwort ist falsch."]
    assert keys.USER_ID not in at.session_state


def test_contributor_sees_her_ideas_as_plain_text_in_german(database: str) -> None:
    at = _sign_in("lena", PASSWORD)
    assert not at.exception
    assert at.title[0].value == "Meine Ideen"
    table = at.dataframe[0].value
    assert list(table["Titel"]) == ["Azubi-Tag <b>2027</b>"]
    assert list(table["Status"]) == ["eingereicht"]


def test_only_editorial_roles_get_the_plan_page() -> None:
    assert "plan" not in PAGES_BY_ROLE[Role.contributor]
    assert all("plan" in PAGES_BY_ROLE[r] for r in (Role.editor, Role.approver, Role.admin))
    assert all("my_ideas" in pages for pages in PAGES_BY_ROLE.values())


def test_editor_gets_the_plan_in_english(database: str) -> None:
    at = _sign_in("ed", PASSWORD)
    assert not at.exception
    assert at.title[0].value == "Plan"
    assert at.info[0].value == "Nothing is planned in this range."
