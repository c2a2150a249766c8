"""Certificate pages and PDFs: who may see what, headers, the verify page, the My training link."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from flask import render_template_string
from sqlalchemy import select

from tests.certificates.conftest import attended, evaluate, pdf_pages
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
from training.attendance.models import AttendanceOutcome
from training.audit.models import AuditEvent
from training.booking.models import Booking
from training.certificates.models import Certificate
from training.extensions import db


@pytest.fixture
def requires_evaluation(app, monkeypatch):
    def _set(value: bool) -> None:
        monkeypatch.setitem(app.config, "CERTIFICATE_REQUIRES_EVALUATION", value)

    return _set


@pytest.fixture
def amira():
    """Amira, marked as attended on a course on 9 June 2026."""
    course = CourseFactory(title="Working with neglect")
    session = SessionFactory(course=course, starts_at=datetime(2026, 6, 9, 8, 30, tzinfo=UTC),
                             trainers=[TrainerFactory(name="Tara Trainer")])
    return attended(session, name="Amira Khan", email="amira.khan@example.org", job_title="School nurse",
                    agency=AgencyFactory(name="Riverside Health"))


def _code() -> str:
    return db.session.scalar(select(Certificate.code))


def _assert_pdf_download(response, prefix: str) -> None:
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(rf'attachment; filename="{prefix}-[a-z0-9-]+-\d{{4}}-\d{{2}}-\d{{2}}\.pdf"', disposition), disposition


# ---------------------------------------------------------------------------
# A person's certificate
# ---------------------------------------------------------------------------

def _count() -> int:
    db.session.commit()  # end the test's own read snapshot to see what the app wrote
    return db.session.query(Certificate).count()


def _audit_actions() -> list[str]:
    db.session.commit()
    return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_a_person_gets_their_certificate_with_a_post_then_downloads_it(login_as, amira, requires_evaluation):
    requires_evaluation(False)
    client = login_as(amira.user)
    url = f"/bookings/{amira.booking_id}/certificate"

    # Looking changes nothing: the page offers a button that posts, and the PDF is not there yet.
    html = client.get(url).get_data(as_text=True)
    assert "Get your certificate" in html
    assert f'<form method="post" action="{url}"' in html
    assert 'name="csrf_token"' in html
    assert "Download certificate (PDF)" not in html
    response = client.get(f"{url}.pdf")
    assert response.status_code == 302 and response.location.endswith(url)
    assert _count() == 0

    issued = client.post(url)
    assert issued.status_code == 302 and issued.location.endswith(url)
    assert _count() == 1
    html = client.get(url).get_data(as_text=True)
    assert "Your certificate is ready to download" in html
    assert "Get your certificate" not in html
    assert f'href="{url}.pdf"' in html
    assert _code() in html

    response = client.get(f"{url}.pdf")
    _assert_pdf_download(response, "certificate")
    assert "amira" not in response.headers["Content-Disposition"].lower()
    [text] = pdf_pages(response.data)
    for expected in ["Amira Khan", "Riverside Health", "Working with neglect", "9 June 2026", _code(),
                     "http://localhost/verify"]:
        assert expected in text


def test_a_second_post_issues_nothing_new(login_as, amira, requires_evaluation):
    requires_evaluation(False)
    client = login_as(amira.user)
    client.post(f"/bookings/{amira.booking_id}/certificate")
    code = _code()
    again = client.post(f"/bookings/{amira.booking_id}/certificate")
    assert again.status_code == 302
    assert _count() == 1
    assert _code() == code


def test_with_the_evaluation_required_the_page_explains_and_nothing_is_issued(login_as, amira, requires_evaluation):
    requires_evaluation(True)
    client = login_as(amira.user)
    url = f"/bookings/{amira.booking_id}/certificate"
    html = client.get(url).get_data(as_text=True)
    assert "Complete the after-course evaluation to get your certificate" in html
    assert "Download certificate (PDF)" not in html
    assert "Get your certificate" not in html

    response = client.get(f"{url}.pdf")
    assert response.status_code == 302
    assert response.location.endswith(url)
    followed = client.get(response.location).get_data(as_text=True)
    assert "Complete the after-course evaluation to get your certificate" in followed
    refused = client.post(url, follow_redirects=True)
    assert "Complete the after-course evaluation to get your certificate" in refused.get_data(as_text=True)
    assert _count() == 0

    evaluate(amira.booking)
    assert "Get your certificate" in client.get(url).get_data(as_text=True)
    client.post(url)
    _assert_pdf_download(client.get(f"{url}.pdf"), "certificate")


def test_no_certificate_for_someone_who_did_not_attend(login_as, requires_evaluation):
    requires_evaluation(False)
    absent = attended(outcome=AttendanceOutcome.DID_NOT_ATTEND)
    client = login_as(absent.user)
    url = f"/bookings/{absent.booking_id}/certificate"
    html = client.get(url).get_data(as_text=True)
    assert "There is no certificate for this booking yet" in html
    assert "Get your certificate" not in html
    response = client.get(f"{url}.pdf", follow_redirects=True)
    assert "certificates are for people marked as attended" in response.get_data(as_text=True)
    response = client.post(url, follow_redirects=True)
    assert "certificates are for people marked as attended" in response.get_data(as_text=True)
    assert _count() == 0


@pytest.mark.parametrize(("method", "suffix"), [("get", "certificate"), ("get", "certificate.pdf"),
                                                ("post", "certificate")])
def test_someone_elses_booking_is_not_found(login_as, amira, requires_evaluation, method, suffix):
    requires_evaluation(False)
    for other in (UserFactory(), TrainerFactory()):
        assert getattr(login_as(other), method)(f"/bookings/{amira.booking_id}/{suffix}").status_code == 404
    assert getattr(login_as(amira.user), method)(f"/bookings/{amira.booking_id + 999}/{suffix}").status_code == 404
    assert _count() == 0


@pytest.mark.parametrize(("method", "suffix"), [("get", "certificate"), ("get", "certificate.pdf"),
                                                ("post", "certificate")])
def test_anonymous_people_are_sent_to_sign_in(client, amira, method, suffix):
    response = getattr(client, method)(f"/bookings/{amira.booking_id}/{suffix}")
    assert response.status_code == 302
    assert "/sign-in" in response.location
    assert _count() == 0


def test_a_coordinator_can_get_anyones_certificate_even_before_the_evaluation(login_as, amira, requires_evaluation):
    requires_evaluation(True)
    client = login_as(CoordinatorFactory())
    url = f"/bookings/{amira.booking_id}/certificate"
    html = client.get(url).get_data(as_text=True)
    assert "Amira Khan" in html
    assert "has not submitted their after-course evaluation" in html
    assert "Get the certificate" in html
    assert _count() == 0
    issued = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "The certificate is ready to download" in issued
    response = client.get(f"{url}.pdf")
    _assert_pdf_download(response, "certificate")
    assert "Amira Khan" in pdf_pages(response.data)[0]


# ---------------------------------------------------------------------------
# Staff PDFs: POSTs, as they issue certificates and are audited
# ---------------------------------------------------------------------------

def _session_with_people():
    trainer = TrainerFactory()
    session = SessionFactory(trainers=[trainer])
    people = [attended(session, name=n) for n in ("Amir Khan", "Beth Jones", "Chen Li")]
    return trainer, session, people


def test_the_sessions_trainer_downloads_all_its_certificates_as_one_pdf(login_as, requires_evaluation):
    requires_evaluation(True)
    trainer, session, people = _session_with_people()
    response = login_as(trainer).post(f"/sessions/{session.id}/certificates.pdf")
    _assert_pdf_download(response, "certificates")
    pages = pdf_pages(response.data)
    assert len(pages) == 3
    codes = db.session.scalars(select(Certificate.code)).all()
    assert len(codes) == 3
    for page, person, in zip(pages, people):
        assert person.attendee_name in page
    for code in codes:
        assert sum(code in page for page in pages) == 1
    assert _audit_actions() == ["export.bulk_certificates"]


def test_a_coordinator_downloads_bulk_certificates_and_the_sign_in_sheet(login_as):
    _, session, _ = _session_with_people()
    client = login_as(CoordinatorFactory())
    _assert_pdf_download(client.post(f"/sessions/{session.id}/certificates.pdf"), "certificates")
    _assert_pdf_download(client.post(f"/sessions/{session.id}/sign-in-sheet.pdf"), "sign-in-sheet")
    assert _audit_actions() == ["export.bulk_certificates", "export.sign_in_sheet"]


@pytest.mark.parametrize("suffix", ["certificates.pdf", "sign-in-sheet.pdf"])
def test_staff_pdfs_are_not_served_over_get(login_as, suffix):
    _, session, _ = _session_with_people()
    assert login_as(CoordinatorFactory()).get(f"/sessions/{session.id}/{suffix}").status_code == 405
    assert _count() == 0
    assert _audit_actions() == []


@pytest.mark.parametrize("suffix", ["certificates.pdf", "sign-in-sheet.pdf"])
def test_staff_pdfs_are_refused_to_other_trainers_and_professionals(login_as, client, suffix):
    _, session, _ = _session_with_people()
    assert login_as(TrainerFactory()).post(f"/sessions/{session.id}/{suffix}").status_code == 403
    assert login_as(UserFactory()).post(f"/sessions/{session.id}/{suffix}").status_code == 403
    anonymous = client.post(f"/sessions/{session.id}/{suffix}")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.location
    assert login_as(CoordinatorFactory()).post(f"/sessions/{session.id + 99}/{suffix}").status_code == 404
    assert _count() == 0
    assert _audit_actions() == []


def test_bulk_for_a_session_with_no_one_marked_explains(login_as):
    trainer = TrainerFactory()
    session = SessionFactory(trainers=[trainer])
    client = login_as(trainer)
    response = client.post(f"/sessions/{session.id}/certificates.pdf")
    assert response.status_code == 302
    assert response.location.endswith(f"/sessions/{session.id}/register")
    html = client.get(response.location).get_data(as_text=True)
    assert "No one has been marked as attended on this session yet" in html
    assert _audit_actions() == []


def test_the_sign_in_sheet_pdf_lists_the_names(login_as):
    trainer, session, _ = _session_with_people()
    text = "\n".join(pdf_pages(login_as(trainer).post(f"/sessions/{session.id}/sign-in-sheet.pdf").data))
    for name in ("Amir Khan", "Beth Jones", "Chen Li"):
        assert name in text


def test_the_register_and_sign_in_sheet_offer_the_pdfs_as_forms_that_post(login_as):
    trainer, session, _ = _session_with_people()
    client = login_as(trainer)
    register = client.get(f"/sessions/{session.id}/register").get_data(as_text=True)
    assert f'<form method="post" action="/sessions/{session.id}/certificates.pdf"' in register
    assert "Download certificates (PDF)" in register
    sheet = client.get(f"/sessions/{session.id}/sign-in-sheet").get_data(as_text=True)
    assert f'<form method="post" action="/sessions/{session.id}/sign-in-sheet.pdf"' in sheet
    assert "Download as PDF" in sheet
    assert f'href="/sessions/{session.id}/certificates.pdf"' not in register + sheet
    assert f'href="/sessions/{session.id}/sign-in-sheet.pdf"' not in register + sheet


# ---------------------------------------------------------------------------
# Verify
# ---------------------------------------------------------------------------

def _issue(client_for, person_attendance) -> str:
    client_for(person_attendance.user).post(f"/bookings/{person_attendance.booking_id}/certificate")
    return _code()


def test_verify_confirms_name_course_and_date_and_nothing_else(client, login_as, amira, requires_evaluation):
    requires_evaluation(False)
    code = _issue(login_as, amira)
    for url in (f"/verify/{code}", f"/verify?code={quote(code.lower().replace('-', ' '))}",
                f"/verify/{code.replace('-', '')}"):
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert "This certificate is genuine" in html
        for shown in ("Amira Khan", "Working with neglect", "9 June 2026", code):
            assert shown in html
        for hidden in ("amira.khan@example.org", "Riverside Health", "School nurse", "Tara Trainer"):
            assert hidden not in html
        assert 'name="robots" content="noindex' in html


@pytest.mark.parametrize("typed", ["WXYZ-2345-6789", "garbled!", "K7QM-3XWP", "0000-0000-0000", "x" * 500])
def test_verify_with_an_unknown_or_garbled_code_says_it_could_not_be_found(client, typed):
    for response in (client.get(f"/verify?code={quote(typed)}"), client.get(f"/verify/{quote(typed)}")):
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "We could not find a certificate with that code" in html
        assert "<title>Error: " in html
        assert "This certificate is genuine" not in html


def test_the_verify_page_starts_with_an_empty_form(client):
    html = client.get("/verify").get_data(as_text=True)
    assert "Check a certificate of attendance" in html
    assert 'name="code"' in html
    assert "could not find" not in html


# ---------------------------------------------------------------------------
# The My training link
# ---------------------------------------------------------------------------

LINKS = "{% for b in bookings %}{% set c = certificate_status(b) %}[{{ c.label if c else 'none' }}|{{ c.url if c else '' }}]{% endfor %}"


def test_certificate_status_gives_a_link_only_for_bookings_marked_present(app, requires_evaluation):
    requires_evaluation(True)
    person = UserFactory()
    done = AttendanceFactory(booking__user=person)
    evaluate(done.booking)
    waiting = AttendanceFactory(booking__user=person, outcome=AttendanceOutcome.PARTIAL)
    absent = AttendanceFactory(booking__user=person, outcome=AttendanceOutcome.DID_NOT_ATTEND)
    with app.test_request_context():
        out = render_template_string(LINKS, bookings=[done.booking, waiting.booking, absent.booking])
    assert out == (
        f"[Download certificate|/bookings/{done.booking_id}/certificate]"
        f"[Complete the evaluation to get your certificate|/bookings/{waiting.booking_id}/certificate]"
        "[none|]"
    )


def test_certificate_status_queries_do_not_grow_with_the_number_of_bookings(app, requires_evaluation):
    requires_evaluation(True)
    counts = []
    for size in (2, 8):
        person = UserFactory()
        for _ in range(size):
            AttendanceFactory(booking__user=person)
        # Loaded as My training loads them, so only the certificate look-ups are counted.
        bookings = db.session.scalars(select(Booking).where(Booking.user_id == person.id)).all()
        with app.test_request_context(), recorded_statements() as statements:
            out = render_template_string(LINKS, bookings=bookings)
        assert out.count("Complete the evaluation") == size
        counts.append(len(statements.queries))
    assert counts[0] == counts[1]
