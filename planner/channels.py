"""Channels: configured publishing targets (adapter kind, name, settings, secrets).

Whether a channel drops a repeated request (same idempotency key) is kept on the channel,
never assumed of its kind: the connection test asks the server (`detect_deduplication`)
and stores the answer with its basis, unless an admin declared it (`set_deduplication`,
or a webhook's `receiver_deduplicates` setting), which detection then leaves alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from types import EllipsisType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlmodel import Session, col, select

from planner import audit, credentials, org_settings, rules
from planner.errors import Message, ValidationFailed
from planner.models import Channel, User
from planner.names import find_named, names_by_id, unknown_name
from planner.permissions import require, require_active
from planner.schemas import check_text, id_problem, text_problem
from publishers import CHANNEL_KINDS, REGISTRY
from publishers.base import Answer, ConfigError, DeliveryError, Publisher, SettingSpec
from publishers.http import excerpt

log = logging.getLogger(__name__)
# The basis of a deduplication an admin declared, or denied: detection leaves it alone.
ADMIN_BASIS = "set by an admin"
BASIS_MAX_LENGTH = 200  # the column's
# How `public_view` shows a secret setting: never its value.
VIEW_SET = "*** (set)"
VIEW_NOT_SET = "(not set)"
VIEW_UNREADABLE = "(unreadable: enter it again)"  # saved under another key
# What validation sees for a required secret that cannot be read and was not typed again:
# the other settings stay editable; the secret itself stays missing.
_STAND_IN = "unreadable-secret"
_STAND_IN_ADDRESS = "https://unreadable-secret.invalid/"


def config_message(err: ConfigError) -> str:
    """An adapter's configuration error, with its code so the dashboard can translate it."""
    if not err.code:
        return str(err)
    return Message.formatted(f"config_{err.code}", str(err), err.params)


def _split_settings(
    kind: str, settings: dict[str, Any], *, allow_private: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate settings with the kind's adapter and split off the secret ones.

    Addresses are checked too: none with a user name or password in it, none where
    channels may not go (private ones only with `allow_private`).
    """
    for key, value in settings.items():
        if isinstance(value, str):
            check_text(value, key)
    cls = REGISTRY.get(kind)
    if cls is None:
        # No adapter for this kind yet: keep the plain settings; they are checked once
        # the adapter exists and the channel is built.
        return dict(settings), {}
    try:
        clean = cls.clean_settings(settings)
        cls.check_addresses(clean, allow_private_network=allow_private)
    except ConfigError as err:
        raise ValidationFailed({err.field: config_message(err)}) from err
    secret_names = {spec.name for spec in cls.settings_spec if spec.secret}
    plain = {k: v for k, v in clean.items() if k not in secret_names}
    secrets = {k: str(v) for k, v in clean.items() if k in secret_names and v is not None}
    return plain, secrets


def _take_declaration(kind: str, plain: dict[str, Any], given: Mapping[str, Any]) -> bool | None:
    """The admin's deduplication declaration among the `given` settings, or None.

    It is taken out of `plain`: the channel's column keeps it, never its settings.
    """
    cls = REGISTRY.get(kind)
    name = cls.deduplication_setting if cls is not None else None
    if name is None:
        return None
    value = plain.pop(name, None)
    return bool(value) if name in given else None


def create_channel(
    session: Session,
    *,
    actor: User,
    kind: str,
    name: str,
    settings: dict[str, Any] | None = None,
    daily_cap: int | None = None,
) -> Channel:
    """Add a channel of a known kind with a unique name; secrets are stored encrypted."""
    require(actor, "manage_channels")
    problems: dict[str, str] = {}
    if kind not in CHANNEL_KINDS:
        problems["kind"] = f"unknown channel kind {kind!r}; known: {', '.join(CHANNEL_KINDS)}"
    name = check_text(name.strip(), "name")
    if not 2 <= len(name) <= 80:
        problems["name"] = Message("channel_name_length", "a channel name has 2-80 characters")
    elif find_named(session, Channel, name) is not None:
        problems["name"] = Message("channel_exists", "channel {name!r} already exists", name=name)
    if daily_cap is not None and daily_cap < 1:
        problems["daily_cap"] = Message("daily_cap_min", "a daily cap is at least 1")
    plain: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    declared: bool | None = None
    if "kind" not in problems:
        try:
            plain, secrets = _split_settings(
                kind,
                dict(settings or {}),
                allow_private=org_settings.allows_private_network(session),
            )
        except ValidationFailed as err:
            problems.update(err.fields)
        declared = _take_declaration(kind, plain, settings or {})
    if problems:
        raise ValidationFailed(problems)
    channel = Channel(
        kind=kind,
        name=name,
        settings=plain,
        credentials=credentials.encrypt(secrets),
        daily_cap=daily_cap,
    )
    if declared:
        channel.deduplicates, channel.deduplication_basis = True, ADMIN_BASIS
    audit.record_change(
        session,
        channel,
        actor=actor,
        object_type="channel",
        action="create",
        note=f"{kind}: {name}" + (f"; deduplicates ({ADMIN_BASIS})" if declared else ""),
    )
    session.commit()
    return channel


def list_channels(session: Session, *, actor: User, include_disabled: bool = True) -> list[Channel]:
    """Channels by name, for those who may view pieces (the calendar and editor name them)."""
    require(actor, "view_pieces")
    query = select(Channel).order_by(col(Channel.name))
    if not include_disabled:
        query = query.where(col(Channel.enabled).is_(True))
    return list(session.exec(query))


def get_channel(session: Session, ref: str | int) -> Channel:
    """A channel by id or by name (case-insensitive)."""
    channel: Channel | None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        # An id no column holds ('99999999999999999999', '²') is no channel's.
        channel = session.get(Channel, int(ref)) if id_problem(ref) is None else None
    elif text_problem(ref) is not None:  # no name has one; PostgreSQL cannot compare NUL
        channel = None
    else:
        channel = find_named(session, Channel, ref)
    if channel is None:
        raise unknown_name(session, Channel, "channel", ref)
    return channel


def secret_names(channel: Channel) -> list[str]:
    """The names of the secret settings this channel's kind declares."""
    cls = REGISTRY.get(channel.kind)
    return [spec.name for spec in cls.settings_spec if spec.secret] if cls else []


def _stored_secrets(channel: Channel) -> dict[str, str] | None:
    """The channel's secrets, or None when they were saved under another key (a database
    restored where PLANNER_SECRET_KEY differs) and must be entered again."""
    try:
        return credentials.decrypt(channel.credentials)
    except credentials.UnreadableCredentials:
        return None


def secrets_unreadable(channel: Channel) -> bool:
    """Whether the channel's stored secrets cannot be read with the current key, so an
    admin must enter them again (`update_channel` takes new ones in their place)."""
    return _stored_secrets(channel) is None


def public_view(channel: Channel) -> dict[str, Any]:
    """A channel's settings for display: secrets only say whether they are set, or that
    they cannot be read with the current key and must be entered again.

    An address never shows a user name or password in it (one saved before such
    addresses were refused): "***" stands in for them.
    """
    stored = _stored_secrets(channel)
    view = {name: _without_credentials(value) for name, value in channel.settings.items()}
    for name in secret_names(channel):
        if stored is None:
            view[name] = VIEW_UNREADABLE
        else:
            view[name] = VIEW_SET if name in stored else VIEW_NOT_SET
    return view


def _without_credentials(value: Any) -> Any:
    if not isinstance(value, str) or "://" not in value:
        return value
    parts = urlsplit(value)
    if "@" not in parts.netloc:
        return value
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def build_adapter(channel: Channel) -> Publisher:
    """The adapter for a channel, built from its settings and decrypted secrets.

    Adapters of one channel share a keep-alive session per thread; channels never do.
    They reach loopback and private addresses only while the organisation allows it.
    """
    cls = REGISTRY.get(channel.kind)
    if cls is None:
        raise ValidationFailed(
            {
                "kind": f"no publisher for {channel.kind!r} channels yet; "
                f"available: {', '.join(sorted(REGISTRY))}"
            }
        )
    merged = {**channel.settings, **credentials.decrypt(channel.credentials)}
    # The admin's allowance as it is now; a channel not in a session gets none.
    session = Session.object_session(channel)
    private = isinstance(session, Session) and org_settings.allows_private_network(session)
    try:
        adapter: Publisher = cls(merged, allow_private_network=private)
    except ConfigError as err:
        raise ValidationFailed({err.field: config_message(err)}) from err
    # Adapters are built anew for every batch; the channel's connections outlive them.
    adapter.session_key = channel.id
    return adapter


def set_enabled(session: Session, *, actor: User, ref: str | int, enabled: bool) -> Channel:
    """Disable a channel (its posts are held) or enable it again."""
    require(actor, "manage_channels")
    channel = get_channel(session, ref)
    channel.enabled = enabled
    action = "enable" if enabled else "disable"
    audit.record_change(session, channel, actor=actor, object_type="channel", action=action)
    session.commit()
    return channel


def mark_needs_reconnect(
    session: Session, *, channel_id: int, message: str, actor: User | None = None
) -> None:
    """Flag a channel whose credentials were refused; its posts are held until fixed."""
    channel = session.get(Channel, channel_id)
    if channel is None or channel.needs_reconnect:
        return
    channel.needs_reconnect = True
    audit.record_change(
        session,
        channel,
        actor=actor,
        actor_name="scheduler",
        object_type="channel",
        action="needs_reconnect",
        note=message[:500],
    )
    session.commit()


def _host(url: object) -> str:
    parts = urlsplit(str(url or "").strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port or ''}"


def _destinations(cls: type[Publisher], settings: Mapping[str, Any]) -> dict[str, str]:
    """Where the channel's requests go, by setting: the settings the adapter names
    (`destination_settings`), or else every address (its scheme, host and port)."""
    where: dict[str, str] = {}
    named = cls.destination_settings
    for spec in cls.settings_spec:
        value = settings.get(spec.name)
        if spec.secret or value is None or value == "":
            continue
        if named is not None and spec.name in named:
            where[spec.name] = f"{spec.name}={str(value).strip().lower()}"
        elif named is None and spec.type == "url":
            where[spec.name] = _host(value)
    return where


def _moved_host(channel: Channel, old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """The new host when the `new` settings send requests anywhere the `old` did not, or ''.

    Another address on a host the channel already talks to is no move.
    An address given where there was none counts, and so does one that falls back to its
    default; an address emptied does not (nothing goes there any more).
    """
    cls = REGISTRY.get(channel.kind)
    if cls is None:
        return ""
    before, after = set(_destinations(cls, old).values()), _destinations(cls, new)
    for name, where in after.items():
        if where not in before:
            if cls.destination_settings is None:
                return urlsplit(str(new[name]).strip()).hostname or str(new[name])
            return ", ".join(f"{n}={new[n]}" for n in cls.destination_settings if new.get(n))
    return ""


def _effective(kind: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """`settings` as the adapter reads them (defaults filled in), or as stored if invalid."""
    cls = REGISTRY.get(kind)
    try:
        return cls.clean_settings(settings) if cls is not None else dict(settings)
    except ConfigError:
        return dict(settings)


def _stand_ins(kind: str, values: Mapping[str, Any]) -> dict[str, str]:
    """Stand-ins for the required secrets of `kind` that `values` lacks, to check the
    other settings with; they are never stored."""
    cls = REGISTRY.get(kind)
    return {
        spec.name: _STAND_IN_ADDRESS if spec.http_address or spec.type == "url" else _STAND_IN
        for spec in (cls.settings_spec if cls is not None else ())
        if spec.secret and spec.required and values.get(spec.name) in (None, "")
    }


def _secrets_to_reenter(
    channel: Channel, stored: Mapping[str, Any], settings: Mapping[str, Any], host: str
) -> dict[str, Message]:
    """A stored secret never follows a channel to another host: each must be given again."""
    return {
        name: Message(
            "secret_for_new_host",
            "the channel now points to {host}; enter {name} again for it",
            host=host,
            name=name,
        )
        for name in secret_names(channel)
        if stored.get(name) and not settings.get(name)
    }


def check_connection(session: Session, *, actor: User, ref: str | int) -> str:
    """Ask the channel whether it answers and accepts the credentials.

    The answer, or the failure, is a short printable excerpt with every secret masked:
    whatever the server sends back never reaches the dashboard or terminal unfiltered.

    Success clears a needs-reconnect flag; refused credentials set it. The channel is also
    asked whether it drops repeated requests, unless an admin declared that.
    """
    require(actor, "manage_channels")
    channel = get_channel(session, ref)
    adapter = build_adapter(channel)
    # What the server said is shown only as a short printable excerpt, secrets masked.
    secrets = [str(v) for v in credentials.decrypt(channel.credentials).values() if v]
    try:
        said = adapter.check_connection()
    except DeliveryError as err:
        if err.outcome == "auth":
            assert channel.id is not None
            mark_needs_reconnect(session, channel_id=channel.id, message=err.message, actor=actor)
        raise ValidationFailed({"connection": excerpt(str(err), secrets)}) from err
    if channel.deduplication_basis != ADMIN_BASIS:
        _detect_deduplication(session, actor, channel, adapter)
    if channel.needs_reconnect:
        channel.needs_reconnect = False
        audit.record_change(
            session, channel, actor=actor, object_type="channel", action="reconnected"
        )
        session.commit()
    answer = excerpt(said, secrets)
    if isinstance(said, Answer):  # said again in the admin's language on the dashboard
        values = {
            k: excerpt(v, secrets) if isinstance(v, str) else v for k, v in said.params.items()
        }
        return Message.formatted(f"connection_{said.code}", answer, values)
    return answer


def _detect_deduplication(
    session: Session, actor: User, channel: Channel, adapter: Publisher
) -> None:
    """Store what the server says about dropping repeats; keep the old answer if it won't."""
    try:
        basis = adapter.detect_deduplication()
    except DeliveryError as err:
        # The connection works, so this is passing; what was proven stays until next time.
        log.warning("channel %s: cannot ask whether it drops repeats: %s", channel.id, err)
        return
    deduplicates, basis = basis is not None, (basis or "")[:BASIS_MAX_LENGTH]
    if (deduplicates, basis) == (channel.deduplicates, channel.deduplication_basis):
        return
    note = f"detected: {basis}" if deduplicates else "detected: not proven"
    _store_deduplication(session, actor, channel, deduplicates, basis, note)


def _store_deduplication(
    session: Session, actor: User, channel: Channel, deduplicates: bool, basis: str, note: str
) -> None:
    """Save whether the channel drops repeats, and why, with its audit event."""
    channel.deduplicates, channel.deduplication_basis = deduplicates, basis
    audit.record_change(
        session, channel, actor=actor, object_type="channel", action="deduplication", note=note
    )
    session.commit()


def set_deduplication(
    session: Session, *, actor: User, ref: str | int, deduplicates: bool | None
) -> Channel:
    """Declare, as an admin, whether a channel's receiver drops repeated requests.

    True or False is kept as the admin's ("set by an admin") and never overwritten by
    detection; None hands the question back to the next connection test.
    """
    require(actor, "manage_channels")
    channel = get_channel(session, ref)
    if deduplicates is None:
        _store_deduplication(session, actor, channel, False, "", "left to the connection test")
    else:
        said = "deduplicates" if deduplicates else "does not deduplicate"
        note = f"{said} ({ADMIN_BASIS})"
        _store_deduplication(session, actor, channel, deduplicates, ADMIN_BASIS, note)
    return channel


def form_kinds() -> dict[str, str]:
    """The kinds a channel can be configured for in a form (those with an adapter), by name."""
    return {kind: CHANNEL_KINDS.get(kind, cls.display_name) for kind, cls in REGISTRY.items()}


def settings_spec(kind: str) -> Sequence[SettingSpec]:
    """The settings the adapter of `kind` declares, from which the channel form is built."""
    cls = REGISTRY.get(kind)
    if cls is None:
        raise ValidationFailed(
            {"kind": f"no publisher for {kind!r} channels yet; available: {', '.join(REGISTRY)}"}
        )
    return cls.settings_spec


def update_channel(
    session: Session,
    *,
    actor: User,
    ref: str | int,
    name: str | None = None,
    settings: dict[str, Any] | None = None,
    daily_cap: int | EllipsisType | None = ...,
) -> Channel:
    """Change a channel's name, settings or daily cap (None: no cap, `...`: unchanged).

    A secret setting given empty keeps the stored one, unless an address of the channel
    moves to another host: then every stored secret must be given again (a token never
    goes to a host it was not made for), and what was known of the old server (whether
    it drops repeats, a rate-limit pause) is forgotten.

    Secrets the current key cannot read (saved under another) are replaced all together:
    new ones are taken only with every required one, and the other settings can still be
    changed without any (the unreadable ones are then kept as they are).
    """
    require(actor, "manage_channels")
    channel = get_channel(session, ref)
    problems: dict[str, str] = {}
    if name is not None:
        name = check_text(name.strip(), "name")
        clash = find_named(session, Channel, name, other_than=channel.id)
        if not 2 <= len(name) <= 80:
            problems["name"] = Message("channel_name_length", "a channel name has 2-80 characters")
        elif clash is not None:
            problems["name"] = Message(
                "channel_exists", "channel {name!r} already exists", name=name
            )
    if isinstance(daily_cap, int) and daily_cap < 1:
        problems["daily_cap"] = Message("daily_cap_min", "a daily cap is at least 1")
    # Secrets saved under another key count as missing: those typed now replace them all.
    # Until some are, the unreadable ones are kept as they are (the old key may come back).
    readable = _stored_secrets(channel)
    plain, secrets = dict(channel.settings), dict(readable or {})
    stored_secrets = dict(secrets)
    changed: list[str] = []
    declared: bool | None = None
    if settings is not None:
        secret_fields = set(secret_names(channel))
        merged: dict[str, Any] = {**plain, **secrets}
        cls = REGISTRY.get(channel.kind)
        if cls is not None and cls.deduplication_setting:
            # The admin's declaration lives in the column: compare a typed one with that.
            merged[cls.deduplication_setting] = channel.deduplicates
        for key, value in settings.items():
            if key in secret_fields and (value is None or value == ""):
                continue  # an empty secret field means "keep the one stored"
            if merged.get(key) != value:
                changed.append(key)
            merged[key] = value
        # A required secret that cannot be read, and is not typed again, keeps no other
        # setting from being checked and saved: a stand-in takes its place for the check.
        stand_ins = _stand_ins(channel.kind, merged) if readable is None else {}
        try:
            plain, secrets = _split_settings(
                channel.kind,
                {**stand_ins, **merged},
                allow_private=org_settings.allows_private_network(session),
            )
        except ValidationFailed as err:
            problems.update(err.fields)
        secrets = {k: v for k, v in secrets.items() if k not in stand_ins}
        declared = _take_declaration(channel.kind, plain, settings)
        before = _effective(channel.kind, {**stand_ins, **channel.settings, **stored_secrets})
        moved = "" if problems else _moved_host(channel, before, plain)
        if moved:
            problems.update(_secrets_to_reenter(channel, secrets, settings, moved))
        if stand_ins and (secrets or moved):
            # New secrets replace the unreadable ones all together: a required one left
            # out would be saved as missing, and the channel could publish nothing.
            problems.update(
                {
                    secret: Message(
                        "secret_enter_again",
                        "{name} cannot be read (it was saved under another key): enter it "
                        "again with the others",
                        name=secret,
                    )
                    for secret in stand_ins
                }
            )
    else:
        moved = ""
    if problems:
        raise ValidationFailed(problems)
    if moved:
        # What was proven (or declared) of the old server says nothing about the new one.
        channel.deduplicates, channel.deduplication_basis = False, ""
        channel.paused_until = channel.pause_reason = None
    if declared is not None and declared != channel.deduplicates:
        channel.deduplicates, channel.deduplication_basis = declared, ADMIN_BASIS
    if name is not None and name != channel.name:
        changed.insert(0, "name")
        # The rules scoped to the channel follow it to its new name, in the same commit.
        rules.rename_in_scopes(session, actor=actor, key="channels", old=channel.name, new=name)
        channel.name = name
    if not isinstance(daily_cap, EllipsisType) and daily_cap != channel.daily_cap:
        changed.append("daily_cap")
        channel.daily_cap = daily_cap
    channel.settings = plain
    if readable is not None or secrets or moved:
        # Unreadable secrets stay until new ones are typed, unless the channel moves to
        # another host: no stored secret follows it there, unread or not.
        channel.credentials = credentials.encrypt(secrets)
    audit.record_change(
        session,
        channel,
        actor=actor,
        object_type="channel",
        action="update",
        note=", ".join(changed) or "no change",  # names only: never a secret's value
    )
    session.commit()
    return channel


def channel_names(session: Session, *, actor: User) -> dict[int, str]:
    """Every channel's name by id, for every active account: a contributor sees on which
    channels their department's ideas went out (as on 'My ideas')."""
    require_active(actor)
    return names_by_id(session, Channel)
