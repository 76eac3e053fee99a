"""Plain post text turned into safe HTML, for the channels that take HTML (blog, e-mail, feed).

Editors write plain text. Everything they write is escaped first, so no markup of theirs
reaches a page, a mail client or a feed reader; the only tags are the ones made here:
paragraphs from blank-line-separated blocks, line breaks, and links for http(s) addresses.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

# Characters XML 1.0 forbids (and HTML treats as errors): C0 controls other than tab and
# newlines, lone surrogates, and the two non-characters U+FFFE and U+FFFF.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BLANK_LINE = re.compile(r"\n[ \t\u00a0]*\n")
_URL = re.compile(r"\bhttps?://[^\s<>\"]+", re.IGNORECASE)
# A sentence-final or closing character right after an address is prose, not the address.
_URL_TAIL = ".,;:!?'\"»«“”„‘’…"
_WHITESPACE = re.compile(r"\s+")
# A sentence ends after a word of three or more characters ("z. B." and "Dr." do not count)
# and before a capital or digit.
_SENTENCE_END = re.compile(r"(?<=\w\w\w)[.!?…](?=\s+[\dA-ZÄÖÜ])")
EXCERPT_LENGTH = 300


def clean_text(text: str) -> str:
    """`text` with unified line ends and without characters that cannot appear in XML."""
    return _FORBIDDEN.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def blocks(text: str) -> list[str]:
    """The paragraphs of `text`: blocks separated by blank lines, trimmed, empty ones dropped."""
    found = (block.strip() for block in _BLANK_LINE.split(clean_text(text)))
    return ["\n".join(line.strip() for line in block.split("\n")) for block in found if block]


def _urls(line: str) -> Iterator[tuple[int, int]]:
    for match in _URL.finditer(line):
        end = match.end()
        while end > match.start():
            tail = line[end - 1]
            unbalanced = tail == ")" and line.count("(", match.start(), end) < line.count(
                ")", match.start(), end
            )
            if tail in _URL_TAIL or unbalanced:
                end -= 1
                continue
            break
        if end - match.start() > len("https://"):
            yield match.start(), end


def line_html(line: str) -> str:
    """One line as HTML: escaped, with http(s) addresses as links."""
    parts: list[str] = []
    position = 0
    for start, end in _urls(line):
        url = line[start:end]
        parts.append(html.escape(line[position:start], quote=False))
        parts.append(f'<a href="{html.escape(url)}">{html.escape(url, quote=False)}</a>')
        position = end
    parts.append(html.escape(line[position:], quote=False))
    return "".join(parts)


def paragraph_html(block: str) -> str:
    """The inside of one paragraph: its lines as HTML, joined by line breaks."""
    return "<br>\n".join(line_html(line) for line in block.split("\n"))


def to_html(text: str) -> str:
    """`text` as a sequence of <p> elements (empty text gives an empty string)."""
    return "\n".join(f"<p>{paragraph_html(block)}</p>" for block in blocks(text))


def escape_markup(text: str) -> str:
    """`text` with '<' and '>' escaped, for fields a system shows as HTML (blog titles).

    '&' is left alone: it cannot open markup, and WordPress's editors show a stored '&amp;'
    as those five characters (WordPress/gutenberg#20490, core Trac #11311).
    """
    return clean_text(text).replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: str) -> str:
    """`text` on one line, whitespace collapsed: for titles, subjects and excerpts."""
    return _WHITESPACE.sub(" ", clean_text(text)).strip()


def excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """The first paragraph as one plain line; a longer one is cut after a sentence or word."""
    found = blocks(text)
    if not found:
        return ""
    first = one_line(found[0])
    if len(first) <= limit:
        return first
    window = first[: limit - 1]
    # Cut after the last sentence end in the window, if that keeps at least half of it.
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if ends and ends[-1] >= limit // 2:
        return window[: ends[-1]]
    cut = window.rsplit(" ", 1)[0] if " " in window else window
    return cut.rstrip(" ,;:-–") + "…"
