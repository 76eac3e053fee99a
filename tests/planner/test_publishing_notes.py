"""The engine's own explanations on posts and ledger rows: kept in English text for every
reader of the database, and beside it as a message the dashboard says in German or English."""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from planner import audit, channels, pieces, planning, publishing
from planner.models import (
    AuditEvent,
    Channel,
    Post,
    PostStatus,
    PublishAttempt,
    Revision,
    utcnow,
)
from planner.publishing import EngineSettings, notes, recovery
from planner.publishing.deliver import Gate
from planner.ui.i18n import render_message
from planner.worker import Worker
from publishers.base import TransientError
from tests import recording
from tests.conftest import World

FAST = EngineSettings(
    batch_size=10,
    threads=2,
    lease=timedelta(seconds=30),
    max_attempts=3,
    retry_base_seconds=60,
    retry_cap_seconds=600,
    poll_seconds=1,
)
FRAME_DE = (
    "; der Post ist vielleicht doch hinausgegangen. Dieser Kanal verwirft Wiederholungen "
    "nicht sicher, deshalb wird er nicht noch einmal gesendet: Bitte prüfen Sie, ob er "
    "veröffentlicht wurde."
)
FRAME_EN = (
    "; it may have gone out, and this channel is not known to drop repeats, so it is not "
    "sent again: check whether it was published"
)


@pytest.fixture
def worker(engine: Engine, recording_kind: type[recording.RecordingPublisher]) -> Iterator[Worker]:
    w = Worker(engine, worker_id="test-worker", settings=FAST)
    yield w
    w.close()


def _due_post(world: World, *, ago: timedelta) -> Post:
    s = world.session
    channel = channels.create_channel(s, actor=world.admin, kind="recording", name="Feed")
    piece = pieces.create_piece(s, actor=world.editor, data={"title": "Gruß", "body": "Hallo"})
    assert piece.id is not None and channel.id is not None
    pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
    pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=1)
    post = planning.plan_post(
        s, actor=world.editor, piece_id=piece.id, channel=channel.id, when=utcnow() + timedelta(1)
    )
    post.publish_at = utcnow() - ago
    s.add(post)
    s.commit()
    return post


def _reload(engine: Engine, post_id: int | None) -> Post:
    with Session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        return post


def _said(post: Post, lang: str) -> str:
    return render_message(lang, notes.said(post.last_error, post.last_error_reason))


@pytest.mark.parametrize(
    ("span", "de", "en"),
    [
        (timedelta(hours=1), "1 Stunde", "1 hour"),
        (timedelta(hours=2), "2 Stunden", "2 hours"),
        (timedelta(minutes=30), "30 Minuten", "30 minutes"),
        (timedelta(minutes=1), "1 Minute", "1 minute"),
        (timedelta(seconds=90), "90 Sekunden", "90 seconds"),
    ],
)
def test_a_duration_is_written_for_people(span: timedelta, de: str, en: str) -> None:
    said = notes.span(span)
    assert (render_message("de", said), render_message("en", said), str(said)) == (de, en, en)


def test_a_missed_post_keeps_english_text_and_is_said_in_the_readers_language(
    world: World, engine: Engine
) -> None:
    post = _due_post(world, ago=timedelta(hours=3))
    with Session(engine) as s:
        assert recovery.mark_missed(s, now=utcnow(), lateness=timedelta(minutes=30)) == [post.id]
    missed = _reload(engine, post.id)
    assert missed.status == PostStatus.missed
    assert missed.last_error == "not published within 30 minutes of its time"
    assert json.loads(missed.last_error_reason or "")["code"] == "publish_missed"
    assert _said(missed, "de") == (
        "Nicht innerhalb von 30 Minuten nach dem geplanten Zeitpunkt veröffentlicht."
    )
    assert _said(missed, "en") == "not published within 30 minutes of its time"


def test_an_ambiguous_failure_keeps_the_channels_words_inside_a_translated_frame(
    world: World,
    engine: Engine,
    worker: Worker,
    recording_kind: type[recording.RecordingPublisher],
) -> None:
    post = _due_post(world, ago=timedelta(seconds=5))
    recording_kind.script.append(TransientError("Zeitüberschreitung {x}", ambiguous=True))
    worker.sweep()
    state = _reload(engine, post.id)
    assert state.status == PostStatus.needs_check
    assert state.last_error == "Zeitüberschreitung {x}" + FRAME_EN
    assert _said(state, "de") == "Zeitüberschreitung {x}" + FRAME_DE
    assert _said(state, "en") == "Zeitüberschreitung {x}" + FRAME_EN
    with Session(engine) as s:
        (attempt,) = s.exec(
            select(PublishAttempt).where(col(PublishAttempt.post_id) == post.id)
        ).all()
    assert attempt.error == "Zeitüberschreitung {x}" + FRAME_EN
    assert render_message("de", notes.said(attempt.error, attempt.reason)) == (
        "Zeitüberschreitung {x}" + FRAME_DE
    )


def test_a_retry_given_up_is_said_in_german(
    world: World,
    engine: Engine,
    worker: Worker,
    recording_kind: type[recording.RecordingPublisher],
) -> None:
    post = _due_post(world, ago=timedelta(seconds=5))
    for _ in range(FAST.max_attempts):
        recording_kind.script.append(TransientError("still down", http_status=502))
        with Session(engine) as s:  # let any backoff pass
            due = s.get(Post, post.id)
            assert due is not None
            due.next_attempt_at = None
            s.add(due)
            s.commit()
        worker.sweep()
    state = _reload(engine, post.id)
    assert state.status == PostStatus.failed
    assert state.last_error == "gave up after 3 attempts: still down"
    assert _said(state, "de") == "Nach 3 Versuchen aufgegeben: still down"


def test_a_post_tried_once_gives_up_after_1_attempt_not_1_attempts(
    world: World, engine: Engine, recording_kind: type[recording.RecordingPublisher]
) -> None:
    post = _due_post(world, ago=timedelta(seconds=5))
    recording_kind.script.append(TransientError("still down", http_status=502))
    once = Worker(engine, worker_id="once", settings=replace(FAST, max_attempts=1))
    try:
        once.sweep()
    finally:
        once.close()
    state = _reload(engine, post.id)
    assert state.status == PostStatus.failed
    assert state.last_error == "gave up after 1 attempt: still down"
    assert _said(state, "de") == "Nach dem ersten Versuch aufgegeben: still down"
    assert render_message("de", notes.audit_note(state.last_error) or "") == (
        "Nach dem ersten Versuch aufgegeben: still down"
    )


def test_a_text_without_its_explanation_is_shown_as_it_is() -> None:
    stored = notes.stored(notes.span(timedelta(hours=1)))
    assert notes.said("not published within 1:00:00 of its time", None) == (
        "not published within 1:00:00 of its time"
    )
    # An explanation of another text (the text changed since) is not used.
    assert render_message("de", notes.said("upstream timeout", stored)) == "upstream timeout"
    assert render_message("de", notes.said("kaputt", "{not json")) == "kaputt"
    assert notes.said(None, stored) == ""
    assert notes.stored("a channel's own words") is None


def _ledger(engine: Engine, post_id: int | None) -> list[PublishAttempt]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(PublishAttempt)
                .where(col(PublishAttempt.post_id) == post_id)
                .order_by(col(PublishAttempt.id))
            )
        )


def _notes(engine: Engine, post_id: int | None) -> list[str]:
    """The notes of a post's audit events, oldest first."""
    with Session(engine) as s:
        return list(
            s.exec(
                select(AuditEvent.note)
                .where(AuditEvent.object_type == "post", AuditEvent.object_id == str(post_id))
                .order_by(col(AuditEvent.id))
            )
        )


def test_a_text_the_channel_would_refuse_is_said_in_german(
    world: World, engine: Engine, worker: Worker
) -> None:
    post = _due_post(world, ago=timedelta(seconds=5))
    with Session(engine) as s:  # stored before the channel's checks ran (an older version)
        s.exec(
            update(Revision).where(col(Revision.piece_id) == post.piece_id).values(body="x" * 501)
        )
        s.commit()
    worker.sweep()
    state = _reload(engine, post.id)
    assert state.status == PostStatus.failed
    english = "Feed would refuse the text: text: 501 characters, Recording (tests) allows 500"
    german = "Der Kanal „Feed“ würde den Text ablehnen: 501 Zeichen, Recording (tests) erlaubt 500."
    assert state.last_error == english
    assert _said(state, "de") == german
    (attempt,) = _ledger(engine, post.id)
    assert attempt.outcome == "invalid"
    assert render_message("de", notes.said(attempt.error, attempt.reason)) == german
    # The activity log's note of the failure says it in German too (without the finding's
    # code, which the audit note does not keep: the finding stays as it was written).
    note = audit.note_message(_notes(engine, post.id)[-1])
    assert render_message("de", note).startswith("Der Kanal „Feed“ würde den Text ablehnen: ")


def test_a_missing_approved_revision_is_said_in_german(
    world: World, engine: Engine, worker: Worker
) -> None:
    post = _due_post(world, ago=timedelta(seconds=5))
    with Session(engine) as s:
        s.exec(delete(Revision).where(col(Revision.piece_id) == post.piece_id))
        s.commit()
    worker.sweep()
    state = _reload(engine, post.id)
    assert state.status == PostStatus.failed
    assert state.last_error == "approved revision 1 of the piece is missing"
    assert _said(state, "de") == "Die freigegebene Version 1 des Beitrags fehlt."
    assert render_message("de", audit.note_message(_notes(engine, post.id)[-1])) == (
        "Die freigegebene Version 1 des Beitrags fehlt."
    )


def test_a_misconfigured_channel_is_said_in_german(
    world: World, engine: Engine, worker: Worker
) -> None:
    post = _due_post(world, ago=timedelta(seconds=5))
    with Session(engine) as s:
        s.exec(update(Channel).where(col(Channel.id) == post.channel_id).values(settings={"x": 1}))
        s.commit()
    worker.sweep()
    state = _reload(engine, post.id)
    assert state.status == PostStatus.failed
    assert (state.last_error or "").startswith("channel 'Feed' is misconfigured: x: ")
    assert _said(state, "de") == (
        "Der Kanal „Feed“ ist nicht richtig eingerichtet: Einstellung „x“: Unbekannte "
        "Einstellung; bekannt sind: token."
    )


def test_a_post_withheld_at_the_last_moment_is_said_in_german(
    world: World, engine: Engine, recording_kind: type[recording.RecordingPublisher]
) -> None:
    post = _due_post(world, ago=timedelta(seconds=5))
    (delivery,) = publishing.claim_deliveries(
        engine,
        worker_id="w1",
        now=utcnow(),
        limit=5,
        lease=timedelta(seconds=30),
        lateness=timedelta(hours=6),
    )
    pieces.archive_piece(world.session, actor=world.editor, piece_id=post.piece_id)
    gate = Gate(engine, "w1", max_age=0)
    gate.hold([delivery], time.monotonic() + 30)
    publishing.deliver(engine, delivery, gate)
    publishing.finish_deliveries(engine, [delivery], worker_id="w1", settings=FAST)
    assert recording_kind.calls == []
    state = _reload(engine, post.id)
    assert (state.status, state.last_error) == (PostStatus.planned, "the piece is archived now")
    assert _said(state, "de") == "Der Beitrag wurde archiviert."
    assert _said(state, "en") == "the piece was archived"
    note = _notes(engine, post.id)[-1]
    assert note == "the piece is archived now"
    assert render_message("de", audit.note_message(note)) == "Der Beitrag wurde archiviert."


def test_the_activity_log_says_how_late_a_missed_post_was_in_words(
    world: World, engine: Engine
) -> None:
    post = _due_post(world, ago=timedelta(days=2))
    with Session(engine) as s:
        recovery.mark_missed(s, now=utcnow(), lateness=timedelta(hours=2))
    note = _notes(engine, post.id)[-1]
    assert note == "more than 2:00:00 late"  # as stored (and printed by the CLI)
    said = audit.note_message(note)
    assert render_message("de", said) == "mehr als 2 Stunden zu spät"
    assert render_message("en", said) == "more than 2 hours late"


@pytest.mark.parametrize(
    ("note", "german"),
    [
        pytest.param(
            "more than 1 day, 0:30:00 late", "mehr als 1.470 Minuten zu spät", id="a-day-and-more"
        ),
        pytest.param(
            "gave up after 3 attempts: HTTP 502",
            "Nach 3 Versuchen aufgegeben: HTTP 502",
            id="gave-up",
        ),
        pytest.param(
            "the channel is paused until 2026-12-05 19:00:00 UTC",
            "Der Kanal pausiert bis 05.12.2026 19:00 Uhr UTC.",
            id="paused",
        ),
        pytest.param(
            "worker w1 stopped; sending again",
            "Der Planer-Prozess w1 hat aufgehört; der Post wird noch einmal gesendet.",
            id="worker-stopped",
        ),
        pytest.param(
            "its request succeeded after the lease was lost",
            "Die Anfrage war erfolgreich, nachdem der Planer-Prozess den Post nicht mehr in der "
            "Hand hatte.",
            id="found",
        ),
        pytest.param("the channel is paused until soon UTC", None, id="not-a-moment"),
        pytest.param("Bitte erst nach der Messe", None, id="a-persons-note"),
    ],
)
def test_the_engines_audit_notes_are_recognised_and_others_left_alone(
    note: str, german: str | None
) -> None:
    said = notes.audit_note(note)
    if german is None:
        assert said is None and audit.note_message(note) == note
    else:
        assert said is not None and render_message("de", said) == german


def _engine_texts() -> tuple[dict[str, str], set[str]]:
    """What the engine writes, read from its source (planner/publishing, notes.py aside):
    each Message's code -> its English text, and every plain string."""
    coded: dict[str, str] = {}
    plain: set[str] = set()
    for path in sorted(Path(publishing.__file__).parent.glob("*.py")):
        if path.name == "notes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                plain.add(node.value)
            is_message = isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Message"
            if is_message and len(node.args) >= 2:
                code, text = node.args[0], node.args[1]
                if isinstance(code, ast.Constant) and isinstance(text, ast.Constant):
                    coded[code.value] = text.value
    return coded, plain


def test_the_audit_notes_recognised_are_worded_as_the_engine_writes_them() -> None:
    """`audit_note` keeps the engine's English wordings beside the places that write them:
    a wording changed there must be changed in notes.py too, or old and new notes would no
    longer be said in German."""
    coded, plain = _engine_texts()
    assert {code: coded.get(code) for code, _ in notes._TEMPLATES} == dict(notes._TEMPLATES)
    assert set(notes._FIXED) <= plain
