"""The audit log page for coordinators: newest first, filtered and paginated."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from ..auth import coordinator_required
from ..pagination import govuk_pagination
from . import services
from .forms import AuditFilterForm

bp = Blueprint("audit", __name__)

DEFAULT_PAGE_SIZE = 50
#: Clamped so a silly page number cannot overflow the database's OFFSET.
MAX_PAGE = 100_000


@bp.get("/manage/audit")
@coordinator_required
def index() -> ResponseReturnValue:
    """Who changed what and when: roles, staff bookings, attendance and exports."""
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        # Invalid filters are shown with their errors rather than silently ignored.
        return render_template("audit/index.html", form=form, page=None, pagination=None, filtered=True), 400
    page_number = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    per_page = current_app.config.get("AUDIT_PAGE_SIZE", DEFAULT_PAGE_SIZE)
    page = services.events_page(form.filters(), page_number, per_page)
    args = form.query_args()
    return render_template(
        "audit/index.html",
        form=form,
        page=page,
        filtered=bool(args),
        pagination=govuk_pagination("audit.index", page.page, page.pages, args, "Pages of the audit log"),
    )
