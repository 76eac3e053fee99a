"""A draft with a blocking finding on the Editor: an administrator overrides it there with
a justification (audited as on Approvals); an editor is told who can override and where."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from planner import channels, pieces, rules, users
from planner.db import make_engine
from planner.models import AuditEvent, PieceStatus, RuleOverride
from planner.ui import keys
from tests.ui.conftest import PASSWORD, open_page, sign_in
from tests.ui.test_approvals import stored
from tests.ui.test_process_findings import NO_GUARANTEES


def _blocked_draft(database: str) -> int:
    """A draft on channel Feed whose text a blocking rule finds; its id."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, editor = users.get_user(s, "admin"), users.get_user(s, "ed")
        feed = channels.create_channel(s, actor=admin, kind="recording", name="Feed", settings={})
        piece = pieces.create_piece(
            s, actor=editor, data={"title": "Tarif", "body": "Der garantiert beste Tarif."}
        )
        assert piece.id is not None
        pieces.edit_piece(
            s,
            actor=editor,
            piece_id=piece.id,
            expected_revision=1,
            data={"variants": {feed.id: "Der garantiert beste Tarif."}},
        )
        rules.add_rule(s, actor=admin, data=NO_GUARANTEES)
    engine.dispose()
    return piece.id


def _editor(username: str, lang: str, piece_id: int):  # type: ignore[no-untyped-def]
    at = sign_in(username, PASSWORD)
    at.selectbox(key=keys.LANGUAGE).select(lang).run()
    at = open_page(at, "editor")
    at.selectbox(key=keys.EDITOR_PIECE).select(piece_id).run()
    assert not at.exception
    return at


@pytest.mark.parametrize(
    ("lang", "who"),
    [
        (
            "en",
            "Only an approver or an administrator who did not write or edit this piece can "
            "override a blocking rule for this version, with a written justification: an "
            "administrator here in the Editor (under “Override a blocking rule”), an approver "
            "with the command `python -m planner rules override {piece} RULE --revision 2 "
            "--justification TEXT --as NAME`. Until then this piece cannot be submitted "
            "for review.",
        ),
        (
            "de",
            "Eine sperrende Regel für diese Version kann nur aufheben, wer diesen Beitrag "
            "weder geschrieben noch bearbeitet hat, mit schriftlicher Begründung: die "
            "Administration hier im Editor (unter „Sperrende Regel aufheben“), die Freigabe "
            "mit dem Befehl „python -m planner rules override {piece} REGEL --revision 2 "
            "--justification BEGRÜNDUNG --as NAME“. Bis dahin kann dieser Beitrag nicht zur "
            "Prüfung eingereicht werden.",
        ),
    ],
)
def test_an_editor_is_told_who_can_override_a_drafts_finding_and_where(
    database: str, lang: str, who: str
) -> None:
    piece_id = _blocked_draft(database)
    at = _editor("ed", lang, piece_id)
    assert any("Keine Garantien" in e.value for e in at.error)
    assert who.format(piece=piece_id) in [i.value for i in at.info]
    assert not [t for t in at.text_area if t.key == keys.EDITOR_OVERRIDE_WHY]
    assert not [b for b in at.button if b.key == keys.EDITOR_OVERRIDE]


@pytest.mark.parametrize(
    ("lang", "too_short", "done", "overridden"),
    [
        (
            "en",
            "at least 10 characters",
            "Rule Keine Garantien no longer applies to version 2.",
            "Overridden: rule 'Keine Garantien'",
        ),
        (
            "de",
            "mindestens 10 Zeichen",
            "Die Regel Keine Garantien gilt für Version 2 nicht mehr.",
            "Aufgehoben: Regel „Keine Garantien“",
        ),
    ],
)
def test_an_administrator_overrides_a_drafts_finding_on_the_editor_with_a_justification(
    database: str, lang: str, too_short: str, done: str, overridden: str
) -> None:
    piece_id = _blocked_draft(database)
    at = _editor("admin", lang, piece_id)
    assert not [i for i in at.info if "python -m planner" in i.value]

    at.text_area(key=keys.EDITOR_OVERRIDE_WHY).input("kurz")
    at.button(key=keys.EDITOR_OVERRIDE).click().run()
    assert any(too_short in e.value for e in at.error)
    with Session(make_engine(database)) as s:
        assert s.exec(select(RuleOverride)).all() == []

    why = "Zitat aus dem geprüften Tarifvertrag"
    at.text_area(key=keys.EDITOR_OVERRIDE_WHY).input(why)
    at.button(key=keys.EDITOR_OVERRIDE).click().run()
    assert not at.exception
    assert done in [s.value for s in at.success]
    assert any(i.value.startswith(overridden) for i in at.info)
    assert not [e for e in at.error if "Keine Garantien" in e.value]
    assert not [b for b in at.button if b.key == keys.EDITOR_OVERRIDE]
    with Session(make_engine(database)) as s:
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "rule_override")).one()
        assert event.actor_name == "admin" and why in event.note
        assert (event.object_type, event.object_id, event.version) == ("piece", str(piece_id), 2)
        # The draft may now go to review.
        pieces.submit_piece(s, actor=users.get_user(s, "ed"), piece_id=piece_id)
    assert stored(database, piece_id).status == PieceStatus.in_review
