"""The Publishing page under AppTest: a post that needs a person gets exactly the moves the
workflow allows, and a refusal is said in the user's language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from planner import channels, org_settings, pieces, planning, tracked_links, users
from planner.db import make_engine
from planner.models import MetricSnapshot, Post, PostStatus, PublishAttempt
from planner.publishing import recovery
from planner.ui import keys
from planner.worker import Worker
from publishers.base import TransientError
from tests import recording
from tests.ui.conftest import PASSWORD, open_page, set_post_status, shown_when, sign_in

_BUTTON_KEYS = (keys.PUB_RETRY, keys.PUB_CANCEL, keys.PUB_MARK_POSTED)


def _post_in(database: str, status: PostStatus) -> int:
    """A post of the editor's piece, put where the scheduler leaves it to a person."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, ed = users.get_user(s, "admin"), users.get_user(s, "ed")
        channel = channels.create_channel(s, actor=admin, kind="recording", name="Social")
        piece = pieces.create_piece(
            s, actor=ed, data={"title": "Betriebsfest", "body": "Am Freitag feiern wir."}
        )
        post = planning.plan_post(
            s,
            actor=ed,
            piece_id=piece.id or 0,
            channel=channel.id or 0,
            when=datetime.now(UTC) + timedelta(days=2),
        )
        post.status = status
        s.add(post)
        s.commit()
    engine.dispose()
    return post.id or 0


def _stored(database: str, post_id: int) -> Post:
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        post = planning.get_post(s, actor=users.get_user(s, "admin"), post_id=post_id)
    engine.dispose()
    return post


def _buttons(at: AppTest) -> list[str]:
    shown = {b.key: b.label for b in at.button}
    return [shown[k] for k in _BUTTON_KEYS if k in shown]


def _asks_for_the_address(at: AppTest) -> bool:
    return any(t.key == keys.PUB_URL for t in at.text_input)


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        pytest.param(PostStatus.failed, ["Send again", "Cancel post"], id="failed"),
        pytest.param(PostStatus.missed, ["Send again", "Cancel post"], id="missed"),
        pytest.param(
            PostStatus.needs_check,
            ["Send again", "Cancel post", "Mark as published"],
            id="needs-check",
        ),
        pytest.param(
            PostStatus.awaiting_manual, ["Cancel post", "Mark as published"], id="by-hand"
        ),
    ],
)
def test_a_post_that_needs_a_person_gets_the_moves_the_workflow_allows(
    database: str, status: PostStatus, buttons: list[str]
) -> None:
    _post_in(database, status)

    at = open_page(sign_in("ed", PASSWORD), "publishing")

    assert not at.exception
    assert _buttons(at) == buttons
    assert _asks_for_the_address(at) is ("Mark as published" in buttons)


def test_a_post_published_by_hand_is_marked_with_its_address(database: str) -> None:
    post_id = _post_in(database, PostStatus.awaiting_manual)
    at = open_page(sign_in("ed", PASSWORD), "publishing")

    at.button(key=keys.PUB_MARK_POSTED).click().run()

    assert [e.value for e in at.error] == ["Link: give the address where the post was published"]
    assert _stored(database, post_id).status == PostStatus.awaiting_manual
    at.text_input(key=keys.PUB_URL).input("https://www.xing.com/news/1")
    at.button(key=keys.PUB_MARK_POSTED).click().run()
    assert not at.exception
    assert [s.value for s in at.success][-1] == "Done."
    stored = _stored(database, post_id)
    assert (stored.status, stored.external_url) == (
        PostStatus.published,
        "https://www.xing.com/news/1",
    )
    assert "All good: nothing is waiting for you." in [i.value for i in at.info]


@pytest.mark.parametrize(
    ("username", "message"),
    [
        pytest.param(
            "ed",
            "Cannot “Send again” while the post is “published”. Allowed: nothing.",
            id="en",
        ),
        pytest.param(
            "admin",
            "„Erneut senden“ geht nicht, solange der Post „veröffentlicht“ ist. Möglich: nichts.",
            id="de",
        ),
    ],
)
def test_a_retry_the_scheduler_overtook_is_refused_in_the_users_language(
    database: str, username: str, message: str
) -> None:
    post_id = _post_in(database, PostStatus.needs_check)
    at = open_page(sign_in(username, PASSWORD), "publishing")
    set_post_status(database, post_id, PostStatus.published)  # meanwhile, a lookup found it

    at.button(key=keys.PUB_RETRY).click().run()

    assert not at.exception
    assert [e.value for e in at.error] == [message]
    assert _stored(database, post_id).status == PostStatus.published
    assert _buttons(at) == []


@pytest.mark.parametrize(
    ("username", "lang", "text"),
    [
        pytest.param("ed", "en", "Social asked us to slow down (rate limit)", id="en"),
        pytest.param("admin", "de", "Social hat um eine Pause gebeten (Ratenlimit)", id="de"),
    ],
)
def test_a_channel_paused_by_a_rate_limit_is_shown_with_its_end(
    database: str, username: str, lang: str, text: str
) -> None:
    _post_in(database, PostStatus.planned)
    until = datetime.now(UTC) + timedelta(minutes=10)
    engine = make_engine(database)
    with Session(engine) as s:
        channel = channels.get_channel(s, "Social")
        channel.paused_until = until
        s.add(channel)
        s.commit()
    engine.dispose()

    at = open_page(sign_in(username, PASSWORD), "publishing")

    assert not at.exception
    (warning,) = [w.value for w in at.warning if text in w.value]
    assert shown_when(until, lang) in warning


@pytest.mark.parametrize(
    ("username", "heading", "clicks"),
    [("admin", "Verfolgte Links", "Klicks"), ("ed", "Tracked links", "Clicks")],
)
def test_tracked_links_are_listed_with_their_clicks(
    database: str, username: str, heading: str, clicks: str
) -> None:
    post_id = _post_in(database, PostStatus.published)
    at = open_page(sign_in(username, PASSWORD), "publishing")
    assert heading not in [s.value for s in at.main.subheader]  # no links yet: no section
    engine = make_engine(database)
    with Session(engine) as s:
        code = tracked_links.codes_for(s, post_id, ["https://example.com/messe"])
        s.commit()
        tracked_links.follow(s, code["https://example.com/messe"], count=True)
    engine.dispose()
    at.run()
    assert not at.exception
    assert heading in [s.value for s in at.main.subheader]
    table = at.main.dataframe[-1].value
    assert table[clicks].tolist() == [1]
    assert table.iloc[0].tolist()[:3] == [post_id, "https://example.com/messe", 1]


@pytest.mark.parametrize(
    ("username", "heading", "column"),
    [
        pytest.param("ed", "Latest figures of these posts", "Reactions", id="en"),
        pytest.param("admin", "Neueste Kennzahlen dieser Posts", "Reaktionen", id="de"),
    ],
)
def test_the_latest_figures_of_posts_in_the_ledger_are_shown(
    database: str, username: str, heading: str, column: str
) -> None:
    post_id = _post_in(database, PostStatus.published)
    engine = make_engine(database)
    with Session(engine) as s:
        s.add(PublishAttempt(post_id=post_id, worker="w1", outcome="published", http_status=200))
        s.add(MetricSnapshot(post_id=post_id, reactions=2, replies=1, raw={}))
        s.add(MetricSnapshot(post_id=post_id, reactions=17, replies=3, raw={}))
        s.commit()
    engine.dispose()

    at = open_page(sign_in(username, PASSWORD), "publishing")

    assert not at.exception
    assert heading in [h.value for h in at.subheader]
    (figures,) = [d.value for d in at.dataframe if column in d.value.columns]
    assert figures[column].tolist() == [17]  # the newest snapshot only


def _frozen(database: str, value: str | None = None) -> bool:
    """Whether publishing is frozen; with `value`, set it first (as another admin would)."""
    engine = make_engine(database)
    with Session(engine) as s:
        if value is not None:
            org_settings.set_setting(
                s, actor=users.get_user(s, "admin"), key="publishing_frozen", value=value
            )
        frozen = org_settings.is_frozen(s)
    engine.dispose()
    return frozen


def test_the_freeze_switch_follows_a_freeze_made_elsewhere_and_never_lifts_it(
    database: str,
) -> None:
    at = open_page(sign_in("admin", PASSWORD), "publishing")
    assert at.toggle(key=keys.PUB_FREEZE).value is False
    _frozen(database, "on")  # the Settings page, another admin or `planner freeze on`
    at.run()
    # Before, the switch kept its "off" and the next run wrote it back: publishing ran.
    assert _frozen(database) is True
    assert at.toggle(key=keys.PUB_FREEZE).value is True
    _frozen(database, "off")
    at.run()
    assert at.toggle(key=keys.PUB_FREEZE).value is False
    # Flipping the switch itself still freezes and thaws.
    at.toggle(key=keys.PUB_FREEZE).set_value(True).run()
    assert _frozen(database) is True
    assert at.toggle(key=keys.PUB_FREEZE).value is True
    at.toggle(key=keys.PUB_FREEZE).set_value(False).run()
    assert _frozen(database) is False


def test_the_engines_own_explanations_are_said_in_german(database: str) -> None:
    missed_id = _post_in(database, PostStatus.planned)
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin, ed = users.get_user(s, "admin"), users.get_user(s, "ed")
        channel = channels.create_channel(s, actor=admin, kind="recording", name="Blog")
        piece = pieces.create_piece(s, actor=ed, data={"title": "Messe", "body": "Wir sind da."})
        pieces.submit_piece(s, actor=ed, piece_id=piece.id or 0)
        pieces.approve_piece(s, actor=admin, piece_id=piece.id or 0, revision=1)
        sent = planning.plan_post(
            s,
            actor=ed,
            piece_id=piece.id or 0,
            channel=channel.id or 0,
            when=datetime.now(UTC) + timedelta(days=1),
        )
        sent.publish_at = datetime.now(UTC) - timedelta(minutes=1)
        missed = s.get(Post, missed_id)
        assert missed is not None
        missed.publish_at = datetime.now(UTC) - timedelta(hours=5)
        s.add_all([sent, missed])
        s.commit()
        recovery.mark_missed(s, now=datetime.now(UTC), lateness=timedelta(hours=1))
    recording.RecordingPublisher.script.append(TransientError("Zeitüberschreitung", ambiguous=True))
    worker = Worker(engine, worker_id="w1")
    worker.sweep()
    worker.close()
    engine.dispose()
    at = open_page(sign_in("admin", PASSWORD), "publishing")

    assert not at.exception
    reasons = list(at.dataframe[0].value["Grund"])
    ambiguous = (
        "Zeitüberschreitung; der Post ist vielleicht doch hinausgegangen. Dieser Kanal "
        "verwirft Wiederholungen nicht sicher, deshalb wird er nicht noch einmal gesendet: "
        "Bitte prüfen Sie, ob er veröffentlicht wurde."
    )
    assert reasons == [
        "Nicht innerhalb von 1 Stunde nach dem geplanten Zeitpunkt veröffentlicht.",
        ambiguous,
    ]
    assert list(at.dataframe[-1].value["Meldung"]) == [ambiguous]
