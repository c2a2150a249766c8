"""The training needs analysis, worked out from the registers every time it is asked for.

The rules (where the issue was silent, these are the decisions):

* **What counts as a completion.** A person completed a requirement on the London date a
  session started when the register marks them ATTENDED (booked or walk-in, as long as the
  walk-in record carries their account) at a session that was not cancelled, has started, and
  is of the required course or, for a level requirement, of any course at that level.
  PARTIAL attendance does not count: the person did not complete the course (and their
  certificate does not certify the hours). Did-not-attend never counts, so a later missed
  session never undoes an earlier completion: only the latest completion matters.
* **Which requirements apply.** Those of the person's CURRENT workforce group only. Training
  done before they joined the group (in an earlier group, or before recording one) still
  counts: a completion is a completion.
* **Due dates.** The first completion is due `deadline_months` after the person started in
  the group. After a completion, the next is due `refresher_months` after the completion
  date, or never when the requirement is once only. Months are calendar months clamped to the
  month's end (see `dates.py`).
* **Status per person and requirement, given today's London date:**
  - *never trained*: no completion at all, whatever the deadline (the table also shows how
    many of them are past their first deadline);
  - *overdue*: the next due date is before today;
  - *due soon*: the next due date is today or later, up to and including today plus
    TNA_DUE_SOON_MONTHS months (exactly ON the due date is due, not overdue);
  - *in date*: completed, and once only or next due after that window.
* **Counting people.** The table counts PEOPLE, not requirements: each person is counted
  once, under their worst requirement, in the order overdue, never trained, due soon, in
  date. The drill-down shows every requirement for every person. People are counted under
  their current agency; deactivated and anonymised accounts are left out. People whose group
  has no requirements are in the "people" total but in none of the four counts.

The table is one GROUP BY query (plus one for the intervals in use, and one for people
without a group), whatever the number of people: the latest completion per person and
requirement is a grouped subquery, and the buckets compare it with cut-off instants worked
out here for each interval in use. No month arithmetic happens in SQL, so the same query
runs on SQLite and PostgreSQL.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import Date, Select, and_, case, func, literal, or_, select

from ..accounts.models import Agency, User
from ..attendance.models import Attendance, AttendanceOutcome
from ..catalogue.models import Course, CourseSession, SessionStatus
from ..db import UTCDateTime
from ..extensions import db
from ..timeutil import london_to_utc, to_london
from .dates import add_months, earliest_due_after, earliest_due_on_or_after
from .models import SEVERITY, Requirement, TnaStatus, WorkforceGroup, WorkforceMembership

SNAPSHOT_VERSION = 1
_BY_SEVERITY = {v: k for k, v in SEVERITY.items()}


def london_today(now: datetime) -> date:
    """Today's date in London."""
    return to_london(now).date()


# ---------------------------------------------------------------------------
# One person and one requirement, exactly
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RequirementStatus:
    """Where a person stands against one requirement."""

    status: TnaStatus
    completed_on: date | None
    next_due: date | None  # None: completed and never needed again
    past_deadline: bool = False  # never trained, and the first deadline has passed


def status_for(completed_on: date | None, started_on: date, deadline_months: int,
               refresher_months: int | None, today: date, due_soon_months: int) -> RequirementStatus:
    """The status of one requirement for one person, by the rules in this module's docstring."""
    if completed_on is None:
        first_due = add_months(started_on, deadline_months)
        return RequirementStatus(TnaStatus.NEVER_TRAINED, None, first_due, past_deadline=first_due < today)
    if refresher_months is None:
        return RequirementStatus(TnaStatus.IN_DATE, completed_on, None)
    due = add_months(completed_on, refresher_months)
    if due < today:
        status = TnaStatus.OVERDUE
    elif due <= add_months(today, due_soon_months):
        status = TnaStatus.DUE_SOON
    else:
        status = TnaStatus.IN_DATE
    return RequirementStatus(status, completed_on, due)


# ---------------------------------------------------------------------------
# SQL building blocks
# ---------------------------------------------------------------------------

def _completions(now: datetime) -> Select:
    """Sessions that count as completing a course: attended in full, not cancelled, started."""
    return (
        select(Attendance.user_id, CourseSession.starts_at, Course.id.label("course_id"), Course.level)
        .select_from(Attendance)
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .join(Course, Course.id == CourseSession.course_id)
        .where(
            Attendance.user_id.is_not(None),
            Attendance.outcome == AttendanceOutcome.ATTENDED,
            CourseSession.status != SessionStatus.CANCELLED,
            CourseSession.starts_at <= now,
        )
    )


def _current_memberships():
    return and_(WorkforceMembership.ended_on.is_(None), User.active.is_(True))


def latest_completions(now: datetime, *where) -> Select:
    """Per person and requirement of their current group: the start of the latest completion.

    `where` narrows the people (conditions on WorkforceMembership or User).
    """
    done = _completions(now).subquery()
    return (
        select(WorkforceMembership.user_id.label("user_id"), Requirement.id.label("requirement_id"),
               func.max(done.c.starts_at).label("last_at"))
        .select_from(WorkforceMembership)
        .join(User, User.id == WorkforceMembership.user_id)
        .join(Requirement, Requirement.group_id == WorkforceMembership.group_id)
        .join(done, and_(done.c.user_id == WorkforceMembership.user_id,
                         or_(Requirement.course_id == done.c.course_id, Requirement.level == done.c.level)))
        .where(_current_memberships(), *where)
        .group_by(WorkforceMembership.user_id, Requirement.id)
    )


def _intervals_in_use() -> tuple[set[int], set[int]]:
    """The refresher intervals and deadlines that requirements use (one query)."""
    refreshers: set[int] = set()
    deadlines: set[int] = set()
    for refresher, deadline in db.session.execute(
            select(Requirement.refresher_months, Requirement.deadline_months).distinct()):
        if refresher is not None:
            refreshers.add(refresher)
        deadlines.add(deadline)
    return refreshers, deadlines


def _midnight(day: date) -> datetime:
    return london_to_utc(day, time(0, 0))


def _by_interval(column, cutoffs: dict[int, object], type_):
    """CASE column WHEN months THEN cut-off ... END, with the cut-offs as bound parameters."""
    if not cutoffs:
        return literal(None, type_)
    return case({months: literal(value, type_) for months, value in sorted(cutoffs.items())}, value=column)


@dataclass(frozen=True)
class Cutoffs:
    """Cut-offs for today, per interval in months; see the module docstring."""

    overdue_before: dict[int, datetime]  # a completion starting before this is overdue
    in_date_from: dict[int, datetime]  # a completion starting at or after this is in date
    deadline_passed_before: dict[int, date]  # started in the group before this: first deadline passed


def cutoffs_for(today: date, due_soon_months: int, refreshers: Iterable[int], deadlines: Iterable[int]) -> Cutoffs:
    """The cut-off instants and dates for today, for each interval in use."""
    horizon = add_months(today, due_soon_months)
    return Cutoffs(
        overdue_before={r: _midnight(earliest_due_on_or_after(today, r)) for r in refreshers},
        in_date_from={r: _midnight(earliest_due_after(horizon, r)) for r in refreshers},
        deadline_passed_before={d: earliest_due_on_or_after(today, d) for d in deadlines},
    )


# ---------------------------------------------------------------------------
# The table: counts per agency and group
# ---------------------------------------------------------------------------

COUNT_FIELDS = ("people", "in_date", "due_soon", "overdue", "never_trained", "never_past_deadline")


@dataclass(frozen=True)
class Counts:
    """How many people are in each bucket; `never_past_deadline` is part of `never_trained`."""

    people: int = 0
    in_date: int = 0
    due_soon: int = 0
    overdue: int = 0
    never_trained: int = 0
    never_past_deadline: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{f: getattr(self, f) + getattr(other, f) for f in COUNT_FIELDS})

    def as_dict(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in COUNT_FIELDS}

    @classmethod
    def from_dict(cls, data: dict) -> Counts:
        return cls(**{f: int(data.get(f, 0)) for f in COUNT_FIELDS})


@dataclass(frozen=True)
class TnaRow:
    agency_id: int
    agency: str
    group_id: int
    group: str
    group_active: bool
    counts: Counts


@dataclass(frozen=True)
class Summary:
    """Counts for one group or one agency, summed over the table's rows."""

    key: int
    name: str
    counts: Counts


@dataclass
class Tna:
    """The TNA as it stands on `figures_on`."""

    figures_on: date
    due_soon_months: int
    rows: list[TnaRow]
    without_group: int = 0  # active people with no workforce group recorded

    @property
    def totals(self) -> Counts:
        return sum((r.counts for r in self.rows), Counts())

    def by_group(self) -> list[Summary]:
        return _summaries((r.group_id, r.group, r.counts) for r in self.rows)

    def by_agency(self) -> list[Summary]:
        return _summaries((r.agency_id, r.agency, r.counts) for r in self.rows)


def _summaries(items: Iterable[tuple[int, str, Counts]]) -> list[Summary]:
    found: dict[int, Summary] = {}
    for key, name, counts in items:
        before = found.get(key)
        found[key] = Summary(key, name, counts if before is None else before.counts + counts)
    return sorted(found.values(), key=lambda s: (s.name.lower(), s.key))


def _one(condition) -> object:
    return func.sum(case((condition, 1), else_=0))


def compute(now: datetime, due_soon_months: int, agency_id: int | None = None) -> Tna:
    """Counts per agency and workforce group (every agency, or one), in three queries."""
    today = london_today(now)
    refreshers, deadlines = _intervals_in_use()
    cut = cutoffs_for(today, due_soon_months, refreshers, deadlines)
    where = [] if agency_id is None else [User.agency_id == agency_id]
    latest = latest_completions(now, *where).subquery()

    last_at = latest.c.last_at
    overdue_before = _by_interval(Requirement.refresher_months, cut.overdue_before, UTCDateTime())
    in_date_from = _by_interval(Requirement.refresher_months, cut.in_date_from, UTCDateTime())
    deadline_passed = _by_interval(Requirement.deadline_months, cut.deadline_passed_before, Date())
    severity = case(
        (Requirement.id.is_(None), None),
        (last_at.is_(None), SEVERITY[TnaStatus.NEVER_TRAINED]),
        (Requirement.refresher_months.is_(None), SEVERITY[TnaStatus.IN_DATE]),
        (last_at < overdue_before, SEVERITY[TnaStatus.OVERDUE]),
        (last_at < in_date_from, SEVERITY[TnaStatus.DUE_SOON]),
        else_=SEVERITY[TnaStatus.IN_DATE],
    )
    never_past = case(
        (and_(Requirement.id.is_not(None), last_at.is_(None), WorkforceMembership.started_on < deadline_passed), 1),
        else_=0,
    )
    pairs = (
        select(WorkforceMembership.user_id.label("user_id"), User.agency_id.label("agency_id"),
               WorkforceMembership.group_id.label("group_id"), severity.label("severity"),
               never_past.label("never_past"))
        .select_from(WorkforceMembership)
        .join(User, User.id == WorkforceMembership.user_id)
        .outerjoin(Requirement, Requirement.group_id == WorkforceMembership.group_id)
        .outerjoin(latest, and_(latest.c.user_id == WorkforceMembership.user_id,
                                latest.c.requirement_id == Requirement.id))
        .where(_current_memberships(), *where)
        .subquery()
    )
    people = (
        select(pairs.c.user_id, pairs.c.agency_id, pairs.c.group_id,
               func.max(pairs.c.severity).label("worst"), func.max(pairs.c.never_past).label("never_past"))
        .group_by(pairs.c.user_id, pairs.c.agency_id, pairs.c.group_id)
        .subquery()
    )
    worst = people.c.worst
    stmt = (
        select(
            Agency.id, Agency.name, WorkforceGroup.id, WorkforceGroup.name, WorkforceGroup.active,
            func.count(),
            _one(worst == SEVERITY[TnaStatus.IN_DATE]),
            _one(worst == SEVERITY[TnaStatus.DUE_SOON]),
            _one(worst == SEVERITY[TnaStatus.OVERDUE]),
            _one(worst == SEVERITY[TnaStatus.NEVER_TRAINED]),
            _one(and_(worst == SEVERITY[TnaStatus.NEVER_TRAINED], people.c.never_past == 1)),
        )
        .select_from(people)
        .join(Agency, Agency.id == people.c.agency_id)
        .join(WorkforceGroup, WorkforceGroup.id == people.c.group_id)
        .group_by(Agency.id, Agency.name, WorkforceGroup.id, WorkforceGroup.name, WorkforceGroup.active)
        .order_by(func.lower(Agency.name), Agency.id, func.lower(WorkforceGroup.name), WorkforceGroup.id)
    )
    rows = [
        TnaRow(a_id, a_name, g_id, g_name, bool(g_active),
               Counts(*(int(n or 0) for n in numbers)))
        for a_id, a_name, g_id, g_name, g_active, *numbers in db.session.execute(stmt)
    ]
    return Tna(today, due_soon_months, rows, without_group=_people_without_group(agency_id))


def _people_without_group(agency_id: int | None) -> int:
    current = select(WorkforceMembership.user_id).where(WorkforceMembership.ended_on.is_(None))
    stmt = select(func.count(User.id)).where(User.active.is_(True), User.id.not_in(current))
    if agency_id is not None:
        stmt = stmt.where(User.agency_id == agency_id)
    return db.session.scalar(stmt) or 0


# ---------------------------------------------------------------------------
# The people behind one cell, and one person's own requirements
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PersonStatus:
    """One person in the drill-down: their status against each of the group's requirements."""

    user_id: int
    name: str
    email: str
    started_on: date
    statuses: list[RequirementStatus]

    @property
    def worst(self) -> TnaStatus | None:
        if not self.statuses:
            return None
        return _BY_SEVERITY[max(s.status.severity for s in self.statuses)]


def people_in(agency_id: int, group: WorkforceGroup, now: datetime, due_soon_months: int) -> list[PersonStatus]:
    """Everyone currently in `group` at the agency, by name, with each requirement's status (2 queries)."""
    today = london_today(now)
    where = [User.agency_id == agency_id, WorkforceMembership.group_id == group.id]
    latest: dict[tuple[int, int], datetime] = {
        (user_id, requirement_id): last_at
        for user_id, requirement_id, last_at in db.session.execute(latest_completions(now, *where))
    }
    members = db.session.execute(
        select(User.id, User.name, User.email, WorkforceMembership.started_on)
        .select_from(WorkforceMembership).join(User, User.id == WorkforceMembership.user_id)
        .where(_current_memberships(), *where)
        .order_by(func.lower(User.name), User.id)
    )
    found = []
    for user_id, name, email, started_on in members:
        statuses = []
        for req in group.requirements:
            last_at = latest.get((user_id, req.id))
            statuses.append(status_for(london_today(last_at) if last_at else None, started_on,
                                       req.deadline_months, req.refresher_months, today, due_soon_months))
        found.append(PersonStatus(user_id, name, email, started_on, statuses))
    return found


@dataclass(frozen=True)
class MyRequirement:
    requirement: Requirement
    status: RequirementStatus
    course_title: str | None  # of the latest completion


def my_requirements(membership: WorkforceMembership, now: datetime, due_soon_months: int) -> list[MyRequirement]:
    """A person's requirements in their current group, with the latest completion of each (1 query)."""
    today = london_today(now)
    done = list(db.session.execute(
        _completions(now).add_columns(Course.title).where(Attendance.user_id == membership.user_id)
        .order_by(CourseSession.starts_at.desc())
    ))
    found = []
    for req in membership.group.requirements:
        latest = next((row for row in done if (req.course_id is not None and row.course_id == req.course_id)
                       or (req.level is not None and row.level == req.level)), None)
        completed_on = london_today(latest.starts_at) if latest else None
        found.append(MyRequirement(
            req, status_for(completed_on, membership.started_on, req.deadline_months, req.refresher_months,
                            today, due_soon_months),
            latest.title if latest else None))
    return found


# ---------------------------------------------------------------------------
# Snapshots for reviews, and what changed
# ---------------------------------------------------------------------------

def snapshot_json(tna: Tna) -> str:
    """The figures as JSON, with names as they were, for a review to keep."""
    return json.dumps({
        "version": SNAPSHOT_VERSION,
        "figures_on": tna.figures_on.isoformat(),
        "due_soon_months": tna.due_soon_months,
        "without_group": tna.without_group,
        "rows": [{"agency_id": r.agency_id, "agency": r.agency, "group_id": r.group_id, "group": r.group,
                  "group_active": r.group_active, **r.counts.as_dict()} for r in tna.rows],
    }, sort_keys=True)


def from_snapshot(text: str) -> Tna:
    """A review's stored figures."""
    data = json.loads(text)
    return Tna(
        figures_on=date.fromisoformat(data["figures_on"]),
        due_soon_months=int(data["due_soon_months"]),
        rows=[TnaRow(int(r["agency_id"]), r["agency"], int(r["group_id"]), r["group"],
                     bool(r.get("group_active", True)), Counts.from_dict(r)) for r in data["rows"]],
        without_group=int(data.get("without_group", 0)),
    )


@dataclass(frozen=True)
class Change:
    """A figure now, and how it moved since the previous figures (None: not there before)."""

    now: int
    change: int | None

    @property
    def label(self) -> str:
        if self.change is None:
            return "new"
        if self.change == 0:
            return "no change"
        return f"{self.change:+d}".replace("-", "\u2212")


@dataclass(frozen=True)
class Compared:
    key: int | None
    name: str
    figures: dict[str, Change] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Change:
        return self.figures[name]


def _compare_counts(key: int | None, name: str, now: Counts, before: Counts | None) -> Compared:
    return Compared(key, name, {
        f: Change(getattr(now, f), None if before is None else getattr(now, f) - getattr(before, f))
        for f in COUNT_FIELDS
    })


def compare(current: list[Summary], previous: list[Summary] | None) -> list[Compared]:
    """Each summary now against the same group or agency (by id) before; gone ones show as 0."""
    if previous is None:
        return [_compare_counts(s.key, s.name, s.counts, None) for s in current]
    before = {s.key: s for s in previous}
    compared = [_compare_counts(s.key, s.name, s.counts, before[s.key].counts if s.key in before else None)
                for s in current]
    seen = {s.key for s in current}
    compared += [_compare_counts(s.key, s.name, Counts(), s.counts) for s in previous if s.key not in seen]
    return compared


def for_agency(figures: Tna, agency_id: int) -> Tna:
    """The same figures for one agency only."""
    return Tna(figures.figures_on, figures.due_soon_months, [r for r in figures.rows if r.agency_id == agency_id])


def compare_totals(current: Tna, previous: Tna | None) -> Compared:
    """All the figures together, now against before."""
    return _compare_counts(None, "All", current.totals, None if previous is None else previous.totals)
