"""The personal calendar feed: a secret, revocable URL listing a person's confirmed places."""
from __future__ import annotations

import re
from datetime import timedelta

import icalendar
from flask import render_template_string
from flask_login import login_user
from sqlalchemy import select

from tests.factories import BookingFactory, SessionFactory, UserFactory
from training.accounts.models import User
from training.booking import services as booking
from training.booking.models import BookingStatus
from training.db import utcnow
from training.extensions import db
from training.notifications import calendar_services
from training.notifications.models import Outbox

LINK = "https://meet.example.org/feed-room-77"


def _token(user) -> str | None:
    db.session.commit()
    return db.session.scalar(select(User.calendar_token).where(User.id == user.id))


def _feed_path(token: str) -> str:
    return f"/calendar/{token}.ics"


def _events(response) -> list:
    assert response.status_code == 200
    return icalendar.Calendar.from_ical(response.get_data()).walk("VEVENT")


# ---------------------------------------------------------------------------
# Turning the feed on, resetting it, turning it off
# ---------------------------------------------------------------------------

def test_the_settings_page_needs_sign_in(client):
    response = client.get("/my-training/calendar")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    for action in ("on", "reset", "off"):
        response = client.post(f"/my-training/calendar/{action}")
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_turn_on_shows_the_address_reset_replaces_it_and_turn_off_revokes_it(login_as):
    person = UserFactory()
    web = login_as(person)
    page = web.get("/my-training/calendar").get_data(as_text=True)
    assert "Your calendar feed is off" in page and "Turn on calendar feed" in page

    response = web.post("/my-training/calendar/on")
    assert response.status_code == 302 and response.headers["Location"] == "/my-training/calendar"
    first = _token(person)
    assert first and len(first) >= 43
    page = web.get("/my-training/calendar").get_data(as_text=True)
    assert "Your calendar feed is on" in page
    assert f"http://127.0.0.1:5000/calendar/{first}.ics" in page
    assert web.get(_feed_path(first)).status_code == 200

    # Turning it on again keeps the address people have already added.
    web.post("/my-training/calendar/on")
    assert _token(person) == first

    response = web.post("/my-training/calendar/reset")
    assert response.status_code == 302 and response.headers["Location"] == "/my-training/calendar"
    assert "The old address no longer works" in web.get("/my-training/calendar").get_data(as_text=True)
    second = _token(person)
    assert second and second != first
    assert web.get(_feed_path(first)).status_code == 404
    assert web.get(_feed_path(second)).status_code == 200

    response = web.post("/my-training/calendar/off")
    assert response.status_code == 302
    assert _token(person) is None
    assert web.get(_feed_path(second)).status_code == 404
    assert "Your calendar feed is off" in web.get("/my-training/calendar").get_data(as_text=True)


def test_reset_when_the_feed_is_off_changes_nothing_and_says_why(login_as):
    person = UserFactory()
    web = login_as(person)
    response = web.post("/my-training/calendar/reset", follow_redirects=True)
    assert response.status_code == 200
    assert "Your calendar feed is turned off" in response.get_data(as_text=True)
    assert _token(person) is None


def test_each_person_has_their_own_token(login_as):
    one, two = UserFactory(), UserFactory()
    login_as(one).post("/my-training/calendar/on")
    login_as(two).post("/my-training/calendar/on")
    assert _token(one) != _token(two)


def test_my_training_section_links_to_the_settings(login_as):
    person = UserFactory()
    web = login_as(person)
    html = web.get("/my-training/calendar").get_data(as_text=True)
    assert 'href="/my-training"' in html
    with web.application.test_request_context():
        login_user(db.session.get(User, person.id))
        section = render_template_string('{% include "notifications/_calendar_feed.html" %}')
    assert "Add your training to your calendar" in section and "/my-training/calendar" in section
    assert "Set up your calendar feed" in section


# ---------------------------------------------------------------------------
# The feed
# ---------------------------------------------------------------------------

def test_the_feed_lists_confirmed_places_from_the_last_year_and_to_come(client, now):
    person = UserFactory()
    calendar_services.turn_on(person)
    upcoming = booking.book_place(SessionFactory(venue=None, online_link=LINK, course__title="Upcoming course").id,
                                  person)
    recent_session = SessionFactory(starts_at=now - timedelta(days=200), course__title="Recent course")
    BookingFactory(session=recent_session, user=person)
    old_session = SessionFactory(starts_at=now - timedelta(days=400), course__title="Old course")
    BookingFactory(session=old_session, user=person)
    full = SessionFactory(capacity=1, venue=None, online_link="https://meet.example.org/waiting-room",
                          course__title="Waiting course")
    booking.book_place(full.id, UserFactory())
    booking.book_place(full.id, person)
    cancelled = booking.book_place(SessionFactory(course__title="Cancelled course").id, person)
    booking.cancel_booking(cancelled.id, person)
    BookingFactory(user=UserFactory(), session__course__title="Someone else's course")

    response = client.get(_feed_path(_token(person)))
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data(as_text=True)
    events = _events(response)
    assert [str(e["SUMMARY"]) for e in events] == ["Recent course", "Upcoming course"]
    assert LINK in body
    assert "waiting-room" not in body
    assert "METHOD" not in body  # a feed is published, not an invitation to answer
    assert "ATTENDEE" not in body

    # The same UID and SEQUENCE as the invitation, so the entry is not shown twice.
    invitation = db.session.scalar(select(Outbox.ics).where(Outbox.recipient == person.email,
                                                            Outbox.ics_method == "REQUEST",
                                                            Outbox.subject.contains("Upcoming course")))
    [invited] = icalendar.Calendar.from_ical(invitation).walk("VEVENT")
    [listed] = [e for e in events if str(e["SUMMARY"]) == "Upcoming course"]
    assert listed["UID"] == invited["UID"] == f"booking-{upcoming.id}@127.0.0.1"
    assert listed["SEQUENCE"] == invited["SEQUENCE"]
    assert listed.decoded("DTSTART") == upcoming.session.starts_at


def test_the_feed_follows_a_change_with_the_raised_sequence(client):
    person = UserFactory()
    token = calendar_services.turn_on(person)
    made = booking.book_place(SessionFactory().id, person)
    made.calendar_sequence = 3
    db.session.commit()
    [event] = _events(client.get(_feed_path(token)))
    assert event["SEQUENCE"] == 3


def test_unknown_revoked_malformed_and_deactivated_tokens_get_404(client):
    person = UserFactory()
    token = calendar_services.turn_on(person)
    assert client.get(_feed_path(token)).status_code == 200
    for bad in ("x" * 43, token[:-1], token + "a", "short", "a%2Fb", "' OR '1'='1", "A" * 300):
        assert client.get(_feed_path(bad)).status_code == 404, bad
    assert client.get(f"/calendar/{token}").status_code == 404
    person = db.session.get(User, person.id)
    person.active = False
    db.session.commit()
    assert client.get(_feed_path(token)).status_code == 404
    person.active = True
    db.session.commit()
    calendar_services.turn_off(person)
    assert client.get(_feed_path(token)).status_code == 404


def test_the_feed_answers_the_same_signed_in_or_not(client, login_as):
    owner, other = UserFactory(), UserFactory()
    token = calendar_services.turn_on(owner)
    booking.book_place(SessionFactory(course__title="Owner's course").id, owner)
    anonymous = client.get(_feed_path(token)).get_data()
    signed_in = login_as(other).get(_feed_path(token)).get_data()
    strip = re.compile(rb"DTSTAMP:[0-9TZ]+\r\n")
    assert strip.sub(b"", anonymous) == strip.sub(b"", signed_in)
    assert b"Owner's course" in anonymous


def test_only_confirmed_places_are_in_the_feed_service(now):
    person = UserFactory()
    confirmed = BookingFactory(user=person)
    BookingFactory(user=person, status=BookingStatus.WAITLISTED, confirmed_at=None)
    BookingFactory(user=person, status=BookingStatus.CANCELLED)
    assert calendar_services.feed_bookings(person, utcnow()) == [confirmed]
