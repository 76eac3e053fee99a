"""'Users' (admins only): add an account that can then sign in, disable one, reset, change roles."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from planner import users
from planner.db import make_engine
from planner.models import Role
from planner.ui import keys
from tests.ui.conftest import PASSWORD, open_page, sign_in

NEW_PASSWORD = "a fresh password 7"


def test_admin_opens_users_in_german(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "users")
    assert not at.exception
    assert at.title[0].value == "Benutzer"
    table = at.dataframe[0].value
    assert list(table["Benutzername"]) == ["admin", "ed", "lena"]
    assert list(table["Abteilung"]) == ["", "", "HR"]


@pytest.mark.parametrize("username", ["ed", "lena"])
@pytest.mark.parametrize("page", ["users", "departments", "channels", "settings"])
def test_admin_pages_are_absent_for_other_roles(database: str, username: str, page: str) -> None:
    at = sign_in(username, PASSWORD)
    with pytest.raises(ValueError, match=page):
        open_page(at, page)


def test_added_user_can_sign_in(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "users")
    at.text_input(key=keys.USERS_ADD_USERNAME).input("Tom")
    at.text_input(key=keys.USERS_ADD_NAME).input("Tom Tester")
    at.selectbox(key=keys.USERS_ADD_ROLE).select("contributor")
    at.text_input(key=keys.USERS_ADD_PASSWORD).input("kurz")
    at.button(key=keys.USERS_ADD_SUBMIT).click().run()
    assert "Passwort: mindestens 10 Zeichen" in [e.value for e in at.error]
    assert at.text_input(key=keys.USERS_ADD_NAME).value == "Tom Tester"  # nothing lost

    at.text_input(key=keys.USERS_ADD_PASSWORD).input(NEW_PASSWORD)
    at.button(key=keys.USERS_ADD_SUBMIT).click().run()
    assert "Abteilung: Beitragende gehören immer zu einer Abteilung." in [e.value for e in at.error]

    at.selectbox(key=keys.USERS_ADD_DEPARTMENT).select("HR")
    at.selectbox(key=keys.USERS_ADD_LOCALE).select("en")
    at.button(key=keys.USERS_ADD_SUBMIT).click().run()
    assert [s.value for s in at.success] == ["Benutzer tom ist angelegt."]
    assert at.text_input(key=keys.USERS_ADD_NAME).value == ""
    assert "tom" in list(at.dataframe[0].value["Benutzername"])

    tom = sign_in("tom", NEW_PASSWORD)
    assert not tom.exception
    assert tom.title[0].value == "Submit an idea"  # his language, his role's first page


def test_disabled_user_cannot_sign_in_and_is_enabled_again(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "users")
    at.selectbox(key=keys.USERS_PICK).select("lena").run()
    at.button(key=keys.USERS_TOGGLE).click().run()
    assert [s.value for s in at.success] == ["lena ist deaktiviert."]
    assert "deaktiviert" in list(at.dataframe[0].value["Zustand"])
    assert [e.value for e in sign_in("lena", PASSWORD).error] == ["Dieses Konto wurde deaktiviert."]

    at.button(key=keys.USERS_TOGGLE).click().run()
    assert [s.value for s in at.success] == ["lena ist wieder aktiv."]
    assert not sign_in("lena", PASSWORD).error


def test_admin_cannot_disable_themselves_and_sees_why(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "users")
    at.selectbox(key=keys.USERS_PICK).select("admin").run()
    at.button(key=keys.USERS_TOGGLE).click().run()
    assert [e.value for e in at.error] == [
        "Benutzername: Ihr eigenes Konto können Sie nicht sperren."
    ]


def test_password_reset_and_role_change(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "users")
    at.selectbox(key=keys.USERS_PICK).select("ed").run()
    at.text_input(key=keys.USERS_NEW_PASSWORD).input("short")
    at.button(key=keys.USERS_RESET).click().run()
    assert [e.value for e in at.error] == ["Passwort: mindestens 10 Zeichen"]
    at.text_input(key=keys.USERS_NEW_PASSWORD).input(NEW_PASSWORD)
    at.button(key=keys.USERS_RESET).click().run()
    assert [s.value for s in at.success] == ["Das Passwort von ed ist neu gesetzt."]
    assert not sign_in("ed", NEW_PASSWORD).exception

    at.selectbox(key=keys.USERS_PICK).select("ed").run()
    at.selectbox(key=f"{keys.USERS_ROLE}_2").select("approver")
    at.button(key=keys.USERS_ROLE_SAVE).click().run()
    assert [s.value for s in at.success] == ["ed ist jetzt Freigabe."]
    with Session(make_engine(database)) as s:
        assert users.get_user(s, "ed").role == Role.approver


def test_a_common_password_is_refused_with_the_reason_in_german(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "users")
    at.selectbox(key=keys.USERS_PICK).select("ed").run()
    at.text_input(key=keys.USERS_NEW_PASSWORD).input("Passwort2031!")
    at.button(key=keys.USERS_RESET).click().run()

    [error] = [e.value for e in at.error]
    assert error.startswith("Passwort: Das ist eines der häufigsten Passwörter")
    assert not at.success
    assert not sign_in("ed", PASSWORD).exception


def test_the_role_form_shows_the_accounts_own_department(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "users")
    at.selectbox(key=keys.USERS_PICK).select("lena").run()
    with Session(make_engine(database)) as s:
        lena = users.get_user(s, "lena")
    # Before, "(keine)" was shown for a contributor of HR.
    assert at.selectbox(key=f"{keys.USERS_ROLE_DEPARTMENT}_{lena.id}").value == "HR"
    at.selectbox(key=keys.USERS_PICK).select("ed").run()
    assert at.selectbox(key=f"{keys.USERS_ROLE_DEPARTMENT}_2").value == ""


def test_a_role_change_keeps_a_department_changed_elsewhere_meanwhile(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "users")
    at.selectbox(key=keys.USERS_PICK).select("lena").run()
    with Session(make_engine(database)) as s:
        admin, lena_id = users.get_user(s, "admin"), users.get_user(s, "lena").id
        users.create_department(s, actor=admin, name="Vertrieb")
        users.change_role(
            s, actor=admin, username="lena", role="contributor", department="Vertrieb"
        )
    at.run()
    box = f"{keys.USERS_ROLE_DEPARTMENT}_{lena_id}"
    assert at.selectbox(key=box).value == "Vertrieb"
    at.selectbox(key=f"{keys.USERS_ROLE}_{lena_id}").select("editor")
    at.button(key=keys.USERS_ROLE_SAVE).click().run()
    # Before, the box kept "HR" and the save moved her back there.
    with Session(make_engine(database)) as s:
        saved = users.get_user(s, "lena")
        assert saved.role == Role.editor
        assert users.get_department(s, "Vertrieb").id == saved.department_id
