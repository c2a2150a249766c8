"""Helpers for the catalogue tests: dates that stay in the future."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from training.db import utcnow


def last_sunday(year: int, month: int) -> date:
    """The last Sunday of a month: when the UK clocks change in March and October."""
    day = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def next_clock_change(month: int, after: datetime | None = None) -> date:
    """The next last-Sunday-of-`month` (3: clocks go forward, 10: back) after `after` (default: now)."""
    after = (after or utcnow()).date()
    year = after.year
    while last_sunday(year, month) <= after + timedelta(days=2):
        year += 1
    return last_sunday(year, month)


def future_day(days: int = 30) -> date:
    """A date `days` from today (UTC)."""
    return (utcnow() + timedelta(days=days)).date()


def date_fields(prefix: str, day: date | None) -> dict[str, list[str]]:
    """Form data for a GOV.UK date input: the three boxes share one name."""
    if day is None:
        return {prefix: ["", "", ""]}
    return {prefix: [str(day.day), str(day.month), str(day.year)]}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)
