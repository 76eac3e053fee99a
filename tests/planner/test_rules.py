"""Publishing rules: each kind with its severities and scopes, overrides, time rules across
the DST changes, the engine holding posts (also with several workers), YAML round-trip."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from secrets import token_urlsafe
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from planner import (
    audiences,
    audit,
    channels,
    ideas,
    pieces,
    planning,
    publishing,
    rule_checks,
    rules,
    users,
)
from planner.errors import FourEyesViolation, Message, ValidationFailed
from planner.models import AuditEvent, Channel, Piece, Post, PostStatus, PublishingRule
from planner.publishing import EngineSettings
from publishers.base import Media
from tests import recording
from tests.conftest import World, utc

BERLIN = "Europe/Berlin"
SETTINGS = EngineSettings(
    batch_size=10,
    threads=1,
    lease=timedelta(seconds=60),
    max_attempts=3,
    retry_base_seconds=60,
    retry_cap_seconds=600,
    poll_seconds=1,
)


def _rule(
    world: World, name: str, kind: str, severity: str = "block", **extra: Any
) -> PublishingRule:
    data: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "severity": severity,
        "message": {"de": f"{name} (de)", "en": f"{name} (en)"},
        **extra,
    }
    return rules.add_rule(world.session, actor=world.admin, data=data)


def _channel(world: World, name: str = "Feed", **fields: Any) -> Channel:
    channel = channels.create_channel(
        world.session, actor=world.admin, kind="recording", name=name, settings={}, **fields
    )
    return channel


def _piece(world: World, body: str, *, channel: Channel, author: Any = None, **data: Any) -> Piece:
    """A draft going out on `channel` (its variant there is the same text)."""
    s, editor = world.session, author or world.editor
    piece = pieces.create_piece(s, actor=editor, data={"title": "Beitrag", "body": body, **data})
    assert piece.id is not None
    return pieces.edit_piece(
        s,
        actor=editor,
        piece_id=piece.id,
        expected_revision=1,
        data={"variants": {channel.id: body}},
    )


def _findings(world: World, piece: Piece, channel: Channel) -> list[tuple[str, str, bool]]:
    found = rule_checks.piece_findings(
        world.session, actor=world.editor, piece=piece, channels=[channel]
    )
    return [(f.rule, f.severity, f.blocks) for f in found]


# --- matching -------------------------------------------------------------------------------


def test_terms_match_whole_words_ignoring_case_and_umlaut_spelling() -> None:
    assert rule_checks.has_term("Jetzt GRATIS testen", "gratis")
    assert rule_checks.has_term("Die Gebuehren sinken", "Gebühren")
    assert rule_checks.has_term("Die Gebühren sinken", "gebuehren")
    assert rule_checks.has_term("Straße frei", "strasse")
    assert not rule_checks.has_term("Gratisprobe", "gratis")
    assert not rule_checks.has_term("Sonnenbrille", "Sonne")
    assert rule_checks.has_term("Mehr unter #ad.", "#ad")
    assert not rule_checks.has_term("#adventure", "#ad")


def test_forbidden_and_required_terms_block_or_warn_by_severity(world: World) -> None:
    feed = _channel(world)
    _rule(world, "Keine Werbeversprechen", "forbidden_terms", settings={"terms": ["garantiert"]})
    _rule(world, "Firmenname", "required_terms", "warn", settings={"terms": ["Lindenbach"]})
    piece = _piece(world, "Garantiert günstiger heizen!", channel=feed)
    assert piece.id is not None

    assert _findings(world, piece, feed) == [
        ("Firmenname", "warn", False),
        ("Keine Werbeversprechen", "block", True),
    ]
    with pytest.raises(ValidationFailed) as refused:
        pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    assert list(refused.value.fields) == ["rules"]
    assert "Keine Werbeversprechen" in refused.value.fields["rules"]
    assert "Firmenname" not in refused.value.fields["rules"]  # a warning does not stop it

    pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=2,
        data={"body": "Günstiger heizen!", "variants": {feed.id: "Günstiger heizen!"}},
    )
    submitted = pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    assert submitted.status == "in_review"


def test_advertising_needs_its_disclosure_where_it_is_seen_first(world: World) -> None:
    feed = _channel(world)
    _rule(world, "Werbung", "ad_disclosure", settings={"within": 30})
    plain = _piece(world, "Unser neuer Tarif ist da.", channel=feed)
    sponsored = _piece(world, "Unser neuer Tarif ist da.", channel=feed, tags=["Werbung"])
    late = _piece(
        world,
        "Unser neuer Tarif ist da, mit allem, was Sie brauchen. Anzeige",
        channel=feed,
        tags=["sponsored"],
    )
    marked = _piece(world, "Anzeige: Unser neuer Tarif ist da.", channel=feed, tags=["werbung"])
    tagged = _piece(world, "Unser Tarif #ad", channel=feed, tags=["Anzeige"])

    assert _findings(world, plain, feed) == []
    assert _findings(world, sponsored, feed) == [("Werbung", "block", True)]
    (late_finding,) = rule_checks.piece_findings(
        world.session, actor=world.editor, piece=late, channels=[feed]
    )
    assert late_finding.message.params["detail"].code == "rule_disclosure_late"
    assert _findings(world, marked, feed) == []
    assert _findings(world, tagged, feed) == []


def test_one_disclosure_rule_asks_each_channel_for_its_own_disclosure(world: World) -> None:
    feed, social = _channel(world), _channel(world, "Social")
    rule = _rule(
        world,
        "Werbung",
        "ad_disclosure",
        settings={"per_channel": {"Social": ["#ad", "#Anzeige"]}},
    )
    assert rules.export_rules(world.session, actor=world.admin).count("per_channel") == 1
    assert rule.settings["per_channel"] == {"Social": ["#ad", "#Anzeige"]}
    german = _piece(world, "Anzeige: Unser neuer Tarif.", channel=feed, tags=["Werbung"])
    tagged = _piece(world, "#ad Unser neuer Tarif.", channel=social, tags=["Werbung"])
    # "Anzeige" is the channels' default, but Social wants a hashtag; Feed keeps the
    # default list, in which "#ad" is too.
    wrong = _piece(world, "Anzeige: Unser neuer Tarif.", channel=social, tags=["Werbung"])
    assert _findings(world, german, feed) == []
    assert _findings(world, tagged, social) == []
    assert _findings(world, tagged, feed) == []
    (finding,) = rule_checks.piece_findings(
        world.session, actor=world.editor, piece=wrong, channels=[social]
    )
    assert finding.message.params["detail"].params == {"disclosures": "#ad, #Anzeige"}


@pytest.mark.parametrize(
    "per_channel",
    [["#ad"], {"Social": []}, {"Social": "#ad"}, {"": ["#ad"]}, {"Social": [" "]}],
)
def test_a_per_channel_disclosure_must_map_names_to_words(world: World, per_channel: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _rule(world, "Werbung", "ad_disclosure", settings={"per_channel": per_channel})
    assert list(refused.value.fields) == ["settings"]
    assert rules.list_rules(world.session, actor=world.admin) == []


def test_hashtags_and_mentions_are_counted_against_their_maximum(world: World) -> None:
    feed = _channel(world)
    _rule(world, "Hashtags", "max_hashtags", settings={"max": 2})
    _rule(world, "Erwähnungen", "max_mentions", "info", settings={"max": 1})
    fine = _piece(world, "Heizen #energie #tipp mit @lindenbach", channel=feed)
    busy = _piece(world, "#a #b #c mit @x und @y@social.example", channel=feed)

    assert _findings(world, fine, feed) == []
    assert _findings(world, busy, feed) == [
        ("Erwähnungen", "info", False),
        ("Hashtags", "block", True),
    ]


def test_campaign_links_need_utm_parameters_and_the_fix_adds_them(world: World) -> None:
    feed = _channel(world, "LinkedIn Seite")
    _rule(world, "UTM", "utm_links", "warn")
    text = "Mehr: https://lindenbach.example/tarif?x=1 und https://lindenbach.example/a."
    without_campaign = _piece(world, text, channel=feed)
    campaign = _piece(world, text, channel=feed, campaign="Winter Aktion")

    assert _findings(world, without_campaign, feed) == []
    assert _findings(world, campaign, feed) == [("UTM", "warn", False)]

    fixed = rule_checks.with_utm(
        text,
        source=rule_checks.slug(feed.name),
        medium="social",
        campaign=rule_checks.slug("Winter Aktion"),
    )
    assert fixed == (
        "Mehr: https://lindenbach.example/tarif?x=1&utm_source=linkedin-seite&utm_medium=social"
        "&utm_campaign=winter-aktion und https://lindenbach.example/a?utm_source=linkedin-seite"
        "&utm_medium=social&utm_campaign=winter-aktion."
    )
    assert campaign.id is not None
    fixed_piece = pieces.add_utm_parameters(
        world.session, actor=world.editor, piece_id=campaign.id, expected_revision=2
    )
    assert fixed_piece.revision == 3
    assert _findings(world, fixed_piece, feed) == []
    # A link that has its parameters keeps them.
    assert rule_checks.with_utm(fixed, source="x", medium="y", campaign="z") == fixed


def test_images_need_alt_text(world: World) -> None:
    feed = _channel(world)
    rule = _rule(world, "Alternativtext", "alt_text")
    piece = _piece(world, "Bild des Tages", channel=feed)
    subject = rule_checks.subject_of(
        world.session,
        piece,
        feed,
        media=[
            Media(url="https://x.example/a.png", alt_text="Wärmepumpe im Garten"),
            Media(url="https://x.example/b.png", alt_text=" "),
        ],
    )

    (found,) = rule_checks.content_findings(subject, [rule])
    assert found.message.params["detail"].params["count"] == 1
    assert rule_checks.revision_images(world.session, piece) == []
    # A revision's own files (the media library) are checked too; a PDF needs no alt text.
    piece.media = [
        {"id": 1, "filename": "a.png", "mime_type": "image/png", "alt_text": ""},
        {"id": 2, "filename": "b.pdf", "mime_type": "application/pdf", "alt_text": ""},
    ]
    (own,) = rule_checks.content_findings(
        rule_checks.subject_of(world.session, piece, feed),
        [rule],
        images=rule_checks.revision_images(world.session, piece),
    )
    assert own.message.params["detail"].params["count"] == 1
    world.session.rollback()


# 15 words, 9 of them German stopwords and none English: detected as "de".
GERMAN = "Wir zeigen Ihnen, wie Sie mit der Wärmepumpe im Winter und auch im Sommer sparen."
# 17 words, 10 of them English stopwords and none German: detected as "en".
ENGLISH = "We show you how to save with your heat pump in the winter and in the summer too."


def test_the_variant_must_be_in_the_channels_language(world: World) -> None:
    english = _channel(world, "Global")
    _rule(
        world, "Englisch", "language", settings={"language": "en"}, scope={"channels": ["Global"]}
    )
    german = _piece(world, GERMAN, channel=english)
    fine = _piece(world, ENGLISH, channel=english)
    short = _piece(world, "Hallo Welt", channel=english)

    assert _findings(world, german, english) == [("Englisch", "block", True)]
    assert _findings(world, fine, english) == []
    assert _findings(world, short, english) == []  # too short to tell


def _bluesky(world: World, name: str, language: str) -> Channel:
    """A Bluesky channel whose posts are in `language` (its own setting)."""
    return channels.create_channel(
        world.session,
        actor=world.admin,
        kind="bluesky",
        name=name,
        settings={
            "handle": "firma.bsky.social",
            "app_password": token_urlsafe(12),
            "language": language,
        },
    )


def _language_found(world: World, piece: Piece, channel: Channel) -> list[tuple[str, str]]:
    """The language findings on `channel`: (language found, language wanted)."""
    found = rule_checks.piece_findings(
        world.session, actor=world.editor, piece=piece, channels=[channel]
    )
    details = [f.message.params["detail"] for f in found]
    assert all(d.code == "rule_language" for d in details)
    return [(d.params["found"], d.params["expected"]) for d in details]


def test_a_language_rule_naming_no_language_wants_each_channels_own(world: World) -> None:
    german_channel = _bluesky(world, "Bluesky DE", "de")
    english_channel = _bluesky(world, "Bluesky EN", "en")
    austrian_channel = _bluesky(world, "Bluesky AT", "de-AT")  # a BCP-47 tag, as allowed
    no_language = _channel(world, "Blog")  # a kind without a language setting
    rule = _rule(world, "Kanalsprache", "language")
    assert rule.settings["language"] == ""  # the rule itself names none
    # A piece's text is its variant on the channel it was written for and its master text
    # (the same words) on the others.
    german = _piece(world, GERMAN, channel=german_channel)
    english = _piece(world, ENGLISH, channel=english_channel)

    assert _findings(world, german, german_channel) == []
    assert _findings(world, english, german_channel) == [("Kanalsprache", "block", True)]
    assert _language_found(world, english, german_channel) == [("en", "de")]
    assert _findings(world, english, english_channel) == []
    assert _language_found(world, german, english_channel) == [("de", "en")]
    # "de-AT" is German: its language is the tag's first part.
    assert _findings(world, german, austrian_channel) == []
    assert _language_found(world, english, austrian_channel) == [("en", "de")]
    # Neither the rule nor the channel names a language: nothing to compare with.
    assert _findings(world, german, no_language) == []
    assert _findings(world, english, no_language) == []

    # A language the rule names wins over the channel's own.
    rules.edit_rule(
        world.session,
        actor=world.admin,
        ref="Kanalsprache",
        changes={"settings": {"language": "en"}},
    )
    assert _language_found(world, german, german_channel) == [("de", "en")]
    assert _findings(world, english, german_channel) == []


def test_scopes_narrow_a_rule_to_channels_departments_campaigns_and_audiences(
    world: World,
) -> None:
    feed, blog = _channel(world, "Feed"), _channel(world, "Blog")
    audiences.create_audience(world.session, actor=world.admin, name="Azubis")
    audiences.create_audience(world.session, actor=world.admin, name="Kunden")
    terms = {"terms": ["gratis"]}
    _rule(world, "Nur Feed", "forbidden_terms", settings=terms, scope={"channels": ["Feed"]})
    _rule(world, "Nur HR", "forbidden_terms", settings=terms, scope={"departments": ["HR"]})
    _rule(world, "Nur Aktion", "forbidden_terms", settings=terms, scope={"campaigns": ["Aktion"]})
    _rule(world, "Nur Azubis", "forbidden_terms", settings=terms, scope={"audiences": ["Azubis"]})
    submitted = ideas.submit_idea(
        world.session,
        actor=world.hr_contributor,
        data={"title": "Gratis Kaffee", "pitch": "gratis für alle", "department": "HR"},
    )
    assert submitted.idea.id is not None
    from_hr = ideas.accept_idea(world.session, actor=world.editor, idea_id=submitted.idea.id)
    pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=from_hr.id or 0,
        expected_revision=from_hr.revision,
        data={"body": "Gratis Kaffee", "variants": {feed.id: "", blog.id: ""}},
    )
    campaign = _piece(world, "Gratis Kaffee", channel=blog, campaign="Aktion")

    # A rule for an audience applies only to pieces for that audience.
    assert [f[0] for f in _findings(world, from_hr, feed)] == ["Nur Feed", "Nur HR"]
    assert [f[0] for f in _findings(world, from_hr, blog)] == ["Nur HR"]
    assert [f[0] for f in _findings(world, campaign, blog)] == ["Nur Aktion"]
    for_trainees = audiences.set_piece_audience(
        world.session, actor=world.editor, piece_id=campaign.id or 0, audience="Azubis"
    )
    audiences.set_piece_audience(
        world.session, actor=world.editor, piece_id=from_hr.id or 0, audience="Kunden"
    )
    assert [f[0] for f in _findings(world, for_trainees, blog)] == ["Nur Aktion", "Nur Azubis"]
    assert [f[0] for f in _findings(world, from_hr, blog)] == ["Nur HR"]
    rule = world.session.exec(
        select(PublishingRule).where(PublishingRule.name == "Nur Azubis")
    ).one()
    assert not rules.in_scope(
        rule, channel="Blog", department=None, campaign="", audiences=["Kunden"]
    )
    assert rules.in_scope(rule, channel="Blog", department=None, campaign="", audiences=["Azubis"])


def test_a_disabled_rule_finds_nothing(world: World) -> None:
    feed = _channel(world)
    _rule(world, "Gratis", "forbidden_terms", settings={"terms": ["gratis"]})
    piece = _piece(world, "Gratis!", channel=feed)
    rules.set_rule_enabled(world.session, actor=world.admin, ref="Gratis", enabled=False)

    assert _findings(world, piece, feed) == []


# --- overrides ------------------------------------------------------------------------------


def _in_review_with_finding(world: World) -> tuple[Piece, Channel]:
    feed = _channel(world)
    piece = _piece(world, "Der garantiert beste Service.", channel=feed)
    assert piece.id is not None
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    _rule(world, "Keine Garantien", "forbidden_terms", settings={"terms": ["garantiert"]})
    return piece, feed


def test_a_blocking_finding_stops_approval_until_an_approver_overrides_it_in_writing(
    world: World,
) -> None:
    piece, feed = _in_review_with_finding(world)
    assert piece.id is not None
    with pytest.raises(ValidationFailed) as refused:
        pieces.approve_piece(world.session, actor=world.approver, piece_id=piece.id, revision=2)
    assert "Keine Garantien" in refused.value.fields["rules"]

    with pytest.raises(ValidationFailed) as short:
        rule_checks.override_finding(
            world.session,
            actor=world.approver,
            piece_id=piece.id,
            revision=2,
            rule="Keine Garantien",
            channel_id=feed.id,
            justification="passt",
        )
    assert "justification" in short.value.fields
    why = "Zitat aus dem Servicevertrag, rechtlich geprüft"
    rule_checks.override_finding(
        world.session,
        actor=world.approver,
        piece_id=piece.id,
        revision=2,
        rule="Keine Garantien",
        channel_id=feed.id,
        justification=why,
    )

    assert _findings(world, piece, feed) == [("Keine Garantien", "block", False)]
    approved = pieces.approve_piece(
        world.session, actor=world.approver, piece_id=piece.id, revision=2
    )
    assert approved.status == "approved"
    event = world.session.exec(select(AuditEvent).where(AuditEvent.action == "rule_override")).one()
    assert (event.object_type, event.object_id, event.version) == ("piece", str(piece.id), 2)
    assert event.actor_name == "approver" and why in event.note
    said = audit.note_message(event.note)
    assert isinstance(said, Message) and said.code == "note_override"
    assert said.params == {"rule": "Keine Garantien", "channel": "Feed", "justification": why}
    (row,) = rule_checks.list_overrides(world.session, actor=world.editor, piece_id=piece.id)
    assert (row.rule, row.channel, row.approver, row.justification) == (
        "Keine Garantien",
        "Feed",
        "Approver",
        why,
    )
    report = rule_checks.rule_report(
        world.session,
        actor=world.editor,
        since=row.at - timedelta(minutes=1),
        until=row.at + timedelta(minutes=1),
    )
    assert report.overrides_by_rule == {"Keine Garantien": 1}
    # The override holds for the revision that was read: an edit needs a new one.
    pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=2,
        data={"title": "Neu"},
    )
    assert _findings(world, piece, feed) == [("Keine Garantien", "block", True)]


def test_nobody_overrides_the_rules_of_a_piece_they_wrote(world: World) -> None:
    feed = _channel(world)
    piece = _piece(world, "Der garantiert beste Service.", channel=feed, author=world.admin)
    _rule(world, "Keine Garantien", "forbidden_terms", settings={"terms": ["garantiert"]})

    with pytest.raises(FourEyesViolation):
        rule_checks.override_finding(
            world.session,
            actor=world.admin,
            piece_id=piece.id or 0,
            revision=piece.revision,
            rule="Keine Garantien",
            channel_id=None,
            justification="Zitat aus dem Vertrag",
        )
    assert rule_checks.list_overrides(world.session, actor=world.admin) == []


def test_the_submitter_of_the_idea_a_piece_was_made_from_does_not_override_its_rules(
    world: World,
) -> None:
    feed = _channel(world)
    _rule(world, "Keine Garantien", "forbidden_terms", settings={"terms": ["garantiert"]})
    text = "Der garantiert beste Service."
    submitted = ideas.submit_idea(
        world.session,
        actor=world.approver,
        data={"title": "Service", "pitch": text, "department": "Marketing"},
    ).idea
    assert submitted.id is not None
    piece = ideas.accept_idea(world.session, actor=world.editor, idea_id=submitted.id)
    assert piece.id is not None
    pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=1,
        data={"variants": {feed.id: text}},
    )

    with pytest.raises(FourEyesViolation) as caught:
        rule_checks.override_finding(
            world.session,
            actor=world.approver,
            piece_id=piece.id,
            revision=2,
            rule="Keine Garantien",
            channel_id=None,
            justification="Zitat aus dem Vertrag",
        )

    said = caught.value.args[0]
    assert isinstance(said, Message) and said.code == "four_eyes_idea_override"
    assert said.params == {"user": "approver", "idea": submitted.id, "piece": piece.id}
    assert rule_checks.list_overrides(world.session, actor=world.admin) == []


# --- time rules -----------------------------------------------------------------------------


QUIET = {"from": "22:00", "until": "07:00", "days": []}


def test_quiet_hours_end_at_local_morning_across_both_dst_changes() -> None:
    # Spring: 28 March 2027, clocks jump 02:00 CET -> 03:00 CEST.
    assert rule_checks.quiet_until(QUIET, utc(2027, 3, 28, 0, 30), BERLIN) == utc(2027, 3, 28, 5)
    assert rule_checks.quiet_until(QUIET, utc(2027, 3, 27, 21, 30), BERLIN) == utc(2027, 3, 28, 5)
    assert rule_checks.quiet_until(QUIET, utc(2027, 3, 28, 5), BERLIN) is None
    # Autumn: 31 October 2027, 03:00 CEST -> 02:00 CET; the night is an hour longer.
    assert rule_checks.quiet_until(QUIET, utc(2027, 10, 30, 20), BERLIN) == utc(2027, 10, 31, 6)
    assert rule_checks.quiet_until(QUIET, utc(2027, 10, 30, 19, 59), BERLIN) is None
    # Sunday is quiet all day, until local midnight (22:00 UTC in summer time).
    sunday = {"days": ["sunday"]}
    assert rule_checks.quiet_until(sunday, utc(2027, 3, 28, 12), BERLIN) == utc(2027, 3, 28, 22)
    assert rule_checks.quiet_until(sunday, utc(2027, 10, 31, 12), BERLIN) == utc(2027, 10, 31, 23)


def _time_world(world: World, **channel: Any) -> tuple[Piece, Channel]:
    feed = _channel(world, **channel)
    piece = _piece(world, "Guten Morgen", channel=feed)
    return piece, feed


def _slot(world: World, piece: Piece, feed: Channel, after: datetime) -> datetime:
    return rule_checks.next_free_slot(
        world.session,
        actor=world.editor,
        piece_id=piece.id or 0,
        channel_id=feed.id or 0,
        after=after,
    )


def _post_at(world: World, piece: Piece, feed: Channel, at: datetime, status: PostStatus) -> Post:
    assert piece.id is not None and feed.id is not None and world.editor.id is not None
    post = Post(
        piece_id=piece.id,
        channel_id=feed.id,
        publish_at=at,
        status=status,
        created_by_id=world.editor.id,
        published_at=at if status == PostStatus.published else None,
    )
    world.session.add(post)
    world.session.commit()
    return post


def test_spacing_counts_real_minutes_across_the_spring_change(world: World) -> None:
    piece, feed = _time_world(world)
    _rule(world, "Abstand", "min_spacing", settings={"minutes": 120})
    # 01:30 CET; the next post at 03:00 CEST is only 30 minutes later in real time.
    _post_at(world, piece, feed, utc(2027, 3, 28, 0, 30), PostStatus.published)

    assert _slot(world, piece, feed, utc(2027, 3, 28, 1)) == utc(2027, 3, 28, 2, 30)
    assert _slot(world, piece, feed, utc(2027, 3, 28, 3)) == utc(2027, 3, 28, 3)


def test_spacing_counts_real_minutes_across_the_autumn_change(world: World) -> None:
    piece, feed = _time_world(world)
    _rule(world, "Abstand", "min_spacing", settings={"minutes": 120})
    # Sunday 25 October 2026: at 01:00 UTC the clocks go back from 03:00 CEST to 02:00 CET,
    # so the local hour 02:00-03:00 happens twice (00:00-01:00 and 01:00-02:00 UTC).
    # A post went out at 01:30 CEST = 23:30 UTC on the 24th.
    _post_at(world, piece, feed, utc(2026, 10, 24, 23, 30), PostStatus.published)

    # 02:30 CET = 01:30 UTC: the wall clock moved one hour, real time two: allowed.
    assert _slot(world, piece, feed, utc(2026, 10, 25, 1, 30)) == utc(2026, 10, 25, 1, 30)
    # 02:30 CEST = 00:30 UTC (the first 02:30): one real hour later, refused; the next
    # slot is 23:30 + 120 minutes = 01:30 UTC, the second 02:30 (CET), not 03:30 local.
    assert _slot(world, piece, feed, utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 1, 30)
    # 02:29 CET = 01:29 UTC: 119 real minutes, one short.
    assert _slot(world, piece, feed, utc(2026, 10, 25, 1, 29)) == utc(2026, 10, 25, 1, 30)


def test_daily_caps_count_the_local_day_of_23_and_25_hours(world: World) -> None:
    piece, feed = _time_world(world, daily_cap=1)
    # 28 March 2027 in Berlin runs from 23:00 UTC the day before to 22:00 UTC.
    _post_at(world, piece, feed, utc(2027, 3, 27, 23, 30), PostStatus.planned)
    assert _slot(world, piece, feed, utc(2027, 3, 28, 12)) == utc(2027, 3, 28, 22)
    # 31 October 2027 runs from 22:00 UTC the day before to 23:00 UTC: 25 hours.
    _post_at(world, piece, feed, utc(2027, 10, 31, 22, 30), PostStatus.planned)
    assert _slot(world, piece, feed, utc(2027, 10, 30, 22)) == utc(2027, 10, 31, 23)


def test_next_free_slot_steps_past_quiet_hours_caps_and_spacing_together(world: World) -> None:
    piece, feed = _time_world(world)
    _rule(world, "Nachtruhe", "quiet_hours", settings={**QUIET, "days": ["sunday"]})
    _rule(world, "Zwei am Tag", "max_per_day", settings={"max": 2})
    _rule(world, "Abstand", "min_spacing", settings={"minutes": 60})
    _rule(world, "Nur Hinweis", "min_spacing", "info", settings={"minutes": 600})
    # Friday 29 October 2027 has two posts already; Saturday one at 07:00 CEST.
    _post_at(world, piece, feed, utc(2027, 10, 29, 8), PostStatus.planned)
    _post_at(world, piece, feed, utc(2027, 10, 29, 9), PostStatus.planned)
    _post_at(world, piece, feed, utc(2027, 10, 30, 5), PostStatus.planned)

    # Friday 23:00 is quiet -> Saturday 07:00 CEST is taken -> an hour later, 08:00 CEST.
    assert _slot(world, piece, feed, utc(2027, 10, 29, 21)) == utc(2027, 10, 30, 6)
    # Saturday 23:00 CEST: quiet, then Sunday, then Monday 07:00 CET.
    assert _slot(world, piece, feed, utc(2027, 10, 30, 21)) == utc(2027, 11, 1, 6)


def test_planning_proposes_the_next_allowed_slot_and_a_warning_does_not_refuse(
    world: World,
) -> None:
    feed = _channel(world)
    piece = _piece(world, "Guten Morgen", channel=feed)
    assert piece.id is not None
    _rule(world, "Nachtruhe", "quiet_hours", settings=QUIET)
    night = datetime(2030, 1, 15, 23, 30)  # a Tuesday, Berlin wall clock

    with pytest.raises(ValidationFailed) as refused:
        planning.plan_post(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            channel="Feed",
            when=night,
            tz_name=BERLIN,
        )
    message = refused.value.fields["publish_at"]
    assert "Nachtruhe" in message and "next allowed: 2030-01-16 07:00 CET" in message
    rules.edit_rule(world.session, actor=world.admin, ref="Nachtruhe", changes={"severity": "warn"})
    post = planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel="Feed",
        when=night,
        tz_name=BERLIN,
    )
    assert post.publish_at == utc(2030, 1, 15, 22, 30)


def _timed(world: World, piece: Piece, channel: Channel, at: datetime) -> list[str]:
    """The time rules that refuse or flag a post of `piece` on `channel` at `at`."""
    found = rule_checks.planning_findings(
        world.session, actor=world.editor, piece=piece, channel=channel, at=at, check_content=False
    )
    return [f.rule for f in found]


def test_scopes_narrow_time_rules_to_channels_departments_and_campaigns(world: World) -> None:
    feed, blog = _channel(world, "Feed"), _channel(world, "Blog")
    _rule(world, "Einer im Feed", "max_per_day", settings={"max": 1}, scope={"channels": ["Feed"]})
    _rule(world, "Nachtruhe HR", "quiet_hours", settings=QUIET, scope={"departments": ["HR"]})
    _rule(
        world,
        "Abstand Aktion",
        "min_spacing",
        settings={"minutes": 60},
        scope={"campaigns": ["Aktion"]},
    )
    submitted = ideas.submit_idea(
        world.session,
        actor=world.hr_contributor,
        data={"title": "Betriebsfest", "pitch": "Einladung für alle", "department": "HR"},
    )
    assert submitted.idea.id is not None
    from_hr = ideas.accept_idea(world.session, actor=world.editor, idea_id=submitted.idea.id)
    campaign = _piece(world, "Guten Morgen", channel=blog, campaign="Aktion")
    plain = _piece(world, "Guten Morgen", channel=blog)
    # Tuesday 15 January 2030 (CET, UTC+1): one post on each channel at 10:00 local.
    _post_at(world, plain, feed, utc(2030, 1, 15, 9), PostStatus.planned)
    _post_at(world, plain, blog, utc(2030, 1, 15, 9), PostStatus.planned)

    # The cap counts the Feed's day only: 13:00 local there is refused until the next
    # local midnight (16 January 00:00 CET = 15 January 23:00 UTC); the Blog is free.
    noon = utc(2030, 1, 15, 12)
    assert _timed(world, plain, feed, noon) == ["Einer im Feed"]
    assert _slot(world, plain, feed, noon) == utc(2030, 1, 15, 23)
    assert _timed(world, plain, blog, noon) == []
    assert _slot(world, plain, blog, noon) == noon
    # Quiet hours hold HR's piece only: 23:00 local waits for 07:00 CET = 06:00 UTC.
    night = utc(2030, 1, 15, 22)
    assert _timed(world, from_hr, blog, night) == ["Nachtruhe HR"]
    assert _slot(world, from_hr, blog, night) == utc(2030, 1, 16, 6)
    assert _timed(world, plain, blog, night) == []
    assert _timed(world, campaign, blog, night) == []
    # Spacing holds the campaign's piece only: 30 minutes after the Blog's post at 09:00
    # UTC it waits until 09:00 + 60 minutes = 10:00 UTC.
    soon = utc(2030, 1, 15, 9, 30)
    assert _timed(world, campaign, blog, soon) == ["Abstand Aktion"]
    assert _slot(world, campaign, blog, soon) == utc(2030, 1, 15, 10)
    assert _timed(world, plain, blog, soon) == []
    assert _timed(world, from_hr, blog, soon) == []
    assert _slot(world, from_hr, blog, soon) == soon


# --- the engine -----------------------------------------------------------------------------


def _due(world: World, piece: Piece, feed: Channel, at: datetime) -> Post:
    assert piece.id is not None and feed.id is not None
    post = planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        channel=feed.id,
        # Noon in Berlin tomorrow: outside every quiet time the tests set, whenever they run.
        when=datetime.now(ZoneInfo(BERLIN)).replace(hour=12, minute=0, second=0, microsecond=0)
        + timedelta(days=1),
    )
    post.publish_at = at
    world.session.add(post)
    world.session.commit()
    return post


def _approved(world: World, feed: Channel, body: str = "Guten Morgen") -> Piece:
    piece = _piece(world, body, channel=feed)
    assert piece.id is not None
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    return pieces.approve_piece(
        world.session, actor=world.approver, piece_id=piece.id, revision=piece.revision
    )


def _run(engine: Engine, now: datetime, worker: str = "w1", limit: int = 10) -> list[Any]:
    deliveries = publishing.claim_deliveries(
        engine,
        worker_id=worker,
        now=now,
        limit=limit,
        lease=timedelta(minutes=5),
        lateness=timedelta(hours=6),
    )
    done = [publishing.deliver(engine, d) for d in deliveries]
    return publishing.finish_deliveries(engine, done, worker_id=worker, settings=SETTINGS)


def _reload(engine: Engine, post: Post) -> Post:
    with Session(engine) as s:
        found = s.get(Post, post.id)
        assert found is not None
        return found


def test_the_engine_holds_a_post_a_rule_blocks_and_never_sends_it(
    world: World, engine: Engine, recording_kind: type[recording.RecordingPublisher]
) -> None:
    feed = _channel(world)
    piece = _approved(world, feed, "Garantiert der beste Tarif")
    now = utc(2030, 1, 15, 10)
    post = _due(world, piece, feed, now - timedelta(minutes=1))
    _rule(world, "Keine Garantien", "forbidden_terms", settings={"terms": ["garantiert"]})

    (outcome,) = _run(engine, now)

    held = _reload(engine, post)
    assert recording_kind.calls == []
    assert (outcome.outcome, held.status) == ("rule", PostStatus.planned)
    assert held.next_attempt_at == now + rule_checks.CONTENT_RECHECK
    assert "Keine Garantien" in (held.last_error or "")
    assert _run(engine, now + timedelta(minutes=5)) == []  # not looked at again before then
    rule_checks.override_finding(
        world.session,
        actor=world.approver,
        piece_id=piece.id or 0,
        revision=piece.revision,
        rule="Keine Garantien",
        channel_id=None,
        justification="Slogan der Marke, freigegeben",
    )
    (sent,) = _run(engine, now + rule_checks.CONTENT_RECHECK)
    assert sent.status == PostStatus.published and len(recording_kind.calls) == 1


def test_the_engine_holds_a_post_through_quiet_hours_until_the_next_slot(
    world: World, engine: Engine, recording_kind: type[recording.RecordingPublisher]
) -> None:
    feed = _channel(world)
    piece = _approved(world, feed)
    post = _due(world, piece, feed, utc(2027, 10, 30, 20))  # 22:00 CEST, Saturday
    _rule(world, "Nachtruhe", "quiet_hours", settings={**QUIET, "days": ["sunday"]})

    (outcome,) = _run(engine, utc(2027, 10, 30, 20, 1))

    held = _reload(engine, post)
    assert outcome.outcome == "rule" and recording_kind.calls == []
    assert held.next_attempt_at == utc(2027, 11, 1, 6)  # Monday 07:00 CET
    assert "next allowed: 2027-11-01 07:00 CET" in (held.last_error or "")
    assert _run(engine, utc(2027, 11, 1, 5, 59)) == []
    # Hours later than the lateness bound allows a new post, but it was held, not late.
    (sent,) = _run(engine, utc(2027, 11, 1, 6))
    assert sent.status == PostStatus.published


def test_the_daily_cap_is_enforced_by_workers_claiming_at_once(
    world: World, engine: Engine, recording_kind: type[recording.RecordingPublisher]
) -> None:
    feed = _channel(world, daily_cap=2)
    piece = _approved(world, feed)
    now = utc(2030, 1, 15, 10)
    for minutes in range(1, 7):
        _due(world, piece, feed, now - timedelta(minutes=minutes))
    outcomes: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    claimed: dict[str, list[publishing.Delivery]] = {}

    def work(name: str) -> None:
        try:
            start.wait()
            claimed[name] = publishing.claim_deliveries(
                engine,
                worker_id=name,
                now=now,
                limit=2,
                lease=timedelta(minutes=5),
                lateness=timedelta(hours=6),
            )
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, deliveries in claimed.items():
        done = [publishing.deliver(engine, d) for d in deliveries]
        outcomes.extend(
            publishing.finish_deliveries(engine, done, worker_id=name, settings=SETTINGS)
        )

    assert errors == []
    assert sorted(o.outcome for o in outcomes) == ["published"] * 2 + ["rule"] * 4
    assert len(recording_kind.calls) == 2
    with Session(engine) as s:
        waiting = s.exec(
            select(Post.next_attempt_at).where(Post.status == PostStatus.planned)
        ).all()
    assert set(waiting) == {utc(2030, 1, 15, 23)}  # local midnight of the next day
    assert (
        rule_checks.rule_report(
            world.session,
            actor=world.editor,
            since=datetime.now(UTC) - timedelta(days=1),
            until=datetime.now(UTC) + timedelta(days=1),
        ).held_by_rule
        == 4
    )


# --- keeping rules ---------------------------------------------------------------------------


def test_export_and_import_round_trip_exactly_in_yaml_and_json(
    world: World, engine: Engine, tmp_path: Any
) -> None:
    rules.load_default_rules(world.session, actor=world.admin)
    for name in ("Alpha", "Beta"):
        _channel(world, name)
    audiences.create_audience(world.session, actor=world.admin, name="Azubis")
    _rule(
        world,
        "Umlaute äöü „Zitat“",
        "forbidden_terms",
        "info",
        settings={"terms": ["Größe", "#ad"]},
        scope={"channels": ["Beta", "Alpha"], "audiences": ["Azubis"]},
    )
    for fmt in rules.FORMATS:
        text = rules.export_rules(world.session, actor=world.admin, fmt=fmt)
        with Session(engine) as s:
            for rule in s.exec(select(PublishingRule)):
                s.delete(rule)
            s.commit()
        done = rules.import_rules(world.session, actor=world.admin, text=text)
        assert len(done.added) == 5 and done.changed == []
        assert rules.export_rules(world.session, actor=world.admin, fmt=fmt) == text
        again = rules.import_rules(world.session, actor=world.admin, text=text)
        assert (again.added, again.changed) == ([], [])
    scope = world.session.exec(
        select(PublishingRule.scope).where(col(PublishingRule.kind) == "forbidden_terms")
    ).one()
    assert scope["channels"] == ["Alpha", "Beta"]


def test_a_broken_file_imports_nothing_and_names_each_problem(world: World) -> None:
    text = (
        "rules:\n"
        "- name: Gut\n  kind: max_hashtags\n  settings: {max: 3}\n  message: {de: a, en: b}\n"
        "- name: Schlecht\n  kind: quiet_hours\n  severity: stop\n"
        "  settings: {from: 22:00}\n  message: {de: a}\n"
    )
    with pytest.raises(ValidationFailed) as refused:
        rules.import_rules(world.session, actor=world.admin, text=text)

    assert sorted(refused.value.fields) == [
        "rule 2 message_en",
        "rule 2 settings",
        "rule 2 severity",
    ]
    assert "'stop'" in refused.value.fields["rule 2 severity"]
    assert rules.list_rules(world.session, actor=world.admin) == []
    with pytest.raises(ValidationFailed):
        rules.import_rules(world.session, actor=world.admin, text="rules: [")


def test_only_admins_keep_rules(world: World) -> None:
    from planner.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        rules.add_rule(world.session, actor=world.editor, data={"name": "x"})
    with pytest.raises(PermissionDenied):
        rules.load_default_rules(world.session, actor=world.approver)
    loaded = rules.load_default_rules(world.session, actor=world.admin)
    assert len(loaded.added) == 4
    assert [r.kind for r in rules.list_rules(world.session, actor=world.editor)] == [
        "alt_text",
        "ad_disclosure",
        "quiet_hours",
        "utm_links",
    ]


# --- scope names ------------------------------------------------------------------------------

NIGHT = datetime(2030, 1, 15, 23, 30)  # a Tuesday, Berlin wall clock: inside QUIET


def _plan_at_night(world: World, piece: Piece, channel: str) -> None:
    """Plan `piece` on `channel` at NIGHT (refused while a quiet-hours rule applies)."""
    planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id or 0,
        channel=channel,
        when=NIGHT,
        tz_name=BERLIN,
    )


def _refused_at_night(world: World, piece: Piece, channel: str) -> bool:
    """Whether a quiet-hours rule refuses `piece` on `channel` at NIGHT."""
    try:
        _plan_at_night(world, piece, channel)
    except ValidationFailed as err:
        return "publish_at" in err.fields
    return False


def _rule_scope(world: World, name: str) -> dict[str, list[str]]:
    world.session.expire_all()
    return dict(rules.get_rule(world.session, actor=world.admin, ref=name).scope)


def test_unknown_scope_names_are_refused_naming_the_field_and_the_known_names(
    world: World,
) -> None:
    _channel(world, "XING")
    data = {
        "name": "Ghost",
        "kind": "forbidden_terms",
        "settings": {"terms": ["Messe"]},
        "scope": {"channels": ["Nope"], "departments": ["Nope2"], "audiences": ["NoAud"]},
        "message": {"de": "V", "en": "F"},
    }

    with pytest.raises(ValidationFailed) as refused:
        rules.add_rule(world.session, actor=world.admin, data=data)

    fields = refused.value.fields
    assert sorted(fields) == ["audiences", "channels", "departments"]
    assert fields["channels"] == "unknown channel Nope; known: XING"
    assert fields["departments"] == "unknown department Nope2; known: HR, Marketing"
    assert fields["audiences"] == "unknown audience NoAud; there are no audiences yet"
    assert [getattr(fields[k], "code", None) for k in ("channels", "departments", "audiences")] == [
        "rule_unknown_channel",
        "rule_unknown_department",
        "rule_unknown_audience_none_yet",
    ]
    assert rules.list_rules(world.session, actor=world.admin) == []
    rule_events = audit.list_events(world.session, actor=world.admin, object_type="rule")
    assert rule_events == []


def test_scope_names_are_stored_as_the_planner_spells_them(world: World) -> None:
    _channel(world, "XING")
    audiences.create_audience(world.session, actor=world.admin, name="Azubis")
    rule = _rule(
        world,
        "Messe",
        "forbidden_terms",
        settings={"terms": ["gratis"]},
        scope={
            "channels": ["xing", "Xing "],
            "departments": ["hr"],
            "audiences": ["AZUBIS"],
            "campaigns": ["messe"],
        },
    )

    assert rule.scope == {
        "channels": ["XING"],
        "departments": ["HR"],
        "campaigns": ["messe"],  # free text: kept as typed
        "audiences": ["Azubis"],
    }
    # Campaigns are matched ignoring case.
    assert rules.in_scope(
        rule, channel="XING", department="HR", campaign="MESSE", audiences=["Azubis"]
    )

    # An edit is checked the same way; what it refuses leaves the rule as it was.
    with pytest.raises(ValidationFailed) as refused:
        rules.edit_rule(
            world.session, actor=world.admin, ref="Messe", changes={"scope": {"channels": ["Xung"]}}
        )
    assert refused.value.fields == {"channels": "unknown channel Xung; known: XING"}
    assert _rule_scope(world, "Messe")["channels"] == ["XING"]
    _channel(world, "Blog")
    rules.edit_rule(
        world.session,
        actor=world.admin,
        ref="Messe",
        changes={"scope": {"channels": ["blog", "xing"], "departments": ["marketing"]}},
    )
    assert _rule_scope(world, "Messe") == {
        "channels": ["Blog", "XING"],
        "departments": ["Marketing"],
        "campaigns": ["messe"],
        "audiences": ["Azubis"],
    }


def _stored_directly(world: World, name: str, scope: dict[str, list[str]]) -> PublishingRule:
    """A blocking quiet-hours rule written to the database as it is, unchecked (as rules
    stored before scope names were checked are)."""
    spec = rules.checked_spec(
        {
            "name": name,
            "kind": "quiet_hours",
            "settings": QUIET,
            "message_de": "d",
            "message_en": "e",
        }
    )
    rule = PublishingRule(
        name=name,
        kind=spec.kind,
        severity="block",
        scope={key: scope.get(key, []) for key in rules.SCOPE_KEYS},
        settings=spec.settings,
        message_de=spec.message_de,
        message_en=spec.message_en,
    )
    world.session.add(rule)
    world.session.commit()
    return rule


def test_a_rule_stored_before_names_were_checked_still_applies_ignoring_case(
    world: World,
) -> None:
    xing = _channel(world, "XING")
    piece = _piece(world, "Guten Morgen", channel=xing)
    _stored_directly(world, "Nachtruhe xing", {"channels": ["xing"]})
    _stored_directly(world, "Verwaist", {"channels": ["Gone"], "audiences": ["Nobody"]})

    # The blocking rule scoped "xing" blocks a plan on "XING".
    assert _refused_at_night(world, piece, "XING")
    # A rule naming a channel there is no longer still loads, is listed and can be switched
    # off (or on again): only the names an add, edit or import gives are checked.
    listed = [r.name for r in rules.list_rules(world.session, actor=world.editor)]
    assert listed == ["Nachtruhe xing", "Verwaist"]
    rules.set_rule_enabled(world.session, actor=world.admin, ref="Verwaist", enabled=False)
    rules.edit_rule(world.session, actor=world.admin, ref="Verwaist", changes={"severity": "warn"})
    assert _rule_scope(world, "Verwaist")["channels"] == ["Gone"]
    rules.edit_rule(
        world.session, actor=world.admin, ref="Nachtruhe xing", changes={"severity": "block"}
    )
    assert _refused_at_night(world, piece, "XING")


def test_renaming_a_channel_keeps_the_rules_scoped_to_it(world: World) -> None:
    xing = _channel(world, "XING")
    piece = _piece(world, "Guten Morgen", channel=xing)
    _rule(world, "Nachtruhe XING", "quiet_hours", settings=QUIET, scope={"channels": ["XING"]})
    _stored_directly(world, "Alt", {"channels": ["xing", "Gone"]})  # stored before the checks
    assert _refused_at_night(world, piece, "XING")

    channels.update_channel(world.session, actor=world.admin, ref="XING", name="XING Seite")

    assert _refused_at_night(world, piece, "XING Seite")
    assert _rule_scope(world, "Nachtruhe XING")["channels"] == ["XING Seite"]
    assert _rule_scope(world, "Alt")["channels"] == ["Gone", "XING Seite"]
    notes = [
        e.note
        for e in audit.list_events(world.session, actor=world.admin, object_type="rule")
        if e.action == "update"
    ]
    assert sorted(notes) == ["rule: Alt", "rule: Nachtruhe XING"]
    # A rule scoped elsewhere is left alone.
    blog = _channel(world, "Blog")
    assert not _refused_at_night(world, _piece(world, "Hallo", channel=blog), "Blog")


def test_renaming_an_audience_keeps_the_rules_scoped_to_it(world: World) -> None:
    feed = _channel(world)
    piece = _piece(world, "Guten Morgen", channel=feed)
    audiences.create_audience(world.session, actor=world.admin, name="Azubis")
    audiences.set_piece_audience(
        world.session, actor=world.editor, piece_id=piece.id or 0, audience="Azubis"
    )
    _rule(world, "Nachtruhe Azubis", "quiet_hours", settings=QUIET, scope={"audiences": ["Azubis"]})
    assert _refused_at_night(world, piece, "Feed")

    audiences.update_audience(
        world.session, actor=world.admin, name="Azubis", new_name="Auszubildende"
    )

    assert _refused_at_night(world, piece, "Feed")
    assert _rule_scope(world, "Nachtruhe Azubis")["audiences"] == ["Auszubildende"]


def test_renaming_a_department_keeps_the_rules_scoped_to_it(world: World) -> None:
    feed = _channel(world)
    submitted = ideas.submit_idea(
        world.session,
        actor=world.hr_contributor,
        data={"title": "Betriebsfest", "pitch": "Einladung für alle", "department": "HR"},
    )
    from_hr = ideas.accept_idea(world.session, actor=world.editor, idea_id=submitted.idea.id or 0)
    pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=from_hr.id or 0,
        expected_revision=from_hr.revision,
        data={"body": "Guten Morgen", "variants": {feed.id: ""}},
    )
    _rule(world, "Nachtruhe HR", "quiet_hours", settings=QUIET, scope={"departments": ["HR"]})
    assert _refused_at_night(world, from_hr, "Feed")

    users.rename_department(world.session, actor=world.admin, name="HR", new_name="Personal")

    assert _refused_at_night(world, from_hr, "Feed")
    assert _rule_scope(world, "Nachtruhe HR")["departments"] == ["Personal"]


def test_an_import_naming_an_unknown_channel_imports_nothing(world: World) -> None:
    _channel(world, "XING")
    text = (
        "rules:\n"
        "- name: Gut\n  kind: max_hashtags\n  settings: {max: 3}\n  message: {de: a, en: b}\n"
        "  scope: {channels: [xing]}\n"
        "- name: Falsch\n  kind: max_hashtags\n  settings: {max: 3}\n  message: {de: a, en: b}\n"
        "  scope: {channels: [Nope], departments: [marketing], audiences: [Presse]}\n"
    )

    with pytest.raises(ValidationFailed) as refused:
        rules.import_rules(world.session, actor=world.admin, text=text)

    assert refused.value.fields == {
        "rule 2 channels": "unknown channel Nope; known: XING",
        "rule 2 audiences": "unknown audience Presse; there are no audiences yet",
    }
    assert rules.list_rules(world.session, actor=world.admin) == []
    assert audit.list_events(world.session, actor=world.admin, object_type="rule") == []

    audiences.create_audience(world.session, actor=world.admin, name="Presse")
    done = rules.import_rules(world.session, actor=world.admin, text=text.replace("Nope", "XING"))
    assert (done.added, done.changed) == (["Gut", "Falsch"], [])
    assert _rule_scope(world, "Gut")["channels"] == ["XING"]
    assert _rule_scope(world, "Falsch") == {
        "channels": ["XING"],
        "departments": ["Marketing"],
        "campaigns": [],
        "audiences": ["Presse"],
    }


def test_renaming_a_channel_keeps_its_own_disclosure_words(world: World) -> None:
    social = _channel(world, "Social")
    rule = _rule(
        world,
        "Werbung",
        "ad_disclosure",
        settings={"per_channel": {"Social": ["#ad", "#Anzeige"]}},
    )
    channels.update_channel(world.session, actor=world.admin, ref="Social", name="Social DE")
    world.session.refresh(rule)
    # Before, the words stayed under the old name and the default list took over.
    assert rule.settings["per_channel"] == {"Social DE": ["#ad", "#Anzeige"]}
    wrong = _piece(world, "Anzeige: Unser neuer Tarif.", channel=social, tags=["Werbung"])
    (finding,) = rule_checks.piece_findings(
        world.session, actor=world.editor, piece=wrong, channels=[social]
    )
    assert finding.message.params["detail"].params == {"disclosures": "#ad, #Anzeige"}


def test_names_that_differ_only_in_folded_letters_are_not_mixed_up(world: World) -> None:
    # The databases' own case rules keep both ("ß" is not "ss" to SQL's lower()); Python's
    # casefold() makes them one.
    for name in ("Straße", "STRASSE"):
        users.create_department(world.session, actor=world.admin, name=name)
    rule = _rule(
        world, "Presse", "max_hashtags", settings={"max": 3}, scope={"departments": ["Straße"]}
    )
    assert rule.scope["departments"] == ["Straße"]
    users.rename_department(world.session, actor=world.admin, name="STRASSE", new_name="Intern")
    # Before, a rename of the other department could carry this rule away with it.
    assert _rule_scope(world, "Presse")["departments"] == ["Straße"]
    users.create_department(world.session, actor=world.admin, name="STRASSE")
    # A name that means both is not taken for either.
    with pytest.raises(ValidationFailed) as refused:
        _rule(
            world, "Beide", "max_hashtags", settings={"max": 3}, scope={"departments": ["strasse"]}
        )
    assert "unknown department strasse" in refused.value.fields["departments"]


@pytest.mark.parametrize(("given", "code"), [(None, "rule_kind_missing"), ("colour", "rule_kind")])
def test_a_rule_without_a_known_kind_is_refused_saying_which_there_are(
    world: World, given: str | None, code: str
) -> None:
    data: dict[str, Any] = {"name": "R1", "message": {"de": "a", "en": "b"}}
    if given is not None:
        data["kind"] = given
    with pytest.raises(ValidationFailed) as refused:
        rules.add_rule(world.session, actor=world.admin, data=data)
    message = refused.value.fields["kind"]
    # Before, a missing kind read "unknown rule kind None".
    assert isinstance(message, Message) and message.code == code
    assert "None" not in message and "quiet_hours" in message
    assert rules.list_rules(world.session, actor=world.admin) == []
