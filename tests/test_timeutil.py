"""London display, UTC storage and England's working days, including the clock changes."""
from datetime import UTC, date, datetime, time

from training.timeutil import (
    format_date,
    format_datetime,
    format_time,
    is_working_day,
    london_to_utc,
    working_days_before,
)


def test_london_wall_clock_to_utc_across_the_clock_changes():
    # Last Sunday of March 2026: clocks go forward at 01:00 UTC.
    assert london_to_utc(date(2026, 3, 28), time(10, 0)) == datetime(2026, 3, 28, 10, 0, tzinfo=UTC)
    assert london_to_utc(date(2026, 3, 29), time(10, 0)) == datetime(2026, 3, 29, 9, 0, tzinfo=UTC)
    # Last Sunday of October 2026: clocks go back.
    assert london_to_utc(date(2026, 10, 24), time(10, 0)) == datetime(2026, 10, 24, 9, 0, tzinfo=UTC)
    assert london_to_utc(date(2026, 10, 25), time(10, 0)) == datetime(2026, 10, 25, 10, 0, tzinfo=UTC)


def test_display_is_london_time():
    summer = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
    assert format_datetime(summer) == "Monday 1 June 2026, 9:30am"
    assert format_time(datetime(2026, 12, 1, 13, 5, tzinfo=UTC)) == "1:05pm"
    # 23:30 UTC on 31 March is already 1 April in London.
    assert format_date(datetime(2026, 3, 31, 23, 30, tzinfo=UTC)) == "1 April 2026"
    assert format_datetime(None) == ""


def test_working_days_skip_weekends_and_bank_holidays():
    assert not is_working_day(date(2026, 4, 3))  # Good Friday
    assert not is_working_day(date(2026, 4, 6))  # Easter Monday
    assert not is_working_day(date(2026, 4, 4))  # Saturday
    assert is_working_day(date(2026, 4, 7))
    # Three working days before Wednesday 8 April 2026: Tue 7, Thu 2, Wed 1.
    assert working_days_before(date(2026, 4, 8), 3) == date(2026, 4, 1)
    # Christmas: 25 and 28 December 2026 are bank holidays (Boxing Day falls on a Saturday).
    assert working_days_before(date(2026, 12, 29), 2) == date(2026, 12, 23)
