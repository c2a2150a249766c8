"""Scenes for the privacy tests: people with a history of bookings, attendance, evaluations
and certificates, and the report figures that anonymising must leave unchanged."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from tests.evaluation.conftest import valid_answers
from tests.factories import AttendanceFactory, BookingFactory, SessionFactory, UserFactory
from training.accounts.models import User
from training.attendance.models import Attendance, AttendanceOutcome
from training.attendance.services import attendance_by_agency, attendance_by_course
from training.booking.models import Booking
from training.certificates.models import Certificate
from training.evaluation import services as evaluation_services
from training.evaluation.models import Answer, Evaluation, Question, Stage
from training.extensions import db

#: The retention run's "today" in these tests; with 6 years the cutoff is 15 January 2020.
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
LONG_AGO = datetime(2018, 3, 1, 9, 30, tzinfo=UTC)
RECENTLY = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)

_codes = iter(range(1, 10_000))


def session_at(starts_at: datetime, **kwargs):
    """A 3-hour session starting at `starts_at`."""
    return SessionFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=3),
                          booking_closes_at=starts_at - timedelta(days=1), created_at=starts_at - timedelta(days=60),
                          **kwargs)


@dataclass
class History:
    user: User
    booking: Booking
    attendance: Attendance
    evaluation: Evaluation
    certificate: Certificate


def delegate(session, *, user=None, overall: str = "good", comment: str = "Check the threshold document first",
             outcome: AttendanceOutcome = AttendanceOutcome.ATTENDED, note: str | None = None) -> History:
    """A person (created well before the session) booked, marked present, with a submitted
    after-course form and a certificate, each dated around the session."""
    at = session.starts_at
    user = user or UserFactory(created_at=at - timedelta(days=30))
    booking = BookingFactory(session=session, user=user, created_at=at - timedelta(days=20),
                             queued_at=at - timedelta(days=20), status_changed_at=at - timedelta(days=20),
                             confirmed_at=at - timedelta(days=20), note=note)
    attendance = AttendanceFactory(booking=booking, outcome=outcome, recorded_at=session.ends_at)
    answers = valid_answers(Stage.AFTER) | {"overall": overall, "do_differently": comment,
                                            "comments": "The trainer was great, ask for Sam Jones"}
    evaluation = evaluation_services.save(booking_id=booking.id, stage=Stage.AFTER, actor=user, answers=answers,
                                          now=session.ends_at + timedelta(days=1), submit=True)
    # Submitting the after-course form issues the certificate; give it a known code and date.
    certificate = db.session.scalar(select(Certificate).where(Certificate.attendance_id == attendance.id))
    if certificate is None:
        certificate = Certificate(attendance_id=attendance.id)
        db.session.add(certificate)
    certificate.code = f"K7QM-3XWP-{next(_codes):04d}"
    certificate.issued_at = session.ends_at + timedelta(days=1)
    db.session.commit()
    return History(user, booking, attendance, evaluation, certificate)


def walk_in(session, name: str = "Walk In Person", email: str | None = "walkin@example.org"):
    """Someone on the register without an account."""
    agency = UserFactory().agency
    record = Attendance(session_id=session.id, attendee_name=name, attendee_email=email, agency_id=agency.id,
                        outcome=AttendanceOutcome.ATTENDED, walk_in=True, recorded_at=session.ends_at)
    db.session.add(record)
    db.session.commit()
    return record


def figures() -> tuple:
    """Every aggregate the reports show that anonymising must not change."""
    start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    ratings = db.session.execute(
        select(Answer.choice, func.count(Answer.id)).join(Question, Question.id == Answer.question_id)
        .where(Question.key == "overall").group_by(Answer.choice).order_by(Answer.choice)
    ).all()
    scores = db.session.execute(
        select(Question.key, func.sum(Answer.rating), func.count(Answer.rating), func.count(Answer.text))
        .join(Question, Question.id == Answer.question_id).group_by(Question.key).order_by(Question.key)
    ).all()
    bookings = db.session.execute(
        select(Booking.status, func.count(Booking.id)).group_by(Booking.status).order_by(Booking.status)
    ).all()
    return (attendance_by_agency(start, end), attendance_by_course(start, end), ratings, scores, bookings)


def snapshot() -> tuple:
    """Every row anonymising touches, to show that a second run changes nothing."""
    db.session.expire_all()
    users = db.session.execute(select(User.__table__).order_by(User.id)).all()
    attendances = db.session.execute(select(Attendance.__table__).order_by(Attendance.id)).all()
    answers = db.session.execute(select(Answer.__table__).order_by(Answer.id)).all()
    bookings = db.session.execute(select(Booking.__table__).order_by(Booking.id)).all()
    return users, attendances, answers, bookings
