"""The dashboard's entry: sign-in, language, and navigation built per user from their role."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import streamlit as st
from sqlmodel import Session
from streamlit.navigation.page import StreamlitPage

from planner import notifications, publishing, sso, users
from planner.config import load_oidc_settings
from planner.errors import AccountDisabled, AuthenticationFailed, SignInThrottled
from planner.models import Role, User
from planner.ui import document, keys, links, session_cookie, unsaved, widgets
from planner.ui.i18n import LANGUAGES
from planner.ui.state import current_user, engine, lang, language_of_run, t, t_count


def _sso_enabled() -> bool:
    """Whether this server signs people in with a company identity provider."""
    return load_oidc_settings() is not None


def _sso_identity() -> dict[str, object] | None:
    """The company identity Streamlit's st.login brought back to this session, if any."""
    if not _sso_enabled() or st.user.get("is_logged_in") is not True:
        return None
    return dict(st.user.to_dict())


def _sso_sign_in(session: Session) -> None:
    """Sign in the planner user whose e-mail the company identity has (tried once per
    identity and browser session: a refusal is audited once and explained on the page)."""
    claims = _sso_identity()
    if claims is None:
        return
    identity = f"{claims.get('iss')} {claims.get('sub')}"
    refused = st.session_state.get(keys.SSO_REFUSED)
    if refused is not None and refused[0] == identity:
        return
    try:
        user = sso.sign_in(session, claims)
    except sso.SsoRefused as err:
        st.session_state[keys.SSO_REFUSED] = (identity, err.reason, err.email)
        return
    st.session_state.pop(keys.SSO_REFUSED, None)
    st.session_state[keys.USER_ID] = user.id
    st.session_state[keys.LANGUAGE] = user.locale
    session_cookie.remember(session, user)  # a planner session like a password sign-in's
    st.rerun()


def _sso_sign_in_part() -> None:
    """The sign-in page's company-account button, or why the company account was refused."""
    if not _sso_enabled():
        return
    refused = st.session_state.get(keys.SSO_REFUSED)
    if refused is not None and _sso_identity() is not None:
        _identity, reason, email = refused
        st.error(t(f"sso.refused.{reason}", email=email))
        if st.button(t("sso.other_account"), key=keys.SSO_SIGN_OUT):
            st.session_state.pop(keys.SSO_REFUSED, None)
            _end_company_identity()
    elif st.button(t("sso.sign_in"), key=keys.SSO_SIGN_IN, type="primary"):
        st.login()
    st.caption(t("sso.or_local"))


def _end_company_identity() -> NoReturn:
    """Forget the company identity in this browser and, where the provider offers it, end
    its session there too; the browser leaves for that, so this run ends here."""
    st.logout()
    st.stop()


def _sso_sign_out() -> None:
    """Signing out of the planner also ends the company identity."""
    if _sso_identity() is not None:
        _end_company_identity()


def _sign_in_page() -> None:
    st.title(t("sign_in.heading"))
    _sso_sign_in_part()
    with st.form(keys.SIGN_IN_FORM):
        username = st.text_input(t("sign_in.username"), key=keys.SIGN_IN_USERNAME)
        password = st.text_input(t("sign_in.password"), type="password", key=keys.SIGN_IN_PASSWORD)
        submitted = st.form_submit_button(t("sign_in.submit"))
    st.page_link(statement_page(), label=t("accessibility.link"))
    if not submitted:
        return
    if not username.strip() or not password:
        st.error(t("sign_in.missing"))
        return
    with Session(engine(), expire_on_commit=False) as session:
        try:
            # The browser's address counts the failures of one client; None when Streamlit
            # does not know it (localhost, or a test run without a real connection).
            address = st.context.ip_address
            user = users.authenticate(
                session,
                username=username,
                password=password,
                client=address if isinstance(address, str) else None,
            )
        except SignInThrottled as err:
            st.error(t("sign_in.throttled", seconds=err.seconds))
            return
        except AccountDisabled:
            st.error(t("sign_in.disabled"))
            return
        except AuthenticationFailed:
            st.error(t("sign_in.failed"))
            return
    st.session_state[keys.USER_ID] = user.id
    st.session_state[keys.LANGUAGE] = user.locale
    with Session(engine(), expire_on_commit=False) as session:
        session_cookie.remember(session, user)  # stays signed in across reloads and tabs
    st.rerun()


def _sidebar(session: Session, user: User) -> None:
    with st.sidebar:
        st.text(t("sidebar.signed_in_as", name=user.display_name, role=t(f"role.{user.role}")))
        st.text(t("sidebar.time_zone", zone=user.timezone))
        if user.role in (Role.editor, Role.admin):
            # The responsible editor's notice: their posts on channels without an API are
            # due and wait to be posted by hand (the text is ready on "Publishing").
            waiting = publishing.awaiting_manual_count(session, user=user)
            if waiting:
                st.warning(t_count("sidebar.manual_waiting", waiting))
        unread = notifications.count_unread(session, actor=user)
        if unread:
            key = "notifications.sidebar_unread" + ("_one" if unread == 1 else "")
            st.info(t(key, count=unread))
        widgets.labelled_choice(t("sidebar.language"), LANGUAGES, key=keys.LANGUAGE)
        if st.button(t("sidebar.sign_out"), key=keys.SIGN_OUT):
            session_cookie.forget(session)  # ends the session in every tab, deletes the cookie
            _sso_sign_out()
            st.rerun()


# Every account's own pages: its ideas, its notifications and its activity.
_OWN_PAGES = ("submit_idea", "my_ideas", "notifications", "activity")

PAGES_BY_ROLE: dict[Role, list[str]] = {
    Role.contributor: [
        "submit_idea",
        "my_ideas",
        "analytics",
        "listening",
        "notifications",
        "activity",
    ],
    Role.editor: [
        "calendar",
        "editor",
        "inbox",
        "listening",
        "board",
        "publishing",
        "process",
        "analytics",
        *_OWN_PAGES,
    ],
    Role.approver: ["calendar", "approvals", "listening", "board", "analytics", *_OWN_PAGES],
    Role.admin: [
        "calendar",
        "editor",
        "inbox",
        "listening",
        "board",
        "approvals",
        "publishing",
        "process",
        "analytics",
        *_OWN_PAGES,
        "users",
        "departments",
        "channels",
        "audiences",
        "slots",
        "rules",
        "settings",
    ],
}


links.register(PAGES_BY_ROLE)


PAGES_DIR = Path(__file__).resolve().parent / "pages"


def page_path(page: str) -> Path:
    """The script of a dashboard page (each page is its own file, as Streamlit routes them)."""
    return PAGES_DIR / f"{page}.py"


def statement_page() -> StreamlitPage:
    """The accessibility statement, open to everyone, signed in or not."""
    return st.Page(
        page_path("accessibility"), title=t("nav.accessibility"), url_path="accessibility"
    )


def run() -> None:
    """Draw the app for this run."""
    # The language is the sidebar widget's state, which Streamlit drops when a run ends
    # early (a switch to another page) before the widget is drawn again: held as plain
    # session state, it survives that.
    if keys.LANGUAGE in st.session_state:
        st.session_state[keys.LANGUAGE] = st.session_state[keys.LANGUAGE]
    with Session(engine(), expire_on_commit=False) as session:
        session_cookie.resume(session)  # before the language: a resumed user brings theirs
    with language_of_run():
        _run()


def _run() -> None:
    st.set_page_config(page_title=t("app.title"), layout="wide")
    document.prepare(lang())
    session_cookie.send_to_browser()
    with Session(engine(), expire_on_commit=False) as session:
        user = current_user(session)
        if user is None:
            _sso_sign_in(session)
        if user is not None:
            _sidebar(session, user)
    if user is None:
        sign_in = st.Page(_sign_in_page, title=t("nav.sign_in"), url_path="sign-in")
        nav = st.navigation([sign_in, statement_page()], position="hidden")
        nav.run()
        if nav.url_path != sign_in.url_path:
            # Signed out, the statement has no sidebar: the way back to signing in.
            st.page_link(sign_in, label=t("nav.sign_in"))
        return
    first = PAGES_BY_ROLE[user.role][0]
    # Every page stays in sight: Streamlit would fold a long list behind "View N more".
    # One flat list: Streamlit's sections put headings inside the list's <ul>, which
    # screen readers cannot read as a list (WCAG 1.3.1).
    nav = st.navigation(
        [
            st.Page(page_path(page), title=t(f"nav.{page}"), url_path=page, default=page == first)
            for page in PAGES_BY_ROLE[user.role]
        ]
        + [statement_page()],
        expanded=True,
    )
    links.route(nav.url_path, user.role)
    if nav.url_path != "editor":
        with Session(engine(), expire_on_commit=False) as session:
            unsaved.keep_left_behind(session, user)
    nav.run()
