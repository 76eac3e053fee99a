"""The process report's history of the rules: what they found when pieces were submitted
and approved (also where that step was refused, and though the text was fixed since), and
the posts the engine held by a rule in the period; counts worked out here, and in the CSV
and HTML."""

from __future__ import annotations

import io
import logging
from datetime import datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from planner import (
    channels,
    csvio,
    pieces,
    planning,
    process,
    report_output,
    rule_checks,
    rules,
    slots,
)
from planner.errors import EditConflict, ValidationFailed
from planner.models import Channel, Piece, Post, PublishAttempt, RecordedFinding, utcnow
from planner.ui import i18n
from tests import recording
from tests.conftest import World, utc
from tests.exported import csv_rows
from tests.planner.test_rules import BERLIN, QUIET, _due, _run

GUARANTEE = "Keine Garantien"
HASHTAGS = "Wenige Hashtags"


def _rules(world: World) -> None:
    for name, kind, severity, settings in (
        (GUARANTEE, "forbidden_terms", "block", {"terms": ["garantiert"]}),
        (HASHTAGS, "max_hashtags", "warn", {"max": 1}),
    ):
        rules.add_rule(
            world.session,
            actor=world.admin,
            data={"name": name, "kind": kind, "severity": severity, "settings": settings,
                  "message": {"de": f"{name} (de)", "en": f"{name} (en)"}},
        )  # fmt: skip


def _channel(world: World, name: str) -> Channel:
    return channels.create_channel(
        world.session, actor=world.admin, kind="recording", name=name, settings={}
    )


def _piece(world: World, title: str, body: str, channel: Channel) -> Piece:
    """A draft at revision 2 going out on `channel` with `body` as its variant there."""
    created = pieces.create_piece(
        world.session, actor=world.editor, data={"title": title, "body": body}
    )
    assert created.id is not None
    return pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=created.id,
        expected_revision=1,
        data={"variants": {channel.id: body}},
    )


def _submit(world: World, piece: Piece) -> Piece:
    assert piece.id is not None
    return pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)


def _approve(world: World, piece: Piece) -> Piece:
    assert piece.id is not None
    return pieces.approve_piece(
        world.session, actor=world.approver, piece_id=piece.id, revision=piece.revision
    )


@pytest.fixture
def stepped(world: World) -> tuple[World, datetime]:
    """Three pieces through submission and approval; the counts are worked out below."""
    started = utcnow()
    _rules(world)
    blog, feed = _channel(world, "Blog"), _channel(world, "Feed")

    # P1: refused at submission (the forbidden term, and two hashtags at revision 2); the
    # editor removes the term (revision 3), submits again and it is approved.
    p1 = _piece(world, "Tarif", "Der garantiert beste Tarif #neu #billig", blog)
    with pytest.raises(ValidationFailed) as refused:
        _submit(world, p1)
    assert GUARANTEE in str(refused.value.fields["rules"])
    assert p1.id is not None
    p1 = pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=p1.id,
        expected_revision=2,
        data={"variants": {blog.id: "Der beste Tarif #neu #billig"}},
    )
    _approve(world, _submit(world, p1))

    # P2: refused at submission; an approver overrides the term for revision 2 on every
    # channel; then it is submitted and approved with the finding standing, overridden.
    p2 = _piece(world, "Angebot", "garantiert günstig", feed)
    with pytest.raises(ValidationFailed):
        _submit(world, p2)
    with pytest.raises(ValidationFailed):  # clicked twice: still one finding
        _submit(world, p2)
    assert p2.id is not None
    rule_checks.override_finding(
        world.session,
        actor=world.approver,
        piece_id=p2.id,
        revision=2,
        rule=GUARANTEE,
        channel_id=None,
        justification="Von der Rechtsabteilung freigegeben.",
    )
    _approve(world, _submit(world, p2))

    # P3: nothing to find; submitted, then refused at approval for a version that is not
    # its current one (not by a rule: nothing recorded for that) and approved.
    p3 = _piece(world, "Morgen", "Guten Morgen", blog)
    p3 = _submit(world, p3)
    assert p3.id is not None
    with pytest.raises(EditConflict):
        pieces.approve_piece(
            world.session, actor=world.approver, piece_id=p3.id, revision=p3.revision - 1
        )
    _approve(world, p3)
    return world, started


def _report(world: World, since: datetime, until: datetime) -> process.ProcessReport:
    return process.process_report(world.session, actor=world.editor, since=since, until=until)


def test_the_findings_at_submission_and_approval_are_counted_though_fixed_since(
    stepped: tuple[World, datetime],
) -> None:
    world, started = stepped
    report = _report(world, started - timedelta(minutes=1), utcnow() + timedelta(minutes=1))

    assert report.steps_checked == 3  # P1, P2 and P3 were submitted and approved
    counted = [
        (f.rule, f.severity, f.findings, f.pieces, f.stopped, f.overridden)
        for f in report.step_findings
    ]
    assert counted == [
        # P1 revision 2 on Blog (refused, fixed since), P2 revision 2 on Feed (refused
        # twice, then overridden and let through): two findings, both refused a step.
        (GUARANTEE, "block", 2, 2, 2, 1),
        # P1 on Blog at revision 2 (refused) and at revision 3 (submitted and approved).
        (HASHTAGS, "warn", 2, 1, 0, 0),
    ]
    # What the rules find now in the current versions no longer shows P1's term.
    now = [(f.rule, f.severity, f.findings, f.pieces, f.overridden) for f in report.findings]
    assert now == [(GUARANTEE, "block", 1, 1, 1), (HASHTAGS, "warn", 1, 1, 0)]

    # Each check is kept as it was made: P1's refusal, P2's two refusals, then what its
    # submission and approval found, and P1's warnings at revision 3 twice.
    rows = world.session.exec(select(RecordedFinding).order_by(RecordedFinding.id)).all()
    steps = [(r.step, r.stopped, r.rule, r.revision, r.overridden) for r in rows]
    assert steps == [
        ("submit", True, GUARANTEE, 2, False),
        ("submit", True, HASHTAGS, 2, False),
        ("submit", False, HASHTAGS, 3, False),
        ("approve", False, HASHTAGS, 3, False),
        ("submit", True, GUARANTEE, 2, False),
        ("submit", True, GUARANTEE, 2, False),
        ("submit", False, GUARANTEE, 2, True),
        ("approve", False, GUARANTEE, 2, True),
    ]
    assert {r.actor_id for r in rows if r.step == "approve"} == {world.approver.id}


def test_a_period_before_the_steps_counts_none_of_them(stepped: tuple[World, datetime]) -> None:
    world, started = stepped
    report = _report(world, started - timedelta(days=7), started - timedelta(seconds=1))
    assert (report.steps_checked, report.step_findings) == (0, [])


def test_the_csv_and_html_carry_the_findings_at_the_steps(
    stepped: tuple[World, datetime],
) -> None:
    world, started = stepped
    report = _report(world, started - timedelta(minutes=1), utcnow() + timedelta(minutes=1))
    out = io.StringIO()
    report_output.process_csv(report, out)
    value = {(r["section"], r["name"], r["measure"]): r["value"] for r in csv_rows(out.getvalue())}
    section = "rule_findings_at_steps"
    assert value[(section, "", "pieces_checked")] == "3"
    assert value[(section, GUARANTEE, "block_findings")] == "2"
    assert value[(section, GUARANTEE, "block_stopped")] == "2"
    assert value[(section, GUARANTEE, "block_overridden")] == "1"
    assert value[(section, HASHTAGS, "warn_findings")] == "2"
    assert value[(section, HASHTAGS, "warn_pieces")] == "1"
    assert (section, HASHTAGS, "block_stopped") not in value

    page = report_output.process_html(report)
    cells = page.replace("\n", "")
    assert "<h2>Findings at submission and approval</h2>" in page
    assert "when the pieces submitted for review or approved in the period (3) went" in page
    assert (
        f'<td>{GUARANTEE}</td><td>blocks</td><td class="n">2</td><td class="n">2</td>'
        '<td class="n">2</td><td class="n">1</td>'
    ) in cells


def test_posts_held_by_a_rule_in_the_period_are_listed_once_with_the_reason(
    world: World, engine: Engine, recording_kind: type[recording.RecordingPublisher]
) -> None:
    started = utcnow()
    feed = _channel(world, "Feed")
    piece = _approve(world, _submit(world, _piece(world, "Tarif", "Garantiert günstig", feed)))
    now = utc(2030, 1, 15, 10)  # the engine's clock; its ledger keeps the real time
    post = _due(world, piece, feed, now - timedelta(minutes=1))
    _rules(world)  # the term is forbidden after the approval

    (first,) = _run(engine, now)
    (again,) = _run(engine, now + rule_checks.CONTENT_RECHECK)
    assert (first.outcome, again.outcome) == ("rule", "rule") and recording_kind.calls == []
    assert piece.id is not None
    rule_checks.override_finding(
        world.session,
        actor=world.approver,
        piece_id=piece.id,
        revision=piece.revision,
        rule=GUARANTEE,
        channel_id=None,
        justification="Slogan der Marke, freigegeben.",
    )
    (sent,) = _run(engine, now + 2 * rule_checks.CONTENT_RECHECK)
    assert sent.outcome == "published"
    last_hold = max(
        a.started_at
        for a in world.session.exec(select(PublishAttempt).where(PublishAttempt.outcome == "rule"))
    )

    report = _report(world, started - timedelta(minutes=1), utcnow() + timedelta(minutes=1))
    held = [p for p in report.post_problems if p.state == "held_by_rule"]
    assert [(p.post_id, p.channel, p.title, p.at) for p in held] == [
        (post.id, "Feed", "Tarif", last_hold)
    ]
    assert held[0].reason.startswith("held by a publishing rule") and GUARANTEE in held[0].reason
    # The ledger kept the hold as the rule's finding, so it is said in the reader's
    # language with the rule's own message in that language.
    assert i18n.hold_text("de", held[0].hold) == (
        f"eine Veröffentlichungsregel: Regel „{GUARANTEE}“ auf dem Kanal „Feed“: "
        f"{GUARANTEE} (de) (verboten: garantiert)"
    )
    assert f"{GUARANTEE} (en)" in i18n.hold_text("en", held[0].hold)
    # The CSV download says it in the reader's language too; without one, in English.
    german, english = io.StringIO(), io.StringIO()
    report_output.process_csv(report, german, describe_hold=partial(i18n.hold_text, "de"))
    report_output.process_csv(report, english)
    [german_row] = [r for r in csv_rows(german.getvalue()) if r["measure"] == "held_by_rule"]
    [english_row] = [r for r in csv_rows(english.getvalue()) if r["measure"] == "held_by_rule"]
    assert german_row["value"] == i18n.hold_text("de", held[0].hold)
    assert english_row["value"] == held[0].reason
    # No longer held now; and not held in a period before.
    assert [p.state for p in report.post_problems] == ["held_by_rule"]
    before = _report(world, started - timedelta(days=7), started - timedelta(seconds=1))
    assert [p for p in before.post_problems if p.post_id == post.id] == []

    out = io.StringIO()
    report_output.process_csv(report, out)
    rows = [r for r in csv_rows(out.getvalue()) if r["measure"] == "held_by_rule"]
    assert [r["name"] for r in rows] == [f"post {post.id} (Feed): Tarif"]
    assert "<td>held by a rule</td>" in report_output.process_html(report)


def test_a_refusal_reaches_the_editor_even_when_its_findings_cannot_be_stored(
    world: World, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    _rules(world)
    piece = _piece(world, "Tarif", "Der garantiert beste Tarif", _channel(world, "Blog"))
    world.session.commit()
    # The findings' table is away (a broken database): storing them fails. It comes back
    # afterwards, as the next tests on this database need it.
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE recorded_findings RENAME TO recorded_findings_away"))
    try:
        with pytest.raises(ValidationFailed) as refused, caplog.at_level(logging.WARNING):
            _submit(world, piece)
        assert piece.id is not None
        kept = pieces.get_piece(world.session, actor=world.editor, piece_id=piece.id)
        world.session.commit()
    finally:
        world.session.rollback()
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE recorded_findings_away RENAME TO recorded_findings"))

    assert GUARANTEE in str(refused.value.fields["rules"])
    assert "could not record the rule findings that refused submit" in caplog.text
    assert (kept.status, kept.revision) == ("draft", 2)  # nothing else changed


def _plan(world: World, piece: Piece, when: datetime) -> Post:
    assert piece.id is not None
    return planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel="Feed",
        when=when,
        tz_name=BERLIN,
    )


def _quiet_rule(world: World) -> None:
    """No posts from 22:00 to 07:00 (blocks)."""
    rules.add_rule(
        world.session,
        actor=world.admin,
        data={"name": "Nachtruhe", "kind": "quiet_hours", "settings": QUIET,
              "message": {"de": "Nachts nicht.", "en": "Not at night."}},
    )  # fmt: skip


def test_what_the_rules_found_when_planning_and_moving_is_counted_each_time(
    world: World,
) -> None:
    started = utcnow()
    feed = _channel(world, "Feed")
    piece = _approve(world, _submit(world, _piece(world, "Tarif", "Guter Tarif #a #b", feed)))
    _quiet_rule(world)
    _rules(world)  # a blocking forbidden term (not in the text) and at most one hashtag (warn)
    night = datetime(2030, 1, 15, 23, 30)  # Berlin wall clock
    noon = datetime(2030, 1, 15, 12, 0)

    with pytest.raises(ValidationFailed):  # refused by the quiet hours: 1 refused
        _plan(world, piece, night)
    with pytest.raises(ValidationFailed):  # clicked twice: counted twice
        _plan(world, piece, night)
    post = _plan(world, piece, noon)  # planned; the hashtags warn
    assert post.id is not None
    with pytest.raises(ValidationFailed):  # a move into the night: refused
        planning.move_post(
            world.session, actor=world.editor, post_id=post.id, when=night, tz_name=BERLIN
        )
    planning.move_post(  # a move by day: nothing found (a move checks the time only)
        world.session, actor=world.editor, post_id=post.id, when=noon.replace(hour=13),
        tz_name=BERLIN,
    )  # fmt: skip

    report = _report(world, started - timedelta(minutes=1), utcnow() + timedelta(minutes=1))
    found = [
        (f.rule, f.severity, f.findings, f.refused, f.pieces) for f in report.planning_findings
    ]
    # Night twice and the move into it; the hashtags at the three plans (a move checks the
    # time only), a warning never refusing.
    assert found == [("Nachtruhe", "block", 3, 3, 1), (HASHTAGS, "warn", 3, 0, 1)]
    # Planning is not a step of the piece: nothing counted there (the rules came later).
    assert (report.step_findings, report.steps_checked) == ([], 1)

    out = io.StringIO()
    report_output.process_csv(report, out)
    rows = [
        (r["name"], r["measure"], r["value"])
        for r in csv_rows(out.getvalue())
        if r["section"] == "rule_findings_when_planning"
    ]
    assert rows == [
        ("Nachtruhe", "block_findings", "3"),
        ("Nachtruhe", "block_pieces", "1"),
        ("Nachtruhe", "block_refused", "3"),
        (HASHTAGS, "warn_findings", "3"),
        (HASHTAGS, "warn_pieces", "1"),
    ]
    page = report_output.process_html(report)
    assert "<h2>Findings when planning</h2>" in page and "<td>Nachtruhe</td>" in page


def test_a_refused_plan_still_refuses_when_its_findings_cannot_be_stored(
    world: World, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    feed = _channel(world, "Feed")
    piece = _approve(world, _submit(world, _piece(world, "Tarif", "Guter Tarif", feed)))
    _quiet_rule(world)
    world.session.commit()
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE recorded_findings RENAME TO recorded_findings_away"))
    try:
        with pytest.raises(ValidationFailed) as refused, caplog.at_level(logging.WARNING):
            _plan(world, piece, datetime(2030, 1, 15, 23, 30))
    finally:
        world.session.rollback()
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE recorded_findings_away RENAME TO recorded_findings"))
    assert "Nachtruhe" in str(refused.value.fields["publish_at"])
    assert "could not record the rule findings that refused plan" in caplog.text
    assert planning.list_posts(world.session, actor=world.editor) == []


def _planning_counts(world: World, started: datetime) -> list[tuple[str, str, int, int, int]]:
    """(rule, severity, findings, refused, pieces) of "findings when planning" since `started`."""
    report = _report(world, started - timedelta(minutes=1), utcnow() + timedelta(minutes=1))
    return [(f.rule, f.severity, f.findings, f.refused, f.pieces) for f in report.planning_findings]


def _csv_plan(*rows: tuple[object, ...]) -> str:
    lines = ["post_id,piece_id,channel,publish_at,timezone"]
    lines += [",".join(str(v) for v in row) for row in rows]
    return "\n".join(lines) + "\n"


def test_a_plan_import_keeps_what_the_rules_found_in_each_row_and_what_they_refused(
    world: World,
) -> None:
    started = utcnow()
    feed = _channel(world, "Feed")
    tagged = _approve(world, _submit(world, _piece(world, "Tarif", "Guter Tarif #a #b", feed)))
    plain = _approve(world, _submit(world, _piece(world, "Morgen", "Guten Morgen", feed)))
    _quiet_rule(world)
    _rules(world)  # the forbidden term comes after approval: only planning finds it
    promise = pieces.edit_piece(  # an edit after approval goes back to review
        world.session,
        actor=world.editor,
        piece_id=plain.id or 0,
        expected_revision=plain.revision,
        data={"variants": {feed.id: "Garantiert guten Morgen"}},
    )
    with pytest.raises(ValidationFailed):  # approval finds the term: refused there
        _approve(world, promise)
    rule_checks.override_finding(
        world.session, actor=world.approver, piece_id=promise.id or 0,
        revision=promise.revision, rule=GUARANTEE, channel_id=None,
        justification="Von der Rechtsabteilung freigegeben.",
    )  # fmt: skip
    _approve(world, promise)
    # A refused import: the night row is refused by the quiet hours (and its hashtags
    # warn); the day row of the same file is fine, but nothing is planned.
    refused = _csv_plan(
        ("", tagged.id, "Feed", "2030-01-15 23:30", BERLIN),
        ("", tagged.id, "Feed", "2030-01-16 12:00", BERLIN),
    )
    with pytest.raises(csvio.CsvImportFailed) as failed:
        csvio.import_plan(world.session, actor=world.editor, raw=refused)
    assert [line for line, _ in failed.value.problems] == [2]
    assert planning.list_posts(world.session, actor=world.editor) == []
    # As a refused plan: all the refused row's findings (the warning too), none of the
    # other row's (it was not refused, and not planned either).
    assert _planning_counts(world, started) == [
        ("Nachtruhe", "block", 1, 1, 1),
        (HASHTAGS, "warn", 1, 0, 1),
    ]

    # The same day row alone is planned, with the hashtag warning; the overridden term
    # of "Morgen" is found (not refusing) when its row is planned.
    planned = csvio.import_plan(
        world.session,
        actor=world.editor,
        raw=_csv_plan(
            ("", tagged.id, "Feed", "2030-01-16 12:00", BERLIN),
            ("", promise.id, "Feed", "2030-01-17 12:00", BERLIN),
        ),
    )
    assert len(planned.created) == 2
    assert _planning_counts(world, started) == [
        (GUARANTEE, "block", 1, 0, 1),
        ("Nachtruhe", "block", 1, 1, 1),
        (HASHTAGS, "warn", 2, 0, 1),
    ]
    # A row that moves a post into the night is refused and kept as such.
    post = planned.created[0]
    with pytest.raises(csvio.CsvImportFailed):
        csvio.import_plan(
            world.session,
            actor=world.editor,
            raw=_csv_plan((post.id, tagged.id, "Feed", "2030-01-16 23:00", BERLIN)),
        )
    assert _planning_counts(world, started)[1] == ("Nachtruhe", "block", 2, 2, 1)


def test_add_to_queue_keeps_what_the_rules_found_and_a_refusal_by_a_content_rule(
    world: World,
) -> None:
    started = utcnow()
    feed = _channel(world, "Feed")
    slots.set_slot_plan(world.session, actor=world.admin, channel="Feed", slots="Tue 12:00")
    tagged = _approve(world, _submit(world, _piece(world, "Tarif", "Guter Tarif #a #b", feed)))
    promise = _approve(world, _submit(world, _piece(world, "Morgen", "Garantiert gut", feed)))
    _rules(world)  # after approval: only planning finds the term
    queued = slots.queue_post(world.session, actor=world.editor, piece_id=tagged.id or 0,
                              channel="Feed")  # fmt: skip
    assert queued.id is not None
    with pytest.raises(ValidationFailed) as refused:  # no slot can fix a content rule
        slots.queue_post(world.session, actor=world.editor, piece_id=promise.id or 0,
                         channel="Feed")  # fmt: skip
    assert GUARANTEE in str(refused.value.fields["rules"])
    assert [p.id for p in planning.list_posts(world.session, actor=world.editor)] == [queued.id]
    assert _planning_counts(world, started) == [
        (GUARANTEE, "block", 1, 1, 1),
        (HASHTAGS, "warn", 1, 0, 1),
    ]


def test_a_series_is_refused_by_a_content_rule_as_a_plan_is_and_keeps_its_findings(
    world: World,
) -> None:
    started = utcnow()
    feed = _channel(world, "Feed")
    tagged = _approve(world, _submit(world, _piece(world, "Tarif", "Guter Tarif #a #b", feed)))
    promise = _approve(world, _submit(world, _piece(world, "Morgen", "Garantiert gut", feed)))
    _rules(world)
    weekly = {"channel": "Feed", "rule": "FREQ=WEEKLY;COUNT=3", "tz_name": BERLIN}
    with pytest.raises(ValidationFailed) as refused:
        planning.create_series(world.session, actor=world.editor, piece_id=promise.id or 0,
                               start="2030-01-15 12:00", **weekly)  # fmt: skip
    assert GUARANTEE in str(refused.value.fields["rules"])
    assert planning.list_posts(world.session, actor=world.editor) == []
    series = planning.create_series(world.session, actor=world.editor, piece_id=tagged.id or 0,
                                    start="2030-01-15 12:00", **weekly)  # fmt: skip
    assert series.id is not None
    # One series, one check of its content: the hashtags found once, not per post.
    assert _planning_counts(world, started) == [
        (GUARANTEE, "block", 1, 1, 1),
        (HASHTAGS, "warn", 1, 0, 1),
    ]
