"""Booking emails end to end: the booking service's transaction writes the outbox, `deliver()`
sends it to a real SMTP server, and the messages say the right thing to the right people.

The joining link of an online session reaches only people with a confirmed place, and a
booking that fails (or rolls back) leaves no email behind.
"""
from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import func, select

from tests.factories import CoordinatorFactory, SessionFactory, UserFactory
from tests.notifications.conftest import body_html, body_text, calendar_part
from training.audit import services as audit
from training.booking import services as booking
from training.booking.errors import AlreadyBooked, BookingClosed
from training.booking.models import Booking, BookingStatus
from training.booking.signals import booking_event
from training.catalogue import services as catalogue
from training.catalogue.models import CourseFormat
from training.db import utcnow
from training.extensions import db
from training.notifications.models import MessageKind, Outbox
from training.notifications.sender import deliver
from training.timeutil import format_date, format_datetime

LINK = "https://meet.example.org/secret-room-4471"


def _subject(message) -> str:
    # A long subject is folded onto a continuation line; unfolded, it keeps the leading space.
    return str(message["Subject"]).strip()


def _ics(message) -> icalendar.Calendar:
    data = calendar_part(message)
    assert data is not None, _subject(message)
    return icalendar.Calendar.from_ical(data)


def _event(message):
    [event] = _ics(message).walk("VEVENT")
    return event


def _only(inbox, address):
    messages = inbox.to(address)
    assert len(messages) == 1, [_subject(m) for m in messages]
    return messages[0]


def _everything(message) -> str:
    """All the text a recipient could read: both bodies and any calendar file."""
    ics = calendar_part(message)
    return body_text(message) + body_html(message) + (ics.decode() if ics else "")


def _online_session(capacity: int = 1, **kw):
    return SessionFactory(capacity=capacity, online_link=LINK, venue=None,
                          course__format=CourseFormat.VIRTUAL, **kw)


def _outbox_count() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count(Outbox.id)))


def _details(session, **changes) -> catalogue.SessionDetails:
    values = dict(starts_at=session.starts_at, ends_at=session.ends_at, capacity=session.capacity,
                  kind=session.kind, venue=session.venue, online_link=session.online_link,
                  booking_closes_at=session.booking_closes_at)
    values.update(changes)
    return catalogue.SessionDetails(**values)


# ---------------------------------------------------------------------------
# Confirmation, the manager's copy
# ---------------------------------------------------------------------------

def test_a_booking_sends_a_confirmation_with_an_invitation_and_a_copy_to_the_manager(app, smtp_server):
    session = SessionFactory(course__title="Child protection level 2", venue="Civic Centre\nCommittee Room 2")
    person = UserFactory(name="Asha Patel", manager_name="Morgan Lee", manager_email="morgan.lee@example.org")

    booking.book_place(session.id, person)
    assert deliver().sent == 2

    mail = _only(smtp_server, person.email)
    assert _subject(mail) == f"Booking confirmed: Child protection level 2 on {format_date(session.starts_at)}"
    text = body_text(mail)
    assert text.startswith("Hello Asha Patel,")
    assert "Your place is booked on Child protection level 2." in text
    assert f"When: {format_datetime(session.starts_at)}" in text
    assert "Where: Civic Centre, Committee Room 2" in text
    assert "Child protection level 2" in body_html(mail)
    assert _ics(mail)["METHOD"] == "REQUEST"

    copy = _only(smtp_server, "morgan.lee@example.org")
    assert _subject(copy) == f"Asha Patel has booked Child protection level 2 on {format_date(session.starts_at)}"
    assert "Hello Morgan Lee," in body_text(copy)
    assert "Asha Patel has booked a place on Child protection level 2" in body_text(copy)
    assert calendar_part(copy) is None
    rows = db.session.scalars(select(Outbox).order_by(Outbox.id)).all()
    assert [(r.kind, r.user_id) for r in rows] == [(MessageKind.BOOKING_CONFIRMED, person.id),
                                                   (MessageKind.MANAGER_COPY, person.id)]


def test_the_manager_copy_never_has_the_joining_link_or_an_invitation(app, smtp_server):
    session = _online_session(capacity=5)
    person = UserFactory(manager_email="boss@example.org")
    booking.book_place(session.id, person)
    deliver()
    assert LINK in body_text(_only(smtp_server, person.email))
    copy = _only(smtp_server, "boss@example.org")
    assert LINK not in _everything(copy)
    assert "Where: Online" in body_text(copy)


def test_no_manager_copy_when_the_manager_is_the_person_or_the_setting_is_off(app, smtp_server):
    session = SessionFactory()
    own_manager = UserFactory(email="self@example.org", manager_email="Self@Example.org")
    booking.book_place(session.id, own_manager)
    deliver()
    assert len(smtp_server.messages) == 1

    app.config["COPY_MANAGER_ON_CONFIRMATION"] = False
    try:
        other = UserFactory(manager_email="someone@example.org")
        booking.book_place(session.id, other)
        deliver()
    finally:
        app.config["COPY_MANAGER_ON_CONFIRMATION"] = True
    assert smtp_server.to("someone@example.org") == []
    assert len(smtp_server.to(other.email)) == 1


def test_a_coordinator_booking_someone_says_the_training_team_booked_it(app, smtp_server):
    session = SessionFactory()
    person = UserFactory()
    booking.book_on_behalf(session.id, person.email, CoordinatorFactory())
    deliver()
    assert "The training team has booked you a place" in body_text(_only(smtp_server, person.email))
    assert "has been booked by the training team" in body_text(_only(smtp_server, person.manager_email))


# ---------------------------------------------------------------------------
# Waiting list and offers
# ---------------------------------------------------------------------------

def test_waiting_list_emails_give_the_position_and_no_invitation(app, smtp_server):
    session = SessionFactory(capacity=1)
    first, second, third = UserFactory(), UserFactory(), UserFactory()
    for person in (first, second, third):
        booking.book_place(session.id, person)
    deliver()
    for person, position in ((second, 1), (third, 2)):
        mail = _only(smtp_server, person.email)
        assert _subject(mail).startswith("You are on the waiting list: ")
        assert f"You are number {position} on the waiting list." in body_text(mail)
        assert f"number {position} on the waiting list" in body_html(mail)
        assert calendar_part(mail) is None
        # No manager copy for a waiting-list place: nothing is booked yet.
        assert smtp_server.to(person.manager_email) == []


def test_a_cancellation_offers_the_place_to_the_first_person_waiting(app, smtp_server, now):
    session = SessionFactory(capacity=1)
    holder, first, second = UserFactory(), UserFactory(), UserFactory()
    held = booking.book_place(session.id, holder)
    for person in (first, second):
        booking.book_place(session.id, person)
    deliver()
    smtp_server.clear()

    booking.cancel_booking(held.id, holder, now=now)
    deliver()
    offer = _only(smtp_server, first.email)
    offered = db.session.scalar(select(Booking).where(Booking.user_id == first.id))
    assert offered.status == BookingStatus.OFFERED
    assert _subject(offer).startswith("Place offered: ")
    assert f"Accept it by {format_datetime(offered.offer_expires_at)}." in body_text(offer)
    assert "http://127.0.0.1:5000/my-training" in body_text(offer)
    assert 'href="http://127.0.0.1:5000/my-training"' in body_html(offer)
    assert calendar_part(offer) is None
    assert smtp_server.to(second.email) == []
    assert _only(smtp_server, holder.email)["Subject"].startswith("Booking cancelled: ")


def test_accepting_an_offer_sends_the_confirmation_and_an_expired_offer_says_so(app, smtp_server, now):
    session = SessionFactory(capacity=2)
    holders = [UserFactory(), UserFactory()]
    held = [booking.book_place(session.id, p) for p in holders]
    taker, sleeper = UserFactory(), UserFactory()
    taken = booking.book_place(session.id, taker)
    booking.book_place(session.id, sleeper)
    booking.cancel_booking(held[0].id, holders[0], now=now)
    booking.cancel_booking(held[1].id, holders[1], now=now)
    deliver()
    smtp_server.clear()

    booking.accept_offer(taken.id, taker, now=now)
    later = now + timedelta(hours=app.config["OFFER_HOURS"], minutes=1)
    assert booking.expire_offers(now=later) == 1
    deliver(now=later)  # the expiry's email is due from the moment it was raised
    confirmation = _only(smtp_server, taker.email)
    assert _subject(confirmation).startswith("Booking confirmed: ")
    assert _ics(confirmation)["METHOD"] == "REQUEST"
    assert len(smtp_server.to(taker.manager_email)) == 1
    expired = _only(smtp_server, sleeper.email)
    assert _subject(expired).startswith("Offer expired: ")
    assert "has gone to the next person on the waiting list" in body_text(expired)
    assert calendar_part(expired) is None


def test_declining_an_offer_that_already_ran_out_says_it_expired(app, smtp_server, now):
    from training.booking.errors import OfferExpired

    session = SessionFactory(capacity=1)
    holder, waiter = UserFactory(), UserFactory()
    held = booking.book_place(session.id, holder)
    waiting = booking.book_place(session.id, waiter)
    booking.cancel_booking(held.id, holder, now=now)
    deliver()
    smtp_server.clear()

    later = now + timedelta(hours=app.config["OFFER_HOURS"], minutes=1)
    with pytest.raises(OfferExpired):
        booking.decline_offer(waiting.id, waiter, now=later)
    deliver(now=later)
    assert _subject(_only(smtp_server, waiter.email)).startswith("Offer expired: ")


# ---------------------------------------------------------------------------
# Cancelling, withdrawing, declining
# ---------------------------------------------------------------------------

def test_cancelling_sends_a_calendar_cancel_with_a_higher_sequence(app, smtp_server, now):
    session = SessionFactory()
    person = UserFactory()
    made = booking.book_place(session.id, person)
    booking.cancel_booking(made.id, person, now=now)
    deliver()
    mails = {_subject(m).split(":")[0]: m for m in smtp_server.to(person.email)}
    confirmation, cancellation = mails["Booking confirmed"], mails["Booking cancelled"]
    assert _subject(cancellation) == f"Booking cancelled: {session.course.title} on {format_date(session.starts_at)}"
    assert f"Your place on {session.course.title} has been cancelled." in body_text(cancellation)
    assert "late cancellation" not in body_text(cancellation)
    cal = _ics(cancellation)
    assert cal["METHOD"] == "CANCEL"
    assert _event(cancellation)["STATUS"] == "CANCELLED"
    assert _event(cancellation)["UID"] == _event(confirmation)["UID"]
    assert _event(cancellation)["SEQUENCE"] == _event(confirmation)["SEQUENCE"] + 1


def test_a_late_cancellation_is_called_one(app, smtp_server):
    now = utcnow()
    session = SessionFactory(starts_at=(now + timedelta(days=1)).replace(microsecond=0),
                             booking_closes_at=now + timedelta(hours=12))
    person = UserFactory()
    made = booking.book_place(session.id, person, now=now)
    assert booking.cancel_booking(made.id, person, now=now).status == BookingStatus.LATE_CANCELLED
    deliver()
    [cancellation] = [m for m in smtp_server.to(person.email) if _subject(m).startswith("Booking cancelled")]
    assert "This was a late cancellation" in body_text(cancellation)
    assert "This was a late cancellation" in body_html(cancellation)


def test_leaving_the_waiting_list_and_declining_an_offer_are_confirmed_without_an_invitation(app, smtp_server, now):
    session = SessionFactory(capacity=1)
    holder, decliner, leaver = UserFactory(), UserFactory(), UserFactory()
    held = booking.book_place(session.id, holder)
    offered = booking.book_place(session.id, decliner)
    waiting = booking.book_place(session.id, leaver)
    booking.cancel_booking(held.id, holder, now=now)
    booking.decline_offer(offered.id, decliner, now=now)
    booking.cancel_booking(waiting.id, leaver, now=now)  # by then offered the place: declines it
    deliver()
    declined = [m for m in smtp_server.to(decliner.email) if _subject(m).startswith("Offer declined: ")]
    assert len(declined) == 1 and calendar_part(declined[0]) is None
    assert "You have declined the place offered to you" in body_text(declined[0])
    assert [m for m in smtp_server.to(leaver.email) if _subject(m).startswith("Offer declined: ")]

    other = SessionFactory(capacity=1)
    booking.book_place(other.id, UserFactory())
    queued = booking.book_place(other.id, leaver)
    deliver()
    smtp_server.clear()
    booking.cancel_booking(queued.id, leaver, now=now)
    deliver()
    withdrawn = _only(smtp_server, leaver.email)
    assert _subject(withdrawn).startswith("Withdrawal confirmed: ")
    assert "You have withdrawn from" in body_text(withdrawn)
    assert calendar_part(withdrawn) is None
    assert db.session.scalar(select(Outbox.kind).where(Outbox.subject == _subject(withdrawn))) == \
        MessageKind.BOOKING_CANCELLED


# ---------------------------------------------------------------------------
# The coordinator cancels or changes a session, moves or transfers a booking
# ---------------------------------------------------------------------------

def test_a_cancelled_session_tells_everyone_booked_and_waiting_with_the_reason(app, smtp_server, now):
    session = _online_session(capacity=1)
    booked, waiting = UserFactory(), UserFactory()
    booking.book_place(session.id, booked)
    booking.book_place(session.id, waiting)
    deliver()
    smtp_server.clear()

    catalogue.cancel_session(session.id, CoordinatorFactory(), "The trainer is unwell", now=now)
    deliver()
    for person, had_place in ((booked, True), (waiting, False)):
        mail = _only(smtp_server, person.email)
        assert _subject(mail).startswith("Session cancelled: ")
        assert "Reason: The trainer is unwell" in body_text(mail)
        assert "The trainer is unwell" in body_html(mail)
        assert LINK not in _everything(mail)
        assert (calendar_part(mail) is not None) is had_place
    assert _ics(_only(smtp_server, booked.email))["METHOD"] == "CANCEL"


def test_a_rescheduled_session_updates_the_booked_and_tells_the_waiting(app, smtp_server, now):
    session = _online_session(capacity=1)
    booked, waiting = UserFactory(), UserFactory()
    booking.book_place(session.id, booked)
    booking.book_place(session.id, waiting)
    deliver()
    first = _event(_only(smtp_server, booked.email))
    smtp_server.clear()

    new_start = session.starts_at + timedelta(days=7)
    catalogue.update_session(session.id, CoordinatorFactory(),
                             _details(session, starts_at=new_start, ends_at=new_start + timedelta(hours=3),
                                      booking_closes_at=new_start - timedelta(days=1)), now=now)
    deliver()
    update = _only(smtp_server, booked.email)
    assert _subject(update) == f"Session changed: {session.course.title} on {format_date(new_start)}"
    assert "changed the date or time" in body_text(update)
    assert LINK in body_text(update)
    event = _event(update)
    assert _ics(update)["METHOD"] == "REQUEST"
    assert event["UID"] == first["UID"]
    assert event["SEQUENCE"] == first["SEQUENCE"] + 1
    assert event.decoded("DTSTART") == new_start

    told = _only(smtp_server, waiting.email)
    assert "You are still number 1 on the waiting list." in body_text(told)
    assert calendar_part(told) is None
    assert LINK not in _everything(told)


def test_a_new_joining_link_alone_goes_only_to_the_booked(app, smtp_server, now):
    session = _online_session(capacity=1)
    booked, waiting = UserFactory(), UserFactory()
    booking.book_place(session.id, booked)
    booking.book_place(session.id, waiting)
    deliver()
    smtp_server.clear()

    new_link = "https://meet.example.org/new-room-9902"
    catalogue.update_session(session.id, CoordinatorFactory(), _details(session, online_link=new_link), now=now)
    deliver()
    update = _only(smtp_server, booked.email)
    assert "changed the joining link" in body_text(update)
    assert new_link in body_text(update) and new_link in calendar_part(update).decode()
    assert smtp_server.to(waiting.email) == []


def test_a_moved_booking_moves_the_calendar_entry(app, smtp_server, now):
    source, target = SessionFactory(), SessionFactory()
    person = UserFactory()
    made = booking.book_place(source.id, person)
    deliver()
    original = _event(_only(smtp_server, person.email))
    smtp_server.clear()

    new = booking.move_booking(made.id, target.id, CoordinatorFactory(), now=now)
    deliver()
    mail = _only(smtp_server, person.email)
    assert _subject(mail) == f"Booking moved: {target.course.title} on {format_date(target.starts_at)}"
    assert f"from {source.course.title} on {format_datetime(source.starts_at)}" in body_text(mail)
    assert "You have a place on the new session" in body_text(mail)
    event = _event(mail)
    assert _ics(mail)["METHOD"] == "REQUEST"
    assert event["UID"] == original["UID"]
    assert event["SEQUENCE"] == original["SEQUENCE"] + 1
    assert event.decoded("DTSTART") == target.starts_at
    db.session.refresh(new)
    assert new.calendar_uid == str(original["UID"])
    assert smtp_server.to(person.manager_email) == []


def test_a_move_onto_a_waiting_list_cancels_the_calendar_entry(app, smtp_server, now):
    source, target = SessionFactory(), _online_session(capacity=1)
    booking.book_place(target.id, UserFactory())
    person = UserFactory()
    made = booking.book_place(source.id, person)
    deliver()
    original = _event(_only(smtp_server, person.email))
    smtp_server.clear()

    booking.move_booking(made.id, target.id, CoordinatorFactory(), now=now)
    deliver()
    mail = _only(smtp_server, person.email)
    assert "you are on its waiting list: you are number 1" in body_text(mail)
    assert _ics(mail)["METHOD"] == "CANCEL"
    assert _event(mail)["UID"] == original["UID"]
    assert _event(mail)["SEQUENCE"] == original["SEQUENCE"] + 1
    assert LINK not in _everything(mail)


def test_a_transfer_cancels_the_old_entry_and_confirms_the_colleague(app, smtp_server, now):
    session = SessionFactory()
    holder = UserFactory()
    colleague = UserFactory(agency=holder.agency, name="Chris Doe")
    made = booking.book_place(session.id, holder)
    deliver()
    original = _event(_only(smtp_server, holder.email))
    smtp_server.clear()

    booking.transfer_booking(made.id, holder, colleague.email, now=now)
    deliver()
    gone = _only(smtp_server, holder.email)
    assert _subject(gone).startswith("Place transferred: ")
    assert "You have transferred your place" in body_text(gone)
    assert "to Chris Doe" in body_text(gone)
    assert _ics(gone)["METHOD"] == "CANCEL"
    assert _event(gone)["UID"] == original["UID"]
    assert _event(gone)["SEQUENCE"] == 1
    welcome = _only(smtp_server, colleague.email)
    assert _subject(welcome).startswith("Booking confirmed: ")
    assert f"{holder.name} has transferred their place on {session.course.title} to you." in body_text(welcome)
    assert _event(welcome)["UID"] != original["UID"]
    copy = _only(smtp_server, colleague.manager_email)
    assert f"Chris Doe has been given a place by a colleague, {holder.name}, on" in body_text(copy)
    assert "training team" not in body_text(copy).split("---")[0]


# ---------------------------------------------------------------------------
# The joining link goes only to confirmed places
# ---------------------------------------------------------------------------

def test_waiting_offer_and_cancellation_emails_never_contain_the_joining_link(app, smtp_server, now):
    session = _online_session(capacity=1)
    holder, first, second = UserFactory(), UserFactory(), UserFactory()
    held = booking.book_place(session.id, holder)
    waiting = booking.book_place(session.id, first)
    booking.book_place(session.id, second)
    booking.cancel_booking(held.id, holder, now=now)  # first is offered the place
    booking.decline_offer(waiting.id, first, now=now)  # second is offered it
    later = now + timedelta(hours=app.config["OFFER_HOURS"], minutes=1)
    booking.expire_offers(now=later)
    deliver(now=later)

    kinds_seen = set()
    for message in smtp_server.messages:
        kind = _subject(message).split(":")[0]
        kinds_seen.add(kind)
        if message["To"] == holder.email and kind == "Booking confirmed":
            assert LINK in body_text(message) and LINK in body_html(message)
            assert LINK in calendar_part(message).decode()
        else:
            assert LINK not in _everything(message), _subject(message)
    assert kinds_seen >= {"Booking confirmed", "You are on the waiting list", "Place offered", "Booking cancelled",
                          "Offer declined", "Offer expired"}


# ---------------------------------------------------------------------------
# Rollback: a failed booking leaves no mail
# ---------------------------------------------------------------------------

def test_a_refused_booking_leaves_no_mail(app, smtp_server, now):
    session = SessionFactory()
    person = UserFactory()
    booking.book_place(session.id, person)
    before = _outbox_count()
    assert before == 2
    with pytest.raises(AlreadyBooked):
        booking.book_place(session.id, person)
    closed = SessionFactory(booking_closes_at=now - timedelta(hours=1))
    with pytest.raises(BookingClosed):
        booking.book_place(closed.id, UserFactory(), now=now)
    assert _outbox_count() == before


def test_a_booking_whose_transaction_fails_after_the_announcement_leaves_no_mail(app, smtp_server, monkeypatch):
    session = SessionFactory()
    person = UserFactory()
    queued_before_failure = []

    def fail(*args, **kwargs):
        # The audit entry is written after the booking is announced, in the same transaction.
        queued_before_failure.append(db.session.scalar(select(func.count(Outbox.id))))
        raise RuntimeError("something later in the transaction failed")

    monkeypatch.setattr(audit, "booking_made", fail)
    with pytest.raises(RuntimeError):
        booking.book_place(session.id, person)
    assert queued_before_failure == [2]  # the confirmation and the manager's copy were queued...
    assert _outbox_count() == 0  # ...and rolled back with the booking
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    assert deliver().sent == 0
    assert smtp_server.messages == []


def test_a_receiver_failing_during_the_announcement_rolls_back_the_booking_and_its_mail(app, smtp_server):
    session = SessionFactory()

    def explode(sender, **kwargs):
        raise RuntimeError("a receiver failed")

    booking_event.connect(explode)
    try:
        with pytest.raises(RuntimeError):
            booking.book_place(session.id, UserFactory())
    finally:
        booking_event.disconnect(explode)
    assert _outbox_count() == 0
    assert db.session.scalar(select(func.count(Booking.id))) == 0


def test_a_coordinator_cancelling_for_someone_says_the_training_team_did(app, smtp_server, now):
    session = SessionFactory()
    person = UserFactory()
    made = booking.book_place(session.id, person)
    booking.cancel_booking(made.id, CoordinatorFactory(), now=now)
    deliver()
    [cancellation] = [m for m in smtp_server.to(person.email) if _subject(m).startswith("Booking cancelled")]
    assert f"The training team has cancelled your place on {session.course.title}." in body_text(cancellation)
    assert _ics(cancellation)["METHOD"] == "CANCEL"
