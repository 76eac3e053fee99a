"""Who reads what: every CLI read command and every read function, for every role.

The read commands are taken from the argparse parser itself: a new command fails
`test_every_command_is_classified` until it is listed here as a read (with what each role
may see) or as a command that changes data. A contributor of Marketing runs each one with
HR's ideas, pieces, posts, publishing errors and links in the same database.
"""

from __future__ import annotations

import argparse
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from planner import (
    approvals_report,
    audiences,
    audit,
    channels,
    cli,
    editing,
    ideas,
    inbox,
    org_settings,
    pieces,
    planning,
    process,
    publishing,
    rules,
    slots,
    users,
)
from planner.errors import PermissionDenied, PlannerError
from planner.models import (
    Feed,
    InboxItem,
    InboxSource,
    Post,
    PostStatus,
    PublishAttempt,
    Role,
    User,
)
from planner.publishing.ledger import post_ledger, why_held
from tests.conftest import World, utc

MKT_IDEA = "Marketing Messeauftritt"
HR_IDEA = "Personal Gehaltsrunde vertraulich"
MKT_URL = "https://blog.example/marketing-messe"
HR_URL = "https://blog.example/hr-gehaltsrunde"
MKT_ERROR = "Marketing-Fehler 503 beim Senden"
HR_ERROR = "HR-Fehler 401 Token abgelaufen"
HOOK = "https://intranet.example/hook-for-admins"
RULE = "Keine Superlative"
FEED = "Fachpresse Personalwesen"
MKT_ITEM = "Messe-Bericht der Fachpresse"
HR_ITEM = "Tarifstreit vertraulich: Presseanfrage"
# Everything of HR that a Marketing contributor must never see, in any output.
HR_MARKERS = (HR_IDEA, HR_URL, HR_ERROR, HR_ITEM)

ROLES = ("contrib", "editor", "approver", "admin", "gone", "nobody")
EVERYONE = ROLES[:4]


@dataclass
class Org:
    """The test organisation: one idea, piece and post per department, on one channel."""

    world: World
    mkt_idea: int
    hr_idea: int
    mkt_piece: int
    hr_piece: int
    mkt_post: int
    hr_post: int
    hr_item: int


def _accepted_and_planned(
    world: World, author: User, department: str, title: str
) -> tuple[int, int, int]:
    s = world.session
    submitted = ideas.submit_idea(
        s,
        actor=author,
        data={"title": title, "pitch": f"{title}: worum es geht", "department": department},
    )
    assert submitted.idea.id is not None
    piece = ideas.accept_idea(s, actor=world.editor, idea_id=submitted.idea.id)
    assert piece.id is not None
    post = planning.plan_post(
        s, actor=world.editor, piece_id=piece.id, channel="Blog", when=utc(2030, 1, 15, 8)
    )
    assert post.id is not None
    return submitted.idea.id, piece.id, post.id


def _published_with(session: Session, post_id: int, *, url: str, error: str) -> None:
    """What the scheduler leaves behind: an attempt with its error, a link, a failed post."""
    post = session.get(Post, post_id)
    assert post is not None
    post.status = PostStatus.failed
    post.last_error = error
    post.external_url = url
    session.add(post)
    session.add(
        PublishAttempt(
            post_id=post_id, worker="w1", outcome="failed", error=error, external_url=url
        )
    )
    session.commit()


@pytest.fixture
def org(world: World) -> Org:
    s = world.session
    channels.create_channel(
        s,
        actor=world.admin,
        kind="webhook",
        name="Blog",
        settings={"url": HOOK, "secret": "hook-" + secrets.token_hex(12)},
    )
    rules.add_rule(
        s,
        actor=world.admin,
        data={
            "name": RULE,
            "kind": "forbidden_terms",
            "settings": {"terms": ["weltbeste"]},
            "message": {"de": "Keine Superlative", "en": "No superlatives"},
        },
    )
    gone = world.user("gone", Role.editor)
    users.set_disabled(s, actor=world.admin, username=gone.username)
    mkt = _accepted_and_planned(world, world.contributor, "Marketing", MKT_IDEA)
    hr = _accepted_and_planned(world, world.hr_contributor, "HR", HR_IDEA)
    _published_with(s, mkt[2], url=MKT_URL, error=MKT_ERROR)
    _published_with(s, hr[2], url=HR_URL, error=HR_ERROR)
    for piece_id in (mkt[1], hr[1]):
        planning.create_series(
            s,
            actor=world.editor,
            piece_id=piece_id,
            channel="Blog",
            rule="FREQ=WEEKLY;COUNT=2",
            start="2030-02-05 09:30",
        )
    audiences.create_audience(s, actor=world.admin, name="Endkunden", channels=["Blog"])
    slots.set_slot_plan(s, actor=world.admin, channel="Blog", slots="Tue 09:30")
    mkt_item, hr_item = _inbox_items(world)
    inbox.assign_item(s, actor=world.editor, item_id=mkt_item, department="Marketing")
    inbox.assign_item(s, actor=world.editor, item_id=hr_item, department="HR")
    return Org(world, mkt[0], hr[0], mkt[1], hr[1], mkt[2], hr[2], hr_item)


def _inbox_items(world: World) -> tuple[int, int]:
    """Two entries of a followed feed in the listening inbox (what polling stores)."""
    s = world.session
    assert world.admin.id is not None
    feed = Feed(url="https://presse.example.de/feed.xml", name=FEED, created_by_id=world.admin.id)
    s.add(feed)
    s.flush()
    items = [
        InboxItem(
            source=InboxSource.feed_item,
            source_key=f"feed:{feed.id}",
            feed_id=feed.id,
            external_id=f"urn:presse:{number}",
            title=title,
            url=f"https://presse.example.de/{number}",
        )
        for number, title in enumerate((MKT_ITEM, HR_ITEM))
    ]
    s.add_all(items)
    s.commit()
    assert items[0].id is not None and items[1].id is not None
    return items[0].id, items[1].id


# --- the command line ---------------------------------------------------------------------------


def _leaf_commands() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command of the parser that runs something, by its path of names."""
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not groups and path:
            found[path] = parser
        for group in groups:
            for name, child in group.choices.items():
                walk(child, (*path, name))

    walk(cli.build_parser(), ())
    return found


# Commands that change data or run services; each checks its own permissions elsewhere.
NOT_READS = {
    ("init",),
    ("migrate",),
    ("demo",),
    ("users", "add"),
    ("users", "passwd"),
    ("users", "disable"),
    ("users", "email"),
    ("users", "unlock"),
    ("departments", "add"),
    ("ideas", "submit"),
    ("ideas", "accept"),
    ("ideas", "reject"),
    ("ideas", "merge"),
    ("ideas", "reopen"),
    ("ideas", "import"),
    ("pieces", "edit"),
    ("pieces", "submit"),
    ("pieces", "revise"),
    ("pieces", "archive"),
    ("pieces", "reopen"),
    ("pieces", "approve"),
    ("pieces", "request-changes"),
    ("pieces", "comment"),
    ("plan", "add"),
    ("plan", "move"),
    ("plan", "cancel"),
    ("plan", "series"),
    ("plan", "cancel-series"),
    ("plan", "import"),
    ("settings", "set"),
    ("channels", "add"),
    ("channels", "edit"),
    ("channels", "test"),
    ("channels", "disable"),
    ("worker",),
    ("posts", "retry"),
    ("posts", "cancel"),
    ("posts", "mark-posted"),
    ("freeze",),
    ("secret-key",),
    ("serve",),
    ("backup",),
    ("restore",),
    ("notifications", "read"),
    ("audiences", "add"),
    ("audiences", "edit"),
    ("audiences", "remove"),
    ("audiences", "assign"),
    ("slots", "set"),
    ("plan", "queue"),
    ("rules", "add"),
    ("rules", "edit"),
    ("rules", "disable"),
    ("rules", "import"),
    ("rules", "override"),
    ("inbox", "assign"),
    ("inbox", "reply"),
    ("inbox", "approve"),
    ("inbox", "discard"),
    ("inbox", "dismiss"),
    ("inbox", "reopen"),
    ("inbox", "to-idea"),
    ("inbox", "fetch"),
    ("inbox", "target"),
    ("feeds", "add"),
    ("feeds", "remove"),
    ("calendar-feeds", "list"),
    ("calendar-feeds", "create"),
    ("calendar-feeds", "revoke"),
    ("metrics", "collect"),
}


@dataclass(frozen=True)
class Read:
    """A read command: its arguments, the markers it shows a reader who sees everything,
    and which of them each role sees (a role not in `sees` is refused)."""

    args: Callable[[Org], list[str]]
    shows: tuple[str, ...]
    sees: dict[str, tuple[str, ...]]


def _all(shows: tuple[str, ...], *roles: str) -> dict[str, tuple[str, ...]]:
    return dict.fromkeys(roles, shows)


_IDEAS = (MKT_IDEA, HR_IDEA)
_READERS = ("editor", "approver", "admin")
_POSTS = (MKT_URL, HR_URL, MKT_ERROR, HR_ERROR)
_PERIOD = ["--since", "2020-01-01", "--until", "2040-12-31"]

READS: dict[tuple[str, ...], Read] = {
    ("users", "list"): Read(lambda o: [], ("hrcontrib",), _all(("hrcontrib",), "admin")),
    ("departments", "list"): Read(
        lambda o: [], ("Marketing", "HR"), _all(("Marketing", "HR"), *EVERYONE)
    ),
    ("ideas", "list"): Read(
        lambda o: [], _IDEAS, {**_all(_IDEAS, *_READERS), "contrib": (MKT_IDEA,)}
    ),
    ("ideas", "show"): Read(
        lambda o: [str(o.hr_idea)], (HR_IDEA, HR_URL), _all((HR_IDEA, HR_URL), *_READERS)
    ),
    ("ideas", "export"): Read(
        lambda o: ["-"], _IDEAS, {**_all(_IDEAS, *_READERS), "contrib": (MKT_IDEA,)}
    ),
    ("pieces", "list"): Read(lambda o: [], _IDEAS, _all(_IDEAS, *_READERS)),
    ("pieces", "show"): Read(lambda o: [str(o.hr_piece)], (HR_IDEA,), _all((HR_IDEA,), *_READERS)),
    ("pieces", "history"): Read(
        lambda o: [str(o.hr_piece)], (HR_IDEA,), _all((HR_IDEA,), *_READERS)
    ),
    ("plan", "list"): Read(lambda o: ["--all"], _IDEAS, _all(_IDEAS, *_READERS)),
    ("plan", "export"): Read(lambda o: ["-"], _IDEAS, _all(_IDEAS, *_READERS)),
    ("plan", "list-series"): Read(lambda o: [], _IDEAS, _all(_IDEAS, *_READERS)),
    # A contributor gets the Activity page's events: their own and their ideas', not HR's.
    ("audit", "export"): Read(
        lambda o: ["-"], ("hrcontrib",), {**_all(("hrcontrib",), *_READERS), "contrib": ()}
    ),
    ("audit", "verify"): Read(lambda o: [], ("chain intact",), _all(("chain intact",), "admin")),
    ("settings", "list"): Read(lambda o: [], ("org_timezone",), _all(("org_timezone",), "admin")),
    ("channels", "list"): Read(
        lambda o: [],
        ("Blog", HOOK),
        {**_all(("Blog",), "editor", "approver"), "admin": ("Blog", HOOK)},
    ),
    ("posts", "list"): Read(
        lambda o: ["--json"], _POSTS, {**_all(_POSTS, *_READERS), "contrib": (MKT_URL,)}
    ),
    ("posts", "attempts"): Read(
        lambda o: [str(o.hr_post), "--json"],
        (HR_ERROR, HR_URL),
        _all((HR_ERROR, HR_URL), *_READERS),
    ),
    # Ideas accepted in the organisation: each contributor is told of their own only.
    ("notifications", "list"): Read(
        lambda o: [], _IDEAS, {**_all((), *_READERS), "contrib": (MKT_IDEA,)}
    ),
    ("status",): Read(lambda o: [], ("failed: 2",), _all(("failed: 2",), *_READERS)),
    ("rules", "list"): Read(lambda o: [], (RULE,), _all((RULE,), *_READERS)),
    ("rules", "export"): Read(lambda o: ["-"], (RULE,), _all((RULE,), *_READERS)),
    ("publish-due",): Read(lambda o: ["--dry-run"], ("dry run",), _all(("dry run",), *_READERS)),
    ("audiences", "list"): Read(lambda o: [], ("Endkunden",), _all(("Endkunden",), *EVERYONE)),
    ("slots", "list"): Read(lambda o: [], ("Tue 09:30",), _all(("Tue 09:30",), *_READERS)),
    ("slots", "free"): Read(lambda o: ["Blog"], ("free slot",), _all(("free slot",), *_READERS)),
    # The process report: editors and admins (approvers review, they do not run the desk).
    ("report", "process"): Read(
        lambda o: _PERIOD,
        ("ideas_by_department",),
        _all(("ideas_by_department",), "editor", "admin"),
    ),
    # What published posts achieved: everyone (a contributor: their department's posts).
    ("report", "engagement"): Read(
        lambda o: ["--from", "2020-01-01", "--to", "2040-12-31"],
        ("engagement",),
        _all(("engagement",), *EVERYONE),
    ),
    # Best times name channels: those who may see channels.
    ("report", "best-times"): Read(
        lambda o: ["--channel", "Blog"], ("Blog:",), _all(("Blog:",), *_READERS)
    ),
    # The listening inbox: everything for the editorial roles, a department's own items
    # for its members; the followed feeds for the editorial roles.
    ("inbox", "list"): Read(
        lambda o: [],
        (MKT_ITEM, HR_ITEM),
        {**_all((MKT_ITEM, HR_ITEM), *_READERS), "contrib": (MKT_ITEM,)},
    ),
    ("inbox", "show"): Read(lambda o: [str(o.hr_item)], (HR_ITEM,), _all((HR_ITEM,), *_READERS)),
    ("feeds", "list"): Read(lambda o: [], (FEED,), _all((FEED,), *_READERS)),
    # The response targets: those who set them, as on the Listening page (admins).
    ("inbox", "targets"): Read(lambda o: [], ("default:",), _all(("default:",), "admin")),
    # Tracked links name the posts' channels: those who may see pieces.
    ("links", "list"): Read(lambda o: ["--json"], ("[",), _all(("[",), *_READERS)),
    # A post's figures: whoever may see the post (HR's is no Marketing contributor's).
    ("metrics", "show"): Read(lambda o: [str(o.hr_post)], ("Blog",), _all(("Blog",), *_READERS)),
    # The period report for audits verifies the audit chain: admins.
    ("report", "approvals"): Read(
        lambda o: _PERIOD, ("chain intact",), _all(("chain intact",), "admin")
    ),
}


def test_every_command_is_classified() -> None:
    commands = set(_leaf_commands())

    assert not set(READS) & NOT_READS
    assert commands - set(READS) - NOT_READS == set(), "classify new commands in this module"
    assert set(READS) | NOT_READS <= commands


@pytest.mark.parametrize("path", sorted(READS), ids=" ".join)
def test_every_read_command_takes_the_acting_user(path: tuple[str, ...]) -> None:
    parser = _leaf_commands()[path]

    assert any(a.dest == "as_user" for a in parser._actions)


@pytest.fixture
def run(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[list[str]], tuple[int, str]]:
    """Run a command in-process on the test database; returns (exit code, stdout + stderr)."""
    monkeypatch.setattr("planner.cli.common.engine", lambda: engine)
    monkeypatch.delenv("PLANNER_USER", raising=False)

    def call(argv: list[str]) -> tuple[int, str]:
        err = io.StringIO()
        code = cli.main(argv, stderr=err)
        return code, capsys.readouterr().out + err.getvalue()

    return call


@pytest.mark.parametrize("role", ROLES)
def test_each_read_command_shows_each_role_what_the_dashboard_shows(
    org: Org, run: Callable[[list[str]], tuple[int, str]], role: str
) -> None:
    wrong: list[str] = []
    for path, read in sorted(READS.items()):
        code, out = run([*path, *read.args(org), "--as", role])
        seen = read.sees.get(role)
        name = " ".join(path)
        if seen is None:
            if code == 0:
                wrong.append(f"{name}: not refused")
            leaked = [m for m in read.shows if m in out and m not in ("Marketing", "HR")]
            if leaked:
                wrong.append(f"{name}: refused, but shows {leaked}")
            continue
        if code != 0:
            wrong.append(f"{name}: refused ({out.strip()})")
            continue
        missing = [m for m in seen if m not in out]
        leaked = [m for m in read.shows if m not in seen and m in out]
        if missing or leaked:
            wrong.append(f"{name}: missing {missing}, must not show {leaked}")
        if role == "contrib":
            hr = [m for m in HR_MARKERS if m in out]
            if hr:
                wrong.append(f"{name}: shows HR's {hr} to a Marketing contributor")
    assert wrong == []


def test_a_contributor_sees_their_own_posts_in_ideas_show_and_posts_list(
    org: Org, run: Callable[[list[str]], tuple[int, str]]
) -> None:
    code, out = run(["ideas", "show", str(org.mkt_idea), "--as", "contrib"])
    assert code == 0 and MKT_URL in out
    code, out = run(["posts", "list", "--as", "contrib", "--json"])
    assert code == 0 and MKT_URL in out and str(org.mkt_post) in out
    assert not any(m in out for m in (*HR_MARKERS, MKT_ERROR))


def test_a_contributor_learns_no_channel_names_from_a_wrong_channel(
    org: Org, run: Callable[[list[str]], tuple[int, str]]
) -> None:
    code, out = run(["plan", "list", "--channel", "Nowhere", "--as", "contrib"])
    assert code == 1 and "may not view pieces" in out and "Blog" not in out
    code, out = run(["plan", "list", "--channel", "Nowhere", "--as", "editor"])
    assert code == 1 and "known: Blog" in out


@pytest.mark.parametrize(
    ("role", "message"),
    [("gone", "user 'gone' is disabled"), ("nobody", "no user 'nobody'")],
)
def test_disabled_and_unknown_users_are_told_why(
    org: Org, run: Callable[[list[str]], tuple[int, str]], role: str, message: str
) -> None:
    for path, read in sorted(READS.items()):
        code, out = run([*path, *read.args(org), "--as", role])
        assert (code, message in out) == (2, True), path


# --- the service functions ----------------------------------------------------------------------

Reader = Callable[[Session, User, Org], Any]


def _text(value: Any) -> str:
    """Everything a result holds, as text, to look for what it must not show."""
    if isinstance(value, list | tuple | set):
        return " ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return " ".join(f"{_text(k)} {_text(v)}" for k, v in value.items())
    if hasattr(value, "__dict__"):
        return " ".join(_text(v) for k, v in vars(value).items() if not k.startswith("_"))
    return str(value)


# What the command line does not read through: the dashboard's pages and their helpers.
# Each maps to the roles allowed; for a contributor, the result must hold nothing of HR's.
SERVICE_READS: dict[str, tuple[Reader, tuple[str, ...]]] = {
    "planning.get_post (HR)": (
        lambda s, a, o: planning.get_post(s, actor=a, post_id=o.hr_post),
        _READERS,
    ),
    "planning.get_post (own)": (
        lambda s, a, o: planning.get_post(s, actor=a, post_id=o.mkt_post),
        EVERYONE,
    ),
    "planning.list_posts": (lambda s, a, o: planning.list_posts(s, actor=a), EVERYONE),
    "planning.list_series": (lambda s, a, o: planning.list_series(s, actor=a), _READERS),
    "planning.count_series": (lambda s, a, o: planning.count_series(s, actor=a), _READERS),
    "planning.held_posts": (
        lambda s, a, o: planning.held_posts(s, actor=a, now=utc(2031, 1, 1)),
        _READERS,
    ),
    "planning.calendar_entries": (
        lambda s, a, o: planning.calendar_entries(
            s, actor=a, start=utc(2030, 1, 1), end=utc(2030, 2, 1)
        ),
        _READERS,
    ),
    "planning.count_posts": (
        lambda s, a, o: planning.count_posts(s, actor=a, bounds=[utc(2030, 1, 1), utc(2030, 2, 1)]),
        _READERS,
    ),
    "publishing.status_summary": (
        lambda s, a, o: publishing.status_summary(s, actor=a),
        _READERS,
    ),
    "ledger.post_ledger": (lambda s, a, o: post_ledger(s, actor=a, post_id=o.hr_post), _READERS),
    "ledger.why_held": (lambda s, a, o: why_held(s, actor=a, post_id=o.hr_post), _READERS),
    "channels.list_channels": (lambda s, a, o: channels.list_channels(s, actor=a), _READERS),
    "users.list_departments": (lambda s, a, o: users.list_departments(s, actor=a), EVERYONE),
    "users.department_overview": (
        lambda s, a, o: users.department_overview(s, actor=a),
        ("admin",),
    ),
    "org_settings.all_settings": (
        lambda s, a, o: org_settings.all_settings(s, actor=a),
        ("admin",),
    ),
    "audit.list_events": (lambda s, a, o: audit.list_events(s, actor=a), _READERS),
    "process.process_report": (
        lambda s, a, o: process.process_report(
            s, actor=a, since=utc(2020, 1, 1), until=utc(2040, 1, 1)
        ),
        ("editor", "admin"),
    ),
    "approvals_report.approvals_report": (
        lambda s, a, o: approvals_report.approvals_report(
            s, actor=a, since=utc(2020, 1, 1), until=utc(2040, 1, 1)
        ),
        ("admin",),
    ),
    "audit.visible_events": (lambda s, a, o: audit.visible_events(s, actor=a), EVERYONE),
    "editing.display_names": (
        lambda s, a, o: editing.display_names(s, actor=a, user_ids={a.id or 0}),
        _READERS,
    ),
    "editing.search_pieces": (lambda s, a, o: editing.search_pieces(s, actor=a), _READERS),
    "pieces.review_queue": (lambda s, a, o: pieces.review_queue(s, actor=a), _READERS),
    "pieces.count_pieces_by_status": (
        lambda s, a, o: pieces.count_pieces_by_status(s, actor=a),
        _READERS,
    ),
    "ideas.idea_outcome (HR)": (
        lambda s, a, o: ideas.idea_outcome(s, actor=a, idea_id=o.hr_idea),
        _READERS,
    ),
    "ideas.count_ideas": (lambda s, a, o: ideas.count_ideas(s, actor=a), EVERYONE),
    "ideas.ideas_per_department": (
        lambda s, a, o: ideas.ideas_per_department(s, actor=a, status=None),
        EVERYONE,
    ),
    "audiences.list_audiences": (lambda s, a, o: audiences.list_audiences(s, actor=a), EVERYONE),
    "audiences.audiences_without_plans": (
        lambda s, a, o: audiences.audiences_without_plans(s, actor=a),
        _READERS,
    ),
    "slots.slot_plans": (lambda s, a, o: slots.slot_plans(s, actor=a), _READERS),
    "slots.free_slots": (
        lambda s, a, o: slots.free_slots(
            s, actor=a, channel="Blog", start=utc(2030, 1, 1), end=utc(2030, 2, 1)
        ),
        _READERS,
    ),
    "ideas.find_similar_ideas": (
        lambda s, a, o: ideas.find_similar_ideas(s, actor=a, title=HR_IDEA),
        EVERYONE,
    ),
}


def _actors(world: World) -> dict[str, User]:
    gone = users.get_user(world.session, "gone")
    return {
        "contrib": world.contributor,
        "editor": world.editor,
        "approver": world.approver,
        "admin": world.admin,
        "gone": gone,
    }


def test_each_read_function_gives_each_role_what_the_dashboard_shows(org: Org) -> None:
    s = org.world.session
    wrong: list[str] = []
    for role, actor in _actors(org.world).items():
        for name, (read, allowed) in SERVICE_READS.items():
            try:
                result = read(s, actor, org)
            except PlannerError as err:
                if role in allowed:
                    wrong.append(f"{name} refused {role}: {err}")
                s.rollback()
                continue
            if role not in allowed:
                wrong.append(f"{name} answered {role}")
            if role == "contrib":
                text = _text(result)
                leaked = [m for m in HR_MARKERS if m in text]
                if leaked:
                    wrong.append(f"{name} shows HR's {leaked} to a Marketing contributor")
    assert wrong == []


def test_a_contributor_sees_the_posts_of_the_idea_their_idea_was_merged_into(
    org: Org,
) -> None:
    world = org.world
    s = world.session
    duplicate = ideas.submit_idea(
        s,
        actor=world.contributor,
        data={
            "title": "Gehaltsrunde aus Sicht Marketing",
            "pitch": "dasselbe in Grün",
            "department": "Marketing",
        },
    ).idea
    assert duplicate.id is not None
    seen_before = {p.id for p in planning.list_posts(s, actor=world.contributor)}
    ideas.merge_idea(s, actor=world.editor, idea_id=duplicate.id, into_id=org.hr_idea)

    seen = {p.id for p in planning.list_posts(s, actor=world.contributor)}
    outcome = ideas.idea_outcome(s, actor=world.contributor, idea_id=duplicate.id)

    assert seen_before == {org.mkt_post}
    assert seen == {org.mkt_post, org.hr_post}  # as 'My ideas' shows what became of it
    assert [p.external_url for p in outcome.posts] == [HR_URL]
    assert planning.get_post(s, actor=world.contributor, post_id=org.hr_post).id == org.hr_post
    assert planning.list_posts(s, actor=world.hr_contributor) == [
        planning.get_post(s, actor=world.editor, post_id=org.hr_post)
    ]


def test_a_contributor_without_a_department_sees_no_posts(org: Org) -> None:
    s = org.world.session
    loner = User(username="loner", display_name="Loner", role=Role.contributor, password_hash="-")

    assert planning.list_posts(s, actor=loner) == []
    with pytest.raises(PlannerError, match="not found"):
        planning.get_post(s, actor=loner, post_id=org.mkt_post)


def test_a_disabled_account_reads_nothing(org: Org) -> None:
    gone = users.get_user(org.world.session, "gone")
    with pytest.raises(PermissionDenied, match="disabled"):
        planning.list_posts(org.world.session, actor=gone)
    with pytest.raises(PermissionDenied, match="disabled"):
        users.list_departments(org.world.session, actor=gone)
