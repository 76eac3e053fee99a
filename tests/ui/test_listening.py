"""The Listening page under AppTest, in German and English: the list with overdue marks
and filters, an item's actions (assign, reply, approve or discard a waiting reply, make an
idea, dismiss), fetching now, what a department member sees, followed feeds and the
departments' response targets."""

from __future__ import annotations

import json
from datetime import timedelta
from secrets import token_hex
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from planner import channels, inbox, org_settings, users
from planner.db import make_engine
from planner.models import Feed, Idea, InboxItem, InboxSource, InboxStatus, utcnow
from planner.schemas import IdeaCreate
from planner.ui import i18n, keys
from tests.ui.conftest import PASSWORD, add_user, open_page, sign_in

TOKEN = token_hex(16)  # made per run: no credential lives in the code


def _mastodon(s: Session, server: HTTPServer) -> int | None:
    """A Mastodon channel on `server`, which channels may now reach: its id."""
    admin = users.get_user(s, "admin")
    org_settings.set_setting(s, actor=admin, key="allow_private_network", value="on")
    return channels.create_channel(
        s,
        actor=admin,
        kind="mastodon",
        name="Mastodon",
        settings={"instance_url": server.url_for("/").rstrip("/"), "access_token": TOKEN},
    ).id


def _feed(
    s: Session, url: str = "https://presse.example.de/feed.xml", name: str = "Presse"
) -> Feed:
    """A feed the admin follows."""
    feed = Feed(url=url, name=name, created_by_id=users.get_user(s, "admin").id)
    s.add(feed)
    s.flush()
    return feed


def _feed_entry(feed: Feed, external_id: str, **fields: Any) -> InboxItem:
    """An entry of `feed` in the inbox."""
    return InboxItem(
        source=InboxSource.feed_item,
        source_key=f"feed:{feed.id}",
        feed_id=feed.id,
        external_id=external_id,
        **fields,
    )


def _items(database: str, server: HTTPServer | None = None) -> None:
    """A Mastodon mention from yesterday (overdue) and a fresh feed entry; the mention is
    on a Mastodon channel at `server` when there is one."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        channel_id = None if server is None else _mastodon(s, server)
        feed = _feed(s)
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
            _feed_entry(
                feed,
                "urn:p:1",
                title="Studie zur Ausbildung",
                text="Mehr Azubis.",
                url="https://presse.example.de/1",
            )
        )
        s.commit()
    engine.dispose()


@pytest.fixture
def items(database: str) -> None:
    """`_items`: the mention on no channel."""
    _items(database)


@pytest.fixture
def answerable_items(database: str, httpserver: HTTPServer) -> None:
    """`_items`, the mention on a Mastodon channel at `httpserver` that replies go out on."""
    _items(database, httpserver)


@pytest.fixture
def replies_wait(answerable_items: None, database: str) -> None:
    """`answerable_items`, in an organisation where every reply waits for a second person."""
    engine = make_engine(database)
    with Session(engine) as s:
        admin = users.get_user(s, "admin")
        org_settings.set_setting(s, actor=admin, key="replies_need_approval", value="on")
    engine.dispose()


@pytest.fixture
def ada(database: str) -> None:
    """One more admin, Ada, who reads the dashboard in English."""
    add_user(database, "ada", "admin", display_name="Ada Admin", locale="en")


def _picked(user: str, item_id: int) -> AppTest:
    """The Listening page as `user` sees it with item #`item_id` picked."""
    at = open_page(sign_in(user, PASSWORD), "listening")
    at.selectbox(key=keys.LISTENING_PICK).set_value(item_id).run()
    return at


def _replied(user: str, text: str) -> AppTest:
    """The Listening page after `user` answered item #1 with `text` on it."""
    at = _picked(user, 1)
    at.text_area(key=keys.LISTENING_REPLY_TEXT).input(text).run()
    at.button(key=keys.LISTENING_REPLY).click().run()
    return at


def _ed_replied(database: str, text: str) -> None:
    """Eda's reply `text` to item #1, which waits for approval."""
    engine = make_engine(database)
    with Session(engine) as s:
        inbox.reply_to_item(s, actor=users.get_user(s, "ed"), item_id=1, text=text)
    engine.dispose()


def _stored(database: str) -> dict[int, InboxItem]:
    with Session(make_engine(database)) as s:
        return {i.id or 0: i for i in s.exec(select(InboxItem))}


@pytest.mark.usefixtures("items")
def test_german_list_marks_overdue_items_and_assigning_tells_the_department(
    database: str,
) -> None:
    at = open_page(sign_in("admin", PASSWORD), "listening")
    assert not at.exception
    assert at.title[0].value == "Zuhören"
    shown = [t.value for t in at.main.text]
    assert "Einträge: 2, davon überfällig: 1" in shown
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
    assert "Einträge: 1, davon überfällig: 1" in [t.value for t in lena.main.text]
    assert not [b for b in lena.button if b.key == keys.LISTENING_ASSIGN]
    assert not [b for b in lena.button if b.key == keys.LISTENING_FEED_ADD]


@pytest.mark.usefixtures("answerable_items")
def test_english_reply_goes_out_on_the_channel(database: str, httpserver: HTTPServer) -> None:
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


@pytest.mark.usefixtures("items")
def test_german_an_item_whose_reply_is_being_sent_offers_no_action(database: str) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        item = s.get(InboxItem, 1)
        assert item is not None
        item.reply_sending_at = utcnow()  # a colleague's reply is on its way
        s.add(item)
        s.commit()
    engine.dispose()
    at = _picked("admin", 1)
    assert not at.exception
    assert "Eine Antwort auf diesen Eintrag wird gerade gesendet" in at.info[0].value
    assert not [b for b in at.button if b.key in (keys.LISTENING_REPLY, keys.LISTENING_DISMISS)]
    # The feed entry beside it is not held.
    at.selectbox(key=keys.LISTENING_PICK).set_value(2).run()
    assert [b.key for b in at.button if b.key == keys.LISTENING_DISMISS] == [keys.LISTENING_DISMISS]


@pytest.mark.usefixtures("answerable_items")
def test_a_too_long_reply_is_refused_in_english_with_the_channels_limit(
    httpserver: HTTPServer,
) -> None:
    at = _replied("ed", "x" * 501)
    [error] = [e.value for e in at.main.error]
    assert error.startswith("Reply: 501 characters")
    assert list(httpserver.log) == []


@pytest.mark.usefixtures("items")
def test_german_item_becomes_an_idea_and_another_is_dismissed(database: str) -> None:
    at = _picked("admin", 2)
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


@pytest.mark.usefixtures("answerable_items")  # nothing is sent: #1 needs a channel to answer on
def test_text_typed_for_one_item_is_not_used_on_the_next_one_picked(database: str) -> None:
    at = _picked("admin", 1)
    at.text_area(key=keys.LISTENING_REPLY_TEXT).input("Liebe Erika, am Samstag!").run()
    at.text_input(key=keys.LISTENING_DISMISS_REASON).input("Spam von Erika").run()
    at.selectbox(key=keys.LISTENING_PICK).set_value(2).run()
    assert not at.exception
    # Before, both fields kept item #1's text, and "Verwerfen" used its reason on #2.
    assert at.text_input(key=keys.LISTENING_DISMISS_REASON).value == ""
    at.button(key=keys.LISTENING_DISMISS).click().run()
    assert [s.value for s in at.success] == ["Eintrag #2 ist verworfen."]
    assert not _stored(database)[2].dismiss_reason
    at.selectbox(key=keys.LISTENING_PICK).set_value(1).run()
    assert at.text_area(key=keys.LISTENING_REPLY_TEXT).value == ""


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


@pytest.mark.usefixtures("items")
def test_german_a_refused_feed_is_explained_in_german() -> None:
    at = open_page(sign_in("admin", PASSWORD), "listening")
    assert at.text_input(key=keys.LISTENING_FEED_URL).max_chars == inbox.URL_MAX
    assert at.text_input(key=keys.LISTENING_FEED_NAME).max_chars == inbox.NAME_MAX
    at.selectbox(key=keys.LISTENING_PICK).set_value(2).run()
    assert at.text_input(key=keys.LISTENING_DISMISS_REASON).max_chars == inbox.REASON_MAX
    at.text_input(key=keys.LISTENING_FEED_URL).input("ftp://nope")
    at.button(key=keys.LISTENING_FEED_ADD).click().run()
    assert not at.exception
    assert [e.value for e in at.main.error] == ["Adresse: 'ftp://nope' ist keine http(s)-Adresse."]
    at.text_input(key=keys.LISTENING_FEED_URL).input("https://presse.example.de/feed.xml")
    at.button(key=keys.LISTENING_FEED_ADD).click().run()
    assert [e.value for e in at.main.error] == [
        "Adresse: Der Feed „https://presse.example.de/feed.xml“ wird schon abonniert."
    ]


def test_a_link_that_is_no_web_address_gets_no_button(database: str) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        feed = _feed(s, "https://x.example.de/feed", "X")
        s.add(_feed_entry(feed, "e1", title="Klick mich", url="javascript:alert(document.cookie)"))
        s.commit()
    engine.dispose()
    at = open_page(sign_in("ed", PASSWORD), "listening")
    assert not at.exception
    assert "Klick mich" in [t.value for t in at.main.text]
    assert list(at.get("link_button")) == []


@pytest.mark.usefixtures("answerable_items")
def test_the_process_page_shows_response_times_per_department(database: str) -> None:
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
    assert (row["Abteilung"], row["Beantwortet"], row["Median (Stunden)"]) == ("HR", 1, "20,0")


# --- replies waiting for approval ---------------------------------------------------------


def _expect_reply(server: HTTPServer) -> None:
    server.expect_oneshot_request(
        "/api/v1/statuses", method="POST", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"id": "9900", "url": "https://social.example.de/@r/9900"})


def _statuses(server: HTTPServer) -> list[dict[str, Any]]:
    """What was posted to the Mastodon server's statuses API."""
    return [json.loads(r.data) for r, _ in server.log if r.path == "/api/v1/statuses"]


def _keys(at: Any) -> set[str]:
    """The keys of the buttons on the page."""
    return {b.key for b in at.button if b.key}


@pytest.mark.usefixtures("replies_wait")
def test_english_a_second_person_approves_a_waiting_reply_and_it_is_sent(
    database: str, httpserver: HTTPServer
) -> None:
    add_user(database, "vera", "approver", display_name="Vera Approver", locale="en")
    ed = _replied("ed", "Saturday, 10 am.")
    assert not ed.exception
    assert [s.value for s in ed.success] == [
        "The reply to item #1 waits for a second person's approval."
    ]
    assert "A reply by Eda Editor waits for approval: Saturday, 10 am." in [
        i.value for i in ed.main.info
    ]
    assert list(httpserver.log) == []
    waiting = _stored(database)[1]
    assert (waiting.status, waiting.reply_text, waiting.reply_external_id) == (
        InboxStatus.new,
        "Saturday, 10 am.",
        None,
    )

    _expect_reply(httpserver)
    vera = open_page(sign_in("vera", PASSWORD), "listening")
    assert not vera.exception
    vera.selectbox(key=keys.LISTENING_PICK).set_value(1).run()
    assert "A reply by Eda Editor waits for approval: Saturday, 10 am." in [
        i.value for i in vera.main.info
    ]
    vera.button(key=keys.LISTENING_APPROVE).click().run()
    assert not vera.exception
    assert [s.value for s in vera.success] == ["The reply to item #1 was sent."]
    [status] = _statuses(httpserver)
    assert status["in_reply_to_id"] == "9001"
    assert status["status"].endswith("Saturday, 10 am.")
    sent = _stored(database)[1]
    assert (sent.status, sent.reply_external_id) == (InboxStatus.answered, "9900")
    with Session(make_engine(database)) as s:
        assert sent.handled_by_id == users.get_user(s, "vera").id
    assert "Reply sent: Saturday, 10 am." in [t.value for t in vera.main.text]
    assert not {keys.LISTENING_APPROVE, keys.LISTENING_DISCARD} & _keys(vera)


@pytest.mark.usefixtures("replies_wait")
def test_german_the_writer_may_not_approve_their_own_reply_and_discards_it(
    database: str, httpserver: HTTPServer
) -> None:
    at = _replied("admin", "Samstag, 10 Uhr.")
    assert not at.exception
    assert [s.value for s in at.success] == [
        "Die Antwort auf Eintrag #1 wartet auf die Freigabe durch eine zweite Person."
    ]
    assert "Antwort von Admin wartet auf Freigabe: Samstag, 10 Uhr." in [
        i.value for i in at.main.info
    ]
    # The admin may approve replies, but not their own: no button, and the page says why.
    assert keys.LISTENING_APPROVE not in _keys(at)
    assert (
        "Sie haben diese Antwort geschrieben; freigeben muss sie eine andere Person "
        "(Vier-Augen-Prinzip)." in [c.value for c in at.main.caption]
    )
    at.button(key=keys.LISTENING_DISCARD).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Die wartende Antwort auf Eintrag #1 ist verworfen."]
    dropped = _stored(database)[1]
    assert (dropped.status, dropped.reply_text, dropped.reply_by_id) == (
        InboxStatus.new,
        None,
        None,
    )
    assert list(httpserver.log) == []
    assert not at.main.info
    assert keys.LISTENING_REPLY in _keys(at)  # the item can be answered again


@pytest.mark.usefixtures("replies_wait", "ada")
def test_english_approving_ones_own_reply_from_an_older_page_is_refused(
    database: str, httpserver: HTTPServer
) -> None:
    _ed_replied(database, "Eda's words.")
    ada = _picked("ada", 1)
    assert keys.LISTENING_APPROVE in _keys(ada)
    # Meanwhile, in another tab: Eda's reply is discarded and Ada writes one herself.
    engine = make_engine(database)
    with Session(engine) as s:
        inbox.discard_reply(s, actor=users.get_user(s, "ed"), item_id=1)
        inbox.reply_to_item(s, actor=users.get_user(s, "ada"), item_id=1, text="Ada's words.")
    engine.dispose()
    ada.button(key=keys.LISTENING_APPROVE).click().run()
    assert not ada.exception
    assert [e.value for e in ada.main.error] == [
        "You wrote this reply, so another person must approve it (four-eyes rule)."
    ]
    assert not ada.success
    assert list(httpserver.log) == []
    waiting = _stored(database)[1]
    assert (waiting.status, waiting.reply_text, waiting.reply_external_id) == (
        InboxStatus.new,
        "Ada's words.",
        None,
    )
    assert keys.LISTENING_APPROVE not in _keys(ada)


# --- fetching now -------------------------------------------------------------------------

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Verband</title>
<item><title>Studie zur Ausbildung</title><guid>urn:v:1</guid>
<link>https://verband.example.de/1</link><description>Mehr Azubis.</description></item>
</channel></rss>"""


def _mention(number: int) -> dict[str, Any]:
    """One mention notification as the Mastodon API lists it."""
    return {
        "id": str(100 + number),
        "type": "mention",
        "account": {"acct": "erika@example.org", "display_name": "Erika", "url": "https://e/@e"},
        "status": {
            "id": str(9000 + number),
            "content": f"<p>@redaktion Frage {number}</p>",
            "url": f"https://example.org/@erika/{9000 + number}",
            "created_at": "2026-12-03T08:00:00Z",
            "in_reply_to_id": None,
        },
    }


def test_english_fetch_now_reads_the_channel_and_the_feed_into_the_list(
    database: str, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/v1/notifications").respond_with_json([_mention(2), _mention(1)])
    httpserver.expect_request("/verband.xml").respond_with_data(
        RSS, content_type="application/rss+xml"
    )
    engine = make_engine(database)
    with Session(engine) as s:
        _mastodon(s, httpserver)
        admin = users.get_user(s, "admin")
        inbox.add_feed(s, actor=admin, url=httpserver.url_for("/verband.xml"), name="Verband")
    engine.dispose()
    at = open_page(sign_in("ed", PASSWORD), "listening")
    assert not at.exception
    assert "No items." in [i.value for i in at.main.info]
    assert "Channel Mastodon: last read never" in [t.value for t in at.main.text]
    at.button(key=keys.LISTENING_FETCH).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["New items: 3; sources read: 2."]
    stored = {(i.source, i.external_id, i.text or i.title) for i in _stored(database).values()}
    assert stored == {
        (InboxSource.mention, "9001", "@redaktion Frage 1"),
        (InboxSource.mention, "9002", "@redaktion Frage 2"),
        (InboxSource.feed_item, "urn:v:1", "Mehr Azubis."),
    }
    assert "Items: 3, overdue: 0" in [t.value for t in at.main.text]
    lines = [t.value for t in at.main.text]
    assert "Channel Mastodon: last read never" not in lines
    assert "Feed Verband: last read never" not in lines
    # Fetching again brings nothing twice.
    at.button(key=keys.LISTENING_FETCH).click().run()
    assert [s.value for s in at.success] == ["New items: 0; sources read: 2."]
    assert len(_stored(database)) == 3


# --- response targets ---------------------------------------------------------------------


@pytest.mark.usefixtures("items")
def test_german_a_departments_response_target_is_set_shown_and_cleared(database: str) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        inbox.assign_item(s, actor=users.get_user(s, "admin"), item_id=2, department="HR")
    engine.dispose()
    at = open_page(sign_in("admin", PASSWORD), "listening")
    assert not at.exception
    assert "Antwortziele" in [h.value for h in at.main.subheader]
    default = "Für alle Abteilungen ohne eigenes Ziel: 24 Stunden (Einstellung „Antwortziel“)."
    assert default in [t.value for t in at.main.text]
    at.selectbox(key=keys.LISTENING_PICK).set_value(2).run()
    assert any(t.value.startswith("Antwortziel: 24 Stunden") for t in at.main.text)

    at.selectbox(key=keys.LISTENING_TARGET_DEPARTMENT).set_value("HR")
    at.number_input(key=keys.LISTENING_TARGET_HOURS).set_value(4)
    at.button(key=keys.LISTENING_TARGET_SAVE).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Das Antwortziel der Abteilung HR ist gespeichert."]
    assert "HR: 4 Stunden" in [t.value for t in at.main.text]
    assert any(t.value.startswith("Antwortziel: 4 Stunden") for t in at.main.text)
    with Session(make_engine(database)) as s:
        admin = users.get_user(s, "admin")
        assert inbox.response_targets_by_name(s, actor=admin) == {"HR": 4}

    at.number_input(key=keys.LISTENING_TARGET_HOURS).set_value(0)
    at.button(key=keys.LISTENING_TARGET_SAVE).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [
        "Für die Abteilung HR gilt wieder das Antwortziel der Organisation."
    ]
    assert "HR: 4 Stunden" not in [t.value for t in at.main.text]
    assert any(t.value.startswith("Antwortziel: 24 Stunden") for t in at.main.text)
    with Session(make_engine(database)) as s:
        admin = users.get_user(s, "admin")
        assert inbox.response_targets_by_name(s, actor=admin) == {}


@pytest.mark.usefixtures("ada")
def test_english_a_target_for_a_department_renamed_meanwhile_is_refused_and_nothing_stored(
    database: str,
) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        inbox.set_response_target(s, actor=users.get_user(s, "admin"), department="HR", hours=8)
    at = open_page(sign_in("ada", PASSWORD), "listening")
    assert "HR: 8 hours" in [t.value for t in at.main.text]
    # Meanwhile, in another tab, HR is renamed; the form still offers the old name.
    with Session(engine) as s:
        users.rename_department(s, actor=users.get_user(s, "admin"), name="HR", new_name="People")
    at.selectbox(key=keys.LISTENING_TARGET_DEPARTMENT).set_value("HR")
    at.number_input(key=keys.LISTENING_TARGET_HOURS).set_value(2)
    at.button(key=keys.LISTENING_TARGET_SAVE).click().run()
    assert not at.exception
    assert [e.value for e in at.main.error] == ["Not found: the department #HR."]
    assert not at.success
    with Session(engine) as s:
        ada = users.get_user(s, "ada")
        assert inbox.response_targets_by_name(s, actor=ada) == {"People": 8}
    engine.dispose()
    assert "People: 8 hours" in [t.value for t in at.main.text]


# --- filters ------------------------------------------------------------------------------


def _varied_items(database: str) -> None:
    """Four items that differ in status, source and department:
    #1 a new mention, #2 a reply assigned to HR, #3 a feed entry assigned to Marketing,
    #4 a dismissed feed entry."""
    engine = make_engine(database)
    with Session(engine) as s:
        admin = users.get_user(s, "admin")
        marketing = users.create_department(s, actor=admin, name="Marketing")
        hr = users.get_department(s, "HR")
        rows = [
            (InboxSource.mention, InboxStatus.new, None, "Frage zur Messe"),
            (InboxSource.reply, InboxStatus.assigned, hr.id, "Antwort auf unseren Post"),
            (InboxSource.feed_item, InboxStatus.assigned, marketing.id, "Studie Marketing"),
            (InboxSource.feed_item, InboxStatus.dismissed, None, "Alte Meldung"),
        ]
        for number, (source, status, department_id, text) in enumerate(rows, start=1):
            s.add(
                InboxItem(
                    source=source,
                    source_key=f"test:{source}",
                    external_id=str(number),
                    text=text,
                    status=status,
                    department_id=department_id,
                    received_at=utcnow() - timedelta(minutes=10 * number),
                )
            )
        s.commit()
    engine.dispose()


def _listed(at: Any) -> list[int]:
    """The numbers of the items in the page's table (none without a table)."""
    return [int(n) for t in at.main.dataframe for n in t.value["No."]]


def _found(database: str, **filters: Any) -> list[int]:
    """The numbers of the items `inbox.list_items` finds with `filters`."""
    with Session(make_engine(database)) as s:
        ed = users.get_user(s, "ed")
        return [v.item.id or 0 for v in inbox.list_items(s, actor=ed, **filters)]


def test_english_the_status_source_and_department_filters_narrow_the_list(
    database: str,
) -> None:
    _varied_items(database)
    at = open_page(sign_in("ed", PASSWORD), "listening")
    assert not at.exception
    assert _listed(at) == [1, 2, 3, 4]
    at.selectbox(key=keys.LISTENING_STATUS).set_value("assigned").run()
    assert not at.exception
    assert _listed(at) == [2, 3]
    assert "Items: 2, overdue: 0" in [t.value for t in at.main.text]
    assert _found(database, status=InboxStatus.assigned) == [2, 3]

    at.selectbox(key=keys.LISTENING_STATUS).set_value("").run()
    at.selectbox(key=keys.LISTENING_SOURCE).set_value("feed_item").run()
    assert not at.exception
    assert _listed(at) == [3, 4]
    assert set(at.main.dataframe[0].value["Kind"]) == {"Feed entry"}
    assert _found(database, source=InboxSource.feed_item) == [3, 4]

    at.selectbox(key=keys.LISTENING_SOURCE).set_value("").run()
    at.selectbox(key=keys.LISTENING_DEPARTMENT).set_value("HR").run()
    assert not at.exception
    assert _listed(at) == [2]
    assert list(at.main.dataframe[0].value["Department"]) == ["HR"]
    assert _found(database, department="HR") == [2]

    # Filters combine: HR has no feed entry.
    at.selectbox(key=keys.LISTENING_SOURCE).set_value("feed_item").run()
    assert not at.exception
    assert _listed(at) == []
    assert "No items." in [i.value for i in at.main.info]
    at.selectbox(key=keys.LISTENING_DEPARTMENT).set_value("Marketing").run()
    at.selectbox(key=keys.LISTENING_STATUS).set_value("assigned").run()
    assert _listed(at) == [3]


# --- ideas of any item, edited before they are made ---------------------------------------


def _hard_items(database: str) -> None:
    """#1 a feed entry longer than an idea's pitch, #2 the mention "Hi", #3 a feed entry
    whose link is no web address."""
    engine = make_engine(database)
    with Session(engine) as s:
        feed = _feed(s)
        s.add(
            _feed_entry(
                feed,
                "1",
                title="Lange Studie",
                text="Wort " * 1200,
                url="https://presse.example.de/1",
            )
        )
        s.add(
            InboxItem(
                source=InboxSource.mention,
                source_key="channel:x",
                external_id="2",
                author_name="Erika",
                author_handle="erika@example.org",
                text="Hi",
            )
        )
        s.add(
            _feed_entry(
                feed,
                "3",
                title="Pressemitteilung Ausbildung",
                text="Mehr Azubis.",
                url="urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a",
            )
        )
        s.commit()
    engine.dispose()


def _idea_of(database: str, item_id: int) -> Idea:
    with Session(make_engine(database)) as s:
        item = s.get(InboxItem, item_id)
        assert item is not None and item.idea_id is not None
        idea = s.get(Idea, item.idea_id)
        assert idea is not None
        return idea


IDEA_TEXTS = {
    "de": {
        "title": "Titel der Idee",
        "pitch": "Pitch der Idee",
        "padded": "Erwähnung von Erika: Hi",
        "refused": "Titel der Idee: mindestens 3 Zeichen",
        "made": "Aus Eintrag #{id} ist Idee #",
    },
    "en": {
        "title": "Title of the idea",
        "pitch": "Pitch of the idea",
        "padded": "Mention by Erika: Hi",
        "refused": "Title of the idea: at least 3 characters",
        "made": "Item #{id} became idea #",
    },
}


@pytest.mark.parametrize(("user", "lang"), [("admin", "de"), ("ed", "en")])
def test_any_item_becomes_an_idea_whose_title_and_pitch_are_shown_and_can_be_changed(
    database: str, user: str, lang: str
) -> None:
    texts = IDEA_TEXTS[lang]
    _hard_items(database)
    # A mention of two letters: the title says where it came from; the user changes it.
    at = _picked(user, 2)
    assert at.text_input(key=keys.LISTENING_IDEA_TITLE).label == texts["title"]
    assert at.text_area(key=keys.LISTENING_IDEA_PITCH).label == texts["pitch"]
    assert at.text_input(key=keys.LISTENING_IDEA_TITLE).value == texts["padded"]
    assert at.text_area(key=keys.LISTENING_IDEA_PITCH).value == "Hi\n\n— Erika (erika@example.org)"
    at.text_input(key=keys.LISTENING_IDEA_TITLE).input("x")
    at.button(key=keys.LISTENING_TO_IDEA).click().run()
    assert not at.exception
    assert [e.value for e in at.main.error] == [texts["refused"]]
    assert at.text_input(key=keys.LISTENING_IDEA_TITLE).value == "x"  # kept, to be fixed
    at.text_input(key=keys.LISTENING_IDEA_TITLE).input("Erika grüßt")
    at.text_area(key=keys.LISTENING_IDEA_PITCH).input("Ein Gruß von Erika auf Mastodon.")
    at.button(key=keys.LISTENING_TO_IDEA).click().run()
    assert at.success[0].value.startswith(texts["made"].format(id=2))
    idea = _idea_of(database, 2)
    assert (idea.title, idea.pitch) == ("Erika grüßt", "Ein Gruß von Erika auf Mastodon.")
    # Longer than a pitch takes, and a link that is no web address: made as they are.
    for item_id in (1, 3):
        at.selectbox(key=keys.LISTENING_PICK).set_value(item_id).run()
        at.button(key=keys.LISTENING_TO_IDEA).click().run()
        assert not at.exception
        assert not at.main.error
        assert at.success[0].value.startswith(texts["made"].format(id=item_id))
    long = _idea_of(database, 1)
    assert long.title == "Lange Studie" and len(long.pitch) <= 5000
    assert (long.source_url, _idea_of(database, 3).source_url) == (
        "https://presse.example.de/1",
        None,
    )


# --- a waiting reply ends with its item -------------------------------------------------


@pytest.mark.usefixtures("replies_wait")
def test_german_dismissing_an_item_drops_its_waiting_reply_and_leaves_no_dead_buttons(
    database: str, httpserver: HTTPServer
) -> None:
    add_user(database, "vera", "approver", display_name="Vera Freigabe")
    _ed_replied(database, "Am Samstag!")
    at = _picked("admin", 1)
    at.button(key=keys.LISTENING_DISMISS).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [
        "Eintrag #1 ist verworfen, ebenso die Antwort, die auf Freigabe wartete."
    ]
    dismissed = _stored(database)[1]
    assert (dismissed.status, dismissed.reply_text) == (InboxStatus.dismissed, None)
    vera = _picked("vera", 1)
    assert not vera.exception
    assert not vera.main.info
    assert not {keys.LISTENING_APPROVE, keys.LISTENING_DISCARD} & _keys(vera)
    # Reopened, the item waits for a new reply; the old one is not sent.
    at.button(key=keys.LISTENING_REOPEN).click().run()
    assert [s.value for s in at.success] == ["Eintrag #1 ist wieder offen."]
    vera.selectbox(key=keys.LISTENING_PICK).set_value(1).run()
    assert keys.LISTENING_APPROVE not in _keys(vera)
    assert list(httpserver.log) == []


@pytest.mark.usefixtures("replies_wait", "ada")
def test_english_making_an_idea_of_an_item_drops_its_waiting_reply(database: str) -> None:
    _ed_replied(database, "Saturday!")
    at = _picked("ada", 1)
    assert keys.LISTENING_APPROVE in _keys(at)
    at.button(key=keys.LISTENING_TO_IDEA).click().run()
    assert not at.exception
    [done] = [s.value for s in at.success]
    assert done.startswith("Item #1 became idea #")
    assert done.endswith(". The reply that waited for approval was discarded.")
    converted = _stored(database)[1]
    assert (converted.status, converted.reply_text) == (InboxStatus.converted, None)
    assert not at.main.info
    assert not {keys.LISTENING_APPROVE, keys.LISTENING_DISCARD} & _keys(at)


# --- the response-target form shows what is set --------------------------------------------


TARGET_TEXTS = {
    "de": {
        "own": "Eigenes Antwortziel der Abteilung HR: 6 Stunden.",
        "none": "Die Abteilung Presse hat kein eigenes Antwortziel; es gilt das der Organisation.",
        "saved": "Das Antwortziel der Abteilung HR ist gespeichert.",
    },
    "en": {
        "own": "Own response target of the department HR: 6 hours.",
        "none": "The department Presse has no response target of its own; the organisation's "
        "applies.",
        "saved": "The response target of HR is saved.",
    },
}


@pytest.mark.usefixtures("ada")
@pytest.mark.parametrize(("user", "lang"), [("admin", "de"), ("ada", "en")])
def test_the_target_form_shows_each_departments_own_target_and_saving_it_keeps_it(
    database: str, user: str, lang: str
) -> None:
    texts = TARGET_TEXTS[lang]
    engine = make_engine(database)
    with Session(engine) as s:
        admin = users.get_user(s, "admin")
        users.create_department(s, actor=admin, name="Presse")
        inbox.set_response_target(s, actor=admin, department="HR", hours=6)
    engine.dispose()
    at = open_page(sign_in(user, PASSWORD), "listening")
    assert not at.exception
    at.selectbox(key=keys.LISTENING_TARGET_DEPARTMENT).set_value("HR").run()
    assert at.number_input(key=keys.LISTENING_TARGET_HOURS).value == 6
    assert texts["own"] in [c.value for c in at.main.caption]
    at.button(key=keys.LISTENING_TARGET_SAVE).click().run()  # saved as shown
    assert [s.value for s in at.success] == [texts["saved"]]
    with Session(make_engine(database)) as s:
        admin = users.get_user(s, "admin")
        assert inbox.response_targets_by_name(s, actor=admin) == {"HR": 6}
    # Another department: the field follows, 0 for one that uses the organisation's.
    at.selectbox(key=keys.LISTENING_TARGET_DEPARTMENT).set_value("Presse").run()
    assert at.number_input(key=keys.LISTENING_TARGET_HOURS).value == 0
    assert texts["none"] in [c.value for c in at.main.caption]
    at.selectbox(key=keys.LISTENING_TARGET_DEPARTMENT).set_value("HR").run()
    assert at.number_input(key=keys.LISTENING_TARGET_HOURS).value == 6


ONE_HOUR = {
    "de": [
        "HR: 1 Stunde",
        "Antwortziel: 1 Stunde, also bis",
        "Für alle Abteilungen ohne eigenes Ziel: 1 Stunde (Einstellung „Antwortziel“).",
    ],
    "en": [
        "HR: 1 hour",
        "Response target: 1 hour, so by",
        "For every department without a target of its own: 1 hour (setting “Response target”).",
    ],
}


@pytest.mark.usefixtures("items", "ada")
@pytest.mark.parametrize(("user", "lang"), [("admin", "de"), ("ada", "en")])
def test_one_hour_is_said_in_the_singular(database: str, user: str, lang: str) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        admin = users.get_user(s, "admin")
        org_settings.set_setting(s, actor=admin, key="response_target_hours", value="1")
        inbox.set_response_target(s, actor=admin, department="HR", hours=1)
        inbox.assign_item(s, actor=admin, item_id=2, department="HR")
    engine.dispose()
    at = _picked(user, 2)
    assert not at.exception
    shown = [t.value for t in at.main.text]
    line, meta, default = ONE_HOUR[lang]
    assert line in shown and default in shown
    assert any(text.startswith(meta) for text in shown)
    assert not any("1 Stunden" in text or "1 hours" in text for text in shown)


# --- items of a feed no longer followed --------------------------------------------------


@pytest.mark.usefixtures("items")
@pytest.mark.parametrize(
    ("user", "column", "label"),
    [
        ("admin", "Quelle", "Feed (nicht mehr abonniert)"),
        ("ed", "Source", "Feed (no longer followed)"),
    ],
)
def test_the_items_of_an_unfollowed_feed_name_it_in_the_users_language(
    database: str, user: str, column: str, label: str
) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        inbox.remove_feed(s, actor=users.get_user(s, "admin"), feed_id=1)
    engine.dispose()
    at = open_page(sign_in(user, PASSWORD), "listening")
    assert not at.exception
    [table] = at.main.dataframe
    assert list(table.value[column])[:1] == [label]  # the feed entry, the newest
    at.selectbox(key=keys.LISTENING_PICK).set_value(2).run()
    assert any(t.value.endswith(f" {label}") for t in at.main.text)
    assert not any("feed:" in t.value for t in at.main.text)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_field_the_page_may_refuse_has_a_label(lang: str) -> None:
    # The inbox's own fields, and those of the idea an item becomes.
    fields = {"department", "hours", "item", "name", "reason", "reply", "text", "url"}
    texts = i18n.catalogue(lang)
    unlabelled = [
        name
        for name in sorted(fields | set(IdeaCreate.model_fields))
        if f"listening.field.{name}" not in texts and f"field.{name}" not in texts
    ]
    assert unlabelled == []
    assert (
        texts["listening.field.source_url"]
        == {"de": "Quelle der Idee", "en": "Source of the idea"}[lang]
    )
