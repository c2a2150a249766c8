"""Month arithmetic for due dates, and the cut-offs that let SQL bucket without it."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from training.needs.dates import add_months, earliest_due_after, earliest_due_on_or_after
from training.needs.models import TnaStatus
from training.needs.tna import status_for


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2024, 2, 29), 24, date(2026, 2, 28)),  # no 29 February in 2026: clamped
    (date(2024, 2, 29), 48, date(2028, 2, 29)),  # a leap year again
    (date(2024, 2, 29), 36, date(2027, 2, 28)),
    (date(2023, 8, 31), 6, date(2024, 2, 29)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 3, 31), 1, date(2024, 4, 30)),
    (date(2024, 12, 15), 1, date(2025, 1, 15)),
    (date(2025, 1, 15), -1, date(2024, 12, 15)),
    (date(2024, 5, 31), -3, date(2024, 2, 29)),
    (date(2024, 6, 1), 0, date(2024, 6, 1)),
])
def test_add_months_clamps_to_the_end_of_a_shorter_month(day, months, expected):
    assert add_months(day, months) == expected


def test_the_cut_offs_match_the_month_arithmetic_for_every_day_and_interval():
    """`completed >= cut-off` holds exactly when the completion is due on or after `day`."""
    days = [date(2026, 2, 28), date(2026, 3, 1), date(2028, 2, 29), date(2026, 3, 31), date(2026, 5, 31),
            date(2025, 12, 31), date(2026, 1, 1), date(2026, 4, 30)]
    for day in days:
        for months in (1, 3, 6, 12, 13, 24, 36, 120):
            on_or_after = earliest_due_on_or_after(day, months)
            after = earliest_due_after(day, months)
            start = add_months(day, -months) - timedelta(days=40)
            for offset in range(80):
                completed = start + timedelta(days=offset)
                due = add_months(completed, months)
                assert (completed >= on_or_after) == (due >= day), (day, months, completed)
                assert (completed >= after) == (due > day), (day, months, completed)


TODAY = date(2026, 6, 15)
HORIZON = date(2026, 9, 15)  # today plus 3 months


def _status(completed, refresher=36, started=date(2020, 1, 1), deadline=3):
    return status_for(completed, started, deadline, refresher, TODAY, 3)


def test_exactly_on_the_due_date_is_due_not_overdue():
    on_the_day = _status(add_months(TODAY, -36))
    assert on_the_day.next_due == TODAY
    assert on_the_day.status == TnaStatus.DUE_SOON
    day_late = _status(add_months(TODAY, -36) - timedelta(days=1))
    assert day_late.status == TnaStatus.OVERDUE
    assert day_late.next_due == TODAY - timedelta(days=1)


def test_due_within_three_months_runs_to_the_end_of_that_day_then_in_date():
    assert _status(add_months(HORIZON, -36)).status == TnaStatus.DUE_SOON
    assert _status(add_months(HORIZON, -36) + timedelta(days=1)).status == TnaStatus.IN_DATE


def test_a_24_month_refresher_is_overdue_where_a_36_month_one_is_in_date():
    completed = date(2024, 6, 1)
    two_years = _status(completed, refresher=24)
    three_years = _status(completed, refresher=36)
    assert (two_years.status, two_years.next_due) == (TnaStatus.OVERDUE, date(2026, 6, 1))
    assert (three_years.status, three_years.next_due) == (TnaStatus.IN_DATE, date(2027, 6, 1))


def test_a_leap_day_completion_is_next_due_on_28_february():
    status = status_for(date(2024, 2, 29), date(2020, 1, 1), 3, 24, date(2026, 2, 28), 3)
    assert status.next_due == date(2026, 2, 28)
    assert status.status == TnaStatus.DUE_SOON
    assert status_for(date(2024, 2, 29), date(2020, 1, 1), 3, 24, date(2026, 3, 1), 3).status == TnaStatus.OVERDUE


def test_once_only_is_in_date_for_ever():
    status = _status(date(2001, 1, 1), refresher=None)
    assert status.status == TnaStatus.IN_DATE and status.next_due is None


def test_never_trained_whatever_the_deadline_with_the_first_due_date():
    new_starter = _status(None, started=date(2026, 5, 1))
    assert new_starter.status == TnaStatus.NEVER_TRAINED
    assert new_starter.next_due == date(2026, 8, 1) and not new_starter.past_deadline
    long_standing = _status(None, started=date(2020, 1, 1))
    assert long_standing.status == TnaStatus.NEVER_TRAINED
    assert long_standing.next_due == date(2020, 4, 1) and long_standing.past_deadline
    # The first deadline itself is not yet past.
    assert not _status(None, started=add_months(TODAY, -3)).past_deadline
