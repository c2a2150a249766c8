"""A delegate fills in their evaluation forms in Chromium, and a coordinator sees who has not;
axe-core checks every page visited."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import assert_accessible, sign_in
from tests.evaluation.conftest import OUTCOMES, attended_booking, past_session
from tests.factories import BookingFactory, CoordinatorFactory, CourseFactory, UserFactory
from training.evaluation.models import Evaluation, EvaluationStatus, Stage
from training.extensions import db


def _rate(page: Page, question: str, value: str) -> None:
    page.get_by_role("group", name=question).get_by_label(value, exact=True).check()


def test_a_delegate_fills_in_the_before_and_after_forms(page):
    delegate = UserFactory(name="Dee Delegate")
    upcoming = BookingFactory(user=delegate)
    course = CourseFactory(title="Neglect: recognising and responding", learning_outcomes="\n".join(OUTCOMES))
    attended = attended_booking(user=delegate, session=past_session(course=course))
    upcoming_id, attended_id = upcoming.id, attended.id

    sign_in(page, delegate.email)
    page.goto(f"/bookings/{upcoming_id}/evaluation/before")
    expect(page.get_by_role("heading", level=1)).to_have_text("Before the course")
    expect(page.get_by_text("1 means no knowledge, 5 means expert")).to_be_visible()
    assert_accessible(page)
    _rate(page, "How would you rate your knowledge of this subject?", "2")
    _rate(page, "How confident do you feel to act on concerns about this subject?", "3")
    page.get_by_label("What do you want to learn from this course?").fill("When to refer to children's social care")
    page.get_by_role("button", name="Submit").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your form has been submitted")
    expect(page.get_by_text("You submitted this form on")).to_be_visible()
    expect(page.locator(".govuk-summary-list")).to_contain_text("When to refer to children's social care")
    assert_accessible(page)

    page.goto(f"/bookings/{attended_id}/evaluation/after")
    expect(page.get_by_role("heading", level=1)).to_have_text("After the course")
    assert_accessible(page)
    _rate(page, "How would you rate your knowledge of this subject now?", "4")
    page.get_by_role("button", name="Submit").click()  # most questions unanswered
    expect(page).to_have_title(re.compile(r"^Error: After the course"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Select how confident you feel to act on concerns about this subject")
    expect(summary).to_contain_text("Enter what you will do differently in your practice")
    expect(page.get_by_role("group", name="How would you rate your knowledge of this subject now?")
           .get_by_label("4", exact=True)).to_be_checked()
    assert_accessible(page)

    _rate(page, "How confident do you feel now to act on concerns about this subject?", "4")
    for outcome in OUTCOMES:
        _rate(page, outcome, "Met")
    _rate(page, "How would you rate the trainer?", "5")
    _rate(page, "How would you rate the course materials?", "4")
    _rate(page, "How would you rate the venue or the online delivery?", "3")
    _rate(page, "Overall, how would you rate this course?", "Good")
    page.get_by_label("What will you do differently in your practice after this course?").fill(
        "Use the neglect toolkit before a referral")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("You submitted this form on")).to_be_visible()
    expect(page.locator(".govuk-summary-list")).to_contain_text("Learning outcome: Recognise signs of abuse")
    expect(page.get_by_role("button", name="Submit")).to_have_count(0)
    assert_accessible(page)

    db.session.commit()  # end the test's read transaction to see what the server wrote
    statuses = {(e.booking_id, e.stage): e.status for e in db.session.scalars(select(Evaluation))}
    assert statuses == {(upcoming_id, Stage.BEFORE): EvaluationStatus.SUBMITTED,
                        (attended_id, Stage.AFTER): EvaluationStatus.SUBMITTED}


def test_a_coordinator_sees_who_has_not_returned_their_forms(page):
    session = past_session()
    attended_booking(session=session, user=UserFactory(name="Nia Notyet"))
    coordinator = CoordinatorFactory()
    session_id = session.id

    sign_in(page, coordinator.email)
    page.goto(f"/manage/sessions/{session_id}/evaluations")
    expect(page.get_by_role("heading", level=1)).to_have_text("Evaluation forms not returned")
    expect(page.get_by_role("table", name="After the course: people who have not submitted the form")
           ).to_contain_text("Nia Notyet")
    assert_accessible(page)


def test_a_long_list_of_forms_is_a_page_away_from_my_training(page, app, monkeypatch):
    monkeypatch.setitem(app.config, "EVALUATION_FORMS_PAGE_SIZE", 5)
    person = UserFactory(email="many.forms@example.org")
    for day in range(1, 13):
        attended_booking(user=person, session=past_session(
            ended_days_ago=day, course=CourseFactory(title=f"Attended {day} days ago")))

    sign_in(page, "many.forms@example.org")
    page.goto("/my-training")
    forms = page.get_by_role("table", name="Evaluation forms to fill in")
    expect(forms.get_by_role("row")).to_have_count(11)  # the header and ten forms
    expect(forms).to_contain_text("Attended 10 days ago")
    expect(forms).not_to_contain_text("Attended 11 days ago")
    page.get_by_role("link", name="See all your 12 evaluation forms to fill in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Evaluation forms to fill in")
    assert_accessible(page)
    page.get_by_role("navigation", name="Pagination").get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"/my-training/evaluations\?page=2$"))
    expect(page.get_by_text("Showing 6 to 10 of 12.")).to_be_visible()
    page.get_by_role("link", name="After the course form for Attended 6 days ago").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("After the course")
    assert_accessible(page)
