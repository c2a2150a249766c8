"""The line manager's approve-or-decline page, reached from a signed link without an account.

The GET only shows the request: mail scanners fetch links, so only the POSTs (with a CSRF
token from the anonymous session) change anything.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from werkzeug.wrappers import Response

from ..db import utcnow
from ..errors import DomainError
from ..timeutil import format_datetime
from . import services
from .approval import ApprovalLink, read_link
from .forms import ApproveForm, DeclineForm
from .models import BookingStatus

bp = Blueprint("approvals", __name__, url_prefix="/approval")


def _link(token: str) -> ApprovalLink:
    """The genuine link for `token`; 404 for a tampered or garbled one."""
    link = read_link(token, utcnow())
    if link is None:
        abort(make_response(render_template("booking/approval_invalid.html"), 404))
    return link


def _page(token: str, link: ApprovalLink, decline_form: DeclineForm | None = None) -> tuple[str, int]:
    booking = link.booking
    decline_form = decline_form or DeclineForm()
    if booking.status != BookingStatus.AWAITING_APPROVAL:
        state = "closed"
    elif link.expired:
        state = "expired"
    else:
        state = "open"
    return render_template(
        "booking/approval.html", token=token, booking=booking, state=state,
        outcome=services.approval_outcome(booking) if state == "closed" else None,
        approve_form=ApproveForm(), form=decline_form,
    ), (400 if decline_form.errors else 200)


@bp.get("/<token>")
def decide(token: str) -> tuple[str, int]:
    """Show the request with Approve and Decline buttons (changes nothing)."""
    return _page(token, _link(token))


def _refused(token: str, err: DomainError) -> Response:
    flash(err.message, "error")
    return redirect(url_for("approvals.decide", token=token))


@bp.post("/<token>/approve")
def approve(token: str) -> Response | tuple[str, int]:
    """Approve the booking: a place if one is held or free, otherwise the waiting list."""
    link = _link(token)
    if not ApproveForm().validate_on_submit():
        return _page(token, link)
    if link.expired and link.booking.status == BookingStatus.AWAITING_APPROVAL:
        return _refused(token, DomainError("This approval link has expired"))
    try:
        booking = services.approve_booking(link.booking.id)
    except DomainError as err:
        return _refused(token, err)
    what = f"{booking.session.course.title} on {format_datetime(booking.session.starts_at)}"
    if booking.status == BookingStatus.CONFIRMED:
        flash(f"You have approved {booking.user.name}'s booking. They have a place on {what}", "success")
    else:
        flash(f"You have approved {booking.user.name}'s booking. The session is now full, so they are "
              f"on the waiting list for {what}", "success")
    return redirect(url_for("approvals.decide", token=token))


@bp.post("/<token>/decline")
def decline(token: str) -> Response | tuple[str, int]:
    """Decline the booking, with an optional reason; any place it held goes to the waiting list."""
    link = _link(token)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _page(token, link, form)
    if link.expired and link.booking.status == BookingStatus.AWAITING_APPROVAL:
        return _refused(token, DomainError("This approval link has expired"))
    try:
        booking = services.decline_booking(link.booking.id, form.reason.data)
    except DomainError as err:
        return _refused(token, err)
    flash(f"You have declined {booking.user.name}'s booking. We have told them", "success")
    return redirect(url_for("approvals.decide", token=token))
