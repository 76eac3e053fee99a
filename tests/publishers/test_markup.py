"""The safe plain-text-to-HTML renderer that the blog, newsletter and feed adapters share."""

from __future__ import annotations

import pytest

from publishers.markup import blocks, escape_markup, excerpt, line_html, to_html


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", "", id="empty"),
        pytest.param("eins\nzwei", "<p>eins<br>\nzwei</p>", id="line-break"),
        pytest.param("eins\r\n \r\nzwei", "<p>eins</p>\n<p>zwei</p>", id="crlf-blank-line"),
        pytest.param("  eins  \n\n\n\n  zwei ", "<p>eins</p>\n<p>zwei</p>", id="trimmed"),
        pytest.param(
            '<img src=x onerror="alert(1)"> & ß',
            '<p>&lt;img src=x onerror="alert(1)"&gt; &amp; ß</p>',
            id="markup-escaped",
        ),
        pytest.param(
            "Nul\x00l \x1b[31m rot",
            "<p>Null [31m rot</p>",
            id="control-characters-dropped",
        ),
    ],
)
def test_to_html_makes_paragraphs_and_escapes_everything(text: str, expected: str) -> None:
    assert to_html(text) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            "Siehe https://example.de/a.",
            'Siehe <a href="https://example.de/a">https://example.de/a</a>.',
            id="sentence-dot-outside",
        ),
        pytest.param(
            "(https://de.wikipedia.org/wiki/Köln_(Stadt))",
            '(<a href="https://de.wikipedia.org/wiki/Köln_(Stadt)">'
            "https://de.wikipedia.org/wiki/Köln_(Stadt)</a>)",
            id="balanced-parentheses",
        ),
        pytest.param(
            "„https://example.de/x“",
            '„<a href="https://example.de/x">https://example.de/x</a>“',
            id="german-quotes",
        ),
        pytest.param(
            "https://example.de/?a=1&b='2'x",
            '<a href="https://example.de/?a=1&amp;b=&#x27;2&#x27;x">'
            "https://example.de/?a=1&amp;b='2'x</a>",
            id="query-escaped-in-href",
        ),
        pytest.param(
            'https://x.de/"onmouseover="alert(1)',
            '<a href="https://x.de/">https://x.de/</a>"onmouseover="alert(1)',
            id="quote-ends-the-address",
        ),
        pytest.param("javascript:alert(1)", "javascript:alert(1)", id="no-other-schemes"),
        pytest.param("https://", "https://", id="scheme-alone"),
    ],
)
def test_only_http_addresses_become_links(line: str, expected: str) -> None:
    assert line_html(line) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Kurz.\n\nZweiter Absatz.", "Kurz.", id="first-paragraph"),
        pytest.param("Zeile eins\nZeile zwei", "Zeile eins Zeile zwei", id="one-line"),
        pytest.param(
            "Das ist z. B. wichtig. " + "Noch ein Satz mit Inhalt. " * 20,
            "Das ist z. B. wichtig. "
            + "Noch ein Satz mit Inhalt. " * 9
            + "Noch ein Satz mit Inhalt.",
            id="cut-after-a-sentence-not-an-abbreviation",
        ),
        pytest.param("wort " * 100, ("wort " * 59).strip() + "…", id="cut-after-a-word"),
        pytest.param("\n\n", "", id="nothing"),
    ],
)
def test_excerpt_is_the_first_paragraph_cut_politely(text: str, expected: str) -> None:
    assert excerpt(text) == expected
    assert len(excerpt(text)) <= 300


def test_helpers_for_titles_and_paragraphs() -> None:
    assert escape_markup("A & <b>B</b>") == "A & &lt;b&gt;B&lt;/b&gt;"
    assert blocks("a\n\n\n\nb\n \nc") == ["a", "b", "c"]
