"""Signed links for a line manager to approve or decline a booking without an account.

The token carries only the booking id, signed with SECRET_KEY and timestamped. It works while
it is younger than APPROVAL_LINK_DAYS and the request is still open (before the booking's
`approval_expires_at`); it is single use because a decision closes the request.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from ..db import utcnow
from ..extensions import db
from .models import Booking

_SALT = "manager-approval"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def make_token(booking: Booking) -> str:
    """The token for the manager's link to this booking."""
    return _serializer().dumps(booking.id)


@dataclass(frozen=True)
class ApprovalLink:
    """A genuine link and the booking it names; `expired` when it can no longer be used."""

    booking: Booking
    issued_at: datetime
    expired: bool


def read_link(token: str, now: datetime | None = None) -> ApprovalLink | None:
    """The booking a token names, or None for a token that is not genuine (tampered, garbled)."""
    now = now or utcnow()
    try:
        # The age is checked against `now` below rather than the wall clock, so tests can move time.
        booking_id, issued_at = _serializer().loads(token, return_timestamp=True)
    except (BadData, ValueError, TypeError):
        return None
    if not isinstance(booking_id, int) or isinstance(booking_id, bool):
        return None
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        return None
    too_old = now - issued_at > timedelta(days=current_app.config["APPROVAL_LINK_DAYS"])
    closed = booking.approval_expires_at is not None and now >= booking.approval_expires_at
    return ApprovalLink(booking=booking, issued_at=issued_at, expired=too_old or closed)
