"""The Learning & Development Subgroup summary for a period: every figure aggregated in SQL.

This module is the contract between the figures and everything that shows them (the page,
the PDF, the CSV and Excel exports, `flask report summary`). The dataclasses below are that
contract; `build_summary` fills them in a fixed number of queries (14), whatever the data
size: each is a GROUP BY over the period's rows, never a loop over records in Python. Totals
over a bounded number of group rows are added up in Python: attendances by agency, sector and
course from one count per (agency, course) pair, and the period's ratings from the courses'.

Speed (over 100,000 bookings and 60,000 evaluations): queries start from the period's
sessions (the `starts_at` index) and reach registers, bookings and forms through their
session indexes, so a year costs a year's rows whatever the history. Answers are reached
through the question ids of a key (every version's), or through the period's forms worked
out once in a MATERIALIZED CTE, never by reading every answer ever given; quotable comments
through the partial index of quotable answers. Head counts of people present come from the
register index alone, and only entries without an account are read for their email address. A session's length
(for the charge) is worked out once per session, not per booking.

Definitions:

* A session is in the period when its start's Europe/London date is within [first, last]
  (`Period.start`/`end` are the UTC bounds), so a session at 00:30 on 1 April in British
  Summer Time (23:30 UTC on 31 March) is in the new financial year.
* A session *took place* when it was not cancelled and at least one person was marked
  present (attended or partially attended). Training sessions and workshops are told apart by
  `CourseSession.kind`. Cancelled sessions are counted and listed apart; a session where
  everyone booked did not attend did not take place (its did-not-attends still count).
* Attendances: present register entries (attended or partial) on the period's sessions,
  walk-ins included. Professionals trained: distinct people among them: the account when the
  entry has one; a walk-in without an account by their email address, ignoring case; a
  walk-in with neither counts as one person per entry. (A walk-in without an account whose
  email later gets an account is counted as two people: the register links a walk-in to an
  account when it is recorded.)
* By agency: the agency on the register entry (the person's agency at the time, not now); by
  sector: that agency's sector (`figures()` keys sectors by their stable value, e.g.
  "childrens-social-care"; tables use the label); by course: the course title. Shares are of
  all attendances. Places offered: the capacity of the sessions that took place; fill rate is
  attendances over places.
* Ratings: the after-course 'overall' question of submitted forms on the period's sessions
  (drafts never count), per course too. The learning shift is paired, as on the results
  pages: people who rated knowledge (or confidence) both before and after. Response rate:
  submitted after-course forms over booked people present (walk-ins without a booking are
  never sent a form); follow-up rate: submitted follow-up forms over the same people.
* Non-attendance, per agency, on the period's sessions that were not cancelled: did not
  attend is a booked register entry marked so (the agency on the entry); late cancellations
  are bookings cancelled late (the agency of the person who booked, as now: a cancelled
  booking has no register entry). Booked: booked register entries plus late cancellations.
  Each of both is charged NON_ATTENDANCE_CHARGE_HALF_DAY_PENCE when the session lasts at most
  HALF_DAY_MAX_MINUTES (ends_at - starts_at), else NON_ATTENDANCE_CHARGE_FULL_DAY_PENCE. Every
  agency with booked places is listed, so rates show even when nothing is charged.
* Demand, per course, over its sessions in the period that are not cancelled (upcoming ones
  included): places is their capacity; requests the distinct people with any booking on them
  (confirmed, waiting, offered, cancelled, late-cancelled, expired...) except bookings that
  were replaced by a move or a transfer (the replacement counts instead); waiting the
  bookings still on a waiting list. Demand exceeded places when requests > places.
* Quotable comments: submitted comments a coordinator marked quotable, on the period's
  sessions, without names, in alphabetical order (as on the results pages, so the order says
  nothing about who wrote them). Open reviews: every quality review not closed, whatever its
  date: an outstanding review is for the subgroup to act on, not a figure of the period.
* The previous period is the previous financial year when the period is exactly a financial
  year, and otherwise the same number of days just before the period. Its headline figures
  and ratings are given for comparison.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import Integer, and_, case, func, literal, or_, select, true, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from ..accounts.models import Agency, Sector, User
from ..attendance.models import Attendance, AttendanceOutcome
from ..booking.models import Booking, BookingStatus
from ..catalogue.models import Course, CourseSession, SessionKind, SessionStatus
from ..db import utcnow
from ..evaluation.models import (
    Answer,
    Evaluation,
    EvaluationStatus,
    OverallRating,
    QualityReview,
    Question,
    ReviewStatus,
    Stage,
)
from ..evaluation.results import (
    COMMENT_KEYS,
    IMPACT_EXAMPLE_KEY,
    OVERALL_KEY,
    SHIFT_KEYS,
    Period,
    Share,
    Shift,
    financial_year,
)
from ..extensions import db
from ..timeutil import to_london


@dataclass(frozen=True)
class Headline:
    """The annual-report figures. Only sessions that took place count (not cancelled, and at
    least one person marked present); cancelled sessions are listed apart."""

    training_sessions: int
    workshops: int
    cancelled_sessions: int
    professionals_trained: int  # distinct people present at least once (walk-ins included)
    attendances: int  # present records (attended or partially attended), walk-ins included
    places_offered: int  # the capacity of the sessions that took place

    @property
    def fill_rate(self) -> Share:
        return Share(self.attendances, self.places_offered)

    @property
    def sessions_delivered(self) -> int:
        return self.training_sessions + self.workshops


@dataclass(frozen=True)
class CountRow:
    """One row of a 'how many, and what share of the total' table (agency, sector, course).

    `key` identifies the row in `figures()`: the agency's name, the sector's value (its
    `label` is for people), the course's title."""

    label: str
    count: int
    share: Share
    key: str = ""  # the label when not given

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.label)


@dataclass(frozen=True)
class RatingRow:
    rating: OverallRating
    count: int
    share: Share


@dataclass(frozen=True)
class CourseRatings:
    course_title: str
    counts: dict[OverallRating, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, rating: OverallRating) -> Share:
        return Share(self.counts.get(rating, 0), self.total)


@dataclass(frozen=True)
class NonAttendanceRow:
    """Did-not-attend and late cancellations for one agency, and what it is charged."""

    agency: str
    sector: Sector
    booked: int  # booked places on the period's sessions that were not cancelled, late cancellations included
    did_not_attend: int
    late_cancellations: int
    half_days: int  # chargeable places on half-day sessions
    full_days: int  # and on full-day ones
    charge_pence: int

    @property
    def did_not_attend_rate(self) -> Share:
        return Share(self.did_not_attend, self.booked)

    @property
    def late_cancellation_rate(self) -> Share:
        return Share(self.late_cancellations, self.booked)

    @property
    def charge_pounds(self) -> Decimal:
        return pounds(self.charge_pence)


@dataclass(frozen=True)
class DemandRow:
    course_title: str
    sessions: int  # scheduled (not cancelled) sessions in the period
    places: int
    requests: int  # distinct people who booked or joined the waiting list
    waiting: int  # still on the waiting list

    @property
    def exceeded(self) -> bool:
        return self.requests > self.places


@dataclass(frozen=True)
class CancelledSession:
    course_title: str
    starts_at: datetime
    reason: str | None


@dataclass(frozen=True)
class OpenReview:
    id: int
    course_title: str
    session_starts_at: datetime | None
    status_label: str
    reason: str


@dataclass(frozen=True)
class Delta:
    """A figure now and in the previous period."""

    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous


@dataclass(frozen=True)
class Charges:
    """The non-attendance charge: per place, by the length of the session."""

    half_day_pence: int
    full_day_pence: int
    half_day_max_minutes: int

    @classmethod
    def from_config(cls, config) -> Charges:
        return cls(config["NON_ATTENDANCE_CHARGE_HALF_DAY_PENCE"], config["NON_ATTENDANCE_CHARGE_FULL_DAY_PENCE"],
                   config["HALF_DAY_MAX_MINUTES"])

    def charge(self, half_days: int, full_days: int) -> int:
        return half_days * self.half_day_pence + full_days * self.full_day_pence


#: The headline figures, in the order tables and comparisons show them.
HEADLINE_FIGURES = (
    ("training_sessions", "Training sessions delivered"),
    ("workshops", "Workshops delivered"),
    ("professionals_trained", "Professionals trained"),
    ("attendances", "Attendances"),
    ("places_offered", "Places offered"),
    ("cancelled_sessions", "Sessions cancelled"),
)


@dataclass
class Summary:
    period: Period
    previous_period: Period
    headline: Headline
    previous_headline: Headline
    by_agency: list[CountRow]
    by_sector: list[CountRow]
    by_course: list[CountRow]
    ratings: list[RatingRow]  # excellent, good, satisfactory, poor: always all four
    previous_ratings: list[RatingRow]
    ratings_by_course: list[CourseRatings]
    shifts: list[Shift]  # knowledge and confidence, before -> after
    response_rate: Share  # after-course forms over booked people present
    follow_up_rate: Share  # follow-up forms over booked people present
    non_attendance: list[NonAttendanceRow]
    demand: list[DemandRow]
    cancelled: list[CancelledSession]
    quotable_comments: list[str] = field(default_factory=list)
    open_reviews: list[OpenReview] = field(default_factory=list)
    charges: Charges = field(default_factory=lambda: Charges(5000, 9000, 240))
    generated_at: datetime = field(default_factory=utcnow)

    # -- derived figures ----------------------------------------------------------------

    def delta(self, name: str) -> Delta:
        """A headline figure (e.g. 'attendances') now and in the previous period."""
        return Delta(getattr(self.headline, name), getattr(self.previous_headline, name))

    @property
    def deltas(self) -> list[tuple[str, str, Delta]]:
        """(name, label, delta) for every headline figure."""
        return [(name, label, self.delta(name)) for name, label in HEADLINE_FIGURES]

    @property
    def rating_deltas(self) -> list[tuple[OverallRating, Delta]]:
        previous = {row.rating: row.count for row in self.previous_ratings}
        return [(row.rating, Delta(row.count, previous.get(row.rating, 0))) for row in self.ratings]

    @property
    def ratings_total(self) -> int:
        return sum(row.count for row in self.ratings)

    @property
    def did_not_attend(self) -> int:
        return sum(row.did_not_attend for row in self.non_attendance)

    @property
    def late_cancellations(self) -> int:
        return sum(row.late_cancellations for row in self.non_attendance)

    @property
    def charge_pence(self) -> int:
        return sum(row.charge_pence for row in self.non_attendance)

    @property
    def charged(self) -> list[NonAttendanceRow]:
        """The agencies with something to pay: the table for the business manager."""
        return [row for row in self.non_attendance if row.charge_pence]

    @property
    def demand_exceeded(self) -> list[DemandRow]:
        return [row for row in self.demand if row.exceeded]

    # -- plain data for JSON, CSV and Excel ---------------------------------------------

    def figures(self) -> dict:
        """The figures as plain JSON-ready data, with the keys `flask report summary` prints.

        Counts are ints; percentages are numbers from 0 to 100 to one decimal place (null when
        there is nothing to divide by); money is in pence; times are ISO 8601 in London time.
        Mappings keep the tables' order (largest first). `by_sector` is keyed by the sector's
        value ("childrens-social-care"), `ratings` by the rating's value ("excellent").
        """
        def rate(share: Share) -> dict:
            return {"count": share.count, "total": share.total, "percent": _percent(share)}

        return {
            "period": _period(self.period),
            "training_sessions": self.headline.training_sessions,
            "workshops": self.headline.workshops,
            "professionals_trained": self.headline.professionals_trained,
            "attendances": self.headline.attendances,
            "places_offered": self.headline.places_offered,
            "fill_rate": _percent(self.headline.fill_rate),
            "cancelled_sessions": self.headline.cancelled_sessions,
            "by_agency": {row.key: row.count for row in self.by_agency},
            "by_sector": {row.key: row.count for row in self.by_sector},
            "by_course": {row.key: row.count for row in self.by_course},
            "ratings": {row.rating.value: row.count for row in self.ratings},
            "ratings_by_course": {
                c.course_title: {r.value: c.counts.get(r, 0) for r in OverallRating} for c in self.ratings_by_course
            },
            "learning_shift": {
                s.key: {"people": s.people, "before": _round(s.before), "after": _round(s.after),
                        "change": _round(s.gain)}
                for s in self.shifts
            },
            "response_rate": rate(self.response_rate),
            "follow_up_rate": rate(self.follow_up_rate),
            "did_not_attend": self.did_not_attend,
            "late_cancellations": self.late_cancellations,
            "non_attendance": {
                row.agency: {"sector": row.sector.value, "booked": row.booked, "did_not_attend": row.did_not_attend,
                             "late_cancellations": row.late_cancellations, "half_days": row.half_days,
                             "full_days": row.full_days, "charge_pence": row.charge_pence}
                for row in self.non_attendance
            },
            "non_attendance_charge_pence": self.charge_pence,
            "demand": {
                row.course_title: {"sessions": row.sessions, "places": row.places, "requests": row.requests,
                                   "waiting": row.waiting, "exceeded": row.exceeded}
                for row in self.demand
            },
            "cancelled": [
                {"course": c.course_title, "starts_at": to_london(c.starts_at).isoformat(), "reason": c.reason}
                for c in self.cancelled
            ],
            "quotable_comments": list(self.quotable_comments),
            "open_reviews": [
                {"id": r.id, "course": r.course_title, "status": r.status_label, "reason": r.reason,
                 "session_starts_at": None if r.session_starts_at is None else to_london(r.session_starts_at).isoformat()}
                for r in self.open_reviews
            ],
            "previous": {
                "period": _period(self.previous_period),
                "training_sessions": self.previous_headline.training_sessions,
                "workshops": self.previous_headline.workshops,
                "professionals_trained": self.previous_headline.professionals_trained,
                "attendances": self.previous_headline.attendances,
                "places_offered": self.previous_headline.places_offered,
                "fill_rate": _percent(self.previous_headline.fill_rate),
                "cancelled_sessions": self.previous_headline.cancelled_sessions,
                "ratings": {row.rating.value: row.count for row in self.previous_ratings},
            },
        }

    def tables(self) -> list[tuple[str, list[str], list[list]]]:
        """Every table of the summary as (title, header, rows), for CSV and Excel.

        Values are plain: counts as ints, percentages as numbers to one decimal place (None
        when there is nothing to divide by), money as Decimal pounds, times as naive London
        date-times. Titles fit an Excel sheet name (31 characters).
        """
        def row_percent(share: Share) -> float | None:
            return _percent(share)

        headline_rows = [[label, d.current, d.previous, d.change] for _name, label, d in self.deltas]
        headline_rows.append(["Fill rate (%)", _percent(self.headline.fill_rate),
                              _percent(self.previous_headline.fill_rate), None])
        previous_ratings = {row.rating: row.count for row in self.previous_ratings}
        return [
            ("Headline figures", ["Figure", "This period", "Previous period", "Change"], headline_rows),
            ("Attendance by agency", ["Agency", "Attendances", "Share of attendances (%)"],
             [[r.label, r.count, row_percent(r.share)] for r in self.by_agency]),
            ("Attendance by sector", ["Sector", "Attendances", "Share of attendances (%)"],
             [[r.label, r.count, row_percent(r.share)] for r in self.by_sector]),
            ("Attendees per course", ["Course", "Attendances", "Share of attendances (%)"],
             [[r.label, r.count, row_percent(r.share)] for r in self.by_course]),
            ("Overall ratings", ["Rating", "Responses", "Share (%)", "Previous period"],
             [[r.rating.label, r.count, row_percent(r.share), previous_ratings.get(r.rating, 0)]
              for r in self.ratings]),
            ("Overall ratings by course", ["Course", *(r.label for r in OverallRating), "Total"],
             [[c.course_title, *(c.counts.get(r, 0) for r in OverallRating), c.total]
              for c in self.ratings_by_course]),
            ("Learning shift", ["Question", "People", "Mean before (1 to 5)", "Mean after (1 to 5)", "Change"],
             [[s.label, s.people, _round(s.before), _round(s.after), _round(s.gain)] for s in self.shifts]),
            ("Response rates", ["Form", "Returned", "Booked people present", "Rate (%)"],
             [["After the course", self.response_rate.count, self.response_rate.total,
               row_percent(self.response_rate)],
              ["Follow-up", self.follow_up_rate.count, self.follow_up_rate.total,
               row_percent(self.follow_up_rate)]]),
            ("Non-attendance by agency",
             ["Agency", "Sector", "Booked", "Did not attend", "Did not attend (%)", "Late cancellations",
              "Late cancellations (%)"],
             [[r.agency, r.sector.label, r.booked, r.did_not_attend, row_percent(r.did_not_attend_rate),
               r.late_cancellations, row_percent(r.late_cancellation_rate)] for r in self.non_attendance]),
            ("Non-attendance charges",
             ["Agency", "Half-day places", "Full-day places", "Charge (£)"],
             [[r.agency, r.half_days, r.full_days, r.charge_pounds] for r in self.charged]
             + [["Total", sum(r.half_days for r in self.charged), sum(r.full_days for r in self.charged),
                 pounds(self.charge_pence)]]),
            ("Demand", ["Course", "Sessions", "Places", "Requests", "Waiting list", "Demand exceeded places"],
             [[r.course_title, r.sessions, r.places, r.requests, r.waiting, "Yes" if r.exceeded else "No"]
              for r in self.demand]),
            ("Cancelled sessions", ["Course", "Starts", "Reason"],
             [[c.course_title, _naive_london(c.starts_at), c.reason or ""] for c in self.cancelled]),
            ("Quotable comments", ["Comment"], [[text] for text in self.quotable_comments]),
            ("Open quality reviews", ["Course", "Session starts", "Status", "Reason"],
             [[r.course_title, None if r.session_starts_at is None else _naive_london(r.session_starts_at),
               r.status_label, r.reason] for r in self.open_reviews]),
        ]


def pounds(pence: int) -> Decimal:
    """Pence as pounds, exactly: 5000 -> Decimal('50.00')."""
    return (Decimal(pence) / 100).quantize(Decimal("0.01"))


def _percent(share: Share) -> float | None:
    return None if share.percent is None else round(share.percent, 1)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _period(period: Period) -> dict:
    return {"from": period.first.isoformat(), "to": period.last.isoformat()}


def _naive_london(value: datetime) -> datetime:
    # Excel cannot hold a time zone: London wall-clock time, as people read it.
    return to_london(value).replace(tzinfo=None)


def previous_period(period: Period) -> Period:
    """The previous financial year when `period` is one; else as many days just before it."""
    if period == financial_year(period.first):
        return financial_year(date(period.first.year - 1, 4, 1))
    length = (period.last - period.first).days + 1
    return Period(period.first - timedelta(days=length), period.first - timedelta(days=1))


# ---------------------------------------------------------------------------
# SQL
# ---------------------------------------------------------------------------

class seconds_between(FunctionElement):
    """Whole seconds from the first timestamp to the second, on SQLite and PostgreSQL.

    The databases share no expression for a timestamp difference, so each gets its own.
    """

    type = Integer()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(element, compiler, **kw) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(EXTRACT(EPOCH FROM ({end} - {start})) AS INTEGER)"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element, compiler, **kw) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER))"


_REPLACED = (BookingStatus.MOVED, BookingStatus.TRANSFERRED)


def _in_period(period: Period):
    return and_(CourseSession.starts_at >= period.start, CourseSession.starts_at < period.end)


def _live(period: Period):
    """The period's sessions that were not cancelled."""
    return and_(_in_period(period), CourseSession.status != SessionStatus.CANCELLED)


def _question_ids(*keys: str):
    """Ids of every version's questions with these keys: answers are then found through their
    (question_id, choice) index rather than by reading every answer of every form."""
    return select(Question.id).where(Question.key.in_(keys))


def _materialized(cte):
    """Ask for `cte` to be worked out once, up front, where the database can be asked (SQLite
    3.35+, PostgreSQL 12+): otherwise SQLite may fold it into the outer query and redo it per row."""
    dialect = db.session.get_bind().dialect
    version = dialect.server_version_info or ()
    if (dialect.name == "sqlite" and version >= (3, 35)) or (dialect.name == "postgresql" and version >= (12,)):
        return cte.prefix_with("MATERIALIZED")
    return cte


def _count(condition, then=1):
    return func.coalesce(func.sum(case((condition, then), else_=0)), 0)


def _headline(period: Period) -> tuple[Headline, int]:
    """The headline figures, and how many of the people present had booked (two queries)."""
    took_place = and_(
        CourseSession.status != SessionStatus.CANCELLED,
        select(Attendance.id).where(Attendance.session_id == CourseSession.id,
                                    Attendance.was_present).exists(),
    )
    sessions = select(
        _count(and_(took_place, CourseSession.kind == SessionKind.TRAINING)),
        _count(and_(took_place, CourseSession.kind == SessionKind.WORKSHOP)),
        _count(CourseSession.status == SessionStatus.CANCELLED),
        _count(took_place, CourseSession.capacity),
    ).where(_in_period(period))
    training, workshops, cancelled, places = db.session.execute(sessions).one()

    present = and_(_live(period), Attendance.was_present)
    # Everything but the walk-ins' email addresses is in the (session_id, outcome, ...) index,
    # so those counts never read the table; only the few entries without an account do.
    entries = (
        select(
            func.count().label("attendances"),
            func.count(func.distinct(Attendance.user_id)).label("accounts"),
            _count(Attendance.booking_id.is_not(None)).label("booked"),
        )
        .select_from(Attendance)
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(present)
        .subquery()
    )
    email = func.lower(func.nullif(func.trim(Attendance.attendee_email), ""))
    without_account = (
        select(func.count(func.distinct(email)).label("emails"), _count(email.is_(None)).label("anonymous"))
        .select_from(Attendance)
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(present, Attendance.user_id.is_(None))
        .subquery()
    )
    people = select(entries.c.attendances, entries.c.accounts, without_account.c.emails,
                    without_account.c.anonymous, entries.c.booked).select_from(entries.join(without_account, true()))
    attendances, accounts, emails, anonymous, booked = db.session.execute(people).one()
    headline = Headline(
        training_sessions=int(training), workshops=int(workshops), cancelled_sessions=int(cancelled),
        professionals_trained=int(accounts) + int(emails) + int(anonymous), attendances=int(attendances),
        places_offered=int(places),
    )
    return headline, int(booked)


def _attendance(period: Period, total: int) -> tuple[list[CountRow], list[CountRow], list[CountRow]]:
    """Attendances by agency, by sector and by course, from one count per (agency, course)."""
    pairs = (
        select(Attendance.agency_id, CourseSession.course_id, func.count().label("n"))
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .where(_live(period), Attendance.was_present)
        .group_by(Attendance.agency_id, CourseSession.course_id)
        .subquery()
    )
    stmt = (
        select(Agency.name, Agency.sector, Course.title, pairs.c.n)
        .select_from(pairs)
        .join(Agency, Agency.id == pairs.c.agency_id)
        .join(Course, Course.id == pairs.c.course_id)
    )
    # Adding up the (agency, course) counts: at most agencies x courses rows, whatever the data size.
    agencies: dict[str, int] = {}
    sectors: dict[Sector, int] = {}
    courses: dict[str, int] = {}
    sector_of: dict[str, Sector] = {}  # a year has thousands of pairs but only the agencies' sectors
    for name, sector, title, count in db.session.execute(stmt):
        agencies[name] = agencies.get(name, 0) + count
        courses[title] = courses.get(title, 0) + count
        sector_of.setdefault(name, sector)
    for name, count in agencies.items():
        sector = Sector(sector_of[name])
        sectors[sector] = sectors.get(sector, 0) + count

    def rows(counts: dict, label=lambda key: key, key=lambda key: key) -> list[CountRow]:
        ordered = sorted(counts.items(), key=lambda item: (-item[1], label(item[0])))
        return [CountRow(label(k), n, Share(n, total), key=key(k)) for k, n in ordered]

    return (rows(agencies), rows(sectors, label=lambda s: s.label, key=lambda s: s.value), rows(courses))


def _ratings(period: Period) -> tuple[list[RatingRow], list[CourseRatings]]:
    """The period's overall ratings in total and per course (one query)."""
    # The period's forms first, then their answers: a year's forms are few next to every
    # overall answer ever given.
    forms = (
        select(Evaluation.id, CourseSession.course_id)
        .join(CourseSession, CourseSession.id == Evaluation.session_id)
        .where(_live(period), Evaluation.status == EvaluationStatus.SUBMITTED, Evaluation.stage == Stage.AFTER)
        .cte("after_forms")
    )
    forms = _materialized(forms)
    stmt = (
        select(Course.title, Answer.choice, func.count())
        .select_from(forms)
        .join(Answer, Answer.evaluation_id == forms.c.id)
        .join(Course, Course.id == forms.c.course_id)
        .where(Answer.question_id.in_(_question_ids(OVERALL_KEY)),
               Answer.choice.in_([r.value for r in OverallRating]))
        .group_by(Course.id, Course.title, Answer.choice)
        .order_by(Course.title)
    )
    per_course: dict[str, dict[OverallRating, int]] = {}
    totals = dict.fromkeys(OverallRating, 0)
    for title, choice, count in db.session.execute(stmt):
        rating = OverallRating(choice)
        per_course.setdefault(title, dict.fromkeys(OverallRating, 0))[rating] += count
        totals[rating] += count
    grand_total = sum(totals.values())
    return ([RatingRow(r, totals[r], Share(totals[r], grand_total)) for r in OverallRating],
            [CourseRatings(title, counts) for title, counts in per_course.items()])


def _shifts(period: Period) -> list[Shift]:
    """The paired learning shift, as on the results pages: each before-course rating next to
    the same booking's after-course rating of the same question (keys match across versions)."""
    before_form, after_form = aliased(Evaluation), aliased(Evaluation)
    before, after = aliased(Answer), aliased(Answer)
    before_question, after_question = aliased(Question), aliased(Question)
    stmt = (
        select(before_question.key, func.count(), func.avg(before.rating), func.avg(after.rating))
        .select_from(before_form)
        .join(CourseSession, CourseSession.id == before_form.session_id)
        .join(after_form, and_(after_form.booking_id == before_form.booking_id, after_form.stage == Stage.AFTER,
                               after_form.status == EvaluationStatus.SUBMITTED))
        .join(before, before.evaluation_id == before_form.id)
        .join(before_question, before_question.id == before.question_id)
        .join(after, after.evaluation_id == after_form.id)
        .join(after_question, and_(after_question.id == after.question_id, after_question.key == before_question.key))
        .where(_live(period), before_form.stage == Stage.BEFORE, before_form.status == EvaluationStatus.SUBMITTED,
               before_question.key.in_(SHIFT_KEYS), before.rating.is_not(None), after.rating.is_not(None))
        .group_by(before_question.key)
    )
    found = {key: Shift(key, n, _float(b), _float(a)) for key, n, b, a in db.session.execute(stmt)}
    return [found.get(key, Shift(key, 0, None, None)) for key in SHIFT_KEYS]


def _forms(period: Period) -> dict[Stage, int]:
    stmt = (
        select(Evaluation.stage, func.count())
        .join(CourseSession, CourseSession.id == Evaluation.session_id)
        .where(_live(period), Evaluation.status == EvaluationStatus.SUBMITTED,
               Evaluation.stage.in_((Stage.AFTER, Stage.FOLLOW_UP)))
        .group_by(Evaluation.stage)
    )
    return {Stage(stage): count for stage, count in db.session.execute(stmt)}


def _non_attendance(period: Period, charges: Charges) -> list[NonAttendanceRow]:
    # Each session's length is worked out once, not once per booking.
    sessions = (
        select(CourseSession.id,
               case((seconds_between(CourseSession.starts_at, CourseSession.ends_at)
                     > charges.half_day_max_minutes * 60, 1), else_=0).label("full_day"))
        .where(_live(period))
        .cte("live_sessions")
    )
    sessions = _materialized(sessions)
    full_day = sessions.c.full_day == 1
    dna = Attendance.outcome == AttendanceOutcome.DID_NOT_ATTEND
    booked_entries = (
        select(
            Attendance.agency_id.label("agency_id"),
            func.count().label("booked"),
            _count(dna).label("dna"),
            literal(0).label("late"),
            _count(and_(dna, ~full_day)).label("half"),
            _count(and_(dna, full_day)).label("full"),
        )
        .join(sessions, sessions.c.id == Attendance.session_id)
        .where(Attendance.booking_id.is_not(None))
        .group_by(Attendance.agency_id)
    )
    # Late cancellations are few: found through the sessions' (session_id, status) index.
    late_full_day = seconds_between(CourseSession.starts_at, CourseSession.ends_at) > charges.half_day_max_minutes * 60
    late = (
        select(
            User.agency_id.label("agency_id"),
            literal(1).label("booked"),
            literal(0).label("dna"),
            literal(1).label("late"),
            case((~late_full_day, 1), else_=0).label("half"),
            case((late_full_day, 1), else_=0).label("full"),
        )
        .select_from(CourseSession)
        .join(Booking, Booking.session_id == CourseSession.id)
        .join(User, User.id == Booking.user_id)
        .where(_live(period), Booking.status == BookingStatus.LATE_CANCELLED)
    )
    places = union_all(booked_entries, late).subquery()
    stmt = (
        select(Agency.name, Agency.sector, func.sum(places.c.booked), func.sum(places.c.dna), func.sum(places.c.late),
               func.sum(places.c.half), func.sum(places.c.full))
        .select_from(places)
        .join(Agency, Agency.id == places.c.agency_id)
        .group_by(Agency.id, Agency.name, Agency.sector)
        .order_by(Agency.name)
    )
    rows = []
    for name, sector, booked, dnas, lates, half, full in db.session.execute(stmt):
        half, full = int(half or 0), int(full or 0)
        rows.append(NonAttendanceRow(
            agency=name, sector=Sector(sector), booked=int(booked), did_not_attend=int(dnas or 0),
            late_cancellations=int(lates or 0), half_days=half, full_days=full,
            charge_pence=charges.charge(half, full),
        ))
    return rows


def _demand(period: Period) -> list[DemandRow]:
    live = _materialized(
        select(CourseSession.id, CourseSession.course_id, CourseSession.capacity).where(_live(period)).cte("live")
    )
    sessions = (
        select(live.c.course_id, func.count().label("sessions"), func.sum(live.c.capacity).label("places"))
        .group_by(live.c.course_id)
        .subquery()
    )
    requests = (
        select(
            live.c.course_id,
            func.count(func.distinct(Booking.user_id)).label("requests"),
            _count(Booking.status == BookingStatus.WAITLISTED).label("waiting"),
        )
        .select_from(live)
        .join(Booking, Booking.session_id == live.c.id)
        # Spelled out as well as joined: SQLite then looks bookings up by session through the
        # (session_id, status, user_id) index rather than reading every booking ever made.
        .where(Booking.session_id.in_(select(live.c.id)), Booking.status.not_in(_REPLACED))
        .group_by(live.c.course_id)
        .subquery()
    )
    stmt = (
        select(Course.title, sessions.c.sessions, sessions.c.places,
               func.coalesce(requests.c.requests, 0), func.coalesce(requests.c.waiting, 0))
        .select_from(sessions)
        .join(Course, Course.id == sessions.c.course_id)
        .outerjoin(requests, requests.c.course_id == sessions.c.course_id)
        .order_by(Course.title)
    )
    return [DemandRow(title, int(n), int(places), int(reqs), int(waiting))
            for title, n, places, reqs, waiting in db.session.execute(stmt)]


def _cancelled(period: Period) -> list[CancelledSession]:
    stmt = (
        select(Course.title, CourseSession.starts_at, CourseSession.cancellation_reason)
        .join(Course, Course.id == CourseSession.course_id)
        .where(_in_period(period), CourseSession.status == SessionStatus.CANCELLED)
        .order_by(CourseSession.starts_at, CourseSession.id)
    )
    return [CancelledSession(*row) for row in db.session.execute(stmt)]


def _quotable_comments(period: Period) -> list[str]:
    stmt = (
        select(Answer.text)
        .join(Evaluation, Evaluation.id == Answer.evaluation_id)
        .join(Question, Question.id == Answer.question_id)
        .join(CourseSession, CourseSession.id == Evaluation.session_id)
        .where(
            Answer.question_id.in_(_question_ids(*COMMENT_KEYS, IMPACT_EXAMPLE_KEY)),
            # `= true`, not `IS true`: the form both databases match to the partial index of
            # quotable answers, so the few marked ones are found without reading every comment.
            Answer.quotable == true(), Answer.text.is_not(None), func.trim(Answer.text) != "",
            Evaluation.status == EvaluationStatus.SUBMITTED, _live(period),
            or_(and_(Evaluation.stage == Stage.AFTER, Question.key.in_(COMMENT_KEYS)),
                and_(Evaluation.stage == Stage.FOLLOW_UP, Question.key == IMPACT_EXAMPLE_KEY)),
        )
        .order_by(func.lower(Answer.text), Answer.text, Answer.id)  # alphabetical: nothing to match to a register
    )
    return list(db.session.scalars(stmt))


def _open_reviews() -> list[OpenReview]:
    stmt = (
        select(QualityReview.id, Course.title, CourseSession.starts_at, QualityReview.status, QualityReview.reason)
        .join(Course, Course.id == QualityReview.course_id)
        .outerjoin(CourseSession, CourseSession.id == QualityReview.session_id)
        .where(QualityReview.status != ReviewStatus.CLOSED)
        .order_by(QualityReview.created_at, QualityReview.id)
    )
    return [OpenReview(review_id, title, starts_at, ReviewStatus(status).label, reason)
            for review_id, title, starts_at, status, reason in db.session.execute(stmt)]


def _float(value) -> float | None:
    return None if value is None else float(value)


def build_summary(period: Period, now: datetime | None = None, *, charges: Charges | None = None) -> Summary:
    """The summary for `period` and the period of the same length just before it.

    `charges` defaults to the app's NON_ATTENDANCE_CHARGE_* and HALF_DAY_MAX_MINUTES settings;
    `now` is only recorded as `generated_at` (the figures depend on the period alone).
    """
    charges = charges or Charges.from_config(current_app.config)
    previous = previous_period(period)
    headline, booked_present = _headline(period)
    previous_headline, _ = _headline(previous)
    by_agency, by_sector, by_course = _attendance(period, headline.attendances)
    ratings, ratings_by_course = _ratings(period)
    previous_ratings, _ = _ratings(previous)
    forms = _forms(period)
    return Summary(
        period=period,
        previous_period=previous,
        headline=headline,
        previous_headline=previous_headline,
        by_agency=by_agency,
        by_sector=by_sector,
        by_course=by_course,
        ratings=ratings,
        previous_ratings=previous_ratings,
        ratings_by_course=ratings_by_course,
        shifts=_shifts(period),
        response_rate=Share(forms.get(Stage.AFTER, 0), booked_present),
        follow_up_rate=Share(forms.get(Stage.FOLLOW_UP, 0), booked_present),
        non_attendance=_non_attendance(period, charges),
        demand=_demand(period),
        cancelled=_cancelled(period),
        quotable_comments=_quotable_comments(period),
        open_reviews=_open_reviews(),
        charges=charges,
        generated_at=now or utcnow(),
    )
