"""Taking a register: marks, re-marks, walk-ins, completion and who may change what."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import (
    AgencyFactory,
    BookingFactory,
    CoordinatorFactory,
    SessionFactory,
    TrainerFactory,
    UserFactory,
)
from training.attendance import services
from training.attendance.errors import (
    AlreadyOnRegister,
    InvalidOutcome,
    NotOnRegister,
    NotSessionTrainer,
    RegisterCompleted,
    RegisterIncomplete,
    RegisterNotOpen,
    SessionWasCancelled,
    WalkInAgencyMissing,
    WalkInNameMissing,
    WalkInNotFound,
    WalkInOutcomeInvalid,
)
from training.attendance.models import Attendance, AttendanceOutcome, Register
from training.booking.models import BookingStatus
from training.db import utcnow
from training.extensions import db

A = AttendanceOutcome


def started_session(trainer=None, **kwargs):
    """A session that began an hour ago, with `trainer` on it."""
    start = (utcnow() - timedelta(hours=1)).replace(microsecond=0)
    return SessionFactory(starts_at=start, trainers=[trainer] if trainer else [], **kwargs)


def attendances(session_id=None) -> list[Attendance]:
    db.session.expire_all()
    stmt = select(Attendance).order_by(Attendance.id)
    if session_id is not None:
        stmt = stmt.where(Attendance.session_id == session_id)
    return list(db.session.scalars(stmt))


@pytest.fixture
def trainer():
    return TrainerFactory()


@pytest.fixture
def session(trainer):
    return started_session(trainer)


@pytest.mark.parametrize("outcome", list(AttendanceOutcome))
def test_each_outcome_is_recorded_with_the_persons_agency(trainer, session, outcome):
    booking = BookingFactory(session=session)
    changed = services.record_attendance(session.id, {booking.id: outcome}, trainer)
    assert changed == 1
    [row] = attendances()
    assert row.outcome == outcome
    assert row.booking_id == booking.id
    assert row.user_id == booking.user_id
    assert row.agency_id == booking.user.agency_id
    assert row.attendee_name == booking.user.name
    assert row.walk_in is False
    assert row.recorded_by_id == trainer.id


def test_outcome_given_as_its_form_value_is_accepted(trainer, session):
    booking = BookingFactory(session=session)
    services.record_attendance(session.id, {booking.id: "did-not-attend"}, trainer)
    assert attendances()[0].outcome == A.DID_NOT_ATTEND


def test_recording_again_updates_the_same_row(trainer, session):
    first, second = BookingFactory(session=session), BookingFactory(session=session)
    services.record_attendance(session.id, {first.id: A.ATTENDED, second.id: A.ATTENDED}, trainer)
    [row_id, _] = [a.id for a in attendances()]
    later = utcnow() + timedelta(minutes=5)
    changed = services.record_attendance(
        session.id, {first.id: A.PARTIAL, second.id: A.ATTENDED}, trainer, now=later)
    assert changed == 1  # only the first person's outcome changed
    rows = attendances()
    assert len(rows) == 2
    assert rows[0].id == row_id
    assert rows[0].outcome == A.PARTIAL
    assert rows[0].recorded_at == later
    assert rows[1].outcome == A.ATTENDED


def test_re_recording_keeps_the_agency_recorded_first(trainer, session):
    booking = BookingFactory(session=session)
    old_agency = booking.user.agency_id
    services.record_attendance(session.id, {booking.id: A.ATTENDED}, trainer)
    booking.user.agency = AgencyFactory()
    db.session.commit()
    services.record_attendance(session.id, {booking.id: A.PARTIAL}, trainer)
    assert attendances()[0].agency_id == old_agency


def test_register_cannot_be_taken_before_the_session_starts(trainer):
    future = SessionFactory(trainers=[trainer])
    booking = BookingFactory(session=future)
    with pytest.raises(RegisterNotOpen) as err:
        services.record_attendance(future.id, {booking.id: A.ATTENDED}, trainer)
    assert "when the session starts" in err.value.message
    with pytest.raises(RegisterNotOpen):
        services.complete_register(future.id, trainer)
    with pytest.raises(RegisterNotOpen):
        services.add_walk_in(future.id, name="Sam Walker", email=None, agency_id=AgencyFactory().id,
                             outcome=A.ATTENDED, actor=trainer)
    assert attendances() == []
    assert db.session.scalar(select(func.count()).select_from(Register)) == 0


def test_register_opens_at_the_start_time_exactly(trainer):
    future = SessionFactory(trainers=[trainer])
    booking = BookingFactory(session=future)
    with pytest.raises(RegisterNotOpen):
        services.record_attendance(future.id, {booking.id: A.ATTENDED}, trainer,
                                   now=future.starts_at - timedelta(seconds=1))
    services.record_attendance(future.id, {booking.id: A.ATTENDED}, trainer, now=future.starts_at)
    assert len(attendances()) == 1


def test_before_start_message_gives_the_london_start_time_on_a_clock_change_day(trainer):
    # 29 March 2026 is the last Sunday of March: 10:00 London is 09:00 UTC (BST).
    from datetime import UTC, datetime
    session = SessionFactory(starts_at=datetime(2026, 3, 29, 9, 0, tzinfo=UTC), trainers=[trainer])
    refusal = services.edit_refusal(session, None, trainer, datetime(2026, 3, 29, 8, 0, tzinfo=UTC))
    assert refusal.message == "You can take the register from 10:00am on 29 March 2026, when the session starts"


def test_cancelled_session_has_no_register(trainer):
    from training.catalogue.models import SessionStatus
    session = started_session(trainer, status=SessionStatus.CANCELLED)
    booking = BookingFactory(session=session, status=BookingStatus.SESSION_CANCELLED)
    with pytest.raises(SessionWasCancelled):
        services.record_attendance(session.id, {booking.id: A.ATTENDED}, trainer)


def test_another_trainer_cannot_take_the_register(session):
    booking = BookingFactory(session=session)
    with pytest.raises(NotSessionTrainer):
        services.record_attendance(session.id, {booking.id: A.ATTENDED}, TrainerFactory())
    with pytest.raises(NotSessionTrainer):
        services.record_attendance(session.id, {booking.id: A.ATTENDED}, UserFactory())
    assert attendances() == []


def test_a_coordinator_can_take_any_register(session):
    booking = BookingFactory(session=session)
    services.record_attendance(session.id, {booking.id: A.ATTENDED}, CoordinatorFactory())
    assert attendances()[0].outcome == A.ATTENDED


# --- bad input changes nothing ------------------------------------------------------------

def test_an_outcome_that_is_not_one_of_the_three_is_refused(trainer, session):
    good, bad = BookingFactory(session=session), BookingFactory(session=session)
    with pytest.raises(InvalidOutcome):
        services.record_attendance(session.id, {good.id: A.ATTENDED, bad.id: "late"}, trainer)
    assert attendances() == []


@pytest.mark.parametrize("status", [BookingStatus.CANCELLED, BookingStatus.WAITLISTED, BookingStatus.OFFERED,
                                    BookingStatus.MOVED])
def test_a_booking_that_is_not_confirmed_is_refused(trainer, session, status):
    good = BookingFactory(session=session)
    other = BookingFactory(session=session, status=status)
    with pytest.raises(NotOnRegister):
        services.record_attendance(session.id, {good.id: A.ATTENDED, other.id: A.ATTENDED}, trainer)
    assert attendances() == []


def test_a_booking_from_another_session_is_refused(trainer, session):
    good = BookingFactory(session=session)
    elsewhere = BookingFactory(session=started_session(trainer))
    with pytest.raises(NotOnRegister):
        services.record_attendance(session.id, {good.id: A.ATTENDED, elsewhere.id: A.ATTENDED}, trainer)
    assert attendances() == []


@pytest.mark.parametrize("booking_id", [999_999, "1", None, True, 0, -1, 2**31, 10**20])
def test_unknown_or_malformed_booking_ids_are_refused(trainer, session, booking_id):
    BookingFactory(session=session)
    with pytest.raises(NotOnRegister):
        services.record_attendance(session.id, {booking_id: A.ATTENDED}, trainer)
    assert attendances() == []


def test_saving_nothing_changes_nothing(trainer, session):
    BookingFactory(session=session)
    assert services.record_attendance(session.id, {}, trainer) == 0
    assert attendances() == []


# --- walk-ins -----------------------------------------------------------------------------

def test_walk_in_without_an_account_is_recorded_with_the_chosen_agency(trainer, session):
    agency = AgencyFactory()
    walk_in = services.add_walk_in(session.id, name="  Sam   Walker ", email="", agency_id=agency.id,
                                   outcome=A.ATTENDED, actor=trainer)
    [row] = attendances()
    assert row.id == walk_in.id
    assert (row.attendee_name, row.attendee_email, row.user_id) == ("Sam Walker", None, None)
    assert row.agency_id == agency.id
    assert row.walk_in is True
    assert row.booking_id is None
    assert row.outcome == A.ATTENDED


def test_walk_in_whose_email_matches_an_account_is_linked_and_uses_their_agency(trainer, session):
    person = UserFactory(email="sam.walker@example.org")
    services.add_walk_in(session.id, name="Sam Walker", email=" Sam.Walker@EXAMPLE.org ", agency_id=None,
                         outcome=A.PARTIAL, actor=trainer)
    [row] = attendances()
    assert row.user_id == person.id
    assert row.attendee_email == "sam.walker@example.org"
    assert row.agency_id == person.agency_id
    assert row.outcome == A.PARTIAL


def test_a_chosen_agency_wins_over_the_accounts_agency(trainer, session):
    UserFactory(email="sam@example.org")
    chosen = AgencyFactory()
    services.add_walk_in(session.id, name="Sam Walker", email="sam@example.org", agency_id=chosen.id,
                         outcome=A.ATTENDED, actor=trainer)
    assert attendances()[0].agency_id == chosen.id


@pytest.mark.parametrize("name", ["", "   ", None])
def test_walk_in_needs_a_name(trainer, session, name):
    with pytest.raises(WalkInNameMissing):
        services.add_walk_in(session.id, name=name, email=None, agency_id=AgencyFactory().id,
                             outcome=A.ATTENDED, actor=trainer)
    assert attendances() == []


def test_walk_in_needs_an_agency_when_the_email_has_no_account(trainer, session):
    with pytest.raises(WalkInAgencyMissing) as err:
        services.add_walk_in(session.id, name="Sam", email="nobody@example.org", agency_id=None,
                             outcome=A.ATTENDED, actor=trainer)
    assert err.value.field == "agency"
    with pytest.raises(WalkInAgencyMissing):
        services.add_walk_in(session.id, name="Sam", email=None, agency_id=None, outcome=A.ATTENDED, actor=trainer)
    assert attendances() == []


def test_walk_in_agency_must_exist_and_be_active(trainer, session):
    inactive = AgencyFactory(active=False)
    for agency_id in (inactive.id, 999_999, 2**31, 10**20):
        with pytest.raises(WalkInAgencyMissing):
            services.add_walk_in(session.id, name="Sam", email=None, agency_id=agency_id,
                                 outcome=A.ATTENDED, actor=trainer)
    assert attendances() == []


@pytest.mark.parametrize("outcome", [A.DID_NOT_ATTEND, "late", ""])
def test_walk_in_is_attended_or_partial_only(trainer, session, outcome):
    with pytest.raises(WalkInOutcomeInvalid):
        services.add_walk_in(session.id, name="Sam", email=None, agency_id=AgencyFactory().id,
                             outcome=outcome, actor=trainer)
    assert attendances() == []


def test_a_booked_person_cannot_also_be_a_walk_in(trainer, session):
    booking = BookingFactory(session=session)
    with pytest.raises(AlreadyOnRegister):
        services.add_walk_in(session.id, name=booking.user.name, email=booking.user.email, agency_id=None,
                             outcome=A.ATTENDED, actor=trainer)
    assert attendances() == []


def test_the_same_account_cannot_walk_in_twice(trainer, session):
    UserFactory(email="sam@example.org")
    services.add_walk_in(session.id, name="Sam", email="sam@example.org", agency_id=None,
                         outcome=A.ATTENDED, actor=trainer)
    with pytest.raises(AlreadyOnRegister):
        services.add_walk_in(session.id, name="Sam", email="sam@example.org", agency_id=None,
                             outcome=A.ATTENDED, actor=trainer)
    assert len(attendances()) == 1


def test_walk_ins_without_accounts_are_not_limited(trainer, session):
    agency = AgencyFactory()
    for name in ("Sam", "Alex"):
        services.add_walk_in(session.id, name=name, email=None, agency_id=agency.id, outcome=A.ATTENDED,
                             actor=trainer)
    assert len(attendances()) == 2


def test_another_trainer_cannot_add_a_walk_in(session):
    with pytest.raises(NotSessionTrainer):
        services.add_walk_in(session.id, name="Sam", email=None, agency_id=AgencyFactory().id,
                             outcome=A.ATTENDED, actor=TrainerFactory())
    assert attendances() == []


def test_a_walk_in_added_by_mistake_can_be_removed(trainer, session):
    walk_in = services.add_walk_in(session.id, name="Sam", email=None, agency_id=AgencyFactory().id,
                                   outcome=A.ATTENDED, actor=trainer)
    assert services.remove_walk_in(session.id, walk_in.id, trainer) == "Sam"
    assert attendances() == []


def test_only_walk_ins_of_this_session_can_be_removed(trainer, session):
    booking = BookingFactory(session=session)
    services.record_attendance(session.id, {booking.id: A.ATTENDED}, trainer)
    booked_row = attendances()[0]
    other = started_session(trainer)
    elsewhere = services.add_walk_in(other.id, name="Sam", email=None, agency_id=AgencyFactory().id,
                                     outcome=A.ATTENDED, actor=trainer)
    for attendance_id in (booked_row.id, elsewhere.id, 999_999, 10**20):
        with pytest.raises(WalkInNotFound):
            services.remove_walk_in(session.id, attendance_id, trainer)
    assert len(attendances()) == 2


# --- completion ---------------------------------------------------------------------------

def test_register_completes_once_everyone_is_marked(trainer, session):
    first, second = BookingFactory(session=session), BookingFactory(session=session)
    services.record_attendance(session.id, {first.id: A.ATTENDED}, trainer)
    with pytest.raises(RegisterIncomplete) as err:
        services.complete_register(session.id, trainer)
    assert "1 person is not marked" in err.value.message
    assert db.session.get(Register, session.id) is None
    now = utcnow()
    register = services.complete_register(session.id, trainer, now=now, marks={second.id: A.DID_NOT_ATTEND})
    db.session.expire_all()
    register = db.session.get(Register, session.id)
    assert register.is_complete
    assert register.completed_at == now
    assert register.completed_by_id == trainer.id
    assert {a.outcome for a in attendances()} == {A.ATTENDED, A.DID_NOT_ATTEND}


def test_refused_completion_does_not_save_the_marks_sent_with_it(trainer, session):
    first, _second = BookingFactory(session=session), BookingFactory(session=session)
    with pytest.raises(RegisterIncomplete):
        services.complete_register(session.id, trainer, marks={first.id: A.ATTENDED})
    assert attendances() == []


def test_a_session_with_only_walk_ins_or_no_one_can_be_completed(trainer, session):
    services.complete_register(session.id, trainer)
    assert db.session.get(Register, session.id).is_complete


def test_completing_again_changes_nothing(session):
    coordinator = CoordinatorFactory()
    first = services.complete_register(session.id, coordinator, now=utcnow())
    completed_at = first.completed_at
    services.complete_register(session.id, coordinator, now=utcnow() + timedelta(hours=1))
    db.session.expire_all()
    assert db.session.get(Register, session.id).completed_at == completed_at


def test_trainer_cannot_change_a_completed_register(trainer, session):
    booking = BookingFactory(session=session)
    services.complete_register(session.id, trainer, marks={booking.id: A.ATTENDED})
    with pytest.raises(RegisterCompleted) as err:
        services.record_attendance(session.id, {booking.id: A.PARTIAL}, trainer)
    assert "Only a coordinator can change it" in err.value.message
    with pytest.raises(RegisterCompleted):
        services.add_walk_in(session.id, name="Sam", email=None, agency_id=AgencyFactory().id,
                             outcome=A.ATTENDED, actor=trainer)
    with pytest.raises(RegisterCompleted):
        services.complete_register(session.id, trainer)
    assert [a.outcome for a in attendances()] == [A.ATTENDED]


def test_coordinator_can_correct_a_completed_register(trainer, session):
    booking = BookingFactory(session=session)
    services.complete_register(session.id, trainer, marks={booking.id: A.ATTENDED})
    coordinator = CoordinatorFactory()
    services.record_attendance(session.id, {booking.id: A.DID_NOT_ATTEND}, coordinator)
    services.add_walk_in(session.id, name="Sam", email=None, agency_id=AgencyFactory().id,
                         outcome=A.PARTIAL, actor=coordinator)
    rows = attendances()
    assert [a.outcome for a in rows] == [A.DID_NOT_ATTEND, A.PARTIAL]
    assert rows[0].recorded_by_id == coordinator.id
    register = db.session.get(Register, session.id)
    assert register.completed_by_id == trainer.id  # still the trainer's completion


# --- reading a register -------------------------------------------------------------------

def test_register_lists_confirmed_bookings_by_name_with_their_attendance(trainer, session):
    zoe = BookingFactory(session=session, user=UserFactory(name="zoe Adams"))
    amir = BookingFactory(session=session, user=UserFactory(name="Amir Khan"))
    BookingFactory(session=session, status=BookingStatus.CANCELLED)
    BookingFactory(session=session, status=BookingStatus.WAITLISTED)
    BookingFactory(session=started_session(trainer))  # another session's booking
    services.record_attendance(session.id, {zoe.id: A.PARTIAL}, trainer)
    walk_in = services.add_walk_in(session.id, name="Sam", email=None, agency_id=AgencyFactory().id,
                                   outcome=A.ATTENDED, actor=trainer)
    db.session.expire_all()
    sheet = services.register_for(session.id)
    assert [r.booking.id for r in sheet.rows] == [amir.id, zoe.id]
    assert [r.outcome for r in sheet.rows] == [None, A.PARTIAL]
    assert [a.id for a in sheet.walk_ins] == [walk_in.id]
    assert sheet.status == services.RegisterStatus.IN_PROGRESS
    assert sheet.unmarked == 1
    assert sheet.count(A.ATTENDED) == 1 and sheet.count(A.PARTIAL) == 1


def test_register_shows_the_agency_recorded_once_marked(trainer, session):
    booking = BookingFactory(session=session)
    old_name = booking.user.agency.name
    services.record_attendance(session.id, {booking.id: A.ATTENDED}, trainer)
    booking.user.agency = AgencyFactory(name="New agency")
    db.session.commit()
    db.session.expire_all()
    [row] = services.register_for(session.id).rows
    assert row.agency_name == old_name


def test_register_status_moves_from_not_started_to_complete(trainer, session):
    booking = BookingFactory(session=session)
    assert services.register_for(session.id).status == services.RegisterStatus.NOT_STARTED
    services.record_attendance(session.id, {booking.id: A.ATTENDED}, trainer)
    db.session.expire_all()
    assert services.register_for(session.id).status == services.RegisterStatus.IN_PROGRESS
    services.complete_register(session.id, trainer)
    db.session.expire_all()
    assert services.register_for(session.id).status == services.RegisterStatus.COMPLETE


def test_register_for_an_unknown_session_is_none():
    assert services.register_for(999_999) is None


# --- my sessions --------------------------------------------------------------------------

def test_trainer_sees_their_upcoming_and_last_90_days_sessions_with_status(trainer):
    now = utcnow().replace(microsecond=0)
    recent = SessionFactory(starts_at=now - timedelta(days=10), trainers=[trainer])
    older = SessionFactory(starts_at=now - timedelta(days=2), trainers=[trainer])
    SessionFactory(starts_at=now - timedelta(days=91), trainers=[trainer])  # too old
    soon = SessionFactory(starts_at=now + timedelta(days=3), trainers=[trainer])
    later = SessionFactory(starts_at=now + timedelta(days=40), trainers=[trainer])
    SessionFactory(starts_at=now - timedelta(days=1), trainers=[TrainerFactory()])  # someone else's
    booking = BookingFactory(session=recent)
    BookingFactory(session=recent, status=BookingStatus.CANCELLED)
    services.record_attendance(recent.id, {booking.id: A.ATTENDED}, trainer)
    services.complete_register(older.id, trainer)

    mine = services.sessions_for(trainer, now)
    assert [s.session.id for s in mine.recent] == [older.id, recent.id]  # latest first
    assert [s.status for s in mine.recent] == [services.RegisterStatus.COMPLETE,
                                               services.RegisterStatus.IN_PROGRESS]
    assert [s.booked for s in mine.recent] == [0, 1]
    assert [s.session.id for s in mine.upcoming] == [soon.id, later.id]
    assert {s.status for s in mine.upcoming} == {services.RegisterStatus.NOT_STARTED}


def test_coordinator_sees_everyones_sessions():
    now = utcnow()
    a = SessionFactory(starts_at=now - timedelta(days=5), trainers=[TrainerFactory()])
    b = SessionFactory(starts_at=now + timedelta(days=5))
    mine = services.sessions_for(CoordinatorFactory(), now)
    assert [s.session.id for s in mine.recent] == [a.id]
    assert [s.session.id for s in mine.upcoming] == [b.id]


def test_the_database_keeps_one_record_per_person_per_session(trainer, session):
    from sqlalchemy.exc import IntegrityError

    from tests.factories import AttendanceFactory
    first = AttendanceFactory(booking=BookingFactory(session=session))
    duplicate = Attendance(session_id=session.id, user_id=first.user_id, attendee_name="Again",
                           agency_id=first.agency_id, outcome=A.ATTENDED, walk_in=True)
    db.session.add(duplicate)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert len(attendances()) == 1
