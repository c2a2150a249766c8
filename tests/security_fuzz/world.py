"""A small world built with the factories, in which every POST form in the app is reachable."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from tests.factories import (
    TEST_PASSWORD,
    AgencyFactory,
    AttendanceFactory,
    BookingFactory,
    CoordinatorFactory,
    CourseFactory,
    SessionFactory,
    UserFactory,
)
from tests.suggestions.factories import SuggestionFactory
from training.accounts import services as account_services
from training.accounts import tokens as account_tokens
from training.accounts.models import Role, Sector, User
from training.attendance.models import AttendanceOutcome
from training.booking import services as booking_services
from training.booking.approval import make_token
from training.booking.models import BookingStatus
from training.catalogue.models import Level
from training.compliance import services as compliance
from training.db import utcnow
from training.evaluation import reviews
from training.evaluation import services as evaluation_services
from training.evaluation.models import Answer, Stage
from training.extensions import db
from training.history.models import HistoryImport
from training.needs import services as needs_services
from training.notifications import bulletins as bulletin_services
from training.notifications.models import MessageKind, MessageStatus, Outbox
from training.suggestions import services as suggestion_services

OUTCOMES = "Recognise signs of abuse\nKnow how to make a referral"


def after_answers(comment: str = "Useful day", do_differently: str = "Check the threshold document first") -> dict:
    """A complete, valid set of answers to version 1 of the after-course form."""
    return {"knowledge": 4, "confidence": 4, "outcomes": {1: "met", 2: "partly"}, "trainer": 5, "materials": 4,
            "venue": 3, "overall": "good", "do_differently": do_differently, "comments": comment}


@dataclass
class World:
    """The objects the URLs name, and the people who act on them."""

    coordinator: User  # also a trainer of every session here, so the review response is reachable
    professional: User
    colleague: User
    other_person: User  # the one whose roles and status the coordinator changes
    agency_id: int
    other_agency_id: int
    course_id: int
    upcoming_id: int
    other_upcoming_id: int
    past_id: int
    upcoming_booking_id: int
    offered_booking_id: int
    past_booking_id: int
    walk_in_id: int
    answer_id: int
    review_id: int
    suggestion_id: int
    reviewed_suggestion_id: int
    agreed_suggestion_id: int
    agency_lead: User
    scrutineer: User
    round_id: int
    return_id: int
    challenged_return_id: int
    submitted_return_id: int
    history_import_id: int
    needs_group_id: int
    needs_requirement_id: int
    bulletin_id: int
    unsubscribe_token: str
    outbox_message_id: int
    reset_token: str
    email_change_token: str
    approval_token: str

    @property
    def session_ids(self) -> list[int]:
        return [self.upcoming_id, self.other_upcoming_id, self.past_id]

    @property
    def booking_ids(self) -> list[int]:
        return [self.upcoming_booking_id, self.offered_booking_id, self.past_booking_id]


def build_world() -> World:
    """Every object the POST routes name, committed."""
    now = utcnow().replace(microsecond=0)
    agency = AgencyFactory(name="Thameside Primary School")
    other_agency = AgencyFactory(name="Thameside Health Visiting")
    coordinator = CoordinatorFactory(agency=agency, roles=[Role.PROFESSIONAL, Role.COORDINATOR, Role.TRAINER])
    professional = UserFactory(agency=agency)
    colleague = UserFactory(agency=agency)
    other_person = UserFactory(agency=other_agency)
    commenter = UserFactory(agency=other_agency)
    course = CourseFactory(learning_outcomes=OUTCOMES)
    upcoming = SessionFactory(course=course, trainers=[coordinator])
    other_upcoming = SessionFactory(course=course, trainers=[coordinator], starts_at=now + timedelta(days=40),
                                    ends_at=now + timedelta(days=40, hours=3),
                                    booking_closes_at=now + timedelta(days=39))
    ends = now - timedelta(days=1)
    past = SessionFactory(course=course, trainers=[coordinator], starts_at=ends - timedelta(hours=3), ends_at=ends,
                          booking_closes_at=ends - timedelta(days=2))
    upcoming_booking = BookingFactory(session=upcoming, user=professional)
    offered = BookingFactory(session=other_upcoming, user=professional, status=BookingStatus.OFFERED,
                             confirmed_at=None, offered_at=now, offer_expires_at=now + timedelta(days=1))
    past_booking = BookingFactory(session=past, user=professional)
    AttendanceFactory(booking=past_booking, outcome=AttendanceOutcome.ATTENDED)
    commenter_booking = BookingFactory(session=past, user=commenter)
    AttendanceFactory(booking=commenter_booking, outcome=AttendanceOutcome.ATTENDED)
    walk_in = AttendanceFactory(booking=None, session=past, user=None, attendee_name="Walk In",
                                attendee_email="walk.in@example.org", agency=other_agency)
    evaluation_services.save(booking_id=commenter_booking.id, stage=Stage.AFTER, actor=commenter,
                             answers=after_answers(), now=utcnow(), submit=True)
    answer_id = db.session.scalar(select(Answer.id).where(Answer.text == "Useful day"))
    review = reviews.raise_review(course.id, past.id, "Raised for the hostile input tests", coordinator, utcnow())
    suggestion = SuggestionFactory(suggested_by=professional)
    lead = UserFactory(agency=agency, roles=[Role.PROFESSIONAL, Role.AGENCY_LEAD])
    other_lead = UserFactory(agency=other_agency, roles=[Role.PROFESSIONAL, Role.AGENCY_LEAD])
    the_scrutineer = UserFactory(roles=[Role.PROFESSIONAL, Role.SCRUTINEER])
    figures = {lv: compliance.LineFigures(10, 9, 1) for lv in Level}
    text = compliance.Narrative("Evaluation forms", "Level 3 plan")
    last = compliance.open_round(2024, date(2025, 6, 30), [agency.id], coordinator)
    this = compliance.open_round(2025, date(2026, 6, 30), [agency.id, other_agency.id], coordinator)
    mine = {r.round_id: r.id for r in compliance.returns_for_lead(lead)}
    compliance.save_draft(mine[this.id], figures, text, lead)
    compliance.save_draft(mine[last.id], figures, text, lead)
    compliance.submit(mine[last.id], lead)
    compliance.challenge(mine[last.id], "Explain", date(2030, 1, 1), the_scrutineer)
    theirs = compliance.returns_for_lead(other_lead)[0].id
    compliance.save_draft(theirs, figures, text, other_lead)
    compliance.submit(theirs, other_lead)
    reviewed = suggestion_services.start_review(SuggestionFactory(suggested_by=professional).id, coordinator)
    agreed = suggestion_services.start_review(SuggestionFactory(suggested_by=professional).id, coordinator)
    suggestion_services.agree(agreed.id, coordinator, "Needed across the partnership")
    group = needs_services.create_group(coordinator, needs_services.GroupDetails("Practitioners", "", (Sector.HEALTH,)))
    requirement = needs_services.add_requirement(
        group.id, coordinator, needs_services.RequirementDetails(None, Level.LEVEL_1, 3, 36))
    history_import = HistoryImport(
        filename="history.csv", sha256="0" * 64, row_count=1, uploaded_by_id=coordinator.id,
        content="session_start,course_title,session_type,format,attendee_name,attendee_email,agency,sector,status\r\n"
                "2024-03-12,Fuzz history course,training,face-to-face,Hana History,hana.history@example.org,"
                "History agency,health,attended\r\n")
    db.session.add(history_import)
    db.session.commit()
    outbox_message = Outbox(kind=MessageKind.BOOKING_CONFIRMED, recipient=professional.email, user_id=professional.id,
                            subject="Booking confirmed", text_body="Hello", html_body="<p>Hello</p>",
                            status=MessageStatus.FAILED, attempts=10, last_error="Refused",
                            next_attempt_at=now, created_at=now)
    db.session.add(outbox_message)
    db.session.commit()
    approval_session = SessionFactory(course=CourseFactory(requires_approval=True))
    approval_token = make_token(booking_services.book_place(approval_session.id, colleague))
    bulletin = bulletin_services.create_draft(
        bulletin_services.BulletinDetails("Hostile input bulletin", "Text"), coordinator)
    return World(
        coordinator=coordinator, professional=professional, colleague=colleague, other_person=other_person,
        agency_id=agency.id, other_agency_id=other_agency.id, course_id=course.id, upcoming_id=upcoming.id,
        other_upcoming_id=other_upcoming.id, past_id=past.id, upcoming_booking_id=upcoming_booking.id,
        offered_booking_id=offered.id, past_booking_id=past_booking.id, walk_in_id=walk_in.id,
        answer_id=answer_id, review_id=review.id, suggestion_id=suggestion.id,
        reviewed_suggestion_id=reviewed.id, agreed_suggestion_id=agreed.id,
        agency_lead=lead, scrutineer=the_scrutineer, round_id=this.id, return_id=mine[this.id],
        challenged_return_id=mine[last.id], submitted_return_id=theirs, history_import_id=history_import.id,
        needs_group_id=group.id, needs_requirement_id=requirement.id,
        bulletin_id=bulletin.id, unsubscribe_token=bulletin_services.unsubscribe_token(professional.id),
        outbox_message_id=outbox_message.id,
        reset_token=account_tokens.password_reset_token(professional, now),
        approval_token=approval_token,
        email_change_token=account_services.request_email_change(
            professional, new_email="fuzz.new.address@example.org", password=TEST_PASSWORD, now=now),
    )
