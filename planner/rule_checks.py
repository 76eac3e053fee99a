"""Applying the publishing rules: findings on a text, times, overrides, the next free slot.

Content rules (terms, advertising disclosure, hashtags, mentions, UTM links, alt text,
language) look at the text a channel is sent (its variant, or the master text). Time
rules (quiet hours, posts per day, spacing) look at when a post goes out on a channel,
in the organisation's time zone; a channel's daily cap is one of them (severity block).
A blocking finding stops review, approval, planning and publishing unless an approver
overrode it for that revision with a written justification (audited as `rule_override`);
a blocking time finding proposes the next allowed slot. An override of a time rule lets
the posts of that revision of the piece through it wherever times are checked (planning,
moving, series, the next free slot, the engine's claim); a later revision is checked anew.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from planner import audit
from planner.db import all_or_nothing, where_equal, where_within, within_period
from planner.errors import FourEyesViolation, Message, NotFound, ValidationFailed
from planner.models import (
    Audience,
    Channel,
    Department,
    Idea,
    Piece,
    PieceStatus,
    Post,
    PostStatus,
    PublishingRule,
    RecordedFinding,
    Revision,
    RuleOverride,
    User,
)
from planner.org_settings import get_setting
from planner.permissions import require
from planner.rules import REPLY_KINDS, TIME_KINDS, WEEKDAYS, clock_time, enabled_rules, in_scope
from planner.schemas import check_text
from planner.timezones import zone
from publishers.base import Media

log = logging.getLogger(__name__)

# The preview's patterns for what a network marks in a text.
_LINK = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'’]")
_HASHTAG = re.compile(r"(?<![\w#&])#\w+")
_MENTION = re.compile(r"(?<![\w@/])@\w+(?:[.\-]\w+)*(?:@\w+(?:[.\-]\w+)*\.\w+)?")
_WORD = re.compile(r"[^\W\d_]+")
_UTM = ("utm_source", "utm_medium", "utm_campaign")
# Posts that take a place on their channel's day (for caps and spacing).
_OCCUPYING = (
    PostStatus.planned,
    PostStatus.publishing,
    PostStatus.published,
    PostStatus.needs_check,
    PostStatus.awaiting_manual,
)
# How long the engine holds a post with a blocking content finding before it looks again
# (an override or a changed rule may release it).
CONTENT_RECHECK = timedelta(minutes=30)
_MAX_STEPS = 1000

# Short, frequent words of each language the language rule tells apart.
_STOPWORDS = {
    "de": frozenset(
        "der die das und ist nicht ein eine mit für auf sich den dem des von zu im ich wir "
        "sie es auch wie bei oder aus nach einem einer noch nur sind wird werden hat".split()
    ),
    "en": frozenset(
        "the and is are not a an with for on to of in it we you they this that be by or "
        "from at as have has will can our your more about".split()
    ),
}


def normalised(text: str) -> str:
    """`text` casefolded with umlauts written out (ä=ae, ö=oe, ü=ue, ß=ss), for matching."""
    folded = unicodedata.normalize("NFC", text).casefold()
    return folded.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")


def has_term(text: str, term: str) -> bool:
    """Whether `term` occurs in `text` as whole words, ignoring case and umlaut spelling."""
    pattern = r"(?<!\w)" + re.escape(normalised(term)) + r"(?!\w)"
    return re.search(pattern, normalised(text)) is not None


def term_at(text: str, term: str) -> int | None:
    """Where `term` first occurs in `text` as whole words (an offset in the normalised
    text, close to the original's), or None."""
    found = re.search(r"(?<!\w)" + re.escape(normalised(term)) + r"(?!\w)", normalised(text))
    return found.start() if found else None


def detect_language(text: str, *, min_words: int = 8) -> str | None:
    """ "de" or "en" by their frequent words, or None for a text too short or unclear."""
    words = [w.casefold() for w in _WORD.findall(text)]
    if len(words) < min_words:
        return None
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    others = [s for lang, s in scores.items() if lang != best]
    return best if scores[best] > 0 and scores[best] > max(others) else None


def with_utm(text: str, *, source: str, medium: str, campaign: str) -> str:
    """`text` with every link given the UTM parameters it lacks (existing ones kept)."""

    def fixed(match: re.Match[str]) -> str:
        parts = urlsplit(match.group())
        query = parse_qsl(parts.query, keep_blank_values=True)
        have = {k for k, _v in query}
        wanted = {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}
        query += [(k, v) for k, v in wanted.items() if k not in have]
        return urlunsplit(parts._replace(query=urlencode(query)))

    return _LINK.sub(fixed, text)


def slug(text: str) -> str:
    """A name as a UTM value: lower case, umlauts written out, words joined by hyphens."""
    words = re.findall(r"\w+", normalised(text).replace("ß", "ss"))
    return "-".join(words)


def revision_images(session: Session, content: Piece | Revision) -> list[Media]:
    """The images of a piece's content (its current revision, or a stored one) with their
    alt texts, as the alt-text rule checks them in the editor, at review and approval.

    At claim, a post's message carries the approved revision's files already (and the
    post's own media), so the engine checks those instead.
    """
    return [
        Media(
            url=f"media:{ref.get('id')}",
            alt_text=str(ref.get("alt_text") or ""),
            mime_type=str(ref.get("mime_type") or ""),
        )
        for ref in getattr(content, "media", None) or []
        if str(ref.get("mime_type") or "").startswith("image/")
    ]


@dataclass(frozen=True)
class Subject:
    """What the rules look at: the text one channel is sent and what the piece is."""

    channel: Channel
    text: str
    tags: Sequence[str]
    campaign: str
    department: str | None
    audiences: Sequence[str] | None
    media: Sequence[Media] = ()
    # (rule id, channel id or None for all) pairs an approver overrode for the revision
    # the subject is of: the content and the time rules honour them alike.
    overridden: frozenset[tuple[int, int | None]] = frozenset()


@dataclass(frozen=True)
class RuleFinding:
    """One rule's finding on one channel: its severity, message, and (for time rules)
    the next allowed slot; `overridden` when an approver overrode a blocking one."""

    rule_id: int | None
    rule: str
    kind: str
    severity: str
    channel_id: int
    channel: str
    message: Message
    overridden: bool = False
    slot: datetime | None = None

    @property
    def blocks(self) -> bool:
        """Whether it stops review, approval, planning and publishing."""
        return self.severity == "block" and not self.overridden


@dataclass(frozen=True)
class _Rule:
    """A rule as the checks use it: a stored rule, or a channel's daily cap."""

    id: int | None
    name: str
    kind: str
    severity: str
    settings: Mapping[str, Any]
    message_de: str
    message_en: str


def _as_rule(rule: PublishingRule) -> _Rule:
    return _Rule(
        rule.id,
        rule.name,
        rule.kind,
        rule.severity,
        rule.settings,
        rule.message_de,
        rule.message_en,
    )


def _cap_rule(channel: Channel) -> _Rule | None:
    """A channel's daily cap as a blocking rule of kind max_per_day."""
    if channel.daily_cap is None:
        return None
    return _Rule(
        None,
        f"daily cap of {channel.name}",
        "max_per_day",
        "block",
        {"max": channel.daily_cap},
        f"Höchstens {channel.daily_cap} Posts am Tag auf diesem Kanal.",
        f"At most {channel.daily_cap} posts a day on this channel.",
    )


def _waived(rule: _Rule, channel: Channel, waived: Iterable[tuple[int, int | None]]) -> bool:
    """Whether an approver overrode `rule` on `channel` (or on all channels)."""
    pairs = set(waived)
    return rule.id is not None and ((rule.id, channel.id) in pairs or (rule.id, None) in pairs)


def _per_channel(settings: Mapping[str, Any], channel: str) -> list[str] | None:
    """The disclosure words an ad-disclosure rule names for `channel` (its name matched
    ignoring case, as rule scopes are), or None."""
    for name, words in settings.get("per_channel", {}).items():
        if name.casefold() == channel.casefold():
            return list(words)
    return None


def _finding(rule: _Rule, channel: Channel, detail: Message, **extra: Any) -> RuleFinding:
    assert channel.id is not None
    message = Message(
        "rule_finding",
        "rule {rule!r} on channel {channel!r}: {message_en} ({detail})",
        rule=rule.name,
        channel=channel.name,
        message_de=rule.message_de,
        message_en=rule.message_en,
        detail=detail,
    )
    return RuleFinding(
        rule.id, rule.name, rule.kind, rule.severity, channel.id, channel.name, message, **extra
    )


# --- content --------------------------------------------------------------------------


def _links_without_utm(text: str) -> list[str]:
    missing = []
    for link in _LINK.findall(text):
        have = {k for k, _v in parse_qsl(urlsplit(link).query, keep_blank_values=True)}
        if not set(_UTM) <= have:
            missing.append(link)
    return missing


def _content_detail(rule: _Rule, subject: Subject, images: Sequence[Media]) -> Message | None:
    """What `rule` finds in `subject`, or None."""
    s, text = rule.settings, subject.text
    if rule.kind == "forbidden_terms":
        found = [t for t in s["terms"] if has_term(text, t)]
        if found:
            return Message("rule_forbidden", "forbidden: {terms}", terms=", ".join(found))
    elif rule.kind == "required_terms":
        missing = [t for t in s["terms"] if not has_term(text, t)]
        if missing:
            return Message("rule_required", "missing: {terms}", terms=", ".join(missing))
    elif rule.kind == "ad_disclosure":
        if any(normalised(m) == normalised(tag) for m in s["markers"] for tag in subject.tags):
            wanted = _per_channel(s, subject.channel.name) or s["disclosures"]
            places = [p for d in wanted if (p := term_at(text, d)) is not None]
            if not places:
                return Message(
                    "rule_disclosure_missing",
                    "advertising without a disclosure ({disclosures})",
                    disclosures=", ".join(wanted),
                )
            if min(places) >= s["within"]:
                return Message(
                    "rule_disclosure_late",
                    "the disclosure must be within the first {within} characters",
                    within=s["within"],
                )
    elif rule.kind in ("max_hashtags", "max_mentions"):
        pattern = _HASHTAG if rule.kind == "max_hashtags" else _MENTION
        used = len(pattern.findall(text))
        if used > s["max"]:
            if rule.kind == "max_hashtags":
                return Message(
                    "rule_max_hashtags", "{used} hashtags, at most {max}", used=used, max=s["max"]
                )
            return Message(
                "rule_max_mentions", "{used} mentions, at most {max}", used=used, max=s["max"]
            )
    elif rule.kind == "utm_links":
        if s["only_with_campaign"] and not subject.campaign.strip():
            return None
        missing = _links_without_utm(text)
        if missing:
            return Message(
                "rule_utm", "links without UTM parameters: {links}", links=" ".join(missing)
            )
    elif rule.kind == "alt_text":
        without = sum(1 for m in [*images, *subject.media] if not m.alt_text.strip())
        if without:
            return Message("rule_alt_text", "{count} image(s) without alt text", count=without)
    elif rule.kind == "language":
        wanted = s["language"] or str(subject.channel.settings.get("language") or "")
        # A channel's language may be a tag with a region ("de-AT"): its first part counts.
        expected = wanted.split("-")[0].lower()
        language = detect_language(text, min_words=s["min_words"])
        if expected and language is not None and language != expected:
            return Message(
                "rule_language",
                "the text is in {found}, the channel wants {expected}",
                found=language,
                expected=expected,
            )
    return None


def _applicable(
    rules: Iterable[PublishingRule], subject: Subject, *, time_rules: bool
) -> list[_Rule]:
    chosen = [
        _as_rule(r)
        for r in rules
        if (r.kind in TIME_KINDS) == time_rules
        and r.kind not in REPLY_KINDS
        and in_scope(
            r,
            channel=subject.channel.name,
            department=subject.department,
            campaign=subject.campaign,
            audiences=subject.audiences,
        )
    ]
    cap = _cap_rule(subject.channel)
    if time_rules and cap is not None:
        chosen.append(cap)
    return chosen


def content_findings(
    subject: Subject,
    rules: Iterable[PublishingRule],
    *,
    images: Sequence[Media] = (),
) -> list[RuleFinding]:
    """What the content rules find in `subject` (those an approver overrode for its
    revision found `overridden`)."""
    waived = subject.overridden
    found = []
    for rule in _applicable(rules, subject, time_rules=False):
        detail = _content_detail(rule, subject, images)
        if detail is not None:
            over = _waived(rule, subject.channel, waived)
            found.append(_finding(rule, subject.channel, detail, overridden=over))
    return found


def _department_name(session: Session, piece: Piece) -> str | None:
    if piece.idea_id is None:
        return None
    row = session.exec(
        select(Department.name)
        .join(Idea, col(Idea.department_id) == Department.id)
        .where(Idea.id == piece.idea_id)
    ).first()
    return row


def _audience_names(session: Session) -> dict[int, str]:
    """Every audience's name by id (a handful: read once per check)."""
    return {int(i or 0): name for i, name in session.exec(select(Audience.id, Audience.name))}


def _audiences(piece: Piece, names: Mapping[int, str]) -> list[str]:
    """The piece's audiences by name: its one, or none."""
    if piece.audience_id is None or piece.audience_id not in names:
        return []
    return [names[piece.audience_id]]


def subject_of(
    session: Session,
    piece: Piece,
    channel: Channel,
    *,
    content: Piece | Revision | None = None,
    media: Sequence[Media] = (),
    text: str | None = None,
) -> Subject:
    """The subject for `channel`: `text`, or the content's variant for it or master text,
    with the overrides of the content's revision (the piece's current one by default)."""
    department = _department_name(session, piece)
    names = _audience_names(session)
    content = content or piece
    revision = content.number if isinstance(content, Revision) else piece.revision
    waived = overrides_of(session, piece.id, revision) if piece.id is not None else set()
    return _subject(piece, channel, content, media, department, names, text=text, overridden=waived)


def _subject(
    piece: Piece,
    channel: Channel,
    content: Piece | Revision,
    media: Sequence[Media],
    department: str | None,
    audiences: Mapping[int, str],
    *,
    text: str | None = None,
    overridden: Iterable[tuple[int, int | None]] = (),
) -> Subject:
    if text is None:
        text = content.variants.get(str(channel.id)) or content.body
    return Subject(
        channel=channel,
        text=text,
        tags=list(content.tags),
        campaign=content.campaign,
        department=department,
        audiences=_audiences(piece, audiences),
        media=media,
        overridden=frozenset(overridden),
    )


def overrides_of(session: Session, piece_id: int, revision: int) -> set[tuple[int, int | None]]:
    """The (rule, channel or None) pairs overridden for revision `revision` of a piece."""
    rows = session.exec(
        select(RuleOverride.rule_id, RuleOverride.channel_id).where(
            RuleOverride.piece_id == piece_id, RuleOverride.revision == revision
        )
    )
    return {(int(r), c) for r, c in rows}


def piece_findings(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    channels: Sequence[Channel],
    texts: Mapping[int, str] | None = None,
) -> list[RuleFinding]:
    """What the content rules find in a piece's current content on `channels` (or in
    `texts`, by channel id: what the editor holds before it is saved)."""
    require(actor, "view_pieces")
    rules = enabled_rules(session)
    if not rules:
        return []
    images = revision_images(session, piece)
    found: list[RuleFinding] = []
    for channel in channels:
        assert channel.id is not None
        text = (texts or {}).get(channel.id)
        # The subject carries the overrides of the piece's current revision.
        subject = subject_of(session, piece, channel, text=text)
        found += content_findings(subject, rules, images=images)
    return found


def _joined(findings: Sequence[RuleFinding]) -> Message:
    joined = findings[-1].message
    for f in reversed(findings[:-1]):
        joined = Message("several_findings", "{first}; {rest}", first=f.message, rest=joined)
    return joined


def require_no_blocking(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    channels: Sequence[Channel],
    into: list[RuleFinding] | None = None,
) -> None:
    """Raise ValidationFailed (on "rules") naming every blocking finding not overridden;
    `into`, when given, receives every finding (of any severity), also when it raises."""
    found = piece_findings(session, actor=actor, piece=piece, channels=channels)
    if into is not None:
        into.extend(found)
    blocking = [f for f in found if f.blocks]
    if blocking:
        raise ValidationFailed({"rules": _joined(blocking)})


def findings_of_pieces(
    session: Session, *, actor: User, pieces: Sequence[Piece]
) -> dict[int, list[RuleFinding]]:
    """What the content rules find in each piece's current content on the channels it has
    a variant for or a post (not cancelled) on, by piece id: the same checks as
    `piece_findings`, with rules, channels, posts, departments and overrides read once
    for all pieces (a report over hundreds of pieces)."""
    require(actor, "view_pieces")
    rules = enabled_rules(session)
    ids = sorted(p.id for p in pieces if p.id is not None)
    if not rules or not ids:
        return {}
    channels = {c.id: c for c in session.exec(select(Channel))}
    posted: dict[int, set[int]] = {}
    waived: dict[tuple[int, int], set[tuple[int, int | None]]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        posts = select(Post.piece_id, Post.channel_id).where(
            col(Post.piece_id).in_(chunk), Post.status != PostStatus.cancelled
        )
        for piece_id, channel_id in session.exec(posts):
            posted.setdefault(piece_id, set()).add(channel_id)
        overrides = select(
            RuleOverride.piece_id,
            RuleOverride.revision,
            RuleOverride.rule_id,
            RuleOverride.channel_id,
        ).where(col(RuleOverride.piece_id).in_(chunk))
        for piece_id, revision, rule_id, on_channel in session.exec(overrides):
            waived.setdefault((piece_id, revision), set()).add((rule_id, on_channel))
    idea_ids = sorted({p.idea_id for p in pieces if p.idea_id is not None})
    departments: dict[int, str] = {}
    for start in range(0, len(idea_ids), 500):
        named = (
            select(Idea.id, Department.name)
            .join(Department, col(Idea.department_id) == Department.id)
            .where(col(Idea.id).in_(idea_ids[start : start + 500]))
        )
        departments.update({int(i): n for i, n in session.exec(named) if i is not None})
    names = _audience_names(session)
    found: dict[int, list[RuleFinding]] = {}
    for piece in pieces:
        if piece.id is None:
            continue
        on = {int(k) for k in piece.variants if k.isdigit()} | posted.get(piece.id, set())
        department = departments.get(piece.idea_id) if piece.idea_id is not None else None
        images = revision_images(session, piece)
        over = waived.get((piece.id, piece.revision), set())
        piece_found: list[RuleFinding] = []
        for channel in sorted((channels[i] for i in on if i in channels), key=lambda c: c.name):
            subject = _subject(piece, channel, piece, (), department, names, overridden=over)
            piece_found += content_findings(subject, rules, images=images)
        found[piece.id] = piece_found
    return found


def record_findings(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    step: str,
    findings: Sequence[RuleFinding],
    stopped: bool,
) -> None:
    """Keep what the check at a workflow step (submit, approve) found in the piece's
    current revision, and whether it refused the step; added to the session for the
    caller's transaction to store."""
    assert actor.id is not None and piece.id is not None
    session.add_all(
        RecordedFinding(
            step=step,
            stopped=stopped,
            piece_id=piece.id,
            revision=piece.revision,
            channel_id=f.channel_id,
            rule_id=f.rule_id,
            rule=f.rule,
            severity=f.severity,
            overridden=f.overridden,
            actor_id=actor.id,
        )
        for f in findings
    )


def record_refusal(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    step: str,
    findings: Sequence[RuleFinding],
) -> None:
    """Store the findings that refused a step, in a transaction of their own (nothing else
    was written: the refusal came before the change). Failing to store them is logged;
    the caller still raises its refusal."""
    try:
        with all_or_nothing(session):
            record_findings(
                session, actor=actor, piece=piece, step=step, findings=findings, stopped=True
            )
    except SQLAlchemyError:
        log.warning("could not record the rule findings that refused %s of piece %s", step,
                    piece.id, exc_info=True)  # fmt: skip


# --- overrides ------------------------------------------------------------------------


def refuse_own_work(session: Session, *, actor: User, piece_id: int, approving: bool) -> None:
    """Raise FourEyesViolation if `actor` wrote or edited any revision of the piece or
    submitted the idea it was made from (whose pitch became its first text): they may
    neither approve it (`approving`) nor override its rules (four-eyes rule)."""
    authors = set(session.exec(select(Revision.author_id).where(Revision.piece_id == piece_id)))
    if actor.id in authors:
        doing = "approve it" if approving else "override its rules"
        raise FourEyesViolation(
            f"{actor.username!r} wrote or edited piece {piece_id} and so may not {doing}; "
            "another approver must (four-eyes rule)"
        )
    submitted = session.exec(
        select(Idea.id)
        .join(Piece, col(Piece.idea_id) == Idea.id)
        .where(Piece.id == piece_id, Idea.submitted_by_id == actor.id)
    ).first()
    if submitted is None:
        return
    if approving:
        raise FourEyesViolation(
            Message(
                "four_eyes_idea_approve",
                "{user!r} submitted idea #{idea}, whose text piece {piece} was made from, and "
                "so may not approve it; another approver must (four-eyes rule)",
                user=actor.username,
                idea=submitted,
                piece=piece_id,
            )
        )
    raise FourEyesViolation(
        Message(
            "four_eyes_idea_override",
            "{user!r} submitted idea #{idea}, whose text piece {piece} was made from, and so "
            "may not override its rules; another approver must (four-eyes rule)",
            user=actor.username,
            idea=submitted,
            piece=piece_id,
        )
    )


def override_finding(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    revision: int,
    rule: str | int,
    channel_id: int | None,
    justification: str,
) -> RuleOverride:
    """An approver lets revision `revision` of a piece pass a blocking rule (on one channel,
    or on all with `channel_id` None), with a written justification; audited as
    `rule_override`. Never by someone who wrote or edited the piece (four-eyes).

    For a time rule (quiet hours, a cap, spacing) the posts of that revision pass it when
    planned, moved or claimed; those of a later revision are checked again."""
    require(actor, "override_rules")
    check_text(justification, "justification")
    if len(justification.strip()) < 10:
        raise ValidationFailed(
            {
                "justification": Message(
                    "override_justification",
                    "write why the rule does not apply (at least 10 characters), not {value!r}",
                    value=justification.strip(),
                )
            }
        )
    piece = session.get(Piece, piece_id)
    if piece is None:
        raise NotFound("piece", piece_id)
    if revision != piece.revision:
        raise ValidationFailed(
            {
                "revision": Message(
                    "override_revision",
                    "piece {piece} is at revision {current}, not {revision}",
                    piece=piece_id,
                    current=piece.revision,
                    revision=revision,
                )
            }
        )
    from planner.rules import get_rule  # the module above this one

    found = get_rule(session, actor=actor, ref=rule)
    refuse_own_work(session, actor=actor, piece_id=piece_id, approving=False)
    channel_name = ""  # all channels
    if channel_id is not None:
        channel = session.get(Channel, channel_id)
        if channel is None:
            raise NotFound("channel", channel_id)
        channel_name = channel.name
    assert actor.id is not None and found.id is not None
    row = RuleOverride(
        piece_id=piece_id,
        revision=revision,
        rule_id=found.id,
        channel_id=channel_id,
        justification=justification.strip(),
        approver_id=actor.id,
    )
    with all_or_nothing(session):
        session.add(row)
        audit.record(
            session,
            actor=actor,
            object_type="piece",
            object_id=piece_id,
            action="rule_override",
            version=revision,
            # Read back by `audit.note_message`: rule, channel ("" for all), justification.
            note=f"rule: {found.name}\nchannel: {channel_name}\n{justification.strip()}",
        )
    return row


@dataclass(frozen=True)
class OverrideRow:
    """One override, for the piece and for reports."""

    id: int
    at: datetime
    piece_id: int
    revision: int
    rule: str
    channel: str | None
    approver: str
    justification: str


def list_overrides(
    session: Session,
    *,
    actor: User,
    piece_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[OverrideRow]:
    """Overrides, oldest first: of one piece, and/or made in [since, until) (those who may
    view pieces; a QM report counts these)."""
    require(actor, "view_pieces")
    query = (
        select(RuleOverride, PublishingRule.name, User.display_name)
        .join(PublishingRule, col(PublishingRule.id) == RuleOverride.rule_id)
        .join(User, col(User.id) == RuleOverride.approver_id)
        .order_by(col(RuleOverride.created_at), col(RuleOverride.id))
    )
    query = where_equal(query, (RuleOverride.piece_id, piece_id))
    query = where_within(query, RuleOverride.created_at, since, until)
    names = dict(session.exec(select(Channel.id, Channel.name)).all())
    return [
        OverrideRow(
            id=int(o.id or 0),
            at=o.created_at,
            piece_id=o.piece_id,
            revision=o.revision,
            rule=rule,
            channel=names.get(o.channel_id) if o.channel_id is not None else None,
            approver=approver,
            justification=o.justification,
        )
        for o, rule, approver in session.exec(query)
    ]


@dataclass(frozen=True)
class RuleReport:
    """Overrides and posts held by a rule in a period, for quality management."""

    overrides: list[OverrideRow]
    overrides_by_rule: dict[str, int]
    held_by_rule: int


def rule_report(session: Session, *, actor: User, since: datetime, until: datetime) -> RuleReport:
    """What the rules did in [since, until): each override, overrides per rule, and how
    often the engine held a post by a rule (ledger outcome "rule")."""
    from planner.models import PublishAttempt

    overrides = list_overrides(session, actor=actor, since=since, until=until)
    by_rule: dict[str, int] = {}
    for o in overrides:
        by_rule[o.rule] = by_rule.get(o.rule, 0) + 1
    held = session.exec(
        select(func.count())
        .select_from(PublishAttempt)
        .where(
            PublishAttempt.outcome == "rule",
            *within_period(PublishAttempt.started_at, since, until),
        )
    ).one()
    return RuleReport(overrides, dict(sorted(by_rule.items())), int(held))


# --- time -----------------------------------------------------------------------------


def org_zone(session: Session) -> str:
    """The organisation's time zone, in which quiet hours and days are counted."""
    return get_setting(session, "org_timezone")


def _at(day: date, clock: time, tz_name: str) -> datetime:
    """Local wall-clock `clock` on `day` as a UTC instant (a time in a DST gap counts as
    the moment after the jump, a repeated one as its first occurrence)."""
    return datetime.combine(day, clock, tzinfo=zone(tz_name)).astimezone(UTC)


def _day_bounds(instant: datetime, tz_name: str) -> tuple[datetime, datetime]:
    day = instant.astimezone(zone(tz_name)).date()
    return _at(day, time(0), tz_name), _at(day + timedelta(days=1), time(0), tz_name)


def quiet_until(settings: Mapping[str, Any], instant: datetime, tz_name: str) -> datetime | None:
    """When the quiet period that holds `instant` ends, or None if it is not quiet."""
    local = instant.astimezone(zone(tz_name))
    day = local.date()
    if WEEKDAYS[local.weekday()] in settings.get("days", []):
        return _at(day + timedelta(days=1), time(0), tz_name)
    if "from" not in settings:
        return None
    start, end = clock_time(settings["from"]), clock_time(settings["until"])
    now = local.time().replace(tzinfo=None)
    if start < end:
        return _at(day, end, tz_name) if start <= now < end else None
    if now >= start:
        return _at(day + timedelta(days=1), end, tz_name)
    if now < end:
        return _at(day, end, tz_name)
    return None


def _time_detail(
    rule: _Rule, at: datetime, taken: Sequence[datetime], tz_name: str
) -> tuple[Message, datetime] | None:
    """What a time rule finds for a post at `at` among the channel's `taken` instants, and
    the earliest instant this rule alone would allow."""
    s = rule.settings
    if rule.kind == "quiet_hours":
        end = quiet_until(s, at, tz_name)
        if end is not None:
            return Message("rule_quiet", "quiet time on this channel"), end
    elif rule.kind == "max_per_day":
        start, end = _day_bounds(at, tz_name)
        used = sum(1 for t in taken if start <= t < end)
        if used >= s["max"]:
            return Message(
                "rule_cap", "{used} posts that day already, at most {max}", used=used, max=s["max"]
            ), end
    elif rule.kind == "min_spacing":
        gap = timedelta(minutes=s["minutes"])
        close = [t for t in taken if abs(t - at) < gap]
        if close:
            return Message(
                "rule_spacing",
                "less than {minutes} minutes from another post",
                minutes=s["minutes"],
            ), max(close) + gap
    return None


def _next_slot(
    rules: Sequence[_Rule], at: datetime, taken: Sequence[datetime], tz_name: str
) -> datetime:
    """The first instant from `at` that no blocking time rule refuses."""
    blocking = [r for r in rules if r.severity == "block"]
    for _ in range(_MAX_STEPS):
        later = [d[1] for r in blocking if (d := _time_detail(r, at, taken, tz_name))]
        if not later:
            return at
        at = max(later)
    raise ValidationFailed(
        {"publish_at": Message("rule_no_slot", "the rules leave no time to publish")}
    )


def _slot_message(slot: datetime, tz_name: str) -> Message:
    return Message(
        "rule_next_slot",
        "next allowed: {slot:%Y-%m-%d %H:%M %Z}",
        slot=slot.astimezone(zone(tz_name)),
    )


def _binding(rules: Sequence[_Rule], subject: Subject) -> list[_Rule]:
    """Those of `rules` no approver overrode for the subject's revision and channel."""
    return [r for r in rules if not _waived(r, subject.channel, subject.overridden)]


def time_findings(
    subject: Subject,
    rules: Iterable[PublishingRule],
    *,
    at: datetime,
    taken: Sequence[datetime],
    tz_name: str,
) -> list[RuleFinding]:
    """What the time rules find for a post of `subject` at `at`, given the instants
    `taken` by other posts on its channel; a blocking finding carries the next slot
    (that the rules not overridden for the subject's revision allow). A rule overridden
    for it is found `overridden`, without a slot, and refuses nothing."""
    applicable = _applicable(rules, subject, time_rules=True)
    binding = _binding(applicable, subject)
    found = []
    slot: datetime | None = None
    for rule in applicable:
        detail = _time_detail(rule, at, taken, tz_name)
        if detail is None:
            continue
        message, _later = detail
        over = _waived(rule, subject.channel, subject.overridden)
        blocks = rule.severity == "block" and not over
        if blocks:
            slot = slot or _next_slot(binding, at, taken, tz_name)
            message = Message(
                "rule_with_slot",
                "{finding}; {slot}",
                finding=message,
                slot=_slot_message(slot, tz_name),
            )
        found.append(
            _finding(rule, subject.channel, message, overridden=over, slot=slot if blocks else None)
        )
    return found


def taken_instants(
    session: Session,
    channel_id: int,
    *,
    around: datetime,
    exclude: Sequence[int] = (),
    until: datetime | None = None,
) -> list[datetime]:
    """When the channel's other posts (planned or out) go or went out, from two days
    before `around` to `until` (default: 40 days after; what caps and spacing count)."""
    instant = func.coalesce(col(Post.published_at), col(Post.publish_at))
    query = select(instant).where(
        Post.channel_id == channel_id,
        col(Post.status).in_(_OCCUPYING),
        instant >= around - timedelta(days=2),
        instant < (until or around + timedelta(days=40)),
    )
    if exclude:
        query = query.where(col(Post.id).not_in(list(exclude)))
    return sorted(_aware(value) for value in session.exec(query))


def next_free_slot(
    session: Session,
    *,
    actor: User,
    piece_id: int,
    channel_id: int,
    after: datetime,
    exclude_post: int | None = None,
) -> datetime:
    """The first instant from `after` at which the time rules let a post of this piece go
    out on this channel (quiet hours, caps and spacing, in the organisation's zone; those
    an approver overrode for the piece's current revision aside)."""
    require(actor, "view_pieces")
    piece = session.get(Piece, piece_id)
    channel = session.get(Channel, channel_id)
    if piece is None:
        raise NotFound("piece", piece_id)
    if channel is None:
        raise NotFound("channel", channel_id)
    subject = subject_of(session, piece, channel)
    applicable = _binding(_applicable(enabled_rules(session), subject, time_rules=True), subject)
    exclude = [exclude_post] if exclude_post is not None else []
    taken = taken_instants(session, channel_id, around=after, exclude=exclude)
    return _next_slot(applicable, after, taken, org_zone(session))


def content_settled(piece: Piece) -> bool:
    """Whether planning checks the piece's content: not while it is still being written (a
    draft, or with changes requested), when submission checks it."""
    return piece.status not in (PieceStatus.draft, PieceStatus.changes_requested)


def planning_findings(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    channel: Channel,
    at: datetime,
    exclude_post: int | None = None,
    check_content: bool | None = None,
) -> list[RuleFinding]:
    """Every rule's finding for planning `piece` on `channel` at `at`: the time, and its
    content unless `check_content` is False (by default: unless the piece is still being
    written, a draft or with changes requested)."""
    require(actor, "view_pieces")
    rules = enabled_rules(session)
    subject = subject_of(session, piece, channel)
    found: list[RuleFinding] = []
    if check_content is None:
        check_content = content_settled(piece)
    if check_content:
        found += piece_findings(session, actor=actor, piece=piece, channels=[channel])
    assert channel.id is not None
    exclude = [exclude_post] if exclude_post is not None else []
    taken = taken_instants(session, channel.id, around=at, exclude=exclude)
    found += time_findings(subject, rules, at=at, taken=taken, tz_name=org_zone(session))
    return found


@dataclass(frozen=True)
class RefusedTime:
    """An instant a blocking time rule refuses: the rules' message, naming the next
    allowed time (`until`), at which the engine would let the post out instead."""

    at: datetime
    message: Message
    until: datetime


def refused_times(
    session: Session,
    *,
    actor: User,
    piece: Piece,
    channel: Channel,
    instants: Sequence[datetime],
    exclude: Sequence[int] = (),
) -> list[RefusedTime]:
    """Those of `instants` (posts of `piece` on `channel`, e.g. a series' occurrences)
    that a blocking time rule refuses, by time; each counts the channel's other posts
    (but those in `exclude`) and the other `instants` for caps and spacing."""
    require(actor, "view_pieces")
    if not instants:
        return []
    rules = enabled_rules(session)
    subject = subject_of(session, piece, channel)
    assert channel.id is not None
    first, last = min(instants), max(instants)
    stored = taken_instants(
        session, channel.id, around=first, exclude=exclude, until=last + timedelta(days=2)
    )
    tz_name = org_zone(session)
    refused = []
    for at in sorted(instants):
        taken = sorted([*stored, *(i for i in instants if i != at)])
        found = time_findings(subject, rules, at=at, taken=taken, tz_name=tz_name)
        message = blocking_message(found)
        slot = next((f.slot for f in found if f.blocks and f.slot is not None), None)
        if message is not None and slot is not None:
            refused.append(RefusedTime(at=at, message=message, until=slot))
    return refused


def blocking_message(findings: Sequence[RuleFinding]) -> Message | None:
    """The blocking findings as one message, or None when nothing blocks."""
    blocking = [f for f in findings if f.blocks]
    return _joined(blocking) if blocking else None


@dataclass
class ClaimCheck:
    """The engine's rule verdict for one claimed post: held (with why and until when)
    or free to go."""

    reason: str = ""
    until: datetime | None = None
    findings: list[RuleFinding] = field(default_factory=list)
    message: Message | None = None


@dataclass(frozen=True)
class Claimed:
    """A post the engine just claimed (or would claim at `at`), as the rules need it."""

    post_id: int
    piece_id: int
    channel_id: int
    revision: int
    media: Sequence[Media]
    at: datetime | None = None


# Posts out or going out: what caps and spacing count when the engine claims a post.
_OUT = [s.value for s in _OCCUPYING if s != PostStatus.planned]


def _capped(session: Session, channel_ids: Sequence[int]) -> bool:
    return bool(
        session.exec(
            select(Channel.id).where(
                col(Channel.id).in_(channel_ids), col(Channel.daily_cap).is_not(None)
            )
        ).first()
    )


def _taken_out(
    session: Session, channel_ids: Sequence[int], *, since: datetime, exclude: Sequence[int]
) -> dict[int, list[datetime]]:
    """When each channel's posts out or going out went or go out, from `since`."""
    instant = func.coalesce(col(Post.published_at), col(Post.publish_at))
    query = select(Post.channel_id, instant).where(
        col(Post.channel_id).in_(channel_ids),
        col(Post.status).in_(_OUT),
        instant >= since,
    )
    if exclude:
        query = query.where(col(Post.id).not_in(list(exclude)))
    taken: dict[int, list[datetime]] = {cid: [] for cid in channel_ids}
    for cid, value in session.exec(query):
        taken[cid].append(_aware(value))
    return {cid: sorted(values) for cid, values in taken.items()}


def _verdicts(
    session: Session,
    posts: Sequence[Claimed],
    rules: Sequence[PublishingRule],
    *,
    taken: dict[int, list[datetime]],
    now: datetime,
    with_files: bool,
) -> dict[int, ClaimCheck]:
    """The verdict on each of `posts`, claimed in the order of their `at` (or `now`), by
    post id (only the held). A released post takes its place among `taken`. With
    `with_files`, a post's media are its revision's files followed by its `media`."""
    channel_ids = sorted({p.channel_id for p in posts})
    # A forecast's session may hold the pieces and channels with only some columns loaded
    # (the calendar's): load them whole at once, not each attribute on first use.
    fresh = {"populate_existing": with_files}
    channels = {
        c.id: c
        for c in session.exec(
            select(Channel).where(col(Channel.id).in_(channel_ids)).execution_options(**fresh)
        )
    }
    piece_ids = sorted({p.piece_id for p in posts})
    pieces = {
        p.id: p
        for p in session.exec(
            select(Piece).where(col(Piece.id).in_(piece_ids)).execution_options(**fresh)
        )
    }
    wanted = {(p.piece_id, p.revision) for p in posts}
    revisions = {
        (r.piece_id, r.number): r
        for r in session.exec(
            select(Revision).where(
                col(Revision.piece_id).in_(piece_ids),
                col(Revision.number).in_(sorted({n for _p, n in wanted})),
            )
        )
        if (r.piece_id, r.number) in wanted
    }
    waived: dict[tuple[int, int], set[tuple[int, int | None]]] = {}
    for o in session.exec(select(RuleOverride).where(col(RuleOverride.piece_id).in_(piece_ids))):
        waived.setdefault((o.piece_id, o.revision), set()).add((int(o.rule_id), o.channel_id))
    departments = dict(
        session.exec(
            select(Idea.id, Department.name)
            .join(Department, col(Idea.department_id) == Department.id)
            .where(col(Idea.id).in_(sorted({p.idea_id for p in pieces.values() if p.idea_id})))
        ).all()
    )
    names = _audience_names(session)
    tz_name = org_zone(session)
    verdicts: dict[int, ClaimCheck] = {}
    for post in sorted(posts, key=lambda p: p.at or now):
        at = post.at or now
        piece = pieces[post.piece_id]
        channel = channels[post.channel_id]
        content = revisions.get((post.piece_id, post.revision))
        if content is None:
            continue  # the engine fails a post whose revision is missing
        media = [*_as_media(content.media), *post.media] if with_files else post.media
        department = departments.get(piece.idea_id or 0)
        # The overrides of the revision claimed (the approved one) hold for its content
        # and its time alike; a later revision has its own.
        over = waived.get((post.piece_id, post.revision), set())
        subject = _subject(piece, channel, content, media, department, names, overridden=over)
        # The message's media are the approved revision's files and the post's own.
        found = content_findings(subject, rules)
        blocking = [f for f in found if f.blocks]
        if blocking:
            why = _joined(blocking)
            verdicts[post.post_id] = ClaimCheck(
                f"held by a publishing rule: {why}", at + CONTENT_RECHECK, blocking, why
            )
            continue
        try:
            timed = [
                f
                for f in time_findings(
                    subject, rules, at=at, taken=taken[post.channel_id], tz_name=tz_name
                )
                if f.blocks
            ]
        except ValidationFailed:  # the time rules leave no time at all
            why = Message("rule_no_slot", "the rules leave no time to publish")
            verdicts[post.post_id] = ClaimCheck(
                f"held by a publishing rule: {why}", at + CONTENT_RECHECK, [], why
            )
            continue
        if timed:
            why = _joined(timed)
            verdicts[post.post_id] = ClaimCheck(
                f"held by a publishing rule: {why}", timed[0].slot, timed, why
            )
            continue
        taken[post.channel_id] = sorted([*taken[post.channel_id], at])
    return verdicts


def _as_media(refs: Iterable[Mapping[str, Any]]) -> list[Media]:
    """Stored media references as the engine's message carries them (without content)."""
    return [
        Media(
            url=str(m.get("url", "")),
            alt_text=str(m.get("alt_text", "")),
            mime_type=str(m.get("mime_type", "")),
            filename=str(m.get("filename", "")),
        )
        for m in refs
    ]


def check_claimed(
    session: Session, posts: Sequence[Claimed], *, now: datetime
) -> dict[int, ClaimCheck]:
    """The rules' verdict on posts claimed in this transaction, by post id (only the held).

    A blocking content finding on the approved revision that no approver overrode holds
    the post for `CONTENT_RECHECK`; a blocking time rule (quiet hours, cap, spacing, the
    channel's daily cap) not overridden for that revision holds it until the next allowed
    slot. Caps and spacing count the
    channel's posts out or going out now: on PostgreSQL the channel's row is locked first,
    so workers claiming posts on one channel at once count each other's.
    """
    if not posts:
        return {}
    rules = enabled_rules(session)
    channel_ids = sorted({p.channel_id for p in posts})
    if not rules and not _capped(session, channel_ids):
        return {}
    if session.get_bind().dialect.name == "postgresql":
        session.exec(
            select(Channel.id)
            .where(col(Channel.id).in_(channel_ids))
            .order_by(col(Channel.id))
            .with_for_update()
        ).all()
    # Only posts out or going out count at claim time, not those merely planned.
    taken = _taken_out(
        session, channel_ids, since=now - timedelta(days=2), exclude=[p.post_id for p in posts]
    )
    return _verdicts(session, posts, rules, taken=taken, now=now, with_files=False)


class PlannedPost(Protocol):
    """What a forecast reads of a post (a stored post, or the calendar's narrow row)."""

    @property
    def id(self) -> int | None:
        """The post's id."""

    @property
    def channel_id(self) -> int:
        """Its channel."""

    @property
    def publish_at(self) -> datetime:
        """When it is due."""

    @property
    def status(self) -> PostStatus:
        """Its status."""


def forecast_holds(
    session: Session, posts: Sequence[PlannedPost], *, now: datetime
) -> dict[int, ClaimCheck]:
    """What `check_claimed` will say about planned posts when the engine claims them (at
    their time, or now for one overdue), by post id (only the held): for the calendar and
    the held list. The channels' other planned posts of approved pieces due before one go
    out first if the rules let them, as the engine claims posts in time order."""
    wanted = {p.id for p in posts if p.status == PostStatus.planned and p.id is not None}
    if not wanted:
        return {}
    rules = enabled_rules(session)
    channel_ids = sorted({p.channel_id for p in posts if p.id in wanted})
    if not rules and not _capped(session, channel_ids):
        return {}
    times = [max(_aware(p.publish_at), now) for p in posts if p.id in wanted]
    first, last = min(times), max(times)
    # Every planned post on these channels that may go out by then (a day around, for
    # caps and spacing), with one query for all.
    # Only the columns the check reads: whole posts cost far more to load.
    columns: list[Any] = [
        col(Post.id),
        col(Post.piece_id),
        col(Post.channel_id),
        col(Post.publish_at),
        col(Post.media),
        Piece.approved_revision,
    ]
    rows = session.exec(
        select(*columns)
        .join(Piece, col(Post.piece_id) == Piece.id)
        .where(
            col(Post.channel_id).in_(channel_ids),
            Post.status == PostStatus.planned,
            col(Post.publish_at) >= first - timedelta(days=2),
            col(Post.publish_at) <= last,
            col(Piece.status).in_([PieceStatus.approved, PieceStatus.published]),
            col(Piece.approved_revision) == col(Piece.revision),
        )
    ).all()
    claimed = [
        Claimed(
            post_id=post_id,
            piece_id=piece_id,
            channel_id=channel_id,
            revision=int(approved or 0),
            media=_as_media(media or []),
            at=max(_aware(publish_at), now),
        )
        for post_id, piece_id, channel_id, publish_at, media, approved in rows
    ]
    candidates = [c.post_id for c in claimed]
    if not claimed:
        return {}
    taken = _taken_out(session, channel_ids, since=first - timedelta(days=2), exclude=candidates)
    verdicts = _verdicts(session, claimed, rules, taken=taken, now=now, with_files=True)
    return {pid: v for pid, v in verdicts.items() if pid in wanted}


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite's coalesce loses the column type
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
