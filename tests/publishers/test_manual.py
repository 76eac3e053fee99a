"""The manual adapter: no API, so a person gets copy-ready instructions instead."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from publishers.base import ManualActionRequired, Media, OutgoingPost
from publishers.manual import ManualPublisher
from tests.publishers.stubs import config_error

POST = OutgoingPost(
    post_id=42,
    title="Tag der offenen Tür",
    text="Wir öffnen die Türen 🎉 <Kassel> & Umgebung",
    link="https://example.de/tag-der-offenen-tuer",
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the manual adapter must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_publish_hands_over_copy_ready_instructions_instead_of_posting() -> None:
    adapter = ManualPublisher({"open_url": "https://www.xing.com/pages/heizwerk-gmbh"})
    with pytest.raises(ManualActionRequired) as caught:
        adapter.publish(POST, "planner-42-2-1")
    assert caught.value.message == (
        "Post this by hand on XING: open https://www.xing.com/pages/heizwerk-gmbh and paste "
        "the text between the lines.\n"
        "Then record where it was published: "
        "python -m planner posts mark-posted 42 --url ADDRESS\n"
        "----------------------------------------\n"
        "Wir öffnen die Türen 🎉 <Kassel> & Umgebung\n"
        "\n"
        "https://example.de/tag-der-offenen-tuer\n"
        "----------------------------------------"
    )
    assert caught.value.outcome == "manual"  # the engine parks the post as awaiting_manual
    assert caught.value.http_status is None


def test_images_are_listed_with_their_descriptions() -> None:
    post = OutgoingPost(
        post_id=7,
        title="",
        text="Neue Halle",
        media=(
            Media(url="https://cdn.example.de/halle.jpg", alt_text="Die Halle von außen"),
            Media(url="https://cdn.example.de/team.jpg", alt_text="Das Team"),
        ),
    )
    with pytest.raises(ManualActionRequired) as caught:
        ManualPublisher({}).publish(post, "k")
    assert (
        "Attach these images, each with its description (alt text):\n"
        "- https://cdn.example.de/halle.jpg (Die Halle von außen)\n"
        "- https://cdn.example.de/team.jpg (Das Team)\n"
    ) in caught.value.message


def test_the_network_name_appears_in_instructions_and_problems() -> None:
    adapter = ManualPublisher(
        {"network_name": "Viadeo", "open_url": "https://www.viadeo.com/", "max_characters": 10}
    )
    assert adapter.display_name == "Viadeo"
    assert ManualPublisher.display_name == "Manual (e.g. XING)"  # the class keeps its name
    (problem,) = adapter.validate(OutgoingPost(post_id=1, title="", text="elf Zeichen"))
    assert problem.message == "11 characters, Viadeo allows 10"
    with pytest.raises(ManualActionRequired, match=r"on Viadeo: open https://www\.viadeo\.com/"):
        adapter.publish(POST, "k")


@pytest.mark.parametrize(
    ("settings", "text", "problems"),
    [
        pytest.param({}, "x" * 100_000, [], id="no-limit-by-default"),
        pytest.param({"max_characters": 3000}, "x" * 3000, [], id="at-the-limit"),
        pytest.param(
            {"max_characters": 3000},
            "x" * 3001,
            ["3001 characters, XING allows 3000"],
            id="over-the-limit",
        ),
        pytest.param({}, "  ", ["the text is empty"], id="empty"),
    ],
)
def test_validate_checks_a_limit_only_when_one_is_set(
    settings: dict[str, object], text: str, problems: list[str]
) -> None:
    found = ManualPublisher(settings).validate(OutgoingPost(post_id=1, title="", text=text))
    assert [p.message for p in found] == problems


def test_the_appended_link_counts_towards_the_limit() -> None:
    adapter = ManualPublisher({"max_characters": 20})
    post = OutgoingPost(post_id=1, title="", text="x" * 10, link="https://e.de/")
    (problem,) = adapter.validate(post)
    assert problem.message == "25 characters, XING allows 20"


def test_images_need_a_description_for_the_person_who_posts() -> None:
    post = OutgoingPost(
        post_id=1, title="", text="Bild", media=(Media(url="https://cdn.example.de/a.jpg"),)
    )
    (problem,) = ManualPublisher({}).validate(post)
    assert (problem.field, problem.message) == (
        "media",
        "alt text missing for 'https://cdn.example.de/a.jpg'",
    )


def test_check_connection_describes_where_posts_go_without_any_request() -> None:
    assert ManualPublisher({}).check_connection() == (
        "nothing to connect: posts for XING are published by hand at https://www.xing.com/"
    )
    assert ManualPublisher.uses_http is False  # the contract test's HTTP failures skip it


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({"open_url": "www.xing.com"}, "open_url", id="url-without-scheme"),
        pytest.param({"max_characters": 0}, "max_characters", id="limit-0"),
        pytest.param({"max_characters": "viel"}, "max_characters", id="limit-not-a-number"),
        pytest.param({"api_key": "x"}, "api_key", id="unknown-setting"),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    assert config_error(ManualPublisher, settings).field == field


def test_cleaned_settings_hold_the_defaults() -> None:
    assert ManualPublisher({}).settings == {
        "network_name": "XING",
        "open_url": "https://www.xing.com/",
        "max_characters": None,
    }
