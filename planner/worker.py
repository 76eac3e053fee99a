"""The scheduler's metronome: APScheduler interval jobs that sweep the posts table and,
beside it, the metrics queue (`planner.metrics`).

`python -m planner worker` runs it in the foreground (BlockingScheduler); the dashboard
runs one BackgroundScheduler per server process. APScheduler holds no job per post and
no persistent job store: the database is the schedule, so any number of workers may run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlmodel import Session

from planner import finishing, inbox, mail, org_settings, planning, publishing
from planner.channels import build_adapter
from planner.db import DATABASE_DOWN
from planner.metrics.collect import Collector, MetricsSettings
from planner.models import PostStatus, utcnow
from planner.publishing import AdapterFactory, EngineSettings, Outcome
from planner.publishing.deliver import Gate

log = logging.getLogger("planner.worker")
JOB_ID = "planner-publish-due"
# The listening job: reads mentions and followed feeds into the inbox.
LISTEN_JOB_ID = "planner-listen"
# The metrics collection's own job: it never delays a publishing sweep.
METRICS_JOB_ID = "planner-collect-metrics"
# Finished deliveries wait at most this long (seconds) to be recorded with others.
RECORD_WITHIN = 0.1
# How often (seconds) a long sweep marks the pieces whose posts are all out as published.
PIECES_EVERY = 1.0
# How often (seconds) a sweep looks over all approved pieces for finished ones: pieces the
# step right after a cancel could not mark published (the database went away between
# the two), and pieces a version before that step left approved.
ALL_PIECES_EVERY = 600.0
# How stale (seconds) the freeze/cancel/approval check right before a request may be.
GATE_MAX_AGE = 0.5
# Claims failing this often in a row end the sweep (the next one tries again).
CLAIM_TRIES = 5
# The longest pause (seconds) between tries when the database does not answer.
RETRY_CAP = 10.0


@dataclass
class SweepResult:
    """What one sweep did."""

    claimed: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    missed: int = 0
    requeued: int = 0
    needs_check: int = 0
    materialized: int = 0
    found: int = 0
    not_found: int = 0
    mailed: int = 0
    mail_failed: int = 0

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
        mail_settings: mail.MailSettings | None = None,
        metrics_settings: MetricsSettings | None = None,
    ) -> None:
        self.engine = engine
        # Notification e-mail goes out after the posts of each sweep (none without SMTP).
        self.mail = mail_settings or mail.mail_settings()
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
        self._all_pieces_at: float | None = None  # when it last looked over all pieces
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Held while a sweep runs, so a graceful stop can wait for it to drain.
        self._sweeping = threading.Lock()
        self._listening = threading.Lock()  # held while a listening run reads its sources
        self.gate = Gate(engine, self.worker_id, max_age=GATE_MAX_AGE)
        self._scheduler: BlockingScheduler | BackgroundScheduler | None = None
        # The thread running a foreground scheduler's loop (see stop()).
        self._loop_thread: threading.Thread | None = None
        # Reads published posts' figures in a pool of its own (see planner.metrics).
        self.metrics = Collector(
            engine,
            worker_id=self.worker_id,
            settings=metrics_settings,
            adapter_factory=adapter_factory,
        )
        self._renewer = threading.Thread(
            target=self._renew_loop, name="planner-lease-renewer", daemon=True
        )
        self._renewer.start()

    @property
    def _good_for(self) -> float:
        """Seconds a lease taken or renewed now may be used to start a request."""
        return self.settings.lease.total_seconds() - self.settings.lease_margin.total_seconds()

    def _renew_loop(self) -> None:
        interval = max(0.2, self.settings.lease.total_seconds() / 3)
        while not self._stop.wait(interval):
            self.renew()
        # After a stop, keep the leases of results still being recorded alive, and end
        # as soon as none is left.
        renew_at = 0.0
        while True:
            with self._lock:
                if not self._in_flight:
                    return
            if time.monotonic() >= renew_at:
                self.renew()
                renew_at = time.monotonic() + interval
            time.sleep(0.1)

    def renew(self) -> None:
        """Renew the leases of this worker's posts in flight; a post whose lease could not
        be renewed in time is not sent (the gate's deadline is not moved)."""
        with self._lock:
            ids = sorted(self._in_flight)
        if not ids:
            return
        started = time.monotonic()
        try:
            with Session(self.engine) as session:
                held = publishing.renew_leases(
                    session, worker_id=self.worker_id, post_ids=ids, lease=self.settings.lease
                )
        except Exception as err:  # noqa: BLE001 - the database is away: leases run out, sends stop
            log.warning("could not renew leases (%s)", type(err).__name__)
            return
        lost = sorted(set(ids) - set(held))
        if lost:
            log.warning("lost the lease of post(s) %s; they are not sent", lost)
        self.gate.renewed(held, lost, started + self._good_for)

    def _claim(self, lateness: timedelta) -> list[publishing.Delivery]:
        started = time.monotonic()
        deliveries = publishing.claim_deliveries(
            self.engine,
            worker_id=self.worker_id,
            now=utcnow(),
            limit=self.settings.batch_size,
            lease=self.settings.lease,
            lateness=lateness,
            adapter_factory=self.adapter_factory,
        )
        # Registered before the claim returns, so no request can start without a deadline.
        self.gate.hold(deliveries, started + self._good_for)
        return deliveries

    def _deliver(self, delivery: publishing.Delivery) -> publishing.Delivery:
        return publishing.deliver(self.engine, delivery, self.gate)

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

        Database errors do not lose results: a failed claim is tried again later, and
        results that could not be recorded stay in memory and are recorded, with growing
        pauses, when the database answers again (their leases keep being renewed). A stop
        (`stop()`) ends claiming; posts whose request has not started are released.
        """
        signal_ = threading.Condition()
        finished: list[Future[publishing.Delivery]] = []  # guarded by `signal_`
        outstanding = [0]  # sent or queued, not yet recorded; guarded by `signal_`
        first_done = [0.0]  # when the oldest of `finished` finished; guarded by `signal_`
        group = max(1, self.settings.batch_size // 2)

        def on_delivered(future: Future[publishing.Delivery]) -> None:
            with signal_:
                finished.append(future)
                if len(finished) == 1:
                    first_done[0] = time.monotonic()
                if len(finished) == 1 or len(finished) >= min(group, outstanding[0]):
                    signal_.notify()

        def on_claimed(_future: Future[list[publishing.Delivery]]) -> None:
            with signal_:
                signal_.notify()

        claimed: set[int] = set()
        batches = 0
        claiming: Future[list[publishing.Delivery]] | None = None
        exhausted = False
        claim_failures = 0
        claim_again_at = 0.0
        unrecorded: list[publishing.Delivery] = []
        record_failures = 0
        record_again_at = 0.0
        stop_deadline: float | None = None
        pieces: set[int] = set()
        pieces_at = time.monotonic()
        try:
            while True:
                now_m = time.monotonic()
                if self._stop.is_set() and stop_deadline is None:
                    stop_deadline = now_m + self.settings.drain_seconds
                if (
                    claiming is None
                    and not exhausted
                    and not self._stop.is_set()
                    and not unrecorded
                    and now_m >= claim_again_at
                    and (max_batches is None or batches < max_batches)
                    and outstanding[0] <= self.settings.batch_size
                ):
                    claiming = self._claimer.submit(self._claim, lateness)
                    claiming.add_done_callback(on_claimed)
                with signal_:
                    if not outstanding[0] and claiming is None and not unrecorded:
                        if exhausted or self._stop.is_set() or claim_failures == 0:
                            break
                        if claim_failures >= CLAIM_TRIES:
                            break
                    # Sleep until a claim ends, a group is complete, the oldest finished
                    # delivery has waited RECORD_WITHIN, or a retry is due.
                    while not (claiming is not None and claiming.done()):
                        if finished and len(finished) >= min(group, outstanding[0]):
                            break
                        waits = [
                            first_done[0] + RECORD_WITHIN - time.monotonic() if finished else None,
                            record_again_at - time.monotonic() if unrecorded else None,
                            claim_again_at - time.monotonic()
                            if claiming is None and claim_failures
                            else None,
                            0.2 if self._stop.is_set() or stop_deadline is not None else None,
                        ]
                        left = min((w for w in waits if w is not None), default=None)
                        if left is not None and left <= 0:
                            break
                        signal_.wait(left)
                    done, finished[:] = list(finished), []
                if claiming is not None and claiming.done():
                    try:
                        deliveries = claiming.result()
                    except DATABASE_DOWN as err:
                        claim_failures += 1
                        claim_again_at = time.monotonic() + _pause(claim_failures)
                        log.warning("claim failed (%s); trying again", type(err).__name__)
                        deliveries = None
                    claiming = None
                    if deliveries is not None:
                        claim_failures = 0
                        if not deliveries:
                            exhausted = True
                        else:
                            batches += 1
                            ids = [d.post_id for d in deliveries]
                            result.claimed += len(ids)
                            claimed.update(ids)
                            with self._lock:
                                self._in_flight.update(ids)
                            with signal_:
                                outstanding[0] += len(deliveries)
                            for delivery in deliveries:
                                self._pool.submit(self._deliver, delivery).add_done_callback(
                                    on_delivered
                                )
                if done:
                    delivered = [future.result() for future in done]
                    unrecorded += delivered
                    with signal_:
                        outstanding[0] -= len(delivered)
                if unrecorded and time.monotonic() >= record_again_at:
                    try:
                        pieces |= self._record(unrecorded, result, lateness)
                    except DATABASE_DOWN as err:
                        record_failures += 1
                        record_again_at = time.monotonic() + _pause(record_failures)
                        log.warning(
                            "could not record %d result(s) (%s); keeping them and trying again",
                            len(unrecorded),
                            type(err).__name__,
                        )
                        if stop_deadline is not None and time.monotonic() > stop_deadline:
                            log.error(
                                "stopping with %d unrecorded result(s): their leases run out "
                                "and recovery decides",
                                len(unrecorded),
                            )
                            unrecorded = []
                    else:
                        unrecorded, record_failures = [], 0
                if pieces and time.monotonic() - pieces_at >= PIECES_EVERY:
                    try:
                        self._publish_pieces(pieces)
                        pieces, pieces_at = set(), time.monotonic()
                    except Exception:  # tried again with the next group
                        log.exception("could not mark finished pieces as published")
        finally:
            if claiming is not None:
                # Something failed while a claim ran: let it end. Its posts are left to
                # lease recovery, like those of a worker that died.
                wait([claiming])
            with self._lock:
                self._in_flight.difference_update(claimed)
            self.gate.release(sorted(claimed))
            if pieces:
                try:
                    self._publish_pieces(pieces)
                except Exception:  # never hide the error that ended the sweep
                    log.exception("could not mark finished pieces as published")

    def _record(
        self, delivered: list[publishing.Delivery], result: SweepResult, lateness: timedelta
    ) -> set[int]:
        """Record a group of finished deliveries; the pieces they published posts of."""
        outcomes = publishing.finish_deliveries(
            self.engine,
            delivered,
            worker_id=self.worker_id,
            settings=self.settings,
            lateness=lateness,
        )
        result.outcomes += outcomes
        ids = [d.post_id for d in delivered]
        with self._lock:
            self._in_flight.difference_update(ids)
        self.gate.release(ids)
        return publishing.published_pieces(outcomes)

    def _publish_pieces(self, piece_ids: set[int]) -> None:
        """Approved pieces whose posts are all out become published (after their commit)."""
        with Session(self.engine) as session:
            publishing.publish_finished_pieces(session, piece_ids=piece_ids, worker=self.worker_id)

    def sweep(self, *, max_batches: int | None = None) -> SweepResult:
        """One pass: heartbeat, series, missed posts, recovery, finished pieces (every
        `ALL_PIECES_EVERY` seconds), then claim-and-publish batches until nothing
        releasable is left (or `max_batches`), then the notification e-mails that are due."""
        result = SweepResult()
        with Session(self.engine, expire_on_commit=False) as session:
            now = utcnow()
            lateness = publishing.max_lateness(session)
            result.materialized = planning.materialize_series(session, now=now)
            result.missed = len(publishing.mark_missed(session, now=now, lateness=lateness))
            recovery = publishing.recover_expired(session, now=now)
            result.requeued, result.needs_check = (
                len(recovery.requeued),
                len(recovery.needs_check),
            )
            self._watch_holds(session, now)
            looked = self._all_pieces_at
            if looked is None or time.monotonic() - looked >= ALL_PIECES_EVERY:
                self._all_pieces_at = time.monotonic()
                self._finish_all_pieces(session)
        resolution = publishing.resolve_checks(
            self.engine, now=now, adapter_factory=self.adapter_factory, worker=self.worker_id
        )
        result.found, result.not_found = len(resolution.found), len(resolution.not_found)
        if not self._stop.is_set():
            self._publish_due(result, max_batches, lateness)
        if self.mail is not None and not self._stop.is_set():
            self._send_mail(result, self.mail)
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

    def _finish_all_pieces(self, session: Session) -> None:
        """Publish the approved pieces whose posts are all out; publishing goes on when
        that fails (the next look, `ALL_PIECES_EVERY` seconds later, tries again)."""
        try:
            finishing.finish_pieces(session, None, by=self.worker_id)
        except sa_exc.SQLAlchemyError as err:
            session.rollback()
            log.warning("could not look for finished pieces (%s); publishing goes on", err)

    @staticmethod
    def _watch_holds(session: Session, now: datetime) -> None:
        """Note which due posts are held now (for the process report); publishing goes on
        when that cannot be written."""
        try:
            publishing.watch_holds(session, now=now)
        except sa_exc.SQLAlchemyError as err:
            session.rollback()
            log.warning("could not note the held posts (%s); publishing goes on", err)

    def _send_mail(self, result: SweepResult, settings: mail.MailSettings) -> None:
        """Send the notification e-mails that are due; a mail problem never ends the sweep."""
        try:
            sent = mail.send_due(self.engine, settings=settings)
        except DATABASE_DOWN:
            log.warning("notification e-mail waits: the database does not answer")
            return
        except Exception:  # a bug in the e-mails must not stop publishing or the heartbeat
            log.exception("sending notification e-mails failed; the next sweep tries again")
            return
        result.mailed, result.mail_failed = len(sent.sent), len(sent.failed)
        if sent.failed:
            log.warning("%d notification e-mails not sent yet", len(sent.failed))

    def _job(self) -> None:
        if self._stop.is_set():
            return
        with self._sweeping:
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

    def listen(self) -> inbox.PollResult | None:
        """Read the listening channels' mentions and the followed feeds once (None: the
        database did not answer; the next run tries again)."""
        try:
            return inbox.poll(
                self.engine, adapter_factory=self.adapter_factory, stopping=self._stop
            )
        except DATABASE_DOWN:
            log.warning("listening waits: the database does not answer")
            return None

    def _listening_minutes(self) -> int:
        """The organisation's listening interval (its default while the database is away)."""
        try:
            with Session(self.engine) as session:
                return int(org_settings.get_setting(session, "listening_interval_minutes"))
        except DATABASE_DOWN:
            return int(org_settings.SPECS["listening_interval_minutes"].default())

    def _listen_job(self) -> None:
        with self._listening:  # close() waits for all of it: nothing reads on after that
            if self._stop.is_set():
                return
            try:
                result = self.listen()
            except Exception:
                log.exception("listening failed; the next run is on schedule")
                return
            if result is not None and (result.arrived or result.errors):
                log.info(
                    "listening: %d new items, %d of %d sources failed",
                    result.arrived,
                    len(result.errors),
                    result.sources,
                )
            if not self._stop.is_set():
                self._follow_interval()

    def _follow_interval(self) -> None:
        """Reschedule listening when an admin changed its interval (from the next run)."""
        minutes = self._listening_minutes()
        scheduler, job = self._scheduler, None
        if scheduler is not None and scheduler.running:
            job = scheduler.get_job(LISTEN_JOB_ID)
        if job is not None and job.trigger.interval != timedelta(minutes=minutes):
            scheduler.reschedule_job(LISTEN_JOB_ID, trigger="interval", minutes=minutes)  # type: ignore[union-attr]

    def _metrics_job(self) -> None:
        if self._stop.is_set():
            return
        try:
            result = self.metrics.sweep()
        except Exception:
            log.exception("metrics sweep failed; the next one runs on schedule")
            return
        if result.claimed:
            log.info(
                "metrics: %d read, %d to retry, %d rounds skipped, %d ended",
                len(result.collected),
                result.retried,
                result.skipped,
                result.ended,
            )

    def _add_job(self, scheduler: BlockingScheduler | BackgroundScheduler) -> None:
        _add_interval_job(scheduler, self._job, JOB_ID, seconds=self.settings.poll_seconds)
        # A listening run that starts late (a busy machine) still runs: skipped, the next
        # one would be a whole interval away.
        _add_interval_job(
            scheduler, self._listen_job, LISTEN_JOB_ID, minutes=self._listening_minutes()
        )
        _add_interval_job(
            scheduler,
            self._metrics_job,
            METRICS_JOB_ID,
            # After the first publishing sweep has started: publishing comes first.
            first_after=timedelta(seconds=self.settings.poll_seconds),
            seconds=self.metrics.settings.poll_seconds,
        )

    def run_forever(self) -> None:
        """Sweep every poll interval until SIGTERM or SIGINT, then drain and return.

        Both signals stop claiming (posts and metrics), let the requests in flight finish
        (each bounded by its adapter's timeout), record them, release the posts and
        metrics collections not yet asked for and return, so
        `systemctl stop`, `docker stop` and a rolling deploy leave nothing `publishing`.
        """
        scheduler = BlockingScheduler(timezone=UTC)
        self._scheduler = scheduler
        self._loop_thread = threading.current_thread()
        self._add_job(scheduler)

        def on_signal(signum: int, _frame: object) -> None:
            log.info("signal %d: finishing the posts in flight, then stopping", signum)
            self.stop()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.close()

    def start_background(self) -> BackgroundScheduler:
        """Sweep in a background thread (the scheduler embedded in the dashboard)."""
        scheduler = BackgroundScheduler(timezone=UTC)
        self._scheduler = scheduler
        self._add_job(scheduler)
        scheduler.start()
        return scheduler

    def stop(self) -> None:
        """Stop claiming and release the posts not yet sent; safe from a signal handler."""
        self._stop.set()
        self.gate.stopping.set()
        self.metrics.stop()
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running:
            return
        # The running sweep drains by itself; close() waits for it.
        if threading.current_thread() is self._loop_thread:
            # A signal handler runs on the thread of the scheduler's loop, possibly in the
            # middle of it, while the loop holds its re-entrant job store lock: a shutdown
            # from there would empty the job store under the loop, which then fails on the
            # job it was updating (JobLookupError) and ends the worker with an error.
            # Another thread waits for the loop to let go of the lock, then shuts down.
            threading.Thread(
                target=_shut_down, args=(scheduler,), name="planner-stop", daemon=True
            ).start()
        else:
            _shut_down(scheduler)

    def close(self) -> None:
        """Stop, wait for the running sweep to drain (posts in flight recorded, the rest
        released) and for the listening run to finish the source it is reading, then stop
        renewing leases."""
        self.stop()
        with self._sweeping:  # the sweep in progress, if any, has drained
            pass
        with self._listening:  # the listening run, if any, has recorded what it read
            pass
        self.metrics.close()  # what it read is recorded; what it did not ask is released
        self._claimer.shutdown(wait=True)
        self._pool.shutdown(wait=True)
        self._renewer.join(timeout=self.settings.drain_seconds)


def _add_interval_job(
    scheduler: BlockingScheduler | BackgroundScheduler,
    run: Callable[[], None],
    job_id: str,
    *,
    first_after: timedelta = timedelta(0),
    **every: float,
) -> None:
    """Add (or replace) the job `job_id` that calls `run` every `every` (the interval
    trigger's seconds=/minutes=), first `first_after` from now.

    One run at a time, missed runs folded into one, and a run that starts late still
    runs: the database, not APScheduler, decides what is late.
    """
    scheduler.add_job(
        run,
        "interval",
        **every,
        id=job_id,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        next_run_time=utcnow() + first_after,
    )


def _shut_down(scheduler: BlockingScheduler | BackgroundScheduler) -> None:
    """Shut the scheduler down without waiting for its jobs (a second signal finds it
    stopped already)."""
    with contextlib.suppress(SchedulerNotRunningError):
        scheduler.shutdown(wait=False)


def _pause(failures: int) -> float:
    """Seconds before trying the database again after `failures` failures in a row."""
    return float(min(RETRY_CAP, 0.2 * 2 ** (failures - 1)))
