"""Organisation settings: how each one's value is given."""

from __future__ import annotations

import pytest

from planner import org_settings
from planner.errors import NotFound


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
