"""The period report for audits: approvals with the revision approved and its own title,
overrides with their justification, and the audit chain's verdict for the period."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text

from planner import approvals_report, audit, ideas, pieces, report_output
from planner.errors import PermissionDenied
from planner.models import utcnow
from tests.conftest import World
from tests.exported import csv_rows
from tests.planner.test_audit_chain import trigger_lifted


def _approved_then_changed(world: World) -> int:
    """A piece approved at revision 2 ("Messe <2027>"), then retitled in revision 3."""
    s = world.session
    submitted = ideas.submit_idea(
        s,
        actor=world.contributor,
        data={"title": "Messe", "pitch": "Wir sind da", "department": "Marketing"},
    )
    assert submitted.idea.id is not None
    piece = ideas.accept_idea(s, actor=world.editor, idea_id=submitted.idea.id)
    assert piece.id is not None
    pieces.edit_piece(
        s, actor=world.editor, piece_id=piece.id, expected_revision=1,
        data={"title": "Messe <2027>"},
    )  # fmt: skip
    pieces.submit_piece(s, actor=world.editor, piece_id=piece.id)
    pieces.approve_piece(s, actor=world.approver, piece_id=piece.id, revision=2)
    # What the publishing rules write when an approver overrides a blocking finding.
    audit.record(
        s,
        actor=world.approver,
        object_type="piece",
        object_id=piece.id,
        action="rule_override",
        version=2,
        note="rule 'Kein Sonntag' on all channels: Messe ist am Sonntag, =so gewollt",
    )
    s.commit()
    pieces.edit_piece(
        s, actor=world.editor, piece_id=piece.id, expected_revision=2,
        data={"title": "Messe 2028"},
    )  # fmt: skip
    return piece.id


def test_the_report_names_approver_revision_and_the_revisions_own_title(world: World) -> None:
    piece_id = _approved_then_changed(world)
    since, until = utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=1)

    report = approvals_report.approvals_report(
        world.session, actor=world.admin, since=since, until=until
    )

    approved = [(a.approver, a.approver_name, a.piece_id, a.revision, a.title)
                for a in report.approvals]  # fmt: skip
    assert approved == [("approver", "Approver", piece_id, 2, "Messe <2027>")]
    assert [(o.actor_name, o.revision, o.justification) for o in report.overrides] == [
        ("approver", 2, "rule 'Kein Sonntag' on all channels: Messe ist am Sonntag, =so gewollt")
    ]
    assert report.chain.intact and report.chain.events > 0

    out = io.StringIO()
    report_output.approvals_csv(report, out)
    rows = csv_rows(out.getvalue())
    assert [r["record"] for r in rows] == ["approval", "override", "chain"]
    assert rows[0]["title"] == "Messe <2027>" and rows[0]["revision"] == "2"
    assert rows[1]["revision"] == "2"
    page = report_output.approvals_html(report)
    assert "Messe &lt;2027&gt;" in page and "Messe 2028" not in page
    assert "Approver (approver)" in page
    assert "@media print" in page


def test_a_period_without_events_is_empty_and_intact(world: World) -> None:
    later = utcnow() + timedelta(days=30)
    report = approvals_report.approvals_report(
        world.session, actor=world.admin, since=later, until=later + timedelta(days=1)
    )
    assert report.approvals == [] and report.overrides == []
    assert report.chain.intact and report.chain.events == 0
    assert report_output.approvals_html(report).count("None in this period.") == 2


def test_a_changed_event_shows_as_a_broken_chain(world: World, engine: Engine) -> None:
    _approved_then_changed(world)
    with trigger_lifted(engine, "update") as conn:  # as the owner, around the trigger
        conn.execute(text("UPDATE audit_events SET note = 'nie passiert' WHERE id = 2"))
    world.session.rollback()
    since, until = utcnow() - timedelta(hours=1), utcnow() + timedelta(hours=1)
    report = approvals_report.approvals_report(
        world.session, actor=world.admin, since=since, until=until
    )
    assert not report.chain.intact
    page = report_output.approvals_html(report)
    assert '<p class="broken">BROKEN: chain broken at event 2 (changed)' in page


@pytest.mark.parametrize("who", ["editor", "approver", "contributor"])
def test_only_admins_get_the_report(world: World, who: str) -> None:
    with pytest.raises(PermissionDenied, match="may not see the approvals report for audits"):
        approvals_report.approvals_report(
            world.session, actor=getattr(world, who), since=utcnow(), until=utcnow() + timedelta(1)
        )
