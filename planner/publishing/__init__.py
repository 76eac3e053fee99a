"""The publishing engine: claim due posts atomically, publish each once, record every attempt.

The posts table is the schedule. A sweep marks missed posts, recovers posts whose worker
stopped, claims a batch of releasable posts in one statement (FOR UPDATE SKIP LOCKED on
PostgreSQL, a single UPDATE ... RETURNING on SQLite) and publishes them. A PublishAttempt
row is written before every request and completed after it. No session is held open
across an HTTP call. One module per concern:

- `settings`: engine settings, the lateness bound, backoff;
- `claim`: the claim statement and leases;
- `deliver`: what is sent (the approved revision) and the request itself;
- `record`: verdicts, and posts, ledger and audit recorded together;
- `recovery`: missed posts and posts whose worker stopped;
- `followup`: finished pieces, and what people do with posts;
- `health`: live workers and the counts an operator watches.
"""

from __future__ import annotations

from planner.publishing.claim import claim_deliveries, renew_leases
from planner.publishing.deliver import AdapterFactory, Delivery, deliver
from planner.publishing.followup import (
    awaiting_manual_count,
    mark_posted,
    publish_finished_pieces,
    retry_post,
)
from planner.publishing.health import StatusSummary, beat, status_summary
from planner.publishing.holds import HoldChanges, watch_holds
from planner.publishing.record import Outcome, finish_deliveries, published_pieces
from planner.publishing.recovery import (
    Recovery,
    Resolution,
    mark_missed,
    recover_expired,
    resolve_checks,
)
from planner.publishing.settings import (
    EngineSettings,
    backoff_seconds,
    max_lateness,
    parse_duration,
)

__all__ = [
    "AdapterFactory",
    "Delivery",
    "EngineSettings",
    "HoldChanges",
    "Outcome",
    "Recovery",
    "Resolution",
    "StatusSummary",
    "awaiting_manual_count",
    "backoff_seconds",
    "beat",
    "claim_deliveries",
    "deliver",
    "finish_deliveries",
    "mark_missed",
    "mark_posted",
    "max_lateness",
    "parse_duration",
    "publish_finished_pieces",
    "published_pieces",
    "recover_expired",
    "renew_leases",
    "resolve_checks",
    "retry_post",
    "status_summary",
    "watch_holds",
]
