"""'Settings' (admins only): organisation settings with a message next to a bad value."""

from __future__ import annotations

from sqlmodel import Session

from planner import org_settings, users
from planner.db import make_engine
from planner.ui import keys
from tests.ui.conftest import PASSWORD, open_page, sign_in


def stored(database: str) -> dict[str, str]:
    """The settings as the database holds them."""
    with Session(make_engine(database)) as s:
        return org_settings.all_settings(s, actor=users.get_user(s, "admin"))


def test_admin_changes_the_time_zone_and_freezes_publishing(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "settings")
    assert not at.exception
    assert at.text_input(key=keys.SETTINGS_TIMEZONE).value == "Europe/Berlin"
    at.text_input(key=keys.SETTINGS_TIMEZONE).input("Europe/Vienna")
    at.checkbox(key=keys.SETTINGS_FREEZE).check()
    at.button(key=keys.SETTINGS_SAVE).click().run()
    assert [s.value for s in at.success] == ["Gespeichert."]
    assert stored(database)["org_timezone"] == "Europe/Vienna"
    assert stored(database)["publishing_frozen"] == "on"
    assert at.text_input(key=keys.SETTINGS_TIMEZONE).value == "Europe/Vienna"


def test_a_bad_value_shows_its_message_keeps_the_text_and_saves_the_good_ones(
    database: str,
) -> None:
    at = open_page(sign_in("admin", PASSWORD), "settings")
    at.text_input(key=keys.SETTINGS_LATENESS).input("bald")
    at.selectbox(key=keys.SETTINGS_LANGUAGE).select("en")
    at.button(key=keys.SETTINGS_SAVE).click().run()
    [error] = [e.value for e in at.error]
    assert error.startswith("'bald' geht nicht: eine Zahl von Stunden")
    assert at.text_input(key=keys.SETTINGS_LATENESS).value == "bald"
    assert stored(database)["max_lateness_hours"] == "6"
    assert stored(database)["default_language"] == "en"


def test_settings_render_in_english_with_an_english_message(database: str) -> None:
    at = sign_in("admin", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("en").run()
    at = open_page(at, "settings")
    assert at.title[0].value == "Settings"
    at.text_input(key=keys.SETTINGS_TIMEZONE).input("Mars/Olympus")
    at.button(key=keys.SETTINGS_SAVE).click().run()
    [error] = [e.value for e in at.error]
    assert error.startswith("Unknown time zone 'Mars/Olympus': please give an IANA name")
    assert stored(database)["org_timezone"] == "Europe/Berlin"


def test_admin_lets_channels_reach_private_networks_with_help_in_both_languages(
    database: str,
) -> None:
    at = open_page(sign_in("admin", PASSWORD), "settings")
    box = at.checkbox(key=keys.SETTINGS_PRIVATE_NETWORK)
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
    box = at.checkbox(key=keys.SETTINGS_PRIVATE_NETWORK)
    assert box.value is True
    assert box.label == "Channels may reach private networks (intranet servers)"
    assert "stay refused" in (box.help or "")
