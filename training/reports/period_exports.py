"""Bookings and attendance for a period, as CSV or Excel, for agencies' own records.

Decisions:

* A period is the sessions that start on London dates `first` to `last` (inclusive), as on
  the subgroup summary. Cancelled sessions are included: their bookings show the status
  "Session cancelled", which is part of an agency's record.
* Every booking is listed, whatever its status (booked, waiting list, cancelled, late
  cancellation, transferred...), with the person's current agency. Attendance is listed with
  the name, email and agency written on the register, so a walk-in without an account and a
  person who has since moved agency are shown as they were on the day.
* The agency filter applies to the person's agency for bookings and to the register's
  agency for attendance.
* One SQL statement per export, selecting plain columns and read in batches (`yield_per`):
  a year of 20,000 rows is never loaded as ORM objects, and no row needs another query.
* CSV is UTF-8 with a byte order mark and CRLF line ends; text a spreadsheet could take for
  a formula gets a leading apostrophe (see `exports.csv_text`). The workbook stores all text
  as text (never a formula), with Excel's quote prefix on formula-like cells.
* Each download is audited (who, which export, the period, the agency id and the number of
  rows), never with names or emails.
"""
from __future__ import annotations

import csv
import enum
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from sqlalchemy import Select, func, select

from ..accounts.models import Agency, User
from ..attendance.models import Attendance
from ..audit import services as audit
from ..booking.models import Booking
from ..catalogue.models import Course, CourseSession
from ..db import utcnow
from ..errors import DomainError
from ..evaluation.results import Period
from ..extensions import db
from ..tabular import is_formula_like
from ..timeutil import to_london
from .exports import CSV_MIMETYPE, XLSX_MIMETYPE, csv_text, slugify

#: Rows fetched from the database at a time while a file is written.
BATCH_SIZE = 2000


class NotCoordinator(DomainError):
    message = "Only coordinators can download bookings and attendance"


class UnknownAgency(DomainError):
    message = "Select an agency from the list"


class ExportKind(enum.StrEnum):
    BOOKINGS = "bookings"
    ATTENDANCE = "attendance"

    @property
    def label(self) -> str:
        return {"bookings": "Bookings", "attendance": "Attendance"}[self.value]


class FileFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"

    @property
    def label(self) -> str:
        return {"csv": "CSV", "xlsx": "Excel"}[self.value]

    @property
    def mimetype(self) -> str:
        return {"csv": CSV_MIMETYPE, "xlsx": XLSX_MIMETYPE}[self.value]


BOOKING_HEADER = ("Session date", "Start time", "Course", "Session type", "Name", "Email", "Agency",
                  "Booking status", "Booked at")
ATTENDANCE_HEADER = ("Session date", "Start time", "Course", "Attendee", "Email", "Agency", "Outcome", "Walk-in")


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    filename: str
    mimetype: str
    rows: int


@dataclass(frozen=True)
class ExportCounts:
    """How many rows each export of a period would hold, for the page."""

    bookings: int
    attendance: int


# ---------------------------------------------------------------------------
# Queries: one statement each, plain columns
# ---------------------------------------------------------------------------

def _in_period(stmt: Select, period: Period) -> Select:
    return stmt.where(CourseSession.starts_at >= period.start, CourseSession.starts_at < period.end)


def _bookings_statement(period: Period, agency_id: int | None) -> Select:
    stmt = (
        select(CourseSession.starts_at, Course.title, CourseSession.kind, User.name, User.email, Agency.name,
               Booking.status, Booking.created_at)
        .select_from(Booking)
        .join(CourseSession, CourseSession.id == Booking.session_id)
        .join(Course, Course.id == CourseSession.course_id)
        .join(User, User.id == Booking.user_id)
        .join(Agency, Agency.id == User.agency_id)
        .order_by(CourseSession.starts_at, Course.title, CourseSession.id, func.lower(User.name), Booking.id)
    )
    if agency_id is not None:
        stmt = stmt.where(User.agency_id == agency_id)
    return _in_period(stmt, period)


def _attendance_statement(period: Period, agency_id: int | None) -> Select:
    stmt = (
        select(CourseSession.starts_at, Course.title, Attendance.attendee_name, Attendance.attendee_email,
               Agency.name, Attendance.outcome, Attendance.walk_in)
        .select_from(Attendance)
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .join(Course, Course.id == CourseSession.course_id)
        .join(Agency, Agency.id == Attendance.agency_id)
        .order_by(CourseSession.starts_at, Course.title, CourseSession.id, func.lower(Attendance.attendee_name),
                  Attendance.id)
    )
    if agency_id is not None:
        stmt = stmt.where(Attendance.agency_id == agency_id)
    return _in_period(stmt, period)


def _when(starts_at: datetime) -> tuple[date, str]:
    local = to_london(starts_at)
    return local.date(), local.strftime("%H:%M")


def _london(value: datetime) -> datetime:
    """A London wall-clock time without a zone: what a spreadsheet can hold."""
    return to_london(value).replace(tzinfo=None)


def _booking_rows(period: Period, agency_id: int | None) -> Iterator[tuple]:
    result = db.session.execute(_bookings_statement(period, agency_id).execution_options(yield_per=BATCH_SIZE))
    for starts_at, course, kind, name, email, agency, status, booked_at in result:
        day, at = _when(starts_at)
        yield day, at, course, kind.label, name, email, agency, status.label, _london(booked_at)


def _attendance_rows(period: Period, agency_id: int | None) -> Iterator[tuple]:
    result = db.session.execute(_attendance_statement(period, agency_id).execution_options(yield_per=BATCH_SIZE))
    for starts_at, course, name, email, agency, outcome, walk_in in result:
        day, at = _when(starts_at)
        yield day, at, course, name, email or "", agency, outcome.label, "Yes" if walk_in else "No"


def export_counts(period: Period, agency_id: int | None = None) -> ExportCounts:
    """How many bookings and attendance records the period's exports hold (two counting queries)."""
    bookings = _bookings_statement(period, agency_id).order_by(None).with_only_columns(func.count(Booking.id))
    attendance = _attendance_statement(period, agency_id).order_by(None).with_only_columns(
        func.count(Attendance.id))
    return ExportCounts(db.session.scalar(bookings) or 0, db.session.scalar(attendance) or 0)


def agencies() -> list[tuple[int, str]]:
    """Every agency, closed ones too (past records name them), by name: (id, name)."""
    return [(row.id, row.name) for row in db.session.execute(
        select(Agency.id, Agency.name).order_by(func.lower(Agency.name), Agency.id))]


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def _csv(header: Sequence[str], rows: Iterator[tuple]) -> tuple[bytes, int]:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([csv_text(value) for value in row])
        count += 1
    return out.getvalue().encode("utf-8-sig"), count


def _xlsx(title: str, header: Sequence[str], rows: Iterator[tuple], period: Period) -> tuple[bytes, int]:
    # Write-only: rows stream to the file instead of building every cell in memory first.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    heading = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        heading.append(cell)
    sheet.append(heading)
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
        count += 1
    workbook.properties.title = f"{title} {period.first.isoformat()} to {period.last.isoformat()}"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue(), count


def _xlsx_cell(sheet, value):
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not is_formula_like(value):
        return value
    # Text, never a formula, shown exactly as typed.
    cell = WriteOnlyCell(sheet)
    cell.value = value
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def filename(kind: ExportKind, period: Period, file_format: FileFormat, agency_name: str | None) -> str:
    """'bookings-2026-04-01-to-2027-03-31[-agency-name].csv'."""
    name = f"{kind.value}-{period.first.isoformat()}-to-{period.last.isoformat()}"
    if agency_name:
        name += f"-{slugify(agency_name)}"
    return f"{name}.{file_format.value}"


def export(kind: ExportKind, file_format: FileFormat, period: Period, actor: User, *,
           agency_id: int | None = None, now: datetime | None = None) -> ExportFile:
    """Bookings or attendance of sessions in `period` as a file; the download is audited.

    NotCoordinator unless `actor` is a coordinator; UnknownAgency for an agency id that
    does not exist.
    """
    if not actor.is_coordinator:
        raise NotCoordinator()
    agency_name = None
    if agency_id is not None:
        agency_name = db.session.scalar(select(Agency.name).where(Agency.id == agency_id))
        if agency_name is None:
            raise UnknownAgency()
    if kind is ExportKind.BOOKINGS:
        header, rows = BOOKING_HEADER, _booking_rows(period, agency_id)
    else:
        header, rows = ATTENDANCE_HEADER, _attendance_rows(period, agency_id)
    if file_format is FileFormat.CSV:
        content, count = _csv(header, rows)
    else:
        content, count = _xlsx(kind.label, header, rows, period)
    scope = f"agency {agency_id}" if agency_id is not None else "all agencies"
    audit.record_export(
        actor, f"export.period_{kind.value}", "agency" if agency_id is not None else "report", agency_id,
        f"Downloaded {kind.value} of sessions from {period.first.isoformat()} to {period.last.isoformat()}, "
        f"{scope}, as {file_format.label} ({count} row{'' if count == 1 else 's'})",
        now or utcnow(),
    )
    return ExportFile(content, filename(kind, period, file_format, agency_name), file_format.mimetype, count)
