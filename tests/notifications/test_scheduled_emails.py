"""The scheduled emails `flask tick` raises: each rule, who gets what, and who gets nothing."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from tests.evaluation.conftest import attended_booking, valid_answers
from tests.factories import AttendanceFactory, BookingFactory, SessionFactory, UserFactory
from tests.needs.helpers import MembershipFactory, RequirementFactory, completed, level_course, noon
from training.attendance.models import AttendanceOutcome, Register
from training.booking.models import BookingStatus
from training.catalogue.models import Level, SessionStatus
from training.db import write_transaction
from training.evaluation import services as evaluation_services
from training.evaluation.models import Evaluation, EvaluationStatus, Stage
from training.extensions import db
from training.notifications import scheduled
from training.notifications.models import MessageKind, Outbox
from training.timeutil import london_to_utc

BASE = "http://127.0.0.1:5000"


def days(n: float) -> timedelta:
    return timedelta(days=n)


def queued(kind: MessageKind) -> list[Outbox]:
    db.session.expire_all()
    return list(db.session.scalars(select(Outbox).where(Outbox.kind == kind).order_by(Outbox.id)))


def recipients(kind: MessageKind) -> list[str]:
    return [m.recipient for m in queued(kind)]


def booked(starts_in: timedelta, *, now: datetime, user=None, confirmed_ago: timedelta | None = None,
           **session_kw):
    """A confirmed booking, made `confirmed_ago` before `now`, on a session starting `starts_in` after it."""
    starts = (now + starts_in).replace(microsecond=0)
    confirmed_ago = days(3) if confirmed_ago is None else confirmed_ago
    session = SessionFactory(starts_at=starts, ends_at=starts + timedelta(hours=3),
                             booking_closes_at=starts - days(1), **session_kw)
    return BookingFactory(session=session, user=user or UserFactory(), confirmed_at=now - confirmed_ago,
                          created_at=now - confirmed_ago)


def deactivated():
    return UserFactory(active=False)


def complete_register(session) -> None:
    db.session.add(Register(session_id=session.id, completed_at=session.ends_at + timedelta(hours=1)))
    db.session.commit()


def submit(booking, stage: Stage, now: datetime) -> None:
    evaluation_services.save(booking_id=booking.id, stage=stage, actor=booking.user, answers=valid_answers(stage),
                             now=now, submit=True)


def walk_in(session, outcome=AttendanceOutcome.ATTENDED):
    person = UserFactory()
    return AttendanceFactory(booking=None, session=session, user=person, attendee_name=person.name,
                             attendee_email=person.email, agency=person.agency, outcome=outcome, walk_in=True)


# ---------------------------------------------------------------------------
# Reminders
# ---------------------------------------------------------------------------

def test_a_reminder_goes_to_each_person_booked_on_a_session_within_the_reminder_days(app, now):
    booking = booked(days(3), now=now, venue="Civic Centre\nCommittee Room 2")
    assert scheduled.queue_reminders(now) == 1
    [message] = queued(MessageKind.REMINDER)
    assert message.recipient == booking.user.email
    assert message.user_id == booking.user_id
    assert message.subject.startswith(f"Reminder: {booking.session.course.title} on ")
    assert message.dedupe_key == scheduled.reminder_key(booking)
    assert f"Hello {booking.user.name}," in message.text_body
    assert "Where: Civic Centre, Committee Room 2" in message.text_body
    assert f"{BASE}/bookings/{booking.id}" in message.text_body
    assert f'href="{BASE}/bookings/{booking.id}"' in message.html_body
    assert scheduled.queue_reminders(now) == 0
    assert len(queued(MessageKind.REMINDER)) == 1


def test_the_reminder_of_an_online_session_carries_the_joining_link(app, now):
    link = "https://meet.example.org/j/123-456"
    booked(days(2), now=now, online_link=link, venue=None)
    booked(days(2), now=now)  # face to face: no link
    assert scheduled.queue_reminders(now) == 2
    online, in_person = queued(MessageKind.REMINDER)
    assert link in online.text_body and f'href="{link}"' in online.html_body
    assert "This session is online" in online.text_body
    assert "meet.example.org" not in in_person.text_body and "online" not in in_person.text_body


def test_no_reminder_for_people_without_a_confirmed_place_or_outside_the_window(app, now):
    wanted = booked(days(4), now=now)
    for status in (BookingStatus.WAITLISTED, BookingStatus.OFFERED, BookingStatus.CANCELLED,
                   BookingStatus.AWAITING_APPROVAL):
        other = booked(days(4), now=now, online_link="https://meet.example.org/secret")
        other.status = status
    booked(days(6), now=now)  # too far ahead
    booked(-timedelta(minutes=5), now=now)  # already started
    booked(days(2), now=now, status=SessionStatus.CANCELLED)
    booked(days(2), now=now, user=deactivated())
    booked(days(2), now=now, confirmed_ago=timedelta(hours=2))  # the confirmation is fresh
    db.session.commit()
    assert scheduled.queue_reminders(now) == 1
    assert recipients(MessageKind.REMINDER) == [wanted.user.email]
    assert all("secret" not in m.text_body for m in queued(MessageKind.REMINDER))


def test_a_fresh_booking_gets_its_reminder_once_the_confirmation_is_a_day_old(app, now):
    booking = booked(days(3), now=now, confirmed_ago=timedelta(hours=1))
    assert scheduled.queue_reminders(now) == 0
    assert scheduled.queue_reminders(now + timedelta(hours=23, minutes=30)) == 1
    assert recipients(MessageKind.REMINDER) == [booking.user.email]


def test_a_rescheduled_session_gets_a_new_reminder(app, now):
    booking = booked(days(2), now=now)
    assert scheduled.queue_reminders(now) == 1
    booking.session.starts_at += timedelta(days=1, hours=2)
    booking.session.ends_at += timedelta(days=1, hours=2)
    db.session.commit()
    assert scheduled.queue_reminders(now) == 1
    first, second = queued(MessageKind.REMINDER)
    assert first.dedupe_key != second.dedupe_key
    assert scheduled.queue_reminders(now) == 0


def test_a_reminder_for_the_last_sunday_of_october_shows_london_time(app):
    # 25 October 2026: clocks go back at 2am, so 9:30am in London is 9:30 UTC (not 8:30).
    starts = london_to_utc(date(2026, 10, 25), time(9, 30))
    assert starts == datetime(2026, 10, 25, 9, 30, tzinfo=UTC)
    now = datetime(2026, 10, 22, 12, 0, tzinfo=UTC)  # still British Summer Time
    session = SessionFactory(starts_at=starts, ends_at=starts + timedelta(hours=3),
                             booking_closes_at=starts - days(1))
    BookingFactory(session=session, confirmed_at=now - days(7), created_at=now - days(7))
    assert scheduled.queue_reminders(now) == 1
    [message] = queued(MessageKind.REMINDER)
    assert "Sunday 25 October 2026, 9:30am to 12:30pm" in message.text_body
    assert "Sunday 25 October 2026, 9:30am to 12:30pm" in message.html_body
    assert message.subject.endswith("on 25 October 2026")
    assert message.dedupe_key.endswith(":2026-10-25T09:30:00Z")


# ---------------------------------------------------------------------------
# Evaluation requests and the one reminder
# ---------------------------------------------------------------------------

def test_people_marked_present_are_asked_for_their_after_course_form(app, now):
    came = attended_booking(AttendanceOutcome.ATTENDED)
    part = attended_booking(AttendanceOutcome.PARTIAL, session=came.session)
    attended_booking(AttendanceOutcome.DID_NOT_ATTEND, session=came.session)
    walk_in(came.session)
    attended_booking(user=deactivated(), session=came.session)
    attended_booking(ended_days_ago=31)
    submitted = attended_booking(session=came.session)
    submit(submitted, Stage.AFTER, now)
    # Marked present while the session is still running: asked once it has ended.
    running = SessionFactory(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=2),
                             booking_closes_at=now - days(2))
    AttendanceFactory(booking=BookingFactory(session=running))

    assert scheduled.queue_evaluation_requests(now) == 2
    messages = queued(MessageKind.EVALUATION_REQUEST)
    assert [m.recipient for m in messages] == [came.user.email, part.user.email]
    first = messages[0]
    assert first.dedupe_key == f"evaluation-request:{came.id}"
    assert came.session.course.title in first.subject
    assert f"{BASE}/bookings/{came.id}/evaluation/after" in first.text_body
    assert f'href="{BASE}/bookings/{came.id}/evaluation/after"' in first.html_body
    assert "download your certificate" in first.text_body
    assert scheduled.queue_evaluation_requests(now) == 0


def test_without_the_certificate_setting_the_request_does_not_mention_it(app, now):
    app.config["CERTIFICATE_REQUIRES_EVALUATION"] = False
    try:
        attended_booking()
        assert scheduled.queue_evaluation_requests(now) == 1
    finally:
        app.config["CERTIFICATE_REQUIRES_EVALUATION"] = True
    assert "certificate" not in queued(MessageKind.EVALUATION_REQUEST)[0].text_body


def test_one_evaluation_reminder_follows_the_request_after_the_reminder_days(app, now):
    booking = attended_booking()
    answered = attended_booking(session=booking.session)
    assert scheduled.queue_evaluation_requests(now) == 2
    submit(answered, Stage.AFTER, now + days(1))
    assert scheduled.queue_evaluation_reminders(now + days(4)) == 0
    assert scheduled.queue_evaluation_reminders(now + days(5)) == 1
    assert scheduled.queue_evaluation_reminders(now + days(6)) == 0
    [message] = queued(MessageKind.EVALUATION_REMINDER)
    assert message.recipient == booking.user.email
    assert message.dedupe_key == f"evaluation-reminder:{booking.id}"
    assert f"{BASE}/bookings/{booking.id}/evaluation/after" in message.text_body
    assert "only reminder" in message.text_body


def test_no_evaluation_reminder_without_a_request_or_long_after_it(app, now):
    booking = attended_booking()
    assert scheduled.queue_evaluation_reminders(now + days(10)) == 0  # never asked
    assert scheduled.queue_evaluation_requests(now) == 1
    assert scheduled.queue_evaluation_reminders(now + days(40)) == 0  # outside the window
    assert booking.id and queued(MessageKind.EVALUATION_REMINDER) == []


def test_evaluation_emails_never_carry_answers_or_comments(app, now):
    booking = attended_booking()
    answered = attended_booking(session=booking.session)
    answers = dict(valid_answers(Stage.AFTER), comments="A private remark about the venue")
    evaluation_services.save(booking_id=answered.id, stage=Stage.AFTER, actor=answered.user, answers=answers,
                             now=now, submit=True)
    scheduled.run(now)
    for message in db.session.scalars(select(Outbox)):
        assert "private remark" not in message.text_body and "private remark" not in message.html_body
        assert "threshold document" not in message.text_body


# ---------------------------------------------------------------------------
# Follow-up with the line manager
# ---------------------------------------------------------------------------

def test_the_follow_up_goes_to_the_delegate_with_the_form_and_to_their_manager_without_it(app, now):
    weeks = app.config["FOLLOW_UP_WEEKS"]
    booking = attended_booking(ended_days_ago=weeks * 7 + 1)
    session = booking.session
    attended_booking(AttendanceOutcome.DID_NOT_ATTEND, session=session)
    walk_in(session)
    attended_booking(session=session, user=deactivated())
    done = attended_booking(session=session)
    attended_booking(ended_days_ago=weeks * 7 - 1)  # not open yet
    attended_booking(ended_days_ago=weeks * 7 + 15)  # opened more than 14 days ago
    submit(done, Stage.AFTER, now)
    submit(done, Stage.FOLLOW_UP, now)

    assert scheduled.queue_follow_ups(now) == 2
    [to_delegate] = queued(MessageKind.FOLLOW_UP_DUE)
    [to_manager] = queued(MessageKind.FOLLOW_UP_MANAGER)
    assert to_delegate.recipient == booking.user.email
    assert to_delegate.dedupe_key == f"follow-up:{booking.id}"
    assert f"{BASE}/bookings/{booking.id}/evaluation/follow-up" in to_delegate.text_body
    assert to_manager.recipient == booking.user.manager_email
    assert to_manager.user_id == booking.user_id
    assert to_manager.dedupe_key == f"follow-up-manager:{booking.id}"
    assert booking.user.name in to_manager.text_body and session.course.title in to_manager.text_body
    assert "/evaluation/" not in to_manager.text_body and "/evaluation/" not in to_manager.html_body
    assert scheduled.queue_follow_ups(now) == 0


def test_the_follow_up_waits_for_the_form_to_open(app, now):
    weeks = app.config["FOLLOW_UP_WEEKS"]
    booking = attended_booking(ended_days_ago=weeks * 7 - 2)
    assert scheduled.queue_follow_ups(now) == 0
    assert scheduled.queue_follow_ups(now + days(3)) == 2
    assert recipients(MessageKind.FOLLOW_UP_DUE) == [booking.user.email]


# ---------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------

def test_submitting_the_after_form_raises_the_certificate_notice_in_the_same_transaction(app, now):
    booking = attended_booking()
    submit(booking, Stage.AFTER, now)
    [message] = queued(MessageKind.CERTIFICATE_AVAILABLE)
    assert message.recipient == booking.user.email
    assert message.dedupe_key == f"certificate:{booking.id}"
    assert f"{BASE}/bookings/{booking.id}/certificate" in message.text_body
    assert f'href="{BASE}/bookings/{booking.id}/certificate"' in message.html_body
    assert "part of the course" not in message.text_body
    assert scheduled.queue_certificates(now) == 0  # the catch-up adds nothing


def test_a_failed_submission_raises_no_certificate_notice(app, now):
    booking = attended_booking()
    with pytest.raises(evaluation_services.InvalidAnswers):
        evaluation_services.save(booking_id=booking.id, stage=Stage.AFTER, actor=booking.user,
                                 answers={"knowledge": 2}, now=now, submit=True)
    assert queued(MessageKind.CERTIFICATE_AVAILABLE) == []


def test_other_stages_raise_no_certificate_notice(app, now):
    booking = BookingFactory(session=SessionFactory(starts_at=now + days(10)))
    submit(booking, Stage.BEFORE, now)
    assert queued(MessageKind.CERTIFICATE_AVAILABLE) == []


def test_partial_attendance_gets_its_certificate_notice_with_a_note(app, now):
    booking = attended_booking(AttendanceOutcome.PARTIAL)
    submit(booking, Stage.AFTER, now)
    [message] = queued(MessageKind.CERTIFICATE_AVAILABLE)
    assert "part of the course" in message.text_body and "part of the course" in message.html_body


def test_the_catch_up_finds_submissions_without_a_notice(app, now):
    booking = attended_booking()
    not_yet = attended_booking(session=booking.session)
    with write_transaction():
        db.session.add(Evaluation(booking_id=booking.id, session_id=booking.session_id, stage=Stage.AFTER,
                                  question_set=evaluation_services.current_question_set(Stage.AFTER),
                                  status=EvaluationStatus.SUBMITTED, submitted_at=now))
    assert scheduled.queue_certificates(now) == 1
    assert recipients(MessageKind.CERTIFICATE_AVAILABLE) == [booking.user.email]
    assert not_yet.user.email not in recipients(MessageKind.CERTIFICATE_AVAILABLE)


def test_without_the_evaluation_setting_the_notice_waits_for_the_completed_register(app, now):
    app.config["CERTIFICATE_REQUIRES_EVALUATION"] = False
    try:
        booking = attended_booking()
        walk_in(booking.session)
        attended_booking(AttendanceOutcome.DID_NOT_ATTEND, session=booking.session)
        attended_booking(session=booking.session, user=deactivated())
        assert scheduled.queue_certificates(now) == 0
        complete_register(booking.session)
        assert scheduled.queue_certificates(now) == 1
        assert scheduled.queue_certificates(now) == 0
    finally:
        app.config["CERTIFICATE_REQUIRES_EVALUATION"] = True
    assert recipients(MessageKind.CERTIFICATE_AVAILABLE) == [booking.user.email]


# ---------------------------------------------------------------------------
# Refreshers
# ---------------------------------------------------------------------------

TODAY = date(2026, 3, 10)
NOW = noon(TODAY)


def member(requirement, completed_on: date | None, *, user=None):
    user = user or UserFactory()
    MembershipFactory(user=user, group=requirement.group, started_on=date(2020, 1, 1))
    if completed_on is not None:
        completed(user, level_course(Level.LEVEL_1), completed_on)
    return user


def test_a_refresher_notice_goes_when_the_refresher_is_due_within_the_notice_days(app):
    requirement = RequirementFactory(level=Level.LEVEL_1, refresher_months=36)
    due_soon = member(requirement, date(2023, 4, 1))  # due 1 April 2026, in 22 days
    just_overdue = member(requirement, date(2023, 3, 1))  # due 1 March 2026, 9 days ago
    member(requirement, date(2023, 6, 15))  # due in 97 days: too early
    member(requirement, date(2023, 2, 1))  # overdue by 37 days: too late to start now
    member(requirement, None)  # never trained: not a refresher
    member(requirement, date(2023, 4, 1), user=deactivated())
    no_group = UserFactory()
    completed(no_group, level_course(Level.LEVEL_1), date(2023, 4, 1))  # no TNA data: nothing
    booked_ahead = member(requirement, date(2023, 4, 1))
    BookingFactory(user=booked_ahead, session=SessionFactory(course=level_course(Level.LEVEL_1),
                                                             starts_at=NOW + days(10)))

    assert scheduled.queue_refreshers(NOW) == 2
    soon, overdue = sorted(queued(MessageKind.REFRESHER_DUE), key=lambda m: m.recipient != due_soon.email)
    assert soon.recipient == due_soon.email and overdue.recipient == just_overdue.email
    assert soon.dedupe_key == f"refresher:{due_soon.id}:{requirement.id}:2026-04-01"
    assert soon.subject == "Refresher training due: Any Level 1 course"
    assert "is due by 1 April 2026" in soon.text_body and "Training needed: Any Level 1 course" in soon.text_body
    assert overdue.subject == "Refresher training overdue: Any Level 1 course"
    assert "was due on 1 March 2026" in overdue.text_body
    assert f"{BASE}/" in soon.text_body and f'href="{BASE}/"' in soon.html_body
    assert scheduled.queue_refreshers(NOW) == 0
    assert scheduled.queue_refreshers(NOW + days(7)) == 0


def test_a_course_requirement_names_the_course(app):
    course = level_course(Level.LEVEL_3, title="Working Together in practice")
    requirement = RequirementFactory(level=None, course=course, refresher_months=24)
    person = UserFactory()
    MembershipFactory(user=person, group=requirement.group, started_on=date(2020, 1, 1))
    completed(person, course, date(2024, 4, 20))
    assert scheduled.queue_refreshers(NOW) == 1
    [message] = queued(MessageKind.REFRESHER_DUE)
    assert message.subject == "Refresher training due: Working Together in practice"
    assert "Working Together in practice" in message.html_body


# ---------------------------------------------------------------------------
# No-show notice to the manager
# ---------------------------------------------------------------------------

def test_the_manager_hears_of_a_no_show_once_the_register_is_complete(app, now):
    missed = attended_booking(AttendanceOutcome.DID_NOT_ATTEND)
    session = missed.session
    attended_booking(session=session)
    attended_booking(AttendanceOutcome.PARTIAL, session=session)
    walk_in(session, AttendanceOutcome.DID_NOT_ATTEND)
    attended_booking(AttendanceOutcome.DID_NOT_ATTEND, session=session, user=deactivated())
    assert scheduled.queue_no_show_notices(now) == 0  # the trainer may still correct it
    complete_register(session)
    assert scheduled.queue_no_show_notices(now) == 1
    [message] = queued(MessageKind.NO_SHOW)
    assert message.recipient == missed.user.manager_email
    assert message.user_id == missed.user_id
    assert message.dedupe_key == f"no-show:{missed.id}"
    assert missed.user.name in message.subject and session.course.title in message.subject
    assert f"Hello {missed.user.manager_name}," in message.text_body
    assert "£" not in message.text_body and "charge" not in message.text_body.lower()
    assert scheduled.queue_no_show_notices(now) == 0
    # The delegate is not told by this rule.
    assert missed.user.email not in recipients(MessageKind.NO_SHOW)


def test_no_show_notices_are_bounded_and_can_be_turned_off(app, now):
    old = attended_booking(AttendanceOutcome.DID_NOT_ATTEND, ended_days_ago=31)
    complete_register(old.session)
    assert scheduled.queue_no_show_notices(now) == 0
    recent = attended_booking(AttendanceOutcome.DID_NOT_ATTEND)
    complete_register(recent.session)
    app.config["NO_SHOW_NOTICE_TO_MANAGER"] = False
    try:
        assert scheduled.queue_no_show_notices(now) == 0
    finally:
        app.config["NO_SHOW_NOTICE_TO_MANAGER"] = True
    assert scheduled.queue_no_show_notices(now) == 1
