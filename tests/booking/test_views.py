"""The booking pages: what they show, who may see them, and bad input."""
from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from tests.booking.helpers import assert_places_consistent, status_of
from tests.factories import (
    AgencyFactory,
    CoordinatorFactory,
    CourseFactory,
    SessionFactory,
    TrainerFactory,
    UserFactory,
)
from tests.sql import recorded_statements
from training.booking import services
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import CourseFormat, CourseSession
from training.db import utcnow, write_transaction
from training.extensions import db
from training.timeutil import london_to_utc

S = BookingStatus
LINK = "https://meet.example.org/safeguarding-123"


def _text(response) -> str:
    return response.get_data(as_text=True)


def _bookings() -> int:
    return db.session.scalar(select(func.count(Booking.id)))


def _full_session(capacity=1, **kw):
    session = SessionFactory(capacity=capacity, **kw)
    holders = UserFactory.create_batch(capacity)
    held = [services.book_place(session.id, h) for h in holders]
    return session, holders, held


# ---------------------------------------------------------------------------
# The public session page
# ---------------------------------------------------------------------------

def test_session_page_shows_the_details_in_london_time(client):
    trainer = TrainerFactory(name="Priya Shah")
    course = CourseFactory(title="Working Together to Safeguard Children", duration_minutes=150,
                           format=CourseFormat.FACE_TO_FACE)
    starts = london_to_utc(date(2031, 7, 8), time(9, 30))  # BST: 08:30 UTC
    session = SessionFactory(course=course, starts_at=starts, ends_at=starts + timedelta(hours=2, minutes=30),
                             booking_closes_at=london_to_utc(date(2031, 7, 1), time(17, 0)),
                             venue="Civic Centre\nCommittee Room 2", capacity=12, trainers=[trainer])
    response = client.get(f"/sessions/{session.id}")
    page = _text(response)
    assert response.status_code == 200
    assert "Working Together to Safeguard Children" in page
    assert "Tuesday 8 July 2031, 9:30am to 12:00pm" in page
    assert "2 hours 30 minutes" in page
    assert "Face to face" in page
    assert "Civic Centre<br>Committee Room 2" in page
    assert "Priya Shah" in page
    assert "12 places left" in page
    assert "Tuesday 1 July 2031, 5:00pm" in page


def test_anonymous_people_are_asked_to_sign_in_to_book(client):
    session = SessionFactory()
    page = _text(client.get(f"/sessions/{session.id}"))
    assert "Sign in to book" in page
    assert f'href="/sign-in?next=/sessions/{session.id}"' in page
    assert "Book a place</button>" not in page


def test_signed_in_people_get_a_book_button_or_the_waiting_list(login_as):
    open_session = SessionFactory(capacity=3)
    full, _, _ = _full_session()
    client = login_as(UserFactory())
    page = _text(client.get(f"/sessions/{open_session.id}"))
    assert f'action="/sessions/{open_session.id}/book"' in page
    assert "Book a place" in page
    page = _text(client.get(f"/sessions/{full.id}"))
    assert "Join the waiting list" in page
    assert "Full: you can join the waiting list" in page


def test_the_session_page_shows_your_status_instead_of_the_button(login_as):
    session, _, _ = _full_session(capacity=1)
    person = UserFactory()
    services.book_place(session.id, UserFactory())  # someone already waiting
    booking = services.book_place(session.id, person)
    page = _text(login_as(person).get(f"/sessions/{session.id}"))
    assert "You are number 2 on the waiting list" in page
    assert "/book\"" not in page
    assert f"/bookings/{booking.id}" in page


@pytest.mark.parametrize("scene", ["closed", "cancelled", "past"])
def test_the_session_page_says_why_booking_is_not_possible(login_as, scene):
    now = utcnow()
    if scene == "closed":
        session = SessionFactory(booking_closes_at=now - timedelta(hours=1))
        message = "Booking for this session has closed"
    elif scene == "past":
        session = SessionFactory(starts_at=now - timedelta(days=2), booking_closes_at=now - timedelta(days=3))
        message = "This session has already taken place"
    else:
        session = SessionFactory()
        with write_transaction():
            db.session.get(CourseSession, session.id).cancel(now, "Trainer unwell")
        message = "This session has been cancelled"
    page = _text(login_as(UserFactory()).get(f"/sessions/{session.id}"))
    assert message in page
    assert f'action="/sessions/{session.id}/book"' not in page


def test_unknown_and_malformed_session_ids_are_not_found(client, login_as):
    assert client.get("/sessions/999999").status_code == 404
    assert client.get("/sessions/abc").status_code == 404
    assert client.get("/sessions/-1").status_code == 404
    signed_in = login_as(UserFactory())
    assert signed_in.post("/sessions/999999/book").status_code == 404
    assert signed_in.post("/sessions/abc/book").status_code == 404
    assert _bookings() == 0


# ---------------------------------------------------------------------------
# The joining link rule, in the views
# ---------------------------------------------------------------------------

def test_joining_link_shown_only_to_confirmed_bookers_trainers_and_coordinators(client, login_as):
    trainer = TrainerFactory()
    session = SessionFactory(capacity=1, venue=None, online_link=LINK, trainers=[trainer])
    confirmed, waiting, stranger, other_trainer = UserFactory(), UserFactory(), UserFactory(), TrainerFactory()
    held = services.book_place(session.id, confirmed)
    queued = services.book_place(session.id, waiting)
    url = f"/sessions/{session.id}"

    assert LINK in _text(login_as(confirmed).get(url))
    assert LINK in _text(login_as(confirmed).get(f"/bookings/{held.id}"))
    assert LINK in _text(login_as(trainer).get(url))
    assert LINK in _text(login_as(CoordinatorFactory()).get(url))
    for viewer in (waiting, stranger, other_trainer):
        page = _text(login_as(viewer).get(url))
        assert LINK not in page
        assert "Online" in page
    assert LINK not in _text(login_as(waiting).get(f"/bookings/{queued.id}"))
    assert LINK not in _text(client.get(url))

    services.cancel_booking(held.id, confirmed)
    assert LINK not in _text(login_as(confirmed).get(url))
    assert LINK not in _text(login_as(confirmed).get(f"/bookings/{held.id}"))


# ---------------------------------------------------------------------------
# Booking through the page
# ---------------------------------------------------------------------------

def test_booking_redirects_to_the_booking_with_a_confirmation(login_as):
    session = SessionFactory()
    person = UserFactory()
    client = login_as(person)
    response = client.post(f"/sessions/{session.id}/book")
    booking = db.session.scalars(select(Booking)).one()
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/bookings/{booking.id}")
    assert booking.user_id == person.id
    assert booking.status == S.CONFIRMED
    page = _text(client.get(response.headers["Location"]))
    assert "You have booked a place on" in page
    assert "Booked" in page


def test_booking_a_full_session_tells_you_your_position(login_as):
    session, _, _ = _full_session()
    client = login_as(UserFactory())
    response = client.post(f"/sessions/{session.id}/book", follow_redirects=True)
    assert "You are number 1 on the waiting list" in _text(response)


def test_booking_refused_shows_the_reason_and_changes_nothing(login_as):
    session = SessionFactory(booking_closes_at=utcnow() - timedelta(minutes=5))
    client = login_as(UserFactory())
    response = client.post(f"/sessions/{session.id}/book")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/sessions/{session.id}")
    assert "Booking for this session has closed" in _text(client.get(response.headers["Location"]))
    assert _bookings() == 0


def test_booking_twice_is_refused_with_a_message(login_as):
    session = SessionFactory()
    person = UserFactory()
    services.book_place(session.id, person)
    client = login_as(person)
    page = _text(client.post(f"/sessions/{session.id}/book", follow_redirects=True))
    assert "You already have a booking or waiting list place for this session" in page
    assert _bookings() == 1


def test_anonymous_booking_goes_to_sign_in(client):
    session = SessionFactory()
    response = client.post(f"/sessions/{session.id}/book")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]
    assert _bookings() == 0


# ---------------------------------------------------------------------------
# My training
# ---------------------------------------------------------------------------

def test_my_training_lists_bookings_waiting_places_offers_and_past(login_as):
    now = utcnow()
    person = UserFactory()
    upcoming = SessionFactory(course=CourseFactory(title="Neglect: recognising and responding"))
    waiting_session, _, _ = _full_session(course=CourseFactory(title="Exploitation awareness"))
    offer_session, holders, held = _full_session(course=CourseFactory(title="Online safety"))
    past = SessionFactory(course=CourseFactory(title="Prevent duty"), starts_at=now - timedelta(days=5),
                          booking_closes_at=now - timedelta(days=6))
    services.book_place(upcoming.id, person)
    services.book_place(waiting_session.id, person)
    offered = services.book_place(offer_session.id, person)
    services.cancel_booking(held[0].id, holders[0])
    db.session.add(Booking(session_id=past.id, user_id=person.id, status=S.CONFIRMED, confirmed_at=now))
    db.session.commit()

    page = _text(login_as(person).get("/my-training"))
    assert "Neglect: recognising and responding" in page
    assert "Exploitation awareness" in page and "Number 1" in page
    assert "Places offered to you" in page and "Online safety" in page
    assert f'action="/bookings/{offered.id}/accept"' in page
    assert f'action="/bookings/{offered.id}/decline"' in page
    assert "Past courses" in page and "Prevent duty" in page


def test_my_training_shows_only_your_own_bookings(login_as):
    session = SessionFactory(course=CourseFactory(title="Someone else's course"))
    services.book_place(session.id, UserFactory())
    page = _text(login_as(UserFactory()).get("/my-training"))
    assert "Someone else&#39;s course" not in page and "Someone else's course" not in page
    assert "You have no upcoming courses" in page


def test_my_training_needs_sign_in(client):
    response = client.get("/my-training")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def _past_places(person, n: int, title: str = "Past course") -> list[Booking]:
    """n confirmed places on sessions that started 1..n days ago, the latest first."""
    now = utcnow()
    bookings = []
    for day in range(1, n + 1):
        session = SessionFactory(course=CourseFactory(title=f"{title} {day}"), starts_at=now - timedelta(days=day),
                                 booking_closes_at=now - timedelta(days=day + 1))
        bookings.append(Booking(session_id=session.id, user_id=person.id, status=S.CONFIRMED, confirmed_at=now))
    db.session.add_all(bookings)
    db.session.commit()
    return bookings


def _past_titles(page: str) -> list[str]:
    return re.findall(r'href="/bookings/\d+">(Past course \d+)</a>', page)


def test_my_training_shows_the_latest_ten_past_courses_and_links_to_the_rest(login_as):
    person = UserFactory()
    _past_places(person, 12)
    web = login_as(person)
    page = _text(web.get("/my-training"))
    assert _past_titles(page) == [f"Past course {d}" for d in range(1, 11)]
    assert '<a class="govuk-link" href="/my-training/past">See all your 12 past courses</a>' in page
    first = _text(web.get("/my-training/past?page=1"))
    assert _past_titles(first) == [f"Past course {d}" for d in range(1, 13)]  # 25 a page: all of them
    assert "Showing" not in first


def test_past_courses_come_a_page_at_a_time_and_a_bad_page_is_the_nearest(login_as, app, monkeypatch):
    monkeypatch.setitem(app.config, "PAST_COURSES_PAGE_SIZE", 5)
    person = UserFactory()
    _past_places(person, 12)
    web = login_as(person)
    second = _text(web.get("/my-training/past?page=2"))
    assert _past_titles(second) == [f"Past course {d}" for d in range(6, 11)]
    assert "Showing 6 to 10 of 12." in second and "(page 2 of 3)" in second
    assert 'href="/my-training/past?page=3"' in second and 'href="/my-training/past?page=1"' in second
    assert _past_titles(_text(web.get("/my-training/past?page=99"))) == ["Past course 11", "Past course 12"]
    assert _past_titles(_text(web.get("/my-training/past?page=nonsense"))) == _past_titles(
        _text(web.get("/my-training/past")))


def test_past_courses_are_only_your_own_confirmed_places(login_as):
    person, other = UserFactory(), UserFactory()
    _past_places(other, 2, title="Someone else's")
    mine = _past_places(person, 3)
    mine[0].status = S.CANCELLED  # cancelled before the day: not a course you took
    db.session.commit()
    services.book_place(SessionFactory(course=CourseFactory(title="Past course to come")).id, person)
    page = _text(login_as(person).get("/my-training/past"))
    assert _past_titles(page) == ["Past course 2", "Past course 3"]
    assert "Someone else" not in page and "Past course to come" not in page


def test_past_courses_need_sign_in(client):
    response = client.get("/my-training/past")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_someone_with_no_past_courses_is_told_so(login_as):
    page = _text(login_as(UserFactory()).get("/my-training/past"))
    assert "You have no past courses yet." in page and "<table" not in page


def test_past_courses_query_count_does_not_grow_with_history(login_as):
    few, many = UserFactory(), UserFactory()
    _past_places(few, 2, title="Few")
    _past_places(many, 30, title="Many")
    assert _queries_for(login_as(few), "/my-training/past") == _queries_for(login_as(many), "/my-training/past")


def _seed_my_training(person, n: int) -> None:
    """n bookings of every kind the page shows, on distinct courses."""
    now = utcnow()
    for i in range(n):
        kind = i % 4
        if kind == 0:
            services.book_place(SessionFactory().id, person)
        elif kind == 1:
            session, _, _ = _full_session()
            services.book_place(session.id, person)
        elif kind == 2:
            session, holders, held = _full_session()
            services.book_place(session.id, person)
            services.cancel_booking(held[0].id, holders[0])
        else:
            past = SessionFactory(starts_at=now - timedelta(days=i + 1), booking_closes_at=now - timedelta(days=i + 2))
            db.session.add(Booking(session_id=past.id, user_id=person.id, status=S.CONFIRMED, confirmed_at=now))
            db.session.commit()


def _queries_for(client, url: str) -> int:
    client.get(url)  # warm up anything cached per process
    with recorded_statements() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements)


def test_my_training_query_count_does_not_grow_with_bookings(login_as):
    few, many = UserFactory(), UserFactory()
    _seed_my_training(few, 4)  # one of each kind, so every section renders
    _seed_my_training(many, 16)
    assert len(services.my_training(many).upcoming) == 4
    assert _queries_for(login_as(few), "/my-training") == _queries_for(login_as(many), "/my-training")


# ---------------------------------------------------------------------------
# Booking detail, cancel, offers: only your own
# ---------------------------------------------------------------------------

def test_booking_detail_shows_status_and_cancellation_deadline(login_as):
    starts = london_to_utc(date(2031, 3, 31), time(10, 0))  # a Monday, BST
    session = SessionFactory(starts_at=starts, booking_closes_at=starts - timedelta(days=2))
    person = UserFactory()
    booking = services.book_place(session.id, person)
    page = _text(login_as(person).get(f"/bookings/{booking.id}"))
    assert "Booked" in page
    # Fri 28, Thu 27, Wed 26 March: cancel by midnight ending Wednesday 26 March (GMT).
    assert "Cancellation deadline" in page
    assert "11:59pm on Wednesday 26 March 2031" in page
    assert f"/bookings/{booking.id}/cancel" in page
    assert f"/bookings/{booking.id}/transfer" in page


def test_someone_elses_booking_is_not_found_for_every_action(login_as):
    session, holders, held = _full_session()
    owner = UserFactory(agency=holders[0].agency)
    queued = services.book_place(session.id, owner)
    services.cancel_booking(held[0].id, holders[0])  # owner's place is now offered
    intruder = login_as(UserFactory(agency=holders[0].agency))
    for url in (f"/bookings/{queued.id}", f"/bookings/{queued.id}/cancel", f"/bookings/{queued.id}/transfer"):
        assert intruder.get(url).status_code == 404, url
    for url in (f"/bookings/{queued.id}/cancel", f"/bookings/{queued.id}/accept",
                f"/bookings/{queued.id}/decline", f"/bookings/{queued.id}/transfer"):
        assert intruder.post(url, data={"colleague_email": "x@example.org"}).status_code == 404, url
    assert status_of(queued) == S.OFFERED
    # A trainer is no coordinator: still not found.
    assert login_as(TrainerFactory()).get(f"/bookings/{queued.id}").status_code == 404


def test_unknown_and_malformed_booking_ids_are_not_found(login_as):
    client = login_as(UserFactory())
    for url in ("/bookings/999999", "/bookings/abc", "/bookings/999999/cancel", "/bookings/1x/cancel",
                "/bookings/999999/transfer"):
        assert client.get(url).status_code == 404, url
    for url in ("/bookings/999999/accept", "/bookings/abc/decline", "/bookings/999999/cancel"):
        assert client.post(url).status_code == 404, url


def test_a_coordinator_can_see_and_cancel_anyones_booking(login_as):
    session = SessionFactory()
    person = UserFactory(name="Jo Bloggs")
    booking = services.book_place(session.id, person)
    coordinator = login_as(CoordinatorFactory())
    page = _text(coordinator.get(f"/bookings/{booking.id}"))
    assert "Booking for Jo Bloggs" in page
    response = coordinator.post(f"/bookings/{booking.id}/cancel")
    assert response.headers["Location"].endswith(f"/manage/sessions/{session.id}/bookings")
    assert status_of(booking) == S.CANCELLED


def test_cancel_page_warns_before_a_late_cancellation(login_as):
    now = utcnow()
    soon = SessionFactory(starts_at=now + timedelta(days=1), booking_closes_at=now)
    later = SessionFactory(starts_at=now + timedelta(days=30))
    person = UserFactory()
    late_booking = services.book_place(soon.id, person, by=CoordinatorFactory(), now=now)
    fine_booking = services.book_place(later.id, person)
    client = login_as(person)

    page = _text(client.get(f"/bookings/{late_booking.id}/cancel"))
    assert "it will be recorded as a late cancellation" in page
    assert "govuk-warning-text" in page
    page = _text(client.get(f"/bookings/{fine_booking.id}/cancel"))
    assert "recorded as a late cancellation" in page  # the deadline is explained...
    assert "govuk-warning-text" not in page  # ...but there is no warning
    assert status_of(late_booking) == S.CONFIRMED  # looking at the page changes nothing

    page = _text(client.post(f"/bookings/{late_booking.id}/cancel", follow_redirects=True))
    assert "This has been recorded as a late cancellation" in page
    assert status_of(late_booking) == S.LATE_CANCELLED
    client.post(f"/bookings/{fine_booking.id}/cancel")
    assert status_of(fine_booking) == S.CANCELLED


def test_leaving_the_waiting_list_through_the_cancel_page(login_as):
    session, _, _ = _full_session()
    person = UserFactory()
    booking = services.book_place(session.id, person)
    client = login_as(person)
    page = _text(client.get(f"/bookings/{booking.id}/cancel"))
    assert "Leave the waiting list" in page
    response = client.post(f"/bookings/{booking.id}/cancel")
    assert response.headers["Location"].endswith("/my-training")
    assert status_of(booking) == S.WITHDRAWN


def test_cancelling_an_inactive_booking_explains_and_changes_nothing(login_as):
    session = SessionFactory()
    person = UserFactory()
    booking = services.book_place(session.id, person)
    services.cancel_booking(booking.id, person)
    client = login_as(person)
    response = client.post(f"/bookings/{booking.id}/cancel", follow_redirects=True)
    assert "This booking is no longer active" in _text(response)
    assert status_of(booking) == S.CANCELLED


def test_accept_and_decline_offers_from_the_page(login_as):
    session, holders, held = _full_session()
    first, second = UserFactory(), UserFactory()
    q1 = services.book_place(session.id, first)
    q2 = services.book_place(session.id, second)
    services.cancel_booking(held[0].id, holders[0])
    page = _text(login_as(first).post(f"/bookings/{q1.id}/decline", follow_redirects=True))
    assert "offered place" in page and "has been declined" in page
    assert status_of(q1) == S.DECLINED
    assert status_of(q2) == S.OFFERED
    response = login_as(second).post(f"/bookings/{q2.id}/accept")
    assert response.headers["Location"].endswith(f"/bookings/{q2.id}")
    assert status_of(q2) == S.CONFIRMED
    # Accepting again is refused with a message, not an error page.
    page = _text(login_as(second).post(f"/bookings/{q2.id}/accept", follow_redirects=True))
    assert "There is no open offer on this booking" in page


# ---------------------------------------------------------------------------
# Transfer
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Enter your colleague&#39;s work email address"),
        ("not-an-email", "Enter an email address in the correct format, like name@example.com"),
        ("a@b", "Enter an email address in the correct format, like name@example.com"),
        ("stranger@example.org", "There is no account with that email address"),
        ("elsewhere@example.org", "You can only transfer a place to a colleague from the same agency"),
    ],
)
def test_transfer_form_errors_change_nothing(login_as, email, message):
    session = SessionFactory()
    person = UserFactory()
    UserFactory(email="elsewhere@example.org")
    booking = services.book_place(session.id, person)
    response = login_as(person).post(f"/bookings/{booking.id}/transfer", data={"colleague_email": email})
    page = _text(response)
    assert response.status_code == 200
    assert message in page
    assert "govuk-error-summary" in page
    assert "<title>Error:" in page
    assert status_of(booking) == S.CONFIRMED
    assert _bookings() == 1


def test_transfer_to_a_colleague(login_as):
    agency = AgencyFactory()
    session = SessionFactory()
    person = UserFactory(agency=agency)
    colleague = UserFactory(agency=agency, name="Chris Colleague", email="chris@example.org")
    booking = services.book_place(session.id, person)
    client = login_as(person)
    assert "Transfer your place to a colleague" in _text(client.get(f"/bookings/{booking.id}/transfer"))
    response = client.post(f"/bookings/{booking.id}/transfer", data={"colleague_email": "Chris@Example.org"})
    assert response.headers["Location"].endswith("/my-training")
    assert status_of(booking) == S.TRANSFERRED
    assert "has been transferred to Chris Colleague" in _text(client.get("/my-training"))
    assert services.active_booking(session.id, colleague).status == S.CONFIRMED


# ---------------------------------------------------------------------------
# Coordinator pages
# ---------------------------------------------------------------------------

MANAGE_URLS = ("/manage/sessions/{sid}/bookings", "/manage/bookings/{bid}/move")


def test_manage_pages_are_for_coordinators_only(client, login_as):
    session = SessionFactory()
    person = UserFactory()
    booking = services.book_place(session.id, person)
    for url in MANAGE_URLS:
        url = url.format(sid=session.id, bid=booking.id)
        assert login_as(person).get(url).status_code == 403, url
        assert login_as(TrainerFactory()).get(url).status_code == 403, url
        assert "/sign-in" in client.get(url).headers["Location"]
        assert login_as(CoordinatorFactory()).get(url).status_code == 200, url
    # Forbidden posts change nothing either.
    assert login_as(person).post(f"/manage/sessions/{session.id}/bookings",
                                 data={"email": person.email, "overbook": "y"}).status_code == 403
    assert login_as(person).post(f"/manage/bookings/{booking.id}/move",
                                 data={"session_id": str(SessionFactory().id)}).status_code == 403
    assert status_of(booking) == S.CONFIRMED
    assert _bookings() == 1


def test_manage_pages_for_unknown_ids_are_not_found(login_as):
    client = login_as(CoordinatorFactory())
    for url in ("/manage/sessions/999999/bookings", "/manage/sessions/x/bookings",
                "/manage/bookings/999999/move", "/manage/bookings/x/move"):
        assert client.get(url).status_code == 404, url
    assert client.post("/manage/sessions/999999/bookings", data={"email": "a@example.org"}).status_code == 404


def test_coordinator_page_lists_bookings_offers_waiting_list_and_history(login_as):
    session = SessionFactory(capacity=2)
    names = ["Ada Booked", "Ben Cancels", "Cat Offered", "Dan Waiting", "Eve Waiting"]
    people = [UserFactory(name=n) for n in names]
    bookings = [services.book_place(session.id, p) for p in people]
    services.cancel_booking(bookings[1].id, people[1])
    coordinator = CoordinatorFactory()
    over = services.book_place(session.id, UserFactory(name="Fay Overbooked"), by=coordinator, overbook=True)
    page = _text(login_as(coordinator).get(f"/manage/sessions/{session.id}/bookings"))
    booked = page.split("Open offers")[0]
    offers = page.split("Open offers")[1].split("Waiting list (")[0]
    waiting = page.split("Waiting list (")[1].split("Book someone on this session")[0]
    history = page.split("Cancelled and past bookings (")[1]
    assert "Ada Booked" in booked and "Fay Overbooked" in booked and "Overbooked</strong>" in booked
    assert "Cat Offered" in offers
    assert waiting.index("Dan Waiting") < waiting.index("Eve Waiting")
    assert re.search(r">1</td>\s*<td[^>]*><a[^>]*>Dan Waiting", waiting)
    assert re.search(r">2</td>\s*<td[^>]*><a[^>]*>Eve Waiting", waiting)
    assert "Ben Cancels" in history and "Cancelled" in history
    assert f"/manage/bookings/{over.id}/move" in page
    assert f"/bookings/{over.id}/cancel" in page


def test_coordinator_page_query_count_does_not_grow(login_as):
    small, big = SessionFactory(capacity=2), SessionFactory(capacity=6)
    for session, n in ((small, 3), (big, 14)):
        people = [UserFactory(agency=AgencyFactory()) for _ in range(n)]
        bookings = [services.book_place(session.id, p) for p in people]
        services.cancel_booking(bookings[0].id, people[0])  # one offer, one cancelled
    client = login_as(CoordinatorFactory())
    assert _queries_for(client, f"/manage/sessions/{small.id}/bookings") == \
        _queries_for(client, f"/manage/sessions/{big.id}/bookings")


def test_book_on_behalf_and_overbook(login_as):
    session, _, _ = _full_session()
    coordinator = login_as(CoordinatorFactory())
    waiting = UserFactory(name="Wendy Waits", email="wendy@example.org")
    extra = UserFactory(name="Olly Over", email="olly@example.org")
    url = f"/manage/sessions/{session.id}/bookings"

    response = coordinator.post(url, data={"email": "wendy@example.org"})
    assert response.headers["Location"].endswith(url)
    assert services.active_booking(session.id, waiting).status == S.WAITLISTED
    response = coordinator.post(url, data={"email": "OLLY@example.org", "overbook": "y"}, follow_redirects=True)
    assert "Olly Over has been booked on the session as an overbooking" in _text(response)
    booking = services.active_booking(session.id, extra)
    assert booking.status == S.CONFIRMED and booking.overbooked
    assert assert_places_consistent(session.id) == 2


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Enter the work email address of the person to book"),
        ("nope", "Enter an email address in the correct format, like name@example.com"),
        ("nobody@example.org", "There is no account with that email address"),
        ("booked@example.org", "Bea Booked already has a booking or waiting list place for this session"),
    ],
)
def test_book_on_behalf_form_errors(login_as, email, message):
    session = SessionFactory()
    services.book_place(session.id, UserFactory(name="Bea Booked", email="booked@example.org"))
    response = login_as(CoordinatorFactory()).post(f"/manage/sessions/{session.id}/bookings",
                                                   data={"email": email})
    page = _text(response)
    assert response.status_code == 200
    assert "govuk-error-summary" in page
    assert message in page
    assert _bookings() == 1


def test_move_a_booking_from_the_coordinator_pages(login_as):
    source = SessionFactory(capacity=1, course=CourseFactory(title="Source course"))
    target = SessionFactory(capacity=1, course=CourseFactory(title="Target course"))
    holder, waiting = UserFactory(name="Mo Mover"), UserFactory()
    held = services.book_place(source.id, holder)
    queued = services.book_place(source.id, waiting)
    client = login_as(CoordinatorFactory())
    page = _text(client.get(f"/manage/bookings/{held.id}/move"))
    assert "Target course" in page
    assert f'value="{target.id}"' in page
    assert f'value="{source.id}"' not in page
    response = client.post(f"/manage/bookings/{held.id}/move", data={"session_id": str(target.id)})
    assert response.headers["Location"].endswith(f"/manage/sessions/{source.id}/bookings")
    assert status_of(held) == S.MOVED
    assert services.active_booking(target.id, holder).status == S.CONFIRMED
    assert status_of(queued) == S.OFFERED
    assert "Mo Mover has been moved to Target course" in _text(client.get(response.headers["Location"]))


@pytest.mark.parametrize("value", ["", "abc", "999999", "source"])
def test_move_with_a_bad_choice_is_a_form_error(login_as, value):
    source = SessionFactory()
    SessionFactory()  # a valid target exists, so the refusal is about the value sent
    booking = services.book_place(source.id, UserFactory())
    if value == "source":
        value = str(source.id)
    response = login_as(CoordinatorFactory()).post(f"/manage/bookings/{booking.id}/move",
                                                   data={"session_id": value})
    page = _text(response)
    assert response.status_code == 200
    assert "Select the session to move the booking to" in page
    assert "govuk-error-summary" in page
    assert status_of(booking) == S.CONFIRMED


# ---------------------------------------------------------------------------
# The busiest write: what a booking costs
# ---------------------------------------------------------------------------

def _statements_for_booking(client, session_id: int) -> list[str]:
    with recorded_statements() as statements:
        response = client.post(f"/sessions/{session_id}/book")
    assert response.status_code == 302
    return [" ".join(statement.split())[:60] for statement in statements]


def test_a_booking_makes_the_same_statements_however_busy_the_session(login_as):
    """Statements counted from the request in: signing in the person, the lock, one read of the
    session's bookings, the insert, the two emails (person and manager), the places UPDATE.
    Taking the last place on a session with a long history costs the same."""
    quiet, busy = SessionFactory(capacity=2), SessionFactory(capacity=30)
    for holder in UserFactory.create_batch(29):
        services.book_place(busy.id, holder)
    for leaver in UserFactory.create_batch(5):
        services.cancel_booking(services.book_place(busy.id, leaver).id, leaver)
    sqlite = db.engine.dialect.name == "sqlite"
    counts = []
    for session in (quiet, busy):
        statements = _statements_for_booking(login_as(UserFactory()), session.id)
        counts.append(len(statements))
        # PostgreSQL takes both emails in one round trip; SQLite, in-process, writes them one
        # by one (it cannot match a multi-row insert's ids back to the rows).
        emails = 2 if sqlite else 1
        assert sum(s.startswith("INSERT INTO outbox_messages") for s in statements) == emails, statements
        assert sum(s.startswith("INSERT INTO bookings") for s in statements) == 1, statements
    # SQLite also counts BEGIN for the read and BEGIN IMMEDIATE for the write.
    expected = 9 if sqlite else 6
    assert counts == [expected, expected]
    assert db.session.get(CourseSession, busy.id).places_taken == 30
    assert_places_consistent(busy.id)


def test_joining_a_waiting_list_does_not_count_the_queue_again(login_as):
    """The new place's position comes from the read made under the lock, for the email and the
    message alike: no statement counts the waiting list."""
    session, _, _ = _full_session(capacity=2)
    for person in UserFactory.create_batch(3):
        services.book_place(session.id, person)
    client = login_as(UserFactory())
    statements = _statements_for_booking(client, session.id)
    assert not [s for s in statements if "count(" in s.lower()], statements
    expected = 7 if db.engine.dialect.name == "sqlite" else 5
    assert len(statements) == expected, statements
    page = _text(client.get(f"/bookings/{db.session.scalar(select(func.max(Booking.id)))}"))
    assert "You are number 4 on the waiting list" in page
