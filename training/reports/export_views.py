"""Bookings and attendance for a period, exported for agencies' own records (coordinators only).

The period and agency are in the address (a GET form that changes nothing), so the page can
be bookmarked. Downloads carry names and emails and each is recorded in the audit log, so a
download is a POST (a button, with the CSRF token) to the file's address with the same period
and agency in its query string: no GET changes anything, so a link, a prefetch or a crawler
cannot write to the audit log. No cache may keep a copy of a file.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect
from werkzeug.wrappers import Response
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError

from ..auth import coordinator_required
from ..catalogue.forms import GovDateField
from ..db import utcnow
from ..evaluation.results import Period, current_financial_year
from . import period_exports
from .period_exports import ExportKind, FileFormat, UnknownAgency

bp = Blueprint("report_exports", __name__, url_prefix="/reports/exports")

#: Years outside this range cannot hold a session, and would overflow the date arithmetic.
FIRST_YEAR, LAST_YEAR = 2000, 2999


def _plausible_year(_form, field) -> None:
    if field.data is not None and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
        raise ValidationError(f"{field.name_in_errors} must be a real date")


class PeriodExportForm(FlaskForm):
    """The period (London dates, inclusive) and, optionally, one agency."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    date_from = GovDateField("From", name_in_errors="Date from", description="For example, 1 4 2026",
                             validators=[_plausible_year])
    date_to = GovDateField("To", name_in_errors="Date to", description="For example, 31 3 2027",
                           validators=[_plausible_year])
    agency = SelectField("Agency (optional)", widget=GovSelect(), validate_choice=False,
                         description="Leave as all agencies to include everyone")

    def set_agency_choices(self, agencies: list[tuple[int, str]]) -> None:
        """The agencies offered in the select, after 'All agencies'."""
        self.agency.choices = [SelectChoice("", "All agencies")] + [
            SelectChoice(str(agency_id), name) for agency_id, name in agencies]

    def validate_date_from(self, field) -> None:
        if field.data is None and not field.process_errors and self.date_to.raw_data and any(self.date_to.raw_data):
            raise StopValidation("Enter the date from")

    def validate_date_to(self, field) -> None:
        if field.data is None and not field.process_errors and self.date_from.raw_data and any(
                self.date_from.raw_data):
            raise StopValidation("Enter the date to")
        start: date | None = self.date_from.data
        if field.data is not None and start is not None and field.data < start:
            raise ValidationError("Date to must be the same as or after date from")

    def validate_agency(self, field) -> None:
        allowed = {choice.value for choice in field.choices or []}
        if (field.data or "") not in allowed:
            raise ValidationError("Select an agency from the list")

    def period(self, default: Period) -> Period:
        """The period chosen (call after validate()); `default` when both dates are blank."""
        if self.date_from.data is None and self.date_to.data is None:
            return default
        return Period(self.date_from.data, self.date_to.data)

    def agency_id(self) -> int | None:
        return int(self.agency.data) if self.agency.data else None

    def show(self, period: Period) -> None:
        """Show the period in the date boxes (the default one when the boxes were blank)."""
        for field, day in ((self.date_from, period.first), (self.date_to, period.last)):
            field.data = day
            # The widget shows what was typed when there is any, so show the date as typed.
            field.raw_data = [str(day.day), str(day.month), str(day.year)]

    def query_args(self, period: Period) -> dict[str, list[str] | str]:
        """The period and agency as URL parameters, for the download buttons' form addresses."""
        args: dict[str, list[str] | str] = {
            name: [str(day.day), str(day.month), str(day.year)]
            for name, day in (("date_from", period.first), ("date_to", period.last))
        }
        if self.agency.data:
            args["agency"] = self.agency.data
        return args


def _form() -> tuple[PeriodExportForm, Period | None]:
    """The form read from the address, and the period it gives (None when it is wrong)."""
    form = PeriodExportForm(request.args)
    form.set_agency_choices(period_exports.agencies())
    if not form.validate():
        return form, None
    period = form.period(current_financial_year(utcnow()))
    form.show(period)
    return form, period


def _agency_name(form: PeriodExportForm) -> str | None:
    if not form.agency.data:
        return None
    return next((c.label for c in form.agency.choices if c.value == form.agency.data), None)


def _page(form: PeriodExportForm, period: Period | None) -> str:
    return render_template(
        "reports/exports/index.html",
        form=form,
        period=period,
        agency_name=_agency_name(form) if period is not None else None,
        counts=period_exports.export_counts(period, form.agency_id()) if period is not None else None,
        args=form.query_args(period) if period is not None else {},
        kinds=list(ExportKind),
        formats=list(FileFormat),
    )


@bp.get("/")
@coordinator_required
def index() -> ResponseReturnValue:
    """Choose a period and agency, then download bookings or attendance as CSV or Excel."""
    form, period = _form()
    return _page(form, period), 200 if period is not None else 400


# A POST: each download is recorded in the audit log. The period and agency stay in the query string.
@bp.post("/<any(bookings, attendance):kind>.<any(csv, xlsx):fmt>")
@coordinator_required
def download(kind: str, fmt: str) -> ResponseReturnValue:
    """Bookings or attendance of the period's sessions as a CSV or Excel file (audited)."""
    form, period = _form()
    if period is None:
        return _page(form, period), 400
    try:
        file = period_exports.export(ExportKind(kind), FileFormat(fmt), period, current_user,
                                     agency_id=form.agency_id(), now=utcnow())
    except UnknownAgency:  # the agency went between reading the list and the export
        abort(404)
    response = Response(file.content, mimetype=file.mimetype)
    if file.mimetype.startswith("text/"):
        response.headers["Content-Type"] = f"{file.mimetype}; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    # Names and emails: no shared or browser cache may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response
