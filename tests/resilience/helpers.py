"""Shared helpers for the resilience tests."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.factories import AttendanceFactory, BookingFactory, CoordinatorFactory, SessionFactory, TrainerFactory
from training.booking.models import Booking
from training.catalogue.models import CourseSession
from training.extensions import db


def dialect() -> str:
    return db.engine.dialect.name


def only_on(name: str, sibling: str) -> None:
    """Skip a test that only means something on one engine; `sibling` covers the other."""
    if dialect() != name:
        pytest.skip(f"{name} only; {sibling} covers {dialect()}")


def populate() -> None:
    """A little of everything: agencies, people with roles, courses, sessions, bookings, a register."""
    trainer = TrainerFactory()
    CoordinatorFactory()
    session = SessionFactory(trainers=[trainer])
    BookingFactory.create_batch(3, session=session)
    AttendanceFactory()
    db.session.commit()


def booking_state(session_id: int) -> tuple[int, int]:
    """(booking rows, stored places_taken) for a session, as the database has them now."""
    db.session.commit()
    rows = db.session.scalar(select(func.count(Booking.id)).where(Booking.session_id == session_id))
    places = db.session.scalar(select(CourseSession.places_taken).where(CourseSession.id == session_id))
    return rows, places
