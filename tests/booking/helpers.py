"""Shared helpers for the booking tests."""
from __future__ import annotations

from sqlalchemy import func, select

from training.booking.models import Booking, BookingStatus
from training.catalogue.models import CourseSession
from training.extensions import db


def reload(obj):
    """The object as the database now has it (ending any read transaction, whose snapshot
    could predate writes made by other connections)."""
    db.session.commit()
    return db.session.get(type(obj), obj.id)


def status_of(booking: Booking) -> BookingStatus:
    return reload(booking).status


def assert_places_consistent(session_id: int) -> int:
    """places_taken equals the count of confirmed and offered bookings, and requests awaiting
    approval that hold a place; returns it. Spelt out here rather than through the model's
    `holds_place`, so that rule is checked too."""
    db.session.commit()
    counted = db.session.scalar(
        select(func.count(Booking.id)).where(
            Booking.session_id == session_id,
            Booking.status.in_([BookingStatus.CONFIRMED.value, BookingStatus.OFFERED.value])
            | ((Booking.status == BookingStatus.AWAITING_APPROVAL.value) & Booking.approval_holds_place.is_(True)),
        )
    )
    stored = db.session.get(CourseSession, session_id).places_taken
    assert stored == counted, f"places_taken {stored} but {counted} places held"
    return stored
