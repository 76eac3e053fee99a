"""The Notifications page, @mentions and comments under AppTest: what a user was told,
marking it read, choosing how to hear of it, and comments seen on Approvals and Board."""

from __future__ import annotations

from sqlmodel import Session, select

from planner import channels, ideas, notifications, pieces, planning, users
from planner.db import make_engine
from planner.errors import Message
from planner.models import Comment, Notification
from planner.ui import keys
from tests.ui.conftest import PASSWORD, add_user, open_page, sign_in


def submitted(database: str, *, comment: str = "") -> int:
    """A piece by ed, commented on by ed (when `comment`) and submitted; its id."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        ed = users.get_user(s, "ed")
        piece = pieces.create_piece(s, actor=ed, data={"title": "Betriebsfest", "body": "Text."})
        assert piece.id is not None
        if comment:
            pieces.add_comment(s, actor=ed, piece_id=piece.id, body=comment)
        pieces.submit_piece(s, actor=ed, piece_id=piece.id)
    engine.dispose()
    return piece.id


def unread(database: str, username: str) -> int:
    with Session(make_engine(database)) as s:
        return notifications.count_unread(s, actor=users.get_user(s, username))


def test_an_approver_reads_what_waits_for_them_and_marks_it_read(database: str) -> None:
    add_user(database, "anna", "approver")
    piece_id = submitted(database)
    at = open_page(sign_in("anna", PASSWORD), "notifications")
    assert not at.exception
    assert at.title[0].value == "Benachrichtigungen"
    assert "1 ungelesene Benachrichtigung" in [i.value for i in at.sidebar.info]
    shown = [t.value for t in at.main.text]
    assert f"Neu: Beitrag #{piece_id} „Betriebsfest“ wartet auf Ihre Freigabe" in shown
    [read] = [b for b in at.button if b.key and b.key.startswith(keys.NOTIFICATIONS_READ)]
    read.click().run()
    assert [s.value for s in at.success] == ["1 Benachrichtigung als gelesen markiert."]
    assert "0 ungelesen" in [t.value for t in at.main.text]
    assert unread(database, "anna") == 0


def test_a_contributor_hears_of_the_rejection_with_the_reason_in_english(database: str) -> None:
    add_user(database, "tom", "contributor", department="HR", locale="en")
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        tom = users.get_user(s, "tom")
        idea = ideas.submit_idea(
            s, actor=tom, data={"title": "Podcast", "pitch": "A podcast.", "department": "HR"}
        ).idea
        assert idea.id is not None
        ideas.reject_idea(s, actor=users.get_user(s, "ed"), idea_id=idea.id, reason="No budget.")
    engine.dispose()
    at = open_page(sign_in("tom", PASSWORD), "notifications")
    assert not at.exception
    shown = [t.value for t in at.main.text]
    assert f"New: Your idea #{idea.id} “Podcast” was rejected" in shown
    assert "No budget." in shown
    # A contributor chooses only among the kinds that can reach them (their idea's fate,
    # an inbox item assigned to their department, their reply to one dropped).
    labels = [c.label for c in at.checkbox]
    assert labels.count("By e-mail") == 5


def test_choosing_email_for_a_kind_is_stored(database: str) -> None:
    add_user(database, "anna", "approver", email="anna@example.org")
    at = open_page(sign_in("anna", PASSWORD), "notifications")
    assert [i.value for i in at.main.info] == ["Keine Benachrichtigungen."]  # no address warning
    at.checkbox(key=keys.NOTIFICATIONS_EMAIL + "review_requested").check()
    at.checkbox(key=keys.NOTIFICATIONS_IN_APP + "mentioned").uncheck()
    at.button(key=keys.NOTIFICATIONS_SAVE).click().run()
    assert [s.value for s in at.success] == ["Ihre Einstellungen sind gespeichert."]
    with Session(make_engine(database)) as s:
        chosen = {
            p.kind: (p.in_app, p.email)
            for p in notifications.preferences(s, actor=users.get_user(s, "anna"))
        }
    assert chosen["review_requested"] == (True, True)
    assert chosen["mentioned"] == (False, False)
    submitted(database)
    with Session(make_engine(database)) as s:
        anna = users.get_user(s, "anna")
        [told] = s.exec(select(Notification).where(Notification.user_id == anna.id)).all()
        assert told.email is True


def test_a_mention_in_the_editor_tells_the_named_user_and_an_unknown_name_is_said(
    database: str,
) -> None:
    add_user(database, "anna", "approver")
    piece_id = submitted(database)
    at = open_page(sign_in("ed", PASSWORD), "editor")
    at.text_area(key=keys.EDITOR_COMMENT).input("@niemand bitte prüfen")
    at.button(key=keys.EDITOR_COMMENT_ADD).click().run()
    assert "Comment: @niemand: no user of that name may see this piece" in [
        e.value for e in at.error
    ]
    at.text_area(key=keys.EDITOR_COMMENT).input("@anna bitte prüfen")
    at.button(key=keys.EDITOR_COMMENT_ADD).click().run()
    assert not at.error
    with Session(make_engine(database)) as s:
        assert [c.body for c in s.exec(select(Comment))] == ["@anna bitte prüfen"]
    at = open_page(sign_in("anna", PASSWORD), "notifications")
    assert (
        f"Neu: Eda Editor hat Sie in einem Kommentar zu Beitrag #{piece_id} „Betriebsfest“ erwähnt"
        in [t.value for t in at.main.text]
    )


def test_comments_are_shown_on_approvals_and_on_the_board(database: str) -> None:
    add_user(database, "anna", "approver")
    submitted(database, comment="Zahlen <b>geprüft</b>")
    at = open_page(sign_in("anna", PASSWORD), "approvals")
    assert not at.exception
    assert "Kommentare (1)" in [h.value for h in at.main.subheader]
    assert "Zahlen <b>geprüft</b>" in [t.value for t in at.main.text]
    at = open_page(at, "board")
    assert not at.exception
    assert [e.label for e in at.main.expander] == ["Kommentare (1)"]
    assert "Zahlen <b>geprüft</b>" in [t.value for t in at.main.expander[0].text]


def test_the_time_a_series_post_keeps_is_written_as_the_readers_language_writes_it(
    database: str,
) -> None:
    """A post of a series in slots found no free slot: its time is in the detail, on the
    German page as 10.05.2027 09:00 CEST, in the reader's zone."""
    add_user(database, "edda", "editor")  # German, as users are unless they choose
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, ed = users.get_user(s, "admin"), users.get_user(s, "ed")
        channels.create_channel(s, actor=admin, kind="recording", name="Blog")
        piece = pieces.create_piece(s, actor=ed, data={"title": "Serie", "body": "Text."})
        assert piece.id is not None
        post = planning.plan_post(
            s,
            actor=users.get_user(s, "edda"),
            piece_id=piece.id,
            channel="Blog",
            when="2027-05-10 09:00",
            tz_name="Europe/Berlin",
        )
        notifications.series_posts_unplaced(s.connection(), [post])  # edda planned it
        s.commit()
    engine.dispose()
    at = open_page(sign_in("edda", PASSWORD), "notifications")
    assert not at.exception
    shown = [t.value for t in at.main.text]
    assert "10.05.2027 09:00 CEST" in shown
    assert not any("2027-05-10" in text for text in shown)


def test_why_a_post_failed_is_said_in_german_and_an_older_detail_as_it_was_stored(
    database: str,
) -> None:
    """The engine gave up on a post: a German reader reads why in German, the channel's
    answer inside as the channel gave it; a notification stored before explanations were
    kept shows its English text as it is."""
    add_user(database, "edda", "editor")  # German, as users are unless they choose
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, ed = users.get_user(s, "admin"), users.get_user(s, "ed")
        channels.create_channel(s, actor=admin, kind="recording", name="Blog")
        piece = pieces.create_piece(s, actor=ed, data={"title": "Sommerfest", "body": "Text."})
        assert piece.id is not None
        edda = users.get_user(s, "edda")
        post = planning.plan_post(
            s, actor=edda, piece_id=piece.id, channel="Blog", when="2027-05-10 09:00"
        )
        assert post.id is not None
        s.add(
            Notification(
                user_id=edda.id,
                kind=notifications.POST_FAILED,
                object_type="post",
                object_id=post.id,
                detail="gave up after 3 attempts: timed out",
            )
        )
        gave_up = Message(
            "publish_gave_up",
            "gave up after {count} attempts: {error}",
            count=3,
            error="503 Service Unavailable",
        )
        notifications.posts_failed(s.connection(), {post.id: gave_up})  # edda planned it
        s.commit()
    engine.dispose()
    at = open_page(sign_in("edda", PASSWORD), "notifications")
    assert not at.exception
    shown = [t.value for t in at.main.text]
    assert "Nach 3 Versuchen aufgegeben: 503 Service Unavailable" in shown
    assert "gave up after 3 attempts: timed out" in shown
    assert not any("503" in text and "gave up" in text for text in shown)
