"""Scenes for the evaluation form tests: bookings before a session, and attendees after it."""
from __future__ import annotations

from datetime import timedelta

from tests.factories import AttendanceFactory, BookingFactory, SessionFactory, UserFactory
from training.attendance.models import AttendanceOutcome
from training.booking.models import Booking
from training.db import utcnow
from training.evaluation.models import Stage

OUTCOMES = ["Recognise signs of abuse", "Know how to make a referral"]


def past_session(ended_days_ago: float = 1, **kwargs):
    """A session that started and ended `ended_days_ago` days ago."""
    ends = (utcnow() - timedelta(days=ended_days_ago)).replace(microsecond=0)
    return SessionFactory(starts_at=ends - timedelta(hours=3), ends_at=ends,
                          booking_closes_at=ends - timedelta(days=2), **kwargs)


def attended_booking(outcome: AttendanceOutcome = AttendanceOutcome.ATTENDED, ended_days_ago: float = 1,
                     user=None, session=None) -> Booking:
    """A booking on a past session, marked on the register with `outcome`."""
    session = session or past_session(ended_days_ago)
    booking = BookingFactory(session=session, user=user or UserFactory())
    AttendanceFactory(booking=booking, outcome=outcome)
    return booking


def valid_answers(stage: Stage, outcomes: int = len(OUTCOMES)) -> dict:
    """A complete set of answers to version 1 of a stage's questions, as the service takes them."""
    if stage == Stage.BEFORE:
        return {"knowledge": 2, "confidence": "3", "learning_needs": "How to refer a concern"}
    if stage == Stage.AFTER:
        return {"knowledge": 4, "confidence": 4, "outcomes": {i: "met" for i in range(1, outcomes + 1)},
                "trainer": 5, "materials": 4, "venue": 3, "overall": "good",
                "do_differently": "Check the threshold document first", "comments": ""}
    return {"impact": 4, "impact_example": "I referred a family to Early Help", "shared_with_team": "yes",
            "manager_agrees": "no", "manager_name": "Line Manager"}


def valid_post(stage: Stage, outcomes: int = len(OUTCOMES), action: str = "submit") -> dict:
    """The same answers as the form posts them."""
    data = {}
    for key, value in valid_answers(stage, outcomes).items():
        if key == "outcomes":
            data.update({f"outcome_{i}": v for i, v in value.items()})
        else:
            data[key] = str(value)
    data["action"] = action
    return data
