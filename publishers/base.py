"""The adapter contract every channel implements, and the typed errors it raises.

An adapter is built from a channel's configuration (validated at construction, with an
error naming the bad field), checks a post the way its channel counts (`validate`),
publishes it with a stable idempotency key (`publish`) and returns a receipt, or raises
one of the delivery errors below carrying the channel's own message.

When a publish ended ambiguously (`DeliveryError.ambiguous`), two questions remain, both
answered by the channel itself rather than assumed of its kind: does its server drop a
repeated request with the same key (`detect_deduplication`, asked when the connection is
tested, its answer kept on the channel), and is the post there (`lookup`, where
`can_look_up`)?
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlsplit

from publishers import addresses
from publishers.images import PDF_TYPE, Limits
from publishers.markup import one_line
from publishers.text import with_link

if TYPE_CHECKING:
    import requests

    from publishers.listening import Mentions, ReplyTo
    from publishers.media import MediaFile

SettingType = Literal["str", "url", "int", "bool", "password"]
# A channel slower than this is broken; a publish worker should not wait on it longer.
MAX_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class SettingSpec:
    """One configuration field of a channel kind, from which forms and the CLI are built."""

    name: str
    type: SettingType = "str"
    secret: bool = False
    required: bool = True
    help: str = ""
    default: Any = None
    # Bounds of an "int" setting, checked by `Publisher.clean_settings`.
    minimum: int | None = None
    maximum: int | None = None
    # A secret ("password") that must still be an http(s) address, like a webhook's.
    http_address: bool = False
    # An address that paths are appended to: kept without a trailing slash.
    base_address: bool = False
    # A comma-separated list: kept without blanks around its commas.
    comma_list: bool = False
    # The values a "str" setting may take, in lower case (any value is taken so); empty: any.
    choices: tuple[str, ...] = ()
    # Whether a "str" setting is kept in lower case (one with `choices` always is).
    lower_case: bool = False
    # A rule the value keeps (a "str" one after `lower_case`), with its own refusal.
    rule: Rule | None = None


@dataclass(frozen=True)
class Rule:
    """A rule a setting's value keeps, or it is refused in the channel's own words.

    A "str" value must match all of `pattern`; a whole number must lie within `low` and
    `high` (either may be None: no bound). The refusal is a ConfigError coded `code`,
    whose English text is the value followed by `says` ("is not a numeric id").
    """

    code: str
    says: str
    pattern: str = ""
    low: int | None = None
    high: int | None = None

    def refusal(self, kind: str, field_name: str, value: Any) -> ConfigError | None:
        """The ConfigError for `value` if it breaks this rule, else None."""
        if isinstance(value, int):
            kept = (self.low is None or self.low <= value) and (
                self.high is None or value <= self.high
            )
        else:
            kept = re.fullmatch(self.pattern, value) is not None
        return None if kept else self.error(kind, field_name, value)

    def error(self, kind: str, field_name: str, value: Any) -> ConfigError:
        """The ConfigError that refuses `value` for the setting `field_name`."""
        bounds = {"low": self.low, "high": self.high}
        params = {"value": value, **{k: v for k, v in bounds.items() if v is not None}}
        message = f"{value!r} {self.says}"
        return ConfigError(kind, field_name, message, code=self.code, params=params)


def language_setting(help: str, rule: Rule, *, lower_case: bool = False) -> SettingSpec:
    """The optional `language` setting, German ("de") unless given, that keeps `rule`."""
    return SettingSpec(
        "language", required=False, default="de", help=help, lower_case=lower_case, rule=rule
    )


def number_setting(name: str, help: str, rule: Rule) -> SettingSpec:
    """An optional whole-number setting (empty: none) that keeps `rule`."""
    return SettingSpec(name, type="int", required=False, help=help, rule=rule)


def server_setting(name: str, help: str, *, default: str | None = None) -> SettingSpec:
    """The address of the server a channel talks to, which paths are appended to.

    Required unless it has a `default`.
    """
    return SettingSpec(
        name, type="url", required=default is None, default=default, help=help, base_address=True
    )


def api_base_setting(api: str, default: str) -> SettingSpec:
    """The optional `api_base` setting: `api`'s address, changed only for a proxy or tests."""
    help = f"address of {api}; change only for a proxy or a test server"
    return server_setting("api_base", help, default=default)


def secret_setting(name: str, help: str, *, required: bool = True) -> SettingSpec:
    """A credential setting (token, password, signing secret): masked and never shown."""
    return SettingSpec(name, type="password", secret=True, required=required, help=help)


def timeout_setting(waits_for: str, *, maximum: int | None = MAX_TIMEOUT_SECONDS) -> SettingSpec:
    """The optional `timeout_seconds` setting: how long to wait for `waits_for` (30 s)."""
    unit = "in seconds" if maximum is None else f"1 to {maximum} seconds"
    return SettingSpec(
        "timeout_seconds",
        type="int",
        required=False,
        default=30,
        help=f"how long to wait for {waits_for}, {unit}",
        minimum=1,  # requests refuses a timeout of 0 or less
        maximum=maximum,
    )


@dataclass(frozen=True)
class Media:
    """An image or file attached to a post: fetched from `url`, or uploaded to the planner.

    An uploaded file has no `url`; its bytes are in `content` once a post is sent (a check
    needs only its type and name).
    """

    url: str
    alt_text: str = ""
    mime_type: str = ""
    filename: str = ""
    content: bytes = field(default=b"", repr=False)

    @property
    def uploaded(self) -> bool:
        """Whether the file was uploaded to the planner (rather than fetched from a URL)."""
        return not self.url

    @property
    def name(self) -> str:
        """How messages name the file: its URL, or its file name if it was uploaded."""
        return self.url or self.filename


@dataclass(frozen=True)
class OutgoingPost:
    """What an adapter publishes: the text for its channel, plus context."""

    post_id: int
    title: str
    text: str
    link: str | None = None
    media: Sequence[Media] = ()
    tags: Sequence[str] = ()


@dataclass(frozen=True)
class Receipt:
    """The channel's answer to a successful publish."""

    external_id: str
    url: str | None = None
    http_status: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Metrics:
    """A published post's interaction figures as its channel reports them at one instant.

    The planner's normalised schema: impressions (or views), reactions (likes,
    favourites, reactions), reposts (reblogs, shares, quotes), replies (comments) and
    link clicks. A figure the network does not give is None, not 0. `raw` is the
    channel's answer as it came, for figures the schema does not name.
    """

    impressions: int | None = None
    reactions: int | None = None
    reposts: int | None = None
    replies: int | None = None
    link_clicks: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """Something an editor must fix before a post can go out on this channel.

    `message` is English; `code` and `params` let the dashboard say it in the editor's
    language (build one with `problem`).
    """

    field: str
    message: str
    # (`field` is taken by the attribute above, hence the module-qualified name.)
    code: str = dataclasses.field(default="", compare=False)
    params: Mapping[str, object] = dataclasses.field(default_factory=dict, compare=False)


class Answer(str):
    """A connection test's answer: its English text, plus a `code` and the `params` that let
    the dashboard say it in the admin's language."""

    code: str
    params: dict[str, object]


def answer(code: str, template: str, /, **params: object) -> Answer:
    """An Answer whose English text is `template` formatted with `params`."""
    said = Answer(template.format(**params))
    said.code = code
    said.params = params
    return said


def problem(field_name: str, code: str, template: str, **params: object) -> Problem:
    """A Problem whose English text is `template` formatted with `params`."""
    return Problem(field_name, template.format(**params), code, params)


class ConfigError(ValueError):
    """A channel's configuration is invalid; `field` names the bad setting.

    The text is English; `code` and `params`, where given, let the dashboard say it in
    the admin's language.
    """

    def __init__(
        self,
        kind: str,
        field_name: str,
        message: str,
        *,
        code: str = "",
        params: Mapping[str, object] | None = None,
    ) -> None:
        self.kind = kind
        self.field = field_name
        self.code = code
        self.params = dict(params or {})
        super().__init__(f"{kind} channel setting {field_name!r}: {message}")


class UnknownKind(KeyError):
    """No adapter for a channel kind (unknown, or not written yet); lists the available ones."""

    def __init__(self, kind: str, available: Iterable[str], *, known: bool = True) -> None:
        self.kind = kind
        self.available = tuple(sorted(available))
        problem = f"no publisher for {kind!r} channels yet" if known else f"unknown kind {kind!r}"
        self.message = f"{problem}; available: {', '.join(self.available) or 'none'}"
        super().__init__(self.message)

    def __str__(self) -> str:
        # KeyError's own str() would show the message in quotes, like a dict key.
        return self.message


class DeliveryError(Exception):
    """A publish or check that did not succeed; `message` is the channel's own words.

    `ambiguous` means the request may have reached the server, so the post may have been
    published even though no receipt came back: a blind re-send could publish it twice.
    """

    retryable: ClassVar[bool] = False
    outcome: ClassVar[str] = "error"
    ambiguous: bool = False

    def __init__(
        self, message: str, *, http_status: int | None = None, ambiguous: bool = False
    ) -> None:
        self.message = message
        self.http_status = http_status
        self.ambiguous = ambiguous
        super().__init__(message if http_status is None else f"HTTP {http_status}: {message}")


class TransientError(DeliveryError):
    """Timeouts, connection errors, 5xx: worth retrying later."""

    retryable = True
    outcome = "transient"


class RateLimited(DeliveryError):
    """The channel asked us to wait `retry_after` seconds."""

    retryable = True
    outcome = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, http_status: int | None = 429) -> None:
        self.retry_after = max(0.0, retry_after)
        super().__init__(message, http_status=http_status)


class PermanentError(DeliveryError):
    """The channel refused the post itself (4xx, validation): retrying will not help."""

    outcome = "permanent"


class PostGone(PermanentError):
    """The post is no longer on the channel (deleted there): nothing is left to count."""

    outcome = "gone"


class AuthError(DeliveryError):
    """The credentials were refused or expired: the channel needs reconnecting."""

    outcome = "auth"


class ManualActionRequired(DeliveryError):
    """The channel has no posting API: a person posts `message` (copy-ready) by hand."""

    outcome = "manual"


class Publisher:
    """Base class of every channel adapter.

    An adapter names its kind and display name where it is declared:
    `class XPublisher(Publisher, kind="x", display_name="X")`.
    """

    kind: ClassVar[str]
    display_name: ClassVar[str]
    # The kind's name where kinds are listed, if it says more than `display_name`.
    kind_name: ClassVar[str] = ""
    text_limit: ClassVar[int | None] = None
    # How `text_limit` is counted, for editors: "characters", "graphemes", "weighted", ...
    counted_as: ClassVar[str] = "characters"
    supports_media: ClassVar[bool] = False
    # The files uploaded to the planner that a post here may carry; None: none at all.
    media_limits: ClassVar[Limits | None] = None
    # What a post is on this channel if it must have a title ("a blog post"); "" if not.
    titled_as: ClassVar[str] = ""
    # Whether `lookup` can tell if a post is on the channel.
    can_look_up: ClassVar[bool] = False
    # Whether `fetch_metrics` can read a published post's figures from the channel.
    reports_metrics: ClassVar[bool] = False
    # A bool setting with which an admin declares that the receiver drops repeats. The
    # planner keeps that declaration on the channel; the adapter never reads it.
    deduplication_setting: ClassVar[str | None] = None
    # Whether the adapter can listen: `fetch_mentions` reads mentions of and replies to the
    # channel's account, and `reply` answers one of them.
    can_listen: ClassVar[bool] = False
    # Whether the adapter talks HTTP (the contract test throws HTTP failures only at those).
    uses_http: ClassVar[bool] = True
    # Whether what it publishes is public (a social network, a blog): only such channels'
    # posts appear in the planner's own public RSS/Atom feeds (see `reaches_public`). Team
    # chats, webhooks, newsletters, feed files and manual channels may be internal, so
    # they never do.
    public: ClassVar[bool] = False
    # Whether the post's link is sent at the end of its text (`text.with_link`), so
    # `validate` counts it too.
    appends_link: ClassVar[bool] = False
    settings_spec: ClassVar[Sequence[SettingSpec]] = ()
    # The settings that say which server gets the channel's secrets (None: every "url"
    # setting); pointing one elsewhere means giving the secrets again.
    destination_settings: ClassVar[tuple[str, ...] | None] = None
    # Settings that name a server's host without being an address (an SMTP host): they
    # are checked like the hosts of addresses.
    host_settings: ClassVar[tuple[str, ...]] = ()

    # Whether the adapter may reach loopback and private addresses (an intranet server):
    # the organisation's `allow_private_network` setting, given by whoever builds it.
    allow_private_network: bool = False
    # The connect timeout in seconds; None: `timeout_seconds`, but never more than 5 s.
    connect_timeout: ClassVar[float | None] = None
    # Whether a request's address is a secret (a webhook's, a token in the path): see
    # `http.request`.
    url_is_secret: ClassVar[bool] = False

    @classmethod
    def reaches_public(cls, settings: Mapping[str, Any]) -> bool:
        """Whether a channel of this kind with `settings` publishes for anyone to read (an
        adapter whose settings can make posts private says so from them)."""
        return cls.public

    def __init_subclass__(cls, *, kind: str = "", display_name: str = "", **kwargs: Any) -> None:
        """Take the adapter's `kind` and `display_name` (a shared base names neither)."""
        super().__init_subclass__(**kwargs)
        if kind:
            cls.kind = kind
        if display_name:
            cls.display_name = display_name

    def __init__(
        self, settings: Mapping[str, Any], *, allow_private_network: bool | None = None
    ) -> None:
        self.settings = self.clean_settings(settings)
        if allow_private_network is not None:
            self.allow_private_network = allow_private_network
        # The channel's identity, set by whoever builds the adapter for a channel: adapters
        # of one channel share a keep-alive session per thread. None: this adapter's own.
        self.session_key: Hashable | None = None
        self._own_sessions = threading.local()

    @property
    def http_session(self) -> requests.Session:
        """The current thread's keep-alive session for this channel (or this adapter)."""
        from publishers import http  # http imports this module's errors

        private = self.allow_private_network
        if self.session_key is not None:
            return http.session_for(self.session_key, allow_private_network=private)
        session: http.KeepAliveSession | None = getattr(self._own_sessions, "session", None)
        if session is None or session.allow_private_network != private:
            session = http.new_session(allow_private_network=private)
            self._own_sessions.session = session
        return session

    @property
    def _timeout(self) -> tuple[float, float]:
        """(connect, read) timeouts of a request, from the `timeout_seconds` setting."""
        from publishers import http

        seconds = float(self.settings["timeout_seconds"])
        if self.connect_timeout is None:
            return http.timeouts(seconds)
        return (self.connect_timeout, seconds)

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """One request through the HTTP helper with this channel's session, whatever it answers.

        The timeout is the channel's and the secrets masked are its own, unless given; a
        credential HTTP cannot carry is named by its setting (`http.request`).
        """
        from publishers import http

        kwargs.setdefault("timeout", self._timeout)
        kwargs.setdefault("secrets", self._secrets)
        kwargs.setdefault("url_is_secret", self.url_is_secret)
        kwargs.setdefault("settings", self.settings)
        return http.request(method, url, session=self.http_session, **kwargs)

    def _checked_request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """`_request`, raising the typed error (`_error`) of an answer that is no success."""
        response = self._request(method, url, **kwargs)
        error = self._error(response)
        if error is not None:
            raise error
        return response

    def _bearer_request(
        self, method: str, url: str, token: str, **kwargs: Any
    ) -> requests.Response:
        """`_checked_request` authorised by the OAuth bearer `token`, before any headers given."""
        kwargs["headers"] = {**bearer(token), **kwargs.get("headers", {})}
        return self._checked_request(method, url, **kwargs)

    def _fetch_media(self, item: Media, *, max_bytes: int | None = None) -> MediaFile:
        """The bytes of `item` to upload: fetched through this channel's session and
        timeout, or the planner's upload fitted to `media_limits` (`media.fetch_media`)."""
        from publishers.media import fetch_media  # media imports this module

        return fetch_media(
            item,
            timeout=self._timeout,
            max_bytes=max_bytes,
            session=self.http_session,
            limits=self.media_limits,
        )

    def _error(self, response: requests.Response) -> DeliveryError | None:
        """The typed error an answer means, None for a success; here, what its status says."""
        from publishers import http

        return http.error_for(response, secrets=self._secrets)

    @classmethod
    def clean_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Check and convert settings against `settings_spec`; raise ConfigError naming one."""
        known = {spec.name for spec in cls.settings_spec}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise ConfigError(
                cls.kind,
                unknown[0],
                f"unknown setting; known: {sorted(known)}",
                code="unknown_setting",
                params={"known": ", ".join(sorted(known))},
            )
        clean: dict[str, Any] = {}
        for spec in cls.settings_spec:
            value = settings.get(spec.name, spec.default)
            if value is None or value == "":
                if spec.required:
                    raise ConfigError(cls.kind, spec.name, "is required", code="required")
                clean[spec.name] = spec.default
                continue
            clean[spec.name] = _convert(cls.kind, spec, value)
            _check_bounds(cls.kind, spec, clean[spec.name])
            refusal = (
                spec.rule.refusal(cls.kind, spec.name, clean[spec.name]) if spec.rule else None
            )
            if refusal is not None:
                raise refusal
        return clean

    @classmethod
    def check_addresses(cls, settings: Mapping[str, Any], *, allow_private_network: bool) -> None:
        """Refuse, with a ConfigError naming the setting, an address a channel may not have.

        No address carries a user name or password (those belong in secret settings, which
        are never shown), and none points where channels may not go (`addresses`). Names
        are not resolved here: every request checks what they resolve to then.
        """
        for name in cls.host_settings:
            host = str(settings.get(name) or "")
            refusal = addresses.host_refusal(host, allow_private=allow_private_network)
            if host and refusal is not None:
                raise _refused(cls.kind, name, refusal)
        for spec in cls.settings_spec:
            value = settings.get(spec.name)
            if not value or (spec.type != "url" and not spec.http_address):
                continue
            parts = urlsplit(str(value).strip())
            if addresses.carries_credentials(str(value)):
                raise ConfigError(
                    cls.kind,
                    spec.name,
                    "an address may not carry a user name or password; enter them in the "
                    "channel's secret settings",
                    code="address_with_credentials",
                )
            refusal = addresses.host_refusal(
                parts.hostname or "", allow_private=allow_private_network
            )
            if refusal is not None:
                raise _refused(cls.kind, spec.name, refusal)

    @property
    def _secrets(self) -> list[str]:
        """The values of the secret settings, for the HTTP helper to mask in messages."""
        return [
            str(self.settings[spec.name])
            for spec in self.settings_spec
            if spec.secret and self.settings.get(spec.name)
        ]

    def __repr__(self) -> str:
        shown = {
            spec.name: (
                "***"
                if spec.secret and self.settings.get(spec.name)
                else self.settings.get(spec.name)
            )
            for spec in self.settings_spec
        }
        return f"{type(self).__name__}({shown})"

    def measure(self, text: str) -> int:
        """The length of `text` as this channel counts it."""
        return len(text)

    def validate(self, post: OutgoingPost) -> list[Problem]:
        """What an editor must fix before `post` can go out here (empty when fine)."""
        problems: list[Problem] = []
        text = with_link(post) if self.appends_link else post.text
        if not text.strip():
            problems.append(problem("text", "text_empty", "the text is empty"))
        if self.text_limit is not None:
            used = self.measure(text)
            if used > self.text_limit:
                problems.append(
                    problem(
                        "text",
                        # One code per unit ("characters (Unicode code points)" counts
                        # characters): the dashboard names the unit in its language.
                        "too_long_" + self.counted_as.split(" (")[0].replace(" ", "_"),
                        "{used} " + self.counted_as + ", {channel} allows {limit}",
                        used=used,
                        channel=self.display_name,
                        limit=self.text_limit,
                    )
                )
        if post.media and not self.supports_media:
            problems.append(
                problem(
                    "media",
                    "no_media",
                    "{channel} posts carry no media here",
                    channel=self.display_name,
                )
            )
        for item in post.media:
            if self.supports_media and not item.alt_text.strip() and item.mime_type != PDF_TYPE:
                problems.append(
                    problem(
                        "media", "alt_text_missing", "alt text missing for {url!r}", url=item.name
                    )
                )
        if self.supports_media:
            problems += self._upload_problems([m for m in post.media if m.uploaded])
        if self.titled_as and not one_line(post.title):
            problems.append(
                problem("title", "title_missing", "{post} needs a title", post=self.titled_as)
            )
        return problems

    def _file_count_problems(self, post: OutgoingPost, limit: int) -> list[Problem]:
        """`too_many_files` when `post` carries more than `limit` files."""
        if len(post.media) <= limit:
            return []
        return [
            problem(
                "media",
                "too_many_files",
                "{count} files; {channel} allows {limit}",
                count=len(post.media),
                channel=self.display_name,
                limit=limit,
            )
        ]

    @staticmethod
    def _alt_text_problems(post: OutgoingPost, limit: int) -> list[Problem]:
        """`alt_text_too_long` for each file of `post` whose alt text is over `limit`."""
        return [
            problem(
                "media",
                "alt_text_too_long",
                "alt text for {url!r} is longer than {limit} characters",
                url=item.name,
                limit=limit,
            )
            for item in post.media
            if len(item.alt_text) > limit
        ]

    def _upload_problems(self, uploaded: Sequence[Media]) -> list[Problem]:
        """What this channel refuses of the files uploaded to the planner (`media_limits`)."""
        if not uploaded:
            return []
        limits = self.media_limits
        if limits is None:
            return [
                problem(
                    "media",
                    "no_uploads",
                    "{channel} cannot carry uploaded files here ({url!r})",
                    channel=self.display_name,
                    url=uploaded[0].name,
                )
            ]
        found: list[Problem] = []
        if len(uploaded) > limits.max_count:
            found.append(
                problem(
                    "media",
                    "too_many_uploads",
                    "{count} files; {channel} takes at most {limit} per post",
                    count=len(uploaded),
                    channel=self.display_name,
                    limit=limits.max_count,
                )
            )
        for item in uploaded:
            if item.mime_type not in limits.types:
                found.append(
                    problem(
                        "media",
                        "type_not_taken",
                        "{url!r} is {mime_type}; {channel} takes {types}",
                        url=item.name,
                        mime_type=item.mime_type,
                        channel=self.display_name,
                        types=", ".join(sorted(limits.types)),
                    )
                )
        return found

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """Publish `post`; the same key must never create a second copy where avoidable."""
        raise NotImplementedError

    def detect_deduplication(self) -> str | None:
        """Why this channel's server drops a repeated publish with the same key, or None.

        None unless the server provably does (asking it what it runs where that decides
        it); the text says why, for admins. A DeliveryError if the server cannot be asked.
        """
        return None

    def lookup(self, post: OutgoingPost, idempotency_key: str) -> Receipt | None:
        """The receipt of `post` published under `idempotency_key` if it is on the channel.

        None when it surely is not; a DeliveryError when the channel cannot tell (always,
        unless `can_look_up`).
        """
        raise PermanentError(f"{self.display_name} cannot look up a post")

    def fetch_mentions(self, cursor: str | None) -> Mentions:
        """Mentions of and replies to the channel's account newer than `cursor` (None: the
        latest), where `can_listen`."""
        raise PermanentError(f"{self.display_name} cannot listen")

    def reply(self, to: ReplyTo, text: str, idempotency_key: str) -> Receipt:
        """Answer the message `to` with `text`; the same key never sends a second answer
        where the network can avoid it."""
        raise PermanentError(f"{self.display_name} cannot reply")

    def fetch_metrics(self, receipt: Receipt) -> Metrics:
        """The figures of the post published with `receipt`, as the channel reports them now.

        A typed DeliveryError when they cannot be read: PostGone when the post was deleted
        on the channel, PermanentError without a request unless `reports_metrics`.
        """
        raise PermanentError(f"{self.display_name} reports no figures of a post")

    def check_connection(self) -> str:
        """Check that the channel answers and accepts the credentials; a short description."""
        raise NotImplementedError


def bearer(token: str) -> dict[str, str]:
    """The Authorization header that carries an OAuth bearer token."""
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def gone_when_missing() -> Iterator[None]:
    """Turn a 404 or 410 for a published post into PostGone: it was deleted on the channel."""
    try:
        yield
    except PostGone:
        raise
    except PermanentError as err:
        if err.http_status in (404, 410):
            raise PostGone(err.message, http_status=err.http_status) from err
        raise


def count(answer: object, *keys: str) -> int | None:
    """The whole number under `keys` of a channel's answer, summed over the keys given
    (repost + quote); None when the answer holds none of them."""
    if not isinstance(answer, Mapping):
        return None
    found = [
        answer[key]
        for key in keys
        # bool is an int in Python, but a flag is no count.
        if isinstance(answer.get(key), int) and not isinstance(answer[key], bool)
    ]
    return sum(found) if found else None


def _refused(kind: str, field_name: str, refusal: addresses.Refusal) -> ConfigError:
    """The ConfigError for an address a channel may not have, coded by the reason."""
    at, address = (kind, field_name, str(refusal)), refusal.address
    # Each code written out in its own call, so a check can find its texts statically.
    coded = {
        "metadata": ConfigError(*at, code="address_metadata", params={"address": address}),
        "link_local": ConfigError(*at, code="address_link_local", params={"address": address}),
        "unspecified": ConfigError(*at, code="address_unspecified", params={"address": address}),
        "multicast": ConfigError(*at, code="address_multicast", params={"address": address}),
        "reserved": ConfigError(*at, code="address_reserved", params={"address": address}),
        "loopback": ConfigError(*at, code="address_loopback", params={"address": address}),
        "private": ConfigError(*at, code="address_private", params={"address": address}),
    }
    return coded.get(refusal.kind) or ConfigError(*at)


def _check_bounds(kind: str, spec: SettingSpec, value: Any) -> None:
    low, high = spec.minimum, spec.maximum
    if low is not None and high is not None and not low <= value <= high:
        raise ConfigError(
            kind,
            spec.name,
            f"{value!r} is not between {low} and {high}",
            code="not_between",
            params={"value": value, "low": low, "high": high},
        )
    if low is not None and value < low:
        raise ConfigError(
            kind, spec.name, f"must be at least {low}", code="at_least", params={"low": low}
        )
    if high is not None and value > high:
        raise ConfigError(
            kind, spec.name, f"must be at most {high}", code="at_most", params={"high": high}
        )


# What the base says of a value its setting's type does not take.
_NOT_WHOLE = Rule("not_whole", "is not a whole number")
_NOT_YES_NO = Rule("not_yes_no", "is not yes or no")


def _convert(kind: str, spec: SettingSpec, value: Any) -> Any:
    if spec.type == "int":
        try:
            return int(value)
        except (TypeError, ValueError) as err:
            raise _NOT_WHOLE.error(kind, spec.name, value) from err
    if spec.type == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on", "ja"):
            return True
        if text in ("0", "false", "no", "off", "nein"):
            return False
        raise _NOT_YES_NO.error(kind, spec.name, value)
    text = str(value).strip()
    if (spec.type == "url" or spec.http_address) and not text.startswith(("http://", "https://")):
        # A secret address is the credential: never echo it, not even a bad one.
        shown = "" if spec.secret else f"{text!r} "
        raise ConfigError(
            kind,
            spec.name,
            f"{shown}is not an http(s) address",
            code="not_http",
            params={"shown": shown},
        )
    if spec.base_address:
        text = text.rstrip("/")
    if spec.comma_list:
        text = ",".join(part.strip() for part in text.split(","))
    if spec.lower_case or spec.choices:
        text = text.lower()
    if spec.choices and text not in spec.choices:
        raise ConfigError(
            kind,
            spec.name,
            f"{text!r} is not one of {', '.join(spec.choices)}",
            code="not_one_of",
            params={"value": text, "choices": ", ".join(spec.choices)},
        )
    return text
