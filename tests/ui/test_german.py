"""The German dashboard reads as German: every page, for every role that may open it, on the
demo organisation, shows no English word outside a short allow-list.

The visible text is read from every element Streamlit sent (markdown, captions, alerts,
labels, help texts, placeholders, options, table cells, metrics, tabs, expanders). What
people wrote (the demo's titles, texts, names, comments; some of its contributors write
in English) is taken out first: only the dashboard's own words are judged. A word is
English when it is in `english_words.txt`, a raw identifier (`instance_url`) or a Python
value (`None`, `False`).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block, Dataframe, Html

import planner
import publishers
from planner import notifications, workflow
from planner.db import make_engine
from planner.demo import load_content, load_demo
from planner.migrate import upgrade
from planner.models import Channel, Piece, Post, PostStatus, Role
from planner.ui import i18n, keys
from planner.ui.app import PAGES_BY_ROLE
from publishers.base import Media, OutgoingPost
from publishers.manual import ManualPublisher
from tests.ui import marked
from tests.ui.conftest import PASSWORD, open_page, shown_when, sign_in

# The demo's people, one per role (all of them work in German).
DEMO_USER = {
    Role.contributor: "julia.schneider",
    Role.editor: "lena.hoffmann",
    Role.approver: "sabine.krueger",
    Role.admin: "admin",
}
ENGLISH = frozenset(
    line.strip()
    for line in (Path(__file__).with_name("english_words.txt")).read_text("utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
# Names and loanwords German uses as they are, even where they look English.
ALLOWED = frozenset({"post", "posts", "feed", "newsletter", "webhook", "english"})
# Quoted in German quotation marks: a value or a name taken literally (a CSV column);
# and addresses (a link to share), which are the same in every language.
_QUOTED = re.compile(r"„[^“]*“|(?<!\S)(?:https?://|/\?)\S+")
_WORD = re.compile(r"[^\W\d_]+(?:_[^\W\d_]+)*")
_PYTHON_VALUES = frozenset({"None", "True", "False"})
# Proto fields that are addresses, ids or formats, never read as text.
_NOT_TEXT = frozenset(
    {"id", "form_id", "format", "type", "icon", "default", "page", "url", "tag", "theme"}
    | {"name", "spec", "deferred_file_id", "language", "min", "max", "value_format", "css"}
    | {"query_string"}  # a link's query (`piece=4`): part of its address, not shown
)

# Its module-wide set-up (a server, a loaded demo) is made once: with `--dist loadgroup`,
# every test of this module runs in the same xdist worker.
pytestmark = pytest.mark.xdist_group("german")


def english_words(text: str) -> list[str]:
    """The English words in `text`: listed words, identifiers and Python values."""
    found = []
    for word in _WORD.findall(text):
        lower = word.lower()
        if lower in ALLOWED:
            continue
        if word in _PYTHON_VALUES or "_" in word or lower in ENGLISH:
            found.append(word)
    return found


def _strings(message: Any) -> Iterator[str]:
    """Every text field of a Streamlit proto message, nested ones included."""
    for field, value in message.ListFields():
        if field.name in _NOT_TEXT:
            continue
        values = value if type(value).__name__.startswith("Repeated") else [value]
        for item in values:
            if isinstance(item, str):
                yield item
            elif hasattr(item, "ListFields"):
                yield from _strings(item)


def component_texts(json_args: str) -> list[str]:
    """What the interactive calendar (a component in its own frame) shows of its arguments:
    its cards' and marks' titles and every text of its locale (buttons, hints, empty list)."""
    args = json.loads(json_args)
    texts = [str(event.get("title", "")) for event in args.get("events", [])]
    locale = args.get("options", {}).get("locale", {})

    def walk(value: object) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk({name: value for name, value in locale.items() if name != "code"})
    return texts


def visible_texts(at: AppTest) -> list[str]:
    """Every text the page shows, from every element and container of the last run."""
    texts: list[str] = []
    for node in at._tree:
        if getattr(node, "type", "") == "component_instance":
            texts += component_texts(node.proto.json_args)
        elif isinstance(node, Block):
            texts.append(str(getattr(node, "label", "") or ""))
        elif isinstance(node, Html):
            texts.append(marked.text_of(node.value))
        elif isinstance(node, Dataframe):
            frame = node.value
            texts += [str(c) for c in frame.columns]
            texts += [str(v) for v in frame.to_numpy().ravel()]
        else:
            texts += list(_strings(node.proto))
    return [text for text in texts if text]


def _user_texts() -> list[str]:
    """What people wrote in the demo (and each line of it), longest first."""
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.update(line.strip() for line in [value, *value.splitlines()] if line.strip())
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    content = load_content()
    walk({k: v for k, v in content.items() if k != "bulk"})
    return sorted((text for text in found if len(text) > 1), key=len, reverse=True)


USER_TEXTS = _user_texts()
_WRITTEN = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(text) for text in USER_TEXTS) + r")(?!\w)")


def dashboard_words(text: str) -> str:
    """`text` without what people wrote in it (whole words only) and what it quotes."""
    return _QUOTED.sub(" ", _WRITTEN.sub(" ", text))


def leaks(at: AppTest) -> list[tuple[str, str]]:
    """(word, the text it stands in) for every English word the dashboard itself shows."""
    found = []
    for text in visible_texts(at):
        for word in english_words(dashboard_words(text)):
            found.append((word, text[:160]))
    return found


# What a German reader should never see, whoever wrote the words around it: a date or a
# moment in ISO form or in UTC (the dashboard writes them in the reader's zone, 24.12.2026
# 09:30 CET), a plural left open ("Post(s)") or a plural for one ("1 Ereignisse"), a number
# in English form or a gap read as one (a table cell "2.0", "nan") and a placeholder left
# unfilled.
_MISREAD = {
    "ISO date": re.compile(r"(?<![\d.])\d{4}-\d{2}-\d{2}(?!\d)"),
    "UTC": re.compile(r"\bUTC\b|\d\d:\d\d(?::\d\d)?[+-]\d\d:\d\d"),
    "open plural": re.compile(r"\w(?<!http)\(s\)|\w\(n\)"),
    "plural for one": re.compile(
        r"(?<![\d.,])1 (?:Ereignisse|Posts|Beiträge|Ideen|Einträge|Versuche|Benachrichtigungen)\b"
    ),
    # (German groups thousands with a point: 18.510 is a number written right.)
    "English number": re.compile(r"^(?:-?(?!\d{1,3}(?:\.\d{3})+$)\d+\.\d+|nan|NaN|None)$"),
    "placeholder": re.compile(r"\{[a-z_]+\}"),
}


def misread(text: str) -> list[str]:
    """What is wrong with the dates, times, plurals and numbers in `text` (see `_MISREAD`)."""
    return [name for name, pattern in _MISREAD.items() if pattern.search(text)]


def misreadings(at: AppTest) -> list[tuple[str, str]]:
    """(what is wrong, the text it stands in) for every date, time, plural or number the
    page shows in a form a German reader would not write."""
    return [
        (name, text[:160]) for text in visible_texts(at) for name in misread(dashboard_words(text))
    ]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo organisation, loaded once for the module."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with Session(engine, expire_on_commit=False) as s:
        load_demo(s, password=PASSWORD)
    engine.dispose()
    return path


@pytest.fixture
def demo(demo_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh copy of the demo database for one test, as the dashboard's database."""
    path = tmp_path / "demo.db"
    shutil.copy(demo_file, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("PLANNER_DATABASE_URL", url)
    return url


def _german(role: Role, page: str) -> AppTest:
    at = sign_in(DEMO_USER[role], PASSWORD)
    at.session_state[keys.LANGUAGE] = "de"
    return open_page(at, page)


def _views(at: AppTest, page: str) -> Iterator[AppTest]:
    """The page as opened, then in the states that show more of it."""
    yield at
    if page == "calendar":
        for view in ("week", "list"):
            yield at.radio(key=keys.CAL_VIEW).set_value(view).run()
        # The parts drawn only while open: the series tab, the move form, the calendar
        # feeds and the CSV panel.
        for key in (keys.CAL_MOVE_OPEN, keys.CAL_FEED_OPEN, keys.CSV_OPEN + "plan"):
            at.session_state[key] = True
        at.session_state[keys.CAL_PLAN_TABS] = i18n.translate("de", "calendar.tab.series")
        yield at.run()
    elif page == "inbox":
        at.session_state[keys.CSV_OPEN + "ideas"] = True
        yield at.run()
    elif page == "channels":
        for kind in _shipped_adapters():  # the new-channel form of every kind
            yield at.selectbox(key=keys.CHANNELS_KIND).set_value(kind).run()
        picks = at.selectbox(key=keys.CHANNELS_PICK)
        for index in range(1, len(picks.options)):
            yield at.selectbox(key=keys.CHANNELS_PICK).select_index(index).run()
    elif page in ("audiences", "slots"):  # each audience's or channel's form
        key = keys.AUDIENCES_PICK if page == "audiences" else keys.SLOTS_CHANNEL
        for index in range(1, len(at.selectbox(key=key).options)):
            yield at.selectbox(key=key).select_index(index).run()
    elif page == "activity":
        actions = at.selectbox(key=keys.ACTIVITY_ACTION)
        for index in range(1, len(actions.options)):
            yield at.selectbox(key=keys.ACTIVITY_ACTION).select_index(index).run()


PAGES = [
    pytest.param(role, page, id=f"{role}-{page}") for role in Role for page in PAGES_BY_ROLE[role]
]


@pytest.mark.parametrize(("role", "page"), PAGES)
def test_every_page_speaks_german_to_every_role(demo: str, role: Role, page: str) -> None:
    found, shown = [], set()
    for at in _views(_german(role, page), page):
        assert not at.exception, at.exception
        found += leaks(at) + misreadings(at)
        found += [("date format", d.label) for d in at.date_input if d.format != "DD.MM.YYYY"]
        # Without a placeholder of its own, Streamlit says "Choose options" in English.
        found += [("placeholder", m.label) for m in at.multiselect if not m.proto.placeholder]
        shown.update(visible_texts(at))
    assert sorted(set(found)) == []
    if page == "calendar":  # the parts drawn only while open were drawn
        assert i18n.translate("de", "calendar.feeds.name") in shown
        if role != Role.approver:  # who may plan: the series tab, the CSV panel
            assert {
                i18n.translate("de", k) for k in ("calendar.series_preset", "csv.file")
            } <= shown
    if page == "channels":  # the forms of the kinds were drawn
        assert {i18n.translate("de", f"channels.setting.{n}") for n in ("handle", "room")} <= shown


def _hand_over(database: str, post_id: int) -> str:
    """Let the XING adapter hand post `post_id` to a person, as the scheduler would; returns
    the text it asks them to paste."""
    engine = make_engine(database)
    with Session(engine) as s:
        post = s.get(Post, post_id)
        channel = s.get(Channel, post.channel_id) if post else None
        assert post is not None and channel is not None and channel.kind == "manual"
        text = "Wir suchen Mechatroniker:innen für Kältetechnik."
        outgoing = OutgoingPost(
            post_id=post_id,
            title="Ausbildung",
            text=text,
            media=[Media(url="https://lindenbach.example/azubis.jpg", alt_text="Azubis im Werk")],
        )
        post.status = PostStatus.awaiting_manual
        post.last_error = ManualPublisher(channel.settings).instructions(outgoing)
        s.add(post)
        s.commit()
    engine.dispose()
    return text


def test_the_manual_posts_instructions_are_german_and_point_at_the_button(demo: str) -> None:
    xing_post = 18  # the demo plans post #18 on XING
    text = _hand_over(demo, xing_post)
    at = _german(Role.editor, "publishing")
    at.selectbox(key=keys.PUB_POST).set_value(xing_post).run()
    assert not at.exception
    assert leaks(at) == []
    assert [c.value for c in at.code] == [text]
    said = " ".join(m.value for m in at.markdown)
    assert "XING" in said and "https://www.xing.com/pages/lindenbach-waermetechnik-demo" in said
    assert "„Als veröffentlicht markieren“ klicken" in said
    assert "python -m planner" not in said
    assert [t.value for t in at.text if "azubis.jpg" in t.value] == [
        "https://lindenbach.example/azubis.jpg – Azubis im Werk"
    ]


def test_a_connection_test_answers_in_german(demo: str) -> None:
    xing = 6  # the demo's sixth channel, posted by hand
    at = _german(Role.admin, "channels")
    at.selectbox(key=keys.CHANNELS_PICK).set_value(xing).run()
    at.button(key=keys.CHANNELS_TEST).click().run()
    assert not at.exception
    assert [s.value for s in at.success] == [
        "Verbindung in Ordnung: Keine Verbindung nötig: Posts für XING werden von Hand auf "
        "https://www.xing.com/pages/lindenbach-waermetechnik-demo veröffentlicht"
    ]
    assert leaks(at) == []


def test_the_activity_log_says_when_a_post_was_planned_for_in_the_readers_time(
    demo: str,
) -> None:
    engine = make_engine(demo)
    with Session(engine) as s:
        post = s.get(Post, 1)
        assert post is not None
        planned = f"Beitrag {post.piece_id} auf Kanal {post.channel_id}, " + shown_when(
            post.publish_at, "de"
        )
    engine.dispose()
    at = _german(Role.editor, "activity")
    at.selectbox(key=keys.ACTIVITY_ACTION).set_value("plan").run()
    assert not at.exception
    notes = list(at.main.dataframe[0].value["Notiz"])
    assert planned in notes
    assert [n for n in notes if not re.fullmatch(r"Beitrag \d+ auf Kanal \d+, .+ CES?T", n)] == []


def test_an_approver_reads_a_changed_due_date_as_a_german_date(demo: str) -> None:
    at = _german(Role.approver, "approvals")
    assert not at.exception
    [link] = [t.value for t in at.main.text if t.value.startswith("Link zu Beitrag Nr.")]
    engine = make_engine(demo)
    with Session(engine) as s:
        piece = s.get(Piece, int(link.removeprefix("Link zu Beitrag Nr. ").split(",")[0]))
        assert piece is not None and piece.due_date is not None
        due = piece.due_date
    engine.dispose()
    shown = [marked.text_of(h.value) for h in at.main.get("html")]
    assert f"{due:%d.%m.%Y}" in shown
    assert [text for text in shown if due.isoformat() in text] == []


def test_the_channel_table_writes_daily_caps_as_whole_numbers_or_unlimited(demo: str) -> None:
    at = _german(Role.admin, "channels")
    assert not at.exception
    caps = list(at.main.dataframe[0].value["Tageslimit"])
    assert "unbegrenzt" in caps
    assert [cap for cap in caps if cap != "unbegrenzt" and not cap.isdigit()] == []


def test_a_listening_source_never_read_says_so_in_plain_german(demo: str) -> None:
    at = _german(Role.editor, "listening")
    assert not at.exception
    lines = [t.value for t in at.main.text if t.value.startswith("Kanal ")]
    assert lines
    assert [line for line in lines if not line.endswith(" – zuletzt gelesen: noch nie")] == []


@pytest.fixture
def file_names(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the pages' download buttons offer (made when clicked)."""
    names: list[str] = []
    real = MediaFileManager.add_deferred

    def add_deferred(
        self: MediaFileManager, data: Any, mimetype: Any, *args: Any, **kw: Any
    ) -> str:
        names.append(str(kw.get("file_name") or (args[1] if len(args) > 1 else "")))
        return real(self, data, mimetype, *args, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return names


def test_the_files_a_german_admin_downloads_have_german_names(
    demo: str, file_names: list[str]
) -> None:
    for page in ("activity", "process", "calendar", "inbox"):
        at = sign_in(DEMO_USER[Role.admin], PASSWORD)
        at.session_state[keys.LANGUAGE] = "de"
        at.session_state[keys.CSV_OPEN + "plan"] = True
        at.session_state[keys.CSV_OPEN + "ideas"] = True
        assert not open_page(at, page).exception
    assert set(file_names) >= {
        "aktivitaet.csv",
        "prozessbericht.csv",
        "prozessbericht.html",
        "freigabebericht.csv",
        "freigabebericht.html",
        "redaktionsplan.csv",
        "ideen.csv",
    }
    assert [
        name for name in file_names if re.fullmatch(r"[a-z]+\.(csv|html|ics)", name) is None
    ] == []


def test_the_detector_finds_an_english_text_planted_on_a_page(demo: str) -> None:
    german = i18n.catalogue("de")
    kept = german["submit.heading"]
    german["submit.heading"] = "Submit your idea"
    try:
        at = _german(Role.contributor, "submit_idea")
    finally:
        german["submit.heading"] = kept
    assert ("your", "Submit your idea") in leaks(at)


def test_the_detector_reads_the_interactive_calendars_frame(demo: str) -> None:
    german = i18n.catalogue("de")
    kept = german["calendar.fc.held"], german["calendar.fc.today"]
    german["calendar.fc.held"] = "held by the channel: {reason}"  # on the demo's cards
    german["calendar.fc.today"] = "this day"  # a button text of the calendar's locale
    try:
        at = _german(Role.editor, "calendar")
    finally:
        german["calendar.fc.held"], german["calendar.fc.today"] = kept
    found = {word for word, _text in leaks(at)}
    assert {"the", "channel", "this"} <= found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Version 2, erstellt aus Idee #38", [], id="german"),
        pytest.param("created from idea #38", ["created", "from", "idea"], id="note"),
        pytest.param("instance_url: None", ["instance_url", "None"], id="raw-setting"),
        pytest.param("Post auf Mastodon, Newsletter und Feed", [], id="allowed"),
    ],
)
def test_english_words_are_told_from_german_ones(text: str, expected: list[str]) -> None:
    assert english_words(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1 Ereignis · 3 Ereignisse · 07.12.2026 17:00 CET", [], id="german"),
        pytest.param("Fällig am 2026-12-23", ["ISO date"], id="iso-date"),
        pytest.param("Beitrag 1 auf Kanal 3, 07.12.2026 08:00 UTC", ["UTC"], id="utc"),
        pytest.param("2026-12-07T08:00+00:00", ["ISO date", "UTC"], id="iso-moment"),
        pytest.param("07.12.2026 (4 Post(s))", ["open plural"], id="open-plural"),
        pytest.param("1 Ereignisse", ["plural for one"], id="plural-for-one"),
        pytest.param("2.0", ["English number"], id="float-cell"),
        pytest.param("nan", ["English number"], id="gap-cell"),
        pytest.param("Noch {count} Posts", ["placeholder"], id="placeholder"),
        pytest.param("12.5", ["English number"], id="decimal-cell"),
        pytest.param("18.510", [], id="thousands-cell"),
        pytest.param("keine http(s)-Adresse, BITV 2.0, 11 Posts", [], id="allowed"),
    ],
)
def test_misread_dates_plurals_and_numbers_are_found(text: str, expected: list[str]) -> None:
    assert misread(text) == expected


def test_what_people_wrote_is_not_judged() -> None:
    english_title = "Open beta of the Lindenbach Home app 3.0"
    assert english_title in USER_TEXTS
    assert english_words(dashboard_words(f"#21 {english_title} (eingereicht)")) == []


def _shipped_adapters() -> dict[str, Any]:
    """The adapters the planner ships (tests add their own to the registry)."""
    return {
        kind: cls
        for kind, cls in publishers.REGISTRY.items()
        if cls.__module__.startswith("publishers.")
    }


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_channel_setting_has_a_label_and_a_help_text(lang: str) -> None:
    texts = i18n.catalogue(lang)
    wanted = [f"channels.kind_name.{kind}" for kind in _shipped_adapters()]
    for kind, cls in _shipped_adapters().items():
        for spec in cls.settings_spec:
            wanted += [f"channels.setting.{spec.name}", f"channels.setting_help.{kind}.{spec.name}"]
    assert len(wanted) > 100
    assert [key for key in wanted if key not in texts] == []


def _recorded_actions() -> set[str]:
    """Every action the planner writes into the audit log."""
    found = {str(action) for table in workflow.TABLES.values() for _state, action in table}
    found |= {"enable", "disable"}  # chosen by a flag (channels, accounts)
    for path in Path(planner.__file__).parent.rglob("*.py"):
        if "cli" in path.parts:
            continue  # argparse's own action= keywords
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            if getattr(node.func, "attr", "") == "spend":
                continue  # a spent form token names what the form made, not an audit action
            for keyword in node.keywords:
                value = keyword.value
                if keyword.arg == "action" and isinstance(value, ast.Constant):
                    found.add(str(value.value))
            if getattr(node.func, "id", "") == "_audit_attempt":
                action = node.args[2]  # (session, user, action, note)
                if isinstance(action, ast.Constant):
                    found.add(action.value)
    return found


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_audited_action_and_object_has_a_name(lang: str) -> None:
    texts = i18n.catalogue(lang)
    actions = _recorded_actions()
    assert {"accept", "plan", "login_failed", "disable"} <= actions
    assert sorted(a for a in actions if f"activity.did.{a}" not in texts) == []
    kinds = {"channel", "department", "idea", "piece", "post", "series", "setting", "user"}
    assert sorted(k for k in kinds if f"activity.object.{k}" not in texts) == []


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_kind_of_notification_has_its_text_and_its_choice(lang: str) -> None:
    texts = i18n.catalogue(lang)
    wanted = [
        f"notifications.{part}.{kind}" for kind in notifications.KINDS for part in ("kind", "pref")
    ]
    assert "notifications.kind.series_unplaced" in wanted
    assert [key for key in wanted if key not in texts] == []
