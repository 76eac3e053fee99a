"""A text its channel would refuse is stopped at review, approval and planning."""

from __future__ import annotations

from datetime import UTC, datetime
from secrets import token_urlsafe

import pytest
from sqlalchemy import func
from sqlmodel import select

from planner import channels, checks, pieces, planning
from planner.errors import Message, PermissionDenied, ValidationFailed
from planner.models import AuditEvent, Channel, Piece, PieceStatus, Post, PostStatus, Revision
from publishers.base import OutgoingPost
from tests.conftest import World

NEXT_YEAR = datetime.now(UTC).year + 1
# 310 graphemes as Bluesky counts them (300 allowed), far below its 3000 bytes.
TOO_LONG = "Winter " + "ä" * 303
FITS = "Winter tips for every home"


def _bluesky(world: World, name: str = "Bluesky") -> Channel:
    return channels.create_channel(
        world.session,
        actor=world.admin,
        kind="bluesky",
        name=name,
        settings={"handle": "firma.bsky.social", "app_password": token_urlsafe(12)},
    )


def _recording(world: World, name: str = "Blog") -> Channel:
    return channels.create_channel(world.session, actor=world.admin, kind="recording", name=name)


def _piece(world: World, body: str = FITS, variants: dict[int, str] | None = None) -> Piece:
    piece = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Winter tips", "body": body}
    )
    assert piece.id is not None
    if variants:
        piece = pieces.edit_piece(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            expected_revision=piece.revision,
            data={"variants": variants},
        )
    return piece


def _plan(world: World, piece_id: int, channel: int | str) -> Post:
    """Plan the piece on `channel` next January."""
    return planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece_id,
        channel=channel,
        when=f"{NEXT_YEAR}-01-15 09:00",
    )


def _rewrite(world: World, piece: Piece, body: str) -> Piece:
    """Save a new master text from the piece's current revision."""
    assert piece.id is not None
    return pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=piece.revision,
        data={"body": body},
    )


def _audit_count(world: World) -> int:
    return int(world.session.exec(select(func.count()).select_from(AuditEvent)).one())


def test_the_channels_variant_is_checked_else_the_master_text(world: World) -> None:
    bluesky = _bluesky(world)
    assert bluesky.id is not None
    with_variant = checks.outgoing_post(
        7, bluesky.id, [], "T", "master", {str(bluesky.id): TOO_LONG}, ["a"]
    )
    without = checks.outgoing_post(7, bluesky.id, [], "T", TOO_LONG, {"999": "short"}, [])

    assert (with_variant.text, with_variant.post_id, list(with_variant.tags)) == (
        TOO_LONG,
        7,
        ["a"],
    )
    assert without.text == TOO_LONG
    (found,) = checks.problems_for(bluesky, with_variant)
    assert (found.field, found.code) == ("text", "too_long_graphemes")
    assert found.params["used"] == 310
    message = checks.finding_message(bluesky, found)
    assert message.code == "channel_refuses"
    assert message == (
        "channel 'Bluesky' would refuse this post: 310 graphemes, Bluesky allows 300"
    )
    assert isinstance(message.params["finding"], Message)
    assert message.params["finding"].code == "problem_too_long_graphemes"
    assert checks.problems_for(bluesky, OutgoingPost(post_id=0, title="T", text=FITS)) == []


def test_a_stored_revision_is_checked_with_the_posts_media(world: World) -> None:
    bluesky = _bluesky(world)
    assert bluesky.id is not None
    piece = _piece(world, body=FITS)
    revision = world.session.exec(select(Revision).where(Revision.piece_id == piece.id)).one()
    media = [{"url": "https://example.org/a.png", "mime_type": "image/png"}]

    outgoing = checks.content_post(bluesky, revision, post_id=3, media=media)
    found = checks.refusal(bluesky, outgoing)

    assert outgoing.text == FITS and outgoing.media[0].url == "https://example.org/a.png"
    assert found is not None and "alt text missing" in found
    assert checks.refusal(bluesky, checks.content_post(bluesky, revision)) is None


def test_a_misconfigured_channel_is_reported_not_raised(world: World) -> None:
    bluesky = _bluesky(world)
    bluesky.settings = {**bluesky.settings, "handle": "not a handle"}

    (found,) = checks.problems_for(bluesky, OutgoingPost(post_id=0, title="T", text=FITS))

    assert found.field == "channel"
    assert isinstance(found.message, Message) and found.message.code == "channel_setting_wrong"
    assert "cannot check this post until an admin fixes its setting 'handle'" in found.message
    assert checks.finding_message(bluesky, found) is found.message


def test_submit_refuses_a_variant_its_channel_would_refuse_and_changes_nothing(
    world: World,
) -> None:
    bluesky = _bluesky(world)
    assert bluesky.id is not None
    piece = _piece(world, variants={bluesky.id: TOO_LONG})
    assert piece.id is not None
    events = _audit_count(world)

    with pytest.raises(ValidationFailed) as caught:
        pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)

    message = caught.value.fields["channel"]
    assert "channel 'Bluesky' would refuse this post: 310 graphemes" in message
    assert isinstance(message, Message) and message.code == "channel_refuses"
    stored = pieces.get_piece(world.session, actor=world.editor, piece_id=piece.id)
    assert stored.status == PieceStatus.draft
    assert _audit_count(world) == events


def test_a_long_master_text_is_refused_for_a_channel_it_is_planned_on(world: World) -> None:
    bluesky, blog = _bluesky(world), _recording(world)
    piece = _piece(world, body=FITS)
    assert piece.id is not None and bluesky.id is not None
    _plan(world, piece.id, bluesky.id)
    _plan(world, piece.id, "Blog")
    # Long enough for Bluesky, within the blog's 500.
    piece = _rewrite(world, piece, "x" * 400)

    with pytest.raises(ValidationFailed) as caught:
        pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)

    assert caught.value.fields == {
        "channel": "channel 'Bluesky' would refuse this post: 400 graphemes, Bluesky allows 300"
    }
    assert blog.name not in caught.value.fields["channel"]


def test_every_refusing_channel_is_named_in_one_message(world: World) -> None:
    first, second = _bluesky(world, "Bluesky A"), _bluesky(world, "Bluesky B")
    assert first.id is not None and second.id is not None
    piece = _piece(world, variants={first.id: TOO_LONG, second.id: TOO_LONG})
    assert piece.id is not None

    with pytest.raises(ValidationFailed) as caught:
        pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)

    message = caught.value.fields["channel"]
    assert isinstance(message, Message) and message.code == "several_findings"
    assert message == (
        "channel 'Bluesky A' would refuse this post: 310 graphemes, Bluesky allows 300; "
        "channel 'Bluesky B' would refuse this post: 310 graphemes, Bluesky allows 300"
    )


def test_a_cancelled_post_no_longer_binds_the_text(world: World) -> None:
    bluesky = _bluesky(world)
    piece = _piece(world, body=FITS)
    assert piece.id is not None and bluesky.id is not None
    post = _plan(world, piece.id, bluesky.id)
    piece = _rewrite(world, piece, "x" * 400)
    assert post.id is not None
    planning.cancel_post(world.session, actor=world.editor, post_id=post.id)

    assert pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id).status == (
        PieceStatus.in_review
    )


def test_approval_checks_again_and_binds_nothing_when_refused(world: World) -> None:
    mastodon = channels.create_channel(
        world.session,
        actor=world.admin,
        kind="mastodon",
        name="Mastodon",
        settings={
            "instance_url": "https://social.example.de",
            "access_token": token_urlsafe(12),
            "max_characters": 1000,
        },
    )
    assert mastodon.id is not None
    piece = _piece(world, variants={mastodon.id: "x" * 600})
    assert piece.id is not None
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    # The account moved to a server with the usual limit while the piece was in review.
    channels.update_channel(
        world.session, actor=world.admin, ref="Mastodon", settings={"max_characters": 500}
    )

    with pytest.raises(ValidationFailed) as caught:
        pieces.approve_piece(
            world.session, actor=world.approver, piece_id=piece.id, revision=piece.revision
        )

    refused = caught.value.fields["channel"]
    assert refused.startswith("channel 'Mastodon' would refuse this post: 600 characters")
    stored = pieces.get_piece(world.session, actor=world.approver, piece_id=piece.id)
    assert (stored.status, stored.approved_revision) == (PieceStatus.in_review, None)


def _approved(world: World, body: str) -> Piece:
    piece = _piece(world, body=body)
    assert piece.id is not None
    pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    return pieces.approve_piece(
        world.session, actor=world.approver, piece_id=piece.id, revision=piece.revision
    )


def test_planning_an_approved_piece_on_a_new_channel_checks_its_text_and_stores_nothing(
    world: World,
) -> None:
    _bluesky(world)
    _recording(world)
    piece = _approved(world, "x" * 400)  # it went out nowhere yet, so nothing refused it
    assert piece.id is not None

    with pytest.raises(ValidationFailed) as caught:
        planning.plan_post(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            channel="bluesky",
            when=f"{NEXT_YEAR}-01-15 09:00",
        )
    with pytest.raises(ValidationFailed) as series:
        planning.create_series(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            channel="Bluesky",
            rule="FREQ=WEEKLY;COUNT=3",
            start=f"{NEXT_YEAR}-01-15 09:00",
        )

    assert "would refuse this post: 400 graphemes" in caught.value.fields["channel"]
    assert "would refuse this post: 400 graphemes" in series.value.fields["channel"]
    assert world.session.exec(select(Post)).all() == []
    # The same text fits the blog (500 characters).
    post = _plan(world, piece.id, "Blog")
    assert post.status == PostStatus.planned


def test_planning_reports_the_text_with_the_other_field_problems(world: World) -> None:
    _bluesky(world)
    piece = _approved(world, "x" * 400)
    assert piece.id is not None

    with pytest.raises(ValidationFailed) as caught:
        planning.prepare_post(
            world.session,
            actor=world.editor,
            piece_id=piece.id,
            channel="Bluesky",
            when="2001-01-01 09:00",
        )

    assert set(caught.value.fields) == {"channel", "publish_at"}


def test_a_draft_is_planned_before_it_is_written_and_checked_when_submitted(
    world: World,
) -> None:
    bluesky = _bluesky(world)
    piece = pieces.create_piece(world.session, actor=world.editor, data={"title": "Später"})
    assert piece.id is not None and bluesky.id is not None

    _plan(world, piece.id, "Bluesky")
    with pytest.raises(ValidationFailed) as caught:
        pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)
    piece = pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=piece.revision,
        data={"body": "x" * 400, "variants": {bluesky.id: FITS}},
    )

    assert caught.value.fields["channel"] == (
        "channel 'Bluesky' would refuse this post: the text is empty"
    )
    assert pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id).status == (
        PieceStatus.in_review
    )


def test_the_check_needs_a_user_who_may_view_pieces(world: World) -> None:
    piece = _piece(world)
    with pytest.raises(PermissionDenied):
        checks.require_accepted(world.session, actor=world.contributor, piece=piece)


def test_the_finding_is_said_in_the_editors_language(world: World) -> None:
    from planner.ui import i18n

    first, second = _bluesky(world, "Bluesky A"), _bluesky(world, "Bluesky B")
    assert first.id is not None and second.id is not None
    piece = _piece(world, variants={first.id: TOO_LONG, second.id: TOO_LONG})
    assert piece.id is not None

    with pytest.raises(ValidationFailed) as caught:
        pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)

    assert i18n.render_message("de", caught.value.fields["channel"]) == (
        "Der Kanal „Bluesky A“ würde diesen Post ablehnen: 310 Schriftzeichen, Bluesky "
        "erlaubt 300. Der Kanal „Bluesky B“ würde diesen Post ablehnen: 310 Schriftzeichen, "
        "Bluesky erlaubt 300."
    )


def test_a_planned_posts_media_is_checked_at_submission(world: World) -> None:
    bluesky = _bluesky(world)
    piece = _piece(world)
    assert piece.id is not None and bluesky.id is not None
    post = _plan(world, piece.id, "Bluesky")
    post.media = [{"url": "https://example.org/a.png", "mime_type": "image/png"}]
    world.session.add(post)
    world.session.commit()

    with pytest.raises(ValidationFailed) as caught:
        pieces.submit_piece(world.session, actor=world.editor, piece_id=piece.id)

    assert caught.value.fields == {
        "channel": "channel 'Bluesky' would refuse this post: "
        "alt text missing for 'https://example.org/a.png'"
    }
