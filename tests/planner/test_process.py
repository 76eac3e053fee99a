"""The process report on a hand-built history whose figures are worked out here, and
working days across a weekend and a holiday of one Land but not another."""

from __future__ import annotations

import dataclasses
import io
import time
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from planner import audiences, audit, channels, org_settings, process, publishing, report_output
from planner.errors import PermissionDenied, ValidationFailed
from planner.inbox import ResponseFigures
from planner.models import (
    AuditEvent,
    Channel,
    Idea,
    IdeaStatus,
    Piece,
    PieceStatus,
    Post,
    PostStatus,
    User,
    utcnow,
)
from planner.planning import HoldReason
from planner.workdays import check_land, is_working_day, working_days_between
from planner.worker import SweepResult, Worker
from publishers.base import PermanentError
from tests import recording
from tests.conftest import World, utc
from tests.exported import csv_rows
from tests.planner.test_publishing import FAST, _approved_piece, _due_post

SINCE, UNTIL = utc(2026, 6, 1), utc(2026, 7, 1)
NOW = utc(2026, 6, 26, 12)  # a Friday
H = timedelta(hours=1)


def _hours(span: timedelta | None) -> float:
    assert span is not None
    return span.total_seconds() / 3600


# --- working days -----------------------------------------------------------------------


def test_corpus_christi_is_a_holiday_in_bavaria_but_not_in_berlin() -> None:
    corpus_christi = date(2026, 6, 4)  # a Thursday
    assert not is_working_day(corpus_christi, land="BY")
    assert is_working_day(corpus_christi, land="BE")
    assert is_working_day(corpus_christi, land="")  # not a nationwide holiday


def test_working_days_skip_the_weekend_and_the_lands_holidays() -> None:
    wednesday, monday = date(2026, 6, 3), date(2026, 6, 8)
    # Bavaria: Thu 4 June is Corpus Christi, Sat and Sun are no working days: Fri 5, Mon 8.
    assert working_days_between(wednesday, monday, land="BY") == 2
    # Berlin: Thu 4, Fri 5, Mon 8.
    assert working_days_between(wednesday, monday, land="BE") == 3
    # Ascension Day (Thu 14 May 2026) is a holiday everywhere: Fri 15 and Mon 18.
    assert working_days_between(date(2026, 5, 13), date(2026, 5, 18), land="") == 2
    assert working_days_between(monday, monday, land="BY") == 0
    assert working_days_between(monday, wednesday, land="BY") == 0


def test_an_unknown_land_is_refused_by_name() -> None:
    assert check_land(" by ") == "BY"
    assert check_land("") == ""
    with pytest.raises(ValueError, match="'Bayern' is not a German Land"):
        check_land("Bayern")


def test_percentiles_interpolate_between_the_closest_ranks() -> None:
    assert process.percentile([4, 1, 3, 2], 0.5) == 2.5
    assert process.percentile(list(range(1, 11)), 0.9) == pytest.approx(9.1)
    assert process.percentile([7], 0.9) == 7
    assert process.spread([]) == process.Spread(0)


# --- the hand-built history ---------------------------------------------------------------


def _idea(
    s: Session, world: World, at: datetime, department: int, status: IdeaStatus, reason: str = ""
) -> Idea:
    assert world.contributor.id is not None
    idea = Idea(
        title=f"Idee vom {at:%d.%m.}",
        pitch="Worum es geht",
        department_id=department,
        submitted_by_id=world.contributor.id,
        status=status,
        created_at=at,
        rejection_reason=reason or None,
    )
    s.add(idea)
    s.flush()
    return idea


def _piece(s: Session, world: World, title: str, idea: Idea, status: PieceStatus) -> Piece:
    assert world.editor.id is not None
    piece = Piece(title=title, owner_id=world.editor.id, idea_id=idea.id, status=status)
    s.add(piece)
    s.flush()
    return piece


def _events(s: Session, actor: User, kind: str, obj_id: int, moves: list[tuple]) -> None:
    """Audit events at given times: (at, action, from_state, to_state[, note])."""
    rows = []
    for at, action, before, after, *note in moves:
        rows.append(
            audit.event_row(
                at=at,
                actor_id=actor.id,
                actor_name=actor.username,
                object_type=kind,
                object_id=obj_id,
                action=action,
                from_state=before,
                to_state=after,
                version=2 if action == "approve" else None,
                note=note[0] if note else "",
            )
        )
    audit.append(s.connection(), rows)


D, R, C, A, P = "draft", "in_review", "changes_requested", "approved", "published"


@pytest.fixture
def history(world: World) -> World:
    s = world.session
    mkt, hr = 1, 2  # the departments World creates, in order
    org_settings.set_setting(s, actor=world.admin, key="holiday_land", value="BY")
    # Ideas of the period: Marketing 4 (3 accepted, 1 rejected), HR 4 (2 rejected, one
    # merged, one open); one accepted idea from May.
    i1 = _idea(s, world, utc(2026, 6, 1, 8), mkt, IdeaStatus.accepted)
    i2 = _idea(s, world, utc(2026, 6, 2, 8), mkt, IdeaStatus.accepted)
    _idea(s, world, utc(2026, 6, 3, 8), mkt, IdeaStatus.rejected, reason="Zu speziell")
    _idea(s, world, utc(2026, 6, 4, 8), hr, IdeaStatus.rejected, reason="  Zu\n speziell ")
    _idea(s, world, utc(2026, 6, 5, 8), hr, IdeaStatus.rejected, reason="Kein Budget")
    _idea(s, world, utc(2026, 6, 6, 8), hr, IdeaStatus.merged)
    _idea(s, world, utc(2026, 6, 7, 8), hr, IdeaStatus.submitted)
    i8 = _idea(s, world, utc(2026, 6, 8, 8), mkt, IdeaStatus.accepted)
    i0 = _idea(s, world, utc(2026, 5, 20, 8), mkt, IdeaStatus.accepted)

    a = _piece(s, world, "Messe <Nachlese>", i1, PieceStatus.published)
    b = _piece(s, world, "Azubi-Tag", i2, PieceStatus.published)
    c = _piece(s, world, "Sommerfest", i8, PieceStatus.in_review)
    d = _piece(s, world, "Mai-Beitrag", i0, PieceStatus.approved)
    ed, ap = world.editor, world.approver
    assert a.id and b.id and c.id and d.id
    _events(s, ed, "piece", a.id, [(utc(2026, 6, 1, 10), "create", None, D)])
    _events(s, ed, "piece", a.id, [(utc(2026, 6, 3, 10), "submit", D, R)])  # a Wednesday
    _events(s, ap, "piece", a.id, [(utc(2026, 6, 8, 9), "approve", R, A)])  # Monday
    _events(s, ed, "piece", a.id, [(utc(2026, 6, 10, 9), "publish", A, P)])
    _events(s, ed, "piece", b.id, [(utc(2026, 6, 2, 9), "create", None, D)])
    _events(s, ed, "piece", b.id, [(utc(2026, 6, 5, 9), "submit", D, R)])  # Friday
    _events(s, ap, "piece", b.id, [(utc(2026, 6, 9, 9), "request_changes", R, C, "Quelle?")])
    _events(s, ed, "piece", b.id, [(utc(2026, 6, 9, 12), "revise", C, D)])
    _events(s, ed, "piece", b.id, [(utc(2026, 6, 9, 13), "edit", D, D)])  # no change of state
    _events(s, ed, "piece", b.id, [(utc(2026, 6, 10, 9), "submit", D, R)])
    _events(s, ap, "piece", b.id, [(utc(2026, 6, 11, 9), "request_changes", R, C, "Bild")])
    _events(s, ed, "piece", b.id, [(utc(2026, 6, 11, 10), "revise", C, D)])
    _events(s, ed, "piece", b.id, [(utc(2026, 6, 12, 9), "submit", D, R)])  # Friday
    _events(s, ap, "piece", b.id, [(utc(2026, 6, 17, 9), "approve", R, A)])  # Wednesday
    _events(s, ed, "piece", b.id, [(utc(2026, 6, 19, 15), "publish", A, P)])
    _events(s, ed, "piece", c.id, [(utc(2026, 6, 8, 9), "create", None, D)])
    _events(s, ed, "piece", c.id, [(utc(2026, 6, 22, 9), "submit", D, R)])  # Monday, open
    _events(s, ed, "piece", d.id, [(utc(2026, 5, 20, 9), "create", None, D)])
    _events(s, ed, "piece", d.id, [(utc(2026, 5, 25, 9), "submit", D, R)])
    _events(s, ap, "piece", d.id, [(utc(2026, 6, 2, 9), "approve", R, A)])
    # Overrides: one in the period, one after it.
    _events(s, ed, "piece", b.id, [(utc(2026, 6, 16, 9), "rule_override", None, None,
                                    "Rechtsabteilung hat <freigegeben>")])  # fmt: skip
    _events(s, ed, "piece", b.id, [(utc(2026, 7, 2, 9), "rule_override", None, None, "später")])
    # Posts: one failed and one missed in the period, one failed before it, one held now.
    channel = Channel(kind="webhook", name="Blog", settings={})
    s.add(channel)
    s.flush()
    assert channel.id is not None and ed.id is not None

    def post(piece: Piece, when: datetime, status: PostStatus) -> int:
        row = Post(piece_id=piece.id, channel_id=channel.id, publish_at=when, status=status,
                   created_by_id=ed.id)  # fmt: skip
        s.add(row)
        s.flush()
        assert row.id is not None
        return row.id

    failed = post(a, utc(2026, 6, 18, 8), PostStatus.failed)
    missed = post(b, utc(2026, 6, 19, 8), PostStatus.missed)
    old = post(a, utc(2026, 5, 28, 8), PostStatus.failed)
    post(c, utc(2026, 6, 25, 8), PostStatus.planned)  # due, but the piece is not approved
    post(c, utc(2026, 6, 29, 8), PostStatus.planned)  # not due yet
    _events(s, ed, "post", failed, [(utc(2026, 6, 18, 8), "fail", "publishing", "failed",
                                     "HTTP 503 vom Blog")])  # fmt: skip
    _events(s, ed, "post", missed, [(utc(2026, 6, 19, 9), "miss", "planned", "missed",
                                     "more than 2:00:00 late")])  # fmt: skip
    _events(s, ed, "post", old, [(utc(2026, 5, 28, 8), "fail", "publishing", "failed", "alt")])
    s.commit()
    return world


def test_ideas_count_by_the_audience_they_or_their_piece_name(history: World) -> None:
    s = history.session
    customers = audiences.create_audience(s, actor=history.admin, name="Endkunden")
    trainees = audiences.create_audience(s, actor=history.admin, name="Azubis")
    idea = s.exec(select(Idea).where(Idea.title == "Idee vom 01.06.")).one()
    idea.audience_id = customers.id  # the idea names its audience
    piece = s.exec(select(Piece).where(Piece.title == "Azubi-Tag")).one()
    piece.audience_id = trainees.id  # only the piece does: its idea counts there
    s.commit()

    report = process.process_report(s, actor=history.editor, since=SINCE, until=UNTIL, now=NOW)

    assert report.by_audience is not None
    assert [
        (c.name, c.submitted, c.accepted, c.rejected, c.merged, c.open) for c in report.by_audience
    ] == [
        ("Endkunden", 1, 1, 0, 0, 0),
        ("Azubis", 1, 1, 0, 0, 0),
        # The other six ideas of June name none: Marketing's third accepted and its
        # rejected one, HR's two rejected, merged and open ones.
        ("", 6, 1, 3, 1, 1),
    ]


def test_the_process_figures_of_a_hand_built_month(history: World) -> None:
    report = process.process_report(
        history.session, actor=history.editor, since=SINCE, until=UNTIL, now=NOW
    )

    # Ideas submitted in June: 3 of Marketing's 4 accepted, 1 rejected (3 of 4 decided).
    assert (report.ideas.submitted, report.ideas.accepted, report.ideas.rejected) == (8, 3, 3)
    assert (report.ideas.merged, report.ideas.open) == (1, 1)
    assert report.ideas.acceptance_rate == 3 / 6
    by_department = {c.name: c for c in report.by_department}
    assert by_department["Marketing"].acceptance_rate == 3 / 4
    assert by_department["HR"].acceptance_rate == 0.0
    assert (by_department["HR"].merged, by_department["HR"].open) == (1, 1)
    assert report.by_audience is None  # no idea or piece names an audience
    # The same reason written twice (once with other spacing) counts twice.
    assert report.rejection_reasons == [("Zu speziell", 2), ("Kein Budget", 1)]

    # Idea -> first approval, where that approval is in June: the May piece D (May 20 08:00
    # to June 2 09:00 = 13 d 1 h = 313 h), A (June 1 08:00 to June 8 09:00 = 169 h), B
    # (June 2 08:00 to June 17 09:00 = 361 h). Median 313 h; 90th percentile at rank
    # 0.9 * (3 - 1) = 1.8: 313 + 0.8 * (361 - 313) = 351.4 h.
    to_approval = report.cycles["idea_to_approval"]
    assert to_approval.count == 3
    assert to_approval.median == 313 * H
    assert _hours(to_approval.p90) == pytest.approx(351.4)
    # Last approval -> publication: A 48 h, B 54 h; median 51, p90 48 + 0.9 * 6 = 53.4 h.
    to_publication = report.cycles["approval_to_publication"]
    assert (to_publication.count, to_publication.median) == (2, 51 * H)
    assert _hours(to_publication.p90) == pytest.approx(53.4)
    # Idea -> publication: A 217 h, B 415 h; median 316, p90 217 + 0.9 * 198 = 395.2 h.
    whole = report.cycles["idea_to_publication"]
    assert (whole.count, whole.median) == (2, 316 * H)
    assert _hours(whole.p90) == pytest.approx(395.2)

    # Stays that ended in June. Drafts: A 48, B 72, 21, 23, C 336 h (D's draft ended in May);
    # sorted 21, 23, 48, 72, 336: median 48, p90 at rank 3.6: 72 + 0.6 * 264 = 230.4 h.
    states = {s.state: s for s in report.states}
    draft = states[PieceStatus.draft]
    assert (draft.stays.count, draft.stays.median, draft.total) == (5, 48 * H, 500 * H)
    assert _hours(draft.stays.p90) == pytest.approx(230.4)
    # In review: A 119, B 96, 24, 120, D 192 (since May 25); C's is still open.
    review = states[PieceStatus.in_review]
    assert (review.stays.count, review.stays.median) == (5, 119 * H)
    assert _hours(review.stays.p90) == pytest.approx(120 + 0.6 * 72)
    changes = states[PieceStatus.changes_requested]
    assert (changes.stays.count, changes.stays.median, changes.total) == (2, 2 * H, 4 * H)
    approved = states[PieceStatus.approved]
    assert (approved.stays.count, approved.stays.median) == (2, 51 * H)
    assert PieceStatus.archived not in states  # no stay there, so not shown

    # Reviewed in June: A, B, C, D; changes were requested twice, both of B.
    assert [r.piece_id for r in report.reviewed] == sorted(r.piece_id for r in report.reviewed)
    assert len(report.reviewed) == 4 and report.change_requests == 2
    assert [(r.title, r.loops) for r in report.rework] == [("Azubi-Tag", 2)]

    # Reviews begun in June, in Bavaria's working days: A Wed 3 -> Mon 8 June is 2 (Thu 4
    # is Corpus Christi), B 2, 1, then Fri 12 -> Wed 17 June is 3 (late), C open since Mon
    # 22 June is 4 by Friday 26 (late).
    assert sorted(r.working_days for r in report.reviews) == [1, 2, 2, 3, 4]
    assert [(r.title, r.working_days, r.decided_at) for r in report.late] == [
        ("Azubi-Tag", 3, utc(2026, 6, 17, 9)),
        ("Sommerfest", 4, None),
    ]

    assert [(o.actor_name, o.justification) for o in report.overrides] == [
        ("editor", "Rechtsabteilung hat <freigegeben>")
    ]
    assert [(p.state, p.reason) for p in report.post_problems] == [
        ("failed", "HTTP 503 vom Blog"),
        ("missed", "more than 2:00:00 late"),
        ("held", HoldReason.not_approved.value),
    ]
    assert report.post_problems[-1].hold == HoldReason.not_approved


def _sweep(engine: Engine) -> SweepResult:
    """One pass of the publishing worker, as the scheduler runs it."""
    worker = Worker(engine, worker_id="test-worker", settings=FAST)
    try:
        return worker.sweep()
    finally:
        worker.close()


def test_a_post_whose_worker_died_mid_request_is_listed_as_needing_a_check(
    world: World, engine: Engine, recording_kind: type[recording.RecordingPublisher]
) -> None:
    started = utcnow()
    blog = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name="Blog", settings={}
    )
    assert not blog.deduplicates  # nobody declared that the channel drops repeats
    post = _due_post(world, _approved_piece(world), blog, ago=timedelta(minutes=1))
    # A worker claims the post with a short lease, sends it and dies before it records
    # the answer: its ledger row stays open.
    (delivery,) = publishing.claim_deliveries(
        engine,
        worker_id="dead-worker",
        now=utcnow(),
        limit=5,
        lease=timedelta(seconds=1),
        lateness=timedelta(hours=6),
    )
    publishing.deliver(engine, delivery)
    assert [c.post_id for c in recording_kind.calls] == [post.id]
    time.sleep(1.1)  # its lease runs out; the next sweep recovers the post
    assert _sweep(engine).needs_check == 1
    assert len(recording_kind.calls) == 1  # not sent again
    s = world.session
    (suspect,) = s.exec(
        select(AuditEvent).where(
            AuditEvent.object_type == "post",
            AuditEvent.object_id == str(post.id),
            AuditEvent.to_state == PostStatus.needs_check.value,
        )
    ).all()
    assert started <= suspect.at <= utcnow()
    reason = (
        "worker dead-worker stopped mid-request; Blog is not known to drop repeats, "
        "so check whether it went out"
    )
    expected = (post.id, post.piece_id, "Gruß", "Blog", suspect.at, "needs_check", reason)

    def listed(since: datetime, until: datetime) -> list[tuple[object, ...]]:
        report = process.process_report(s, actor=world.editor, since=since, until=until)
        return [
            (p.post_id, p.piece_id, p.title, p.channel, p.at, p.state, p.reason)
            for p in report.post_problems
        ]

    # The period is half-open: the check counts in one that begins at its moment, not in
    # one that ends there nor in one that begins just after.
    week = timedelta(days=7)
    assert listed(started - week, utcnow() + week) == [expected]
    assert listed(suspect.at, suspect.at + timedelta(microseconds=1)) == [expected]
    assert listed(started - week, suspect.at) == []
    assert listed(suspect.at + timedelta(microseconds=1), utcnow() + week) == []

    # A person finds it did not go out and sends it again, and the channel refuses it: the
    # period shows both, each with the reason recorded at its moment.
    publishing.retry_post(s, actor=world.editor, post_id=post.id or 0)
    recording_kind.script.append(PermanentError("Text zu lang", http_status=422))
    assert _sweep(engine).count(PostStatus.failed) == 1
    report = process.process_report(
        s, actor=world.editor, since=started - week, until=utcnow() + week
    )
    assert [(p.post_id, p.state, p.reason) for p in report.post_problems] == [
        (post.id, "needs_check", reason),
        (post.id, "failed", "Text zu lang"),
    ]

    out = io.StringIO()
    report_output.process_csv(report, out)
    rows = [r for r in csv_rows(out.getvalue()) if r["section"] == "post_problems"]
    assert [(r["name"], r["measure"], r["value"]) for r in rows] == [
        (f"post {post.id} (Blog): Gruß", "needs_check", reason),
        (f"post {post.id} (Blog): Gruß", "failed", "Text zu lang"),
    ]
    cells = report_output.process_html(report).replace("\n", "")
    assert (
        f"<td>#{post.id}</td><td>Blog</td><td>Gruß</td><td>needs check</td><td>{reason}</td></tr>"
    ) in cells


def test_in_berlin_corpus_christi_is_a_working_day_so_one_more_review_is_late(
    history: World,
) -> None:
    org_settings.set_setting(history.session, actor=history.admin, key="holiday_land", value="BE")
    org_settings.set_setting(
        history.session, actor=history.admin, key="approval_target_days", value="3"
    )
    report = process.process_report(
        history.session, actor=history.admin, since=SINCE, until=UNTIL, now=NOW
    )
    # Berlin: A waited Thu 4, Fri 5, Mon 8 = 3 days; with a target of 3 only C is late.
    assert sorted(r.working_days for r in report.reviews) == [1, 2, 3, 3, 4]
    assert [r.title for r in report.late] == ["Sommerfest"]


def test_the_targets_settings_refuse_bad_values(world: World) -> None:
    for key, value, said in (
        ("approval_target_days", "0", "'0' is not a number of working days"),
        ("approval_target_days", "zwei", "'zwei' is not a number of working days"),
        ("holiday_land", "XX", "'XX' is not a German Land"),
    ):
        with pytest.raises(ValidationFailed) as err:
            org_settings.set_setting(world.session, actor=world.admin, key=key, value=value)
        assert said in err.value.fields[key]
    assert (
        org_settings.set_setting(world.session, actor=world.admin, key="holiday_land", value="nw")
        == "NW"
    )


def test_only_editors_and_admins_see_the_process_report(world: World) -> None:
    for reader in (world.editor, world.admin):
        process.process_report(world.session, actor=reader, since=SINCE, until=UNTIL)
    for outsider in (world.approver, world.contributor):
        with pytest.raises(PermissionDenied, match="may not see the process report"):
            process.process_report(world.session, actor=outsider, since=SINCE, until=UNTIL)


def test_a_period_that_ends_before_it_begins_is_refused(world: World) -> None:
    with pytest.raises(ValidationFailed, match="before it begins"):
        process.process_report(world.session, actor=world.editor, since=UNTIL, until=SINCE)


def test_an_empty_period_has_no_figures_but_a_whole_report(world: World) -> None:
    report = process.process_report(world.session, actor=world.editor, since=SINCE, until=UNTIL)
    assert report.ideas.submitted == 0 and report.ideas.acceptance_rate is None
    assert all(s.count == 0 and s.median is None for s in report.cycles.values())
    page = report_output.process_html(report)
    assert page.count("None in this period.") >= 5
    out = io.StringIO()
    assert report_output.process_csv(report, out) > 0


# --- CSV and HTML ---------------------------------------------------------------------------


def test_the_csv_has_one_row_per_figure_in_hours(history: World) -> None:
    report = process.process_report(
        history.session, actor=history.editor, since=SINCE, until=UNTIL, now=NOW
    )
    out = io.StringIO()
    report_output.process_csv(report, out)
    rows = csv_rows(out.getvalue())
    value = {(r["section"], r["name"], r["measure"]): r["value"] for r in rows}
    assert value[("ideas", "", "acceptance_rate")] == "0.5000"
    assert value[("ideas_by_department", "Marketing", "accepted")] == "3"
    assert value[("cycle_time", "idea_to_approval", "median_hours")] == "313.00"
    assert value[("cycle_time", "idea_to_approval", "p90_hours")] == "351.40"
    assert value[("time_in_state", "draft", "total_hours")] == "500.00"
    assert value[("approval_wait", "", "past_target")] == "2"
    assert value[("approval_wait", "", "holiday_land")] == "BY"
    assert value[("rejection_reasons", "Zu speziell", "count")] == "2"
    assert value[("rule_overrides", "", "count")] == "1"


def test_the_html_is_escaped_and_printable(history: World) -> None:
    report = process.process_report(
        history.session, actor=history.editor, since=SINCE, until=UNTIL, now=NOW
    )
    page = report_output.process_html(report)
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    assert "@media print" in page and '<th scope="col">' in page
    assert "Messe &lt;Nachlese&gt;" in page  # the title of A, whose post failed
    assert "<Nachlese>" not in page
    assert "Rechtsabteilung hat &lt;freigegeben&gt;" in page
    assert "<freigegeben>" not in page
    assert (
        "Target in working days: 2 (public holidays of BY). Reviews begun in the period that "
        "took longer: 2 of 5."
    ) in page
    assert "held now" in page and "the piece is not approved" in page
    german = report_output.process_html(
        report, texts={"title": "Prozessbericht", "decimal_mark": ","}, lang="de"
    )
    assert '<html lang="de">' in german and "<title>Prozessbericht</title>" in german
    assert "13,0" in german  # idea to approval, median 313 h = 13.0 days


def test_the_html_writes_the_response_times_as_its_other_numbers(world: World) -> None:
    """The listening figures read as the acceptance rates do (a percentage, the report's
    decimal mark); the CSV keeps them machine-readable."""
    report = process.process_report(world.session, actor=world.editor, since=SINCE, until=UNTIL)
    answered = ResponseFigures(
        department="Marketing",
        target_hours=4,
        answered=3,
        within_target=2,
        median_hours=3.5,
        open_overdue=1,
    )
    report = dataclasses.replace(report, responses=[answered])
    english = report_output.process_html(report).replace("\n", "")
    assert (
        '<td>Marketing</td><td class="n">4</td><td class="n">3</td><td>66.7 %</td>'
        '<td>3.5</td><td class="n">1</td>'
    ) in english
    german = report_output.process_html(report, texts={"decimal_mark": ","}, lang="de")
    assert "<td>66,7 %</td><td>3,5</td>" in german.replace("\n", "")
    out = io.StringIO()
    report_output.process_csv(report, out)
    assert "responses,Marketing,share_within_target,0.6667" in out.getvalue()
    assert "responses,Marketing,median_hours,3.5" in out.getvalue()
