"""Time rules: stored in UTC, shown in Europe/London, working days for England."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")


def to_london(value: datetime) -> datetime:
    """An aware datetime in London local time."""
    return value.astimezone(LONDON)


def london_to_utc(day: date, at: time) -> datetime:
    """The UTC instant of a London wall-clock time (a gap or repeat resolves as zoneinfo does)."""
    return datetime.combine(day, at, tzinfo=LONDON).astimezone(UTC)


@lru_cache(maxsize=32)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    """Monday to Friday, except bank holidays in England."""
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def working_days_before(day: date, count: int) -> date:
    """The date `count` working days before `day`."""
    current = day
    remaining = count
    while remaining > 0:
        current -= timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def format_datetime(value: datetime | None) -> str:
    """'Tuesday 3 March 2026, 9:30am' in London time."""
    if value is None:
        return ""
    local = to_london(value)
    hour = local.strftime("%I").lstrip("0")
    return f"{local:%A} {local.day} {local:%B %Y}, {hour}:{local:%M}{local.strftime('%p').lower()}"


def format_date(value: datetime | date | None) -> str:
    """'3 March 2026' (London date for datetimes)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_london(value).date()
    return f"{value.day} {value:%B %Y}"


def format_time(value: datetime | None) -> str:
    """'9:30am' in London time."""
    if value is None:
        return ""
    local = to_london(value)
    return f"{local.strftime('%I').lstrip('0')}:{local:%M}{local.strftime('%p').lower()}"
