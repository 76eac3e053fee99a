"""The one way adapters talk HTTP: always a timeout, failures mapped to typed errors.

Messages carry the channel's own words (from the JSON or text body), cut to a readable
length, with every secret the adapter names replaced by '***'. Adapters send through
`Publisher._request` (their timeout, session and secrets), and `_checked_request` raises
the adapter's `_error` of an answer: `error_for(response)` unless the adapter must read a
status differently (X answers a duplicate with 403) and inspects or replaces that error.

Credentials refused: 401 and 403 are AuthError, and so is a 400 whose OAuth error says
`invalid_token` (JSON `error` or the WWW-Authenticate header), which some servers send
for a revoked token instead of a 401.

Ambiguous failures (`DeliveryError.ambiguous`) are those after which the post may exist
although no receipt came back. Only a request that can change something (not GET, HEAD
or OPTIONS) is ever ambiguous, and then:

- not ambiguous: no connection was made (connect timeout, connection refused, name not
  resolved, certificate refused), or the request could not even be built; nothing left;
- ambiguous: a read timeout, or a connection that broke once sending had begun (closed
  without an answer, reset, a broken or truncated answer): the server may have acted;
- an answer: 504 is ambiguous (a gateway gave up waiting, but may have passed the
  request on); every other status, 408 and 5xx included, means the server did not act;
  a 2xx answer that cannot be read is ambiguous (the server said it did something).

Every connection is checked right before it is made (`publishers.addresses`): the host is
resolved, each of its addresses checked, and the connection made to a checked address,
never to whatever a second lookup might answer. This holds for redirects too. A refused
address is a PermanentError naming it; loopback and private addresses are reached only by
sessions made with `allow_private_network` (an admin's organisation setting).

Connections are kept alive: `session_for(key)` gives each channel (its `key`) one
`requests.Session` per thread, so a burst of posts to one API pays one connection and TLS
handshake, not one per post. Those sessions keep no cookies, so channels on one host never
share state; one idle longer than IDLE_SECONDS is replaced, because servers close idle
connections and a request racing that close would fail ambiguously.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import time
import unicodedata
from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import requests
import requests.adapters
import urllib3.connection
import urllib3.connectionpool
import urllib3.exceptions

from publishers import addresses
from publishers.base import (
    AuthError,
    DeliveryError,
    PermanentError,
    RateLimited,
    TransientError,
)

USER_AGENT = "editorial-planner/0.1"
CONNECT_TIMEOUT = 5.0
DEFAULT_TIMEOUT = (CONNECT_TIMEOUT, 30.0)
DEFAULT_RATE_LIMIT_WAIT = 60.0
MESSAGE_MAX = 300
# What a connection test shows of a server's answer, at most.
EXCERPT_MAX = 200
RESET_HEADERS = ("X-RateLimit-Reset", "RateLimit-Reset", "x-rate-limit-reset")
# Shorter strings would mask ordinary words ("on", "api") all over a message.
MIN_MASKED_LENGTH = 4
# Re-sending these cannot succeed: the request itself is malformed, not the network.
_NOT_RETRYABLE = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidJSONError,
    requests.exceptions.URLRequired,
    requests.exceptions.TooManyRedirects,
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# RFC 6750's error code for a token that was revoked, expired or never valid.
_INVALID_TOKEN = re.compile(r"""error\s*=\s*"?invalid_token\b""", re.IGNORECASE)
# Apache closes idle keep-alive connections after 5 s; replace sessions a little sooner.
IDLE_SECONDS = 4.0
# Accepts no cookie from any domain, so a session never carries one to the next request.
_NO_COOKIES = DefaultCookiePolicy(allowed_domains=[])
_THREAD = threading.local()


class RefusedAddress(urllib3.exceptions.NewConnectionError):
    """A connection not made: the host is, or resolves to, an address channels may not reach."""

    def __init__(self, conn: urllib3.connection.HTTPConnection, why: str) -> None:
        self.why = why
        super().__init__(conn, f"refused to connect: {why}")


def _checked_connection(
    conn: urllib3.connection.HTTPConnection,
    connect: Callable[[], socket.socket],
    allow_private: bool,
) -> socket.socket:
    """`connect` to a checked address of the connection's host (each in turn if one fails)."""
    name = conn._dns_host
    try:
        found = addresses.checked_addresses(name, conn.port, allow_private=allow_private)
    except addresses.AddressRefused as err:
        raise RefusedAddress(conn, str(err)) from None
    except socket.gaierror as err:
        raise urllib3.exceptions.NameResolutionError(conn.host, conn, err) from err
    failure: urllib3.exceptions.NewConnectionError | None = None
    for address in dict.fromkeys(found):
        conn._dns_host = address  # connect to this very address, no second lookup
        try:
            return connect()
        except urllib3.exceptions.NewConnectionError as err:
            failure = err
        finally:
            conn._dns_host = name  # TLS checks the certificate against the name
    assert failure is not None  # a resolver answers with an address or an error
    raise failure


class _GuardedHTTPConnection(urllib3.connection.HTTPConnection):
    allow_private: ClassVar[bool] = False

    def _new_conn(self) -> socket.socket:
        return _checked_connection(self, super()._new_conn, self.allow_private)


class _GuardedHTTPSConnection(urllib3.connection.HTTPSConnection):
    allow_private: ClassVar[bool] = False

    def _new_conn(self) -> socket.socket:
        return _checked_connection(self, super()._new_conn, self.allow_private)


class _PrivateHTTPConnection(_GuardedHTTPConnection):
    allow_private = True


class _PrivateHTTPSConnection(_GuardedHTTPSConnection):
    allow_private = True


class _GuardedHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _PrivateHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _PrivateHTTPConnection


class _PrivateHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _PrivateHTTPSConnection


class GuardedAdapter(requests.adapters.HTTPAdapter):
    """A transport whose every connection goes only to an address channels may reach."""

    def __init__(self, *, allow_private_network: bool = False) -> None:
        self.allow_private_network = allow_private_network
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        private = self.allow_private_network
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PrivateHTTPPool if private else _GuardedHTTPPool,
            "https": _PrivateHTTPSPool if private else _GuardedHTTPSPool,
        }


class KeepAliveSession(requests.Session):
    """A session without cookies that remembers when it last finished a request.

    Its connections are checked (`GuardedAdapter`): loopback and private addresses only
    with `allow_private_network`.
    """

    def __init__(self, *, allow_private_network: bool = False) -> None:
        super().__init__()
        self.cookies.set_policy(_NO_COOKIES)
        self.last_used = time.monotonic()
        self.allow_private_network = allow_private_network
        for prefix in ("http://", "https://"):
            self.mount(prefix, GuardedAdapter(allow_private_network=allow_private_network))


def new_session(*, allow_private_network: bool = False) -> KeepAliveSession:
    """A fresh keep-alive session that stores no cookies and checks every connection."""
    return KeepAliveSession(allow_private_network=allow_private_network)


def session_for(key: Hashable, *, allow_private_network: bool = False) -> requests.Session:
    """This thread's session for `key` (a channel's identity), made or renewed as needed."""
    sessions: dict[Hashable, KeepAliveSession] | None = getattr(_THREAD, "sessions", None)
    if sessions is None:
        sessions = _THREAD.sessions = {}
    session = sessions.get(key)
    if session is not None and (
        time.monotonic() - session.last_used > IDLE_SECONDS
        or session.allow_private_network != allow_private_network
    ):
        session.close()
        session = None
    if session is None:
        session = sessions[key] = new_session(allow_private_network=allow_private_network)
    return session


def close_sessions() -> None:
    """Close this thread's sessions and their connections (a worker thread that ends)."""
    sessions: dict[Hashable, KeepAliveSession] = getattr(_THREAD, "sessions", None) or {}
    for session in sessions.values():
        session.close()
    sessions.clear()


def mask(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret (of at least four characters) replaced by '***'."""
    # Longest first, so a secret that contains another is not left half visible.
    for secret in sorted(secrets, key=len, reverse=True):
        if secret and len(secret) >= MIN_MASKED_LENGTH:
            text = text.replace(secret, "***")
    return text


def host_of(url: str) -> str:
    """The host (and port) of `url`, without user info, path or query, for messages."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname:
        return "the channel"
    return f"{parts.hostname}:{port}" if port else parts.hostname


def timeouts(seconds: float) -> tuple[float, float]:
    """(connect, read) timeouts for a channel's `timeout_seconds`, connect never the longer."""
    return (min(CONNECT_TIMEOUT, float(seconds)), float(seconds))


def request(
    method: str,
    url: str,
    *,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
    secrets: Sequence[str] = (),
    url_is_secret: bool = False,
    allow_private_network: bool = False,
    settings: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send one request with a timeout; network failures become TransientError.

    A header or Basic credential that HTTP cannot carry (a character outside Latin-1, such
    as a zero-width space pasted with a token) is an AuthError naming the setting it came
    from, found among the channel's `settings` (by name), and never showing its value.

    Redirects are followed only for GET, HEAD and OPTIONS: `requests` turns a redirected
    POST into a body-less GET, which could "succeed" without delivering anything. With
    `url_is_secret` (a webhook address, a token in the path) the error carries no
    requests exception as cause or context: their text holds the whole URL. Adapters pass
    their `http_session`, so connections are reused; without a session, a one-off one is
    made, reaching loopback and private addresses only with `allow_private_network`.
    """
    headers = {"User-Agent": USER_AGENT, **(kwargs.pop("headers", None) or {})}
    kwargs.setdefault("allow_redirects", method.upper() in _SAFE_METHODS)
    host = host_of(url)
    # The URL's path and query may carry tokens (webhook paths often do): never echo them.
    parts = urlsplit(url)
    hidden = [*secrets, url, f"{parts.path}?{parts.query}", parts.query]
    # Without a channel's session, a one-off one: its connections are checked as well.
    active = (
        session if session is not None else new_session(allow_private_network=allow_private_network)
    )
    try:
        return active.request(method, url, headers=headers, timeout=timeout, **kwargs)
    except requests.RequestException as err:
        error = _failure(err, host, secrets, hidden)
        error.ambiguous = _writes(method) and not _before_sending(err)
        if not url_is_secret:
            raise error from err
    except UnicodeError:
        # http.client encodes header values as Latin-1, and requests a Basic user name and
        # password: another character cannot be sent. The exception's text holds the
        # whole value (a token), so it is neither kept nor chained.
        error = _unsendable(host, headers, kwargs.get("auth"), settings or {}, hidden)
    finally:
        if isinstance(session, KeepAliveSession):
            session.last_used = time.monotonic()
        if session is None:
            active.close()
    # Raised outside the except block, so the exception caught is not even its context.
    raise error


def _latin1(value: str) -> bool:
    """Whether `value` can go into an HTTP header (http.client sends them as Latin-1)."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _unsendable(
    host: str,
    headers: Mapping[str, str],
    auth: object,
    settings: Mapping[str, Any],
    hidden: Sequence[str],
) -> DeliveryError:
    """The error for a request whose headers or Basic credentials HTTP cannot carry.

    An AuthError naming each setting whose value went into them and holds a character
    outside Latin-1; a PermanentError (nothing to name) otherwise. No value is shown.
    """
    sent = [str(v) for v in headers.values()]
    if isinstance(auth, tuple | list):
        sent += [str(part) for part in auth]
    names = [
        name
        for name, value in settings.items()
        if isinstance(value, str)
        and value
        and not _latin1(value)
        and any(value in carried for carried in sent)
    ]
    if not names:
        return PermanentError(
            mask(f"cannot send to {host}: a header holds a character HTTP cannot carry", hidden)
        )
    listed = ", ".join(repr(name) for name in names)
    noun = "setting" if len(names) == 1 else "settings"
    return AuthError(
        f"the {noun} {listed} holds a character that cannot be sent to {host} (only "
        "Latin-1 characters can: look for an invisible character or a symbol such as '…' "
        "copied along with it); enter it again"
    )


def _writes(method: str | None) -> bool:
    """Whether a request may change something (an unknown method is assumed to)."""
    return method is None or method.upper() not in _SAFE_METHODS


def _before_sending(err: requests.RequestException) -> bool:
    """Whether `err` happened before any byte of the request can have reached the server."""
    if isinstance(err, (requests.ConnectTimeout, *_NOT_RETRYABLE)):
        return True
    if not isinstance(err, requests.ConnectionError) or not err.args:
        return False
    reason = err.args[0]
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    # NameResolutionError and "connection refused" are both NewConnectionErrors.
    if isinstance(reason, urllib3.exceptions.NewConnectionError):
        return True
    # A refused certificate ends the TLS handshake, before the request is sent.
    return isinstance(reason, urllib3.exceptions.SSLError) and any(
        isinstance(arg, ssl.SSLCertVerificationError) for arg in reason.args
    )


def _failure(
    err: requests.RequestException, host: str, secrets: Sequence[str], hidden: Sequence[str]
) -> DeliveryError:
    refused = _refused(err)
    if refused is not None:
        # Retrying cannot help: the address, or the admin's setting, must change.
        return PermanentError(mask(f"refused to connect to {host}: {refused}", hidden))
    if isinstance(err, requests.Timeout):
        return TransientError(mask(f"{host} did not answer in time", secrets))
    if isinstance(err, requests.ConnectionError):
        return TransientError(mask(f"cannot connect to {host}: {_reason(err)}", hidden))
    if isinstance(err, _NOT_RETRYABLE):
        return PermanentError(mask(f"cannot send to {host}: {_reason(err)}", hidden))
    return TransientError(mask(f"request to {host} failed: {_reason(err)}", hidden))


def _refused(err: requests.RequestException) -> str | None:
    """The reason a connection was refused by the address check, if it was."""
    reason = err.args[0] if err.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    return reason.why if isinstance(reason, RefusedAddress) else None


def _reason(err: Exception) -> str:
    text = str(err)
    # requests nests urllib3's long reprs; the last clause is the readable cause.
    return text.rsplit(": ", 1)[-1].rstrip(")'\"")[:MESSAGE_MAX] or type(err).__name__


def channel_message(response: requests.Response, secrets: Sequence[str] = ()) -> str:
    """The channel's own explanation from an error response, cut and masked."""
    text = ""
    body = json_or_none(response)
    if isinstance(body, dict):
        for key in ("error_description", "message", "error", "errors", "detail", "title"):
            value = body.get(key)
            if value:
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                break
    if not text:
        text = " ".join(response.text.split())
    if not text:
        text = response.reason or f"HTTP {response.status_code}"
    return shorten(mask(text, secrets))


def excerpt(text: str, secrets: Sequence[str] = (), limit: int = EXCERPT_MAX) -> str:
    """A short, printable excerpt of what a server said, for people to read.

    Control and format characters (escape sequences, bidi overrides) are dropped, runs
    of whitespace become one space, every secret becomes '***', and the text is cut to
    `limit` characters, an ellipsis marking the cut.
    """
    printable = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or not unicodedata.category(char).startswith("C")
    )
    flat = mask(" ".join(printable.split()), secrets)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def shorten(text: str) -> str:
    """`text` cut to MESSAGE_MAX characters, an ellipsis marking the cut."""
    return text if len(text) <= MESSAGE_MAX else text[: MESSAGE_MAX - 1] + "…"


def without_id(response: requests.Response, message: str) -> TransientError:
    """The error for a success answer lacking the new post's id: the post is probably there."""
    return TransientError(message, http_status=response.status_code, ambiguous=True)


def json_object(response: requests.Response, channel: str, what: str) -> dict[str, Any]:
    """The JSON object of a success answer; anything else is a TransientError (retry)."""
    answer = json_or_none(response)
    if not isinstance(answer, dict):
        raise unreadable_answer(response, channel, what, "a JSON object")
    return answer


def unreadable_answer(
    response: requests.Response, channel: str, what: str, lacking: str
) -> TransientError:
    """The error for a success answer to `what` that lacks `lacking` (a JSON object, ...):
    worth a retry; ambiguous when the request may have changed something (the channel
    may have done it, so a blind re-send could do it twice)."""
    return TransientError(
        f"{channel} answered HTTP {response.status_code} for {what} without {lacking}",
        http_status=response.status_code,
        ambiguous=answers_a_write(response),
    )


def answers_a_write(response: requests.Response) -> bool:
    """Whether `response` is a success answer to a request that may change something.

    An error about such an answer is ambiguous: whatever the request did was done.
    """
    return 200 <= response.status_code < 300 and _writes(_method(response))


def _method(response: requests.Response) -> str | None:
    return response.request.method if response.request is not None else None


def json_object_or_empty(response: requests.Response) -> dict[str, Any]:
    """The JSON object of an answer, or {} when the body is something else."""
    answer = json_or_none(response)
    return answer if isinstance(answer, dict) else {}


def json_or_none(response: requests.Response) -> Any:
    """The decoded JSON body of `response`; None when the body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def retry_after(response: requests.Response, now: float | None = None) -> float:
    """Seconds to wait, from Retry-After (seconds or date) or the common reset headers."""
    now = time.time() if now is None else now
    value = (response.headers.get("Retry-After") or "").strip()
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, _as_utc(when).timestamp() - now)
    for name in RESET_HEADERS:
        raw = (response.headers.get(name) or "").strip()
        if not raw:
            continue
        try:
            number = float(raw)
        except ValueError:
            try:
                return max(0.0, _as_utc(datetime.fromisoformat(raw)).timestamp() - now)
            except ValueError:
                continue
        if number > 1e12:  # epoch milliseconds
            return max(0.0, number / 1000 - now)
        # Epoch seconds are large; small numbers are "seconds from now" (IETF draft).
        return max(0.0, number - now) if number > 1e9 else max(0.0, number)
    return DEFAULT_RATE_LIMIT_WAIT


def _as_utc(when: datetime) -> datetime:
    # A timestamp without a zone is meant as UTC, never as this server's local time.
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def error_for(
    response: requests.Response, *, secrets: Sequence[str] = (), message: str | None = None
) -> DeliveryError | None:
    """The typed error a response's status means, or None for 2xx; `message` overrides."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    text = mask(message, secrets) if message else _message(response, secrets)
    if status == 429:
        return RateLimited(text, retry_after=retry_after(response), http_status=status)
    if status in (401, 403) or (status == 400 and _invalid_token(response)):
        return AuthError(text, http_status=status)
    if status == 408 or status >= 500:
        # A gateway timeout: the server behind it may have acted on the request.
        ambiguous = status == 504 and _writes(_method(response))
        return TransientError(text, http_status=status, ambiguous=ambiguous)
    return PermanentError(text, http_status=status)


def source_error(response: requests.Response, text: str) -> DeliveryError:
    """The error `text` of a failed GET from a source that is not the channel (a media host,
    a feed): RateLimited (429), TransientError (408, 5xx) or PermanentError.

    Never an AuthError: a 401/403 there is the source's, fixed by its address, not by the
    channel's credentials.
    """
    status = response.status_code
    if status == 429:
        return RateLimited(text, retry_after=retry_after(response), http_status=status)
    if status == 408 or status >= 500:
        return TransientError(text, http_status=status)
    return PermanentError(text, http_status=status)


def _invalid_token(response: requests.Response) -> bool:
    """Whether a 400 says the token is no good (RFC 6750), in the body or the header."""
    if _INVALID_TOKEN.search(response.headers.get("WWW-Authenticate") or ""):
        return True
    error = json_object_or_empty(response).get("error")
    return isinstance(error, str) and error.strip().lower() == "invalid_token"


def _message(response: requests.Response, secrets: Sequence[str]) -> str:
    location = response.headers.get("Location")
    if 300 <= response.status_code < 400 and location:
        # Redirects are not followed for writes (see `request`); the fix is the address.
        parts = urlsplit(urljoin(response.url or "", location))
        shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
        return mask(f"the address moved to {shown}; put that in the channel settings", secrets)
    return channel_message(response, secrets)


def raise_for_channel(
    response: requests.Response, *, secrets: Sequence[str] = (), message: str | None = None
) -> requests.Response:
    """Return a 2xx response; raise the typed error that fits any other status."""
    error = error_for(response, secrets=secrets, message=message)
    if error is not None:
        raise error
    return response
