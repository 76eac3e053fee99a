"""How a worker publishes: engine settings from the environment, lateness, backoff."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from planner.config import load_settings
from planner.config import parse_duration as parse_duration  # its home before config.py
from planner.models import Setting

# The defaults of the PLANNER_* variables (planner/config.py declares them once).
_DEFAULTS = load_settings({})


@dataclass(frozen=True)
class EngineSettings:
    """How a worker publishes: batch size, threads, lease, retries and poll interval."""

    batch_size: int = _DEFAULTS.batch_size
    threads: int = _DEFAULTS.publish_threads
    lease: timedelta = timedelta(seconds=_DEFAULTS.lease_seconds)
    max_attempts: int = _DEFAULTS.max_attempts
    retry_base_seconds: float = _DEFAULTS.retry_base_seconds
    retry_cap_seconds: float = _DEFAULTS.retry_cap_seconds
    poll_seconds: float = _DEFAULTS.poll_seconds
    # How long a stopping worker keeps trying to record its last results.
    drain_seconds: float = 60.0

    @property
    def lease_margin(self) -> timedelta:
        """How long before its lease ends a worker stops starting requests: a fifth of the
        lease, at most 30 s (covers clock skew between hosts and a slow ledger write)."""
        return min(self.lease / 5, timedelta(seconds=30))

    @classmethod
    def from_env(cls) -> EngineSettings:
        """Settings from the PLANNER_* variables (planner/config.py)."""
        settings = load_settings()
        return cls(
            batch_size=settings.batch_size,
            threads=settings.publish_threads,
            lease=timedelta(seconds=settings.lease_seconds),
            max_attempts=settings.max_attempts,
            retry_base_seconds=settings.retry_base_seconds,
            retry_cap_seconds=settings.retry_cap_seconds,
            poll_seconds=settings.poll_seconds,
        )


def max_lateness(session: Session) -> timedelta:
    """How late a post may still go out: the admins' setting, else PLANNER_MAX_LATENESS."""
    row = session.get(Setting, "max_lateness_hours")
    if row is not None:
        return timedelta(hours=float(row.value))
    return load_settings().max_lateness


def backoff_seconds(
    settings: EngineSettings, failures: int, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter: base * 2^(failures-1), capped, then 50-100% of it."""
    ceiling = min(settings.retry_cap_seconds, settings.retry_base_seconds * 2.0 ** (failures - 1))
    return float(ceiling * (0.5 + 0.5 * (rng or random).random()))
