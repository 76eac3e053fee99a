"""Ideas: validated submission, department visibility, duplicate hints, triage and outcome."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from planner import audit, channels, ideas, pieces, planning, users, workflow
from planner.errors import (
    EditConflict,
    IllegalTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from planner.models import (
    AuditEvent,
    Idea,
    IdeaStatus,
    Piece,
    PieceStatus,
    PostStatus,
    Role,
    Urgency,
    User,
)
from tests.conftest import World, utc


def idea_data(title: str, pitch: str = "", department: str = "Marketing", **extra: Any) -> Any:
    """Input for submit_idea."""
    return {
        "title": title,
        "pitch": pitch or f"{title}, explained in a few sentences.",
        "department": department,
        **extra,
    }


def submit(world: World, actor: User, title: str, pitch: str = "", **extra: Any) -> Idea:
    """Submit an idea and return it."""
    return ideas.submit_idea(world.session, actor=actor, data=idea_data(title, pitch, **extra)).idea


def stored_idea(engine: Engine, idea_id: int) -> Idea:
    """The idea as another connection sees it."""
    with Session(engine) as fresh:
        idea = fresh.get(Idea, idea_id)
        assert idea is not None
        return idea


def counts(engine: Engine) -> tuple[int, int]:
    """How many ideas and audit events exist."""
    with Session(engine) as fresh:
        return (
            fresh.exec(select(func.count()).select_from(Idea)).one(),
            fresh.exec(select(func.count()).select_from(AuditEvent)).one(),
        )


# --- submitting -----------------------------------------------------------------------------


def test_submitted_idea_is_stored_with_its_fields_and_audited(world: World, engine: Engine) -> None:
    idea = submit(
        world,
        world.contributor,
        "Winter tyre checklist",
        target_audience="Drivers",
        source_url="https://example.org/tyres",
        urgency="hoch",
        tags="#winter, safety",
    )
    assert idea.id is not None

    stored = stored_idea(engine, idea.id)
    assert (stored.title, stored.status, stored.urgency) == (
        "Winter tyre checklist",
        IdeaStatus.submitted,
        Urgency.high,
    )
    assert (stored.source_url, stored.tags) == ("https://example.org/tyres", ["winter", "safety"])
    assert stored.submitted_by_id == world.contributor.id
    with Session(engine) as fresh:
        events = fresh.exec(select(AuditEvent).where(AuditEvent.object_type == "idea")).all()
    assert [(e.object_id, e.action, e.to_state) for e in events] == [
        (str(idea.id), "submit", "submitted")
    ]


@pytest.mark.parametrize(
    ("extra", "fields"),
    [
        pytest.param({"title": "T" * 201}, {"title"}, id="title-too-long"),
        pytest.param({"title": "Hi"}, {"title"}, id="title-too-short"),
        pytest.param({"pitch": "Too short"}, {"pitch"}, id="pitch-too-short"),
        pytest.param({"source_url": "ftp://example.org/x"}, {"source_url"}, id="url-not-web"),
        pytest.param({"source_url": "example.org"}, {"source_url"}, id="url-no-scheme"),
        pytest.param({"urgency": "asap"}, {"urgency"}, id="urgency-unknown"),
        pytest.param({"department": "Sales"}, {"department"}, id="department-unknown"),
        pytest.param({"colour": "red"}, {"colour"}, id="unknown-field"),
        pytest.param(
            {"title": "T" * 201, "source_url": "nope", "urgency": "asap"},
            {"title", "source_url", "urgency"},
            id="several-at-once",
        ),
    ],
)
def test_bad_idea_input_names_the_fields_and_stores_nothing(
    world: World, engine: Engine, extra: dict[str, str], fields: set[str]
) -> None:
    before = counts(engine)
    data = {**idea_data("Winter tyre checklist"), **extra}

    with pytest.raises(ValidationFailed) as caught:
        ideas.submit_idea(world.session, actor=world.contributor, data=data)

    assert set(caught.value.fields) == fields
    assert counts(engine) == before


def test_unknown_department_error_lists_the_known_ones(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        ideas.submit_idea(
            world.session, actor=world.editor, data=idea_data("Tyres", department="Sales")
        )

    assert "HR" in caught.value.fields["department"]
    assert "Marketing" in caught.value.fields["department"]


def test_contributor_cannot_submit_for_another_department(world: World, engine: Engine) -> None:
    before = counts(engine)

    with pytest.raises(PermissionDenied, match="HR"):
        ideas.submit_idea(
            world.session,
            actor=world.contributor,
            data=idea_data("Onboarding week", department="HR"),
        )

    assert counts(engine) == before


def test_editor_may_submit_for_any_department(world: World) -> None:
    idea = submit(world, world.editor, "Onboarding week", department="hr")

    assert idea.department_id == world.hr_contributor.department_id


# --- who sees which ideas -------------------------------------------------------------------


def test_contributor_sees_only_their_departments_ideas(world: World) -> None:
    marketing = submit(world, world.contributor, "Winter tyre checklist")
    hr = submit(world, world.hr_contributor, "Onboarding week", department="HR")
    assert hr.id is not None

    listed = ideas.list_ideas(world.session, actor=world.contributor)

    assert [i.id for i in listed] == [marketing.id]
    assert ideas.get_idea(world.session, actor=world.contributor, idea_id=marketing.id) == marketing
    with pytest.raises(NotFound):
        ideas.get_idea(world.session, actor=world.contributor, idea_id=hr.id)
    with pytest.raises(NotFound):
        ideas.idea_outcome(world.session, actor=world.contributor, idea_id=hr.id)


@pytest.mark.parametrize("actor_name", ["editor", "approver", "admin"])
def test_editors_approvers_and_admins_see_every_department(world: World, actor_name: str) -> None:
    marketing = submit(world, world.contributor, "Winter tyre checklist")
    hr = submit(world, world.hr_contributor, "Onboarding week", department="HR")
    actor = getattr(world, actor_name)

    listed = ideas.list_ideas(world.session, actor=actor)

    assert {i.id for i in listed} == {marketing.id, hr.id}
    assert hr.id is not None
    assert ideas.get_idea(world.session, actor=actor, idea_id=hr.id).title == "Onboarding week"


def test_missing_idea_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        ideas.get_idea(world.session, actor=world.editor, idea_id=999)


def test_list_filters_by_status_and_by_submitter(world: World) -> None:
    mine = submit(world, world.contributor, "Winter tyre checklist")
    colleague = world.user("colleague", world.contributor.role, department="Marketing")
    theirs = submit(world, colleague, "Spring cleaning day")
    assert theirs.id is not None
    ideas.reject_idea(world.session, actor=world.editor, idea_id=theirs.id, reason="Done before")

    own = ideas.list_ideas(world.session, actor=world.contributor, mine=True)
    rejected = ideas.list_ideas(world.session, actor=world.contributor, status=IdeaStatus.rejected)

    assert [i.id for i in own] == [mine.id]
    assert [i.id for i in rejected] == [theirs.id]


def test_a_contributor_moved_to_another_department_still_sees_their_own_ideas(
    world: World,
) -> None:
    """What became of an idea stays its submitter's to see (My ideas, its outcome, its
    history, its posts) after they move; the old department's other ideas do not."""
    mine = submit(world, world.contributor, "Messe 2027", "Wir sind auf der Hannover Messe")
    colleague = world.user("mcolleague", Role.contributor, department="Marketing")
    theirs = submit(world, colleague, "Sommerfest 2027", "Fotos vom Sommerfest der Firma")
    assert mine.id is not None and theirs.id is not None
    piece = ideas.accept_idea(world.session, actor=world.editor, idea_id=mine.id)
    users.change_role(
        world.session,
        actor=world.admin,
        username=world.contributor.username,
        role=Role.contributor,
        department="HR",
    )
    moved = users.get_user(world.session, world.contributor.username)
    hr_idea = submit(world, world.hr_contributor, "Azubi-Tag", "Neue Azubis", department="HR")

    assert [i.id for i in ideas.list_ideas(world.session, actor=moved, mine=True)] == [mine.id]
    assert {i.id for i in ideas.list_ideas(world.session, actor=moved)} == {mine.id, hr_idea.id}
    outcome = ideas.idea_outcome(world.session, actor=moved, idea_id=mine.id)
    assert (outcome.idea.status, outcome.piece_id) == (IdeaStatus.accepted, piece.id)
    with pytest.raises(NotFound):
        ideas.get_idea(world.session, actor=moved, idea_id=theirs.id)
    accepted = [
        e.action
        for e in audit.visible_events(
            world.session, actor=moved, filters=audit.EventFilter(object_type="idea")
        )
        if e.object_id == str(mine.id)
    ]
    assert "accept" in accepted
    assert planning.visible_piece_ids(world.session, actor=moved) == {piece.id}


# --- duplicate suggestions ------------------------------------------------------------------

FIRST = ("Winter driving safety tips", "How our staff drive safely on icy winter roads")
NEAR = ("Safety tips for winter driving", "Tips so staff drive safely on icy roads in winter")


def submit_near_pair(world: World) -> tuple[int, int]:
    """FIRST and then NEAR, submitted by the Marketing contributor: their ids."""
    first = submit(world, world.contributor, *FIRST)
    near = submit(world, world.contributor, *NEAR)
    assert first.id is not None and near.id is not None
    return first.id, near.id


def test_near_duplicate_submission_suggests_the_earlier_idea(world: World) -> None:
    first = submit(world, world.contributor, *FIRST)

    second = ideas.submit_idea(world.session, actor=world.contributor, data=idea_data(*NEAR))

    assert [s.id for s in second.similar] == [first.id]
    hint = second.similar[0]
    assert (hint.title, hint.department, hint.status) == (
        FIRST[0],
        "Marketing",
        IdeaStatus.submitted,
    )
    assert 0 < hint.score < 1


def test_a_repeated_idea_is_shown_as_alike_on_a_scale_of_zero_to_one(world: World) -> None:
    """The same title and pitch again: similarity 1, the most the scale has, and ranked
    before an idea that is only near (which scored more than 1 before)."""
    near = submit(world, world.contributor, *NEAR)
    same = submit(world, world.contributor, *FIRST)

    again = ideas.submit_idea(world.session, actor=world.contributor, data=idea_data(*FIRST))

    assert [(s.id, s.score) for s in again.similar][:1] == [(same.id, 1.0)]
    assert [s.id for s in again.similar] == [same.id, near.id]
    assert all(0 < s.score <= 1 for s in again.similar)


def test_unrelated_submission_gets_no_suggestion(world: World) -> None:
    submit(world, world.contributor, *FIRST)

    other = ideas.submit_idea(
        world.session,
        actor=world.contributor,
        data=idea_data("Summer party photo gallery", "Pictures from the company picnic"),
    )

    assert other.similar == []


def test_first_idea_is_not_suggested_as_its_own_duplicate(world: World) -> None:
    first = ideas.submit_idea(world.session, actor=world.contributor, data=idea_data(*FIRST))

    assert first.similar == []


def test_contributor_is_not_shown_another_departments_idea_as_duplicate(world: World) -> None:
    submit(world, world.contributor, *FIRST)

    hr = ideas.submit_idea(
        world.session, actor=world.hr_contributor, data=idea_data(*NEAR, department="HR")
    )
    by_editor = ideas.submit_idea(
        world.session, actor=world.editor, data=idea_data(*NEAR, department="HR")
    )

    assert hr.similar == []
    assert FIRST[0] in [s.title for s in by_editor.similar]


def test_duplicate_hint_ignores_case_and_accents(world: World) -> None:
    first = submit(world, world.contributor, "Grüße zum Jahreswechsel", "Neujahrsgrüße an Kunden")

    second = ideas.submit_idea(
        world.session,
        actor=world.contributor,
        data=idea_data("GRUSSE ZUM JAHRESWECHSEL", "Neujahrsgrüße für Kunden"),
    )

    assert [s.id for s in second.similar] == [first.id]


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        pytest.param("Größentabelle", "Größentabelle", id="same-word-with-umlaut-and-sz"),
        pytest.param("Übersicht", "Übersicht", id="same-word-with-capital-umlaut"),
        pytest.param("ÜBERSICHT", "übersicht", id="capital-umlaut-in-other-case"),
        pytest.param("Straßenfest", "Strassenfest", id="sz-spelt-ss"),
        pytest.param("Übersicht", "Uebersicht", id="umlaut-spelt-ue"),
    ],
)
def test_duplicate_is_suggested_when_the_only_shared_word_is_spelt_with_umlaut_or_sz(
    world: World, earlier: str, later: str
) -> None:
    first = submit(world, world.contributor, earlier, "Alles Wichtige auf einer Seite vereint.")
    submit(world, world.contributor, "Feiertage im Quartal", "Wann die Büros geschlossen sind.")

    second = ideas.submit_idea(
        world.session,
        actor=world.contributor,
        data=idea_data(later, "Kompakt dargestellt für Kolleginnen und Kollegen."),
    )

    assert [s.id for s in second.similar] == [first.id]


def test_duplicate_with_the_same_pitch_under_another_title_is_suggested(world: World) -> None:
    pitch = "Kundinnen und Kunden erinnern, vor dem ersten Frost auf Winterreifen zu wechseln."
    first = submit(world, world.contributor, "Reifenwechsel rechtzeitig planen", pitch)
    submit(world, world.contributor, "Sommerfest der Belegschaft", "Fotos vom Grillabend im Hof.")

    second = ideas.submit_idea(
        world.session,
        actor=world.contributor,
        data=idea_data("Werkstatttermine im Oktober", pitch),
    )

    assert [s.id for s in second.similar] == [first.id]


def test_idea_sharing_only_a_common_word_is_not_suggested(world: World) -> None:
    submit(world, world.contributor, "Übersicht der Feiertage", "Wann die Büros geschlossen sind.")

    other = ideas.submit_idea(
        world.session,
        actor=world.contributor,
        data=idea_data("Größentabelle für Arbeitskleidung", "Welche Größe passt zu wem?"),
    )

    assert other.similar == []


def test_duplicate_is_found_among_ten_thousand_ideas_sharing_words_with_it(
    world: World, engine: Engine
) -> None:
    first = submit(
        world, world.contributor, "Größentabelle für Winterjacken", "Maße in Zentimetern."
    )
    assert world.contributor.id is not None and first.department_id is not None
    now = utc(2026, 11, 1, 8)
    noise = [
        {
            "title": f"Winterjacken Aktion {n}",
            "pitch": f"Rabatt Nummer {n} auf Winterjacken für alle Kunden.",
            "department_id": first.department_id,
            "submitted_by_id": world.contributor.id,
            "target_audience": "",
            "goal": "",
            "urgency": "normal",
            "tags": [],
            "status": "submitted",
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for n in range(10_000)
    ]
    with engine.begin() as conn:
        conn.execute(Idea.__table__.insert(), noise)  # type: ignore[attr-defined]

    started = time.perf_counter()
    similar = ideas.find_similar_ideas(
        world.session,
        actor=world.contributor,
        title="Grössentabelle Winterjacken",
        pitch="Welche Maße in Zentimetern passen?",
    )
    elapsed = time.perf_counter() - started

    assert similar and similar[0].id == first.id
    assert elapsed < 3, f"duplicate search took {elapsed:.2f}s over 10 000 ideas"


# --- triage ---------------------------------------------------------------------------------


def test_accepting_an_idea_creates_a_draft_piece_at_revision_one(world: World) -> None:
    idea = submit(world, world.contributor, "Winter tyre checklist", tags="winter")
    assert idea.id is not None

    piece = ideas.accept_idea(world.session, actor=world.editor, idea_id=idea.id)

    assert piece.id is not None
    assert (piece.status, piece.revision, piece.idea_id) == (PieceStatus.draft, 1, idea.id)
    assert (piece.title, piece.body, piece.tags) == (idea.title, idea.pitch, ["winter"])
    assert piece.owner_id == world.editor.id
    revs = pieces.history(world.session, actor=world.editor, piece_id=piece.id)
    assert [(r.number, r.body, r.author_id) for r in revs] == [(1, idea.pitch, world.editor.id)]
    outcome = ideas.idea_outcome(world.session, actor=world.contributor, idea_id=idea.id)
    assert (outcome.idea.status, outcome.piece_id, outcome.piece_status) == (
        IdeaStatus.accepted,
        piece.id,
        "draft",
    )


def test_idea_accepted_by_two_editors_at_once_becomes_one_piece(
    world: World, engine: Engine
) -> None:
    idea = submit(world, world.contributor, "Winter tyre checklist")
    assert idea.id is not None
    with Session(engine) as one, Session(engine) as two:
        # Both editors have the submitted idea open (held, so each session keeps its copy).
        opened = [
            ideas.get_idea(one, actor=world.editor, idea_id=idea.id),
            ideas.get_idea(two, actor=world.editor2, idea_id=idea.id),
        ]
        assert [i.status for i in opened] == [IdeaStatus.submitted] * 2
        ideas.accept_idea(one, actor=world.editor, idea_id=idea.id)

        with pytest.raises((EditConflict, IllegalTransition)):
            ideas.accept_idea(two, actor=world.editor2, idea_id=idea.id)

    with Session(engine) as fresh:
        made = fresh.exec(select(Piece).where(Piece.idea_id == idea.id)).all()
        accepts = fresh.exec(
            select(AuditEvent).where(
                AuditEvent.object_type == "idea", AuditEvent.action == "accept"
            )
        ).all()
    assert [p.owner_id for p in made] == [world.editor.id]
    assert [e.actor_id for e in accepts] == [world.editor.id]


def test_rejection_reason_is_stored_and_shown_in_the_outcome(world: World, engine: Engine) -> None:
    idea = submit(world, world.contributor, "Winter tyre checklist")
    assert idea.id is not None

    ideas.reject_idea(
        world.session, actor=world.editor, idea_id=idea.id, reason="  We covered this in May. "
    )

    assert stored_idea(engine, idea.id).rejection_reason == "We covered this in May."
    outcome = ideas.idea_outcome(world.session, actor=world.contributor, idea_id=idea.id)
    assert (outcome.idea.status, outcome.rejection_reason) == (
        IdeaStatus.rejected,
        "We covered this in May.",
    )
    assert (outcome.piece_id, outcome.posts) == (None, [])


def test_reopening_a_rejected_idea_clears_the_reason(world: World, engine: Engine) -> None:
    idea = submit(world, world.contributor, "Winter tyre checklist")
    assert idea.id is not None
    ideas.reject_idea(world.session, actor=world.editor, idea_id=idea.id, reason="Not now")

    ideas.reopen_idea(world.session, actor=world.editor, idea_id=idea.id)

    stored = stored_idea(engine, idea.id)
    assert (stored.status, stored.rejection_reason) == (IdeaStatus.submitted, None)


def test_outcome_of_a_merged_idea_follows_the_target_to_its_piece_and_posts(
    world: World, engine: Engine
) -> None:
    s = world.session
    channel = channels.create_channel(s, actor=world.admin, kind="recording", name="Mastodon")
    target, duplicate = submit_near_pair(world)
    assert channel.id is not None

    ideas.merge_idea(s, actor=world.editor, idea_id=duplicate, into_id=target)
    piece = ideas.accept_idea(s, actor=world.editor, idea_id=target)
    assert piece.id is not None
    planning.plan_post(
        s, actor=world.editor, piece_id=piece.id, channel=channel.id, when=utc(2099, 3, 2, 9)
    )

    stored = stored_idea(engine, duplicate)
    assert (stored.status, stored.merged_into_id) == (IdeaStatus.merged, target)
    outcome = ideas.idea_outcome(s, actor=world.contributor, idea_id=duplicate)
    assert outcome.idea.id == duplicate
    assert (outcome.merged_into, outcome.piece_id, outcome.piece_title) == (
        target,
        piece.id,
        FIRST[0],
    )
    assert [(p.channel, p.publish_at, p.status) for p in outcome.posts] == [
        ("Mastodon", utc(2099, 3, 2, 9), PostStatus.planned)
    ]


def test_idea_cannot_be_merged_into_itself(world: World, engine: Engine) -> None:
    idea = submit(world, world.contributor, "Winter tyre checklist")
    assert idea.id is not None
    before = counts(engine)

    with pytest.raises(ValidationFailed) as caught:
        ideas.merge_idea(world.session, actor=world.editor, idea_id=idea.id, into_id=idea.id)

    assert set(caught.value.fields) == {"into"}
    stored = stored_idea(engine, idea.id)
    assert (stored.status, stored.merged_into_id) == (IdeaStatus.submitted, None)
    assert counts(engine) == before


def test_idea_cannot_be_merged_into_a_merged_idea(world: World, engine: Engine) -> None:
    first = submit(world, world.contributor, "Winter tyre checklist")
    second = submit(world, world.contributor, "Winter tyre checklist, part two")
    third = submit(world, world.contributor, "Winter tyres once more")
    assert first.id is not None and second.id is not None and third.id is not None
    ideas.merge_idea(world.session, actor=world.editor, idea_id=second.id, into_id=first.id)
    before = counts(engine)

    with pytest.raises(ValidationFailed) as caught:
        ideas.merge_idea(world.session, actor=world.editor, idea_id=third.id, into_id=second.id)

    assert f"#{first.id}" in caught.value.fields["into"]  # points to where to merge instead
    stored = stored_idea(engine, third.id)
    assert (stored.status, stored.merged_into_id) == (IdeaStatus.submitted, None)
    assert counts(engine) == before


def test_idea_cannot_be_merged_into_a_rejected_idea(world: World, engine: Engine) -> None:
    rejected = submit(world, world.contributor, "Winter tyre checklist")
    idea = submit(world, world.contributor, "Winter tyres again")
    assert rejected.id is not None and idea.id is not None
    ideas.reject_idea(world.session, actor=world.editor, idea_id=rejected.id, reason="No")

    with pytest.raises(ValidationFailed) as caught:
        ideas.merge_idea(world.session, actor=world.editor, idea_id=idea.id, into_id=rejected.id)

    assert set(caught.value.fields) == {"into"}
    assert stored_idea(engine, idea.id).status == IdeaStatus.submitted


def test_merge_into_a_missing_idea_is_not_found(world: World, engine: Engine) -> None:
    idea = submit(world, world.contributor, "Winter tyre checklist")
    assert idea.id is not None

    with pytest.raises(NotFound):
        ideas.merge_idea(world.session, actor=world.editor, idea_id=idea.id, into_id=999)

    assert stored_idea(engine, idea.id).status == IdeaStatus.submitted


Meanwhile = Callable[[str, Callable[[Session], object]], None]


@pytest.fixture
def meanwhile(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Meanwhile:
    """`meanwhile(action, step)`: run `step` (another editor's request) once, in a session
    of its own, when the next move `action` has read its ideas and is about to store
    anything."""

    def arrange(action: str, step: Callable[[Session], object]) -> None:
        real = workflow.check
        pending = [step]

        def check(kind: str, obj: Any, taken: str, actor: User, note: str = "") -> workflow.Move:
            if taken == action and pending:
                with Session(engine) as other:
                    pending.pop()(other)
            return real(kind, obj, taken, actor, note)

        monkeypatch.setattr(workflow, "check", check)

    return arrange


def test_two_editors_merging_two_ideas_into_each_other_at_once_merge_only_one(
    world: World, engine: Engine, meanwhile: Meanwhile
) -> None:
    first, second = submit_near_pair(world)
    # The other editor merges the second into the first while this one's merge of the
    # first into the second has read both ideas (still submitted) and not yet stored.
    meanwhile(
        "merge",
        lambda other: ideas.merge_idea(other, actor=world.editor2, idea_id=second, into_id=first),
    )
    before = counts(engine)
    with pytest.raises(ValidationFailed) as caught:
        ideas.merge_idea(world.session, actor=world.editor, idea_id=first, into_id=second)

    assert caught.value.fields == {"into": f"idea #{second} is merged"}
    kept, merged = stored_idea(engine, first), stored_idea(engine, second)
    assert (kept.status, kept.merged_into_id) == (IdeaStatus.submitted, None)
    assert (merged.status, merged.merged_into_id) == (IdeaStatus.merged, first)
    assert counts(engine) == (before[0], before[1] + 1)  # the other editor's merge alone
    piece = ideas.accept_idea(world.session, actor=world.editor, idea_id=first)
    outcome = ideas.idea_outcome(world.session, actor=world.contributor, idea_id=second)
    assert (outcome.piece_id, outcome.carried_by) == (piece.id, first)


def test_a_merge_into_an_idea_rejected_at_the_same_moment_is_refused(
    world: World, engine: Engine, meanwhile: Meanwhile
) -> None:
    target, duplicate = submit_near_pair(world)
    meanwhile(
        "merge",
        lambda other: ideas.reject_idea(
            other, actor=world.editor2, idea_id=target, reason="Kein Budget."
        ),
    )
    with pytest.raises(ValidationFailed) as caught:
        ideas.merge_idea(world.session, actor=world.editor, idea_id=duplicate, into_id=target)

    assert caught.value.fields == {"into": f"idea #{target} is rejected"}
    stored = stored_idea(engine, duplicate)
    assert (stored.status, stored.merged_into_id) == (IdeaStatus.submitted, None)
    assert stored_idea(engine, target).status == IdeaStatus.rejected


def test_a_merge_into_an_idea_accepted_at_the_same_moment_is_a_conflict_naming_it(
    world: World, engine: Engine, meanwhile: Meanwhile
) -> None:
    target, duplicate = submit_near_pair(world)
    meanwhile("merge", lambda other: ideas.accept_idea(other, actor=world.editor2, idea_id=target))
    with pytest.raises(EditConflict) as caught:
        ideas.merge_idea(world.session, actor=world.editor, idea_id=duplicate, into_id=target)

    assert (caught.value.kind, caught.value.obj_id) == ("idea", target)
    assert stored_idea(engine, duplicate).status == IdeaStatus.submitted
    # Read again, the accepted idea takes the duplicate.
    ideas.merge_idea(world.session, actor=world.editor, idea_id=duplicate, into_id=target)
    assert stored_idea(engine, duplicate).merged_into_id == target


def test_outcome_of_an_idea_merged_into_a_rejected_one_is_that_rejection_with_its_reason(
    world: World,
) -> None:
    s = world.session
    target, middle = submit_near_pair(world)
    mine = submit(world, world.hr_contributor, "Winter driving for HR", department="HR")
    assert mine.id is not None
    ideas.merge_idea(s, actor=world.editor, idea_id=mine.id, into_id=middle)
    ideas.merge_idea(s, actor=world.editor, idea_id=middle, into_id=target)
    ideas.reject_idea(s, actor=world.editor, idea_id=target, reason="Kein Budget.")

    outcome = ideas.idea_outcome(s, actor=world.hr_contributor, idea_id=mine.id)

    assert outcome.idea.status == IdeaStatus.merged
    assert (outcome.merged_into, outcome.carried_by, outcome.carrier_status) == (
        middle,
        target,
        IdeaStatus.rejected,
    )
    assert (outcome.rejection_reason, outcome.piece_id) == ("Kein Budget.", None)
    ideas.reopen_idea(s, actor=world.editor, idea_id=target)
    reopened = ideas.idea_outcome(s, actor=world.hr_contributor, idea_id=mine.id)
    assert (reopened.carrier_status, reopened.rejection_reason) == (IdeaStatus.submitted, None)


# --- inbox: counts and bulk triage ----------------------------------------------------------


def test_count_matches_the_filtered_list_with_and_without_a_tag(world: World) -> None:
    submit(world, world.contributor, "Winter tyre checklist", tags="Winter, Safety", urgency="high")
    submit(world, world.contributor, "Spring cleaning day", tags="spring")
    submit(world, world.hr_contributor, "Onboarding week", department="HR", tags="winter")
    s, ed = world.session, world.editor
    cases: list[dict[str, Any]] = [
        {},
        {"department": "Marketing"},
        {"urgency": Urgency.high},
        {"tag": "WINTER"},
        {"tag": "#winter", "department": "HR"},
        {"status": IdeaStatus.rejected},
    ]
    for filters in cases:
        listed = ideas.list_ideas(s, actor=ed, **filters)
        assert ideas.count_ideas(s, actor=ed, **filters) == len(listed), filters
    assert ideas.count_ideas(s, actor=ed, tag="winter") == 2
    assert ideas.count_ideas(s, actor=world.contributor) == 2  # own department only


def test_ideas_per_department_counts_submitted_ideas_the_actor_may_see(world: World) -> None:
    first = submit(world, world.contributor, "Winter tyre checklist")
    submit(world, world.contributor, "Spring cleaning day")
    submit(world, world.hr_contributor, "Onboarding week", department="HR")
    assert first.id is not None
    ideas.reject_idea(world.session, actor=world.editor, idea_id=first.id, reason="Done before")

    by_editor = ideas.ideas_per_department(world.session, actor=world.editor)
    by_contributor = ideas.ideas_per_department(world.session, actor=world.contributor)
    everything = ideas.ideas_per_department(world.session, actor=world.editor, status=None)

    assert by_editor == [("HR", 1), ("Marketing", 1)]
    assert by_contributor == [("Marketing", 1)]
    assert everything == [("HR", 1), ("Marketing", 2)]


def test_bulk_accept_moves_each_idea_and_reports_the_ones_it_could_not(
    world: World, engine: Engine
) -> None:
    one = submit(world, world.contributor, "Winter tyre checklist")
    two = submit(world, world.contributor, "Spring cleaning day")
    gone = submit(world, world.contributor, "Autumn leaves")
    assert one.id is not None and two.id is not None and gone.id is not None
    ideas.reject_idea(world.session, actor=world.editor, idea_id=gone.id, reason="Not for us")
    seen: list[tuple[int, int]] = []

    outcome = ideas.triage_ideas(
        world.session,
        actor=world.editor,
        idea_ids=[one.id, gone.id, two.id],
        action="accept",
        progress=lambda done, total: seen.append((done, total)),
    )

    assert outcome.done == [one.id, two.id]
    assert list(outcome.failed) == [gone.id]
    assert isinstance(outcome.failed[gone.id], IllegalTransition)
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert stored_idea(engine, one.id).status == IdeaStatus.accepted
    with Session(engine) as fresh:
        assert fresh.exec(select(func.count()).select_from(Piece)).one() == 2


def test_bulk_reject_without_a_reason_changes_nothing(world: World, engine: Engine) -> None:
    one = submit(world, world.contributor, "Winter tyre checklist")
    assert one.id is not None

    outcome = ideas.triage_ideas(
        world.session, actor=world.editor, idea_ids=[one.id], action="reject", reason="  "
    )

    assert outcome.done == []
    assert isinstance(outcome.failed[one.id], ValidationFailed)
    assert stored_idea(engine, one.id).status == IdeaStatus.submitted


def test_bulk_triage_by_a_contributor_is_refused_per_idea(world: World, engine: Engine) -> None:
    one = submit(world, world.contributor, "Winter tyre checklist")
    assert one.id is not None

    outcome = ideas.triage_ideas(
        world.session, actor=world.contributor, idea_ids=[one.id], action="accept"
    )

    assert isinstance(outcome.failed[one.id], PermissionDenied)
    assert stored_idea(engine, one.id).status == IdeaStatus.submitted


def test_bulk_triage_knows_only_accept_and_reject(world: World) -> None:
    with pytest.raises(ValidationFailed):
        ideas.triage_ideas(world.session, actor=world.editor, idea_ids=[], action="merge")
