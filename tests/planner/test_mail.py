"""Notification e-mail against a real SMTP server on 127.0.0.1, on SQLite and PostgreSQL:
sent once, in the recipient's language, retried with the error kept, never lost."""

from __future__ import annotations

import email
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import policy
from email.message import EmailMessage

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, select

from planner import channels, mail, notifications, pieces, planning, users
from planner.config import load_settings
from planner.errors import ConfigurationError, Message
from planner.mail import MailSettings
from planner.models import Notification, Role, User, WorkerHeartbeat, utcnow
from planner.notifications import Preference
from planner.publishing import EngineSettings
from planner.worker import Worker
from tests.conftest import PASSWORD as ACCOUNT_PASSWORD
from tests.conftest import World
from tests.publishers.test_newsletter import PASSWORD, USER, Server, start_smtp

__all__ = ["start_smtp"]  # the fixture, used by name

SENDER = "Redaktion <planer@example.de>"


def settings_for(port: int, **extra: object) -> MailSettings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": SENDER,
        "username": USER,
        "password": PASSWORD,
        "timeout": 1.0,
        "public_url": "https://planer.example.de/",
    }
    values.update(extra)
    return MailSettings(**values)  # type: ignore[arg-type]


def wants_mail(world: World, username: str, locale: str = "de") -> User:
    """An approver with an address who wants review requests by e-mail."""
    user = users.create_user(
        world.session,
        actor=world.admin,
        data={
            "username": username,
            "display_name": username.title(),
            "role": Role.approver.value,
            "password": ACCOUNT_PASSWORD,
            "email": f"{username}@example.org",
            "locale": locale,
        },
    )
    notifications.set_preferences(
        world.session, actor=user, choices=[Preference("review_requested", True, True)]
    )
    return user


def submitted(world: World) -> int:
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Sommerfest", "body": "Text"}
    )
    assert piece.id is not None
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    return piece.id


def outbox(engine: Engine) -> list[Notification]:
    with Session(engine) as s:
        return list(s.exec(select(Notification).where(Notification.email)))


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


@pytest.fixture
def smtp(start_smtp: Callable[..., Server]) -> Server:
    return start_smtp()


def test_the_mail_arrives_once_in_the_recipients_language_with_a_link(
    world: World, engine: Engine, smtp: Server
) -> None:
    anna = wants_mail(world, "anna")
    joe = wants_mail(world, "joe", locale="en")
    piece_id = submitted(world)
    result = mail.send_due(engine, settings=settings_for(smtp.port))
    assert len(result.sent) == 2 and result.failed == {}
    by_recipient = {rcpt[0]: parsed(raw) for _sender, rcpt, raw in smtp.mailbox.messages}
    assert sorted(by_recipient) == [anna.email, joe.email]
    german, english = by_recipient[str(anna.email)], by_recipient[str(joe.email)]
    assert german["Subject"] == (
        f"Redaktionsplaner: Beitrag #{piece_id} „Sommerfest“ wartet auf Ihre Freigabe"
    )
    assert english["Subject"] == (
        f"Editorial planner: Piece #{piece_id} “Sommerfest” waits for your approval"
    )
    body = german.get_content()
    assert f"https://planer.example.de/?piece={piece_id}" in body
    assert german["From"] == SENDER
    assert (german["Content-Language"], english["Content-Language"]) == ("de", "en")
    assert german["Message-ID"] != english["Message-ID"]
    # Accepted once: never sent again.
    assert mail.send_due(engine, settings=settings_for(smtp.port)).sent == []
    assert len(smtp.mailbox.messages) == 2
    assert all(n.mailed_at is not None and n.mail_attempts == 1 for n in outbox(engine))


def test_without_a_public_address_the_mail_names_the_items_number(
    world: World, engine: Engine, smtp: Server
) -> None:
    wants_mail(world, "anna")
    piece_id = submitted(world)
    mail.send_due(engine, settings=settings_for(smtp.port, public_url=None))
    [(_sender, _rcpt, raw)] = smtp.mailbox.messages
    body = parsed(raw).get_content()
    assert f"Beitrag #{piece_id} im Redaktionsplaner" in body
    assert "http" not in body


def test_the_worker_sends_the_outbox_after_its_posts(
    world: World, engine: Engine, smtp: Server
) -> None:
    wants_mail(world, "anna")
    submitted(world)
    worker = Worker(
        engine,
        worker_id="test-worker",
        settings=EngineSettings(threads=1),
        mail_settings=settings_for(smtp.port),
    )
    try:
        assert worker.sweep().mailed == 1
        assert worker.sweep().mailed == 0
    finally:
        worker.close()
    assert len(smtp.mailbox.messages) == 1


def test_a_refusing_server_leads_to_a_retry_with_the_error_kept(
    world: World, engine: Engine, smtp: Server
) -> None:
    wants_mail(world, "anna")
    submitted(world)
    smtp.mailbox.data_reply = "451 4.3.0 Mailbox busy, try again later"
    result = mail.send_due(engine, settings=settings_for(smtp.port))
    [n] = outbox(engine)
    assert result.failed == {n.id: "SMTP 451 4.3.0 Mailbox busy, try again later"}
    assert (n.mailed_at, n.mail_attempts, n.mail_error) == (
        None,
        1,
        "SMTP 451 4.3.0 Mailbox busy, try again later",
    )
    # Not again before the backoff has passed.
    assert mail.send_due(engine, settings=settings_for(smtp.port)).failed == {}
    smtp.mailbox.data_reply = None
    later = n.created_at + mail.BACKOFF
    assert mail.send_due(engine, settings=settings_for(smtp.port), now=later).sent == [n.id]
    [n] = outbox(engine)
    assert (n.mail_attempts, n.mail_error) == (2, None) and n.mailed_at is not None
    assert len(smtp.mailbox.messages) == 1


def test_a_message_refused_for_good_is_not_tried_again(
    world: World, engine: Engine, smtp: Server
) -> None:
    anna = wants_mail(world, "anna")
    submitted(world)
    smtp.mailbox.refuse[str(anna.email)] = "550 5.1.1 No such mailbox"
    mail.send_due(engine, settings=settings_for(smtp.port))
    [n] = outbox(engine)
    assert (n.mailed_at, n.mail_attempts) == (None, mail.MAX_ATTEMPTS)
    assert n.mail_error == f"{anna.email}: SMTP 550 5.1.1 No such mailbox"
    later = n.created_at + timedelta(days=1)
    assert mail.send_due(engine, settings=settings_for(smtp.port), now=later).failed == {}


@pytest.mark.parametrize("change", ["disabled", "contributor"])
def test_no_mail_goes_to_an_account_that_may_no_longer_see_it(
    world: World, engine: Engine, smtp: Server, change: str
) -> None:
    """Between a notification and its e-mail the account is disabled, or becomes a
    contributor (who sees no pieces): nothing is sent to it, and nothing tried again."""
    anna = wants_mail(world, "anna")
    joe = wants_mail(world, "joe")
    submitted(world)
    if change == "disabled":
        users.set_disabled(world.session, actor=world.admin, username="anna")
    else:
        users.change_role(
            world.session,
            actor=world.admin,
            username="anna",
            role=Role.contributor,
            department="Marketing",
        )
    result = mail.send_due(engine, settings=settings_for(smtp.port))
    assert [rcpt for _sender, rcpt, _raw in smtp.mailbox.messages] == [[joe.email]]
    assert list(result.failed.values()) == ["the account may no longer see it"]
    [kept] = [n for n in outbox(engine) if n.user_id == anna.id]
    assert (kept.mailed_at, kept.mail_attempts) == (None, mail.MAX_ATTEMPTS)
    later = kept.created_at + timedelta(days=1)
    assert mail.send_due(engine, settings=settings_for(smtp.port), now=later).failed == {}


def test_one_refused_message_keeps_no_other_from_going_out(
    world: World, engine: Engine, smtp: Server
) -> None:
    anna = wants_mail(world, "anna")
    joe = wants_mail(world, "joe")
    submitted(world)
    smtp.mailbox.refuse[str(anna.email)] = "450 4.2.1 Mailbox full"
    result = mail.send_due(engine, settings=settings_for(smtp.port))
    assert [rcpt for _sender, rcpt, _raw in smtp.mailbox.messages] == [[joe.email]]
    assert list(result.failed.values()) == [f"{anna.email}: SMTP 450 4.2.1 Mailbox full"]
    waiting = [n for n in outbox(engine) if n.mailed_at is None]
    assert [(n.user_id, n.mail_attempts) for n in waiting] == [(anna.id, 1)]  # tried again


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that takes connections and never says a word (a hanging mail server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def test_a_server_that_times_out_leaves_the_mail_to_a_later_try_until_the_limit(
    world: World, engine: Engine, silent_server: int, smtp: Server
) -> None:
    wants_mail(world, "anna")
    submitted(world)
    [n] = outbox(engine)
    for attempt in range(1, mail.MAX_ATTEMPTS + 1):
        due = n.created_at + mail.BACKOFF * (2 ** (attempt - 1) - 1)
        result = mail.send_due(engine, settings=settings_for(silent_server), now=due)
        assert result.failed == {n.id: "the SMTP server did not answer in time"}
        [n] = outbox(engine)
        assert (n.mail_attempts, n.mailed_at) == (attempt, None)
    # Tries are bounded; the notification itself stays on the dashboard.
    end = n.created_at + timedelta(days=1)
    assert mail.send_due(engine, settings=settings_for(smtp.port), now=end).sent == []
    with Session(engine) as s:
        approver = users.get_user(s, "anna")
        assert [i.notification.id for i in notifications.list_notifications(s, actor=approver)] == [
            n.id
        ]


def test_a_crash_between_sending_and_marking_repeats_the_mail_never_loses_it(
    world: World, engine: Engine, smtp: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    wants_mail(world, "anna")
    submitted(world)

    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("worker killed")

    monkeypatch.setattr(mail, "_finish", crash)
    with pytest.raises(RuntimeError):
        mail.send_due(engine, settings=settings_for(smtp.port))
    monkeypatch.undo()
    [n] = outbox(engine)
    assert (n.mailed_at, n.mail_attempts) == (None, 1)
    # The killed worker's hold lasts until a send of its could have ended; then it goes again.
    assert n.mail_tried_at is not None
    held = n.mail_tried_at + mail.HOLD - timedelta(seconds=1)
    assert mail.send_due(engine, settings=settings_for(smtp.port), now=held).sent == []
    later = n.mail_tried_at + mail.HOLD
    assert mail.send_due(engine, settings=settings_for(smtp.port), now=later).sent == [n.id]
    first, second = (parsed(raw) for _s, _r, raw in smtp.mailbox.messages)
    assert first["Message-ID"] == second["Message-ID"]  # one message, delivered twice


def test_the_smtp_password_is_never_shown(
    world: World, engine: Engine, smtp: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wants_mail(world, "anna")
    submitted(world)
    smtp.mailbox.data_reply = "554 5.7.1 rejected"
    settings = settings_for(smtp.port)
    mail.send_due(engine, settings=settings)
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in caplog.text
    assert all(PASSWORD not in (n.mail_error or "") for n in outbox(engine))


def test_smtp_settings_come_from_the_environment() -> None:
    base = {"PLANNER_SMTP_HOST": "mail.example.de", "PLANNER_SMTP_FROM": SENDER}
    settings = mail.mail_settings(load_settings({**base, "PLANNER_SMTP_SECURITY": "ssl"}))
    assert settings is not None and (settings.port, settings.security) == (465, "ssl")
    assert mail.mail_settings(load_settings({})) is None
    with pytest.raises(ConfigurationError, match="set PLANNER_SMTP_FROM as well"):
        load_settings({"PLANNER_SMTP_HOST": "mail.example.de"})


def test_a_post_notification_links_to_the_post_and_an_idea_one_to_the_idea(
    world: World,
) -> None:
    settings = settings_for(25)
    for object_type, object_id, piece_id, link in (
        ("post", 7, 3, "https://planer.example.de/?post=7"),
        ("piece", 3, 3, "https://planer.example.de/?piece=3"),
        ("idea", 12, None, "https://planer.example.de/?idea=12"),
    ):
        kind = {"post": "post_failed", "piece": "review_requested", "idea": "idea_accepted"}
        note = Notification(
            id=1,
            user_id=1,
            kind=kind[object_type],
            object_type=object_type,
            object_id=object_id,
        )
        item = notifications.Item(note, "Eddi", "Sommerfest", piece_id)
        message = mail.compose(item, world.editor, settings=settings)
        assert link in message.get_content(), object_type


@pytest.mark.parametrize(
    ("locale", "written"), [("de", "10.05.2027 09:00 CEST"), ("en", "10 May 2027 09:00 CEST")]
)
def test_the_time_in_a_series_notification_is_written_for_the_recipient(
    world: World, locale: str, written: str
) -> None:
    """A series post kept its own time: the mail writes that time as the recipient's
    language does, in their zone, whatever zone the series was planned in."""
    note = Notification(
        id=1,
        user_id=1,
        kind=notifications.SERIES_UNPLACED,
        object_type="post",
        object_id=7,
        detail="2027-05-10T07:00:00+00:00",
    )
    recipient = world.editor.model_copy(update={"locale": locale, "timezone": "Europe/Berlin"})
    item = notifications.Item(note, "", "Serie", 3)
    text = mail.compose(item, recipient, settings=settings_for(25)).get_content()
    assert written in text and "2027-05-10" not in text


def test_a_failed_posts_mail_explains_it_in_the_recipients_language(
    world: World, engine: Engine, smtp: Server
) -> None:
    """The engine gave up on a post: the owner of its piece reads why in German, whoever
    planned it in English; the channel's answer inside stays as the channel gave it."""
    s = world.session
    owner, planner = (
        users.create_user(
            s,
            actor=world.admin,
            data={
                "username": name,
                "display_name": name.title(),
                "role": Role.editor.value,
                "password": ACCOUNT_PASSWORD,
                "email": f"{name}@example.org",
                "locale": locale,
            },
        )
        for name, locale in (("edda", "de"), ("joe", "en"))
    )
    for user in (owner, planner):
        notifications.set_preferences(
            s, actor=user, choices=[Preference(notifications.POST_FAILED, True, True)]
        )
    channels.create_channel(s, actor=world.admin, kind="recording", name="Blog")
    piece = pieces.create_piece(s, actor=owner, data={"title": "Sommerfest", "body": "Text"})
    assert piece.id is not None
    post = planning.plan_post(
        s, actor=planner, piece_id=piece.id, channel="Blog", when=utcnow() + timedelta(days=1)
    )
    assert post.id is not None
    gave_up = Message(
        "publish_gave_up",
        "gave up after {count} attempts: {error}",
        count=3,
        error="503 Service Unavailable",
    )
    notifications.posts_failed(s.connection(), {post.id: gave_up})
    s.commit()
    assert len(mail.send_due(engine, settings=settings_for(smtp.port)).sent) == 2
    bodies = {rcpt[0]: parsed(raw).get_content() for _sender, rcpt, raw in smtp.mailbox.messages}
    german, english = bodies[str(owner.email)], bodies[str(planner.email)]
    assert "Nach 3 Versuchen aufgegeben: 503 Service Unavailable" in german.splitlines()
    assert "gave up" not in german
    assert "gave up after 3 attempts: 503 Service Unavailable" in english.splitlines()


def test_a_failed_posts_notification_stored_before_is_mailed_as_it_was_stored(
    world: World,
) -> None:
    """Its detail was stored as English text, before explanations were kept: so it stays."""
    note = Notification(
        id=1,
        user_id=1,
        kind=notifications.POST_FAILED,
        object_type="post",
        object_id=7,
        detail="gave up after 3 attempts: timed out",
    )
    item = notifications.Item(note, "", "Sommerfest", 3)
    text = mail.compose(item, world.editor, settings=settings_for(25)).get_content()
    assert "gave up after 3 attempts: timed out" in text.splitlines()


def _two_workers_on_old_mail(
    engine: Engine, smtp: Server, *, delay: float, after: float
) -> tuple[mail.MailResult, mail.MailResult]:
    """The outbox made ten minutes ago (while the workers were being deployed, say), sent
    by one worker through a server slow to take each message and, `after` seconds, by a
    second: what each sent."""
    with engine.begin() as conn:
        conn.execute(
            update(notifications.NOTIFICATIONS).values(created_at=utcnow() - timedelta(minutes=10))
        )
    smtp.mailbox.data_delay = delay
    slow = settings_for(smtp.port, timeout=10.0)
    first: list[mail.MailResult] = []
    sending = threading.Thread(target=lambda: first.append(mail.send_due(engine, settings=slow)))
    sending.start()
    time.sleep(after)  # the first worker is in the middle of sending
    second = mail.send_due(engine, settings=slow)
    sending.join()
    return first[0], second


def test_two_workers_never_send_one_older_notification_twice(
    world: World, engine: Engine, smtp: Server
) -> None:
    wants_mail(world, "anna")
    submitted(world)
    first, second = _two_workers_on_old_mail(engine, smtp, delay=2.0, after=0.7)
    # Before, the second worker took it too: two messages, two tries counted.
    assert (len(first.sent), second.sent) == (1, [])
    assert len(smtp.mailbox.messages) == 1
    [n] = outbox(engine)
    assert n.mail_attempts == 1 and n.mailed_at is not None


def test_a_title_with_a_line_break_is_mailed_on_one_subject_line(
    world: World, engine: Engine, smtp: Server
) -> None:
    wants_mail(world, "anna")
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Sommer\nfest", "body": "Text"}
    )
    assert piece.id is not None
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    submitted(world)
    # Before, the e-mail library refused the header: no e-mail of the batch went out, the
    # worker's sweep ended there (no heartbeat) and the tries were spent without a reason.
    result = mail.send_due(engine, settings=settings_for(smtp.port))
    assert (len(result.sent), result.failed) == (2, {})
    subjects = sorted(parsed(raw)["Subject"] for _s, _r, raw in smtp.mailbox.messages)
    assert subjects == [
        f"Redaktionsplaner: Beitrag #{piece.id} „Sommer fest“ wartet auf Ihre Freigabe",
        f"Redaktionsplaner: Beitrag #{piece.id + 1} „Sommerfest“ wartet auf Ihre Freigabe",
    ]


def test_a_failure_in_the_e_mails_never_ends_the_workers_sweep(
    world: World, engine: Engine, smtp: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    wants_mail(world, "anna")
    submitted(world)

    def broken(*_args: object, **_kwargs: object) -> mail.MailResult:
        raise RuntimeError("a bug in the e-mails")

    monkeypatch.setattr(mail, "send_due", broken)
    worker = Worker(
        engine,
        worker_id="mail-bug-worker",
        settings=EngineSettings(threads=1),
        mail_settings=settings_for(smtp.port),
    )
    try:
        assert worker.sweep().mailed == 0  # before, the sweep raised here
    finally:
        worker.close()
    with Session(engine) as s:  # and its heartbeat was never written
        assert s.get(WorkerHeartbeat, "mail-bug-worker") is not None


def test_a_message_still_queued_when_another_worker_took_it_is_left_to_that_worker(
    world: World, engine: Engine, smtp: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch slower than the hold (here none at all): the second worker takes both.
    monkeypatch.setattr(mail, "HOLD", timedelta(0))
    wants_mail(world, "anna")
    wants_mail(world, "joe")
    submitted(world)
    _two_workers_on_old_mail(engine, smtp, delay=1.0, after=0.4)
    # The first worker's second message waited behind the first when the second worker
    # took both: before, the first worker sent it all the same, so it arrived twice.
    queued = max(outbox(engine), key=lambda n: n.id or 0)
    with Session(engine) as s:
        address = str(s.get(User, queued.user_id).email)  # type: ignore[union-attr]
    assert [rcpt for _s, rcpt, _raw in smtp.mailbox.messages].count([address]) == 1
    assert all(n.mailed_at is not None for n in outbox(engine))
