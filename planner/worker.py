"""The scheduler's metronome: one APScheduler interval job that sweeps the posts table.

`python -m planner worker` runs it in the foreground (BlockingScheduler); the dashboard
runs one BackgroundScheduler per server process. APScheduler holds no job per post and
no persistent job store: the database is the schedule, so any number of workers may run.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine
from sqlmodel import Session

from planner import planning, publishing
from planner.channels import build_adapter
from planner.models import PostStatus, utcnow
from planner.publishing import AdapterFactory, EngineSettings, Outcome

log = logging.getLogger("planner.worker")
JOB_ID = "planner-publish-due"


@dataclass
class SweepResult:
    """What one sweep did."""

    claimed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    missed: int = 0
    requeued: int = 0
    needs_check: int = 0
    materialized: int = 0

    def count(self, status: PostStatus) -> int:
        """How many posts of this sweep ended in `status`."""
        return sum(1 for o in self.outcomes if o.status == status)


def new_worker_id(embedded: bool = False) -> str:
    """host:pid:random, unique per process start."""
    kind = "embedded" if embedded else "worker"
    return f"{socket.gethostname()}:{os.getpid()}:{kind}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Claims due posts and publishes them with a small thread pool."""

    def __init__(
        self,
        engine: Engine,
        *,
        worker_id: str | None = None,
        settings: EngineSettings | None = None,
        embedded: bool = False,
        adapter_factory: AdapterFactory = build_adapter,
    ) -> None:
        self.engine = engine
        self.embedded = embedded
        self.worker_id = worker_id or new_worker_id(embedded)
        self.settings = settings or EngineSettings.from_env()
        self.adapter_factory = adapter_factory
        self._pool = ThreadPoolExecutor(
            max_workers=self.settings.threads, thread_name_prefix="planner-publish"
        )
        self._in_flight: set[int] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer = threading.Thread(
            target=self._renew_loop, name="planner-lease-renewer", daemon=True
        )
        self._renewer.start()

    def _renew_loop(self) -> None:
        interval = max(0.2, self.settings.lease.total_seconds() / 3)
        while not self._stop.wait(interval):
            with self._lock:
                ids = sorted(self._in_flight)
            if not ids:
                continue
            try:
                with Session(self.engine) as session:
                    publishing.renew_leases(
                        session, worker_id=self.worker_id, post_ids=ids, lease=self.settings.lease
                    )
            except Exception:  # a hiccup in renewal must not stop the worker
                log.exception("could not renew leases")

    def _claim(self, lateness: timedelta) -> list[int]:
        with Session(self.engine, expire_on_commit=False) as session:
            return publishing.claim_due_posts(
                session,
                worker_id=self.worker_id,
                now=utcnow(),
                limit=self.settings.batch_size,
                lease=self.settings.lease,
                lateness=lateness,
            )

    def _publish_due(
        self, result: SweepResult, max_batches: int | None, lateness: timedelta
    ) -> None:
        """Claim and publish batches until nothing releasable is left (or `max_batches`).

        Each batch gets its ledger rows before its requests go to the pool. The next batch
        is claimed while the last one is still in flight, so the pool does not sit idle
        waiting for the database; whatever has finished is recorded together in one
        transaction while the rest is still being sent, so a slow channel holds up no
        other post's result. A batch's pieces are checked for "all posts out" once the
        whole batch is recorded.
        """
        claimed: set[int] = set()
        pending: dict[Future[publishing.Delivery], int] = {}
        left: dict[int, int] = {}  # batch number -> deliveries not yet recorded
        pieces: dict[int, set[int]] = {}  # batch number -> pieces it published posts of
        batches = 0
        exhausted = False
        try:
            while True:
                if (
                    not exhausted
                    and not self._stop.is_set()
                    and (max_batches is None or batches < max_batches)
                    and len(pending) <= self.settings.batch_size
                ):
                    ids = self._claim(lateness)
                    if ids:
                        batches += 1
                        result.claimed += len(ids)
                        claimed.update(ids)
                        with self._lock:
                            self._in_flight.update(ids)
                        deliveries = publishing.begin_deliveries(
                            self.engine,
                            post_ids=ids,
                            worker_id=self.worker_id,
                            adapter_factory=self.adapter_factory,
                        )
                        left[batches], pieces[batches] = len(deliveries), set()
                        for delivery in deliveries:
                            pending[
                                self._pool.submit(publishing.deliver, self.engine, delivery)
                            ] = batches
                        continue
                    exhausted = True
                if not pending:
                    break
                done = list(wait(pending, return_when=FIRST_COMPLETED).done)
                finished = [future.result() for future in done]
                outcomes = publishing.finish_deliveries(
                    self.engine, finished, worker_id=self.worker_id, settings=self.settings
                )
                result.outcomes += outcomes
                with self._lock:
                    self._in_flight.difference_update(d.post_id for d in finished)
                for future, outcome in zip(done, outcomes, strict=True):
                    batch = pending.pop(future)
                    left[batch] -= 1
                    pieces[batch] |= publishing.published_pieces([outcome])
                for batch in [b for b, count in left.items() if count == 0]:
                    del left[batch]
                    if batch_pieces := pieces.pop(batch):
                        with Session(self.engine) as session:
                            publishing.publish_finished_pieces(
                                session, piece_ids=batch_pieces, worker=self.worker_id
                            )
        finally:
            with self._lock:
                self._in_flight.difference_update(claimed)

    def sweep(self, *, max_batches: int | None = None) -> SweepResult:
        """One pass: heartbeat, series, missed posts, recovery, then claim-and-publish
        batches until nothing releasable is left (or `max_batches`)."""
        result = SweepResult()
        with Session(self.engine, expire_on_commit=False) as session:
            now = utcnow()
            lateness = publishing.max_lateness(session)
            result.materialized = planning.materialize_series(session, now=now)
            result.missed = len(publishing.mark_missed(session, now=now, lateness=lateness))
            recovery = publishing.recover_expired(
                session, now=now, adapter_factory=self.adapter_factory
            )
            result.requeued, result.needs_check = (
                len(recovery.requeued),
                len(recovery.needs_check),
            )
        self._publish_due(result, max_batches, lateness)
        with Session(self.engine) as session:
            publishing.beat(
                session,
                worker_id=self.worker_id,
                hostname=socket.gethostname(),
                pid=os.getpid(),
                embedded=self.embedded,
                published=result.count(PostStatus.published),
                failed=result.count(PostStatus.failed),
            )
        return result

    def _job(self) -> None:
        try:
            result = self.sweep()
        except Exception:
            log.exception("sweep failed; the next one runs on schedule")
            return
        if result.claimed or result.missed or result.requeued or result.needs_check:
            log.info(
                "sweep: %d claimed, %d published, %d missed, %d requeued, %d need a check",
                result.claimed,
                result.count(PostStatus.published),
                result.missed,
                result.requeued,
                result.needs_check,
            )

    def _add_job(self, scheduler: BlockingScheduler | BackgroundScheduler) -> None:
        scheduler.add_job(
            self._job,
            "interval",
            seconds=self.settings.poll_seconds,
            id=JOB_ID,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            # A sweep that starts late still must run: the posts table decides lateness.
            misfire_grace_time=None,
            next_run_time=utcnow(),
        )

    def run_forever(self) -> None:
        """Sweep every poll interval until interrupted (the dedicated worker process)."""
        scheduler = BlockingScheduler(timezone=UTC)
        self._add_job(scheduler)
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.close()

    def start_background(self) -> BackgroundScheduler:
        """Sweep in a background thread (the scheduler embedded in the dashboard)."""
        scheduler = BackgroundScheduler(timezone=UTC)
        self._add_job(scheduler)
        scheduler.start()
        return scheduler

    def close(self) -> None:
        """Stop renewing leases and let running publishes finish."""
        self._stop.set()
        self._pool.shutdown(wait=True)
