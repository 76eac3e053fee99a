"""'Publishing': scheduler health, crisis freeze, posts that need a person, the ledger, figures."""

from __future__ import annotations

import streamlit as st

from planner import channels, org_settings, planning, publishing, tracked_links
from planner.errors import EditConflict, IllegalTransition, PermissionDenied, ValidationFailed
from planner.metrics import views as metrics_views
from planner.models import Post, PostStatus, PublishAttempt, Role, User
from planner.publishing import notes, views
from planner.ui import keys, moves, state, tables, widgets
from planner.ui.i18n import hold_text, render_message
from planner.ui.plain import md

# The moves this page takes, with their buttons; Calendar moves posts to other times.
_BUTTONS = {
    "retry": keys.PUB_RETRY,
    "cancel": keys.PUB_CANCEL,
    "mark_posted": keys.PUB_MARK_POSTED,
}
# The counts of the health line, named as the status summary and the text "pub.counts" name them.
_COUNTS = ("due", "held", "failed", "needs_check", "missed", "awaiting_manual")
_LINKS_SHOWN = 100


def render() -> None:
    """Draw the page."""
    t = state.t
    with state.page("pub.heading") as (session, user):
        summary = publishing.status_summary(session, actor=user)
        st.subheader(t("pub.health"))
        if summary.workers:
            st.text(t("pub.workers", count=len(summary.workers)))
        else:
            st.warning(t("pub.no_workers"))
        if summary.frozen:
            st.error(t("pub.frozen"))
        else:
            st.success(t("pub.running"))
        for name, until in summary.paused:
            st.warning(t("pub.paused", channel=name, until=state.when(until, user.timezone)))
        st.text(t("pub.counts", **{name: getattr(summary, name) for name in _COUNTS}))
        if user.role == Role.admin:
            # The switch follows the stored setting whenever that changed since it was
            # drawn (the Settings page, another admin, the command line); only a flip
            # of the switch itself changes the setting.
            if (
                keys.PUB_FREEZE not in st.session_state
                or st.session_state.get(keys.PUB_FREEZE_SHOWN) != summary.frozen
            ):
                st.session_state[keys.PUB_FREEZE] = summary.frozen
            st.session_state[keys.PUB_FREEZE_SHOWN] = summary.frozen
            frozen = st.toggle(t("pub.freeze"), key=keys.PUB_FREEZE)
            if frozen != summary.frozen:
                org_settings.set_setting(
                    session, actor=user, key="publishing_frozen", value="on" if frozen else "off"
                )
                st.rerun()

        names = {c.id: c.name for c in channels.list_channels(session, actor=user)}
        held = planning.held_posts(session, actor=user, limit=200)
        stuck = views.posts_needing_a_person(session, actor=user, limit=200)
        piece_ids = {p.piece_id for p in stuck} | {h.post.piece_id for h in held}
        titles = views.piece_titles(session, actor=user, piece_ids=piece_ids)
        rows = [(h.post, t("status.planned"), hold_text(state.lang(), h.reason)) for h in held] + [
            (p, t(f"status.{p.status}"), _reason(p)) for p in stuck
        ]
        st.subheader(t("pub.attention"))
        state.show_done(keys.PUB_DONE)
        tables.table(
            [
                {
                    t("col.post"): post.id,
                    t("col.when"): state.when(post.publish_at, user.timezone),
                    t("col.channel"): names.get(post.channel_id, ""),
                    t("col.piece"): titles.get(post.piece_id, ""),
                    t("col.status"): status,
                    t("col.reason"): reason,
                }
                for post, status, reason in rows
            ],
            empty=t("pub.nothing"),
        )
        _actions(user, stuck)

        attempts = views.latest_attempts(session, actor=user, limit=100)
        links = tracked_links.list_links(session, actor=user, limit=_LINKS_SHOWN)
        figures = metrics_views.latest_figures(
            session, actor=user, post_ids=sorted({a.post_id for a in attempts})
        )
    st.subheader(t("pub.ledger"))
    st.dataframe(
        [
            {
                t("col.post"): a.post_id,
                t("col.when"): state.when(a.started_at, user.timezone),
                t("col.outcome"): t(f"outcome.{a.outcome}") if a.outcome else "…",
                t("col.http"): a.http_status,
                t("col.duration"): a.duration_ms,
                t("col.worker"): a.worker,
                t("col.error"): _attempt_note(a),
            }
            for a in attempts
        ],
        hide_index=True,
    )
    if links:
        st.subheader(t("pub.links"))
        st.caption(t("pub.links_caption"))
        st.dataframe(
            [
                {
                    t("col.post"): link.post_id,
                    t("col.link"): link.url,
                    t("col.clicks"): link.clicks,
                    t("col.last_click"): state.when(link.last_click_at, user.timezone),
                }
                for link in links
            ],
            hide_index=True,
        )
    st.subheader(t("figures.heading"))
    tables.table(
        [
            {
                t("col.post"): post_id,
                t("figures.collected"): state.when(f.collected_at, user.timezone),
                t("figures.reactions"): f.reactions,
                t("figures.reposts"): f.reposts,
                t("figures.replies"): f.replies,
                t("figures.impressions"): f.impressions,
                t("figures.link_clicks"): f.link_clicks,
            }
            for post_id, f in sorted(figures.items())
        ],
        empty=t("figures.none"),
    )


def _take(post_id: int, action: str, version: int) -> None:
    """Button callback: one move of one post, bound to the version the button was shown for
    (a post the scheduler took meanwhile is refused, saying what is allowed now)."""
    t = state.t
    with state.signed_in() as (session, user):
        if user is None:
            return
        try:
            if action == "retry":
                publishing.retry_post(session, actor=user, post_id=post_id)
            elif action == "cancel":
                planning.cancel_post(session, actor=user, post_id=post_id, expected_version=version)
            else:
                url = str(st.session_state.get(keys.PUB_URL, ""))
                publishing.mark_posted(session, actor=user, post_id=post_id, url=url)
        except ValidationFailed as err:
            moves.refused(keys.PUB_ERRORS)["post"] = [
                f"{t('field.' + name)}: {moves.message(message)}"
                for name, message in err.fields.items()
            ]
            return
        except (IllegalTransition, PermissionDenied, EditConflict) as err:
            moves.refused(keys.PUB_ERRORS)["post"] = moves.error_text(err)
            return
    st.session_state[keys.PUB_DONE] = t("pub.done")
    st.session_state[keys.PUB_URL] = ""


def _reason(post: Post) -> str:
    """Why a post waits for a person: the channel's error, or that it is to be posted by hand
    (its instructions are shown below the table)."""
    if post.status == PostStatus.awaiting_manual:
        return state.t("pub.manual.reason")
    return render_message(state.lang(), notes.said(post.last_error, post.last_error_reason))


def _manual_instructions(post: Post) -> None:
    """Where to post by hand, the text to copy and the images to attach, then the button."""
    t = state.t
    with state.signed_in() as (session, user):
        handoff = views.manual_handoff(session, actor=user, post=post) if user else None
    st.caption(t("pub.manual_copy"))
    if handoff is None:  # instructions left before they could be read apart
        st.code(post.last_error or "", language=None, wrap_lines=True)
        return
    st.markdown(t("pub.manual.where", network=md(handoff.network), url=md(handoff.open_url)))
    st.code(handoff.text, language=None, wrap_lines=True)
    if handoff.media:
        st.markdown(t("pub.manual.media"))
        for url, alt in handoff.media:
            st.text(t("pub.manual.image", url=url, alt=alt or t("pub.manual.no_alt")))
    st.markdown(t("pub.manual.then", button=md(moves.label("post", "mark_posted"))))


def _actions(user: User, stuck: list[Post]) -> None:
    """The moves the workflow allows `user` for one post that needs a person."""
    t = state.t
    if not stuck:
        # A refused move of a post that meanwhile left the list is still said.
        moves.show_refused(keys.PUB_ERRORS, "post")
        return
    options = {p.id: f"#{p.id} · {t('status.' + p.status)}" for p in stuck}
    picked = widgets.labelled_choice(t("pub.pick"), options, key=keys.PUB_POST)
    post = next(p for p in stuck if p.id == picked)
    if post.status == PostStatus.awaiting_manual:
        _manual_instructions(post)
    offered = [a for a in moves.offered("post", post.status, user.role) if a in _BUTTONS]
    if "mark_posted" in offered:
        st.text_input(t("pub.url"), key=keys.PUB_URL)
    for action, column in zip(offered, st.columns(len(_BUTTONS)), strict=False):
        column.button(
            moves.label("post", action),
            key=_BUTTONS[action],
            on_click=_take,
            args=(post.id, action, post.version),
        )
    moves.show_refused(keys.PUB_ERRORS, "post")


def _attempt_note(attempt: PublishAttempt) -> str:
    """A ledger row's note: a rule's hold or the engine's own explanation in the reader's
    language, else the error as the channel gave it."""
    hold = planning.stored_rule_hold(attempt) if attempt.outcome == "rule" else None
    if hold is not None:
        return hold_text(state.lang(), hold)
    return render_message(state.lang(), notes.said(attempt.error, attempt.reason))


render()
