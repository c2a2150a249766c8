"""The summary's rules at their edges: period bounds in London time, people counted once,
walk-ins, cancelled sessions, sessions nobody came to, half and full days, demand."""
from __future__ import annotations

import json
from datetime import date, time, timedelta

import pytest

from tests.evaluation.results_data import evaluation, question_sets
from tests.factories import (
    AgencyFactory,
    AttendanceFactory,
    BookingFactory,
    CourseFactory,
    SessionFactory,
    UserFactory,
)
from training.attendance.models import AttendanceOutcome
from training.booking.models import BookingStatus
from training.catalogue.models import SessionKind, SessionStatus
from training.evaluation.models import QualityReview, ReviewStatus, Stage
from training.evaluation.results import Period, financial_year
from training.extensions import db
from training.reports.summary import Charges, build_summary, previous_period
from training.timeutil import london_to_utc, to_london

ATTENDED, PARTIAL, DNA = AttendanceOutcome.ATTENDED, AttendanceOutcome.PARTIAL, AttendanceOutcome.DID_NOT_ATTEND
CHARGES = Charges(half_day_pence=5000, full_day_pence=9000, half_day_max_minutes=240)


def session_at(day: date, at: time = time(9, 30), *, minutes: int = 180, cancelled: bool = False, **kwargs):
    starts = london_to_utc(day, at)
    if cancelled:
        kwargs.update(status=SessionStatus.CANCELLED, cancellation_reason="Not enough bookings",
                      cancelled_at=starts - timedelta(days=3))
    return SessionFactory(starts_at=starts, ends_at=starts + timedelta(minutes=minutes), **kwargs)


def booked(session, user=None, outcome: AttendanceOutcome | None = ATTENDED, status=BookingStatus.CONFIRMED,
           agency=None):
    """A booking, and a register entry with `outcome` unless it is None."""
    booking = BookingFactory(session=session, user=user or UserFactory(), status=status)
    if outcome is not None:
        AttendanceFactory(booking=booking, outcome=outcome, agency=agency or booking.user.agency)
    return booking


def walk_in(session, agency, *, user=None, email=None, name="Walk In"):
    return AttendanceFactory(booking=None, session=session, user=user, attendee_name=name,
                             attendee_email=user.email if user else email, agency=agency, walk_in=True)


def summary_for(period: Period):
    db.session.expire_all()
    return build_summary(period, charges=CHARGES)


def test_31_march_and_1_april_are_london_dates_in_summer_time():
    """The clocks go forward on the last Sunday of March, so both days are in British Summer
    Time: 00:30 on 1 April in London is 23:30 UTC on 31 March."""
    late_31_march = session_at(date(2026, 3, 31), time(23, 30))
    morning_31_march = session_at(date(2026, 3, 31), time(9, 30))
    early_1_april = session_at(date(2026, 4, 1), time(0, 30))
    morning_1_april = session_at(date(2026, 4, 1), time(9, 30))
    assert early_1_april.starts_at.date() == date(2026, 3, 31)  # still March in UTC
    assert to_london(early_1_april.starts_at).utcoffset() == timedelta(hours=1)
    assert to_london(late_31_march.starts_at).utcoffset() == timedelta(hours=1)
    for _ in range(3):
        booked(late_31_march)
    booked(morning_31_march)
    for _ in range(2):
        booked(early_1_april)
    booked(morning_1_april)

    new_year = summary_for(financial_year(date(2026, 4, 1)))
    assert (new_year.headline.training_sessions, new_year.headline.attendances) == (2, 3)
    old_year = summary_for(financial_year(date(2026, 3, 31)))
    assert (old_year.headline.training_sessions, old_year.headline.attendances) == (2, 4)
    assert new_year.previous_headline == old_year.headline
    # A period ending on 31 March includes the session late that evening.
    assert summary_for(Period(date(2026, 3, 31), date(2026, 3, 31))).headline.attendances == 4


def test_period_bounds_in_winter_time_and_the_previous_period_by_length():
    january = Period(date(2026, 1, 1), date(2026, 1, 31))
    for day, at, people in [(date(2025, 12, 31), time(23, 59), 1), (date(2026, 1, 1), time(0, 0), 2),
                            (date(2026, 1, 31), time(23, 59), 4), (date(2026, 2, 1), time(0, 0), 8)]:
        session = session_at(day, at)
        for _ in range(people):
            booked(session)
    summary = summary_for(january)
    assert summary.headline.attendances == 2 + 4
    assert summary.previous_period == Period(date(2025, 12, 1), date(2025, 12, 31))
    assert summary.previous_headline.attendances == 1


@pytest.mark.parametrize("period, previous", [
    (Period(date(2023, 4, 1), date(2024, 3, 31)), Period(date(2022, 4, 1), date(2023, 3, 31))),  # 366 days
    (Period(date(2024, 4, 1), date(2025, 3, 31)), Period(date(2023, 4, 1), date(2024, 3, 31))),
    (Period(date(2024, 4, 1), date(2024, 6, 30)), Period(date(2024, 1, 1), date(2024, 3, 31))),  # 91 days
    (Period(date(2024, 4, 2), date(2025, 3, 31)), Period(date(2023, 4, 4), date(2024, 4, 1))),  # 364 days
    (Period(date(2024, 5, 1), date(2024, 5, 1)), Period(date(2024, 4, 30), date(2024, 4, 30))),
])
def test_previous_period(period, previous):
    assert previous_period(period) == previous


def test_a_person_attending_several_sessions_is_counted_once():
    person = UserFactory()
    course = CourseFactory()
    sessions = [session_at(date(2026, 5, d), course=course) for d in (5, 12, 19)]
    booked(sessions[0], person)
    booked(sessions[1], person, outcome=PARTIAL)
    booked(sessions[2], person)
    booked(sessions[2])  # someone else
    summary = summary_for(financial_year(date(2026, 5, 1)))
    assert summary.headline.professionals_trained == 2
    assert summary.headline.attendances == 4
    assert summary.headline.training_sessions == 3
    assert [(r.label, r.count) for r in summary.by_course] == [(course.title, 4)]


def test_walk_ins_are_counted_with_and_without_an_account():
    agency = AgencyFactory(name="Riverside Academy")
    member = UserFactory(agency=agency)
    regular = UserFactory(agency=agency)
    first, second = session_at(date(2026, 6, 1)), session_at(date(2026, 6, 8))
    booked(first, member)
    walk_in(first, agency, user=regular)  # an account, no booking
    walk_in(first, agency, email="Sam.Walker@example.org")
    walk_in(second, agency, email="sam.walker@EXAMPLE.org")  # the same person again
    walk_in(second, agency, email=None, name="Alex")
    walk_in(second, agency, email=None, name="Alex")  # no address: each entry is one person
    walk_in(second, agency, user=member)  # booked the first session, walked in to the second
    summary = summary_for(financial_year(date(2026, 6, 1)))
    assert summary.headline.attendances == 7
    assert summary.headline.professionals_trained == 5  # member, regular, Sam, two people called Alex
    assert [(r.label, r.count) for r in summary.by_agency] == [("Riverside Academy", 7)]
    # Forms go with bookings: only the booked person is in the response rate's denominator.
    assert summary.response_rate.total == 1


def test_cancelled_sessions_are_left_out_and_listed():
    course = CourseFactory(title="Neglect")
    held = session_at(date(2026, 7, 1), course=course)
    booked(held)
    cancelled = session_at(date(2026, 7, 8), course=course, cancelled=True)
    booked(cancelled, status=BookingStatus.SESSION_CANCELLED, outcome=None)
    booked(cancelled, status=BookingStatus.LATE_CANCELLED, outcome=None)  # before the session was cancelled
    booked(cancelled)  # a stray register entry must not count either
    summary = summary_for(financial_year(date(2026, 7, 1)))
    assert (summary.headline.training_sessions, summary.headline.cancelled_sessions) == (1, 1)
    assert (summary.headline.attendances, summary.headline.places_offered) == (1, held.capacity)
    assert [(c.course_title, c.starts_at, c.reason) for c in summary.cancelled] == [
        ("Neglect", cancelled.starts_at, "Not enough bookings")]
    assert summary.late_cancellations == 0
    assert [(d.sessions, d.requests) for d in summary.demand] == [(1, 1)]


def test_a_session_nobody_came_to_did_not_take_place_but_its_absences_count():
    agency = AgencyFactory(name="Thameside Police")
    empty = session_at(date(2026, 9, 1), minutes=360)
    booked(empty, UserFactory(agency=agency), outcome=DNA)
    booked(empty, UserFactory(agency=agency), outcome=DNA)
    session_at(date(2026, 9, 2))  # no register yet
    workshop = session_at(date(2026, 9, 3), kind=SessionKind.WORKSHOP, capacity=12)
    walk_in(workshop, agency)
    summary = summary_for(financial_year(date(2026, 9, 1)))
    assert (summary.headline.training_sessions, summary.headline.workshops) == (0, 1)
    assert summary.headline.places_offered == 12
    [row] = summary.non_attendance
    assert (row.agency, row.booked, row.did_not_attend, row.full_days, row.charge_pence) == (
        "Thameside Police", 2, 2, 2, 18_000)
    assert sum(d.sessions for d in summary.demand) == 3


def test_half_days_last_at_most_the_setting_and_charges_go_to_the_right_agency():
    then, now = AgencyFactory(name="Old School"), AgencyFactory(name="New Trust")
    mover = UserFactory(agency=now)
    four_hours = session_at(date(2026, 10, 5), minutes=240)
    longer = session_at(date(2026, 10, 6), minutes=241)
    booked(four_hours, mover, outcome=DNA, agency=then)  # the register keeps the agency at the time
    booked(longer, mover, outcome=None, status=BookingStatus.LATE_CANCELLED)  # charged to their agency now
    booked(longer, UserFactory(agency=then), outcome=ATTENDED)
    summary = summary_for(financial_year(date(2026, 10, 1)))
    rows = {r.agency: r for r in summary.non_attendance}
    assert (rows["Old School"].booked, rows["Old School"].did_not_attend, rows["Old School"].half_days,
            rows["Old School"].charge_pence) == (2, 1, 1, 5000)
    assert (rows["New Trust"].booked, rows["New Trust"].late_cancellations, rows["New Trust"].full_days,
            rows["New Trust"].charge_pence) == (1, 1, 1, 9000)
    assert rows["Old School"].did_not_attend_rate.label == "1 of 2 (50%)"


def test_demand_counts_people_who_asked_once_and_not_replaced_bookings():
    course = CourseFactory(title="Child exploitation")
    upcoming = session_at(date(2026, 11, 2), course=course, capacity=4)
    other = session_at(date(2026, 11, 9), course=course, capacity=4)
    keen = UserFactory()
    booked(upcoming, keen, outcome=None, status=BookingStatus.CANCELLED)
    booked(other, keen, outcome=None)  # booked again: still one person
    booked(upcoming, outcome=None)
    for _ in range(3):
        booked(upcoming, outcome=None, status=BookingStatus.WAITLISTED)
    booked(upcoming, outcome=None, status=BookingStatus.WITHDRAWN)  # left the waiting list: still asked
    booked(upcoming, outcome=None, status=BookingStatus.MOVED)  # replaced by a booking elsewhere
    booked(upcoming, outcome=None, status=BookingStatus.TRANSFERRED)  # replaced by a colleague's
    summary = summary_for(financial_year(date(2026, 11, 1)))
    [row] = summary.demand
    assert (row.course_title, row.sessions, row.places, row.requests, row.waiting) == (
        "Child exploitation", 2, 8, 6, 3)
    assert not row.exceeded
    booked(other, outcome=None, status=BookingStatus.WAITLISTED)
    booked(other, outcome=None, status=BookingStatus.WAITLISTED)
    [row] = summary_for(financial_year(date(2026, 11, 1))).demand
    assert (row.requests, row.waiting, row.exceeded) == (8, 5, False)
    booked(other, outcome=None, status=BookingStatus.OFFERED)
    assert summary_for(financial_year(date(2026, 11, 1))).demand[0].exceeded


def test_quotable_comments_are_submitted_marked_in_the_period_and_nameless():
    sets = question_sets()
    session = session_at(date(2026, 5, 4))
    outside = session_at(date(2025, 5, 4))
    people = [booked(session, UserFactory(name=f"Named Person {i}")) for i in range(5)]
    A, F = Stage.AFTER, Stage.FOLLOW_UP

    def comment(booking, text, quotable, stage=A, submitted=True, key="comments"):
        ev = evaluation(booking, stage, sets[stage], submitted=submitted, **{key: text},
                        **({"overall": "good"} if stage == A else {}))
        for answer in ev.answers:
            answer.quotable = quotable and answer.text is not None
        db.session.commit()

    comment(people[0], "zebra crossings of practice", True)
    comment(people[1], "Clear and useful", True)
    comment(people[2], "Not for quoting", False)
    comment(people[3], "Draft only", True, submitted=False)
    comment(people[4], "Made a referral the next week", True, stage=F, key="impact_example")
    comment(booked(outside), "Last year", True)
    summary = summary_for(financial_year(date(2026, 5, 1)))
    assert summary.quotable_comments == ["Clear and useful", "Made a referral the next week",
                                         "zebra crossings of practice"]
    text = json.dumps(summary.figures())
    assert "Named Person" not in text and "@" not in text


def test_open_reviews_are_every_review_not_closed_whatever_its_date():
    course = CourseFactory(title="Prevent")
    old = session_at(date(2020, 5, 1), course=course)
    for status, session in [(ReviewStatus.OPEN, old), (ReviewStatus.ACTIONS_AGREED, None),
                            (ReviewStatus.CLOSED, old)]:
        db.session.add(QualityReview(course_id=course.id, session_id=session.id if session else None,
                                     status=status, reason=f"Review {status.value}"))
    db.session.commit()
    summary = summary_for(financial_year(date(2026, 5, 1)))
    assert [(r.course_title, r.status_label, r.reason, r.session_starts_at) for r in summary.open_reviews] == [
        ("Prevent", "Open", "Review open", old.starts_at), ("Prevent", "Actions agreed", "Review actions-agreed", None)]


def test_an_empty_period_gives_zeros_not_errors():
    summary = summary_for(financial_year(date(2026, 5, 1)))
    assert summary.headline.attendances == summary.headline.professionals_trained == 0
    assert summary.headline.fill_rate.percent is None
    assert [r.count for r in summary.ratings] == [0, 0, 0, 0]
    assert [s.gain for s in summary.shifts] == [None, None]
    figures = json.loads(json.dumps(summary.figures()))
    assert figures["by_agency"] == {} and figures["fill_rate"] is None
    assert figures["did_not_attend"] == figures["late_cancellations"] == 0
    for _title, header, rows in summary.tables():
        assert all(len(row) == len(header) for row in rows)
