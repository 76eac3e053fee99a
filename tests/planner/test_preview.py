"""Previews: the text as each channel shows it, folded, cut at its limit, with its link card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from secrets import token_urlsafe

import pytest

from planner import channels, pieces, planning, preview
from planner.errors import NotFound, PermissionDenied
from planner.models import Channel
from planner.preview import Span
from tests.conftest import World

TOKEN = token_urlsafe(16)  # made per run: no credential lives in the code
_SETTINGS = {
    "x": {"access_token": TOKEN},
    "linkedin": {"organization_id": "123", "access_token": TOKEN},
}


def _channel(world: World, kind: str) -> Channel:
    """A channel of `kind` named "<kind> Firma"."""
    return channels.create_channel(
        world.session, actor=world.admin, kind=kind, name=f"{kind} Firma", settings=_SETTINGS[kind]
    )


def _x(world: World) -> Channel:
    return _channel(world, "x")


def _linkedin(world: World) -> Channel:
    return _channel(world, "linkedin")


def test_spans_mark_hashtags_mentions_and_links_and_keep_the_text() -> None:
    text = "Neu: #Ausbildung mit @anna@social.example, mehr unter https://firma.example/a?b=1."
    found = preview.spans(text)
    assert "".join(s.text for s in found) == text
    assert [s for s in found if s.kind != "text"] == [
        Span("hashtag", "#Ausbildung"),
        Span("mention", "@anna@social.example"),
        Span("link", "https://firma.example/a?b=1"),
    ]
    assert [s.kind for s in preview.spans("mail an info@firma.example")] == ["text"]


def test_a_text_over_the_limit_is_cut_where_the_channel_counts_past_it(world: World) -> None:
    channel = _x(world)
    # X counts a link as 23 and these CJK characters as 2 each.
    text = "https://firma.example/lang " + "漢" * 140
    shown = preview.preview_text(
        world.session, actor=world.editor, channel_id=channel.id or 0, text=text
    )
    kept = "".join(s.text for s in shown.shown)
    assert kept + shown.over == text
    assert shown.check.count > 280 and shown.check.too_long
    assert (len(kept), shown.over) == (27 + 128, "漢" * 12)  # 23 + 1 + 2 × 128 = 280
    assert (shown.link_card, shown.link_host) == ("https://firma.example/lang", "firma.example")
    assert shown.folded == () and shown.fold is None


def test_linkedin_folds_a_long_post_at_a_space_before_about_210_characters(
    world: World,
) -> None:
    channel = _linkedin(world)
    text = " ".join(["Wort"] * 60) + " #Karriere"
    shown = preview.preview_text(
        world.session, actor=world.editor, channel_id=channel.id or 0, text=text
    )
    first = "".join(s.text for s in shown.shown)
    rest = "".join(s.text for s in shown.folded)
    assert first + rest == text and shown.over == ""
    assert 180 <= len(first) <= 210 and rest.startswith(" ")
    assert shown.fold == 210 and shown.hashtags == ("#Karriere",)
    assert shown.link_card is None


def test_a_short_post_is_shown_whole(world: World) -> None:
    channel = _linkedin(world)
    shown = preview.preview_text(
        world.session, actor=world.editor, channel_id=channel.id or 0, text="Kurz @team"
    )
    assert (shown.shown, shown.folded, shown.over) == (
        (Span("text", "Kurz "), Span("mention", "@team")),
        (),
        "",
    )
    assert shown.mentions == ("@team",)


def test_piece_previews_show_the_revision_asked_for_on_every_channel(world: World) -> None:
    x, linkedin = _x(world), _linkedin(world)
    piece = pieces.create_piece(
        world.session,
        actor=world.editor,
        data={"title": "Fest", "body": "Erste Fassung"},
    )
    assert piece.id is not None
    piece = pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=1,
        data={"variants": {x.id: "Kurz für X"}},
    )
    when = datetime.now(UTC) + timedelta(days=2)
    planning.plan_post(
        world.session, actor=world.editor, piece_id=piece.id, channel=linkedin.id or 0, when=when
    )
    pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=piece.revision,
        data={"body": "Zweite Fassung"},
    )
    first = preview.piece_previews(world.session, actor=world.editor, piece_id=piece.id, revision=2)
    now = preview.piece_previews(world.session, actor=world.editor, piece_id=piece.id)
    texts = {p.channel_name: "".join(s.text for s in p.shown) for p in first}
    assert texts == {"linkedin Firma": "Erste Fassung", "x Firma": "Kurz für X"}
    assert {p.channel_name: "".join(s.text for s in p.shown) for p in now} == {
        "linkedin Firma": "Zweite Fassung",
        "x Firma": "Kurz für X",
    }


def test_previews_need_the_right_to_view_pieces_and_a_channel_that_exists(
    world: World,
) -> None:
    channel = _x(world)
    with pytest.raises(PermissionDenied):
        preview.preview_text(
            world.session, actor=world.contributor, channel_id=channel.id or 0, text="Hallo"
        )
    with pytest.raises(NotFound):
        preview.preview_text(world.session, actor=world.editor, channel_id=999, text="Hallo")
