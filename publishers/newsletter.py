"""E-mail newsletter over SMTP: one multipart/alternative message (plain text and HTML) per post.

Delivery is Bcc-style: the envelope names every recipient (RCPT TO), while the To header shows
only the list address, or `undisclosed-recipients:;` when there is none, so subscribers never
see each other's addresses. For more than a handful of subscribers, send to the address of a
list server or a mail service's list, which personalises the unsubscribe link per recipient.

SMTP cannot deduplicate: re-sending delivers a second copy. The Message-ID is derived from the
idempotency key, so copies of one post are recognisable (and mail clients may fold them), and
a failure after the server has received the whole message is reported as not to be retried
automatically, since the message may have gone out.
"""

from __future__ import annotations

import hashlib
import html
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from email import policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from typing import Any, ClassVar

from publishers import addresses, images
from publishers.base import (
    AuthError,
    ConfigError,
    DeliveryError,
    OutgoingPost,
    PermanentError,
    Problem,
    Publisher,
    Receipt,
    Rule,
    SettingSpec,
    TransientError,
    answer,
    language_setting,
    number_setting,
    problem,
    secret_setting,
    timeout_setting,
)
from publishers.http import mask
from publishers.images import Limits
from publishers.markup import clean_text, one_line, to_html
from publishers.media import uploaded_file
from publishers.text import with_link

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost")
# RFC 5321 4.5.3.1.8: a server must accept at least 100 recipients per message.
MAX_RECIPIENTS = 100
_SAFE_KEY = re.compile(r"[A-Za-z0-9._-]{1,64}")
_ADDRESS = re.compile(r"[^@\s<>,;:\"]+@[^@\s<>,;:\"]+")
_LINE_START_DOT = re.compile(rb"(?m)^\.")
_PLAIN_URL = re.compile(r"https://[!#-;=?-~]+")  # printable ASCII, no space, '<' or '>'
MAX_URL_LENGTH = 900
# CRLF line ends; headers set raw (List-Unsubscribe) are written exactly as given.
_POLICY = policy.SMTP.clone(refold_source="none")


def message_id(idempotency_key: str, domain: str) -> str:
    """The Message-ID for a post: the same key gives the same id."""
    token = (
        idempotency_key
        if _SAFE_KEY.fullmatch(idempotency_key)
        else hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    )
    return f"<planner.{token}@{domain}>"


def _ascii_address(address: str) -> str:
    """`address` with an internationalised domain in its ASCII (IDNA) form."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def _header_address(value: str) -> str:
    """One address for a header: display name kept, domain in its ASCII form."""
    name, address = parseaddr(value)
    return formataddr((name, _ascii_address(address)))


def _addresses(kind: str, field: str, value: str) -> list[str]:
    """The bare addresses in a comma-separated list; ConfigError naming `field` otherwise."""
    found: list[str] = []
    for _name, address in getaddresses([value]):
        address = address.strip()
        if not address:
            continue
        if not _ADDRESS.fullmatch(address):
            raise ConfigError(
                kind,
                field,
                f"{address!r} is not an e-mail address",
                code="not_email",
                params={"value": address},
            )
        if not address.rpartition("@")[0].isascii():
            raise ConfigError(
                kind,
                field,
                f"{address!r}: only ASCII before the '@' is supported",
                code="address_not_ascii",
                params={"value": address},
            )
        try:
            _ascii_address(address)
        except UnicodeError as err:
            raise ConfigError(
                kind,
                field,
                f"{address!r} has an invalid domain",
                code="bad_domain",
                params={"value": address},
            ) from err
        found.append(address)
    return found


def _checked_socket(
    connect: Callable[[str, int, float], socket.socket],
    host: str,
    port: int,
    timeout: float,
    allow_private: bool,
) -> socket.socket:
    """`connect` to a checked address of `host` (`publishers.addresses`), never another."""
    try:
        found = addresses.checked_addresses(host, port, allow_private=allow_private)
    except addresses.AddressRefused as err:
        raise PermanentError(f"refused to connect to {host}:{port}: {err}") from None
    failure: OSError | None = None
    for address in dict.fromkeys(found):
        try:
            return connect(address, port, timeout)
        except OSError as err:
            failure = err
    assert failure is not None  # a resolver answers with an address or an error
    raise failure


class _CheckedSMTP(smtplib.SMTP):
    """SMTP to a checked address; TLS still checks the certificate against the name."""

    allow_private_network = False
    _host: str  # smtplib's, not in its type stubs

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        connect = super()._get_socket  # type: ignore[misc]  # not in smtplib's type stubs
        return _checked_socket(connect, host, port, timeout, self.allow_private_network)


class _CheckedSMTPSSL(_CheckedSMTP, smtplib.SMTP_SSL):
    """SMTP over TLS to a checked address; the certificate is checked against the name.

    The checked connection is `_CheckedSMTP`'s, which SMTP_SSL then wraps in TLS.
    """


class NewsletterPublisher(Publisher, kind="newsletter", display_name="Newsletter (SMTP)"):
    """Sends each post as a newsletter e-mail through an SMTP server."""

    uses_http: ClassVar[bool] = False
    supports_media: ClassVar[bool] = True
    # Images go inline (multipart/related, shown after the text by their Content-ID), a
    # PDF as an attachment. Mail clients show images at most about 1200 px wide, and
    # many servers refuse a message of more than 10 MB.
    media_limits: ClassVar[Limits | None] = Limits(
        max_count=5,
        types=frozenset({*images.IMAGE_TYPES.values(), images.PDF_TYPE}),
        max_side=1200,
        max_bytes=2 * 1024 * 1024,
    )
    # The password goes to this server (in the clear with security "none"); the
    # unsubscribe address is only a link in the e-mail.
    destination_settings: ClassVar[tuple[str, ...] | None] = ("host", "port", "security")
    host_settings: ClassVar[tuple[str, ...]] = ("host",)
    settings_spec = (
        SettingSpec("host", help="SMTP server, e.g. smtp.example.de"),
        SettingSpec(
            "security",
            required=False,
            default="starttls",
            help="starttls (port 587), ssl (port 465), or none (only for a server on this "
            "machine, for tests)",
            choices=SECURITY_MODES,
        ),
        number_setting(
            "port",
            "SMTP port; empty: 587 for starttls, 465 for ssl, 25 for none",
            Rule("not_port", "is not a port number", low=1, high=65535),
        ),
        SettingSpec("username", required=False, help="SMTP login; empty: send without login"),
        secret_setting(
            "password",
            "password for the SMTP login",
            required=False,
        ),
        SettingSpec(
            "from_address",
            help="sender shown to readers, e.g. Muster GmbH <newsletter@example.de>",
        ),
        SettingSpec(
            "list_address",
            required=False,
            help="address of the mailing list (list server or mail service); shown in To and, "
            "without recipients below, the only recipient",
        ),
        SettingSpec(
            "recipients",
            required=False,
            help=f"comma-separated addresses, at most {MAX_RECIPIENTS}, each sent a copy "
            "without seeing the others",
        ),
        SettingSpec(
            "unsubscribe_url",
            type="url",
            required=False,
            help="https address that unsubscribes with one click (RFC 8058); needed by "
            "Gmail and Yahoo for bulk mail",
        ),
        SettingSpec(
            "unsubscribe_mailto",
            required=False,
            help="address that unsubscribes the sender of an e-mail to it",
        ),
        SettingSpec(
            "footer",
            required=False,
            default="",
            help="text under every issue: how to unsubscribe, imprint (Impressum)",
        ),
        language_setting(
            "ISO 639 language code of the newsletter, e.g. de",
            Rule(
                "not_language_code",
                "is not a language code like 'de'",
                pattern=r"[a-z]{2,3}(?:-[a-z0-9]{2,8})*",
            ),
            lower_case=True,
        ),
        SettingSpec(
            "ca_file",
            required=False,
            help="PEM file of certificate authorities to trust besides the system's "
            "(for a company-internal mail server)",
        ),
        timeout_setting("the SMTP server", maximum=None),
    )

    @classmethod
    def clean_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """The base checks, plus the rules that make a sendable, compliant message."""
        clean = super().clean_settings(settings)
        security = clean["security"]
        if security == "none" and clean["host"].lower().strip("[]") not in LOCAL_HOSTS:
            raise ConfigError(
                cls.kind,
                "security",
                "'none' sends the password and the mail unencrypted; it is allowed only for a "
                "server on this machine (127.0.0.1, localhost)",
                code="unencrypted_not_local",
            )
        if clean["port"] is None:
            clean["port"] = DEFAULT_PORTS[security]
        if clean["password"] and not clean["username"]:
            raise ConfigError(
                cls.kind,
                "username",
                "is required when a password is set",
                code="required_with_password",
            )
        _, sender = parseaddr(clean["from_address"])
        if len(_addresses(cls.kind, "from_address", clean["from_address"])) != 1 or not sender:
            raise ConfigError(
                cls.kind,
                "from_address",
                f"{clean['from_address']!r} is not one e-mail address",
                code="not_one_email",
                params={"value": clean["from_address"]},
            )
        if (
            clean["list_address"]
            and len(_addresses(cls.kind, "list_address", clean["list_address"])) != 1
        ):
            raise ConfigError(
                cls.kind, "list_address", "must be exactly one address", code="one_address"
            )
        recipients = _addresses(cls.kind, "recipients", clean["recipients"] or "")
        if len(recipients) > MAX_RECIPIENTS:
            raise ConfigError(
                cls.kind,
                "recipients",
                f"{len(recipients)} addresses; at most {MAX_RECIPIENTS} per message, send "
                "larger lists through a list server's address (list_address)",
                code="too_many_recipients",
                params={"count": len(recipients), "max": MAX_RECIPIENTS},
            )
        if recipients:
            clean["recipients"] = ", ".join(recipients)
        if not recipients and not clean["list_address"]:
            raise ConfigError(
                cls.kind, "recipients", "set recipients or a list_address", code="no_recipients"
            )
        url = clean["unsubscribe_url"]
        if url and not url.startswith("https://"):
            raise ConfigError(
                cls.kind,
                "unsubscribe_url",
                "one-click unsubscribe (RFC 8058) needs https",
                code="unsubscribe_needs_https",
            )
        if url and (not _PLAIN_URL.fullmatch(url) or "," in url or len(url) > MAX_URL_LENGTH):
            raise ConfigError(
                cls.kind,
                "unsubscribe_url",
                f"must be a plain address of at most {MAX_URL_LENGTH} characters without "
                "spaces, commas or non-ASCII characters (percent-encode them)",
                code="unsubscribe_url_plain",
                params={"max": MAX_URL_LENGTH},
            )
        mailto = clean["unsubscribe_mailto"]
        if mailto and len(_addresses(cls.kind, "unsubscribe_mailto", mailto)) != 1:
            raise ConfigError(
                cls.kind, "unsubscribe_mailto", "must be exactly one address", code="one_address"
            )
        if not clean["unsubscribe_url"] and not mailto:
            raise ConfigError(
                cls.kind,
                "unsubscribe_url",
                "a newsletter must offer unsubscribing: set unsubscribe_url or unsubscribe_mailto",
                code="no_unsubscribe",
            )
        return clean

    @property
    def sender(self) -> str:
        """The envelope sender (MAIL FROM): the bare From address."""
        return _ascii_address(parseaddr(self.settings["from_address"])[1])

    @property
    def recipients(self) -> list[str]:
        """Everyone the envelope names (RCPT TO): the recipients, else the list address."""
        listed = self.settings["recipients"] or self.settings["list_address"]
        return [_ascii_address(a) for a in _addresses(self.kind, "recipients", listed)]

    @property
    def _where(self) -> str:
        return f"{self.settings['host']}:{self.settings['port']}"

    def validate(self, post: OutgoingPost) -> list[Problem]:
        problems = super().validate(post)
        if not one_line(post.title):
            problems.append(
                problem("title", "subject_missing", "a newsletter needs a subject (the title)")
            )
        for item in post.media:
            if not item.uploaded:
                problems.append(
                    problem(
                        "media",
                        "upload_needed",
                        "{channel} sends only files uploaded to the planner, not {url!r}",
                        channel=self.display_name,
                        url=item.url,
                    )
                )
        return problems

    def compose(
        self, post: OutgoingPost, idempotency_key: str, *, now: datetime | None = None
    ) -> EmailMessage:
        """The message for `post`: headers, a plain-text part and the same text as HTML."""
        subject = one_line(post.title)
        text = clean_text(with_link(post)).strip()
        footer = clean_text(self.settings["footer"] or "").strip()
        domain = self.sender.rpartition("@")[2]
        message = EmailMessage(policy=_POLICY)
        if subject.isascii():
            message["Subject"] = subject
        else:
            # The email package's own folding of encoded words loses spaces at the folds
            # (seen with Python 3.11); the older Header class encodes them intact.
            message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())
        message["From"] = _header_address(self.settings["from_address"])
        message["To"] = (
            _header_address(self.settings["list_address"])
            if self.settings["list_address"]
            else "undisclosed-recipients:;"
        )
        message["Date"] = format_datetime(now or datetime.now(UTC))
        message["Message-ID"] = message_id(idempotency_key, domain)
        targets = []
        if self.settings["unsubscribe_url"]:
            targets.append(f"<{self.settings['unsubscribe_url']}>")
        if self.settings["unsubscribe_mailto"]:
            targets.append(f"<mailto:{self.settings['unsubscribe_mailto']}?subject=unsubscribe>")
        # Set raw: the email package would turn a long URL into encoded words no client
        # reads as a link (the URLs are checked to be plain ASCII without spaces).
        message.set_raw("List-Unsubscribe", ",\n ".join(targets))
        if self.settings["unsubscribe_url"]:
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        uploaded = [item for item in post.media if item.uploaded]  # `validate` refuses URLs
        files = [uploaded_file(item, self.media_limits) for item in uploaded]
        inline = [
            (item, file, f"{_hashed(idempotency_key, str(n))}@{domain}")
            for n, (item, file) in enumerate(zip(uploaded, files, strict=True))
            if file.mime_type.startswith("image/")
        ]
        plain = f"{subject}\n\n{text}\n" + (f"\n-- \n{footer}\n" if footer else "")
        message.set_content(plain, cte="quoted-printable")
        figures = "".join(
            f'\n<p><img src="cid:{cid}" alt="{html.escape(item.alt_text)}" '
            'style="max-width:100%;height:auto"></p>'
            for item, _, cid in inline
        )
        message.add_alternative(
            _html_document(subject, text, footer, self.settings["language"], figures),
            subtype="html",
            cte="quoted-printable",
        )
        if inline:
            html_part = message.get_body(("html",))
            assert html_part is not None  # added just above
            for _, file, cid in inline:
                maintype, _, subtype = file.mime_type.partition("/")
                html_part.add_related(
                    file.content, maintype, subtype, cid=f"<{cid}>", filename=file.filename
                )
        for file in files:
            if not file.mime_type.startswith("image/"):
                maintype, _, subtype = file.mime_type.partition("/")
                message.add_attachment(file.content, maintype, subtype, filename=file.filename)
        # After the parts: setting content clears every Content-* header of the message.
        message["Content-Language"] = self.settings["language"]
        return message

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """Send the issue; refused recipients among accepted ones are listed in the receipt."""
        message = self.compose(post, idempotency_key)
        payload = message.as_bytes()
        recipients = self.recipients
        with self._session() as smtp:
            refused, reply = self._transmit(smtp, payload, recipients)
        return Receipt(
            external_id=str(message["Message-ID"]),
            url=None,
            http_status=None,
            raw={
                "recipients": len(recipients) - len(refused),
                "refused": refused,
                "reply": reply,
            },
        )

    def check_connection(self) -> str:
        """Connect, say EHLO, (STARTTLS), log in, NOOP and QUIT."""
        with self._session() as smtp:
            code, said = smtp.noop()
            if code != 250:
                raise smtplib.SMTPResponseException(code, said)
        if self.settings["username"]:
            return answer(
                "smtp_connected_as",
                "connected to {server} ({security}) as {username}",
                server=self._where,
                security=self.settings["security"],
                username=self.settings["username"],
            )
        return answer(
            "smtp_connected",
            "connected to {server} ({security})",
            server=self._where,
            security=self.settings["security"],
        )

    @contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        """A connection for one `with` block; smtplib and socket failures become typed."""
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError) as err:
            raise self._delivery_error(err) from err
        try:
            yield smtp
        except (smtplib.SMTPException, OSError) as err:
            raise self._delivery_error(err) from err
        finally:
            # After a delivered message, a failing QUIT changes nothing: never raise from it.
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _connect(self) -> smtplib.SMTP:
        """An open, greeted, secured and logged-in connection."""
        host, port = self.settings["host"], self.settings["port"]
        timeout = float(self.settings["timeout_seconds"])
        context = ssl.create_default_context(cafile=self.settings["ca_file"] or None)
        # EHLO names the sender's domain: no slow reverse lookup of this machine's name.
        local = self.sender.rpartition("@")[2]
        smtp: _CheckedSMTP | _CheckedSMTPSSL
        if self.settings["security"] == "ssl":
            smtp = _CheckedSMTPSSL(local_hostname=local, timeout=timeout, context=context)
        else:
            smtp = _CheckedSMTP(local_hostname=local, timeout=timeout)
        smtp.allow_private_network = self.allow_private_network
        # The name TLS checks the certificate against (the constructor sets it when it
        # connects itself; here `connect` does, to a checked address).
        smtp._host = host
        try:
            code, answer = smtp.connect(host, port)
            if code != 220:
                raise smtplib.SMTPConnectError(code, answer)
            smtp.ehlo()
            if self.settings["security"] == "starttls":
                if not smtp.has_extn("starttls"):
                    raise PermanentError(
                        f"{self._where} does not offer STARTTLS; use security 'ssl' (port 465) "
                        "or a server that encrypts"
                    )
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.settings["username"]:
                if not smtp.has_extn("auth"):
                    raise AuthError(f"{self._where} offers no login (AUTH) on this connection")
                unsendable = _unsendable_login(self.settings, self._where)
                if unsendable is not None:
                    raise unsendable
                smtp.login(self.settings["username"], self.settings["password"] or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _transmit(
        self, smtp: smtplib.SMTP, payload: bytes, recipients: Sequence[str]
    ) -> tuple[dict[str, str], str]:
        """MAIL, RCPT for each recipient, DATA: what smtplib.sendmail does, but keeping the
        server's final reply and telling a failure before the message from one after it."""
        code, answer = smtp.mail(self.sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, answer, self.sender)
        refused: dict[str, tuple[int, bytes]] = {}
        for recipient in recipients:
            code, answer = smtp.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, answer)
        if len(refused) == len(recipients):
            with suppress(smtplib.SMTPException, OSError):
                smtp.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        code, answer = smtp.docmd("data")
        if code != 354:
            raise smtplib.SMTPDataError(code, answer)
        body = _LINE_START_DOT.sub(b"..", payload)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        smtp.send(body + b".\r\n")
        try:
            code, answer = smtp.getreply()
        except (smtplib.SMTPException, OSError) as err:
            # The server has the whole message: it may deliver it without having said so.
            raise PermanentError(
                f"{self._where} received the message but did not confirm it "
                f"({_reason(err)}); it may have been delivered, so check before sending "
                "it again"
            ) from err
        if code != 250:
            raise smtplib.SMTPDataError(code, answer)
        shown = {addr: f"{c} {_text(a)}" for addr, (c, a) in refused.items()}
        return shown, f"{code} {_text(answer)}"

    def _delivery_error(self, err: BaseException) -> DeliveryError:
        """The typed error for an smtplib or network failure, in the server's own words."""
        where = self._where
        if isinstance(err, DeliveryError):
            return err
        if isinstance(err, smtplib.SMTPRecipientsRefused):
            replies = err.recipients.items()
            text = "; ".join(f"{addr}: {code} {_text(answer)}" for addr, (code, answer) in replies)
            permanent = any(code >= 500 for _addr, (code, _answer) in replies)
            cls: type[DeliveryError] = PermanentError if permanent else TransientError
            return cls(self._mask(f"{where} refused every recipient: {text}"))
        if isinstance(err, smtplib.SMTPAuthenticationError):
            text = self._mask(f"{where} refused the login: {err.smtp_code} {_text(err.smtp_error)}")
            return TransientError(text) if 400 <= err.smtp_code < 500 else AuthError(text)
        if isinstance(err, smtplib.SMTPNotSupportedError):
            return PermanentError(self._mask(f"{where}: {_reason(err)}"))
        if isinstance(err, smtplib.SMTPResponseException):
            code = err.smtp_code
            what = (
                f"refused the sender {err.sender!r}"
                if isinstance(err, smtplib.SMTPSenderRefused)
                else "answered"
            )
            text = self._mask(f"{where} {what}: {code} {_text(err.smtp_error)}")
            if code == 530:  # 5.7.0 authentication required
                return AuthError(text)
            if 400 <= code < 500 or code == -1:
                return TransientError(text)
            return PermanentError(text)
        if isinstance(err, smtplib.SMTPServerDisconnected) and isinstance(
            err.__context__, TimeoutError
        ):
            return TransientError(f"{where} did not answer in time")
        if isinstance(err, smtplib.SMTPServerDisconnected):
            return TransientError(self._mask(f"{where} closed the connection: {_reason(err)}"))
        if isinstance(err, ssl.SSLCertVerificationError):
            return PermanentError(
                self._mask(
                    f"the TLS certificate of {where} is not trusted ({err.verify_message}); "
                    "check host, or set ca_file for a company-internal authority"
                )
            )
        if isinstance(err, TimeoutError):
            return TransientError(f"{where} did not answer in time")
        if isinstance(err, OSError):
            return TransientError(self._mask(f"cannot connect to {where}: {_reason(err)}"))
        return TransientError(self._mask(f"SMTP failure with {where}: {_reason(err)}"))

    def _mask(self, text: str) -> str:
        return mask(text, self._secrets)


def _unsendable_login(settings: Mapping[str, Any], where: str) -> AuthError | None:
    """The error for a login SMTP cannot carry, None for one it can.

    smtplib sends the user name and password as ASCII only; another character (an umlaut,
    a zero-width space pasted with the password) would fail inside smtplib with an error
    holding the whole password. The AuthError names each setting, never its value.
    """
    names = [
        name
        for name in ("username", "password")
        if isinstance(settings[name], str) and not settings[name].isascii()
    ]
    if not names:
        return None
    listed = ", ".join(repr(name) for name in names)
    noun = "setting" if len(names) == 1 else "settings"
    verb = "holds" if len(names) == 1 else "hold"
    return AuthError(
        f"the {noun} {listed} {verb} a character that cannot be sent to {where} (an SMTP "
        "login carries only ASCII characters: look for an invisible character or a symbol "
        "such as '…' copied along with it and enter it again, or choose a password without "
        "umlauts)"
    )


def _text(answer: bytes | str) -> str:
    raw = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
    return " ".join(raw.split())


def _reason(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


def _hashed(key: str, part: str) -> str:
    """A Content-ID's local part, the same for the same post and file on every retry."""
    return hashlib.sha256(f"{key}/{part}".encode()).hexdigest()[:24]


def _html_document(subject: str, text: str, footer: str, language: str, figures: str = "") -> str:
    footer_html = f"\n<hr>\n<footer>\n{to_html(footer)}\n</footer>" if footer else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html.escape(language)}">\n'
        '<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(subject)}</title>\n</head>\n"
        f"<body>\n<h1>{html.escape(subject)}</h1>\n{to_html(text)}{figures}{footer_html}\n"
        "</body>\n"
        "</html>\n"
    )
