"""Who changes what: every CLI command that writes, for every role.

The commands are taken from the argparse parser itself: a command that
`tests.test_cli_reads` does not list as a read must be listed here, as a write (with its
arguments and the roles the dashboard allows) or as a command that runs a service or needs
no user (SKIP, with the reason). Each role runs every write on an organisation of its own
where each command has objects of its own (an idea to accept, a piece in review to
approve, a failed post to retry, ...). A refused command exits non-zero with one `error:`
line and changes no row of any table; an allowed one exits 0 and changes something.
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from secrets import token_hex

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel

from planner import audiences, channels, cli, ideas, pieces, planning, rules, slots, users
from planner.errors import PermissionDenied, PlannerError
from planner.models import Piece, PostStatus, Role, User
from tests.conftest import World, utc
from tests.test_cli_reads import NOT_READS, READS, _leaf_commands

# Commands that run services or need no acting user: no role to check.
SKIP = {
    ("init",): "creates or upgrades the database; its first admin needs no acting user",
    ("migrate",): "applies schema migrations as the database owner; no acting user",
    ("demo",): "loads demo data into an empty database only; no acting user",
    ("worker",): "runs the publishing scheduler until stopped; no acting user",
    ("serve",): "runs the dashboard server until stopped; people sign in there",
    ("secret-key",): "prints a new random key; reads and writes no data",
    ("notifications", "read"): "marks only the acting user's own notifications read "
    "(tests/planner/test_notifications.py)",
    ("restore",): "replaces the whole database; into an empty one no acting user "
    "(its permissions: tests/test_cli_backup.py)",
    # The listening inbox and its feeds need a channel server to read from and answer on;
    # each command's roles (editors, approvers, a department's members) are tested there.
    # (`inbox list|show`, `feeds list`, `links list` and `metrics show` are reads:
    # tests/test_cli_reads.py.)
    **{
        ("inbox", name): "reads or answers through a channel server: tests/test_cli_inbox.py"
        for name in (
            "assign",
            "reply",
            "approve",
            "discard",
            "dismiss",
            "reopen",
            "to-idea",
            "fetch",
        )
    },
    **{
        ("feeds", name): "reads a feed server: tests/test_cli_inbox.py"
        for name in ("add", "remove")
    },
    # A calendar feed is its owner's (admins see and revoke everyone's); the feed shows
    # what its owner may see when it is fetched.
    **{
        ("calendar-feeds", name): "the acting user's own feeds: tests/test_cli_feeds.py, "
        "tests/planner/test_calendar_feeds.py"
        for name in ("list", "create", "revoke")
    },
    ("metrics", "collect"): "admins only, and it asks channel servers: tests/test_cli_metrics.py",
}

CONTRIBS = ("contrib", "hrcontrib")
ROLES = (*CONTRIBS, "editor", "approver", "admin", "gone", "nobody")
ADMIN = frozenset({"admin"})
EDITORIAL = frozenset({"editor", "admin"})
APPROVERS = frozenset({"approver", "admin"})
STAFF = frozenset({"editor", "approver", "admin"})
# Ideas go to the submitter's own department: the HR contributor submits for Marketing.
MARKETING_SUBMITTERS = frozenset({"contrib", "editor", "approver", "admin"})
NEW_PASSWORD = "neu-" + token_hex(8)  # made per run: no credential lives in the code


@dataclass
class Org:
    """The test organisation: objects by name, one set per command, and its CSV files."""

    world: World
    ids: dict[str, int]
    files: dict[str, Path]

    def id(self, name: str) -> str:
        return str(self.ids[name])


@dataclass(frozen=True)
class Write:
    """A write command: its arguments, the roles allowed to run it, its standard input.

    `by_row`: a refusal is a CSV import's report, one `error:` line and then the reason
    under each row it concerns.
    """

    args: Callable[[Org], list[str]]
    allowed: frozenset[str]
    stdin: str = ""
    by_row: bool = False


WRITES: dict[tuple[str, ...], Write] = {
    ("users", "add"): Write(
        lambda o: ["newbie", "--role", "editor", "--password-stdin"], ADMIN, NEW_PASSWORD + "\n"
    ),
    ("users", "passwd"): Write(
        lambda o: ["t_passwd", "--password-stdin"], ADMIN, NEW_PASSWORD + "\n"
    ),
    ("users", "disable"): Write(lambda o: ["t_disable"], ADMIN),
    ("users", "email"): Write(lambda o: ["t_email", "t.email@example.org"], ADMIN),
    ("users", "unlock"): Write(lambda o: ["t_unlock"], ADMIN),
    ("departments", "add"): Write(lambda o: ["Finanzen"], ADMIN),
    # A department's response target for the listening inbox: who manages departments.
    ("inbox", "target"): Write(lambda o: ["Marketing", "48"], ADMIN),
    ("ideas", "submit"): Write(
        lambda o: ["--title", "Neue Idee", "--pitch", "Worum es geht", "--department", "Marketing"],
        MARKETING_SUBMITTERS,
    ),
    ("ideas", "import"): Write(
        lambda o: [str(o.files["ideas"])], MARKETING_SUBMITTERS, by_row=True
    ),
    ("ideas", "accept"): Write(lambda o: [o.id("idea_accept")], EDITORIAL),
    ("ideas", "reject"): Write(
        lambda o: [o.id("idea_reject"), "--reason", "passt nicht"], EDITORIAL
    ),
    ("ideas", "merge"): Write(
        lambda o: [o.id("idea_merge"), "--into", o.id("idea_target")], EDITORIAL
    ),
    ("ideas", "reopen"): Write(lambda o: [o.id("idea_reopen")], EDITORIAL),
    ("pieces", "edit"): Write(lambda o: [o.id("piece_edit"), "--title", "Neuer Titel"], EDITORIAL),
    ("pieces", "submit"): Write(lambda o: [o.id("piece_submit")], EDITORIAL),
    ("pieces", "revise"): Write(lambda o: [o.id("piece_revise")], EDITORIAL),
    ("pieces", "archive"): Write(lambda o: [o.id("piece_archive")], EDITORIAL),
    ("pieces", "reopen"): Write(lambda o: [o.id("piece_reopen")], EDITORIAL),
    ("pieces", "approve"): Write(
        lambda o: [o.id("piece_approve"), "--revision", o.id("piece_approve_rev")], APPROVERS
    ),
    ("pieces", "request-changes"): Write(
        lambda o: [o.id("piece_request"), "--comment", "bitte kürzer"], APPROVERS
    ),
    ("pieces", "comment"): Write(lambda o: [o.id("piece_comment"), "Gute Idee"], STAFF),
    ("plan", "add"): Write(lambda o: [o.id("piece_plan"), "Blog", "2030-02-01 09:00"], EDITORIAL),
    ("plan", "move"): Write(lambda o: [o.id("post_move"), "2030-02-02 10:00"], EDITORIAL),
    ("plan", "cancel"): Write(lambda o: [o.id("post_plan_cancel")], EDITORIAL),
    ("plan", "series"): Write(
        lambda o: [
            o.id("piece_plan"),
            "Blog",
            "--rule",
            "FREQ=WEEKLY;COUNT=2",
            "--start",
            "2030-03-05 09:00",
        ],
        EDITORIAL,
    ),
    ("plan", "import"): Write(lambda o: [str(o.files["plan"])], EDITORIAL, by_row=True),
    ("plan", "cancel-series"): Write(lambda o: [o.id("series_cancel")], EDITORIAL),
    ("posts", "retry"): Write(lambda o: [o.id("post_retry")], EDITORIAL),
    ("posts", "cancel"): Write(lambda o: [o.id("post_cancel")], EDITORIAL),
    ("posts", "mark-posted"): Write(
        lambda o: [o.id("post_mark"), "--url", "https://blog.example/da"], EDITORIAL
    ),
    ("settings", "set"): Write(lambda o: ["max_lateness_hours", "12"], ADMIN),
    ("freeze",): Write(lambda o: ["on"], ADMIN),
    ("channels", "add"): Write(
        lambda o: ["recording", "Neu", "--secret", "token"], ADMIN, "token-neu\n"
    ),
    ("channels", "edit"): Write(lambda o: ["Blog", "--daily-cap", "7"], ADMIN),
    ("channels", "test"): Write(lambda o: ["Probe"], ADMIN),
    ("channels", "disable"): Write(lambda o: ["Spare"], ADMIN),
    ("backup",): Write(lambda o: [str(o.files["backup"])], ADMIN),
    ("audiences", "add"): Write(lambda o: ["Fachpresse", "--channel", "Blog"], ADMIN),
    ("audiences", "edit"): Write(lambda o: ["Endkunden", "--description", "Hausbesitzer"], ADMIN),
    ("audiences", "remove"): Write(lambda o: ["Presse"], ADMIN),
    ("audiences", "assign"): Write(lambda o: [o.id("piece_plan"), "Endkunden"], EDITORIAL),
    ("slots", "set"): Write(lambda o: ["Blog", "Di/Do 09:30"], ADMIN),
    ("plan", "queue"): Write(lambda o: [o.id("piece_plan"), "--channel", "Blog"], EDITORIAL),
    ("rules", "add"): Write(
        lambda o: [
            *("Neue Regel", "--kind", "max_hashtags", "--settings", "{max: 3}"),
            *("--message-de", "Höchstens drei", "--message-en", "At most three"),
        ],
        ADMIN,
    ),
    ("rules", "edit"): Write(lambda o: ["Regel edit", "--severity", "warn"], ADMIN),
    ("rules", "disable"): Write(lambda o: ["Regel disable"], ADMIN),
    ("rules", "import"): Write(lambda o: [str(o.files["rules"])], ADMIN),
    ("rules", "override"): Write(
        lambda o: [
            *(o.id("piece_approve"), "Regel override", "--revision", o.id("piece_approve_rev")),
            *("--justification", "Zitat eines Kunden, kein Werbeversprechen"),
        ],
        APPROVERS,
    ),
}

# Read commands with an option that writes.
WRITE_OPTIONS: dict[tuple[str, ...], Write] = {
    ("pieces", "history", "--restore"): Write(
        lambda o: [o.id("piece_restore"), "--restore", "1"], EDITORIAL
    ),
}


def test_every_write_command_is_in_the_matrix() -> None:
    commands = set(_leaf_commands())
    writes = NOT_READS - set(SKIP)

    assert set(SKIP) <= NOT_READS
    assert writes - set(WRITES) == set(), "add each new write command to WRITES (or SKIP)"
    assert set(WRITES) <= writes <= commands
    assert {path[:-1] for path in WRITE_OPTIONS} <= set(READS)


# --- the organisation ---------------------------------------------------------------------------


def _idea(
    world: World, title: str, author: User | None = None, department: str = "Marketing"
) -> int:
    submitted = ideas.submit_idea(
        world.session,
        actor=author or world.contributor,
        data={"title": title, "pitch": f"{title}: worum es geht", "department": department},
    )
    assert submitted.idea.id is not None
    return submitted.idea.id


def _piece(world: World, title: str, author: User | None = None) -> Piece:
    piece = ideas.accept_idea(
        world.session, actor=author or world.editor, idea_id=_idea(world, title)
    )
    assert piece.id is not None
    return piece


def _post(world: World, piece_id: int, day: int, status: PostStatus) -> int:
    s = world.session
    post = planning.plan_post(
        s, actor=world.editor, piece_id=piece_id, channel="Blog", when=utc(2030, 1, day, 8)
    )
    if status != PostStatus.planned:  # what the scheduler leaves behind
        post.status = status
        post.last_error = "503 beim Senden"
        s.add(post)
        s.commit()
    assert post.id is not None
    return post.id


@pytest.fixture
def org(world: World, tmp_path: Path) -> Org:
    s = world.session
    admin, editor2 = world.admin, world.editor2
    channels.create_channel(
        s,
        actor=admin,
        kind="webhook",
        name="Blog",
        settings={"url": "https://intranet.example/hook", "secret": "hook-secret-123456"},
    )
    channels.create_channel(s, actor=admin, kind="recording", name="Spare", settings={})
    probe = channels.create_channel(s, actor=admin, kind="recording", name="Probe", settings={})
    assert probe.id is not None
    channels.mark_needs_reconnect(s, channel_id=probe.id, message="401", actor=admin)
    for name in ("gone", "t_passwd", "t_disable", "t_email", "t_unlock"):
        world.user(name, Role.editor)
    users.set_disabled(s, actor=admin, username="gone")
    with pytest.raises(PlannerError):
        users.authenticate(s, username="t_unlock", password="falsch-geraten")

    for audience in ("Endkunden", "Presse"):
        audiences.create_audience(s, actor=admin, name=audience)
    slots.set_slot_plan(s, actor=admin, channel="Blog", slots="Mon 09:00")
    ids = {
        "idea_accept": _idea(world, "Messe Nachbericht"),
        "idea_reject": _idea(world, "Weihnachtsfeier Fotos"),
        "idea_merge": _idea(world, "Kundenstimmen Video"),
        "idea_target": _idea(world, "Sommerfest Rückblick"),
        "idea_reopen": _idea(world, "Betriebsausflug Bilder"),
    }
    ideas.reject_idea(s, actor=world.editor, idea_id=ids["idea_reopen"], reason="später")
    for name in ("edit", "submit", "archive", "comment", "plan", "restore"):
        piece = _piece(world, f"Beitrag {name}")
        assert piece.id is not None
        ids[f"piece_{name}"] = piece.id
    pieces.edit_piece(
        s,
        actor=world.editor,
        piece_id=ids["piece_restore"],
        expected_revision=1,
        data={"title": "Beitrag restore, zweite Fassung", "note": ""},
    )
    # Pieces in review written by the second editor: neither approver nor admin wrote them.
    for name in ("approve", "request", "revise"):
        piece = _piece(world, f"Review {name}", author=editor2)
        assert piece.id is not None
        piece = pieces.submit_piece(s, actor=editor2, piece_id=piece.id)
        ids[f"piece_{name}"] = piece.id or 0
        ids[f"piece_{name}_rev"] = piece.revision
    pieces.request_changes(
        s, actor=world.approver, piece_id=ids["piece_revise"], comment="bitte überarbeiten"
    )
    archived = _piece(world, "Beitrag reopen")
    assert archived.id is not None
    pieces.archive_piece(s, actor=world.editor, piece_id=archived.id)
    ids["piece_reopen"] = archived.id

    posted = ids["piece_plan"]
    ids["post_move"] = _post(world, posted, 10, PostStatus.planned)
    ids["post_plan_cancel"] = _post(world, posted, 11, PostStatus.planned)
    ids["post_cancel"] = _post(world, posted, 12, PostStatus.planned)
    ids["post_retry"] = _post(world, posted, 13, PostStatus.failed)
    ids["post_mark"] = _post(world, posted, 14, PostStatus.needs_check)
    series = planning.create_series(
        s,
        actor=world.editor,
        piece_id=posted,
        channel="Blog",
        rule="FREQ=WEEKLY;COUNT=2",
        start="2030-04-02 09:00",
        now=utc(2030, 3, 1),
    )
    ids["series_cancel"] = series.id or 0

    for name in ("edit", "disable", "override"):
        rules.add_rule(
            s,
            actor=admin,
            data={
                "name": f"Regel {name}",
                "kind": "forbidden_terms",
                "settings": {"terms": ["weltbeste"]},
                "message": {"de": "Keine Superlative", "en": "No superlatives"},
            },
        )
    files = {
        "rules": tmp_path / "rules.yaml",
        "ideas": tmp_path / "ideas.csv",
        "plan": tmp_path / "plan.csv",
        "backup": tmp_path / "planner.backup",
    }
    files["ideas"].write_text(
        "title,pitch,department\nImportierte Idee,Aus der Tabelle,Marketing\n", encoding="utf-8"
    )
    files["plan"].write_text(
        f"piece_id,channel,publish_at\n{posted},Blog,2030-04-01 09:00\n", encoding="utf-8"
    )
    files["rules"].write_text(
        "rules:\n- name: Importiert\n  kind: max_mentions\n  settings: {max: 5}\n"
        "  message: {de: Höchstens fünf, en: At most five}\n",
        encoding="utf-8",
    )
    return Org(world, ids, files)


# --- running commands ---------------------------------------------------------------------------


def _fingerprint(engine: Engine) -> dict[str, tuple[int, str]]:
    """Every table's row count and a hash of all its rows."""
    found: dict[str, tuple[int, str]] = {}
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = sorted(repr(tuple(row)) for row in conn.execute(table.select()))
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            found[table.name] = (len(rows), digest)
    return found


def _changed(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])


@pytest.fixture
def run(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[list[str], str], tuple[int, str]]:
    """Run a command in-process on the test database; returns (exit code, stdout + stderr)."""
    monkeypatch.setattr("planner.cli.common.engine", lambda: engine)
    monkeypatch.delenv("PLANNER_USER", raising=False)

    def call(argv: list[str], stdin: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        err = io.StringIO()
        code = cli.main(argv, stderr=err)
        return code, capsys.readouterr().out + err.getvalue()

    return call


# Why a role is refused, in words a person understands.
REFUSAL = re.compile(r"may not|may submit ideas only for their own department|is disabled|no user")


def _check(
    engine: Engine,
    run: Callable[[list[str], str], tuple[int, str]],
    org: Org,
    role: str,
    argv: list[str],
    write: Write,
) -> list[str]:
    """What is wrong with running `argv` as `role` (nothing: an empty list)."""
    name = " ".join(argv[:2])
    before = _fingerprint(engine)
    code, out = run([*argv, *write.args(org), "--as", role], write.stdin)
    changed = _changed(before, _fingerprint(engine))
    if role in write.allowed:
        if code != 0:
            return [f"{name}: refused ({out.strip()})"]
        if not changed:
            return [f"{name}: succeeded but changed nothing ({out.strip()})"]
        return []
    wrong = []
    lines = out.strip().splitlines()
    if code == 0:
        wrong.append(f"{name}: not refused ({out.strip()})")
    elif (
        not (len(lines) == 1 or (write.by_row and len(lines) == 2))
        or not lines[0].startswith("error: ")
        or not REFUSAL.search(lines[-1])
        or "Traceback" in out
    ):
        wrong.append(f"{name}: refused without a clear one-line reason: {out.strip()!r}")
    if changed:
        wrong.append(f"{name}: refused, but changed {changed}")
    return wrong


@pytest.mark.parametrize("role", ROLES)
def test_each_write_command_is_allowed_to_the_roles_the_dashboard_allows(
    org: Org, engine: Engine, run: Callable[[list[str], str], tuple[int, str]], role: str
) -> None:
    wrong: list[str] = []
    for path, write in sorted(WRITES.items()):
        wrong += _check(engine, run, org, role, list(path), write)
    for path, write in sorted(WRITE_OPTIONS.items()):
        wrong += _check(engine, run, org, role, list(path[:-1]), write)
    assert wrong == []


def test_nobody_approves_their_own_work(
    org: Org, engine: Engine, run: Callable[[list[str], str], tuple[int, str]]
) -> None:
    world = org.world
    world.user("admin2", Role.admin)
    own = _piece(world, "Vom Admin geschrieben", author=world.admin)
    assert own.id is not None
    own = pieces.submit_piece(world.session, actor=world.admin, piece_id=own.id)
    argv = ["pieces", "approve", str(own.id), "--revision", str(own.revision)]

    before = _fingerprint(engine)
    code, out = run([*argv, "--as", "admin"], "")
    assert (code, _changed(before, _fingerprint(engine))) == (1, [])
    assert out.startswith("error: ") and len(out.strip().splitlines()) == 1, out

    code, out = run([*argv, "--as", "admin2"], "")
    assert code == 0, out
    with Session(engine) as s:
        piece = s.get(Piece, own.id)
        assert piece is not None and piece.status.value == "approved"


@pytest.mark.parametrize("role", ["contrib", "editor", "approver"])
def test_everyone_sets_their_own_password_but_nobody_elses(
    org: Org, engine: Engine, run: Callable[[list[str], str], tuple[int, str]], role: str
) -> None:
    before = _fingerprint(engine)
    code, out = run(["users", "passwd", "t_passwd", "--password-stdin", "--as", role], "x\n")
    assert (code, "may not manage users" in out) == (1, True), out
    assert _changed(before, _fingerprint(engine)) == []

    code, out = run(["users", "passwd", role, "--password-stdin", "--as", role], NEW_PASSWORD)
    assert code == 0, out
    with Session(engine) as fresh:
        assert users.authenticate(fresh, username=role, password=NEW_PASSWORD).username == role


@pytest.mark.parametrize("action", ["accept", "reject", "reopen", "merge"])
def test_a_contributor_may_not_triage_ideas_whichever_the_idea(org: Org, action: str) -> None:
    """The refusal is the same for an idea of their department, of another one, or none."""
    world = org.world
    s = world.session
    hr_idea = _idea(world, "Personal Gehaltsrunde", world.hr_contributor, "HR")
    move = {
        "accept": lambda i: ideas.accept_idea(s, actor=world.contributor, idea_id=i),
        "reject": lambda i: ideas.reject_idea(s, actor=world.contributor, idea_id=i, reason="x"),
        "reopen": lambda i: ideas.reopen_idea(s, actor=world.contributor, idea_id=i),
        "merge": lambda i: ideas.merge_idea(
            s, actor=world.contributor, idea_id=i, into_id=org.ids["idea_target"]
        ),
    }[action]
    said = []
    for idea_id in (org.ids["idea_accept"], hr_idea, 999_999):
        with pytest.raises(PermissionDenied) as refused:
            move(idea_id)
        said.append(str(refused.value))

    assert said == [f"'contrib' (role contributor) may not {action} an idea"] * 3


def test_plan_series_takes_the_start_in_the_fold_that_its_offset_names(
    world: World,
    engine: Engine,
    run: Callable[[list[str], str], tuple[int, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """02:30 happens twice in Berlin on 2027-10-31: +0100 is the second (CET); without an
    offset or --fold the start is refused as `plan add` refuses that time; a rule part that
    is not NAME=VALUE is named."""
    monkeypatch.setattr("planner.planning.utcnow", lambda: utc(2027, 10, 1))
    channels.create_channel(world.session, actor=world.admin, kind="recording", name="Spare")
    piece = _piece(world, "Zeitumstellung")
    series = ["plan", "series", str(piece.id), "Spare", "--tz", "Europe/Berlin", "--as", "editor"]
    daily = ["--rule", "FREQ=DAILY;COUNT=2"]

    before = _fingerprint(engine)
    code, out = run([*series, *daily, "--start", "2027-10-31 02:30"], "")
    assert (code, _changed(before, _fingerprint(engine))) == (1, []), out
    twice = (
        "2027-10-31 02:30 happens twice in Europe/Berlin (clocks go back that night): "
        "02:30 CEST (UTC+0200) or 02:30 CET (UTC+0100). Say which by adding the offset, "
        "e.g. '2027-10-31 02:30+0200'."
    )
    assert out == f"error: invalid input\n  start: {twice}\n"
    single = ["plan", "add", str(piece.id), "Spare", "2027-10-31 02:30", *series[-4:]]
    assert run(single, "") == (1, f"error: invalid input\n  publish_at: {twice}\n")

    code, out = run([*series, "--rule", "garbage;COUNT=3", "--start", "2027-10-30 09:00"], "")
    assert (code, _changed(before, _fingerprint(engine))) == (1, []), out
    assert "the rule's part 'GARBAGE' is not NAME=VALUE (such as COUNT=6)" in out
    assert "unpack" not in out

    code, out = run([*series, *daily, "--start", "2027-10-31 02:30+0100"], "")
    assert code == 0, out
    posts = planning.list_posts(world.session, actor=world.editor, piece_id=piece.id)
    assert [p.publish_at for p in posts] == [utc(2027, 10, 31, 1, 30), utc(2027, 11, 1, 1, 30)]

    other = _piece(world, "Zeitumstellung, zweiter Teil")
    series[2] = str(other.id)
    code, out = run([*series, *daily, "--start", "2027-10-31 02:30", "--fold", "later"], "")
    assert code == 0, out
    posts = planning.list_posts(world.session, actor=world.editor, piece_id=other.id)
    assert [p.publish_at for p in posts] == [utc(2027, 10, 31, 1, 30), utc(2027, 11, 1, 1, 30)]
