"""What the dashboard's HTML blocks (`st.html`) show a reader: their text as it reads, and
the runs marked as added or removed (screen-reader-only labels left out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from streamlit.testing.v1 import AppTest

from planner.ui.document import MARKER


@dataclass
class Reading:
    """The visible text of HTML blocks, and the runs inside `<ins>` and `<del>`."""

    text: str = ""
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.reading = Reading()
        self._open: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        hidden = tag in ("style", "script") or "clip:rect" in (dict(attrs).get("style") or "")
        if self._hidden or hidden:
            self._hidden += 1
            return
        self._open.append(tag)
        if tag in ("ins", "del"):
            (self.reading.added if tag == "ins" else self.reading.removed).append("")

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            self._hidden -= 1
        elif self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.reading.text += data
        if "ins" in self._open:
            self.reading.added[-1] += data
        if "del" in self._open:
            self.reading.removed[-1] += data


def text_of(html: str) -> str:
    """What one HTML block shows a reader (no styles, scripts or screen-reader-only labels)."""
    reader = _Reader()
    reader.feed(html)
    return reader.reading.text


def blocks(at: AppTest) -> list[str]:
    """The page's own HTML blocks: all but the one that sets every page's language and styles."""
    return [block.value for block in at.html if MARKER not in block.value]


def read(at: AppTest) -> Reading:
    """Everything the page's own HTML blocks show, in order."""
    reader = _Reader()
    for block in blocks(at):
        reader.feed(block)
        reader.reading.text += "\n"
    return reader.reading
