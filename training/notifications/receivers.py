"""Emails raised by booking and session events, written in the same transaction as the event.

Every receiver runs inside the booking (or session) change's write transaction and only adds
outbox rows (and raises a booking's calendar SEQUENCE): if the change rolls back, so do its
emails. The joining link of an online session goes only to people with a confirmed place:
`_context` is the one place it enters a message.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from ..accounts.models import User
from ..booking.models import Booking, BookingStatus
from ..booking.services import waiting_list_position
from ..booking.signals import BookingEvent, booking_event
from ..catalogue.models import CourseSession
from ..catalogue.signals import session_changed
from ..extensions import db
from ..timeutil import format_date
from . import calendar
from .models import MessageKind
from .outbox import Calendar, enqueue, external_url, written_together


def _title_and_date(booking: Booking) -> str:
    return f"{booking.session.course.title} on {format_date(booking.session.starts_at)}"


def _context(booking: Booking, **extra) -> dict:
    """What every booking email can show about the booking and its session."""
    session = booking.session
    confirmed = booking.status == BookingStatus.CONFIRMED
    return {
        "name": booking.user.name,
        "course_title": session.course.title,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "venue_lines": session.venue_lines,
        "online": bool(session.online_link),
        "confirmed": confirmed,
        # Only a confirmed place gets the way into an online session.
        "joining_link": session.online_link if confirmed else None,
        "booking_url": external_url("booking.booking_detail", booking_id=booking.id),
        "my_training_url": external_url("booking.my_training"),
        "course_url": external_url("catalogue.course", course_id=session.course_id),
        **extra,
    }


def _send(kind: MessageKind, booking: Booking, subject: str, template: str, now: datetime, *,
          calendar_file: Calendar | None = None, **extra) -> None:
    enqueue(kind, booking.user.email, subject, template, _context(booking, **extra),
            user_id=booking.user_id, calendar=calendar_file, now=now)


def _by_team(booking: Booking, actor: User | None) -> bool:
    """A coordinator acted for the person (a colleague handing over a place is not the team)."""
    return actor is not None and actor.id != booking.user_id and actor.is_coordinator


def _transferred_from(booking: Booking) -> str | None:
    """For a place handed over by a colleague, that colleague's name."""
    if booking.previous_booking_id is None:
        return None
    previous = db.session.get(Booking, booking.previous_booking_id)
    if previous is None or previous.status != BookingStatus.TRANSFERRED:
        return None
    return previous.user.name


def _was_confirmed(booking: Booking) -> bool:
    """Whether a booking that has just ended had a confirmed place (and so a calendar entry)."""
    return booking.confirmed_at is not None


# ---------------------------------------------------------------------------
# One function per booking event
# ---------------------------------------------------------------------------

def _confirmed(booking: Booking, now: datetime, actor: User | None, **_kw) -> None:
    transferred_from = _transferred_from(booking)
    _send(MessageKind.BOOKING_CONFIRMED, booking, f"Booking confirmed: {_title_and_date(booking)}",
          "booking_confirmed", now, calendar_file=calendar.invitation(booking, now),
          booked_by_team=_by_team(booking, actor), transferred_from=transferred_from)
    user = booking.user
    manager = (user.manager_email or "").strip()
    if not current_app.config["COPY_MANAGER_ON_CONFIRMATION"] or not manager:
        return
    if manager.lower() == user.email.lower():
        return
    session = booking.session
    # No joining link and no invitation: the manager is told, not invited.
    context = {
        "manager_name": user.manager_name,
        "delegate_name": user.name,
        "course_title": session.course.title,
        "starts_at": session.starts_at,
        "ends_at": session.ends_at,
        "venue_lines": session.venue_lines,
        "online": bool(session.online_link),
        "booked_at": now,
        "booked_by_team": _by_team(booking, actor),
        "transferred_from": transferred_from,
    }
    enqueue(MessageKind.MANAGER_COPY, manager, f"{user.name} has booked {_title_and_date(booking)}",
            "manager_copy", context, user_id=user.id, now=now)


def _waitlisted(booking: Booking, now: datetime, actor: User | None, **_kw) -> None:
    _send(MessageKind.WAITLISTED, booking, f"You are on the waiting list: {_title_and_date(booking)}",
          "waitlisted", now, position=waiting_list_position(booking),
          offer_hours=current_app.config["OFFER_HOURS"], booked_by_team=_by_team(booking, actor))


def _offered(booking: Booking, now: datetime, **_kw) -> None:
    _send(MessageKind.PLACE_OFFERED, booking, f"Place offered: {_title_and_date(booking)}", "place_offered", now,
          offer_expires_at=booking.offer_expires_at)


def _offer_expired(booking: Booking, now: datetime, **_kw) -> None:
    _send(MessageKind.OFFER_EXPIRED, booking, f"Offer expired: {_title_and_date(booking)}", "offer_expired", now,
          offer_expires_at=booking.offer_expires_at)


def _cancelled(booking: Booking, now: datetime, actor: User | None, **_kw) -> None:
    booking.calendar_sequence += 1
    _send(MessageKind.BOOKING_CANCELLED, booking, f"Booking cancelled: {_title_and_date(booking)}",
          "booking_cancelled", now, calendar_file=calendar.cancellation(booking, now), variant="cancelled",
          late=booking.status == BookingStatus.LATE_CANCELLED, by_team=_by_team(booking, actor))


def _withdrawn(booking: Booking, now: datetime, actor: User | None, **_kw) -> None:
    _send(MessageKind.BOOKING_CANCELLED, booking, f"Withdrawal confirmed: {_title_and_date(booking)}",
          "booking_cancelled", now, variant="withdrawn", late=False, by_team=_by_team(booking, actor))


def _declined(booking: Booking, now: datetime, actor: User | None, **_kw) -> None:
    _send(MessageKind.BOOKING_CANCELLED, booking, f"Offer declined: {_title_and_date(booking)}",
          "booking_cancelled", now, variant="declined", late=False, by_team=_by_team(booking, actor))


def _session_cancelled(booking: Booking, now: datetime, reason: str | None = None, **_kw) -> None:
    ics = None
    if _was_confirmed(booking):
        booking.calendar_sequence += 1
        ics = calendar.cancellation(booking, now)
    _send(MessageKind.SESSION_CANCELLED, booking, f"Session cancelled: {_title_and_date(booking)}",
          "session_cancelled", now, calendar_file=ics, reason=reason, had_place=ics is not None)


def _moved(booking: Booking, now: datetime, previous: Booking, **_kw) -> None:
    """A coordinator moved the person: the calendar entry moves with them, or is cancelled if
    they are now only on the new session's waiting list."""
    ics = None
    if booking.status == BookingStatus.CONFIRMED:
        booking.calendar_uid = calendar.booking_uid(previous)
        booking.calendar_sequence = previous.calendar_sequence + 1
        ics = calendar.invitation(booking, now)
    elif _was_confirmed(previous):
        previous.calendar_sequence += 1
        ics = calendar.cancellation(previous, now)
    old = previous.session
    _send(MessageKind.BOOKING_MOVED, booking, f"Booking moved: {_title_and_date(booking)}", "booking_moved", now,
          calendar_file=ics, previous_title=old.course.title, previous_starts_at=old.starts_at,
          position=waiting_list_position(booking))


def _transferred(booking: Booking, now: datetime, actor: User | None, to: Booking, **_kw) -> None:
    booking.calendar_sequence += 1
    _send(MessageKind.BOOKING_TRANSFERRED, booking, f"Place transferred: {_title_and_date(booking)}",
          "booking_transferred", now, calendar_file=calendar.cancellation(booking, now),
          colleague_name=to.user.name, by_team=_by_team(booking, actor))


_HANDLERS: dict[BookingEvent, Callable[..., None]] = {
    BookingEvent.BOOKED: _confirmed,
    BookingEvent.OFFER_ACCEPTED: _confirmed,
    BookingEvent.WAITLISTED: _waitlisted,
    BookingEvent.OFFERED: _offered,
    BookingEvent.OFFER_EXPIRED: _offer_expired,
    BookingEvent.CANCELLED: _cancelled,
    BookingEvent.WITHDRAWN: _withdrawn,
    BookingEvent.OFFER_DECLINED: _declined,
    BookingEvent.SESSION_CANCELLED: _session_cancelled,
    BookingEvent.MOVED: _moved,
    BookingEvent.TRANSFERRED: _transferred,
    # The approval events are answered by approval_receivers; an approved booking that is
    # confirmed or queued is announced again as BOOKED or WAITLISTED.
}


@booking_event.connect
def on_booking_event(booking: Booking, *, event: BookingEvent, now: datetime, actor: User | None = None,
                     **extra) -> None:
    """Queue the emails for one booking event (inside the booking's transaction)."""
    handler = _HANDLERS.get(event)
    if handler is not None:
        with written_together():
            handler(booking, now, actor=actor, **extra)


# ---------------------------------------------------------------------------
# A coordinator changed a session's time, venue or joining link
# ---------------------------------------------------------------------------

@session_changed.connect
def on_session_changed(session: CourseSession, *, now: datetime, changed: set[str], **_kw) -> None:
    """Tell everyone booked and waiting; confirmed places get an updated invitation.

    A new joining link matters only to people with a place (no one else may see it), so a
    change of the link alone is sent to them only.
    """
    bookings = db.session.scalars(
        select(Booking).where(Booking.session_id == session.id, Booking.is_active).order_by(Booking.id)
    ).all()
    visible_to_waiting = set(changed) - {"online_link"}
    for booking in bookings:
        confirmed = booking.status == BookingStatus.CONFIRMED
        if not confirmed and not visible_to_waiting:
            continue
        ics = None
        if confirmed:
            booking.calendar_sequence += 1
            ics = calendar.invitation(booking, now)
        _send(MessageKind.SESSION_CHANGED, booking, f"Session changed: {_title_and_date(booking)}",
              "session_changed", now, calendar_file=ics,
              changed=sorted(changed if confirmed else visible_to_waiting),
              position=waiting_list_position(booking))
