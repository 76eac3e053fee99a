"""Publishing rules (guidelines as code): what they are, how admins keep them, YAML/JSON.

A rule has a `kind` (what it checks, with the settings that kind needs), a `severity`
(block, warn or info), a scope (channels, departments, campaigns and audiences, each an
empty list for "all") and a message in German and English. `planner.rule_checks` applies
them in the editor, at review, approval, planning and when the engine claims a post.

The export is canonical (rules by name, every scope list, every setting with its default
filled in), so exporting what was imported gives the same text again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import time
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, col, select

from planner import audit
from planner.db import all_or_nothing
from planner.errors import Message, NotFound, ValidationFailed
from planner.models import Audience, Channel, Department, PublishingRule, User, utcnow
from planner.permissions import require
from planner.schemas import id_problem

SEVERITIES = ("block", "warn", "info")
SCOPE_KEYS = ("channels", "departments", "campaigns", "audiences")
# Rules about when a post goes out (the others are about its content).
TIME_KINDS = frozenset({"quiet_hours", "max_per_day", "min_spacing"})
# Rules about answers sent from the listening inbox (not about posts): a reply in their
# scope waits for someone other than its writer to approve it.
REPLY_KINDS = frozenset({"reply_approval"})
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_RULES = Path(__file__).resolve().parent.parent / "data" / "rules" / "default.yaml"
FORMATS = ("yaml", "json")
# The fields of a rule that a refusal may name.
FIELDS = (
    "name",
    "kind",
    "severity",
    "scope",
    "settings",
    "message_de",
    "message_en",
    "enabled",
    "channels",
    "departments",
    "audiences",
)
# The scope lists that name the planner's own channels, departments and audiences: a name
# given must be one of theirs (ignoring case) and is stored as they spell it. Campaigns are
# free text (pieces name them): matched ignoring case, never checked.
NAMED_SCOPES: dict[str, type[Channel] | type[Department] | type[Audience]] = {
    "channels": Channel,
    "departments": Department,
    "audiences": Audience,
}

_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def _bad(field: str, message: Message) -> ValidationFailed:
    return ValidationFailed({field: message})


def _terms(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _bad("settings", Message("rule_terms", "{name!r} must be a list of words", name=name))
    terms = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise _bad(
                "settings",
                Message("rule_term", "{term!r} in {name!r} is no word", term=item, name=name),
            )
        terms.append(item.strip())
    return terms


def _count(value: Any, name: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _bad(
            "settings",
            Message(
                "rule_number",
                "{name!r} must be a whole number of at least {low}, not {value!r}",
                name=name,
                low=low,
                value=value,
            ),
        )
    return value


def _clock(value: Any, name: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        # YAML 1.1 reads an unquoted 22:00 as the sexagesimal number 1320.
        value = f"{value // 60}:{value % 60:02d}"
    found = _HHMM.fullmatch(str(value)) if isinstance(value, str) else None
    if found is None:
        raise _bad(
            "settings",
            Message(
                "rule_clock",
                "{name!r} must be a time like 22:00, not {value!r}",
                name=name,
                value=value,
            ),
        )
    return f"{int(found[1]):02d}:{found[2]}"


def clock_time(text: str) -> time:
    """A rule's "HH:MM" setting as a time of day."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(
            "settings",
            Message(
                "rule_flag", "{name!r} must be true or false, not {value!r}", name=name, value=value
            ),
        )
    return value


def _terms_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    return {"terms": _terms(given.get("terms"), "terms")}


def _disclosure_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    settings = {
        "markers": _terms(given.get("markers", ["sponsored", "Werbung", "Anzeige"]), "markers"),
        "disclosures": _terms(
            given.get("disclosures", ["Anzeige", "Werbung", "#ad"]), "disclosures"
        ),
        "within": _count(given.get("within", 100), "within", low=1),
    }
    per_channel = given.get("per_channel")
    if per_channel is not None:
        # The disclosures one channel needs instead ("#ad" on one network, "Anzeige" on
        # another), by the channel's name.
        if not isinstance(per_channel, Mapping) or not all(
            isinstance(name, str) and name.strip() for name in per_channel
        ):
            raise _bad(
                "settings",
                Message(
                    "rule_per_channel",
                    "'per_channel' must map channel names to lists of words, not {value!r}",
                    value=per_channel,
                ),
            )
        settings["per_channel"] = {
            name.strip(): _terms(terms, f"per_channel: {name.strip()}")
            for name, terms in per_channel.items()
        }
    return settings


def _max_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    return {"max": _count(given.get("max"), "max")}


def _utm_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    medium = given.get("medium", "social")
    if not isinstance(medium, str) or not medium.strip():
        raise _bad(
            "settings",
            Message("rule_medium", "'medium' must be a word, not {value!r}", value=medium),
        )
    return {
        "medium": medium.strip(),
        "only_with_campaign": _flag(given.get("only_with_campaign", True), "only_with_campaign"),
    }


def _quiet_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    days = given.get("days", [])
    if not isinstance(days, list) or any(str(d).lower() not in WEEKDAYS for d in days):
        raise _bad(
            "settings",
            Message(
                "rule_days",
                "'days' must list weekdays ({names}), not {value!r}",
                names=", ".join(WEEKDAYS),
                value=days,
            ),
        )
    start, end = given.get("from"), given.get("until")
    if (start is None) != (end is None):
        raise _bad("settings", Message("rule_window", "give both 'from' and 'until', or neither"))
    if start is None and not days:
        raise _bad("settings", Message("rule_quiet_empty", "give 'from' and 'until', or 'days'"))
    settings: dict[str, Any] = {}
    if start is not None:
        settings["from"] = _clock(start, "from")
        settings["until"] = _clock(end, "until")
        if settings["from"] == settings["until"]:
            raise _bad(
                "settings", Message("rule_window", "give both 'from' and 'until', or neither")
            )
    settings["days"] = sorted({str(d).lower() for d in days}, key=WEEKDAYS.index)
    return settings


def _spacing_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    return {"minutes": _count(given.get("minutes"), "minutes", low=1)}


def _language_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    language = given.get("language", "")
    if language not in ("", "de", "en"):
        raise _bad(
            "settings",
            Message(
                "rule_language_setting", "'language' is de or en, not {value!r}", value=language
            ),
        )
    return {
        "language": language,
        "min_words": _count(given.get("min_words", 8), "min_words", low=1),
    }


def _no_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    return {}


# Each kind with the function that checks its settings and fills in their defaults.
KINDS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "forbidden_terms": _terms_settings,
    "required_terms": _terms_settings,
    "ad_disclosure": _disclosure_settings,
    "max_hashtags": _max_settings,
    "max_mentions": _max_settings,
    "utm_links": _utm_settings,
    "alt_text": _no_settings,
    "quiet_hours": _quiet_settings,
    "max_per_day": _max_settings,
    "min_spacing": _spacing_settings,
    "language": _language_settings,
    "reply_approval": _no_settings,
}


@dataclass(frozen=True)
class RuleSpec:
    """A rule as written in a file or a form, checked and canonical."""

    name: str
    kind: str
    severity: str
    scope: dict[str, list[str]]
    settings: dict[str, Any]
    message_de: str
    message_en: str
    enabled: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The rule as the export writes it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "severity": self.severity,
            "enabled": self.enabled,
            "scope": {key: list(self.scope[key]) for key in SCOPE_KEYS},
            "settings": self.settings,
            "message": {"de": self.message_de, "en": self.message_en},
        }


def checked_spec(data: Mapping[str, Any]) -> RuleSpec:
    """A rule from what was written (a file's entry, a form): checked, defaults filled in.

    Raises ValidationFailed naming each bad field and value.
    """
    problems: dict[str, str] = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 80:
        problems["name"] = Message(
            "rule_name", "a rule needs a name of 1 to 80 characters, not {value!r}", value=name
        )
    kind = data.get("kind")
    if kind is None or kind == "":
        problems["kind"] = Message(
            "rule_kind_missing", "give the rule's kind, one of: {known}", known=", ".join(KINDS)
        )
    elif kind not in KINDS:
        problems["kind"] = Message(
            "rule_kind",
            "unknown rule kind {value!r}; known: {known}",
            value=kind,
            known=", ".join(KINDS),
        )
    severity = data.get("severity", "block")
    if severity not in SEVERITIES:
        problems["severity"] = Message(
            "rule_severity", "severity is block, warn or info, not {value!r}", value=severity
        )
    elif kind in REPLY_KINDS and severity != "block":
        problems["severity"] = Message(
            "rule_reply_severity",
            "a {kind} rule holds replies until they are approved: its severity is block, "
            "not {value!r}",
            kind=kind,
            value=severity,
        )
    scope_in = data.get("scope") or {}
    scope: dict[str, list[str]] = {}
    if not isinstance(scope_in, Mapping) or set(scope_in) - set(SCOPE_KEYS):
        problems["scope"] = Message(
            "rule_scope",
            "scope may name {known}, not {value!r}",
            known=", ".join(SCOPE_KEYS),
            value=scope_in,
        )
    else:
        for key in SCOPE_KEYS:
            names = scope_in.get(key) or []
            if not isinstance(names, list) or not all(
                isinstance(n, str) and n.strip() for n in names
            ):
                problems["scope"] = Message(
                    "rule_scope_names",
                    "scope {key!r} must be a list of names, not {value!r}",
                    key=key,
                    value=names,
                )
                continue
            scope[key] = sorted({n.strip() for n in names})
    message = data.get("message") or {}
    if not isinstance(message, Mapping):
        message = {}
    texts = {lang: message.get(lang, data.get(f"message_{lang}", "")) for lang in ("de", "en")}
    for lang, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            problems[f"message_{lang}"] = Message(
                "rule_message", "the rule needs a message in {lang}", lang=lang
            )
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        problems["enabled"] = Message(
            "rule_enabled", "'enabled' is true or false, not {value!r}", value=enabled
        )
    settings: dict[str, Any] = {}
    given = data.get("settings") or {}
    if kind in KINDS and "kind" not in problems:
        if not isinstance(given, Mapping):
            problems["settings"] = Message(
                "rule_settings", "settings must be a mapping, not {value!r}", value=given
            )
        else:
            try:
                settings = KINDS[str(kind)](given)
            except ValidationFailed as err:
                problems.update(err.fields)
    if problems:
        raise ValidationFailed(problems)
    assert isinstance(name, str) and isinstance(kind, str)
    return RuleSpec(
        name=name.strip(),
        kind=kind,
        severity=str(severity),
        scope=scope,
        settings=settings,
        message_de=str(texts["de"]).strip(),
        message_en=str(texts["en"]).strip(),
        enabled=bool(enabled),
    )


def spec_of(rule: PublishingRule) -> RuleSpec:
    """A stored rule as a spec (for the export and the edit form)."""
    return RuleSpec(
        name=rule.name,
        kind=rule.kind,
        severity=rule.severity,
        scope={key: list(rule.scope.get(key, [])) for key in SCOPE_KEYS},
        settings=dict(rule.settings),
        message_de=rule.message_de,
        message_en=rule.message_en,
        enabled=rule.enabled,
    )


def list_rules(
    session: Session, *, actor: User, enabled_only: bool = False
) -> list[PublishingRule]:
    """Every rule by name (those who may view pieces: editors, approvers, admins)."""
    require(actor, "view_pieces")
    query = select(PublishingRule).order_by(col(PublishingRule.name))
    if enabled_only:
        query = query.where(col(PublishingRule.enabled).is_(True))
    return list(session.exec(query))


def enabled_rules(session: Session) -> list[PublishingRule]:
    """The rules in force, by name (for the checks; permissions are the caller's)."""
    query = select(PublishingRule).where(col(PublishingRule.enabled).is_(True))
    return list(session.exec(query.order_by(col(PublishingRule.name))))


def reply_rules(session: Session, *, channel: str, department: str | None) -> list[PublishingRule]:
    """The enabled `reply_approval` rules that take in a reply on `channel` to an item of
    `department` (campaign and audience scopes: a reply has neither, so a rule limited to
    some is outside; permissions are the caller's)."""
    return [
        rule
        for rule in enabled_rules(session)
        if rule.kind in REPLY_KINDS
        and in_scope(rule, channel=channel, department=department, campaign="", audiences=None)
    ]


def get_rule(session: Session, *, actor: User, ref: str | int) -> PublishingRule:
    """One rule by name or id (a number is tried as an id first)."""
    require(actor, "view_pieces")
    rule = None
    # Only an id a column holds is tried: not '²' (isdigit() but no int) nor 20 digits.
    if id_problem(ref) is None:
        rule = session.get(PublishingRule, int(str(ref).strip()))
    if rule is None:
        rule = session.exec(select(PublishingRule).where(PublishingRule.name == str(ref))).first()
    if rule is None:
        raise NotFound("rule", ref)
    return rule


def _unknown_names(key: str, unknown: Sequence[str], known: Sequence[str]) -> Message:
    """The refusal of scope names no channel, department or audience has; it lists those
    there are."""
    names = ", ".join(unknown)
    if key == "channels":
        if not known:
            return Message(
                "rule_unknown_channel_none_yet",
                "unknown channel {names}; there are no channels yet",
                names=names,
            )
        return Message(
            "rule_unknown_channel",
            "unknown channel {names}; known: {known}",
            names=names,
            known=", ".join(known),
        )
    if key == "departments":
        if not known:
            return Message(
                "rule_unknown_department_none_yet",
                "unknown department {names}; there are no departments yet",
                names=names,
            )
        return Message(
            "rule_unknown_department",
            "unknown department {names}; known: {known}",
            names=names,
            known=", ".join(known),
        )
    if not known:
        return Message(
            "rule_unknown_audience_none_yet",
            "unknown audience {names}; there are no audiences yet",
            names=names,
        )
    return Message(
        "rule_unknown_audience",
        "unknown audience {names}; known: {known}",
        names=names,
        known=", ".join(known),
    )


def _resolved(
    session: Session, spec: RuleSpec, keys: Collection[str] = SCOPE_KEYS
) -> tuple[RuleSpec, dict[str, str]]:
    """`spec` with the channels, departments and audiences its scope names under `keys`
    spelt as the planner spells them (found ignoring case), and the problems by scope key
    (names no channel, department or audience has)."""
    scope = {key: list(names) for key, names in spec.scope.items()}
    problems: dict[str, str] = {}
    for key, model in NAMED_SCOPES.items():
        if key not in keys or not scope.get(key):
            continue
        known = sorted(session.exec(select(model.name)), key=str.casefold)
        spelt = {name: _spelt(name, known) for name in scope[key]}
        unknown = [name for name, found in spelt.items() if found is None]
        if unknown:
            problems[key] = _unknown_names(key, unknown, known)
        else:
            scope[key] = sorted({found for found in spelt.values() if found is not None})
    return replace(spec, scope=scope), problems


def _spelt(name: str, known: Sequence[str]) -> str | None:
    """`name` as one of `known` spells it: itself, or the one name equal to it ignoring
    case; None when there is none, or several (Python folds more letters than the
    database's own case rules, so two stored names may differ only so)."""
    if name in known:
        return name
    folded = [k for k in known if k.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


def checked_scope(session: Session, spec: RuleSpec, keys: Collection[str] = SCOPE_KEYS) -> RuleSpec:
    """`spec` with every channel, department and audience its scope names (under `keys`)
    stored as the planner spells it; ValidationFailed names each scope list holding a name
    none has, with the names there are."""
    resolved, problems = _resolved(session, spec, keys)
    if problems:
        raise ValidationFailed(problems)
    return resolved


def _store(session: Session, rule: PublishingRule, spec: RuleSpec) -> None:
    rule.name = spec.name
    rule.kind = spec.kind
    rule.severity = spec.severity
    rule.scope = {key: list(spec.scope[key]) for key in SCOPE_KEYS}
    rule.settings = dict(spec.settings)
    rule.message_de = spec.message_de
    rule.message_en = spec.message_en
    rule.enabled = spec.enabled
    rule.updated_at = utcnow()
    session.add(rule)


def _store_audited(
    session: Session,
    rule: PublishingRule,
    spec: RuleSpec,
    *,
    actor: User,
    action: str,
    how: str = "",
) -> None:
    """Store `spec` in `rule` with one audit event ("rule: NAME" and `how` it came)."""
    _store(session, rule, spec)
    audit.record_change(
        session,
        rule,
        actor=actor,
        object_type="rule",
        action=action,
        note=f"rule: {spec.name}{how}",
    )


def _name_taken(session: Session, name: str, own_id: int | None) -> None:
    other = session.exec(select(PublishingRule.id).where(PublishingRule.name == name)).first()
    if other is not None and other != own_id:
        raise _bad(
            "name", Message("rule_name_taken", "there is already a rule named {name!r}", name=name)
        )


def add_rule(session: Session, *, actor: User, data: Mapping[str, Any]) -> PublishingRule:
    """Add a rule (admins); audited."""
    require(actor, "manage_rules")
    spec = checked_scope(session, checked_spec(data))
    _name_taken(session, spec.name, None)
    rule = PublishingRule(name=spec.name, kind=spec.kind, severity=spec.severity)
    with all_or_nothing(session):
        _store_audited(session, rule, spec, actor=actor, action="create")
    return rule


def edit_rule(
    session: Session, *, actor: User, ref: str | int, changes: Mapping[str, Any]
) -> PublishingRule:
    """Change a rule (admins): `changes` replaces the fields it names; audited.

    The scope lists `changes` gives are checked (a rule stored before names were checked
    may name a channel, department or audience there is no longer; it can still be
    switched off or changed otherwise).
    """
    require(actor, "manage_rules")
    rule = get_rule(session, actor=actor, ref=ref)
    merged = spec_of(rule).as_dict()
    for key, value in changes.items():
        if key in ("scope", "settings", "message") and isinstance(value, Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    if "kind" in changes and changes["kind"] != rule.kind and "settings" in changes:
        merged["settings"] = dict(changes["settings"])
    given = changes.get("scope")
    spec = checked_scope(
        session, checked_spec(merged), list(given) if isinstance(given, Mapping) else ()
    )
    _name_taken(session, spec.name, rule.id)
    with all_or_nothing(session):
        _store_audited(session, rule, spec, actor=actor, action="update")
    return rule


def set_rule_enabled(
    session: Session, *, actor: User, ref: str | int, enabled: bool
) -> PublishingRule:
    """Disable a rule (or enable it again) (admins); audited."""
    return edit_rule(session, actor=actor, ref=ref, changes={"enabled": enabled})


def export_rules(session: Session, *, actor: User, fmt: str = "yaml") -> str:
    """Every rule as YAML or JSON text, canonical, to import again elsewhere."""
    require(actor, "view_pieces")
    data = {"rules": [spec_of(r).as_dict() for r in list_rules(session, actor=actor)]}
    return dump(data, fmt)


def dump(data: Mapping[str, Any], fmt: str) -> str:
    """A rule set (`{"rules": [...]}`) as YAML or JSON text."""
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if fmt != "yaml":
        raise _bad(
            "format", Message("rule_format", "format is yaml or json, not {value!r}", value=fmt)
        )
    text: str = yaml.safe_dump(dict(data), allow_unicode=True, sort_keys=False, width=100)
    return text


def parse_rules(text: str) -> list[RuleSpec]:
    """The rules of a YAML or JSON file (JSON is YAML too), each checked; raises
    ValidationFailed naming every bad entry by its number (from 1) and field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        unreadable = (
            Message("rule_file_unreadable", "the file is neither YAML nor JSON")
            if where is None
            else Message(
                "rule_file_unreadable_at",
                "the file is neither YAML nor JSON (line {line})",
                line=where.line + 1,
            )
        )
        raise _bad("file", unreadable) from err
    entries = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise _bad("file", Message("rule_file_shape", "the file must hold a list under 'rules:'"))
    specs: list[RuleSpec] = []
    problems: dict[str, str] = {}
    for number, entry in enumerate(entries, start=1):
        try:
            if not isinstance(entry, Mapping):
                raise _bad(
                    "rule", Message("rule_entry", "a rule is a mapping, not {value!r}", value=entry)
                )
            specs.append(checked_spec(entry))
        except ValidationFailed as err:
            for field, problem in err.fields.items():
                problems[f"rule {number} {field}"] = problem
    names = [s.name for s in specs]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems[f"rule {name}"] = Message("rule_twice", "rule {name!r} appears twice", name=name)
    if problems:
        raise ValidationFailed(problems)
    return specs


@dataclass(frozen=True)
class ImportResult:
    """What an import did: rules added and rules changed, by name."""

    added: list[str]
    changed: list[str]


def import_rules(session: Session, *, actor: User, text: str) -> ImportResult:
    """Add or replace (by name) the rules of a YAML or JSON file, all or none (admins).

    Rules the file does not name stay as they are.
    """
    require(actor, "manage_rules")
    specs: list[RuleSpec] = []
    problems: dict[str, str] = {}
    for number, parsed in enumerate(parse_rules(text), start=1):
        spec, unknown = _resolved(session, parsed)
        specs.append(spec)
        problems.update({f"rule {number} {key}": found for key, found in unknown.items()})
    if problems:
        raise ValidationFailed(problems)
    existing = {r.name: r for r in session.exec(select(PublishingRule))}
    added: list[str] = []
    changed: list[str] = []
    with all_or_nothing(session):
        for spec in specs:
            rule = existing.get(spec.name)
            if rule is None:
                rule = PublishingRule(name=spec.name, kind=spec.kind, severity=spec.severity)
                _store_audited(session, rule, spec, actor=actor, action="create", how=" (imported)")
                added.append(spec.name)
            elif spec_of(rule) != spec:
                _store_audited(session, rule, spec, actor=actor, action="update", how=" (imported)")
                changed.append(spec.name)
    return ImportResult(added, changed)


def load_default_rules(session: Session, *, actor: User) -> ImportResult:
    """Import the default rule set shipped with the planner (data/rules/default.yaml)."""
    return import_rules(session, actor=actor, text=DEFAULT_RULES.read_text(encoding="utf-8"))


def has_rules(session: Session) -> bool:
    """Whether any rule was ever defined (a fresh install offers the default set)."""
    return session.exec(select(PublishingRule.id).limit(1)).first() is not None


def in_scope(
    rule: PublishingRule,
    *,
    channel: str,
    department: str | None,
    campaign: str,
    audiences: Sequence[str] | None,
) -> bool:
    """Whether `rule` applies to a post on `channel` of a piece with these attributes.

    An empty scope list applies to all. Audiences are matched only when the piece has an
    audience attribute at all (`audiences` not None); without one, that part is skipped.
    Names are compared ignoring case (a rule stored before its names were checked may
    spell one otherwise than the planner does).
    """
    scope = rule.scope
    if scope.get("channels") and channel.casefold() not in _folded(scope["channels"]):
        return False
    if scope.get("departments") and (
        department is None or department.casefold() not in _folded(scope["departments"])
    ):
        return False
    if scope.get("campaigns") and campaign.casefold() not in _folded(scope["campaigns"]):
        return False
    wanted = scope.get("audiences")
    return not (wanted and audiences is not None and not _folded(wanted) & _folded(audiences))


def _folded(names: Iterable[object]) -> set[str]:
    return {str(name).casefold() for name in names}


def rename_in_scopes(session: Session, *, actor: User, key: str, old: str, new: str) -> list[str]:
    """Call `old` `new` in the `key` scope list ("channels", "departments" or "audiences")
    of every rule that names it (and, for a channel, in an advertising-disclosure rule's
    words per channel), when that channel, department or audience is renamed, before the
    rename is stored: each rule changed gets an audit event. The caller commits, with the
    rename. A name differing from `old` only in case is taken for it only where it means
    no other one (`_spelt`).

    The names of the rules changed.
    """
    # As before the rename, whether the caller stored it already or not.
    stored = session.exec(select(NAMED_SCOPES[key].name))
    known = sorted({name for name in stored if name != new} | {old})

    def renamed(name: str) -> str:
        return new if _spelt(name, known) == old else name

    changed: list[str] = []
    for rule in session.exec(select(PublishingRule).order_by(col(PublishingRule.name))):
        spec = spec_of(rule)
        names = [str(n) for n in spec.scope.get(key, [])]
        words = spec.settings.get("per_channel") if key == "channels" else None
        per_channel = dict(words) if isinstance(words, Mapping) else {}
        if all(renamed(n) == n for n in [*names, *map(str, per_channel)]):
            continue
        scope = {**spec.scope, key: sorted({renamed(n) for n in names})} if names else spec.scope
        settings = dict(spec.settings)
        if per_channel:
            settings["per_channel"] = {renamed(str(n)): w for n, w in per_channel.items()}
        spec = replace(spec, scope=scope, settings=settings)
        _store_audited(session, rule, spec, actor=actor, action="update")
        changed.append(rule.name)
    return changed
