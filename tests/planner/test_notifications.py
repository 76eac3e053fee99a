"""Notifications on SQLite and PostgreSQL: who is told what, preferences, no self-notify,
visibility, @mentions, and the scheduler's failed posts and published pieces."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from planner import channels, cli, ideas, notifications, pieces, planning, users
from planner.errors import Message, NotFound, ValidationFailed
from planner.models import Comment, Notification, Piece, Role, User, utcnow
from planner.notifications import Notice, Preference
from planner.publishing import EngineSettings
from planner.worker import Worker
from publishers.base import PermanentError
from tests import recording
from tests.conftest import PASSWORD, World


def told(session: Session, user: User) -> list[tuple[str, str, int, str]]:
    """What `user` was told: (kind, object type, object id, detail), oldest first."""
    session.expire_all()
    rows = session.exec(
        select(Notification).where(Notification.user_id == user.id).order_by(col(Notification.id))
    )
    return [(n.kind, n.object_type, n.object_id, n.detail) for n in rows]


def draft(world: World, *, by: User | None = None, body: str = "Text") -> Piece:
    piece = pieces.create_piece(
        world.session, actor=by or world.editor, data={"title": "Sommerfest", "body": body}
    )
    assert piece.id is not None
    return piece


def edit(world: World, by: User, piece: Piece, body: str) -> None:
    assert piece.id is not None
    pieces.edit_piece(
        world.session, actor=by, piece_id=piece.id, expected_revision=1, data={"body": body}
    )


def in_review(world: World) -> Piece:
    piece = draft(world)
    assert piece.id is not None
    return pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)


def idea_data(title: str, department: str = "Marketing") -> dict[str, str]:
    return {"title": title, "pitch": f"{title}, in a few words.", "department": department}


def with_email(world: World, username: str, role: Role) -> User:
    return users.create_user(
        world.session,
        actor=world.admin,
        data={
            "username": username,
            "display_name": username.title(),
            "role": role.value,
            "password": PASSWORD,
            "email": f"{username}@example.org",
        },
    )


def test_a_piece_submitted_for_review_tells_every_approver_but_not_its_editor(
    world: World,
) -> None:
    piece = in_review(world)
    expected = [("review_requested", "piece", piece.id, "")]
    assert told(world.session, world.approver) == expected
    assert told(world.session, world.admin) == expected
    for quiet in (world.editor, world.editor2, world.contributor):
        assert told(world.session, quiet) == []


def test_an_admin_who_edited_the_piece_is_not_asked_to_approve_it(world: World) -> None:
    piece = draft(world)
    assert piece.id is not None
    edit(world, world.admin, piece, "x")
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    assert told(world.session, world.admin) == []
    assert [k for k, *_ in told(world.session, world.approver)] == ["review_requested"]


def test_the_approver_whose_idea_became_the_piece_is_not_asked_to_approve_it(
    world: World,
) -> None:
    """Whoever submitted the idea may not approve the piece made from its text (four-eyes):
    the request for review goes to the other approvers only."""
    s = world.session
    idea = ideas.submit_idea(s, actor=world.approver, data=idea_data("Messe-Rückblick")).idea
    assert idea.id is not None
    piece = ideas.accept_idea(s, actor=world.editor, idea_id=idea.id)
    assert piece.id is not None
    pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
    assert [k for k, *_ in told(s, world.approver)] == ["idea_accepted"]
    assert told(s, world.admin) == [("review_requested", "piece", piece.id, "")]


def test_an_approved_piece_edited_again_waits_for_approvers_again(world: World) -> None:
    piece = in_review(world)
    assert piece.id is not None
    pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=1)
    edit(world, world.editor, piece, "y")
    assert [k for k, *_ in told(world.session, world.approver)] == ["review_requested"] * 2


def test_changes_requested_tell_the_editors_with_the_comment(world: World) -> None:
    piece = draft(world)
    assert piece.id is not None
    edit(world, world.editor2, piece, "z")
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    pieces.request_changes(
        world.session, actor=world.approver, piece_id=piece.id, comment="Bitte kürzer."
    )
    expected = [("changes_requested", "piece", piece.id, "Bitte kürzer.")]
    assert told(world.session, world.editor) == expected
    assert told(world.session, world.editor2) == expected
    assert [k for k, *_ in told(world.session, world.approver)] == ["review_requested"]


def test_a_contributor_hears_of_their_idea_accepted_or_rejected_with_the_reason(
    world: World,
) -> None:
    s = world.session
    first = ideas.submit_idea(s, actor=world.contributor, data=idea_data("Azubi-Tag")).idea
    second = ideas.submit_idea(s, actor=world.contributor, data=idea_data("Podcast")).idea
    assert first.id is not None and second.id is not None
    ideas.accept_idea(s, actor=world.editor, idea_id=first.id)
    ideas.reject_idea(s, actor=world.editor, idea_id=second.id, reason="Kein Budget.")
    assert told(s, world.contributor) == [
        ("idea_accepted", "idea", first.id, ""),
        ("idea_rejected", "idea", second.id, "Kein Budget."),
    ]
    assert told(s, world.hr_contributor) == []


def test_contributors_of_ideas_merged_into_a_rejected_one_hear_of_the_rejection(
    world: World,
) -> None:
    s = world.session
    colleague = world.user("mkt2", Role.contributor, department="Marketing")
    target = ideas.submit_idea(s, actor=world.contributor, data=idea_data("Sommerfest")).idea
    middle = ideas.submit_idea(s, actor=world.hr_contributor, data=idea_data("Fest", "HR")).idea
    mine = ideas.submit_idea(s, actor=colleague, data=idea_data("Sommerparty")).idea
    assert target.id is not None and middle.id is not None and mine.id is not None
    ideas.merge_idea(s, actor=world.editor, idea_id=mine.id, into_id=middle.id)
    ideas.merge_idea(s, actor=world.editor, idea_id=middle.id, into_id=target.id)

    ideas.reject_idea(s, actor=world.editor, idea_id=target.id, reason="Kein Budget.")

    # Each of their own idea, which they can open; the reason is the rejection's.
    assert told(s, world.contributor) == [("idea_rejected", "idea", target.id, "Kein Budget.")]
    assert told(s, world.hr_contributor) == [("idea_rejected", "idea", middle.id, "Kein Budget.")]
    assert told(s, colleague) == [("idea_rejected", "idea", mine.id, "Kein Budget.")]
    assert told(s, world.approver) == []


def test_nobody_is_told_of_their_own_action(world: World) -> None:
    s = world.session
    idea = ideas.submit_idea(s, actor=world.editor, data=idea_data("Eigene Idee", "HR")).idea
    assert idea.id is not None
    ideas.reject_idea(s, actor=world.editor, idea_id=idea.id, reason="Doch nicht.")
    piece = draft(world, by=world.admin)
    assert piece.id is not None
    pieces.submit_piece(s, actor=world.admin, piece_id=piece.id)
    assert told(s, world.editor) == []
    assert told(s, world.admin) == []


def test_preferences_decide_dashboard_and_email(world: World) -> None:
    s = world.session
    mailed = with_email(world, "anna", Role.approver)
    notifications.set_preferences(
        s, actor=mailed, choices=[Preference("review_requested", in_app=False, email=True)]
    )
    notifications.set_preferences(
        s, actor=world.approver, choices=[Preference("review_requested", in_app=False, email=False)]
    )
    # E-mail wanted but no address: in the dashboard only.
    notifications.set_preferences(
        s, actor=world.admin, choices=[Preference("review_requested", in_app=True, email=True)]
    )
    in_review(world)
    s.expire_all()
    [anna] = s.exec(select(Notification).where(Notification.user_id == mailed.id)).all()
    assert anna.email is True and anna.read_at is not None  # e-mail only: not waiting on the page
    assert told(s, world.approver) == []
    [admin] = s.exec(select(Notification).where(Notification.user_id == world.admin.id)).all()
    assert (admin.email, admin.read_at) == (False, None)
    assert notifications.count_unread(s, actor=mailed) == 0
    assert notifications.count_unread(s, actor=world.admin) == 1


def test_preferences_list_the_kinds_of_the_role_and_refuse_others(world: World) -> None:
    s = world.session
    kinds = [p.kind for p in notifications.preferences(s, actor=world.contributor)]
    assert kinds == [
        "idea_accepted",
        "idea_rejected",
        "idea_published",
        "inbox_assigned",
        "inbox_reply_dropped",
    ]
    assert all(p.in_app and not p.email for p in notifications.preferences(s, actor=world.editor))
    with pytest.raises(ValidationFailed, match="'review_requested' is no kind"):
        notifications.set_preferences(
            s,
            actor=world.contributor,
            choices=[
                Preference("idea_accepted", in_app=False, email=False),
                Preference("review_requested", in_app=True, email=True),
            ],
        )
    assert all(p.in_app for p in notifications.preferences(s, actor=world.contributor))


def test_a_contributor_is_never_told_about_pieces(world: World) -> None:
    piece = draft(world)
    assert piece.id is not None and world.contributor.id is not None
    stored = notifications.store(
        world.session.connection(),
        [Notice(world.contributor.id, "mentioned", "piece", piece.id, world.editor.id)],
    )
    world.session.commit()
    assert stored == 0
    assert told(world.session, world.contributor) == []


def test_mentions_tell_the_named_users_once(world: World) -> None:
    s = world.session
    piece = draft(world)
    assert piece.id is not None
    text = "@editor2 und @Approver: bitte lesen (@editor2, mail an x@approver.de). @editor"
    pieces.add_comment(s, actor=world.editor, piece_id=piece.id, body=text)
    assert told(s, world.editor2) == [("mentioned", "piece", piece.id, text)]
    assert told(s, world.approver) == [("mentioned", "piece", piece.id, text)]
    assert told(s, world.editor) == []  # naming oneself tells nobody


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param("Frag @niemand dazu.", "@niemand", id="unknown-name"),
        pytest.param("Frag @contrib dazu.", "@contrib", id="may-not-see-pieces"),
    ],
)
def test_a_mention_of_nobody_who_may_see_the_piece_is_refused(
    world: World, body: str, named: str
) -> None:
    s = world.session
    piece = draft(world)
    assert piece.id is not None
    with pytest.raises(ValidationFailed, match=f"{named}: no user of that name may see this piece"):
        pieces.add_comment(s, actor=world.editor, piece_id=piece.id, body=body)
    assert s.exec(select(Comment)).all() == []
    assert s.exec(select(Notification)).all() == []


def test_a_change_request_that_mentions_someone_tells_them_too(world: World) -> None:
    piece = in_review(world)
    assert piece.id is not None
    pieces.request_changes(
        world.session, actor=world.approver, piece_id=piece.id, comment="@editor2 prüf die Zahlen"
    )
    assert [k for k, *_ in told(world.session, world.editor2)] == ["mentioned"]


def test_each_user_lists_and_marks_read_only_their_own(world: World) -> None:
    s = world.session
    piece = in_review(world)
    [mine] = notifications.list_notifications(s, actor=world.approver)
    assert (mine.title, mine.actor, mine.piece_id) == ("Sommerfest", "Editor", piece.id)
    assert notifications.list_notifications(s, actor=world.editor2) == []
    other = notifications.list_notifications(s, actor=world.admin)[0].notification.id
    assert other is not None
    with pytest.raises(NotFound):
        notifications.mark_read(s, actor=world.approver, ids=[other])
    assert notifications.count_unread(s, actor=world.admin) == 1
    assert notifications.mark_read(s, actor=world.approver) == 1
    assert notifications.count_unread(s, actor=world.approver) == 0
    assert notifications.list_notifications(s, actor=world.approver, unread_only=True) == []


# --- the scheduler's events -------------------------------------------------------------------

FAST = EngineSettings(batch_size=10, threads=1, lease=timedelta(seconds=30), max_attempts=1)


@pytest.fixture
def worker(engine: Engine, recording_kind: type[recording.RecordingPublisher]) -> Iterator[Worker]:
    w = Worker(engine, worker_id="test-worker", settings=FAST)
    yield w
    w.close()


def planned(world: World, piece: Piece, planner: User) -> int:
    """A due post of `piece`, planned by `planner`; its id."""
    assert piece.id is not None
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Feed", settings={}
    )
    assert channel.id is not None
    post = planning.plan_post(
        world.session,
        actor=planner,
        piece_id=piece.id,
        channel=channel.id,
        when=utcnow() + timedelta(days=1),
    )
    post.publish_at = utcnow() - timedelta(seconds=1)
    world.session.add(post)
    world.session.commit()
    assert post.id is not None
    return post.id


def approved(world: World, piece: Piece) -> Piece:
    assert piece.id is not None
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    return pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=1)


def test_a_failed_post_tells_its_piece_owner_and_who_planned_it(
    world: World, worker: Worker, recording_kind: type[recording.RecordingPublisher]
) -> None:
    piece = approved(world, draft(world))
    post_id = planned(world, piece, world.editor2)
    recording_kind.script.append(PermanentError("Text too long (max 500)", http_status=422))
    worker.sweep()
    expected = [("post_failed", "post", post_id, "Text too long (max 500)")]
    assert told(world.session, world.editor) == expected
    assert told(world.session, world.editor2) == expected
    [item] = notifications.list_notifications(world.session, actor=world.editor)
    assert item.piece_id == piece.id


def test_a_post_the_channel_would_refuse_is_explained_in_each_readers_language(
    world: World,
    worker: Worker,
    recording_kind: type[recording.RecordingPublisher],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The channel takes less text than when the post was planned: the engine's own
    explanation is kept, so each reader reads it in their language."""
    piece = approved(world, draft(world))  # "Text": 4 characters
    planned(world, piece, world.editor2)
    monkeypatch.setattr(recording_kind, "text_limit", 3)
    worker.sweep()
    [item] = notifications.list_notifications(world.session, actor=world.editor)
    assert item.notification.kind == notifications.POST_FAILED
    assert notifications.detail_text(item.notification, "de", "Europe/Berlin") == (
        "Der Kanal „Feed“ würde den Text ablehnen: 4 Zeichen, Recording (tests) erlaubt 3."
    )
    assert notifications.detail_text(item.notification, "en", "Europe/Berlin") == (
        "Feed would refuse the text: text: 4 characters, Recording (tests) allows 3"
    )


def test_only_the_engines_words_are_translated_and_older_details_read_as_they_are(
    world: World,
) -> None:
    """The engine gave up: its sentence in German, the channel's answer inside it as the
    channel gave it. A channel's answer alone (here JSON), and a detail stored before
    explanations were kept, are read as they are; a long explanation as an excerpt."""
    s = world.session
    post_id = planned(world, approved(world, draft(world)), world.editor)

    def gave_up(error: str) -> Message:
        return Message(
            "publish_gave_up", "gave up after {count} attempts: {error}", count=3, error=error
        )

    notifications.posts_failed(s.connection(), {post_id: gave_up("503 Service Unavailable")})
    notifications.posts_failed(s.connection(), {post_id: '{"error": "Duplicate status"}'})
    notifications.posts_failed(s.connection(), {post_id: gave_up("x" * 600)})
    s.add(
        Notification(
            user_id=world.editor.id,
            kind=notifications.POST_FAILED,
            object_type="post",
            object_id=post_id,
            detail="gave up after 3 attempts: timed out",
        )
    )
    s.commit()
    items = notifications.list_notifications(s, actor=world.editor)
    german = [
        notifications.detail_text(i.notification, "de", "Europe/Berlin") for i in reversed(items)
    ]
    assert german[:2] == [
        "Nach 3 Versuchen aufgegeben: 503 Service Unavailable",
        '{"error": "Duplicate status"}',
    ]
    assert german[2] == ("Nach 3 Versuchen aufgegeben: " + "x" * 600)[: notifications.DETAIL_MAX]
    assert german[3] == "gave up after 3 attempts: timed out"
    first = items[-1].notification
    english = notifications.detail_text(first, "en", "Europe/Berlin")
    assert english == "gave up after 3 attempts: 503 Service Unavailable"


def test_a_published_piece_tells_the_contributors_of_its_idea_and_merged_ones(
    world: World, worker: Worker
) -> None:
    s = world.session
    first = ideas.submit_idea(s, actor=world.contributor, data=idea_data("Azubi-Tag")).idea
    twin = ideas.submit_idea(s, actor=world.hr_contributor, data=idea_data("Azubis", "HR")).idea
    assert first.id is not None and twin.id is not None
    ideas.merge_idea(s, actor=world.editor, idea_id=twin.id, into_id=first.id)
    piece = ideas.accept_idea(s, actor=world.editor, idea_id=first.id)
    planned(world, approved(world, piece), world.editor)
    worker.sweep()
    assert told(s, world.contributor)[-1] == ("idea_published", "idea", first.id, "")
    assert told(s, world.hr_contributor) == [("idea_published", "idea", twin.id, "")]


# --- the command line -------------------------------------------------------------------------


def test_the_command_line_lists_and_marks_read_only_the_acting_users_own(
    world: World,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("planner.cli.common.engine", lambda: engine)
    piece = in_review(world)
    assert cli.main(["notifications", "list", "--as", "approver"]) == 0
    out = capsys.readouterr().out
    assert f"Piece #{piece.id} “Sommerfest” waits for your approval" in out and "new" in out
    assert cli.main(["notifications", "read", "--as", "approver"]) == 0
    assert capsys.readouterr().out == "1 notifications marked read\n"
    assert cli.main(["notifications", "list", "--unread", "--as", "approver"]) == 0
    assert "Sommerfest" not in capsys.readouterr().out
    assert notifications.count_unread(world.session, actor=world.admin) == 1
    admins = notifications.list_notifications(world.session, actor=world.admin)
    other = str(admins[0].notification.id)
    err = io.StringIO()
    assert cli.main(["notifications", "read", other, "--as", "approver"], stderr=err) == 1
    assert err.getvalue() == f"error: notification {int(other)!r} not found\n"
    assert notifications.count_unread(world.session, actor=world.admin) == 1


def test_the_command_line_says_a_failed_posts_detail_in_english_not_as_stored_data(
    world: World,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("planner.cli.common.engine", lambda: engine)
    post_id = planned(world, approved(world, draft(world)), world.editor2)
    explanation = Message(
        "publish_gave_up", "gave up after {count} attempts: {error}", count=3, error="HTTP 503"
    )
    notifications.posts_failed(world.session.connection(), {post_id: explanation})
    world.session.commit()
    assert cli.main(["notifications", "list", "--json", "--as", "editor"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert row["kind"] == notifications.POST_FAILED
    assert row["detail"] == "gave up after 3 attempts: HTTP 503"


def test_the_time_of_a_series_notification_is_read_in_its_stored_forms() -> None:
    """Stored as a UTC instant; earlier rows hold the local time and the series' zone."""

    def time_of(kind: str, detail: str) -> object:
        note = Notification(user_id=1, kind=kind, object_type="post", object_id=1, detail=detail)
        return notifications.detail_time(note)

    at = datetime(2027, 5, 10, 7, tzinfo=UTC)
    assert time_of(notifications.SERIES_UNPLACED, "2027-05-10T07:00:00+00:00") == at
    assert time_of(notifications.SERIES_LEFT_OUT, "2027-05-10 09:00 Europe/Berlin") == at
    assert time_of(notifications.SERIES_UNPLACED, "not a time") is None
    # A reason or a comment is no time, however it reads.
    assert time_of(notifications.POST_FAILED, "2027-05-10T07:00:00+00:00") is None
