"""CSV import and export on Inbox (ideas) and Calendar (the plan), through the real uploader."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, func, select
from streamlit.testing.v1 import AppTest

from planner import channels, csvio, pieces, slots, users
from planner.db import make_engine
from planner.models import AuditEvent, Idea, Post
from planner.timezones import to_local
from planner.ui import keys
from tests.exported import csv_file_rows, csv_rows
from tests.ui.conftest import PASSWORD, add_user, open_page, opened, sign_in

YEAR = datetime.now(UTC).year + 1
GOOD_IDEAS = (
    "title,pitch,department,urgency,tags\n"
    "Tag der offenen Tür,Wir zeigen unser neues Büro in Leipzig,HR,high,event;büro\n"
    "Onboarding-Serie,Neue Kolleginnen erzählen von ihrer ersten Woche,HR,normal,\n"
).encode()
BROKEN_IDEAS = (
    b"title,pitch,department\n"
    b"Gute Idee,Ein ordentlicher Pitch mit Inhalt,HR\n"  # line 2: fine
    b"x,Ein ordentlicher Pitch mit Inhalt,HR\n"  # line 3: title too short
    b"Noch eine,Ein Pitch der lang genug ist,Vertrieb\n"  # line 4: unknown department
)


def _piece_and_channel(database: str) -> int:
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        channels.create_channel(s, actor=admin, kind="recording", name="Social")
        piece = pieces.create_piece(s, actor=users.get_user(s, "ed"), data={"title": "Messe"})
    engine.dispose()
    assert piece.id is not None
    return piece.id


def _rows(database: str, model: type) -> int:
    engine = make_engine(database)
    with Session(engine) as s:
        count = int(s.exec(select(func.count()).select_from(model)).one())
    engine.dispose()
    return count


def _with_panel(username: str, page: str) -> AppTest:
    """`page` for `username` with its CSV panel open (drawn only while open)."""
    at = open_page(sign_in(username, PASSWORD), page)
    return opened(at, keys.CSV_OPEN + ("ideas" if page == "inbox" else "plan"))


def _upload_and_import(at: AppTest, kind: str, raw: bytes) -> AppTest:
    at.file_uploader[0].upload(f"{kind}.csv", raw, "text/csv").run()
    return at.button(key=keys.CSV_IMPORT + kind).click().run()


def _main_errors(at: AppTest) -> list[str]:
    return [e.value for e in at.main.error]


@pytest.mark.parametrize(
    ("username", "role", "page", "shown"),
    [
        pytest.param("admin", "admin", "inbox", True, id="admin-inbox"),
        pytest.param("ed", "editor", "inbox", True, id="editor-inbox"),
        pytest.param("admin", "admin", "calendar", True, id="admin-calendar"),
        pytest.param("ed", "editor", "calendar", True, id="editor-calendar"),
        pytest.param("ada", "approver", "calendar", False, id="approver-calendar"),
    ],
)
def test_the_panel_is_there_for_editors_and_admins_only(
    database: str, username: str, role: str, page: str, shown: bool
) -> None:
    if role == "approver":
        add_user(database, username, role)
    at = _with_panel(username, page)
    assert not at.exception
    kind = "ideas" if page == "inbox" else "plan"
    assert (len(at.file_uploader) == 1) is shown
    assert any(b.key == keys.CSV_IMPORT + kind for b in at.button) is shown
    labels = [e.label for e in at.expander]
    assert any("CSV" in label for label in labels) is shown


def test_contributors_and_approvers_have_no_inbox_to_import_into(database: str) -> None:
    add_user(database, "ada", "approver")
    for username in ("lena", "ada"):
        at = sign_in(username, PASSWORD)
        with pytest.raises(ValueError, match="inbox"):  # the page is not theirs
            open_page(at, "inbox")


def test_import_stays_disabled_until_a_file_is_chosen(database: str) -> None:
    at = _with_panel("ed", "inbox")
    assert at.button(key=keys.CSV_IMPORT + "ideas").disabled
    at.file_uploader[0].upload("ideas.csv", GOOD_IDEAS, "text/csv").run()
    assert not at.button(key=keys.CSV_IMPORT + "ideas").disabled


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        pytest.param("admin", "Importierte Ideen: 2.", id="de"),
        pytest.param("ed", "Imported 2 idea(s).", id="en"),
    ],
)
def test_a_good_ideas_file_is_imported_and_counted(
    database: str, username: str, expected: str
) -> None:
    at = _upload_and_import(_with_panel(username, "inbox"), "ideas", GOOD_IDEAS)
    assert not at.exception
    assert [s.value for s in at.main.success] == [expected]
    assert _rows(database, Idea) == 3  # the fixture's idea and the two from the file
    # The uploader starts empty again, so the same file is not imported twice by accident.
    assert at.file_uploader[0].value is None
    assert at.button(key=keys.CSV_IMPORT + "ideas").disabled
    # The new ideas are in the inbox table at once.
    assert "Onboarding-Serie" in set(at.dataframe[0].value.iloc[:, 1])


@pytest.mark.parametrize(
    ("username", "nothing", "line_3", "line_4"),
    [
        pytest.param(
            "admin",
            "Es wurde nichts importiert: Die Datei enthält 2 Fehler.",
            "Zeile 3: title: mindestens",
            "Zeile 4: ",
            id="de",
        ),
        pytest.param(
            "ed",
            "Nothing was imported: 2 problem(s) in the file.",
            "Line 3: title: at least",
            "Line 4: ",
            id="en",
        ),
    ],
)
def test_a_file_with_two_broken_lines_names_both_and_imports_nothing(
    database: str, username: str, nothing: str, line_3: str, line_4: str
) -> None:
    at = _with_panel(username, "inbox")
    ideas_before, events_before = _rows(database, Idea), _rows(database, AuditEvent)
    at = _upload_and_import(at, "ideas", BROKEN_IDEAS)
    assert not at.exception
    errors = _main_errors(at)
    assert errors[0].startswith(nothing)
    assert len(errors) == 3
    assert errors[1].startswith(line_3)
    assert errors[2].startswith(line_4) and "Vertrieb" in errors[2]
    assert not at.main.success
    assert at.status[0].label in ("Die Datei wurde abgelehnt.", "The file was refused.")
    # Line 2 was fine, yet nothing was stored: no idea, no audit event.
    assert _rows(database, Idea) == ideas_before == 1
    engine = make_engine(database)
    with Session(engine) as s:
        submits = s.exec(select(AuditEvent).where(AuditEvent.action == "submit")).all()
    engine.dispose()
    assert len(submits) == 1  # the fixture's own idea
    assert _rows(database, AuditEvent) == events_before
    # The file stays chosen, to be corrected and uploaded again.
    assert at.file_uploader[0].value is not None


NOT_TEXT = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
COLUMN_TWICE = b"title,pitch,department,pitch\nDoppelt,Ein Pitch mit Inhalt,HR,Noch ein Pitch\n"


@pytest.mark.parametrize(
    ("raw", "username", "expected"),
    [
        pytest.param(NOT_TEXT, "admin", "Zeile 1: Das ist keine CSV-Textdatei", id="not-text-de"),
        pytest.param(NOT_TEXT, "ed", "Line 1: this is not a CSV text file", id="not-text-en"),
        pytest.param(
            COLUMN_TWICE,
            "admin",
            "Zeile 1: Mehrfach benannte Spalte(n): pitch;",
            id="column-twice-de",
        ),
        pytest.param(
            COLUMN_TWICE,
            "ed",
            "Line 1: column(s) named more than once: pitch;",
            id="column-twice-en",
        ),
    ],
)
def test_a_file_that_cannot_be_read_as_ideas_gets_a_clear_message(
    database: str, raw: bytes, username: str, expected: str
) -> None:
    at = _upload_and_import(_with_panel(username, "inbox"), "ideas", raw)
    assert not at.exception
    assert _main_errors(at)[1].startswith(expected)
    assert _rows(database, Idea) == 1


def test_ideas_export_holds_the_ideas_the_editor_may_see(
    database: str, exports: list[Callable[[], Any]]
) -> None:
    at = _upload_and_import(_with_panel("ed", "inbox"), "ideas", GOOD_IDEAS)
    assert not at.exception
    rows = csv_rows(exports[-1]())
    assert sorted(r["title"] for r in rows) == [
        "Azubi-Tag <b>2027</b>",
        "Onboarding-Serie",
        "Tag der offenen Tür",
    ]
    assert {r["department"] for r in rows} == {"HR"}
    assert {r["submitted_by"] for r in rows} == {"lena", "ed"}


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        pytest.param("admin", "Neu geplante Posts: 2, verschoben: 0, unverändert: 0.", id="de"),
        pytest.param("ed", "Planned 2 new post(s), moved 0, 0 unchanged.", id="en"),
    ],
)
def test_a_good_plan_file_plans_posts(database: str, username: str, expected: str) -> None:
    piece_id = _piece_and_channel(database)
    raw = (
        "piece_id,channel,publish_at,timezone\n"
        f"{piece_id},Social,{YEAR}-01-15 09:30,Europe/Berlin\n"
        f"{piece_id},Social,{YEAR}-02-15 09:30,\n"
    ).encode()
    at = _upload_and_import(_with_panel(username, "calendar"), "plan", raw)
    assert not at.exception
    assert [s.value for s in at.main.success] == [expected]
    assert _rows(database, Post) == 2


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        pytest.param(
            "admin", "Zeile 2: im nächsten freien Sendeplatz des Kanals eingeplant: ", id="de"
        ),
        pytest.param("ed", "Line 2: planned in the channel's next free publishing slot: ", id="en"),
    ],
)
def test_a_plan_row_with_queue_says_which_slot_it_took(
    database: str, username: str, expected: str
) -> None:
    piece_id = _piece_and_channel(database)
    engine = make_engine(database)
    with Session(engine) as s:
        slots.set_slot_plan(
            s, actor=users.get_user(s, "admin"), channel="Social", slots="Mon 09:30"
        )
    engine.dispose()
    raw = f"piece_id,channel,publish_at\n{piece_id},Social,queue\n".encode()

    at = _upload_and_import(_with_panel(username, "calendar"), "plan", raw)

    assert not at.exception
    shown = at.main.success[0].value.split("\n\n")
    assert len(shown) == 2 and shown[1].startswith(expected), shown
    assert _rows(database, Post) == 1
    engine = make_engine(database)
    with Session(engine) as s:
        post = s.exec(select(Post)).one()
    engine.dispose()
    monday = to_local(post.publish_at, "Europe/Berlin")
    assert (monday.weekday(), monday.hour, monday.minute) == (0, 9, 30)


@pytest.mark.parametrize(
    ("username", "line"),
    [pytest.param("admin", "Zeile", id="de"), pytest.param("ed", "Line", id="en")],
)
def test_a_plan_file_with_two_broken_lines_plans_nothing(
    database: str, username: str, line: str
) -> None:
    piece_id = _piece_and_channel(database)
    raw = (
        "piece_id,channel,publish_at\n"
        f"{piece_id},Social,{YEAR}-01-15 09:30\n"
        f"{piece_id},Fax,{YEAR}-01-15 09:30\n"
        f"{piece_id},Social,gestern\n"
    ).encode()
    at = _upload_and_import(_with_panel(username, "calendar"), "plan", raw)
    assert not at.exception
    errors = _main_errors(at)
    assert [e.split(":")[0] for e in errors[1:]] == [f"{line} 3", f"{line} 4"]
    assert "Fax" in errors[1] and "gestern" in errors[2]
    assert _rows(database, Post) == 0


def test_plan_export_holds_every_planned_post(
    database: str, exports: list[Callable[[], Any]]
) -> None:
    piece_id = _piece_and_channel(database)
    raw = f"piece_id,channel,publish_at\n{piece_id},Social,{YEAR}-01-15 09:30\n".encode()
    at = _upload_and_import(_with_panel("ed", "calendar"), "plan", raw)
    assert not at.exception
    rows = csv_rows(exports[-1]())
    assert [(r["piece_title"], r["channel"], r["status"]) for r in rows] == [
        ("Messe", "Social", "planned")
    ]
    assert rows[0]["publish_at"].startswith(f"{YEAR}-01-15 09:30")


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        pytest.param("admin", f"Zeile 1: Die Datei hat {len(GOOD_IDEAS)} Bytes, mehr als", id="de"),
        pytest.param("ed", f"Line 1: the file has {len(GOOD_IDEAS)} bytes, more than", id="en"),
    ],
)
def test_a_file_over_the_size_limit_is_refused_by_its_size(
    database: str, monkeypatch: pytest.MonkeyPatch, username: str, expected: str
) -> None:
    monkeypatch.setattr(csvio, "MAX_BYTES", len(GOOD_IDEAS) - 1)
    at = _upload_and_import(_with_panel(username, "inbox"), "ideas", GOOD_IDEAS)
    assert not at.exception
    errors = _main_errors(at)
    assert len(errors) == 2
    assert errors[1].startswith(expected)
    assert at.status[0].label in ("Die Datei wurde abgelehnt.", "The file was refused.")
    assert _rows(database, Idea) == 1  # the fixture's own idea


# --- the downloads: UTF-8 with a byte order mark, separated as the reader's Excel splits ----


def _download(exports: list[Callable[[], Any]]) -> bytes:
    """The bytes the last download button drawn sends: Streamlit sends a text as UTF-8."""
    made = exports[-1]()
    return made.encode("utf-8") if isinstance(made, str) else bytes(made)


def _ideas_as_stored(database: str) -> list[tuple[Any, ...]]:
    """Every stored idea's imported fields, sorted."""
    engine = make_engine(database)
    with Session(engine) as s:
        found = sorted(
            (i.title, i.pitch, i.department_id, i.urgency.value, tuple(i.tags), i.goal)
            for i in s.exec(select(Idea))
        )
    engine.dispose()
    return found


@pytest.mark.parametrize(
    ("username", "separator"),
    [pytest.param("admin", ";", id="de"), pytest.param("ed", ",", id="en")],
)
def test_the_ideas_download_is_utf8_with_a_bom_in_the_readers_separator(
    database: str, exports: list[Callable[[], Any]], username: str, separator: str
) -> None:
    at = _upload_and_import(_with_panel(username, "inbox"), "ideas", GOOD_IDEAS)
    assert not at.exception

    raw = _download(exports)

    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("utf-8-sig").splitlines()[0] == separator.join(csvio.IDEA_EXPORT_COLUMNS)
    rows = csv_file_rows(raw, separator)
    assert {r["title"] for r in rows} >= {"Tag der offenen Tür", "Onboarding-Serie"}
    assert "Wir zeigen unser neues Büro in Leipzig" in {r["pitch"] for r in rows}


def test_a_german_ideas_download_imports_again_unchanged_on_the_same_page(
    database: str, exports: list[Callable[[], Any]]
) -> None:
    at = _upload_and_import(_with_panel("admin", "inbox"), "ideas", GOOD_IDEAS)
    before = _ideas_as_stored(database)
    raw = _download(exports)
    assert raw.startswith(b"\xef\xbb\xbf") and b";" in raw.split(b"\r\n", 1)[0]

    at = _upload_and_import(at, "ideas", raw)

    assert not at.exception
    assert [s.value for s in at.main.success] == ["Importierte Ideen: 3."]
    # Every idea again, as a new one: the same fields, umlauts and all.
    assert _ideas_as_stored(database) == sorted(before * 2)


@pytest.mark.parametrize(
    ("username", "separator", "done"),
    [
        pytest.param(
            "admin", ";", "Neu geplante Posts: 0, verschoben: 0, unverändert: 1.", id="de"
        ),
        pytest.param("ed", ",", "Planned 0 new post(s), moved 0, 1 unchanged.", id="en"),
    ],
)
def test_a_plan_download_in_the_readers_separator_imports_again_unchanged(
    database: str,
    exports: list[Callable[[], Any]],
    username: str,
    separator: str,
    done: str,
) -> None:
    piece_id = _piece_and_channel(database)
    raw = f"piece_id,channel,publish_at\n{piece_id},Social,{YEAR}-01-15 09:30\n".encode()
    at = _upload_and_import(_with_panel(username, "calendar"), "plan", raw)
    download = _download(exports)
    assert download.startswith(b"\xef\xbb\xbf")
    [row] = csv_file_rows(download, separator)
    assert (row["piece_title"], row["channel"]) == ("Messe", "Social")

    at = _upload_and_import(at, "plan", download)

    assert not at.exception
    assert at.main.success[0].value.split("\n\n")[0] == done
    assert _rows(database, Post) == 1
