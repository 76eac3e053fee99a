"""The explicit registry: building adapters by kind, and adding one for a test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from publishers import CHANNEL_KINDS, REGISTRY, UnknownKind, adapter_for, register, unregister
from publishers.base import ConfigError, OutgoingPost, Publisher, Receipt, SettingSpec
from publishers.webhook import WebhookPublisher
from publishers.x import XPublisher


class EchoPublisher(Publisher):
    """A do-nothing adapter of a kind the planner does not know."""

    kind: ClassVar[str] = "echo"
    display_name: ClassVar[str] = "Echo"
    uses_http: ClassVar[bool] = False
    settings_spec = (SettingSpec("name", help="what to call it"),)

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """Answer with the key."""
        return Receipt(external_id=idempotency_key)


@pytest.fixture
def echo() -> Iterator[type[EchoPublisher]]:
    """EchoPublisher registered for one test."""
    yield register(EchoPublisher)
    unregister("echo")


def test_the_registry_is_explicit_and_every_kind_has_an_adapter() -> None:
    assert REGISTRY["webhook"] is WebhookPublisher
    assert set(REGISTRY) == set(CHANNEL_KINDS)


def test_adapter_for_builds_and_validates() -> None:
    assert isinstance(
        adapter_for("webhook", {"url": "https://example.org/h", "secret": "registry-test"}),
        WebhookPublisher,
    )
    with pytest.raises(ConfigError, match="'url'"):
        adapter_for("webhook", {})


def test_an_unknown_kind_says_which_kinds_have_an_adapter() -> None:
    with pytest.raises(UnknownKind) as caught:
        adapter_for("myspace", {})
    assert str(caught.value).startswith("unknown kind 'myspace'; available: ")
    assert "webhook" in caught.value.available
    assert "myspace" not in CHANNEL_KINDS
    assert isinstance(caught.value, KeyError)  # callers doing a lookup may catch KeyError


def test_a_known_kind_without_adapter_says_so_and_lists_the_others() -> None:
    try:
        assert unregister("x") is XPublisher
        with pytest.raises(UnknownKind) as caught:
            adapter_for("x", {"access_token": "t"})
        assert str(caught.value).startswith("no publisher for 'x' channels yet; available: ")
        assert "x" not in caught.value.available
        assert "mastodon" in caught.value.available
    finally:
        register(XPublisher)
    assert REGISTRY["x"] is XPublisher


def test_register_adds_a_kind_and_unregister_removes_only_what_it_added(
    echo: type[EchoPublisher],
) -> None:
    assert REGISTRY["echo"] is echo
    assert CHANNEL_KINDS["echo"] == "Echo"
    assert adapter_for("echo", {"name": "e"}).publish(
        OutgoingPost(post_id=1, title="", text="t"), "k"
    ) == Receipt(external_id="k")
    assert register(EchoPublisher) is EchoPublisher  # registering twice is harmless
    assert unregister("echo") is EchoPublisher
    assert "echo" not in REGISTRY
    assert "echo" not in CHANNEL_KINDS
    assert unregister("echo") is None


def test_unregistering_a_planner_kind_keeps_its_name() -> None:
    try:
        assert unregister("webhook") is WebhookPublisher
        assert CHANNEL_KINDS["webhook"] == "Webhook"
        with pytest.raises(UnknownKind):
            adapter_for("webhook", {"url": "https://example.org/h", "secret": "registry-test"})
    finally:
        register(WebhookPublisher)


def test_a_second_class_cannot_take_a_registered_kind() -> None:
    class Impostor(WebhookPublisher):
        """Claims the webhook kind."""

    with pytest.raises(ValueError, match="already registered to WebhookPublisher"):
        register(Impostor)


def test_a_class_must_name_its_kind() -> None:
    class Nameless(Publisher):
        """Declares nothing."""

    with pytest.raises(ValueError, match="kind"):
        register(Nameless)
