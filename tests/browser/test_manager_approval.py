"""Manager approval in Chromium, with axe-core checking every page: a person books a course that
needs approval, their manager opens the emailed link without signing in and approves; another
manager declines with a reason; a broken link gets a clear page."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import CoordinatorFactory, CourseFactory, SessionFactory, UserFactory
from training.booking import services
from training.booking.approval import make_token
from training.booking.models import Booking, BookingStatus
from training.extensions import db

TITLE = "Child protection level 2"


def _session(capacity: int = 5):
    course = CourseFactory(title=TITLE, requires_approval=True)
    return SessionFactory(course=course, capacity=capacity)


def _status(booking_id: int) -> BookingStatus:
    db.session.commit()
    return db.session.get(Booking, booking_id).status


def test_a_person_books_and_their_manager_approves_from_the_link(page, browser, live_server):
    session = _session()
    person = UserFactory(name="Amara Okafor", manager_name="Grace Adeyemi")

    sign_in(page, person.email)
    page.goto(f"/sessions/{session.id}")
    expect(page.locator("main")).to_contain_text("Your line manager must approve this booking")
    assert_accessible(page)
    page.get_by_role("button", name="Book a place").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "We have asked Grace Adeyemi to approve your booking")
    expect(page.locator("main .govuk-tag").first).to_have_text("Awaiting manager approval")
    assert_accessible(page)
    page.goto("/my-training")
    expect(page.get_by_role("heading", name="Waiting for your manager's approval")).to_be_visible()
    assert_accessible(page)

    db.session.commit()  # end the test's read transaction to see the booking the browser made
    booking = db.session.query(Booking).filter_by(user_id=person.id).one()
    token = make_token(booking)

    # The manager has no account: a fresh browser context, never signed in.
    manager = browser.new_context(base_url=live_server).new_page()
    try:
        manager.goto(f"/approval/{token}")
        expect(manager.get_by_role("heading", level=1)).to_have_text("Approve a training booking")
        expect(manager.locator("main")).to_contain_text("Amara Okafor")
        expect(manager.locator("main")).to_contain_text("We are holding a place until")
        assert_accessible(manager)
        assert _status(booking.id) == BookingStatus.AWAITING_APPROVAL  # opening the link changed nothing

        manager.get_by_role("button", name="Approve booking").click()
        expect(manager.locator(".govuk-notification-banner--success")).to_contain_text(
            "You have approved Amara Okafor's booking")
        expect(manager.get_by_role("heading", level=1)).to_have_text("Booking approved")
        expect(manager.locator("main")).to_contain_text("This booking has already been approved")
        expect(manager.get_by_role("button", name="Approve booking")).to_have_count(0)
        assert_accessible(manager)
    finally:
        manager.context.close()
    assert _status(booking.id) == BookingStatus.CONFIRMED

    page.goto("/my-training")
    expect(page.get_by_role("heading", name="Waiting for your manager's approval")).to_have_count(0)
    expect(page.locator("main")).to_contain_text(TITLE)
    assert_accessible(page)


def test_a_manager_declines_with_a_reason_and_the_coordinator_sees_the_lists(page):
    session = _session(capacity=1)
    person = UserFactory(name="Tomasz Nowak")
    booking = services.book_place(session.id, person)
    waiting = UserFactory(name="First Waiting")
    coordinator = CoordinatorFactory()
    services.book_on_behalf(session.id, waiting.email, coordinator)

    page.goto(f"/approval/{make_token(booking)}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Approve a training booking")
    assert_accessible(page)
    page.get_by_label("Reason (optional)").fill("x" * 501)
    page.get_by_role("button", name="Decline booking").click()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Reason must be 500 characters or fewer")
    assert_accessible(page)
    assert _status(booking.id) == BookingStatus.AWAITING_APPROVAL

    page.get_by_label("Reason (optional)").fill("Not this quarter: we are short-staffed")
    page.get_by_role("button", name="Decline booking").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "You have declined Tomasz Nowak's booking")
    expect(page.get_by_role("heading", level=1)).to_have_text("Booking declined")
    assert_accessible(page)
    assert _status(booking.id) == BookingStatus.NOT_APPROVED

    sign_in(page, coordinator.email)
    page.goto(f"/manage/sessions/{session.id}/bookings")
    expect(page.locator("main")).to_contain_text("Not approved by manager")
    expect(page.locator("main")).to_contain_text("Open offers (1)")
    assert_accessible(page)


def test_the_coordinator_sees_requests_awaiting_approval(page):
    session = _session(capacity=1)
    services.book_place(session.id, UserFactory(name="Held Person"))
    services.book_place(session.id, UserFactory(name="Unheld Person"))
    coordinator = CoordinatorFactory()
    sign_in(page, coordinator.email)
    page.goto(f"/manage/sessions/{session.id}/bookings")
    expect(page.get_by_role("heading", name="Waiting for manager approval (2)")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Bookings you make here do not")
    assert_accessible(page)


def test_a_broken_link_gets_a_clear_page(page):
    booking = services.book_place(_session().id, UserFactory())
    token = make_token(booking)
    response = page.goto(f"/approval/{token[:-3]}")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
    assert_accessible(page)
