"""The audit log page for coordinators: newest first, filtered and paginated."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ..auth import coordinator_required
from . import services
from .forms import AuditFilterForm

bp = Blueprint("audit", __name__)

DEFAULT_PAGE_SIZE = 50
#: Clamped so a silly page number cannot overflow the database's OFFSET.
MAX_PAGE = 100_000


def _pagination(page: int, pages: int, args: dict) -> dict | None:
    """Parameters for the GOV.UK pagination component, keeping the current filters."""
    if pages <= 1:
        return None

    def href(number: int) -> str:
        return url_for("audit.index", **{**args, "page": number})

    shown = sorted({1, pages, page - 1, page, page + 1} & set(range(1, pages + 1)))
    items, last = [], 0
    for number in shown:
        if number - last > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == page})
        last = number
    params: dict = {"items": items, "landmarkLabel": "Pages of the audit log"}
    if page > 1:
        params["previous"] = {"href": href(page - 1)}
    if page < pages:
        params["next"] = {"href": href(page + 1)}
    return params


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
        pagination=_pagination(page.page, page.pages, args),
    )
