"""'Departments' (admins only): the list with counts, adding and renaming."""

from __future__ import annotations

from planner.ui import keys
from tests.ui.conftest import PASSWORD, open_page, sign_in


def test_departments_list_counts_users_and_ideas(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "departments")
    assert not at.exception
    table = at.dataframe[0].value
    assert table.to_dict("records") == [{"Abteilung": "HR", "Benutzer": 1, "Ideen": 1}]


def test_adding_a_department_with_a_taken_name_says_so_then_a_new_one_is_added(
    database: str,
) -> None:
    at = open_page(sign_in("admin", PASSWORD), "departments")
    at.text_input(key=keys.DEPARTMENTS_ADD_NAME).input("hr")
    at.button(key=keys.DEPARTMENTS_ADD_SUBMIT).click().run()
    assert [e.value for e in at.error] == ["Die Abteilung „hr“ gibt es schon."]
    assert at.text_input(key=keys.DEPARTMENTS_ADD_NAME).value == "hr"

    at.text_input(key=keys.DEPARTMENTS_ADD_NAME).input("Vertrieb")
    at.button(key=keys.DEPARTMENTS_ADD_SUBMIT).click().run()
    assert [s.value for s in at.success] == ["Abteilung Vertrieb ist angelegt."]
    assert list(at.dataframe[0].value["Abteilung"]) == ["HR", "Vertrieb"]


def test_renaming_a_department_keeps_its_people(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "departments")
    at.selectbox(key=keys.DEPARTMENTS_PICK).select("HR")
    at.text_input(key=keys.DEPARTMENTS_NEW_NAME).input("Personal")
    at.button(key=keys.DEPARTMENTS_RENAME).click().run()
    assert [s.value for s in at.success] == ["Die Abteilung heißt jetzt Personal."]
    assert at.dataframe[0].value.to_dict("records") == [
        {"Abteilung": "Personal", "Benutzer": 1, "Ideen": 1}
    ]
    activity = open_page(at, "activity")
    assert "umbenannt" in list(activity.dataframe[0].value["Aktion"])


def test_departments_render_in_english(database: str) -> None:
    at = sign_in("admin", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("en").run()
    at = open_page(at, "departments")
    assert at.title[0].value == "Departments"
    assert list(at.dataframe[0].value.columns) == ["Department", "Users", "Ideas"]
