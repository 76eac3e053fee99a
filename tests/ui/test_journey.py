"""The dashboard as a whole under AppTest: every page for every role, and the editorial path.

- Every (role, page): a page in the role's navigation opens without an exception in German
  and in English with its translated title and its real content (a database with ideas,
  pieces in several states, a channel and posts); every other page is not routable.
- The path through the widgets, each step by its own signed-in user: contributor submits
  an idea, editor accepts it, edits the text, plans a post and submits for review, approver
  approves, and the post is on the calendar as ready to go out; the database is checked
  after each step.
- "My ideas" shows the state, the rejection reason, the piece and its posts per channel.
- User-written text is shown literally, never as HTML or markdown.

Bad input at its field is proven next to each page, not repeated here:
a malformed date on the calendar (test_calendar.py::test_a_bad_date_shows_the_domains_...,
test_moving_and_cancelling_a_post), a too-long variant on the editor (test_editor.py::
test_variant_counts_as_its_channel_and_a_too_long_one_shows_the_finding), a too-short
title (test_editor.py), an edit conflict (test_editor.py), reject without a reason
(test_inbox.py::test_rejecting_needs_a_reason_shown_at_the_button_in_german), an illegal
move (test_board.py::test_a_move_made_stale_by_someone_else_says_what_is_allowed), the
four-eyes rule (test_approvals.py), submit-idea field errors (test_app.py), a wrong
password (test_app.py::test_wrong_password_shows_the_message_and_stays_signed_out) and a
disabled account (test_users.py). A locked account is proven here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from planner import channels, ideas, pieces, planning, users
from planner.db import make_engine
from planner.models import Idea, IdeaStatus, Piece, PieceStatus, Post, PostStatus, Role
from planner.timezones import zone
from planner.ui import keys
from planner.ui.app import PAGES_BY_ROLE
from planner.ui.i18n import translate
from planner.ui.plain import md
from tests.ui import marked
from tests.ui.conftest import PASSWORD, account, open_page, shown_when, sign_in

BERLIN = zone("Europe/Berlin")
ALL_PAGES = sorted({page for pages in PAGES_BY_ROLE.values() for page in pages})
USER_OF = {Role.contributor: "lena", Role.editor: "ed", Role.approver: "ada", Role.admin: "admin"}
HEADING = {page: f"{page}.heading" for page in ALL_PAGES} | {
    "publishing": "pub.heading",
    "submit_idea": "submit.heading",
}
# What a page says when it has nothing to show: never, on the database built below.
EMPTY = [
    "my_ideas.empty",
    "inbox.empty",
    "approvals.empty",
    "calendar.nothing",
    "editor.none",
    "channels.empty",
    "departments.empty",
    "activity.empty",
    "pub.nothing",
]
TRICKY = "<b>x</b> **y** [z](http://example.org) $e$"


def _in_days(days: int, hour: int = 10) -> datetime:
    local_day = datetime.now(BERLIN).date() + timedelta(days=days)
    return datetime(local_day.year, local_day.month, local_day.day, hour, 0, tzinfo=BERLIN)


def _world(database: str) -> dict[str, int]:
    """On top of the fixture: an approver, a channel, ideas and pieces in several states, posts.

    Returns ids by name.
    """
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        ed = users.get_user(s, "ed")
        lena = users.get_user(s, "lena")
        ada = account(s, actor=admin, username="ada", role="approver", display_name="Ada Approver")
        for author in (ed, ada, admin):  # everyone's "My ideas" has something to show
            ideas.submit_idea(
                s,
                actor=author,
                data={
                    "title": f"Vorschlag von {author.display_name}",
                    "pitch": f"{author.display_name} schlägt etwas Neues vor",
                    "department": "HR",
                },
            )
        social = channels.create_channel(s, actor=admin, kind="recording", name="Social")
        assert social.id is not None
        rejected = ideas.submit_idea(
            s,
            actor=lena,
            data={
                "title": "Kantinenumfrage",
                "pitch": "Was essen wir am liebsten?",
                "department": "HR",
            },
        ).idea
        assert rejected.id is not None
        ideas.reject_idea(s, actor=ed, idea_id=rejected.id, reason="Macht die Kantine selbst")
        accepted = ideas.submit_idea(
            s,
            actor=lena,
            data={
                "title": "Werkstour für Schulen",
                "pitch": "Schulklassen besuchen das Werk",
                "department": "HR",
            },
        ).idea
        assert accepted.id is not None
        draft = ideas.accept_idea(s, actor=ed, idea_id=accepted.id)
        review = pieces.create_piece(s, actor=ed, data={"title": "Neue Kantine", "body": "Ab Mai"})
        approved = pieces.create_piece(s, actor=ed, data={"title": "Jubiläum", "body": "50 Jahre"})
        for piece in (review, approved):
            assert piece.id is not None
            pieces.submit_piece(s, actor=ed, piece_id=piece.id)
        assert approved.id is not None and draft.id is not None and review.id is not None
        pieces.approve_piece(s, actor=admin, piece_id=approved.id, revision=1)
        planned = planning.plan_post(
            s, actor=ed, piece_id=approved.id, channel=social.id, when=_in_days(2)
        )
        failed = planning.plan_post(
            s, actor=ed, piece_id=draft.id, channel=social.id, when=_in_days(3)
        )
        failed.status = PostStatus.failed
        failed.last_error = "the receiver said no"
        published = planning.plan_post(
            s, actor=ed, piece_id=draft.id, channel=social.id, when=_in_days(4)
        )
        published.status = PostStatus.published
        published.published_at = _in_days(4, hour=11).astimezone(UTC)
        published.external_url = "https://example.org/post/1"
        s.add_all([failed, published])
        s.commit()
        ids = {
            "social": social.id,
            "rejected_idea": rejected.id,
            "accepted_idea": accepted.id,
            "draft": draft.id,
            "review": review.id,
            "approved": approved.id,
            "planned_post": planned.id or 0,
            "published_post": published.id or 0,
        }
    engine.dispose()
    return ids


# --- every page for every role --------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "page"),
    [pytest.param(role, page, id=f"{role}-{page}") for role in Role for page in ALL_PAGES],
)
def test_every_page_opens_for_its_roles_in_both_languages_and_is_absent_for_the_others(
    database: str, role: Role, page: str
) -> None:
    _world(database)
    at = sign_in(USER_OF[role], PASSWORD)
    assert not at.exception
    if page not in PAGES_BY_ROLE[role]:
        with pytest.raises(ValueError, match=page):
            open_page(at, page)
        return
    at.session_state[keys.LANGUAGE] = "de"
    open_page(at, page)
    for lang in ("de", "en"):
        if lang == "en":
            at.selectbox(key=keys.LANGUAGE).select("en").run()
        assert not at.exception, at.exception
        assert at.title[0].value == translate(lang, HEADING[page])
        said = {e.value for e in [*at.main.info, *at.main.caption]}
        assert not said & {translate(lang, key) for key in EMPTY}


def test_each_roles_first_page_is_its_default_after_sign_in(database: str) -> None:
    _world(database)
    for role, username in USER_OF.items():
        at = sign_in(username, PASSWORD)
        first = PAGES_BY_ROLE[role][0]
        assert at.title[0].value == translate(str(at.session_state[keys.LANGUAGE]), HEADING[first])


# --- the editorial path through the widgets -------------------------------------------------


def _db(database: str) -> Session:
    return Session(make_engine(database), expire_on_commit=False)


def test_the_path_from_idea_to_a_ready_post_through_the_widgets(database: str) -> None:
    ids = _world(database)

    # 1. The contributor submits an idea (in German, her language).
    at = sign_in("lena", PASSWORD)
    assert at.title[0].value == "Idee einreichen"
    at.text_input(key=keys.SUBMIT_TITLE).input("Sommerfest im Werkshof")
    at.text_area(key=keys.SUBMIT_PITCH).input("Alle Abteilungen feiern im Juli gemeinsam")
    at.selectbox(key=keys.SUBMIT_URGENCY).select("high")
    at.button(key=keys.SUBMIT_BUTTON).click().run()
    assert not at.exception
    with _db(database) as s:
        idea = s.exec(select(Idea).where(Idea.title == "Sommerfest im Werkshof")).one()
        lena = users.get_user(s, "lena")
        assert (idea.status, idea.submitted_by_id, idea.urgency) == (
            IdeaStatus.submitted,
            lena.id,
            "high",
        )
    assert [x.value for x in at.success] == [f"Danke! Ihre Idee #{idea.id} ist eingereicht."]

    # 2. The editor accepts it in the inbox (in English, his language).
    at = open_page(sign_in("ed", PASSWORD), "inbox")
    at.selectbox(key=keys.INBOX_PICK).set_value(idea.id).run()
    assert "Sommerfest im Werkshof" in [x.value for x in at.main.text]
    at.button(key=keys.INBOX_ACCEPT).click().run()
    assert not at.exception
    with _db(database) as s:
        assert ideas.get_idea(s, actor=lena, idea_id=idea.id or 0).status == IdeaStatus.accepted
        piece = s.exec(select(Piece).where(Piece.idea_id == idea.id)).one()
    assert piece.id is not None
    assert [x.value for x in at.success] == [
        f"Idea #{idea.id} accepted: it became piece #{piece.id}."
    ]
    assert (piece.status, piece.revision) == (PieceStatus.draft, 1)

    # 3. The editor writes the text and a variant for the channel, and saves.
    at = open_page(sign_in("ed", PASSWORD), "editor")
    at.selectbox(key=keys.EDITOR_PIECE).set_value(piece.id).run()
    at.text_area(key=keys.EDITOR_BODY).input("Am 12. Juli feiern wir im Werkshof. Alle sind da.")
    at.multiselect(key=keys.EDITOR_EXTRA_CHANNELS).select(ids["social"]).run()
    at.text_area(key=f"{keys.EDITOR_VARIANT}{ids['social']}").input("12. Juli: Sommerfest!")
    at.text_input(key=keys.EDITOR_NOTE).input("Text geschrieben")
    at.button(key=keys.EDITOR_SAVE).click().run()
    assert not at.exception
    assert [x.value for x in at.success] == ["Saved as revision 2."]
    with _db(database) as s:
        saved = s.get(Piece, piece.id)
        assert saved is not None
        assert saved.revision == 2
        assert saved.body == "Am 12. Juli feiern wir im Werkshof. Alle sind da."
        assert saved.variants == {str(ids["social"]): "12. Juli: Sommerfest!"}

    # 4. The editor plans it on the channel in the calendar.
    when = _in_days(5, hour=9)
    at = open_page(sign_in("ed", PASSWORD), "calendar")
    at.selectbox(key=keys.CAL_PLAN_PIECE).set_value(piece.id)
    at.selectbox(key=keys.CAL_PLAN_CHANNEL).set_value(ids["social"])
    at.text_input(key=keys.CAL_PLAN_WHEN).input(f"{when:%Y-%m-%d} 09:30")
    at.button(key=keys.CAL_PLAN_BUTTON).click().run()
    assert not at.exception
    with _db(database) as s:
        post = s.exec(select(Post).where(Post.piece_id == piece.id)).one()
    assert (post.status, post.channel_id) == (PostStatus.planned, ids["social"])
    assert post.publish_at == when.replace(minute=30).astimezone(UTC)
    assert [x.value for x in at.success] == [
        f"Post #{post.id} is planned for {shown_when(post.publish_at, 'en')}."
    ]
    at.radio(key=keys.CAL_VIEW).set_value("list").run()
    row = _calendar_row(at, post.id or 0)
    assert (row["Status"], row["When due"]) == ("planned", "⏸ held: the piece is not approved")

    # 5. The editor submits it for review on the board.
    at = open_page(sign_in("ed", PASSWORD), "board")
    at.button(key=f"{keys.BOARD_MOVE}{piece.id}_submit").click().run()
    assert not at.exception
    assert [x.value for x in at.success] == [f"Piece #{piece.id} is now “in review”."]
    with _db(database) as s:
        assert s.get(Piece, piece.id).status == PieceStatus.in_review  # type: ignore[union-attr]

    # 6. The approver approves it (in German), having seen the text in the diff.
    at = open_page(sign_in("ada", PASSWORD), "approvals")
    at.selectbox(key=keys.APPROVALS_PICK).set_value(piece.id).run()
    assert "Am 12. Juli feiern wir im Werkshof. Alle sind da." in marked.read(at).added
    at.button(key=keys.APPROVALS_APPROVE).click().run()
    assert not at.exception
    with _db(database) as s:
        done = s.get(Piece, piece.id)
        assert done is not None
        assert (done.status, done.approved_revision) == (PieceStatus.approved, 2)
        assert done.approved_by_id == users.get_user(s, "ada").id
        assert pieces.is_approved_as_is(done)

    # 7. The post is on the calendar as going out, for the editor and (read-only) the approver.
    at = open_page(sign_in("ed", PASSWORD), "calendar")
    at.radio(key=keys.CAL_VIEW).set_value("list").run()
    row = _calendar_row(at, post.id or 0)
    assert (row["Status"], row["When due"]) == ("planned", "✓ will be published")
    assert row["Piece"] == "Sommerfest im Werkshof"
    at = open_page(sign_in("ada", PASSWORD), "calendar")
    at.radio(key=keys.CAL_VIEW).set_value("list").run()
    assert not at.exception
    row = _calendar_row(at, post.id or 0)
    assert list(row) == [
        "Post",  # not "Beitrag" twice, which lost the post's number
        "Zeitpunkt",
        "Kanal",
        "Beitrag",
        "Status",
        "Wenn fällig",
        "Gedrängt",
    ]
    assert (row["Status"], row["Wenn fällig"]) == ("geplant", "✓ wird veröffentlicht")
    with _db(database) as s:
        due = planning.due_posts(s, now=post.publish_at + timedelta(minutes=1))
        assert post.id in {p.id for p in due}

    # ... and the contributor sees what became of her idea.
    at = open_page(sign_in("lena", PASSWORD), "my_ideas")
    at.selectbox(key=keys.MY_IDEA_PICK).set_value(idea.id).run()
    texts = [x.value for x in at.main.text]
    assert f"Daraus wurde der Beitrag #{piece.id} (freigegeben):" in texts
    posts = at.main.dataframe[-1].value
    assert list(posts["Kanal"]) == ["Social"]
    assert list(posts["Zeitpunkt"]) == [shown_when(post.publish_at, "de")]


def _calendar_row(at: AppTest, post_id: int) -> dict[str, Any]:
    table = at.main.dataframe[0].value
    post_column = table.columns[0]
    rows = table[table[post_column] == post_id].to_dict("records")
    assert len(rows) == 1, table
    return dict(rows[0])


# --- My ideas --------------------------------------------------------------------------------


def test_my_ideas_shows_state_reason_piece_and_planned_and_actual_posts(database: str) -> None:
    ids = _world(database)
    at = open_page(sign_in("lena", PASSWORD), "my_ideas")
    assert not at.exception
    table = at.main.dataframe[0].value
    states = dict(zip(table["Titel"], table["Status"], strict=True))
    assert states == {
        "Azubi-Tag <b>2027</b>": "eingereicht",
        "Kantinenumfrage": "abgelehnt",
        "Werkstour für Schulen": "angenommen",
    }
    at.selectbox(key=keys.MY_IDEA_PICK).set_value(ids["rejected_idea"]).run()
    texts = [x.value for x in at.main.text]
    assert "Abgelehnt mit der Begründung:" in texts
    assert "Macht die Kantine selbst" in texts
    at.selectbox(key=keys.MY_IDEA_PICK).set_value(ids["accepted_idea"]).run()
    at.selectbox(key=keys.LANGUAGE).select("en").run()
    assert not at.exception
    texts = [x.value for x in at.main.text]
    assert f"It became piece #{ids['draft']} (draft):" in texts
    assert "Werkstour für Schulen" in texts  # the piece's own title
    posts = at.main.dataframe[-1].value
    assert list(posts["Channel"]) == ["Social", "Social"]
    assert list(posts["Status"]) == ["failed", "published"]
    with _db(database) as s:
        published = s.get(Post, ids["published_post"])
        assert published is not None and published.published_at is not None
        planned_at = shown_when(published.publish_at, "en")
        actual_at = shown_when(published.published_at, "en")
    assert list(posts["When"])[1] == planned_at
    assert list(posts["Published"]) == ["", actual_at]
    assert list(posts["Link"]) == ["", "https://example.org/post/1"]


def test_my_ideas_shows_the_rejection_of_the_idea_it_was_merged_into(database: str) -> None:
    with _db(database) as s:
        ed, lena = users.get_user(s, "ed"), users.get_user(s, "lena")
        data = {"pitch": "Ein Fest für alle Abteilungen", "department": "HR"}
        target = ideas.submit_idea(s, actor=ed, data={"title": "Sommerfest", **data}).idea
        mine = ideas.submit_idea(s, actor=lena, data={"title": "Betriebsfest", **data}).idea
        assert target.id is not None and mine.id is not None
        ideas.merge_idea(s, actor=ed, idea_id=mine.id, into_id=target.id)
        ideas.reject_idea(s, actor=ed, idea_id=target.id, reason="Kein Budget in diesem Jahr")

    at = open_page(sign_in("lena", PASSWORD), "my_ideas")
    at.selectbox(key=keys.MY_IDEA_PICK).set_value(mine.id).run()

    assert not at.exception
    texts = [x.value for x in at.main.text]
    assert texts[-4:] == [
        f"Zusammengeführt mit Idee #{target.id}",
        f"Weitergeführt als Idee #{target.id}, Status: abgelehnt",
        "Abgelehnt mit der Begründung:",
        "Kein Budget in diesem Jahr",
    ]


# --- user-written text is shown literally ----------------------------------------------------


def _tricky_world(database: str) -> dict[str, int]:
    """Markup in every kind of user text: idea, piece, variant, comment, reason, channel."""
    ids = _world(database)
    engine = make_engine(database)
    with Session(engine, expire_on_commit=False) as s:
        admin = users.get_user(s, "admin")
        ed = users.get_user(s, "ed")
        lena = users.get_user(s, "lena")
        channel = channels.create_channel(s, actor=admin, kind="recording", name=f"K {TRICKY}")
        assert channel.id is not None
        idea = ideas.submit_idea(
            s,
            actor=lena,
            data={"title": f"Idee {TRICKY}", "pitch": f"Pitch {TRICKY}", "department": "HR"},
        ).idea
        assert idea.id is not None
        piece = ideas.accept_idea(s, actor=ed, idea_id=idea.id)
        assert piece.id is not None
        pieces.edit_piece(
            s,
            actor=ed,
            piece_id=piece.id,
            expected_revision=1,
            data={
                "title": f"Titel {TRICKY}",
                "body": f"Text {TRICKY}",
                "variants": {channel.id: f"Variante {TRICKY}"},
                "note": f"Notiz {TRICKY}",
            },
        )
        pieces.add_comment(s, actor=ed, piece_id=piece.id, body=f"Kommentar {TRICKY}")
        pieces.submit_piece(s, actor=ed, piece_id=piece.id)
        post = planning.plan_post(
            s, actor=ed, piece_id=piece.id, channel=channel.id, when=_in_days(1)
        )
        post.status = PostStatus.failed  # so that Publishing lists it
        s.add(post)
        s.commit()
        waiting = ideas.submit_idea(
            s,
            actor=lena,
            data={"title": f"Offen {TRICKY}", "pitch": f"Noch {TRICKY}", "department": "HR"},
        ).idea
        other = ideas.submit_idea(
            s,
            actor=lena,
            data={"title": "Noch eine Idee", "pitch": "Ganz ohne Auszeichnung", "department": "HR"},
        ).idea
        ideas.reject_idea(s, actor=ed, idea_id=other.id or 0, reason=f"Grund {TRICKY}")
        ids |= {"tricky_piece": piece.id, "tricky_idea": idea.id, "tricky_channel": channel.id}
        ids["waiting_idea"] = waiting.id or 0
    engine.dispose()
    return ids


def _markdown_strings(at: AppTest) -> list[str]:
    """Everything on the page that Streamlit renders as markdown: bodies and widget labels."""
    bodies = [
        *at.markdown,
        *at.caption,
        *at.error,
        *at.warning,
        *at.info,
        *at.success,
        *at.title,
        *at.header,
        *at.subheader,
        *at.toast,
    ]
    widgets = [
        *at.button,
        *at.text_input,
        *at.text_area,
        *at.selectbox,
        *at.multiselect,
        *at.radio,
        *at.checkbox,
        *at.number_input,
        *at.date_input,
        *at.expander,
        *at.tabs,
    ]
    found = [str(e.value) for e in bodies]
    found += [str(getattr(w, "label", "")) for w in widgets]
    found += [str(o) for r in at.radio for o in r.options]
    return found


def _plain_strings(at: AppTest) -> list[str]:
    """Everything shown verbatim: st.text, st.code, table cells, select options."""
    shown = [str(e.value) for e in [*at.text, *at.code]] + [marked.read(at).text]
    for frame in at.dataframe:
        shown += [str(v) for v in frame.value.to_numpy().ravel()]
    for box in [*at.selectbox, *at.multiselect]:
        shown += [str(o) for o in box.options]
    return shown


@pytest.mark.parametrize(
    ("username", "page"),
    [
        ("lena", "my_ideas"),
        ("ed", "inbox"),
        ("ed", "editor"),
        ("ed", "calendar"),
        ("ed", "board"),
        ("ed", "publishing"),
        ("ada", "approvals"),
    ],
)
def test_user_text_is_shown_literally_never_as_html_or_markdown(
    database: str, username: str, page: str
) -> None:
    ids = _tricky_world(database)
    at = open_page(sign_in(username, PASSWORD), page)
    if page == "my_ideas":
        at.selectbox(key=keys.MY_IDEA_PICK).set_value(ids["tricky_idea"]).run()
    elif page == "inbox":
        at.selectbox(key=keys.INBOX_PICK).set_value(ids["waiting_idea"]).run()
    elif page == "editor":
        at.selectbox(key=keys.EDITOR_PIECE).set_value(ids["tricky_piece"]).run()
    elif page == "calendar":
        at.radio(key=keys.CAL_VIEW).set_value("list").run()
    elif page == "approvals":
        at.selectbox(key=keys.APPROVALS_PICK).set_value(ids["tricky_piece"]).run()
    assert not at.exception
    rendered = [text for text in _markdown_strings(at) if TRICKY in text]
    assert rendered == []
    assert any(TRICKY in text for text in _plain_strings(at))
    if page == "editor":  # the channel's name in the variant's label: escaped, so literal
        labels = [a.label for a in at.text_area]
        assert f"Variant for {md('K ' + TRICKY)}" in labels


def test_markdown_characters_are_escaped_for_labels_and_messages() -> None:
    assert md("<b>x</b> **y** [z](u) $e$ `c` #h ~s~ a|b \\") == (
        r"\<b\>x\</b\> \*\*y\*\* \[z\](u) \$e\$ \`c\` \#h \~s\~ a\|b \\"
    )
    assert md("Zeile 1\nZeile 2") == "Zeile 1 Zeile 2"
