"""Text typed in the Editor and sent along with a click on another page becomes a draft.

A text field sends its text when it loses the focus, and a click on a page in the sidebar
takes the focus away: the browser sends the text (a run of the Editor) and at once the
switch of page, which carries only the sidebar's widgets. Here both requests go to the
real dashboard server (`python -m planner serve`) back to back over Streamlit's own
protocol: closer together than a person's click sends them, which is what a busy server
makes of them. Streamlit 1.67 on its own let the switch win: the text never reached a run
and no draft was kept, in every round. `planner.ui.rerun_merge` carries the text into the
new page's run, which keeps it (`planner.ui.unsaved`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import Session

from bench.protocol import Session as Tab
from bench.protocol import text_value
from planner import drafts, pieces, users
from planner.db import make_engine
from planner.ui import keys
from tests.ui.test_e2e_browser import PASSWORD, Org, org, serving

__all__ = ["org"]  # the fixture, used by name

ROUNDS = 12
TITLE = "Sommerfest"


def _draft_body(url: str, piece_id: int) -> str | None:
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            draft = drafts.get_draft(s, actor=users.get_user(s, "eddi"), piece_id=piece_id)
            return None if draft is None else draft.body
    finally:
        engine.dispose()


def test_text_sent_with_a_switch_of_page_is_kept_as_a_draft(org: Org, tmp_path: Path) -> None:
    engine = make_engine(org.url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            piece = pieces.create_piece(
                s, actor=users.get_user(s, "eddi"), data={"title": TITLE, "body": "Alter Text."}
            )
            assert piece.id is not None
            piece_id = piece.id
    finally:
        engine.dispose()

    async def rounds(url: str) -> tuple[list[tuple[str, str | None]], str]:
        kept: list[tuple[str, str | None]] = []
        async with Tab(url) as tab:
            await tab.sign_in("eddi", PASSWORD)
            for number in range(ROUNDS):
                editor = await tab.run(page="editor")
                title = editor.widget("text_input", keys.EDITOR_TITLE)
                body = editor.widget("text_area", keys.EDITOR_BODY)
                typed = f"Neuer Text {number}, nie gespeichert."
                await tab.send(
                    page="editor",
                    widgets=[text_value(title.id, TITLE), text_value(body.id, typed)],
                )
                await tab.send(page="board")
                board = await tab.finish(page="board")
                assert board.exceptions == []
                kept.append((typed, _draft_body(org.url, piece_id)))
            back = await tab.run(page="editor")
            return kept, back.widget("text_area", keys.EDITOR_BODY).value

    with serving(org.url, tmp_path / "serve.log", scheduler=False) as server:
        kept, shown = asyncio.run(rounds(server.url))
        lost = [typed for typed, draft in kept if draft != typed]
        assert lost == [], f"not kept as a draft: {lost}\n{server.logs()}"
    # Opened again, the Editor shows the last text typed.
    assert shown == kept[-1][0]
