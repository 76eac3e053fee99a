"""The plan as iCalendar: files and feeds read back with `icalendar`, across DST changes,
with the owner's visibility at fetch time; the feed URL served by the dashboard's web
server (Starlette's test client against the real database)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from planner import calendar_feeds, channels, ideas, pieces, planning, users
from planner.calendar_feeds import CalendarFilters
from planner.db import make_engine
from planner.errors import AlreadySent, NotFound, PermissionDenied, ValidationFailed
from planner.models import Channel, Piece, Post, PostStatus
from planner.ui import web
from planner.ui.i18n import translate
from tests.conftest import World

YEAR = datetime.now(UTC).year + 1
NEW_YEAR = datetime(YEAR, 1, 1, tzinfo=UTC)


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _channel(world: World, name: str) -> Channel:
    return channels.create_channel(world.session, actor=world.admin, kind="recording", name=name)


def _piece(world: World, title: str, body: str = "Text") -> Piece:
    return pieces.create_piece(
        world.session, actor=world.editor, data={"title": title, "body": body}
    )


def _plan(world: World, piece: Piece, channel: Channel, when: str | datetime) -> Post:
    return planning.plan_post(
        world.session,
        actor=world.editor,
        piece_id=piece.id or 0,
        channel=channel.id or 0,
        when=when,
        tz_name="Europe/Berlin",
    )


def _events(ics: bytes) -> dict[str, dict[str, object]]:
    """Each VEVENT by SUMMARY: its start (as an aware datetime) and other properties."""
    found: dict[str, dict[str, object]] = {}
    for event in Calendar.from_ical(ics).walk("VEVENT"):
        found[str(event["SUMMARY"])] = {
            "start": event.decoded("DTSTART"),
            "uid": str(event["UID"]),
            "status": str(event["STATUS"]),
            "sequence": int(event["SEQUENCE"]),
            "description": str(event["DESCRIPTION"]),
            "url": str(event.get("URL", "")),
            "last_modified": event.decoded("LAST-MODIFIED"),
        }
    return found


def test_posts_around_both_dst_changes_land_at_the_right_utc_instants(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_PUBLIC_URL", "https://planer.example.de/")
    social = _channel(world, "Social")
    spring, autumn = _last_sunday(YEAR, 3), _last_sunday(YEAR, 10)
    wanted = {
        "before spring": (f"{spring - timedelta(days=1)} 09:00", datetime(YEAR, 3, 1, 8)),
        "after spring": (f"{spring + timedelta(days=1)} 09:00", datetime(YEAR, 3, 1, 7)),
        "before autumn": (f"{autumn - timedelta(days=1)} 09:00", datetime(YEAR, 10, 1, 7)),
        "after autumn": (f"{autumn + timedelta(days=1)} 09:00", datetime(YEAR, 10, 1, 8)),
    }
    posts = {}
    for title, (local, _utc) in wanted.items():
        posts[title] = _plan(world, _piece(world, title), social, local)

    ics = calendar_feeds.export_ics(world.session, actor=world.editor, now=NEW_YEAR)
    events = _events(ics)

    assert set(events) == {f"Social: {title}" for title in wanted}
    for title, (local, hour) in wanted.items():
        event = events[f"Social: {title}"]
        start = event["start"]
        assert isinstance(start, datetime) and start.utcoffset() == timedelta(0)
        assert start.date() == date.fromisoformat(local[:10])
        assert (start.hour, start.minute) == (hour.hour, 0)
        assert start == posts[title].publish_at
        assert event["uid"] == f"post-{posts[title].id}@editorial-planner"
        assert event["status"] == "CONFIRMED"
        assert "Status: geplant" in str(event["description"])  # the editor reads German
        assert f"https://planer.example.de/?post={posts[title].id}" in str(event["description"])
        assert event["url"] == f"https://planer.example.de/?post={posts[title].id}"


def test_the_uid_stays_and_the_sequence_grows_when_a_post_moves_or_is_cancelled(
    world: World,
) -> None:
    social = _channel(world, "Social")
    post = _plan(world, _piece(world, "Messe"), social, f"{YEAR}-06-10 09:00")
    first = _events(calendar_feeds.export_ics(world.session, actor=world.editor, now=NEW_YEAR))
    planning.move_post(
        world.session, actor=world.editor, post_id=post.id or 0, when=f"{YEAR}-06-11 10:00"
    )
    moved = _events(calendar_feeds.export_ics(world.session, actor=world.editor, now=NEW_YEAR))
    planning.cancel_post(world.session, actor=world.editor, post_id=post.id or 0)
    gone = _events(calendar_feeds.export_ics(world.session, actor=world.editor, now=NEW_YEAR))

    before, after, cancelled = first["Social: Messe"], moved["Social: Messe"], gone["Social: Messe"]
    assert before["uid"] == after["uid"] == cancelled["uid"]
    assert int(str(before["sequence"])) < int(str(after["sequence"]))
    assert int(str(after["sequence"])) < int(str(cancelled["sequence"]))
    assert after["start"] == datetime(YEAR, 6, 11, 8, tzinfo=UTC)
    assert cancelled["status"] == "CANCELLED"


def test_filters_narrow_the_calendar_as_on_the_calendar_page(world: World) -> None:
    social, intranet = _channel(world, "Social"), _channel(world, "Intranet")
    idea = ideas.submit_idea(
        world.session,
        actor=world.hr_contributor,
        data={"title": "Azubi-Tag", "pitch": "Azubis zeigen ihren Alltag", "department": "HR"},
    ).idea
    hr_piece = ideas.accept_idea(world.session, actor=world.editor, idea_id=idea.id or 0)
    fair = pieces.create_piece(
        world.session, actor=world.editor, data={"title": "Messe", "campaign": "Messe 2027"}
    )
    _plan(world, hr_piece, social, f"{YEAR}-06-10 09:00")
    _plan(world, fair, intranet, f"{YEAR}-06-10 10:00")
    hr = users.get_department(world.session, "HR").id

    def titles(filters: CalendarFilters) -> set[str]:
        ics = calendar_feeds.export_ics(
            world.session, actor=world.editor, filters=filters, now=NEW_YEAR
        )
        return set(_events(ics))

    assert titles(CalendarFilters()) == {"Social: Azubi-Tag", "Intranet: Messe"}
    assert titles(CalendarFilters(channel_id=intranet.id)) == {"Intranet: Messe"}
    assert titles(CalendarFilters(department_id=hr)) == {"Social: Azubi-Tag"}
    assert titles(CalendarFilters(campaign="Messe 2027")) == {"Intranet: Messe"}
    assert titles(CalendarFilters(status=PostStatus.published)) == set()
    # A contributor sees what became of their department's ideas, as on 'My ideas'.
    mine = calendar_feeds.export_ics(world.session, actor=world.hr_contributor, now=NEW_YEAR)
    assert set(_events(mine)) == {"Social: Azubi-Tag"}
    with pytest.raises(ValidationFailed, match="no channel with id 999"):
        calendar_feeds.export_ics(
            world.session, actor=world.editor, filters=CalendarFilters(channel_id=999)
        )


def test_a_feed_shows_its_owners_visibility_at_fetch_time_until_revoked(world: World) -> None:
    social = _channel(world, "Social")
    idea = ideas.submit_idea(
        world.session,
        actor=world.hr_contributor,
        data={"title": "Azubi-Tag", "pitch": "Azubis zeigen ihren Alltag", "department": "HR"},
    ).idea
    hr_piece = ideas.accept_idea(world.session, actor=world.editor, idea_id=idea.id or 0)
    _plan(world, hr_piece, social, f"{YEAR}-06-10 09:00")
    _plan(world, _piece(world, "Messe"), social, f"{YEAR}-06-10 10:00")

    made = calendar_feeds.create_feed(world.session, actor=world.hr_contributor, name="HR")
    assert made.url == f"/calendar/{made.token}.ics"
    assert made.token not in repr(made)
    assert made.feed.token_hash != made.token and made.token not in made.feed.token_hash
    ics = calendar_feeds.fetch_feed(world.session, made.token, now=NEW_YEAR)
    assert ics is not None and set(_events(ics)) == {"Social: Azubi-Tag"}
    assert calendar_feeds.fetch_feed(world.session, made.token + "x") is None
    assert calendar_feeds.fetch_feed(world.session, "") is None

    # Another user neither sees nor revokes it; an admin does.
    assert calendar_feeds.list_feeds(world.session, actor=world.editor) == []
    with pytest.raises(NotFound):
        calendar_feeds.revoke_feed(world.session, actor=world.editor, feed_id=made.feed.id or 0)
    everyone = calendar_feeds.list_feeds(world.session, actor=world.admin, everyone=True)
    assert [f.id for f in everyone] == [made.feed.id]
    calendar_feeds.revoke_feed(world.session, actor=world.admin, feed_id=made.feed.id or 0)
    assert calendar_feeds.fetch_feed(world.session, made.token) is None
    (listed,) = calendar_feeds.list_feeds(world.session, actor=world.hr_contributor)
    assert listed.revoked_at is not None and listed.revoked_by_id == world.admin.id


def test_a_feed_sent_twice_with_one_form_token_is_made_once(world: World) -> None:
    first = calendar_feeds.create_feed(world.session, actor=world.editor, token="form-1")

    with pytest.raises(AlreadySent) as err:
        calendar_feeds.create_feed(world.session, actor=world.editor, token="form-1")

    assert (err.value.action, err.value.object_id) == ("calendar_feed", first.feed.id)
    assert [f.id for f in calendar_feeds.list_feeds(world.session, actor=world.editor)] == [
        first.feed.id
    ]
    # Another user's token says nothing of what it made.
    with pytest.raises(AlreadySent) as other:
        calendar_feeds.create_feed(world.session, actor=world.approver, token="form-1")
    assert other.value.object_id is None
    assert calendar_feeds.list_feeds(world.session, actor=world.approver) == []


def test_a_disabled_owners_feed_stops_working(world: World) -> None:
    made = calendar_feeds.create_feed(world.session, actor=world.editor)
    assert calendar_feeds.fetch_feed(world.session, made.token) is not None
    users.set_disabled(world.session, actor=world.admin, username="editor", disabled=True)
    assert calendar_feeds.fetch_feed(world.session, made.token) is None
    disabled = users.get_user(world.session, "editor")
    with pytest.raises(PermissionDenied):
        calendar_feeds.create_feed(world.session, actor=disabled)


def test_a_feed_name_is_one_line_and_written_as_calendar_text(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line break in a name is refused (a feed so named answered 503 for ever); commas
    and semicolons in it are escaped as RFC 5545 text."""
    with pytest.raises(ValidationFailed) as refused:
        calendar_feeds.create_feed(world.session, actor=world.editor, name="Plan\nX-INJECTED:1")
    assert refused.value.fields["name"].code == "one_line"  # type: ignore[attr-defined]
    assert calendar_feeds.list_feeds(world.session, actor=world.editor) == []
    made = calendar_feeds.create_feed(world.session, actor=world.editor, name="Social, Süd; Test")
    answer = _client(engine, monkeypatch).get(calendar_feeds.feed_path(made.token))
    assert answer.status_code == 200
    assert b"X-WR-CALNAME:Social\\, S\xc3\xbcd\\; Test\r\n" in answer.content


def _client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The planner's routes on the test database."""
    monkeypatch.setattr(web, "get_engine", lambda: engine)
    return TestClient(Starlette(routes=web.routes()))


def test_the_feed_url_answers_calendar_apps_and_a_wrong_token_reveals_nothing(
    world: World, engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    social = _channel(world, "Social")
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    _plan(world, _piece(world, "Grüße & <Wünsche>"), social, soon)
    made = calendar_feeds.create_feed(world.session, actor=world.editor)
    client = _client(engine, monkeypatch)

    answer = client.get(calendar_feeds.feed_path(made.token))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    assert set(_events(answer.content)) == {"Social: Grüße & <Wünsche>"}

    wrong = client.get(calendar_feeds.feed_path("A" * 43))
    calendar_feeds.revoke_feed(world.session, actor=world.editor, feed_id=made.feed.id or 0)
    revoked = client.get(calendar_feeds.feed_path(made.token))
    assert (wrong.status_code, wrong.text) == (404, "not found")
    assert (revoked.status_code, revoked.text) == (404, "not found")
    # The server's side logs nothing with the token (the test client's own httpx logs it).
    server_lines = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert not [line for line in server_lines if made.token in line]


def test_a_database_outage_answers_503_without_the_token_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="planner")
    gone = make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'planner.db'}")
    client = _client(gone, monkeypatch)
    token = "s3cr3t-" + "x" * 36
    for path in (calendar_feeds.feed_path(token), "/feed.rss", "/l/abcdefghijkl"):
        answer = client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["retry-after"]) == (503, "30")
    assert "a calendar feed failed: OperationalError" in caplog.text
    assert token not in caplog.text


def test_an_empty_plan_is_still_a_calendar_with_a_component(world: World) -> None:
    written = calendar_feeds.export_ics(world.session, actor=world.editor)
    parsed = Calendar.from_ical(written)
    # RFC 5545: a calendar holds at least one component (before, an empty plan had none).
    assert parsed.walk("VEVENT") == []
    assert [tz["TZID"] for tz in parsed.walk("VTIMEZONE")] == ["UTC"]


DRAFT = "ENTWURF (intern, nicht freigegeben): Preise steigen im Mai"


def _marketing_piece_with_an_hr_idea_merged(world: World) -> tuple[Piece, Channel, Channel]:
    """HR's idea merged into Marketing's, whose piece holds an internal draft, a variant
    and a campaign, with a planned post and a published one."""
    social, intranet = _channel(world, "Social"), _channel(world, "Intranet")
    target = ideas.submit_idea(
        world.session,
        actor=world.contributor,
        data={
            "title": "Preisrunde",
            "pitch": "Wir erklären die neuen Preise",
            "department": "Marketing",
        },
    ).idea
    merged = ideas.submit_idea(
        world.session,
        actor=world.hr_contributor,
        data={"title": "Preise", "pitch": "Was kostet es ab Mai?", "department": "HR"},
    ).idea
    ideas.merge_idea(
        world.session, actor=world.editor, idea_id=merged.id or 0, into_id=target.id or 0
    )
    piece = ideas.accept_idea(world.session, actor=world.editor, idea_id=target.id or 0)
    piece = pieces.edit_piece(
        world.session,
        actor=world.editor,
        piece_id=piece.id or 0,
        expected_revision=piece.revision,
        data={
            "body": DRAFT,
            "campaign": "Frühjahr intern",
            "variants": {str(intranet.id): "VARIANTE (intern): nur für die Belegschaft"},
        },
    )
    _plan(world, piece, social, f"{YEAR}-06-10 09:00")
    out = _plan(world, piece, intranet, f"{YEAR}-06-11 09:00")
    out.status = PostStatus.published
    out.published_at = datetime(YEAR, 6, 11, 7, 1, tzinfo=UTC)
    out.external_url = "https://intranet.example/posts/7"
    world.session.add(out)
    world.session.commit()
    return piece, social, intranet


def test_a_contributors_calendar_shows_what_my_ideas_shows_and_no_piece_text(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_PUBLIC_URL", "https://planer.example.de/")
    _marketing_piece_with_an_hr_idea_merged(world)
    planned = "Status: " + translate("de", "status.planned")
    published = "Status: " + translate("de", "status.published")

    # Both the department whose idea it is and the one whose idea was merged into it see
    # the title, channel, time, status and the published post's link: nothing more.
    for contributor in (world.contributor, world.hr_contributor):
        made = calendar_feeds.create_feed(world.session, actor=contributor)
        for ics in (
            calendar_feeds.export_ics(world.session, actor=contributor, now=NEW_YEAR),
            calendar_feeds.fetch_feed(world.session, made.token, now=NEW_YEAR),
        ):
            assert ics is not None
            assert b"ENTWURF" not in ics and b"VARIANTE" not in ics
            assert "Frühjahr".encode() not in ics and b"planer.example.de" not in ics
            events = _events(ics)
            assert set(events) == {"Social: Preisrunde", "Intranet: Preisrunde"}
            assert events["Social: Preisrunde"]["description"] == planned
            assert events["Social: Preisrunde"]["url"] == ""
            assert events["Intranet: Preisrunde"]["description"] == (
                f"{published}\n\nhttps://intranet.example/posts/7"
            )
            assert events["Intranet: Preisrunde"]["url"] == "https://intranet.example/posts/7"
        items = calendar_feeds.calendar_items(world.session, actor=contributor, now=NEW_YEAR)
        assert {(i.text, i.campaign) for i in items} == {("", "")}

    # Editors, approvers and admins keep the text, the campaign and the dashboard link.
    for reader in (world.editor, world.approver, world.admin):
        events = _events(calendar_feeds.export_ics(world.session, actor=reader, now=NEW_YEAR))
        social_post = str(events["Social: Preisrunde"]["description"])
        assert DRAFT in social_post and "Kampagne: Frühjahr intern" in social_post
        assert "https://planer.example.de/?post=" in social_post
        assert "VARIANTE (intern)" in str(events["Intranet: Preisrunde"]["description"])


def test_a_contributor_filters_the_calendar_by_channel_and_status_only(world: World) -> None:
    _piece, social, _intranet = _marketing_piece_with_an_hr_idea_merged(world)
    marketing = users.get_department(world.session, "Marketing").id
    # A filter by what 'My ideas' does not show would tell it: which campaign, which
    # audience, which department's idea carried the piece.
    for hidden in (
        CalendarFilters(campaign="Frühjahr intern"),
        CalendarFilters(department_id=marketing),
    ):
        for contributor in (world.contributor, world.hr_contributor):
            with pytest.raises(ValidationFailed) as refused:
                calendar_feeds.create_feed(world.session, actor=contributor, filters=hidden)
            [problem] = refused.value.fields.values()
            assert getattr(problem, "code", None) == "calendar_filter_contributor"
            with pytest.raises(ValidationFailed, match="by channel and status only"):
                calendar_feeds.export_ics(world.session, actor=contributor, filters=hidden)
        # A feed made with such a filter before it was refused shows nothing now.
        made = calendar_feeds.create_feed(world.session, actor=world.hr_contributor)
        made.feed.filters = hidden.stored()
        world.session.add(made.feed)
        world.session.commit()
        ics = calendar_feeds.fetch_feed(world.session, made.token, now=NEW_YEAR)
        assert ics is not None and _events(ics) == {}
    assert calendar_feeds.list_feeds(world.session, actor=world.contributor) == []

    by_channel = CalendarFilters(channel_id=social.id, status=PostStatus.planned)
    mine = calendar_feeds.export_ics(
        world.session, actor=world.hr_contributor, filters=by_channel, now=NEW_YEAR
    )
    assert set(_events(mine)) == {"Social: Preisrunde"}
    ics = calendar_feeds.export_ics(
        world.session,
        actor=world.editor,
        filters=CalendarFilters(campaign="Frühjahr intern"),
        now=NEW_YEAR,
    )
    assert set(_events(ics)) == {"Social: Preisrunde", "Intranet: Preisrunde"}
