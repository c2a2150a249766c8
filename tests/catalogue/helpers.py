"""Helpers for the catalogue tests: dates that stay in the future, and SQL counting."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event

from training.db import utcnow
from training.extensions import db


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


class QueryCounter:
    """Counts SQL statements sent to the database while active, keeping their text."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def _record(self, _conn, _cursor, statement, *_args) -> None:
        self.statements.append(statement)

    def __enter__(self) -> QueryCounter:
        event.listen(db.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(db.engine, "before_cursor_execute", self._record)
