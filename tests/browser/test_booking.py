"""Booking journeys in Chromium, checking every page visited with axe-core."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import AgencyFactory, CoordinatorFactory, CourseFactory, SessionFactory, UserFactory
from training.booking import services
from training.booking.models import Booking, BookingStatus
from training.db import utcnow
from training.extensions import db

S = BookingStatus
PASSWORD = "a long enough passphrase"


def _banner(page):
    return page.locator(".govuk-notification-banner")


def _status(booking_id: int) -> BookingStatus:
    db.session.commit()  # a fresh snapshot: the server wrote on its own connection
    return db.session.get(Booking, booking_id).status


def test_register_find_book_see_in_my_training_and_cancel(page):
    AgencyFactory(name="Thameside Council")
    session = SessionFactory(course=CourseFactory(title="Recognising and responding to neglect"), capacity=8)

    page.goto("/register")
    page.get_by_label("Full name").fill("Alex Morgan")
    page.get_by_label("Work email address").fill("alex.morgan@example.org")
    page.get_by_label("Agency").select_option(label="Thameside Council")
    page.get_by_label("Job title").fill("Family support worker")
    page.get_by_label("Line manager's name").fill("Jo Bloggs")
    page.get_by_label("Line manager's email address").fill("jo.bloggs@example.org")
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto("/")
    page.get_by_role("link", name=re.compile("Recognising and responding to neglect")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recognising and responding to neglect")
    expect(page.get_by_text("8 places left")).to_be_visible()
    assert_accessible(page)  # the session page, signed in

    page.get_by_role("button", name="Book a place").click()
    expect(_banner(page)).to_contain_text("You have booked a place on Recognising and responding to neglect")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Cancellation deadline")
    assert_accessible(page)  # the booking page

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="My training").click()
    upcoming = page.get_by_role("table", name="Upcoming courses")
    expect(upcoming).to_contain_text("Booked")
    # Booking opens the before-course evaluation (London model, stage 1).
    expect(page.get_by_role("table", name="Evaluation forms to fill in")).to_contain_text("Before the course")
    assert_accessible(page)  # My training

    upcoming.get_by_role("link", name="Recognising and responding to neglect").click()
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel this place")
    assert_accessible(page)  # the cancel confirmation page
    page.get_by_role("button", name="Yes, cancel this place").click()

    expect(_banner(page)).to_contain_text("has been cancelled")
    expect(page.get_by_text("You have no upcoming courses")).to_be_visible()
    db.session.commit()
    booking = db.session.scalars(select(Booking).where(Booking.session_id == session.id)).one()
    assert booking.status == S.CANCELLED


def test_anonymous_session_page_offers_sign_in(page):
    session = SessionFactory(course=CourseFactory(title="Prevent awareness"), venue=None,
                             online_link="https://meet.example.org/prevent")
    UserFactory(email="pat@example.org")
    page.goto(f"/sessions/{session.id}")
    expect(page.get_by_text("Online", exact=True)).to_be_visible()
    expect(page.get_by_text("https://meet.example.org/prevent")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("button", name="Sign in to book").click()
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.get_by_label("Email address").fill("pat@example.org")
    page.get_by_label("Password", exact=True).fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Prevent awareness")
    expect(page.get_by_role("button", name="Book a place")).to_be_visible()


def test_full_session_waiting_list_then_offer_then_accept(page):
    session = SessionFactory(course=CourseFactory(title="Domestic abuse and children"), capacity=1)
    holder = UserFactory()
    held = services.book_place(session.id, holder)
    UserFactory(email="wait@example.org")

    sign_in(page, "wait@example.org")
    page.goto(f"/sessions/{session.id}")
    expect(page.get_by_text("Full: you can join the waiting list")).to_be_visible()
    assert_accessible(page)  # a full session
    page.get_by_role("button", name="Join the waiting list").click()
    expect(_banner(page)).to_contain_text("You are number 1 on the waiting list")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Number 1")
    assert_accessible(page)  # a waiting-list booking

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="My training").click()
    expect(page.get_by_role("table", name="Waiting lists you are on")).to_contain_text("Number 1")
    assert_accessible(page)

    services.cancel_booking(held.id, holder)  # the place is freed and offered

    page.reload()
    offers = page.get_by_role("table", name="Places offered to you")
    expect(offers).to_contain_text("Domestic abuse and children")
    assert_accessible(page)  # My training with an offer
    offers.get_by_role("button", name=re.compile("^Accept")).click()
    expect(_banner(page)).to_contain_text("You have accepted the place on Domestic abuse and children")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Booked")
    assert_accessible(page)
    db.session.commit()
    mine = db.session.scalars(
        select(Booking).where(Booking.session_id == session.id, Booking.user_id != holder.id)
    ).one()
    assert mine.status == S.CONFIRMED


def test_transfer_with_an_error_then_to_a_colleague(page):
    agency = AgencyFactory()
    session = SessionFactory(course=CourseFactory(title="Child sexual abuse"))
    person = UserFactory(email="giver@example.org", agency=agency)
    UserFactory(email="taker@example.org", name="Tara Taker", agency=agency)
    booking = services.book_place(session.id, person)

    sign_in(page, "giver@example.org")
    page.goto(f"/bookings/{booking.id}")
    page.get_by_role("link", name="Transfer to a colleague").click()
    assert_accessible(page)
    field = page.get_by_label("Your colleague's work email address")
    field.fill("taker at example")
    page.get_by_role("button", name="Transfer place").click()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter an email address in the correct format")
    assert_accessible(page)  # the form with an error
    field.fill("taker@example.org")
    page.get_by_role("button", name="Transfer place").click()
    expect(_banner(page)).to_contain_text("has been transferred to Tara Taker")
    assert _status(booking.id) == S.TRANSFERRED


def test_coordinator_bookings_page_book_on_behalf_overbook_and_move(page):
    course = CourseFactory(title="Exploitation: county lines")
    session = SessionFactory(course=course, capacity=1)
    other = SessionFactory(course=CourseFactory(title="Exploitation: online grooming"), capacity=10)
    held = services.book_place(session.id, UserFactory(name="Hana Holder"))
    services.book_place(session.id, UserFactory(name="Will Waiting"))
    UserFactory(name="Olu Over", email="olu@example.org")
    CoordinatorFactory(email="coord@example.org")

    sign_in(page, "coord@example.org")
    page.goto(f"/manage/sessions/{session.id}/bookings")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bookings: Exploitation: county lines")
    expect(page.get_by_role("table", name="Waiting list, in order")).to_contain_text("Will Waiting")
    assert_accessible(page)

    page.get_by_label("Work email address of the person to book").fill("nobody@example.org")
    page.get_by_role("button", name="Book place").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("There is no account with that email address")
    assert_accessible(page)  # the page with a form error

    page.get_by_label("Work email address of the person to book").fill("olu@example.org")
    page.get_by_label("Overbook if the session is full").check()
    page.get_by_role("button", name="Book place").click()
    expect(_banner(page)).to_contain_text("Olu Over has been booked on the session as an overbooking")
    booked = page.get_by_role("table", name="People with a place")
    expect(booked.get_by_role("row", name=re.compile("Olu Over"))).to_contain_text("Overbooked")

    booked.get_by_role("link", name="Move Hana Holder").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Move Hana Holder's booking")
    assert_accessible(page)  # the move page
    page.get_by_label("Session to move to").select_option(value=str(other.id))
    page.get_by_role("button", name="Move booking").click()
    expect(_banner(page)).to_contain_text("Hana Holder has been moved to Exploitation: online grooming")
    # The overbooking still fills the only place, so the person waiting keeps waiting.
    expect(page.get_by_role("table", name="Waiting list, in order")).to_contain_text("Will Waiting")
    expect(page.get_by_role("table", name="Cancelled and past bookings")).to_contain_text("Moved to another session")
    assert_accessible(page)
    assert _status(held.id) == S.MOVED

    page.get_by_role("table", name="People with a place").get_by_role(
        "link", name="Cancel Olu Over's place").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel this place")
    assert_accessible(page)  # cancelling on someone's behalf
    page.get_by_role("button", name="Yes, cancel this place").click()
    expect(_banner(page)).to_contain_text("Olu Over's place on Exploitation: county lines")
    expect(page.get_by_role("table", name="Places offered from the waiting list")).to_contain_text("Will Waiting")


def test_a_long_history_is_a_page_away_from_my_training(page, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAST_COURSES_PAGE_SIZE", 5)
    person = UserFactory(email="long.history@example.org")
    now = utcnow()
    for day in range(1, 13):
        session = SessionFactory(course=CourseFactory(title=f"Course taken {day} days ago"),
                                 starts_at=now - timedelta(days=day), booking_closes_at=now - timedelta(days=day + 1))
        db.session.add(Booking(session_id=session.id, user_id=person.id, status=S.CONFIRMED, confirmed_at=now))
    db.session.commit()

    sign_in(page, "long.history@example.org")
    page.goto("/my-training")
    expect(page.get_by_role("link", name="Course taken 10 days ago")).to_be_visible()
    expect(page.get_by_role("link", name="Course taken 11 days ago")).to_have_count(0)
    page.get_by_role("link", name="See all your 12 past courses").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Past courses")
    assert_accessible(page)
    page.get_by_role("navigation", name="Pagination").get_by_role("link", name="Next").click()
    expect(page).to_have_url(re.compile(r"/my-training/past\?page=2$"))
    expect(page.get_by_text("Showing 6 to 10 of 12.")).to_be_visible()
    expect(page.get_by_role("link", name="Course taken 6 days ago")).to_be_visible()
    assert_accessible(page)
