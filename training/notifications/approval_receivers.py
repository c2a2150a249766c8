"""Emails for manager approval: the request to the manager, and the outcome to the delegate.

Like every receiver, these run inside the booking change's write transaction and only add
outbox rows. A request's emails carry a dedupe key, so a repeated `tick` cannot send twice.
The approved booking itself is announced again as BOOKED or WAITLISTED, whose emails
(confirmation with the calendar invitation, or the waiting-list notice) `receivers` sends.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app

from ..booking.approval import make_token
from ..booking.models import Booking
from ..booking.signals import BookingEvent, booking_event
from ..timeutil import format_date
from .models import MessageKind
from .outbox import enqueue, external_url


def _title_and_date(booking: Booking) -> str:
    return f"{booking.session.course.title} on {format_date(booking.session.starts_at)}"


def _context(booking: Booking, **extra) -> dict:
    """What the approval emails show; never the joining link (nobody has a confirmed place yet)."""
    session = booking.session
    user = booking.user
    return {
        "name": user.name,
        "manager_name": user.manager_name,
        "course_title": session.course.title,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "venue_lines": session.venue_lines,
        "online": bool(session.online_link),
        "holds_place": bool(booking.approval_holds_place),
        "hold_until": booking.approval_hold_until,
        "expires_at": booking.approval_expires_at,
        "booking_url": external_url("booking.booking_detail", booking_id=booking.id),
        "course_url": external_url("catalogue.course", course_id=session.course_id),
        **extra,
    }


def _to_delegate(kind: MessageKind, booking: Booking, subject: str, template: str, now: datetime,
                 **extra) -> None:
    enqueue(kind, booking.user.email, subject, template, _context(booking, **extra), user_id=booking.user_id,
            dedupe_key=f"{kind.value}:{booking.id}", now=now)


def _requested(booking: Booking, now: datetime, **_kw) -> None:
    user = booking.user
    enqueue(MessageKind.APPROVAL_REQUEST, user.manager_email,
            f"Approval needed: {user.name} has booked {_title_and_date(booking)}", "approval_request",
            _context(booking, job_title=user.job_title, agency=user.agency.name if user.agency else None,
                     delegate_email=user.email,
                     approval_url=external_url("approvals.decide", token=make_token(booking))),
            # The manager's email is about the delegate: kept with their data.
            user_id=user.id, dedupe_key=f"{MessageKind.APPROVAL_REQUEST.value}:{booking.id}", now=now)
    _to_delegate(MessageKind.APPROVAL_PENDING, booking, f"Waiting for approval: {_title_and_date(booking)}",
                 "approval_pending", now, hold_hours=current_app.config["APPROVAL_HOLD_HOURS"])


def _not_approved(booking: Booking, now: datetime, reason: str | None = None, **_kw) -> None:
    _to_delegate(MessageKind.APPROVAL_DECLINED, booking, f"Booking not approved: {_title_and_date(booking)}",
                 "approval_declined", now, reason=reason)


def _expired(booking: Booking, now: datetime, **_kw) -> None:
    _to_delegate(MessageKind.APPROVAL_EXPIRED, booking, f"Approval request expired: {_title_and_date(booking)}",
                 "approval_expired", now)


_HANDLERS: dict[BookingEvent, Callable[..., None]] = {
    BookingEvent.AWAITING_APPROVAL: _requested,
    BookingEvent.NOT_APPROVED: _not_approved,
    BookingEvent.APPROVAL_EXPIRED: _expired,
}


@booking_event.connect
def on_approval_event(booking: Booking, *, event: BookingEvent, now: datetime, actor=None, **extra) -> None:
    """Queue the emails for one approval event (inside the booking's transaction)."""
    handler = _HANDLERS.get(event)
    if handler is not None:
        handler(booking, now, **extra)
