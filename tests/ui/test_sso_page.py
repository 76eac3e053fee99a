"""The sign-in page with and without single sign-on configured (AppTest).

The company sign-in itself runs against a real provider in `test_sso_browser.py`.
"""

from __future__ import annotations

from secrets import token_urlsafe

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from planner import users
from planner.config import OIDC_VARIABLES
from planner.db import make_engine
from planner.ui import keys
from planner.ui.i18n import translate
from tests.ui.conftest import APP, PASSWORD, open_page, sign_in


def sso_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "PLANNER_OIDC_METADATA_URL", "http://127.0.0.1:9/.well-known/openid-configuration"
    )
    monkeypatch.setenv("PLANNER_OIDC_CLIENT_ID", "planner")
    monkeypatch.setenv("PLANNER_OIDC_CLIENT_SECRET", token_urlsafe(16))
    monkeypatch.setenv("PLANNER_OIDC_REDIRECT_URI", "http://localhost:8501/oauth2callback")
    monkeypatch.setenv("PLANNER_OIDC_COOKIE_SECRET", token_urlsafe(32))


def labels(at: AppTest) -> list[str]:
    return [button.label for button in at.button]


def test_without_settings_there_is_no_company_button(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in OIDC_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert translate("de", "sso.sign_in") not in labels(at)
    assert keys.SSO_SIGN_IN not in [button.key for button in at.button]


def test_with_settings_the_company_button_is_shown_and_passwords_still_work(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sso_settings(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert at.button(key=keys.SSO_SIGN_IN).label == "Mit Firmenkonto anmelden"
    # Local accounts are kept: the password form signs in as before.
    at.text_input(key=keys.SIGN_IN_USERNAME).input("ed")
    at.text_input(key=keys.SIGN_IN_PASSWORD).input(PASSWORD)
    (submit,) = [b for b in at.button if b.label == translate("de", "sign_in.submit")]
    submit.click().run()
    assert not at.exception
    assert keys.USER_ID in at.session_state
    assert translate("en", "sso.sign_in") == "Sign in with company account"


def test_an_admin_sets_the_email_single_sign_on_matches_by(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "users")
    at.selectbox(key=keys.USERS_PICK).select("ed")
    at.run()
    box = at.text_input(key=f"{keys.USERS_EMAIL}_2")
    assert box.value == ""
    box.input("Eda@Example.com")
    at.button(key=keys.USERS_EMAIL_SAVE).click().run()
    assert [s.value for s in at.success] == ["Die E-Mail-Adresse von ed wurde gespeichert."]
    at.selectbox(key=keys.USERS_PICK).select("lena")
    at.run()
    at.text_input(key=f"{keys.USERS_EMAIL}_3").input("EDA@example.com")
    at.button(key=keys.USERS_EMAIL_SAVE).click().run()
    assert [e.value for e in at.error] == [
        "E-Mail: „EDA@example.com“ ist schon die E-Mail-Adresse von „ed“."
    ]
    engine = make_engine(database)
    with Session(engine) as s:
        assert users.get_user(s, "ed").email == "Eda@Example.com"
        assert users.get_user(s, "lena").email is None
    engine.dispose()
