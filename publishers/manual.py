"""Networks without a posting API (XING above all): a person posts, the planner prepares.

XING closed its public API in 2019 and offers none for status or company posts, so
`publish` never talks to a network: it raises ManualActionRequired with copy-ready
instructions (where to go, the text to paste, the images to attach, how to record the
post's address). The engine parks the post as awaiting_manual until someone runs
`python -m planner posts mark-posted ID --url URL`. XING publishes no character limit for
posts, so the limit is a setting, checked only when set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from publishers.base import (
    ManualActionRequired,
    OutgoingPost,
    Publisher,
    Receipt,
    Rule,
    SettingSpec,
    answer,
    number_setting,
)
from publishers.text import with_link

CUT = "-" * 40


class ManualPublisher(Publisher, kind="manual", display_name="Manual (e.g. XING)"):
    """Prepares posts for a network that has no API; a person publishes them by hand."""

    appends_link: ClassVar[bool] = True
    supports_media: ClassVar[bool] = True  # the person attaches them; alt text is listed
    uses_http: ClassVar[bool] = False
    settings_spec = (
        SettingSpec(
            "network_name",
            required=False,
            default="XING",
            help="the network's name, shown in the instructions and problems",
        ),
        SettingSpec(
            "open_url",
            type="url",
            required=False,
            default="https://www.xing.com/",
            help="where the person posts, e.g. the company page on XING",
        ),
        number_setting(
            "max_characters",
            "the network's character limit, if there is one (XING publishes none)",
            Rule("not_at_least", "is not at least 1", low=1),
        ),
    )

    def __init__(
        self, settings: Mapping[str, Any], *, allow_private_network: bool | None = None
    ) -> None:
        super().__init__(settings, allow_private_network=allow_private_network)
        # Problems and instructions name the network itself, not "Manual".
        self.display_name = self.settings["network_name"]  # type: ignore[misc]
        self.text_limit = self.settings["max_characters"]  # type: ignore[misc]

    def instructions(self, post: OutgoingPost) -> str:
        """What the person does, with the text to paste between two cut lines."""
        network = self.settings["network_name"]
        lines = [
            f"Post this by hand on {network}: open {self.settings['open_url']} and paste "
            "the text between the lines.",
        ]
        if post.media:
            lines.append("Attach these images, each with its description (alt text):")
            lines += [f"- {item.url} ({item.alt_text or 'no description'})" for item in post.media]
        lines += [
            "Then record where it was published: "
            f"python -m planner posts mark-posted {post.post_id} --url ADDRESS",
            CUT,
            with_link(post),
            CUT,
        ]
        return "\n".join(lines)

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        """Never posts: hands the post to a person as copy-ready instructions."""
        raise ManualActionRequired(self.instructions(post))

    def check_connection(self) -> str:
        """Nothing to connect to; says where the posts go."""
        return answer(
            "by_hand",
            "nothing to connect: posts for {network} are published by hand at {url}",
            network=self.settings["network_name"],
            url=self.settings["open_url"],
        )
