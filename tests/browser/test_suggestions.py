"""Course suggestions in Chromium, with axe-core checking every page: a professional suggests a
course, the coordinator reviews and decides, and the professional sees the decision and reason."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import AgencyFactory, CoordinatorFactory, UserFactory
from training.catalogue.models import Course
from training.extensions import db
from training.suggestions.models import CourseSuggestion, SuggestionStatus

TITLE = "Safeguarding children with SEND"


def _suggest(page) -> None:
    """Suggest the course through the form, making a mistake first."""
    page.goto("/suggestions/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your course suggestions")
    expect(page.locator("main")).to_contain_text("You have not suggested any courses.")
    assert_accessible(page)

    page.get_by_role("button", name="Suggest a course").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Suggest a course")
    assert_accessible(page)
    page.get_by_label("Course title").fill(TITLE)
    page.get_by_label("What need would the course meet?").fill("Staff miss signs of abuse in disabled children")
    page.get_by_label("Who is the course for?").fill("Teachers, health visitors and youth workers")
    page.get_by_label("How many people would benefit?").fill("about 200")
    page.get_by_role("button", name="Send suggestion").click()
    expect(page).to_have_title(re.compile(r"^Error: Suggest a course"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter the evidence for the need")
    expect(summary).to_contain_text("Enter how many people would benefit, as a whole number")
    assert_accessible(page)

    page.get_by_label("What is the evidence for the need?").fill("Thematic review of three cases, spring 2026")
    page.get_by_label("How many people would benefit?").fill("200")
    page.get_by_role("button", name="Send suggestion").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Suggestion sent")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("main .govuk-tag")).to_have_text("Submitted")
    assert_accessible(page)


def _open_as_coordinator(page, coordinator) -> None:
    sign_in(page, coordinator.email)
    page.goto("/suggestions/manage")
    expect(page.get_by_role("heading", level=1)).to_have_text("Course suggestions")
    assert_accessible(page)
    page.get_by_label("Status").select_option("submitted")
    page.get_by_role("button", name="Show suggestions").click()
    expect(page.locator("main table").nth(1)).to_contain_text(TITLE)
    assert_accessible(page)
    page.get_by_role("link", name=TITLE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    assert_accessible(page)
    page.get_by_role("button", name="Start review").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Review started")
    assert_accessible(page)


def test_a_suggestion_is_agreed_turned_into_a_draft_course_and_the_suggester_sees_why(page):
    agency = AgencyFactory(name="Thameside Primary School")
    professional = UserFactory(agency=agency)
    coordinator = CoordinatorFactory()

    sign_in(page, professional.email)
    _suggest(page)
    page.get_by_role("button", name="Sign out").click()

    _open_as_coordinator(page, coordinator)
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Select whether the subgroup agrees or declines the suggestion")
    assert_accessible(page)
    page.get_by_label("Agree").check()
    page.get_by_label("Reason").fill("Agreed at the June subgroup: a gap in the programme")
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Suggestion agreed")
    assert_accessible(page)
    page.get_by_role("button", name="Create draft course").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change course details")
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Draft course created")
    expect(page.get_by_label("Course title")).to_have_value(TITLE)
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, professional.email)
    page.goto("/suggestions/")
    row = page.locator("main tbody tr", has_text=TITLE)
    expect(row).to_contain_text("Agreed")
    expect(row).to_contain_text("Agreed at the June subgroup: a gap in the programme")
    assert_accessible(page)
    page.get_by_role("link", name=TITLE).click()
    expect(page.locator("main")).to_contain_text("The training team is preparing the course.")
    assert_accessible(page)

    db.session.rollback()  # end the test's read snapshot to see what the server wrote
    suggestion = db.session.query(CourseSuggestion).one()
    assert suggestion.status == SuggestionStatus.AGREED and suggestion.agency_id == agency.id
    assert db.session.get(Course, suggestion.course_id).active is False


def test_a_suggestion_is_declined_with_a_reason_the_suggester_sees(page):
    professional = UserFactory()
    coordinator = CoordinatorFactory()

    sign_in(page, professional.email)
    _suggest(page)
    page.get_by_role("button", name="Sign out").click()

    _open_as_coordinator(page, coordinator)
    page.get_by_label("Decline").check()
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter why the subgroup declined the suggestion")
    assert_accessible(page)
    page.get_by_label("Reason").fill("The new Level 3 course covers disabled children from September")
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Suggestion declined")
    expect(page.get_by_role("button", name="Create draft course")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, professional.email)
    page.goto("/suggestions/")
    row = page.locator("main tbody tr", has_text=TITLE)
    expect(row).to_contain_text("Declined")
    expect(row).to_contain_text("The new Level 3 course covers disabled children from September")
    page.get_by_role("link", name=TITLE).click()
    expect(page.locator("main")).to_contain_text("The new Level 3 course covers disabled children from September")
    assert_accessible(page)
