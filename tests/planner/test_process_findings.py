"""The process report's rule findings: what the content rules find in the pieces worked
on in the period, per rule and severity, with the overridden blocking ones; on a
hand-built set whose counts are worked out here, and in the CSV and HTML."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from sqlmodel import Session, col, select

from planner import audit, checks, process, report_output, rule_checks, rules
from planner.models import Channel, Piece, Post, PostStatus, RuleOverride, User
from tests.conftest import World, utc
from tests.exported import csv_rows

SINCE, UNTIL = utc(2026, 6, 1), utc(2026, 7, 1)
MAY, JUNE = utc(2026, 5, 10, 9), utc(2026, 6, 10, 9)


def _piece(
    s: Session,
    owner: User,
    title: str,
    body: str,
    *,
    updated: datetime = MAY,
    variants: dict[str, str] | None = None,
    revision: int = 1,
) -> Piece:
    assert owner.id is not None
    piece = Piece(
        title=title,
        body=body,
        variants=variants or {},
        owner_id=owner.id,
        revision=revision,
        created_at=MAY,
        updated_at=updated,
    )
    s.add(piece)
    s.flush()
    assert piece.id is not None
    return piece


def _event(s: Session, actor: User, piece: Piece, at: datetime) -> None:
    audit.append(
        s.connection(),
        [
            audit.event_row(
                at=at,
                actor_id=actor.id,
                actor_name=actor.username,
                object_type="piece",
                object_id=piece.id,
                action="edit",
                from_state="draft",
                to_state="draft",
                version=None,
                note="",
            )
        ],
    )


def _post(s: Session, actor: User, piece: Piece, channel: Channel, status: PostStatus) -> None:
    s.add(
        Post(
            piece_id=piece.id,
            channel_id=channel.id,
            publish_at=utc(2026, 8, 1, 9),
            status=status,
            created_by_id=actor.id,
        )
    )
    s.flush()


@pytest.fixture
def worked(world: World) -> World:
    """Rules and pieces; the expected counts are worked out in the test below."""
    s, ed = world.session, world.editor
    guarantee = rules.add_rule(
        s,
        actor=world.admin,
        data={"name": "Keine Garantien", "kind": "forbidden_terms", "severity": "block",
              "settings": {"terms": ["garantiert"]},
              "message": {"de": "Wir versprechen nichts.", "en": "We promise nothing."}},
    )  # fmt: skip
    rules.add_rule(
        s,
        actor=world.admin,
        data={"name": "Wenige Hashtags", "kind": "max_hashtags", "severity": "warn",
              "settings": {"max": 1},
              "message": {"de": "Höchstens ein Hashtag.", "en": "One hashtag at most."}},
    )  # fmt: skip
    rules.add_rule(
        s,
        actor=world.admin,
        data={"name": "Kontakt nennen", "kind": "required_terms", "severity": "info",
              "settings": {"terms": ["Kontakt"]},
              "message": {"de": "Kontakt nennen.", "en": "Name a contact."}},
    )  # fmt: skip
    blog = Channel(kind="webhook", name="Blog", settings={})
    feed = Channel(kind="webhook", name="Feed", settings={})
    s.add_all([blog, feed])
    s.flush()
    assert blog.id is not None and feed.id is not None and guarantee.id is not None

    # P1, edited in June, posts on Blog and Feed: every rule finds something on both.
    p1 = _piece(s, ed, "Tarif", "Der garantiert beste Tarif #neu #billig")
    _event(s, ed, p1, JUNE)
    _post(s, ed, p1, blog, PostStatus.planned)
    _post(s, ed, p1, feed, PostStatus.published)
    # P2, only updated in June, a variant for Feed only: the forbidden term and 2 hashtags.
    p2 = _piece(s, ed, "Angebot", "Kontakt", updated=JUNE,
                variants={str(feed.id): "garantiert günstig, Kontakt #a #b"})  # fmt: skip
    # P3, worked on in May only: not counted.
    p3 = _piece(s, ed, "Alt", "garantiert #x #y")
    _event(s, ed, p3, MAY)
    _post(s, ed, p3, blog, PostStatus.planned)
    # P4, edited in June, its only post cancelled and no variant: on no channel.
    p4 = _piece(s, ed, "Abgesagt", "garantiert #x #y")
    _event(s, ed, p4, JUNE)
    _post(s, ed, p4, blog, PostStatus.cancelled)
    # P5, edited in June, at version 2: an override of version 1 no longer holds.
    p5 = _piece(s, ed, "Neu", "garantiert", revision=2)
    _event(s, ed, p5, utc(2026, 6, 30, 23))
    _post(s, ed, p5, blog, PostStatus.planned)
    s.add(
        RuleOverride(piece_id=p5.id, revision=1, rule_id=guarantee.id, channel_id=None,
                     justification="Rechtlich geprüft.", approver_id=world.approver.id)
    )  # fmt: skip
    s.commit()
    # P1's finding on Blog, and P2's on every channel, overridden for their versions.
    for piece, channel in ((p1, blog.id), (p2, None)):
        assert piece.id is not None
        rule_checks.override_finding(
            s,
            actor=world.approver,
            piece_id=piece.id,
            revision=1,
            rule="Keine Garantien",
            channel_id=channel,
            justification="Von der Rechtsabteilung freigegeben.",
        )
    s.commit()
    return world


def test_the_findings_of_the_pieces_worked_on_in_the_period(worked: World) -> None:
    report = process.process_report(
        worked.session, actor=worked.editor, since=SINCE, until=UNTIL, now=utc(2026, 7, 1)
    )
    # Worked on in June: P1 and P4 and P5 (events), P2 (updated); P3 only in May.
    assert report.findings_checked == 4
    counted = [(f.rule, f.severity, f.findings, f.pieces, f.overridden) for f in report.findings]
    assert counted == [
        # P1 on Blog (overridden) and Feed, P2 on Feed (overridden), P5 on Blog.
        ("Keine Garantien", "block", 4, 3, 2),
        # P1 on Blog and Feed, P2 on Feed.
        ("Wenige Hashtags", "warn", 3, 2, 0),
        # P1 on Blog and Feed, P5 on Blog (P2's text names the contact).
        ("Kontakt nennen", "info", 3, 2, 0),
    ]


def test_read_at_once_the_findings_are_those_of_the_editors_check(worked: World) -> None:
    s = worked.session
    all_pieces = list(s.exec(select(Piece).order_by(col(Piece.id))))
    at_once = rule_checks.findings_of_pieces(s, actor=worked.editor, pieces=all_pieces)
    for piece in all_pieces:
        channels = checks.channels_of(
            s, piece, posts_where=col(Post.status) != PostStatus.cancelled
        )
        one = rule_checks.piece_findings(s, actor=worked.editor, piece=piece, channels=channels)
        assert at_once[piece.id or 0] == one, piece.title
    assert sum(len(f) for f in at_once.values()) == 13  # 10 in June's pieces, 3 in P3's


def test_the_csv_and_html_carry_the_findings(worked: World) -> None:
    report = process.process_report(
        worked.session, actor=worked.editor, since=SINCE, until=UNTIL, now=utc(2026, 7, 1)
    )
    out = io.StringIO()
    report_output.process_csv(report, out)
    value = {(r["section"], r["name"], r["measure"]): r["value"] for r in csv_rows(out.getvalue())}
    assert value[("rule_findings", "", "pieces_checked")] == "4"
    assert value[("rule_findings", "Keine Garantien", "block_findings")] == "4"
    assert value[("rule_findings", "Keine Garantien", "block_pieces")] == "3"
    assert value[("rule_findings", "Keine Garantien", "block_overridden")] == "2"
    assert value[("rule_findings", "Wenige Hashtags", "warn_findings")] == "3"
    assert value[("rule_findings", "Kontakt nennen", "info_pieces")] == "2"
    assert ("rule_findings", "Wenige Hashtags", "block_overridden") not in value

    page = report_output.process_html(report)
    cells = page.replace("\n", "")
    assert "<h2>Rule findings</h2>" in page
    assert "current version of the pieces worked on in the period (4; one finding" in page
    assert (
        '<td>Keine Garantien</td><td>blocks</td><td class="n">4</td><td class="n">3</td>'
        '<td class="n">2</td>'
    ) in cells
    assert '<td>Kontakt nennen</td><td>informs</td><td class="n">3</td>' in cells
