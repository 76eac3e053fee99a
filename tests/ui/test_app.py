"""The dashboard under AppTest: sign-in, role-based pages, both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import streamlit as st
from sqlmodel import Session

from planner import channels, ideas, pieces, planning, throttle, users
from planner.db import make_engine
from planner.errors import AuthenticationFailed
from planner.models import Post, PostStatus, Role, utcnow
from planner.ui import keys
from planner.ui.app import PAGES_BY_ROLE, page_path
from planner.ui.i18n import translate
from tests.ui.conftest import PASSWORD, add_user, open_page, sign_in


def test_wrong_password_shows_the_message_and_stays_signed_out(database: str) -> None:
    at = sign_in("lena", "wrong-password")
    assert [e.value for e in at.error] == ["Benutzername oder Passwort ist falsch."]
    assert keys.USER_ID not in at.session_state


def _fail_until_waiting(database: str, username: str) -> None:
    """Failed sign-ins for `username`, each as soon as allowed, until its next try waits
    half a minute from now (as tries from elsewhere would leave it)."""
    engine = make_engine(database)
    with Session(engine) as s:
        at = utcnow() - timedelta(seconds=31)
        while (at - utcnow()).total_seconds() < 0:
            with pytest.raises(AuthenticationFailed):
                users.authenticate(s, username=username, password="wrong-password", now=at)
            wait = throttle.wait_for(s, username=username, client=None, now=at)
            at = wait.until if wait is not None else at
    engine.dispose()


def test_repeated_failures_make_even_the_right_password_wait_as_for_an_unknown_name(
    database: str,
) -> None:
    _fail_until_waiting(database, "ed")
    _fail_until_waiting(database, "niemand")

    known = sign_in("ed", PASSWORD)
    unknown = sign_in("niemand", "was auch immer")

    [error] = [e.value for e in known.error]
    assert re.fullmatch(
        r"Zu viele Anmeldeversuche\. Bitte in etwa (\d+) Sekunden erneut versuchen\.", error
    )
    assert [re.sub(r"\d+", "N", e.value) for e in unknown.error] == [re.sub(r"\d+", "N", error)]
    assert keys.USER_ID not in known.session_state
    assert known.text_input(key=keys.SIGN_IN_USERNAME).value == "ed"  # what was typed stays


def test_contributor_sees_her_ideas_as_plain_text_in_german(database: str) -> None:
    at = open_page(sign_in("lena", PASSWORD), "my_ideas")
    assert not at.exception
    assert at.title[0].value == "Meine Ideen"
    table = at.dataframe[0].value
    assert list(table["Titel"]) == ["Azubi-Tag <b>2027</b>"]
    assert list(table["Status"]) == ["eingereicht"]


def test_pages_follow_the_role() -> None:
    assert PAGES_BY_ROLE[Role.contributor] == [
        "submit_idea",
        "my_ideas",
        "analytics",
        "listening",
        "notifications",
        "activity",
    ]
    for role in (Role.editor, Role.admin):
        assert {"calendar", "editor", "publishing"} <= set(PAGES_BY_ROLE[role])
    assert "publishing" not in PAGES_BY_ROLE[Role.approver]
    assert all(page_path(p).exists() for pages in PAGES_BY_ROLE.values() for p in pages)


@pytest.mark.parametrize(
    ("username", "role", "lang"),
    [
        pytest.param("admin", None, "de", id="admin-de"),
        pytest.param("root", "admin", "en", id="admin-en"),
        pytest.param("ed", None, "en", id="editor-en"),
        pytest.param("anna", "approver", "de", id="approver-de"),
        pytest.param("lena", None, "de", id="contributor-de"),
    ],
)
def test_the_sidebar_lists_every_page_the_user_may_open_never_folded(
    database: str, monkeypatch: pytest.MonkeyPatch, username: str, role: str | None, lang: str
) -> None:
    if role:
        add_user(database, username, role, locale=lang)
    calls: list[tuple[Any, dict[str, Any]]] = []
    real = st.navigation

    def navigation(pages: Any, **options: Any) -> Any:
        calls.append((pages, options))
        return real(pages, **options)

    monkeypatch.setattr(st, "navigation", navigation)
    at = sign_in(username, PASSWORD)
    assert not at.exception
    pages, options = calls[-1]
    with Session(make_engine(database)) as s:
        user_role = users.get_user(s, username).role
    # Shown in full: Streamlit folds a longer list behind its English "View N more".
    assert options.get("expanded") is True
    titles = [page.title for page in pages]
    assert titles == [
        translate(lang, f"nav.{p}") for p in [*PAGES_BY_ROLE[user_role], "accessibility"]
    ]


def test_a_contributor_cannot_open_an_editorial_page(database: str) -> None:
    at = sign_in("lena", PASSWORD)
    with pytest.raises(ValueError, match="publishing"):
        open_page(at, "publishing")


def test_editor_gets_the_calendar_in_english(database: str) -> None:
    at = sign_in("ed", PASSWORD)
    assert not at.exception
    assert at.title[0].value == "Calendar"
    assert at.main.text[0].value == "All times in your time zone Europe/Berlin."


def test_submitting_an_idea_shows_field_errors_keeps_the_text_then_succeeds(
    database: str,
) -> None:
    at = sign_in("lena", PASSWORD)
    assert at.title[0].value == "Idee einreichen"
    at.text_input(key=keys.SUBMIT_TITLE).input("Azubi-Tag 2027 im Werk")
    at.text_area(key=keys.SUBMIT_PITCH).input("kurz")
    at.text_input(key=keys.SUBMIT_URL).input("kein-link")
    at.run()
    assert any("Azubi-Tag <b>2027</b>" in t.value for t in at.text)  # duplicate suggestion
    at.button(key=keys.SUBMIT_BUTTON).click().run()
    errors = [e.value for e in at.error]
    assert "Pitch: mindestens 10 Zeichen" in errors
    assert "Quelle: „kein-link“ ist keine Webadresse (http:// oder https://)." in errors
    assert at.text_input(key=keys.SUBMIT_TITLE).value == "Azubi-Tag 2027 im Werk"
    at.text_area(key=keys.SUBMIT_PITCH).input("Azubis führen Schulklassen durch das Werk")
    at.text_input(key=keys.SUBMIT_URL).input("")
    at.button(key=keys.SUBMIT_BUTTON).click().run()
    assert [s.value for s in at.success] == ["Danke! Ihre Idee #2 ist eingereicht."]
    assert at.text_input(key=keys.SUBMIT_TITLE).value == ""


def test_an_english_session_gets_the_field_errors_in_english(database: str) -> None:
    at = sign_in("lena", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select("en").run()
    assert at.title[0].value == "Submit an idea"
    at.text_input(key=keys.SUBMIT_TITLE).input("Azubi-Tag 2027 im Werk")
    at.text_area(key=keys.SUBMIT_PITCH).input("kurz")
    at.text_input(key=keys.SUBMIT_URL).input("kein-link")
    at.button(key=keys.SUBMIT_BUTTON).click().run()
    errors = [e.value for e in at.error]
    assert "Pitch: at least 10 characters" in errors
    assert "Source: 'kein-link' is not a web address (http:// or https://)" in errors
    assert at.text_area(key=keys.SUBMIT_PITCH).value == "kurz"


def _planned_post(s: Session) -> Post:
    """A post of the editor's piece on a webhook channel, two days ahead."""
    admin, ed = users.get_user(s, "admin"), users.get_user(s, "ed")
    channel = channels.create_channel(
        s,
        actor=admin,
        kind="webhook",
        name="Intranet",
        settings={"url": "https://intranet.example.org/hook", "secret": "hook-secret-for-test"},
    )
    piece = pieces.create_piece(s, actor=ed, data={"title": "Betriebsfest"})
    return planning.plan_post(
        s,
        actor=ed,
        piece_id=piece.id or 0,
        channel=channel.id or 0,
        when=datetime.now(UTC) + timedelta(days=2),
    )


def test_publishing_page_shows_failed_posts_and_retries_them(database: str) -> None:
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        post = _planned_post(s)
        post.status = PostStatus.failed
        post.last_error = "cannot connect to 127.0.0.1:9"
        s.add(post)
        s.commit()
    engine.dispose()
    at = open_page(sign_in("ed", PASSWORD), "publishing")
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Reason"]) == ["cannot connect to 127.0.0.1:9"]
    assert list(table["Status"]) == ["failed"]
    at.button(key=keys.PUB_RETRY).click().run()
    assert [s.value for s in at.success][-1] == "Done."
    with Session(make_engine(database)) as s:
        assert (
            planning.get_post(s, actor=users.get_user(s, "admin"), post_id=post.id or 0).status
            == PostStatus.planned
        )


def test_the_owner_is_told_of_posts_to_publish_by_hand_and_gets_the_text_to_copy(
    database: str,
) -> None:
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        ed = users.get_user(s, "ed")
        xing = channels.create_channel(s, actor=admin, kind="manual", name="XING", settings={})
        piece = pieces.create_piece(s, actor=ed, data={"title": "Azubi-Tag"})
        post = planning.plan_post(
            s,
            actor=ed,
            piece_id=piece.id or 0,
            channel=xing.id or 0,
            when=datetime.now(UTC) + timedelta(days=1),
        )
        post.status = PostStatus.awaiting_manual
        post.last_error = "Post this on XING:\nAzubi-Tag <b>im Werk</b>"
        s.add(post)
        s.commit()
    engine.dispose()
    at = sign_in("ed", PASSWORD)
    assert [w.value for w in at.sidebar.warning] == [
        "1 post waits for you to publish it by hand (text on “Publishing”)."
    ]
    at = open_page(at, "publishing")
    assert not at.exception
    assert [c.value for c in at.code] == ["Post this on XING:\nAzubi-Tag <b>im Werk</b>"]
    at = sign_in("admin", PASSWORD)  # not the piece's owner: no notice
    assert not at.sidebar.warning


def test_my_ideas_are_paged_newest_first(database: str) -> None:
    # The page's own PAGE_SIZE; its script stops at once without a signed-in user, which a
    # run outside Streamlit cannot do, so the test names the number itself.
    PAGE_SIZE = 50
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        lena = users.get_user(s, "lena")
        for i in range(PAGE_SIZE):  # with the fixture's one: PAGE_SIZE + 1 ideas
            ideas.submit_idea(
                s,
                actor=lena,
                data={
                    "title": f"Idee {i:02d}",
                    "pitch": "Ein Pitch mit Inhalt",
                    "department": "HR",
                },
            )
    engine.dispose()
    at = open_page(sign_in("lena", PASSWORD), "my_ideas")
    assert not at.exception
    assert len(at.dataframe[0].value) == PAGE_SIZE
    titles = list(at.dataframe[0].value["Titel"])
    assert titles[:2] == [f"Idee {PAGE_SIZE - 1:02d}", f"Idee {PAGE_SIZE - 2:02d}"]
    at.number_input(key=keys.MY_IDEAS_PAGE).set_value(2).run()
    assert list(at.dataframe[0].value["Titel"]) == ["Azubi-Tag <b>2027</b>"]


def test_the_ledger_says_each_outcome_in_the_users_language(database: str) -> None:
    from planner.models import PublishAttempt

    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        post = _planned_post(s)
        s.add(PublishAttempt(post_id=post.id or 0, worker="w", outcome="transient"))
        s.add(PublishAttempt(post_id=post.id or 0, worker="w", outcome="published"))
        s.commit()
    engine.dispose()
    at = open_page(sign_in("ed", PASSWORD), "publishing")  # ed reads English
    assert list(at.dataframe[-1].value["Outcome"]) == ["published", "temporary error"]
    at = open_page(sign_in("admin", PASSWORD), "publishing")  # admin reads German
    assert list(at.dataframe[-1].value["Ergebnis"]) == ["veröffentlicht", "vorübergehender Fehler"]
