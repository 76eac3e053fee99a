"""The listening inbox: polling channels and feeds (never twice, one failing source not
stopping the others), who sees what, assigning, replying (with four-eyes approval when the
organisation wants it), making ideas of items, dismissing, and response times."""

from __future__ import annotations

import io
import json
import threading
from datetime import timedelta
from secrets import token_hex
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from werkzeug import Request, Response

from planner import (
    audit,
    channels,
    ideas,
    inbox,
    notifications,
    org_settings,
    pieces,
    process,
    report_output,
    rules,
)
from planner.errors import (
    FourEyesViolation,
    IllegalTransition,
    Message,
    NotFound,
    PermissionDenied,
    ReplyFailed,
    ValidationFailed,
)
from planner.mail import MailSettings, compose
from planner.models import (
    AuditEvent,
    Channel,
    Feed,
    Idea,
    InboxItem,
    InboxSource,
    InboxStatus,
    ListeningState,
    Notification,
    Post,
    PostStatus,
    User,
    utcnow,
)
from planner.publishing import EngineSettings
from planner.ui.i18n import translate
from planner.worker import JOB_ID, LISTEN_JOB_ID, Worker
from tests.conftest import World
from tests.postgres_database import end_connections, named_engine

TOKEN = token_hex(16)  # made per run: no credential lives in the code
RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Presse</title>
<item><title>Studie zur Ausbildung</title><guid>urn:p:1</guid>
<link>https://presse.example.de/1</link><description>Mehr Azubis.</description></item>
</channel></rss>"""


def _notification(number: int) -> dict[str, Any]:
    return {
        "id": str(100 + number),
        "type": "mention",
        "account": {"acct": "erika@example.org", "display_name": "Erika", "url": "https://e/@e"},
        "status": {
            "id": str(9000 + number),
            "content": f"<p>@redaktion Frage {number}: wann ist der Tag der offenen Tür?</p>",
            "url": f"https://example.org/@erika/{9000 + number}",
            "created_at": "2026-12-03T08:00:00Z",
            "in_reply_to_id": None,
        },
    }


@pytest.fixture
def mastodon(private_network: World, httpserver: HTTPServer) -> Channel:
    """A Mastodon channel on the local server, which lists two mentions."""
    httpserver.expect_request("/api/v1/notifications").respond_with_json(
        [_notification(2), _notification(1)]
    )
    return channels.create_channel(
        private_network.session,
        actor=private_network.admin,
        kind="mastodon",
        name="Mastodon",
        settings={"instance_url": httpserver.url_for("/").rstrip("/"), "access_token": TOKEN},
    )


def _items(session: Session) -> list[InboxItem]:
    session.expire_all()
    return list(session.exec(select(InboxItem).order_by(InboxItem.id)))


def _polled(engine: Engine, world: World) -> list[InboxItem]:
    result = inbox.poll(engine)
    assert result.errors == {}
    return _items(world.session)


def test_polling_stores_mentions_once_and_reads_on_from_the_cursor(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    first = _polled(engine, world)
    assert [(i.external_id, i.source, i.status) for i in first] == [
        ("9001", InboxSource.mention, InboxStatus.new),
        ("9002", InboxSource.mention, InboxStatus.new),
    ]
    assert first[0].text == "@redaktion Frage 1: wann ist der Tag der offenen Tür?"
    assert (first[0].author_name, first[0].author_handle) == ("Erika", "erika@example.org")
    # The server answers the same again: nothing arrives twice, and the cursor was sent.
    assert len(_polled(engine, world)) == 2
    requests = [r for r, _ in httpserver.log if r.path == "/api/v1/notifications"]
    assert "min_id" not in requests[0].args
    assert requests[1].args["min_id"] == "102"
    assert requests[1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_two_workers_polling_at_once_store_each_item_once(
    engine: Engine, world: World, mastodon: Channel
) -> None:
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        start.wait()
        try:
            for _ in range(3):
                result = inbox.poll(engine)
                assert result.errors == {}
        except BaseException as err:  # noqa: BLE001 (reported below, in the test thread)
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(i.external_id for i in _items(world.session)) == ["9001", "9002"]


def test_a_failing_feed_is_recorded_and_the_other_sources_are_read(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/broken.xml").respond_with_data("<rss><channel><item>", status=200)
    httpserver.expect_request("/down.xml").respond_with_data("down", status=503)
    httpserver.expect_request("/busy.xml").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"}
    )
    for name in ("broken", "down", "busy"):
        inbox.add_feed(
            world.session, actor=world.editor, url=httpserver.url_for(f"/{name}.xml"), name=name
        )
    result = inbox.poll(engine)
    assert result.arrived == 2
    assert set(result.errors) == {"feed broken", "feed down", "feed busy"}
    world.session.expire_all()
    states = {s.name: s for s in inbox.source_states(world.session, actor=world.editor)}
    assert states["Mastodon"].last_error is None
    assert "not an RSS or Atom feed" in (states["broken"].last_error or "")
    assert "HTTP 503" in (states["down"].last_error or "")
    assert "HTTP 429" in (states["busy"].last_error or "")
    # The busy feed asked for two minutes' rest; the others are asked again.
    again = inbox.poll(engine)
    assert (again.paused, set(again.errors)) == (1, {"feed broken", "feed down"})


def test_a_followed_feed_is_read_conditionally_and_its_department_gets_the_entries(
    engine: Engine, world: World, httpserver: HTTPServer
) -> None:
    org_settings.set_setting(
        world.session, actor=world.admin, key="allow_private_network", value="on"
    )
    httpserver.expect_ordered_request("/feed.xml").respond_with_data(
        RSS, headers={"ETag": '"v1"'}, content_type="application/rss+xml"
    )
    httpserver.expect_ordered_request(
        "/feed.xml", headers={"If-None-Match": '"v1"'}
    ).respond_with_data("", status=304)
    feed = inbox.add_feed(
        world.session,
        actor=world.editor,
        url=httpserver.url_for("/feed.xml"),
        name="Presse",
        department="HR",
    )
    assert [f.name for f in inbox.list_feeds(world.session, actor=world.editor)] == ["Presse"]
    assert inbox.poll(engine).arrived == 1
    assert inbox.poll(engine).arrived == 0
    [item] = _items(world.session)
    assert (item.source, item.title, item.url) == (
        InboxSource.feed_item,
        "Studie zur Ausbildung",
        "https://presse.example.de/1",
    )
    assert item.status == InboxStatus.assigned
    assert item.department_id == world.hr_contributor.department_id
    with pytest.raises(ValidationFailed, match="followed already"):
        inbox.add_feed(world.session, actor=world.editor, url=feed.url)
    assert feed.id is not None
    inbox.remove_feed(world.session, actor=world.editor, feed_id=feed.id)
    assert inbox.list_feeds(world.session, actor=world.editor) == []
    assert len(_items(world.session)) == 1  # what it brought stays


@pytest.mark.parametrize(
    "url", ["ftp://example.de/feed", "feed.xml", "https://example.de/a b"], ids=str
)
def test_a_feed_address_must_be_http(world: World, url: str) -> None:
    with pytest.raises(ValidationFailed, match="not an http"):
        inbox.add_feed(world.session, actor=world.editor, url=url)


@pytest.mark.parametrize(
    "url",
    ["https://redaktion:S3cretPW@presse.example.de/feed.xml", "https://token@example.de/feed"],
    ids=["user-and-password", "user-only"],
)
def test_a_feed_address_with_a_user_name_or_password_is_refused(world: World, url: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        inbox.add_feed(world.session, actor=world.editor, url=url)

    assert "may not carry a user name or password" in str(info.value)
    assert "S3cretPW" not in str(info.value)
    assert inbox.list_feeds(world.session, actor=world.editor) == []


def test_contributors_cannot_follow_feeds(world: World) -> None:
    with pytest.raises(PermissionDenied):
        inbox.add_feed(world.session, actor=world.contributor, url="https://example.de/f")


def test_a_department_sees_only_what_is_assigned_to_it_and_is_told(
    engine: Engine, world: World, mastodon: Channel
) -> None:
    first, second = _polled(engine, world)
    assert first.id is not None and second.id is not None
    assert inbox.list_items(world.session, actor=world.contributor) == []
    inbox.assign_item(world.session, actor=world.editor, item_id=first.id, department="Marketing")
    seen = inbox.list_items(world.session, actor=world.contributor)
    assert [v.item.id for v in seen] == [first.id]
    assert seen[0].department == "Marketing"
    assert inbox.list_items(world.session, actor=world.hr_contributor) == []
    with pytest.raises(NotFound):
        inbox.get_item(world.session, actor=world.hr_contributor, item_id=first.id)
    with pytest.raises(PermissionDenied):
        inbox.assign_item(
            world.session, actor=world.contributor, item_id=second.id, department="HR"
        )
    with pytest.raises(PermissionDenied):
        inbox.dismiss_item(world.session, actor=world.contributor, item_id=first.id)
    [told] = notifications.list_notifications(world.session, actor=world.contributor)
    assert (told.notification.kind, told.notification.object_id) == ("inbox_assigned", first.id)
    assert [v.item.id for v in inbox.list_items(world.session, actor=world.approver)] == [
        second.id,
        first.id,
    ]
    # Filters.
    assigned = inbox.list_items(world.session, actor=world.editor, status=InboxStatus.assigned)
    assert [v.item.id for v in assigned] == [first.id]
    by_department = inbox.list_items(world.session, actor=world.editor, department="HR")
    assert by_department == []
    assert inbox.list_items(world.session, actor=world.editor, source=InboxSource.feed_item) == []


def _reply_server(httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request(
        "/api/v1/statuses",
        method="POST",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).respond_with_json({"id": "9900", "url": "https://social.example.de/@redaktion/9900"})


def _statuses(httpserver: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(r.data) for r, _ in httpserver.log if r.path == "/api/v1/statuses"]


def test_a_reply_goes_out_at_once_on_the_channel_and_is_audited(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    item = _polled(engine, world)[0]
    assert item.id is not None
    _reply_server(httpserver)
    done = inbox.reply_to_item(
        world.session, actor=world.editor, item_id=item.id, text="Am Samstag ab 10 Uhr."
    )
    assert done.status == InboxStatus.answered
    assert (done.reply_external_id, done.reply_url) == (
        "9900",
        "https://social.example.de/@redaktion/9900",
    )
    assert done.handled_by_id == world.editor.id
    [sent] = _statuses(httpserver)
    assert sent["in_reply_to_id"] == "9001"
    assert sent["status"] == "@erika@example.org Am Samstag ab 10 Uhr."
    [request] = [r for r, _ in httpserver.log if r.path == "/api/v1/statuses"]
    assert request.headers["Idempotency-Key"] == f"planner-inbox-{item.id}-reply"
    events = audit.list_events(world.session, actor=world.admin, object_type="inbox_item")
    assert [(e.action, e.to_state) for e in events][-1:] == [("reply", "answered")]
    with pytest.raises(IllegalTransition, match="allowed: none"):
        inbox.reply_to_item(world.session, actor=world.editor, item_id=item.id, text="Noch was")


def test_a_reply_over_the_channels_limit_is_refused_and_nothing_is_sent(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    item = _polled(engine, world)[0]
    assert item.id is not None
    with pytest.raises(ValidationFailed, match="Mastodon allows 500"):
        inbox.reply_to_item(world.session, actor=world.editor, item_id=item.id, text="x" * 501)
    with pytest.raises(ValidationFailed, match="empty"):
        inbox.reply_to_item(world.session, actor=world.editor, item_id=item.id, text="  ")
    assert _statuses(httpserver) == []
    assert _items(world.session)[0].status == InboxStatus.new


def test_a_refused_reply_leaves_the_item_open_and_says_why(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    item = _polled(engine, world)[0]
    assert item.id is not None
    httpserver.expect_oneshot_request("/api/v1/statuses").respond_with_json(
        {"error": "Validation failed: Text character limit"}, status=422
    )
    with pytest.raises(ReplyFailed, match="character limit"):
        inbox.reply_to_item(world.session, actor=world.editor, item_id=item.id, text="Danke!")
    assert _items(world.session)[0].status == InboxStatus.new
    events = audit.list_events(world.session, actor=world.admin, object_type="inbox_item")
    assert events[-1].action == "reply_failed"
    # The failed attempt let the item go: the next one is sent.
    _reply_server(httpserver)
    done = inbox.reply_to_item(world.session, actor=world.editor, item_id=item.id, text="Danke")
    assert (done.status, done.reply_text, done.reply_sending_at) == (
        InboxStatus.answered,
        "Danke",
        None,
    )


def _slow_reply_server(httpserver: HTTPServer) -> tuple[threading.Event, threading.Event]:
    """The reply endpoint, which holds its answer until the test lets it go: (arrived,
    release)."""
    arrived, release = threading.Event(), threading.Event()

    def answer(request: Request) -> Response:
        arrived.set()
        release.wait(30)
        return Response(json.dumps({"id": "9900"}), content_type="application/json")

    httpserver.expect_request("/api/v1/statuses", method="POST").respond_with_handler(answer)
    return arrived, release


def _waiting_reply(engine: Engine, world: World, text: str) -> int:
    """With approval required, the editor's reply `text` waiting on the first mention."""
    org_settings.set_setting(
        world.session, actor=world.admin, key="replies_need_approval", value="on"
    )
    item_id = _polled(engine, world)[0].id
    assert item_id is not None
    inbox.reply_to_item(world.session, actor=world.editor, item_id=item_id, text=text)
    return item_id


def _in_thread(engine: Engine, call: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    """Run `call(session, *args)` in a thread with a session of its own; the list gets
    its result or error."""
    outcome: list[Any] = []

    def run() -> None:
        with Session(engine, expire_on_commit=False) as session:
            try:
                outcome.append(call(session, *args))
            except BaseException as err:  # noqa: BLE001 (asserted in the test thread)
                outcome.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _reply(session: Session, user_id: int | None, item_id: int, text: str) -> InboxItem:
    """`user_id`'s reply `text` to the item, in `session` (for `_in_thread`)."""
    user = session.get(User, user_id)
    assert user is not None
    return inbox.reply_to_item(session, actor=user, item_id=item_id, text=text)


def test_two_people_replying_at_once_send_one_reply(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    item_id = _polled(engine, world)[0].id
    assert item_id is not None
    arrived, release = _slow_reply_server(httpserver)

    assert world.editor.id is not None and world.admin.id is not None
    first, outcome = _in_thread(engine, _reply, world.editor.id, item_id, "Am Samstag ab 10 Uhr.")
    try:
        assert arrived.wait(30)
        # While the channel has not answered, a colleague's reply, a dismissal or an
        # idea made of the item are refused, and say why.
        with Session(engine, expire_on_commit=False) as other:
            admin = other.get(User, world.admin.id)
            assert admin is not None
            with pytest.raises(ValidationFailed) as refused:
                inbox.reply_to_item(other, actor=admin, item_id=item_id, text="Samstag!")
            assert refused.value.fields["reply"].code == "reply_busy"
            with pytest.raises(ValidationFailed, match="being sent right now"):
                inbox.dismiss_item(other, actor=admin, item_id=item_id)
            with pytest.raises(ValidationFailed, match="being sent right now"):
                inbox.item_to_idea(other, actor=admin, item_id=item_id, department="Marketing")
    finally:
        release.set()
        first.join(30)
    [done] = outcome
    assert isinstance(done, InboxItem)
    assert (done.status, done.reply_text, done.reply_by_id, done.reply_sending_at) == (
        InboxStatus.answered,
        "Am Samstag ab 10 Uhr.",
        world.editor.id,
        None,
    )
    assert [s["status"] for s in _statuses(httpserver)] == [
        "@erika@example.org Am Samstag ab 10 Uhr."
    ]
    # Afterwards the colleague learns that the item was answered.
    with pytest.raises(IllegalTransition, match="allowed: none"):
        inbox.reply_to_item(world.session, actor=world.admin, item_id=item_id, text="Samstag!")


def test_two_approvers_at_once_send_the_waiting_reply_once(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    item_id = _waiting_reply(engine, world, "Ja, 10 Uhr.")
    arrived, release = _slow_reply_server(httpserver)

    def approve(session: Session, user_id: int) -> InboxItem:
        user = session.get(User, user_id)
        assert user is not None
        return inbox.approve_reply(session, actor=user, item_id=item_id)

    assert world.approver.id is not None and world.admin.id is not None
    first, outcome = _in_thread(engine, approve, world.approver.id)
    try:
        assert arrived.wait(30)
        with Session(engine, expire_on_commit=False) as other:
            admin = other.get(User, world.admin.id)
            assert admin is not None
            with pytest.raises(ValidationFailed, match="being sent right now"):
                inbox.approve_reply(other, actor=admin, item_id=item_id)
            # Nor can the waiting reply be discarded while it is on its way.
            with pytest.raises(ValidationFailed, match="being sent right now"):
                inbox.discard_reply(other, actor=admin, item_id=item_id)
    finally:
        release.set()
        first.join(30)
    [done] = outcome
    assert isinstance(done, InboxItem)
    assert (done.status, done.reply_by_id, done.handled_by_id) == (
        InboxStatus.answered,
        world.editor.id,
        world.approver.id,
    )
    assert len(_statuses(httpserver)) == 1


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_reply_the_channel_took_while_the_database_went_away_is_recorded(
    engine: Engine,
    world: World,
    mastodon: Channel,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database connection ends while the channel answers (a restart): the reply is
    recorded on a new connection, not left to be sent again when the item's hold ends."""
    item_id = _polled(engine, world)[0].id
    assert item_id is not None and world.editor.id is not None
    arrived, release = _slow_reply_server(httpserver)
    name = f"planner-inbox-fault-{id(engine)}"
    own = named_engine(engine, name)  # its connections are the ones that end

    thread, outcome = _in_thread(own, _reply, world.editor.id, item_id, "Ja, 10 Uhr.")
    try:
        assert arrived.wait(30)
        assert any(end_connections(engine, name))
    finally:
        release.set()
        thread.join(30)
        own.dispose()
    [done] = outcome
    assert isinstance(done, InboxItem), done
    assert (done.status, done.reply_external_id, done.reply_sending_at) == (
        InboxStatus.answered,
        "9900",
        None,
    )
    assert len(_statuses(httpserver)) == 1
    assert "lost the database connection recording the reply" in caplog.text
    stored = _items(world.session)[0]
    assert (stored.status, stored.reply_external_id) == (InboxStatus.answered, "9900")


def test_an_approval_is_refused_when_the_waiting_reply_changed_after_it_was_read(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    """The writer discards the reply and a colleague writes another while the approver
    has the first one open: the approval sends neither, and the new reply keeps waiting."""
    item_id = _waiting_reply(engine, world, "Alter Text")
    # The writer's own view of the item, opened now, before the changes below.
    old = Session(engine, expire_on_commit=False)
    writer = old.get(User, world.editor.id)
    assert writer is not None
    seen = inbox.get_item(old, actor=writer, item_id=item_id)  # kept: the session holds it
    assert seen.reply_text == "Alter Text"

    def meanwhile(channel: Channel) -> Any:
        with Session(engine, expire_on_commit=False) as other:
            editor, admin = other.get(User, world.editor.id), other.get(User, world.admin.id)
            assert editor is not None and admin is not None
            inbox.discard_reply(other, actor=editor, item_id=item_id)
            inbox.reply_to_item(other, actor=admin, item_id=item_id, text="Neuer Text")
        return channels.build_adapter(channel)

    with pytest.raises(ValidationFailed) as refused:
        inbox.approve_reply(
            world.session, actor=world.approver, item_id=item_id, adapter_factory=meanwhile
        )
    assert refused.value.fields["reply"].code == "reply_changed"
    assert _statuses(httpserver) == []
    stored = _items(world.session)[0]
    assert (stored.status, stored.reply_text, stored.reply_by_id, stored.reply_sending_at) == (
        InboxStatus.new,
        "Neuer Text",
        world.admin.id,
        None,
    )
    # The writer discarding from the view opened before is refused too: it would drop the
    # colleague's new reply, which is not theirs.
    assert inbox.get_item(old, actor=writer, item_id=item_id) is seen
    with old, pytest.raises(ValidationFailed) as refused:
        inbox.discard_reply(old, actor=writer, item_id=item_id)
    assert refused.value.fields["reply"].code == "reply_changed"
    assert _items(world.session)[0].reply_text == "Neuer Text"


def test_a_failed_approved_reply_leaves_no_approval_in_the_log(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    item_id = _waiting_reply(engine, world, "Ja, 10 Uhr.")
    httpserver.expect_oneshot_request("/api/v1/statuses").respond_with_json(
        {"error": "Service Unavailable"}, status=503
    )
    with pytest.raises(ReplyFailed):
        inbox.approve_reply(world.session, actor=world.approver, item_id=item_id)
    _reply_server(httpserver)
    inbox.approve_reply(world.session, actor=world.approver, item_id=item_id)
    actions = [
        e.action
        for e in audit.list_events(world.session, actor=world.admin, object_type="inbox_item")
    ]
    assert actions[-4:] == ["reply_requested", "reply_failed", "reply_approved", "reply"]


@pytest.mark.parametrize("move", ["dismiss", "to_idea"])
def test_a_move_from_a_stale_view_is_refused_while_a_reply_is_on_its_way(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer, move: str
) -> None:
    """Seen before a colleague started replying: dismissing it or making an idea of it
    is refused, the reply is recorded, and no idea is left behind."""
    item_id = _polled(engine, world)[0].id
    assert item_id is not None
    seen = inbox.get_item(world.session, actor=world.admin, item_id=item_id)
    assert seen.reply_sending_at is None
    ideas_before = len(ideas.list_ideas(world.session, actor=world.admin))
    arrived, release = _slow_reply_server(httpserver)

    thread, outcome = _in_thread(engine, _reply, world.editor.id, item_id, "Ja, 10 Uhr.")
    try:
        assert arrived.wait(30)
        # The session still holds the item as it was before the reply took it.
        assert inbox.get_item(world.session, actor=world.admin, item_id=item_id) is seen
        assert seen.reply_sending_at is None
        if move == "dismiss":
            with pytest.raises(ValidationFailed, match="being sent right now"):
                inbox.dismiss_item(world.session, actor=world.admin, item_id=item_id)
        else:
            with pytest.raises(ValidationFailed, match="being sent right now"):
                inbox.item_to_idea(
                    world.session, actor=world.admin, item_id=item_id, department="Marketing"
                )
    finally:
        release.set()
        thread.join(30)
    [done] = outcome
    assert isinstance(done, InboxItem)
    stored = _items(world.session)[0]
    assert (stored.status, stored.dismiss_reason, stored.idea_id) == (
        InboxStatus.answered,
        None,
        None,
    )
    assert len(ideas.list_ideas(world.session, actor=world.admin)) == ideas_before


def test_assigning_from_a_view_older_than_the_reply_is_refused(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    item_id = _polled(engine, world)[0].id
    assert item_id is not None
    seen = inbox.get_item(world.session, actor=world.admin, item_id=item_id)
    _reply_server(httpserver)
    with Session(engine, expire_on_commit=False) as other:
        editor = other.get(User, world.editor.id)
        assert editor is not None
        inbox.reply_to_item(other, actor=editor, item_id=item_id, text="Ja, 10 Uhr.")
    assert seen.status == InboxStatus.new  # this session has not looked again
    with pytest.raises(ValidationFailed) as refused:
        inbox.assign_item(world.session, actor=world.admin, item_id=item_id, department="HR")
    assert refused.value.fields["item"].code == "reply_handled"
    stored = _items(world.session)[0]
    assert (stored.status, stored.department_id) == (InboxStatus.answered, None)


def test_a_reply_whose_sender_died_can_be_sent_again_with_the_same_key(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    """A process stopped while the channel had not answered leaves the item held; after
    `REPLY_CLAIM` it may be answered again, with the key networks drop repeats by."""
    item = _polled(engine, world)[0]
    assert item.id is not None
    started = utcnow() - inbox.REPLY_CLAIM + timedelta(minutes=1)
    item.reply_sending_at = started  # what a sender stopped mid-request leaves behind
    world.session.add(item)
    world.session.commit()
    with pytest.raises(ValidationFailed, match="being sent right now"):
        inbox.reply_to_item(world.session, actor=world.editor, item_id=item.id, text="Ja!")
    item.reply_sending_at = started - timedelta(minutes=2)
    world.session.add(item)
    world.session.commit()
    _reply_server(httpserver)
    done = inbox.reply_to_item(world.session, actor=world.editor, item_id=item.id, text="Ja!")
    assert (done.status, done.reply_sending_at) == (InboxStatus.answered, None)
    [request] = [r for r, _ in httpserver.log if r.path == "/api/v1/statuses"]
    assert request.headers["Idempotency-Key"] == f"planner-inbox-{item.id}-reply"


def test_with_approval_required_a_reply_waits_for_a_second_person(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    org_settings.set_setting(
        world.session, actor=world.admin, key="replies_need_approval", value="on"
    )
    item = _polled(engine, world)[0]
    assert item.id is not None
    waiting = inbox.reply_to_item(
        world.session, actor=world.admin, item_id=item.id, text="Samstag, 10 Uhr."
    )
    assert (waiting.status, waiting.reply_text) == (InboxStatus.new, "Samstag, 10 Uhr.")
    assert _statuses(httpserver) == []
    [view] = [
        v for v in inbox.list_items(world.session, actor=world.editor) if v.item.id == item.id
    ]
    assert view.pending_reply_by == "Admin"
    with pytest.raises(FourEyesViolation):
        inbox.approve_reply(world.session, actor=world.admin, item_id=item.id)
    with pytest.raises(PermissionDenied):
        inbox.approve_reply(world.session, actor=world.editor, item_id=item.id)
    _reply_server(httpserver)
    sent = inbox.approve_reply(world.session, actor=world.approver, item_id=item.id)
    assert sent.status == InboxStatus.answered
    assert sent.handled_by_id == world.approver.id
    [status] = _statuses(httpserver)
    assert status["status"] == "@erika@example.org Samstag, 10 Uhr."
    actions = [
        (e.action, e.actor_name)
        for e in audit.list_events(world.session, actor=world.admin, object_type="inbox_item")
    ]
    assert actions[-3:] == [
        ("reply_requested", "admin"),
        ("reply_approved", "approver"),
        ("reply", "approver"),
    ]


def _reply_rule(world: World, name: str, **scope: list[str]) -> None:
    rules.add_rule(
        world.session,
        actor=world.admin,
        data={
            "name": name,
            "kind": "reply_approval",
            "scope": scope,
            "message": {"de": "Antworten gibt die Freigabe frei", "en": "Replies are approved"},
        },
    )


def test_a_reply_rule_holds_replies_only_on_its_channels_and_departments(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    channels.create_channel(world.session, actor=world.admin, kind="recording", name="Blog")
    _reply_rule(world, "Elsewhere", channels=["Blog"])
    _reply_rule(world, "Marketing answers", channels=["Mastodon"], departments=["Marketing"])
    first, second = _polled(engine, world)
    assert first.id is not None and second.id is not None
    # Not assigned to Marketing: outside both rules' scopes, sent at once.
    _reply_server(httpserver)
    sent = inbox.reply_to_item(world.session, actor=world.editor, item_id=first.id, text="Ja!")
    assert sent.status == InboxStatus.answered
    assert len(_statuses(httpserver)) == 1
    # Assigned to Marketing, on Mastodon: the rule holds it until someone else approves.
    inbox.assign_item(world.session, actor=world.editor, item_id=second.id, department="Marketing")
    held = inbox.reply_to_item(
        world.session, actor=world.contributor, item_id=second.id, text="Gern!"
    )
    assert (held.status, held.reply_text, held.reply_external_id) == (
        InboxStatus.assigned,
        "Gern!",
        None,
    )
    assert len(_statuses(httpserver)) == 1
    [requested] = [
        e
        for e in audit.list_events(world.session, actor=world.admin, object_type="inbox_item")
        if e.action == "reply_requested"
    ]
    assert requested.note == "Marketing answers: Gern!"
    _reply_server(httpserver)
    done = inbox.approve_reply(world.session, actor=world.approver, item_id=second.id)
    assert done.status == InboxStatus.answered
    assert [s["status"] for s in _statuses(httpserver)][-1] == "@erika@example.org Gern!"


def test_a_disabled_reply_rule_holds_nothing_and_the_rule_must_block(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    with pytest.raises(ValidationFailed, match="its severity is block, not 'warn'"):
        rules.add_rule(
            world.session,
            actor=world.admin,
            data={
                "name": "Soft",
                "kind": "reply_approval",
                "severity": "warn",
                "message": {"de": "x", "en": "x"},
            },
        )
    _reply_rule(world, "All replies")
    rules.set_rule_enabled(world.session, actor=world.admin, ref="All replies", enabled=False)
    item = _polled(engine, world)[0]
    assert item.id is not None
    _reply_server(httpserver)
    sent = inbox.reply_to_item(world.session, actor=world.editor, item_id=item.id, text="Ja!")
    assert sent.status == InboxStatus.answered


def test_a_waiting_reply_can_be_discarded_by_its_writer(
    engine: Engine, world: World, mastodon: Channel
) -> None:
    org_settings.set_setting(
        world.session, actor=world.admin, key="replies_need_approval", value="on"
    )
    item = _polled(engine, world)[0]
    assert item.id is not None
    inbox.reply_to_item(world.session, actor=world.editor, item_id=item.id, text="Entwurf")
    with pytest.raises(ValidationFailed, match="already waits"):
        inbox.reply_to_item(world.session, actor=world.editor, item_id=item.id, text="Noch einer")
    assert (
        inbox.discard_reply(world.session, actor=world.editor, item_id=item.id).reply_text is None
    )


def test_a_department_member_answers_an_item_assigned_to_them(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    first, second = _polled(engine, world)
    assert first.id is not None and second.id is not None
    inbox.assign_item(world.session, actor=world.editor, item_id=first.id, department="Marketing")
    _reply_server(httpserver)
    done = inbox.reply_to_item(
        world.session, actor=world.contributor, item_id=first.id, text="Gern!"
    )
    assert done.status == InboxStatus.answered
    with pytest.raises(NotFound):
        inbox.reply_to_item(world.session, actor=world.contributor, item_id=second.id, text="x")


def test_an_item_becomes_a_prefilled_idea_linked_both_ways(
    engine: Engine, world: World, mastodon: Channel
) -> None:
    item = _polled(engine, world)[0]
    assert item.id is not None
    with pytest.raises(ValidationFailed, match="department"):
        inbox.item_to_idea(world.session, actor=world.editor, item_id=item.id)
    done = inbox.item_to_idea(
        world.session, actor=world.editor, item_id=item.id, department="Marketing"
    )
    assert done.status == InboxStatus.converted and done.idea_id is not None
    idea = ideas.get_idea(world.session, actor=world.editor, idea_id=done.idea_id)
    assert idea.title == "@redaktion Frage 1: wann ist der Tag der offenen Tür?"
    assert idea.source_url == "https://example.org/@erika/9001"
    assert "Erika (erika@example.org)" in idea.pitch
    assert idea.tags == ["inbox"]
    linked = inbox.item_for_idea(world.session, actor=world.editor, idea_id=done.idea_id)
    assert linked is not None and linked.id == item.id


def test_dismissing_keeps_the_reason_and_a_dismissed_item_can_be_reopened(
    engine: Engine, world: World, mastodon: Channel
) -> None:
    item = _polled(engine, world)[0]
    assert item.id is not None
    done = inbox.dismiss_item(world.session, actor=world.editor, item_id=item.id, reason="Spam")
    assert (done.status, done.dismiss_reason) == (InboxStatus.dismissed, "Spam")
    with pytest.raises(IllegalTransition, match="allowed: reopen"):
        inbox.item_to_idea(world.session, actor=world.editor, item_id=item.id, department="HR")
    assert inbox.reopen_item(world.session, actor=world.editor, item_id=item.id).status == (
        InboxStatus.new
    )
    events = world.session.exec(
        select(AuditEvent)
        .where(AuditEvent.object_type == "inbox_item")
        .order_by(col(AuditEvent.id))
    ).all()
    assert [(e.action, e.note) for e in events] == [("dismiss", "Spam"), ("reopen", "")]


def test_overdue_items_and_response_figures_follow_the_department_targets(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    first, second = _polled(engine, world)
    assert first.id is not None and second.id is not None
    inbox.set_response_target(world.session, actor=world.admin, department="Marketing", hours=2)
    for item in (first, second):
        inbox.assign_item(
            world.session, actor=world.editor, item_id=item.id or 0, department="Marketing"
        )
    later = utcnow() + timedelta(hours=3)
    views = {v.item.id: v for v in inbox.list_items(world.session, actor=world.editor, now=later)}
    assert views[first.id].overdue and views[first.id].target_hours == 2
    _reply_server(httpserver)
    inbox.reply_to_item(world.session, actor=world.editor, item_id=first.id, text="Danke!")
    figures = inbox.response_figures(
        world.session, utcnow() - timedelta(days=1), utcnow() + timedelta(days=1), now=later
    )
    [marketing] = figures
    assert (marketing.department, marketing.answered, marketing.within_target) == (
        "Marketing",
        1,
        1,
    )
    assert marketing.share_within == 1.0
    assert marketing.open_overdue == 1
    # The process report carries the same figures, in its CSV as well.
    report = process.process_report(
        world.session,
        actor=world.editor,
        since=utcnow() - timedelta(days=1),
        until=utcnow() + timedelta(days=1),
        now=later,
    )
    assert report.responses == figures
    out = io.StringIO()
    report_output.process_csv(report, out)
    assert "responses,Marketing,share_within_target,1.0000" in out.getvalue()
    with pytest.raises(PermissionDenied):
        inbox.set_response_target(
            world.session, actor=world.editor, department="Marketing", hours=1
        )


def test_the_worker_listens_on_the_organisations_interval(
    engine: Engine, world: World, mastodon: Channel
) -> None:
    org_settings.set_setting(
        world.session, actor=world.admin, key="listening_interval_minutes", value="7"
    )
    worker = Worker(
        engine,
        worker_id="listener",
        settings=EngineSettings(batch_size=10, threads=1, lease=timedelta(seconds=30)),
        mail_settings=None,
    )
    try:
        result = worker.listen()
        assert result is not None and result.arrived == 2
        scheduler = worker.start_background()
        job = scheduler.get_job(LISTEN_JOB_ID)
        assert job is not None and job.trigger.interval == timedelta(minutes=7)
        assert job.misfire_grace_time is None  # a late start on a busy machine still runs
        assert scheduler.get_job(JOB_ID) is not None  # next to the publishing sweep
    finally:
        worker.close()


def test_a_stopping_worker_finishes_the_source_it_reads_and_begins_no_other(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    """A deploy stops the worker while its listening run waits for a channel: stopping
    waits for that answer and records it, and the run reads no further source (the
    next run does); nothing of the run goes on after the worker has closed."""
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="mastodon",
        name="Mastodon 2",
        settings={"instance_url": httpserver.url_for("/").rstrip("/"), "access_token": TOKEN},
    )
    arrived, release = threading.Event(), threading.Event()

    def answer(request: Request) -> Response:
        arrived.set()
        release.wait(30)
        body = json.dumps([_notification(2), _notification(1)])
        return Response(body, content_type="application/json")

    httpserver.clear()
    httpserver.expect_request("/api/v1/notifications").respond_with_handler(answer)
    worker = Worker(
        engine,
        worker_id="listener",
        settings=EngineSettings(batch_size=10, threads=1, lease=timedelta(seconds=30)),
        mail_settings=None,
    )
    worker.start_background()  # its first listening run starts at once
    closer = threading.Thread(target=worker.close)
    try:
        assert arrived.wait(30)
        closer.start()
        closer.join(0.5)
        assert closer.is_alive()  # closing waits for the answer on its way
    finally:
        release.set()
        if closer.ident is None:  # it failed before closing began
            worker.close()
        else:
            closer.join(30)
    assert not closer.is_alive()
    assert len(httpserver.log) == 1  # the second channel was not begun
    assert len(_items(world.session)) == 2  # what the first one answered is recorded


def test_a_channel_publishing_found_rate_limited_is_not_read_until_its_pause_ends(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    _polled(engine, world)

    def pause_publishing(until: timedelta) -> None:
        with Session(engine) as s:
            channel = s.get(Channel, mastodon.id)
            assert channel is not None
            channel.paused_until = utcnow() + until
            channel.pause_reason = "429 Too Many Requests"
            s.add(channel)
            s.commit()

    # Publishing got a 429 with a minute to wait: listening leaves the channel's budget to it.
    pause_publishing(timedelta(seconds=60))
    httpserver.clear()
    result = inbox.poll(engine)
    assert (result.sources, result.paused, result.errors) == (0, 1, {})
    assert httpserver.log == []
    # The pause over, reading goes on from where it stopped.
    pause_publishing(timedelta(seconds=-1))
    httpserver.expect_request(
        "/api/v1/notifications",
        query_string={"types[]": "mention", "limit": "40", "min_id": "102"},
    ).respond_with_json([])
    result = inbox.poll(engine)
    assert (result.sources, result.paused, result.errors) == (1, 0, {})
    assert len(httpserver.log) == 1


def test_a_rate_limited_channel_keeps_its_error_and_cursor_and_waits_as_asked(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    _polled(engine, world)
    httpserver.clear()
    httpserver.expect_request("/api/v1/notifications").respond_with_json(
        {"error": "Too many requests"}, status=429, headers={"Retry-After": "60"}
    )
    result = inbox.poll(engine)
    assert list(result.errors) == ["channel Mastodon"]
    [state] = inbox.source_states(world.session, actor=world.editor)
    assert "Too many requests" in (state.last_error or "")
    # Within the minute asked for, the channel is not asked again.
    asked = len(httpserver.log)
    result = inbox.poll(engine)
    assert (result.sources, result.paused, result.errors) == (0, 1, {})
    assert len(httpserver.log) == asked
    # Once the minute is over, reading goes on from where it stopped.
    with Session(engine) as s:
        row = s.get(ListeningState, mastodon.id)
        assert row is not None
        row.paused_until = utcnow() - timedelta(seconds=1)
        s.add(row)
        s.commit()
    httpserver.clear()
    httpserver.expect_request(
        "/api/v1/notifications",
        query_string={"types[]": "mention", "limit": "40", "min_id": "102"},
    ).respond_with_json([])
    assert inbox.poll(engine).errors == {}
    world.session.expire_all()
    [state] = inbox.source_states(world.session, actor=world.editor)
    assert state.last_error is None


def test_a_bluesky_reply_is_answered_in_its_thread(
    engine: Engine, private_network: World, httpserver: HTTPServer
) -> None:
    world = private_network
    did = "did:plc:redaktion"
    ours = f"at://{did}/app.bsky.feed.post/3kour"
    password = "-".join(token_hex(2) for _ in range(4))
    httpserver.expect_request("/xrpc/com.atproto.server.createSession").respond_with_json(
        {
            "accessJwt": "a" + token_hex(8),
            "refreshJwt": "r",
            "handle": "firma.bsky.social",
            "did": did,
        }
    )
    httpserver.expect_request("/xrpc/app.bsky.notification.listNotifications").respond_with_json(
        {
            "notifications": [
                {
                    "uri": "at://did:plc:erika/app.bsky.feed.post/3kreply",
                    "cid": "bafyreply",
                    "author": {"did": "did:plc:erika", "handle": "erika.bsky.social"},
                    "reason": "reply",
                    "record": {
                        "text": "Gilt das auch für Azubis?",
                        "createdAt": "2026-12-03T08:00:00Z",
                        "reply": {
                            "root": {"uri": ours, "cid": "bafyours"},
                            "parent": {"uri": ours, "cid": "bafyours"},
                        },
                    },
                    "indexedAt": "2026-12-03T08:00:01Z",
                }
            ]
        }
    )
    httpserver.expect_request("/xrpc/com.atproto.repo.putRecord").respond_with_json(
        {"uri": f"at://{did}/app.bsky.feed.post/3kanswer", "cid": "bafyanswer"}
    )
    channel = channels.create_channel(
        world.session,
        actor=world.admin,
        kind="bluesky",
        name="Bluesky",
        settings={
            "service_url": httpserver.url_for("/").rstrip("/"),
            "handle": "firma.bsky.social",
            "app_password": password,
        },
    )
    piece_post = _published_post(world, channel, ours)
    [item] = _polled(engine, world)
    assert (item.source, item.in_reply_to_post_id) == (InboxSource.reply, piece_post)
    assert item.id is not None
    inbox.reply_to_item(world.session, actor=world.editor, item_id=item.id, text="Ja, auch.")
    [put] = [json.loads(r.data) for r, _ in httpserver.log if r.path.endswith("putRecord")]
    assert put["record"]["reply"] == {
        "root": {"uri": ours, "cid": "bafyours"},
        "parent": {"uri": "at://did:plc:erika/app.bsky.feed.post/3kreply", "cid": "bafyreply"},
    }


def _published_post(world: World, channel: Channel, external_id: str) -> int:
    """A post of ours on `channel`, published as `external_id`; its id."""
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Ausbildung", "body": "Text."}
    )
    assert piece.id is not None and channel.id is not None and world.editor.id is not None
    post = Post(
        piece_id=piece.id,
        channel_id=channel.id,
        publish_at=utcnow(),
        status=PostStatus.published,
        external_id=external_id,
        created_by_id=world.editor.id,
    )
    world.session.add(post)
    world.session.commit()
    assert post.id is not None
    return post.id


def test_the_assignment_mail_points_to_the_listening_page(
    engine: Engine, world: World, mastodon: Channel
) -> None:
    item = _polled(engine, world)[0]
    assert item.id is not None
    inbox.assign_item(world.session, actor=world.editor, item_id=item.id, department="Marketing")
    [told] = notifications.list_notifications(world.session, actor=world.contributor)
    settings = MailSettings(
        host="127.0.0.1", port=25, security="none", sender="Redaktion <planer@example.de>",
        username="", password="", timeout=1.0, public_url="https://planer.example.de/",
    )  # fmt: skip
    mail = compose(told, world.contributor, settings=settings)
    body = mail.get_content()
    assert "Editor hat Ihrer Abteilung einen Eintrag im Zuhören zugewiesen" in body
    assert "https://planer.example.de/listening" in body


def test_a_mention_with_characters_no_column_takes_is_stored_cleaned(
    engine: Engine, private_network: World, httpserver: HTTPServer
) -> None:
    world = private_network
    odd = _notification(1)
    odd["status"]["content"] = "<p>Hallo\u0000 Welt \ud800!</p>"
    odd["account"]["display_name"] = "Eri\u0000ka"
    httpserver.expect_request("/api/v1/notifications").respond_with_data(
        json.dumps([odd]), content_type="application/json"
    )
    channels.create_channel(
        world.session,
        actor=world.admin,
        kind="mastodon",
        name="Mastodon",
        settings={"instance_url": httpserver.url_for("/").rstrip("/"), "access_token": TOKEN},
    )
    [item] = _polled(engine, world)
    assert (item.text, item.author_name) == ("Hallo Welt ?!", "Erika")


def test_a_feed_name_longer_than_the_limit_is_refused(world: World) -> None:
    with pytest.raises(ValidationFailed, match="at most 120 characters"):
        inbox.add_feed(
            world.session, actor=world.editor, url="https://example.de/feed", name="x" * 121
        )
    assert inbox.list_feeds(world.session, actor=world.editor) == []


def _refusal(err: pytest.ExceptionInfo[ValidationFailed], field: str) -> tuple[str, dict[str, Any]]:
    """The code and values of the message `err` gives for `field` (so the dashboard can
    say it in the reader's language)."""
    message = err.value.fields[field]
    assert isinstance(message, Message), message
    return message.code, message.params


def test_a_feeds_refusals_are_coded_messages(world: World) -> None:
    def refused(field: str, **given: Any) -> tuple[str, dict[str, Any]]:
        with pytest.raises(ValidationFailed) as err:
            inbox.add_feed(world.session, actor=world.editor, **given)
        return _refusal(err, field)

    url = "https://example.de/feed"
    assert refused("name", url=url, name="x" * (inbox.NAME_MAX + 1)) == (
        "too_long",
        {"max": inbox.NAME_MAX},
    )
    assert refused("url", url="ftp://x") == ("config_not_http", {"shown": "'ftp://x' "})
    too_long = "https://example.de/" + "x" * inbox.URL_MAX
    assert refused("url", url=too_long) == ("too_long", {"max": inbox.URL_MAX})
    assert refused("department", url=url, department="Vertrieb") == (
        "unknown_department",
        {"name": "Vertrieb", "known": "HR, Marketing"},
    )
    inbox.add_feed(world.session, actor=world.editor, url=url)
    assert refused("url", url=url) == ("feed_followed", {"url": url})
    with pytest.raises(ValidationFailed, match="'ftp://x' is not an http\\(s\\) address"):
        inbox.add_feed(world.session, actor=world.editor, url="ftp://x")


def test_a_feed_written_with_another_case_in_scheme_or_host_is_the_same_feed(
    world: World,
) -> None:
    first = inbox.add_feed(world.session, actor=world.editor, url="https://presse.example.de/Feed")
    with pytest.raises(ValidationFailed) as err:
        inbox.add_feed(world.session, actor=world.editor, url="HTTPS://Presse.Example.DE/Feed")
    # Before, it was followed twice and every entry arrived twice.
    assert _refusal(err, "url") == ("feed_followed", {"url": "https://presse.example.de/Feed"})
    # The path is the server's to read: another case there is another address.
    other = inbox.add_feed(world.session, actor=world.editor, url="https://presse.example.de/feed")
    assert other.id != first.id
    stored = inbox.add_feed(world.session, actor=world.editor, url="HTTP://Blog.Example.DE/rss")
    assert stored.url == "http://blog.example.de/rss"
    # An address with a host no one can read is refused with a message, not a traceback;
    # one stored before addresses were read does not stop the next one.
    with pytest.raises(ValidationFailed) as err:
        inbox.add_feed(world.session, actor=world.editor, url="https://[zz]/feed")
    assert _refusal(err, "url")[0] == "config_not_http"
    world.session.add(Feed(url="http://[intranet/feed", name="Alt", created_by_id=world.admin.id))
    world.session.commit()
    inbox.add_feed(world.session, actor=world.editor, url="https://presse.example.de/rss")


def test_refused_item_actions_are_coded_messages(
    engine: Engine, world: World, mastodon: Channel, httpserver: HTTPServer
) -> None:
    item = _polled(engine, world)[0]
    assert item.id is not None
    session, editor, item_id = world.session, world.editor, item.id
    with pytest.raises(ValidationFailed) as err:
        inbox.dismiss_item(session, actor=editor, item_id=item_id, reason="x" * 2001)
    assert _refusal(err, "reason") == ("too_long", {"max": inbox.REASON_MAX})
    with pytest.raises(ValidationFailed) as err:
        inbox.assign_item(session, actor=editor, item_id=item_id, department="Vertrieb")
    assert _refusal(err, "department")[0] == "unknown_department"
    with pytest.raises(ValidationFailed) as err:
        inbox.item_to_idea(session, actor=editor, item_id=item_id)
    assert _refusal(err, "department") == ("idea_needs_department", {})
    with pytest.raises(ValidationFailed) as err:
        inbox.reply_to_item(session, actor=editor, item_id=item_id, text=" ")
    assert _refusal(err, "text") == ("reply_empty", {})
    with pytest.raises(ValidationFailed) as err:
        inbox.reply_to_item(
            session, actor=editor, item_id=item_id, text="x" * (inbox.REPLY_MAX + 1)
        )
    assert _refusal(err, "text") == ("too_long", {"max": inbox.REPLY_MAX})
    # The channel's own limit: the adapter's finding, coded as the editor's findings are.
    with pytest.raises(ValidationFailed) as err:
        inbox.reply_to_item(session, actor=editor, item_id=item_id, text="x" * 501)
    code, values = _refusal(err, "text")
    assert (code, values["limit"], values["used"]) == ("problem_too_long_characters", 500, 501)
    with pytest.raises(ValidationFailed) as err:
        inbox.set_response_target(session, actor=world.admin, department="Marketing", hours=0)
    assert _refusal(err, "hours") == (
        "target_hours",
        {"low": inbox.MIN_TARGET_HOURS, "high": inbox.MAX_TARGET_HOURS},
    )
    assert _statuses(httpserver) == []


def test_a_feed_entry_cannot_be_answered_and_says_so_in_a_coded_message(world: World) -> None:
    entry = InboxItem(
        source=InboxSource.feed_item,
        source_key="feed:1",
        external_id="urn:p:1",
        title="Studie",
        text="Mehr Azubis.",
    )
    world.session.add(entry)
    world.session.commit()
    assert entry.id is not None
    with pytest.raises(ValidationFailed) as err:
        inbox.reply_to_item(world.session, actor=world.editor, item_id=entry.id, text="Danke")
    assert _refusal(err, "text") == ("reply_feed_entry", {})


def test_a_feed_entry_without_text_still_makes_an_idea_and_offers_no_reply(
    world: World,
) -> None:
    entry = InboxItem(
        source=InboxSource.feed_item,
        source_key="feed:1",
        external_id="e-1",
        author_name="",
        title="Kurz",
        text="",
        url="https://presse.example.de/1",
        received_at=utcnow(),
    )
    world.session.add(entry)
    world.session.commit()
    assert entry.id is not None
    # Before, "reply" was offered and then refused; and the pitch ("Kurz") was too short
    # for an idea, with no way to give another.
    assert inbox.item_actions(entry) == ["assign", "to_idea", "dismiss"]
    inbox.item_to_idea(world.session, actor=world.editor, item_id=entry.id, department="HR")
    idea = world.session.exec(select(Idea).where(Idea.title == "Kurz")).one()
    assert idea.pitch == "Kurz\n\nhttps://presse.example.de/1"


# --- ideas of any item; replies that end with their item; who may do what ---------------


def _entry(world: World, **values: Any) -> InboxItem:
    """One stored inbox item: a feed entry unless `values` say otherwise."""
    item = InboxItem(
        **{
            "source": InboxSource.feed_item,
            "source_key": "feed:1",
            "external_id": token_hex(4),
            **values,
        }
    )
    world.session.add(item)
    world.session.commit()
    assert item.id is not None
    return item


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_long_a_tiny_or_an_unlinked_item_makes_an_idea_that_loses_nothing(
    world: World, lang: str
) -> None:
    world.editor.locale = lang
    world.session.add(world.editor)
    world.session.commit()
    link = "https://presse.example.de/1"
    # Feeds and Matrix keep 20 000 characters; an idea's pitch takes 5 000.
    long = _entry(world, title="Lange Studie", text="Wort " * 1200, url=link)
    tiny = _entry(
        world,
        source=InboxSource.mention,
        source_key="channel:1",
        author_name="Erika",
        author_handle="erika@example.org",
        text="Hi",
    )
    unlinked = _entry(world, title="Pressemitteilung", text="Mehr Azubis.", url="urn:uuid:1225c6")
    wordy = _entry(world, source=InboxSource.mention, source_key="channel:1", text="Frage " * 40)
    made = {}
    for item in (long, tiny, unlinked, wordy):
        assert item.id is not None
        done = inbox.item_to_idea(
            world.session, actor=world.editor, item_id=item.id, department="HR"
        )
        assert done.idea_id is not None
        made[item.id] = ideas.get_idea(world.session, actor=world.editor, idea_id=done.idea_id)
    cut = {"de": "gekürzt – der ganze Text", "en": "shortened – the full text"}[lang]
    idea = made[long.id or 0]
    assert (idea.title, idea.source_url) == ("Lange Studie", link)
    assert len(idea.pitch) <= 5000
    assert idea.pitch.endswith(f"Wort Wort…\n\n[{cut}: {link}]")
    idea = made[tiny.id or 0]
    assert idea.title == {"de": "Erwähnung von Erika: Hi", "en": "Mention by Erika: Hi"}[lang]
    assert idea.pitch == "Hi\n\n— Erika (erika@example.org)"
    idea = made[unlinked.id or 0]
    assert (idea.title, idea.pitch, idea.source_url) == ("Pressemitteilung", "Mehr Azubis.", None)
    idea = made[wordy.id or 0]
    assert len(idea.title) <= 120 and idea.title.endswith("Frage Frage…")


def _waiting_mention(world: World) -> InboxItem:
    """A mention on a Mastodon channel whose reply by the editor waits for approval."""
    org_settings.set_setting(
        world.session, actor=world.admin, key="replies_need_approval", value="on"
    )
    channel = channels.create_channel(
        world.session,
        actor=world.admin,
        kind="mastodon",
        name="Mastodon",
        settings={"instance_url": "https://social.example.de", "access_token": TOKEN},
    )
    item = _entry(
        world,
        source=InboxSource.mention,
        source_key=f"channel:{channel.id}",
        channel_id=channel.id,
        author_name="Erika",
        text="Wann ist der Tag der offenen Tür?",
    )
    assert item.id is not None
    inbox.reply_to_item(world.session, actor=world.editor, item_id=item.id, text="Am Samstag!")
    assert inbox.waiting_reply(item)
    return item


@pytest.mark.parametrize("move", ["dismiss", "to_idea"])
def test_dismissing_or_converting_an_item_drops_the_reply_waiting_on_it(
    world: World, move: str
) -> None:
    item = _waiting_mention(world)
    assert item.id is not None
    assert inbox.actions_for(world.approver, item) == ["approve", "discard"]
    if move == "dismiss":
        inbox.dismiss_item(world.session, actor=world.editor2, item_id=item.id, reason="Spam")
    else:
        inbox.item_to_idea(world.session, actor=world.editor2, item_id=item.id, department="HR")
    world.session.refresh(item)
    assert (item.reply_text, item.reply_by_id, item.reply_requested_at) == (None, None, None)
    assert not inbox.waiting_reply(item)
    [view] = inbox.describe(world.session, [item])
    assert view.pending_reply_by == ""
    assert inbox.actions_for(world.approver, item) == []
    with pytest.raises(ValidationFailed, match="no reply waits"):
        inbox.approve_reply(world.session, actor=world.approver, item_id=item.id)
    events = world.session.exec(
        select(AuditEvent)
        .where(AuditEvent.object_type == "inbox_item", AuditEvent.object_id == item.id)
        .order_by(col(AuditEvent.id))
    ).all()
    assert [(e.action, e.note) for e in events][1:3] == [
        ("reply_discarded", "Am Samstag!"),
        (move, "Spam" if move == "dismiss" else f"idea {item.idea_id}"),
    ]
    if move == "dismiss":
        # Reopened, the item is new and unanswered: the old reply does not come back.
        inbox.reopen_item(world.session, actor=world.editor2, item_id=item.id)
        world.session.refresh(item)
        assert (item.status, item.reply_text) == (InboxStatus.new, None)
        with pytest.raises(ValidationFailed, match="no reply waits"):
            inbox.approve_reply(world.session, actor=world.approver, item_id=item.id)


def _told_of_drops(world: World, user: User) -> list[tuple[int, int | None, str]]:
    """The dropped replies `user` was told of: (item, who dropped it, the reply's text)."""
    world.session.expire_all()
    return [
        (n.object_id, n.actor_id, n.detail)
        for n in world.session.exec(
            select(Notification)
            .where(Notification.user_id == user.id, Notification.kind == "inbox_reply_dropped")
            .order_by(col(Notification.id))
        )
    ]


@pytest.mark.parametrize("move", ["dismiss", "to_idea", "discard"])
def test_the_writer_of_a_dropped_reply_is_told_by_whom_and_which(world: World, move: str) -> None:
    item = _waiting_mention(world)
    assert item.id is not None
    if move == "dismiss":
        inbox.dismiss_item(world.session, actor=world.editor2, item_id=item.id, reason="Spam")
    elif move == "to_idea":
        inbox.item_to_idea(world.session, actor=world.editor2, item_id=item.id, department="HR")
    else:
        inbox.discard_reply(world.session, actor=world.approver, item_id=item.id)
    dropper = world.approver if move == "discard" else world.editor2
    assert _told_of_drops(world, world.editor) == [(item.id, dropper.id, "Am Samstag!")]
    assert _told_of_drops(world, dropper) == []
    [view] = notifications.list_notifications(world.session, actor=world.editor)
    assert (view.notification.kind, view.actor) == ("inbox_reply_dropped", dropper.display_name)
    said = {
        lang: translate(lang, "notifications.kind.inbox_reply_dropped", actor=view.actor)
        for lang in ("de", "en")
    }
    assert said["de"].startswith(f"{dropper.display_name} hat Ihre Antwort auf einen Eintrag")
    assert said["en"].startswith(f"{dropper.display_name} dropped your reply")


@pytest.mark.parametrize("move", ["dismiss", "discard"])
def test_a_writer_who_drops_their_own_reply_is_not_told(world: World, move: str) -> None:
    item = _waiting_mention(world)
    assert item.id is not None
    if move == "dismiss":
        inbox.dismiss_item(world.session, actor=world.editor, item_id=item.id)
    else:
        inbox.discard_reply(world.session, actor=world.editor, item_id=item.id)
    world.session.refresh(item)
    assert item.reply_text is None
    assert _told_of_drops(world, world.editor) == []


def test_reopening_an_item_dismissed_with_a_waiting_reply_drops_that_reply(
    world: World,
) -> None:
    # As items dismissed before dismissing dropped their waiting reply were stored.
    item = _entry(
        world,
        source=InboxSource.mention,
        source_key="channel:1",
        text="Frage",
        status=InboxStatus.dismissed,
        reply_text="Alte Antwort",
        reply_by_id=world.editor.id,
    )
    assert item.id is not None
    assert not inbox.waiting_reply(item)
    assert inbox.describe(world.session, [item])[0].pending_reply_by == ""
    inbox.reopen_item(world.session, actor=world.editor2, item_id=item.id)
    world.session.refresh(item)
    assert (item.status, item.reply_text, item.reply_by_id) == (InboxStatus.new, None, None)
    actions = world.session.exec(
        select(AuditEvent.action).where(AuditEvent.object_id == item.id)
    ).all()
    assert "reply_discarded" in actions


def test_each_actor_is_offered_only_the_moves_they_may_make(world: World) -> None:
    entry = _entry(world, title="Studie", text="Mehr Azubis.")
    assert entry.id is not None
    inbox.assign_item(world.session, actor=world.editor, item_id=entry.id, department="Marketing")
    assert inbox.actions_for(world.editor, entry) == ["assign", "to_idea", "dismiss"]
    # A member of its department makes ideas of it; assigning and dismissing are not hers.
    assert inbox.actions_for(world.contributor, entry) == ["to_idea"]
    assert inbox.actions_for(world.hr_contributor, entry) == []
    assert inbox.actions_for(world.approver, entry) == []
    mention = _waiting_mention(world)
    # The writer discards but does not approve; nobody writes a second reply meanwhile.
    assert inbox.actions_for(world.editor, mention) == ["assign", "discard", "to_idea", "dismiss"]
    assert inbox.actions_for(world.admin, mention) == [
        "assign",
        "approve",
        "discard",
        "to_idea",
        "dismiss",
    ]


def test_the_items_of_a_feed_no_longer_followed_name_no_internal_key(world: World) -> None:
    feed = inbox.add_feed(
        world.session, actor=world.editor, url="https://presse.example.de/feed.xml", name="Presse"
    )
    item = _entry(world, source_key=f"feed:{feed.id}", feed_id=feed.id, title="Studie")
    assert inbox.describe(world.session, [item])[0].source_name == "Presse"
    assert feed.id is not None
    inbox.remove_feed(world.session, actor=world.editor, feed_id=feed.id)
    world.session.refresh(item)
    assert inbox.describe(world.session, [item])[0].source_name == ""
