"""One-time form tokens: a form sent twice, one after the other or at the same moment,
creates one thing, and the second send names it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session, func, select

from planner import channels, ideas, pieces, planning
from planner.errors import AlreadySent, EditConflict, ValidationFailed
from planner.models import (
    AuditEvent,
    Comment,
    FormSubmission,
    Idea,
    Post,
    Revision,
    Series,
    User,
    utcnow,
)
from tests.conftest import World

NEXT_YEAR = datetime.now(UTC).year + 1
IDEA = {"title": "Winter tyres", "pitch": "Why winter tyres matter.", "department": "Marketing"}


def _count(engine: Engine, table: type[Any]) -> int:
    with Session(engine) as fresh:
        return int(fresh.exec(select(func.count()).select_from(table)).one())


def _piece(world: World) -> int:
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Tyres", "body": "First text"}
    )
    assert piece.id is not None
    return piece.id


def _channel(world: World) -> int:
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Mastodon"
    )
    assert channel.id is not None
    return channel.id


def _nothing(world: World) -> dict[str, int]:
    return {}


def _a_piece(world: World) -> dict[str, int]:
    return {"piece": _piece(world)}


def _a_piece_and_channel(world: World) -> dict[str, int]:
    return {"piece": _piece(world), "channel": _channel(world)}


def _send_idea(world: World, session: Session, ids: dict[str, int], token: str | None) -> Any:
    return ideas.submit_idea(session, actor=world.editor, data=IDEA, token=token).idea.id


def _send_comment(world: World, session: Session, ids: dict[str, int], token: str | None) -> Any:
    return pieces.add_comment(
        session, actor=world.editor, piece_id=ids["piece"], body="Looks good.", token=token
    ).id


def _send_revision(world: World, session: Session, ids: dict[str, int], token: str | None) -> Any:
    pieces.edit_piece(
        session,
        actor=world.editor,
        piece_id=ids["piece"],
        expected_revision=1,
        data={"body": "Second text", "note": "shorter"},
        token=token,
    )
    return session.exec(
        select(Revision.id).where(Revision.piece_id == ids["piece"], Revision.number == 2)
    ).one()


def _send_post(world: World, session: Session, ids: dict[str, int], token: str | None) -> Any:
    where = {"actor": world.editor, "piece_id": ids["piece"], "channel": ids["channel"]}
    return planning.plan_post(session, **where, when=f"{NEXT_YEAR}-05-04 09:30", token=token).id


def _send_series(world: World, session: Session, ids: dict[str, int], token: str | None) -> Any:
    where = {"actor": world.editor, "piece_id": ids["piece"], "channel": ids["channel"]}
    start = f"{NEXT_YEAR}-05-04 09:30"
    return planning.create_series(
        session, **where, rule="FREQ=WEEKLY;COUNT=3", start=start, token=token
    ).id


Prepare = Callable[[World], dict[str, int]]
Send = Callable[[World, Session, dict[str, int], str | None], Any]
FORMS = [
    pytest.param(_nothing, _send_idea, Idea, "idea", id="idea"),
    pytest.param(_a_piece, _send_comment, Comment, "comment", id="comment"),
    pytest.param(_a_piece, _send_revision, Revision, "revision", id="revision"),
    pytest.param(_a_piece_and_channel, _send_post, Post, "post", id="post"),
    pytest.param(_a_piece_and_channel, _send_series, Series, "series", id="series"),
]


@pytest.mark.parametrize(("prepare", "send", "table", "action"), FORMS)
def test_a_form_sent_twice_creates_one_thing_and_the_second_send_names_it(
    world: World, engine: Engine, prepare: Prepare, send: Send, table: type[Any], action: str
) -> None:
    ids = prepare(world)
    first = send(world, world.session, ids, "form-1")
    things, events = _count(engine, table), _count(engine, AuditEvent)

    with pytest.raises(AlreadySent) as caught:
        send(world, world.session, ids, "form-1")

    assert (caught.value.action, caught.value.object_id) == (action, first)
    assert f"it created {action} #{first}" in str(caught.value)
    assert (_count(engine, table), _count(engine, AuditEvent)) == (things, events)


def test_without_a_token_every_call_creates_one_more_idea(world: World, engine: Engine) -> None:
    first = _send_idea(world, world.session, {}, None)
    second = _send_idea(world, world.session, {}, None)

    assert first != second
    assert _count(engine, Idea) == 2
    assert _count(engine, FormSubmission) == 0


def test_a_fresh_token_creates_a_new_idea(world: World, engine: Engine) -> None:
    _send_idea(world, world.session, {}, "form-1")
    _send_idea(world, world.session, {}, "form-2")

    assert _count(engine, Idea) == 2


def test_a_refused_send_does_not_spend_its_token(world: World, engine: Engine) -> None:
    with pytest.raises(ValidationFailed):
        ideas.submit_idea(
            world.session, actor=world.editor, data={**IDEA, "title": ""}, token="form-1"
        )

    created = _send_idea(world, world.session, {}, "form-1")

    assert _count(engine, Idea) == 1
    with Session(engine) as fresh:
        spent = fresh.get(FormSubmission, "form-1")
        assert spent is not None
        assert (spent.action, spent.object_id, spent.user_id) == ("idea", created, world.editor.id)


def test_another_users_spent_token_is_refused_without_naming_what_it_created(
    world: World, engine: Engine
) -> None:
    _send_idea(world, world.session, {}, "form-1")

    with pytest.raises(AlreadySent) as caught:
        ideas.submit_idea(world.session, actor=world.contributor, data=IDEA, token="form-1")

    assert caught.value.object_id is None
    assert _count(engine, Idea) == 1


@pytest.mark.parametrize("token", ["", "x" * 65, "line\nbreak"], ids=["empty", "long", "control"])
def test_a_malformed_token_is_refused_and_nothing_is_created(
    world: World, engine: Engine, token: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        _send_idea(world, world.session, {}, token)

    assert set(caught.value.fields) == {"token"}
    assert _count(engine, Idea) == 0


def test_tokens_older_than_a_day_are_pruned_when_a_token_is_spent(
    world: World, engine: Engine
) -> None:
    assert world.editor.id is not None
    world.session.add(
        FormSubmission(
            token="old",
            user_id=world.editor.id,
            action="idea",
            created_at=utcnow() - timedelta(days=1, minutes=1),
        )
    )
    world.session.add(
        FormSubmission(
            token="recent",
            user_id=world.editor.id,
            action="idea",
            created_at=utcnow() - timedelta(hours=23),
        )
    )
    world.session.commit()

    _send_idea(world, world.session, {}, "new")

    with Session(engine) as fresh:
        kept = set(fresh.exec(select(FormSubmission.token)))
    assert kept == {"recent", "new"}


def _race(
    engine: Engine, first: Callable[[Session], object], second: Callable[[Session], object]
) -> tuple[object, object]:
    """Run `first` and `second` in two threads with their own connections, so that
    `second` looks for the token before `first` commits and stores after it."""
    second_looked = threading.Event()
    outcomes: list[object] = [None, None]

    def run(index: int, send: Callable[[Session], object], session: Session) -> None:
        try:
            outcomes[index] = send(session)
        except Exception as err:  # noqa: BLE001 (the outcome is what the test checks)
            outcomes[index] = err

    with Session(engine, expire_on_commit=False) as one, Session(engine) as two:

        @event.listens_for(one, "before_commit")
        def wait_for_second(_session: Session) -> None:
            # Everything of the first send is flushed (its token row too): hold the commit
            # until the second send has looked for the token, and a little longer, so that
            # it finds nothing and goes on to store.
            second_looked.wait(timeout=10)
            time.sleep(0.3)

        @event.listens_for(two, "do_orm_execute")
        def looked(state: ORMExecuteState) -> None:
            if state.bind_mapper is not None and state.bind_mapper.class_ is FormSubmission:
                second_looked.set()

        threads = [
            threading.Thread(target=run, args=(0, first, one)),
            threading.Thread(target=run, args=(1, second, two)),
        ]
        threads[0].start()
        time.sleep(0.1)
        threads[1].start()
        for thread in threads:
            thread.join(timeout=30)
    return outcomes[0], outcomes[1]


def test_the_same_idea_form_sent_at_the_same_moment_creates_one_idea(
    world: World, engine: Engine
) -> None:
    def send(session: Session) -> Idea:
        actor = session.get(User, world.editor.id)
        assert actor is not None
        return ideas.submit_idea(session, actor=actor, data=IDEA, token="form-1").idea

    first, second = _race(engine, send, send)

    assert isinstance(first, Idea)
    assert isinstance(second, AlreadySent)
    # The second send got past the first look and lost on the token's key: its whole
    # transaction (idea and audit event) was rolled back.
    assert isinstance(second.__cause__, IntegrityError)
    assert (second.action, second.object_id) == ("idea", first.id)
    assert _count(engine, Idea) == 1
    with Session(engine) as fresh:
        events = fresh.exec(select(AuditEvent).where(AuditEvent.object_type == "idea")).all()
    assert len(events) == 1


def test_the_same_version_saved_at_the_same_moment_creates_one_version(
    world: World, engine: Engine
) -> None:
    piece_id = _piece(world)

    def save(session: Session) -> int:
        actor = session.get(User, world.editor.id)
        assert actor is not None
        return pieces.edit_piece(
            session,
            actor=actor,
            piece_id=piece_id,
            expected_revision=1,
            data={"body": "Second text"},
            token="form-1",
        ).revision

    first, second = _race(engine, save, save)

    assert first == 2
    assert isinstance(second, AlreadySent)
    # It passed the first look too, and lost on the piece's row version.
    assert isinstance(second.__context__, EditConflict)
    assert second.action == "revision"
    assert _count(engine, Revision) == 2
