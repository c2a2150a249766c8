"""The whole London-model cycle in Chromium, as one delegate lives it: book -> before form ->
attend -> after form -> certificate -> verify -> follow-up with the line manager six weeks on.
axe-core checks every page visited."""
from __future__ import annotations

import io
import re
from datetime import timedelta

from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlalchemy import select, update

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import AgencyFactory, CourseFactory, SessionFactory, TrainerFactory, UserFactory
from training.attendance.models import AttendanceOutcome
from training.attendance.services import record_attendance
from training.booking.models import Booking
from training.catalogue.models import CourseSession
from training.db import utcnow, write_transaction
from training.evaluation.models import Evaluation, EvaluationStatus, Stage
from training.extensions import db

OUTCOMES = ["Recognise the signs of neglect", "Use the neglect screening tool", "Know when to refer"]


def _pick(page: Page, question: str, value: str) -> None:
    page.get_by_role("group", name=question).get_by_label(value, exact=True).check()


def _move_session(session_id: int, starts) -> None:
    """Time passes: the session now starts at `starts` (the live server reads the same database)."""
    with write_transaction():
        db.session.execute(update(CourseSession).where(CourseSession.id == session_id).values(
            starts_at=starts, ends_at=starts + timedelta(hours=3), booking_closes_at=starts - timedelta(days=1)))


def _open_form_from_my_training(page: Page, form: str) -> None:
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="My training").click()
    forms = page.get_by_role("table", name="Evaluation forms to fill in")
    forms.get_by_role("link", name=re.compile(f"^{form}")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(form)
    assert_accessible(page)


def test_book_evaluate_attend_certificate_verify_follow_up(page):
    trainer = TrainerFactory(name="Terry Trainer")
    course = CourseFactory(title="Working with neglect", learning_outcomes="\n".join(OUTCOMES))
    session = SessionFactory(course=course, trainers=[trainer], starts_at=utcnow() + timedelta(days=10))
    delegate = UserFactory(name="Dana Delegate", agency=AgencyFactory(name="Thameside Health Visiting"))
    session_id, delegate_email = session.id, delegate.email

    # Book through the catalogue.
    sign_in(page, delegate_email)
    page.goto("/")
    page.get_by_role("link", name="Working with neglect").first.click()
    page.get_by_role("button", name="Book a place").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("You have booked a place")

    # Stage 1, before the course: opened by the booking.
    _open_form_from_my_training(page, "Before the course")
    _pick(page, "How would you rate your knowledge of this subject?", "2")
    _pick(page, "How confident do you feel to act on concerns about this subject?", "2")
    page.get_by_label("What do you want to learn from this course?").fill("Spotting neglect early")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("You submitted this form on")).to_be_visible()

    # The course takes place and the trainer marks the register.
    _move_session(session_id, utcnow() - timedelta(hours=4))
    booking = db.session.scalars(select(Booking).where(Booking.session_id == session_id)).one()
    record_attendance(session_id, {booking.id: AttendanceOutcome.ATTENDED}, trainer)

    # Stage 2, straight after: opened by being marked attended. The certificate waits for it.
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="My training").click()
    expect(page.get_by_role("link", name=re.compile("Complete the evaluation to get your certificate"))).to_be_visible()
    _open_form_from_my_training(page, "After the course")
    _pick(page, "How would you rate your knowledge of this subject now?", "4")
    _pick(page, "How confident do you feel now to act on concerns about this subject?", "5")
    for outcome in OUTCOMES:
        _pick(page, outcome, "Met")
    _pick(page, "How would you rate the trainer?", "5")
    _pick(page, "How would you rate the course materials?", "4")
    _pick(page, "How would you rate the venue or the online delivery?", "4")
    _pick(page, "Overall, how would you rate this course?", "Excellent")
    page.get_by_label("What will you do differently in your practice after this course?").fill(
        "Use the screening tool at every home visit")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("You submitted this form on")).to_be_visible()

    # The certificate, now released.
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="My training").click()
    page.get_by_role("link", name=re.compile("^Download certificate")).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(page)
    code = page.locator(".govuk-summary-list").get_by_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$"))
    code = code.inner_text()
    pdf_url = page.get_by_role("button", name="Download certificate (PDF)").get_attribute("href")
    response = page.request.get(pdf_url)
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    for expected in ("Dana Delegate", "Working with neglect", code, "Terry Trainer"):
        assert expected in text

    # Anyone can check the code; it shows the name, course and date, and nothing else personal.
    page.goto("/verify")
    page.get_by_label("Verification code").fill(code.lower().replace("-", " "))
    page.get_by_role("button", name="Check certificate").click()
    result = page.locator("main")
    expect(result).to_contain_text("Dana Delegate")
    expect(result).to_contain_text("Working with neglect")
    expect(result).not_to_contain_text(delegate_email)
    expect(result).not_to_contain_text("Thameside Health Visiting")
    assert_accessible(page)

    # Stage 3, six weeks on, with the line manager.
    _move_session(session_id, utcnow() - timedelta(weeks=7))
    _open_form_from_my_training(page, "Follow-up with your line manager")
    _pick(page, "How much has this course changed your practice?", "4")
    page.get_by_label("Give an example of how your practice has changed").fill(
        "I now record concerns about home conditions at each visit")
    _pick(page, "Have you shared what you learnt with your team?", "Yes")
    _pick(page, "Does your line manager agree with your answers?", "Yes")
    page.get_by_label("Your line manager's name").fill("Morgan Manager")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("You submitted this form on")).to_be_visible()
    assert_accessible(page)

    db.session.commit()
    stages = {e.stage: e.status for e in db.session.scalars(
        select(Evaluation).where(Evaluation.session_id == session_id))}
    assert stages == {Stage.BEFORE: EvaluationStatus.SUBMITTED, Stage.AFTER: EvaluationStatus.SUBMITTED,
                      Stage.FOLLOW_UP: EvaluationStatus.SUBMITTED}
