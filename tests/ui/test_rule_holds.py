"""Calendar and Publishing under AppTest: a post a publishing rule will hold is shown held,
with the rule's message and the next allowed time, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from planner import rules, users
from planner.db import make_engine
from planner.models import Post
from planner.ui import keys
from tests.ui.conftest import PASSWORD, open_page, sign_in
from tests.ui.test_calendar import _approve, _calendars, _in_days, _list_view, _plan, _setup


def _rule(database: str, kind: str, settings: dict[str, object]) -> None:
    """A blocking rule "Mittagsruhe" of `kind` on the channel Social."""
    engine = make_engine(database)
    with Session(engine) as s:
        rules.add_rule(
            s,
            actor=users.get_user(s, "admin"),
            data={
                "name": "Mittagsruhe",
                "kind": kind,
                "severity": "block",
                "scope": {"channels": ["Social"]},
                "settings": settings,
                "message": {"de": "Mittags nichts senden", "en": "Nothing at lunch"},
            },
        )
    engine.dispose()


@pytest.mark.parametrize(
    ("username", "columns", "goes_out", "held", "card", "slot"),
    [
        pytest.param(
            "ed",
            ("Channel", "When due"),
            "✓ will be published",
            "⏸ held: a publishing rule: ",
            "held: a publishing rule: ",
            "next allowed: {:%Y-%m-%d} 13:00",
            id="en",
        ),
        pytest.param(
            "admin",
            ("Kanal", "Wenn fällig"),
            "✓ wird veröffentlicht",
            "⏸ wird zurückgehalten: eine Veröffentlichungsregel: ",
            "zurückgehalten: eine Veröffentlichungsregel: ",
            "frühestens erlaubt: {:%d.%m.%Y} 13:00 Uhr",
            id="de",
        ),
    ],
)
def test_the_calendar_shows_a_post_in_quiet_hours_held_until_the_next_allowed_time(
    database: str,
    username: str,
    columns: tuple[str, str],
    goes_out: str,
    held: str,
    card: str,
    slot: str,
) -> None:
    ids = _setup(database)
    _approve(database, ids["other_piece"])
    when = _in_days(3, hour=12)
    social = _plan(database, ids["other_piece"], ids["social"], when)
    intranet = _plan(database, ids["other_piece"], ids["intranet"], when)
    _rule(database, "quiet_hours", {"from": "11:30", "until": "13:00"})

    at = open_page(sign_in(username, PASSWORD), "calendar")
    at.date_input(key=keys.CAL_DATE).set_value(when.date()).run()
    assert not at.exception
    cards = {c["id"]: c["title"] for c in _calendars(at)[keys.CAL_GRID]["events"] if "title" in c}
    assert cards[str(social)].split(" · ")[-1].startswith(card)
    assert slot.format(when) in cards[str(social)]
    assert not cards[str(intranet)].split(" · ")[-1].startswith(card)

    at = _list_view(at)
    table = at.dataframe[0].value
    channel, outlook = columns
    said = dict(zip(table[channel], table[outlook], strict=True))
    assert said["Intranet"] == goes_out
    assert said["Social"].startswith(held)
    assert "Mittagsruhe" in said["Social"] and slot.format(when) in said["Social"]
    message = "Nothing at lunch" if username == "ed" else "Mittags nichts senden"
    assert message in said["Social"]


@pytest.mark.parametrize(
    ("username", "reason"),
    [("ed", "a publishing rule: "), ("admin", "eine Veröffentlichungsregel: ")],
)
def test_the_publishing_page_lists_a_due_post_a_rule_holds(
    database: str, username: str, reason: str
) -> None:
    ids = _setup(database)
    _approve(database, ids["other_piece"])
    post_id = _plan(database, ids["other_piece"], ids["social"], _in_days(3))
    engine = make_engine(database)
    with Session(engine) as s:
        post = s.get(Post, post_id)
        assert post is not None
        post.publish_at = datetime.now(UTC) - timedelta(minutes=5)
        s.add(post)
        s.commit()
    engine.dispose()
    _rule(database, "forbidden_terms", {"terms": ["Messe"]})

    at = open_page(sign_in(username, PASSWORD), "publishing")
    assert not at.exception
    rows = at.dataframe[0].value.to_dict("records")
    (row,) = [r for r in rows if post_id in r.values()]
    shown = " ".join(str(v) for v in row.values())
    assert reason in shown and "Mittagsruhe" in shown
