"""Channel configuration: the form's settings come from the adapter; secrets stay secret."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from planner import channels, credentials
from planner.errors import PermissionDenied, ValidationFailed
from planner.models import AuditEvent, Channel
from tests.conftest import World

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
            e.note for e in fresh.exec(select(AuditEvent).where(AuditEvent.action == "update"))
        ]
    assert notes == ["name, url, daily_cap", "secret"]
    assert not any(TOKEN in n or "new-secret" in n for n in notes)


def test_bad_update_names_the_setting_and_changes_nothing(world: World, engine: Engine) -> None:
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "http://127.0.0.1:9/a"},
    )
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Other",
        settings={"url": "http://127.0.0.1:9/o"},
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


def test_only_admins_update_channels(world: World) -> None:
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "http://127.0.0.1:9/a"},
    )

    with pytest.raises(PermissionDenied):
        channels.update_channel(world.session, actor=world.editor, ref="Intranet", name="Mine")


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
