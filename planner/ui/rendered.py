"""A piece as its readers and approvers see it: a post per channel, and what changed, marked.

Both are drawn as HTML (`st.html`, which Streamlit sanitises) from text escaped here, so
nothing a user typed is ever read as markup. Changes are marked by more than colour
(added text underlined, removed text struck through) and announced to screen readers;
long lines wrap, so no block scrolls sideways out of the keyboard's reach.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from html import escape

import streamlit as st

from planner.editing import VariantCheck
from planner.pieces import RevisionDiff
from planner.preview import ChannelPreview, Span
from planner.textdiff import Change
from planner.ui import state
from planner.ui.plain import md

# Colours with at least 4.5:1 contrast against their background (WCAG AA).
_INSERTED = "background:#dcf5dc;color:#0b3d0b;text-decoration:underline"
_DELETED = "background:#fde2e2;color:#6b0000;text-decoration:line-through"
_MARKED = "color:#0b57d0;font-weight:600"
_OVER = "background:#fde2e2;color:#6b0000"
_BLOCK = "white-space:pre-wrap;overflow-wrap:anywhere;line-height:1.6"
_CARD = f"border:1px solid #767676;border-radius:8px;padding:12px;{_BLOCK}"
_RULE = "border-top:1px dashed #767676;margin-top:8px;padding-top:8px"
# Read by screen readers, not shown.
_HIDDEN = (
    "position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap"
)


def _hidden(text: str) -> str:
    return f'<span style="{_HIDDEN}">{escape(text)}</span>'


def changes_html(changes: Iterable[Change]) -> str:
    """The changes of one part as HTML: kept text plain, added and removed text marked."""
    t = state.t
    out = []
    for change in changes:
        text = escape(change.text)
        if change.op == "insert":
            out.append(f'<ins style="{_INSERTED}">{_hidden(t("diff.inserted"))}{text}</ins>')
        elif change.op == "delete":
            out.append(f'<del style="{_DELETED}">{_hidden(t("diff.deleted"))}{text}</del>')
        else:
            out.append(text)
    return f'<div style="{_BLOCK}">{"".join(out)}</div>'


def _due_changes(changes: Iterable[Change]) -> list[Change]:
    """A due date's change with its dates written as the session's language writes them
    (the revisions compare ISO dates): the old date removed, the new one added."""
    runs = list(changes)
    old = "".join(c.text for c in runs if c.op != "insert").strip()
    new = "".join(c.text for c in runs if c.op != "delete").strip()
    written = []
    if old:
        written.append(Change("delete", state.day(date.fromisoformat(old))))
    if new:
        written.append(Change("insert", state.day(date.fromisoformat(new))))
    return written


def _part_label(part: str, channel_id: int | None, channel_names: Mapping[int, str]) -> str:
    t = state.t
    if part == "variant" and channel_id is not None:
        return t("diff.part.variant", channel=channel_names.get(channel_id, f"#{channel_id}"))
    return t(f"diff.part.{part}")


def show_diff(diff: RevisionDiff, channel_names: Mapping[int, str]) -> None:
    """Every part that changed, under its name, with its changes marked word by word."""
    t = state.t
    if not diff.parts:
        st.info(t("diff.none"))
        return
    st.markdown(md(t("diff.legend")))
    for part in diff.parts:
        st.markdown(f"**{md(_part_label(part.part, part.channel_id, channel_names))}**")
        changes = _due_changes(part.changes) if part.part == "due_date" else part.changes
        st.html(changes_html(changes))


def _spans_html(spans: Iterable[Span]) -> str:
    return "".join(
        escape(s.text) if s.kind == "text" else f'<span style="{_MARKED}">{escape(s.text)}</span>'
        for s in spans
    )


def preview_html(preview: ChannelPreview) -> str:
    """One channel's post as HTML: the feed's first view, what "more" opens, what is over
    the limit, and the link card."""
    t = state.t
    html = [_spans_html(preview.shown)]
    if preview.folded:
        html.append(f' <span style="{_MARKED}">{escape(t("preview.more"))}</span>')
        html.append(
            f'<div style="{_RULE}"><em>{escape(t("preview.folded"))}</em>\n'
            f"{_spans_html(preview.folded)}</div>"
        )
    if preview.over:
        html.append(
            f'<div style="{_RULE}"><em>{escape(t("preview.over"))}</em>\n'
            f'<del style="{_DELETED}">{escape(preview.over)}</del></div>'
        )
    if preview.link_card is not None:
        html.append(
            f'<div style="{_RULE}">{escape(t("preview.link_card"))}: '
            f"<strong>{escape(preview.link_host)}</strong>\n{escape(preview.link_card)}</div>"
        )
    return f'<div style="{_CARD}">{"".join(html)}</div>'


def count_line(check: VariantCheck) -> str:
    """A text's length as its channel counts it, and the channel's limit, in words."""
    t = state.t
    unit_key = f"editor.unit.{check.counted_as}"
    unit = t(unit_key)
    if unit == unit_key:
        unit = check.counted_as
    if check.limit is None:
        return t("editor.count_free", count=check.count, unit=unit)
    return t("editor.count", count=check.count, limit=check.limit, unit=unit)


def show_preview(preview: ChannelPreview) -> None:
    """One channel's post as its readers will see it, with its length as the channel counts."""
    t = state.t
    st.html(preview_html(preview))
    facts = [count_line(preview.check)]
    if preview.fold is not None:
        facts.append(t("preview.fold", fold=preview.fold))
    if preview.hashtags:
        facts.append(t("preview.hashtags", tags=", ".join(preview.hashtags)))
    if preview.mentions:
        facts.append(t("preview.mentions", names=", ".join(preview.mentions)))
    st.text(" · ".join(facts))
