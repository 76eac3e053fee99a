"""Channel configuration: the form's settings come from the adapter; secrets stay secret."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from secrets import token_hex

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine
from sqlmodel import Session, col, select

import publishers
from planner import channels, credentials, org_settings, pieces, planning, users
from planner.errors import Message, PermissionDenied, ValidationFailed
from planner.models import AuditEvent, Channel, Post, PostStatus, PublishAttempt, utcnow
from planner.worker import Worker
from publishers.base import PermanentError, SettingSpec
from publishers.webhook import WebhookPublisher
from tests.conftest import World
from tests.recording import RecordingPublisher

TOKEN = "tok-3f9a1c"


def stored(engine: Engine, name: str) -> Channel:
    """The channel as another connection sees it."""
    with Session(engine) as fresh:
        return fresh.exec(select(Channel).where(Channel.name == name)).one()


def test_form_kinds_and_spec_come_from_the_adapters() -> None:
    assert channels.form_kinds()["webhook"] == "Webhook"
    names = [spec.name for spec in channels.settings_spec("webhook")]
    assert names[:2] == ["url", "secret"]
    assert [s.secret for s in channels.settings_spec("webhook")][:2] == [False, True]


def test_a_kind_without_an_adapter_has_no_form() -> None:
    with pytest.raises(ValidationFailed) as caught:
        channels.settings_spec("no-such-kind")
    assert set(caught.value.fields) == {"kind"}


@pytest.mark.usefixtures("private_network")
def test_update_keeps_a_secret_left_empty_and_replaces_a_typed_one(
    world: World, engine: Engine
) -> None:
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "http://127.0.0.1:9/a", "secret": TOKEN},
    )

    channels.update_channel(
        world.session,
        actor=world.admin,
        ref="Intranet",
        name="Intranet news",
        settings={"url": "http://127.0.0.1:9/b", "secret": ""},
        daily_cap=3,
    )
    first = stored(engine, "Intranet news")
    assert first.settings["url"] == "http://127.0.0.1:9/b"
    assert first.daily_cap == 3
    assert credentials.decrypt(first.credentials) == {"secret": TOKEN}

    channels.update_channel(
        world.session, actor=world.admin, ref=first.id or 0, settings={"secret": "new-secret"}
    )
    assert credentials.decrypt(stored(engine, "Intranet news").credentials) == {
        "secret": "new-secret"
    }
    with Session(engine) as fresh:
        notes = [
            e.note
            for e in fresh.exec(
                select(AuditEvent).where(AuditEvent.action == "update").order_by(col(AuditEvent.id))
            )
        ]
    assert notes == ["name, url, daily_cap", "secret"]
    assert not any(TOKEN in n or "new-secret" in n for n in notes)


@pytest.mark.usefixtures("private_network")
def test_a_stored_secret_never_follows_the_channel_to_another_host(
    world: World, engine: Engine
) -> None:
    channel = channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "http://127.0.0.1:9/a", "secret": TOKEN},
    )
    assert channel.id is not None
    channels.set_deduplication(world.session, actor=world.admin, ref=channel.id, deduplicates=True)
    before = stored(engine, "Intranet")

    with pytest.raises(ValidationFailed) as caught:
        channels.update_channel(
            world.session,
            actor=world.admin,
            ref="Intranet",
            settings={"url": "https://elsewhere.example/hook", "secret": ""},
        )
    assert set(caught.value.fields) == {"secret"}
    assert "elsewhere.example" in str(caught.value)
    assert TOKEN not in str(caught.value)
    after = stored(engine, "Intranet")
    assert (after.settings, after.credentials) == (before.settings, before.credentials)

    # Given again, the secret goes with the new address; what was known of the old
    # receiver (that it drops repeats) is not assumed of the new one.
    channels.update_channel(
        world.session,
        actor=world.admin,
        ref="Intranet",
        settings={"url": "https://elsewhere.example/hook", "secret": "secret-for-elsewhere"},
    )
    moved = stored(engine, "Intranet")
    assert credentials.decrypt(moved.credentials) == {"secret": "secret-for-elsewhere"}
    assert (moved.deduplicates, moved.deduplication_basis) == (False, "")


@pytest.mark.usefixtures("private_network")
def test_a_new_path_on_the_same_host_keeps_the_stored_secret(world: World, engine: Engine) -> None:
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "http://127.0.0.1:9/a", "secret": TOKEN},
    )
    channels.update_channel(
        world.session, actor=world.admin, ref="Intranet", settings={"url": "http://127.0.0.1:9/b"}
    )
    assert credentials.decrypt(stored(engine, "Intranet").credentials) == {"secret": TOKEN}


@pytest.mark.parametrize(
    ("kind", "settings", "change", "host"),
    [
        # An address given where there was none: the signed status question goes there.
        (
            "webhook",
            {"url": "http://127.0.0.1:9/a", "secret": TOKEN},
            {"status_url": "https://elsewhere.example/status", "secret": ""},
            "elsewhere.example",
        ),
        # An address emptied falls back to its default: the app password would go there.
        (
            "bluesky",
            {
                "service_url": "http://127.0.0.1:9",
                "handle": "firma.example",
                "app_password": TOKEN,
            },
            {"service_url": "", "app_password": ""},
            "bsky.social",
        ),
        # Not an address, yet the SMTP password goes to this server.
        (
            "newsletter",
            {
                "host": "127.0.0.1",
                "username": "news",
                "password": TOKEN,
                "from_address": "news@example.de",
                "list_address": "kunden@example.de",
                "unsubscribe_mailto": "abmelden@example.de",
            },
            {"host": "smtp.elsewhere.example", "password": ""},
            "smtp.elsewhere.example",
        ),
        # The same server, but without encryption: the password would travel in the clear.
        (
            "newsletter",
            {
                "host": "127.0.0.1",
                "username": "news",
                "password": TOKEN,
                "from_address": "news@example.de",
                "list_address": "kunden@example.de",
                "unsubscribe_mailto": "abmelden@example.de",
            },
            {"security": "none"},
            "security=none",
        ),
    ],
)
@pytest.mark.usefixtures("private_network")
def test_every_way_to_a_new_server_asks_for_the_secrets_again(
    world: World,
    engine: Engine,
    kind: str,
    settings: dict[str, str],
    change: dict[str, str],
    host: str,
) -> None:
    channels.create_channel(
        world.session, actor=world.admin, kind=kind, name="Chan", settings=settings
    )
    before = stored(engine, "Chan")

    with pytest.raises(ValidationFailed) as caught:
        channels.update_channel(world.session, actor=world.admin, ref="Chan", settings=change)

    [field] = caught.value.fields
    assert field in channels.secret_names(before)
    assert host in str(caught.value)
    after = stored(engine, "Chan")
    assert (after.settings, after.credentials) == (before.settings, before.credentials)


@pytest.mark.usefixtures("private_network")
def test_an_added_address_on_the_same_host_keeps_the_stored_secret(
    world: World, engine: Engine
) -> None:
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "http://127.0.0.1:9/a", "secret": TOKEN},
    )
    channels.update_channel(
        world.session,
        actor=world.admin,
        ref="Intranet",
        settings={"url": "http://127.0.0.1:9/a", "status_url": "http://127.0.0.1:9/status"},
    )
    assert stored(engine, "Intranet").settings["status_url"] == "http://127.0.0.1:9/status"
    assert credentials.decrypt(stored(engine, "Intranet").credentials) == {"secret": TOKEN}


@pytest.mark.usefixtures("private_network")
def test_bad_update_names_the_setting_and_changes_nothing(world: World, engine: Engine) -> None:
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "http://127.0.0.1:9/a", "secret": TOKEN},
    )
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Other",
        settings={"url": "http://127.0.0.1:9/o", "secret": TOKEN},
    )

    with pytest.raises(ValidationFailed) as caught:
        channels.update_channel(
            world.session,
            actor=world.admin,
            ref="Intranet",
            name="other",
            settings={"url": "http://127.0.0.1:9/a", "timeout_seconds": 0},
        )

    assert set(caught.value.fields) == {"name", "timeout_seconds"}
    assert stored(engine, "Intranet").settings["url"] == "http://127.0.0.1:9/a"


@pytest.mark.usefixtures("private_network")
def test_only_admins_update_channels(world: World) -> None:
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "http://127.0.0.1:9/a", "secret": TOKEN},
    )

    with pytest.raises(PermissionDenied):
        channels.update_channel(world.session, actor=world.editor, ref="Intranet", name="Mine")


@pytest.mark.usefixtures("private_network")
def test_adapters_of_one_channel_share_its_session_and_channels_never_do(world: World) -> None:
    first, second = (
        channels.create_channel(
            world.session,
            actor=world.admin,
            kind="webhook",
            name=name,
            settings={"url": "http://127.0.0.1:9/a", "secret": TOKEN},
        )
        for name in ("Intranet", "Extranet")
    )
    # Every batch builds its adapters anew: the channel's connections must outlive them.
    one, again = channels.build_adapter(first), channels.build_adapter(first)
    assert one is not again
    assert one.http_session is again.http_session
    assert channels.build_adapter(second).http_session is not one.http_session


def _signs_in(server: HTTPServer) -> None:
    server.expect_request("/api/v1/accounts/verify_credentials").respond_with_json(
        {"id": "1", "acct": "redaktion"}
    )


def _mastodon(world: World, server: HTTPServer) -> Channel:
    _signs_in(server)
    return channels.create_channel(
        world.session,
        actor=world.admin,
        kind="mastodon",
        name="Mastodon",
        settings={"instance_url": server.url_for("/").rstrip("/"), "access_token": TOKEN},
    )


def _runs(server: HTTPServer, version: str) -> None:
    server.expect_request("/api/v1/instance").respond_with_json({"version": version})


def _dedup_notes(engine: Engine) -> list[str]:
    with Session(engine) as fresh:
        events = fresh.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "deduplication")
            .order_by(col(AuditEvent.id))
        )
        return [e.note for e in events]


@pytest.mark.usefixtures("private_network")
def test_the_connection_test_stores_what_the_server_proves_about_repeats(
    world: World, engine: Engine, httpserver: HTTPServer
) -> None:
    channel = _mastodon(world, httpserver)
    assert (channel.deduplicates, channel.deduplication_basis) == (False, "")
    _runs(httpserver, "4.3.0")
    channels.check_connection(world.session, actor=world.admin, ref="Mastodon")
    kept = stored(engine, "Mastodon")
    assert kept.deduplicates is True
    assert kept.deduplication_basis == "Mastodon 4.3.0 keeps the Idempotency-Key for an hour"

    # The same address now runs a server that only speaks Mastodon's API.
    httpserver.clear()
    _signs_in(httpserver)
    _runs(httpserver, "4.0.0rc1 (compatible; Takahē 0.11.0)")
    channels.check_connection(world.session, actor=world.admin, ref="Mastodon")
    kept = stored(engine, "Mastodon")
    assert (kept.deduplicates, kept.deduplication_basis) == (False, "")
    assert _dedup_notes(engine) == [
        "detected: Mastodon 4.3.0 keeps the Idempotency-Key for an hour",
        "detected: not proven",
    ]


@pytest.mark.usefixtures("private_network")
def test_a_detection_that_cannot_ask_keeps_what_was_proven(
    world: World, engine: Engine, httpserver: HTTPServer
) -> None:
    _mastodon(world, httpserver)
    _runs(httpserver, "4.3.0")
    channels.check_connection(world.session, actor=world.admin, ref="Mastodon")
    httpserver.clear()
    _signs_in(httpserver)
    httpserver.expect_request("/api/v1/instance").respond_with_data("busy", status=503)
    answer = channels.check_connection(world.session, actor=world.admin, ref="Mastodon")
    assert "@redaktion" in answer  # the connection itself works
    assert stored(engine, "Mastodon").deduplicates is True


@pytest.mark.usefixtures("private_network")
def test_an_admins_declaration_outranks_detection_until_handed_back(
    world: World, engine: Engine, httpserver: HTTPServer
) -> None:
    _mastodon(world, httpserver)
    _runs(httpserver, "4.3.0")
    channels.set_deduplication(world.session, actor=world.admin, ref="Mastodon", deduplicates=False)
    channels.check_connection(world.session, actor=world.admin, ref="Mastodon")
    kept = stored(engine, "Mastodon")
    assert (kept.deduplicates, kept.deduplication_basis) == (False, channels.ADMIN_BASIS)

    channels.set_deduplication(world.session, actor=world.admin, ref="Mastodon", deduplicates=None)
    channels.check_connection(world.session, actor=world.admin, ref="Mastodon")
    assert stored(engine, "Mastodon").deduplicates is True
    assert _dedup_notes(engine) == [
        "does not deduplicate (set by an admin)",
        "left to the connection test",
        "detected: Mastodon 4.3.0 keeps the Idempotency-Key for an hour",
    ]


def test_only_admins_declare_whether_a_channel_deduplicates(world: World, engine: Engine) -> None:
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Eigener Empfänger"
    )
    with pytest.raises(PermissionDenied):
        channels.set_deduplication(
            world.session, actor=world.editor, ref=channel.id or 0, deduplicates=True
        )
    assert stored(engine, "Eigener Empfänger").deduplicates is False
    channels.set_deduplication(
        world.session, actor=world.admin, ref=channel.id or 0, deduplicates=True
    )
    kept = stored(engine, "Eigener Empfänger")
    assert (kept.deduplicates, kept.deduplication_basis) == (True, "set by an admin")


@pytest.mark.usefixtures("private_network")
def test_a_webhooks_receiver_setting_is_kept_as_the_admins_declaration(
    world: World, engine: Engine
) -> None:
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "http://127.0.0.1:9/a", "secret": TOKEN, "receiver_deduplicates": "yes"},
    )
    kept = stored(engine, "Intranet")
    assert (kept.deduplicates, kept.deduplication_basis) == (True, "set by an admin")
    assert "receiver_deduplicates" not in kept.settings  # one place only: the column
    assert channels.build_adapter(kept).settings["url"] == "http://127.0.0.1:9/a"

    channels.update_channel(
        world.session, actor=world.admin, ref="Intranet", settings={"url": "http://127.0.0.1:9/b"}
    )
    assert stored(engine, "Intranet").deduplicates is True  # not given: unchanged
    channels.update_channel(
        world.session,
        actor=world.admin,
        ref="Intranet",
        settings={"receiver_deduplicates": False},
    )
    kept = stored(engine, "Intranet")
    assert (kept.deduplicates, kept.deduplication_basis) == (False, "set by an admin")
    with Session(engine) as fresh:
        notes = [
            e.note
            for e in fresh.exec(
                select(AuditEvent).where(AuditEvent.action == "update").order_by(col(AuditEvent.id))
            )
        ]
    assert notes == ["url", "receiver_deduplicates"]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:8080/hook", "config_address_loopback"),
        ("http://localhost/hook", "config_address_loopback"),
        ("http://0x7f000001/hook", "config_address_loopback"),
        ("http://10.0.0.1/hook", "config_address_private"),
    ],
)
def test_by_default_a_channel_cannot_be_aimed_at_this_machine_or_a_private_network(
    world: World, engine: Engine, url: str, code: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        channels.create_channel(
            world.session,
            actor=world.admin,
            kind="webhook",
            name="Intranet",
            settings={"url": url, "secret": TOKEN},
        )
    message = caught.value.fields["url"]
    assert isinstance(message, Message) and message.code == code
    assert "allow_private_network" in message
    assert channels.list_channels(world.session, actor=world.admin) == []

    # Allowed by the admin, it is saved; then a move to such an address needs it too.
    org_settings.set_setting(
        world.session, actor=world.admin, key="allow_private_network", value="on"
    )
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": url, "secret": TOKEN},
    )
    org_settings.set_setting(
        world.session, actor=world.admin, key="allow_private_network", value="off"
    )
    with pytest.raises(ValidationFailed):
        channels.update_channel(
            world.session,
            actor=world.admin,
            ref="Intranet",
            settings={"url": url.replace("/hook", "/other"), "secret": TOKEN},
        )
    assert stored(engine, "Intranet").settings["url"] == url


@pytest.mark.usefixtures("private_network")
@pytest.mark.parametrize(
    ("kind", "settings", "field"),
    [
        ("webhook", {"url": "http://169.254.169.254/latest/meta-data/"}, "url"),
        (
            "webhook",
            {"url": "https://hooks.example.org/in", "status_url": "http://[fe80::1]/"},
            "status_url",
        ),
        ("mastodon", {"instance_url": "http://metadata.google.internal"}, "instance_url"),
        (
            "slack",
            {"webhook_url": "http://169.254.169.254/services/T1/B2/secretpath"},
            "webhook_url",
        ),
    ],
)
def test_metadata_and_link_local_addresses_are_refused_even_when_private_ones_are_allowed(
    world: World, kind: str, settings: dict[str, str], field: str
) -> None:
    secret = {"webhook": {"secret": TOKEN}, "mastodon": {"access_token": TOKEN}}.get(kind, {})
    with pytest.raises(ValidationFailed) as caught:
        channels.create_channel(
            world.session,
            actor=world.admin,
            kind=kind,
            name="Inside",
            settings={**settings, **secret},
        )
    assert set(caught.value.fields) == {field}
    assert "secretpath" not in str(caught.value)  # a secret address is never echoed
    assert channels.list_channels(world.session, actor=world.admin) == []


def test_an_address_with_a_password_in_it_is_refused_and_never_shown(
    world: World, engine: Engine
) -> None:
    password = "pw-" + token_hex(6)
    with pytest.raises(ValidationFailed) as caught:
        channels.create_channel(
            world.session,
            actor=world.admin,
            kind="wordpress",
            name="Blog",
            settings={
                "site_url": f"https://redaktion:{password}@blog.example.de",
                "username": "redaktion",
                "application_password": TOKEN,
            },
        )
    assert set(caught.value.fields) == {"site_url"}
    assert "secret settings" in str(caught.value)
    assert password not in str(caught.value)
    # One saved before such addresses were refused is never shown with its password.
    legacy = Channel(
        kind="webhook",
        name="Alt",
        settings={"url": f"https://bot:{password}@hooks.example.org/in"},
        credentials=credentials.encrypt({"secret": TOKEN}),
    )
    world.session.add(legacy)
    world.session.commit()
    view = channels.public_view(stored(engine, "Alt"))
    assert view["url"] == "https://***@hooks.example.org/in"
    assert password not in str(view)


def test_an_adapter_built_outside_the_planner_reaches_nothing_private() -> None:
    # The default, without the admin's allowance: no request to this machine is made.
    adapter = WebhookPublisher({"url": "http://127.0.0.1:9/hook", "secret": TOKEN})
    assert adapter.allow_private_network is False
    with pytest.raises(PermanentError, match="refused to connect"):
        adapter.check_connection()


def test_turning_the_allowance_off_stops_requests_to_channels_saved_with_it(
    private_network: World, httpserver: HTTPServer
) -> None:
    world = private_network
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": httpserver.url_for("/hook"), "secret": TOKEN},
    )
    assert "204" in channels.check_connection(world.session, actor=world.admin, ref="Intranet")
    org_settings.set_setting(
        world.session, actor=world.admin, key="allow_private_network", value="off"
    )

    with pytest.raises(ValidationFailed) as caught:
        channels.check_connection(world.session, actor=world.admin, ref="Intranet")

    assert "is this machine (loopback)" in caught.value.fields["connection"]
    assert len(httpserver.log) == 1  # only the test made while it was allowed


@pytest.mark.usefixtures("private_network")
def test_the_connection_test_shows_only_a_short_clean_excerpt_of_the_answer(
    world: World, httpserver: HTTPServer
) -> None:
    noise = "\x1b[2J\x1b]0;owned\x07" + TOKEN + " " + "y" * 400
    httpserver.expect_request("/api/v1/accounts/verify_credentials").respond_with_json(
        {"acct": noise}
    )
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="mastodon",
        name="Social",
        settings={"instance_url": httpserver.url_for(""), "access_token": TOKEN},
    )
    answer = channels.check_connection(world.session, actor=world.admin, ref="Social")
    assert answer.startswith("signed in to http://")
    assert len(answer) <= 200
    assert TOKEN not in answer and "\x1b" not in answer and "\x07" not in answer

    httpserver.clear()
    httpserver.expect_request("/api/v1/accounts/verify_credentials").respond_with_data(
        noise, status=401
    )
    with pytest.raises(ValidationFailed) as caught:
        channels.check_connection(world.session, actor=world.admin, ref="Social")
    shown = caught.value.fields["connection"]
    assert shown.startswith("HTTP 401: ")
    assert len(shown) <= 200
    assert TOKEN not in shown and "\x1b" not in shown


@pytest.mark.usefixtures("private_network")
def test_every_active_account_reads_the_channel_names(world: World) -> None:
    settings = {"url": "http://127.0.0.1:9/a", "secret": TOKEN}
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="webhook", name="Intranet", settings=settings
    )

    # Contributors see where their department's ideas went out, as on 'My ideas'.
    for reader in (world.contributor, world.editor, world.admin):
        assert channels.channel_names(world.session, actor=reader) == {channel.id: "Intranet"}

    users.set_disabled(world.session, actor=world.admin, username="contrib", disabled=True)
    with pytest.raises(PermissionDenied, match="disabled"):
        channels.channel_names(world.session, actor=world.contributor)


# --- a database restored where the key differs: secrets that cannot be read ---------------


def _restored_under_another_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the planner runs with another key than the secrets were saved with."""
    monkeypatch.setenv("PLANNER_SECRET_KEY", credentials.new_key())


def _intranet(world: World, secret: str) -> Channel:
    return channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "http://127.0.0.1:9/a", "secret": secret},
    )


@pytest.mark.usefixtures("private_network")
def test_channels_whose_secrets_cannot_be_read_are_listed_and_say_so(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = token_hex(12)
    _intranet(world, secret)
    channels.create_channel(world.session, actor=world.admin, kind="recording", name="Feed")
    _restored_under_another_key(monkeypatch)

    listed = channels.list_channels(world.session, actor=world.admin)

    views = {c.name: channels.public_view(c) for c in listed}
    assert views["Intranet"]["url"] == "http://127.0.0.1:9/a"
    assert views["Intranet"]["secret"] == channels.VIEW_UNREADABLE == "(unreadable: enter it again)"
    assert views["Feed"]["token"] == channels.VIEW_NOT_SET  # nothing stored, nothing to read
    assert {c.name: channels.secrets_unreadable(c) for c in listed} == {
        "Intranet": True,
        "Feed": False,
    }
    assert secret not in repr(views)


@pytest.mark.usefixtures("private_network")
def test_secrets_typed_again_replace_the_ones_that_cannot_be_read(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    _intranet(world, token_hex(12))
    _restored_under_another_key(monkeypatch)
    secret = token_hex(12)

    channels.update_channel(
        world.session, actor=world.admin, ref="Intranet", settings={"secret": secret}
    )

    channel = stored(engine, "Intranet")
    assert credentials.decrypt(channel.credentials) == {"secret": secret}
    assert not channels.secrets_unreadable(channel)
    assert channels.public_view(channel)["secret"] == channels.VIEW_SET
    assert channels.build_adapter(channel).settings["secret"] == secret
    with Session(engine) as fresh:
        [note] = [
            e.note for e in fresh.exec(select(AuditEvent).where(AuditEvent.action == "update"))
        ]
    assert note == "secret"


@pytest.mark.usefixtures("private_network")
def test_while_secrets_cannot_be_read_the_other_settings_stay_editable(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = _intranet(world, token_hex(12)).credentials
    _restored_under_another_key(monkeypatch)

    # As the dashboard's form sends it: the secret field left empty.
    channels.update_channel(
        world.session,
        actor=world.admin,
        ref="Intranet",
        name="Intranet neu",
        settings={"url": "http://127.0.0.1:9/b", "timeout_seconds": 5, "secret": ""},
        daily_cap=3,
    )
    channel = stored(engine, "Intranet neu")
    assert channel.settings["url"] == "http://127.0.0.1:9/b"
    assert (channel.settings["timeout_seconds"], channel.daily_cap) == (5, 3)
    # Kept as they are, unread: the old key may yet come back.
    assert channel.credentials == blob
    assert channels.secrets_unreadable(channel)
    with pytest.raises(ValidationFailed) as refused:
        channels.update_channel(
            world.session, actor=world.admin, ref="Intranet neu", settings={"timeout_seconds": 0}
        )
    assert set(refused.value.fields) == {"timeout_seconds"}  # still checked

    # To another host: what cannot be read does not follow either, so the move asks for
    # the secret, and nothing changes without it.
    with pytest.raises(ValidationFailed) as missing:
        channels.update_channel(
            world.session,
            actor=world.admin,
            ref="Intranet neu",
            settings={"url": "http://127.0.0.2:9/a"},
        )
    assert missing.value.fields["secret"].code == "secret_enter_again"  # type: ignore[attr-defined]
    assert stored(engine, "Intranet neu").credentials == blob
    secret = token_hex(12)
    channels.update_channel(
        world.session,
        actor=world.admin,
        ref="Intranet neu",
        settings={"url": "http://127.0.0.2:9/a", "secret": secret},
    )
    channel = stored(engine, "Intranet neu")
    assert credentials.decrypt(channel.credentials) == {"secret": secret}


class _TwoSecrets(RecordingPublisher):
    """A kind with two secrets, both required."""

    kind = "two_secrets"
    display_name = "Two secrets (tests)"
    settings_spec = (
        SettingSpec("token", type="password", secret=True),
        SettingSpec("signing_key", type="password", secret=True),
    )


@pytest.fixture
def two_secrets() -> Iterator[None]:
    publishers.register(_TwoSecrets)
    yield
    publishers.unregister(_TwoSecrets.kind)


@pytest.mark.usefixtures("two_secrets")
def test_unreadable_secrets_are_replaced_all_together_and_the_missing_one_is_named(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One of two required secrets typed again: refused, naming the other (saved alone,
    it would leave a channel that lists as fine and can publish nothing)."""
    both = {"token": token_hex(8), "signing_key": token_hex(8)}
    made = channels.create_channel(
        world.session, actor=world.admin, kind="two_secrets", name="Zwei", settings=both
    )
    _restored_under_another_key(monkeypatch)
    token, key = token_hex(8), token_hex(8)

    with pytest.raises(ValidationFailed) as missing:
        channels.update_channel(
            world.session, actor=world.admin, ref="Zwei", settings={"token": token}
        )
    assert set(missing.value.fields) == {"signing_key"}
    assert stored(engine, "Zwei").credentials == made.credentials
    channels.update_channel(
        world.session, actor=world.admin, ref="Zwei", settings={"token": token, "signing_key": key}
    )
    channel = stored(engine, "Zwei")
    assert credentials.decrypt(channel.credentials) == {"token": token, "signing_key": key}
    assert not channels.secrets_unreadable(channel)


def test_a_post_to_a_channel_whose_secrets_cannot_be_read_fails_with_the_reason(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreadable = channels.create_channel(
        world.session,
        actor=world.admin,
        kind="recording",
        name="Feed",
        settings={"token": token_hex(8)},
    )
    healthy = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Other"
    )
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Gruß", "body": "Frohe Weihnachten!"}
    )
    assert piece.id is not None
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=1)
    posts = []
    for channel in (unreadable, healthy):
        post = planning.plan_post(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            channel=channel.id or 0,
            when=utcnow() + timedelta(days=1),
        )
        post.publish_at = utcnow() - timedelta(minutes=1)
        world.session.add(post)
        world.session.commit()
        posts.append(post.id)
    _restored_under_another_key(monkeypatch)

    worker = Worker(engine, worker_id="test-worker")
    try:
        worker.sweep()  # the sweep goes on past the channel it cannot use
    finally:
        worker.close()

    with Session(engine) as fresh:
        failed, published = (fresh.get(Post, post_id) for post_id in posts)
        assert failed is not None and published is not None
        assert failed.status == PostStatus.failed
        assert failed.last_error is not None
        assert "cannot decrypt channel credentials" in failed.last_error
        assert "enter the channel's secrets again" in failed.last_error
        assert published.status == PostStatus.published
        attempts = fresh.exec(select(PublishAttempt).where(PublishAttempt.post_id == posts[0]))
        assert [a.outcome for a in attempts] == ["config"]
