"""The catalogue in Chromium: public pages and every coordinator page, each checked with axe-core."""
from __future__ import annotations

import re
from datetime import time, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import BookingFactory, CoordinatorFactory, CourseFactory, SessionFactory, TrainerFactory
from training.catalogue.models import CourseFormat, CourseSession, SessionStatus, Theme
from training.db import utcnow
from training.extensions import db
from training.timeutil import london_to_utc


def _day(days: int):
    return (utcnow() + timedelta(days=days)).date()


def _at(days: int, hour: int = 10):
    return london_to_utc(_day(days), time(hour, 0))


def test_catalogue_filters_and_course_page(page, app, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOGUE_PAGE_SIZE", 2)
    neglect = CourseFactory(title="Neglect: spotting the signs", themes=[Theme.NEGLECT],
                            learning_outcomes="Recognise neglect\nUse the neglect toolkit")
    online = CourseFactory(title="Online safety for practitioners", format=CourseFormat.VIRTUAL,
                           themes=[Theme.ONLINE_SAFETY])
    SessionFactory(course=neglect, starts_at=_at(5), ends_at=_at(5, 13), capacity=1)
    BookingFactory(session=db.session.scalar(select(CourseSession).where(CourseSession.course_id == neglect.id)))
    SessionFactory(course=neglect, starts_at=_at(9), ends_at=_at(9, 13))
    SessionFactory(course=online, starts_at=_at(7), ends_at=_at(7, 12), venue=None,
                   online_link="https://meet.example.org/hidden")
    SessionFactory(course=online, starts_at=_at(11), ends_at=_at(11, 12), venue=None,
                   online_link="https://meet.example.org/hidden", booking_closes_at=utcnow() - timedelta(hours=1))

    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a course")
    expect(page.get_by_role("heading", level=2, name="4 sessions")).to_be_visible()
    expect(page.get_by_text("Waiting list")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("meet.example.org")
    assert_accessible(page)

    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.get_by_text("Booking closed")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Virtual (online)").check()
    page.get_by_label("Only show sessions with places available").check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"format=virtual"))
    expect(page.get_by_role("heading", level=2, name="1 session")).to_be_visible()
    expect(page.get_by_role("heading", level=3)).to_have_count(1)
    expect(page.get_by_role("heading", level=3)).to_contain_text("Online safety for practitioners")
    expect(page.get_by_label("Virtual (online)")).to_be_checked()
    assert_accessible(page)

    page.get_by_label("Only show sessions with places available").uncheck()
    page.get_by_label("Virtual (online)").uncheck()
    page.get_by_label("Neglect", exact=True).check()
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("heading", level=2, name="2 sessions")).to_be_visible()
    page.get_by_role("link", name="Clear filters").click()
    expect(page.get_by_role("heading", level=2, name="4 sessions")).to_be_visible()

    page.goto(f"/courses/{neglect.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Neglect: spotting the signs")
    expect(page.get_by_role("listitem").filter(has_text="Use the neglect toolkit")).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Waiting list")
    assert_accessible(page)

    page.goto(f"/courses/{online.id}")
    expect(page.locator("body")).not_to_contain_text("meet.example.org")
    assert_accessible(page)


def test_coordinator_pages(page):
    coordinator = CoordinatorFactory()
    TrainerFactory(name="Tara Trainer")
    existing = CourseFactory(title="Domestic abuse and children")
    upcoming = SessionFactory(course=existing, starts_at=_at(14), ends_at=_at(14, 12), capacity=10)
    BookingFactory(session=upcoming)
    SessionFactory(course=existing, starts_at=_at(-30), ends_at=_at(-30, 12))
    SessionFactory(course=existing, starts_at=_at(20), ends_at=_at(20, 12), status=SessionStatus.CANCELLED)

    sign_in(page, coordinator.email)
    page.goto("/manage/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Manage training")
    expect(page.get_by_role("table")).to_contain_text("1 of 10")
    assert_accessible(page)

    page.get_by_role("link", name="Courses and sessions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Courses")
    assert_accessible(page)

    page.get_by_role("button", name="Add a course").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a course")
    assert_accessible(page)
    page.get_by_label("Course title").fill("Domestic abuse and children")
    page.get_by_role("button", name="Save course").click()
    expect(page).to_have_title(re.compile(r"^Error: Add a course"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter a summary of the course")
    expect(summary).to_contain_text("Select the level of the course")
    expect(summary).to_contain_text("Select at least one priority theme")
    for legend in ("Level", "Format", "Duration", "Priority themes"):
        expect(page.get_by_role("group", name=legend, exact=True)).to_be_visible()
    assert_accessible(page)  # the form with errors

    page.get_by_label("Summary").fill("How domestic abuse affects children, and what to do.")
    page.get_by_label("Learning outcomes").fill("Understand coercive control\nKnow the MARAC process")
    page.get_by_label("Level 2").check()
    page.get_by_label("Virtual (online)").check()
    page.get_by_label("Hours").fill("2")
    page.get_by_label("Minutes").fill("30")
    page.get_by_label("Domestic violence and abuse").check()
    page.get_by_role("button", name="Save course").click()
    expect(page).to_have_title(re.compile(r"^Error: Add a course"))
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "There is already a course with this title. Enter a different title")
    assert_accessible(page)
    page.get_by_label("Course title").fill("Domestic abuse: impact on children")
    page.get_by_role("button", name="Save course").click()

    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Course added")
    expect(page.get_by_role("heading", level=1)).to_have_text("Domestic abuse: impact on children")
    assert_accessible(page)

    page.get_by_role("button", name="Add a session").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a session")
    for legend in ("Type of session", "Date", "Trainers", "Date booking closes (optional)"):
        expect(page.get_by_role("group", name=legend, exact=True)).to_be_visible()
    # A virtual course: offered as a training session, but the coordinator may choose a workshop.
    expect(page.get_by_role("radio", name="Training session")).to_be_checked()
    expect(page.get_by_role("radio", name="Workshop")).not_to_be_checked()
    assert_accessible(page)
    page.get_by_role("radio", name="Workshop").check()
    day = _day(40)
    page.get_by_label("Day").first.fill(str(day.day))
    page.get_by_label("Month").first.fill(str(day.month))
    page.get_by_label("Year").first.fill(str(day.year))
    page.get_by_label("Start time").fill("10:00")
    page.get_by_label("End time").fill("09:00")
    page.get_by_label("Online joining link").fill("http://meet.example.org/abc")
    page.get_by_label("Number of places").fill("0")
    page.get_by_label("Tara Trainer").check()
    page.get_by_role("button", name="Save session").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Number of places must be between 1 and 1,000")
    assert_accessible(page)  # the session form with errors
    page.get_by_label("Number of places").fill("16")
    page.get_by_role("button", name="Save session").click()
    expect(summary).to_contain_text("The end time must be after the start time")
    expect(summary).to_contain_text("Enter a joining link in the correct format")
    page.get_by_label("End time").fill("12:30")
    page.get_by_label("Online joining link").fill("https://meet.example.org/abc")
    page.get_by_role("button", name="Save session").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Session added")
    expect(page.get_by_role("table").first).to_contain_text("0 of 16")
    expect(page.get_by_role("table").first).to_contain_text("Workshop")
    assert_accessible(page)

    # The existing course's page, with upcoming, cancelled and past sessions, and its actions.
    page.goto(f"/manage/courses/{existing.id}")
    expect(page.get_by_role("heading", level=2, name="Past sessions")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"^Change session on")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change session")
    assert_accessible(page)

    page.goto(f"/manage/courses/{existing.id}")
    page.get_by_role("button", name=re.compile(r"^Duplicate session on")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a session")
    expect(page.get_by_text("Copied from the session on")).to_be_visible()
    assert_accessible(page)

    page.goto(f"/manage/sessions/{upcoming.id}/cancel")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel this session?")
    assert_accessible(page)
    page.get_by_role("button", name="Cancel session").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the reason for cancelling the session")
    assert_accessible(page)
    page.get_by_label("Why is the session being cancelled?").fill("The trainer is unwell")
    page.get_by_role("button", name="Cancel session").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Session cancelled")
    db.session.rollback()  # end the test's read transaction to see what the server committed
    assert db.session.get(CourseSession, upcoming.id).status == SessionStatus.CANCELLED

    page.goto(f"/manage/courses/{existing.id}/edit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Change course details")
    assert_accessible(page)
