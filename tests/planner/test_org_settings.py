"""Organisation settings in force: an admin's setting wins over the environment variable
that replaces the default, which wins over the default; each says where it comes from,
and how its value is given."""

from __future__ import annotations

from datetime import timedelta

import pytest

from planner import org_settings, publishing
from planner.errors import NotFound, PermissionDenied, ValidationFailed
from planner.org_settings import EffectiveSetting
from tests.conftest import World


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLANNER_MAX_LATENESS", raising=False)
    monkeypatch.delenv("PLANNER_TIMEZONE", raising=False)


def in_force(world: World, key: str) -> EffectiveSetting:
    """The setting `key` as the admin sees it."""
    found = org_settings.effective_settings(world.session, actor=world.admin)
    return next(item for item in found if item.key == key)


def test_the_lateness_default_applies_when_nothing_overrides_it(world: World) -> None:
    assert in_force(world, "max_lateness_hours") == EffectiveSetting(
        "max_lateness_hours", "6", "default"
    )
    assert in_force(world, "max_lateness_hours").origin == "default"
    assert publishing.max_lateness(world.session) == timedelta(hours=6)


def test_the_environment_variable_replaces_the_lateness_default(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_MAX_LATENESS", "90m")
    shown = in_force(world, "max_lateness_hours")
    assert shown == EffectiveSetting(
        "max_lateness_hours", "1.5", "environment", "PLANNER_MAX_LATENESS"
    )
    assert shown.origin == "PLANNER_MAX_LATENESS (environment)"
    assert (
        org_settings.all_settings(world.session, actor=world.admin)["max_lateness_hours"] == "1.5"
    )
    assert publishing.max_lateness(world.session) == timedelta(minutes=90)


def test_an_admins_setting_wins_over_the_environment_variable(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_MAX_LATENESS", "90m")
    org_settings.set_setting(world.session, actor=world.admin, key="max_lateness_hours", value="4")
    shown = in_force(world, "max_lateness_hours")
    assert (shown.value, shown.source, shown.origin) == ("4", "setting", "organisation setting")
    assert publishing.max_lateness(world.session) == timedelta(hours=4)


def test_the_time_zone_variable_is_named_as_its_source(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert in_force(world, "org_timezone").source == "default"
    monkeypatch.setenv("PLANNER_TIMEZONE", "Asia/Tokyo")
    assert in_force(world, "org_timezone") == EffectiveSetting(
        "org_timezone", "Asia/Tokyo", "environment", "PLANNER_TIMEZONE"
    )


def test_only_admins_see_the_settings_in_force(world: World) -> None:
    with pytest.raises(PermissionDenied, match="may not read settings"):
        org_settings.effective_settings(world.session, actor=world.editor)


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        pytest.param("publishing_frozen", "switch", id="freeze"),
        pytest.param("allow_private_network", "switch", id="private-network"),
        pytest.param("default_language", "language", id="language"),
        pytest.param("org_timezone", "text", id="time-zone"),
        pytest.param("max_lateness_hours", "text", id="lateness"),
    ],
)
def test_each_setting_says_how_its_value_is_given(key: str, kind: str) -> None:
    assert org_settings.setting_kind(key) == kind


def test_every_known_setting_has_a_kind() -> None:
    assert {org_settings.setting_kind(key) for key in org_settings.SPECS} <= {
        "switch",
        "language",
        "text",
    }


def test_an_unknown_setting_has_no_kind() -> None:
    with pytest.raises(NotFound):
        org_settings.setting_kind("no_such_setting")


def test_a_tracked_links_address_with_a_user_name_or_password_is_refused(world: World) -> None:
    with pytest.raises(ValidationFailed) as info:
        org_settings.set_setting(
            world.session,
            actor=world.admin,
            key="tracked_links_base_url",
            value="https://u:S3cretPW@go.example.de",
        )

    assert "may not carry a user name or password" in str(info.value)
    assert "S3cretPW" not in str(info.value)
    assert org_settings.get_setting(world.session, "tracked_links_base_url") == ""
