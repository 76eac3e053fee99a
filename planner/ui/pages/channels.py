"""'Channels' (admins): the publishing targets; a form built from the adapter's settings.

Secrets are never shown back: the form leaves them empty and keeps the stored value
unless a new one is typed. Whether a channel drops repeated requests is shown with its
basis; an admin may declare it either way, or leave it to the connection test.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st
from sqlmodel import Session
from streamlit.delta_generator import DeltaGenerator

from planner import channels
from planner.errors import ConfigurationError, NotFound, ValidationFailed
from planner.models import Channel, User
from planner.ui import access, keys, moves, state, tables, widgets
from planner.ui.i18n import format_number
from publishers import REGISTRY
from publishers.base import SettingSpec

NEW = 0  # the pick that means "a new channel"


def _field_key(target: str, name: str) -> str:
    return f"{keys.CHANNELS_SETTING}{target}_{name}"


def _setting_widget(
    spec: SettingSpec, kind: str, target: str, current: dict[str, Any], secret_hint: str
) -> None:
    """One input for one declared setting, with its translated label and help text
    (a secret's field empty, `secret_hint` saying what is stored)."""
    t = state.t
    key = _field_key(target, spec.name)
    label = state.t_or(f"channels.setting.{spec.name}", spec.name)
    if not spec.required:
        label = t("channels.setting.optional", label=label)
    helptext = state.t_or(f"channels.setting_help.{kind}.{spec.name}", spec.help) or None
    value = current.get(spec.name, spec.default)
    if spec.type == "bool":
        st.checkbox(label, value=bool(value), help=helptext, key=key)
    elif spec.type == "int":
        st.number_input(
            label,
            value=int(value) if value is not None else None,
            step=1,
            help=helptext,
            key=key,
        )
    elif spec.secret or spec.type == "password":
        st.text_input(
            label,
            type="password",
            placeholder=secret_hint,
            help=helptext,
            key=key,
        )
    else:
        st.text_input(label, value="" if value is None else str(value), help=helptext, key=key)


def _shown_setting(value: object, secret: bool) -> str:
    """A stored setting's value as the reader's language writes it (yes/no, a dash for none);
    a secret only says whether it is set."""
    t = state.t
    if secret and value == channels.VIEW_UNREADABLE:
        return t("channels.value.secret_unreadable")
    if secret:
        return (
            t("channels.value.secret_set")
            if str(value).startswith("***")
            else t("channels.value.secret_unset")
        )
    if isinstance(value, bool):
        return t("channels.value.yes") if value else t("channels.value.no")
    if value is None or value == "":
        return t("channels.value.empty")
    return str(value)


def _typed_settings(spec: Sequence[SettingSpec], target: str) -> dict[str, Any]:
    """What the form holds, by setting name (empty text means 'not given')."""
    typed: dict[str, Any] = {}
    for item in spec:
        value = st.session_state.get(_field_key(target, item.name))
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            if item.secret or item.type == "password":
                typed[item.name] = ""
            continue
        typed[item.name] = value
    return typed


def _forget_form(spec: Sequence[SettingSpec], target: str) -> None:
    """Drop the form's widget values, so no typed secret stays in the session."""
    for item in spec:
        st.session_state.pop(_field_key(target, item.name), None)
    st.session_state.pop(f"{keys.CHANNELS_NAME}{target}", None)
    st.session_state.pop(f"{keys.CHANNELS_CAP}{target}", None)


def _form(session: Session, actor: User, channel: Channel | None, kind: str) -> None:
    t = state.t
    target = "new" if channel is None else str(channel.id)
    spec = channels.settings_spec(kind)
    declaration = REGISTRY[kind].deduplication_setting if kind in REGISTRY else None
    if channel is not None:
        # A saved channel keeps that declaration on its own; only the section below sets it,
        # so a form holding an older value can never undo it.
        spec = [item for item in spec if item.name != declaration]
    current = dict(channel.settings) if channel else {}
    shown_key = f"{keys.CHANNELS_SHOWN}{target}"
    if channel is not None and f"{keys.CHANNELS_NAME}{target}" not in st.session_state:
        # What the form is filled with, to send only what the admin changes: a value
        # another admin stored meanwhile is not written back by a form drawn before.
        st.session_state[shown_key] = {
            "name": channel.name,
            "daily_cap": channel.daily_cap,
            **{
                item.name: current.get(item.name, item.default)
                for item in spec
                if not (item.secret or item.type == "password")
            },
        }
    stored_secrets = set(channels.secret_names(channel)) if channel else set()
    view = channels.public_view(channel) if channel else {}
    unreadable = channel is not None and channels.secrets_unreadable(channel)
    if unreadable:
        # Saved under another key (a database restored elsewhere): they must be typed again.
        st.warning(t("channels.secrets_unreadable"))
    slots: dict[str, DeltaGenerator] = {}
    with st.form(f"{keys.CHANNELS_FORM}_{target}"):
        st.text_input(
            t("channels.name"),
            value=channel.name if channel else "",
            max_chars=80,
            key=f"{keys.CHANNELS_NAME}{target}",
        )
        slots["name"] = st.empty()
        st.number_input(
            t("channels.cap"),
            value=channel.daily_cap if channel else None,
            min_value=0,
            step=1,
            key=f"{keys.CHANNELS_CAP}{target}",
        )
        slots["daily_cap"] = st.empty()
        for item in spec:
            is_set = item.name in stored_secrets and view.get(item.name, "").startswith("***")
            hint = (
                t("channels.secret_kept")
                if is_set
                else t("channels.secret_unreadable")
                if unreadable
                else ""
            )
            _setting_widget(item, kind, target, current, hint)
            slots[item.name] = st.empty()
        saved = st.form_submit_button(
            t("channels.save_new") if channel is None else t("channels.save"),
            type="primary",
            key=keys.CHANNELS_SAVE,
        )
        slots["_form"] = st.container()
    if not saved:
        return
    name = st.session_state.get(f"{keys.CHANNELS_NAME}{target}", "")
    cap = st.session_state.get(f"{keys.CHANNELS_CAP}{target}")
    settings = _typed_settings(spec, target)
    # What a new channel and a changed one both take from the form.
    values: dict[str, Any] = {"name": name, "daily_cap": int(cap) if cap is not None else None}
    try:
        if channel is None:
            settings = {k: v for k, v in settings.items() if v != ""}
            saved_channel = channels.create_channel(
                session, actor=actor, kind=kind, settings=settings, **values
            )
            done = t("channels.added", name=saved_channel.name)
        else:
            shown = st.session_state.get(shown_key, {})
            changed = {k: v for k, v in settings.items() if k not in shown or shown[k] != v}
            saved_channel = channels.update_channel(
                session,
                actor=actor,
                ref=channel.id or 0,
                settings=changed,
                name=name if name != shown.get("name") else None,
                daily_cap=values["daily_cap"]
                if values["daily_cap"] != shown.get("daily_cap", ...)
                else ...,
            )
            done = t("channels.saved", name=saved_channel.name)
    except ValidationFailed as err:
        slots["_form"].error(t("channels.invalid"))
        for field, message in err.fields.items():
            label = t(f"channels.field.{field}") if field in ("name", "daily_cap", "kind") else ""
            text = moves.message(message)
            slots.get(field, slots["_form"]).error(f"{label}: {text}" if label else text)
        return
    _forget_form(spec, target)
    st.session_state.pop(shown_key, None)
    st.session_state[keys.CHANNELS_PICK_NEXT] = saved_channel.id
    st.session_state[keys.CHANNELS_DONE] = done
    st.rerun()


def _actions(session: Session, actor: User, channel: Channel) -> None:
    t = state.t
    columns = st.columns(2)
    label = t("channels.disable") if channel.enabled else t("channels.enable")
    if columns[0].button(label, key=keys.CHANNELS_TOGGLE):
        channels.set_enabled(session, actor=actor, ref=channel.id or 0, enabled=not channel.enabled)
        st.rerun()
    if columns[1].button(t("channels.test"), key=keys.CHANNELS_TEST):
        with st.spinner(t("channels.testing")):
            try:
                answer = channels.check_connection(session, actor=actor, ref=channel.id or 0)
            except ValidationFailed as err:
                reasons = "; ".join(moves.field_messages(err).values())
                st.error(t("channels.test_failed", message=reasons))
            except ConfigurationError as err:
                st.error(t("channels.test_failed", message=str(err)))
            else:
                st.success(t("channels.test_ok", answer=moves.message(answer)))


def _deduplication(session: Session, actor: User, channel: Channel) -> None:
    """Whether the channel drops repeated requests, why, and the admin's say in it."""
    t = state.t
    st.subheader(t("channels.dedup.heading"))
    declared = channel.deduplication_basis == channels.ADMIN_BASIS
    if channel.deduplicates and declared:
        st.info(t("channels.dedup.yes_declared"))
    elif channel.deduplicates:
        st.info(t("channels.dedup.yes", basis=channel.deduplication_basis))
    elif declared:
        st.info(t("channels.dedup.no_declared"))
    else:
        st.info(t("channels.dedup.unproven"))
    columns = st.columns(2)
    flip = "channels.dedup.declare_no" if channel.deduplicates else "channels.dedup.declare_yes"
    if columns[0].button(t(flip), key=keys.CHANNELS_DEDUP_DECLARE):
        channels.set_deduplication(
            session, actor=actor, ref=channel.id or 0, deduplicates=not channel.deduplicates
        )
        st.rerun()
    if declared and columns[1].button(t("channels.dedup.detect"), key=keys.CHANNELS_DEDUP_DETECT):
        channels.set_deduplication(session, actor=actor, ref=channel.id or 0, deduplicates=None)
        st.rerun()


def _settings_summary(channel: Channel) -> str:
    """Every stored setting as "label: value", secrets only saying whether they are set."""
    secrets = set(channels.secret_names(channel))
    return "; ".join(
        f"{state.t_or(f'channels.setting.{name}', name)}: {_shown_setting(value, name in secrets)}"
        for name, value in channels.public_view(channel).items()
    )


def _yes_no(channel: Channel) -> str:
    return "yes" if channel.deduplicates else "no"


def _state(channel: Channel) -> str:
    t = state.t
    if not channel.enabled:
        return t("channels.state.disabled")
    if channels.secrets_unreadable(channel):
        return t("channels.state.unreadable")
    if channel.needs_reconnect:
        return t("channels.state.reconnect")
    return t("channels.state.enabled")


def _cap(daily_cap: int | None) -> str:
    """A channel's daily cap for its table: the number, or that there is none (a column of
    numbers with a gap would be read as decimals, the gap as "None")."""
    if daily_cap is None:
        return state.t("channels.cap_none")
    return format_number(state.lang(), daily_cap)


def render() -> None:
    """Draw the page."""
    t = state.t
    with access.page("channels", keys.CHANNELS_DONE) as (session, actor):
        listed = channels.list_channels(session, actor=actor)
        tables.table(
            [
                {
                    t("channels.col.name"): c.name,
                    t("channels.col.kind"): state.t_or(f"channels.kind_name.{c.kind}", c.kind),
                    t("channels.col.state"): _state(c),
                    t("channels.col.cap"): _cap(c.daily_cap),
                    t("channels.col.dedup"): t(f"channels.dedup.short_{_yes_no(c)}"),
                    t("channels.col.settings"): _settings_summary(c),
                }
                for c in listed
            ],
            empty=t("channels.empty"),
        )
        by_id = {c.id: c for c in listed}
        if keys.CHANNELS_PICK_NEXT in st.session_state:
            st.session_state[keys.CHANNELS_PICK] = st.session_state.pop(keys.CHANNELS_PICK_NEXT)
        picks = {NEW: t("channels.new"), **{i: c.name for i, c in by_id.items()}}
        picked = widgets.labelled_choice(t("channels.pick"), picks, key=keys.CHANNELS_PICK)
        channel = by_id.get(picked)
        if channel is None:
            kinds = {
                kind: state.t_or(f"channels.kind_name.{kind}", name)
                for kind, name in channels.form_kinds().items()
            }
            if not kinds:
                st.info(t("channels.no_kinds"))
                return
            kind = widgets.labelled_choice(t("channels.kind"), kinds, key=keys.CHANNELS_KIND)
            _form(session, actor, None, kind)
            return
        try:
            _form(session, actor, channel, channel.kind)
        except ValidationFailed as err:  # a kind whose adapter is not written yet
            st.warning("; ".join(err.fields.values()))
        except NotFound as err:
            st.error(str(err))
        _actions(session, actor, channel)
        _deduplication(session, actor, channel)


render()
