"""Bookings and attendance exports for a period: what each file holds, the period's
boundaries, the agency filter, formula injection, one query per export, and the audit."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.factories import (
    AgencyFactory,
    AttendanceFactory,
    BookingFactory,
    CoordinatorFactory,
    CourseFactory,
    SessionFactory,
    TrainerFactory,
    UserFactory,
)
from tests.sql import recorded_statements
from training.attendance.models import Attendance, AttendanceOutcome
from training.audit.models import AuditEvent
from training.booking.models import BookingStatus
from training.catalogue.models import SessionKind
from training.evaluation.results import Period
from training.extensions import db
from training.reports import period_exports
from training.reports.period_exports import ExportKind, FileFormat, NotCoordinator, UnknownAgency
from training.timeutil import london_to_utc

YEAR = Period(date(2025, 4, 1), date(2026, 3, 31))
NOW = london_to_utc(date(2026, 5, 1), time(12, 0))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return london_to_utc(day, time(hour, minute))


def session_on(day: date, hour: int = 9, minute: int = 30, **kwargs):
    starts = at(day, hour, minute)
    return SessionFactory(starts_at=starts, ends_at=starts + timedelta(hours=1),
                          booking_closes_at=starts - timedelta(days=1), **kwargs)


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte order mark, for Excel"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def sheet_rows(content: bytes, title: str) -> list[list]:
    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == [title]
    return [list(row) for row in workbook[title].iter_rows(values_only=True)]


@pytest.fixture
def coordinator():
    return CoordinatorFactory()


def export(kind, fmt, coordinator, period=YEAR, **kwargs) -> period_exports.ExportFile:
    return period_exports.export(kind, fmt, period, coordinator, now=NOW, **kwargs)


# ---------------------------------------------------------------------------
# Bookings
# ---------------------------------------------------------------------------

def test_bookings_csv_lists_every_booking_with_london_times_and_labels(coordinator):
    riverside = AgencyFactory(name="Riverside Academy")
    workshop = session_on(date(2025, 7, 15), course=CourseFactory(title="Neglect"), kind=SessionKind.WORKSHOP)
    ada = UserFactory(name="Ada Lovelace", email="ada@example.org", agency=riverside)
    bob = UserFactory(name="bob Brown", email="bob@example.org", agency=riverside)
    BookingFactory(session=workshop, user=ada, created_at=at(date(2025, 6, 1), 14, 5))
    BookingFactory(session=workshop, user=bob, status=BookingStatus.LATE_CANCELLED,
                   created_at=at(date(2025, 6, 2), 8, 0))
    winter = session_on(date(2026, 1, 20), course=CourseFactory(title="Early Help"))
    BookingFactory(session=winter, user=ada, status=BookingStatus.WAITLISTED,
                   created_at=at(date(2026, 1, 3), 9, 0))

    file = export(ExportKind.BOOKINGS, FileFormat.CSV, coordinator)

    assert file.filename == "bookings-2025-04-01-to-2026-03-31.csv"
    assert file.mimetype == "text/csv" and file.rows == 3
    assert csv_rows(file.content) == [
        ["Session date", "Start time", "Course", "Session type", "Name", "Email", "Agency", "Booking status",
         "Booked at"],
        # 9:30 in British Summer Time, shown as London time; then names in alphabetical order, whatever the case.
        ["2025-07-15", "09:30", "Neglect", "Workshop", "Ada Lovelace", "ada@example.org", "Riverside Academy",
         "Booked", "2025-06-01 14:05"],
        ["2025-07-15", "09:30", "Neglect", "Workshop", "bob Brown", "bob@example.org", "Riverside Academy",
         "Late cancellation", "2025-06-02 08:00"],
        ["2026-01-20", "09:30", "Early Help", "Training session", "Ada Lovelace", "ada@example.org",
         "Riverside Academy", "Waiting list", "2026-01-03 09:00"],
    ]


def test_period_boundaries_are_london_dates(coordinator):
    """31 March late in the evening is in the year; 1 April just after midnight is not; nor is 31 March last year."""
    inside = session_on(date(2026, 3, 31), 22, 30, course=CourseFactory(title="Last night"))
    first = session_on(date(2025, 4, 1), 0, 15, course=CourseFactory(title="First morning"))
    after = session_on(date(2026, 4, 1), 0, 30, course=CourseFactory(title="Next year"))
    before = session_on(date(2025, 3, 31), 23, 0, course=CourseFactory(title="Last year"))
    for session in (inside, first, after, before):
        BookingFactory(session=session)

    rows = csv_rows(export(ExportKind.BOOKINGS, FileFormat.CSV, coordinator).content)[1:]

    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("2025-04-01", "00:15", "First morning"), ("2026-03-31", "22:30", "Last night")]


def test_cancelled_sessions_and_every_status_are_listed(coordinator):
    session = session_on(date(2025, 10, 1))
    for status in (BookingStatus.CONFIRMED, BookingStatus.CANCELLED, BookingStatus.TRANSFERRED,
                   BookingStatus.SESSION_CANCELLED, BookingStatus.OFFERED):
        BookingFactory(session=session, status=status)
    rows = csv_rows(export(ExportKind.BOOKINGS, FileFormat.CSV, coordinator).content)[1:]
    assert sorted(r[7] for r in rows) == ["Booked", "Cancelled", "Place offered", "Session cancelled",
                                          "Transferred"]


def test_bookings_filtered_by_the_persons_agency(coordinator):
    mine, other = AgencyFactory(name="Police"), AgencyFactory(name="Health")
    session = session_on(date(2025, 5, 5))
    BookingFactory(session=session, user=UserFactory(name="In scope", agency=mine))
    BookingFactory(session=session, user=UserFactory(name="Out of scope", agency=other))

    file = export(ExportKind.BOOKINGS, FileFormat.CSV, coordinator, agency_id=mine.id)

    rows = csv_rows(file.content)[1:]
    assert [(r[4], r[6]) for r in rows] == [("In scope", "Police")]
    assert file.filename == "bookings-2025-04-01-to-2026-03-31-police.csv"


def test_an_unknown_agency_is_refused(coordinator):
    with pytest.raises(UnknownAgency):
        export(ExportKind.BOOKINGS, FileFormat.CSV, coordinator, agency_id=999_999)
    assert db.session.scalar(select(AuditEvent.id)) is None


# ---------------------------------------------------------------------------
# Attendance
# ---------------------------------------------------------------------------

def test_attendance_lists_the_register_as_it_was_on_the_day(coordinator):
    school, council = AgencyFactory(name="Hillside School"), AgencyFactory(name="Council")
    session = session_on(date(2025, 11, 12), 13, 0, course=CourseFactory(title="Prevent"))
    mover = UserFactory(name="Mo Mover", email="mo@example.org", agency=school)
    AttendanceFactory(booking=BookingFactory(session=session, user=mover), outcome=AttendanceOutcome.PARTIAL)
    AttendanceFactory(booking=BookingFactory(session=session, user=UserFactory(name="Dee", agency=school)),
                      outcome=AttendanceOutcome.DID_NOT_ATTEND)
    db.session.add(Attendance(session=session, booking=None, user=None, attendee_name="Walk In", attendee_email=None,
                              agency=council, outcome=AttendanceOutcome.ATTENDED, walk_in=True))
    db.session.commit()
    mover.agency = council  # moved after the session: the register keeps the school
    db.session.commit()

    rows = csv_rows(export(ExportKind.ATTENDANCE, FileFormat.CSV, coordinator).content)

    assert rows[0] == ["Session date", "Start time", "Course", "Attendee", "Email", "Agency", "Outcome", "Walk-in"]
    assert rows[1:] == [
        ["2025-11-12", "13:00", "Prevent", "Dee", rows[1][4], "Hillside School", "Did not attend", "No"],
        ["2025-11-12", "13:00", "Prevent", "Mo Mover", "mo@example.org", "Hillside School", "Partially attended",
         "No"],
        ["2025-11-12", "13:00", "Prevent", "Walk In", "", "Council", "Attended", "Yes"],
    ]
    school_only = csv_rows(export(ExportKind.ATTENDANCE, FileFormat.CSV, coordinator,
                                  agency_id=school.id).content)[1:]
    assert [r[3] for r in school_only] == ["Dee", "Mo Mover"]


# ---------------------------------------------------------------------------
# Formula injection and Excel
# ---------------------------------------------------------------------------

HOSTILE = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+44 20", "-1+1", "@SUM(A1)", "\tTab", "\rReturn"]


def test_csv_cells_that_look_like_formulas_get_an_apostrophe(coordinator):
    session = session_on(date(2025, 9, 9), course=CourseFactory(title="=1+2"))
    for name in HOSTILE:
        BookingFactory(session=session, user=UserFactory(name=name, agency=AgencyFactory(name="@" + name[1:])))
    BookingFactory(session=session, user=UserFactory(name="Plain Name"))

    rows = csv_rows(export(ExportKind.BOOKINGS, FileFormat.CSV, coordinator).content)[1:]

    names = sorted(r[4] for r in rows)
    assert sorted("'" + n for n in HOSTILE) + ["Plain Name"] == sorted(names)
    assert {r[2] for r in rows} == {"'=1+2"}
    assert all(r[6].startswith("'@") for r in rows if r[4] != "Plain Name")
    assert [r[0] for r in rows] == ["2025-09-09"] * len(rows)  # dates are never touched


def test_excel_workbook_holds_typed_values_and_never_a_formula(coordinator):
    session = session_on(date(2025, 8, 4), 10, 0, course=CourseFactory(title="Online safety"))
    BookingFactory(session=session, user=UserFactory(name="=cmd|' /C calc'!A0", email="x@example.org",
                                                     agency=AgencyFactory(name="Agency")),
                   created_at=at(date(2025, 7, 1), 16, 45))

    file = export(ExportKind.BOOKINGS, FileFormat.XLSX, coordinator)

    assert file.filename.endswith(".xlsx") and file.mimetype.startswith("application/vnd.openxmlformats")
    rows = sheet_rows(file.content, "Bookings")
    assert rows[0][:5] == ["Session date", "Start time", "Course", "Session type", "Name"]
    day, start, course, kind, name, email, agency, status, booked = rows[1]
    assert day == datetime(2025, 8, 4) and start == "10:00" and course == "Online safety"
    assert kind == "Training session" and status == "Booked" and booked == datetime(2025, 7, 1, 16, 45)
    assert name == "=cmd|' /C calc'!A0"  # shown exactly as typed...
    cell = load_workbook(io.BytesIO(file.content))["Bookings"]["E2"]
    assert cell.data_type == "s" and cell.quotePrefix  # ...as text, never run


def test_excel_attendance_sheet(coordinator):
    session = session_on(date(2025, 8, 4))
    AttendanceFactory(booking=BookingFactory(session=session, user=UserFactory(name="Present Person")))
    rows = sheet_rows(export(ExportKind.ATTENDANCE, FileFormat.XLSX, coordinator).content, "Attendance")
    assert rows[1][3] == "Present Person" and rows[1][6:] == ["Attended", "No"]


def test_an_empty_period_gives_just_the_header(coordinator):
    for kind in ExportKind:
        file = export(kind, FileFormat.CSV, coordinator)
        assert file.rows == 0 and len(csv_rows(file.content)) == 1
        file = export(kind, FileFormat.XLSX, coordinator)
        assert len(sheet_rows(file.content, kind.label)) == 1


# ---------------------------------------------------------------------------
# Efficiency, permission and audit
# ---------------------------------------------------------------------------

def _statements(kind: ExportKind, fmt: FileFormat, coordinator) -> list[str]:
    assert coordinator.is_coordinator  # loaded before counting: the caller has the signed-in person already
    with recorded_statements() as statements:
        export(kind, fmt, coordinator)
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


@pytest.mark.parametrize("kind", list(ExportKind))
def test_one_query_per_export_whatever_the_number_of_rows(coordinator, kind):
    def add(count: int) -> None:
        for _ in range(count):
            session = session_on(date(2025, 6, 6), course=CourseFactory())
            for _ in range(3):
                AttendanceFactory(booking=BookingFactory(session=session, user=UserFactory(agency=AgencyFactory())))

    add(1)
    small = _statements(kind, FileFormat.CSV, coordinator)
    add(6)
    large = _statements(kind, FileFormat.CSV, coordinator)
    assert len(small) == len(large) == 1, large
    assert len(_statements(kind, FileFormat.XLSX, coordinator)) == 1


def test_only_coordinators_may_export():
    session = session_on(date(2025, 6, 6))
    BookingFactory(session=session)
    for person in (UserFactory(), TrainerFactory()):
        with pytest.raises(NotCoordinator):
            period_exports.export(ExportKind.BOOKINGS, FileFormat.CSV, YEAR, person, now=NOW)
    assert db.session.scalar(select(AuditEvent.id)) is None


def test_each_download_is_audited_without_names_or_emails(coordinator):
    agency = AgencyFactory(name="Secret Agency")
    person = UserFactory(name="Private Person", email="private@example.org", agency=agency)
    AttendanceFactory(booking=BookingFactory(session=session_on(date(2025, 6, 6)), user=person))

    export(ExportKind.BOOKINGS, FileFormat.CSV, coordinator)
    export(ExportKind.ATTENDANCE, FileFormat.XLSX, coordinator, agency_id=agency.id)

    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.actor_id, e.action, e.object_type, e.object_id) for e in events] == [
        (coordinator.id, "export.period_bookings", "report", None),
        (coordinator.id, "export.period_attendance", "agency", agency.id),
    ]
    assert events[0].summary == ("Downloaded bookings of sessions from 2025-04-01 to 2026-03-31, all agencies, "
                                 "as CSV (1 row)")
    assert f"agency {agency.id}" in events[1].summary and "Excel" in events[1].summary
    for event in events:
        for private in ("Private", "private@example.org", "Secret Agency"):
            assert private not in event.summary
        assert event.occurred_at == NOW


def test_counts_for_the_page(coordinator):
    police = AgencyFactory()
    session = session_on(date(2025, 6, 6))
    AttendanceFactory(booking=BookingFactory(session=session, user=UserFactory(agency=police)))
    BookingFactory(session=session, status=BookingStatus.WAITLISTED)
    BookingFactory(session=session_on(date(2026, 4, 1)))  # the next year
    assert period_exports.export_counts(YEAR) == period_exports.ExportCounts(bookings=2, attendance=1)
    assert period_exports.export_counts(YEAR, police.id) == period_exports.ExportCounts(bookings=1, attendance=1)
