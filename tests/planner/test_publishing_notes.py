"""The engine's own explanations on posts and ledger rows: kept in English text for every
reader of the database, and beside it as a message the dashboard says in German or English."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from planner import channels, pieces, planning
from planner.models import Post, PostStatus, PublishAttempt, utcnow
from planner.publishing import EngineSettings, notes, recovery
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
