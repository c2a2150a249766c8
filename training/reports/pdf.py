"""The subgroup summary as a PDF: the page's partials rendered by WeasyPrint in one pass.

The charts are inline data: URLs, and WeasyPrint may load nothing else (see
`certificates.services.render_pdf`), so nothing in the summary can make the server fetch a
file or a web address.
"""
from __future__ import annotations

from flask import current_app, render_template

from ..certificates.services import PdfFile, render_pdf
from . import exports
from .presentation import SummaryView, pounds


def summary_pdf(view: SummaryView, compliance_section: object | None = None) -> PdfFile:
    """The summary in `view` as an A4 PDF named after its period.

    `compliance_section` is the compliance returns' overview, shown as a section of its own
    when given (templates/compliance/_summary_section.html).
    """
    html = render_template(
        "reports/pdf/summary.html",
        view=view,
        summary=view.summary,
        pounds=pounds,
        pdf=True,
        compliance_section=compliance_section,
        partnership_name=current_app.config["PARTNERSHIP_NAME"],
    )
    return PdfFile(render_pdf(html), exports.filename(view.summary.period, "pdf"))
