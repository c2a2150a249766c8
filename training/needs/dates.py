"""Calendar-month arithmetic for due dates.

A requirement is due a whole number of months after a date. Months differ in length, so a
date that does not exist in the target month is clamped to that month's last day: 31 August
plus 6 months is 28 February (29 in a leap year), and 29 February 2024 plus 24 months is
28 February 2026. This matches how people read "every 2 years" on a certificate.
"""
from __future__ import annotations

import calendar
from datetime import date, timedelta

_DAY = timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """`day` plus `months` calendar months (negative to go back), clamped to the month's end."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def earliest_due_on_or_after(day: date, months: int) -> date:
    """The earliest date `d` with `add_months(d, months) >= day`.

    `add_months` never goes backwards as `d` moves forward, so every date on or after the
    result is also due on or after `day`, and every date before it is due before `day`. This
    turns "due date before today" into "completed before a cut-off", a plain comparison the
    database can make without month arithmetic of its own.
    """
    d = add_months(day, -months)
    # Clamping maps several days (29, 30, 31 January) to one (28 February): find the first.
    while add_months(d - _DAY, months) >= day:
        d -= _DAY
    while add_months(d, months) < day:
        d += _DAY
    return d


def earliest_due_after(day: date, months: int) -> date:
    """The earliest date `d` with `add_months(d, months) > day`."""
    return earliest_due_on_or_after(day + _DAY, months)
