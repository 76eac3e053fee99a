"""A scripted adapter for engine tests: records every publish and answers as told.

Whether a recording channel drops repeats is the channel's, as for every channel: a test
declares it with `deduplicating` (as an admin would), never through the adapter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from sqlmodel import Session

import publishers
from planner import channels
from planner.models import Channel, User
from publishers.base import DeliveryError, OutgoingPost, Publisher, Receipt, SettingSpec


@dataclass(frozen=True)
class Call:
    """One publish the engine asked for."""

    post_id: int
    text: str
    key: str


class RecordingPublisher(Publisher):
    """Publishes into a list; `script` queues errors (or delays) for the next calls."""

    kind: ClassVar[str] = "recording"
    display_name: ClassVar[str] = "Recording (tests)"
    public: ClassVar[bool] = True  # it stands for any channel, public ones included
    text_limit: ClassVar[int | None] = 500
    settings_spec = (SettingSpec("token", type="password", secret=True, required=False),)
    calls: ClassVar[list[Call]] = []
    script: ClassVar[list[DeliveryError | float]] = []
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        """Forget calls and script."""
        with cls._lock:
            cls.calls.clear()
            cls.script.clear()

    def publish(self, post: OutgoingPost, idempotency_key: str) -> Receipt:
        with self._lock:
            step = self.script.pop(0) if self.script else None
            self.calls.append(Call(post.post_id, post.text, idempotency_key))
        if isinstance(step, float):
            time.sleep(step)
        elif step is not None:
            raise step
        return Receipt(
            external_id=f"ext-{post.post_id}",
            url=f"https://example.org/p/{post.post_id}",
            http_status=201,
        )

    def check_connection(self) -> str:
        return "recording adapter ready"


def deduplicating(session: Session, *, admin: User, channel: Channel) -> Channel:
    """`channel`, declared by `admin` to drop repeated requests (its column, not the adapter)."""
    assert channel.id is not None
    return channels.set_deduplication(session, actor=admin, ref=channel.id, deduplicates=True)


def install() -> Iterator[type[RecordingPublisher]]:
    """Register the recording kind for one test and remove it afterwards."""
    RecordingPublisher.reset()
    publishers.register(RecordingPublisher)
    try:
        yield RecordingPublisher
    finally:
        publishers.unregister(RecordingPublisher.kind)
        RecordingPublisher.reset()
