"""How a worker publishes: engine settings from the environment, lateness, backoff."""

from __future__ import annotations

import logging
import os
import random
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from planner.errors import (
    ConfigurationError,
)
from planner.models import (
    Setting,
)
from planner.org_settings import get_setting

log = logging.getLogger("planner.publishing")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as err:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from err
    if value <= 0:
        raise ConfigurationError(f"{name} must be more than 0, got {raw!r}")
    return value


def parse_duration(text: str) -> timedelta:
    """'6h', '90m', '45s' or a plain number of hours."""
    raw = text.strip().lower()
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    try:
        if raw and raw[-1] in units:
            return timedelta(seconds=float(raw[:-1]) * units[raw[-1]])
        return timedelta(hours=float(raw))
    except ValueError as err:
        raise ConfigurationError(f"{text!r} is not a duration such as '6h' or '30m'") from err


@dataclass(frozen=True)
class EngineSettings:
    """How a worker publishes: batch size, threads, lease, retries and poll interval."""

    batch_size: int = 100
    threads: int = 4
    lease: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 3600.0
    poll_seconds: float = 15.0
    # How long a stopping worker keeps trying to record its last results.
    drain_seconds: float = 60.0

    @property
    def lease_margin(self) -> timedelta:
        """How long before its lease ends a worker stops starting requests: a fifth of the
        lease, at most 30 s (covers clock skew between hosts and a slow ledger write)."""
        return min(self.lease / 5, timedelta(seconds=30))

    @classmethod
    def from_env(cls) -> EngineSettings:
        """Settings from PLANNER_* variables, with the defaults above."""
        return cls(
            batch_size=int(_env_float("PLANNER_BATCH_SIZE", cls.batch_size)),
            threads=int(_env_float("PLANNER_PUBLISH_THREADS", cls.threads)),
            lease=timedelta(seconds=_env_float("PLANNER_LEASE_SECONDS", 300)),
            max_attempts=int(_env_float("PLANNER_MAX_ATTEMPTS", cls.max_attempts)),
            retry_base_seconds=_env_float("PLANNER_RETRY_BASE_SECONDS", cls.retry_base_seconds),
            retry_cap_seconds=_env_float("PLANNER_RETRY_CAP_SECONDS", cls.retry_cap_seconds),
            poll_seconds=_env_float("PLANNER_POLL_SECONDS", cls.poll_seconds),
        )


def max_lateness(session: Session) -> timedelta:
    """How late a post may still go out: the admins' setting, else PLANNER_MAX_LATENESS."""
    row = session.get(Setting, "max_lateness_hours")
    if row is not None:
        return timedelta(hours=float(row.value))
    env = os.environ.get("PLANNER_MAX_LATENESS", "").strip()
    if env:
        return parse_duration(env)
    return timedelta(hours=float(get_setting(session, "max_lateness_hours")))


def backoff_seconds(
    settings: EngineSettings, failures: int, rng: random.Random | None = None
) -> float:
    """Exponential backoff with jitter: base * 2^(failures-1), capped, then 50-100% of it."""
    ceiling = min(settings.retry_cap_seconds, settings.retry_base_seconds * 2.0 ** (failures - 1))
    return float(ceiling * (0.5 + 0.5 * (rng or random).random()))
