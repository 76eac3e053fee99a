"""'Settings' (admins only): one input per organisation setting, with the planner's message
next to a bad value."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from planner import org_settings, users
from planner.db import make_engine
from planner.ui import keys
from planner.ui.i18n import translate
from tests.ui.conftest import PASSWORD, open_page, sign_in

TIMEZONE = keys.SETTINGS_FIELD + "org_timezone"
LANGUAGE = keys.SETTINGS_FIELD + "default_language"
LATENESS = keys.SETTINGS_FIELD + "max_lateness_hours"
FREEZE = keys.SETTINGS_FIELD + "publishing_frozen"
PRIVATE_NETWORK = keys.SETTINGS_FIELD + "allow_private_network"


def stored(database: str) -> dict[str, str]:
    """The settings as the database holds them."""
    with Session(make_engine(database)) as s:
        return org_settings.all_settings(s, actor=users.get_user(s, "admin"))


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_known_setting_has_its_input_labelled_in_the_users_language(
    database: str, lang: str
) -> None:
    at = sign_in("admin", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select(lang).run()
    at = open_page(at, "settings")
    assert not at.exception
    widgets = {
        w.key: w
        for w in [*at.text_input, *at.checkbox, *at.selectbox]
        if w.key and w.key.startswith(keys.SETTINGS_FIELD)
    }
    assert sorted(widgets) == sorted(keys.SETTINGS_FIELD + name for name in org_settings.SPECS)
    for name in org_settings.SPECS:
        widget = widgets[keys.SETTINGS_FIELD + name]
        assert widget.label == translate(lang, f"settings.label.{name}")
        assert widget.help == translate(lang, f"settings.help.{name}")


def test_a_new_setting_gets_its_input_without_a_change_to_the_page(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        org_settings.SPECS,
        "newsletter_sender",
        org_settings.SettingSpec(lambda: "redaktion", str, "who signs the newsletter"),
    )
    at = open_page(sign_in("admin", PASSWORD), "settings")
    assert at.text_input(key=keys.SETTINGS_FIELD + "newsletter_sender").value == "redaktion"
    at.text_input(key=keys.SETTINGS_FIELD + "newsletter_sender").input("Team Presse")
    at.button(key=keys.SETTINGS_SAVE).click().run()
    assert [s.value for s in at.success] == ["Gespeichert."]
    assert stored(database)["newsletter_sender"] == "Team Presse"


def test_admin_changes_the_time_zone_and_freezes_publishing(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "settings")
    assert not at.exception
    assert at.text_input(key=TIMEZONE).value == "Europe/Berlin"
    at.text_input(key=TIMEZONE).input("Europe/Vienna")
    at.checkbox(key=FREEZE).check()
    at.button(key=keys.SETTINGS_SAVE).click().run()
    assert [s.value for s in at.success] == ["Gespeichert."]
    assert stored(database)["org_timezone"] == "Europe/Vienna"
    assert stored(database)["publishing_frozen"] == "on"
    assert at.text_input(key=TIMEZONE).value == "Europe/Vienna"


def test_saving_nothing_new_says_so_and_stores_nothing(database: str) -> None:
    before = stored(database)
    at = open_page(sign_in("admin", PASSWORD), "settings")
    at.button(key=keys.SETTINGS_SAVE).click().run()
    assert [s.value for s in at.success] == ["Nichts geändert."]
    assert stored(database) == before


def test_a_bad_value_shows_the_planners_message_and_stores_nothing(database: str) -> None:
    before = stored(database)
    at = open_page(sign_in("admin", PASSWORD), "settings")
    at.text_input(key=LATENESS).input("200")
    at.button(key=keys.SETTINGS_SAVE).click().run()
    assert [e.value for e in at.error] == ["Die Grenze liegt über 0 und bei höchstens 168 Stunden."]
    assert not at.success
    assert stored(database) == before


def test_a_bad_value_shows_its_message_keeps_the_text_and_saves_the_good_ones(
    database: str,
) -> None:
    at = open_page(sign_in("admin", PASSWORD), "settings")
    at.text_input(key=LATENESS).input("bald")
    at.selectbox(key=LANGUAGE).select("en")
    at.button(key=keys.SETTINGS_SAVE).click().run()
    assert [e.value for e in at.error] == ["„bald“ ist keine Zahl von Stunden."]
    assert at.text_input(key=LATENESS).value == "bald"
    assert stored(database)["max_lateness_hours"] == "6"
    assert stored(database)["default_language"] == "en"


def test_settings_render_in_english_with_an_english_message(database: str) -> None:
    at = sign_in("admin", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("en").run()
    at = open_page(at, "settings")
    assert at.title[0].value == "Settings"
    at.text_input(key=TIMEZONE).input("Mars/Olympus")
    at.button(key=keys.SETTINGS_SAVE).click().run()
    [error] = [e.value for e in at.error]
    assert error.startswith("Unknown time zone 'Mars/Olympus'; use an IANA name")
    assert stored(database)["org_timezone"] == "Europe/Berlin"


def test_admin_lets_channels_reach_private_networks_with_help_in_both_languages(
    database: str,
) -> None:
    at = open_page(sign_in("admin", PASSWORD), "settings")
    box = at.checkbox(key=PRIVATE_NETWORK)
    assert box.value is False  # off unless an admin turns it on
    assert box.label == "Kanäle dürfen private Netze erreichen (Intranet-Server)"
    assert "169.254.169.254" in (box.help or "") and "bleiben gesperrt" in (box.help or "")
    box.check()
    at.button(key=keys.SETTINGS_SAVE).click().run()
    assert [s.value for s in at.success] == ["Gespeichert."]
    assert stored(database)["allow_private_network"] == "on"

    at = sign_in("admin", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("en").run()
    at = open_page(at, "settings")
    box = at.checkbox(key=PRIVATE_NETWORK)
    assert box.value is True
    assert box.label == "Channels may reach private networks (intranet servers)"
    assert "stay refused" in (box.help or "")


def test_a_value_stored_elsewhere_meanwhile_is_shown_and_not_written_back(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "settings")
    assert at.checkbox(key=FREEZE).value is False
    # Another admin (or the command line) freezes publishing while this form is open.
    with Session(make_engine(database)) as s:
        org_settings.set_setting(
            s, actor=users.get_user(s, "admin"), key="publishing_frozen", value="on"
        )
    at.text_input(key=TIMEZONE).input("Europe/Vienna")
    at.button(key=keys.SETTINGS_SAVE).click().run()
    assert [s.value for s in at.success] == ["Gespeichert."]
    # Before, the form's stale "off" was saved with the time zone: publishing ran again.
    assert stored(database)["publishing_frozen"] == "on"
    assert stored(database)["org_timezone"] == "Europe/Vienna"
    assert at.checkbox(key=FREEZE).value is True

    with Session(make_engine(database)) as s:
        org_settings.set_setting(
            s, actor=users.get_user(s, "admin"), key="publishing_frozen", value="off"
        )
    at.run()
    assert at.checkbox(key=FREEZE).value is False


def test_a_save_with_a_bad_value_names_the_settings_it_stored(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "settings")
    at.text_input(key=LATENESS).input("bald")
    at.text_input(key=TIMEZONE).input("UTC")
    at.button(key=keys.SETTINGS_SAVE).click().run()
    assert [e.value for e in at.error] == ["„bald“ ist keine Zahl von Stunden."]
    label = translate("de", "settings.label.org_timezone")
    assert [s.value for s in at.success] == [
        f"Gespeichert: {label}. Nicht gespeichert sind die Eingaben mit einer Meldung oben."
    ]
    assert stored(database)["org_timezone"] == "UTC"
    assert stored(database)["max_lateness_hours"] == "6"
