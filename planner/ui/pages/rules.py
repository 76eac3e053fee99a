"""'Rules' (admins): the publishing rules; add one, switch one off or on, the default set,
import and export as YAML."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st
import yaml
from sqlmodel import Session

from planner import audiences, channels, rules, users
from planner.errors import PlannerError, ValidationFailed
from planner.models import PublishingRule, User
from planner.ui import access, keys, moves, state, tables

_PICKED = ("channels", "departments", "audiences")  # scope keys picked from what exists


def _scope_text(rule: PublishingRule) -> str:
    t = state.t
    parts = [
        f"{t(f'rules.scope.{key}')}: {', '.join(rule.scope[key])}"
        for key in rules.SCOPE_KEYS
        if rule.scope.get(key)
    ]
    return "; ".join(parts) or t("rules.scope.all")


def _overview(found: list[PublishingRule]) -> None:
    t = state.t
    message = "message_de" if state.lang() == "de" else "message_en"
    tables.table(
        [
            {
                t("rules.col.name"): r.name,
                t("rules.col.kind"): t(f"rules.kind.{r.kind}"),
                t("rules.col.severity"): t(f"rules.severity.{r.severity}"),
                t("rules.col.enabled"): t("rules.yes") if r.enabled else t("rules.no"),
                t("rules.col.scope"): _scope_text(r),
                t("rules.col.message"): getattr(r, message),
            }
            for r in found
        ],
        empty=t("rules.empty"),
    )


def _defaults(session: Session, actor: User, found: list[PublishingRule]) -> None:
    t = state.t
    if found:
        return
    st.info(t("rules.offer_defaults"))
    if st.button(t("rules.load_defaults"), key=keys.RULES_DEFAULTS, type="primary"):
        done = rules.load_default_rules(session, actor=actor)
        st.session_state[keys.RULES_DONE] = t("rules.loaded", count=len(done.added))
        st.rerun()


def _toggle(session: Session, actor: User, found: list[PublishingRule]) -> None:
    t = state.t
    if not found:
        return
    st.subheader(t("rules.toggle_heading"))
    names = [r.name for r in found]
    picked = st.selectbox(t("rules.pick"), options=names, key=keys.RULES_PICK)
    rule = next(r for r in found if r.name == picked)
    label = t("rules.disable") if rule.enabled else t("rules.enable")
    if st.button(label, key=keys.RULES_TOGGLE):
        changed = rules.set_rule_enabled(
            session, actor=actor, ref=rule.name, enabled=not rule.enabled
        )
        done = "rules.enabled" if changed.enabled else "rules.disabled"
        st.session_state[keys.RULES_DONE] = t(done, name=changed.name)
        st.rerun()
    _edit(session, actor, rule)


def _edit(session: Session, actor: User, rule: PublishingRule) -> None:
    """The picked rule's severity, settings, messages and scope, changed in place."""
    t = state.t
    spec = rules.spec_of(rule)
    fields = (
        keys.RULES_EDIT_SEVERITY,
        keys.RULES_EDIT_SETTINGS,
        keys.RULES_EDIT_MESSAGE_DE,
        keys.RULES_EDIT_MESSAGE_EN,
    )
    severity, settings, message_de, message_en = (f"{key}{rule.id}" for key in fields)
    shown = (
        yaml.safe_dump(spec.settings, allow_unicode=True, sort_keys=True) if spec.settings else ""
    )
    st.subheader(t("rules.edit_heading", name=rule.name))
    with st.form(keys.RULES_EDIT_FORM):
        st.selectbox(
            t("rules.field.severity"),
            options=list(rules.SEVERITIES),
            index=list(rules.SEVERITIES).index(spec.severity),
            format_func=lambda value: t(f"rules.severity.{value}"),
            key=severity,
        )
        st.text_area(
            t("rules.field.settings"), value=shown, key=settings, help=t("rules.settings_help")
        )
        st.text_area(t("rules.field.message_de"), value=spec.message_de, key=message_de)
        st.text_area(t("rules.field.message_en"), value=spec.message_en, key=message_en)
        scope_keys = {key: f"{keys.RULES_EDIT_SCOPE}{key}_{rule.id}" for key in rules.SCOPE_KEYS}
        _scope_fields(session, actor, scope_keys, spec.scope)
        slot = st.empty()
        saved = st.form_submit_button(t("rules.save"), key=keys.RULES_EDIT_SAVE)
    if not saved:
        return
    get = st.session_state.get
    changes = {
        "severity": get(severity),
        "settings": _settings(str(get(settings, ""))),
        "message": {"de": get(message_de, ""), "en": get(message_en, "")},
        "scope": _scope_typed(scope_keys),
    }
    try:
        changed = rules.edit_rule(session, actor=actor, ref=rule.id or 0, changes=changes)
    except ValidationFailed as err:
        slot.error(_problems(err))
        return
    for key in (severity, settings, message_de, message_en, *scope_keys.values()):
        st.session_state.pop(key, None)  # drawn again from the stored rule
    st.session_state[keys.RULES_DONE] = t("rules.saved", name=changed.name)
    st.rerun()


def _scope_fields(
    session: Session, actor: User, field_keys: Mapping[str, str], scope: Mapping[str, Sequence[str]]
) -> None:
    """The scope's fields (drawn inside a form): the channels, departments and audiences a
    rule applies to, picked from those that exist (and those the rule names already), and
    its campaigns typed; empty means all."""
    t = state.t
    known = {
        "channels": channels.channel_names(session, actor=actor).values(),
        "departments": users.department_names(session, actor=actor).values(),
        "audiences": audiences.audience_names(session, actor=actor).values(),
    }
    for key in _PICKED:
        names = known[key]
        st.multiselect(
            t(f"rules.scope.{key}"),
            options=sorted({*names, *scope.get(key, ())}),
            default=list(scope.get(key, ())),
            key=field_keys[key],
            placeholder=t(f"rules.{key}_placeholder"),
        )
    st.text_input(
        t("rules.scope.campaigns"),
        value=", ".join(scope.get("campaigns", ())),
        key=field_keys["campaigns"],
        help=t("rules.campaigns_help"),
    )


def _scope_typed(field_keys: Mapping[str, str]) -> dict[str, list[str]]:
    """The scope as the form holds it."""
    get = st.session_state.get
    scope = {key: list(get(field_keys[key], [])) for key in _PICKED}
    typed = str(get(field_keys["campaigns"], ""))
    return scope | {"campaigns": [c.strip() for c in typed.split(",") if c.strip()]}


def _problems(err: ValidationFailed) -> str:
    """A refused rule's or file's problems, each with the field (and the file's entry)."""
    t = state.t
    said = []
    for name, text in moves.field_messages(err).items():
        parts = name.split()
        if len(parts) == 3 and parts[0] == "rule":
            field = t(f"rules.field.{parts[2]}")
            said.append(t("rules.in_entry", number=parts[1], field=field, message=text))
        elif name in rules.FIELDS:
            said.append(f"{t(f'rules.field.{name}')}: {text}")
        else:
            said.append(text)
    return "; ".join(said)


def _settings(text: str) -> dict[str, Any] | str:
    """The settings typed as YAML, or the text itself when it is no mapping (refused then)."""
    try:
        value = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError:
        return text
    return value if isinstance(value, dict) else text


def _add(session: Session, actor: User) -> None:
    t = state.t
    st.subheader(t("rules.add_heading"))
    scope_keys = {
        "channels": keys.RULES_CHANNELS,
        "departments": keys.RULES_DEPARTMENTS,
        "audiences": keys.RULES_AUDIENCES,
        "campaigns": keys.RULES_CAMPAIGNS,
    }
    with st.form(keys.RULES_ADD_FORM):
        st.text_input(t("rules.field.name"), max_chars=80, key=keys.RULES_NAME)
        st.selectbox(
            t("rules.field.kind"),
            options=list(rules.KINDS),
            format_func=lambda kind: t(f"rules.kind.{kind}"),
            key=keys.RULES_KIND,
        )
        st.selectbox(
            t("rules.field.severity"),
            options=list(rules.SEVERITIES),
            format_func=lambda severity: t(f"rules.severity.{severity}"),
            key=keys.RULES_SEVERITY,
        )
        st.text_area(
            t("rules.field.settings"), key=keys.RULES_SETTINGS, help=t("rules.settings_help")
        )
        st.text_area(t("rules.field.message_de"), key=keys.RULES_MESSAGE_DE)
        st.text_area(t("rules.field.message_en"), key=keys.RULES_MESSAGE_EN)
        _scope_fields(session, actor, scope_keys, {})
        slot = st.empty()
        added = st.form_submit_button(t("rules.add"), key=keys.RULES_ADD)
    if not added:
        return
    get = st.session_state.get
    data = {
        "name": get(keys.RULES_NAME, ""),
        "kind": get(keys.RULES_KIND),
        "severity": get(keys.RULES_SEVERITY),
        "settings": _settings(str(get(keys.RULES_SETTINGS, ""))),
        "message": {"de": get(keys.RULES_MESSAGE_DE, ""), "en": get(keys.RULES_MESSAGE_EN, "")},
        "scope": _scope_typed(scope_keys),
    }
    try:
        rule = rules.add_rule(session, actor=actor, data=data)
    except ValidationFailed as err:
        slot.error(
            "; ".join(
                f"{t('rules.field.' + k.split()[-1])}: {v}"
                for k, v in moves.field_messages(err).items()
            )
        )
        return
    for key in (keys.RULES_NAME, keys.RULES_SETTINGS, keys.RULES_MESSAGE_DE, keys.RULES_MESSAGE_EN):
        st.session_state.pop(key, None)
    st.session_state[keys.RULES_DONE] = t("rules.added", name=rule.name)
    st.rerun()


def _transfer(session: Session, actor: User) -> None:
    t = state.t
    st.subheader(t("rules.transfer_heading"))
    st.download_button(
        t("rules.export"),
        data=rules.export_rules(session, actor=actor, fmt="yaml"),
        file_name="rules.yaml",
        mime="application/yaml",
        key=keys.RULES_EXPORT,
    )
    upload = st.file_uploader(
        t("rules.upload"), type=["yaml", "yml", "json"], key=keys.RULES_UPLOAD
    )
    slot = st.container()
    if upload is not None and st.button(t("rules.import"), key=keys.RULES_IMPORT):
        try:
            done = rules.import_rules(session, actor=actor, text=upload.getvalue().decode("utf-8"))
        except (PlannerError, UnicodeDecodeError) as err:
            if isinstance(err, ValidationFailed):
                slot.error(_problems(err))
            else:
                slot.error(t("rules.unreadable"))
            return
        st.session_state[keys.RULES_DONE] = t(
            "rules.imported", added=len(done.added), changed=len(done.changed)
        )
        st.rerun()


def render() -> None:
    """Draw the page."""
    with access.page("rules", keys.RULES_DONE) as (session, actor):
        found = rules.list_rules(session, actor=actor)
        st.caption(state.t("rules.intro"))
        _defaults(session, actor, found)
        _overview(found)
        _toggle(session, actor, found)
        _add(session, actor)
        _transfer(session, actor)


render()
