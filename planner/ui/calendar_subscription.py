"""The Calendar page's 'In your calendar app' panel: the plan as an .ics download with the
page's filters, and the user's calendar feeds (make one with the filters, copy its URL
once, revoke it; admins see and revoke everyone's)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from urllib.parse import urlsplit

import streamlit as st
from sqlmodel import Session

from planner import analytics, calendar_feeds, users
from planner.calendar_feeds import CalendarFilters
from planner.errors import AlreadySent, NotFound, PermissionDenied, ValidationFailed
from planner.models import CalendarFeed, PostStatus, User
from planner.permissions import can
from planner.ui import form_tokens, keys, moves, state, widgets

FEED_FORM = "calendar_feed"  # the "make a feed" button's one-time token (form_tokens)


def _full_url(url: str) -> str:
    """A feed's URL as people copy it: with this dashboard's address when no public
    address is configured."""
    if not url.startswith("/"):
        return url
    try:
        page = urlsplit(st.context.url or "")
    except (AttributeError, ValueError):
        return url
    return f"{page.scheme}://{page.netloc}{url}" if page.scheme and page.netloc else url


def _filters_text(feed: CalendarFeed, names: dict[str, dict[int, str]]) -> str:
    t = state.t
    parts = []
    for key, value in feed.filters.items():
        shown = names.get(key, {}).get(value, value) if isinstance(value, int) else value
        if key == "status":
            shown = t(f"status.{value}")
        parts.append(f"{t('calendar.feeds.filter.' + key)}: {shown}")
    return ", ".join(parts) or t("calendar.feeds.no_filter")


def _create(session: Session, user: User, filters: CalendarFilters) -> None:
    name = str(st.session_state.get(keys.CAL_FEED_NAME) or "")
    # A second click on the way (or the same name and filters again within a minute) is
    # refused by the domain with the first click's token: one feed, whose address this
    # session shows again.
    sent = {"name": name, "filters": filters.stored()}

    def made(feed: calendar_feeds.NewFeed) -> str:
        st.session_state[keys.CAL_FEED_NEW_URL] = feed.url
        st.session_state[keys.CAL_FEED_LAST_URL] = feed.url
        return ""

    def again(err: AlreadySent) -> str:
        url = st.session_state.get(keys.CAL_FEED_LAST_URL)
        if url:
            st.session_state[keys.CAL_FEED_NEW_URL] = url
        # Its text ends "here is its address again:", which needs the address.
        done = form_tokens.already_text(err) if url else state.t("forms.already.other")
        st.session_state[keys.CAL_FEED_DONE] = done
        return done

    try:
        form_tokens.send(
            FEED_FORM,
            sent,
            lambda token: calendar_feeds.create_feed(
                session, actor=user, name=name, filters=filters, token=token
            ),
            done=made,
            again=again,
            empty=False,
        )
    except ValidationFailed as err:
        for message in err.fields.values():
            st.error(moves.message(message))
        return
    st.rerun()


def _revoke(session: Session, user: User, feed_id: int) -> None:
    try:
        calendar_feeds.revoke_feed(session, actor=user, feed_id=feed_id)
    except (NotFound, PermissionDenied):
        st.error(state.t("calendar.feeds.gone"))
        return
    st.session_state[keys.CAL_FEED_DONE] = state.t("calendar.feeds.revoked")
    st.rerun()


def _feed_list(session: Session, user: User, names: dict[str, dict[int, str]]) -> None:
    t = state.t
    everyone = can(user, "manage_users")
    found = calendar_feeds.list_feeds(session, actor=user, everyone=everyone)
    if not found:
        st.info(t("calendar.feeds.none"))
        return
    owners = {u.id: u.username for u in users.list_users(session, actor=user)} if everyone else {}
    for feed in found:
        line = t(
            "calendar.feeds.line",
            id=feed.id,
            name=feed.name,
            filters=_filters_text(feed, names),
            created=state.when(feed.created_at, user.timezone),
            fetched=(
                state.when(feed.last_fetched_at, user.timezone)
                if feed.last_fetched_at
                else t("calendar.feeds.never")
            ),
        )
        if everyone:
            line += " · " + t("calendar.feeds.owner", owner=owners.get(feed.user_id, "?"))
        left, right = st.columns([4, 1])
        left.text(line)
        if feed.revoked_at is not None:
            right.text(t("calendar.feeds.is_revoked"))
        elif right.button(t("calendar.feeds.revoke"), key=f"{keys.CAL_FEED_REVOKE}{feed.id}"):
            assert feed.id is not None
            _revoke(session, user, feed.id)


def _narrowed(session: Session, user: User, filters: CalendarFilters) -> CalendarFilters:
    """The page's `filters` and what the panel adds: one campaign, one status."""
    t = state.t
    left, right = st.columns(2)
    campaigns = analytics.campaign_names(session, actor=user)
    campaign = widgets.labelled_choice(
        t("calendar.feeds.campaign"),
        {"": t("calendar.feeds.all_campaigns"), **{c: c for c in campaigns}},
        key=keys.CAL_FEED_CAMPAIGN,
        where=left,
    )
    status = widgets.labelled_choice(
        t("calendar.feeds.status"),
        {
            "": t("calendar.feeds.all_statuses"),
            **{s.value: t(f"status.{s.value}") for s in PostStatus if s != PostStatus.cancelled},
        },
        key=keys.CAL_FEED_STATUS,
        where=right,
    )
    return replace(
        filters, campaign=campaign or None, status=PostStatus(status) if status else None
    )


def panel(
    session: Session,
    user: User,
    filters: CalendarFilters,
    names: Callable[[], dict[str, dict[int, str]]],
) -> None:
    """The panel, for the page's current `filters` (`names` gives the filters' ids by
    name, read only while the panel is open) and the campaign and status picked in it."""
    t = state.t
    new_url = st.session_state.pop(keys.CAL_FEED_NEW_URL, None)
    done = st.session_state.get(keys.CAL_FEED_DONE)
    opened = widgets.lazy_expander(
        t("calendar.feeds.heading"), key=keys.CAL_FEED_OPEN, open_now=bool(new_url or done)
    )
    with opened as is_open:
        if not is_open:
            return
        state.show_done(keys.CAL_FEED_DONE)
        filters = _narrowed(session, user, filters)
        widgets.download(
            t("calendar.feeds.download"),
            lambda session, reader: calendar_feeds.export_ics(
                session, actor=reader, filters=filters
            ),
            user=user,
            file_name="redaktionsplan.ics",
            key=keys.CAL_ICS_DOWNLOAD,
        )
        st.caption(t("calendar.feeds.explain"))
        if new_url:
            if not done:  # a repeated send says so instead (CAL_FEED_DONE)
                st.success(t("calendar.feeds.created"))
            st.code(_full_url(new_url), language=None)
            st.caption(t("calendar.feeds.how_to"))
        st.text_input(t("calendar.feeds.name"), key=keys.CAL_FEED_NAME, max_chars=80)
        if st.button(t("calendar.feeds.create"), key=keys.CAL_FEED_CREATE):
            _create(session, user, filters)
        st.markdown(f"**{t('calendar.feeds.yours')}**")
        _feed_list(session, user, names())
