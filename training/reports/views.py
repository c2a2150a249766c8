"""The Learning & Development Subgroup summary as a page, a PDF, CSV and Excel.

Coordinators only: everyone else signed in gets 403, people signed out go to sign in. The
period is in the address (`?from=YYYY-MM-DD&to=YYYY-MM-DD`, or the date boxes' repeated
parameters), so every view of the summary can be bookmarked and shared; bad dates show the
form with the error and a 400 status, whichever format was asked for.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from .. import cache
from ..auth import coordinator_required
from ..compliance import services as compliance_services
from ..db import utcnow
from ..evaluation.results import Period, current_financial_year
from . import exports, pdf
from .forms import SummaryPeriodForm, period_args
from .presentation import SummaryView, financial_year_links, pounds, summary_view
from .summary import build_summary

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.app_template_filter("thousands")
def thousands(number: int) -> str:
    """A count with thousands separators: 1234567 -> '1,234,567'."""
    # A filter, not "{:,}".format(...) in the template: Jinja calls filters directly, which
    # matters in the summary's tables of a few thousand cells (the page and the PDF).
    return f"{number:,}"


def _attachment(content: bytes, mimetype: str, filename: str) -> Response:
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The figures change as registers are taken: never serve a stale copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _form_and_period() -> tuple[SummaryPeriodForm, Period | None]:
    """The period form read from the address, and the period (None when the dates are bad)."""
    form = SummaryPeriodForm(formdata=request.args)
    if not form.validate():
        return form, None
    period = form.period(current_financial_year(utcnow()))
    form.show(period)
    return form, period


def _view(period: Period) -> SummaryView:
    return summary_view(build_summary(period, utcnow()))


def _page(form: SummaryPeriodForm, period: Period | None, status: int = 200) -> ResponseReturnValue:
    def build() -> dict[str, str]:
        view = _view(period)
        return {"body": render_template("reports/_summary_body.html", view=view, summary=view.summary,
                                        period_args=period_args(period), pounds=pounds, pdf=False)}

    parts = (cache.fragments(cache.REPORTS, ("summary", request.script_root, period.first, period.last), build)
             if period is not None else {})
    return render_template(
        "reports/summary.html",
        form=form,
        period=period,
        quick_links=financial_year_links(utcnow()),
        period_args_for=period_args,
        **parts,
    ), status


@bp.get("/summary")
@coordinator_required
def summary() -> ResponseReturnValue:
    """The subgroup summary for a period (default: this financial year), with charts and tables."""
    form, period = _form_and_period()
    return _page(form, period, 200 if period is not None else 400)


@bp.get("/summary.pdf")
@coordinator_required
def summary_pdf() -> ResponseReturnValue:
    """The subgroup summary as a PDF, with the same content as the page."""
    form, period = _form_and_period()
    if period is None:
        return _page(form, None, 400)
    view = _view(period)
    # The compliance returns' overview for the financial year the period starts in, if a round exists.
    file = pdf.summary_pdf(view, compliance_section=compliance_services.summary_section(period))
    return _attachment(file.content, "application/pdf", file.filename)


@bp.get("/summary.csv")
@coordinator_required
def summary_csv() -> ResponseReturnValue:
    """One table of the summary (`?table=<slug>`) as CSV."""
    form, period = _form_and_period()
    if period is None:
        return _page(form, None, 400)
    table = exports.find_table(build_summary(period, utcnow()), request.args.get("table", ""))
    if table is None:
        abort(404)
    return _attachment(exports.csv_bytes(table), exports.CSV_MIMETYPE,
                       exports.filename(period, "csv", table.slug))


@bp.get("/summary.xlsx")
@coordinator_required
def summary_xlsx() -> ResponseReturnValue:
    """Every table of the summary as an Excel workbook, one sheet per table."""
    form, period = _form_and_period()
    if period is None:
        return _page(form, None, 400)
    content = exports.xlsx_bytes(exports.tables(build_summary(period, utcnow())), period)
    return _attachment(content, exports.XLSX_MIMETYPE, exports.filename(period, "xlsx"))
