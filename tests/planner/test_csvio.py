"""CSV import/export: all or nothing, every broken line named, round trips."""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, func, select

from planner import audit, channels, cli, csvio, ideas, pieces, planning
from planner.db import make_engine
from planner.errors import CsvImportFailed, ExportFailed, Message, PermissionDenied
from planner.models import AuditEvent, Idea, IdeaStatus, Post, PostStatus
from planner.ui import i18n
from tests.conftest import World, last_sunday
from tests.exported import csv_rows

GOOD_IDEAS = (
    "title,pitch,department,urgency,tags\n"
    "Tag der offenen Tür,Wir zeigen unser neues Büro in Leipzig,Marketing,high,event;büro\n"
    "Onboarding-Serie,Neue Kolleginnen erzählen von ihrer ersten Woche,HR,normal,\n"
)


def _ideas(world: World, ids: list[int]) -> list[Idea]:
    """The stored ideas with these ids, in this order, as the database has them."""
    world.session.expire_all()
    found = {i.id: i for i in world.session.exec(select(Idea).where(col(Idea.id).in_(ids)))}
    return [found[i] for i in ids]


def _count(world: World, model: type) -> int:
    return int(world.session.exec(select(func.count()).select_from(model)).one())


def test_import_ideas_stores_every_row_with_an_audit_event(world: World) -> None:
    stored = _ideas(
        world, csvio.import_ideas(world.session, actor=world.editor, raw=GOOD_IDEAS.encode())
    )
    assert [i.title for i in stored] == ["Tag der offenen Tür", "Onboarding-Serie"]
    assert stored[0].tags == ["event", "büro"]
    assert _count(world, Idea) == 2
    submits = world.session.exec(select(AuditEvent).where(AuditEvent.action == "submit")).all()
    assert len(submits) == 2
    # The bulk insert extends the audit log's hash chain like any other write.
    report = audit.verify(world.session, actor=world.admin)
    assert report.intact and report.events == _count(world, AuditEvent)
    assert all(e.hash for e in submits)


def test_import_with_broken_rows_imports_nothing_and_names_every_line(world: World) -> None:
    raw = (
        "title,pitch,department,urgency,source_url\n"
        "Gute Idee,Ein ordentlicher Pitch mit Inhalt,Marketing,normal,\n"  # line 2 ok
        "x,Ein ordentlicher Pitch mit Inhalt,Marketing,normal,\n"  # line 3: title too short
        "Noch eine,Pitch der lang genug ist,Vertrieb,normal,\n"  # line 4: unknown department
        "Dritte Idee,Pitch der lang genug ist,Marketing,sofort,\n"  # line 5: bad urgency
        "Vierte Idee,Pitch der lang genug ist,Marketing,low,ftp://x\n"  # line 6: bad URL
        "Fünfte,zu,viele,Felder,hier,zusätzlich\n"  # line 7: too many fields
    )
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_ideas(world.session, actor=world.editor, raw=raw.encode())
    lines = [line for line, _msg in caught.value.problems]
    assert lines == [3, 4, 5, 6, 7]
    messages = dict(caught.value.problems)
    assert "title" in messages[3]
    assert "Vertrieb" in messages[4]
    assert "sofort" in messages[5]
    assert "ftp://x" in messages[6]
    assert "6 fields" in messages[7]
    assert "line 3" in str(caught.value)
    assert _count(world, Idea) == 0
    assert world.session.exec(select(AuditEvent).where(AuditEvent.action == "submit")).all() == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b"", "empty", id="empty-file"),
        pytest.param(b"title,pitch\nA title,some pitch text\n", "department", id="missing-col"),
        pytest.param(
            b"title,pitch,department,colour\nA,B,C,D\n", "unknown column", id="unknown-col"
        ),
        pytest.param(b"title,pitch,department\n", "no rows", id="header-only"),
        pytest.param(
            b'title,pitch,department\n"unterminated,pitch,Marketing\n', "", id="broken-quote"
        ),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV text file", id="binary"),
    ],
)
def test_malformed_files_are_refused_with_a_line_number(
    world: World, raw: bytes, expected: str
) -> None:
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_ideas(world.session, actor=world.editor, raw=raw)
    assert caught.value.problems
    assert all(line >= 1 for line, _ in caught.value.problems)
    assert expected in str(caught.value)
    assert _count(world, Idea) == 0


def test_semicolon_and_windows_1252_files_from_spreadsheets_import(world: World) -> None:
    raw = "title;pitch;department\nGrüße aus Köln;Ein Gruß an alle Kunden;Marketing\n"
    stored = _ideas(
        world, csvio.import_ideas(world.session, actor=world.editor, raw=raw.encode("cp1252"))
    )
    assert stored[0].title == "Grüße aus Köln"


def test_contributor_import_for_another_department_is_refused_per_line(world: World) -> None:
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_ideas(world.session, actor=world.contributor, raw=GOOD_IDEAS.encode())
    assert [line for line, _ in caught.value.problems] == [3]
    assert "own department" in caught.value.problems[0][1]
    assert _count(world, Idea) == 0


def test_ideas_export_round_trips_and_neutralises_formulas(world: World) -> None:
    ideas.submit_idea(
        world.session,
        actor=world.editor,
        data={"title": "=HYPERLINK(1)", "pitch": "+49 ist eine Vorwahl", "department": "HR"},
    )
    out = io.StringIO()
    assert csvio.export_ideas(world.session, actor=world.editor, out=out) == 1
    row = csv_rows(out.getvalue())[0]
    assert row["title"] == "'=HYPERLINK(1)"
    assert row["pitch"] == "'+49 ist eine Vorwahl"
    assert row["department"] == "HR"
    again = _ideas(world, csvio.import_ideas(world.session, actor=world.editor, raw=out.getvalue()))
    assert again[0].title == "=HYPERLINK(1)"
    assert again[0].pitch == "+49 ist eine Vorwahl"


def test_a_formula_after_a_semicolon_is_neutralised_for_spreadsheets_that_split_there(
    world: World,
) -> None:
    """German Excel splits a line at ";", also in a comma-separated file: what follows a
    semicolon starts a cell there, so it is escaped like a cell's first character."""
    title = "'=Herbst;=cmd|' /C calc'!A0"
    pitch = "Preise; -5 % ab Montag;  @alle; '=wörtlich"
    ideas.submit_idea(
        world.session,
        actor=world.editor,
        data={"title": title, "pitch": pitch, "department": "HR"},
    )
    out = io.StringIO()
    csvio.export_ideas(world.session, actor=world.editor, out=out)
    row = csv_rows(out.getvalue())[0]
    assert row["title"] == "''=Herbst;'=cmd|' /C calc'!A0"
    assert row["pitch"] == "Preise; '-5 % ab Montag;  '@alle; ''=wörtlich"
    for line in out.getvalue().splitlines():
        for split_cell in line.split(";"):
            assert not split_cell.strip().startswith(("=", "+", "-", "@")), split_cell
    again = _ideas(world, csvio.import_ideas(world.session, actor=world.editor, raw=out.getvalue()))
    assert (again[0].title, again[0].pitch) == (title, pitch)


def test_contributor_export_holds_only_their_department(world: World) -> None:
    csvio.import_ideas(world.session, actor=world.editor, raw=GOOD_IDEAS.encode())
    out = io.StringIO()
    csvio.export_ideas(world.session, actor=world.contributor, out=out)
    departments = {r["department"] for r in csv_rows(out.getvalue())}
    assert departments == {"Marketing"}


def _piece_and_channel(world: World) -> tuple[int, int]:
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Adventskalender", "body": "Text"}
    )
    chan = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Social"
    )
    assert piece.id is not None and chan.id is not None
    return piece.id, chan.id


def test_plan_import_creates_posts_in_the_given_zone(world: World) -> None:
    piece_id, _ = _piece_and_channel(world)
    year = datetime.now(UTC).year + 1
    raw = (
        "piece_id,channel,publish_at,timezone\n"
        f"{piece_id},Social,{year}-01-15 09:30,Europe/Berlin\n"
        f"{piece_id},social,15.07.{year} 09:30,\n"
    )
    result = csvio.import_plan(world.session, actor=world.editor, raw=raw)
    assert [p.publish_at for p in result.created] == [
        datetime(year, 1, 15, 8, 30, tzinfo=UTC),
        datetime(year, 7, 15, 7, 30, tzinfo=UTC),
    ]


def test_plan_import_with_a_broken_row_plans_nothing(world: World) -> None:
    piece_id, _ = _piece_and_channel(world)
    year = datetime.now(UTC).year + 1
    raw = (
        "piece_id,channel,publish_at\n"
        f"{piece_id},Social,{year}-01-15 09:30\n"
        f"{piece_id},Fax,{year}-01-15 09:30\n"
        f"{piece_id},Social,{year}-03-{last_sunday(year, 3)} 02:30\n"  # the spring gap
        f"abc,Social,{year}-01-15 09:30\n"
        f"{piece_id},Social,gestern\n"
    )
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_plan(world.session, actor=world.editor, raw=raw)
    problems = dict(caught.value.problems)
    assert sorted(problems) == [3, 4, 5, 6]
    assert "Fax" in problems[3]
    assert "does not exist" in problems[4]
    assert "abc" in problems[5]
    assert "gestern" in problems[6]
    assert _count(world, Post) == 0


def test_plan_import_refuses_rows_that_would_send_one_piece_twice(world: World) -> None:
    """Two rows of the file put a piece on a channel 30 minutes apart: the second is named
    with the first's line, and nothing is planned."""
    piece_id, _ = _piece_and_channel(world)
    year = datetime.now(UTC).year + 1
    raw = (
        "piece_id,channel,publish_at\n"
        f"{piece_id},Social,{year}-01-15 09:30\n"
        f"{piece_id},Social,{year}-01-15 12:00\n"
        f"{piece_id},Social,{year}-01-15 10:00\n"
    )
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_plan(world.session, actor=world.editor, raw=raw)
    [(line, problem)] = caught.value.problems
    assert (line, getattr(problem, "code", None)) == (4, "same_post_in_file")
    assert problem.startswith("line 2 puts piece")
    assert _count(world, Post) == 0


def test_plan_import_refuses_a_status_it_does_not_set_and_a_post_named_twice(
    world: World,
) -> None:
    piece_id, _ = _piece_and_channel(world)
    year = datetime.now(UTC).year + 1
    planned = csvio.import_plan(
        world.session,
        actor=world.editor,
        raw=f"piece_id,channel,publish_at\n{piece_id},Social,{year}-01-15 09:30\n",
    ).created[0]
    raw = (
        "post_id,piece_id,channel,publish_at,status\n"
        f",{piece_id},Social,{year}-02-01 09:30,cancelled\n"
        f"{planned.id},{piece_id},Social,{year}-02-02 09:30,planned\n"
        f"{planned.id},{piece_id},Social,{year}-02-03 09:30,\n"
        f"{planned.id},{piece_id},Social,{year}-01-15 09:30,published\n"
    )
    # Before, the cancelled row was planned and the post moved twice, the last line winning.
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_plan(world.session, actor=world.editor, raw=raw)
    problems = dict(caught.value.problems)
    assert sorted(problems) == [2, 4, 5]
    assert "does not make one 'cancelled' (it is 'planned')" in problems[2]
    assert f"post {planned.id} is on line 3 already" in problems[4]
    assert f"post {planned.id} is on line 3 already" in problems[5]
    assert _count(world, Post) == 1
    world.session.refresh(planned)
    assert planned.publish_at == datetime(year, 1, 15, 8, 30, tzinfo=UTC)
    # The export's own status column imports again as it is.
    kept = csvio.import_plan(
        world.session,
        actor=world.editor,
        raw=(
            "post_id,piece_id,channel,publish_at,status\n"
            f"{planned.id},{piece_id},Social,{year}-01-15 09:30,planned\n"
        ),
    )
    assert (kept.unchanged, kept.moved, kept.created) == (1, [], [])


def test_plan_export_then_import_moves_changed_posts_and_keeps_the_rest(world: World) -> None:
    piece_id, chan_id = _piece_and_channel(world)
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=3)
    first = planning.plan_post(
        world.session, actor=world.editor, piece_id=piece_id, channel=chan_id, when=start
    )
    planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece_id,
        channel=chan_id,
        when=start + timedelta(days=1),
    )
    out = io.StringIO()
    assert csvio.export_plan(world.session, actor=world.editor, out=out) == 2
    rows = csv_rows(out.getvalue())
    later = (start + timedelta(days=7)).astimezone(UTC)
    rows[0]["publish_at"] = later.strftime("%Y-%m-%d %H:%M+00:00")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=csvio.PLAN_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    result = csvio.import_plan(world.session, actor=world.editor, raw=buf.getvalue())
    assert [p.id for p in result.moved] == [first.id]
    assert result.unchanged == 1
    assert result.created == []
    world.session.expire_all()
    assert planning.get_post(world.session, actor=world.admin, post_id=first.id).publish_at == later
    assert _count(world, Post) == 2


def test_audit_export_filters_by_range_and_needs_permission(world: World) -> None:
    out = io.StringIO()
    count = csvio.export_audit(world.session, actor=world.admin, out=out)
    rows = csv_rows(out.getvalue())
    assert count == len(rows) > 0
    assert {"create"} <= {r["action"] for r in rows}
    future = io.StringIO()
    later = datetime.now(UTC) + timedelta(days=1)
    assert csvio.export_audit(world.session, actor=world.admin, out=future, since=later) == 0
    # A contributor gets what the Activity page shows them: their own actions.
    own = io.StringIO()
    csvio.export_audit(world.session, actor=world.contributor, out=own)
    assert {r["actor"] for r in csv_rows(own.getvalue())} <= {world.contributor.username}
    world.contributor.disabled = True
    with pytest.raises(PermissionDenied):
        csvio.export_audit(world.session, actor=world.contributor, out=io.StringIO())


def _plan_rows(*posts: tuple[Post, datetime]) -> str:
    """A plan file that moves each post to its time (UTC)."""
    lines = ["post_id,piece_id,channel,publish_at,timezone"]
    for post, when in posts:
        lines.append(f"{post.id},{post.piece_id},Social,{when:%Y-%m-%d %H:%M},UTC")
    return "\n".join(lines) + "\n"


def _set_status(world: World, post: Post, status: PostStatus) -> None:
    # Only the scheduler puts a post in these states; the test does it directly.
    post.status = status
    world.session.add(post)
    world.session.commit()


def _events(world: World) -> list[tuple[str, str | None, str | None]]:
    return [
        (e.action, e.from_state, e.to_state)
        for e in world.session.exec(select(AuditEvent).where(AuditEvent.object_type == "post"))
    ]


def test_plan_import_moves_a_post_only_as_the_calendar_may(world: World) -> None:
    piece_id, chan_id = _piece_and_channel(world)
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=3)
    posts = [
        planning.plan_post(
            world.session,
            actor=world.editor,
            piece_id=piece_id,
            channel=chan_id,
            when=start + timedelta(hours=i),
        )
        for i in range(3)
    ]
    _set_status(world, posts[1], PostStatus.needs_check)
    _set_status(world, posts[2], PostStatus.published)
    later = start + timedelta(days=7)
    apart = later + timedelta(hours=2)  # not next to the first post's new time
    new_post = f",{piece_id},Social,{apart:%Y-%m-%d %H:%M},UTC\n"  # a valid row on its own
    raw = _plan_rows(*((p, later) for p in posts)) + new_post
    events = _events(world)

    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_plan(world.session, actor=world.editor, raw=raw)

    problems = dict(caught.value.problems)
    assert sorted(problems) == [3, 4]
    assert problems[3] == (
        f"Cannot move post {posts[1].id} while it is 'needs_check'; allowed: cancel, retry, "
        "mark_posted"
    )
    assert getattr(problems[4], "code", None) == "illegal_move"
    assert getattr(problems[4], "params", {})["allowed"] == []
    world.session.expire_all()
    stored = [planning.get_post(world.session, actor=world.admin, post_id=p.id or 0) for p in posts]
    assert [p.publish_at for p in stored] == [start + timedelta(hours=i) for i in range(3)]
    assert [p.status for p in stored] == [
        PostStatus.planned,
        PostStatus.needs_check,
        PostStatus.published,
    ]
    assert _count(world, Post) == 3
    assert _events(world) == events


def test_plan_import_refuses_to_move_a_post_into_the_past(world: World) -> None:
    piece_id, chan_id = _piece_and_channel(world)
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=3)
    post = planning.plan_post(
        world.session, actor=world.editor, piece_id=piece_id, channel=chan_id, when=start
    )

    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_plan(
            world.session,
            actor=world.editor,
            raw=_plan_rows((post, start - timedelta(days=9))),
        )

    [(line, problem)] = caught.value.problems
    assert (line, getattr(problem, "code", None)) == (2, "csv_field")
    assert "in the past" in problem
    world.session.expire_all()
    assert (
        planning.get_post(world.session, actor=world.admin, post_id=post.id or 0).publish_at
        == start
    )


def test_plan_import_plans_a_failed_post_again_with_the_moves_audit_event(world: World) -> None:
    piece_id, chan_id = _piece_and_channel(world)
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=3)
    post = planning.plan_post(
        world.session, actor=world.editor, piece_id=piece_id, channel=chan_id, when=start
    )
    post.last_error = "HTTP 500"
    _set_status(world, post, PostStatus.failed)
    later = start + timedelta(days=1)

    result = csvio.import_plan(world.session, actor=world.editor, raw=_plan_rows((post, later)))

    assert [p.id for p in result.moved] == [post.id]
    world.session.expire_all()
    moved = planning.get_post(world.session, actor=world.admin, post_id=post.id or 0)
    assert (moved.status, moved.publish_at, moved.last_error) == (PostStatus.planned, later, None)
    event = world.session.exec(
        select(AuditEvent).where(AuditEvent.action == "move", AuditEvent.object_id == str(post.id))
    ).one()
    assert (event.from_state, event.to_state, event.version) == ("failed", "planned", moved.version)
    assert event.note.startswith("plan import: ")


def test_an_exported_plan_with_posts_that_went_out_imports_again_unchanged(world: World) -> None:
    piece_id, chan_id = _piece_and_channel(world)
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=3)
    posts = []
    for _ in range(2):  # one cancelled, then one that went out, at the same time
        posts.append(
            planning.plan_post(
                world.session, actor=world.editor, piece_id=piece_id, channel=chan_id, when=start
            )
        )
        if len(posts) == 1:
            planning.cancel_post(world.session, actor=world.editor, post_id=posts[0].id or 0)
    _set_status(world, posts[1], PostStatus.published)
    out = io.StringIO()
    csvio.export_plan(world.session, actor=world.editor, out=out)

    result = csvio.import_plan(world.session, actor=world.editor, raw=out.getvalue())

    assert (result.moved, result.created, result.unchanged) == ([], [], 2)


# --- size limits, checked before any row ------------------------------------------------


def test_a_file_over_the_byte_limit_is_refused_before_it_is_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvio, "MAX_BYTES", len(GOOD_IDEAS.encode()) - 1)
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_ideas(world.session, actor=world.editor, raw=GOOD_IDEAS.encode())
    [(line, problem)] = caught.value.problems
    assert (line, getattr(problem, "code", None)) == (1, "csv_too_large")
    assert f"{len(GOOD_IDEAS.encode())} bytes" in problem
    assert _count(world, Idea) == 0


def test_a_file_over_the_row_limit_is_refused_before_any_row_is_checked(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvio, "MAX_ROWS", 3)
    raw = "title,pitch,department\n" + "x,kurz,Vertrieb\n" * 4  # every row broken, too
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_ideas(world.session, actor=world.editor, raw=raw)
    [(line, problem)] = caught.value.problems
    assert (line, getattr(problem, "code", None)) == (5, "csv_too_many_rows")
    assert "more than 3 rows" in problem


def test_rows_spanning_several_lines_count_once_against_the_row_limit(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvio, "MAX_ROWS", 2)
    raw = (
        "title,pitch,department\n"
        'Erste Idee,"Ein Pitch\nüber drei\nZeilen",Marketing\n'
        'Zweite Idee,"Noch ein Pitch\nüber zwei Zeilen",HR\n'
    )
    stored = _ideas(world, csvio.import_ideas(world.session, actor=world.editor, raw=raw))
    assert [i.pitch for i in stored] == [
        "Ein Pitch\nüber drei\nZeilen",
        "Noch ein Pitch\nüber zwei Zeilen",
    ]


# --- one bulk insert --------------------------------------------------------------------


def test_a_large_import_costs_a_few_statements_not_some_per_row(world: World) -> None:
    rows = 1500
    raw = "title,pitch,department,tags\n" + "".join(
        f"Idee {i},Ein Pitch für die Idee {i},{('Marketing', 'HR')[i % 2]},t{i % 3};alle\n"
        for i in range(rows)
    )
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = world.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        ids = csvio.import_ideas(world.session, actor=world.editor, raw=raw)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    # Two department look-ups and a few multi-row inserts, however many rows there are.
    assert len(statements) < 20, statements[:30]
    stored = _ideas(world, ids)
    assert [i.title for i in stored] == [f"Idee {i}" for i in range(rows)]
    assert stored[7].tags == ["t1", "alle"]
    assert {(i.version, i.submitted_by_id, i.status) for i in stored} == {
        (1, world.editor.id, IdeaStatus.submitted)
    }
    events = world.session.exec(select(AuditEvent).where(AuditEvent.action == "submit")).all()
    assert sorted(e.object_id for e in events) == sorted(str(i) for i in ids)
    assert {(e.actor_id, e.object_type, e.to_state) for e in events} == {
        (world.editor.id, "idea", "submitted")
    }


def test_a_broken_last_row_among_many_stores_nothing(world: World) -> None:
    raw = (
        "title,pitch,department\n"
        + "".join(f"Idee {i},Ein Pitch für die Idee {i},Marketing\n" for i in range(500))
        + "Letzte Idee,Ein Pitch für die letzte Idee,Vertrieb\n"
    )
    events = _count(world, AuditEvent)
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_ideas(world.session, actor=world.editor, raw=raw)
    [(line, problem)] = caught.value.problems
    assert line == 502 and "Vertrieb" in problem
    assert (_count(world, Idea), _count(world, AuditEvent)) == (0, events)


# --- the header line --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "code", "named"),
    [
        pytest.param("title,pitch,department,Title", "csv_duplicate_columns", "title", id="dup"),
        pytest.param(
            "title;pitch;department;pitch;goal;goal",
            "csv_duplicate_columns",
            "pitch, goal",
            id="two",
        ),
        pytest.param("title,pitch,,department", "csv_unnamed_columns", "3", id="unnamed"),
    ],
)
def test_a_header_naming_a_column_twice_or_not_at_all_is_refused(
    world: World, header: str, code: str, named: str
) -> None:
    delimiter = ";" if ";" in header else ","
    cells = ["Zweimal benannt", "Ein Pitch mit Inhalt", "Marketing", "Anderer Wert", "x", "y"]
    raw = header + "\n" + delimiter.join(cells[: header.count(delimiter) + 1]) + "\n"
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_ideas(world.session, actor=world.editor, raw=raw)
    [(line, problem)] = caught.value.problems
    assert (line, getattr(problem, "code", None)) == (1, code)
    assert named in problem
    assert _count(world, Idea) == 0


# --- exports into files -----------------------------------------------------------------

OLD_CONTENT = "id,title\n1,die Datei von gestern\n"


@pytest.fixture
def cli_world(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """A World in a SQLite file that `python -m planner` commands run against."""
    path = tmp_path / "cli.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("PLANNER_DATABASE_URL", url)
    monkeypatch.delenv("PLANNER_USER", raising=False)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        yield World(session)
    engine.dispose()


def _cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    return cli.main(list(argv), stderr=err), err.getvalue()


def _ideas_export(world: World) -> Callable[[IO[str]], int]:
    return lambda out: csvio.export_ideas(world.session, actor=world.editor, out=out)


def test_an_export_replaces_the_file_when_complete_and_keeps_its_mode(
    world: World, tmp_path: Path
) -> None:
    csvio.import_ideas(world.session, actor=world.editor, raw=GOOD_IDEAS)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "ideas.csv"
    target.write_text(OLD_CONTENT)
    target.chmod(0o640)

    assert csvio.write_export(target, _ideas_export(world)) == 2

    assert target.read_text(encoding="utf-8").startswith(
        "\ufeff" + ",".join(csvio.IDEA_EXPORT_COLUMNS)
    )
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    new = folder / "new.csv"
    csvio.write_export(new, _ideas_export(world))
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in folder.iterdir()) == ["ideas.csv", "new.csv"]


def test_a_refused_export_leaves_the_file_as_it_was_and_says_why(
    cli_world: World, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "audit.csv"
    target.write_text(OLD_CONTENT)

    code, err = _cli("plan", "export", str(target), "--as", "contrib")

    assert code == 1
    assert "'contrib' (role contributor) may not" in err
    assert "None" not in err
    assert target.read_text() == OLD_CONTENT
    assert [p.name for p in target.parent.iterdir()] == ["audit.csv"]


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        pytest.param("folder", "it is a directory", id="a-directory"),
        pytest.param("missing/ideas.csv", "the directory does not exist", id="no-directory"),
        pytest.param("i" * 256 + ".csv", "the file name is too long", id="name-too-long"),
    ],
)
def test_an_export_to_a_place_that_cannot_take_a_file_says_why(
    cli_world: World, tmp_path: Path, where: str, reason: str
) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "kept.csv").write_text(OLD_CONTENT)

    code, err = _cli("ideas", "export", str(tmp_path / where), "--as", "editor")

    assert code == 1
    assert (
        err
        == f"error: cannot write {str(tmp_path / where)!r}: {reason}; the file was left unchanged\n"
    )
    assert (tmp_path / "folder" / "kept.csv").read_text() == OLD_CONTENT
    assert not (tmp_path / "missing").exists()


def test_an_export_to_the_longest_file_name_the_file_system_takes_works(
    world: World, tmp_path: Path
) -> None:
    csvio.import_ideas(world.session, actor=world.editor, raw=GOOD_IDEAS)
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / ("i" * 251 + ".csv")  # 255 bytes: the longest name ext4 and tmpfs take

    assert csvio.write_export(target, _ideas_export(world)) == 2
    assert [p.name for p in folder.iterdir()] == [target.name]  # no temporary file left


def test_a_full_disk_during_an_export_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "ideas.csv"
    target.write_text(OLD_CONTENT)

    def write(out: IO[str]) -> int:
        out.write("id,title\n" * 1000)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(ExportFailed, match="the disk is full; the file was left unchanged"):
        csvio.write_export(target, write)
    assert target.read_text() == OLD_CONTENT
    assert [p.name for p in tmp_path.iterdir()] == ["ideas.csv"]


NOBODY = 65534


def _without_root(action: Callable[[], str]) -> str:
    """Run `action` where file permissions apply: as 'nobody' in a child process when the
    tests run as root (root may write anywhere), else here. Returns what it returns."""
    if os.geteuid() != 0:
        return action()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: give up root, act, report through the pipe, leave at once
        os.close(read)
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            text = action()
        except BaseException as err:  # noqa: BLE001 - the child reports any failure to the parent
            text = f"{type(err).__name__}: {err}"
        os.write(write, text.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        text = pipe.read().decode()
    os.waitpid(pid, 0)
    return text


@pytest.mark.parametrize(
    ("folder_mode", "file_mode", "reason"),
    [
        pytest.param(0o755, 0o444, "permission denied", id="read-only-file"),
        pytest.param(
            0o555, 0o644, "permission denied: cannot create a file in", id="read-only-dir"
        ),
    ],
)
def test_an_export_over_a_file_it_may_not_replace_leaves_it_as_it_was(
    folder_mode: int, file_mode: int, reason: str
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="planner-export-"))  # /tmp: 'nobody' may enter
    target = folder / "ideas.csv"
    target.write_text(OLD_CONTENT)
    if os.geteuid() == 0:
        os.chown(folder, NOBODY, NOBODY)
        os.chown(target, NOBODY, NOBODY)
    target.chmod(file_mode)
    folder.chmod(folder_mode)

    def export() -> str:
        try:
            csvio.write_export(target, lambda out: out.write("id,title\n2,neu\n") and 1)
        except ExportFailed as err:
            return str(err)
        return "written"

    try:
        said = _without_root(export)
        assert reason in said and said.endswith("the file was left unchanged")
        assert target.read_text() == OLD_CONTENT
        assert [p.name for p in folder.iterdir()] == ["ideas.csv"]
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_the_cli_refuses_an_oversize_file_by_its_size(cli_world: World, tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with big.open("wb") as handle:
        handle.truncate(csvio.MAX_BYTES + 1)  # a sparse file: no disk used, never read

    code, err = _cli("ideas", "import", str(big), "--as", "editor")

    assert code == 1
    assert f"line 1: the file has {csvio.MAX_BYTES + 1} bytes" in err
    assert _count(cli_world, Idea) == 0


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_the_row_limit_holds_for_every_kind_of_line_end(
    world: World, monkeypatch: pytest.MonkeyPatch, newline: str
) -> None:
    monkeypatch.setattr(csvio, "MAX_ROWS", 2)
    rows = ["title,pitch,department", *[f"Idee {i},Ein Pitch mit Inhalt,HR" for i in range(3)]]
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_ideas(world.session, actor=world.editor, raw=newline.join(rows) + newline)
    assert [getattr(p, "code", None) for _, p in caught.value.problems] == ["csv_too_many_rows"]
    ok = newline.join(rows[:3]) + newline
    assert len(csvio.import_ideas(world.session, actor=world.editor, raw=ok)) == 2


def test_ideas_stored_in_several_slices_keep_the_files_order(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csvio, "_INSERT_SLICE", 4)
    raw = "title,pitch,department\n" + "".join(
        f"Idee {i},Ein Pitch für die Idee {i},HR\n" for i in range(10)
    )
    ids = csvio.import_ideas(world.session, actor=world.editor, raw=raw)
    assert [i.title for i in _ideas(world, ids)] == [f"Idee {i}" for i in range(10)]
    events = world.session.exec(select(AuditEvent).where(AuditEvent.action == "submit")).all()
    assert sorted(int(e.object_id) for e in events) == sorted(ids)


# --- records the CSV reader refuses -----------------------------------------------------

IDEA_ROW = "Gute Idee,Ein ordentlicher Pitch mit Inhalt,Marketing\n"


@pytest.mark.parametrize("broken_line", [2, 4])
def test_an_unclosed_quote_is_named_by_the_line_its_row_begins_on(
    world: World, broken_line: int
) -> None:
    lines = ["title,pitch,department\n", *[IDEA_ROW] * 4]
    lines[broken_line - 1] = '"Ohne Ende,Ein ordentlicher Pitch mit Inhalt,Marketing\n'
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_ideas(world.session, actor=world.editor, raw="".join(lines))
    [(line, problem)] = caught.value.problems
    assert (line, getattr(problem, "code", None)) == (broken_line, "csv_unclosed_quote")
    assert f"line {broken_line}: a quoted field in the row that begins on this line" in str(
        caught.value
    )
    assert "Anführungszeichen" in i18n.render_message("de", problem)
    assert _count(world, Idea) == 0


def test_a_refused_row_is_named_by_its_first_line_and_the_rows_after_it_are_checked(
    world: World,
) -> None:
    raw = (
        "title,pitch,department\n"
        'Zwei Zeilen,"Ein Pitch\nüber zwei Zeilen",Marketing\n'  # lines 2-3, fine
        'Kaputt,"Ein Pitch" mit Rest,Marketing\n'  # line 4: text after a closing quote
        "x,Ein ordentlicher Pitch mit Inhalt,Marketing\n"  # line 5: title too short
    )
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_ideas(world.session, actor=world.editor, raw=raw)
    assert [(line, getattr(p, "code", None)) for line, p in caught.value.problems] == [
        (4, "csv_text_after_quote"),
        (5, "csv_field"),
    ]
    assert _count(world, Idea) == 0


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_a_field_too_long_for_the_csv_reader_gets_its_columns_limit_and_the_rest_is_checked(
    world: World, newline: str
) -> None:
    def rows(pitch: str) -> str:
        return newline.join(
            [
                "title,pitch,department",
                f"Lange Idee,{pitch},Marketing",  # line 2
                "x,Ein ordentlicher Pitch mit Inhalt,Marketing",  # line 3: title too short
                "Gute Idee,Ein ordentlicher Pitch mit Inhalt,Marketing",
            ]
        )

    said: dict[tuple[int, bool], str] = {}
    # The 20 000 characters are read, then refused as the planner refuses them.
    for size, quoted in ((20_000, False), (200_000, False), (200_000, True)):
        pitch = "p" * size
        if quoted:  # spanning lines, with a quote in it, as spreadsheets write it
            pitch = '"' + pitch[:1000] + newline + '""' + pitch[1000:] + '"'
        with pytest.raises(CsvImportFailed) as caught:
            csvio.import_ideas(world.session, actor=world.editor, raw=rows(pitch))
        problems = caught.value.problems
        short_title = 4 if quoted else 3  # the quoted pitch spans two lines
        assert [line for line, _ in problems] == [2, short_title]
        message = problems[0][1]
        assert isinstance(message, Message) and message.code == "csv_field"
        assert getattr(message.params["problem"], "code", None) == "too_long"
        said[size, quoted] = str(message)
    assert set(said.values()) == {"pitch: at most 5000 characters"}
    assert _count(world, Idea) == 0


def test_a_field_too_long_for_the_csv_reader_in_the_cli_and_the_plan_import(
    cli_world: World, tmp_path: Path
) -> None:
    file = tmp_path / "ideas.csv"
    file.write_text(
        "title,pitch,department\n"
        f"Lange Idee,{'p' * 200_000},Marketing\n"
        f'Kein Ende,"{"p" * 200_000},Marketing\n'
    )
    code, err = _cli("ideas", "import", str(file), "--as", "editor")
    assert code == 1
    assert "line 2: pitch: at most 5000 characters" in err
    assert "line 3: a quoted field in the row that begins on this line is never closed" in err
    assert "field limit" not in err

    limit = csv.field_size_limit()
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_plan(
            cli_world.session,
            actor=cli_world.editor,
            raw=f"piece_id,channel,publish_at\n1,{'c' * (limit + 1)},2030-01-01 09:00\n",
        )
    assert [(line, str(p)) for line, p in caught.value.problems] == [
        (2, f"channel: at most {limit} characters")
    ]


@pytest.mark.parametrize(
    ("row", "code", "de", "en"),
    [
        pytest.param(
            '1,Social,"a"b"\n',
            "csv_text_after_quote",
            'Nach dem schließenden " eines Feldes in Anführungszeichen folgt Text („b“)',
            'text follows the closing " of a quoted field ("b" after it)',
            id="text-after-quote",
        ),
        pytest.param(
            '"1";"Social";"2027-06-01 10:00"\n',
            "csv_wrong_separator",
            "Die Felder sind hier durch ; getrennt, das Trennzeichen der Datei ist aber ,",
            "the fields here are separated by ;, but the file's separator is ,",
            id="wrong-separator",
        ),
    ],
)
def test_a_row_the_csv_reader_refuses_is_said_in_the_users_language(
    world: World, row: str, code: str, de: str, en: str
) -> None:
    raw = "piece_id,channel,publish_at\n" + row
    with pytest.raises(CsvImportFailed) as caught:
        csvio.import_plan(world.session, actor=world.editor, raw=raw.encode())
    [(line, problem)] = caught.value.problems
    assert (line, getattr(problem, "code", None)) == (2, code)
    assert i18n.render_message("de", problem).startswith(de)
    assert i18n.render_message("en", problem).startswith(en)


# --- the format of exports: byte order mark and separator --------------------------------

UTF8_BOM = b"\xef\xbb\xbf"
# A title and a pitch with umlauts, and formula characters where German or English Excel
# would start a cell: after a ";" and after a ",".
TITLE = "Größenwahn, =1+1 in Köln"
PITCH = "Übersicht; -5 % für alle, @Team und ; '=wörtlich"


def _submit_umlaut_idea(world: World) -> None:
    ideas.submit_idea(
        world.session,
        actor=world.editor,
        data={"title": TITLE, "pitch": PITCH, "department": "HR", "tags": ["süß", "straße"]},
    )


@pytest.mark.parametrize(
    ("lang", "separator"),
    [
        pytest.param("de", ";", id="de"),
        pytest.param("en", ",", id="en"),
        pytest.param("fr", ",", id="another-language"),
    ],
)
def test_the_dashboards_format_follows_the_readers_language(lang: str, separator: str) -> None:
    fmt = csvio.CsvFormat.for_language(lang)
    assert fmt.separator == separator
    assert fmt.decimal == ("," if lang == "de" else ".")
    assert fmt.cell(Decimal("12.50")) == ("12,50" if lang == "de" else "12.50")
    assert fmt.cell(0.25) == ("0,25" if lang == "de" else "0.25")
    assert fmt.cell(3) == "3"


def test_a_decimal_comma_needs_another_separator() -> None:
    with pytest.raises(ValueError, match="decimal mark"):
        csvio.CsvFormat(",", ",")


def test_a_german_ideas_export_is_utf8_with_a_byte_order_mark_and_semicolons(
    world: World,
) -> None:
    _submit_umlaut_idea(world)
    out = io.StringIO()
    csvio.export_ideas(
        world.session, actor=world.editor, out=out, fmt=csvio.CsvFormat.for_language("de")
    )
    raw = out.getvalue().encode("utf-8")  # as the dashboard's download sends it

    assert raw.startswith(UTF8_BOM)
    text = raw.decode("utf-8-sig")  # as Excel and LibreOffice read a file with the mark
    assert text.splitlines()[0] == ";".join(csvio.IDEA_EXPORT_COLUMNS)
    [row] = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    assert row["title"] == "Größenwahn, '=1+1 in Köln"
    assert row["pitch"] == "Übersicht; '-5 % für alle, '@Team und ; ''=wörtlich"
    assert row["tags"] == "süß; straße"
    # Split at ";" (German Excel) or at "," (English Excel), no piece starts a formula.
    for line in text.splitlines():
        for piece in re.split("[;,]", line):
            assert not piece.strip().lstrip('"').startswith(("=", "+", "-", "@")), piece


def test_an_english_export_is_comma_separated_with_a_byte_order_mark(world: World) -> None:
    _submit_umlaut_idea(world)
    out = io.StringIO()
    csvio.export_ideas(
        world.session, actor=world.editor, out=out, fmt=csvio.CsvFormat.for_language("en")
    )

    [row] = csv_rows(out.getvalue(), ",")
    # In a comma-separated file only what follows a ";" is escaped, as before: a cell with a
    # "," is quoted, and English Excel splits at "," outside quotes only.
    assert row["title"] == TITLE
    assert row["pitch"] == "Übersicht; '-5 % für alle, @Team und ; ''=wörtlich"


@pytest.mark.parametrize("separator", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_an_ideas_export_imports_again_unchanged_whatever_its_separator(
    world: World, separator: str
) -> None:
    _submit_umlaut_idea(world)
    out = io.StringIO()
    csvio.export_ideas(world.session, actor=world.editor, out=out, fmt=csvio.CsvFormat(separator))

    again = _ideas(
        world,
        csvio.import_ideas(world.session, actor=world.editor, raw=out.getvalue().encode()),
    )

    assert [(i.title, i.pitch, i.tags) for i in again] == [(TITLE, PITCH, ["süß", "straße"])]
    assert _count(world, Idea) == 2


@pytest.mark.parametrize("separator", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_a_plan_export_imports_again_unchanged_whatever_its_separator(
    world: World, separator: str
) -> None:
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Glühwein, =SUMME(1) am Stand"}
    )
    chan = channels.create_channel(world.session, actor=world.admin, kind="recording", name="Süd")
    piece_id, chan_id = piece.id or 0, chan.id or 0
    start = datetime.now(UTC).replace(microsecond=0, second=0) + timedelta(days=3)
    for day in range(2):
        planning.plan_post(
            world.session,
            actor=world.editor,
            piece_id=piece_id,
            channel=chan_id,
            when=start + timedelta(days=day),
        )
    out = io.StringIO()
    csvio.export_plan(world.session, actor=world.editor, out=out, fmt=csvio.CsvFormat(separator))
    rows = csv_rows(out.getvalue(), separator)
    escaped = "Glühwein, =SUMME(1)" if separator == "," else "Glühwein, '=SUMME(1)"
    assert {r["piece_title"] for r in rows} == {escaped + " am Stand"}

    result = csvio.import_plan(
        world.session, actor=world.editor, raw=out.getvalue().encode("utf-8")
    )

    assert (result.created, result.moved, result.unchanged) == ([], [], 2)
    assert _count(world, Post) == 2


@pytest.mark.parametrize("separator", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_an_audit_export_verifies_on_its_own_whatever_its_separator(
    world: World, separator: str
) -> None:
    audit.record(
        world.session,
        actor=world.admin,
        object_type="setting",
        object_id="x",
        action="change",
        from_state="",
        to_state="-5",
        note="Größe, =1+1; @alle\tund, '-3",
    )
    world.session.commit()
    out = io.StringIO()
    csvio.export_audit(world.session, actor=world.admin, out=out, fmt=csvio.CsvFormat(separator))
    assert [r["action"] for r in csv_rows(out.getvalue(), separator)][-1] == "change"

    report = csvio.verify_audit_file(out.getvalue())

    assert report.intact and report.events == len(
        audit.list_events(world.session, actor=world.admin)
    )


def test_a_separator_the_exports_do_not_know_is_refused_with_the_choices() -> None:
    assert csvio.CsvFormat.named("tab") == csvio.CsvFormat("\t")
    # A file for German Excel writes decimal commas; the others keep points.
    assert csvio.CsvFormat.named(";") == csvio.CsvFormat(";", ",")
    assert csvio.CsvFormat.named(",") == csvio.CsvFormat(",", ".")
    with pytest.raises(ValueError, match=r"^'\|' is not a CSV separator: use , or ; or tab$"):
        csvio.CsvFormat.named("|")
    with pytest.raises(ValueError, match="not a CSV separator"):
        csvio.CsvFormat("|")


@pytest.mark.parametrize(
    ("given", "separator"),
    [
        pytest.param([], ",", id="default-comma"),
        pytest.param(["--separator", ";"], ";", id="semicolon"),
        pytest.param(["--separator", "tab"], "\t", id="tab"),
    ],
)
def test_the_cli_export_takes_a_separator_and_imports_again(
    cli_world: World, tmp_path: Path, given: list[str], separator: str
) -> None:
    _submit_umlaut_idea(cli_world)
    target = tmp_path / "ideen.csv"

    code, err = _cli("ideas", "export", str(target), *given, "--as", "editor")

    assert (code, err) == (0, "")
    raw = target.read_bytes()
    assert raw.startswith(UTF8_BOM)
    [row] = csv_rows(raw.decode("utf-8"), separator)
    assert row["title"] == csvio.CsvFormat(separator).cell(TITLE)
    assert _cli("ideas", "import", str(target), "--as", "editor") == (0, "")
    cli_world.session.expire_all()
    stored = cli_world.session.exec(select(Idea)).all()
    assert [(i.title, i.pitch) for i in stored] == [(TITLE, PITCH), (TITLE, PITCH)]


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["ideas", "export"], id="ideas"),
        pytest.param(["plan", "export"], id="plan"),
        pytest.param(["audit", "export"], id="audit"),
    ],
)
def test_a_wrong_separator_is_refused_with_the_choices(
    cli_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    target = tmp_path / "out.csv"
    with pytest.raises(SystemExit) as done:
        cli.main([*command, str(target), "--separator", "|", "--as", "admin"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "argument --separator: '|' is not a CSV separator: use , or ; or tab" in err
    assert not target.exists()


def test_the_separator_is_for_csv_only(cli_world: World, tmp_path: Path) -> None:
    target = tmp_path / "plan.ics"
    code, err = _cli(
        "plan", "export", str(target), "--format", "ics", "--separator", ";", "--as", "editor"
    )
    assert (code, err) == (2, "error: --separator applies to CSV only, not to --format ics\n")
    assert not target.exists()


@pytest.mark.parametrize("command", [["ideas", "export"], ["plan", "export"], ["audit", "export"]])
def test_the_cli_help_of_an_export_describes_the_separator(
    capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main([*command, "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--separator SEP" in shown
    assert ", (default), ; (as Excel set to German reads it, with decimal commas) or tab" in shown
    assert "UTF-8 byte order mark" in shown
