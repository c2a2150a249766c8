"""A financial year of training whose summary figures are known in advance.

`build_known_year()` writes it with bulk inserts (a few statements per table, one commit) and
returns `Expected`: every figure the subgroup summary must show for it. Page, PDF, export and
benchmark tests reuse it, so keep its signature stable.

The year is 2019-20 (1 April 2019 to 31 March 2020), as in the annual report the issue quotes:
26 training sessions and 3 workshops took place, training 670 distinct professionals in 740
attendances. The data is written from a plan (plain Python records, below); `Expected` is
counted from that plan in Python, independently of the SQL under test, and the tests pin the
headline numbers as literals too. What the plan holds:

* 32 sessions in the year: 29 that took place, 2 cancelled by the partnership (with bookings
  released, and one late cancellation before the session was cancelled, which is not charged),
  and 1 where everyone booked did not attend (so it did not take place, but its DNAs count).
* The first session starts at 00:30 on 1 April 2019 London time (23:30 UTC on 31 March): it is
  in the year. One at 23:30 on 31 March 2019 London time is in the previous year, and one at
  00:30 on 1 April 2020 London time (23:30 UTC on 31 March 2020) is in the next year. The last
  workshop of the year is at 6pm on 31 March 2020 (British Summer Time).
* 67 people attend two sessions; 5 walk-ins with an account (one of them also booked another
  session); 10 walk-ins without an account: 4 without an email address (4 people) and 6 with
  one, where each address appears twice in different case (3 people). 6 partial attendances.
* One person moved agency after training: the register keeps the agency at the time.
* Did-not-attend and late cancellations on half-day (3 hours, 3.5 hours and exactly 4 hours)
  and full-day (6 hours) sessions; waiting lists; a cancelled, an expired, a moved and a
  transferred booking, which count (or not) towards demand.
* Submitted after-course forms with overall ratings, drafts that must not count, before and
  follow-up forms, quotable and unquotable comments, and quality reviews in every status.
* A previous financial year (2018-19) with 2 training sessions, 1 workshop and 1 cancelled
  session, for the comparison.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import insert, update

from tests.evaluation.results_data import question_sets
from training.accounts.models import Agency, Sector, User
from training.attendance.models import Attendance, AttendanceOutcome
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import Course, CourseFormat, CourseSession, Level, SessionKind, SessionStatus
from training.evaluation.models import (
    Answer,
    Evaluation,
    EvaluationStatus,
    OverallRating,
    QualityReview,
    ReviewStatus,
    Stage,
)
from training.evaluation.results import Period, financial_year
from training.extensions import db
from training.timeutil import london_to_utc, to_london

ATTENDED, PARTIAL, DNA = AttendanceOutcome.ATTENDED, AttendanceOutcome.PARTIAL, AttendanceOutcome.DID_NOT_ATTEND
PRESENT = (ATTENDED, PARTIAL)
S = BookingStatus

AGENCIES: dict[str, Sector] = {
    "Thameside Children's Social Care": Sector.CHILDRENS_SOCIAL_CARE,
    "Thameside Primary School": Sector.EDUCATION,
    "Riverside Academy": Sector.EDUCATION,
    "Thameside NHS Foundation Trust": Sector.HEALTH,
    "Thameside GP Federation": Sector.HEALTH,
    "Thameside Police": Sector.POLICE,
    "Thameside Voluntary Action": Sector.VOLUNTARY_COMMUNITY,
    "Thameside Faith Forum": Sector.FAITH,  # trained only in the previous year
}
A1, A2, A3, A4, A5, A6, A7, A8 = AGENCIES

C1 = "Multi-agency safeguarding (Level 2)"
C2 = "Neglect: recognising and responding"
C3 = "Domestic abuse and its impact on children"
C4 = "Child exploitation (CCE and CSE)"
C5 = "Designated safeguarding lead refresher"
W1 = "Learning from local case reviews"
#: title -> (kind, minutes, capacity)
COURSES: dict[str, tuple[SessionKind, int, int]] = {
    C1: (SessionKind.TRAINING, 180, 30),
    C2: (SessionKind.TRAINING, 360, 30),
    C3: (SessionKind.TRAINING, 210, 30),
    C4: (SessionKind.TRAINING, 360, 25),
    C5: (SessionKind.TRAINING, 240, 30),  # exactly HALF_DAY_MAX_MINUTES: still a half day
    W1: (SessionKind.WORKSHOP, 120, 25),
}
#: The sessions that took place in the year: course, how many, people present at each.
DELIVERED = [(C1, 8, 30), (C2, 6, 25), (C3, 5, 24), (C4, 4, 20), (C5, 3, 30), (W1, 3, 20)]
#: Agencies of the 663 people with accounts first seen in the year, in blocks.
AGENCY_BLOCKS = [(A1, 150), (A2, 100), (A3, 80), (A4, 150), (A5, 60), (A6, 60), (A7, 63)]
QUOTABLE = {0: "Really practical and well paced", 1: "the case studies brought it to life",
            3: "Would recommend to every colleague", 6: "More time for questions would help"}
NOT_QUOTABLE = {4: "The room was too cold", 7: "Parking was difficult"}


# ---------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------

@dataclass
class PlanSession:
    course: str
    starts_at: datetime
    cancelled: bool = False
    reason: str | None = None

    @property
    def kind(self) -> SessionKind:
        return COURSES[self.course][0]

    @property
    def minutes(self) -> int:
        return COURSES[self.course][1]

    @property
    def capacity(self) -> int:
        return COURSES[self.course][2]

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.minutes)


@dataclass
class PlanPerson:
    name: str
    email: str
    agency: str  # their agency now


@dataclass
class PlanRecord:
    """One person's booking and/or register entry on one session."""

    session: int
    person: int | None  # None: a walk-in without an account
    agency: str  # on the register (as at the time), or the person's agency when there is no entry
    booking: BookingStatus | None  # None: a walk-in
    outcome: AttendanceOutcome | None  # None: not on the register
    walk_in_email: str | None = None
    walk_in_name: str | None = None
    replaces: int | None = None  # the record whose booking this one replaced (move, transfer)
    overall: OverallRating | None = None  # a submitted after-course form with this rating
    draft_overall: OverallRating | None = None  # an after-course draft: never counts
    knowledge: tuple[int | None, int | None] = (None, None)  # before, after
    confidence: tuple[int | None, int | None] = (None, None)
    follow_up: bool = False
    comment: str | None = None
    quotable: bool = False

    @property
    def present(self) -> bool:
        return self.outcome in PRESENT


@dataclass
class PlanReview:
    course: str
    session: int | None
    status: ReviewStatus
    reason: str
    created_at: datetime


@dataclass
class Plan:
    sessions: list[PlanSession] = field(default_factory=list)
    people: list[PlanPerson] = field(default_factory=list)
    records: list[PlanRecord] = field(default_factory=list)
    reviews: list[PlanReview] = field(default_factory=list)

    def session(self, course: str, starts_at: datetime, **kwargs) -> int:
        self.sessions.append(PlanSession(course, starts_at, **kwargs))
        return len(self.sessions) - 1

    def person(self, agency: str) -> int:
        n = len(self.people)
        self.people.append(PlanPerson(f"Delegate {n + 1}", f"delegate{n + 1}@known-year.example", agency))
        return n

    def record(self, session: int, person: int | None, agency: str | None = None, *,
               booking: BookingStatus | None = S.CONFIRMED, outcome: AttendanceOutcome | None = ATTENDED,
               **kwargs) -> PlanRecord:
        agency = agency if agency is not None else self.people[person].agency
        record = PlanRecord(session, person, agency, booking, outcome, **kwargs)
        self.records.append(record)
        return record

    def newcomers(self, session: int, agency: str, count: int, **kwargs) -> list[PlanRecord]:
        return [self.record(session, self.person(agency), **kwargs) for _ in range(count)]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return london_to_utc(day, time(hour, minute))


def known_year_plan(first_year: int = 2019) -> Plan:
    """The plan of the known year (1 April `first_year` to 31 March the year after)."""
    plan = Plan()
    day_one = date(first_year, 4, 1)

    # Sessions that took place, 11 days apart at 9:30am; the first just after midnight on
    # 1 April (still 31 March in UTC) and the last at 6pm on 31 March.
    delivered: dict[str, list[int]] = defaultdict(list)
    k = 0
    for course, count, _present in DELIVERED:
        for _ in range(count):
            delivered[course].append(plan.session(course, _at(day_one + timedelta(days=11 * k), 9, 30)))
            k += 1
    plan.sessions[delivered[C1][0]].starts_at = _at(day_one, 0, 30)
    plan.sessions[delivered[W1][-1]].starts_at = _at(date(first_year + 1, 3, 31), 18)
    cancelled_c1 = plan.session(C1, _at(day_one + timedelta(days=11 * 29), 9, 30), cancelled=True,
                                reason="The trainer was unwell")
    cancelled_c2 = plan.session(C2, _at(day_one + timedelta(days=11 * 30), 9, 30), cancelled=True,
                                reason="The venue flooded")
    nobody_came = plan.session(C3, _at(day_one + timedelta(days=11 * 31), 9, 30))

    # Who was present: user slots filled by 663 new people in agency blocks, then 67 of them
    # again (in the workshops and the last DSL session); walk-ins without an account in C3.
    walk_ins_without_account = {
        delivered[C3][0]: [None, None], delivered[C3][1]: [None, None],
        delivered[C3][2]: ["walkin.a@known-year.example", "walkin.b@known-year.example"],
        delivered[C3][3]: ["WALKIN.A@Known-Year.example", "walkin.c@known-year.example"],
        delivered[C3][4]: ["Walkin.B@known-year.example", "walkin.c@KNOWN-YEAR.example"],
    }
    user_slots: list[int] = []
    walk_in_count = 0
    for course, _count, present in DELIVERED:
        for session in delivered[course]:
            emails = walk_ins_without_account.get(session, [])
            user_slots += [session] * (present - len(emails))
            for email in emails:
                walk_in_count += 1
                plan.record(session, None, A7 if email is None else A2, booking=None,
                            walk_in_email=email, walk_in_name=f"Walk-in {walk_in_count}")
    assert len(user_slots) == 730
    block_agencies = [agency for agency, size in AGENCY_BLOCKS for _ in range(size)]
    first_seen = [plan.person(agency) for agency in block_agencies]
    people = first_seen + first_seen[:67]
    walk_in_slots = {user_slots.index(s) for s in delivered[C4]} | {len(user_slots) - 1}
    partial_slots = {user_slots.index(s) + 1 for s in delivered[C2]}
    present_records = []
    for slot, (session, person) in enumerate(zip(user_slots, people, strict=True)):
        present_records.append(plan.record(
            session, person, block_agencies[person],
            booking=None if slot in walk_in_slots else S.CONFIRMED,
            outcome=PARTIAL if slot in partial_slots else ATTENDED,
        ))
    plan.people[first_seen[0]].agency = A6  # moved agency after training

    # Did not attend, on half-day and full-day sessions, and where nobody came.
    dna_on_first = plan.newcomers(delivered[C1][0], A2, 3, outcome=DNA)[0].person
    plan.newcomers(delivered[C1][1], A4, 2, outcome=DNA)
    plan.newcomers(delivered[C2][0], A4, 2, outcome=DNA)
    plan.newcomers(delivered[C2][1], A6, 2, outcome=DNA)
    plan.newcomers(delivered[C5][0], A1, 2, outcome=DNA)
    plan.newcomers(nobody_came, A3, 3, outcome=DNA)
    # Late cancellations, charged like a DNA.
    plan.newcomers(delivered[C1][3], A2, 1, booking=S.LATE_CANCELLED, outcome=None)
    plan.newcomers(delivered[C1][4], A5, 2, booking=S.LATE_CANCELLED, outcome=None)
    plan.newcomers(delivered[C4][0], A6, 1, booking=S.LATE_CANCELLED, outcome=None)
    plan.newcomers(delivered[C4][1], A7, 1, booking=S.LATE_CANCELLED, outcome=None)
    # Not charged: a late cancellation on a session the partnership then cancelled.
    plan.newcomers(cancelled_c1, A1, 1, booking=S.LATE_CANCELLED, outcome=None)
    plan.newcomers(cancelled_c1, A1, 3, booking=S.SESSION_CANCELLED, outcome=None)
    plan.newcomers(cancelled_c2, A4, 2, booking=S.SESSION_CANCELLED, outcome=None)
    # Demand: waiting lists (one of them a person who did not attend the first session),
    # cancelled in time, an offer that expired, a move and a transfer.
    plan.newcomers(delivered[C1][7], A1, 3, booking=S.WAITLISTED, outcome=None)
    plan.record(delivered[C1][7], dna_on_first, booking=S.WAITLISTED, outcome=None)
    plan.newcomers(delivered[C2][5], A4, 2, booking=S.WAITLISTED, outcome=None)
    plan.newcomers(delivered[C2][2], A4, 2, booking=S.CANCELLED, outcome=None)
    plan.newcomers(delivered[C5][1], A3, 1, booking=S.EXPIRED, outcome=None)
    first_on_c1_7 = next(r for r in present_records if r.session == delivered[C1][6])
    moved = plan.record(delivered[C2][3], first_on_c1_7.person, booking=S.MOVED, outcome=None)
    first_on_c1_7.replaces = plan.records.index(moved)
    [transferred] = plan.newcomers(delivered[C4][2], A6, 1, booking=S.TRANSFERRED, outcome=None)
    colleague = [r for r in present_records if r.session == delivered[C4][2] and r.booking][0]
    colleague.replaces = plan.records.index(transferred)

    # Evaluations of booked people present, in a fixed pattern.
    pattern = ([OverallRating.EXCELLENT] * 12 + [OverallRating.GOOD] * 6
               + [OverallRating.SATISFACTORY, OverallRating.POOR])
    for j, record in enumerate(r for r in present_records if r.booking):
        before = (1 + (j // 5) % 3, 2 + (j // 5) % 2) if j % 5 == 0 else (None, None)
        if j % 3 == 2:
            record.knowledge, record.confidence = (before[0], None), (before[1], None)
            if j % 7 == 2:
                record.draft_overall = OverallRating.POOR
            continue
        record.overall = pattern[j % 20]
        record.knowledge = (before[0], 3 + j % 3 if j % 2 == 0 else None)
        record.confidence = (before[1], 4 + j % 2 if j % 3 == 0 else None)
        record.follow_up = j % 4 == 1
        if j in QUOTABLE:
            record.comment, record.quotable = QUOTABLE[j], True
        elif j in NOT_QUOTABLE:
            record.comment = NOT_QUOTABLE[j]

    # The years either side.
    next_year = plan.session(C1, _at(date(first_year + 1, 4, 1), 0, 30))
    for record in plan.newcomers(next_year, A4, 12):
        record.overall = OverallRating.EXCELLENT
        record.comment, record.quotable = "Outside the year", True
    plan.newcomers(next_year, A4, 1, outcome=DNA)
    plan.newcomers(next_year, A4, 1, booking=S.LATE_CANCELLED, outcome=None)
    june = plan.session(C1, _at(date(first_year - 1, 6, 10), 9, 30))
    march = plan.session(C1, _at(date(first_year, 3, 31), 23, 30))
    december = plan.session(W1, _at(date(first_year - 1, 12, 5), 9, 30))
    plan.session(C2, _at(date(first_year - 1, 9, 3), 9, 30), cancelled=True, reason="Too few bookings")
    regular = plan.person(A1)
    plan.record(june, regular, overall=OverallRating.EXCELLENT)
    plan.record(march, regular, overall=OverallRating.POOR)
    for i, record in enumerate(plan.newcomers(june, A4, 9)):
        record.overall = OverallRating.EXCELLENT if i < 4 else OverallRating.GOOD if i < 7 else None
    plan.newcomers(march, A1, 7)
    plan.newcomers(december, A8, 5)
    plan.newcomers(june, A2, 1, outcome=DNA)

    # Quality reviews: every one not closed is listed, whatever its date.
    plan.reviews = [
        PlanReview(C2, delivered[C2][1], ReviewStatus.OPEN,
                   "More than 25% of overall ratings were Satisfactory or Poor", _at(day_one + timedelta(days=200), 12)),
        PlanReview(C4, None, ReviewStatus.ACTIONS_AGREED, "Raised by the subgroup after delegates' comments",
                   _at(day_one + timedelta(days=250), 12)),
        PlanReview(C1, delivered[C1][1], ReviewStatus.CLOSED, "Closed review: never listed",
                   _at(day_one + timedelta(days=100), 12)),
        PlanReview(W1, december, ReviewStatus.OPEN, "Still open from last year",
                   _at(date(first_year - 1, 12, 20), 12)),
    ]
    return plan


# ---------------------------------------------------------------------------
# What the summary must say, counted from the plan in Python
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ExpectedHeadline:
    training_sessions: int
    workshops: int
    cancelled_sessions: int
    professionals_trained: int
    attendances: int
    places_offered: int


@dataclass(frozen=True)
class ExpectedNonAttendance:
    sector: Sector
    booked: int
    did_not_attend: int
    late_cancellations: int
    half_days: int
    full_days: int
    charge_pence: int


@dataclass(frozen=True)
class ExpectedDemand:
    sessions: int
    places: int
    requests: int
    waiting: int

    @property
    def exceeded(self) -> bool:
        return self.requests > self.places


@dataclass
class Expected:
    period: Period
    previous_period: Period
    headline: ExpectedHeadline
    previous_headline: ExpectedHeadline
    by_agency: dict[str, int]  # agency name -> attendances
    by_sector: dict[Sector, int]  # sector -> attendances (Sector is a str: its value)
    by_course: dict[str, int]  # course title -> attendances
    ratings: dict[OverallRating, int]  # all four, in order
    previous_ratings: dict[OverallRating, int]
    ratings_by_course: dict[str, dict[OverallRating, int]]
    shifts: dict[str, tuple[int, float | None, float | None]]  # key -> (people, mean before, mean after)
    response_rate: tuple[int, int]  # (after forms, booked people present)
    follow_up_rate: tuple[int, int]
    non_attendance: dict[str, ExpectedNonAttendance]  # agency name -> row
    demand: dict[str, ExpectedDemand]  # course title -> row
    cancelled: list[tuple[str, datetime, str | None]]  # in start order
    quotable_comments: list[str]  # alphabetical, case-insensitive
    open_reviews: list[tuple[str, ReviewStatus]]  # (course title, status), oldest first
    half_day_pence: int
    full_day_pence: int

    @property
    def did_not_attend(self) -> int:
        return sum(r.did_not_attend for r in self.non_attendance.values())

    @property
    def late_cancellations(self) -> int:
        return sum(r.late_cancellations for r in self.non_attendance.values())

    @property
    def charge_pence(self) -> int:
        return sum(r.charge_pence for r in self.non_attendance.values())

    def contract_figures(self) -> dict:
        """What `flask report summary --format json` must print under the issue's keys."""
        return {
            "training_sessions": self.headline.training_sessions,
            "workshops": self.headline.workshops,
            "professionals_trained": self.headline.professionals_trained,
            "attendances": self.headline.attendances,
            "by_agency": dict(self.by_agency),
            "by_sector": {sector.value: count for sector, count in self.by_sector.items()},
            "by_course": dict(self.by_course),
            "ratings": {rating.value: count for rating, count in self.ratings.items()},
            "did_not_attend": self.did_not_attend,
            "late_cancellations": self.late_cancellations,
        }

    def all_figures(self) -> dict:
        """Every key `Summary.figures()` gives, except `open_reviews` (compare `open_reviews`)."""
        h, p = self.headline, self.previous_headline
        return self.contract_figures() | {
            "period": _dates(self.period),
            "places_offered": h.places_offered,
            "fill_rate": _percent(h.attendances, h.places_offered),
            "cancelled_sessions": h.cancelled_sessions,
            "ratings_by_course": {course: {r.value: n for r, n in counts.items()}
                                  for course, counts in self.ratings_by_course.items()},
            "learning_shift": {key: {"people": n, "before": _two_places(before), "after": _two_places(after),
                                     "change": None if before is None else _two_places(after - before)}
                               for key, (n, before, after) in self.shifts.items()},
            "response_rate": {"count": self.response_rate[0], "total": self.response_rate[1],
                              "percent": _percent(*self.response_rate)},
            "follow_up_rate": {"count": self.follow_up_rate[0], "total": self.follow_up_rate[1],
                               "percent": _percent(*self.follow_up_rate)},
            "non_attendance": {agency: {"sector": row.sector.value, "booked": row.booked,
                                        "did_not_attend": row.did_not_attend,
                                        "late_cancellations": row.late_cancellations, "half_days": row.half_days,
                                        "full_days": row.full_days, "charge_pence": row.charge_pence}
                               for agency, row in self.non_attendance.items()},
            "non_attendance_charge_pence": self.charge_pence,
            "demand": {course: {"sessions": d.sessions, "places": d.places, "requests": d.requests,
                                "waiting": d.waiting, "exceeded": d.exceeded} for course, d in self.demand.items()},
            "cancelled": [{"course": course, "starts_at": to_london(starts_at).isoformat(), "reason": reason}
                          for course, starts_at, reason in self.cancelled],
            "quotable_comments": list(self.quotable_comments),
            "previous": {
                "period": _dates(self.previous_period),
                "training_sessions": p.training_sessions, "workshops": p.workshops,
                "professionals_trained": p.professionals_trained, "attendances": p.attendances,
                "places_offered": p.places_offered, "fill_rate": _percent(p.attendances, p.places_offered),
                "cancelled_sessions": p.cancelled_sessions,
                "ratings": {r.value: n for r, n in self.previous_ratings.items()},
            },
        }


def _percent(count: int, total: int) -> float | None:
    return None if not total else round(100 * count / total, 1)


def _two_places(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _dates(period: Period) -> dict:
    return {"from": period.first.isoformat(), "to": period.last.isoformat()}


def previous_period(period: Period) -> Period:
    """The period the summary compares with (the previous financial year, for a year)."""
    if period == financial_year(period.first):
        return financial_year(date(period.first.year - 1, 4, 1))
    length = (period.last - period.first).days + 1
    return Period(period.first - timedelta(days=length), period.first - timedelta(days=1))


def _in(period: Period, session: PlanSession) -> bool:
    return period.first <= to_london(session.starts_at).date() <= period.last


def _headline(plan: Plan, period: Period) -> ExpectedHeadline:
    sessions = [i for i, s in enumerate(plan.sessions) if _in(period, s)]
    took_place = [i for i in sessions if not plan.sessions[i].cancelled
                  and any(r.present for r in plan.records if r.session == i)]
    present = [(n, r) for n, r in enumerate(plan.records) if r.present and r.session in took_place]
    people = {("user", r.person) if r.person is not None
              else ("email", r.walk_in_email.lower()) if r.walk_in_email else ("record", n)
              for n, r in present}
    return ExpectedHeadline(
        training_sessions=sum(plan.sessions[i].kind == SessionKind.TRAINING for i in took_place),
        workshops=sum(plan.sessions[i].kind == SessionKind.WORKSHOP for i in took_place),
        cancelled_sessions=sum(plan.sessions[i].cancelled for i in sessions),
        professionals_trained=len(people),
        attendances=len(present),
        places_offered=sum(plan.sessions[i].capacity for i in took_place),
    )


def _ratings(records: list[PlanRecord]) -> dict[OverallRating, int]:
    counts = Counter(r.overall for r in records if r.overall)
    return {rating: counts[rating] for rating in OverallRating}


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def expected_for(plan: Plan, period: Period, *, half_day_pence: int, full_day_pence: int,
                 half_day_max_minutes: int) -> Expected:
    """Every figure of the summary of `plan` for `period`, counted in Python."""
    live = {i for i, s in enumerate(plan.sessions) if _in(period, s) and not s.cancelled}
    records = [r for r in plan.records if r.session in live]
    present = [r for r in records if r.present]
    title = {i: s.course for i, s in enumerate(plan.sessions)}

    by_agency = Counter(r.agency for r in present)
    by_sector = Counter(AGENCIES[r.agency] for r in present)
    by_course = Counter(title[r.session] for r in present)
    by_course_ratings: dict[str, list[PlanRecord]] = defaultdict(list)
    for r in records:
        if r.overall:
            by_course_ratings[title[r.session]].append(r)

    shifts = {}
    for key in ("knowledge", "confidence"):
        pairs = [getattr(r, key) for r in records if None not in getattr(r, key)]
        shifts[key] = (len(pairs), _mean([b for b, _a in pairs]), _mean([a for _b, a in pairs]))
    booked_present = sum(1 for r in present if r.booking)

    non_attendance: dict[str, dict[str, int]] = defaultdict(Counter)
    for r in records:
        row = None
        if r.outcome is not None and r.booking is not None:
            non_attendance[r.agency]["booked"] += 1
            if r.outcome == DNA:
                row = non_attendance[r.agency]
                row["did_not_attend"] += 1
        elif r.booking == S.LATE_CANCELLED:
            row = non_attendance[plan.people[r.person].agency]  # the person's agency now
            row["booked"] += 1
            row["late_cancellations"] += 1
        if row is not None:
            row["half_days" if plan.sessions[r.session].minutes <= half_day_max_minutes else "full_days"] += 1

    demand = {}
    for course in COURSES:
        sessions = [i for i in live if plan.sessions[i].course == course]
        if not sessions:
            continue
        demand[course] = ExpectedDemand(
            sessions=len(sessions),
            places=sum(plan.sessions[i].capacity for i in sessions),
            requests=len({r.person for r in records if r.session in sessions and r.booking
                          and r.booking not in (S.MOVED, S.TRANSFERRED)}),
            waiting=sum(1 for r in records if r.session in sessions and r.booking == S.WAITLISTED),
        )

    previous = previous_period(period)
    return Expected(
        period=period,
        previous_period=previous,
        headline=_headline(plan, period),
        previous_headline=_headline(plan, previous),
        by_agency=dict(by_agency),
        by_sector=dict(by_sector),
        by_course=dict(by_course),
        ratings=_ratings(records),
        previous_ratings=_ratings([r for r in plan.records if _in(previous, plan.sessions[r.session])
                                   and not plan.sessions[r.session].cancelled]),
        ratings_by_course={course: _ratings(rs) for course, rs in by_course_ratings.items()},
        shifts=shifts,
        response_rate=(sum(1 for r in records if r.overall), booked_present),
        follow_up_rate=(sum(1 for r in records if r.follow_up), booked_present),
        non_attendance={
            agency: ExpectedNonAttendance(
                sector=AGENCIES[agency], booked=row["booked"], did_not_attend=row["did_not_attend"],
                late_cancellations=row["late_cancellations"], half_days=row["half_days"],
                full_days=row["full_days"],
                charge_pence=row["half_days"] * half_day_pence + row["full_days"] * full_day_pence,
            )
            for agency, row in non_attendance.items()  # every agency with booked places
        },
        demand=demand,
        cancelled=sorted(((s.course, s.starts_at, s.reason) for s in plan.sessions if s.cancelled and _in(period, s)),
                         key=lambda c: c[1]),
        quotable_comments=sorted((r.comment for r in records if r.quotable and r.comment and r.overall),
                                 key=lambda t: (t.lower(), t)),
        open_reviews=[(r.course, r.status) for r in sorted(plan.reviews, key=lambda r: r.created_at)
                      if r.status != ReviewStatus.CLOSED],
        half_day_pence=half_day_pence,
        full_day_pence=full_day_pence,
    )


# ---------------------------------------------------------------------------
# Writing the plan
# ---------------------------------------------------------------------------

_CHUNK = 1000


def _insert(model, rows: list[dict]) -> list[int]:
    """Insert `rows` in a few statements; their ids, in the same order."""
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    ids: list[int] = []
    # In chunks: joining the RETURNING rows of one huge executemany back together is quadratic.
    for start in range(0, len(rows), _CHUNK):
        ids += db.session.scalars(stmt, rows[start:start + _CHUNK])
    return ids


def write_plan(plan: Plan) -> None:
    """Write `plan` to the database in one transaction, with bulk inserts."""
    sets = question_sets()  # the only commit before the end
    questions = {stage: {q.key: q.id for q in qs.questions} for stage, qs in sets.items()}
    created = min(s.starts_at for s in plan.sessions) - timedelta(days=60)

    agency_ids = dict(zip(AGENCIES, _insert(Agency, [
        {"name": name, "sector": sector, "created_at": created} for name, sector in AGENCIES.items()
    ]), strict=True))
    course_ids = dict(zip(COURSES, _insert(Course, [
        {"title": title, "summary": f"{title}: a multi-agency course.", "learning_outcomes": "Recognise\nRespond",
         "level": Level.LEVEL_2, "duration_minutes": minutes,
         "format": CourseFormat.WORKSHOP if kind == SessionKind.WORKSHOP else CourseFormat.FACE_TO_FACE,
         "refresher_months": 36, "created_at": created}
        for title, (kind, minutes, _capacity) in COURSES.items()
    ]), strict=True))
    taken = Counter(r.session for r in plan.records if r.booking == S.CONFIRMED)
    session_ids = _insert(CourseSession, [
        {"course_id": course_ids[s.course], "starts_at": s.starts_at, "ends_at": s.ends_at,
         "booking_closes_at": s.starts_at - timedelta(days=1), "venue": "Civic Centre", "capacity": s.capacity,
         "places_taken": 0 if s.cancelled else taken[i], "kind": s.kind,
         "status": SessionStatus.CANCELLED if s.cancelled else SessionStatus.SCHEDULED,
         "cancelled_at": s.starts_at - timedelta(days=2) if s.cancelled else None,
         "cancellation_reason": s.reason, "created_at": created}
        for i, s in enumerate(plan.sessions)
    ])
    user_ids = _insert(User, [
        {"email": p.email, "name": p.name, "password_hash": "!", "agency_id": agency_ids[p.agency],
         "job_title": "Practitioner", "manager_name": "A Manager", "manager_email": "manager@known-year.example",
         "created_at": created}
        for p in plan.people
    ])

    booked = [n for n, r in enumerate(plan.records) if r.booking is not None]
    booking_ids = dict(zip(booked, _insert(Booking, [
        {"session_id": session_ids[r.session], "user_id": user_ids[r.person], "status": r.booking,
         "queued_at": created, "created_at": created, "status_changed_at": created,
         "confirmed_at": created if r.booking == S.CONFIRMED else None}
        for r in (plan.records[n] for n in booked)
    ]), strict=True))
    for n, r in enumerate(plan.records):
        if r.replaces is not None:
            db.session.execute(update(Booking).where(Booking.id == booking_ids[n])
                               .values(previous_booking_id=booking_ids[r.replaces]))

    on_register = [(n, r) for n, r in enumerate(plan.records) if r.outcome is not None]
    _insert(Attendance, [
        {"session_id": session_ids[r.session], "booking_id": booking_ids.get(n),
         "user_id": None if r.person is None else user_ids[r.person],
         "attendee_name": r.walk_in_name if r.person is None else plan.people[r.person].name,
         "attendee_email": r.walk_in_email if r.person is None else plan.people[r.person].email,
         "agency_id": agency_ids[r.agency], "outcome": r.outcome, "walk_in": r.booking is None,
         "recorded_at": plan.sessions[r.session].ends_at}
        for n, r in on_register
    ])

    forms: list[tuple[dict, list[dict]]] = []
    for n, r in enumerate(plan.records):
        if r.booking is None:
            continue
        when = plan.sessions[r.session].ends_at

        def form(stage: Stage, submitted: bool, answers: dict, n=n, r=r, when=when) -> None:
            forms.append(({
                "booking_id": booking_ids[n], "session_id": session_ids[r.session], "stage": stage,
                "question_set_id": sets[stage].id,
                "status": EvaluationStatus.SUBMITTED if submitted else EvaluationStatus.DRAFT,
                "created_at": when, "updated_at": when, "submitted_at": when if submitted else None,
            }, [dict(answer, question_id=questions[stage][key]) for key, answer in answers.items()]))

        if r.knowledge[0] is not None or r.confidence[0] is not None:
            form(Stage.BEFORE, True, {key: {"rating": value} for key, value in
                                      (("knowledge", r.knowledge[0]), ("confidence", r.confidence[0]))
                                      if value is not None})
        if r.overall:
            answers = {"overall": {"choice": r.overall.value}}
            for key, value in (("knowledge", r.knowledge[1]), ("confidence", r.confidence[1])):
                if value is not None:
                    answers[key] = {"rating": value}
            if r.comment:
                answers["comments"] = {"text": r.comment, "quotable": r.quotable}
            form(Stage.AFTER, True, answers)
        elif r.draft_overall:
            form(Stage.AFTER, False, {"overall": {"choice": r.draft_overall.value},
                                      "comments": {"text": "A draft: never quoted", "quotable": True}})
        if r.follow_up:
            form(Stage.FOLLOW_UP, True, {"impact": {"rating": 4}, "shared_with_team": {"choice": "yes"}})
    evaluation_ids = _insert(Evaluation, [ev for ev, _answers in forms])
    _insert(Answer, [dict(answer, evaluation_id=ev_id)
                     for ev_id, (_ev, answers) in zip(evaluation_ids, forms, strict=True) for answer in answers])

    _insert(QualityReview, [
        {"course_id": course_ids[r.course], "session_id": None if r.session is None else session_ids[r.session],
         "status": r.status, "automatic": r.session is not None, "reason": r.reason, "created_at": r.created_at,
         "closed_at": r.created_at + timedelta(days=30) if r.status == ReviewStatus.CLOSED else None}
        for r in plan.reviews
    ])
    db.session.commit()


def build_known_year(first_year: int = 2019) -> Expected:
    """Write the known year (1 April `first_year` to 31 March) and return its expected figures.

    Charges follow the app's NON_ATTENDANCE_CHARGE_* and HALF_DAY_MAX_MINUTES settings.
    """
    plan = known_year_plan(first_year)
    write_plan(plan)
    config = current_app.config
    return expected_for(
        plan, financial_year(date(first_year, 4, 1)),
        half_day_pence=config["NON_ATTENDANCE_CHARGE_HALF_DAY_PENCE"],
        full_day_pence=config["NON_ATTENDANCE_CHARGE_FULL_DAY_PENCE"],
        half_day_max_minutes=config["HALF_DAY_MAX_MINUTES"],
    )
