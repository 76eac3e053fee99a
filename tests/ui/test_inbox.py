"""The Inbox page under AppTest: triage through the widgets changes the database."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, func, select

from planner import ideas, users
from planner.db import make_engine
from planner.models import Idea, IdeaStatus, Piece
from planner.ui import keys
from planner.ui.i18n import translate
from tests.ui.conftest import (
    PASSWORD,
    add_user,
    charts_shown,
    open_page,
    opened,
    sign_in,
)


def add_ideas(database: str, *titles: str, **extra: Any) -> list[int]:
    """Submit more ideas as the HR contributor; their ids."""
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        lena = users.get_user(s, "lena")
        ids = []
        for title in titles:
            data = {"title": title, "pitch": f"{title}: worum es geht, kurz.", "department": "HR"}
            ids.append(ideas.submit_idea(s, actor=lena, data={**data, **extra}).idea.id or 0)
    engine.dispose()
    return ids


def stored(database: str, idea_id: int) -> Idea:
    """The idea as the database has it now."""
    with Session(make_engine(database)) as s:
        idea = s.get(Idea, idea_id)
        assert idea is not None
        return idea


def piece_count(database: str) -> int:
    """How many pieces exist."""
    with Session(make_engine(database)) as s:
        return s.exec(select(func.count()).select_from(Piece)).one()


@pytest.mark.parametrize("username", ["ed", "admin"])
def test_inbox_opens_for_editors_and_admins(database: str, username: str) -> None:
    at = open_page(sign_in(username, PASSWORD), "inbox")
    assert not at.exception
    assert at.title[0].value in ("Inbox: new ideas", "Eingang: neue Ideen")
    assert list(at.dataframe[0].value.iloc[:, 1]) == ["Azubi-Tag <b>2027</b>"]
    assert charts_shown(at)  # ideas per department


@pytest.mark.parametrize(("username", "role"), [("lena", None), ("anna", "approver")])
def test_inbox_is_not_routable_for_contributors_and_approvers(
    database: str, username: str, role: str | None
) -> None:
    if role:
        add_user(database, username, role)
    at = sign_in(username, PASSWORD)
    with pytest.raises(ValueError, match="inbox"):
        open_page(at, "inbox")


def test_accepting_an_idea_creates_a_piece(database: str) -> None:
    at = open_page(sign_in("ed", PASSWORD), "inbox")
    at.button(key=keys.INBOX_ACCEPT).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Idea #1 accepted: it became piece #1."]
    assert stored(database, 1).status == IdeaStatus.accepted
    assert piece_count(database) == 1
    assert at.info[0].value == "No new ideas (with these filters)."


def test_rejecting_needs_a_reason_shown_at_the_button_in_german(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "inbox")
    assert at.title[0].value == "Eingang: neue Ideen"
    at.button(key=keys.INBOX_REJECT).click().run()
    assert [e.value for e in at.main.error] == ["Bitte geben Sie eine Begründung an."]
    assert stored(database, 1).status == IdeaStatus.submitted

    at.text_area(key=keys.INBOX_REASON).input("Gab es schon 2026")
    at.button(key=keys.INBOX_REJECT).click().run()
    assert not at.main.error
    assert [s.value for s in at.success] == ["Idee #1 abgelehnt."]
    idea = stored(database, 1)
    assert (idea.status, idea.rejection_reason) == (IdeaStatus.rejected, "Gab es schon 2026")


def test_a_rejected_idea_is_taken_back_into_the_inbox(database: str) -> None:
    at = open_page(sign_in("admin", PASSWORD), "inbox")
    at.text_area(key=keys.INBOX_REASON).input("Gab es schon 2026")
    at.button(key=keys.INBOX_REJECT).click().run()
    at = opened(at, keys.INBOX_REJECTED_OPEN)
    assert not at.exception
    [table] = [d.value for d in at.main.dataframe if "Grund der Ablehnung" in d.value.columns]
    assert table.to_dict("records") == [
        {"Nr.": 1, "Titel": stored(database, 1).title, "Grund der Ablehnung": "Gab es schon 2026"}
    ]
    at.selectbox(key=keys.INBOX_REJECTED_PICK).set_value(1)
    at.button(key=keys.INBOX_REOPEN).click().run()
    assert [s.value for s in at.success] == ["Idee #1 ist wieder im Eingang."]
    idea = stored(database, 1)
    assert (idea.status, idea.rejection_reason) == (IdeaStatus.submitted, None)
    assert "Keine abgelehnten Ideen." in [i.value for i in at.main.info]


def test_merging_an_idea_into_another(database: str) -> None:
    [second] = add_ideas(database, "Azubi-Tag 2027 im Werk")
    at = open_page(sign_in("ed", PASSWORD), "inbox")
    at.selectbox(key=keys.INBOX_PICK).select(second).run()
    assert any("Azubi-Tag <b>2027</b>" in t.value for t in at.text)  # the likely duplicate
    at.button(key=keys.INBOX_MERGE).click().run()
    assert [e.value for e in at.main.error] == ["Please give the number of the idea to merge into."]
    at.number_input(key=keys.INBOX_MERGE_INTO).set_value(second)
    at.button(key=keys.INBOX_MERGE).click().run()
    assert [e.value for e in at.main.error] == [
        "Cannot merge into that idea (it is the same one, rejected, or merged itself)."
    ]
    at.number_input(key=keys.INBOX_MERGE_INTO).set_value(1)
    at.button(key=keys.INBOX_MERGE).click().run()
    assert [s.value for s in at.success] == [f"Idea #{second} merged into idea #1."]
    idea = stored(database, second)
    assert (idea.status, idea.merged_into_id) == (IdeaStatus.merged, 1)


def test_bulk_reject_without_reason_then_bulk_accept(database: str) -> None:
    two, three = add_ideas(database, "Sommerfest", "Gesundheitstag")
    at = open_page(sign_in("ed", PASSWORD), "inbox")
    at.multiselect(key=keys.INBOX_BULK_PICK).set_value([1, two]).run()
    at.button(key=keys.INBOX_BULK_REJECT).click().run()
    assert not at.exception
    assert [e.value for e in at.main.error] == [f"#1, #{two}: Please give a reason."]
    assert at.multiselect(key=keys.INBOX_BULK_PICK).value == [1, two]  # selection kept

    at.button(key=keys.INBOX_BULK_ACCEPT).click().run()
    assert [s.value for s in at.success] == ["Ideas done: 2."]
    assert [stored(database, i).status for i in (1, two, three)] == [
        IdeaStatus.accepted,
        IdeaStatus.accepted,
        IdeaStatus.submitted,
    ]
    assert piece_count(database) == 2
    assert at.multiselect(key=keys.INBOX_BULK_PICK).value == []

    at.multiselect(key=keys.INBOX_BULK_PICK).set_value([three]).run()
    at.text_area(key=keys.INBOX_BULK_REASON).input("Nicht in diesem Jahr")
    at.button(key=keys.INBOX_BULK_REJECT).click().run()
    assert stored(database, three).rejection_reason == "Nicht in diesem Jahr"


def test_filters_and_pages(database: str) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        users.create_department(s, actor=users.get_user(s, "admin"), name="Vertrieb")
    engine.dispose()
    add_ideas(database, *(f"Idee Nummer {n}" for n in range(30)), urgency="high", tags="messe")
    at = open_page(sign_in("ed", PASSWORD), "inbox")
    assert len(at.dataframe[0].value) == 25
    at.number_input(key=keys.INBOX_PAGE).set_value(2).run()
    assert len(at.dataframe[0].value) == 6
    at.selectbox(key=keys.INBOX_URGENCY).select_index(2).run()
    assert list(at.dataframe[0].value["Title"]) == ["Azubi-Tag <b>2027</b>"]
    at.selectbox(key=keys.INBOX_URGENCY).select_index(0).run()
    at.text_input(key=keys.INBOX_TAG).input("Messe").run()
    assert any(t.value == "30 new ideas" for t in at.main.text)
    at.selectbox(key=keys.INBOX_DEPARTMENT).select("Vertrieb").run()
    assert at.info[0].value == "No new ideas (with these filters)."


DEPARTMENTS = [
    "Ausbildung",
    "Geschäftsführung",
    "HR",
    "IT",
    "Kommunikation",
    "Presse und Unternehmenskommunikation",
    "Vertrieb",
]


@pytest.mark.parametrize(("username", "lang"), [("admin", "de"), ("ed", "en")])
def test_inbox_chart_names_every_department_with_its_numbers_as_text(
    database: str, username: str, lang: str
) -> None:
    engine = make_engine(database)
    with Session(engine) as s:
        admin = users.get_user(s, "admin")
        for i, name in enumerate(DEPARTMENTS):
            if name != "HR":
                users.create_department(s, actor=admin, name=name)
            author = users.create_user(
                s,
                actor=admin,
                data={
                    "username": f"autor{i}",
                    "display_name": f"Autor {i}",
                    "role": "contributor",
                    "password": PASSWORD,
                    "department": name,
                },
            )
            data = {
                "title": f"Idee aus {name}",
                "pitch": "Worum es geht, kurz.",
                "department": name,
            }
            ideas.submit_idea(s, actor=author, data=data)
    engine.dispose()
    at = open_page(sign_in(username, PASSWORD), "inbox")
    [chart] = charts_shown(at)
    assert chart.caption == translate(lang, "inbox.chart_title")
    assert chart.rows == [
        [translate(lang, "col.department"), translate(lang, "inbox.chart_ideas")],
        *([name, "2" if name == "HR" else "1"] for name in DEPARTMENTS),
    ]


@pytest.mark.parametrize(("username", "said"), [("admin", "1 neue Idee"), ("ed", "1 new idea")])
def test_a_single_new_idea_is_counted_in_the_singular(
    database: str, username: str, said: str
) -> None:
    at = open_page(sign_in(username, PASSWORD), "inbox")
    assert not at.exception
    assert said in [t.value for t in at.main.text]
