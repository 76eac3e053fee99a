"""What the editor works with: piece search, the channels needing variants, length checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from planner import channels, editing, pieces, planning
from planner.errors import PermissionDenied
from planner.models import Channel, Piece
from tests.conftest import World


def _piece(world: World, title: str, body: str = "Text") -> Piece:
    return pieces.create_piece(
        world.session, actor=world.editor, data={"title": title, "body": body}
    )


def _channel(world: World, name: str = "Social") -> Channel:
    return channels.create_channel(world.session, actor=world.admin, kind="recording", name=name)


def test_search_matches_titles_case_insensitively_and_pages_newest_first(world: World) -> None:
    for i in range(7):
        _piece(world, f"Wärmepumpe Folge {i}")
    _piece(world, "Azubi-Tag")
    result = editing.search_pieces(world.session, actor=world.editor, text="folge", page_size=3)
    assert (result.total, result.pages, result.page) == (7, 3, 1)
    assert [h.title for h in result.hits] == [f"Wärmepumpe Folge {i}" for i in (6, 5, 4)]
    last = editing.search_pieces(
        world.session, actor=world.editor, text="FOLGE", page=9, page_size=3
    )
    assert last.page == 3
    assert [h.title for h in last.hits] == ["Wärmepumpe Folge 0"]


def test_search_by_number_and_like_wildcards_are_literal(world: World) -> None:
    target = _piece(world, "100% Ökostrom")
    _piece(world, "1000 Kunden")
    assert [
        h.id
        for h in editing.search_pieces(world.session, actor=world.editor, text=f"#{target.id}").hits
    ] == [target.id]
    hits = editing.search_pieces(world.session, actor=world.editor, text="100%").hits
    assert [h.title for h in hits] == ["100% Ökostrom"]


def test_contributors_may_not_search_pieces(world: World) -> None:
    with pytest.raises(PermissionDenied):
        editing.search_pieces(world.session, actor=world.contributor)


def test_variant_channels_are_the_planned_ones_and_those_with_a_variant(world: World) -> None:
    piece = _piece(world, "Betriebsfest")
    planned, with_variant, cancelled, _unused = (
        _channel(world, n) for n in ("B planned", "A variant", "C cancelled", "D unused")
    )
    assert piece.id is not None
    when = datetime.now(UTC) + timedelta(days=2)
    planning.plan_post(
        world.session, actor=world.editor, piece_id=piece.id, channel=planned.id or 0, when=when
    )
    gone = planning.plan_post(
        world.session, actor=world.editor, piece_id=piece.id, channel=cancelled.id or 0, when=when
    )
    planning.cancel_post(world.session, actor=world.editor, post_id=gone.id or 0)
    pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id,
        expected_revision=1,
        data={"variants": {with_variant.id: "Kurz"}},
    )
    shown = editing.variant_channels(world.session, actor=world.editor, piece_id=piece.id)
    assert [c.name for c in shown] == ["A variant", "B planned"]


@pytest.mark.parametrize(
    ("text", "count", "findings"),
    [
        pytest.param("Hallo", 5, [], id="fits"),
        pytest.param(
            "x" * 501, 501, ["501 characters, Recording (tests) allows 500"], id="too-long"
        ),
        pytest.param("   ", 3, ["the text is empty"], id="empty"),
    ],
)
def test_check_variant_counts_as_the_channel_and_returns_its_findings(
    world: World, text: str, count: int, findings: list[str]
) -> None:
    channel = _channel(world)
    check = editing.check_variant(
        world.session, actor=world.editor, channel_id=channel.id or 0, text=text
    )
    assert (check.count, check.limit, check.counted_as) == (count, 500, "characters")
    assert [f.message for f in check.findings] == findings
    assert check.too_long == (count > 500)


def test_check_variant_uses_the_adapters_own_measure(world: World) -> None:
    channel = channels.create_channel(
        world.session,
        actor=world.admin,
        kind="bluesky",
        name="Bluesky",
        settings={"handle": "firma.bsky.social", "app_password": "abcd-efgh-ijkl-mnop"},
    )
    family = "\N{MAN}\N{ZERO WIDTH JOINER}\N{WOMAN}\N{ZERO WIDTH JOINER}\N{GIRL}"
    check = editing.check_variant(
        world.session, actor=world.editor, channel_id=channel.id or 0, text=family
    )
    assert (check.count, check.counted_as) == (1, "graphemes")


def test_a_channel_without_an_adapter_is_reported_not_counted_wrongly(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = _channel(world)
    monkeypatch.delitem(editing.REGISTRY, "recording")
    check = editing.check_variant(
        world.session, actor=world.editor, channel_id=channel.id or 0, text="Hallo"
    )
    assert (check.count, check.limit) == (5, None)
    assert [f.message for f in check.findings] == [
        "there is no publisher for 'recording' channels yet"
    ]


@pytest.mark.parametrize("text", ["12345678901234567890", "#99999999999999999999", "²", "#²"])
def test_a_number_no_id_can_be_finds_nothing_instead_of_failing(world: World, text: str) -> None:
    _piece(world, "Azubi-Tag")
    assert editing.search_pieces(world.session, actor=world.editor, text=text).hits == []


def test_a_piece_number_is_also_searched_as_title_text(world: World) -> None:
    target = _piece(world, "Jahresbericht 2027")
    hits = editing.search_pieces(world.session, actor=world.editor, text="2027").hits
    assert [h.id for h in hits] == [target.id]
