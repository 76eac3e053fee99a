"""The accessibility statement under AppTest: open to everyone, in both languages, naming
the configured contact for reporting barriers (or the administrators)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from planner.ui.i18n import translate
from tests.ui.conftest import APP, PASSWORD, open_page, sign_in


def _texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.main.markdown)


def test_signed_out_visitors_reach_the_statement_from_the_sign_in_page(database: str) -> None:
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert [p.proto.label for p in at.main.get("page_link")] == [
        translate("de", "accessibility.link")
    ]
    at = open_page(at, "accessibility")
    assert not at.exception
    assert at.title[0].value == "Erklärung zur Barrierefreiheit"
    assert translate("de", "accessibility.limit.tables") in _texts(at)
    assert translate(
        "de", "accessibility.report", contact=translate("de", "accessibility.contact_admins")
    ) in _texts(at)
    # No sidebar when signed out: the statement leads back to signing in.
    assert [p.proto.label for p in at.main.get("page_link")] == [translate("de", "nav.sign_in")]


@pytest.mark.parametrize("username", ["lena", "ed", "admin"])
def test_every_role_has_the_statement_in_its_navigation(database: str, username: str) -> None:
    at = open_page(sign_in(username, PASSWORD), "accessibility")
    assert not at.exception
    heading = "Accessibility statement" if username == "ed" else "Erklärung zur Barrierefreiheit"
    assert at.title[0].value == heading


def test_the_configured_contact_is_named_exactly_as_written(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = "barrierefrei@example.org (Team *Inklusion*)"
    monkeypatch.setenv("PLANNER_ACCESSIBILITY_CONTACT", contact)
    at = open_page(sign_in("ed", PASSWORD), "accessibility")
    assert not at.exception
    report = next(m for m in at.main.markdown if "barrierefrei@example.org" in m.value)
    # Escaped for markdown, so it renders as typed (no emphasis from the asterisks).
    assert report.value.replace("\\", "") == translate(
        "en", "accessibility.report", contact=contact
    )
