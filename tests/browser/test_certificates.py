"""A delegate finds their certificate and someone checks its code, with axe-core on each page."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import AgencyFactory, AttendanceFactory, CourseFactory, SessionFactory, UserFactory
from training.certificates.models import Certificate
from training.extensions import db


@pytest.fixture
def no_evaluation_needed(app, monkeypatch):
    monkeypatch.setitem(app.config, "CERTIFICATE_REQUIRES_EVALUATION", False)


def test_a_delegate_opens_their_certificate_and_its_code_is_verified(page, no_evaluation_needed):
    course = CourseFactory(title="Working with neglect")
    session = SessionFactory(course=course, starts_at=datetime(2026, 6, 9, 8, 30, tzinfo=UTC))
    person = UserFactory(name="Amira Khan", agency=AgencyFactory(name="Riverside Health"))
    attendance = AttendanceFactory(booking__session=session, booking__user=person)
    booking_id = attendance.booking_id

    sign_in(page, person.email)
    page.goto(f"/bookings/{booking_id}/certificate")
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate of attendance")
    expect(page.get_by_role("button", name="Download certificate (PDF)")).to_have_count(0)
    assert_accessible(page)
    db.session.commit()  # end the test's own read snapshot to see what the server wrote
    assert db.session.scalar(select(Certificate.code)) is None  # looking issues nothing

    page.get_by_role("button", name="Get your certificate").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your certificate is ready to download")
    button = page.get_by_role("button", name="Download certificate (PDF)")
    expect(button).to_have_attribute("href", f"/bookings/{booking_id}/certificate.pdf")
    expect(page.get_by_role("button", name="Get your certificate")).to_have_count(0)
    assert_accessible(page)
    db.session.commit()
    code = db.session.scalar(select(Certificate.code))
    assert code is not None
    expect(page.locator("main")).to_contain_text(code)
    with page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename == "certificate-working-with-neglect-2026-06-09.pdf"

    page.get_by_role("link", name="check a certificate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check a certificate of attendance")
    assert_accessible(page)
    page.get_by_label("Verification code").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Check certificate").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This certificate is genuine")
    main = page.locator("main")
    expect(main).to_contain_text("Amira Khan")
    expect(main).to_contain_text("Working with neglect")
    expect(main).to_contain_text("9 June 2026")
    expect(main).not_to_contain_text("Riverside Health")
    assert_accessible(page)

    page.get_by_label("Verification code").fill("WXYZ-2345-6789")
    page.get_by_role("button", name="Check certificate").click()
    expect(page).to_have_title(re.compile(r"^Error: Check a certificate"))
    expect(page.locator(".govuk-error-summary")).to_contain_text("We could not find a certificate with that code")
    assert_accessible(page)


def test_a_delegate_is_asked_to_complete_the_evaluation_first(page):
    attendance = AttendanceFactory()
    sign_in(page, attendance.user.email)
    page.goto(f"/bookings/{attendance.booking_id}/certificate")
    expect(page.locator("main").get_by_role("heading", level=2)).to_have_text(
        "Complete the after-course evaluation to get your certificate")
    expect(page.get_by_role("button", name="Download certificate (PDF)")).to_have_count(0)
    expect(page.get_by_role("button", name="Get your certificate")).to_have_count(0)
    assert_accessible(page)
