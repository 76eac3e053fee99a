"""Target audiences: kept by admins, named by ideas and pieces, filtered by, and watched
for audiences with nothing planned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from secrets import token_hex

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from planner import audiences, audit, channels, ideas, pieces, planning, slots, users
from planner.demo import load_demo
from planner.errors import NotFound, PermissionDenied, ValidationFailed
from planner.models import Audience, Idea, Piece, PieceStatus
from tests.conftest import World, utc

YEAR = datetime.now(UTC).year + 1


def _setup(world: World) -> None:
    for name in ("Blog", "Newsletter"):
        channels.create_channel(world.session, actor=world.admin, kind="recording", name=name)


def _audience(world: World, name: str = "Endkunden", **kwargs: object) -> Audience:
    return audiences.create_audience(world.session, actor=world.admin, name=name, **kwargs)  # type: ignore[arg-type]


def _idea(world: World, audience: str) -> Idea:
    return ideas.submit_idea(
        world.session,
        actor=world.contributor,
        data={
            "title": "Heat pump myths",
            "pitch": "Five myths, checked one by one.",
            "department": "Marketing",
            "target_audience": audience,
        },
    ).idea


def test_an_admin_adds_an_audience_with_its_channels_and_departments(
    world: World, engine: Engine
) -> None:
    _setup(world)
    made = _audience(
        world,
        description="Owners of single-family homes",
        channels=["newsletter", "Blog"],
        departments=["Marketing"],
    )
    with Session(engine) as fresh:
        views = audiences.list_audiences(fresh, actor=world.contributor)
    assert [
        (v.audience.name, v.audience.description, v.channels, v.departments) for v in views
    ] == [("Endkunden", "Owners of single-family homes", ["Blog", "Newsletter"], ["Marketing"])]
    events = audit.list_events(world.session, actor=world.admin, object_type="audience")
    assert [(e.object_id, e.action, e.note) for e in events] == [
        (str(made.id), "create", "Endkunden")
    ]


@pytest.mark.parametrize("role", ["editor", "approver", "contributor"])
def test_only_admins_manage_audiences(world: World, role: str) -> None:
    actor = getattr(world, role)
    _audience(world)
    with pytest.raises(PermissionDenied, match="may not manage audiences"):
        audiences.create_audience(world.session, actor=actor, name="Presse")
    with pytest.raises(PermissionDenied):
        audiences.update_audience(world.session, actor=actor, name="Endkunden", description="x")
    with pytest.raises(PermissionDenied):
        audiences.remove_audience(world.session, actor=actor, name="Endkunden")


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        pytest.param({"name": "X"}, "name", "2-80 characters", id="short"),
        pytest.param({"name": "ENDKUNDEN"}, "name", "'ENDKUNDEN' already exists", id="taken"),
        pytest.param(
            {"name": "Presse", "channels": ["Fax"]}, "channels", "'Fax' not found", id="channel"
        ),
        pytest.param(
            {"name": "Presse", "departments": ["Einkauf"]},
            "departments",
            "known: HR, Marketing",
            id="dept",
        ),
        pytest.param(
            {"name": "Presse", "description": "x" * 2001}, "description", "2000", id="long"
        ),
    ],
)
def test_bad_audience_input_is_refused_by_field_and_nothing_is_stored(
    world: World, engine: Engine, kwargs: dict[str, object], field: str, text: str
) -> None:
    _setup(world)
    _audience(world)
    with pytest.raises(ValidationFailed) as err:
        audiences.create_audience(world.session, actor=world.admin, **kwargs)  # type: ignore[arg-type]
    assert text in err.value.fields[field]
    with Session(engine) as fresh:
        assert [a.name for a in fresh.exec(select(Audience))] == ["Endkunden"]


def test_editing_renames_and_replaces_only_what_is_given(world: World) -> None:
    _setup(world)
    _audience(world, channels=["Blog"], departments=["HR"])
    audiences.update_audience(
        world.session,
        actor=world.admin,
        name="endkunden",
        new_name="Privatkunden",
        channels=["Newsletter"],
    )
    (view,) = audiences.list_audiences(world.session, actor=world.admin)
    assert (view.audience.name, view.channels, view.departments) == (
        "Privatkunden",
        ["Newsletter"],
        ["HR"],
    )
    _audience(world, name="Presse")
    with pytest.raises(ValidationFailed) as err:
        audiences.update_audience(
            world.session, actor=world.admin, name="Presse", new_name="privatkunden"
        )
    assert "already exists" in err.value.fields["new_name"]
    with pytest.raises(NotFound, match=r"'Fachpresse' not found.*known: Presse, Privatkunden"):
        audiences.update_audience(
            world.session, actor=world.admin, name="Fachpresse", description=""
        )


def test_an_idea_naming_an_audience_belongs_to_it_and_its_piece_too(world: World) -> None:
    audience = _audience(world)
    idea = _idea(world, "endkunden")
    assert (idea.audience_id, idea.target_audience) == (audience.id, "Endkunden")
    free = _idea(world, "Kunden mit Ambi-Thermostat")
    assert (free.audience_id, free.target_audience) == (None, "Kunden mit Ambi-Thermostat")
    assert idea.id is not None
    piece = ideas.accept_idea(world.session, actor=world.editor, idea_id=idea.id)
    assert piece.audience_id == audience.id


def test_removing_an_audience_takes_it_from_its_ideas_and_pieces(
    world: World, engine: Engine
) -> None:
    _setup(world)
    _audience(world, channels=["Blog"], departments=["HR"])
    idea = _idea(world, "Endkunden")
    assert idea.id is not None
    piece = ideas.accept_idea(world.session, actor=world.editor, idea_id=idea.id)
    assert audiences.remove_audience(world.session, actor=world.admin, name="Endkunden") == 2
    with Session(engine) as fresh:
        assert fresh.exec(select(Audience)).all() == []
        stored_idea, stored_piece = fresh.get(Idea, idea.id), fresh.get(Piece, piece.id)
        assert stored_idea is not None and stored_piece is not None
        assert (stored_idea.audience_id, stored_idea.target_audience) == (None, "Endkunden")
        assert stored_piece.audience_id is None
    events = audit.list_events(world.session, actor=world.admin, object_type="audience")
    assert events[-1].action == "remove"
    assert events[-1].note == "Endkunden (taken from 1 idea(s), 1 piece(s))"


def test_an_editor_names_a_pieces_audience(world: World) -> None:
    audience = _audience(world)
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Tip of the week"}
    )
    assert piece.id is not None
    named = audiences.set_piece_audience(
        world.session, actor=world.editor, piece_id=piece.id, audience="ENDKUNDEN"
    )
    assert named.audience_id == audience.id
    with pytest.raises(ValidationFailed) as err:
        audiences.set_piece_audience(
            world.session, actor=world.editor, piece_id=piece.id, audience="Presse"
        )
    assert "audience 'Presse' not found" in err.value.fields["audience"]
    with pytest.raises(PermissionDenied):
        audiences.set_piece_audience(
            world.session, actor=world.approver, piece_id=piece.id, audience=""
        )
    cleared = audiences.set_piece_audience(
        world.session, actor=world.editor, piece_id=piece.id, audience=""
    )
    assert cleared.audience_id is None


def _piece_for(world: World, title: str, audience: str | None) -> Piece:
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": title, "body": "Text"}
    )
    assert piece.id is not None
    if audience:
        audiences.set_piece_audience(
            world.session, actor=world.editor, piece_id=piece.id, audience=audience
        )
    return piece


def test_the_calendar_and_the_board_filter_by_audience(world: World) -> None:
    s = world.session
    _setup(world)
    customers, press = _audience(world), _audience(world, name="Presse")
    for_customers = _piece_for(world, "For customers", "Endkunden")
    for_press = _piece_for(world, "For the press", "Presse")
    _piece_for(world, "For nobody", None)
    for piece, day in ((for_customers, 2), (for_press, 3)):
        assert piece.id is not None
        planning.plan_post(
            s, actor=world.editor, piece_id=piece.id, channel="Blog", when=utc(YEAR, 2, day, 9)
        )
    entries = planning.calendar_entries(
        s, actor=world.editor, start=utc(YEAR, 2, 1), end=utc(YEAR, 3, 1), audience_id=press.id
    )
    assert [e.piece_title for e in entries] == ["For the press"]
    counts = planning.count_posts(
        s, actor=world.editor, bounds=[utc(YEAR, 2, 1), utc(YEAR, 3, 1)], audience_id=customers.id
    )
    assert counts == {(0, None): 1}
    listed = pieces.list_pieces(s, actor=world.editor, audience_id=customers.id)
    assert [p.title for p in listed] == ["For customers"]
    by_status = pieces.count_pieces_by_status(s, actor=world.editor, audience_id=press.id)
    assert by_status[PieceStatus.draft] == 1 and sum(by_status.values()) == 1


def test_audiences_with_nothing_planned_in_the_coming_weeks_are_listed(world: World) -> None:
    s = world.session
    _setup(world)
    for name in ("Endkunden", "Fachbetriebe", "Presse"):
        _audience(world, name=name)
    now = utc(YEAR, 2, 1)
    soon = _piece_for(world, "Soon", "Endkunden")
    later = _piece_for(world, "Later", "Fachbetriebe")
    cancelled = _piece_for(world, "Cancelled", "Presse")
    plans = (
        (soon, now + timedelta(weeks=3)),
        (later, now + timedelta(weeks=5)),
        (cancelled, now + timedelta(days=2)),
    )
    for piece, when in plans:
        assert piece.id is not None
        post = planning.plan_post(
            s, actor=world.editor, piece_id=piece.id, channel="Blog", when=when
        )
        if piece is cancelled:
            assert post.id is not None
            planning.cancel_post(s, actor=world.editor, post_id=post.id)
    quiet = audiences.audiences_without_plans(s, actor=world.editor, now=now)
    assert [(q.audience.name, q.last_post) for q in quiet] == [
        ("Fachbetriebe", None),
        ("Presse", None),
    ]
    assert [
        q.audience.name
        for q in audiences.audiences_without_plans(s, actor=world.editor, weeks=6, now=now)
    ] == ["Presse"]
    with pytest.raises(PermissionDenied):
        audiences.audiences_without_plans(s, actor=world.contributor, now=now)


def test_the_demo_has_audiences_that_its_ideas_name_and_slot_plans(session: Session) -> None:
    load_demo(session, password="demo-" + token_hex(8))
    admin = users.get_user(session, "admin")
    views = {v.audience.name: v for v in audiences.list_audiences(session, actor=admin)}
    assert 3 <= len(views) <= 4
    assert views["Endkunden"].channels == ["Blog", "Bluesky", "Mastodon", "Newsletter"]
    assert views["Endkunden"].departments == ["Customer Care", "Marketing"]
    named = session.exec(select(Idea).where(col(Idea.audience_id).is_not(None))).all()
    assert {i.audience_id for i in named} == {v.audience.id for v in views.values()}
    pieces_named = session.exec(select(Piece).where(col(Piece.audience_id).is_not(None))).all()
    assert pieces_named
    plans = slots.slot_plans(session, actor=admin)
    blog = channels.get_channel(session, "Blog")
    assert plans[blog.id or 0] == [slots.Slot(2, 600)]
    assert len(plans) == 6
