"""A dashboard session over Streamlit's own websocket protocol, without a browser.

What a browser tab does, reduced to the messages: it opens `/_stcore/stream` (subprotocol
"streamlit"), asks for a script run with a `BackMsg.rerun_script` (the page's script hash
and the widgets' values), and the server answers with `ForwardMsg`s: a new session, the
page's deltas, and `script_finished`. A page view is timed from sending the request to the
`script_finished` of the run that completed (runs ended early for a rerun, as after
signing in, are followed to the next one), so it is the server's answer time, without a
browser building the page. Widgets are found by their key (the end of a keyed widget's
id), so the language of the page does not matter.

Used by `bench/load.py --client protocol`, and by `tests/ui/test_typed_then_leave.py`, which
sends requests closer together than a browser usually does. Nothing here is a test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from planner.ui import keys

FINISHED = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_SUCCESSFULLY")
TIMEOUT = 60.0  # s: one run's answer


class ProtocolError(RuntimeError):
    """The server's answer was not what a page view expects."""


@dataclass
class Run:
    """What one script run sent back."""

    elements: list[Any] = field(default_factory=list)
    pages: dict[str, str] = field(default_factory=dict)  # url path -> page script hash
    page: str = ""  # the script hash of the page the run drew
    exceptions: list[str] = field(default_factory=list)
    received: int = 0  # bytes
    messages: int = 0

    def widget(self, kind: str, key: str | None = None, **where: object) -> Any:
        """The first widget of `kind` whose id ends with `key` and whose fields match."""
        for element in self.elements:
            if element.WhichOneof("type") != kind:
                continue
            widget = getattr(element, kind)
            if key is not None and not widget.id.endswith(f"-{key}"):
                continue
            if all(getattr(widget, name) == value for name, value in where.items()):
                return widget
        raise ProtocolError(f"no {kind} widget {key or where!r} in the run")


class Session:
    """One browser tab's worth of protocol: a websocket and the app's pages."""

    def __init__(self, url: str) -> None:
        self.ws_url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.ws: ClientConnection | None = None
        self.pages: dict[str, str] = {}  # url path (the default page: title) -> hash
        self.titles: dict[str, str] = {}  # title -> hash

    async def __aenter__(self) -> Session:
        self.ws = await connect(
            self.ws_url, subprotocols=[Subprotocol("streamlit")], max_size=None, open_timeout=30
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def send(
        self,
        *,
        page: str | None = None,
        title: str | None = None,
        widgets: Sequence[WidgetState] = (),
    ) -> None:
        """Ask for a script run (of `page`'s script, if given), without waiting for it."""
        assert self.ws is not None
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        state.context_info.timezone = "Europe/Berlin"
        state.context_info.locale = "de-DE"
        state.context_info.url = self.ws_url.replace("ws://", "http://").removesuffix(
            "/_stcore/stream"
        ) + (f"/{page}" if page else "/")
        if page is not None:
            found = self.pages.get(page) or self.titles.get(title or "")
            if found is None:
                raise ProtocolError(f"no page {page!r} ({title!r}) in the navigation")
            state.page_script_hash = found
        state.widget_states.widgets.extend(widgets)
        await self.ws.send(msg.SerializeToString())

    async def run(
        self,
        *,
        page: str | None = None,
        title: str | None = None,
        widgets: Sequence[WidgetState] = (),
    ) -> Run:
        """Ask for a script run (of `page`'s script, if given) and read until it finished."""
        await self.send(page=page, title=title, widgets=widgets)
        return await self.finish()

    async def finish(self, page: str | None = None) -> Run:
        """Read until a run finished (one of `page`, if given: url path or title), skipping
        runs that ended early or drew another page."""
        assert self.ws is not None
        wanted = None if page is None else self.pages.get(page) or self.titles.get(page)
        if page is not None and wanted is None:
            raise ProtocolError(f"no page {page!r} in the navigation")
        run = Run()
        deadline = time.monotonic() + TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ProtocolError("no script_finished within the timeout")
            data = await asyncio.wait_for(self.ws.recv(decode=False), remaining)
            run.received += len(data)
            run.messages += 1
            fwd = ForwardMsg.FromString(data)
            kind = fwd.WhichOneof("type")
            if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                element = fwd.delta.new_element
                run.elements.append(element)
                if element.WhichOneof("type") == "exception":
                    run.exceptions.append(element.exception.message)
            elif kind == "navigation":
                run.page = fwd.navigation.page_script_hash
                # The default page has no path of its own; its title finds it too.
                run.pages = {}
                for app_page in fwd.navigation.app_pages:
                    run.pages[app_page.url_pathname or app_page.page_name] = (
                        app_page.page_script_hash
                    )
                    self.titles[app_page.page_name] = app_page.page_script_hash
                self.pages = dict(run.pages)
            elif kind == "script_finished":
                if fwd.script_finished == FINISHED and wanted in (None, run.page):
                    return run
                run.elements.clear()  # ended early: the next run draws the page again
            elif kind == "page_not_found":
                raise ProtocolError("the page asked for was not found")

    async def sign_in(self, username: str, password: str) -> Run:
        """Open the app and sign in through the form, as the browser does on submit."""
        first = await self.run()
        fields = [
            text_value(first.widget("text_input", keys.SIGN_IN_USERNAME).id, username),
            text_value(first.widget("text_input", keys.SIGN_IN_PASSWORD).id, password),
        ]
        submit = first.widget("button", is_form_submitter=True)
        trigger = WidgetState(id=submit.id, trigger_value=True)
        signed = await self.run(widgets=[*fields, trigger])
        if len(signed.pages) < 3:  # signed out, the navigation has sign-in and the statement
            raise ProtocolError(f"{username!r} could not sign in")
        return signed

    async def open(self, page: str, title: str | None = None) -> tuple[float, Run]:
        """A sidebar click on `page` (url path; or its `title` for the default page):
        (seconds to the finished run, the run)."""
        started = time.perf_counter()
        run = await self.run(page=page, title=title)
        return time.perf_counter() - started, run


def text_value(widget_id: str, value: str) -> WidgetState:
    """A text field's value, as the browser sends it."""
    return WidgetState(id=widget_id, string_value=value)
