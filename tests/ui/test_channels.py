"""'Channels' (admins only): the form from the adapter's settings, masked secrets, a live test."""

from __future__ import annotations

from secrets import token_hex
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from planner import channels, credentials, org_settings, users
from planner.db import make_engine
from planner.ui import keys
from tests.conftest import allow_private_network
from tests.ui.conftest import PASSWORD, open_page, sign_in

SECRET = "hmac-" + token_hex(8)  # made per run: no credential lives in the code


@pytest.fixture
def database(database: str) -> str:
    """The dashboard's database, where channels may reach this machine (the test servers)."""
    with Session(make_engine(database)) as s:
        allow_private_network(s, users.get_user(s, "admin"))
    return database


def setting(target: str, name: str) -> str:
    """The widget key of one declared setting in the channel form."""
    return f"{keys.CHANNELS_SETTING}{target}_{name}"


def shown_values(at: AppTest) -> list[str]:
    """Everything the page shows: element values, labels, table cells."""
    out: list[str] = []

    def walk(node: Any) -> None:
        for attr in ("value", "label", "placeholder", "help"):
            try:
                value = getattr(node, attr, None)
            except Exception:  # noqa: BLE001 - some elements have no value until they are run
                value = None
            if value is not None:
                out.append(value.to_csv() if hasattr(value, "to_csv") else str(value))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def add_webhook(at: AppTest, url: str, *, timeout: int = 30) -> AppTest:
    """Fill the new-channel form for a webhook and save it."""
    at.selectbox(key=keys.CHANNELS_KIND).select("webhook").run()
    at.text_input(key=f"{keys.CHANNELS_NAME}new").input("Intranet")
    at.text_input(key=setting("new", "url")).input(url)
    at.text_input(key=setting("new", "secret")).input(SECRET)
    at.number_input(key=setting("new", "timeout_seconds")).set_value(timeout)
    return at.button(key=keys.CHANNELS_SAVE).click().run()


def test_adding_a_channel_through_the_form_never_shows_its_secret(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "channels")
    assert not at.exception
    assert at.info[0].value == "Noch keine Kanäle."
    add_webhook(at, "http://127.0.0.1:9/hook")
    assert not at.exception
    assert [s.value for s in at.success] == ["Kanal Intranet ist angelegt."]
    row = at.dataframe[0].value.to_dict("records")[0]
    assert (row["Name"], row["Art"], row["Zustand"]) == ("Intranet", "Webhook", "aktiv")
    assert "Signaturschlüssel: *** (gesetzt)" in row["Einstellungen"]
    assert "Status-Adresse: —" in row["Einstellungen"]  # an empty setting, said so
    shown = shown_values(at)
    assert any("127.0.0.1:9/hook" in value for value in shown)  # the walk sees the page
    assert all(SECRET not in value for value in shown)
    assert at.selectbox(key=keys.CHANNELS_PICK).value == 1  # the new channel is open to edit
    assert at.text_input(key=setting("1", "secret")).value == ""
    assert at.text_input(key=setting("1", "url")).value == "http://127.0.0.1:9/hook"

    at.text_input(key=setting("1", "url")).input("http://127.0.0.1:9/other")
    at.button(key=keys.CHANNELS_SAVE).click().run()  # the secret field left empty
    assert [s.value for s in at.success] == ["Kanal Intranet ist gespeichert."]
    with Session(make_engine(database)) as s:
        channel = channels.get_channel(s, "Intranet")
        assert channel.settings["url"] == "http://127.0.0.1:9/other"
        assert credentials.decrypt(channel.credentials) == {"secret": SECRET}


def test_bad_settings_show_the_adapters_message_and_keep_what_was_typed(database: str) -> None:
    at = add_webhook(open_page(sign_in("admin", PASSWORD), "channels"), "ftp://x", timeout=0)
    errors = [e.value for e in at.error]
    assert errors == [  # under the url field, then under the form
        "'ftp://x' ist keine http(s)-Adresse.",
        "Die Einstellungen passen nicht; bitte korrigieren Sie die markierten Felder.",
    ]
    assert at.text_input(key=f"{keys.CHANNELS_NAME}new").value == "Intranet"
    assert at.text_input(key=setting("new", "url")).value == "ftp://x"
    assert at.number_input(key=setting("new", "timeout_seconds")).value == 0
    with Session(make_engine(database)) as s:
        assert channels.list_channels(s, actor=users.get_user(s, "admin")) == []


def test_test_connection_reaches_the_receiver_then_the_channel_is_disabled(
    database: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok", status=200)
    at = add_webhook(open_page(sign_in("admin", PASSWORD), "channels"), httpserver.url_for("/hook"))
    at.button(key=keys.CHANNELS_TEST).click().run()
    assert [s.value for s in at.success][-1] == (
        "Verbindung in Ordnung: Der Webhook antwortete mit HTTP 200"
    )
    [request] = [r for r, _ in httpserver.log]
    assert request.headers["webhook-signature"].startswith("v1,")

    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("no", status=401)
    at.button(key=keys.CHANNELS_TEST).click().run()
    assert at.error[-1].value.startswith("Verbindung fehlgeschlagen:")

    at.button(key=keys.CHANNELS_TOGGLE).click().run()
    assert at.dataframe[0].value.to_dict("records")[0]["Zustand"] == "deaktiviert"
    at.button(key=keys.CHANNELS_TOGGLE).click().run()
    assert at.dataframe[0].value.to_dict("records")[0]["Zustand"] != "deaktiviert"


def test_channels_render_in_english(database: str) -> None:
    at = sign_in("admin", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("en").run()
    at = open_page(at, "channels")
    assert at.title[0].value == "Channels"
    assert at.info[0].value == "No channels yet."


def test_an_admin_declares_whether_the_receiver_drops_repeats(database: str) -> None:
    at = add_webhook(open_page(sign_in("admin", PASSWORD), "channels"), "http://127.0.0.1:9/hook")
    assert at.dataframe[0].value.to_dict("records")[0]["Verwirft Wiederholungen"] == "nein"
    assert at.info[-1].value.startswith("Nicht nachgewiesen, dass dieser Kanal")
    assert setting("1", "receiver_deduplicates") not in at.session_state  # the section decides

    at.button(key=keys.CHANNELS_DEDUP_DECLARE).click().run()
    assert not at.exception
    assert at.dataframe[0].value.to_dict("records")[0]["Verwirft Wiederholungen"] == "ja"
    assert at.info[-1].value.startswith("Ein Admin hat festgelegt, dass der Empfänger")
    with Session(make_engine(database)) as s:
        channel = channels.get_channel(s, "Intranet")
        assert (channel.deduplicates, channel.deduplication_basis) == (True, "set by an admin")

    at.button(key=keys.CHANNELS_DEDUP_DETECT).click().run()
    assert at.info[-1].value.startswith("Nicht nachgewiesen, dass dieser Kanal")
    with Session(make_engine(database)) as s:
        channel = channels.get_channel(s, "Intranet")
        assert (channel.deduplicates, channel.deduplication_basis) == (False, "")


def test_a_detected_basis_is_shown_in_english_too(database: str) -> None:
    at = add_webhook(open_page(sign_in("admin", PASSWORD), "channels"), "http://127.0.0.1:9/hook")
    with Session(make_engine(database)) as s:
        channel = channels.get_channel(s, "Intranet")
        channel.deduplicates, channel.deduplication_basis = True, "the receiver's own promise"
        s.add(channel)
        s.commit()
    at.selectbox(key=keys.LANGUAGE).select("en").run()
    at = open_page(at, "channels")
    assert at.info[-1].value.endswith("Basis: the receiver's own promise")
    assert at.button(key=keys.CHANNELS_DEDUP_DECLARE).label == (
        "Declare: the receiver does not drop repeats"
    )


def test_the_test_button_sends_the_stored_secret_only_to_the_stored_address(
    database: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok", status=200)
    elsewhere = HTTPServer(host="127.0.0.1", port=0)
    elsewhere.expect_request("/hook").respond_with_data("ok", status=200)
    elsewhere.start()
    try:
        at = add_webhook(
            open_page(sign_in("admin", PASSWORD), "channels"), httpserver.url_for("/hook")
        )
        # Another host typed, the secret left empty: saving refuses, and Test asks the
        # saved address, never the one in the form.
        at.text_input(key=setting("1", "url")).input(elsewhere.url_for("/hook"))
        at.button(key=keys.CHANNELS_SAVE).click().run()
        assert any("secret" in e.value and "127.0.0.1" in e.value for e in at.error)
        at.button(key=keys.CHANNELS_TEST).click().run()
        assert [s.value for s in at.success][-1].startswith("Verbindung in Ordnung")
        assert elsewhere.log == []
        assert len(httpserver.log) == 1
    finally:
        elsewhere.stop()


def test_a_channel_aimed_at_this_machine_needs_the_admins_allowance(database: str) -> None:
    with Session(make_engine(database)) as s:
        admin = users.get_user(s, "admin")
        org_settings.set_setting(s, actor=admin, key="allow_private_network", value="off")
    at = add_webhook(open_page(sign_in("admin", PASSWORD), "channels"), "http://127.0.0.1:9/hook")
    errors = [e.value for e in at.error]
    assert errors[0].startswith("127.0.0.1 ist dieser Rechner (Loopback); ein Admin kann")
    assert "Kanäle dürfen private Netze erreichen" in errors[0]
    with Session(make_engine(database)) as s:
        assert channels.list_channels(s, actor=users.get_user(s, "admin")) == []

    add_webhook(at, "http://169.254.169.254/latest/meta-data/")
    assert at.error[0].value.startswith("169.254.169.254 ist eine link-lokale Adresse")


def test_a_save_writes_only_what_this_admin_changed_not_an_older_value(database: str) -> None:
    at = add_webhook(open_page(sign_in("admin", PASSWORD), "channels"), "http://127.0.0.1:9/hook")
    at.selectbox(key=keys.CHANNELS_PICK).set_value(1).run()
    assert at.number_input(key=setting("1", "timeout_seconds")).value == 30
    # Another admin (or the command line) changes the timeout and the cap meanwhile.
    with Session(make_engine(database)) as s:
        channels.update_channel(
            s,
            actor=users.get_user(s, "admin"),
            ref="Intranet",
            settings={"timeout_seconds": 5},
            daily_cap=3,
        )
    at.text_input(key=f"{keys.CHANNELS_NAME}1").input("Intranet neu")
    at.button(key=keys.CHANNELS_SAVE).click().run()
    assert not at.exception
    with Session(make_engine(database)) as s:
        channel = channels.get_channel(s, "Intranet neu")
        # Before, the form's 30 and "no cap" were written back with the new name.
        assert (channel.settings["timeout_seconds"], channel.daily_cap) == (5, 3)


def test_a_channel_saved_under_another_key_says_so_and_takes_its_secret_again(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = add_webhook(open_page(sign_in("admin", PASSWORD), "channels"), "http://127.0.0.1:9/hook")
    # The database restored on a machine with another key.
    monkeypatch.setenv("PLANNER_SECRET_KEY", credentials.new_key())

    at = open_page(at, "channels")
    assert not at.exception
    row = at.dataframe[0].value.to_dict("records")[0]
    assert row["Zustand"] == "Geheimnisse nicht lesbar"
    assert "Signaturschlüssel: (nicht lesbar: bitte neu eingeben)" in row["Einstellungen"]
    at.selectbox(key=keys.CHANNELS_PICK).set_value(1).run()
    assert at.warning[0].value.startswith("Die geheimen Einstellungen dieses Kanals lassen sich")
    assert at.text_input(key=setting("1", "secret")).placeholder == (
        "Nicht lesbar; bitte neu eingeben."
    )

    # Another setting changes without the secret; then the secret is typed again.
    at.number_input(key=setting("1", "timeout_seconds")).set_value(5)
    at.button(key=keys.CHANNELS_SAVE).click().run()
    assert [s.value for s in at.success] == ["Kanal Intranet ist gespeichert."]
    assert at.dataframe[0].value.to_dict("records")[0]["Zustand"] == "Geheimnisse nicht lesbar"
    secret = "hmac-" + token_hex(8)
    at.text_input(key=setting("1", "secret")).input(secret)
    at.button(key=keys.CHANNELS_SAVE).click().run()
    assert not at.exception
    row = at.dataframe[0].value.to_dict("records")[0]
    assert row["Zustand"] == "aktiv"
    assert "Signaturschlüssel: *** (gesetzt)" in row["Einstellungen"]
    assert not at.warning
    assert all(secret not in value for value in shown_values(at))
    with Session(make_engine(database)) as s:
        channel = channels.get_channel(s, "Intranet")
        assert channel.settings["timeout_seconds"] == 5
        assert credentials.decrypt(channel.credentials) == {"secret": secret}


def test_unreadable_secrets_are_said_in_english_too(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = add_webhook(open_page(sign_in("admin", PASSWORD), "channels"), "http://127.0.0.1:9/hook")
    monkeypatch.setenv("PLANNER_SECRET_KEY", credentials.new_key())
    at.selectbox(key=keys.LANGUAGE).select("en").run()

    at = open_page(at, "channels")
    row = at.dataframe[0].value.to_dict("records")[0]
    assert row["State"] == "secrets unreadable"
    assert "(unreadable: enter it again)" in row["Settings"]
    at.selectbox(key=keys.CHANNELS_PICK).set_value(1).run()
    assert at.warning[0].value.startswith("This channel's secret settings cannot be read")
    assert at.text_input(key=setting("1", "secret")).placeholder == (
        "Cannot be read; enter it again."
    )
