"""Importing history files: what is matched and created, all or nothing, idempotence, query counts."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from tests.audit.helpers import events
from tests.factories import (
    AgencyFactory,
    AttendanceFactory,
    BookingFactory,
    CoordinatorFactory,
    CourseFactory,
    SessionFactory,
    UserFactory,
)
from tests.history.helpers import IMPORT_LOG_TABLES, history_bytes, people_file, record, table_counts
from tests.sql import recorded_statements
from training.accounts.models import Agency, Role, Sector, User
from training.attendance.models import Attendance, AttendanceOutcome, Register
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import Course, CourseFormat, CourseSession, Level, SessionKind, SessionStatus
from training.db import write_transaction
from training.evaluation.models import Answer, Evaluation, EvaluationStatus, Stage
from training.evaluation.services import current_question_set, question_set_for
from training.extensions import db
from training.history import services
from training.history.errors import ImportNotPending, InvalidHistoryFile
from training.history.models import HistoryImport, ImportStatus

GMT_0930 = datetime(2024, 3, 12, 9, 30, tzinfo=UTC)


def good_file() -> bytes:
    """Two sessions of a new course and one workshop; every status; ratings and comments."""
    return history_bytes(
        record(attendee_name="Ann Archer", attendee_email="ann@health.example", rating="excellent",
               comment="Clear and practical"),
        record(attendee_name="Bob Baker", attendee_email="bob@school.example", agency="Hill School",
               sector="education", status="did-not-attend", rating=""),
        record(attendee_name="Cat Cole", attendee_email="cat@school.example", agency="Hill School",
               sector="education", status="late-cancellation", rating=""),
        record(attendee_name="Dan Dale", attendee_email="dan@health.example", rating="", comment="Too short"),
        record(session_start="2024-04-16", session_end="", attendee_name="Ann Archer",
               attendee_email="ANN@health.example", rating="poor"),
        record(session_start="2024-05-01T14:00", session_end="16:00", course_title="Prevent awareness",
               session_type="workshop", format="virtual", attendee_name="Bob Baker", attendee_email="bob@school.example",
               agency="hill school", sector="education", rating="satisfactory"),
    )


def test_a_good_file_creates_every_record_with_the_right_links(now):
    coordinator = CoordinatorFactory()
    before = table_counts()
    counts = services.import_file(good_file(), "2023-24.csv", coordinator, now)

    assert (counts.rows, counts.new_rows, counts.already_recorded) == (6, 6, 0)
    assert (counts.courses, counts.sessions, counts.agencies, counts.people) == (2, 3, 2, 4)
    assert (counts.bookings, counts.attendances, counts.evaluations) == (6, 5, 4)
    after = table_counts()
    assert after["courses"] - before["courses"] == 2
    assert after["agencies"] - before["agencies"] == 2
    assert after["users"] - before["users"] == 4

    neglect = db.session.scalar(select(Course).where(Course.title == "Recognising neglect"))
    assert not neglect.active and neglect.level is Level.LEVEL_2 and neglect.format is CourseFormat.FACE_TO_FACE
    assert neglect.summary == services.IMPORTED_SUMMARY and neglect.duration_minutes == 180  # 9:30 to 12:30
    prevent = db.session.scalar(select(Course).where(Course.title == "Prevent awareness"))
    assert prevent.duration_minutes == 120 and prevent.format is CourseFormat.VIRTUAL

    first, second = db.session.scalars(
        select(CourseSession).where(CourseSession.course_id == neglect.id).order_by(CourseSession.starts_at)).all()
    assert first.starts_at == GMT_0930 and first.ends_at == GMT_0930 + timedelta(hours=3)
    assert first.kind is SessionKind.TRAINING and first.status is SessionStatus.SCHEDULED
    assert first.capacity == 4 and first.places_taken == 3  # late cancellations hold no place
    assert first.booking_closes_at == first.starts_at
    # 16 April: a date only is 9:30am BST; no end given, so the course's length
    assert second.starts_at == datetime(2024, 4, 16, 8, 30, tzinfo=UTC)
    assert second.ends_at == second.starts_at + timedelta(minutes=180)
    workshop = db.session.scalar(select(CourseSession).where(CourseSession.course_id == prevent.id))
    assert workshop.kind is SessionKind.WORKSHOP
    assert workshop.ends_at - workshop.starts_at == timedelta(hours=2)
    registers = db.session.scalars(select(Register)).all()
    assert {r.session_id for r in registers} == {first.id, second.id, workshop.id}
    assert all(r.is_complete for r in registers)

    health, school = (db.session.scalar(select(Agency).where(Agency.name == n)) for n in
                      ("Riverside Health", "Hill School"))
    assert health.sector is Sector.HEALTH and school.sector is Sector.EDUCATION
    assert not health.active and not school.active

    ann = db.session.scalar(select(User).where(User.email == "ann@health.example"))
    assert ann.name == "Ann Archer" and ann.agency_id == health.id and ann.roles == {Role.PROFESSIONAL}
    assert ann.job_title == "Not recorded" and ann.manager_name == "Not recorded" and not ann.consent_updates
    assert not ann.check_password("") and not check_password_hash(ann.password_hash, "Not recorded")
    assert ann.password_hash.startswith("!")

    bookings = {(b.user.email, b.session_id): b for b in db.session.scalars(select(Booking))}
    assert bookings[("ann@health.example", first.id)].status is BookingStatus.CONFIRMED
    assert bookings[("ann@health.example", first.id)].confirmed_at == first.starts_at
    assert bookings[("ann@health.example", first.id)].created_by_id == coordinator.id
    assert bookings[("bob@school.example", first.id)].status is BookingStatus.CONFIRMED
    late = bookings[("cat@school.example", first.id)]
    assert late.status is BookingStatus.LATE_CANCELLED and late.confirmed_at is None

    attendances = {(a.attendee_email, a.session_id): a for a in db.session.scalars(select(Attendance))}
    assert ("cat@school.example", first.id) not in attendances
    dna = attendances[("bob@school.example", first.id)]
    assert dna.outcome is AttendanceOutcome.DID_NOT_ATTEND and dna.agency_id == school.id and not dna.walk_in
    came = attendances[("ann@health.example", first.id)]
    assert came.outcome is AttendanceOutcome.ATTENDED and came.booking_id == bookings[("ann@health.example", first.id)].id
    assert came.attendee_name == "Ann Archer" and came.user_id == ann.id and came.agency_id == health.id

    after_set = question_set_for(Stage.AFTER)
    evaluations = {e.booking.user.email + str(e.session_id): e for e in db.session.scalars(select(Evaluation))}
    assert len(evaluations) == 4
    ann_first = evaluations["ann@health.example" + str(first.id)]
    assert ann_first.stage is Stage.AFTER and ann_first.status is EvaluationStatus.SUBMITTED
    assert ann_first.question_set_id == after_set.id and ann_first.submitted_at == first.ends_at
    assert {(a.question.key, a.choice, a.text) for a in ann_first.answers} == {
        ("overall", "excellent", None), ("comments", None, "Clear and practical")}
    # A comment without a rating is kept as an evaluation with the comment only.
    dan = evaluations["dan@health.example" + str(first.id)]
    assert {(a.question.key, a.text) for a in dan.answers} == {("comments", "Too short")}
    assert {a.choice for a in db.session.scalars(select(Answer)) if a.question.key == "overall"} == {
        "excellent", "poor", "satisfactory"}

    [history_import] = db.session.scalars(select(HistoryImport)).all()
    assert history_import.status is ImportStatus.IMPORTED and history_import.content is None
    assert history_import.filename == "2023-24.csv" and history_import.row_count == 6
    stored = json.loads(history_import.counts_json)
    assert stored["bookings"] == 6 and stored["first_date"] == "2024-03-12" and stored["last_date"] == "2024-05-01"
    [event] = events("history.")
    assert event.action == "history.imported" and event.object_id == history_import.id
    assert event.actor_id == coordinator.id and "ann" not in event.summary.lower()


def test_existing_course_agency_person_and_session_are_matched_not_duplicated(now):
    agency = AgencyFactory(name="Riverside Health", sector=Sector.POLICE)
    person = UserFactory(email="ann@health.example", name="Ann Archer-Smith", agency=agency)
    course = CourseFactory(title="Recognising Neglect", duration_minutes=240)
    session = SessionFactory(course=course, starts_at=GMT_0930, ends_at=GMT_0930 + timedelta(hours=3),
                             booking_closes_at=GMT_0930, capacity=2)
    BookingFactory(session=session)  # someone else already booked: 1 place left
    data = history_bytes(
        record(course_title=" recognising neglect ", agency="RIVERSIDE HEALTH", attendee_email="Ann@Health.Example",
               session_end="2024-03-12T13:00"),
        record(course_title="Recognising neglect", attendee_email="new@health.example", status="did-not-attend",
               rating="", session_end=""),
        record(course_title="Recognising neglect", session_start="2024-02-01", session_end="",
               attendee_email="new@health.example"),
    )
    plan = services.preview_file(data, now)
    assert (plan.counts.courses, plan.counts.agencies, plan.counts.people, plan.counts.sessions) == (0, 0, 1, 1)
    warnings = " ".join(plan.warnings)
    assert "Riverside Health is recorded as Police, but 3 rows give another sector" in warnings
    assert "already recorded and ends at" in warnings
    assert "takes it over by 1" in warnings

    services.import_file(data, "file.csv", None, now)
    db.session.expire_all()
    assert db.session.scalar(select(Agency).where(Agency.id == agency.id)).sector is Sector.POLICE
    assert len(db.session.scalars(select(Course)).all()) == 1
    ann_booking = db.session.scalar(select(Booking).where(Booking.user_id == person.id))
    assert ann_booking.session_id == session.id and not ann_booking.overbooked
    newcomer = db.session.scalar(select(User).where(User.email == "new@health.example"))
    assert newcomer.agency_id == agency.id
    dna = db.session.scalar(select(Booking).where(Booking.user_id == newcomer.id, Booking.session_id == session.id))
    assert dna.overbooked  # the third confirmed place on a 2-place session
    session = db.session.get(CourseSession, session.id)
    assert session.places_taken == 3 and session.ends_at == GMT_0930 + timedelta(hours=3)  # kept as recorded
    attendance = db.session.scalar(select(Attendance).where(Attendance.user_id == person.id))
    assert attendance.attendee_name == "Ann Archer"  # as on the register in the file
    # The new session of the existing course lasts as long as the course.
    february = db.session.scalar(select(CourseSession).where(CourseSession.id != session.id))
    assert february.course_id == course.id and february.ends_at - february.starts_at == timedelta(minutes=240)


def test_importing_the_same_file_twice_changes_nothing_the_second_time(now):
    services.import_file(good_file(), "a.csv", None, now)
    before = table_counts()
    counts = services.import_file(good_file(), "a.csv", None, now)
    after = table_counts()
    assert (counts.new_rows, counts.already_recorded, counts.bookings, counts.people) == (0, 6, 0, 0)
    assert {t: n for t, n in after.items() if t not in IMPORT_LOG_TABLES} == {
        t: n for t, n in before.items() if t not in IMPORT_LOG_TABLES}
    assert after["history_imports"] == before["history_imports"] + 1  # the attempt itself is recorded
    plan = services.preview_file(good_file(), now)
    assert plan.warnings[0].startswith("A file with exactly the same contents was imported on")


def test_records_already_in_the_service_are_skipped(now):
    course = CourseFactory(title="Recognising neglect")
    session = SessionFactory(course=course, starts_at=GMT_0930, ends_at=GMT_0930 + timedelta(hours=3),
                             booking_closes_at=GMT_0930)
    booked = UserFactory(email="ann.archer@health.example")
    BookingFactory(session=session, user=booked, status=BookingStatus.CANCELLED)
    walk_in = AttendanceFactory.build(session=session, booking=None, user=None, attendee_name="Wendy Walk",
                                      attendee_email="Wendy@School.example", agency=AgencyFactory(), walk_in=True)
    db.session.add(walk_in)
    db.session.commit()
    data = history_bytes(record(), record(attendee_email="wendy@school.example", attendee_name="Wendy Walk"),
                         record(attendee_email="new@school.example"))
    counts = services.import_file(data, "f.csv", None, now)
    assert (counts.new_rows, counts.already_recorded, counts.people) == (1, 2, 1)


@pytest.mark.parametrize("data, line, column, message", [
    (history_bytes(record(), record(session_start="12/03/2024", attendee_email="b@x.example")), 3, "session_start",
     "Enter the session start as a date like 2024-03-31 or 2024-03-31T09:30"),
    (history_bytes(record(), record(status="no-show", attendee_email="b@x.example")), 3, "status",
     "Status must be attended, did-not-attend or late-cancellation"),
    (history_bytes(record(), record(status="did-not-attend", attendee_email="b@x.example")), 3, "rating",
     "Rating is only allowed when the status is attended"),
    (history_bytes(record(), record()), 3, "attendee_email",
     "Line 3 repeats line 2: the same person on the same session. Delete one of them"),
    (history_bytes(record(), columns=("session_start", "course_title")), None, None,
     "The file is missing the columns session_type, format, attendee_name, attendee_email, agency, sector, status"),
    (history_bytes(record(agency="Café")).replace("é".encode(), b"\xe9"), None, None,
     "The file must be saved as UTF-8 CSV"),
], ids=["wrong date", "unknown status", "rating with did-not-attend", "duplicate row", "missing column",
        "not UTF-8"])
def test_a_bad_row_rejects_the_file_and_writes_nothing(now, data, line, column, message):
    CoordinatorFactory()
    before = table_counts()
    with pytest.raises(InvalidHistoryFile) as caught:
        services.import_file(data, "bad.csv", None, now)
    assert [(p.line, p.column, p.message) for p in caught.value.problems] == [(line, column, message)]
    with pytest.raises(InvalidHistoryFile):
        services.upload(data, "bad.csv", CoordinatorFactory.build(id=1), now)
    assert table_counts() == before


def test_a_cancelled_session_cannot_take_records(now):
    course = CourseFactory(title="Recognising neglect")
    SessionFactory(course=course, starts_at=GMT_0930, ends_at=GMT_0930 + timedelta(hours=3),
                   booking_closes_at=GMT_0930, status=SessionStatus.CANCELLED)
    before = table_counts()
    with pytest.raises(InvalidHistoryFile) as caught:
        services.import_file(history_bytes(record(), record(attendee_email="b@x.example")), "f.csv", None, now)
    assert [(p.line, p.column) for p in caught.value.problems] == [(2, "session_start"), (3, "session_start")]
    assert "was cancelled" in caught.value.problems[0].message
    assert table_counts() == before


def test_an_import_runs_the_same_number_of_statements_for_50_and_500_rows(now):
    with write_transaction():
        current_question_set(Stage.AFTER)
    with recorded_statements() as small:
        small_counts = services.import_file(people_file(50, prefix="s", course="Small", agency="Small"), "s.csv",
                                            None, now)
    with recorded_statements() as large:
        large_counts = services.import_file(people_file(500, prefix="l", course="Large", agency="Large"), "l.csv",
                                            None, now)
    assert (small_counts.new_rows, large_counts.new_rows) == (50, 500)
    assert large_counts.evaluations > 100 and large_counts.people == 500
    assert len(small.queries) == len(large.queries), (small.queries, large.queries)


def test_preview_keeps_the_file_and_confirm_imports_exactly_it(now):
    coordinator = CoordinatorFactory()
    history_import = services.upload(good_file(), "C:\\Users\\me\\history.csv", coordinator, now)
    assert history_import.filename == "history.csv" and history_import.status is ImportStatus.PREVIEWED
    assert db.session.scalar(select(Booking.id)) is None  # nothing imported yet
    result = services.preview(history_import.id, now)
    assert result.plan.counts.new_rows == 6 and len(result.plan.preview_rows()) == 6

    imported = services.confirm(history_import.id, coordinator, now)
    assert imported.status is ImportStatus.IMPORTED and imported.content is None
    assert len(db.session.scalars(select(Booking)).all()) == 6
    assert [e.action for e in events("history.")] == ["history.uploaded", "history.imported"]
    with pytest.raises(ImportNotPending) as caught:
        services.confirm(history_import.id, coordinator, now)
    assert "already imported" in caught.value.message
    assert len(db.session.scalars(select(Booking)).all()) == 6


def test_a_discarded_file_cannot_be_imported(now):
    coordinator = CoordinatorFactory()
    history_import = services.upload(good_file(), "h.csv", coordinator, now)
    services.discard(history_import.id, coordinator, now)
    db.session.expire_all()
    stored = db.session.get(HistoryImport, history_import.id)
    assert stored.status is ImportStatus.DISCARDED and stored.content is None
    with pytest.raises(ImportNotPending) as caught:
        services.confirm(history_import.id, coordinator, now)
    assert "discarded" in caught.value.message
    assert db.session.scalar(select(Booking.id)) is None


def test_confirm_checks_again_against_the_database_as_it_is_now(now):
    coordinator = CoordinatorFactory()
    history_import = services.upload(good_file(), "h.csv", coordinator, now)
    # Meanwhile the same session is recorded, and then cancelled.
    course = CourseFactory(title="Recognising neglect")
    SessionFactory(course=course, starts_at=GMT_0930, ends_at=GMT_0930 + timedelta(hours=3),
                   booking_closes_at=GMT_0930, status=SessionStatus.CANCELLED)
    before = table_counts()
    with pytest.raises(InvalidHistoryFile):
        services.confirm(history_import.id, coordinator, now)
    assert table_counts() == before
    assert db.session.get(HistoryImport, history_import.id).status is ImportStatus.PREVIEWED
