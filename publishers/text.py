"""Shaping a post's text for channels that take one message: the post's link goes last."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # The base imports this module at run time (`Publisher.appends_link`).
    from publishers.base import OutgoingPost


def with_link(post: OutgoingPost) -> str:
    """The message text: the post's text, with its link appended when the text lacks it."""
    if post.link and post.link not in post.text:
        return f"{post.text.rstrip()}\n\n{post.link}"
    return post.text
