"""The Listening page under AppTest, in German and English: the list with overdue marks
and filters, an item's actions (assign, reply, make an idea, dismiss), what a department
member sees, and followed feeds."""

from __future__ import annotations

import json
from datetime import timedelta
from secrets import token_hex

from pytest_httpserver import HTTPServer
from sqlmodel import Session, select

from planner import channels, org_settings, users
from planner.db import make_engine
from planner.models import Feed, Idea, InboxItem, InboxSource, InboxStatus, utcnow
from planner.ui import keys
from tests.ui.conftest import PASSWORD, open_page, sign_in

TOKEN = token_hex(16)  # made per run: no credential lives in the code


def _items(database: str, server: HTTPServer | None = None) -> None:
    """A Mastodon mention from yesterday (overdue) and a fresh feed entry."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        channel_id = None
        if server is not None:
            org_settings.set_setting(s, actor=admin, key="allow_private_network", value="on")
            channel_id = channels.create_channel(
                s,
                actor=admin,
                kind="mastodon",
                name="Mastodon",
                settings={"instance_url": server.url_for("/").rstrip("/"), "access_token": TOKEN},
            ).id
        feed = Feed(url="https://presse.example.de/feed.xml", name="Presse", created_by_id=admin.id)
        s.add(feed)
        s.flush()
        s.add(
            InboxItem(
                source=InboxSource.mention,
                source_key=f"channel:{channel_id}",
                channel_id=channel_id,
                external_id="9001",
                author_name="Erika",
                author_handle="erika@example.org",
                text="Wann ist der Tag der offenen Tür?",
                url="https://example.org/@erika/9001",
                received_at=utcnow() - timedelta(days=1),
            )
        )
        s.add(
            InboxItem(
                source=InboxSource.feed_item,
                source_key=f"feed:{feed.id}",
                feed_id=feed.id,
                external_id="urn:p:1",
                title="Studie zur Ausbildung",
                text="Mehr Azubis.",
                url="https://presse.example.de/1",
            )
        )
        s.commit()
    engine.dispose()


def _stored(database: str) -> dict[int, InboxItem]:
    with Session(make_engine(database)) as s:
        return {i.id or 0: i for i in s.exec(select(InboxItem))}


def test_german_list_marks_overdue_items_and_assigning_tells_the_department(
    database: str,
) -> None:
    _items(database)
    at = open_page(sign_in("admin", PASSWORD), "listening")
    assert not at.exception
    assert at.title[0].value == "Zuhören"
    shown = [t.value for t in at.main.text]
    assert "2 Einträge, davon 1 überfällig" in shown
    [table] = at.main.dataframe
    assert list(table.value["Überfällig"]) == ["", "überfällig"]  # newest first
    at.selectbox(key=keys.LISTENING_PICK).set_value(1).run()
    assert any(w.value.startswith("Überfällig: sollte bis") for w in at.main.warning)
    at.selectbox(key=keys.LISTENING_ASSIGN_TO).set_value("HR").run()
    at.button(key=keys.LISTENING_ASSIGN).click().run()
    assert [s.value for s in at.success] == ["Eintrag #1 ist der Abteilung HR zugewiesen."]
    assert _stored(database)[1].status == InboxStatus.assigned

    lena = open_page(sign_in("lena", PASSWORD), "listening")
    assert not lena.exception
    assert "Hier stehen die Einträge, die Ihrer Abteilung zugewiesen sind." in [
        c.value for c in lena.main.caption
    ]
    assert "1 Einträge, davon 1 überfällig" in [t.value for t in lena.main.text]
    assert not [b for b in lena.button if b.key == keys.LISTENING_ASSIGN]
    assert not [b for b in lena.button if b.key == keys.LISTENING_FEED_ADD]


def test_english_reply_goes_out_on_the_channel(database: str, httpserver: HTTPServer) -> None:
    _items(database, httpserver)
    httpserver.expect_oneshot_request(
        "/api/v1/statuses", method="POST", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"id": "9900", "url": "https://social.example.de/@r/9900"})
    at = open_page(sign_in("ed", PASSWORD), "listening")
    assert not at.exception
    assert at.title[0].value == "Listening"
    at.selectbox(key=keys.LISTENING_PICK).set_value(1).run()
    at.text_area(key=keys.LISTENING_REPLY_TEXT).input("Saturday, 10 am.").run()
    at.button(key=keys.LISTENING_REPLY).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["The reply to item #1 was sent."]
    [(request, _)] = list(httpserver.log)
    assert json.loads(request.data)["in_reply_to_id"] == "9001"
    assert _stored(database)[1].status == InboxStatus.answered
    assert "Reply sent: Saturday, 10 am." in [t.value for t in at.main.text]


def test_a_too_long_reply_is_refused_in_english_with_the_channels_limit(
    database: str, httpserver: HTTPServer
) -> None:
    _items(database, httpserver)
    at = open_page(sign_in("ed", PASSWORD), "listening")
    at.selectbox(key=keys.LISTENING_PICK).set_value(1).run()
    at.text_area(key=keys.LISTENING_REPLY_TEXT).input("x" * 501).run()
    at.button(key=keys.LISTENING_REPLY).click().run()
    [error] = [e.value for e in at.main.error]
    assert error.startswith("Reply: 501 characters")
    assert list(httpserver.log) == []


def test_german_item_becomes_an_idea_and_another_is_dismissed(database: str) -> None:
    _items(database)
    at = open_page(sign_in("admin", PASSWORD), "listening")
    at.selectbox(key=keys.LISTENING_PICK).set_value(2).run()
    at.selectbox(key=keys.LISTENING_IDEA_DEPARTMENT).set_value("HR").run()
    at.button(key=keys.LISTENING_TO_IDEA).click().run()
    assert not at.exception
    [done] = [s.value for s in at.success]
    assert done.startswith("Aus Eintrag #2 ist Idee #")
    with Session(make_engine(database)) as s:
        idea = s.exec(select(Idea).where(Idea.title == "Studie zur Ausbildung")).one()
        assert idea.source_url == "https://presse.example.de/1"
    at.selectbox(key=keys.LISTENING_PICK).set_value(1).run()
    at.text_input(key=keys.LISTENING_DISMISS_REASON).input("Schon beantwortet").run()
    at.button(key=keys.LISTENING_DISMISS).click().run()
    assert [s.value for s in at.success] == ["Eintrag #1 ist verworfen."]
    assert _stored(database)[1].dismiss_reason == "Schon beantwortet"
    # Refused: a dismissed item cannot be dismissed twice; the page offers reopening instead.
    assert [b for b in at.button if b.key == keys.LISTENING_REOPEN]
    assert not [b for b in at.button if b.key == keys.LISTENING_DISMISS]


def test_english_feeds_are_followed_and_unfollowed(database: str) -> None:
    at = open_page(sign_in("ed", PASSWORD), "listening")
    assert "No items." in [i.value for i in at.main.info]
    at.text_input(key=keys.LISTENING_FEED_URL).input("https://verband.example.de/atom.xml")
    at.text_input(key=keys.LISTENING_FEED_NAME).input("Verband")
    at.selectbox(key=keys.LISTENING_FEED_DEPARTMENT).set_value("HR")
    at.button(key=keys.LISTENING_FEED_ADD).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Now following the feed “Verband”."]
    assert "Verband (https://verband.example.de/atom.xml) — HR" in [t.value for t in at.main.text]
    at.text_input(key=keys.LISTENING_FEED_URL).input("ftp://nope")
    at.button(key=keys.LISTENING_FEED_ADD).click().run()
    assert any("is not an http(s) address" in e.value for e in at.main.error)
    [remove] = [b for b in at.button if (b.key or "").startswith(keys.LISTENING_FEED_REMOVE)]
    remove.click().run()
    assert [s.value for s in at.success] == ["No longer following the feed “Verband”."]
    with Session(make_engine(database)) as s:
        assert s.exec(select(Feed)).all() == []


def test_a_link_that_is_no_web_address_gets_no_button(database: str) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        admin = users.get_user(s, "admin")
        feed = Feed(url="https://x.example.de/feed", name="X", created_by_id=admin.id)
        s.add(feed)
        s.flush()
        s.add(
            InboxItem(
                source=InboxSource.feed_item,
                source_key=f"feed:{feed.id}",
                feed_id=feed.id,
                external_id="e1",
                title="Klick mich",
                url="javascript:alert(document.cookie)",
            )
        )
        s.commit()
    engine.dispose()
    at = open_page(sign_in("ed", PASSWORD), "listening")
    assert not at.exception
    assert "Klick mich" in [t.value for t in at.main.text]
    assert list(at.get("link_button")) == []


def test_the_process_page_shows_response_times_per_department(
    database: str, httpserver: HTTPServer
) -> None:
    _items(database, httpserver)
    engine = make_engine(database)
    with Session(engine) as s:
        item = s.get(InboxItem, 1)
        assert item is not None
        hr = users.get_department(s, "HR")
        item.department_id, item.status = hr.id, InboxStatus.answered
        item.handled_at = item.received_at + timedelta(hours=20)  # four hours ago
        s.add(item)
        s.commit()
    engine.dispose()
    at = open_page(sign_in("admin", PASSWORD), "process")
    assert not at.exception
    assert "Zuhören: Antwortzeiten" in [h.value for h in at.main.subheader]
    [table] = [t for t in at.main.dataframe if "Im Ziel" in t.value.columns]
    row = table.value.iloc[0]
    assert (row["Abteilung"], row["Beantwortet"], row["Median (Stunden)"]) == ("HR", 1, "20.0")
