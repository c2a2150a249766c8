"""Booking events, so other areas (notifications) can react without booking knowing them.

Receivers run inside the sender's write transaction, so what they write (an email in the
outbox, say) commits or rolls back with the booking change.
"""
from __future__ import annotations

import enum

from blinker import Namespace

_signals = Namespace()


class BookingEvent(enum.StrEnum):
    BOOKED = "booked"  # a confirmed place, made directly (also a transfer's new booking)
    WAITLISTED = "waitlisted"
    OFFERED = "offered"
    OFFER_ACCEPTED = "offer-accepted"
    OFFER_DECLINED = "offer-declined"
    OFFER_EXPIRED = "offer-expired"
    CANCELLED = "cancelled"  # a confirmed place given up (on time or late)
    WITHDRAWN = "withdrawn"  # left the waiting list, or withdrew a request awaiting approval
    TRANSFERRED = "transferred"  # sent with the old booking and `to=` the colleague's new one
    MOVED = "moved"  # sent with the new booking and `previous=` the old one
    SESSION_CANCELLED = "session-cancelled"
    AWAITING_APPROVAL = "awaiting-approval"
    APPROVED = "approved"  # the manager approved: the booking is now confirmed, or waitlisted if full
    NOT_APPROVED = "not-approved"
    APPROVAL_EXPIRED = "approval-expired"
    APPROVAL_HOLD_RELEASED = "approval-hold-released"


#: sent with the Booking as sender, and `event` (a BookingEvent), `now`, `actor` (User or None)
booking_event = _signals.signal("booking-event")


def announce(booking, event: BookingEvent, now, actor=None, **extra) -> None:
    """Tell the receivers about `event` on `booking` (inside the caller's transaction)."""
    booking_event.send(booking, event=event, now=now, actor=actor, **extra)
