"""'Rules' (admins): the publishing rules; add one, switch one off or on, the default set,
import and export as YAML."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
        state.rerun_with_notice(keys.RULES_DONE, t("rules.loaded", count=len(done.added)))


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
        state.rerun_with_notice(keys.RULES_DONE, t(done, name=changed.name))
    _edit(session, actor, rule)


@dataclass(frozen=True)
class _Fields:
    """The widget keys of the fields the add and the edit form share."""

    severity: str
    settings: str
    message_de: str
    message_en: str
    scope: Mapping[str, str]  # by scope key

    @property
    def all(self) -> tuple[str, ...]:
        """Every one of the keys."""
        texts = (self.severity, self.settings, self.message_de, self.message_en)
        return (*texts, *self.scope.values())


def _rule_fields(
    session: Session, actor: User, fields: _Fields, spec: rules.RuleSpec | None
) -> None:
    """The fields both forms have (drawn inside a form): severity, settings (YAML), the
    messages and the scope; filled from `spec`, the rule edited, or empty for a new one."""
    t = state.t
    severities = list(rules.SEVERITIES)
    st.selectbox(
        t("rules.field.severity"),
        options=severities,
        index=severities.index(spec.severity) if spec else 0,
        format_func=lambda value: t(f"rules.severity.{value}"),
        key=fields.severity,
    )
    shown = (
        yaml.safe_dump(spec.settings, allow_unicode=True, sort_keys=True)
        if spec and spec.settings
        else ""
    )
    st.text_area(
        t("rules.field.settings"), value=shown, key=fields.settings, help=t("rules.settings_help")
    )
    st.text_area(
        t("rules.field.message_de"), value=spec.message_de if spec else "", key=fields.message_de
    )
    st.text_area(
        t("rules.field.message_en"), value=spec.message_en if spec else "", key=fields.message_en
    )
    _scope_fields(session, actor, fields.scope, spec.scope if spec else {})


def _typed(fields: _Fields) -> dict[str, Any]:
    """What the shared fields hold, as the rules module takes it."""
    get = st.session_state.get
    return {
        "severity": get(fields.severity),
        "settings": _settings(str(get(fields.settings, ""))),
        "message": {"de": get(fields.message_de, ""), "en": get(fields.message_en, "")},
        "scope": _scope_typed(fields.scope),
    }


def _changed(typed: Mapping[str, Any], shown: Mapping[str, Any]) -> dict[str, Any]:
    """Of what the edit form holds, what differs from what it was filled with (a message
    or a scope list on its own)."""
    changes: dict[str, Any] = {}
    for field, value in typed.items():
        was = shown.get(field)
        if isinstance(value, dict) and isinstance(was, dict):
            parts = {key: part for key, part in value.items() if was.get(key) != part}
            if parts:
                changes[field] = parts
        elif value != was:
            changes[field] = value
    return changes


def _edit(session: Session, actor: User, rule: PublishingRule) -> None:
    """The picked rule's severity, settings, messages and scope, changed in place."""
    t = state.t
    fields = _Fields(
        f"{keys.RULES_EDIT_SEVERITY}{rule.id}",
        f"{keys.RULES_EDIT_SETTINGS}{rule.id}",
        f"{keys.RULES_EDIT_MESSAGE_DE}{rule.id}",
        f"{keys.RULES_EDIT_MESSAGE_EN}{rule.id}",
        {key: f"{keys.RULES_EDIT_SCOPE}{key}_{rule.id}" for key in rules.SCOPE_KEYS},
    )
    st.subheader(t("rules.edit_heading", name=rule.name))
    shown_key = f"{keys.RULES_EDIT_SHOWN}{rule.id}"
    filling = fields.severity not in st.session_state or shown_key not in st.session_state
    with st.form(keys.RULES_EDIT_FORM):
        _rule_fields(session, actor, fields, rules.spec_of(rule))
        if filling:
            # What the form was filled with, to send only what the admin changes: a
            # change another admin stored meanwhile is not written back by this form.
            st.session_state[shown_key] = _typed(fields)
        slot = st.empty()
        saved = st.form_submit_button(t("rules.save"), key=keys.RULES_EDIT_SAVE)
    if not saved:
        return
    try:
        changes = _changed(_typed(fields), st.session_state.get(shown_key) or {})
        changed = rules.edit_rule(session, actor=actor, ref=rule.id or 0, changes=changes)
    except ValidationFailed as err:
        slot.error(_problems(err))
        return
    # The form is drawn again from the stored rule.
    state.rerun_with_notice(
        keys.RULES_DONE, t("rules.saved", name=changed.name), forget=[shown_key, *fields.all]
    )


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


def _label(field: str) -> str:
    """The label of a field a refusal names: a scope list ("channels") by its own name."""
    t = state.t
    return t(f"rules.scope.{field}") if field in rules.SCOPE_KEYS else t(f"rules.field.{field}")


def _problems(err: ValidationFailed) -> str:
    """A refused rule's or file's problems, each with the field (and the file's entry)."""
    t = state.t
    said = []
    for name, text in moves.field_messages(err).items():
        parts = name.split()
        # "rule 2 severity" names an entry's field; "rule Keine Garantien" a name given twice.
        if len(parts) == 3 and parts[0] == "rule" and parts[1].isdigit():
            field = _label(parts[2])
            said.append(t("rules.in_entry", number=parts[1], field=field, message=text))
        elif name in rules.FIELDS:
            said.append(f"{_label(name)}: {text}")
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
    fields = _Fields(
        keys.RULES_SEVERITY,
        keys.RULES_SETTINGS,
        keys.RULES_MESSAGE_DE,
        keys.RULES_MESSAGE_EN,
        {
            "channels": keys.RULES_CHANNELS,
            "departments": keys.RULES_DEPARTMENTS,
            "audiences": keys.RULES_AUDIENCES,
            "campaigns": keys.RULES_CAMPAIGNS,
        },
    )
    with st.form(keys.RULES_ADD_FORM):
        st.text_input(t("rules.field.name"), max_chars=80, key=keys.RULES_NAME)
        st.selectbox(
            t("rules.field.kind"),
            options=list(rules.KINDS),
            format_func=lambda kind: t(f"rules.kind.{kind}"),
            key=keys.RULES_KIND,
        )
        _rule_fields(session, actor, fields, None)
        slot = st.empty()
        added = st.form_submit_button(t("rules.add"), key=keys.RULES_ADD)
    if not added:
        return
    get = st.session_state.get
    data = {"name": get(keys.RULES_NAME, ""), "kind": get(keys.RULES_KIND), **_typed(fields)}
    try:
        rule = rules.add_rule(session, actor=actor, data=data)
    except ValidationFailed as err:
        slot.error(
            "; ".join(f"{_label(k.split()[-1])}: {v}" for k, v in moves.field_messages(err).items())
        )
        return
    state.rerun_with_notice(
        keys.RULES_DONE,
        t("rules.added", name=rule.name),
        forget=(keys.RULES_NAME, keys.RULES_SETTINGS, keys.RULES_MESSAGE_DE, keys.RULES_MESSAGE_EN),
    )


def _transfer(session: Session, actor: User) -> None:
    t = state.t
    st.subheader(t("rules.transfer_heading"))
    st.download_button(
        t("rules.export"),
        data=rules.export_rules(session, actor=actor, fmt="yaml"),
        file_name=t("file.rules"),
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
        state.rerun_with_notice(
            keys.RULES_DONE,
            t("rules.imported", added=len(done.added), changed=len(done.changed)),
        )


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
