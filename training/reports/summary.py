"""The Learning & Development Subgroup summary for a period: every figure aggregated in SQL.

This module is the contract between the figures and everything that shows them (the page,
the PDF, the CSV and Excel exports, `flask report summary`). The dataclasses below are that
contract; `build_summary` fills them in a fixed number of queries, whatever the data size.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..accounts.models import Sector
from ..evaluation.models import OverallRating
from ..evaluation.results import Period, Share, Shift


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


@dataclass(frozen=True)
class CountRow:
    """One row of a 'how many, and what share of the total' table (agency, sector, course)."""

    label: str
    count: int
    share: Share


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


@dataclass(frozen=True)
class NonAttendanceRow:
    """Did-not-attend and late cancellations for one agency, and what it is charged."""

    agency: str
    sector: Sector
    booked: int  # booked places on sessions that took place, late cancellations included
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

    def figures(self) -> dict:
        """The figures as plain JSON-ready data, with the keys `flask report summary` prints."""
        raise NotImplementedError

    def tables(self) -> list[tuple[str, list[str], list[list]]]:
        """Every table of the summary as (title, header, rows), for CSV and Excel."""
        raise NotImplementedError


def build_summary(period: Period, now: datetime | None = None) -> Summary:
    """The summary for `period` and the period of the same length just before it."""
    raise NotImplementedError
