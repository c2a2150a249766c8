"""The coordinators' view of the outbox: queued, sent and failed messages, and retrying one."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ..auth import coordinator_required
from ..db import utcnow
from ..extensions import db
from ..pagination import govuk_pagination
from . import services
from .models import MessageStatus, Outbox
from .outbox_forms import OutboxFilterForm

bp = Blueprint("notifications", __name__, url_prefix="/manage/outbox")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE = 100_000  # so a silly page number cannot overflow the database's OFFSET


@bp.get("")
@coordinator_required
def index() -> ResponseReturnValue:
    """Every message, newest first: counts by status, a status filter and pages."""
    form = OutboxFilterForm(request.args)
    valid = form.validate()
    selected = form.selected if valid else None
    page_number = min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)
    per_page = current_app.config.get("OUTBOX_PAGE_SIZE", DEFAULT_PAGE_SIZE)
    page = db.paginate(services.messages_query(selected), page=page_number, per_page=per_page, error_out=False,
                       count=True)
    filters = {"status": selected.value} if selected else {}
    return render_template(
        "notifications/outbox/index.html",
        form=form,
        counts=services.status_counts(),
        selected=selected,
        page=page,
        pagination=govuk_pagination("notifications.index", page.page, page.pages, filters, "Pages of messages"),
    ), 200 if valid else 400


def _message_or_404(message_id: int) -> Outbox:
    """The message, or a 404 page."""
    return services.get_message(message_id) or abort(404)


@bp.get("/<int:message_id>")
@coordinator_required
def message(message_id: int) -> ResponseReturnValue:
    """One message: where it is in the queue, its last error and (unless it holds a private link) its text."""
    outbox_message = _message_or_404(message_id)
    return render_template(
        "notifications/outbox/message.html",
        message=outbox_message,
        body_hidden=services.body_is_private(outbox_message),
        Status=MessageStatus,
    )


@bp.post("/<int:message_id>/retry")
@coordinator_required
def retry(message_id: int) -> ResponseReturnValue:
    """Send a failed message again."""
    try:
        services.retry(message_id, current_user._get_current_object(), now=utcnow())
    except services.MessageNotFound:
        abort(404)
    except services.OutboxError as exc:
        flash(exc.message)
    else:
        flash("The message is queued to send again", "success")
    return redirect(url_for("notifications.message", message_id=message_id))
