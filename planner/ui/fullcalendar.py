"""The interactive calendar's data: posts as FullCalendar events, free and crowded days, the
calendar's options in the user's language, and what a drop or a click on a card asks for.

Pure functions over what the Calendar page read through `planner.planning`: nothing here
reads the database or draws anything, so it is tested without a browser. Times go to the
calendar as the user's wall clock without an offset and the calendar runs in "UTC", so it
shows them as they are (the browser's own zone never shifts them); a dropped card's new
start comes back the same way and is read as the user's wall clock again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from planner import planning, workflow
from planner.models import PostStatus
from planner.planning import CalendarEntry
from planner.timezones import to_local
from planner.ui import channel_icons
from planner.ui.i18n import hold_text, translate

View = Literal["month", "week"]
CardState = Literal["scheduled", "held", "published", "failed", "other"]

# Card colours by what the publishing engine does with the post; white text (CARD_TEXT) on
# each has a contrast of at least 4.5:1. The state is also written on the card: colour is
# never alone.
COLOURS: dict[str, str] = {
    "scheduled": "#1a5a96",
    "held": "#8a4500",
    "published": "#1b6b35",
    "failed": "#b00020",
    "other": "#545454",
}
CARD_TEXT = "#ffffff"  # every card's text: one option of the calendar, not one per card
# Background marks of days and slots (pale, under dark text).
MARKS: dict[str, str] = {"free": "#dcefe0", "crowded": "#fbe0bd", "slot": "#c4e3cc"}
SLOT_LENGTH = timedelta(minutes=30)  # how long a free slot of a slot plan is drawn
# A month's day shows at most this many cards (held and failed ones first), then "+N more",
# which opens the day's week: more are not read in a day's cell, and each costs the browser.
MONTH_CARDS_PER_DAY = 4
MORE_COLOURS = {"backgroundColor": "#ffffff", "borderColor": "#545454", "textColor": "#1f1f1f"}
_STILL_TO_GO = frozenset(workflow.leading_to("post", PostStatus.published))
_FAILED = frozenset({PostStatus.failed, PostStatus.missed})
_SHORT_NAME = 18  # a channel's name on a card is cut after this many characters
_TIME_FORMAT = {"hour": "2-digit", "minute": "2-digit", "hour12": False}
_VIEWS: dict[tuple[str, bool], str] = {
    ("month", False): "dayGridMonth",
    ("month", True): "listMonth",
    ("week", False): "timeGridWeek",
    ("week", True): "listWeek",
}


def card_state(entry: CalendarEntry) -> CardState:
    """What the publishing engine does with the post: its card's colour."""
    status = entry.post.status
    if status == PostStatus.published:
        return "published"
    if status in _FAILED:
        return "failed"
    if status in _STILL_TO_GO and entry.hold is not None:
        return "held"
    if status == PostStatus.planned:
        return "scheduled"
    return "other"


class CardTexts:
    """The words of one run's cards in `lang`, each looked up once: a month has up to
    `planning.CALENDAR_LIMIT` cards, and most share their few states."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.card = translate(lang, "calendar.fc.card")
        self._states: dict[tuple[PostStatus, planning.Hold | None], str] = {}

    def state(self, status: PostStatus, hold: planning.Hold | None) -> str:
        """What a card says the engine does with its post: held for `hold`, or its status."""
        key = (status, hold)
        if key not in self._states:
            if hold is None:
                words = translate(self.lang, f"status.{status}")
            else:
                reason = hold_text(self.lang, hold)
                words = translate(self.lang, "calendar.fc.held", reason=reason)
            self._states[key] = words
        return self._states[key]


def short_name(name: str) -> str:
    """A channel's name as short as a card needs it."""
    return name if len(name) <= _SHORT_NAME else name[: _SHORT_NAME - 1] + "…"


def _wall_clock(instant: datetime, tz_name: str) -> str:
    """The user's wall clock at `instant`, without an offset (the calendar runs in UTC)."""
    return to_local(instant, tz_name).replace(tzinfo=None).isoformat(timespec="seconds")


def post_event(
    entry: CalendarEntry,
    *,
    lang: str,
    tz_name: str,
    movable: bool = False,
    texts: CardTexts | None = None,
) -> dict[str, Any]:
    """One post as a FullCalendar event: a card with its channel's icon and short name,
    the piece's title and what the engine does with it (in words, and in its state's
    colour); `movable` cards may be dragged to another time. `texts`: the run's words in
    `lang`."""
    state = card_state(entry)
    colour = COLOURS[state]
    words = texts if texts is not None and texts.lang == lang else CardTexts(lang)
    # The card's text with its values, as `translate` fills it (none is an amount).
    title = words.card.format(
        channel=short_name(entry.channel_name),
        title=entry.piece_title,
        state=words.state(entry.post.status, entry.hold if state == "held" else None),
    )
    return {
        "id": str(entry.post.id),
        "title": title,
        # Timed (FullCalendar reads that from the start's time); the white text and the
        # fixed length are the calendar's options: a phone's month list may have 2 000 cards.
        "start": _wall_clock(entry.post.publish_at, tz_name),
        "backgroundColor": colour,
        "borderColor": colour,
        "startEditable": movable,
        "classNames": [
            "planner-post",
            f"planner-{state}",
            channel_icons.css_class(entry.channel_kind),
        ],
        "extendedProps": {
            "post": entry.post.id,
            "piece": entry.post.piece_id,
            "version": entry.post.version,
            "state": state,
            "order": 0,  # a day's cards come before its "+N more" (1)
        },
    }


def more_event(day: date, count: int, *, lang: str) -> dict[str, Any]:
    """The "+N more" of a month's day whose other `count` cards are not drawn: a click on it
    opens the day's week."""
    return {
        "id": f"more-{day.isoformat()}",
        "title": translate(lang, "calendar.fc.more_cards", count=count),
        "start": day.isoformat(),
        "allDay": True,
        "startEditable": False,
        "classNames": ["planner-more"],
        **MORE_COLOURS,
        # Under the day's cards: the calendar orders a day's events by `order` first.
        "extendedProps": {"more": day.isoformat(), "order": 1},
    }


def _shown_per_day(
    entries: Sequence[CalendarEntry], *, tz_name: str, per_day: int
) -> tuple[list[CalendarEntry], dict[date, int]]:
    """The entries a month draws as cards, at most `per_day` a day (held and failed ones
    first, then by time), and by day how many are left out."""
    by_day: dict[date, list[CalendarEntry]] = {}
    for entry in entries:
        by_day.setdefault(to_local(entry.post.publish_at, tz_name).date(), []).append(entry)
    shown: list[CalendarEntry] = []
    left_out: dict[date, int] = {}
    for day, todays in by_day.items():
        if len(todays) > per_day:
            todays = sorted(
                todays,
                key=lambda e: (card_state(e) not in ("held", "failed"), e.post.publish_at),
            )
            left_out[day] = len(todays) - per_day
        shown.extend(todays[:per_day])
    return shown, left_out


@dataclass(frozen=True)
class DayMark:
    """A day drawn free (no post) or crowded (many posts, or a channel at its daily cap)."""

    day: date
    kind: Literal["free", "crowded"]
    posts: int
    full_channels: tuple[str, ...] = ()


def day_marks(
    entries: Sequence[CalendarEntry],
    *,
    tz_name: str,
    first: date,
    days: int,
    caps: Mapping[int, int | None],
    today: date,
) -> list[DayMark]:
    """The free days from `today` on and the crowded days among the `days` from `first`:
    crowded from `planning.CROWDED_DAY` posts, or when a channel has as many as its daily
    cap (`caps`, by channel id; None for no cap)."""
    per_day: Counter[date] = Counter()
    per_channel: Counter[tuple[date, int]] = Counter()
    names: dict[int, str] = {}
    for entry in entries:
        local = to_local(entry.post.publish_at, tz_name).date()
        per_day[local] += 1
        per_channel[(local, entry.post.channel_id)] += 1
        names[entry.post.channel_id] = entry.channel_name
    marks = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        count = per_day[day]
        full = tuple(
            sorted(
                names[channel]
                for (on, channel), n in per_channel.items()
                if on == day and (cap := caps.get(channel)) is not None and n >= cap
            )
        )
        if count >= planning.CROWDED_DAY or full:
            marks.append(DayMark(day, "crowded", count, full))
        elif count == 0 and day >= today:
            marks.append(DayMark(day, "free", 0))
    return marks


def mark_event(mark: DayMark, *, lang: str) -> dict[str, Any]:
    """A day's mark as an all-day background event, saying what it marks."""
    if mark.kind == "free":
        title = translate(lang, "calendar.fc.free_day")
    elif mark.full_channels:
        title = translate(
            lang,
            "calendar.fc.cap_reached",
            count=mark.posts,
            channels=", ".join(mark.full_channels),
        )
    else:
        title = translate(lang, "calendar.fc.crowded_day", count=mark.posts)
    return {
        "id": f"{mark.kind}-{mark.day.isoformat()}",
        "title": title,
        "start": mark.day.isoformat(),
        "end": (mark.day + timedelta(days=1)).isoformat(),
        "allDay": True,
        "display": "background",
        "backgroundColor": MARKS[mark.kind],
        "classNames": [f"planner-{mark.kind}-day"],
    }


def slot_event(slot: datetime, *, lang: str, tz_name: str) -> dict[str, Any]:
    """A free slot of a slot plan (an aware instant) as a background event."""
    return {
        "id": f"slot-{slot.isoformat()}",
        "title": translate(lang, "calendar.fc.free_slot"),
        "start": _wall_clock(slot, tz_name),
        "end": _wall_clock(slot + SLOT_LENGTH, tz_name),
        "allDay": False,
        "display": "background",
        "backgroundColor": MARKS["slot"],
        "classNames": ["planner-free-slot"],
    }


def events(
    entries: Sequence[CalendarEntry],
    *,
    lang: str,
    tz_name: str,
    first: date,
    days: int,
    today: date,
    caps: Mapping[int, int | None] | None = None,
    movable: frozenset[int] = frozenset(),
    free_slots: Sequence[datetime] = (),
    per_day: int | None = None,
) -> list[dict[str, Any]]:
    """Everything the calendar draws for the `days` from `first`: the posts' cards (those
    in `movable`, by post id, may be dragged; with `per_day`, at most that many a day and a
    "+N more" for the rest), the free and crowded days (of all the posts), and the free
    slots given (aware instants, e.g. of a weekly slot plan)."""
    texts = CardTexts(lang)
    shown, left_out = (
        (entries, {})
        if per_day is None
        else _shown_per_day(entries, tz_name=tz_name, per_day=per_day)
    )
    cards = [
        post_event(
            entry,
            lang=lang,
            tz_name=tz_name,
            movable=entry.post.id in movable,
            texts=texts,
        )
        for entry in shown
    ]
    marks = day_marks(
        entries, tz_name=tz_name, first=first, days=days, caps=caps or {}, today=today
    )
    return [
        *cards,
        *(more_event(day, n, lang=lang) for day, n in sorted(left_out.items())),
        *(mark_event(mark, lang=lang) for mark in marks),
        *(slot_event(slot, lang=lang, tz_name=tz_name) for slot in free_slots),
    ]


def _locale(lang: str) -> dict[str, Any]:
    """FullCalendar's texts in `lang` (its own locale files are not in the component)."""

    def t(key: str) -> str:
        return translate(lang, f"calendar.fc.{key}")

    views = ("month", "week", "day", "list", "year")
    return {
        "code": "de" if lang == "de" else "en-GB",
        "week": {"dow": 1, "doy": 4},
        "buttonText": {
            "prev": t("prev"),
            "next": t("next"),
            "prevYear": t("prev_year"),
            "nextYear": t("next_year"),
            "today": t("today"),
            **{view: t(f"view.{view}") for view in views},
        },
        "buttonHints": {"prev": t("hint.prev"), "next": t("hint.next"), "today": t("hint.today")},
        "viewHint": t("hint.view"),
        "navLinkHint": t("hint.nav_link"),
        "moreLinkHint": t("hint.more_link"),
        "weekText": t("week_short"),
        "weekTextLong": t("view.week"),
        "closeHint": t("hint.close"),
        "timeHint": t("hint.time"),
        "eventHint": t("hint.event"),
        "allDayText": t("all_day"),
        "moreLinkText": t("more"),
        "noEventsText": t("no_posts"),
    }


def options(
    *, lang: str, view: View, anchor: date, now: datetime, tz_name: str, phone: bool = False
) -> dict[str, Any]:
    """The calendar's options: `view` (month or week; on a phone its list) around `anchor`,
    Monday first, 24-hour times, German or English texts, `now` (aware) as the user's wall
    clock. The page's own filters move the calendar, so it has no buttons of its own."""
    grid = {
        # Every post shown: FullCalendar's "+2 more" link carries ARIA a link may not have.
        "month": {"height": "auto", "fixedWeekCount": False, "dayMaxEvents": False},
        "week": {"height": 900, "scrollTime": "07:00:00", "slotLabelFormat": _TIME_FORMAT},
    }
    return {
        "initialView": _VIEWS[(view, phone)],
        "initialDate": anchor.isoformat(),
        "now": _wall_clock(now, tz_name),
        "timeZone": "UTC",
        "locale": _locale(lang),
        "firstDay": 1,
        "headerToolbar": {"left": "", "center": "title", "right": ""},
        "eventDisplay": "block",
        # A day's events by their `order` (a "+N more" under the cards), then by time.
        "eventOrder": "order,start,title",
        "eventTimeFormat": _TIME_FORMAT,
        "eventTextColor": CARD_TEXT,
        "eventDurationEditable": False,
        "editable": False,
        "navLinks": False,
        "selectable": False,
        **({"height": "auto"} if phone else grid[view]),
    }


def css() -> str:
    """The calendar's own CSS: cards wrap their text; background marks are opaque and their
    words dark."""
    return (
        # A card in a month's cell: its time, then at most three lines of its words.
        ".fc .fc-daygrid-event { white-space: normal; }\n"
        ".fc .fc-daygrid-block-event .fc-event-main-frame { flex-wrap: wrap; }\n"
        ".fc .fc-daygrid-block-event .fc-event-title { display: -webkit-box;"
        " -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden; }\n"
        ".fc .fc-event-time { white-space: nowrap; font-weight: 700; }\n"
        # Half an hour of a week tall enough for a card's time and two lines of its words.
        ".fc .fc-timegrid-slot { height: 2.6em; }\n"
        ".fc .fc-day-other .fc-daygrid-day-top { opacity: 1; }\n"
        ".fc .fc-day-other .fc-daygrid-day-number { color: #595959; }\n"
        ".fc .fc-bg-event { opacity: 1; color: #1f1f1f; }\n"
        ".fc .fc-bg-event .fc-event-title { font-style: normal; color: #1f1f1f; }\n"
        ".fc .fc-toolbar-title { font-size: 1.25rem; }\n"
    ) + channel_icons.css()


def legend(lang: str) -> list[str]:
    """What the colours and marks mean, one line each, for the text beside the calendar."""
    return [
        translate(lang, f"calendar.fc.legend.{key}", count=planning.CROWDED_DAY)
        for key in (*COLOURS, *MARKS, "more")
    ]


@dataclass(frozen=True)
class Drop:
    """A card dropped on another time: the post, the version it was shown at, and its new
    start on the user's wall clock."""

    post_id: int
    version: int | None
    when: datetime

    def typed(self) -> str:
        """The new time as a person types it into the move form."""
        return f"{self.when:%Y-%m-%d %H:%M}"


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def dropped(value: object) -> Drop | None:
    """The drop the calendar reported (`eventChange`), or None for anything else."""
    if not isinstance(value, dict) or value.get("callback") != "eventChange":
        return None
    change = value.get("eventChange")
    event = change.get("event") if isinstance(change, dict) else None
    if not isinstance(event, dict):
        return None
    props = event.get("extendedProps")
    start = event.get("start")
    post_id = _int(props.get("post")) if isinstance(props, dict) else None
    if post_id is None or not isinstance(start, str):
        return None
    try:
        when = datetime.fromisoformat(start)
    except ValueError:
        return None
    # The calendar runs in UTC over wall-clock times: its "Z" carries no meaning.
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    assert isinstance(props, dict)
    return Drop(post_id, _int(props.get("version")), when)


def _clicked(value: object) -> dict[str, Any]:
    """The extended properties of the event the calendar reported clicked ({}: none)."""
    if not isinstance(value, dict) or value.get("callback") != "eventClick":
        return {}
    click = value.get("eventClick")
    event = click.get("event") if isinstance(click, dict) else None
    props = event.get("extendedProps") if isinstance(event, dict) else None
    return props if isinstance(props, dict) else {}


def clicked_piece(value: object) -> int | None:
    """The piece of the card the calendar reported clicked (`eventClick`), or None."""
    return _int(_clicked(value).get("piece"))


def clicked_more(value: object) -> date | None:
    """The day whose "+N more" the calendar reported clicked, or None."""
    day = _clicked(value).get("more")
    try:
        return date.fromisoformat(day) if isinstance(day, str) else None
    except ValueError:
        return None
