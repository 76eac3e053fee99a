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
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor, wait
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
# Finished deliveries wait at most this long (seconds) to be recorded with others.
RECORD_WITHIN = 0.1
# How often (seconds) a long sweep marks the pieces whose posts are all out as published.
PIECES_EVERY = 1.0


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
        # Claims run beside the recording (see _publish_due): one at a time.
        self._claimer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planner-claim")
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

    def _claim(self, lateness: timedelta) -> list[publishing.Delivery]:
        return publishing.claim_deliveries(
            self.engine,
            worker_id=self.worker_id,
            now=utcnow(),
            limit=self.settings.batch_size,
            lease=self.settings.lease,
            lateness=lateness,
            adapter_factory=self.adapter_factory,
        )

    def _publish_due(
        self, result: SweepResult, max_batches: int | None, lateness: timedelta
    ) -> None:
        """Claim and publish batches until nothing releasable is left (or `max_batches`).

        Each batch is claimed and gets its ledger rows in one transaction, before its
        requests go to the pool. Claims run in a thread of their own, the next one while
        the last batch is still being sent, so neither the pool nor the recording waits
        for them. Finished deliveries are recorded in groups, one transaction each: when
        half a batch has finished, when nothing else is out, and otherwise every
        `RECORD_WITHIN` seconds, so a slow channel holds up no other post's result.
        Pieces whose posts are all out are marked published at most every
        `PIECES_EVERY` seconds and at the end of the sweep.
        """
        signal = threading.Condition()
        finished: list[Future[publishing.Delivery]] = []  # guarded by `signal`
        outstanding = [0]  # sent or queued, not yet recorded; guarded by `signal`
        first_done = [0.0]  # when the oldest of `finished` finished; guarded by `signal`
        group = max(1, self.settings.batch_size // 2)

        def on_delivered(future: Future[publishing.Delivery]) -> None:
            with signal:
                finished.append(future)
                if len(finished) == 1:
                    first_done[0] = time.monotonic()
                if len(finished) == 1 or len(finished) >= min(group, outstanding[0]):
                    signal.notify()

        def on_claimed(_future: Future[list[publishing.Delivery]]) -> None:
            with signal:
                signal.notify()

        claimed: set[int] = set()
        batches = 0
        claiming: Future[list[publishing.Delivery]] | None = None
        exhausted = False
        pieces: set[int] = set()
        pieces_at = time.monotonic()
        try:
            while True:
                if (
                    claiming is None
                    and not exhausted
                    and not self._stop.is_set()
                    and (max_batches is None or batches < max_batches)
                    and outstanding[0] <= self.settings.batch_size
                ):
                    claiming = self._claimer.submit(self._claim, lateness)
                    claiming.add_done_callback(on_claimed)
                with signal:
                    if not outstanding[0] and claiming is None:
                        break
                    # Sleep until a claim ends, a group is complete, or the oldest finished
                    # delivery has waited RECORD_WITHIN (woken by the callbacks above).
                    while not (claiming is not None and claiming.done()):
                        if finished and len(finished) >= min(group, outstanding[0]):
                            break
                        left = (
                            first_done[0] + RECORD_WITHIN - time.monotonic() if finished else None
                        )
                        if left is not None and left <= 0:
                            break
                        signal.wait(left)
                    done, finished[:] = list(finished), []
                if claiming is not None and claiming.done():
                    # Taken even after a stop: these posts are claimed and must go out.
                    deliveries, claiming = claiming.result(), None
                    if not deliveries:
                        exhausted = True
                    else:
                        batches += 1
                        ids = [d.post_id for d in deliveries]
                        result.claimed += len(ids)
                        claimed.update(ids)
                        with self._lock:
                            self._in_flight.update(ids)
                        with signal:
                            outstanding[0] += len(deliveries)
                        for delivery in deliveries:
                            self._pool.submit(
                                publishing.deliver, self.engine, delivery
                            ).add_done_callback(on_delivered)
                if done:
                    pieces |= self._record(done, result)
                    with signal:
                        outstanding[0] -= len(done)
                if pieces and time.monotonic() - pieces_at >= PIECES_EVERY:
                    self._publish_pieces(pieces)
                    pieces, pieces_at = set(), time.monotonic()
        finally:
            if claiming is not None:
                # Something failed while a claim ran: let it end. Its posts are left to
                # lease recovery, like those of a worker that died.
                wait([claiming])
            with self._lock:
                self._in_flight.difference_update(claimed)
            if pieces:
                try:
                    self._publish_pieces(pieces)
                except Exception:  # never hide the error that ended the sweep
                    log.exception("could not mark finished pieces as published")

    def _record(self, done: list[Future[publishing.Delivery]], result: SweepResult) -> set[int]:
        """Record a group of finished deliveries; the pieces they published posts of."""
        delivered = [future.result() for future in done]
        outcomes = publishing.finish_deliveries(
            self.engine, delivered, worker_id=self.worker_id, settings=self.settings
        )
        result.outcomes += outcomes
        with self._lock:
            self._in_flight.difference_update(d.post_id for d in delivered)
        return publishing.published_pieces(outcomes)

    def _publish_pieces(self, piece_ids: set[int]) -> None:
        """Approved pieces whose posts are all out become published (after their commit)."""
        with Session(self.engine) as session:
            publishing.publish_finished_pieces(session, piece_ids=piece_ids, worker=self.worker_id)

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
        self._claimer.shutdown(wait=True)
        self._pool.shutdown(wait=True)
