"""Certificate services: codes, idempotent issue, the evaluation rule, what a certificate says."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.certificates.conftest import attended, evaluate, pdf_pages
from tests.evaluation.conftest import attended_booking, valid_answers
from tests.factories import (
    AgencyFactory,
    AttendanceFactory,
    CoordinatorFactory,
    CourseFactory,
    SessionFactory,
    TrainerFactory,
    UserFactory,
)
from tests.sql import recorded_statements
from training.accounts.models import Agency, Sector
from training.attendance.models import AttendanceOutcome, Register
from training.certificates import services
from training.certificates.errors import EvaluationNeeded, NoCertificate, NotIssued, NotSessionStaff
from training.certificates.models import Certificate
from training.certificates.services import CertificateState
from training.db import write_transaction
from training.evaluation import services as evaluation_services
from training.evaluation.models import EvaluationStatus, Stage
from training.extensions import db
from training.notifications import scheduled

CODE = re.compile(r"^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")
VERIFY_URL = "https://training.example.org/verify"


@pytest.fixture
def requires_evaluation(app, monkeypatch):
    def _set(value: bool) -> None:
        monkeypatch.setitem(app.config, "CERTIFICATE_REQUIRES_EVALUATION", value)

    return _set


def _count_certificates() -> int:
    return db.session.scalar(select(func.count(Certificate.id)))


# ---------------------------------------------------------------------------
# Codes
# ---------------------------------------------------------------------------

def test_codes_are_three_groups_of_four_unambiguous_characters_and_do_not_repeat():
    codes = [services.new_code() for _ in range(2000)]
    assert all(CODE.match(c) for c in codes), [c for c in codes if not CODE.match(c)][:3]
    assert not any(ch in "01IO" for c in codes for ch in c)
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize("typed", ["K7QM-3XWP-9D2R", "k7qm-3xwp-9d2r", " K7QM 3XWP 9D2R ", "K7QM3XWP9D2R",
                                   "k7qm–3xwp—9d2r", "K7-QM-3X-WP-9D-2R"])
def test_codes_are_normalised_for_case_spaces_and_dashes(typed):
    assert services.normalise_code(typed) == "K7QM-3XWP-9D2R"


@pytest.mark.parametrize("typed", [None, "", "K7QM-3XWP-9D2", "K7QM-3XWP-9D2RR", "K7QM-3XWP-9D2O",
                                   "K7QM-3XWP-9D21", "<script>", "K7QM-3XWP-9D2R; DROP TABLE"])
def test_garbled_codes_are_not_codes(typed):
    assert services.normalise_code(typed) is None


# ---------------------------------------------------------------------------
# Issuing
# ---------------------------------------------------------------------------

def test_issuing_is_idempotent(requires_evaluation):
    requires_evaluation(False)
    attendance = attended()
    first = services.issue_for_booking(attendance.booking, attendance.user)
    second = services.issue_for_booking(attendance.booking, attendance.user)
    assert CODE.match(first.code)
    assert second.code == first.code
    assert _count_certificates() == 1


FRESH_CODE = "WXYZ-2345-6789"


def _next_code_drawn_is_taken(monkeypatch) -> None:
    """One certificate issued; the next code drawn is that certificate's, then FRESH_CODE."""
    taken = attended()
    existing = services.issue_for_booking(taken.booking, taken.user)
    codes = iter([existing.code, FRESH_CODE])
    monkeypatch.setattr(services, "new_code", lambda: next(codes))


def test_a_code_already_taken_is_retried_with_a_fresh_one(requires_evaluation, monkeypatch):
    requires_evaluation(False)
    _next_code_drawn_is_taken(monkeypatch)
    other = attended()
    issued = services.issue_for_booking(other.booking, other.user)
    assert issued.code == FRESH_CODE
    assert _count_certificates() == 2


@pytest.mark.parametrize("outcome", [AttendanceOutcome.ATTENDED, AttendanceOutcome.PARTIAL])
def test_people_marked_present_get_a_certificate(requires_evaluation, outcome):
    requires_evaluation(False)
    attendance = attended(outcome=outcome)
    assert services.issue_for_booking(attendance.booking, attendance.user).attendance_id == attendance.id


def test_no_certificate_for_people_who_did_not_attend_or_are_not_marked(requires_evaluation):
    requires_evaluation(False)
    absent = attended(outcome=AttendanceOutcome.DID_NOT_ATTEND)
    with pytest.raises(NoCertificate):
        services.issue_for_booking(absent.booking, absent.user)
    unmarked = attended()
    booking, person = unmarked.booking, unmarked.user
    db.session.delete(unmarked)
    db.session.commit()
    with pytest.raises(NoCertificate):
        services.issue_for_booking(booking, person)
    assert _count_certificates() == 0


def test_when_required_the_after_course_evaluation_must_be_submitted_first(requires_evaluation):
    requires_evaluation(True)
    attendance = attended()
    booking, person = attendance.booking, attendance.user
    evaluate(booking, Stage.BEFORE)  # the wrong stage does not count
    evaluation = evaluate(booking, Stage.AFTER, EvaluationStatus.DRAFT)  # nor does a draft
    with pytest.raises(EvaluationNeeded):
        services.issue_for_booking(booking, person)
    assert services.certificate_page(booking, person).state is CertificateState.EVALUATION_NEEDED
    assert _count_certificates() == 0

    evaluation.status = EvaluationStatus.SUBMITTED
    db.session.commit()
    assert services.issue_for_booking(booking, person).attendance_id == attendance.id
    assert services.certificate_page(booking, person).state is CertificateState.AVAILABLE


def test_with_the_setting_off_no_evaluation_is_needed(requires_evaluation):
    requires_evaluation(False)
    attendance = attended()
    page = services.certificate_page(attendance.booking, attendance.user)
    assert page.state is CertificateState.AVAILABLE
    assert page.ready_to_issue
    services.issue_for_booking(attendance.booking, attendance.user)
    page = services.certificate_page(attendance.booking, attendance.user)
    assert not page.ready_to_issue
    assert CODE.match(page.certificate.code)


def test_the_page_and_the_pdf_only_read(app, requires_evaluation):
    requires_evaluation(False)
    attendance = attended()
    page = services.certificate_page(attendance.booking, attendance.user)
    assert page.state is CertificateState.AVAILABLE
    assert page.certificate is None and page.ready_to_issue
    with app.test_request_context(), pytest.raises(NotIssued):
        services.certificate_pdf(attendance.booking, attendance.user, VERIFY_URL)
    assert _count_certificates() == 0


def test_the_pdf_still_refuses_when_the_certificate_is_not_due_for_the_person(app, requires_evaluation):
    requires_evaluation(True)
    attendance = attended()
    services.issue_for_booking(attendance.booking, CoordinatorFactory())  # issued by a coordinator
    with app.test_request_context(), pytest.raises(EvaluationNeeded):
        services.certificate_pdf(attendance.booking, attendance.user, VERIFY_URL)
    assert services.certificate_page(attendance.booking, attendance.user).state is CertificateState.EVALUATION_NEEDED


def test_coordinators_can_issue_without_the_evaluation(requires_evaluation):
    requires_evaluation(True)
    attendance = attended()
    assert services.issue_for_booking(attendance.booking, CoordinatorFactory()).attendance_id == attendance.id


def test_states_for_person_cover_only_bookings_marked_present(requires_evaluation):
    requires_evaluation(True)
    person = UserFactory()
    done = AttendanceFactory(booking__user=person)
    evaluate(done.booking)
    waiting = AttendanceFactory(booking__user=person, outcome=AttendanceOutcome.PARTIAL)
    absent = AttendanceFactory(booking__user=person, outcome=AttendanceOutcome.DID_NOT_ATTEND)
    attended()  # someone else's
    states = services.states_for_person(person.id)
    assert states == {done.booking_id: CertificateState.AVAILABLE,
                      waiting.booking_id: CertificateState.EVALUATION_NEEDED}
    assert absent.booking_id not in states


# ---------------------------------------------------------------------------
# Issued without anyone asking: the evaluation submitted, tick's catch-up
# ---------------------------------------------------------------------------

def test_issue_due_issues_by_the_same_rules_and_only_once(requires_evaluation):
    requires_evaluation(True)
    done = attended()
    evaluate(done.booking)
    waiting = attended()
    absent = attended(outcome=AttendanceOutcome.DID_NOT_ATTEND)
    bookings = [done.booking_id, waiting.booking_id, absent.booking_id]
    with write_transaction():
        assert services.issue_due(bookings, datetime.now(UTC)) == 1
    assert db.session.scalars(select(Certificate.attendance_id)).all() == [done.id]
    with write_transaction():
        assert services.issue_due(bookings, datetime.now(UTC)) == 0
    requires_evaluation(False)
    with write_transaction():
        assert services.issue_due(bookings, datetime.now(UTC)) == 1
    assert _count_certificates() == 2


def test_issue_due_keeps_the_callers_transaction_when_a_code_is_taken(requires_evaluation, monkeypatch):
    requires_evaluation(False)
    _next_code_drawn_is_taken(monkeypatch)
    other = attended()
    with write_transaction():
        db.session.add(Agency(name="Written by the caller", sector=Sector.HEALTH))
        assert services.issue_due([other.booking_id], datetime.now(UTC)) == 1
    db.session.commit()
    assert db.session.scalar(select(Agency.id).where(Agency.name == "Written by the caller")) is not None
    assert db.session.scalar(select(Certificate.code).where(Certificate.attendance_id == other.id)) == FRESH_CODE


def test_submitting_the_after_course_evaluation_issues_the_certificate(requires_evaluation):
    requires_evaluation(True)
    booking = attended_booking()
    now = datetime.now(UTC)
    evaluation_services.save(booking_id=booking.id, stage=Stage.AFTER, actor=booking.user,
                             answers=valid_answers(Stage.AFTER), now=now, submit=False)
    assert _count_certificates() == 0  # a draft issues nothing
    evaluation_services.save(booking_id=booking.id, stage=Stage.AFTER, actor=booking.user,
                             answers=valid_answers(Stage.AFTER), now=now, submit=True)
    page = services.certificate_page(booking, booking.user)
    assert page.certificate is not None and not page.ready_to_issue


def test_ticks_catch_up_issues_the_certificates_it_announces(app, requires_evaluation):
    requires_evaluation(False)
    booking = attended_booking()
    walk_in = AttendanceFactory(booking=None, session=booking.session, user=None, attendee_name="Wendy Walkin",
                                attendee_email=None, agency=AgencyFactory(), walk_in=True)
    now = datetime.now(UTC)
    assert scheduled.queue_certificates(now) == 0  # the register is not complete yet
    assert _count_certificates() == 0
    with write_transaction():
        db.session.add(Register(session_id=booking.session_id, completed_at=now))
    assert scheduled.queue_certificates(now) == 1
    assert services.certificate_page(booking, booking.user).certificate is not None
    # Walk-ins get theirs from the staff bulk download, as before: tick emails bookings only.
    assert db.session.scalar(select(Certificate.id).where(Certificate.attendance_id == walk_in.id)) is None
    assert scheduled.queue_certificates(now) == 0
    assert _count_certificates() == 1


# ---------------------------------------------------------------------------
# What a certificate says
# ---------------------------------------------------------------------------

def test_a_certificate_pdf_has_name_agency_course_outcomes_date_hours_trainers_and_code(app, requires_evaluation):
    requires_evaluation(False)
    course = CourseFactory(title="Neglect: recognising and responding", duration_minutes=210,
                           learning_outcomes="Recognise the signs of neglect\nUse the neglect toolkit")
    session = SessionFactory(course=course, starts_at=datetime(2026, 6, 9, 8, 30, tzinfo=UTC),
                             trainers=[TrainerFactory(name="Tara Trainer")])
    attendance = attended(session, name="Amira Khan", agency=AgencyFactory(name="Riverside Health"))
    with app.test_request_context():
        services.issue_for_booking(attendance.booking, attendance.user)
        pdf = services.certificate_pdf(attendance.booking, attendance.user, VERIFY_URL)
    code = db.session.scalar(select(Certificate.code))
    [text] = pdf_pages(pdf.content)
    for expected in ["Amira Khan", "Riverside Health", "Neglect: recognising and responding",
                     "Recognise the signs of neglect", "Use the neglect toolkit", "9 June 2026",
                     "3 hours 30 minutes", "Tara Trainer", code, VERIFY_URL,
                     app.config["PARTNERSHIP_NAME"], "Learning hours: 3 hours 30 minutes"]:
        assert expected in text
    assert pdf.filename == "certificate-neglect-recognising-and-responding-2026-06-09.pdf"


def test_a_partial_attendance_certificate_says_so_and_certifies_no_hours(app, requires_evaluation):
    requires_evaluation(False)
    attendance = attended(outcome=AttendanceOutcome.PARTIAL)
    with app.test_request_context():
        services.issue_for_booking(attendance.booking, attendance.user)
        pdf = services.certificate_pdf(attendance.booking, attendance.user, VERIFY_URL)
    [text] = pdf_pages(pdf.content)
    assert "partially attended" in text
    assert "Learning hours: not certified for partial attendance (the full course is 3 hours)" in text
    assert "Learning hours: 3 hours" not in text


@pytest.mark.parametrize("starts_at, london_date", [
    # 30 March 2026 00:30 BST is still 29 March in UTC (clocks went forward on the 29th).
    (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), "30 March 2026"),
    # 25 October 2026 00:30 BST, the night the clocks go back, is 24 October in UTC.
    (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), "25 October 2026"),
])
def test_dates_are_london_dates_on_clock_change_days(app, requires_evaluation, starts_at, london_date):
    requires_evaluation(False)
    session = SessionFactory(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=45))
    attendance = attended(session)
    with app.test_request_context():
        services.issue_for_booking(attendance.booking, attendance.user)
        pdf = services.certificate_pdf(attendance.booking, attendance.user, VERIFY_URL)
    [text] = pdf_pages(pdf.content)
    assert london_date in text
    assert pdf.filename.endswith(f"-{starts_at.date() + timedelta(days=1)}.pdf")
    assert services.verify(db.session.scalar(select(Certificate.code))).dates == london_date


def test_a_session_over_two_days_shows_both_dates():
    start = datetime(2026, 5, 12, 8, 0, tzinfo=UTC)
    assert services.dates_label(start, start + timedelta(days=1, hours=8)) == "12 May 2026 to 13 May 2026"
    assert services.dates_label(start, start + timedelta(hours=8)) == "12 May 2026"


# ---------------------------------------------------------------------------
# Bulk and sign-in sheet
# ---------------------------------------------------------------------------

def test_bulk_has_one_page_per_person_present_including_walk_ins_whatever_the_evaluation(app, requires_evaluation):
    requires_evaluation(True)
    trainer = TrainerFactory()
    session = SessionFactory(trainers=[trainer])
    amir = attended(session, name="Amir Khan")
    attended(session, AttendanceOutcome.PARTIAL, name="Beth Jones")
    attended(session, AttendanceOutcome.DID_NOT_ATTEND, name="Carl Absent")
    AttendanceFactory(booking=None, session=session, user=None, attendee_name="Wendy Walkin",
                      attendee_email=None, agency=AgencyFactory(), walk_in=True)
    evaluate(amir.booking)
    with app.test_request_context():
        pdf = services.session_certificates_pdf(session.id, trainer, VERIFY_URL)
    pages = pdf_pages(pdf.content)
    assert len(pages) == 3
    codes = dict(db.session.execute(select(Certificate.attendance_id, Certificate.code)).all())
    assert len(codes) == 3
    # Sorted by name, one person per page, each with their own code.
    for page, name in zip(pages, ["Amir Khan", "Beth Jones", "Wendy Walkin"]):
        assert name in page
        assert sum(code in page for code in codes.values()) == 1
    assert "Carl Absent" not in "".join(pages)
    assert pdf.filename.startswith("certificates-")


def test_bulk_reuses_codes_already_issued(app, requires_evaluation):
    requires_evaluation(False)
    session = SessionFactory()
    first = attended(session)
    attended(session)
    own = services.issue_for_booking(first.booking, first.user).code
    with app.test_request_context():
        services.session_certificates_pdf(session.id, CoordinatorFactory(), VERIFY_URL)
        services.session_certificates_pdf(session.id, CoordinatorFactory(), VERIFY_URL)
    assert _count_certificates() == 2
    assert db.session.scalar(select(Certificate.code).where(Certificate.attendance_id == first.id)) == own


def test_bulk_refuses_other_trainers_and_unknown_sessions_and_empty_registers(app):
    session = SessionFactory(trainers=[TrainerFactory()])
    with app.test_request_context():
        with pytest.raises(NoCertificate):
            services.session_certificates_pdf(session.id, CoordinatorFactory(), VERIFY_URL)
        attended(session)
        with pytest.raises(NotSessionStaff):
            services.session_certificates_pdf(session.id, TrainerFactory(), VERIFY_URL)
        with pytest.raises(LookupError):
            services.session_certificates_pdf(session.id + 1, CoordinatorFactory(), VERIFY_URL)
    assert _count_certificates() == 0


def test_bulk_queries_do_not_grow_with_the_number_of_people(app, requires_evaluation, monkeypatch):
    requires_evaluation(False)
    monkeypatch.setattr(services, "render_pdf", lambda html: html.encode())
    coordinator = CoordinatorFactory()
    counts = []
    for size in (2, 7):
        session = SessionFactory(trainers=[TrainerFactory(), TrainerFactory()])
        for _ in range(size):
            attended(session)
        db.session.expire_all()
        with app.test_request_context(), recorded_statements() as statements:
            html = services.session_certificates_pdf(session.id, coordinator, VERIFY_URL).content.decode()
        assert html.count('class="certificate"') == size
        counts.append(len(statements.queries))
    assert counts[0] == counts[1]


def test_sign_in_sheet_pdf_lists_the_people_booked_with_their_agencies(app):
    trainer = TrainerFactory()
    session = SessionFactory(trainers=[trainer])
    attended(session, name="Amir Khan", agency=AgencyFactory(name="Riverside Health"))
    AttendanceFactory(booking__session=session, booking__user=UserFactory(name="Beth Jones"), outcome=AttendanceOutcome.PARTIAL)
    with app.test_request_context():
        pdf = services.sign_in_sheet_pdf(session.id, trainer, blank_rows=6)
        with pytest.raises(NotSessionStaff):
            services.sign_in_sheet_pdf(session.id, TrainerFactory(), blank_rows=6)
    text = "\n".join(pdf_pages(pdf.content))
    for expected in ["Sign-in sheet", "Amir Khan", "Riverside Health", "Beth Jones", "Booked (2)", "Signature",
                     session.course.title]:
        assert expected in text
    assert pdf.filename.startswith("sign-in-sheet-")


# ---------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------

def test_verify_finds_a_code_however_it_is_typed_and_shows_name_course_and_date(requires_evaluation):
    requires_evaluation(False)
    session = SessionFactory(starts_at=datetime(2026, 7, 1, 9, 0, tzinfo=UTC))
    attendance = attended(session, name="Amira Khan")
    code = services.issue_for_booking(attendance.booking, attendance.user).code
    result = services.verify(code.lower().replace("-", " "))
    assert result == services.Verified(code, "Amira Khan", session.course.title, "1 July 2026")


def test_verify_does_not_find_unknown_codes_or_certificates_withdrawn_by_a_corrected_register(requires_evaluation):
    requires_evaluation(False)
    attendance = attended()
    code = services.issue_for_booking(attendance.booking, attendance.user).code
    assert services.verify("WXYZ-2345-6789") is None
    assert services.verify("not a code") is None
    attendance.outcome = AttendanceOutcome.DID_NOT_ATTEND
    db.session.commit()
    assert services.verify(code) is None
