"""Dashboard fixtures: a migrated SQLite database with a few users, and AppTest helpers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

import pytest
from sqlmodel import Session
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Block

from planner import ideas, planning, users
from planner.db import get_engine, make_engine
from planner.models import PostStatus, User
from planner.timezones import to_local
from planner.ui import keys
from planner.ui.app import page_path
from planner.ui.i18n import translate
from tests.conftest import swap_in_copy

APP = str(Path(__file__).resolve().parents[2] / "planner_app.py")
PASSWORD = token_urlsafe(16)  # made per run: no credential lives in the code


@pytest.fixture(scope="session")
def _ui_database_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one path of this test process's dashboard database (see `database`)."""
    return tmp_path_factory.mktemp("ui") / "ui.db"


@pytest.fixture
def database(
    _ui_database_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A migrated SQLite database with an admin, an editor and a contributor with an idea.

    Every test of a process gets a fresh database behind the same path (`swap_in_copy`),
    so the dashboard's engine for it (`get_engine`, kept per URL) is the same one, with its
    statements compiled once per process; its pooled connections to the database before
    are closed first."""
    url = f"sqlite:///{_ui_database_path}"
    monkeypatch.setenv("PLANNER_DATABASE_URL", url)
    get_engine(url).dispose()
    swap_in_copy(sqlite_template, _ui_database_path)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as s:
        admin = account(s, actor=None, username="admin", role="admin")
        users.create_department(s, actor=admin, name="HR")
        account(
            s, actor=admin, username="ed", role="editor", display_name="Eda Editor", locale="en"
        )
        contrib = account(s, actor=admin, username="lena", role="contributor", department="HR")
        ideas.submit_idea(
            s,
            actor=contrib,
            data={
                "title": "Azubi-Tag <b>2027</b>",
                "pitch": "Azubis zeigen ihren Alltag",
                "department": "HR",
            },
        )
    engine.dispose()
    return url


def account(
    s: Session,
    *,
    actor: User | None,
    username: str,
    role: str,
    display_name: str | None = None,
    **extra: str,
) -> User:
    """One more account with the test password (its display name: the username, titled)."""
    return users.create_user(
        s,
        actor=actor,
        data={
            "username": username,
            "display_name": display_name or username.title(),
            "role": role,
            "password": PASSWORD,
            **extra,
        },
    )


def add_user(database: str, username: str, role: str, **extra: str) -> None:
    """One more account with the test password, made by the admin."""
    engine = make_engine(database)
    with Session(engine) as s:
        account(s, actor=users.get_user(s, "admin"), username=username, role=role, **extra)
    engine.dispose()


@pytest.fixture
def exports(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], Any]]:
    """The CSV generators a page hands to Streamlit, which runs them on a click."""
    made: list[Callable[[], Any]] = []
    real = MediaFileManager.add_deferred

    def add_deferred(self: MediaFileManager, data_callable: Any, *args: Any, **kw: Any) -> str:
        made.append(data_callable)
        return real(self, data_callable, *args, **kw)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return made


def sign_in(username: str, password: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input(key=keys.SIGN_IN_USERNAME).input(username)
    at.text_input(key=keys.SIGN_IN_PASSWORD).input(password)
    at.button[0].click().run()
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    """Switch a signed-in AppTest to one dashboard page (by its file name) and run it."""
    return at.switch_page(str(page_path(page).relative_to(Path(APP).parent))).run()


def opened(at: AppTest, key: str, value: object = True) -> AppTest:
    """Open a part of the page that is drawn only while open, as a click on it does (an
    expander by its key; a tab by its group's key and the tab's label), and run it."""
    at.session_state[key] = value
    return at.run()


def shown_when(instant: datetime, lang: str, tz_name: str = "Europe/Berlin") -> str:
    """How the dashboard writes a moment for a user of `lang` in `tz_name`."""
    return to_local(instant, tz_name).strftime(translate(lang, "format.datetime"))


def set_post_status(database: str, post_id: int, status: PostStatus) -> None:
    """Put a post where only the scheduler puts it."""
    engine = make_engine(database)
    with Session(engine) as s:
        post = planning.get_post(s, actor=users.get_user(s, "admin"), post_id=post_id)
        post.status = status
        s.add(post)
        s.commit()
    engine.dispose()


class _BarTable(HTMLParser):
    """Reads a bar chart's HTML table (`charts.bars_html`) as text: its caption and rows."""

    def __init__(self) -> None:
        super().__init__()
        self.caption = ""
        self.rows: list[list[str]] = []
        self.bars: list[list[str]] = []  # each row's bar segments' styles
        self._cell: list[str] | None = None
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "caption":
            self._in_caption = True
        elif tag == "tr":
            self.rows.append([])
            self.bars.append([])
        elif tag in ("th", "td"):
            self._cell = []
        elif tag == "span" and self.bars and (dict(attrs).get("style") or "").startswith("width:"):
            self.bars[-1].append(dict(attrs).get("style") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self._in_caption = False
        elif tag in ("th", "td") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self.caption += data
        elif self._cell is not None:
            self._cell.append(data)


def bar_chart(body: str) -> _BarTable:
    """A bar chart's HTML read back (caption, rows as text with the header first, and each
    row's bar segments)."""
    read = _BarTable()
    read.feed(body)
    return read


def charts_shown(at: AppTest) -> list[_BarTable]:
    """Each bar chart on the page (`charts.bars`), read back as text."""
    return [bar_chart(h.proto.body) for h in at.main.get("html") if "planner-bars" in h.proto.body]


def kept_whole(at: AppTest, key: str) -> Block:
    """The container keyed `key`, after checking that the page keeps its words whole."""
    [style] = [h.proto.body for h in at.get("html") if f".st-key-{key} *" in h.proto.body]
    assert "word-break: normal !important" in style
    assert "overflow-wrap: normal !important" in style
    [block] = [b for b in at.main.get("flex_container") if b.proto.id.endswith(f"-{key}")]
    assert isinstance(block, Block)
    return block
