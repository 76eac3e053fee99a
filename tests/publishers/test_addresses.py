"""Where channels may not go: refused when saved, and again on every connection."""

from __future__ import annotations

from secrets import token_hex

import pytest
from pytest_httpserver import HTTPServer

from publishers import addresses, http
from publishers.base import ConfigError, Media, OutgoingPost, PermanentError
from publishers.media import fetch_media
from publishers.webhook import WebhookPublisher

SECRET = "hook-" + token_hex(8)  # made per run: no credential lives in the code
KEY = "5f1e2d3c4b5a69788796a5b4c3d2e1f0"
POST = OutgoingPost(post_id=7, title="Tag der offenen Tür", text="Kommt vorbei!")


@pytest.mark.parametrize(
    ("host", "kind", "allowed_with_setting"),
    [
        ("127.0.0.1", "loopback", True),
        ("localhost", "loopback", True),
        ("api.localhost", "loopback", True),
        ("0x7f000001", "loopback", True),
        ("2130706433", "loopback", True),
        ("127.1", "loopback", True),
        ("0177.0.0.1", "loopback", True),
        ("[::1]", "loopback", True),
        ("[::ffff:127.0.0.1]", "loopback", True),
        ("10.0.0.1", "private", True),
        ("172.16.5.4", "private", True),
        ("192.168.1.10", "private", True),
        ("100.64.0.1", "private", True),
        ("[fd12:3456::1]", "private", True),
        ("169.254.169.254", "link_local", False),
        ("[::ffff:169.254.169.254]", "link_local", False),
        ("[fe80::1]", "link_local", False),
        ("metadata.google.internal", "metadata", False),
        ("METADATA.google.internal.", "metadata", False),
        ("100.100.100.200", "metadata", False),
        ("[fd00:ec2::254]", "metadata", False),
        ("0.0.0.0", "unspecified", False),  # noqa: S104 - refused, never bound
        ("0", "unspecified", False),
        ("224.0.0.1", "multicast", False),
        ("255.255.255.255", "reserved", False),
    ],
)
def test_addresses_inside_are_refused_in_every_spelling(
    host: str, kind: str, allowed_with_setting: bool
) -> None:
    refusal = addresses.host_refusal(host, allow_private=False)
    assert refusal is not None and refusal.kind == kind
    with_setting = addresses.host_refusal(host, allow_private=True)
    assert (with_setting is None) == allowed_with_setting
    settings = {"url": f"http://{host}:8080/hook", "secret": SECRET}
    with pytest.raises(ConfigError) as caught:
        WebhookPublisher.check_addresses(settings, allow_private_network=False)
    assert (caught.value.field, caught.value.code) == ("url", f"address_{kind}")


@pytest.mark.parametrize("host", ["hooks.example.org", "203.0.113.9x", "8.8.8.8", "[2001:4860::1]"])
def test_public_addresses_and_names_pass_when_saved(host: str) -> None:
    assert addresses.host_refusal(host, allow_private=False) is None
    WebhookPublisher.check_addresses(
        {"url": f"https://{host}/hook", "secret": SECRET}, allow_private_network=False
    )


def test_an_address_with_a_user_name_or_password_is_refused_without_echoing_it() -> None:
    password = "pw-" + token_hex(6)
    with pytest.raises(ConfigError) as caught:
        WebhookPublisher.check_addresses(
            {"url": f"https://bot:{password}@hooks.example.org/in", "secret": SECRET},
            allow_private_network=True,
        )
    assert (caught.value.field, caught.value.code) == ("url", "address_with_credentials")
    assert "secret settings" in str(caught.value)
    assert password not in str(caught.value)


def _refused(adapter: WebhookPublisher) -> PermanentError:
    with pytest.raises(PermanentError) as caught:
        adapter.publish(POST, KEY)
    assert caught.value.ambiguous is False  # nothing was sent
    assert "refused to connect" in caught.value.message
    return caught.value


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0x7f000001", "[::ffff:127.0.0.1]"])
def test_without_the_setting_a_request_to_this_machine_is_never_made(
    httpserver: HTTPServer, host: str
) -> None:
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    url = f"http://{host}:{httpserver.port}/hook"
    adapter = WebhookPublisher({"url": url, "secret": SECRET}, allow_private_network=False)
    error = _refused(adapter)
    assert "loopback" in error.message and "allow_private_network" in error.message
    assert httpserver.log == []
    # The same adapter settings with the admin's allowance reach the server.
    allowed = WebhookPublisher({"url": url, "secret": SECRET}, allow_private_network=True)
    if host != "[::ffff:127.0.0.1]":  # that one needs an IPv6 socket to listen on
        allowed.publish(POST, KEY)
        assert len(httpserver.log) == 1


def test_a_private_network_address_is_refused_before_connecting() -> None:
    adapter = WebhookPublisher(
        {"url": "http://10.0.0.1/hook", "secret": SECRET, "timeout_seconds": 1},
        allow_private_network=False,
    )
    assert "10.0.0.1 is in a private network" in _refused(adapter).message


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://0.0.0.0:80/"]
)
def test_link_local_and_metadata_addresses_are_refused_even_with_the_setting(url: str) -> None:
    adapter = WebhookPublisher({"url": url, "secret": SECRET}, allow_private_network=True)
    assert "allow_private_network" not in _refused(adapter).message  # no setting helps


def test_a_name_that_resolves_inside_at_request_time_is_refused(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Public when saved, this machine when the request goes out (DNS rebinding).
    settings = {"url": f"http://hooks.rebind.test:{httpserver.port}/hook", "secret": SECRET}
    WebhookPublisher.check_addresses(settings, allow_private_network=False)
    answers = {"hooks.rebind.test": ["127.0.0.1"]}
    monkeypatch.setattr(addresses, "resolver", lambda host, port: answers[host])
    httpserver.expect_request("/hook").respond_with_data("", status=204)

    error = _refused(WebhookPublisher(settings, allow_private_network=False))
    assert "hooks.rebind.test: 127.0.0.1 is this machine" in error.message
    assert httpserver.log == []

    # One inside address among public ones is enough to refuse the name.
    answers["hooks.rebind.test"] = ["93.184.215.14", "127.0.0.1"]
    _refused(WebhookPublisher(settings, allow_private_network=False))
    assert httpserver.log == []

    # Allowed, the connection goes to the address that was checked, under the name.
    answers["hooks.rebind.test"] = ["127.0.0.1"]
    WebhookPublisher(settings, allow_private_network=True).publish(POST, KEY)
    ((request, _response),) = httpserver.log
    assert request.headers["Host"] == f"hooks.rebind.test:{httpserver.port}"


def test_a_redirect_to_a_metadata_address_is_not_followed(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/bild.jpg").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    session = http.new_session(allow_private_network=True)
    try:
        with pytest.raises(PermanentError, match=r"169\.254\.169\.254 is a link-local address"):
            fetch_media(
                Media(url=httpserver.url_for("/bild.jpg"), alt_text="Halle"), session=session
            )
    finally:
        session.close()
    assert [request.path for request, _ in httpserver.log] == ["/bild.jpg"]


def test_media_addresses_are_checked_like_the_channels(httpserver: HTTPServer) -> None:
    # A media address is an editor's; fetched with the channel's session, it is checked.
    httpserver.expect_request("/bild.jpg").respond_with_data(b"\x89PNG", content_type="image/png")
    strict = http.new_session(allow_private_network=False)
    try:
        with pytest.raises(PermanentError, match="refused to connect"):
            fetch_media(Media(url=httpserver.url_for("/bild.jpg"), alt_text="x"), session=strict)
    finally:
        strict.close()
    with pytest.raises(PermanentError, match="refused to connect"):
        fetch_media(Media(url=httpserver.url_for("/bild.jpg"), alt_text="x"))  # no session
    assert httpserver.log == []


def test_an_answer_is_shown_only_as_a_short_printable_excerpt() -> None:
    token = "tok-" + token_hex(8)
    answer = f"\x1b[2J\x1b]0;owned\x07Hallo\u202e{token}\r\n\tWelt " + "x" * 500
    shown = http.excerpt(answer, [token])
    assert len(shown) == http.EXCERPT_MAX
    assert shown.startswith("[2J]0;ownedHallo*** Welt xxx")
    assert shown.endswith("…")
    assert token not in shown
    assert all(char.isprintable() for char in shown)
