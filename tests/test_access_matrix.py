"""The access control matrix (training/access.py) against the live app.

- every route is in the matrix, and the matrix names no route that has gone;
- every (endpoint, role) answers as the matrix says, in a small world where the professional
  owns the booking, evaluation and certificate and the trainer trains the session; a refused
  POST changes nothing in the database;
- object-level (IDOR): another professional, or a trainer not on the session, never gets
  someone else's personal object.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from flask import url_for
from sqlalchemy import select

from tests.evaluation.conftest import past_session
from tests.evaluation.results_data import evaluation, question_sets
from tests.factories import (
    TEST_PASSWORD,
    AttendanceFactory,
    BookingFactory,
    CoordinatorFactory,
    CourseFactory,
    SessionFactory,
    TrainerFactory,
    UserFactory,
)
from tests.needs.helpers import MembershipFactory, RequirementFactory, WorkforceGroupFactory
from tests.suggestions.factories import SuggestionFactory
from training.access import (
    ACCESS_MATRIX,
    EXCLUDED_ENDPOINTS,
    FORBIDDEN,
    NOT_FOUND,
    OBJECT_LEVEL,
    ROLES,
    SIGN_IN,
    allowed,
)
from training.accounts import services as account_services
from training.accounts import tokens as account_tokens
from training.accounts.models import Role
from training.booking import services as booking_services
from training.booking.approval import make_token
from training.catalogue.models import Level
from training.certificates.services import issue_for_booking
from training.compliance import services as compliance
from training.db import utcnow
from training.evaluation import reviews
from training.evaluation.models import Answer, Stage
from training.extensions import db
from training.history.models import HistoryImport
from training.needs import services as needs_services
from training.needs.tna import london_today
from training.notifications import bulletins as bulletin_services
from training.notifications import calendar_services
from training.notifications.models import MessageKind, MessageStatus, Outbox

OWNER_NAME = "Olwen Ownerby-Qx"
WALK_IN_NAME = "Wendell Walkin-Qx"
REVIEW_REASON = "Reviewsecret pacing complaints"
COMMENT = "Commentsecret quote me"
#: What only the owner (or the session's staff) may see: never in an intruder's response.
SUGGESTION_TITLE = "Suggestionsecret online harms"
HISTORY_CSV = ("session_start,course_title,session_type,format,attendee_name,attendee_email,agency,sector,status\r\n"
               "2024-03-12,Matrix history course,training,face-to-face,Hana History,hana.history@example.org,"
               "History agency,health,attended\r\n")
RETURN_SECRET = "Returnsecret quality evaluated by audit"
SECRETS = (OWNER_NAME, WALK_IN_NAME, REVIEW_REASON, COMMENT, SUGGESTION_TITLE, RETURN_SECRET)

#: Per-endpoint URL values on top of the world's `params`: a value, or a function of `params`.
OVERRIDES: dict[str, dict] = {
    "evaluation.form": {"stage": Stage.AFTER.value},
    # Only a session that has not started can be edited or cancelled.
    "catalogue.session_edit": {"session_id": lambda params: params["upcoming_session_id"]},
    "catalogue.session_cancel": {"session_id": lambda params: params["upcoming_session_id"]},
    "reports.summary_csv": {"table": "headline-figures"},
    "report_exports.download": {"kind": "bookings", "fmt": "csv"},
    # Routes authorised by a signed or secret token in the URL, each from its own world param.
    "bulletins.unsubscribe": {"token": lambda params: params["unsubscribe_token"]},
    "calendar.feed": {"token": lambda params: params["calendar_token"]},
    "approvals.decide": {"token": lambda params: params["approval_token"]},
    "approvals.approve": {"token": lambda params: params["approval_token"]},
    "approvals.decline": {"token": lambda params: params["approval_token"]},
    "accounts.reset_password": {"token": lambda params: params["reset_token"]},
    "accounts.confirm_email_change": {"token": lambda params: params["email_change_token"]},
}


def _rules_by_endpoint(app) -> dict[str, list]:
    rules: dict[str, list] = {}
    for rule in app.url_map.iter_rules():
        rules.setdefault(rule.endpoint, []).append(rule)
    return rules


def _accepts_post(app, endpoint: str) -> bool:
    return any("POST" in r.methods for r in _rules_by_endpoint(app)[endpoint])


def _method(app, endpoint: str) -> str:
    """GET when the route serves it, else its main method (POST)."""
    methods = set().union(*(r.methods for r in _rules_by_endpoint(app)[endpoint]))
    return "GET" if "GET" in methods else "POST"


# ---------------------------------------------------------------------------
# Every route is in the matrix
# ---------------------------------------------------------------------------

def test_every_route_is_in_the_matrix_and_every_entry_is_a_route(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - EXCLUDED_ENDPOINTS
    assert sorted(endpoints - ACCESS_MATRIX.keys()) == [], "routes missing from training/access.py"
    assert sorted(ACCESS_MATRIX.keys() - endpoints) == [], "training/access.py names routes that are gone"
    assert sorted(OBJECT_LEVEL.keys() - ACCESS_MATRIX.keys()) == []
    assert "static" in {rule.endpoint for rule in app.url_map.iter_rules()}


def test_every_entry_names_every_role_with_a_known_outcome():
    outcomes = {SIGN_IN, FORBIDDEN, NOT_FOUND}
    for endpoint, by_role in ACCESS_MATRIX.items():
        assert set(by_role) == set(ROLES), endpoint
        for role, expected in by_role.items():
            assert expected in outcomes or expected.startswith("allowed "), (endpoint, role)
            assert role == "anonymous" or expected != SIGN_IN, (endpoint, role)
    for endpoint, by_role in OBJECT_LEVEL.items():
        assert {"professional", "trainer"} <= set(by_role) <= {"professional", "trainer", "agency_lead"}, endpoint
        assert all(not v.startswith("allowed") for v in by_role.values()), endpoint


# ---------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------

@dataclass
class World:
    users: dict  # role -> user (None for anonymous)
    intruders: dict  # role -> another user of that role, with no claim on the objects
    params: dict  # URL parameter name -> value


@pytest.fixture
def world() -> World:
    sets = question_sets()
    coordinator = CoordinatorFactory()
    trainer = TrainerFactory()
    other_trainer = TrainerFactory()
    professional = UserFactory(name=OWNER_NAME)
    other_professional = UserFactory(agency=professional.agency)
    # A session that ended yesterday, trained by the trainer: its register is open.
    session = past_session(trainers=[trainer])
    # The other trainer trains a session of another course.
    past_session(trainers=[other_trainer])
    booking = BookingFactory(session=session, user=professional)
    AttendanceFactory(booking=booking)
    evaluation(booking, Stage.AFTER, sets[Stage.AFTER], overall="good", comments=COMMENT)
    certificate = issue_for_booking(booking, professional)
    walk_in = AttendanceFactory(booking=None, session=session, user=None, attendee_name=WALK_IN_NAME,
                                attendee_email=None, agency=professional.agency, walk_in=True)
    review = reviews.raise_review(session.course_id, session.id, REVIEW_REASON, coordinator)
    answer_id = db.session.scalar(select(Answer.id).where(Answer.text == COMMENT))
    # An upcoming session of the same course, so moving a booking has somewhere to go.
    upcoming = SessionFactory(course=session.course, trainers=[trainer])
    CourseFactory()
    suggestion = SuggestionFactory(suggested_by=professional, title=SUGGESTION_TITLE)
    agency_lead = UserFactory(agency=professional.agency, roles=[Role.PROFESSIONAL, Role.AGENCY_LEAD])
    returns_round = compliance.open_round(2025, date(2026, 6, 30), [professional.agency_id], coordinator)
    agency_return = compliance.returns_for_lead(agency_lead)[0]
    compliance.save_draft(agency_return.id, {lv: compliance.LineFigures(100, 90, 4) for lv in Level},
                          compliance.Narrative(RETURN_SECRET, "Level 3 plan"), agency_lead)
    compliance.submit(agency_return.id, agency_lead)
    group = WorkforceGroupFactory()
    requirement = RequirementFactory(group=group)
    MembershipFactory(user=professional, group=group)
    tna_review = needs_services.record_review(
        coordinator, needs_services.ReviewDetails(london_today(utcnow()), "Chair", "Decided"), 3)
    history_import = HistoryImport(filename="history.csv", sha256="0" * 64, row_count=1, content=HISTORY_CSV,
                                   uploaded_by_id=coordinator.id)
    db.session.add(history_import)
    outbox_message = Outbox(kind=MessageKind.BOOKING_CONFIRMED, recipient=professional.email, user_id=professional.id,
                            subject="Booking confirmed", text_body="Hello", html_body="<p>Hello</p>",
                            status=MessageStatus.FAILED, attempts=10, last_error="The mail server refused the message",
                            next_attempt_at=utcnow(), created_at=utcnow())
    db.session.add(outbox_message)
    db.session.commit()
    bulletin = bulletin_services.create_draft(bulletin_services.BulletinDetails("Matrix bulletin", "Text"), coordinator)
    calendar_token = calendar_services.turn_on(professional)
    approval_session = SessionFactory(course=CourseFactory(requires_approval=True))
    approval_request = booking_services.book_place(approval_session.id, other_professional)
    reset_token = account_tokens.password_reset_token(professional, utcnow())
    email_change_token = account_services.request_email_change(
        professional, new_email="matrix.new.address@example.org", password=TEST_PASSWORD, now=utcnow())
    return World(
        users={"anonymous": None, "professional": professional, "trainer": trainer, "coordinator": coordinator,
               "agency_lead": agency_lead,
               "scrutineer": UserFactory(roles=[Role.PROFESSIONAL, Role.SCRUTINEER])},
        intruders={"professional": other_professional, "trainer": other_trainer,
                   # the lead of another agency
                   "agency_lead": UserFactory(roles=[Role.PROFESSIONAL, Role.AGENCY_LEAD])},
        params={
            "session_id": session.id,
            "upcoming_session_id": upcoming.id,
            "course_id": session.course_id,
            "booking_id": booking.id,
            "attendance_id": walk_in.id,
            "agency_id": professional.agency_id,
            "person_id": professional.id,
            "answer_id": answer_id,
            "review_id": review.id,
            "code": certificate.code,
            "suggestion_id": suggestion.id,
            "round_id": returns_round.id,
            "return_id": agency_return.id,
            "import_id": history_import.id,
            "group_id": group.id,
            "requirement_id": requirement.id,
            "tna_review_id": tna_review.id,
            "bulletin_id": bulletin.id,
            "unsubscribe_token": bulletin_services.unsubscribe_token(professional.id),
            "calendar_token": calendar_token,
            "message_id": outbox_message.id,
            "approval_token": make_token(approval_request),
            "reset_token": reset_token,
            "email_change_token": email_change_token,
        },
    )


def _url(app, endpoint: str, params: dict) -> str:
    wanted = set().union(*(r.arguments for r in _rules_by_endpoint(app)[endpoint]))
    values = {k: v for k, v in params.items() if k in wanted}
    for name, value in OVERRIDES.get(endpoint, {}).items():
        values[name] = value(params) if callable(value) else value
    with app.test_request_context():
        return url_for(endpoint, **values)


def _snapshot() -> dict:
    """Every row of every table, to show a refused request changed nothing."""
    db.session.commit()
    with db.engine.connect() as conn:
        return {t.name: sorted((tuple(row) for row in conn.execute(select(t))), key=repr)
                for t in db.metadata.sorted_tables}


def _request(app, client, endpoint: str, params: dict, method: str | None = None):
    url = _url(app, endpoint, params)
    if (method or _method(app, endpoint)) == "GET":
        return client.get(url)
    return client.post(url, data={})


def _check(response, expected: str, what) -> None:
    status, location = response.status_code, response.headers.get("Location", "")
    assert status != 500, what
    if expected == SIGN_IN:
        assert status == 302 and "/sign-in" in location, (what, status, location)
    elif expected == FORBIDDEN:
        assert status == 403, (what, status, location)
    elif expected == NOT_FOUND:
        assert status == 404, (what, status, location)
    else:
        assert expected == allowed(status), (what, expected, status, location)
        assert "/sign-in" not in location, (what, location)


def _refused(expected: str) -> bool:
    return expected in (SIGN_IN, FORBIDDEN, NOT_FOUND)


# ---------------------------------------------------------------------------
# Each (endpoint, role) against the live app
# ---------------------------------------------------------------------------

MATRIX_CASES = [
    pytest.param(endpoint, role, expected, id=f"{endpoint}-{role}")
    for endpoint, by_role in sorted(ACCESS_MATRIX.items())
    for role, expected in by_role.items()
]


@pytest.mark.parametrize(("endpoint", "role", "expected"), MATRIX_CASES)
def test_matrix(app, client, login_as, world, endpoint, role, expected):
    user = world.users[role]
    who = client if user is None else login_as(user)
    refused_post = _accepts_post(app, endpoint) and _refused(expected)
    before = _snapshot() if refused_post else None
    response = _request(app, who, endpoint, world.params)
    _check(response, expected, (endpoint, role))
    if refused_post:
        # A refused role's POST (even on a page that also serves GET) is refused the same way.
        _check(_request(app, who, endpoint, world.params, "POST"), expected, (endpoint, role, "POST"))
        assert _snapshot() == before, f"{role} was refused {endpoint} but something changed"


# ---------------------------------------------------------------------------
# Object level: someone else's personal objects
# ---------------------------------------------------------------------------

OBJECT_CASES = [
    pytest.param(endpoint, role, expected, id=f"{endpoint}-other-{role}")
    for endpoint, by_role in sorted(OBJECT_LEVEL.items())
    for role, expected in by_role.items()
]


@pytest.mark.parametrize(("endpoint", "role", "expected"), OBJECT_CASES)
def test_another_person_of_the_role_never_gets_the_object(app, login_as, world, endpoint, role, expected):
    before = _snapshot()
    intruder = login_as(world.intruders[role])
    methods = ["GET", "POST"] if _method(app, endpoint) == "GET" and _accepts_post(app, endpoint) else [None]
    for method in methods:
        response = _request(app, intruder, endpoint, world.params, method)
        _check(response, expected, (endpoint, f"other {role}", method))
        body = response.get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in body, (endpoint, role, method, secret)
    assert _snapshot() == before, f"another {role} changed something through {endpoint}"


def test_the_checked_content_is_shown_to_those_allowed(app, login_as, world):
    """The body checks above are not vacuous: the same URLs show the content to the right people."""
    shown = [
        ("booking.booking_detail", "coordinator", OWNER_NAME),
        ("attendance.register", "trainer", OWNER_NAME),
        ("attendance.register", "trainer", WALK_IN_NAME),
        ("accounts.manage_person", "coordinator", OWNER_NAME),
        ("evaluation_results.review", "trainer", REVIEW_REASON),
        ("evaluation_results.session_results", "trainer", COMMENT),
        ("suggestions.detail", "professional", SUGGESTION_TITLE),
        ("compliance.return_page", "agency_lead", RETURN_SECRET),
        ("needs.people", "coordinator", OWNER_NAME),
        ("suggestions.manage_suggestion", "coordinator", SUGGESTION_TITLE),
        ("suggestions.manage_suggestion", "coordinator", OWNER_NAME),
    ]
    for endpoint, role, secret in shown:
        response = _request(app, login_as(world.users[role]), endpoint, world.params)
        assert response.status_code == 200 and secret in response.get_data(as_text=True), (endpoint, role, secret)
