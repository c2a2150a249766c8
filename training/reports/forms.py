"""The subgroup summary's period: GOV.UK date inputs read from the address (a GET form).

The dates are URL parameters so that a summary can be bookmarked and shared. The date
widget names its day, month and year boxes alike, so a typed date arrives as a repeated
parameter (`from=1&from=4&from=2026`); a single ISO date (`from=2026-04-01`) is accepted too,
which is what the quick links and the download links use.
"""
from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from wtforms.validators import ValidationError

from ..catalogue.forms import GovDateField
from ..evaluation.results import Period, financial_year

#: A summary's dates must fall in these years: the previous period (as long again, just
#: before) must still be a real date, and nothing is older than the partnership's records.
FIRST_YEAR, LAST_YEAR = 1900, 2100
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class PeriodDateField(GovDateField):
    """Day, month and year boxes that also take one ISO date, `YYYY-MM-DD`."""

    def process_formdata(self, valuelist):
        if len(valuelist) == 1 and (match := _ISO_DATE.match(str(valuelist[0]).strip())):
            year, month, day = match.groups()
            valuelist = [day, month, year]
        parts = [str(v).strip() for v in valuelist]
        if any(len(part) > 4 for part in parts):
            # A huge number would overflow `date()`; no real day, month or year is this long.
            self.raw_data = (parts + ["", "", ""])[:3]
            self.data = None
            raise ValueError(f"{self.name_in_errors} must be a real date")
        super().process_formdata(valuelist)


def _in_range(_form, field: PeriodDateField) -> None:
    if field.data is None:
        return
    if field.data.year < FIRST_YEAR:
        raise ValidationError(f"{field.name_in_errors} must be in {FIRST_YEAR} or later")
    if field.data.year > LAST_YEAR:
        raise ValidationError(f"{field.name_in_errors} must be in {LAST_YEAR} or earlier")


class SummaryPeriodForm(FlaskForm):
    """From and to dates, both included. Either may be left out (see `period`)."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    start = PeriodDateField("From", name="from", name_in_errors="From date",
                            description="For example, 1 4 2026", validators=[_in_range])
    end = PeriodDateField("To", name="to", name_in_errors="To date",
                          description="For example, 31 3 2027", validators=[_in_range])

    def validate_end(self, field: PeriodDateField) -> None:
        first: date | None = self.start.data
        if field.data is not None and first is not None and field.data < first:
            raise ValidationError("To date must be the same as or after the from date")

    def period(self, default: Period) -> Period:
        """The period asked for (call after validate()). Nothing given: `default`. Only one
        date: the other end of that date's financial year."""
        first, last = self.start.data, self.end.data
        if first is None and last is None:
            return default
        if first is None:
            first = financial_year(last).first
        if last is None:
            last = financial_year(first).last
        return Period(first, last)

    def show(self, period: Period) -> None:
        """Fill the boxes with `period`, so the form says what the page shows."""
        for field, value in ((self.start, period.first), (self.end, period.last)):
            field.data = value
            field.raw_data = [str(value.day), str(value.month), str(value.year)]


def period_args(period: Period) -> dict[str, str]:
    """The URL parameters for `period`, as the quick links and downloads use them."""
    return {"from": period.first.isoformat(), "to": period.last.isoformat()}
