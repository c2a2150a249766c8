"""The cancellation deadline: end of the day (London) N working days before the session,
skipping weekends and England's bank holidays, across the clock changes."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from tests.booking.helpers import reload
from tests.factories import SessionFactory, UserFactory
from training.booking.models import BookingStatus
from training.booking.services import book_place, cancel_booking, cancellation_deadline
from training.booking.views import london_deadline
from training.catalogue.models import CourseSession
from training.timeutil import london_to_utc


def _session_at(day: date, hour: int = 10, minute: int = 0) -> CourseSession:
    return CourseSession(starts_at=london_to_utc(day, time(hour, minute)))


@pytest.mark.parametrize(
    ("session_day", "expected_utc", "why"),
    [
        # Spring clock change (Sunday 29 March 2026): the session is in BST, the deadline
        # (midnight ending Thursday 26 March) is still GMT.
        (date(2026, 3, 31), datetime(2026, 3, 27, 0, 0, tzinfo=UTC), "Mon 30, Fri 27, Thu 26"),
        # A Monday session: the weekend is skipped.
        (date(2026, 1, 12), datetime(2026, 1, 8, 0, 0, tzinfo=UTC), "Fri 9, Thu 8, Wed 7"),
        # Easter 2026: Good Friday 3 April and Easter Monday 6 April are not working days.
        (date(2026, 4, 8), datetime(2026, 4, 1, 23, 0, tzinfo=UTC), "Tue 7, Thu 2, Wed 1"),
        (date(2026, 4, 7), datetime(2026, 3, 31, 23, 0, tzinfo=UTC), "Thu 2, Wed 1, Tue 31"),
        # Autumn clock change (Sunday 25 October 2026): session in GMT, deadline in BST.
        (date(2026, 10, 27), datetime(2026, 10, 22, 23, 0, tzinfo=UTC), "Mon 26, Fri 23, Thu 22"),
        # Christmas: 25 and 28 December 2026 (Boxing Day substitute) are bank holidays.
        (date(2026, 12, 30), datetime(2026, 12, 24, 0, 0, tzinfo=UTC), "Tue 29, Thu 24, Wed 23"),
    ],
)
def test_deadline_with_three_working_days(session_day, expected_utc, why):
    deadline = cancellation_deadline(_session_at(session_day), working_days=3)
    assert deadline == expected_utc, why
    assert deadline.tzinfo is not None


def test_deadline_follows_the_configured_number_of_working_days(app):
    session = _session_at(date(2026, 3, 31))
    assert app.config["CANCELLATION_WORKING_DAYS"] == 3
    assert cancellation_deadline(session) == datetime(2026, 3, 27, 0, 0, tzinfo=UTC)
    app.config["CANCELLATION_WORKING_DAYS"] = 5
    try:
        # Mon 30, Fri 27, Thu 26, Wed 25, Tue 24: end of Tuesday 24 March (GMT).
        assert cancellation_deadline(session) == datetime(2026, 3, 25, 0, 0, tzinfo=UTC)
    finally:
        app.config["CANCELLATION_WORKING_DAYS"] = 3


def test_the_session_day_is_the_london_date_not_the_utc_one():
    # 00:30 on Wednesday 1 April BST is still Tuesday 31 March in UTC.
    session = _session_at(date(2026, 4, 1), 0, 30)
    assert session.starts_at == datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    # Tue 31, Mon 30, Fri 27: end of Friday 27 March (GMT).
    assert cancellation_deadline(session, working_days=3) == datetime(2026, 3, 28, 0, 0, tzinfo=UTC)


def test_no_notice_period_means_the_deadline_is_the_start():
    session = _session_at(date(2026, 3, 31))
    assert cancellation_deadline(session, working_days=0) == session.starts_at


def test_cancelling_just_before_the_deadline_is_not_late_and_just_after_is():
    starts = london_to_utc(date(2026, 3, 31), time(10, 0))
    session = SessionFactory(starts_at=starts, booking_closes_at=starts - timedelta(days=1))
    on_time, late = UserFactory(), UserFactory()
    booked_at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    first = book_place(session.id, on_time, now=booked_at)
    second = book_place(session.id, late, now=booked_at)
    deadline = datetime(2026, 3, 27, 0, 0, tzinfo=UTC)

    cancel_booking(first.id, on_time, now=deadline - timedelta(seconds=1))
    cancel_booking(second.id, late, now=deadline)

    assert reload(first).status == BookingStatus.CANCELLED
    assert reload(second).status == BookingStatus.LATE_CANCELLED


def test_deadlines_are_shown_as_11_59pm_on_the_last_day_in_london_time():
    assert london_deadline(datetime(2026, 3, 27, 0, 0, tzinfo=UTC)) == "11:59pm on Thursday 26 March 2026"
    assert london_deadline(datetime(2026, 4, 1, 23, 0, tzinfo=UTC)) == "11:59pm on Wednesday 1 April 2026"
    assert london_deadline(datetime(2026, 10, 22, 23, 0, tzinfo=UTC)) == "11:59pm on Thursday 22 October 2026"
    # A deadline capped at the session start is shown as it is.
    assert london_deadline(datetime(2026, 3, 31, 9, 0, tzinfo=UTC)) == "10:00am on Tuesday 31 March 2026"
