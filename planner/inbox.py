"""The listening inbox: mentions of and replies to the company's accounts and entries of
followed feeds, each to be assigned, answered, made an idea of, or dismissed.

Editors, approvers and admins see every item; any other user sees the items assigned to
their department and may answer them or make ideas of them. Moves follow `TRANSITIONS`;
each one is audited. A reply goes out through the channel's adapter at once, or, with the
organisation setting `replies_need_approval` (every channel) or a publishing rule of kind
`reply_approval` whose scope takes in the channel and the item's department, once someone
other than its writer approved it. Polling (`poll`) stores what arrived, at most once per
source and external id, however many workers poll at the same time.
"""

from __future__ import annotations

import logging
import statistics
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Engine, delete, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from planner import audit, ideas, notifications, org_settings, rules
from planner.channels import build_adapter
from planner.db import within_period
from planner.errors import (
    FourEyesViolation,
    IllegalTransition,
    Message,
    NotFound,
    PermissionDenied,
    PlannerError,
    ReplyFailed,
    ValidationFailed,
)
from planner.models import (
    Channel,
    Department,
    Feed,
    InboxItem,
    InboxSource,
    InboxStatus,
    ListeningState,
    Post,
    ResponseTarget,
    User,
    utcnow,
)
from planner.permissions import can, require, require_active
from planner.schemas import PITCH_MAX, TITLE_MAX, check_text
from planner.ui.i18n import translate
from planner.users import get_department
from publishers.addresses import carries_credentials
from publishers.base import (
    DeliveryError,
    OutgoingPost,
    Problem,
    Publisher,
    RateLimited,
    Receipt,
)
from publishers.feeds import FeedAnswer, fetch_feed
from publishers.listening import Mention, ReplyTo

log = logging.getLogger("planner.inbox")

INBOX_ASSIGNED = notifications.INBOX_ASSIGNED
REPLY_MAX = 10_000
REASON_MAX = 2_000
NAME_MAX = 120
URL_MAX = 2000
MAX_LISTED = 500
_OPEN = (InboxStatus.new, InboxStatus.assigned)
# How long a reply being sent holds its item: longer than an adapter may wait for the
# channel (at most five minutes per request, a reply makes at most a few).
REPLY_CLAIM = timedelta(minutes=20)

# The moves an inbox item may make: (status, action) -> new status.
TRANSITIONS: dict[tuple[InboxStatus, str], InboxStatus] = {
    (InboxStatus.new, "assign"): InboxStatus.assigned,
    (InboxStatus.assigned, "assign"): InboxStatus.assigned,
    (InboxStatus.new, "reply"): InboxStatus.answered,
    (InboxStatus.assigned, "reply"): InboxStatus.answered,
    (InboxStatus.new, "to_idea"): InboxStatus.converted,
    (InboxStatus.assigned, "to_idea"): InboxStatus.converted,
    (InboxStatus.new, "dismiss"): InboxStatus.dismissed,
    (InboxStatus.assigned, "dismiss"): InboxStatus.dismissed,
    (InboxStatus.dismissed, "reopen"): InboxStatus.new,
}

AdapterFactory = Callable[[Channel], Publisher]
FeedFetcher = Callable[..., FeedAnswer]


def allowed_actions(status: InboxStatus) -> list[str]:
    """The moves an item in `status` may make, in table order."""
    return [action for (state, action) in TRANSITIONS if state == status]


def item_actions(item: InboxItem) -> list[str]:
    """The moves `item` may make: those of its status, less "reply" for an item that came
    from no channel (a feed entry is not answered from here)."""
    return [a for a in allowed_actions(item.status) if a != "reply" or item.channel_id]


def waiting_reply(item: InboxItem) -> bool:
    """Whether a reply waits for approval on `item`: one was written and not sent, and the
    item is still open (dismissing it or making an idea of it drops the reply)."""
    return bool(item.reply_text) and not item.reply_external_id and item.status in _OPEN


def reply_waits_on(session: Session, *, actor: User, item_id: int) -> bool:
    """Whether a reply waits for approval on the item (read before dismissing it or making
    an idea of it, which drops that reply); False for an item the actor may not see, whose
    move then says why it is refused."""
    try:
        return waiting_reply(get_item(session, actor=actor, item_id=item_id))
    except PlannerError:
        return False


def actions_for(actor: User, item: InboxItem, now: datetime | None = None) -> list[str]:
    """The moves `actor` may make on `item` at `now` (default: now), as the dashboard
    offers them and the command line lists them: "assign", "reply", "approve" and
    "discard" (a reply waiting for approval), "to_idea", "dismiss", "reopen". None while a
    reply to the item is being sent."""
    if actor.disabled or reply_in_flight(item, now):
        return []
    handles = can(actor, "handle_inbox")
    member = item.department_id is not None and item.department_id == actor.department_id
    answers = handles or member
    waiting = waiting_reply(item)
    approves = can(actor, "approve_replies")
    mine = item.reply_by_id is not None and item.reply_by_id == actor.id
    status_allows = set(item_actions(item))
    offered = {
        "assign": handles and "assign" in status_allows,
        "reply": answers and not waiting and "reply" in status_allows,
        "approve": waiting and approves and not mine,
        "discard": waiting and (mine or approves),
        "to_idea": answers and can(actor, "submit_idea") and "to_idea" in status_allows,
        "dismiss": handles and "dismiss" in status_allows,
        "reopen": handles and "reopen" in status_allows,
    }
    return [action for action, allowed in offered.items() if allowed]


def _move(item: InboxItem, action: str) -> InboxStatus:
    """The status `action` leads to from the item's; IllegalTransition naming the allowed."""
    target = TRANSITIONS.get((item.status, action))
    if target is None:
        raise IllegalTransition(
            "inbox item", item.id, item.status.value, action, allowed_actions(item.status)
        )
    return target


# --- seeing items -----------------------------------------------------------------------


@dataclass(frozen=True)
class InboxView:
    """An item as lists show it: where it came from, its department and whether it is late.

    `source_name` is the name of its channel or feed; "" when that is gone (a feed no
    longer followed keeps its items)."""

    item: InboxItem
    source_name: str
    department: str
    target_hours: int
    due_at: datetime
    overdue: bool
    pending_reply_by: str = ""


def _visible(query: Any, actor: User) -> Any:
    """Every item for those who may view the inbox; else their department's items."""
    if can(actor, "view_inbox"):
        return query
    if actor.department_id is None:
        return query.where(col(InboxItem.id).is_(None))
    return query.where(InboxItem.department_id == actor.department_id)


def get_item(session: Session, *, actor: User, item_id: int) -> InboxItem:
    """One item the actor may see; NotFound otherwise."""
    require_active(actor)
    item: InboxItem | None = session.exec(
        _visible(select(InboxItem), actor).where(InboxItem.id == item_id)
    ).first()
    if item is None:
        raise NotFound("inbox item", item_id)
    return item


def target_hours(session: Session) -> tuple[int, dict[int, int]]:
    """The organisation's response target in hours, and each department's own targets."""
    default = int(org_settings.get_setting(session, "response_target_hours"))
    own = {row.department_id: row.hours for row in session.exec(select(ResponseTarget))}
    return default, own


def list_items(
    session: Session,
    *,
    actor: User,
    status: InboxStatus | None = None,
    source: InboxSource | None = None,
    department: str | None = None,
    limit: int = 100,
    now: datetime | None = None,
) -> list[InboxView]:
    """The items the actor may see, newest first, filtered by status, source and department."""
    require_active(actor)
    query = _visible(select(InboxItem), actor)
    if status is not None:
        query = query.where(InboxItem.status == status)
    if source is not None:
        query = query.where(InboxItem.source == source)
    if department:
        query = query.where(InboxItem.department_id == get_department(session, department).id)
    found = list(
        session.exec(
            query.order_by(col(InboxItem.received_at).desc(), col(InboxItem.id).desc()).limit(
                max(1, min(limit, MAX_LISTED))
            )
        )
    )
    return describe(session, found, now=now)


def describe(
    session: Session, found: Sequence[InboxItem], *, now: datetime | None = None
) -> list[InboxView]:
    """Each item with its source's and department's names, its due time and lateness."""
    now = now or utcnow()
    default, own = target_hours(session)
    departments = {d.id: d.name for d in session.exec(select(Department))}
    channels = {c.id: c.name for c in session.exec(select(Channel))}
    feeds = {f.id: f.name for f in session.exec(select(Feed))}
    writers = {
        u.id: u.display_name
        for u in session.exec(
            select(User).where(col(User.id).in_({i.reply_by_id for i in found} - {None}))
        )
    }
    views = []
    for item in found:
        hours = own.get(item.department_id or 0, default)
        due = item.received_at + timedelta(hours=hours)
        source_name = (
            channels.get(item.channel_id or 0, "")
            if item.channel_id
            else feeds.get(item.feed_id or 0, "")
        )
        pending = writers.get(item.reply_by_id or 0, "") if waiting_reply(item) else ""
        views.append(
            InboxView(
                item=item,
                source_name=source_name,
                department=departments.get(item.department_id or 0, ""),
                target_hours=hours,
                due_at=due,
                overdue=item.status in _OPEN and now > due,
                pending_reply_by=pending,
            )
        )
    return views


def item_for_idea(session: Session, *, actor: User, idea_id: int) -> InboxItem | None:
    """The inbox item an idea was made of, if the actor may see it."""
    require_active(actor)
    found: InboxItem | None = session.exec(
        _visible(select(InboxItem), actor).where(InboxItem.idea_id == idea_id)
    ).first()
    return found


# --- handling items ---------------------------------------------------------------------


def _record(
    session: Session,
    actor: User,
    item: InboxItem,
    action: str,
    before: InboxStatus | None,
    note: str = "",
) -> None:
    """Audit `action` on `item`: its move from `before` to its status (None: no move)."""
    audit.record(
        session,
        actor=actor,
        object_type="inbox_item",
        object_id=item.id,
        action=action,
        from_state=None if before is None else before.value,
        to_state=None if before is None else item.status.value,
        note=note,
    )


def assign_item(session: Session, *, actor: User, item_id: int, department: str) -> InboxItem:
    """Give an item to a department, whose members are told (editors and admins)."""
    require(actor, "handle_inbox")
    item = get_item(session, actor=actor, item_id=item_id)
    try:
        dep = get_department(session, department)
    except NotFound as err:
        raise ValidationFailed({"department": _unknown_department(session, department)}) from err
    before = item.status
    now = utcnow()
    _moved(session, item, now, status=_move(item, "assign"), department_id=dep.id, assigned_at=now)
    _record(session, actor, item, "assign", before, note=dep.name)
    session.flush()
    members = session.exec(
        select(User.id).where(User.department_id == dep.id, col(User.disabled).is_(False))
    )
    assert item.id is not None
    notifications.store(
        session.connection(),
        [
            notifications.Notice(
                user_id=user_id,
                kind=INBOX_ASSIGNED,
                object_type="inbox_item",
                object_id=item.id,
                actor_id=actor.id,
                detail=(item.title or item.text)[:200],
            )
            for user_id in members
            if user_id is not None
        ],
    )
    session.commit()
    return item


def _may_answer(actor: User, item: InboxItem) -> None:
    """Editors and admins answer any item; others only their department's."""
    if can(actor, "handle_inbox"):
        return
    require_active(actor)
    if item.department_id is None or item.department_id != actor.department_id:
        raise PermissionDenied(
            f"{actor.username!r} may answer only items assigned to their department"
        )


def dismiss_item(session: Session, *, actor: User, item_id: int, reason: str = "") -> InboxItem:
    """Put an item aside without reacting, with an optional reason. A reply waiting for
    approval on it is dropped (and audited as discarded): nobody sends it later."""
    require(actor, "handle_inbox")
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise ValidationFailed({"reason": _too_long(REASON_MAX)})
    check_text(reason, "reason")
    item = get_item(session, actor=actor, item_id=item_id)
    now = utcnow()
    _refuse_if_busy(item, now)
    before = item.status
    dropped = _moved(
        session,
        item,
        now,
        drop_reply=True,
        status=_move(item, "dismiss"),
        dismiss_reason=reason or None,
        handled_by_id=actor.id,
        handled_at=now,
    )
    _record_dropped(session, actor, item, dropped)
    _record(session, actor, item, "dismiss", before, note=reason)
    session.commit()
    return item


def reopen_item(session: Session, *, actor: User, item_id: int) -> InboxItem:
    """Bring a dismissed item back as new, without any reply that waited on it before."""
    require(actor, "handle_inbox")
    item = get_item(session, actor=actor, item_id=item_id)
    before = item.status
    dropped = _moved(
        session,
        item,
        utcnow(),
        drop_reply=True,
        status=_move(item, "reopen"),
        dismiss_reason=None,
        handled_by_id=None,
        handled_at=None,
    )
    _record_dropped(session, actor, item, dropped)
    _record(session, actor, item, "reopen", before)
    session.commit()
    return item


def _record_dropped(
    session: Session, actor: User, item: InboxItem, dropped: _Dropped | None
) -> None:
    """Audit the waiting reply a move of `item` dropped (its text), if it dropped one, and
    tell its writer (unless `actor` wrote it)."""
    if dropped is None:
        return
    _record(session, actor, item, "reply_discarded", None, note=dropped.text[:500])
    _tell_writer(session, actor, item, dropped)


def _tell_writer(session: Session, actor: User, item: InboxItem, dropped: _Dropped) -> None:
    """Notify the writer of a dropped reply that it will not be sent (not `actor` themself)."""
    assert item.id is not None
    notifications.reply_dropped(
        session.connection(),
        item_id=item.id,
        writer_id=dropped.writer_id,
        actor=actor,
        text=dropped.text,
    )


# What an idea's title and pitch take (`schemas.IdeaCreate`).
TITLE_MIN, IDEA_TITLE_MAX = 3, TITLE_MAX
PITCH_MIN, IDEA_PITCH_MAX = 10, PITCH_MAX
TITLE_TAKEN = 120  # the most characters of an item's words a draft's title takes


def _shortened(text: str, limit: int) -> str:
    """`text` if it has at most `limit` characters, else its start ending in "…", cut at
    the last space or line break before the limit (mid-word only for a very long word)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    boundary = max(cut.rfind(" "), cut.rfind("\n"), cut.rfind("\t"))
    if boundary > limit // 2:
        cut = cut[:boundary]
    return cut.rstrip() + "…"


def web_address(url: str | None) -> str | None:
    """`url` if it is an http(s) address an idea takes as its source, else None (a feed's
    `urn:` or `tag:` id, a `javascript:` link)."""
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in text:
        return None
    return text if len(text) <= URL_MAX else None


def idea_draft(item: InboxItem, department: str, *, lang: str = "de") -> dict[str, Any]:
    """The idea an item suggests, valid as an idea: its title (or the start of its text)
    as title, its text signed with its author as pitch, its link as source; the words the
    draft adds are in `lang`.

    A title under three characters ("Hi") is preceded by where the item came from
    ("Erwähnung von Erika: Hi"); a long title or pitch is shortened at a word with "…",
    the pitch then naming where the full text is (the item's link, else the item). A link
    that is no web address is left out."""
    source = translate(lang, f"listening.source.{item.source.value}")
    numbered = translate(lang, "listening.draft.numbered", id=item.id, source=source)
    link = web_address(item.url)

    title = _shortened(" ".join((item.title or item.text).split()), TITLE_TAKEN)
    if len(title) < TITLE_MIN:
        author = " ".join((item.author_name or item.author_handle).split())
        origin = (
            translate(lang, "listening.draft.by", source=source, author=author)
            if author
            else numbered
        )
        title = _shortened(f"{origin}: {title}" if title else origin, TITLE_TAKEN)

    who = f"{item.author_name} ({item.author_handle})" if item.author_handle else item.author_name
    signed = f"\n\n— {who.strip()}" if who.strip() else ""
    body = item.text.strip() or " ".join(item.title.split())
    if len(body) + len(signed) > IDEA_PITCH_MAX:
        note = "\n\n" + translate(lang, "listening.draft.shortened", where=link or numbered)
        body = _shortened(body, IDEA_PITCH_MAX - len(signed) - len(note))
        pitch = f"{body}{signed}{note}"
    else:
        pitch = f"{body}{signed}".strip()
    if len(pitch) < PITCH_MIN:
        # A feed entry with no text (or a few words): where it came from makes the pitch,
        # so that the idea can be made.
        pitch = f"{pitch}\n\n{link or numbered}".strip()
        pitch = pitch if len(pitch) >= PITCH_MIN else f"{pitch} ({source})"
    return {
        "title": title,
        "pitch": pitch,
        "department": department,
        "source_url": link,
        "tags": ["inbox"],
    }


def item_to_idea(
    session: Session,
    *,
    actor: User,
    item_id: int,
    department: str | None = None,
    changes: dict[str, Any] | None = None,
) -> InboxItem:
    """Make an idea of an item (pre-filled from it in the actor's language, `changes`
    applied), linked both ways. A reply waiting for approval on the item is dropped (and
    audited as discarded)."""
    item = get_item(session, actor=actor, item_id=item_id)
    _may_answer(actor, item)
    _refuse_if_busy(item, utcnow())
    dep_name = department
    if not dep_name:
        dep_id = item.department_id or actor.department_id
        dep = session.get(Department, dep_id) if dep_id else None
        if dep is None:
            raise ValidationFailed(
                {
                    "department": Message(
                        "idea_needs_department", "name the department the idea is for"
                    )
                }
            )
        dep_name = dep.name
    target = _move(item, "to_idea")
    data = {**idea_draft(item, dep_name, lang=actor.locale), **(changes or {})}
    idea = ideas.prepare_idea(session, actor=actor, data=data)
    before = item.status

    def link() -> None:
        # In the idea's transaction: the idea and the item's move are stored together, or
        # neither (a reply that took the item meanwhile refuses the move).
        now = utcnow()
        dropped = _moved(
            session,
            item,
            now,
            drop_reply=True,
            status=target,
            idea_id=idea.id,
            handled_by_id=actor.id,
            handled_at=now,
        )
        _record_dropped(session, actor, item, dropped)
        _record(session, actor, item, "to_idea", before, note=f"idea {idea.id}")

    ideas.store_ideas(session, actor=actor, ideas=[idea], then=link)
    return item


def _reply_channel(session: Session, item: InboxItem) -> Channel:
    """The channel an item came from, which its reply goes out on."""
    if item.channel_id is None:
        raise ValidationFailed(
            {"text": Message("reply_feed_entry", "a feed entry cannot be answered from here")}
        )
    channel = session.get(Channel, item.channel_id)
    if channel is None:
        raise ValidationFailed(
            {
                "text": Message(
                    "reply_channel_gone", "the channel this item came from no longer exists"
                )
            }
        )
    return channel


def _checked_reply(adapter: Publisher, text: str) -> str:
    """The reply text, stripped, or ValidationFailed with the channel's own limits."""
    text = text.strip()
    if not text:
        raise ValidationFailed({"text": Message("reply_empty", "the reply is empty")})
    if len(text) > REPLY_MAX:
        raise ValidationFailed({"text": _too_long(REPLY_MAX)})
    check_text(text, "text")
    problems = [
        p for p in adapter.validate(OutgoingPost(0, "", text)) if p.field in ("text", "title")
    ]
    if problems:
        findings = [_finding(p) for p in problems]
        joined = findings[-1]
        for finding in reversed(findings[:-1]):
            joined = Message("several_findings", "{first}; {rest}", first=finding, rest=joined)
        raise ValidationFailed({"text": joined})
    return text


def _finding(found: Problem) -> str:
    """An adapter's finding on a reply, with its code so the dashboard can translate it."""
    if isinstance(found.message, Message) or not found.code:
        return found.message
    return Message.formatted(f"problem_{found.code}", found.message, found.params)


def _too_long(limit: int) -> Message:
    return Message("too_long", "at most {max} characters", max=limit)


def _unknown_department(session: Session, name: str) -> Message:
    """No department is called `name`: the refusal names those there are."""
    known = ", ".join(session.exec(select(Department.name).order_by(col(Department.name))))
    if not known:
        return Message(
            "unknown_department_none_yet",
            "department {name!r} not found (known: none yet)",
            name=name,
        )
    return Message(
        "unknown_department",
        "department {name!r} not found (known: {known})",
        name=name,
        known=known,
    )


def reply_to_item(
    session: Session,
    *,
    actor: User,
    item_id: int,
    text: str,
    adapter_factory: AdapterFactory = build_adapter,
) -> InboxItem:
    """Answer an item on its channel; when a reply there needs approval (`held_by`), it
    waits for someone other than its writer (`approve_reply`), else it is sent at once.

    Two people answering the same item at the same moment never both reach the channel:
    the first one holds the item (`reply_sending_at`) until the channel answered, and the
    other is told that a reply is on its way.
    """
    item = get_item(session, actor=actor, item_id=item_id)
    _may_answer(actor, item)
    _move(item, "reply")
    _refuse_if_busy(item, utcnow())
    if item.reply_text and not item.reply_external_id:
        raise ValidationFailed({"text": _REPLY_WAITS})
    channel = _reply_channel(session, item)
    adapter = adapter_factory(channel)
    text = _checked_reply(adapter, text)
    holding = held_by(session, channel=channel, item=item)
    now = utcnow()
    if holding:
        _take(
            session,
            item,
            now,
            waiting=False,
            values={"reply_text": text, "reply_by_id": actor.id, "reply_requested_at": now},
        )
        session.refresh(item)
        note = f"{', '.join(holding)}: {text}"
        _record(session, actor, item, "reply_requested", item.status, note=note[:500])
        session.commit()
        return item
    _take(session, item, now, waiting=False, values={"reply_sending_at": now})
    session.commit()
    return _send_reply(
        session, actor, item, channel, adapter, text=text, writer_id=actor.id, claimed_at=now
    )


def held_by(session: Session, *, channel: Channel, item: InboxItem) -> list[str]:
    """Why a reply to `item` on `channel` waits for approval: the names of the
    `reply_approval` rules in whose scope it falls, and `replies_need_approval` when that
    organisation setting is on; empty when the reply goes out at once."""
    department = session.get(Department, item.department_id) if item.department_id else None
    found = rules.reply_rules(
        session, channel=channel.name, department=department.name if department else None
    )
    names = [rule.name for rule in found]
    if org_settings.get_setting(session, "replies_need_approval") == "on":
        names.append("replies_need_approval")
    return names


def approve_reply(
    session: Session, *, actor: User, item_id: int, adapter_factory: AdapterFactory = build_adapter
) -> InboxItem:
    """Approve the reply waiting on an item and send it (never the writer's own); two
    approvers at the same moment send it once."""
    require(actor, "approve_replies")
    item = get_item(session, actor=actor, item_id=item_id)
    _refuse_if_busy(item, utcnow())
    if not item.reply_text or item.reply_external_id:
        raise ValidationFailed({"reply": _no_reply_waits(item_id)})
    if item.reply_by_id == actor.id:
        raise FourEyesViolation(
            f"{actor.username!r} wrote this reply; someone else must approve it"
        )
    # What is approved is the reply as read here: if its writer discarded it and someone
    # wrote another meanwhile, the approval is refused, not spent on the new one.
    read = (item.reply_text, item.reply_by_id)
    _move(item, "reply")
    channel = _reply_channel(session, item)
    adapter = adapter_factory(channel)
    text = _checked_reply(adapter, read[0])
    now = utcnow()
    _take(session, item, now, waiting=True, values={"reply_sending_at": now}, expected=read)
    session.commit()
    return _send_reply(
        session,
        actor,
        item,
        channel,
        adapter,
        text=text,
        writer_id=read[1],
        claimed_at=now,
        approved=True,
    )


def discard_reply(session: Session, *, actor: User, item_id: int) -> InboxItem:
    """Drop the reply waiting for approval on an item (its writer, or an approver); not
    while it is being sent."""
    item = get_item(session, actor=actor, item_id=item_id)
    _refuse_if_busy(item, utcnow())
    if not item.reply_text or item.reply_external_id:
        raise ValidationFailed({"reply": _no_reply_waits(item_id)})
    if item.reply_by_id != actor.id:
        require(actor, "approve_replies")
    dropped = _Dropped(item.reply_text, item.reply_by_id)
    _take(
        session,
        item,
        utcnow(),
        waiting=True,
        values={"reply_text": None, "reply_by_id": None, "reply_requested_at": None},
        expected=(item.reply_text, item.reply_by_id),
    )
    session.refresh(item)
    _record(session, actor, item, "reply_discarded", item.status)
    _tell_writer(session, actor, item, dropped)
    session.commit()
    return item


_REPLY_WAITS = Message("reply_waits", "a reply to this item already waits for approval")


def _no_reply_waits(item_id: int | None) -> Message:
    return Message("no_reply_waits", "no reply waits for approval on inbox item {id}", id=item_id)


def reply_in_flight(item: InboxItem, now: datetime | None = None) -> bool:
    """Whether someone is sending a reply to the item (at `now`, default: now): nobody
    else answers, approves, discards, dismisses or makes an idea of it meanwhile."""
    started = item.reply_sending_at
    return started is not None and started > (now or utcnow()) - REPLY_CLAIM


def _refuse_if_busy(item: InboxItem, now: datetime) -> None:
    """ValidationFailed when a reply to the item is being sent at `now`."""
    if reply_in_flight(item, now):
        raise ValidationFailed(
            {"reply": Message("reply_busy", "a reply to this item is being sent right now")}
        )


class _Dropped(NamedTuple):
    """A reply that waited for approval and was dropped: its text and who wrote it."""

    text: str
    writer_id: int | None


def _moved(
    session: Session, item: InboxItem, now: datetime, *, drop_reply: bool = False, **values: Any
) -> _Dropped | None:
    """Write `values` (a move of the item) if, in the database, the item is still in the
    status it was read in and no reply to it is being sent; else roll back and raise
    ValidationFailed saying which. One UPDATE checks and writes, so a reply sent at the
    same moment and this move never both happen.

    With `drop_reply`, a reply waiting for approval goes too: the one read (the move is
    refused if another was written meanwhile), whose text and writer are returned; None if
    none waited.
    """
    assert item.id is not None
    sending = col(InboxItem.reply_sending_at)
    written = col(InboxItem.reply_text)
    checks = []
    dropped: _Dropped | None = None
    if drop_reply:
        if item.reply_text is not None and item.reply_external_id is None:
            dropped = _Dropped(item.reply_text, item.reply_by_id)
            writer = col(InboxItem.reply_by_id)
            checks = [
                written == item.reply_text,
                writer.is_(None) if item.reply_by_id is None else writer == item.reply_by_id,
            ]
            values = {
                **values,
                "reply_text": None,
                "reply_by_id": None,
                "reply_requested_at": None,
            }
        elif item.reply_external_id is None:
            checks = [written.is_(None)]
    moved = session.connection().execute(
        update(InboxItem)
        .where(
            col(InboxItem.id) == item.id,
            col(InboxItem.status) == item.status,
            or_(sending.is_(None), sending <= now - REPLY_CLAIM),
            *checks,
        )
        .values(**values)
    )
    if moved.rowcount != 1:
        session.rollback()
        session.refresh(item)
        _refuse_if_busy(item, now)
        raise ValidationFailed({"item": _handled(item.id)})
    session.refresh(item)
    return dropped


def _handled(item_id: int | None) -> Message:
    return Message("reply_handled", "inbox item {id} was handled meanwhile", id=item_id)


def _take(
    session: Session,
    item: InboxItem,
    now: datetime,
    *,
    waiting: bool,
    values: dict[str, Any],
    expected: tuple[str, int | None] | None = None,
) -> None:
    """Write `values` to the item's row if, in the database, it is still open, unanswered,
    not being sent and has a reply waiting (`waiting`: the one `expected`, its text and
    writer, as the caller read it) or none; otherwise roll back and raise ValidationFailed
    saying what changed. The check and the write are one UPDATE, so of two people doing
    this at once exactly one succeeds."""
    assert item.id is not None
    text = col(InboxItem.reply_text)
    sending = col(InboxItem.reply_sending_at)
    same = []
    if expected is not None:
        writer = col(InboxItem.reply_by_id)
        same = [
            text == expected[0],
            writer.is_(None) if expected[1] is None else writer == expected[1],
        ]
    taken = session.connection().execute(
        update(InboxItem)
        .where(
            col(InboxItem.id) == item.id,
            col(InboxItem.status).in_(_OPEN),
            col(InboxItem.reply_external_id).is_(None),
            text.is_not(None) if waiting else text.is_(None),
            or_(sending.is_(None), sending <= now - REPLY_CLAIM),
            *same,
        )
        .values(**values)
    )
    if taken.rowcount == 1:
        return
    session.rollback()
    session.refresh(item)
    if item.status not in _OPEN or item.reply_external_id:
        raise ValidationFailed({"reply": _handled(item.id)})
    _refuse_if_busy(item, now)
    if waiting and item.reply_text is not None:
        raise ValidationFailed(
            {
                "reply": Message(
                    "reply_changed",
                    "the reply waiting on inbox item {id} changed meanwhile; read it again",
                    id=item.id,
                )
            }
        )
    if waiting:
        raise ValidationFailed({"reply": _no_reply_waits(item.id)})
    raise ValidationFailed({"text": _REPLY_WAITS})


def _send_reply(
    session: Session,
    actor: User,
    item: InboxItem,
    channel: Channel,
    adapter: Publisher,
    *,
    text: str,
    writer_id: int | None,
    claimed_at: datetime,
    approved: bool = False,
) -> InboxItem:
    """Send `text` through `adapter` for an item this caller holds (`_take` set
    `reply_sending_at` to `claimed_at`), record it as answered (with the approval, when
    `approved`) and let the item go; on a refusal, only let it go.

    The key is the item's own, so sending again after a failure or a lost answer makes
    no second reply on networks that drop repeats (Mastodon, Matrix, Bluesky).
    """
    item_id = item.id
    assert item_id is not None
    key = f"planner-inbox-{item_id}-reply"
    target = ReplyTo(item.external_id, author_handle=item.author_handle, context=item.context)
    try:
        receipt = adapter.reply(target, text, key)
    except DeliveryError as err:
        session.rollback()
        # Only this caller's hold: one that outlived `REPLY_CLAIM` may be someone else's now.
        session.connection().execute(
            update(InboxItem)
            .where(col(InboxItem.id) == item_id, col(InboxItem.reply_sending_at) == claimed_at)
            .values(reply_sending_at=None)
        )
        session.refresh(item)
        _record(session, actor, item, "reply_failed", None, f"{channel.name}: {err}"[:500])
        session.commit()
        raise ReplyFailed(str(err), retryable=err.retryable) from err
    sent = _Sent(channel, receipt, text, writer_id, approved)
    try:
        return _record_sent(session, actor, item, sent)
    except OperationalError:
        # The database connection went away while the channel answered (a restart, a
        # failover). The reply is out: record it once more, on a new connection, rather
        # than leave the item to be answered again when its hold ends.
        log.warning(
            "lost the database connection recording the reply to inbox item %s; once more", item_id
        )
        session.rollback()
        session.refresh(item)
        if item.reply_external_id == sent.receipt.external_id[:500]:
            return item  # the first try was stored after all; its answer was what got lost
        return _record_sent(session, actor, item, sent)


@dataclass(frozen=True)
class _Sent:
    """A reply the channel took: on which channel, its receipt, its text and writer, and
    whether it went out on an approval."""

    channel: Channel
    receipt: Receipt
    text: str
    writer_id: int | None
    approved: bool


def _record_sent(session: Session, actor: User, item: InboxItem, sent: _Sent) -> InboxItem:
    """Record the reply the channel took as the item's answer, and let the item go."""
    channel, receipt, text, writer_id = sent.channel, sent.receipt, sent.text, sent.writer_id
    session.refresh(item)
    if sent.approved:
        _record(session, actor, item, "reply_approved", item.status)
    before = item.status
    # Answered, whatever happened to the item meanwhile: the reply is out.
    item.status = InboxStatus.answered
    item.reply_text, item.reply_by_id = text, writer_id
    item.reply_requested_at = item.reply_requested_at or utcnow()
    item.reply_sending_at = None
    item.reply_external_id = receipt.external_id[:500]
    item.reply_url = (receipt.url or "")[:URL_MAX] or None
    item.handled_by_id, item.handled_at = actor.id, utcnow()
    session.add(item)
    _record(session, actor, item, "reply", before, note=f"{channel.name}: {receipt.external_id}")
    session.commit()
    return item


# --- followed feeds -----------------------------------------------------------------------


def add_feed(
    session: Session, *, actor: User, url: str, name: str = "", department: str | None = None
) -> Feed:
    """Follow an RSS or Atom feed; its new entries arrive in the inbox."""
    require(actor, "manage_feeds")
    url, name = url.strip(), name.strip()
    check_text(url, "url")
    check_text(name, "name")
    if len(name) > NAME_MAX:
        raise ValidationFailed({"name": _too_long(NAME_MAX)})
    name = name or url[:NAME_MAX]
    if len(url) > URL_MAX:
        raise ValidationFailed({"url": _too_long(URL_MAX)})
    if not url.lower().startswith(("http://", "https://")) or " " in url:
        # (The same words as a channel's setting that is no http(s) address.)
        raise ValidationFailed(
            {
                "url": Message(
                    "config_not_http", "{shown}is not an http(s) address", shown=f"{url!r} "
                )
            }
        )
    try:
        url = _feed_address(url)
    except ValueError as err:  # a host urlsplit cannot read ("https://[zz]/feed")
        raise ValidationFailed(
            {
                "url": Message(
                    "config_not_http", "{shown}is not an http(s) address", shown=f"{url!r} "
                )
            }
        ) from err
    if carries_credentials(url):
        # Never echoed: the address holds a password.
        raise ValidationFailed(
            {
                "url": Message(
                    "address_with_credentials",
                    "an address may not carry a user name or password",
                )
            }
        )
    followed = {_feed_address(known, strict=False) for known in session.exec(select(Feed.url))}
    if url in followed:
        raise ValidationFailed(
            {"url": Message("feed_followed", "{url!r} is followed already", url=url)}
        )
    dep_id = None
    if department:
        try:
            dep_id = get_department(session, department).id
        except NotFound as err:
            raise ValidationFailed(
                {"department": _unknown_department(session, department)}
            ) from err
    assert actor.id is not None
    feed = Feed(url=url, name=name, department_id=dep_id, created_by_id=actor.id)
    session.add(feed)
    session.flush()
    audit.record(
        session, actor=actor, object_type="feed", object_id=feed.id, action="follow", note=url
    )
    session.commit()
    return feed


def _feed_address(url: str, *, strict: bool = True) -> str:
    """`url` with its scheme and host in lower case, as they mean the same in any case
    (HTTP://Presse.example.de/feed and http://presse.example.de/feed are one feed); the
    path and query keep theirs. An address that cannot be read raises ValueError, or with
    `strict` off is given back as it is (one stored before addresses were read so)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        if strict:
            raise
        return url
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo}{at}{hostport.lower()}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path, parts.query, parts.fragment))


def list_feeds(session: Session, *, actor: User) -> list[Feed]:
    """The followed feeds, by name (editors, approvers and admins)."""
    require(actor, "view_inbox")
    return list(session.exec(select(Feed).order_by(col(Feed.name), col(Feed.id))))


def get_feed(session: Session, *, actor: User, feed_id: int) -> Feed:
    """One followed feed."""
    require(actor, "view_inbox")
    feed = session.get(Feed, feed_id)
    if feed is None:
        raise NotFound("feed", feed_id)
    return feed


def feed_department(session: Session, feed: Feed) -> str:
    """The name of the department a feed's entries go to ("" for none)."""
    dep = session.get(Department, feed.department_id) if feed.department_id else None
    return dep.name if dep is not None else ""


def remove_feed(session: Session, *, actor: User, feed_id: int) -> None:
    """Stop following a feed; the items it brought stay in the inbox."""
    require(actor, "manage_feeds")
    feed = get_feed(session, actor=actor, feed_id=feed_id)
    session.execute(update(InboxItem).where(col(InboxItem.feed_id) == feed_id).values(feed_id=None))
    audit.record(
        session,
        actor=actor,
        object_type="feed",
        object_id=feed_id,
        action="unfollow",
        note=feed.url,
    )
    session.delete(feed)
    session.commit()


# --- response targets ---------------------------------------------------------------------


# A department's own response target, in hours: the range of the organisation's.
MIN_TARGET_HOURS, MAX_TARGET_HOURS = org_settings.RESPONSE_HOURS


def set_response_target(
    session: Session, *, actor: User, department: str, hours: int | None
) -> None:
    """A department's own response target in hours (None: the organisation's again)."""
    require(actor, "manage_departments")
    dep = get_department(session, department)
    assert dep.id is not None
    if hours is not None and not MIN_TARGET_HOURS <= hours <= MAX_TARGET_HOURS:
        raise ValidationFailed(
            {
                "hours": Message(
                    "target_hours",
                    "a whole number of hours from {low} to {high}",
                    low=MIN_TARGET_HOURS,
                    high=MAX_TARGET_HOURS,
                )
            }
        )
    session.execute(delete(ResponseTarget).where(col(ResponseTarget.department_id) == dep.id))
    if hours is not None:
        session.add(ResponseTarget(department_id=dep.id, hours=hours))
    audit.record(
        session,
        actor=actor,
        object_type="department",
        object_id=dep.id,
        action="response_target",
        to_state=str(hours) if hours is not None else "default",
    )
    session.commit()


@dataclass(frozen=True)
class ResponseFigures:
    """How a department answered what was assigned to it in a period."""

    department: str
    target_hours: int
    answered: int
    within_target: int
    median_hours: float | None
    open_overdue: int

    @property
    def share_within(self) -> float | None:
        """The share of answered items answered within the target (None: none answered)."""
        return self.within_target / self.answered if self.answered else None


def response_figures(
    session: Session, since: datetime, until: datetime, *, now: datetime | None = None
) -> list[ResponseFigures]:
    """Per department (and "" for items without one): items answered in the period, the
    median hours from arrival to reply, how many within the target, and open overdue items."""
    now = now or utcnow()
    default, own = target_hours(session)
    names = {d.id: d.name for d in session.exec(select(Department))}
    answered = session.exec(
        select(InboxItem).where(
            InboxItem.status == InboxStatus.answered,
            *within_period(InboxItem.handled_at, since, until),
        )
    )
    durations: dict[int | None, list[float]] = {}
    for item in answered:
        assert item.handled_at is not None
        hours = (item.handled_at - item.received_at).total_seconds() / 3600
        durations.setdefault(item.department_id, []).append(hours)
    overdue: dict[int | None, int] = {}
    for item in session.exec(select(InboxItem).where(col(InboxItem.status).in_(_OPEN))):
        hours = own.get(item.department_id or 0, default)
        if now > item.received_at + timedelta(hours=hours):
            overdue[item.department_id] = overdue.get(item.department_id, 0) + 1
    figures = []
    for dep_id in sorted(set(durations) | set(overdue), key=lambda d: names.get(d or 0, "")):
        hours = own.get(dep_id or 0, default)
        taken = durations.get(dep_id, [])
        figures.append(
            ResponseFigures(
                department=names.get(dep_id or 0, ""),
                target_hours=hours,
                answered=len(taken),
                within_target=sum(1 for h in taken if h <= hours),
                median_hours=statistics.median(taken) if taken else None,
                open_overdue=overdue.get(dep_id, 0),
            )
        )
    return figures


# --- polling ------------------------------------------------------------------------------


@dataclass
class PollResult:
    """What one poll brought: new items per source, and the sources that failed."""

    arrived: int = 0
    sources: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    # Sources left alone this time: they answered 429 and asked to wait longer.
    paused: int = 0

    def read(self, kind: str, name: str, read: Callable[[], int]) -> None:
        """Count the source `name` of `kind` ("channel", "feed") and what `read` brought;
        when it fails, record and log why, and go on."""
        self.sources += 1
        try:
            self.arrived += read()
        except Exception as err:  # noqa: BLE001 (one broken source never stops the others)
            self.errors[f"{kind} {name}"] = str(err)
            log.warning(_POLL_FAILED[kind], name, err)


# How the log words a source's failed read, by kind.
_POLL_FAILED = {
    "channel": "listening on channel %s failed: %s",
    "feed": "reading feed %s failed: %s",
}


def _insert_ignoring_repeats(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert items; one already stored (same source and external id) is skipped, even
    when another worker stores it at the same moment. How many were new."""
    if not rows:
        return 0
    table = InboxItem.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["source_key", "external_id"])
        .returning(table.c.id)
    )
    return len(list(session.execute(statement)))


def _storable(value: Any) -> Any:
    """`value` with every text made storable: a network's text may hold NUL characters or
    lone surrogates, which no database column takes (one such item would stop its source)."""
    if isinstance(value, str):
        return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def _row(**values: Any) -> dict[str, Any]:
    """A full inbox_items row: every column the insert names, defaults for the rest."""
    now = utcnow()
    base: dict[str, Any] = {
        "author_name": "",
        "author_handle": "",
        "author_url": None,
        "title": "",
        "text": "",
        "url": None,
        "received_at": now,
        "published_at": None,
        "context": {},
        "channel_id": None,
        "feed_id": None,
        "in_reply_to_post_id": None,
        "status": InboxStatus.new.value,
        "department_id": None,
        "assigned_at": None,
    }
    return {key: _storable(value) for key, value in {**base, **values}.items()}


def _mention_rows(
    session: Session, channel: Channel, found: Iterable[Mention]
) -> list[dict[str, Any]]:
    mentions = list(found)
    ours = {m.in_reply_to for m in mentions if m.in_reply_to}
    posts = (
        {
            external_id: post_id
            for post_id, external_id in session.exec(
                select(Post.id, Post.external_id).where(
                    Post.channel_id == channel.id, col(Post.external_id).in_(ours)
                )
            )
        }
        if ours
        else {}
    )
    return [
        _row(
            source=(InboxSource.reply if m.kind == "reply" else InboxSource.mention).value,
            source_key=f"channel:{channel.id}",
            channel_id=channel.id,
            external_id=m.external_id[:500],
            author_name=m.author_name[:200],
            author_handle=m.author_handle[:200],
            author_url=(m.author_url or "")[:URL_MAX] or None,
            text=m.text,
            url=(m.url or "")[:URL_MAX] or None,
            published_at=m.published_at,
            context=dict(m.context),
            in_reply_to_post_id=posts.get(m.in_reply_to or ""),
        )
        for m in mentions
    ]


def poll_channel(
    engine: Engine, channel_id: int, *, adapter_factory: AdapterFactory = build_adapter
) -> int:
    """Read one listening channel's new mentions into the inbox; how many were new.

    The channel's error (or None) is stored on its listening state either way.
    """
    with Session(engine, expire_on_commit=False) as session:
        channel = session.get(Channel, channel_id)
        if channel is None:
            raise NotFound("channel", channel_id)
        state = session.get(ListeningState, channel_id)
        cursor = state.cursor if state is not None else None
        try:
            adapter = adapter_factory(channel)
            found = adapter.fetch_mentions(cursor)
        except (DeliveryError, ValidationFailed) as err:
            session.rollback()
            _store_state(
                session,
                channel_id,
                cursor=cursor,
                last_error=str(err)[:2000],
                paused_until=_pause_end(err),
            )
            session.commit()
            raise
        arrived = _insert_ignoring_repeats(session, _mention_rows(session, channel, found.items))
        newest = (found.cursor or cursor or "")[:500] or None
        _store_state(session, channel_id, cursor=newest, last_error=None)
        session.commit()
        return arrived


def _pause_end(err: Exception) -> datetime | None:
    """Until when a source that answered 429 is left alone (None: not paused)."""
    if isinstance(err, RateLimited):
        return utcnow() + timedelta(seconds=max(err.retry_after, 1.0))
    return None


def _store_state(
    session: Session,
    channel_id: int,
    *,
    cursor: str | None,
    last_error: str | None,
    paused_until: datetime | None = None,
) -> None:
    """Keep a channel's listening state; two workers storing it at once both succeed."""
    table = ListeningState.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {
        "cursor": cursor,
        "last_error": last_error,
        "last_fetched_at": utcnow(),
        "paused_until": paused_until,
    }
    session.execute(
        insert(table)
        .values(channel_id=channel_id, **values)
        .on_conflict_do_update(index_elements=["channel_id"], set_=values)
    )


def poll_feed(engine: Engine, feed_id: int, *, fetcher: FeedFetcher = fetch_feed) -> int:
    """Read one followed feed's new entries into the inbox; how many were new."""
    with Session(engine, expire_on_commit=False) as session:
        feed = session.get(Feed, feed_id)
        if feed is None:
            raise NotFound("feed", feed_id)
        private = org_settings.allows_private_network(session)
        try:
            answer = fetcher(
                feed.url,
                etag=feed.etag,
                last_modified=feed.last_modified,
                allow_private_network=private,
            )
        except DeliveryError as err:
            feed.last_error = str(err)[:2000]
            feed.last_fetched_at = utcnow()
            feed.paused_until = _pause_end(err)
            session.add(feed)
            session.commit()
            raise
        assigned = feed.department_id is not None
        rows = [
            _row(
                source=InboxSource.feed_item.value,
                source_key=f"feed:{feed.id}",
                feed_id=feed.id,
                external_id=entry.external_id,
                author_name=entry.author,
                title=entry.title,
                text=entry.text,
                url=(entry.url or "")[:URL_MAX] or None,
                published_at=entry.published_at,
                department_id=feed.department_id,
                status=(InboxStatus.assigned if assigned else InboxStatus.new).value,
                assigned_at=utcnow() if assigned else None,
            )
            for entry in answer.entries
        ]
        arrived = _insert_ignoring_repeats(session, rows)
        feed.etag = (answer.etag or "")[:500] or None
        feed.last_modified = (answer.last_modified or "")[:100] or None
        feed.last_error = None
        feed.last_fetched_at = utcnow()
        feed.paused_until = None
        session.add(feed)
        session.commit()
        return arrived


def poll(
    engine: Engine,
    *,
    adapter_factory: AdapterFactory = build_adapter,
    fetcher: FeedFetcher = fetch_feed,
    stopping: threading.Event | None = None,
) -> PollResult:
    """Read every enabled listening channel and followed feed once; a failing source is
    recorded on it and the others are read all the same. Publishing comes first: a channel
    that publishing found rate-limited (`Channel.paused_until`) is left alone until its
    pause ends, as is one whose own reading got a 429.

    Once `stopping` is set (the worker shuts down) the source being read is finished and
    recorded, and no further one is begun: the next run reads them."""
    result = PollResult()
    now = utcnow()
    with Session(engine) as session:
        paused = {
            s.channel_id
            for s in session.exec(select(ListeningState))
            if s.paused_until is not None and s.paused_until > now
        }
        listening = [
            c
            for c in session.exec(select(Channel).where(col(Channel.enabled).is_(True)))
            if _listens(c.kind)
        ]
        paused |= {
            c.id
            for c in listening
            if c.id is not None and c.paused_until is not None and c.paused_until > now
        }
        channels = [(c.id, c.name) for c in listening if c.id not in paused]
        feeds = [
            (f.id, f.name)
            for f in session.exec(select(Feed).where(col(Feed.enabled).is_(True)))
            if f.paused_until is None or f.paused_until <= now
        ]
        result.paused = len(paused) + sum(
            1
            for f in session.exec(select(Feed))
            if f.enabled and f.paused_until is not None and f.paused_until > now
        )
    readers = [
        ("channel", name, partial(poll_channel, engine, id_, adapter_factory=adapter_factory))
        for id_, name in channels
        if id_ is not None
    ] + [
        ("feed", name, partial(poll_feed, engine, id_, fetcher=fetcher))
        for id_, name in feeds
        if id_ is not None
    ]
    for kind, name, reader in readers:
        if stopping is not None and stopping.is_set():
            break
        result.read(kind, name, reader)
    return result


def poll_now(
    engine: Engine,
    *,
    actor: User,
    adapter_factory: AdapterFactory = build_adapter,
    fetcher: FeedFetcher = fetch_feed,
) -> PollResult:
    """`poll` at once, on a person's request (editors and admins)."""
    require(actor, "handle_inbox")
    return poll(engine, adapter_factory=adapter_factory, fetcher=fetcher)


def _listens(kind: str) -> bool:
    from publishers import REGISTRY

    cls = REGISTRY.get(kind)
    return cls is not None and cls.can_listen


@dataclass(frozen=True)
class SourceState:
    """A listening channel or followed feed as the inbox page shows it."""

    kind: str  # "channel" or "feed"
    id: int
    name: str
    last_fetched_at: datetime | None
    last_error: str | None


def source_states(session: Session, *, actor: User) -> list[SourceState]:
    """Every listening channel and followed feed with when it was last read and its error."""
    require(actor, "view_inbox")
    states = {s.channel_id: s for s in session.exec(select(ListeningState))}
    found = []
    for channel in session.exec(select(Channel).order_by(col(Channel.name))):
        if not _listens(channel.kind) or channel.id is None:
            continue
        state = states.get(channel.id)
        found.append(
            SourceState(
                "channel",
                channel.id,
                channel.name,
                state.last_fetched_at if state else None,
                state.last_error if state else None,
            )
        )
    for feed in list_feeds(session, actor=actor):
        assert feed.id is not None
        found.append(SourceState("feed", feed.id, feed.name, feed.last_fetched_at, feed.last_error))
    return found


def departments_of(session: Session, *, actor: User) -> list[str]:
    """Department names, for the filters and the assignment."""
    require_active(actor)
    return [d.name for d in session.exec(select(Department).order_by(col(Department.name)))]


def own_department(session: Session, *, actor: User) -> str:
    """The name of the actor's department ("" for none)."""
    require_active(actor)
    dep = session.get(Department, actor.department_id) if actor.department_id else None
    return dep.name if dep is not None else ""


def default_target_hours(session: Session, *, actor: User) -> int:
    """The organisation's response target in hours (for departments without their own)."""
    require_active(actor)
    return target_hours(session)[0]


def response_targets_by_name(session: Session, *, actor: User) -> dict[str, int]:
    """The departments with a response target of their own, by name, with it in hours."""
    require_active(actor)
    _default, own = target_hours(session)
    names = {d.id: d.name for d in session.exec(select(Department))}
    return dict(sorted((names[dep_id], hours) for dep_id, hours in own.items() if dep_id in names))
