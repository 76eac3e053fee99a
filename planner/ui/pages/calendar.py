"""'Calendar': month, week and list views of posts; plan, move and cancel posts; series.

Only the visible range is read from the database; day counts and the weekly chart are
counted in SQL. Approvers see the calendar read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import streamlit as st
from sqlmodel import Session
from streamlit_calendar import calendar as full_calendar

from planner import audiences, channels, editing, planning, users, workflow
from planner.calendar_feeds import CalendarFilters
from planner.errors import (
    EditConflict,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from planner.models import PostStatus, User, utcnow
from planner.permissions import can
from planner.planning import CalendarEntry
from planner.timezones import to_local
from planner.ui import (
    audience_filter,
    calendar_subscription,
    charts,
    csv_transfer,
    form_tokens,
    fullcalendar,
    keys,
    layout,
    linked_post,
    links,
    moves,
    paging,
    slot_texts,
    state,
    widgets,
)
from planner.ui.i18n import LANGUAGES, hold_text, translate
from planner.ui.plain import md

_VIEWS = ("month", "week", "list")
# Running series shown at once; more are on further pages.
_SERIES_PAGE = 20
_LIST_DAYS = 28
# Posts that may still go out; for those the list says whether their piece is ready.
_STILL_TO_GO = frozenset(workflow.leading_to("post", PostStatus.published))
# The moves the calendar takes, with their buttons; Publishing takes the others.
_BUTTONS = {"move": keys.CAL_MOVE_BUTTON, "cancel": keys.CAL_CANCEL_BUTTON}
# The fields of the forms drawn only while their tab or expander is open.
_KEPT = (
    keys.CAL_PLAN_WHEN,
    keys.CAL_SERIES_PRESET,
    keys.CAL_SERIES_START,
    keys.CAL_SERIES_RULE,
    keys.CAL_SERIES_COUNT,
    keys.CAL_SERIES_UNTIL,
    keys.CAL_MOVE_DAY,
    keys.CAL_MOVE_POST,
    keys.CAL_MOVE_WHEN,
    keys.CAL_FEED_NAME,
    keys.CAL_FEED_CAMPAIGN,
    keys.CAL_FEED_STATUS,
)
_SERIES_COUNT = 6  # occurrences a new series has unless changed
# The forms that create something, and the fields each empties once it has.
_PLAN_FORM = "calendar_plan"
_PLAN_CLEARED = {keys.CAL_PLAN_WHEN: ""}
# The longest date and time a user types ('2027-01-05T09:30:00.000+01:00' is 29 characters).
_WHEN_MAX = 64
_SERIES_FORM = "calendar_series"
_SERIES_CLEARED: dict[str, object] = {
    keys.CAL_SERIES_START: "",
    keys.CAL_SERIES_COUNT: _SERIES_COUNT,
    keys.CAL_SERIES_UNTIL: "",
    keys.CAL_SERIES_RULE: "",
    keys.CAL_SERIES_IN_SLOTS: False,
}


def _visible_range(view: str, anchor: date) -> tuple[date, int]:
    """The first day shown and how many days: whole weeks for month and week views."""
    if view == "week":
        return anchor - timedelta(days=anchor.weekday()), 7
    if view == "list":
        return anchor, _LIST_DAYS
    first = anchor.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    start = first - timedelta(days=first.weekday())
    end = last + timedelta(days=6 - last.weekday())
    return start, (end - start).days + 1


def _errors(state_key: str) -> dict[str, str]:
    errors: dict[str, str] = st.session_state.get(state_key, {})
    return errors


def _field_error(state_key: str, *names: str) -> None:
    for name in names:
        message = _errors(state_key).get(name)
        if message:
            st.error(f"{state.t('calendar.field.' + name)}: {moves.message(message)}")


def _filters(session: Session, user: User) -> tuple[str, date, int | None, int | None]:
    t = state.t
    view_labels = {v: t(f"calendar.view.{v}") for v in _VIEWS}
    channel_labels: dict[int | None, str] = {None: t("calendar.all_channels")}
    channel_labels.update({c.id: c.name for c in channels.list_channels(session, actor=user)})
    department_labels: dict[int | None, str] = {None: t("calendar.all_departments")}
    department_labels.update({d.id: d.name for d in users.list_departments(session, actor=user)})
    # A "+N more" clicked in the last run: its day's week. Set before the widgets are drawn
    # (Streamlit refuses a change to the value of a widget already drawn in the run).
    goto = st.session_state.pop(keys.CAL_GOTO_WEEK, None)
    if isinstance(goto, date):
        st.session_state[keys.CAL_VIEW] = "week"
        st.session_state[keys.CAL_DATE] = goto
    # Today on the user's wall clock, not the server's (just after midnight in Berlin it is
    # still yesterday in UTC).
    today = to_local(utcnow(), user.timezone).date()
    if keys.CAL_DATE not in st.session_state:
        st.session_state[keys.CAL_DATE] = today
    cols = st.columns(4)
    view = cols[0].radio(
        t("calendar.view"),
        options=list(view_labels),
        format_func=view_labels.__getitem__,
        horizontal=True,
        key=keys.CAL_VIEW,
    )
    anchor = cols[1].date_input(
        t("calendar.date"), format=t("format.date_input"), key=keys.CAL_DATE
    )
    channel_id = widgets.labelled_choice(
        t("calendar.channel"), channel_labels, key=keys.CAL_CHANNEL, where=cols[2]
    )
    department_id = widgets.labelled_choice(
        t("calendar.department"), department_labels, key=keys.CAL_DEPARTMENT, where=cols[3]
    )
    picked = anchor if isinstance(anchor, date) else today
    return str(view or "month"), picked, channel_id, department_id


def _month(first: date, days: int, counts: dict[tuple[int, int | None], int], anchor: date) -> None:
    """The month as text: one table, a week a row, each day with its number of posts (the
    days of the month shown in bold, crowded ones marked); on a phone, too narrow for seven
    columns, a line a day. One element, not one per day: the browser draws a page's
    elements one by one."""
    t = state.t
    weekdays = [t(f"calendar.weekday.{i}") for i in range(7)]
    cells: list[tuple[str, str, bool]] = []  # the day, what it holds, whether in the month
    for index in range(days):
        day = first + timedelta(days=index)
        n = counts.get((index, None), 0)
        if n == 0:
            said = t("calendar.empty_day")
        elif n >= planning.CROWDED_DAY:
            said = "⚠ " + t("calendar.crowded_day", count=n)
        else:
            said = state.t_count("calendar.posts", n)
        cells.append(
            (t("calendar.day", day=day.day, month=day.month), said, day.month == anchor.month)
        )
    if layout.on_phone():
        st.text(
            "\n".join(
                f"{weekdays[i % 7]} {label} {said}" for i, (label, said, _) in enumerate(cells)
            )
        )
        return
    # The planner's own words and numbers only: nothing a user typed.
    row = [f"{f'**{label}**' if bold else label} {md(said)}" for label, said, bold in cells]
    st.markdown(
        "\n".join(
            [
                "| " + " | ".join(weekdays) + " |",
                "|" + " --- |" * 7,
                *("| " + " | ".join(row[week : week + 7]) + " |" for week in range(0, days, 7)),
            ]
        )
    )


def _entry_line(entry: CalendarEntry, user: User, crowded: set[int]) -> str:
    t = state.t
    local = to_local(entry.post.publish_at, user.timezone)
    line = t(
        "calendar.entry",
        time=f"{local:%H:%M}",
        channel=entry.channel_name,
        title=entry.piece_title,
        status=t(f"status.{entry.post.status}"),
    )
    return f"⚠ {line}" if entry.post.id in crowded else line


def _week(first: date, entries: list[CalendarEntry], user: User, crowded: set[int]) -> None:
    t = state.t
    by_day: dict[date, list[CalendarEntry]] = {}
    for entry in entries:
        by_day.setdefault(to_local(entry.post.publish_at, user.timezone).date(), []).append(entry)
    with layout.whole_words(keys.CAL_WEEK, min_width="7rem"):
        for i, column in enumerate(st.columns(7)):
            day = first + timedelta(days=i)
            with column.container(border=True):
                label = t("calendar.day", day=day.day, month=day.month)
                st.markdown(f"**{t(f'calendar.weekday.{i}')} {label}**")
                todays = by_day.get(day, [])
                # The day's posts in one text, a line each (one element a day, not a post).
                st.text(
                    "\n".join(_entry_line(entry, user, crowded) for entry in todays)
                    if todays
                    else t("calendar.empty_day")
                )
    if crowded:
        st.warning(t("calendar.crowded_slots", count=len(crowded)))


def _outlook(entry: CalendarEntry) -> str:
    """What the publishing engine will do with a post still to go out: send it, or hold it
    and why (the engine's own reason, never worked out here)."""
    if entry.post.status not in _STILL_TO_GO:
        return ""
    if entry.hold is None:
        return state.t("calendar.goes_out")
    return state.t("calendar.held", reason=hold_text(state.lang(), entry.hold))


def _list(entries: list[CalendarEntry], user: User, crowded: set[int]) -> None:
    t = state.t
    if not entries:
        st.info(t("calendar.nothing"))
        return
    st.dataframe(
        [
            {
                t("col.post"): e.post.id,
                t("col.when"): state.when(e.post.publish_at, user.timezone),
                t("col.channel"): e.channel_name,
                t("col.piece"): e.piece_title,
                t("col.status"): t(f"status.{e.post.status}"),
                t("calendar.col.outlook"): _outlook(e),
                t("calendar.col.crowded"): "⚠" if e.post.id in crowded else "",
            }
            for e in entries
        ],
        hide_index=True,
    )


def _chart(
    session: Session, user: User, first: date, days: int, channel_id: int | None, dep: int | None
) -> None:
    t = state.t
    monday = first - timedelta(days=first.weekday())
    weeks = -(-((first - monday).days + days) // 7)
    counts = planning.posts_per_channel_per_week(
        session,
        actor=user,
        first_monday=monday,
        weeks=weeks,
        tz_name=user.timezone,
        channel_id=channel_id,
        department_id=dep,
    )
    if not counts:
        return
    charts.bars(
        [charts.Bar(state.day(w.week), w.posts, w.channel) for w in counts],
        title=t("calendar.chart_title"),
        label_title=t("calendar.chart_week"),
        value_title=t("calendar.chart_posts"),
        part_title=t("col.channel"),
    )


def _piece_and_channel(session: Session, user: User) -> tuple[int | None, int | None]:
    """The piece (searched, at most 50 shown) and channel the plan and series forms use."""
    t = state.t
    search = st.text_input(t("calendar.plan_search"), key=keys.CAL_PLAN_SEARCH)
    result = editing.search_pieces(session, actor=user, text=search, page_size=50)
    piece_labels = {
        h.id: t("calendar.piece_hit", id=h.id, title=h.title, status=t(f"status.{h.status}"))
        for h in result.hits
    }
    left, right = st.columns(2)
    piece_id = widgets.labelled_choice(
        t("calendar.plan_piece", total=result.total),
        piece_labels,
        key=keys.CAL_PLAN_PIECE,
        where=left,
    )
    with left:
        _field_error(keys.CAL_PLAN_ERRORS, "piece")
    channel_labels = {
        c.id: c.name for c in channels.list_channels(session, actor=user, include_disabled=False)
    }
    channel_id = widgets.labelled_choice(
        t("calendar.plan_channel"), channel_labels, key=keys.CAL_PLAN_CHANNEL, where=right
    )
    with right:
        _field_error(keys.CAL_PLAN_ERRORS, "channel")
    return piece_id, channel_id


def _plan(session: Session, user: User, piece_id: int | None, channel_id: int | None) -> None:
    t = state.t
    typed = {
        "piece": piece_id,
        "channel": channel_id,
        "when": st.session_state.get(keys.CAL_PLAN_WHEN, ""),
    }
    again = form_tokens.before_drawing(
        _PLAN_FORM, _PLAN_CLEARED, button=keys.CAL_PLAN_BUTTON, values=typed
    )
    if again:
        st.success(again)
    st.text_input(
        t("calendar.plan_when", zone=user.timezone),
        placeholder=t("calendar.when_placeholder"),
        max_chars=_WHEN_MAX,
        key=keys.CAL_PLAN_WHEN,
    )
    _field_error(keys.CAL_PLAN_ERRORS, "publish_at", "rules")
    if not st.button(t("calendar.plan_button"), key=keys.CAL_PLAN_BUTTON, type="primary"):
        return
    errors: dict[str, str] = {}
    if piece_id is None:
        errors["piece"] = t("calendar.pick_piece")
    if channel_id is None:
        errors["channel"] = t("calendar.pick_channel")
    if not errors:
        assert piece_id is not None and channel_id is not None
        sent = typed

        def plan(token: str) -> str:
            post = planning.plan_post(
                session,
                actor=user,
                piece_id=piece_id,
                channel=channel_id,
                when=str(sent["when"]),
                tz_name=user.timezone,
                token=token,
            )
            return t(
                "calendar.planned", id=post.id, when=state.when(post.publish_at, user.timezone)
            )

        errors = _done_or_errors(plan, refused_field="publish_at", form=_PLAN_FORM, sent=sent)
    st.session_state[keys.CAL_PLAN_ERRORS] = errors
    st.rerun()


def _done_or_errors(
    store: Callable[[str], str],
    *,
    refused_field: str,
    form: str,
    sent: dict[str, object],
) -> dict[str, str]:
    """Send `form` with the values `sent` (`store` with the form's token), have the form
    emptied and keep the notice `store` returns for the next run; or the messages by field
    of what it refused (a refusal of the user's role under `refused_field`). A form sent
    again is cleared too, with a notice of what its first send created."""
    try:
        done = form_tokens.send(form, sent, store, done=str)
    except ValidationFailed as err:
        return err.fields
    except PermissionDenied as err:
        return {refused_field: "; ".join(moves.error_text(err))}
    st.session_state[keys.CAL_DONE] = done
    return {}


def _series(session: Session, user: User, piece_id: int | None, channel_id: int | None) -> None:
    t = state.t
    form_tokens.before_drawing(_SERIES_FORM, _SERIES_CLEARED, button=keys.CAL_SERIES_BUTTON)
    presets = {
        "weekly": t("calendar.preset.weekly"),
        "monthly": t("calendar.preset.monthly"),
        "custom": t("calendar.preset.custom"),
    }
    left, right = st.columns(2)
    preset = widgets.labelled_choice(
        t("calendar.series_preset"), presets, key=keys.CAL_SERIES_PRESET, where=left
    )
    right.text_input(
        t("calendar.series_start", zone=user.timezone),
        placeholder=t("calendar.when_placeholder"),
        max_chars=_WHEN_MAX,
        key=keys.CAL_SERIES_START,
    )
    with right:
        _field_error(keys.CAL_SERIES_ERRORS, "start")
    with left:
        if preset == "custom":
            st.text_input(
                t("calendar.series_rule"),
                placeholder="FREQ=WEEKLY;BYDAY=MO,TH;COUNT=8",
                key=keys.CAL_SERIES_RULE,
            )
        else:
            # Its default as session state, not `value`: kept while the tab is closed.
            st.session_state.setdefault(keys.CAL_SERIES_COUNT, _SERIES_COUNT)
            st.number_input(
                t("calendar.series_count"),
                min_value=1,
                max_value=500,
                step=1,
                key=keys.CAL_SERIES_COUNT,
            )
            _field_error(keys.CAL_SERIES_ERRORS, "count")
            st.text_input(
                t("calendar.series_until"),
                placeholder=t("calendar.until_placeholder"),
                key=keys.CAL_SERIES_UNTIL,
            )
            _field_error(keys.CAL_SERIES_ERRORS, "until")
        _field_error(keys.CAL_SERIES_ERRORS, "rule", "rules", "piece", "channel", "timezone")
    st.checkbox(
        t("calendar.series_in_slots"),
        help=t("calendar.series_in_slots_help"),
        key=keys.CAL_SERIES_IN_SLOTS,
    )
    if not st.button(t("calendar.series_button"), key=keys.CAL_SERIES_BUTTON):
        return
    sent = {
        "piece": piece_id,
        "channel": channel_id,
        "preset": preset,
        "start": st.session_state.get(keys.CAL_SERIES_START),
        "in_slots": bool(st.session_state.get(keys.CAL_SERIES_IN_SLOTS)),
        # Only the fields drawn for the preset: the others keep whatever they last had.
        **(
            {"rule": st.session_state.get(keys.CAL_SERIES_RULE)}
            if preset == "custom"
            else {
                "count": st.session_state.get(keys.CAL_SERIES_COUNT),
                "until": st.session_state.get(keys.CAL_SERIES_UNTIL),
            }
        ),
    }

    def create(token: str) -> str:
        if piece_id is None or channel_id is None:
            raise ValidationFailed(
                {"piece": t("calendar.pick_piece")}
                if piece_id is None
                else {"channel": t("calendar.pick_channel")}
            )
        rule = (
            str(st.session_state.get(keys.CAL_SERIES_RULE, ""))
            if preset == "custom"
            else planning.preset_rule(
                str(preset),
                count=int(st.session_state.get(keys.CAL_SERIES_COUNT, 0) or 0),
                until=str(st.session_state.get(keys.CAL_SERIES_UNTIL, "")),
                tz_name=user.timezone,
            )
        )
        series = planning.create_series(
            session,
            actor=user,
            piece_id=piece_id,
            channel=channel_id,
            rule=rule,
            start=str(st.session_state.get(keys.CAL_SERIES_START, "")),
            tz_name=user.timezone,
            in_slots=bool(st.session_state.get(keys.CAL_SERIES_IN_SLOTS)),
            token=token,
        )
        slot_texts.remember_series(session, user, series.id, in_slots=series.in_slots)
        words = _rule_words(series.rule, series.timezone, with_rule=False)
        return t("calendar.series_created", id=series.id, rule=md(words))

    st.session_state[keys.CAL_SERIES_ERRORS] = _done_or_errors(
        create, refused_field="rule", form=_SERIES_FORM, sent=sent
    )
    st.rerun()


def _offered(entry: CalendarEntry, user: User) -> list[str]:
    """The calendar's moves that the workflow allows `user` for this post now."""
    return [a for a in moves.offered("post", entry.post.status, user.role) if a in _BUTTONS]


def _offers(user: User) -> Callable[[CalendarEntry], list[str]]:
    """`_offered` for `user`, asked of the workflow once per post status (a month may hold
    up to `planning.CALENDAR_LIMIT` posts)."""
    by_status: dict[PostStatus, list[str]] = {}

    def offered(entry: CalendarEntry) -> list[str]:
        status = entry.post.status
        if status not in by_status:
            by_status[status] = _offered(entry, user)
        return by_status[status]

    return offered


def _move_to(
    session: Session, user: User, post_id: int, when: str, version: int | None
) -> tuple[str, dict[str, str]]:
    """Move one post to `when` (typed on the user's wall clock) as the move form does: the
    notice of the move, or the messages by field of what refused it."""
    t = state.t
    try:
        moved = planning.move_post(
            session,
            actor=user,
            post_id=post_id,
            when=when,
            tz_name=user.timezone,
            expected_version=version,
        )
    except ValidationFailed as err:
        return "", err.fields
    except EditConflict:
        return "", {"post": t("calendar.post_conflict", id=post_id)}
    except (IllegalTransition, PermissionDenied) as err:
        return "", {"post": "; ".join(moves.error_text(err))}
    return t("calendar.moved", id=post_id, when=state.when(moved.publish_at, user.timezone)), {}


def _take(post_id: int, action: str, version: int) -> None:
    """Button callback: one move of one post, bound to the version the button was shown for
    (a post the scheduler took meanwhile is refused, saying what is allowed now)."""
    t = state.t
    errors: dict[str, str] = {}
    with state.signed_in() as (session, user):
        if user is None:
            return
        done = ""
        if action == "move":
            when = str(st.session_state.get(keys.CAL_MOVE_WHEN, ""))
            done, errors = _move_to(session, user, post_id, when, version)
        else:
            try:
                planning.cancel_post(session, actor=user, post_id=post_id, expected_version=version)
                done = t("calendar.cancelled", id=post_id)
            except ValidationFailed as err:
                errors = err.fields
            except EditConflict:
                errors = {"post": t("calendar.post_conflict", id=post_id)}
            except (IllegalTransition, PermissionDenied) as err:
                errors = {"post": "; ".join(moves.error_text(err))}
        if not errors:
            st.session_state[keys.CAL_DONE] = done
            st.session_state[keys.CAL_MOVE_WHEN] = ""
    st.session_state[keys.CAL_MOVE_ERRORS] = errors


def _move(entries: list[CalendarEntry], user: User) -> None:
    """The move form: a day that has posts the user may move or cancel, then one of that
    day's posts (a month may hold up to `planning.CALENDAR_LIMIT` posts: listing them all
    in one select box would send every label on every run)."""
    t = state.t
    offers = _offers(user)
    by_day: dict[date, list[CalendarEntry]] = {}
    for e in entries:
        if offers(e):
            local = to_local(e.post.publish_at, user.timezone).date()
            by_day.setdefault(local, []).append(e)
    if not by_day:
        st.text(t("calendar.nothing_to_move"))
        _field_error(keys.CAL_MOVE_ERRORS, "post")
        return
    # Labels made in this run: a widget's format_func is also called between runs.
    day_labels = {
        d: state.t_count("calendar.move_day_option", len(todays), day=state.day(d))
        for d, todays in by_day.items()
    }
    picked_day = widgets.labelled_choice(t("calendar.move_day"), day_labels, key=keys.CAL_MOVE_DAY)
    changeable = by_day.get(picked_day, []) if isinstance(picked_day, date) else []
    by_id = {e.post.id: e for e in changeable}
    labels = {
        e.post.id: t(
            "calendar.post_label",
            id=e.post.id,
            when=state.when(e.post.publish_at, user.timezone),
            channel=e.channel_name,
            title=e.piece_title,
            status=t(f"status.{e.post.status}"),
        )
        for e in changeable
    }
    post_id = widgets.labelled_choice(t("calendar.move_post"), labels, key=keys.CAL_MOVE_POST)
    _field_error(keys.CAL_MOVE_ERRORS, "post")
    entry = by_id.get(post_id) if isinstance(post_id, int) else None
    if entry is None:
        return
    offered = _offered(entry, user)
    if "move" in offered:
        st.text_input(
            t("calendar.move_when", zone=user.timezone),
            placeholder=t("calendar.when_placeholder"),
            key=keys.CAL_MOVE_WHEN,
        )
        _field_error(keys.CAL_MOVE_ERRORS, "publish_at")
    if entry.post.status == PostStatus.publishing:
        # Cancelling still stops it unless its request has started; say so beforehand.
        st.text(t("calendar.cancel_in_flight"))
    for action, column in zip(offered, st.columns(len(_BUTTONS)), strict=False):
        column.button(
            moves.label("post", action),
            key=_BUTTONS[action],
            on_click=_take,
            args=(entry.post.id, action, entry.post.version),
        )
    if entry.post.series_id is not None and "cancel" in offered:
        _series_cancel(entry.post.series_id)


def _series_cancel(
    series_id: int,
    *,
    confirm: str | None = None,
    button: str = keys.CAL_SERIES_CANCEL_BUTTON,
    errors: str = keys.CAL_MOVE_ERRORS,
) -> None:
    """Ending a series once confirmed: that of the post picked in the move form (the
    confirmation is the series' own: picking another series' post asks again), or one of
    the series list (its own `confirm` and `button` keys, errors under `errors`)."""
    t = state.t
    confirm = confirm or f"{keys.CAL_SERIES_CANCEL_CONFIRM}.{series_id}"
    if st.checkbox(t("calendar.series_cancel_confirm", id=series_id), key=confirm):
        st.button(
            t("calendar.series_cancel", id=series_id),
            key=button,
            on_click=_end_series,
            args=(series_id, confirm, errors),
        )


def _rule_words(rule: str, tz_name: str, *, with_rule: bool = True) -> str:
    """A series' rule (in zone `tz_name`) in words, with the rule itself after them unless
    not `with_rule`; a rule that is not one of the simple ones as written."""
    t = state.t
    parts = planning.rule_parts(rule, tz_name)
    if parts is None:
        return rule
    words = [
        t(f"calendar.rule.{parts.freq}")
        if parts.interval == 1
        else t(f"calendar.rule.every.{parts.freq}", n=parts.interval)
    ]
    if parts.weekdays:
        words.append(", ".join(t(f"calendar.weekday.{day}") for day in parts.weekdays))
    if parts.count is not None:
        words.append(t("calendar.rule.count", count=parts.count))
    if parts.until is not None:
        words.append(t("calendar.rule.until", day=state.day(parts.until)))
    return f"{', '.join(words)} ({rule})" if with_rule else ", ".join(words)


def _running_series(session: Session, user: User) -> None:
    """The series still running, newest first: what each repeats where, how far it got,
    and a way to end it."""
    t = state.t
    st.subheader(t("calendar.series_running"))
    _field_error(keys.CAL_SERIES_LIST_ERRORS, "post")
    total = planning.count_series(session, actor=user)
    if not total:
        st.text(t("calendar.series_none"))
        return
    st.text(t("calendar.series_total", total=total))
    page = paging.page_number(
        total, _SERIES_PAGE, key=keys.CAL_SERIES_PAGE, label="calendar.series_page"
    )
    found = planning.list_series(
        session, actor=user, limit=_SERIES_PAGE, offset=(page - 1) * _SERIES_PAGE
    )
    for summary in found:
        series = summary.series
        assert series.id is not None
        start = planning.series_start(series)
        said = [
            t(
                "calendar.series_progress",
                waiting=summary.waiting,
                published=summary.published,
            )
        ]
        if summary.next_at is not None:
            said.append(t("calendar.series_next", when=state.when(summary.next_at, user.timezone)))
        if series.in_slots:
            said.append(t("calendar.series_slotted"))
        with st.container(border=True):
            # Titles and rules are user text: plain, never markdown.
            st.text(
                t(
                    "calendar.series_item",
                    id=series.id,
                    title=summary.piece_title,
                    channel=summary.channel_name,
                    rule=_rule_words(series.rule, series.timezone),
                    start=state.when(start, series.timezone),
                    zone=series.timezone,
                )
            )
            st.text(" · ".join(said))
            _series_cancel(
                series.id,
                confirm=f"{keys.CAL_SERIES_LIST_CONFIRM}.{series.id}",
                button=f"{keys.CAL_SERIES_LIST_END}.{series.id}",
                errors=keys.CAL_SERIES_LIST_ERRORS,
            )


def _end_series(series_id: int, confirm: str, errors_key: str) -> None:
    """Button callback: end the series; say what became of its posts."""
    t = state.t
    errors: dict[str, str] = {}
    with state.signed_in() as (session, user):
        if user is None:
            return
        try:
            done = planning.cancel_series(session, actor=user, series_id=series_id)
        except ValidationFailed as err:
            errors = {"post": "; ".join(moves.field_messages(err).values())}
        except EditConflict:
            errors = {"post": t("calendar.series_conflict", id=series_id)}
        except (NotFound, PermissionDenied, IllegalTransition) as err:
            errors = {"post": "; ".join(moves.error_text(err))}
        else:
            said = t("calendar.series_cancelled", id=series_id, count=len(done.cancelled))
            if done.in_flight:
                ids = ", ".join(f"#{i}" for i in done.in_flight)
                said += t("calendar.series_in_flight", ids=ids)
            st.session_state[keys.CAL_DONE] = said
        st.session_state[confirm] = False
    st.session_state[errors_key] = errors


def _refusal(post_id: int, errors: dict[str, str]) -> str:
    """A refused drop in the user's language, naming the post and every field's message
    (the new time's by its field; what concerns the post itself as it is)."""
    reasons = "; ".join(
        moves.message(text)
        if name == "post"
        else f"{state.t('calendar.field.' + name)}: {moves.message(text)}"
        for name, text in errors.items()
    )
    return state.t("calendar.fc.refused", id=post_id, reason=reasons)


def _answer(session: Session, user: User, value: object) -> None:
    """What the interactive calendar reported: a dropped card moves its post exactly as the
    move form would (a refusal is said and the card goes back, the calendar being drawn
    anew from the database); a clicked card opens its piece through the piece's link; a
    clicked "+N more" opens its day's week."""
    drop = fullcalendar.dropped(value)
    piece_id = fullcalendar.clicked_piece(value)
    more = fullcalendar.clicked_more(value)
    if drop is None and piece_id is None and more is None:
        return
    # A fresh calendar next run: its last report is spent, and it shows what is stored.
    st.session_state[keys.CAL_GRID_ROUND] = st.session_state.get(keys.CAL_GRID_ROUND, 0) + 1
    if more is not None:  # "+N more" of a month's day: its week, with every card
        st.session_state[keys.CAL_GOTO_WEEK] = more
        st.rerun()
    if drop is not None:
        done, errors = _move_to(session, user, drop.post_id, drop.typed(), drop.version)
        if errors:
            st.session_state[keys.CAL_GRID_REFUSED] = _refusal(drop.post_id, errors)
        else:
            st.session_state[keys.CAL_DONE] = done
        st.rerun()
    assert piece_id is not None
    target = links.page_for("piece", user.role)
    if target is None:
        st.warning(state.t("links.not_for_you", kind=state.t("links.kind.piece"), id=piece_id))
        return
    from planner.ui.app import page_path  # the app imports the pages

    st.switch_page(page_path(target), query_params={"piece": str(piece_id)})


def _interactive(
    session: Session,
    user: User,
    view: fullcalendar.View,
    anchor: date,
    entries: list[CalendarEntry],
    first: date,
    days: int,
) -> None:
    """The month or week as a calendar of cards (a list on a phone), with its legend: cards
    the user may move can be dragged, a click on a card opens its piece."""
    t = state.t
    listed = channels.list_channels(session, actor=user)
    offers = _offers(user)
    movable = frozenset(e.post.id for e in entries if "move" in offers(e))
    now = utcnow()
    # A phone gets the month or week as a list (one calendar is drawn: each is a frame the
    # browser builds with every card), where cards are tapped, not dragged; the month's
    # grid draws a few cards a day and "+N more" for the rest.
    phone = layout.on_phone()
    events = fullcalendar.events(
        entries,
        lang=state.lang(),
        tz_name=user.timezone,
        first=first,
        days=days,
        today=to_local(now, user.timezone).date(),
        caps={c.id: c.daily_cap for c in listed if c.id is not None},
        movable=movable,
        per_day=fullcalendar.MONTH_CARDS_PER_DAY if view == "month" and not phone else None,
    )
    refused = st.session_state.pop(keys.CAL_GRID_REFUSED, None)
    if refused:
        st.error(refused)
    if movable:
        st.text(t("calendar.fc.how_phone" if phone else "calendar.fc.how"))
    round_ = st.session_state.get(keys.CAL_GRID_ROUND, 0)
    # Only FullCalendar's MIT-licensed views are used (month and week grids, lists); the
    # component's premium plugins stay unused.
    key = keys.CAL_GRID_PHONE if phone else keys.CAL_GRID
    value = full_calendar(
        events=events,
        options=fullcalendar.options(
            lang=state.lang(),
            view=view,
            anchor=anchor,
            now=now,
            tz_name=user.timezone,
            phone=phone,
        ),
        custom_css=fullcalendar.css(),
        callbacks=["eventClick", "eventChange"],
        key=f"{key}_{view}_{anchor.isoformat()}_{round_}",
    )
    _answer(session, user, value)
    with st.container(key=keys.CAL_LEGEND):
        st.markdown(f"**{t('calendar.fc.legend.heading')}**")
        for line in fullcalendar.legend(state.lang()):
            st.text(line)
    st.subheader(t("calendar.fc.as_text"))


def _subscription(session: Session, user: User, scope: dict[str, Any]) -> None:
    """The plan in calendar apps, with the filters chosen above."""

    def names() -> dict[str, dict[int, str]]:
        return {
            "channel_id": channels.channel_names(session, actor=user),
            "department_id": {
                d.id: d.name
                for d in users.list_departments(session, actor=user)
                if d.id is not None
            },
            "audience_id": audiences.audience_names(session, actor=user),
        }

    calendar_subscription.panel(session, user, CalendarFilters(**scope), names)


def _same_tab_in_this_language(state_key: str, tab_keys: tuple[str, ...]) -> None:
    """Streamlit keeps the open tab by its label: after a switch of language the label is
    another language's, matches no tab, and the first one opened. Name it anew."""
    shown = st.session_state.get(state_key)
    labels = [state.t(key) for key in tab_keys]
    if shown is None or shown in labels:
        return
    for lang in LANGUAGES:
        theirs = [translate(lang, key) for key in tab_keys]
        if shown in theirs:
            st.session_state[state_key] = labels[theirs.index(shown)]
            return


def render() -> None:
    """Draw the page."""
    t = state.t
    # What was typed or chosen in a tab or expander of the page's forms outlives its being
    # closed.
    widgets.keep_values(*_KEPT)
    with state.page("calendar.heading") as (session, user):
        st.text(t("calendar.zone", zone=user.timezone))
        state.show_done(keys.CAL_DONE)
        slot_texts.show_warning()
        links.say_beyond("post")  # a number above every id names no post
        linked_post.show(session, user)
        view, anchor, channel_id, department_id = _filters(session, user)
        audience_id = audience_filter.pick(session, user, "calendar")
        first, days = _visible_range(view, anchor)
        bounds = planning.local_bounds(first, days, user.timezone)
        scope: dict[str, Any] = {
            "channel_id": channel_id,
            "department_id": department_id,
            "audience_id": audience_id,
        }
        entries = planning.calendar_entries(
            session, actor=user, start=bounds[0], end=bounds[-1], **scope
        )
        if len(entries) >= planning.CALENDAR_LIMIT:
            st.warning(t("calendar.truncated", count=len(entries)))
        crowded = planning.crowded_posts(entries, user.timezone)
        last = first + timedelta(days=days - 1)
        st.subheader(t("calendar.range", first=state.day(first), last=state.day(last)))
        if view in ("month", "week"):
            shown: fullcalendar.View = "month" if view == "month" else "week"
            _interactive(session, user, shown, anchor, entries, first, days)
        if view == "month":
            counts = planning.count_posts(session, actor=user, bounds=bounds, **scope)
            _month(first, days, counts, anchor)
        elif view == "week":
            _week(first, entries, user, crowded)
        else:
            _list(entries, user, crowded)
        _chart(session, user, first, days, channel_id, department_id)
        _subscription(session, user, scope)
        slot_texts.free_list(session, user, start=bounds[0], end=bounds[-1], channel_id=channel_id)
        if not can(user, "plan_posts"):
            st.info(t("calendar.read_only"))
            return
        st.subheader(t("calendar.plan"))
        piece_id, plan_channel = _piece_and_channel(session, user)
        # Only the open tab and open expanders are drawn: the forms are most of what the
        # browser builds on every run of the page.
        tab_keys = ("calendar.tab.once", "calendar.tab.series")
        _same_tab_in_this_language(keys.CAL_PLAN_TABS, tab_keys)
        once, series = st.tabs(
            [t(key) for key in tab_keys], key=keys.CAL_PLAN_TABS, on_change="rerun"
        )
        if once.open:
            with once:
                slot_texts.suggested_times(session, user, plan_channel)
                _plan(session, user, piece_id, plan_channel)
                slot_texts.queue_button(session, user, piece_id, plan_channel)
        if series.open:
            with series:
                _series(session, user, piece_id, plan_channel)
                _running_series(session, user)
        with widgets.lazy_expander(t("calendar.move"), key=keys.CAL_MOVE_OPEN) as is_open:
            if is_open:
                _move(entries, user)
        csv_transfer.panel(user, "plan")


render()
