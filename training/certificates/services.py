"""Certificates of attendance: issuing verification codes, rendering PDFs, public checks.

A certificate is issued once per attendance that counts (attended or partially attended).
Looking at a certificate never issues one: every GET only reads. Certificates are issued by a
POST (the person's "Get your certificate" button, a staff bulk download), when the after-course
evaluation is submitted, and by `tick`'s catch-up. Issuing is an idempotent get-or-create:
reading first means a repeat writes nothing, and the unique constraints on `attendance_id` and
`code` settle any race -- the loser's insert rolls back to a savepoint and is retried, and then
finds what the winner issued.

PDFs are rendered by WeasyPrint from templates under `templates/certificates/pdf/`, with a
URL fetcher that allows only `data:` URLs, so nothing on a certificate can make the server
fetch a file or a web address.
"""
from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, render_template
from sqlalchemy import and_, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload
from weasyprint import HTML, URLFetcher

from ..accounts.models import User
from ..attendance import services as attendance_services
from ..attendance.models import Attendance, AttendanceOutcome
from ..audit import services as audit
from ..booking.models import Booking
from ..catalogue.models import Course, CourseSession
from ..db import utcnow, write_transaction
from ..evaluation.models import Evaluation, EvaluationStatus, Stage
from ..evaluation.signals import evaluation_submitted
from ..extensions import db
from ..timeutil import format_date, to_london
from .errors import EvaluationNeeded, NoCertificate, NotIssued, NotSessionStaff
from .models import Certificate

#: No 0/O or 1/I, so a code read aloud or typed from paper cannot be mistaken: 32 symbols,
#: 5 bits each, 60 bits per code -- far beyond guessing, and collisions are vanishingly rare.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_GROUPS = 3
CODE_GROUP_SIZE = 4
CODE_LENGTH = CODE_GROUPS * CODE_GROUP_SIZE
#: How many times an insert is retried after losing a unique-constraint race.
ISSUE_ATTEMPTS = 5

_SEPARATORS = re.compile(r"[\s\-‐‑‒–—_.]+")


# ---------------------------------------------------------------------------
# Codes
# ---------------------------------------------------------------------------

def _group(raw: str) -> str:
    return "-".join(raw[i:i + CODE_GROUP_SIZE] for i in range(0, CODE_LENGTH, CODE_GROUP_SIZE))


def new_code() -> str:
    """A fresh random code, grouped like K7QM-3XWP-9D2R."""
    return _group("".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)))


def normalise_code(raw: str | None) -> str | None:
    """The stored form of a code as someone typed it (any case, spaces or dashes), or None
    if it cannot be a code."""
    if not raw:
        return None
    compact = _SEPARATORS.sub("", raw).upper()
    if len(compact) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in compact):
        return None
    return _group(compact)


# ---------------------------------------------------------------------------
# Whether a booking has a certificate
# ---------------------------------------------------------------------------

class CertificateState(enum.StrEnum):
    NOT_AVAILABLE = "not-available"  # not marked as present
    EVALUATION_NEEDED = "evaluation-needed"
    AVAILABLE = "available"


def requires_evaluation() -> bool:
    """The setting: must the after-course evaluation be submitted first?"""
    return bool(current_app.config["CERTIFICATE_REQUIRES_EVALUATION"])


def _state(present: bool, evaluated: bool, evaluation_applies: bool) -> CertificateState:
    if not present:
        return CertificateState.NOT_AVAILABLE
    if evaluation_applies and not evaluated:
        return CertificateState.EVALUATION_NEEDED
    return CertificateState.AVAILABLE


def _evaluation_applies(actor: User) -> bool:
    # Coordinators can always download: they reissue certificates for people and hand
    # them out, as the bulk download does.
    return requires_evaluation() and not actor.is_coordinator


def _submitted_after(booking_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(booking_ids))
    if not ids:
        return set()
    return set(db.session.scalars(
        select(Evaluation.booking_id).where(
            Evaluation.booking_id.in_(ids), Evaluation.stage == Stage.AFTER,
            Evaluation.status == EvaluationStatus.SUBMITTED,
        )
    ))


def _attendance_for(booking_id: int) -> Attendance | None:
    return db.session.scalar(
        select(Attendance).where(Attendance.booking_id == booking_id).options(lazyload(Attendance.booking))
    )


def states_for_person(user_id: int) -> dict[int, CertificateState]:
    """Certificate state of each of a person's bookings that were marked present, as the
    person sees it (the evaluation setting applies): one query however many there are."""
    submitted = and_(Evaluation.booking_id == Attendance.booking_id, Evaluation.stage == Stage.AFTER,
                     Evaluation.status == EvaluationStatus.SUBMITTED)
    rows = db.session.execute(
        select(Attendance.booking_id, Evaluation.id.is_not(None))
        .outerjoin(Evaluation, submitted)
        .where(Attendance.user_id == user_id, Attendance.booking_id.is_not(None), Attendance.was_present)
    )
    applies = requires_evaluation()
    return {booking_id: _state(True, bool(evaluated), applies) for booking_id, evaluated in rows}


@dataclass
class CertificatePage:
    """What the certificate page shows for one booking."""

    booking: Booking
    attendance: Attendance | None
    state: CertificateState
    evaluation_submitted: bool
    certificate: Certificate | None  # None until issued, even when it is available

    @property
    def partial(self) -> bool:
        return self.attendance is not None and self.attendance.outcome == AttendanceOutcome.PARTIAL

    @property
    def ready_to_issue(self) -> bool:
        """Due but not issued yet: the page offers the button that issues it."""
        return self.state is CertificateState.AVAILABLE and self.certificate is None


def certificate_page(booking: Booking, actor: User) -> CertificatePage:
    """The certificate's status for `booking` as `actor` (its owner or a coordinator) sees it.

    Reads only: a certificate that is due but not issued yet is shown as ready to issue.
    """
    attendance = _attendance_for(booking.id)
    present = attendance is not None and attendance.was_present
    evaluated = bool(_submitted_after([booking.id])) if present else False
    state = _state(present, evaluated, _evaluation_applies(actor))
    certificate = None
    if state is CertificateState.AVAILABLE:
        certificate = _existing([attendance.id]).get(attendance.id)
    return CertificatePage(booking, attendance, state, evaluated, certificate)


# ---------------------------------------------------------------------------
# Issuing
# ---------------------------------------------------------------------------

def _existing(attendance_ids: list[int]) -> dict[int, Certificate]:
    return {
        c.attendance_id: c
        for c in db.session.scalars(
            select(Certificate).where(Certificate.attendance_id.in_(attendance_ids))
            .options(lazyload(Certificate.attendance))
        )
    }


def _insert_missing(attendance_ids: list[int], now: datetime) -> int:
    """Insert a certificate for each attendance without one, inside the caller's transaction;
    the number issued. Nothing is committed here."""
    ids = sorted(set(attendance_ids))
    for attempt in range(ISSUE_ATTEMPTS):
        issued = _existing(ids) if ids else {}
        missing = [i for i in ids if i not in issued]
        if not missing:
            return 0
        try:
            # A savepoint, so losing a race keeps the rest of the caller's transaction.
            with db.session.begin_nested():
                # One executemany, so a session's worth costs the same round trips as one.
                db.session.execute(insert(Certificate), [
                    {"attendance_id": i, "code": new_code(), "issued_at": now} for i in missing
                ])
            return len(missing)
        except IntegrityError:
            # Someone else issued one of these at the same moment, or (once in a blue moon)
            # a code was already taken: read again and insert what is still missing.
            if attempt == ISSUE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _issue(attendance_ids: list[int], now: datetime) -> dict[int, Certificate]:
    """Get or create a certificate for each attendance, in one write transaction (none when
    all are issued already)."""
    ids = sorted(set(attendance_ids))
    if not ids:
        return {}
    found = _existing(ids)
    if len(found) == len(ids):
        return found  # nothing to write
    with write_transaction():
        _insert_missing(ids, now)
    return _existing(ids)


def _due_attendance(booking: Booking, actor: User) -> Attendance:
    """The booking's attendance if its certificate is due for `actor`; refuses otherwise."""
    attendance = _attendance_for(booking.id)
    if attendance is None or not attendance.was_present:
        raise NoCertificate()
    if _evaluation_applies(actor) and not _submitted_after([booking.id]):
        raise EvaluationNeeded()
    return attendance


def issue_for_booking(booking: Booking, actor: User, now: datetime | None = None) -> Certificate:
    """The booking's certificate, issued now if need be (a repeat issues nothing new);
    refuses when none is due yet."""
    attendance = _due_attendance(booking, actor)
    return _issue([attendance.id], now or utcnow())[attendance.id]


def issue_due(booking_ids: Iterable[int], now: datetime) -> int:
    """Issue the certificates now due for these bookings, as their owners would see it, inside
    the caller's write transaction (it commits); the number issued.

    For the points where a certificate becomes due without anyone asking for it: the
    after-course evaluation submitted, and `tick`'s catch-up.
    """
    ids = sorted(set(booking_ids))
    if not ids:
        return 0
    present = dict(db.session.execute(
        select(Attendance.booking_id, Attendance.id).where(
            Attendance.booking_id.in_(ids), Attendance.was_present)
    ).all())
    evaluated = _submitted_after(present) if requires_evaluation() else set()
    due = [attendance_id for booking_id, attendance_id in present.items()
           if _state(True, booking_id in evaluated, requires_evaluation()) is CertificateState.AVAILABLE]
    return _insert_missing(due, now)


@evaluation_submitted.connect
def _issue_on_submission(evaluation: Evaluation, now: datetime, **_kw) -> None:
    """Submitting the after-course form makes the certificate due: issue it in the same
    transaction, so the "certificate ready" email points at one that exists."""
    if evaluation.stage == Stage.AFTER:
        issue_due([evaluation.booking_id], now)


# ---------------------------------------------------------------------------
# What a certificate says
# ---------------------------------------------------------------------------

def dates_label(starts_at: datetime, ends_at: datetime) -> str:
    """'3 March 2026', or '3 March 2026 to 4 March 2026' when a session runs over days (London dates)."""
    first, last = to_london(starts_at).date(), to_london(ends_at).date()
    return format_date(first) if first == last else f"{format_date(first)} to {format_date(last)}"


@dataclass(frozen=True)
class CertificateText:
    """Everything printed on one certificate, worked out before the template sees it."""

    name: str
    agency: str
    course_title: str
    outcomes: list[str]
    dates: str
    partial: bool
    hours: str  # what the certificate credits: the course's length, or nothing for partial
    course_length: str
    trainers: str
    code: str


def _text(certificate: Certificate, attendance: Attendance, session: CourseSession) -> CertificateText:
    course = session.course
    partial = attendance.outcome == AttendanceOutcome.PARTIAL
    return CertificateText(
        name=attendance.attendee_name,
        agency=attendance.agency.name,
        course_title=course.title,
        outcomes=course.outcomes,
        dates=dates_label(session.starts_at, session.ends_at),
        partial=partial,
        # We do not know how much of the course someone partially attending was there for,
        # so no hours are certified; the course length is shown for their own CPD record.
        hours="" if partial else course.duration_label,
        course_length=course.duration_label,
        trainers=", ".join(t.name for t in session.trainers),
        code=certificate.code,
    )


# ---------------------------------------------------------------------------
# PDFs
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PdfFile:
    content: bytes
    filename: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].rstrip("-") or "course"


def _filename(prefix: str, session: CourseSession) -> str:
    """Course and London date, never a person's name."""
    return f"{prefix}-{_slug(session.course.title)}-{to_london(session.starts_at).date().isoformat()}.pdf"


def render_pdf(html: str) -> bytes:
    """One WeasyPrint pass over `html`; only inline data: URLs may be loaded."""
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=["data"])).write_pdf()


def _render_certificates(texts: list[CertificateText], verify_url: str) -> bytes:
    html = render_template(
        "certificates/pdf/certificate.html",
        certificates=texts,
        verify_url=verify_url,
        partnership_name=current_app.config["PARTNERSHIP_NAME"],
    )
    return render_pdf(html)


def certificate_pdf(booking: Booking, actor: User, verify_url: str) -> PdfFile:
    """The booking's certificate as a PDF; reads only, so NotIssued until it has been issued."""
    attendance = _due_attendance(booking, actor)
    certificate = _existing([attendance.id]).get(attendance.id)
    if certificate is None:
        raise NotIssued()
    session = db.session.get(CourseSession, attendance.session_id)
    return PdfFile(
        _render_certificates([_text(certificate, attendance, session)], verify_url),
        _filename("certificate", session),
    )


def _staff_session(session_id: int, actor: User) -> CourseSession:
    session = db.session.get(CourseSession, session_id)
    if session is None:
        raise LookupError(session_id)
    if not attendance_services.may_take_register(session, actor):
        raise NotSessionStaff()
    return session


def session_certificates_pdf(session_id: int, actor: User, verify_url: str,
                             now: datetime | None = None) -> PdfFile:
    """Every certificate for a session, one page each, in one PDF for the trainer to hand out.

    Everyone marked present is included, booked or walk-in, whether or not they have
    submitted their evaluation: the trainer or coordinator decides whom to give them to.
    LookupError for an unknown session; NotSessionStaff unless `actor` is one of its
    trainers or a coordinator; NoCertificate when no one was marked present.
    """
    session = _staff_session(session_id, actor)
    attendance_ids = list(db.session.scalars(
        select(Attendance.id).where(Attendance.session_id == session_id, Attendance.was_present)
    ))
    if not attendance_ids:
        raise NoCertificate("No one has been marked as attended on this session yet")
    _issue(attendance_ids, now or utcnow())
    # Read again after the commit, in one query: the session is in the identity map, so
    # each attendance finds it without another query.
    session = db.session.get(CourseSession, session_id)
    rows = db.session.execute(
        select(Certificate, Attendance)
        .join(Attendance, Attendance.id == Certificate.attendance_id)
        .where(Attendance.id.in_(attendance_ids))
        .options(lazyload(Certificate.attendance), lazyload(Attendance.booking), lazyload(Attendance.user))
    ).all()
    rows.sort(key=lambda r: (r.Attendance.attendee_name.casefold(), r.Attendance.id))
    texts = [_text(certificate, attendance, session) for certificate, attendance in rows]
    content = _render_certificates(texts, verify_url)
    audit.certificates_exported(actor, session_id, len(texts), now)
    return PdfFile(content, _filename("certificates", session))


def sign_in_sheet_pdf(session_id: int, actor: User, blank_rows: int) -> PdfFile:
    """The session's sign-in sheet as a PDF: the same people as the register, with a
    signature column and `blank_rows` empty rows for people who come without booking."""
    session = _staff_session(session_id, actor)
    sheet = attendance_services.register_for(session.id)
    html = render_template(
        "certificates/pdf/sign_in_sheet.html",
        sheet=sheet,
        blank_rows=blank_rows,
        partnership_name=current_app.config["PARTNERSHIP_NAME"],
    )
    content = render_pdf(html)
    audit.sign_in_sheet_exported(actor, session.id, len(sheet.rows))
    return PdfFile(content, _filename("sign-in-sheet", session))


# ---------------------------------------------------------------------------
# Public verification
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Verified:
    """What the public verify page may show: nothing personal beyond the name."""

    code: str
    name: str
    course_title: str
    dates: str


def verify(raw_code: str | None) -> Verified | None:
    """The certificate with this code, if it exists and its attendance still counts."""
    code = normalise_code(raw_code)
    if code is None:
        return None
    row = db.session.execute(
        select(Certificate.code, Attendance.attendee_name, Course.title,
               CourseSession.starts_at, CourseSession.ends_at)
        .select_from(Certificate)
        .join(Attendance, Attendance.id == Certificate.attendance_id)
        .join(CourseSession, CourseSession.id == Attendance.session_id)
        .join(Course, Course.id == CourseSession.course_id)
        # A register corrected to "did not attend" withdraws the certificate.
        .where(Certificate.code == code, Attendance.was_present)
    ).first()
    if row is None:
        return None
    return Verified(row.code, row.attendee_name, row.title, dates_label(row.starts_at, row.ends_at))
