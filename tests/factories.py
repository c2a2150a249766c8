"""factory_boy factories for the models; each instance is committed."""
from __future__ import annotations

from datetime import timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory
from werkzeug.security import generate_password_hash

from training.accounts.models import Agency, Role, Sector, User
from training.attendance.models import Attendance, AttendanceOutcome
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import Course, CourseFormat, CourseSession, Level, SessionStatus, Theme
from training.db import utcnow
from training.extensions import db

TEST_PASSWORD = "correct horse battery staple"


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


def _grant_roles(default: list[Role]):
    """A post-generation hook granting `roles=[...]`, or `default` when none are given."""

    @factory.post_generation
    def roles(obj, create, extracted, **kwargs):
        for role in extracted if extracted is not None else default:
            obj.grant(role)
        if create:
            db.session.commit()

    return roles


class AgencyFactory(Base):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Agency {n}")
    sector = Sector.HEALTH


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    name = factory.Sequence(lambda n: f"Person {n}")
    agency = factory.SubFactory(AgencyFactory)
    job_title = "Health visitor"
    manager_name = "Line Manager"
    manager_email = factory.Sequence(lambda n: f"manager{n}@example.org")
    consent_updates = False
    password_hash = factory.LazyFunction(lambda: generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:1000"))

    roles = _grant_roles([Role.PROFESSIONAL])


class TrainerFactory(UserFactory):
    job_title = "Safeguarding trainer"
    roles = _grant_roles([Role.PROFESSIONAL, Role.TRAINER])


class CoordinatorFactory(UserFactory):
    job_title = "Training coordinator"
    roles = _grant_roles([Role.PROFESSIONAL, Role.COORDINATOR])


class CourseFactory(Base):
    class Meta:
        model = Course

    title = factory.Sequence(lambda n: f"Safeguarding course {n}")
    summary = "Recognising and responding to abuse and neglect."
    learning_outcomes = "Recognise signs of abuse\nKnow how to make a referral"
    level = Level.LEVEL_2
    duration_minutes = 180
    format = CourseFormat.FACE_TO_FACE
    refresher_months = 36

    @factory.post_generation
    def themes(obj, create, extracted, **kwargs):
        obj.themes = extracted if extracted is not None else [Theme.CHILD_PROTECTION]
        if create:
            db.session.commit()


class SessionFactory(Base):
    """A scheduled session starting in 30 days unless told otherwise."""

    class Meta:
        model = CourseSession

    course = factory.SubFactory(CourseFactory)
    starts_at = factory.LazyFunction(lambda: (utcnow() + timedelta(days=30)).replace(microsecond=0))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=3))
    booking_closes_at = factory.LazyAttribute(lambda o: o.starts_at - timedelta(days=1))
    venue = "Civic Centre, Committee Room 2"
    online_link = None
    capacity = 20
    places_taken = 0
    status = SessionStatus.SCHEDULED

    @factory.post_generation
    def trainers(obj, create, extracted, **kwargs):
        if extracted:
            obj.trainers = list(extracted)
            if create:
                db.session.commit()


class BookingFactory(Base):
    """A confirmed booking. Use the booking services in tests of booking rules; this is for
    setting the scene in other areas' tests. It keeps the session's places_taken right."""

    class Meta:
        model = Booking

    session = factory.SubFactory(SessionFactory)
    user = factory.SubFactory(UserFactory)
    status = BookingStatus.CONFIRMED
    confirmed_at = factory.LazyFunction(utcnow)

    @factory.post_generation
    def _count_place(obj, create, extracted, **kwargs):
        if obj.holds_place:
            obj.session.places_taken += 1
        if create:
            db.session.commit()


class AttendanceFactory(Base):
    class Meta:
        model = Attendance

    booking = factory.SubFactory(BookingFactory)
    session = factory.SelfAttribute("booking.session")
    user = factory.SelfAttribute("booking.user")
    attendee_name = factory.SelfAttribute("booking.user.name")
    attendee_email = factory.SelfAttribute("booking.user.email")
    agency = factory.SelfAttribute("booking.user.agency")
    outcome = AttendanceOutcome.ATTENDED
