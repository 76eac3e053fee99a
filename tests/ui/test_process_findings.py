"""'Process': the rule findings of the pieces worked on in the period, in both languages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session

from planner import channels, org_settings, pieces, planning, publishing, rules, users
from planner.db import make_engine
from planner.errors import ValidationFailed
from planner.models import Channel, Piece, Post, Role, User, utcnow
from planner.ui import keys
from tests.planner.test_rules import _run
from tests.ui.conftest import PASSWORD, add_user, open_page, sign_in

NO_GUARANTEES = {
    "name": "Keine Garantien",
    "kind": "forbidden_terms",
    "settings": {"terms": ["garantiert"]},
    "message": {"de": "Wir versprechen nichts.", "en": "We promise nothing."},
}


def _tariff_on_feed(s: Session, admin: User, editor: User) -> tuple[Channel, Piece]:
    """Channel Feed, and the editor's piece "Tarif" that promises a guarantee."""
    feed = channels.create_channel(s, actor=admin, kind="recording", name="Feed", settings={})
    piece = pieces.create_piece(
        s, actor=editor, data={"title": "Tarif", "body": "Der garantiert beste Tarif."}
    )
    return feed, piece


def _approved_tariff(s: Session, admin: User, editor: User) -> tuple[Channel, Piece]:
    """Channel Feed and the piece "Tarif", submitted and approved by the approver anna."""
    feed, piece = _tariff_on_feed(s, admin, editor)
    assert piece.id is not None
    pieces.submit_piece(s, actor=editor, piece_id=piece.id)
    approved = pieces.approve_piece(
        s, actor=users.get_user(s, "anna"), piece_id=piece.id, revision=1
    )
    return feed, approved


@pytest.fixture
def with_findings(database: str) -> str:
    """A piece written today on channel Feed with a forbidden term and three hashtags."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, editor = users.get_user(s, "admin"), users.get_user(s, "ed")
        feed, piece = _tariff_on_feed(s, admin, editor)
        assert piece.id is not None and feed.id is not None
        pieces.edit_piece(
            s,
            actor=editor,
            piece_id=piece.id,
            expected_revision=1,
            data={"variants": {feed.id: "Der garantiert beste Tarif #a #b #c"}},
        )
        rules.add_rule(s, actor=admin, data=NO_GUARANTEES)
        rules.add_rule(
            s,
            actor=admin,
            data={"name": "Wenige Hashtags", "kind": "max_hashtags", "severity": "warn",
                  "settings": {"max": 1},
                  "message": {"de": "Ein Hashtag.", "en": "One hashtag."}},
        )  # fmt: skip
    engine.dispose()
    return database


def _process_page(lang: str) -> Any:
    """The Process page as the admin, in `lang`, run without an exception."""
    at = sign_in("admin", PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select(lang).run()
    at = open_page(at, "process")
    assert not at.exception
    return at


def _findings_table(
    lang: str, heading: str, note: str, columns: list[str], severities: list[str]
) -> Any:
    """The Process page in `lang` as the admin: the findings table under `heading` and its
    `note`, after checking its rules, severities and one finding of each."""
    at = _process_page(lang)
    assert heading in [h.value for h in at.subheader]
    assert any(t.value.startswith(note) for t in at.main.text)
    table = next(d.value for d in at.dataframe if list(d.value.columns) == columns)
    assert list(table[columns[0]]) == ["Keine Garantien", "Wenige Hashtags"]
    assert list(table[columns[1]]) == severities
    assert list(table[columns[2]]) == [1, 1]
    return table


@pytest.mark.parametrize(
    ("lang", "heading", "note", "columns", "severities"),
    [
        (
            "en",
            "Rule findings",
            "What the content rules find now in the current version of the one piece worked",
            ["Rule", "Severity", "Findings", "Pieces", "Of them overridden"],
            ["blocks", "warns"],
        ),
        (
            "de",
            "Befunde der Regeln",
            "Was die Inhaltsregeln jetzt in der aktuellen Version des einen Beitrags finden",
            ["Regel", "Stufe", "Befunde", "Beiträge", "Davon aufgehoben"],
            ["sperrt", "warnt"],
        ),
    ],
)
def test_the_page_counts_the_findings_per_rule_and_severity(
    with_findings: str,
    lang: str,
    heading: str,
    note: str,
    columns: list[str],
    severities: list[str],
) -> None:
    table = _findings_table(lang, heading, note, columns, severities)
    assert list(table[columns[4]]) == ["0", ""]


@pytest.fixture
def held_by_rule(database: str) -> str:
    """An approved piece whose post was due an hour ago; a blocking rule added after the
    approval finds a forbidden term in it, so the engine holds the post."""
    add_user(database, "anna", Role.approver.value)
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, editor = users.get_user(s, "admin"), users.get_user(s, "ed")
        feed, piece = _approved_tariff(s, admin, editor)
        assert piece.id is not None and feed.id is not None and editor.id is not None
        s.add(Post(piece_id=piece.id, channel_id=feed.id, created_by_id=editor.id,
                   publish_at=utcnow() - timedelta(hours=1)))  # fmt: skip
        s.commit()
        rules.add_rule(s, actor=admin, data=NO_GUARANTEES)
    engine.dispose()
    return database


def test_the_german_download_names_a_rules_hold_in_german(
    held_by_rule: str, exports: list[Callable[[], Any]]
) -> None:
    at = open_page(sign_in("admin", PASSWORD), "process")
    assert not at.exception
    process_html = exports[-3]()  # process CSV, process HTML, approvals CSV, approvals HTML
    assert '<html lang="de">' in process_html
    assert "eine Veröffentlichungsregel: " in process_html
    assert "Wir versprechen nichts." in process_html
    assert "held by a publishing rule" not in process_html


@pytest.fixture
def held_then_released(held_by_rule: str) -> str:
    """The engine held the post by the rule (its ledger says so); then the admin disabled
    the rule, so nothing holds the post now."""
    engine = make_engine(held_by_rule)
    (held,) = _run(engine, utcnow())
    assert held.outcome == "rule"
    with Session(engine) as s:
        rules.set_rule_enabled(
            s, actor=users.get_user(s, "admin"), ref=NO_GUARANTEES["name"], enabled=False
        )
    engine.dispose()
    return held_by_rule


@pytest.mark.parametrize(
    ("lang", "state", "reason"),
    [
        ("en", "held by a rule", "a publishing rule: rule 'Keine Garantien' on channel 'Feed': "
         "We promise nothing. (forbidden: garantiert)"),
        ("de", "durch eine Regel angehalten", "eine Veröffentlichungsregel: Regel „Keine "
         "Garantien“ auf dem Kanal „Feed“: Wir versprechen nichts. (verboten: garantiert)"),
    ],
)  # fmt: skip
def test_a_post_the_engine_held_by_a_rule_is_listed_with_the_rule_in_the_readers_language(
    held_then_released: str, lang: str, state: str, reason: str
) -> None:
    at = _process_page(lang)
    rows = [row for d in at.dataframe for row in d.value.to_dict("records") if "#1" in row.values()]
    assert [(r[_COLUMNS[lang][0]], r[_COLUMNS[lang][1]]) for r in rows] == [(state, reason)]


_COLUMNS = {"en": ("Status", "Reason"), "de": ("Status", "Grund")}


@pytest.fixture
def held_by_the_freeze(database: str) -> str:
    """An approved piece's post, due an hour ago, held by a freeze that a sweep saw begin
    and end (10:00 to 10:30 UTC today, or yesterday before 10:30)."""
    add_user(database, "anna", Role.approver.value)
    engine = make_engine(database)
    now = utcnow()
    start = now.replace(hour=10, minute=0, second=0, microsecond=0)
    if start + timedelta(minutes=30) > now:
        start -= timedelta(days=1)
    with Session(engine, expire_on_commit=False) as s:
        admin, editor = users.get_user(s, "admin"), users.get_user(s, "ed")
        feed, piece = _approved_tariff(s, admin, editor)
        assert piece.id is not None and feed.id is not None and editor.id is not None
        s.add(Post(piece_id=piece.id, channel_id=feed.id, created_by_id=editor.id,
                   publish_at=start - timedelta(minutes=5)))  # fmt: skip
        s.commit()
        for on, at in (("on", start), ("off", start + timedelta(minutes=30))):
            org_settings.set_setting(s, actor=admin, key="publishing_frozen", value=on)
            publishing.watch_holds(s, now=at)
    engine.dispose()
    return database


@pytest.mark.parametrize(
    ("lang", "state", "reason"),
    [
        ("en", "was held", "publishing is frozen (crisis freeze) (until {until})"),
        ("de", "war angehalten", "Veröffentlichungsstopp ist eingeschaltet (bis {until})"),
    ],
)  # fmt: skip
def test_a_post_the_freeze_held_is_listed_with_why_and_until_when(
    held_by_the_freeze: str, lang: str, state: str, reason: str
) -> None:
    at = _process_page(lang)
    rows = [
        row
        for d in at.dataframe
        for row in d.value.to_dict("records")
        if row.get(_COLUMNS[lang][0]) == state
    ]
    assert len(rows) == 1
    said = rows[0][_COLUMNS[lang][1]]
    assert re.fullmatch(re.escape(reason.split("{until}")[0]) + r".+ \d\d:30 \S+\)", said), said


@pytest.fixture
def refused_at_submission(with_findings: str) -> str:
    """The piece "Tarif" submitted for review today and refused by the forbidden term."""
    engine = make_engine(with_findings)
    with Session(engine, expire_on_commit=False) as s:
        editor = users.get_user(s, "ed")
        (piece,) = pieces.list_pieces(s, actor=editor)
        assert piece.id is not None
        with pytest.raises(ValidationFailed):
            pieces.submit_piece(s, actor=editor, piece_id=piece.id)
    engine.dispose()
    return with_findings


@pytest.mark.parametrize(
    ("lang", "heading", "note", "columns", "severities"),
    [
        (
            "en",
            "Findings at submission and approval",
            "What the rules found when the one piece submitted for review or approved",
            ["Rule", "Severity", "Findings", "Pieces", "Of them refused a step",
             "Of them overridden"],
            ["blocks", "warns"],
        ),
        (
            "de",
            "Befunde beim Einreichen und bei der Freigabe",
            "Was die Regeln fanden, als der eine im Zeitraum zur Prüfung eingereichte",
            ["Regel", "Stufe", "Befunde", "Beiträge", "Davon Schritt verweigert",
             "Davon aufgehoben"],
            ["sperrt", "warnt"],
        ),
    ],
)  # fmt: skip
def test_the_page_counts_what_the_rules_found_when_a_step_was_refused(
    refused_at_submission: str,
    lang: str,
    heading: str,
    note: str,
    columns: list[str],
    severities: list[str],
) -> None:
    table = _findings_table(lang, heading, note, columns, severities)
    assert list(table[columns[4]]) == ["1", ""]
    assert list(table[columns[5]]) == ["0", ""]


def test_the_publishing_ledger_names_a_rules_hold_in_german(held_then_released: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "publishing")
    assert not at.exception
    (ledger,) = [d.value for d in at.dataframe if "Ergebnis" in d.value.columns]
    assert ledger[["Ergebnis", "Meldung"]].to_dict("records") == [
        {
            "Ergebnis": "durch eine Regel angehalten",
            "Meldung": "eine Veröffentlichungsregel: Regel „Keine Garantien“ auf dem Kanal "
            "„Feed“: Wir versprechen nichts. (verboten: garantiert)",
        }
    ]


@pytest.fixture
def refused_at_night(database: str) -> str:
    """Planning the approved piece "Tarif" at night was refused by the quiet hours."""
    add_user(database, "anna", Role.approver.value)
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, editor = users.get_user(s, "admin"), users.get_user(s, "ed")
        _feed, piece = _approved_tariff(s, admin, editor)
        assert piece.id is not None
        rules.add_rule(
            s,
            actor=admin,
            data={"name": "Nachtruhe", "kind": "quiet_hours",
                  "settings": {"from": "22:00", "until": "07:00", "days": []},
                  "message": {"de": "Nachts nicht.", "en": "Not at night."}},
        )  # fmt: skip
        with pytest.raises(ValidationFailed):
            planning.plan_post(
                s,
                actor=editor,
                piece_id=piece.id,
                channel="Feed",
                when=datetime(2030, 1, 15, 23, 30),
                tz_name="Europe/Berlin",
            )
    engine.dispose()
    return database


@pytest.mark.parametrize(
    ("lang", "heading", "columns", "severity"),
    [
        ("en", "Findings when planning",
         ["Rule", "Severity", "Times found", "Pieces", "Of them refused"], "blocks"),
        ("de", "Befunde beim Planen",
         ["Regel", "Stufe", "Mal gefunden", "Beiträge", "Davon verweigert"], "sperrt"),
    ],
)  # fmt: skip
def test_the_page_counts_what_the_rules_found_when_planning(
    refused_at_night: str, lang: str, heading: str, columns: list[str], severity: str
) -> None:
    at = _process_page(lang)
    assert heading in [h.value for h in at.subheader]
    (table,) = [d.value for d in at.dataframe if list(d.value.columns) == columns]
    assert table.to_dict("records") == [
        dict(zip(columns, ["Nachtruhe", severity, 1, 1, "1"], strict=True))
    ]
