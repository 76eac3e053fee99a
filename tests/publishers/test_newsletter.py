"""The newsletter adapter against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from secrets import token_hex
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509

from publishers.base import (
    AuthError,
    ConfigError,
    Media,
    OutgoingPost,
    PermanentError,
    TransientError,
)
from publishers.newsletter import NewsletterPublisher, message_id
from tests.publishers.servers import self_signed_certificate

USER = "redaktion"
PASSWORD = "smtp-" + token_hex(10)  # made per run: no credential lives in the code
KEY = "5f0c6a52d1e24d8f9a3b7c1e0d2f4a6b"
UNSUBSCRIBE = "https://example.de/newsletter/abmelden?liste=kunden"
POST = OutgoingPost(
    post_id=7,
    title="Grüße aus Köln 🎉 – Tag der offenen Tür",
    text="Liebe Leserinnen und Leser,\n.wir öffnen die Türen 👩‍👩‍👧 <script>x</script>\n\n"
    "Mehr: https://example.de/tdot",
)


@dataclass
class Mailbox:
    """What the server received, and how it answers (set by each test)."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    mail_reply: str | None = None
    data_reply: str | None = None
    data_delay: float = 0.0

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Ok: queued as 4711ABC"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.logins.append(f"{mechanism}:{USER}")
        return AuthResult(success=ok, handled=False)


@dataclass
class Server:
    port: int
    mailbox: Mailbox


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def start_smtp() -> Iterator[Callable[..., Server]]:
    """Start aiosmtpd servers on 127.0.0.1 for one test (AUTH without TLS allowed)."""
    running: list[Controller] = []

    def start(**options: Any) -> Server:
        mailbox = Mailbox()
        options.setdefault("auth_require_tls", False)
        controller = Controller(
            mailbox,
            hostname="127.0.0.1",
            port=_free_port(),
            server_hostname="mail.test",
            authenticator=mailbox.authenticate,
            **options,
        )
        controller.start()
        running.append(controller)
        return Server(controller.port, mailbox)

    yield start
    for controller in running:
        controller.stop()


@pytest.fixture
def smtp(start_smtp: Callable[..., Server]) -> Server:
    return start_smtp()


def _adapter(port: int, **extra: object) -> NewsletterPublisher:
    settings: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": USER,
        "password": PASSWORD,
        "from_address": "Muster GmbH Redaktion <newsletter@example.de>",
        "recipients": "leser1@example.org, Leserin Zwei <leser2@example.net>",
        "unsubscribe_url": UNSUBSCRIBE,
        "unsubscribe_mailto": "abmelden@example.de",
        "footer": "Muster GmbH · Kassel · Impressum: https://example.de/impressum",
        "timeout_seconds": 2,
    }
    settings.update(extra)
    return NewsletterPublisher({k: v for k, v in settings.items() if v is not None})


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_publish_sends_one_multipart_message_to_every_recipient(smtp: Server) -> None:
    receipt = _adapter(smtp.port).publish(POST, KEY)

    ((sender, recipients, raw),) = smtp.mailbox.messages
    assert sender == "newsletter@example.de"
    assert recipients == ["leser1@example.org", "leser2@example.net"]
    assert smtp.mailbox.logins == [f"PLAIN:{USER}"] or smtp.mailbox.logins == [f"LOGIN:{USER}"]
    message = _parse(raw)
    assert message["Subject"] == POST.title
    assert message["From"] == "Muster GmbH Redaktion <newsletter@example.de>"
    assert message["To"] == "undisclosed-recipients:;"
    assert message["Message-ID"] == f"<planner.{KEY}@example.de>"
    assert message["List-Unsubscribe"] == (
        f"<{UNSUBSCRIBE}>, <mailto:abmelden@example.de?subject=unsubscribe>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Content-Language"] == "de"
    sent_at = parsedate_to_datetime(message["Date"])
    assert abs(sent_at - datetime.now(UTC)) < timedelta(minutes=1)
    # Bcc-style: no subscriber's address anywhere in the headers.
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert b"leser1" not in headers and b"leser2" not in headers
    assert "Bcc" not in message

    assert message.get_content_type() == "multipart/alternative"
    plain, rich = message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert rich.get_content_type() == "text/html"
    assert plain.get_content().replace("\r\n", "\n") == (
        f"{POST.title}\n\n{POST.text}\n\n-- \n"
        "Muster GmbH · Kassel · Impressum: https://example.de/impressum\n"
    )
    html = rich.get_content().replace("\r\n", "\n")
    assert '<html lang="de">' in html
    assert "<h1>Grüße aus Köln 🎉 – Tag der offenen Tür</h1>" in html
    assert (
        "<p>Liebe Leserinnen und Leser,<br>\n"
        ".wir öffnen die Türen 👩‍👩‍👧 &lt;script&gt;x&lt;/script&gt;</p>"
    ) in html
    assert '<p>Mehr: <a href="https://example.de/tdot">https://example.de/tdot</a></p>' in html
    assert "<script>" not in html

    assert receipt.external_id == f"<planner.{KEY}@example.de>"
    assert receipt.url is None
    assert receipt.raw == {
        "recipients": 2,
        "refused": {},
        "reply": "250 2.0.0 Ok: queued as 4711ABC",
    }


def test_the_same_key_sends_again_with_the_same_message_id(smtp: Server) -> None:
    adapter = _adapter(smtp.port)
    assert adapter.detect_deduplication() is None  # SMTP cannot refuse a second copy
    first = adapter.publish(POST, KEY)
    second = adapter.publish(POST, KEY)
    assert first.external_id == second.external_id
    ids = [_parse(raw)["Message-ID"] for _, _, raw in smtp.mailbox.messages]
    assert ids == [first.external_id, first.external_id]
    assert adapter.publish(POST, "another-key").external_id != first.external_id


def test_a_list_address_is_the_to_header_and_the_only_recipient(smtp: Server) -> None:
    adapter = _adapter(
        smtp.port, recipients=None, list_address="Kundenbrief <kunden@lists.example.de>"
    )
    adapter.publish(POST, KEY)
    ((_, recipients, raw),) = smtp.mailbox.messages
    assert recipients == ["kunden@lists.example.de"]
    assert _parse(raw)["To"] == "Kundenbrief <kunden@lists.example.de>"


def test_without_an_https_address_there_is_no_one_click_header(smtp: Server) -> None:
    _adapter(smtp.port, unsubscribe_url=None).publish(POST, KEY)
    message = _parse(smtp.mailbox.messages[0][2])
    assert message["List-Unsubscribe"] == "<mailto:abmelden@example.de?subject=unsubscribe>"
    assert "List-Unsubscribe-Post" not in message


def test_a_long_unsubscribe_address_stays_one_readable_link(smtp: Server) -> None:
    long_url = "https://example.de/abmelden?token=" + "a1B2" * 60
    _adapter(smtp.port, unsubscribe_url=long_url, unsubscribe_mailto=None).publish(POST, KEY)
    raw = smtp.mailbox.messages[0][2]
    assert f"List-Unsubscribe: <{long_url}>".encode() in raw  # not RFC 2047-encoded
    assert _parse(raw)["List-Unsubscribe"] == f"<{long_url}>"


@pytest.mark.parametrize(
    "title",
    [
        pytest.param("Grüße aus Köln 🎉 " * 6, id="long-non-ascii"),
        pytest.param("Newsletter Mai: Neues aus der Werkstatt " * 3, id="long-ascii"),
        pytest.param("東京オフィス開設のお知らせ 🇩🇪🇯🇵 e\u0301", id="cjk-flags-combining"),
        pytest.param("Sale\r\nBcc: everyone@example.org", id="header-injection"),
    ],
)
def test_subjects_arrive_exactly_on_one_line(smtp: Server, title: str) -> None:
    _adapter(smtp.port).publish(OutgoingPost(post_id=1, title=title, text="x"), KEY)
    message = _parse(smtp.mailbox.messages[0][2])
    assert message["Subject"] == " ".join(title.split())
    assert "Bcc" not in message


def test_a_refused_recipient_among_others_is_listed_in_the_receipt(smtp: Server) -> None:
    smtp.mailbox.refuse["leser2@example.net"] = "550 5.1.1 <leser2@example.net>: User unknown"
    receipt = _adapter(smtp.port).publish(POST, KEY)
    assert smtp.mailbox.messages[0][1] == ["leser1@example.org"]
    assert receipt.raw["recipients"] == 1
    assert receipt.raw["refused"] == {
        "leser2@example.net": "550 5.1.1 <leser2@example.net>: User unknown"
    }


@pytest.mark.parametrize(
    ("answers", "error", "words"),
    [
        pytest.param(
            {"refuse": "550 5.1.1 User unknown"},
            PermanentError,
            "leser1@example.org: 550 5.1.1 User unknown",
            id="recipient-refused-5xx",
        ),
        pytest.param(
            {"refuse": "450 4.2.1 Mailbox busy, try later"},
            TransientError,
            "450 4.2.1 Mailbox busy",
            id="recipient-refused-4xx",
        ),
        pytest.param(
            {"mail_reply": "553 5.7.1 Sender address rejected: not owned by user"},
            PermanentError,
            "refused the sender 'newsletter@example.de': 553 5.7.1 Sender address rejected",
            id="sender-refused",
        ),
        pytest.param(
            {"mail_reply": "451 4.7.1 Throttled, try again later"},
            TransientError,
            "451 4.7.1 Throttled",
            id="sender-throttled-4xx",
        ),
        pytest.param(
            {"data_reply": "554 5.7.1 Message rejected as spam"},
            PermanentError,
            "554 5.7.1 Message rejected as spam",
            id="data-rejected-5xx",
        ),
        pytest.param(
            {"data_reply": "452 4.3.1 Insufficient system storage"},
            TransientError,
            "452 4.3.1 Insufficient system storage",
            id="data-deferred-4xx",
        ),
    ],
)
def test_server_replies_map_to_typed_errors_with_its_words(
    smtp: Server, answers: dict[str, Any], error: type[Exception], words: str
) -> None:
    for name, value in answers.items():
        if name == "refuse":  # every recipient refused: nothing is delivered
            smtp.mailbox.refuse.update(
                dict.fromkeys(["leser1@example.org", "leser2@example.net"], value)
            )
        else:
            setattr(smtp.mailbox, name, value)
    with pytest.raises(error) as caught:
        _adapter(smtp.port).publish(POST, KEY)
    assert words in caught.value.message  # type: ignore[attr-defined]
    assert caught.value.http_status is None  # type: ignore[attr-defined]
    assert smtp.mailbox.messages == []


def test_a_wrong_password_is_an_auth_error_without_the_password(smtp: Server) -> None:
    adapter = _adapter(smtp.port, password="wrong")
    with pytest.raises(AuthError) as caught:
        adapter.publish(POST, KEY)
    assert "535 5.7.8 Authentication credentials invalid" in caught.value.message
    assert "not-the-password" not in str(caught.value)
    assert PASSWORD not in repr(_adapter(smtp.port))


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        pytest.param({"password": f"Bär-{PASSWORD}"}, "'password'", id="umlaut"),
        pytest.param({"password": f"{PASSWORD}\u200b"}, "'password'", id="zero-width-space"),
        pytest.param(
            {"username": "rédaktion", "password": f"{PASSWORD}…"},
            "'username', 'password'",
            id="both",
        ),
    ],
)
def test_a_login_smtp_cannot_carry_is_an_auth_error_naming_the_setting(
    smtp: Server, settings: dict[str, str], named: str
) -> None:
    adapter = _adapter(smtp.port, **settings)
    for attempt in (lambda: adapter.publish(POST, KEY), adapter.check_connection):
        with pytest.raises(AuthError) as caught:
            attempt()
        error = caught.value
        assert f"{named} hold" in error.message
        assert "ASCII" in error.message
        # Neither the secret nor an exception holding it travels with the error.
        assert error.__cause__ is None and error.__context__ is None
        for value in settings.values():
            assert value not in repr(error)
    assert smtp.mailbox.logins == [] and smtp.mailbox.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_server_that_requires_login_says_so(start_smtp: Callable[..., Server]) -> None:
    server = start_smtp(auth_required=True)
    with pytest.raises(AuthError, match=r"530 5\.7\.0 Authentication required"):
        _adapter(server.port, username=None, password=None).publish(POST, KEY)


def test_refused_connection_is_transient() -> None:
    with pytest.raises(TransientError, match=r"cannot connect to 127.0.0.1:9"):
        _adapter(9).publish(POST, KEY)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    done.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_server_that_never_greets_times_out_as_transient(silent_port: int) -> None:
    with pytest.raises(TransientError, match="did not answer in time"):
        _adapter(silent_port, timeout_seconds=1).publish(POST, KEY)


def test_no_reply_after_the_whole_message_is_not_retried_blindly(smtp: Server) -> None:
    # The server has the message and may deliver it: a retry could send it twice.
    smtp.mailbox.data_delay = 2.5
    with pytest.raises(PermanentError, match="may have been delivered"):
        _adapter(smtp.port, timeout_seconds=1).publish(POST, KEY)


def test_check_connection_logs_in_and_says_where(smtp: Server) -> None:
    assert _adapter(smtp.port).check_connection() == (
        f"connected to 127.0.0.1:{smtp.port} (none) as {USER}"
    )
    assert smtp.mailbox.logins
    with pytest.raises(AuthError):
        _adapter(smtp.port, password="wrong-password").check_connection()


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    # As a company-internal mail server might have.
    cert_file, key_file = self_signed_certificate(
        tmp_path, "mail.test", x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


def test_starttls_encrypts_before_logging_in(
    start_smtp: Callable[..., Server], tls: tuple[ssl.SSLContext, Path]
) -> None:
    context, cert_file = tls
    server = start_smtp(tls_context=context, require_starttls=True, auth_require_tls=True)
    adapter = _adapter(server.port, security="starttls", ca_file=str(cert_file))
    adapter.publish(POST, KEY)
    assert len(server.mailbox.messages) == 1
    assert "(starttls)" in adapter.check_connection()


def test_implicit_tls_on_the_ssl_port(
    start_smtp: Callable[..., Server], tls: tuple[ssl.SSLContext, Path]
) -> None:
    context, cert_file = tls
    server = start_smtp(ssl_context=context)
    _adapter(server.port, security="ssl", ca_file=str(cert_file)).publish(POST, KEY)
    assert len(server.mailbox.messages) == 1


def test_an_untrusted_certificate_is_refused_not_ignored(
    start_smtp: Callable[..., Server], tls: tuple[ssl.SSLContext, Path]
) -> None:
    context, _cert_file = tls
    server = start_smtp(tls_context=context, require_starttls=True)
    with pytest.raises(PermanentError, match="not trusted"):
        _adapter(server.port, security="starttls").publish(POST, KEY)
    assert server.mailbox.logins == []


def test_starttls_is_required_when_configured(smtp: Server) -> None:
    # A server without STARTTLS must not get the password in clear text.
    with pytest.raises(PermanentError, match="does not offer STARTTLS"):
        _adapter(smtp.port, security="starttls").publish(POST, KEY)
    assert smtp.mailbox.logins == []


def test_message_id_is_deterministic_and_safe() -> None:
    assert message_id("abc-1.2_3", "example.de") == "<planner.abc-1.2_3@example.de>"
    odd = message_id("post 7/channel <3>", "example.de")
    assert odd == message_id("post 7/channel <3>", "example.de")
    assert odd.startswith("<planner.") and " " not in odd and odd.count("<") == 1


def test_no_length_limit_but_a_subject_and_no_media() -> None:
    adapter = _adapter(25)
    long_text = "Grüße 👩‍👩‍👧 aus Köln 東京 e\u0301 https://example.de/x\n" * 5000
    assert adapter.validate(OutgoingPost(post_id=1, title="Mai", text=long_text)) == []
    problems = adapter.validate(
        OutgoingPost(post_id=1, title=" ", text="x", media=[Media("https://x/a.jpg", "Alt")])
    )
    assert sorted(p.field for p in problems) == ["media", "title"]
    assert adapter.reports_metrics is False
    assert adapter.uses_http is False


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({"host": None}, "host", id="no-host"),
        pytest.param({"host": "smtp.example.de"}, "security", id="plain-to-a-remote-host"),
        pytest.param({"security": "tls"}, "security", id="unknown-security"),
        pytest.param({"port": 70000}, "port", id="bad-port"),
        pytest.param({"username": None}, "username", id="password-without-user"),
        pytest.param({"from_address": "Redaktion"}, "from_address", id="from-no-address"),
        pytest.param({"from_address": "a@x.de, b@x.de"}, "from_address", id="two-senders"),
        pytest.param({"recipients": "leser1@example.org; x"}, "recipients", id="bad-recipient"),
        pytest.param({"recipients": None}, "recipients", id="nobody"),
        pytest.param(
            {"recipients": ", ".join(f"r{i}@example.org" for i in range(101))},
            "recipients",
            id="101-recipients",
        ),
        pytest.param({"recipients": "jürgen@example.org"}, "recipients", id="non-ascii-local-part"),
        pytest.param(
            {"unsubscribe_url": None, "unsubscribe_mailto": None},
            "unsubscribe_url",
            id="no-unsubscribe",
        ),
        pytest.param(
            {"unsubscribe_url": "http://example.de/ab"}, "unsubscribe_url", id="not-https"
        ),
        pytest.param(
            {"unsubscribe_url": "https://example.de/ab melden"}, "unsubscribe_url", id="space"
        ),
        pytest.param({"unsubscribe_mailto": "abmelden"}, "unsubscribe_mailto", id="bad-mailto"),
        pytest.param({"language": "Deutsch"}, "language", id="bad-language"),
        pytest.param({"timeout_seconds": 0}, "timeout_seconds", id="zero-timeout"),
    ],
)
def test_bad_configuration_names_the_field(settings: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _adapter(settings.pop("port", 25), **settings)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_settings_default_the_port_and_rebuild_the_same_adapter() -> None:
    adapter = NewsletterPublisher(
        {
            "host": "smtp.example.de",
            "username": USER,
            "password": PASSWORD,
            "from_address": "newsletter@example.de",
            "recipients": "a@example.org,b@exämple.de",
            "unsubscribe_mailto": "abmelden@example.de",
        }
    )
    assert (adapter.settings["security"], adapter.settings["port"]) == ("starttls", 587)
    assert adapter.settings["recipients"] == "a@example.org, b@exämple.de"
    assert adapter.recipients == ["a@example.org", "b@xn--exmple-cua.de"]
    assert NewsletterPublisher(adapter.settings).settings == adapter.settings
    ssl_adapter = NewsletterPublisher({**adapter.settings, "security": "ssl", "port": None})
    assert ssl_adapter.settings["port"] == 465


def test_without_the_allowance_no_connection_to_this_machine_is_made(smtp: Server) -> None:
    settings = dict(_adapter(smtp.port).settings)
    adapter = NewsletterPublisher(settings, allow_private_network=False)
    with pytest.raises(PermanentError) as caught:
        adapter.publish(POST, KEY)
    assert "refused to connect to 127.0.0.1" in caught.value.message
    assert "allow_private_network" in caught.value.message
    assert smtp.mailbox.messages == []
    with pytest.raises(ConfigError) as refused:
        NewsletterPublisher.check_addresses(settings, allow_private_network=False)
    assert (refused.value.field, refused.value.code) == ("host", "address_loopback")


def test_an_smtp_host_at_a_metadata_address_is_refused_even_with_the_allowance() -> None:
    settings = {**_adapter(25).settings, "host": "169.254.169.254", "security": "starttls"}
    with pytest.raises(ConfigError) as refused:
        NewsletterPublisher.check_addresses(settings, allow_private_network=True)
    assert (refused.value.field, refused.value.code) == ("host", "address_link_local")
    adapter = NewsletterPublisher(settings, allow_private_network=True)
    with pytest.raises(PermanentError, match=r"169\.254\.169\.254 is a link-local address"):
        adapter.check_connection()
