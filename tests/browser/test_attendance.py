"""A trainer takes a register in Chromium, with axe-core checking every page visited."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import AgencyFactory, BookingFactory, SessionFactory, TrainerFactory, UserFactory
from training.attendance.models import Attendance, AttendanceOutcome, Register
from training.audit.models import AuditEvent
from training.certificates.models import Certificate
from training.db import utcnow
from training.extensions import db


def test_trainer_takes_a_register_adds_a_walk_in_and_completes_it(page):
    trainer = TrainerFactory(name="Tara Trainer")
    started = SessionFactory(starts_at=(utcnow() - timedelta(hours=1)).replace(microsecond=0),
                             trainers=[trainer])
    SessionFactory(trainers=[trainer])  # an upcoming one
    amir = BookingFactory(session=started, user=UserFactory(name="Amir Khan"))
    beth = BookingFactory(session=started, user=UserFactory(name="Beth Jones"))
    AgencyFactory(name="Riverside Academy")
    session_id, title = started.id, started.course.title

    sign_in(page, trainer.email)
    page.get_by_role("link", name="My sessions").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My sessions")
    assert_accessible(page)

    page.get_by_role("link", name=re.compile(rf"^Take register for {re.escape(title)}")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Register")
    assert_accessible(page)

    page.get_by_role("group", name="Attendance for Amir Khan").get_by_label("Attended", exact=True).check()
    page.get_by_role("group", name="Attendance for Beth Jones").get_by_label("Did not attend").check()
    page.get_by_role("button", name="Save attendance").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Attendance saved")
    expect(page.get_by_role("group", name="Attendance for Amir Khan").get_by_label("Attended", exact=True)).to_be_checked()
    assert_accessible(page)

    page.get_by_role("button", name="Add a walk-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a walk-in")
    assert_accessible(page)
    page.get_by_role("button", name="Add to register").click()  # nothing filled in
    expect(page).to_have_title(re.compile(r"^Error: Add a walk-in"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter the person's full name")
    expect(summary).to_contain_text("Select the person's agency")
    assert_accessible(page)
    page.get_by_label("Full name").fill("Sam Walker")
    page.get_by_label("Agency").select_option(label="Riverside Academy")
    page.get_by_label("No, they partially attended").check()
    page.get_by_role("button", name="Add to register").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Sam Walker added to the register")
    expect(page.get_by_role("row", name=re.compile("Sam Walker"))).to_contain_text("Riverside Academy")

    page.get_by_role("button", name="Complete register").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Register completed")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Complete")
    expect(page.get_by_role("button", name="Save attendance")).to_have_count(0)
    assert_accessible(page)

    # The staff PDFs are POSTs (they issue certificates and are audited): a button, not a link.
    with page.expect_download() as certificates:
        page.get_by_role("button", name="Download certificates (PDF)").click()
    assert certificates.value.suggested_filename.startswith("certificates-")

    page.get_by_role("link", name="Print a sign-in sheet").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in sheet")
    expect(page.locator(".app-sign-in-sheet")).to_contain_text("Amir Khan")
    assert_accessible(page)
    with page.expect_download() as sheet:
        page.get_by_role("button", name="Download as PDF").click()
    assert sheet.value.suggested_filename.startswith("sign-in-sheet-")
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print this sheet")).to_be_hidden()
    expect(page.get_by_role("button", name="Download as PDF")).to_be_hidden()
    expect(page.get_by_text("Amir Khan")).to_be_visible()

    db.session.commit()  # end the test's read transaction to see what the server wrote
    recorded = {a.attendee_name: (a.outcome, a.walk_in) for a in db.session.scalars(
        select(Attendance).where(Attendance.session_id == session_id))}
    assert recorded == {
        "Amir Khan": (AttendanceOutcome.ATTENDED, False),
        "Beth Jones": (AttendanceOutcome.DID_NOT_ATTEND, False),
        "Sam Walker": (AttendanceOutcome.PARTIAL, True),
    }
    # The bulk download issued a certificate to each person present, and both PDFs were audited.
    assert len(db.session.scalars(select(Certificate.id)).all()) == 2
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("export.%"))
                              .order_by(AuditEvent.id)).all() == ["export.bulk_certificates", "export.sign_in_sheet"]
    assert db.session.get(Register, session_id).completed_by_id == trainer.id
    assert {amir.id, beth.id} == {a.booking_id for a in db.session.scalars(
        select(Attendance).where(Attendance.walk_in.is_(False)))}
