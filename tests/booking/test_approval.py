"""Manager approval of bookings: the rules (services), the signed link (pages), the clock
(tick functions) and two managers approving the last place at once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from tests.booking.helpers import reload, status_of
from tests.factories import CoordinatorFactory, CourseFactory, SessionFactory, UserFactory
from training.booking import services
from training.booking.approval import make_token, read_link
from training.booking.errors import ApprovalClosed, ApprovalExpired
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import CourseSession
from training.db import utcnow
from training.extensions import db
from training.notifications.models import MessageKind, Outbox

S = BookingStatus


@pytest.fixture
def approval_everywhere(app, monkeypatch):
    """The partnership-wide setting: every course needs the manager's approval."""
    monkeypatch.setitem(app.config, "MANAGER_APPROVAL", True)


def _approval_session(**kw) -> CourseSession:
    """A session of a course that needs approval (the global setting is off)."""
    return SessionFactory(course=CourseFactory(requires_approval=True), **kw)


def _places_held(session_id: int) -> int:
    """places_taken, after checking it matches the bookings that hold a place."""
    db.session.commit()
    counted = db.session.scalar(
        select(func.count(Booking.id)).where(Booking.session_id == session_id, Booking.holds_place)
    )
    stored = db.session.get(CourseSession, session_id).places_taken
    assert stored == counted, f"places_taken {stored} but {counted} places held"
    return stored


def _outbox(kind: MessageKind, to: str | None = None) -> list[Outbox]:
    db.session.commit()
    stmt = select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id)
    if to is not None:
        stmt = stmt.where(Outbox.recipient == to)
    return list(db.session.scalars(stmt))


def _text(response) -> str:
    return response.get_data(as_text=True)


# ---------------------------------------------------------------------------
# When approval applies
# ---------------------------------------------------------------------------

def test_the_global_setting_makes_every_own_booking_wait_and_hold_a_place(approval_everywhere):
    session = SessionFactory(capacity=2)  # the course itself does not ask for approval
    now = utcnow()
    booking = reload(services.book_place(session.id, UserFactory(), now=now))
    assert booking.status == S.AWAITING_APPROVAL
    assert booking.approval_holds_place is True
    assert booking.approval_hold_until == now + timedelta(hours=72)
    assert booking.approval_expires_at == now + timedelta(days=14)
    assert booking.confirmed_at is None
    assert _places_held(session.id) == 1


def test_a_course_setting_asks_for_approval_only_on_that_course():
    needs = _approval_session()
    plain = SessionFactory()
    person = UserFactory()
    assert status_of(services.book_place(needs.id, person)) == S.AWAITING_APPROVAL
    assert status_of(services.book_place(plain.id, person)) == S.CONFIRMED


def test_hold_and_link_end_at_the_start_of_a_session_that_is_soon():
    now = utcnow()
    session = _approval_session(starts_at=(now + timedelta(days=2)).replace(microsecond=0))
    session.booking_closes_at = session.starts_at
    db.session.commit()
    booking = reload(services.book_place(session.id, UserFactory(), now=now))
    assert booking.approval_hold_until == session.starts_at
    assert booking.approval_expires_at == session.starts_at


def test_a_request_on_a_full_session_holds_nothing():
    session = _approval_session(capacity=1)
    services.book_on_behalf(session.id, UserFactory().email, CoordinatorFactory())
    booking = reload(services.book_place(session.id, UserFactory()))
    assert booking.status == S.AWAITING_APPROVAL
    assert booking.approval_holds_place is False
    assert booking.approval_hold_until is None
    assert _places_held(session.id) == 1


def test_a_coordinator_booking_on_behalf_skips_approval(approval_everywhere):
    session = _approval_session()
    person = UserFactory()
    booking = services.book_on_behalf(session.id, person.email, CoordinatorFactory())
    assert status_of(booking) == S.CONFIRMED
    assert _outbox(MessageKind.APPROVAL_REQUEST) == []


def test_a_coordinator_booking_themselves_still_needs_approval(approval_everywhere):
    coordinator = CoordinatorFactory()
    session = SessionFactory()
    assert status_of(services.book_place(session.id, coordinator)) == S.AWAITING_APPROVAL


def test_a_coordinator_moving_a_request_places_it_without_approval():
    source, target = _approval_session(), _approval_session()
    booking = services.book_place(source.id, UserFactory())
    new = services.move_booking(booking.id, target.id, CoordinatorFactory())
    assert status_of(booking) == S.MOVED
    assert status_of(new) == S.CONFIRMED
    assert _places_held(source.id) == 0
    assert _places_held(target.id) == 1


def test_the_request_and_the_pending_notice_are_queued_and_no_confirmation():
    session = _approval_session()
    person = UserFactory(manager_email="boss@example.org")
    services.book_place(session.id, person)
    [request] = _outbox(MessageKind.APPROVAL_REQUEST)
    assert request.recipient == "boss@example.org"
    assert request.user_id == person.id
    assert len(_outbox(MessageKind.APPROVAL_PENDING, person.email)) == 1
    assert _outbox(MessageKind.BOOKING_CONFIRMED) == []
    assert _outbox(MessageKind.WAITLISTED) == []


# ---------------------------------------------------------------------------
# Approving and declining
# ---------------------------------------------------------------------------

def test_approving_a_request_that_holds_its_place_confirms_it():
    session = _approval_session(capacity=1)
    booking = services.book_place(session.id, UserFactory())
    approved = reload(services.approve_booking(booking.id))
    assert approved.status == S.CONFIRMED
    assert approved.confirmed_at is not None
    assert approved.approval_decided_at is not None
    assert approved.approval_holds_place is False
    assert _places_held(session.id) == 1
    assert len(_outbox(MessageKind.BOOKING_CONFIRMED)) == 1


def test_approval_after_the_hold_lapsed_and_the_session_filled_joins_the_waiting_list():
    now = utcnow()
    session = _approval_session(capacity=1)
    booking = services.book_place(session.id, UserFactory(), now=now)
    later = now + timedelta(hours=73)
    assert services.release_lapsed_approval_holds(later) == 1
    assert _places_held(session.id) == 0
    other = services.book_on_behalf(session.id, UserFactory().email, CoordinatorFactory(), now=later)
    assert status_of(other) == S.CONFIRMED
    approved = reload(services.approve_booking(booking.id, now=later + timedelta(hours=1)))
    assert approved.status == S.WAITLISTED
    assert approved.approval_decided_at is not None
    assert services.waiting_list_position(approved) == 1
    assert _places_held(session.id) == 1
    assert len(_outbox(MessageKind.WAITLISTED)) == 1


def test_approval_after_the_hold_lapsed_takes_a_place_still_free():
    now = utcnow()
    session = _approval_session(capacity=1)
    booking = services.book_place(session.id, UserFactory(), now=now)
    services.release_lapsed_approval_holds(now + timedelta(hours=73))
    assert status_of(services.approve_booking(booking.id, now=now + timedelta(hours=74))) == S.CONFIRMED
    assert _places_held(session.id) == 1


def test_a_lapsed_hold_goes_to_the_person_waiting_even_before_tick_runs():
    now = utcnow()
    session = _approval_session(capacity=1)
    booking = services.book_place(session.id, UserFactory(), now=now)
    waiting = services.book_on_behalf(session.id, UserFactory().email, CoordinatorFactory(), now=now)
    assert status_of(waiting) == S.WAITLISTED
    services.approve_booking(booking.id, now=now + timedelta(hours=73))
    assert status_of(waiting) == S.OFFERED
    assert status_of(booking) == S.WAITLISTED
    assert _places_held(session.id) == 1


def test_declining_frees_the_place_and_the_first_person_waiting_is_offered_it():
    session = _approval_session(capacity=1)
    booking = services.book_place(session.id, UserFactory())
    coordinator = CoordinatorFactory()
    first = services.book_on_behalf(session.id, UserFactory().email, coordinator)
    second = services.book_on_behalf(session.id, UserFactory().email, coordinator)
    declined = reload(services.decline_booking(booking.id, "  Not this quarter, we are short-staffed  "))
    assert declined.status == S.NOT_APPROVED
    assert declined.approval_decided_at is not None
    assert declined.note == "Not this quarter, we are short-staffed"
    assert status_of(first) == S.OFFERED
    assert status_of(second) == S.WAITLISTED
    assert _places_held(session.id) == 1
    [offer] = _outbox(MessageKind.PLACE_OFFERED)
    assert offer.recipient == reload(first).user.email
    [notice] = _outbox(MessageKind.APPROVAL_DECLINED)
    assert "Not this quarter, we are short-staffed" in notice.text_body


def test_a_decision_cannot_be_made_twice():
    session = _approval_session()
    approved = services.book_place(session.id, UserFactory())
    services.approve_booking(approved.id)
    with pytest.raises(ApprovalClosed, match="already been approved"):
        services.approve_booking(approved.id)
    with pytest.raises(ApprovalClosed, match="already been approved"):
        services.decline_booking(approved.id)
    assert status_of(approved) == S.CONFIRMED
    declined = services.book_place(session.id, UserFactory())
    services.decline_booking(declined.id)
    with pytest.raises(ApprovalClosed, match="already been declined"):
        services.approve_booking(declined.id)
    assert status_of(declined) == S.NOT_APPROVED
    assert len(_outbox(MessageKind.BOOKING_CONFIRMED)) == 1


def test_a_request_past_its_expiry_cannot_be_approved():
    now = utcnow()
    session = _approval_session()
    booking = services.book_place(session.id, UserFactory(), now=now)
    with pytest.raises(ApprovalExpired):
        services.approve_booking(booking.id, now=now + timedelta(days=14))
    assert status_of(booking) == S.AWAITING_APPROVAL


def test_a_request_on_a_cancelled_session_cannot_be_approved():
    from training.catalogue.services import cancel_session

    session = _approval_session()
    booking = services.book_place(session.id, UserFactory())
    cancel_session(session.id, CoordinatorFactory(), "Trainer unwell")
    with pytest.raises(ApprovalClosed, match="session has been cancelled"):
        services.approve_booking(booking.id)
    assert status_of(booking) == S.SESSION_CANCELLED


def test_the_person_can_withdraw_a_request_and_the_place_moves_on():
    session = _approval_session(capacity=1)
    person = UserFactory()
    booking = services.book_place(session.id, person)
    waiting = services.book_on_behalf(session.id, UserFactory().email, CoordinatorFactory())
    withdrawn = reload(services.cancel_booking(booking.id, person))
    assert withdrawn.status == S.CANCELLED
    assert status_of(waiting) == S.OFFERED
    assert _places_held(session.id) == 1
    with pytest.raises(ApprovalClosed, match="withdrawn"):
        services.approve_booking(booking.id)


# ---------------------------------------------------------------------------
# The clock: tick's two functions
# ---------------------------------------------------------------------------

def test_releasing_lapsed_holds_is_idempotent_and_offers_the_place():
    now = utcnow()
    session = _approval_session(capacity=1)
    booking = services.book_place(session.id, UserFactory(), now=now)
    waiting = services.book_on_behalf(session.id, UserFactory().email, CoordinatorFactory(), now=now)
    assert services.release_lapsed_approval_holds(now + timedelta(hours=71)) == 0
    assert reload(booking).approval_holds_place is True
    later = now + timedelta(hours=72)
    assert services.release_lapsed_approval_holds(later) == 1
    assert reload(booking).status == S.AWAITING_APPROVAL  # the request stays with the manager
    assert reload(booking).approval_holds_place is False
    assert status_of(waiting) == S.OFFERED
    outbox = db.session.scalar(select(func.count(Outbox.id)))
    assert services.release_lapsed_approval_holds(later) == 0
    assert services.release_lapsed_approval_holds(later + timedelta(hours=1)) == 0
    assert status_of(waiting) == S.OFFERED
    assert db.session.scalar(select(func.count(Outbox.id))) == outbox
    assert _places_held(session.id) == 1


def test_expiring_requests_is_idempotent_frees_the_place_and_tells_the_person():
    now = utcnow()
    session = _approval_session(capacity=1)
    person = UserFactory()
    booking = services.book_place(session.id, person, now=now)
    waiting = services.book_on_behalf(session.id, UserFactory().email, CoordinatorFactory(), now=now)
    assert services.expire_approval_requests(now + timedelta(days=13)) == 0
    later = now + timedelta(days=14)
    assert services.expire_approval_requests(later) == 1
    assert status_of(booking) == S.APPROVAL_EXPIRED
    assert status_of(waiting) == S.OFFERED
    assert services.expire_approval_requests(later) == 0
    assert services.expire_approval_requests(later + timedelta(days=1)) == 0
    assert len(_outbox(MessageKind.APPROVAL_EXPIRED, person.email)) == 1
    assert len(_outbox(MessageKind.PLACE_OFFERED)) == 1
    assert _places_held(session.id) == 1


# ---------------------------------------------------------------------------
# The signed link
# ---------------------------------------------------------------------------

def test_a_link_expires_after_the_link_days_even_if_the_request_is_open():
    now = utcnow()
    session = _approval_session(starts_at=(now + timedelta(days=60)).replace(microsecond=0))
    booking = services.book_place(session.id, UserFactory(), now=now)
    booking = reload(booking)
    booking.approval_expires_at = session.starts_at  # only the token's age can end it
    db.session.commit()
    token = make_token(booking)
    assert read_link(token, now + timedelta(days=13)).expired is False
    assert read_link(token, now + timedelta(days=15)).expired is True


def test_a_link_expires_with_the_request_before_its_max_age():
    now = utcnow()
    session = _approval_session(starts_at=(now + timedelta(days=3)).replace(microsecond=0))
    session.booking_closes_at = session.starts_at
    db.session.commit()
    booking = reload(services.book_place(session.id, UserFactory(), now=now))
    token = make_token(booking)
    assert read_link(token, session.starts_at - timedelta(minutes=1)).expired is False
    assert read_link(token, session.starts_at).expired is True


@pytest.mark.parametrize("token", [
    "not-a-token", "", "A" * 300, "e30.AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA", "%00", "..",
])
def test_garbage_tokens_are_not_links(token):
    assert read_link(token) is None


def test_a_token_signed_for_something_else_is_refused(app):
    booking = services.book_place(_approval_session().id, UserFactory())
    other_salt = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="password-reset").dumps(booking.id)
    wrong_key = URLSafeTimedSerializer("not the key", salt="manager-approval").dumps(booking.id)
    not_an_id = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="manager-approval").dumps("1")
    assert read_link(other_salt) is None
    assert read_link(wrong_key) is None
    assert read_link(not_an_id) is None


def _tamper(token: str) -> str:
    """The token with its payload (the booking id) changed but not re-signed."""
    payload, rest = token.split(".", 1)
    return payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + rest


def test_a_tampered_link_is_refused_and_changes_nothing(client):
    booking = services.book_place(_approval_session().id, UserFactory())
    token = make_token(booking)
    bad = _tamper(token)
    assert bad != token
    for response in (client.get(f"/approval/{bad}"), client.post(f"/approval/{bad}/approve"),
                     client.post(f"/approval/{bad}/decline", data={"reason": "x"})):
        assert response.status_code == 404
        assert "This link is not valid" in _text(response)
    assert status_of(booking) == S.AWAITING_APPROVAL
    signature_changed = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.get(f"/approval/{signature_changed}").status_code == 404


def test_opening_the_link_shows_the_request_and_changes_nothing(client):
    session = _approval_session(capacity=1)
    person = UserFactory(name="Amara Okafor", job_title="School nurse")
    booking = services.book_place(session.id, person)
    outbox = db.session.scalar(select(func.count(Outbox.id)))
    response = client.get(f"/approval/{make_token(booking)}")
    page = _text(response)
    assert response.status_code == 200
    assert "Approve a training booking" in page
    assert "Amara Okafor" in page and "School nurse" in page
    assert session.course.title in page
    assert "Approve booking" in page and "Decline booking" in page
    assert client.get(f"/approval/{make_token(booking)}").status_code == 200
    assert status_of(booking) == S.AWAITING_APPROVAL
    assert db.session.scalar(select(func.count(Outbox.id))) == outbox
    assert _places_held(session.id) == 1


def test_approving_through_the_link_then_reusing_it_changes_nothing(client):
    session = _approval_session(capacity=1)
    booking = services.book_place(session.id, UserFactory(name="Amara Okafor"))
    token = make_token(booking)
    response = client.post(f"/approval/{token}/approve", follow_redirects=True)
    assert response.status_code == 200
    assert "You have approved Amara Okafor&#39;s booking" in _text(response)
    assert status_of(booking) == S.CONFIRMED
    decided_at = reload(booking).approval_decided_at
    confirmations = len(_outbox(MessageKind.BOOKING_CONFIRMED))
    for again in (client.post(f"/approval/{token}/approve", follow_redirects=True),
                  client.post(f"/approval/{token}/decline", data={"reason": "Changed my mind"},
                              follow_redirects=True),
                  client.get(f"/approval/{token}")):
        assert again.status_code == 200
        assert "This booking has already been approved" in _text(again)
        assert "Approve booking" not in _text(again)
    assert status_of(booking) == S.CONFIRMED
    assert reload(booking).approval_decided_at == decided_at
    assert reload(booking).note is None
    assert len(_outbox(MessageKind.BOOKING_CONFIRMED)) == confirmations
    assert _places_held(session.id) == 1


def test_declining_through_the_link_with_a_reason(client):
    session = _approval_session(capacity=1)
    booking = services.book_place(session.id, UserFactory())
    token = make_token(booking)
    response = client.post(f"/approval/{token}/decline", data={"reason": "Not this year"}, follow_redirects=True)
    assert response.status_code == 200
    assert "You have declined" in _text(response)
    assert "This booking has already been declined" in _text(response)
    assert status_of(booking) == S.NOT_APPROVED
    assert reload(booking).note == "Not this year"
    assert _places_held(session.id) == 0
    again = client.post(f"/approval/{token}/approve", follow_redirects=True)
    assert "This booking has already been declined" in _text(again)
    assert status_of(booking) == S.NOT_APPROVED


def test_a_reason_over_500_characters_is_refused_and_nothing_changes(client):
    booking = services.book_place(_approval_session().id, UserFactory())
    token = make_token(booking)
    response = client.post(f"/approval/{token}/decline", data={"reason": "x" * 501})
    assert response.status_code == 400
    assert "Reason must be 500 characters or fewer" in _text(response)
    assert "govuk-error-summary" in _text(response)
    assert status_of(booking) == S.AWAITING_APPROVAL


def test_an_expired_request_link_refuses_both_decisions(client):
    session = _approval_session(capacity=1)
    booking = services.book_place(session.id, UserFactory())
    token = make_token(booking)
    row = reload(booking)
    row.approval_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    page = client.get(f"/approval/{token}")
    assert page.status_code == 200
    assert "This link has expired" in _text(page)
    assert "Approve booking" not in _text(page)
    for action in ("approve", "decline"):
        response = client.post(f"/approval/{token}/{action}", follow_redirects=True)
        assert response.status_code == 200
        assert "This approval link has expired" in _text(response)
    assert status_of(booking) == S.AWAITING_APPROVAL
    assert reload(booking).approval_decided_at is None


def test_a_link_older_than_the_link_days_refuses_to_approve(client, monkeypatch):
    session = _approval_session(starts_at=(utcnow() + timedelta(days=60)).replace(microsecond=0))
    booking = services.book_place(session.id, UserFactory())
    row = reload(booking)
    row.approval_expires_at = session.starts_at
    db.session.commit()
    issued = int((utcnow() - timedelta(days=15)).timestamp())
    with monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda self: issued)
        token = make_token(row)
    assert "This link has expired" in _text(client.get(f"/approval/{token}"))
    response = client.post(f"/approval/{token}/approve", follow_redirects=True)
    assert "This approval link has expired" in _text(response)
    assert status_of(booking) == S.AWAITING_APPROVAL


def test_the_links_need_no_sign_in_and_a_signed_in_stranger_gets_the_same(login_as):
    booking = services.book_place(_approval_session().id, UserFactory())
    token = make_token(booking)
    stranger = login_as(UserFactory())
    assert stranger.get(f"/approval/{token}").status_code == 200
    assert status_of(booking) == S.AWAITING_APPROVAL


def test_a_withdrawn_request_link_says_so(client):
    person = UserFactory()
    booking = services.book_place(_approval_session().id, person)
    services.cancel_booking(booking.id, person)
    response = client.post(f"/approval/{make_token(booking)}/approve", follow_redirects=True)
    assert "This request has been withdrawn" in _text(response)
    assert status_of(booking) == S.CANCELLED


# ---------------------------------------------------------------------------
# The person's and the coordinators' pages
# ---------------------------------------------------------------------------

def test_booking_through_the_page_asks_the_manager(login_as):
    session = _approval_session()
    person = UserFactory(manager_name="Grace Adeyemi")
    web = login_as(person)
    page = _text(web.get(f"/sessions/{session.id}"))
    assert "Your line manager must approve this booking" in page
    response = web.post(f"/sessions/{session.id}/book", follow_redirects=True)
    assert "We have asked Grace Adeyemi to approve your booking" in _text(response)
    booking = db.session.scalar(select(Booking).where(Booking.user_id == person.id))
    assert booking.status == S.AWAITING_APPROVAL
    session_page = _text(web.get(f"/sessions/{session.id}"))
    assert "Awaiting manager approval" in session_page
    my = _text(web.get("/my-training"))
    assert "Waiting for your manager's approval" in my
    assert "Withdraw request" in my


def test_the_person_withdraws_a_request_through_the_pages(login_as):
    session = _approval_session()
    person = UserFactory()
    booking = services.book_place(session.id, person)
    web = login_as(person)
    assert "Withdraw the booking request" in _text(web.get(f"/bookings/{booking.id}/cancel"))
    response = web.post(f"/bookings/{booking.id}/cancel", follow_redirects=True)
    assert "request for a place" in _text(response) and "has been withdrawn" in _text(response)
    assert status_of(booking) == S.CANCELLED
    assert _places_held(session.id) == 0


def test_the_coordinators_page_lists_requests_and_whether_a_place_is_held(login_as):
    session = _approval_session(capacity=1)
    holder = UserFactory(name="Held Person")
    services.book_place(session.id, holder)
    services.book_place(session.id, UserFactory(name="Unheld Person"))
    page = _text(login_as(CoordinatorFactory()).get(f"/manage/sessions/{session.id}/bookings"))
    assert "Waiting for manager approval (2)" in page
    assert "Held Person" in page and "Unheld Person" in page
    assert "1 held for manager approval" in page
    assert "Yes, until" in page
    assert "Bookings you make here do not" in page


def test_the_course_form_sets_the_approval_setting(login_as):
    from tests.catalogue.test_manage_pages import course_form

    web = login_as(CoordinatorFactory())
    response = web.post("/manage/courses/new", data=course_form(requires_approval="y"))
    assert response.status_code == 302
    from training.catalogue.models import Course

    course = db.session.scalar(select(Course))
    assert course.requires_approval is True
    assert "Needed for bookings people make themselves" in _text(web.get(f"/manage/courses/{course.id}"))
    web.post(f"/manage/courses/{course.id}/edit", data=course_form())
    assert reload(course).requires_approval is False


# ---------------------------------------------------------------------------
# Two managers approve the last place at once
# ---------------------------------------------------------------------------

SESSIONS = 4


def test_two_approvals_for_the_last_place_never_overbook(app):
    now = utcnow()
    tokens: list[str] = []
    session_ids: list[int] = []
    for _ in range(SESSIONS):
        session = _approval_session(capacity=1)
        first = services.book_place(session.id, UserFactory(), now=now)  # holds the place
        second = services.book_place(session.id, UserFactory(), now=now)  # full: holds nothing
        tokens += [make_token(first), make_token(second)]
        session_ids.append(session.id)
    # The first holds lapse: the place is free and both requests compete for it.
    assert services.release_lapsed_approval_holds(now + timedelta(hours=72)) == SESSIONS
    db.session.commit()

    barrier = threading.Barrier(len(tokens))
    codes: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def approve(token: str) -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=60)
            response = client.post(f"/approval/{token}/approve")
            with lock:
                codes.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001  (reported below, not swallowed)
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=approve, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == []
    assert codes == [302] * len(tokens)
    db.session.expire_all()
    for session_id in session_ids:
        statuses = sorted(db.session.scalars(select(Booking.status).where(Booking.session_id == session_id)))
        assert statuses == sorted([S.CONFIRMED, S.WAITLISTED])
        assert _places_held(session_id) == 1


def test_declining_without_a_reason_is_fine(client):
    session = _approval_session(capacity=1)
    person = UserFactory()
    booking = services.book_place(session.id, person)
    assert client.post(f"/approval/{make_token(booking)}/decline").status_code == 302
    assert status_of(booking) == S.NOT_APPROVED
    assert reload(booking).note is None
    [notice] = _outbox(MessageKind.APPROVAL_DECLINED, person.email)
    assert "Their reason" not in notice.text_body
    assert _places_held(session.id) == 0


@pytest.mark.parametrize("reason", [
    "<script>alert(1)</script>", "\u202e\u200b\ufeff", "é" * 501, "{{7*7}}", ["one", "two"], " " * 600,
])
def test_hostile_reasons_never_break_the_decline(client, reason):
    booking = services.book_place(_approval_session().id, UserFactory())
    response = client.post(f"/approval/{make_token(booking)}/decline", data={"reason": reason})
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert status_of(booking) == S.AWAITING_APPROVAL
    else:
        assert status_of(booking) == S.NOT_APPROVED
        assert "<script>" not in _text(client.get(f"/approval/{make_token(booking)}"))
