"""Input at the edges: ids too big for a column, control characters, dates at the ends of
the calendar, zone names that are no zone. Each is refused with a message, nothing stored."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, select

from planner import (
    audit,
    channels,
    csvio,
    ideas,
    notifications,
    org_settings,
    pieces,
    planning,
    users,
)
from planner.errors import CsvImportFailed, Message, NotFound, TimeInputError, ValidationFailed
from planner.models import Piece, Revision
from planner.schemas import ID_MAX, PieceCreate, PieceUpdate, parse_id, parse_input
from planner.timezones import parse_day_bound, parse_local_datetime, parse_to_utc, to_utc, zone
from tests.conftest import World


def _code(message: str) -> str:
    assert isinstance(message, Message), message
    return message.code


@pytest.mark.parametrize("value", [1, "1", " 42 ", ID_MAX, str(ID_MAX)])
def test_an_id_is_a_whole_number_a_postgresql_integer_column_holds(value: object) -> None:
    assert parse_id(value) == int(str(value))


@pytest.mark.parametrize(
    "value",
    [0, -1, ID_MAX + 1, 2**63, "9223372036854775808", "1" * 5000, "²", "1.0", "", True, None],
)
def test_anything_else_is_not_an_id(value: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_id(value, "piece_id")
    assert _code(info.value.fields["piece_id"]) == "not_an_id"
    assert "use a whole number from 1 to 2147483647" in info.value.fields["piece_id"]


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\r"])
def test_a_control_character_in_a_text_is_refused_and_nothing_stored(
    world: World, session: Session, char: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        pieces.create_piece(
            session, actor=world.editor, data={"title": "Messe", "body": f"Hallo{char}Welt"}
        )
    assert _code(info.value.fields["body"]) == "control_character"
    assert f"U+{ord(char):04X}" in info.value.fields["body"]
    session.rollback()
    assert session.exec(select(func.count()).select_from(Piece)).one() == 0


def test_a_lone_surrogate_is_not_text() -> None:
    # What Python makes of bytes in a command line that are not UTF-8.
    with pytest.raises(ValidationFailed) as info:
        parse_input(PieceCreate, {"title": "Messe", "body": "Hallo\udcffWelt"})
    assert _code(info.value.fields["body"]) == "not_text"


def test_line_breaks_and_tabs_are_text(world: World, session: Session) -> None:
    body = "Hallo\r\nWelt\n\tEingerückt\n"
    piece = pieces.create_piece(session, actor=world.editor, data={"title": "Messe", "body": body})
    assert piece.body == body


def test_an_edit_with_a_nul_byte_keeps_the_stored_piece(world: World, session: Session) -> None:
    piece = pieces.create_piece(session, actor=world.editor, data={"title": "Messe", "body": "a"})
    assert piece.id is not None
    for data in ({"body": "b\x00"}, {"title": "Mes\x00se"}, {"variants": {1: "\x00"}}):
        with pytest.raises(ValidationFailed):
            pieces.edit_piece(
                session, actor=world.editor, piece_id=piece.id, expected_revision=1, data=data
            )
        session.rollback()
    stored = pieces.get_piece(session, actor=world.editor, piece_id=piece.id)
    assert (stored.title, stored.body, stored.revision) == ("Messe", "a", 1)
    assert session.exec(select(func.count()).select_from(Revision)).one() == 1


def test_a_variant_for_a_channel_id_no_column_holds_is_refused(
    world: World, session: Session
) -> None:
    piece = pieces.create_piece(session, actor=world.editor, data={"title": "Messe", "body": "a"})
    assert piece.id is not None
    with pytest.raises(ValidationFailed) as info:
        pieces.edit_piece(
            session,
            actor=world.editor,
            piece_id=piece.id,
            expected_revision=1,
            data={"variants": {2**63: "Text"}},
        )
    assert _code(info.value.fields["variants"]) == "not_an_id"


def test_a_due_date_at_the_end_of_the_calendar_is_refused() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_input(PieceCreate, {"title": "Messe", "due_date": "9999-12-31"})
    assert _code(info.value.fields["due_date"]) == "date_out_of_range"


@pytest.mark.parametrize("piece_id", ["99999999999999999999", "2147483648", "²", "-1"])
def test_a_plan_import_with_an_impossible_id_names_the_line(
    world: World, session: Session, piece_id: str
) -> None:
    raw = f"piece_id,channel,publish_at\n{piece_id},Blog,2030-01-01 09:00\n"
    with pytest.raises(CsvImportFailed) as info:
        csvio.import_plan(session, actor=world.editor, raw=raw)
    [(line, problem)] = info.value.problems
    assert line == 2
    assert "piece_id" in problem
    assert "is not an id" in problem


@pytest.mark.parametrize(
    ("text", "tz_name"),
    [
        ("01.01.0001 00:00", "Europe/Berlin"),
        ("0001-01-01 00:00", "UTC"),
        ("9999-12-31 23:00", "America/Los_Angeles"),
        ("31.12.9999 23:59-12:00", "Europe/Berlin"),
    ],
)
def test_a_time_at_the_ends_of_the_calendar_is_refused(text: str, tz_name: str) -> None:
    for parse in (parse_to_utc, parse_local_datetime):
        with pytest.raises(TimeInputError) as info:
            parse(text, tz_name)
        assert _code(info.value.message) == "date_out_of_range"
        assert "use a year from 2 to 9998" in info.value.message


@pytest.mark.parametrize("text", ["9999-12-31", "31.12.9999", "0001-01-01", "01.01.0001"])
def test_a_day_bound_at_the_ends_of_the_calendar_is_refused(text: str) -> None:
    with pytest.raises(TimeInputError) as info:
        parse_day_bound(text, "Pacific/Kiritimati", end=True)
    assert _code(info.value.message) == "date_out_of_range"


def test_a_naive_time_at_the_end_of_the_calendar_is_refused() -> None:
    from datetime import datetime

    with pytest.raises(TimeInputError) as info:
        to_utc(datetime(9999, 12, 31, 20, 0), "America/Los_Angeles")
    assert _code(info.value.message) == "date_out_of_range"


def test_an_offset_of_a_day_or_more_is_not_a_time() -> None:
    with pytest.raises(TimeInputError) as info:
        parse_to_utc("2026-01-01 10:00+99:00", "Europe/Berlin")
    assert _code(info.value.message) == "bad_datetime"


@pytest.mark.parametrize(
    "name", ["a" * 300, "Europe/" + "x" * 300, "America", "Europe/", "a\x00b", "../etc", ""]
)
def test_a_name_that_is_no_zone_is_refused_with_a_message(name: str) -> None:
    with pytest.raises(TimeInputError) as info:
        zone(name)
    assert _code(info.value.message) == "unknown_zone"
    assert len(info.value.message) < 200


@pytest.mark.parametrize("ref", ["99999999999999999999", "2147483648", "²", "Blog\x00"])
def test_a_channel_named_by_an_impossible_id_or_name_is_not_found(
    world: World, session: Session, ref: str
) -> None:
    with pytest.raises(NotFound):
        channels.get_channel(session, ref)


def test_tags_that_are_neither_text_nor_a_list_are_refused() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_input(PieceUpdate, {"tags": 0})
    assert _code(info.value.fields["tags"]) == "not_text"


def _submitted_idea(world: World, session: Session) -> int:
    result = ideas.submit_idea(
        session,
        actor=world.contributor,
        data={"title": "Messe", "pitch": "Wir sind auf der Messe", "department": "Marketing"},
    )
    assert result.idea.id is not None
    return result.idea.id


def _piece_in_review(world: World, session: Session) -> int:
    piece = pieces.create_piece(session, actor=world.editor, data={"title": "Messe", "body": "a"})
    assert piece.id is not None
    pieces.submit_piece(session, actor=world.editor, piece_id=piece.id)
    return piece.id


SERVICES = {
    "reject": lambda w, s: ideas.reject_idea(
        s, actor=w.editor, idea_id=_submitted_idea(w, s), reason="nein\x00"
    ),
    "accept_note": lambda w, s: ideas.accept_idea(
        s, actor=w.editor, idea_id=_submitted_idea(w, s), note="ok\x00"
    ),
    "comment": lambda w, s: pieces.add_comment(
        s, actor=w.editor, piece_id=_piece_in_review(w, s), body="gut\x00"
    ),
    "request_changes": lambda w, s: pieces.request_changes(
        s, actor=w.approver, piece_id=_piece_in_review(w, s), comment="bitte\x00"
    ),
    "department": lambda w, s: users.create_department(s, actor=w.admin, name="Ver\x00trieb"),
    "channel": lambda w, s: channels.create_channel(
        s, actor=w.admin, kind="manual", name="Blog\x00"
    ),
    "channel_setting": lambda w, s: channels.create_channel(
        s, actor=w.admin, kind="webhook", name="Hook", settings={"url": "http://x\x00"}
    ),
    "setting": lambda w, s: org_settings.set_setting(
        s, actor=w.admin, key="org_timezone", value="Europe/Berlin\x00"
    ),
}


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_service_that_stores_free_text_refuses_a_nul_byte(
    world: World, session: Session, engine: Engine, service: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        SERVICES[service](world, session)
    [message] = info.value.fields.values()
    assert _code(message) == "control_character"
    session.rollback()
    with engine.connect() as conn:
        texts = [
            row
            for table in SQLModel.metadata.sorted_tables
            for row in conn.execute(table.select())
            if any(isinstance(v, str) and "\x00" in v for v in row)
        ]
    assert texts == []


_PAGED = {
    "ideas": lambda s, a, **page: ideas.list_ideas(s, actor=a, **page),
    "pieces": lambda s, a, **page: pieces.list_pieces(s, actor=a, **page),
    "review queue": lambda s, a, **page: pieces.review_queue(s, actor=a, **page),
    "series": lambda s, a, **page: planning.list_series(s, actor=a, **page),
    "audit events": lambda s, a, **page: audit.visible_events(s, actor=a, **page),
    "notifications": lambda s, a, **page: notifications.list_notifications(s, actor=a, **page),
}


@pytest.mark.parametrize("listing", sorted(_PAGED))
@pytest.mark.parametrize(
    ("page", "field", "code"),
    [
        ({"limit": 0}, "limit", "bad_limit"),
        ({"limit": -1}, "limit", "bad_limit"),
        ({"limit": 5, "offset": -1}, "offset", "bad_offset"),
    ],
)
def test_a_page_of_no_rows_or_before_the_first_row_is_refused_by_every_list(
    world: World, session: Session, listing: str, page: dict[str, int], field: str, code: str
) -> None:
    # SQLite reads LIMIT -1 as "all rows" and PostgreSQL refuses it with an SQL error:
    # each list says what is wrong instead, on both.
    with pytest.raises(ValidationFailed) as info:
        _PAGED[listing](session, world.editor, **page)
    assert _code(info.value.fields[field]) == code
    assert str(page[field]) in info.value.fields[field]


def test_a_move_with_an_over_long_note_is_refused_and_nothing_is_stored(
    world: World, session: Session
) -> None:
    idea = ideas.submit_idea(
        session,
        actor=world.contributor,
        data={
            "title": "Tag der offenen Tür",
            "pitch": "Ein Samstag im Mai",
            "department": "Marketing",
        },
    ).idea
    assert idea.id is not None
    with pytest.raises(ValidationFailed) as info:
        ideas.reject_idea(session, actor=world.editor, idea_id=idea.id, reason="x" * 5001)
    assert _code(info.value.fields["note"]) == "too_long"
    assert "at most 5000 characters" in info.value.fields["note"]
    session.rollback()
    assert ideas.get_idea(session, actor=world.editor, idea_id=idea.id).status == "submitted"
    # At the limit it is taken.
    ideas.reject_idea(session, actor=world.editor, idea_id=idea.id, reason="x" * 5000)
    assert ideas.get_idea(session, actor=world.editor, idea_id=idea.id).status == "rejected"
