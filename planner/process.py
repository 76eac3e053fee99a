"""The quality of the editorial process over a period, worked out from stored history.

Everything here comes from what the planner already keeps: ideas (when submitted, what
became of them), the audit events of pieces and posts (every move, with its time) and
the posts' current state. A period is half-open, [since, until).

- Ideas: those submitted in the period, by department (and by audience where pieces or
  ideas name one), with the acceptance rate: accepted / (accepted + rejected); merged
  ideas joined another and count for neither.
- Cycle times: idea submitted -> the piece's first approval (counted when that approval
  falls in the period), the last approval before publication -> publication, and
  idea -> publication (counted when the publication falls in the period).
- Time in each state: a stay lasts from the event that put a piece in a state to the one
  that took it out; stays that ended in the period are counted.
- Rework loops: changes requested per piece among the pieces reviewed in the period.
- Approvals waiting past the target: reviews begun in the period that took (or, still
  open, have taken until now) more working days than the organisation's target.
- Rule overrides (audit events `RULE_ACTIONS`) with their justification.
- Rule findings: what the content rules find now in the current version of each piece
  worked on in the period (an audit event in it, or updated in it), on the channels it
  has a variant or a post on, counted per rule and severity; of the blocking ones, how
  many an approver overrode.
- Findings at the steps: what the rules found when pieces were submitted for review or
  approved in the period, or when a blocking finding refused that step (recorded then,
  so a finding fixed since still counts): per rule and severity, each piece revision and
  channel once; of the blocking ones, how many refused a step and how many an approver
  overrode.
- Posts that failed, were missed or need a check in the period (from their audit events,
  with the reason recorded), those the engine held by a publishing rule in the period
  (from its ledger), and those held right now.

Medians and 90th percentiles interpolate linearly between the closest ranks (the
"inclusive" method: the median of 1, 2, 3, 4 is 2.5; the 90th percentile of 1..10 is 9.1).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import String, cast, or_
from sqlmodel import Session, SQLModel, col, select

from planner import org_settings, planning, rule_checks
from planner.db import within_period
from planner.errors import ValidationFailed
from planner.inbox import ResponseFigures, response_figures
from planner.models import (
    Audience,
    AuditEvent,
    Channel,
    Department,
    Idea,
    IdeaStatus,
    Piece,
    PieceStatus,
    Post,
    PostHold,
    PostStatus,
    PublishAttempt,
    RecordedFinding,
    RuleOverride,
    User,
    utcnow,
)
from planner.permissions import require
from planner.rules import SEVERITIES
from planner.workdays import working_days_elapsed

# Audit actions of the publishing rules that a person overrode, with their justification.
RULE_ACTIONS = ("rule_override",)
# Post states that need someone's attention, as their audit events record them.
PROBLEM_STATES = (PostStatus.failed, PostStatus.missed, PostStatus.needs_check)
# The measured stretches of a piece's way, in the order they happen.
CYCLES = ("idea_to_approval", "approval_to_publication", "idea_to_publication")
# States in the order of the workflow, for showing the time spent in each.
STATES = tuple(PieceStatus)
_REVIEW_ACTIONS = ("submit", "approve", "request_changes")
# The workflow steps at which the publishing rules' findings are recorded.
_CHECKED_STEPS = ("submit", "approve")


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` (0 to 1) percentile of `values`, interpolated between the closest ranks."""
    if not values:
        raise ValueError("no values to take a percentile of")
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Spread:
    """How long something took, over `count` cases: median and 90th percentile."""

    count: int
    median: timedelta | None = None
    p90: timedelta | None = None


def spread(durations: Iterable[timedelta]) -> Spread:
    """The count, median and 90th percentile of some durations (None of none)."""
    seconds = [d.total_seconds() for d in durations]
    if not seconds:
        return Spread(0)
    return Spread(
        len(seconds),
        timedelta(seconds=percentile(seconds, 0.5)),
        timedelta(seconds=percentile(seconds, 0.9)),
    )


@dataclass
class IdeaCounts:
    """Ideas of one group (a department, an audience, or all) by what became of them."""

    name: str
    submitted: int = 0
    accepted: int = 0
    rejected: int = 0
    merged: int = 0
    open: int = 0

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted among the accepted and rejected (None before any decision)."""
        decided = self.accepted + self.rejected
        return self.accepted / decided if decided else None

    def add(self, status: IdeaStatus) -> None:
        """Count one idea with its current status."""
        self.submitted += 1
        if status == IdeaStatus.accepted:
            self.accepted += 1
        elif status == IdeaStatus.rejected:
            self.rejected += 1
        elif status == IdeaStatus.merged:
            self.merged += 1
        else:
            self.open += 1


@dataclass(frozen=True)
class StateTime:
    """The stays in one piece state that ended in the period."""

    state: PieceStatus
    stays: Spread
    total: timedelta


@dataclass(frozen=True)
class Rework:
    """A piece reviewed in the period and how often changes were requested."""

    piece_id: int
    title: str
    loops: int


@dataclass(frozen=True)
class Review:
    """A review begun in the period: when, when decided (None: still open), how long."""

    piece_id: int
    title: str
    submitted_at: datetime
    decided_at: datetime | None
    working_days: int


@dataclass(frozen=True)
class Override:
    """A rule finding someone overrode, and why they say they could (its audit event)."""

    event_id: int
    at: datetime
    actor_name: str
    object_type: str
    object_id: str
    action: str
    justification: str
    revision: int | None = None  # the version of the piece it was overridden for


@dataclass
class RuleTally:
    """One rule's findings of one severity in a part of the report."""

    rule: str
    severity: str  # block, warn or info
    findings: int = 0
    pieces: int = 0

    blocking: ClassVar[tuple[str, ...]] = ()  # the counts only a blocking finding has

    @property
    def blocking_counts(self) -> tuple[tuple[str, int], ...]:
        """The counts that only a blocking finding has (refused, overridden), by name."""
        return tuple((name, int(getattr(self, name))) for name in self.blocking)


@dataclass
class FindingCount(RuleTally):
    """One rule's findings of one severity in the pieces worked on in the period (one per
    piece and channel)."""

    overridden: int = 0  # of the blocking findings, those an approver overrode
    blocking: ClassVar[tuple[str, ...]] = ("overridden",)


@dataclass
class StepFindings(RuleTally):
    """One rule's findings of one severity as the checks at submission for review and at
    approval recorded them in the period, each piece revision and channel counted once."""

    stopped: int = 0  # of the blocking findings, those that refused a step at least once
    overridden: int = 0  # of the blocking findings, those an approver overrode
    blocking: ClassVar[tuple[str, ...]] = ("stopped", "overridden")


@dataclass
class PlanningFindings(RuleTally):
    """One rule's findings of one severity when posts were planned or moved in the period:
    each check counts (planning the same post twice is two), with how many of them the
    rule refused (the planner then offers the next allowed time)."""

    refused: int = 0
    blocking: ClassVar[tuple[str, ...]] = ("refused",)


@dataclass(frozen=True)
class PostProblem:
    """A post that failed, was missed, needs a check or is held, with the reason."""

    post_id: int
    piece_id: int
    title: str
    channel: str
    at: datetime
    state: str  # failed, missed, needs_check, held_by_rule, was_held or held (now)
    reason: str
    # The hold, said in the reader's language: why it is held now, why it was held
    # (was_held), or (held_by_rule) the rule's finding the engine stored then.
    hold: planning.Hold | None = None
    # Until when a post that was held stayed held (None: not known to have ended).
    until: datetime | None = None


@dataclass(frozen=True)
class ProcessReport:
    """The process figures of one period (see the module's description)."""

    since: datetime
    until: datetime
    timezone: str
    land: str
    target_days: int
    made_at: datetime
    ideas: IdeaCounts
    by_department: list[IdeaCounts]
    # None when no idea or piece of the period names an audience.
    by_audience: list[IdeaCounts] | None
    rejection_reasons: list[tuple[str, int]]
    cycles: dict[str, Spread]
    states: list[StateTime]
    reviewed: list[Rework]
    reviews: list[Review]
    overrides: list[Override]
    post_problems: list[PostProblem]
    # Pieces worked on in the period whose findings were counted, and the counts.
    findings_checked: int = 0
    findings: list[FindingCount] = field(default_factory=list)
    # Pieces submitted or approved in the period (or refused so by a rule), and what the
    # rules found at those steps.
    steps_checked: int = 0
    step_findings: list[StepFindings] = field(default_factory=list)
    # What the rules found when posts were planned or moved.
    planning_findings: list[PlanningFindings] = field(default_factory=list)
    # How each department answered the listening inbox's items in the period.
    responses: list[ResponseFigures] = field(default_factory=list)

    @property
    def late(self) -> list[Review]:
        """The reviews that took more working days than the target."""
        return [r for r in self.reviews if r.working_days > self.target_days]

    @property
    def change_requests(self) -> int:
        """Changes requested in the period, over all pieces reviewed."""
        return sum(r.loops for r in self.reviewed)

    @property
    def rework(self) -> list[Rework]:
        """The reviewed pieces that went back at least once, most loops first."""
        return sorted((r for r in self.reviewed if r.loops), key=lambda r: (-r.loops, r.piece_id))


def check_period(since: datetime, until: datetime) -> None:
    """Refuse a period that ends before it begins, naming both ends."""
    if since >= until:
        raise ValidationFailed(
            {
                "until": f"the period ends ({until.isoformat()!r}) before it begins "
                f"({since.isoformat()!r})"
            }
        )


# --- audiences --------------------------------------------------------------------------


def audience_of(idea: Idea, piece: Piece | None) -> int | None:
    """The audience an idea was for: its own, else its piece's (None where none is named)."""
    if idea.audience_id is not None:
        return idea.audience_id
    return None if piece is None else piece.audience_id


def audience_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    """The names of audiences by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = session.exec(select(Audience.id, Audience.name).where(col(Audience.id).in_(wanted)))
    return {int(audience_id or 0): name for audience_id, name in rows}


# --- the report -------------------------------------------------------------------------


def process_report(
    session: Session,
    *,
    actor: User,
    since: datetime,
    until: datetime,
    now: datetime | None = None,
) -> ProcessReport:
    """The process figures of [since, until) (editors and admins)."""
    require(actor, "view_process")
    check_period(since, until)
    now = now or utcnow()
    # Working days are the organisation's; times are shown in the reader's zone.
    tz_name = org_settings.get_setting(session, "org_timezone")
    land = org_settings.get_setting(session, "holiday_land")
    target = int(org_settings.get_setting(session, "approval_target_days"))

    ideas = list(
        session.exec(
            select(Idea).where(*within_period(Idea.created_at, since, until)).order_by(col(Idea.id))
        )
    )
    piece_ids = _pieces_touched(session, since, until)
    worked_on = piece_ids | _pieces_updated(session, since, until)
    events = _piece_events(session, piece_ids)
    pieces = _pieces(session, piece_ids | _pieces_of_ideas(session, [i.id for i in ideas]))
    worked = [pieces[i] for i in sorted(worked_on) if i in pieces]
    worked += _pieces(session, worked_on - pieces.keys()).values()
    idea_ids = {p.idea_id for p in pieces.values() if p.idea_id is not None}
    idea_times = _idea_times(session, idea_ids)
    in_period = _within(since, until)

    totals, by_department, by_audience, reasons = _idea_figures(session, ideas, pieces)
    stays = {pid: _stays(evs) for pid, evs in events.items()}
    reviews = [
        Review(
            pid,
            pieces[pid].title if pid in pieces else "",
            start,
            end,
            working_days_elapsed(start, end or now, land=land, tz_name=tz_name),
        )
        for pid, piece_stays in sorted(stays.items())
        for state, start, end in piece_stays
        if state == PieceStatus.in_review and in_period(start)
    ]
    return ProcessReport(
        since=since,
        until=until,
        timezone=actor.timezone,
        land=land,
        target_days=target,
        made_at=now,
        ideas=totals,
        by_department=by_department,
        by_audience=by_audience,
        rejection_reasons=reasons,
        cycles=_cycles(events, pieces, idea_times, in_period),
        states=_state_times(stays, in_period),
        reviewed=_reviewed(events, pieces, in_period),
        reviews=reviews,
        overrides=overrides_in(session, since, until),
        post_problems=_post_problems(session, actor, since, until, now),
        findings_checked=len(worked),
        findings=finding_counts(
            rule_checks.findings_of_pieces(session, actor=actor, pieces=worked)
        ),
        steps_checked=len(_pieces_stepped(session, since, until)),
        step_findings=step_findings(session, since, until),
        planning_findings=planning_findings(session, since, until),
        responses=response_figures(session, since, until, now=now),
    )


def finding_counts(found: Mapping[int, Sequence[rule_checks.RuleFinding]]) -> list[FindingCount]:
    """Findings by piece counted per rule and severity (blocking first, then by rule)."""
    counts: dict[tuple[str, str], FindingCount] = {}
    for piece_found in found.values():
        seen: set[tuple[str, str]] = set()
        for finding in piece_found:
            key = (finding.rule, finding.severity)
            count = counts.setdefault(key, FindingCount(*key))
            count.findings += 1
            if finding.severity == "block" and finding.overridden:
                count.overridden += 1
            if key not in seen:
                seen.add(key)
                count.pieces += 1
    rank = {s: n for n, s in enumerate(SEVERITIES)}
    return sorted(counts.values(), key=lambda c: (rank.get(c.severity, 9), c.rule))


def _pieces_stepped(session: Session, since: datetime, until: datetime) -> set[int]:
    """Pieces submitted or approved in the period, or refused either by a rule."""
    moved = session.exec(
        select(AuditEvent.object_id)
        .where(
            AuditEvent.object_type == "piece",
            col(AuditEvent.action).in_(_CHECKED_STEPS),
            *within_period(AuditEvent.at, since, until),
        )
        .distinct()
    )
    refused = session.exec(
        select(RecordedFinding.piece_id)
        .where(
            col(RecordedFinding.step).in_(_CHECKED_STEPS),
            col(RecordedFinding.stopped),
            *within_period(RecordedFinding.at, since, until),
        )
        .distinct()
    )
    return {int(v) for v in moved if v.isdigit()} | set(refused)


def step_findings(session: Session, since: datetime, until: datetime) -> list[StepFindings]:
    """The findings recorded at submission and approval in [since, until), per rule and
    severity (blocking first, then by rule; callers check who may read them)."""
    rows = list(
        session.exec(
            select(RecordedFinding)
            .where(
                col(RecordedFinding.step).in_(_CHECKED_STEPS),
                *within_period(RecordedFinding.at, since, until),
            )
            .order_by(col(RecordedFinding.at), col(RecordedFinding.id))
        )
    )
    waived: set[tuple[int, int, int, int | None]] = set()
    piece_ids = sorted({r.piece_id for r in rows if r.severity == "block"})
    for start in range(0, len(piece_ids), 500):
        query = select(
            RuleOverride.piece_id,
            RuleOverride.revision,
            RuleOverride.rule_id,
            RuleOverride.channel_id,
        ).where(col(RuleOverride.piece_id).in_(piece_ids[start : start + 500]))
        waived.update(session.exec(query))
    # One finding per (rule, severity) and piece revision and channel, with its flags.
    found: dict[tuple[str, str], dict[tuple[int, int, int], list[bool]]] = defaultdict(dict)
    for r in rows:
        flags = found[(r.rule, r.severity)].setdefault(
            (r.piece_id, r.revision, r.channel_id), [False, False]
        )
        flags[0] = flags[0] or r.stopped
        flags[1] = (
            flags[1]
            or r.overridden
            or (r.piece_id, r.revision, r.rule_id, r.channel_id) in waived
            or (r.piece_id, r.revision, r.rule_id, None) in waived
        )
    counts = []
    for (rule, severity), each in found.items():
        blocking = severity == "block"
        counts.append(
            StepFindings(
                rule,
                severity,
                findings=len(each),
                pieces=len({piece for piece, _, _ in each}),
                stopped=sum(1 for stopped, _ in each.values() if stopped) if blocking else 0,
                overridden=sum(1 for _, over in each.values() if over) if blocking else 0,
            )
        )
    rank = {s: n for n, s in enumerate(SEVERITIES)}
    return sorted(counts, key=lambda c: (rank.get(c.severity, 9), c.rule))


def planning_findings(session: Session, since: datetime, until: datetime) -> list[PlanningFindings]:
    """The findings recorded when posts were planned or moved in [since, until), per rule
    and severity (blocking first, then by rule; callers check who may read them)."""
    counts: dict[tuple[str, str], PlanningFindings] = {}
    pieces: dict[tuple[str, str], set[int]] = defaultdict(set)
    rows = session.exec(
        select(RecordedFinding).where(
            RecordedFinding.step == "plan",
            *within_period(RecordedFinding.at, since, until),
        )
    )
    for r in rows:
        key = (r.rule, r.severity)
        count = counts.setdefault(key, PlanningFindings(r.rule, r.severity))
        count.findings += 1
        if r.severity == "block":  # a warning never refuses (a row is stopped by any)
            count.refused += int(r.stopped)
        pieces[key].add(r.piece_id)
    for key, count in counts.items():
        count.pieces = len(pieces[key])
    rank = {s: n for n, s in enumerate(SEVERITIES)}
    return sorted(counts.values(), key=lambda c: (rank.get(c.severity, 9), c.rule))


InPeriod = Callable[[datetime], bool]


def _within(since: datetime, until: datetime) -> InPeriod:
    """Whether an instant falls in [since, until)."""
    return lambda at: since <= at < until


def _pieces_touched(session: Session, since: datetime, until: datetime) -> set[int]:
    """Pieces with an event in the period (their history is read in full)."""
    found = session.exec(
        select(AuditEvent.object_id)
        .where(
            AuditEvent.object_type == "piece",
            *within_period(AuditEvent.at, since, until),
        )
        .distinct()
    )
    return {int(v) for v in found if v.isdigit()}


def _pieces_updated(session: Session, since: datetime, until: datetime) -> set[int]:
    """Pieces last updated in the period."""
    found = session.exec(select(Piece.id).where(*within_period(Piece.updated_at, since, until)))
    return {int(v) for v in found if v is not None}


def _piece_events(session: Session, piece_ids: set[int]) -> dict[int, list[AuditEvent]]:
    """Every event of these pieces, oldest first, by piece."""
    by_piece: dict[int, list[AuditEvent]] = defaultdict(list)
    ids = sorted(piece_ids)
    for start in range(0, len(ids), 500):
        chunk = [str(i) for i in ids[start : start + 500]]
        query = (
            select(AuditEvent)
            .where(AuditEvent.object_type == "piece", col(AuditEvent.object_id).in_(chunk))
            .order_by(col(AuditEvent.at), col(AuditEvent.id))
        )
        for event in session.exec(query):
            by_piece[int(event.object_id)].append(event)
    return dict(by_piece)


def _pieces(session: Session, piece_ids: set[int]) -> dict[int, Piece]:
    ids = sorted(piece_ids)
    found: dict[int, Piece] = {}
    for start in range(0, len(ids), 500):
        for piece in session.exec(select(Piece).where(col(Piece.id).in_(ids[start : start + 500]))):
            assert piece.id is not None
            found[piece.id] = piece
    return found


def _pieces_of_ideas(session: Session, idea_ids: Sequence[int | None]) -> set[int]:
    ids = sorted(i for i in idea_ids if i is not None)
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        query = select(Piece.id).where(col(Piece.idea_id).in_(ids[start : start + 500]))
        found |= {int(v) for v in session.exec(query) if v is not None}
    return found


def _idea_times(session: Session, idea_ids: set[int]) -> dict[int, datetime]:
    ids = sorted(idea_ids)
    found: dict[int, datetime] = {}
    for start in range(0, len(ids), 500):
        query = select(Idea.id, Idea.created_at).where(col(Idea.id).in_(ids[start : start + 500]))
        for idea_id, created in session.exec(query):
            if idea_id is not None:
                found[idea_id] = created
    return found


def _idea_figures(
    session: Session, ideas: list[Idea], pieces: Mapping[int, Piece]
) -> tuple[IdeaCounts, list[IdeaCounts], list[IdeaCounts] | None, list[tuple[str, int]]]:
    """Totals, by department, by audience (None if none named) and rejection reasons."""
    departments = {d.id: d.name for d in session.exec(select(Department))}
    piece_of_idea = {p.idea_id: p for p in pieces.values() if p.idea_id is not None}
    totals = IdeaCounts("")
    by_department: dict[str, IdeaCounts] = {}
    by_audience: dict[int | None, IdeaCounts] = {}
    reasons: Counter[str] = Counter()
    for idea in ideas:
        totals.add(idea.status)
        name = departments.get(idea.department_id, f"#{idea.department_id}")
        by_department.setdefault(name, IdeaCounts(name)).add(idea.status)
        audience = audience_of(idea, piece_of_idea.get(idea.id or 0))
        by_audience.setdefault(audience, IdeaCounts("")).add(idea.status)
        if idea.status == IdeaStatus.rejected:
            reasons[" ".join((idea.rejection_reason or "").split())] += 1
    audiences: list[IdeaCounts] | None = None
    if any(key is not None for key in by_audience):
        names = audience_names(session, [k for k in by_audience if k is not None])
        audiences = []
        for key, counts in sorted(by_audience.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
            counts.name = "" if key is None else names.get(key, f"#{key}")
            audiences.append(counts)
    ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return totals, sorted(by_department.values(), key=lambda c: c.name), audiences, ranked


Stay = tuple[PieceStatus, datetime, datetime | None]


def _stays(events: Sequence[AuditEvent]) -> list[Stay]:
    """A piece's stays: (state, entered, left or None while it is still there)."""
    stays: list[Stay] = []
    state: PieceStatus | None = None
    entered: datetime | None = None
    for event in events:
        if event.to_state is None or event.to_state not in PieceStatus.__members__:
            continue
        new = PieceStatus(event.to_state)
        if new == state:
            continue
        if state is not None and entered is not None:
            stays.append((state, entered, event.at))
        state, entered = new, event.at
    if state is not None and entered is not None:
        stays.append((state, entered, None))
    return stays


def _state_times(stays: Mapping[int, list[Stay]], in_period: InPeriod) -> list[StateTime]:
    lasted: dict[PieceStatus, list[timedelta]] = defaultdict(list)
    for piece_stays in stays.values():
        for state, entered, left in piece_stays:
            if left is not None and in_period(left):
                lasted[state].append(left - entered)
    return [
        StateTime(state, spread(lasted[state]), sum(lasted[state], timedelta()))
        for state in STATES
        if state not in (PieceStatus.published, PieceStatus.archived) or lasted[state]
    ]


def _cycles(
    events: Mapping[int, list[AuditEvent]],
    pieces: Mapping[int, Piece],
    idea_times: Mapping[int, datetime],
    in_period: InPeriod,
) -> dict[str, Spread]:
    spans: dict[str, list[timedelta]] = {name: [] for name in CYCLES}
    for piece_id, piece_events in events.items():
        piece = pieces.get(piece_id)
        idea_at = idea_times.get(piece.idea_id) if piece and piece.idea_id else None
        approvals = [e.at for e in piece_events if e.action == "approve"]
        if approvals and idea_at is not None and in_period(approvals[0]):
            spans["idea_to_approval"].append(approvals[0] - idea_at)
        for published in (e.at for e in piece_events if e.action == "publish"):
            if not in_period(published):
                continue
            before = [at for at in approvals if at <= published]
            if before:
                spans["approval_to_publication"].append(published - before[-1])
            if idea_at is not None:
                spans["idea_to_publication"].append(published - idea_at)
    return {name: spread(values) for name, values in spans.items()}


def _reviewed(
    events: Mapping[int, list[AuditEvent]], pieces: Mapping[int, Piece], in_period: InPeriod
) -> list[Rework]:
    reviewed = []
    for piece_id, piece_events in sorted(events.items()):
        review = [e for e in piece_events if e.action in _REVIEW_ACTIONS and in_period(e.at)]
        if review:
            loops = sum(1 for e in review if e.action == "request_changes")
            title = pieces[piece_id].title if piece_id in pieces else ""
            reviewed.append(Rework(piece_id, title, loops))
    return reviewed


def overrides_in(session: Session, since: datetime, until: datetime) -> list[Override]:
    """The rule overrides the audit log recorded from `since` until before `until`, in order
    (callers check who may read them)."""
    query = (
        select(AuditEvent)
        .where(
            col(AuditEvent.action).in_(RULE_ACTIONS),
            *within_period(AuditEvent.at, since, until),
        )
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    )
    return [
        Override(
            e.id or 0, e.at, e.actor_name, e.object_type, e.object_id, e.action, e.note, e.version
        )
        for e in session.exec(query)
    ]


def _post_problems(
    session: Session, actor: User, since: datetime, until: datetime, now: datetime
) -> list[PostProblem]:
    """Posts that failed, were missed or need a check in the period; those held now."""
    query = (
        select(AuditEvent, Post, Piece, Channel)
        .join(Post, cast(col(Post.id), String) == col(AuditEvent.object_id))
        .join(Piece, col(Piece.id) == col(Post.piece_id))
        .join(Channel, col(Channel.id) == col(Post.channel_id))
        .where(
            AuditEvent.object_type == "post",
            col(AuditEvent.to_state).in_([s.value for s in PROBLEM_STATES]),
            *within_period(AuditEvent.at, since, until),
        )
        .order_by(col(AuditEvent.at), col(AuditEvent.id))
    )
    found = [
        PostProblem(
            post.id or 0,
            piece.id or 0,
            piece.title,
            channel.name,
            event.at,
            str(event.to_state),
            event.note or post.last_error or "",
        )
        for event, post, piece, channel in session.exec(query)
    ]
    held = [
        h
        for h in planning.held_posts(session, actor=actor, now=now)
        if since <= h.post.publish_at < until
    ]
    held_now = {h.post.id for h in held}
    found += [p for p in _rule_holds(session, since, until) if p.post_id not in held_now]
    found += _past_holds(session, since, until, held_now)
    if held:
        ids = {h.post.piece_id for h in held}
        titles = {p.id: p.title for p in session.exec(select(Piece).where(col(Piece.id).in_(ids)))}
        channels = {c.id: c.name for c in session.exec(select(Channel))}
        found += [
            PostProblem(
                h.post.id or 0,
                h.post.piece_id,
                titles.get(h.post.piece_id, ""),
                channels.get(h.post.channel_id, ""),
                h.post.publish_at,
                "held",
                h.reason.value,
                h.reason,
            )
            for h in held
        ]
    return found


def _with_piece_and_channel(entity: type[SQLModel], post_id: Any) -> Any:
    """Rows of `entity` (by their `post_id`) with their post's piece and channel."""
    return (
        select(entity, Piece, Channel)
        .join(Post, col(Post.id) == col(post_id))
        .join(Piece, col(Piece.id) == col(Post.piece_id))
        .join(Channel, col(Channel.id) == col(Post.channel_id))
    )


def _past_holds(
    session: Session, since: datetime, until: datetime, held_now: set[int | None]
) -> list[PostProblem]:
    """Stretches of time the engine found a due post held (`PostHold`) that overlap the
    period, oldest first; a stretch still open for a post held now is left to "held now"."""
    query = (
        _with_piece_and_channel(PostHold, PostHold.post_id)
        .where(
            col(PostHold.started_at) < until,
            or_(col(PostHold.ended_at).is_(None), col(PostHold.ended_at) > since),
        )
        .order_by(col(PostHold.started_at), col(PostHold.id))
    )
    found = []
    for hold, piece, channel in session.exec(query):
        if hold.ended_at is None and hold.post_id in held_now:
            continue
        reason = planning.HoldReason.__members__.get(hold.reason)
        ended = f" (until {hold.ended_at:%Y-%m-%d %H:%M} UTC)" if hold.ended_at else ""
        found.append(
            PostProblem(
                hold.post_id,
                piece.id or 0,
                piece.title,
                channel.name,
                hold.started_at,
                "was_held",
                (reason.value if reason else hold.reason) + ended,
                reason,
                hold.ended_at,
            )
        )
    return found


def _rule_holds(session: Session, since: datetime, until: datetime) -> list[PostProblem]:
    """Posts the engine held by a publishing rule in the period (its ledger rows with the
    outcome "rule"), each once with its last hold there and the reason then."""
    query = (
        _with_piece_and_channel(PublishAttempt, PublishAttempt.post_id)
        .where(
            PublishAttempt.outcome == "rule",
            *within_period(PublishAttempt.started_at, since, until),
        )
        .order_by(col(PublishAttempt.started_at), col(PublishAttempt.id))
    )
    last: dict[int, PostProblem] = {}
    for attempt, piece, channel in session.exec(query):
        last[attempt.post_id] = PostProblem(
            attempt.post_id,
            piece.id or 0,
            piece.title,
            channel.name,
            attempt.started_at,
            "held_by_rule",
            attempt.error or "",
            planning.stored_rule_hold(attempt),
        )
    return sorted(last.values(), key=lambda p: (p.at, p.post_id))
