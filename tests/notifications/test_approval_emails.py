"""Manager approval emails, end to end through a real SMTP server: the manager's request with
its signed link, the delegate's notices, and what follows the manager's decision."""
from __future__ import annotations

import re
from datetime import timedelta

from tests.factories import AgencyFactory, CoordinatorFactory, CourseFactory, SessionFactory, UserFactory
from tests.notifications.conftest import body_html, body_text, calendar_part
from training.booking import services
from training.booking.models import BookingStatus
from training.db import utcnow
from training.extensions import db
from training.notifications.sender import deliver


def _session(**kw):
    course = CourseFactory(title="Child protection level 2", requires_approval=True)
    return SessionFactory(course=course, venue="Civic Centre\nCommittee Room 2", **kw)


def _delegate(**kw):
    return UserFactory(name="Amara Okafor", email="amara@example.org", job_title="School nurse",
                       manager_name="Grace Adeyemi", manager_email="grace@example.org",
                       agency=AgencyFactory(name="Riverside NHS Trust"), **kw)


def _link_path(message) -> str:
    """The approval link in the manager's email, as a path on the test client."""
    match = re.search(r"http://127\.0\.0\.1:5000(/approval/[A-Za-z0-9_.\-]+)", body_text(message))
    assert match, body_text(message)
    return match.group(1)


def test_the_manager_gets_a_request_with_a_working_link_and_the_delegate_is_told(app, smtp_server, client):
    session = _session(capacity=5)
    services.book_place(session.id, _delegate())
    assert deliver().sent == 2

    [request] = smtp_server.to("grace@example.org")
    assert request["Subject"].strip().startswith("Approval needed: Amara Okafor has booked Child protection level 2 on ")
    text = body_text(request)
    assert "Hello Grace Adeyemi" in text
    assert "School nurse" in text and "Riverside NHS Trust" in text
    assert "Civic Centre, Committee Room 2" in text
    assert "We are holding a place for them until" in text
    assert "can only be used once" in text
    assert _link_path(request) in body_html(request)
    assert calendar_part(request) is None

    [pending] = smtp_server.to("amara@example.org")
    assert pending["Subject"].strip().startswith("Waiting for approval: Child protection level 2 on ")
    assert "We have asked Grace Adeyemi to approve your booking" in body_text(pending)
    assert "We have asked Grace Adeyemi to approve your booking" in body_html(pending)

    page = client.get(_link_path(request))
    assert page.status_code == 200
    assert "Amara Okafor" in page.get_data(as_text=True)


def test_approval_through_the_emailed_link_sends_the_confirmation_with_an_invitation(app, smtp_server, client):
    session = _session(capacity=5)
    booking = services.book_place(session.id, _delegate())
    deliver()
    [request] = smtp_server.to("grace@example.org")
    smtp_server.clear()

    assert client.post(_link_path(request) + "/approve").status_code == 302
    assert db.session.get(type(booking), booking.id).status == BookingStatus.CONFIRMED
    deliver()
    [confirmation] = smtp_server.to("amara@example.org")
    assert confirmation["Subject"].strip().startswith("Booking confirmed: Child protection level 2")
    assert calendar_part(confirmation) is not None


def test_a_declined_booking_tells_the_delegate_why_and_offers_the_place_to_the_first_waiting(
        app, smtp_server, client):
    session = _session(capacity=1)
    booking = services.book_place(session.id, _delegate())
    waiting = UserFactory(email="next@example.org")
    services.book_on_behalf(session.id, waiting.email, CoordinatorFactory())
    deliver()
    [request] = smtp_server.to("grace@example.org")
    smtp_server.clear()

    response = client.post(_link_path(request) + "/decline", data={"reason": "We need you on the ward that week"})
    assert response.status_code == 302
    assert db.session.get(type(booking), booking.id).status == BookingStatus.NOT_APPROVED
    deliver()
    [declined] = smtp_server.to("amara@example.org")
    assert declined["Subject"].strip().startswith("Booking not approved: Child protection level 2")
    assert "Grace Adeyemi did not approve your booking" in body_text(declined)
    assert "We need you on the ward that week" in body_text(declined)
    assert "We need you on the ward that week" in body_html(declined)
    [offer] = smtp_server.to("next@example.org")
    assert offer["Subject"].strip().startswith("Place offered: Child protection level 2")


def test_a_request_that_expires_tells_the_delegate_once(app, smtp_server):
    now = utcnow()
    session = _session(capacity=5)
    services.book_place(session.id, _delegate(), now=now)
    deliver()
    smtp_server.clear()
    assert services.expire_approval_requests(now + timedelta(days=14)) == 1
    assert services.expire_approval_requests(now + timedelta(days=14)) == 0
    # The notice is due from the (simulated) moment of expiry.
    assert deliver(now + timedelta(days=14)).sent == 1
    [expired] = smtp_server.to("amara@example.org")
    assert expired["Subject"].strip().startswith("Approval request expired: Child protection level 2")
    assert "Grace Adeyemi did not answer in time" in body_text(expired)
    assert smtp_server.to("grace@example.org") == []


def test_a_request_on_a_full_session_tells_both_that_no_place_is_held(app, smtp_server):
    session = _session(capacity=1)
    services.book_on_behalf(session.id, UserFactory().email, CoordinatorFactory())
    services.book_place(session.id, _delegate())
    deliver()
    [request] = smtp_server.to("grace@example.org")
    assert "The session is full. If you approve, they will join the waiting list." in body_text(request)
    [pending] = smtp_server.to("amara@example.org")
    assert "If your manager approves, you will join the waiting list" in body_text(pending)
